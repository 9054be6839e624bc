// Package actor carries the identity of whoever makes a request, so that every write
// records its actor: "token:<name>" for an API token, "oidc:<subject>" for a JWT. The
// server's authentication middleware is the only place that sets it; code running
// outside a request (tests of a handler on its own) acts as Anonymous, which the
// middleware never lets write.
package actor

import "context"

// Anonymous is the actor of requests that carry no authenticated identity: reads from
// loopback when anonymous reads are enabled.
const Anonymous = "anonymous"

type ctxKey struct{}

// With returns ctx carrying name as the acting identity.
func With(ctx context.Context, name string) context.Context {
	return context.WithValue(ctx, ctxKey{}, name)
}

// From returns the actor carried by ctx, or Anonymous.
func From(ctx context.Context) string {
	if name, ok := ctx.Value(ctxKey{}).(string); ok && name != "" {
		return name
	}
	return Anonymous
}

type requestKey struct{}

// WithRequest returns ctx carrying the id of the request it serves, so that the audit
// entry of a write names the request that made it. The server's request-id middleware
// sets it.
func WithRequest(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestKey{}, id)
}

// RequestFrom returns the request id carried by ctx, or "" outside a request.
func RequestFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestKey{}).(string)
	return id
}
