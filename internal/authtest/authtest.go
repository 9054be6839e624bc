// Package authtest gives tests credentials: API tokens of a role, created through the
// store like any other, and the handler and transport wrappers that send them.
package authtest

import (
	"crypto/rand"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

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

// AccessKey is an access key made for a test: it signs requests with SigV4.
type AccessKey struct {
	ID, Secret string
	// Name is the key's token name; writes made with it record Actor.
	Name, Actor string
}

// NewAccessKey creates an access key of role whose secret is sealed with sealer.
func NewAccessKey(t testing.TB, st *store.Store, role auth.Role, sealer *auth.Sealer) AccessKey {
	t.Helper()
	name := "test-" + neo4jtest.Token(t) + "-aws-" + string(role)
	tok, keyID, secret, err := st.CreateAccessKey(t.Context(), "test", store.NewAPIToken{Name: name, Role: role}, sealer.Seal)
	if err != nil {
		t.Fatalf("create a %s access key: %v", role, err)
	}
	return AccessKey{ID: keyID, Secret: secret, Name: tok.Name, Actor: tok.Actor()}
}

// NewSealer returns a sealer with a fresh key-encryption key.
func NewSealer(t testing.TB) *auth.Sealer {
	t.Helper()
	kek := make([]byte, auth.KEKBytes)
	if _, err := rand.Read(kek); err != nil {
		t.Fatal(err)
	}
	s, err := auth.NewSealer(kek)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Sign signs r, whose body is body, for the sagemaker service in region at at, as
// botocore does: host, x-amz-date and every Content-Type and X-Amz-* header.
func (k AccessKey) Sign(r *http.Request, body []byte, region string, at time.Time) {
	r.Header.Set("X-Amz-Date", at.UTC().Format("20060102T150405Z"))
	signed := []string{"host"}
	for h := range r.Header {
		lh := strings.ToLower(h)
		if lh == "content-type" || strings.HasPrefix(lh, "x-amz-") {
			signed = append(signed, lh)
		}
	}
	sort.Strings(signed)
	sig := auth.SignatureOf(r, body, signed, k.Secret, at, region, "sagemaker")
	r.Header.Set("Authorization", auth.SigV4Algorithm+" Credential="+k.ID+"/"+at.UTC().Format("20060102")+"/"+region+
		"/sagemaker/aws4_request, SignedHeaders="+strings.Join(signed, ";")+", Signature="+sig)
}
