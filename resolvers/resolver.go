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

// selects tells whether the client selected the field at path below the object the
// current resolver returns (lineage "edges", or "entries", "upstream", "edges" of an
// audit trail), so that work only that field needs can be skipped.
func selects(ctx context.Context, path ...string) bool {
	opCtx := graphql.GetOperationContext(ctx)
	fields := graphql.CollectFieldsCtx(ctx, nil)
	for i, name := range path {
		var next []graphql.CollectedField
		for _, f := range fields {
			if f.Name != name {
				continue
			}
			if i == len(path)-1 {
				return true
			}
			next = append(next, graphql.CollectFields(opCtx, f.Selections, nil)...)
		}
		fields = next
	}
	return false
}
