package resolvers

import (
	"context"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vektah/gqlparser/v2"

	"github.com/provgraph/provgraph/graph"
	"github.com/provgraph/provgraph/store"
)

// resolving returns the context a resolver of query's one top-level field runs in.
func resolving(t *testing.T, query string, vars map[string]any) context.Context {
	t.Helper()
	doc, errs := gqlparser.LoadQueryWithRules(graph.NewExecutableSchema(graph.Config{}).Schema(), query, nil)
	require.Empty(t, errs, "query: %s", query)
	op := doc.Operations[0]
	oc := &graphql.OperationContext{RawQuery: query, Variables: vars, Doc: doc, Operation: op}
	top := graphql.CollectFields(oc, op.SelectionSet, nil)
	require.Len(t, top, 1)
	ctx := graphql.WithOperationContext(context.Background(), oc)
	return graphql.WithFieldContext(ctx, &graphql.FieldContext{Field: top[0]})
}

func TestAuditTrailFetchesWhatItsSelectionReads(t *testing.T) {
	const named = ` fragment E on AuditEntry { upstream { edges { from } nodes { ...N } } }
fragment N on Node { id recordedBy }`
	for _, tc := range []struct {
		name, entries string
		vars          map[string]any
		skip, noEdges bool
		fields        store.NodeFields
	}{
		{"no upstream", `entries { approvalStatus producedBy { name } }`, nil, true, true, store.KeyAndKind},
		{"the upstream's truncation alone", `entries { upstream { truncated } }`, nil, false, true, store.KeyAndKind},
		{"the upstream's edges alone", `entries { upstream { edges { from to type } } }`, nil, false, false, store.KeyAndKind},
		{"IDs and kinds", `entries { upstream { nodes { id kind __typename } edges { from } } }`, nil, false, false, store.KeyAndKind},
		{"what every node has", `entries { upstream { nodes { id name recordedAt } } }`, nil, false, true, store.CoreFields},
		{"a field of one kind of node", `entries { upstream { nodes { id ... on ModelVersion { version } } } }`, nil, false, true, store.AllFields},
		{"an upstream @include leaves out", `entries { upstream @include(if: $v) { nodes { name } } }`, map[string]any{"v": false}, true, true, store.KeyAndKind},
		{"an upstream @include keeps", `entries { upstream @include(if: $v) { nodes { name } } }`, map[string]any{"v": true}, false, true, store.CoreFields},
		{"entries under two aliases", `a: entries { upstream { nodes { id } } } b: entries { x: upstream { nodes { name } } }`, nil, false, true, store.CoreFields},
		{"a named fragment on the entries", `entries { ...E }`, nil, false, false, store.CoreFields},
		{"an inline fragment on the entries", `entries { ... on AuditEntry { upstream { nodes { id } } } }`, nil, false, true, store.KeyAndKind},
	} {
		t.Run(tc.name, func(t *testing.T) {
			decl := ""
			if tc.vars != nil {
				decl = "($v: Boolean!)"
			}
			query := `query` + decl + ` { auditTrail(endpoint: "endpoint:e") { ` + tc.entries + ` } }`
			if tc.entries == `entries { ...E }` {
				query += named
			}
			var q store.AuditQuery
			auditTrailReads(resolving(t, query, tc.vars), &q)
			assert.Equal(t, tc.skip, q.SkipUpstream, "SkipUpstream")
			assert.Equal(t, tc.noEdges, q.SkipUpstreamEdges, "SkipUpstreamEdges")
			assert.Equal(t, tc.fields, q.UpstreamFields, "UpstreamFields")
		})
	}
}

func TestLineageFetchesWhatItsSelectionReads(t *testing.T) {
	for _, tc := range []struct {
		name, selection string
		noEdges         bool
		fields          store.NodeFields
	}{
		{"IDs", `nodes { id }`, true, store.KeyAndKind},
		{"edges alone", `edges { from to type } truncated`, false, store.KeyAndKind},
		{"what every node has", `nodes { id name recordedBy } edges { from }`, false, store.CoreFields},
		{"a fragment on Node", `nodes { ...N }`, true, store.CoreFields},
		{"a field of one kind of node", `nodes { ... on TrainingJob { instanceType } }`, true, store.AllFields},
		{"two selections of the nodes", `a: nodes { id } b: nodes { id kind }`, true, store.KeyAndKind},
		{"two selections, one reading a name", `a: nodes { id } b: nodes { name }`, true, store.CoreFields},
		{"a field with a subselection", `nodes { id ... on Endpoint { activeDeployments { id } } }`, true, store.AllFields},
	} {
		t.Run(tc.name, func(t *testing.T) {
			query := `{ lineage(start: ["endpoint:e"], direction: UPSTREAM) { ` + tc.selection + ` } }`
			if tc.selection == `nodes { ...N }` {
				query += ` fragment N on Node { id recordedAt }`
			}
			var q store.LineageQuery
			lineageReads(resolving(t, query, nil), &q)
			assert.Equal(t, tc.noEdges, q.SkipEdges, "SkipEdges")
			assert.Equal(t, tc.fields, q.Fields, "Fields")
		})
	}
}
