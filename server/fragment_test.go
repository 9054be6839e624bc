package server_test

import (
	"bufio"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/auth"
	"github.com/provgraph/provgraph/internal/authtest"
	"github.com/provgraph/provgraph/internal/neo4jtest"
	"github.com/provgraph/provgraph/server"
)

// The console's sign-in link carries the token in its fragment (/#token=…). Browsers
// and HTTP clients never send a fragment; a client that puts one in the request line
// anyway is served as if it had not, and the fragment reaches no log.
func TestFragmentsNeverReachTheLog(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	var logs syncBuffer
	srv := httptest.NewServer(server.New(server.Options{Store: st, Logger: zerolog.New(&logs)}))
	t.Cleanup(srv.Close)
	reader := authtest.NewToken(t, st, auth.RoleReader)
	const secret = "pgt_0123456789abcdef_fragmentsecretneverlogged"

	// What a browser sends for the link: the path alone.
	resp, err := http.Get(srv.URL + "/#token=" + secret)
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	// A raw client that sends the fragment anyway.
	for _, target := range []string{
		"/#token=" + secret,
		"/graphql?query=%7B__typename%7D#token=" + secret,
		"/healthz#token=" + secret + "?x=1",
	} {
		conn, err := net.Dial("tcp", srv.Listener.Addr().String())
		require.NoError(t, err)
		_, err = conn.Write([]byte("GET " + target + " HTTP/1.1\r\nHost: provgraph\r\nAuthorization: Bearer " + reader.Token +
			"\r\nConnection: close\r\n\r\n"))
		require.NoError(t, err)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		require.NoError(t, err)
		_ = resp.Body.Close()
		_ = conn.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode, "GET %s is served as GET %s", target, strings.SplitN(target, "#", 2)[0])
	}
	assert.Contains(t, logs.String(), `"path":"/healthz"`)
	assert.NotContains(t, logs.String(), "fragmentsecret")
	assert.NotContains(t, logs.String(), "#")
}
