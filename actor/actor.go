// Package actor carries the identity of whoever makes a request, so that every write
// records its actor. Until authentication is configured every request acts as
// Anonymous; the authentication middleware is the only place that sets another actor.
package actor

import "context"

// Anonymous is the actor of requests that carry no authenticated identity.
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
