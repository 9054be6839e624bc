package auth_test

import (
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/apperr"
	"github.com/provgraph/provgraph/auth"
	"github.com/provgraph/provgraph/internal/authtest"
)

// forge builds a token with the given header and no valid signature: alg none, or an
// HMAC "signed" with the issuer's public key (the classic key-confusion attack).
func forge(t *testing.T, header, claims map[string]any, hmacKey []byte) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		require.NoError(t, err)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	signingInput := enc(header) + "." + enc(claims)
	if hmacKey == nil {
		return signingInput + "."
	}
	mac := hmac.New(sha256.New, hmacKey)
	mac.Write([]byte(signingInput))
	return signingInput + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

func newOIDC(t *testing.T, cfg auth.OIDCConfig) *auth.OIDC {
	t.Helper()
	o, err := auth.NewOIDC(t.Context(), cfg)
	require.NoError(t, err)
	return o
}

// A valid token is accepted with the role its claim maps to and the actor of its
// subject; every way a token can be wrong is refused with the reason.
func TestOIDCValidatesTokens(t *testing.T) {
	t.Parallel()
	iss := authtest.NewIssuer(t)
	o := newOIDC(t, auth.OIDCConfig{Issuer: iss.URL, Audience: "provgraph", JWKSURL: iss.URL + "/jwks"})
	pubDER, err := x509.MarshalPKIXPublicKey(&iss.RSAKey.PublicKey)
	require.NoError(t, err)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})

	p, err := o.Authenticate(t.Context(), iss.Sign(t, jose.RS256, iss.Claims(nil)))
	require.NoError(t, err)
	assert.Equal(t, auth.Principal{Actor: "oidc:alice@example.com", Role: auth.RoleWriter, Via: auth.ViaOIDC}, p)
	p, err = o.Authenticate(t.Context(), iss.Sign(t, jose.ES256, iss.Claims(map[string]any{"roles": "reader admin"})))
	require.NoError(t, err)
	assert.Equal(t, auth.RoleAdmin, p.Role, "ES256 accepted; the highest role of a space-separated claim wins")

	for _, tt := range []struct {
		name  string
		token string
		code  apperr.Code
		want  string
	}{
		{"another issuer", iss.Sign(t, jose.RS256, iss.Claims(map[string]any{"iss": "https://evil.example"})), apperr.Unauthenticated, "issued by a different provider"},
		{"another audience", iss.Sign(t, jose.RS256, iss.Claims(map[string]any{"aud": "another-app"})), apperr.Unauthenticated, `expected audience "provgraph"`},
		{"no exp", iss.Sign(t, jose.RS256, iss.Claims(map[string]any{"exp": nil})), apperr.Unauthenticated, "no exp claim"},
		{"expired", iss.Sign(t, jose.RS256, iss.Claims(map[string]any{"exp": time.Now().Add(-time.Minute).Unix()})), apperr.Unauthenticated, "expired at"},
		{"not yet valid", iss.Sign(t, jose.RS256, iss.Claims(map[string]any{"nbf": time.Now().Add(time.Hour).Unix()})), apperr.Unauthenticated, "nbf"},
		{"an algorithm not allowed", iss.Sign(t, jose.RS384, iss.Claims(nil)), apperr.Unauthenticated, "not valid"},
		{"alg none", forge(t, map[string]any{"alg": "none", "typ": "JWT"}, iss.Claims(nil), nil), apperr.Unauthenticated, "not valid"},
		{"HS256 keyed with the public key", forge(t, map[string]any{"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}, iss.Claims(nil), pubPEM), apperr.Unauthenticated, "not valid"},
		{"a signature by another key", signWithStranger(t, iss.Claims(nil)), apperr.Unauthenticated, "not valid"},
		{"no subject", iss.Sign(t, jose.RS256, iss.Claims(map[string]any{"sub": nil})), apperr.Unauthenticated, "no sub claim"},
		{"not a JWT", "hello", apperr.Unauthenticated, "not valid"},
		{"no role", iss.Sign(t, jose.RS256, iss.Claims(map[string]any{"roles": nil})), apperr.Forbidden, "carries no provgraph role in its roles claim"},
		{"roles that are not provgraph's", iss.Sign(t, jose.RS256, iss.Claims(map[string]any{"roles": []string{"superuser"}})), apperr.Forbidden, "no provgraph role"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := o.Authenticate(t.Context(), tt.token)
			require.Error(t, err)
			assert.Equal(t, tt.code, apperr.CodeOf(err), err.Error())
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func signWithStranger(t *testing.T, claims map[string]any) string {
	t.Helper()
	stranger, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: stranger, KeyID: "rsa-1"}}, nil)
	require.NoError(t, err)
	raw, err := jwt.Signed(signer).Claims(claims).Serialize()
	require.NoError(t, err)
	return raw
}

// The keys can come from discovery, a JWKS URL, a JWKS file or a PEM file; the role can
// sit in a nested claim and be mapped from the identity provider's own group names.
func TestOIDCKeySourcesAndRoleMapping(t *testing.T) {
	t.Parallel()
	iss := authtest.NewIssuer(t)
	dir := t.TempDir()
	jwksFile := filepath.Join(dir, "jwks.json")
	b, err := json.Marshal(iss.JWKS())
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(jwksFile, b, 0o600))
	pemFile := filepath.Join(dir, "keys.pem")
	var pems []byte
	for _, k := range []crypto.PublicKey{&iss.RSAKey.PublicKey, &iss.ECKey.PublicKey} {
		der, err := x509.MarshalPKIXPublicKey(k)
		require.NoError(t, err)
		pems = append(pems, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})...)
	}
	require.NoError(t, os.WriteFile(pemFile, pems, 0o600))

	nested := iss.Claims(map[string]any{"roles": nil, "realm_access": map[string]any{"roles": []string{"offline_access", "ML-Auditors"}}})
	for name, cfg := range map[string]auth.OIDCConfig{
		"discovery": {},
		"JWKS URL":  {JWKSURL: iss.URL + "/jwks"},
		"JWKS file": {JWKSFile: jwksFile},
		"PEM file":  {JWKSFile: pemFile},
	} {
		t.Run(name, func(t *testing.T) {
			cfg.Issuer, cfg.Audience = iss.URL, "provgraph"
			cfg.RoleClaim = "realm_access.roles"
			cfg.RoleMap = map[string]auth.Role{"ml-auditors": auth.RoleReader, "ml-admins": auth.RoleAdmin}
			o := newOIDC(t, cfg)
			for _, alg := range []jose.SignatureAlgorithm{jose.RS256, jose.ES256} {
				p, err := o.Authenticate(t.Context(), iss.Sign(t, alg, nested))
				require.NoError(t, err, alg)
				assert.Equal(t, auth.RoleReader, p.Role, "ML-Auditors maps to reader (%s)", alg)
			}
			_, err := o.Authenticate(t.Context(), iss.Sign(t, jose.RS256, iss.Claims(nil)))
			assert.Equal(t, apperr.Forbidden, apperr.CodeOf(err), "the top-level roles claim is not the configured one")
		})
	}
}

// Settings that would weaken validation are refused up front.
func TestOIDCRefusesUnsafeSettings(t *testing.T) {
	t.Parallel()
	iss := authtest.NewIssuer(t)
	symmetric := filepath.Join(t.TempDir(), "oct.json")
	require.NoError(t, os.WriteFile(symmetric, []byte(`{"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "s"}]}`), 0o600))
	for _, tt := range []struct {
		name string
		cfg  auth.OIDCConfig
		want string
	}{
		{"no issuer", auth.OIDCConfig{Audience: "provgraph"}, "issuer is required"},
		{"no audience", auth.OIDCConfig{Issuer: iss.URL}, "audience is required"},
		{"HS256", auth.OIDCConfig{Issuer: iss.URL, Audience: "provgraph", Algorithms: []string{"HS256"}}, `"HS256" is not accepted`},
		{"none", auth.OIDCConfig{Issuer: iss.URL, Audience: "provgraph", Algorithms: []string{"RS256", "none"}}, `"none" is not accepted`},
		{"a symmetric key", auth.OIDCConfig{Issuer: iss.URL, Audience: "provgraph", JWKSFile: symmetric}, "not a public key"},
		{"a role map to no role", auth.OIDCConfig{Issuer: iss.URL, Audience: "provgraph", RoleMap: map[string]auth.Role{"x": "root"}}, "not a role"},
		{"both key sources", auth.OIDCConfig{Issuer: iss.URL, Audience: "provgraph", JWKSURL: iss.URL + "/jwks", JWKSFile: symmetric}, "not both"},
		{"an issuer that does not answer", auth.OIDCConfig{Issuer: "http://127.0.0.1:1", Audience: "provgraph"}, "discover issuer"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := auth.NewOIDC(t.Context(), tt.cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

// The console's sign-in needs the issuer's authorization and token endpoints: they are
// read from the same discovery document as the keys' location, and discovered even when
// the keys are given, only when asked for.
func TestOIDCDiscoversEndpoints(t *testing.T) {
	t.Parallel()
	iss := authtest.NewIssuer(t)
	o := newOIDC(t, auth.OIDCConfig{Issuer: iss.URL, Audience: "provgraph", JWKSURL: iss.URL + "/jwks", DiscoverEndpoints: true})
	ep, ok := o.Endpoints()
	require.True(t, ok)
	assert.Equal(t, auth.Endpoints{Authorization: iss.URL + "/auth", Token: iss.URL + "/token", CodeChallengeMethods: []string{"S256"}}, ep)
	assert.Equal(t, iss.URL, o.Issuer())

	_, ok = newOIDC(t, auth.OIDCConfig{Issuer: iss.URL, Audience: "provgraph"}).Endpoints()
	assert.False(t, ok, "not asked for")

	_, err := auth.NewOIDC(t.Context(), auth.OIDCConfig{Issuer: "http://127.0.0.1:1", Audience: "provgraph", JWKSURL: iss.URL + "/jwks", DiscoverEndpoints: true})
	require.Error(t, err, "asked for, discovery must succeed even with a JWKS URL")
	assert.Contains(t, err.Error(), "discover issuer")
}
