package authtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Audience is the audience the Issuer's tokens are made for.
const Audience = "provgraph"

// Issuer is an OpenID provider for tests: discovery (/.well-known/openid-configuration)
// and a JWKS (/jwks) served by httptest — there is no network here — and the keys to
// sign tokens with (RSA for RS256/RS384, P-256 for ES256).
type Issuer struct {
	// URL is the issuer's identifier, the iss of its tokens.
	URL    string
	RSAKey *rsa.PrivateKey
	ECKey  *ecdsa.PrivateKey
}

// NewIssuer starts an issuer for the test.
func NewIssuer(t testing.TB) *Issuer {
	t.Helper()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	iss := &Issuer{RSAKey: rsaKey, ECKey: ecKey}
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	iss.URL = srv.URL
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer": iss.URL, "jwks_uri": iss.URL + "/jwks",
			"authorization_endpoint": iss.URL + "/auth", "token_endpoint": iss.URL + "/token",
			"id_token_signing_alg_values_supported": []string{"RS256", "ES256"},
		})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(iss.JWKS())
	})
	return iss
}

// JWKS is the issuer's public key set.
func (i *Issuer) JWKS() jose.JSONWebKeySet {
	return jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: &i.RSAKey.PublicKey, KeyID: "rsa-1", Algorithm: "RS256", Use: "sig"},
		{Key: &i.ECKey.PublicKey, KeyID: "ec-1", Algorithm: "ES256", Use: "sig"},
	}}
}

// Claims are a valid token's claims — this issuer, Audience, subject alice@example.com,
// an hour to live, roles ["writer"] — changed by extra (a nil value removes a claim).
func (i *Issuer) Claims(extra map[string]any) map[string]any {
	c := map[string]any{
		"iss": i.URL, "aud": Audience, "sub": "alice@example.com",
		"iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix(), "roles": []string{"writer"},
	}
	for k, v := range extra {
		if v == nil {
			delete(c, k)
			continue
		}
		c[k] = v
	}
	return c
}

// Sign signs claims with the issuer's key for alg (an RS* or PS* algorithm, or ES256).
func (i *Issuer) Sign(t testing.TB, alg jose.SignatureAlgorithm, claims map[string]any) string {
	t.Helper()
	key := jose.JSONWebKey{Key: i.RSAKey, KeyID: "rsa-1"}
	if alg == jose.ES256 {
		key = jose.JSONWebKey{Key: i.ECKey, KeyID: "ec-1"}
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}
