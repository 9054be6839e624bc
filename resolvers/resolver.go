// Package resolvers implements the GraphQL API on top of the store. Resolvers are
// thin: they validate what the schema cannot express, call one store method, and map
// store records to GraphQL models. Domain rules live in the store so that every
// surface (GraphQL, ingest, CLI) shares them.
package resolvers

//go:generate go tool gqlgen generate

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

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

// nodeCoreFields are the fields of the Node interface: what every node has, which the
// store fetches alone when nothing else is selected (store.LineageQuery.CoreOnly).
var nodeCoreFields = map[string]bool{"id": true, "kind": true, "name": true, "recordedAt": true, "recordedBy": true, "__typename": true}

// selectsOnlyCore tells whether every selection of the field name below the object
// the current resolver returns (lineage "nodes"), in fragments too and whatever their
// type condition or directives, is a field of the Node interface. It is false when the
// field is not selected at all, or anything else is.
func selectsOnlyCore(ctx context.Context, name string) bool {
	found := false
	for _, f := range graphql.CollectFieldsCtx(ctx, nil) {
		if f.Name != name {
			continue
		}
		found = true
		if !onlyCore(f.Selections) {
			return false
		}
	}
	return found
}

func onlyCore(set ast.SelectionSet) bool {
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			if !nodeCoreFields[s.Name] || len(s.SelectionSet) > 0 {
				return false
			}
		case *ast.InlineFragment:
			if !onlyCore(s.SelectionSet) {
				return false
			}
		case *ast.FragmentSpread:
			if s.Definition == nil || !onlyCore(s.Definition.SelectionSet) {
				return false
			}
		default:
			return false
		}
	}
	return true
}
