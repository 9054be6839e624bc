package auth

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Access keys (SigV4) need the server to know their secret, not just a hash of it: the
// signature is an HMAC keyed by it. So the secret is stored sealed — AES-256-GCM under a
// key-encryption key (KEK) the operator keeps outside the database — and bound to its
// key's id, so that a sealed secret copied to another key does not open. A database
// dump alone gives away no secret.

// KEKBytes is the size of a key-encryption key (AES-256).
const KEKBytes = 32

// Sealer seals and opens access-key secrets with a key-encryption key.
type Sealer struct{ aead cipher.AEAD }

// NewSealer returns the sealer of kek (KEKBytes bytes).
func NewSealer(kek []byte) (*Sealer, error) {
	if len(kek) != KEKBytes {
		return nil, fmt.Errorf("the key-encryption key must be %d bytes (got %d)", KEKBytes, len(kek))
	}
	block, err := aes.NewCipher(kek)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead}, nil
}

// ReadKEK reads a key-encryption key file: 64 hexadecimal digits (a trailing newline
// is allowed), as `provgraph token keygen` writes it.
func ReadKEK(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	kek, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(kek) != KEKBytes {
		return nil, fmt.Errorf("%s must hold %d hexadecimal digits (a key made by `provgraph token keygen`)", path, 2*KEKBytes)
	}
	return kek, nil
}

// NewKEK returns a fresh key-encryption key, hex-encoded as ReadKEK reads it.
func NewKEK() (string, error) {
	var b [KEKBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}

// Seal seals secret for the key id.
func (s *Sealer) Seal(id, secret string) (string, error) {
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	out := s.aead.Seal(nonce, nonce, []byte(secret), []byte(id))
	return base64.StdEncoding.EncodeToString(out), nil
}

// Open opens what Seal sealed for id; another key-encryption key, another id or a
// changed value is an error.
func (s *Sealer) Open(id, sealed string) (string, error) {
	b, err := base64.StdEncoding.DecodeString(sealed)
	if err != nil || len(b) < s.aead.NonceSize() {
		return "", errors.New("the sealed secret is malformed")
	}
	n := s.aead.NonceSize()
	plain, err := s.aead.Open(nil, b[:n], b[n:], []byte(id))
	if err != nil {
		return "", errors.New("the sealed secret does not open with this key-encryption key")
	}
	return string(plain), nil
}

// Access key ids read "PGAK" and the token id in upper case: 20 characters, the length
// and alphabet of AWS's own, so tools that check their shape accept them.
const accessKeyPrefix = "PGAK"

// AccessKeyID is the access key id of the API token id.
func AccessKeyID(tokenID string) string { return accessKeyPrefix + strings.ToUpper(tokenID) }

// TokenIDOfAccessKey returns the API token id of an access key id; ok is false when
// keyID is not one provgraph issues.
func TokenIDOfAccessKey(keyID string) (string, bool) {
	rest, found := strings.CutPrefix(keyID, accessKeyPrefix)
	id := strings.ToLower(rest)
	if !found || rest != strings.ToUpper(id) || !ValidTokenID(id) {
		return "", false
	}
	return id, true
}

// NewAccessKey returns a fresh access key: its token id, access key id and secret, and
// the hash of the secret to store beside the sealed secret.
func NewAccessKey() (id, keyID, secret, hash string, err error) {
	var b [idBytes + secretBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", "", "", err
	}
	id = hex.EncodeToString(b[:idBytes])
	secret = secretEncoding.EncodeToString(b[idBytes:])
	return id, AccessKeyID(id), secret, HashSecret(secret), nil
}
