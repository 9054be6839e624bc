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

// fieldsAt returns the fields selected at path below the object the current resolver
// returns: every selection of path's last field, under any alias, fragment or parent
// selection, that @skip and @include keep.
func fieldsAt(ctx context.Context, path ...string) []graphql.CollectedField {
	opCtx := graphql.GetOperationContext(ctx)
	fields := graphql.CollectFieldsCtx(ctx, nil)
	for i, name := range path {
		var next []graphql.CollectedField
		for _, f := range fields {
			switch {
			case f.Name != name:
			case i == len(path)-1:
				next = append(next, f)
			default:
				next = append(next, graphql.CollectFields(opCtx, f.Selections, nil)...)
			}
		}
		fields = next
	}
	return fields
}

// selects tells whether the client selected the field at path below the object the
// current resolver returns (lineage "edges", or "entries", "upstream", "edges" of an
// audit trail), so that work only that field needs can be skipped.
func selects(ctx context.Context, path ...string) bool {
	return len(path) > 0 && len(fieldsAt(ctx, path...)) > 0
}

// nodeCoreFields are the fields of the Node interface: what every node has, which the
// store fetches alone when nothing else is selected (store.CoreFields); of them, a
// selection of only nodeKeyFields needs the nodes' keys and kinds (store.KeyAndKind).
var (
	nodeCoreFields = map[string]bool{"id": true, "kind": true, "name": true, "recordedAt": true, "recordedBy": true, "__typename": true}
	nodeKeyFields  = map[string]bool{"id": true, "kind": true, "__typename": true}
)

// nodeFieldsSelected says which node properties the selections of the node list at
// path (lineage "nodes", or an audit trail's "entries", "upstream", "nodes") read:
// store.KeyAndKind when they read only nodeKeyFields (or the list is not selected),
// store.CoreFields when only nodeCoreFields, and store.AllFields when anything else.
// Inside the list every field counts, whatever its type condition or directives: a
// field a directive leaves out can only make the store fetch more.
func nodeFieldsSelected(ctx context.Context, path ...string) store.NodeFields {
	keys := true
	for _, f := range fieldsAt(ctx, path...) {
		if !onlyFields(f.Selections, nodeCoreFields) {
			return store.AllFields
		}
		keys = keys && onlyFields(f.Selections, nodeKeyFields)
	}
	if keys {
		return store.KeyAndKind
	}
	return store.CoreFields
}

// lineageReads sets what q fetches to what the lineage selection reads: edges only
// when selected, and the nodes' properties their selections read.
func lineageReads(ctx context.Context, q *store.LineageQuery) {
	q.SkipEdges = !selects(ctx, "edges")
	q.Fields = nodeFieldsSelected(ctx, "nodes")
}

// auditTrailReads sets what q fetches of the entries' upstream cones to what the audit
// trail selection reads: the cones only when selected, their edges likewise, and the
// nodes' properties their selections read.
func auditTrailReads(ctx context.Context, q *store.AuditQuery) {
	q.SkipUpstream = !selects(ctx, "entries", "upstream")
	q.SkipUpstreamEdges = !selects(ctx, "entries", "upstream", "edges")
	q.UpstreamFields = nodeFieldsSelected(ctx, "entries", "upstream", "nodes")
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
