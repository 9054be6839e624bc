package server_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/auth"
	"github.com/provgraph/provgraph/internal/authtest"
	"github.com/provgraph/provgraph/internal/neo4jtest"
	"github.com/provgraph/provgraph/server"
)

// gqlError is one entry of a GraphQL response's errors.
type gqlError struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

// gqlResponse is a decoded GraphQL response.
type gqlResponse struct {
	Status int
	Header http.Header
	Data   map[string]any `json:"data"`
	Errors []gqlError     `json:"errors"`
}

// newHandler returns provgraph's real HTTP handler on the test Neo4j; requests without
// an Authorization header are sent with an admin token of the test's own.
func newHandler(t *testing.T) http.Handler {
	t.Helper()
	h, _ := newHandlerAs(t, auth.RoleAdmin)
	return h
}

// newHandlerAs is newHandler with a token of role, which it returns too.
func newHandlerAs(t *testing.T, role auth.Role) (http.Handler, authtest.Credential) {
	t.Helper()
	st := neo4jtest.Store(t)
	c := authtest.NewToken(t, st, role)
	return c.Handler(newBareHandler(t, server.Options{Store: st})), c
}

// newBareHandler returns the handler configured by opts (with the test's logger), which
// sends no credentials of its own.
func newBareHandler(t *testing.T, opts server.Options) http.Handler {
	t.Helper()
	opts.Logger = zerolog.New(zerolog.NewTestWriter(t))
	return server.New(opts)
}

// do posts a GraphQL request to h and decodes the response.
func do(t *testing.T, h http.Handler, query string, vars map[string]any) gqlResponse {
	t.Helper()
	return doWithHeader(t, h, query, vars, nil)
}

// doWithHeader is do with extra request headers.
func doWithHeader(t *testing.T, h http.Handler, query string, vars map[string]any, header map[string]string) gqlResponse {
	t.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	require.NoError(t, err)
	req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	return send(t, h, req)
}

// send has h answer req and decodes the GraphQL response.
func send(t *testing.T, h http.Handler, req *http.Request) gqlResponse {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var resp gqlResponse
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &resp), "response body: %s", rec.Body.String())
	resp.Status = rec.Code
	resp.Header = rec.Header()
	return resp
}

// mustDo is do for requests that must succeed.
func mustDo(t *testing.T, h http.Handler, query string, vars map[string]any) map[string]any {
	t.Helper()
	resp := do(t, h, query, vars)
	require.Empty(t, resp.Errors, "unexpected errors for %s", firstLine(query))
	return resp.Data
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// get walks a decoded JSON value by map keys and list indexes.
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

// ids returns the "id" of every object in a decoded list, sorted as given.
func ids(list any) []string {
	var out []string
	for _, v := range list.([]any) {
		out = append(out, get(v, "id").(string))
	}
	return out
}
