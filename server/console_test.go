package server

import (
	"encoding/json"
	"html"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/auth"
)

func get(t *testing.T, h http.Handler, path string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	securityHeaders(ContentSecurityPolicy(nil), h).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec
}

// The console's pages and hashed assets come from the embedded build, every answer
// with the Content-Security-Policy; a missing asset is 404, never a page.
func TestConsoleServesTheBuild(t *testing.T) {
	t.Parallel()
	assets := fstest.MapFS{
		"index.html":           {Data: []byte("<!doctype html><title>provgraph</title>")},
		"graphiql.html":        {Data: []byte("<!doctype html><title>provgraph · GraphiQL</title>")},
		"assets/index-abc.js":  {Data: []byte("console.log(1)")},
		"assets/index-abc.css": {Data: []byte("body{}")},
	}
	h := consoleHandler(fs.FS(assets), true, nil)
	for path, want := range map[string]string{
		"/":                    "<title>provgraph</title>",
		"/graphiql":            "GraphiQL",
		"/assets/index-abc.js": "console.log(1)",
	} {
		rec := get(t, h, path)
		assert.Equal(t, http.StatusOK, rec.Code, path)
		assert.Contains(t, rec.Body.String(), want, path)
		csp := rec.Header().Get("Content-Security-Policy")
		for _, directive := range []string{"script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "object-src 'none'"} {
			assert.Contains(t, csp, directive, path)
		}
		assert.Contains(t, csp, "connect-src 'self';", path)
		assert.NotContains(t, csp, "unsafe-inline", path)
		assert.NotContains(t, csp, "unsafe-eval", path)
		assert.Equal(t, "nosniff", rec.Header().Get("X-Content-Type-Options"), path)
	}
	assert.NotContains(t, get(t, h, "/").Body.String(), ConsoleOIDCMeta, "no OIDC sign-in configured")
	assert.Equal(t, "no-cache", get(t, h, "/").Header().Get("Cache-Control"))
	assert.Contains(t, get(t, h, "/assets/index-abc.js").Header().Get("Cache-Control"), "immutable")
	assert.Equal(t, http.StatusNotFound, get(t, h, "/assets/missing.js").Code)
	assert.Equal(t, http.StatusNotFound, get(t, h, "/assets/").Code, "no directory listing")
}

// A binary built without the console says how to build it.
func TestConsoleNotBuilt(t *testing.T) {
	t.Parallel()
	h := consoleHandler(fstest.MapFS{}, false, nil)
	for _, path := range []string{"/", "/graphiql"} {
		rec := get(t, h, path)
		assert.Equal(t, http.StatusOK, rec.Code)
		assert.True(t, strings.Contains(rec.Body.String(), "make web"), rec.Body.String())
		assert.Contains(t, rec.Header().Get("Content-Security-Policy"), "script-src 'self'")
	}
}

// With the console's OIDC sign-in, the console page carries it in a <meta> in its head,
// HTML-escaped (a client ID that looks like markup stays an attribute's text), GraphiQL's
// page does not, and the Content-Security-Policy lets the page call the issuer's token
// endpoint's origin and nothing else more.
func TestConsoleOIDCSignInMeta(t *testing.T) {
	t.Parallel()
	const hostile = `"><script>alert(1)</script>`
	signIn, err := NewConsoleOIDC("https://idp.example.com/realms/ml", "console"+hostile, []string{"openid", "profile"}, auth.Endpoints{
		Authorization:        "https://login.example.com/realms/ml/auth?prompt=login",
		Token:                "https://idp.example.com:8443/realms/ml/token",
		CodeChallengeMethods: []string{"plain", "S256"},
	})
	require.NoError(t, err)
	assets := fstest.MapFS{
		"index.html":    {Data: []byte(`<!doctype html><html><head><title>provgraph</title><script type="module" src="/assets/index.js"></script></head><body></body></html>`)},
		"graphiql.html": {Data: []byte(`<!doctype html><html><head><title>GraphiQL</title></head><body></body></html>`)},
	}
	h := consoleHandler(fs.FS(assets), true, signIn)
	rec := httptest.NewRecorder()
	securityHeaders(ContentSecurityPolicy(signIn), h).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/?code=abc&state=xyz", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	page := rec.Body.String()

	m := regexp.MustCompile(`<meta name="provgraph-oidc" content="([^"]*)"></head>`).FindStringSubmatch(page)
	require.NotNil(t, m, "the meta ends the head: %s", page)
	assert.Equal(t, 1, strings.Count(page, "<script"), "the client ID stays text: %s", page)
	var got map[string]string
	require.NoError(t, json.Unmarshal([]byte(html.UnescapeString(m[1])), &got))
	assert.Equal(t, map[string]string{
		"issuer":                "https://idp.example.com/realms/ml",
		"clientId":              "console" + hostile,
		"scope":                 "openid profile",
		"authorizationEndpoint": "https://login.example.com/realms/ml/auth?prompt=login",
		"tokenEndpoint":         "https://idp.example.com:8443/realms/ml/token",
	}, got)
	assert.NotContains(t, get(t, h, "/graphiql").Body.String(), ConsoleOIDCMeta)

	csp := rec.Header().Get("Content-Security-Policy")
	assert.Contains(t, csp, "connect-src 'self' https://idp.example.com:8443;", "the token endpoint's origin only")
	assert.Equal(t, ContentSecurityPolicy(nil),
		strings.Replace(csp, "connect-src 'self' https://idp.example.com:8443;", "connect-src 'self';", 1), "nothing else changes")
	assert.NotContains(t, csp, "login.example.com", "the authorization endpoint is a navigation, not a fetch")
}

// The sign-in is refused at start-up when it could not work or would be unsafe.
func TestNewConsoleOIDCRefuses(t *testing.T) {
	t.Parallel()
	good := auth.Endpoints{Authorization: "https://idp.example.com/auth", Token: "https://idp.example.com/token"}
	with := func(f func(*auth.Endpoints)) auth.Endpoints { e := good; f(&e); return e }
	for _, tt := range []struct {
		name     string
		clientID string
		scopes   []string
		ep       auth.Endpoints
		want     string
	}{
		{"no client ID", "", []string{"openid"}, good, "client ID is empty"},
		{"a scope with a quote", "console", []string{`openid"`}, good, "not a scope"},
		{"no S256", "console", []string{"openid"}, with(func(e *auth.Endpoints) { e.CodeChallengeMethods = []string{"plain"} }), "S256"},
		{"plain HTTP elsewhere", "console", []string{"openid"}, with(func(e *auth.Endpoints) { e.Token = "http://idp.example.com/token" }), "must be https"},
		{"a relative endpoint", "console", []string{"openid"}, with(func(e *auth.Endpoints) { e.Authorization = "/auth" }), "not an absolute"},
		{"a host that would break the policy", "console", []string{"openid"}, with(func(e *auth.Endpoints) { e.Token = "https://idp.example.com;script-src/token" }), "not an absolute"},
		{"credentials in the URL", "console", []string{"openid"}, with(func(e *auth.Endpoints) { e.Token = "https://u:p@idp.example.com/token" }), "not an absolute"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewConsoleOIDC("https://idp.example.com", tt.clientID, tt.scopes, tt.ep)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
	_, err := NewConsoleOIDC("http://127.0.0.1:9000", "console", []string{"openid"},
		auth.Endpoints{Authorization: "http://127.0.0.1:9000/auth", Token: "http://[::1]:9000/token"})
	assert.NoError(t, err, "plain HTTP on loopback")
}
