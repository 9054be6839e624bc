package main

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/internal/authtest"
	"github.com/provgraph/provgraph/server"
)

func TestServeHelpDocumentsFlagsAndEnvironment(t *testing.T) {
	t.Setenv("NEO4J_PASSWORD", "secret-from-env")
	var out, errOut bytes.Buffer
	code := run([]string{"serve", "--help"}, &out, &errOut)
	assert.Equal(t, 0, code)
	help := errOut.String()
	for _, want := range []string{"PROVGRAPH_ADDR", "NEO4J_URI", "NEO4J_USER", "NEO4J_PASSWORD", "NEO4J_DATABASE",
		"PROVGRAPH_LOG_LEVEL", "PROVGRAPH_LOG_FORMAT", "PROVGRAPH_SHUTDOWN_TIMEOUT", "PROVGRAPH_REQUEST_TIMEOUT",
		"PROVGRAPH_PRODUCTION", "127.0.0.1:8080", "SIGTERM",
		"/metrics", "--tls-cert", "PROVGRAPH_TLS_CERT", "--tls-key", "PROVGRAPH_TLS_KEY",
		"PROVGRAPH_TOKEN_CACHE_TTL", "PROVGRAPH_ANONYMOUS_READ_LOOPBACK", "PROVGRAPH_BOOTSTRAP_ADMIN_TOKEN_FILE",
		"PROVGRAPH_OIDC_ISSUER", "PROVGRAPH_OIDC_AUDIENCE", "PROVGRAPH_OIDC_JWKS_URL", "PROVGRAPH_OIDC_JWKS_FILE",
		"PROVGRAPH_OIDC_ALGORITHMS", "PROVGRAPH_OIDC_ROLE_CLAIM", "PROVGRAPH_OIDC_ROLE_MAP",
		"PROVGRAPH_OIDC_CONSOLE_CLIENT_ID", "PROVGRAPH_OIDC_CONSOLE_SCOPES", "docs/security.md"} {
		assert.Contains(t, help, want)
	}
	assert.NotContains(t, help, "secret-from-env", "help never prints a password")
}

func TestUsageErrors(t *testing.T) {
	var out, errOut bytes.Buffer
	assert.Equal(t, 2, run(nil, &out, &errOut))
	assert.Equal(t, 2, run([]string{"frobnicate"}, &out, &errOut))
	assert.Contains(t, errOut.String(), `unknown command "frobnicate"`)
	errOut.Reset()
	assert.Equal(t, 2, run([]string{"serve", "--no-such-flag"}, &out, &errOut))
	assert.True(t, strings.Contains(errOut.String(), "no-such-flag"))
	errOut.Reset()
	assert.Equal(t, 2, run([]string{"serve", "--log-level", "loud"}, &out, &errOut))
	assert.Contains(t, errOut.String(), "--log-level")
}

// The request deadline and production mode come from their flags, else from the
// environment, else the defaults (30s, off).
func TestServeRequestTimeoutAndProductionFlags(t *testing.T) {
	fs, cfg := serveFlags(io.Discard)
	require.NoError(t, fs.Parse(nil))
	assert.Equal(t, server.DefaultRequestTimeout, cfg.requestTimeout)
	assert.False(t, cfg.production)

	t.Setenv("PROVGRAPH_REQUEST_TIMEOUT", "5s")
	t.Setenv("PROVGRAPH_PRODUCTION", "true")
	fs, cfg = serveFlags(io.Discard)
	require.NoError(t, fs.Parse(nil))
	assert.Equal(t, 5*time.Second, cfg.requestTimeout)
	assert.True(t, cfg.production)

	fs, cfg = serveFlags(io.Discard)
	require.NoError(t, fs.Parse([]string{"--request-timeout", "2m", "--production=false"}))
	assert.Equal(t, 2*time.Minute, cfg.requestTimeout)
	assert.False(t, cfg.production)
}

// OIDC settings that cannot work stop the server before it serves, saying why.
func TestServeRefusesBadOIDCSettings(t *testing.T) {
	for _, tt := range []struct {
		name  string
		flags oidcFlags
		want  string
	}{
		{"an audience without an issuer", oidcFlags{audience: "provgraph"}, "need --oidc-issuer"},
		{"a console client without an issuer", oidcFlags{consoleClientID: "provgraph-console"}, "need --oidc-issuer"},
		{"a console client with an issuer that cannot be discovered", oidcFlags{issuer: "http://127.0.0.1:1", audience: "provgraph", jwksFile: "x", algorithms: "RS256", consoleClientID: "provgraph-console"}, "discover issuer"},
		{"an issuer without an audience", oidcFlags{issuer: "https://idp.example", jwksFile: "x", algorithms: "RS256"}, "audience is required"},
		{"a shared-secret algorithm", oidcFlags{issuer: "https://idp.example", audience: "provgraph", jwksFile: "x", algorithms: "RS256,HS256"}, `algorithm "HS256" is not accepted`},
		{"alg none", oidcFlags{issuer: "https://idp.example", audience: "provgraph", jwksFile: "x", algorithms: "none"}, `algorithm "none" is not accepted`},
		{"a bad role map", oidcFlags{issuer: "https://idp.example", audience: "provgraph", jwksFile: "x", algorithms: "RS256", roleMap: "ml-admins=root"}, "--oidc-role-map"},
		{"a missing key file", oidcFlags{issuer: "https://idp.example", audience: "provgraph", jwksFile: "/nonexistent/jwks.json", algorithms: "RS256"}, "/nonexistent/jwks.json"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := runServer(t.Context(), &serveConfig{oidc: tt.flags}, zerolog.Nop())
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

// --oidc-console-client-id reads the issuer's endpoints from its discovery document,
// even when the keys come from a JWKS URL, and gives them to the console.
func TestServeConsoleOIDCSignIn(t *testing.T) {
	iss := authtest.NewIssuer(t)
	t.Setenv("PROVGRAPH_OIDC_CONSOLE_CLIENT_ID", "provgraph-console")
	fs, cfg := serveFlags(io.Discard)
	require.NoError(t, fs.Parse([]string{"--oidc-issuer", iss.URL, "--oidc-audience", authtest.Audience,
		"--oidc-jwks-url", iss.URL + "/jwks", "--oidc-console-scopes", "openid profile roles"}))
	o, err := cfg.oidc.verifier(t.Context())
	require.NoError(t, err)
	signIn, err := cfg.oidc.consoleSignIn(o)
	require.NoError(t, err)
	assert.Equal(t, iss.URL, signIn.Issuer)
	assert.Equal(t, "provgraph-console", signIn.ClientID)
	assert.Equal(t, "openid profile roles", signIn.Scope)
	assert.Equal(t, iss.URL+"/auth", signIn.AuthorizationEndpoint)
	assert.Equal(t, iss.URL+"/token", signIn.TokenEndpoint)

	cfg.oidc.consoleClientID = ""
	o, err = cfg.oidc.verifier(t.Context())
	require.NoError(t, err)
	signIn, err = cfg.oidc.consoleSignIn(o)
	require.NoError(t, err)
	assert.Nil(t, signIn, "no client ID: the console takes tokens only")
}
