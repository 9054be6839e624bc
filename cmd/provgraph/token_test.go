package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/auth"
	"github.com/provgraph/provgraph/internal/neo4jtest"
)

// The token commands: create prints the token once (alone on stdout, for scripts),
// list never shows a secret, revoke keeps the token and marks it, and the store then
// refuses it.
func TestTokenCommands(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	cfg := neo4jtest.Config(t)
	tk := neo4jtest.Token(t)
	conn := []string{"--neo4j-uri", cfg.URI, "--neo4j-user", cfg.User, "--neo4j-password", cfg.Password, "--neo4j-database", cfg.Database}
	runCLI := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := run(append(args, conn...), &out, &errOut)
		return code, out.String(), errOut.String()
	}
	name := "ci-" + tk

	code, out, errOut := runCLI("token", "create", "--name", name, "--role", "writer", "--expires", "720h")
	require.Equal(t, 0, code, errOut)
	secret := strings.TrimSpace(out)
	id, _, ok := auth.ParseToken(secret)
	require.True(t, ok, "stdout is the token alone: %q", out)
	assert.Contains(t, errOut, `created API token "`+name+`" (role writer, id `+id)
	assert.Contains(t, errOut, "printed this once")
	assert.NotContains(t, errOut, secret, "the token is printed once, on stdout")
	tok, err := st.AuthenticateAPIToken(t.Context(), secret)
	require.NoError(t, err)
	assert.Equal(t, auth.RoleWriter, tok.Role)
	require.NotNil(t, tok.ExpiresAt)
	assert.WithinDuration(t, time.Now().Add(720*time.Hour), *tok.ExpiresAt, time.Minute)
	assert.True(t, strings.HasPrefix(tok.CreatedBy, "cli"), tok.CreatedBy)

	code, _, errOut = runCLI("token", "create", "--name", name, "--role", "reader")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, `--name: an API token named "`+name+`" exists already`)
	code, _, errOut = runCLI("token", "create", "--name", "other-"+tk, "--role", "root")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, `--role: must be reader, writer or admin (got "root")`)
	code, _, errOut = runCLI("token", "create", "--name", "has space", "--role", "reader")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "--name: must start with a letter or digit")

	code, out, errOut = runCLI("token", "list")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "NAME")
	line := lineWith(out, name)
	assert.Contains(t, line, "writer")
	assert.Contains(t, line, id)
	assert.NotContains(t, out, secret[len(auth.TokenPrefix)+len(id)+1:], "list shows no secret")

	code, out, errOut = runCLI("token", "revoke", "--name", name)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, `revoked API token "`+name+`" (id `+id+`)`)
	_, err = st.AuthenticateAPIToken(t.Context(), secret)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "was revoked at")
	code, _, errOut = runCLI("token", "revoke", "--id", id)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "was revoked already")

	code, out, _ = runCLI("token", "list")
	require.Equal(t, 0, code)
	assert.Empty(t, lineWith(out, name), "revoked tokens are left out")
	code, out, _ = runCLI("token", "list", "--all")
	require.Equal(t, 0, code)
	assert.Contains(t, lineWith(out, name), "by cli", "listed with who revoked it")

	code, _, errOut = runCLI("token", "revoke", "--name", "missing-"+tk)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, `no API token is "missing-`+tk+`"`)
	code, _, errOut = runCLI("token", "revoke")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "exactly one of --name and --id")
	var o, e bytes.Buffer
	assert.Equal(t, 2, run([]string{"token", "frobnicate"}, &o, &e))
	assert.Contains(t, e.String(), `unknown command "frobnicate"`)
	assert.Equal(t, 2, run([]string{"token"}, &o, &e))
}

func lineWith(out, s string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}

// `provgraph serve --bootstrap-admin-token-file` (make run) creates an admin token,
// keeps it in the file (mode 0600), prints the console's sign-in link with it in the
// fragment, once, for the person at the terminal and never into the log, and reuses it
// next time; a token in the file that no longer works is replaced.
func TestServeBootstrapsALocalAdminToken(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	file := filepath.Join(t.TempDir(), "data", "admin-token")

	serveOnce := func() string {
		t.Helper()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		t.Cleanup(func() { _ = ln.Close() })
		addr := ln.Addr().String()
		// What the server prints for the person at the terminal, and what it logs, written
		// by its goroutines.
		tempFile := func(name string) (*os.File, func() string) {
			f, err := os.CreateTemp(t.TempDir(), name)
			require.NoError(t, err)
			t.Cleanup(func() { _ = f.Close() })
			return f, func() string {
				b, err := os.ReadFile(f.Name())
				require.NoError(t, err)
				return string(b)
			}
		}
		notices, printed := tempFile("notices")
		logFile, logged := tempFile("log")
		cfg := &serveConfig{addr: addr, listener: ln, neo4j: neo4jtest.Config(t), neo4jWait: time.Minute, shutdownTimeout: 10 * time.Second,
			maxBodyBytes: 1 << 20, bootstrapTokenFile: file, notices: notices}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			done <- runServer(ctx, cfg, zerolog.New(zerolog.MultiLevelWriter(zerolog.NewTestWriter(t), logFile)))
		}()
		require.Eventually(t, func() bool { return strings.Contains(printed(), "to sign in to the console") }, time.Minute, 50*time.Millisecond)

		b, err := os.ReadFile(file)
		require.NoError(t, err)
		token := strings.TrimSpace(string(b))
		info, err := os.Stat(file)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "only its owner may read the admin token")
		assert.Contains(t, printed(), "\nprovgraph: open http://"+addr+"/#token="+token+" to sign in to the console\n",
			"the sign-in link, the token in its fragment")
		assert.Equal(t, 1, strings.Count(printed(), token), "the token is printed once")
		assert.Contains(t, printed(), file, "where the token is kept")

		req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/graphql", strings.NewReader(`{"query": "{ viewer { role } }"}`))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		var body bytes.Buffer
		_, _ = body.ReadFrom(resp.Body)
		_ = resp.Body.Close()
		assert.JSONEq(t, `{"data": {"viewer": {"role": "ADMIN"}}}`, body.String())

		cancel()
		require.NoError(t, <-done)
		assert.Contains(t, logged(), `"path":"/graphql"`, "the access log has the request")
		assert.NotContains(t, logged(), token, "the token never reaches the log")
		assert.NotContains(t, logged(), token[len(token)-20:], "nor any of its secret")
		return token
	}
	first := serveOnce()
	assert.Equal(t, first, serveOnce(), "the token in the file is reused")

	tok, err := st.AuthenticateAPIToken(t.Context(), first)
	require.NoError(t, err)
	_, err = st.RevokeAPIToken(t.Context(), "test", "id", tok.ID)
	require.NoError(t, err)
	third := serveOnce()
	assert.NotEqual(t, first, third, "a revoked token in the file is replaced")
}

// keygen writes a key-encryption key once; token create --aws makes an access key whose
// secret, sealed with it, the store opens again.
func TestAccessKeyCommands(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	cfg := neo4jtest.Config(t)
	tk := neo4jtest.Token(t)
	conn := []string{"--neo4j-uri", cfg.URI, "--neo4j-user", cfg.User, "--neo4j-password", cfg.Password, "--neo4j-database", cfg.Database}
	runCLI := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := run(args, &out, &errOut)
		return code, out.String(), errOut.String()
	}
	kek := filepath.Join(t.TempDir(), "kek")
	code, _, errOut := runCLI("token", "keygen", "--out", kek)
	require.Equal(t, 0, code, errOut)
	info, err := os.Stat(kek)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	code, _, errOut = runCLI("token", "keygen", "--out", kek)
	assert.Equal(t, 1, code, "an existing key is never overwritten")
	assert.Contains(t, errOut, "exists")

	code, _, errOut = runCLI(append([]string{"token", "create", "--aws", "--name", "nokek-" + tk, "--role", "writer"}, conn...)...)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "--aws needs --key-encryption-key")

	name := "aws-" + tk
	code, out, errOut := runCLI(append([]string{"token", "create", "--aws", "--name", name, "--role", "writer", "--key-encryption-key", kek}, conn...)...)
	require.Equal(t, 0, code, errOut)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 2, out)
	keyID, _ := strings.CutPrefix(lines[0], "AWS_ACCESS_KEY_ID=")
	secret, _ := strings.CutPrefix(lines[1], "AWS_SECRET_ACCESS_KEY=")
	assert.NotContains(t, errOut, secret)
	key, err := auth.ReadKEK(kek)
	require.NoError(t, err)
	sealer, err := auth.NewSealer(key)
	require.NoError(t, err)
	tok, opened, err := st.AccessKeySecret(t.Context(), keyID, sealer.Open)
	require.NoError(t, err)
	assert.Equal(t, secret, opened)
	assert.Equal(t, auth.RoleWriter, tok.Role)
	assert.True(t, tok.AccessKey)

	code, out, errOut = runCLI(append([]string{"token", "list"}, conn...)...)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "ACCESS KEY ID")
	assert.Contains(t, out, keyID, "token list names the access key")
	assert.NotContains(t, out, secret)
}
