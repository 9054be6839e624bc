package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/auth"
	"github.com/provgraph/provgraph/internal/authtest"
	"github.com/provgraph/provgraph/internal/neo4jtest"
	"github.com/provgraph/provgraph/store"
)

// The server comes up ready on a real Neo4j, serves, and on the shutdown signal (the
// context SIGTERM cancels) lets an in-flight request finish, stops listening and
// returns without error.
func TestServeStartsReadyAndShutsDownGracefully(t *testing.T) {
	cfg := testServeConfig(t)
	cancel, done := startServer(t, cfg)

	base := "http://" + cfg.addr
	requireReady(t, http.DefaultClient, base)

	// serve samples its transactions' lock waits: a sample soon shows in /metrics.
	reader := authtest.NewToken(t, neo4jtest.Store(t), auth.RoleReader)
	require.Eventually(t, func() bool {
		resp, err := reader.Client().Get(base + "/metrics")
		if err != nil {
			return false
		}
		defer func() { _ = resp.Body.Close() }()
		body, err := io.ReadAll(resp.Body)
		return err == nil && resp.StatusCode == http.StatusOK &&
			regexp.MustCompile(`(?m)^provgraph_neo4j_lock_wait_samples_total\{result="ok"\} [1-9]`).Match(body)
	}, 30*time.Second, 100*time.Millisecond, "no lock-wait sample in /metrics")

	// Shut down while a request is being answered: it still gets its answer.
	pr, pw := io.Pipe()
	answered := make(chan int, 1)
	go func() {
		resp, err := reader.Client().Post(base+"/graphql", "application/json", pr)
		if err != nil {
			answered <- 0
			return
		}
		_ = resp.Body.Close()
		answered <- resp.StatusCode
	}()
	_, err := pw.Write([]byte(`{"query": "{ node(id: \"endpoint:none\") `))
	require.NoError(t, err)
	time.Sleep(200 * time.Millisecond) // the request is in flight
	cancel()
	time.Sleep(200 * time.Millisecond)
	_, err = pw.Write([]byte(`{ id } }"}`))
	require.NoError(t, err)
	require.NoError(t, pw.Close())
	assert.Equal(t, http.StatusOK, <-answered, "the in-flight request finished")

	requireStopped(t, done)
	_, err = http.Get(base + "/healthz")
	require.Error(t, err, "no longer listening")
	assert.True(t, strings.Contains(err.Error(), "refused"), err.Error())
}

// testServeConfig is a serve configuration for the test Neo4j and a free local port.
func testServeConfig(t *testing.T) *serveConfig {
	t.Helper()
	return serveConfigFor(t, neo4jtest.Config(t))
}

// serveConfigFor is a serve configuration for the Neo4j of db and a free local port.
func serveConfigFor(t *testing.T, db store.Config) *serveConfig {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	return &serveConfig{
		addr: ln.Addr().String(), listener: ln, neo4j: db, neo4jWait: time.Minute,
		shutdownTimeout: 10 * time.Second, maxBodyBytes: 1 << 20,
	}
}

// startServer runs runServer with cfg until cancel is called; done receives what it
// returned.
func startServer(t *testing.T, cfg *serveConfig) (cancel context.CancelFunc, done <-chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	result := make(chan error, 1)
	go func() { result <- runServer(ctx, cfg, zerolog.New(zerolog.NewTestWriter(t))) }()
	return cancel, result
}

// requireReady waits until the server at base answers /readyz with 200.
func requireReady(t *testing.T, client *http.Client, base string) {
	t.Helper()
	requireReadyz(t, client, base, http.StatusOK, time.Minute)
}

// requireReadyz waits up to within for the server at base to answer /readyz with status.
func requireReadyz(t *testing.T, client *http.Client, base string, status int, within time.Duration) {
	t.Helper()
	require.Eventually(t, func() bool {
		resp, err := client.Get(base + "/readyz")
		if err != nil {
			return false
		}
		_ = resp.Body.Close()
		return resp.StatusCode == status
	}, within, 100*time.Millisecond, "%s/readyz answers %d", base, status)
}

// requireStopped waits for a cancelled server to return, without error.
func requireStopped(t *testing.T, done <-chan error) {
	t.Helper()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(20 * time.Second):
		t.Fatal("runServer did not return after shutdown")
	}
}

// The sign-in link opens the service through an address a browser can reach, with the
// token in the fragment only.
func TestSignInURL(t *testing.T) {
	t.Parallel()
	tcp := func(s string) net.Addr {
		a, err := net.ResolveTCPAddr("tcp", s)
		require.NoError(t, err)
		return a
	}
	for addr, want := range map[string]string{
		"127.0.0.1:8080": "http://127.0.0.1:8080/#token=pgt_0123456789abcdef_secret",
		"0.0.0.0:8080":   "http://127.0.0.1:8080/#token=pgt_0123456789abcdef_secret",
		"[::]:8080":      "http://[::1]:8080/#token=pgt_0123456789abcdef_secret",
		"[::1]:9443":     "http://[::1]:9443/#token=pgt_0123456789abcdef_secret",
		"10.1.2.3:80":    "http://10.1.2.3:80/#token=pgt_0123456789abcdef_secret",
	} {
		assert.Equal(t, want, signInURL("http", tcp(addr), "pgt_0123456789abcdef_secret"), addr)
	}
	assert.Equal(t, "https://127.0.0.1:8443/#token=pgt_x", signInURL("https", tcp("127.0.0.1:8443"), "pgt_x"))
}
