// Package resolvers implements the GraphQL API on top of the store. Resolvers are
// thin: they validate what the schema cannot express, call one store method, and map
// store records to GraphQL models. Domain rules live in the store so that every
// surface (GraphQL, ingest, CLI) shares them.
package resolvers

//go:generate go tool gqlgen generate

import (
	"context"

	"github.com/99designs/gqlgen/graphql"

	"github.com/provgraph/provgraph/store"
)

// Resolver is the root resolver and the dependency-injection point of the API: it
// holds the store and nothing else that has state.
type Resolver struct {
	Store *store.Store
}

// selects tells whether the client selected field on the object the current resolver
// returns, so that work only that field needs (lineage edges, say) can be skipped.
func selects(ctx context.Context, field string) bool {
	for _, f := range graphql.CollectFieldsCtx(ctx, nil) {
		if f.Name == field {
			return true
		}
	}
	return false
}
