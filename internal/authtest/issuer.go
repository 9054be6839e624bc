package authtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Audience is the audience the Issuer's tokens are made for.
const Audience = "provgraph"

// Issuer is an OpenID provider for tests, served by httptest on 127.0.0.1 — there is
// no network here: discovery (/.well-known/openid-configuration), a JWKS (/jwks), and
// the Authorization Code flow with PKCE for public clients — an authorization endpoint
// (/auth) that signs one test user in without asking and sends the browser back with a
// code, and a token endpoint (/token) that exchanges the code for a signed access token
// (aud Audience) and ID token (aud the client) when the code_verifier matches. It holds
// the keys to sign tokens with (RSA for RS256/RS384, P-256 for ES256).
type Issuer struct {
	// URL is the issuer's identifier, the iss of its tokens.
	URL    string
	RSAKey *rsa.PrivateKey
	ECKey  *ecdsa.PrivateKey

	mu sync.Mutex
	// clients are the registered public clients: client id → redirect URI.
	clients map[string]string
	// user are the claims (over Claims) of the person the authorization endpoint signs in.
	user map[string]any
	// redirect, when set, changes the authorization endpoint's answer.
	redirect func(q url.Values)
	// opaqueAccess hands out access tokens that are not JWTs.
	opaqueAccess bool
	// grants are the codes handed out and not yet exchanged.
	grants map[string]grant
}

// grant is what an authorization code stands for.
type grant struct {
	clientID, redirectURI, challenge, scope string
	claims                                  map[string]any
	expires                                 time.Time
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
	iss := &Issuer{RSAKey: rsaKey, ECKey: ecKey, clients: map[string]string{}, grants: map[string]grant{}}
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	iss.URL = srv.URL
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer": iss.URL, "jwks_uri": iss.URL + "/jwks",
			"authorization_endpoint": iss.URL + "/auth", "token_endpoint": iss.URL + "/token",
			"response_types_supported":              []string{"code"},
			"grant_types_supported":                 []string{"authorization_code"},
			"code_challenge_methods_supported":      []string{"S256"},
			"token_endpoint_auth_methods_supported": []string{"none"},
			"id_token_signing_alg_values_supported": []string{"RS256", "ES256"},
		})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(iss.JWKS())
	})
	mux.HandleFunc("GET /auth", iss.authorize)
	mux.HandleFunc("/token", iss.token)
	return iss
}

// RegisterClient registers a public client (no secret) and the one redirect URI it may
// be sent back to.
func (i *Issuer) RegisterClient(clientID, redirectURI string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.clients[clientID] = redirectURI
}

// SignInAs sets who the authorization endpoint signs in: the claims of Claims(extra).
// By default, Claims(nil): alice@example.com, a writer.
func (i *Issuer) SignInAs(extra map[string]any) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.user = extra
}

// OnRedirect lets a test change the authorization endpoint's answer (code and state,
// or error and error_description) before the browser is sent back with it: to forge the
// state, swap the code or refuse. nil restores the plain answer.
func (i *Issuer) OnRedirect(f func(q url.Values)) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.redirect = f
}

// OpaqueAccessTokens makes the token endpoint hand out access tokens that are not JWTs,
// as some providers do (only the ID token is then a JWT).
func (i *Issuer) OpaqueAccessTokens(on bool) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.opaqueAccess = on
}

// pkceChallenge is an S256 code challenge: base64url of 32 bytes, unpadded.
var pkceChallenge = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)

// pkceVerifier is a code_verifier as RFC 7636 allows it.
var pkceVerifier = regexp.MustCompile(`^[A-Za-z0-9._~-]{43,128}$`)

// authorize is the authorization endpoint: it checks the client and its redirect URI,
// insists on PKCE with S256, approves the test user and sends the browser back with a
// code for them.
func (i *Issuer) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	i.mu.Lock()
	defer i.mu.Unlock()
	registered, ok := i.clients[q.Get("client_id")]
	if !ok || q.Get("redirect_uri") != registered {
		// Never send a browser to a redirect URI that was not registered.
		http.Error(w, "unknown client_id or redirect_uri", http.StatusBadRequest)
		return
	}
	answer := url.Values{"state": {q.Get("state")}}
	switch {
	case q.Get("response_type") != "code":
		answer.Set("error", "unsupported_response_type")
	case q.Get("code_challenge_method") != "S256" || !pkceChallenge.MatchString(q.Get("code_challenge")):
		answer.Set("error", "invalid_request")
		answer.Set("error_description", "PKCE with code_challenge_method S256 is required")
	default:
		code := rand.Text()
		i.grants[code] = grant{clientID: q.Get("client_id"), redirectURI: registered, challenge: q.Get("code_challenge"),
			scope: q.Get("scope"), claims: i.Claims(i.user), expires: time.Now().Add(time.Minute)}
		answer.Set("code", code)
	}
	if i.redirect != nil {
		i.redirect(answer)
	}
	http.Redirect(w, r, registered+"?"+answer.Encode(), http.StatusFound)
}

// token is the token endpoint: it exchanges a code once, for the client and redirect
// URI it was given to, when the code_verifier hashes to its challenge. Browsers call
// it from the client's origin, so it answers CORS requests from registered origins.
func (i *Issuer) token(w http.ResponseWriter, r *http.Request) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if origin := r.Header.Get("Origin"); origin != "" {
		for _, redirect := range i.clients {
			if u, err := url.Parse(redirect); err == nil && origin == u.Scheme+"://"+u.Host {
				w.Header().Set("Access-Control-Allow-Origin", origin)
				w.Header().Set("Vary", "Origin")
			}
		}
	}
	switch r.Method {
	case http.MethodOptions:
		w.Header().Set("Access-Control-Allow-Methods", "POST")
		w.Header().Set("Access-Control-Allow-Headers", "Content-Type")
		w.WriteHeader(http.StatusNoContent)
		return
	case http.MethodPost:
	default:
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	refuse := func(code, description string) {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": code, "error_description": description})
	}
	if err := r.ParseForm(); err != nil {
		refuse("invalid_request", "not a form")
		return
	}
	f := r.PostForm
	if f.Get("grant_type") != "authorization_code" {
		refuse("unsupported_grant_type", "only authorization_code")
		return
	}
	g, ok := i.grants[f.Get("code")]
	delete(i.grants, f.Get("code")) // a code is used once, whatever happens
	switch {
	case !ok || time.Now().After(g.expires):
		refuse("invalid_grant", "the code is unknown, used or expired")
		return
	case f.Get("client_id") != g.clientID || f.Get("redirect_uri") != g.redirectURI:
		refuse("invalid_grant", "the code was issued to another client or redirect_uri")
		return
	case !pkceVerifier.MatchString(f.Get("code_verifier")) || s256(f.Get("code_verifier")) != g.challenge:
		refuse("invalid_grant", "the code_verifier does not match the code_challenge")
		return
	}
	access := rand.Text()
	if !i.opaqueAccess {
		claims := maps.Clone(g.claims)
		claims["aud"], claims["azp"], claims["scope"] = Audience, g.clientID, g.scope
		var err error
		if access, err = i.sign(jose.RS256, claims); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
	}
	idClaims := maps.Clone(g.claims)
	idClaims["aud"] = g.clientID
	id, err := i.sign(jose.RS256, idClaims)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": access, "id_token": id, "token_type": "Bearer", "expires_in": 3600, "scope": g.scope,
	})
}

// s256 is the PKCE S256 transformation of a code verifier.
func s256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
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
	raw, err := i.sign(alg, claims)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func (i *Issuer) sign(alg jose.SignatureAlgorithm, claims map[string]any) (string, error) {
	key := jose.JSONWebKey{Key: i.RSAKey, KeyID: "rsa-1"}
	if alg == jose.ES256 {
		key = jose.JSONWebKey{Key: i.ECKey, KeyID: "ec-1"}
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", err
	}
	return jwt.Signed(signer).Claims(claims).Serialize()
}
