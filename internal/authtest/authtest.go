// Package authtest gives tests credentials: API tokens of a role, created through the
// store like any other, and the handler and transport wrappers that send them.
package authtest

import (
	"net/http"
	"testing"

	"github.com/provgraph/provgraph/auth"
	"github.com/provgraph/provgraph/internal/neo4jtest"
	"github.com/provgraph/provgraph/store"
)

// Credential is an API token made for a test.
type Credential struct {
	// Token is what is sent: Authorization: Bearer <Token>.
	Token string
	// Name is the token's name; writes made with it record Actor.
	Name  string
	Actor string
	ID    string
}

// NewToken creates an API token of role, named after a fresh test token so tests never
// collide, and returns it.
func NewToken(t testing.TB, st *store.Store, role auth.Role) Credential {
	t.Helper()
	name := "test-" + neo4jtest.Token(t) + "-" + string(role)
	tok, secret, err := st.CreateAPIToken(t.Context(), "test", store.NewAPIToken{Name: name, Role: role})
	if err != nil {
		t.Fatalf("create a %s token: %v", role, err)
	}
	return Credential{Token: secret, Name: tok.Name, Actor: tok.Actor(), ID: tok.ID}
}

// Header is the Authorization header value that sends c.
func (c Credential) Header() string { return "Bearer " + c.Token }

// Handler returns h with c's Authorization header set on every request that has none.
func (c Credential) Handler(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "" {
			r = r.Clone(r.Context())
			r.Header.Set("Authorization", c.Header())
		}
		h.ServeHTTP(w, r)
	})
}

// Client returns an HTTP client that sends c with every request.
func (c Credential) Client() *http.Client {
	return &http.Client{Transport: c.Transport(nil)}
}

// Transport returns a round tripper that sends c with every request, through base
// (http.DefaultTransport when nil).
func (c Credential) Transport(base http.RoundTripper) http.RoundTripper {
	return auth.BearerTransport(c.Token, base)
}
