package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
	"strings"
)

// API tokens read "pgt_<id>_<secret>": the prefix makes them recognisable (to people,
// to secret scanners, and to the middleware, which tells them from JWTs by it); the id
// is public — it is stored, listed and logged, and finds the token without a scan; the
// secret is 256 random bits, shown once and stored only as its SHA-256.
const (
	TokenPrefix = "pgt_"
	idBytes     = 8
	secretBytes = 32
)

// secretEncoding writes secrets in lowercase base32 without padding: no characters a
// shell, a URL or the token's own "_" separator would mangle.
var secretEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewToken returns a fresh token: its id, the whole token to hand to the user once, and
// the hash of its secret to store.
func NewToken() (id, token, hash string, err error) {
	var b [idBytes + secretBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", "", err
	}
	id = hex.EncodeToString(b[:idBytes])
	secret := secretEncoding.EncodeToString(b[idBytes:])
	return id, TokenPrefix + id + "_" + secret, HashSecret(secret), nil
}

// ParseToken splits a token into its id and secret; ok is false when s does not have
// the form of a provgraph API token.
func ParseToken(s string) (id, secret string, ok bool) {
	rest, found := strings.CutPrefix(s, TokenPrefix)
	if !found {
		return "", "", false
	}
	id, secret, found = strings.Cut(rest, "_")
	if !found || !ValidTokenID(id) || len(secret) != secretEncoding.EncodedLen(secretBytes) {
		return "", "", false
	}
	if _, err := secretEncoding.DecodeString(secret); err != nil {
		return "", "", false
	}
	return id, secret, true
}

// ValidTokenID tells whether s has the form of a token id (16 lowercase hex digits).
func ValidTokenID(s string) bool {
	if len(s) != 2*idBytes {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// HashSecret is what is stored of a secret: its SHA-256, in hex. A secret of 256 random
// bits needs no slow password hash; nothing can be guessed from the digest.
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// SecretMatches tells whether secret hashes to hash, in time independent of where the
// two differ.
func SecretMatches(secret, hash string) bool {
	return subtle.ConstantTimeCompare([]byte(HashSecret(secret)), []byte(hash)) == 1
}
