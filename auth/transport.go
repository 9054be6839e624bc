package auth

import "net/http"

// BearerTransport returns an http.RoundTripper that sends token as
// "Authorization: Bearer <token>" with every request, through base
// (http.DefaultTransport when nil): how Go programs, the benchmark among them, call
// provgraph.
func BearerTransport(token string, base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return bearer{token: token, base: base}
}

type bearer struct {
	token string
	base  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.base.RoundTrip(r)
}
