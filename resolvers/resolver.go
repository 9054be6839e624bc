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
// store fetches alone when nothing else is selected (store.CoreFields); of them, a
// selection of only nodeKeyFields needs the nodes' keys and kinds (store.KeyAndKind).
var (
	nodeCoreFields = map[string]bool{"id": true, "kind": true, "name": true, "recordedAt": true, "recordedBy": true, "__typename": true}
	nodeKeyFields  = map[string]bool{"id": true, "kind": true, "__typename": true}
)

// nodeFieldsSelected says which node properties the selections at path below the
// object the current resolver returns (lineage "nodes", or an audit trail's "entries",
// "upstream", "nodes") read, in fragments too and whatever their type condition or
// directives: store.KeyAndKind when they read only nodeKeyFields, store.CoreFields when
// only nodeCoreFields, and store.AllFields when anything else, or when the path is not
// selected at all.
func nodeFieldsSelected(ctx context.Context, path ...string) store.NodeFields {
	opCtx := graphql.GetOperationContext(ctx)
	fields := graphql.CollectFieldsCtx(ctx, nil)
	for _, name := range path[:len(path)-1] {
		var next []graphql.CollectedField
		for _, f := range fields {
			if f.Name == name {
				next = append(next, graphql.CollectFields(opCtx, f.Selections, nil)...)
			}
		}
		fields = next
	}
	found, keys := false, true
	for _, f := range fields {
		if f.Name != path[len(path)-1] {
			continue
		}
		found = true
		if !onlyFields(f.Selections, nodeCoreFields) {
			return store.AllFields
		}
		keys = keys && onlyFields(f.Selections, nodeKeyFields)
	}
	switch {
	case !found:
		return store.AllFields
	case keys:
		return store.KeyAndKind
	}
	return store.CoreFields
}

// onlyFields tells whether set selects only fields named in names, without subselections.
func onlyFields(set ast.SelectionSet, names map[string]bool) bool {
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			if !names[s.Name] || len(s.SelectionSet) > 0 {
				return false
			}
		case *ast.InlineFragment:
			if !onlyFields(s.SelectionSet, names) {
				return false
			}
		case *ast.FragmentSpread:
			if s.Definition == nil || !onlyFields(s.Definition.SelectionSet, names) {
				return false
			}
		default:
			return false
		}
	}
	return true
}
