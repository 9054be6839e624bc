package store_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/apperr"
	"github.com/provgraph/provgraph/internal/neo4jtest"
	"github.com/provgraph/provgraph/store"
)

// A lineage answer whose edges come in the same round trip as its nodes (issue 14) is
// the answer they give when fetched on their own: for every direction, depths 0 to 10,
// several start nodes, as of a time, and when the cone must be paged (which fetches
// them on their own anyway).
func TestLineageFoldedEdgesAreTheSameAnswer(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	tk := neo4jtest.Token(t)
	ctx := t.Context()
	_, _, err := st.Seed(ctx, store.SeedPlan{Nodes: 4 * store.SeedNodesPerPipeline, Prefix: tk, Seed: 1}, nil)
	require.NoError(t, err)
	endpoint := func(p, e string) string { return store.EndpointKey(tk + "-endpoint-" + p + "-" + e) }

	// The first model version deployed to endpoint 1-0, and a time after both were
	// recorded.
	up, err := st.Lineage(ctx, store.LineageQuery{Start: []string{endpoint("1", "0")}, Direction: store.Upstream, MaxDepth: 1})
	require.NoError(t, err)
	var mv string
	var first, recorded time.Time
	for _, n := range up.Nodes {
		switch {
		case n.Kind == store.KindModelVersion && (mv == "" || n.RecordedAt.Before(first)):
			mv, first = n.Key, n.RecordedAt
		case n.Kind == store.KindEndpoint:
			recorded = n.RecordedAt
		}
	}
	require.NotEmpty(t, mv)
	asOf := recorded
	if first.After(asOf) {
		asOf = first
	}
	asOf = asOf.Add(30 * 24 * time.Hour)

	for _, tt := range []struct {
		name  string
		q     store.LineageQuery
		folds bool
	}{
		{"upstream, depth 10", store.LineageQuery{Start: []string{endpoint("1", "0")}, Direction: store.Upstream, MaxDepth: 10}, true},
		{"upstream, depth 3", store.LineageQuery{Start: []string{endpoint("2", "1")}, Direction: store.Upstream, MaxDepth: 3}, true},
		{"two start nodes", store.LineageQuery{Start: []string{endpoint("1", "0"), endpoint("3", "1")}, Direction: store.Upstream, MaxDepth: 10}, true},
		{"depth 0, an edge between the start nodes", store.LineageQuery{Start: []string{mv, endpoint("1", "0")}, Direction: store.Upstream}, true},
		{"downstream from the shared data", store.LineageQuery{Start: []string{store.SeedSharedKey(tk)}, Direction: store.Downstream, MaxDepth: 10}, true},
		{"both ways from a model version", store.LineageQuery{Start: []string{mv}, Direction: store.Both, MaxDepth: 4}, true},
		{"as of a time", store.LineageQuery{Start: []string{endpoint("1", "0")}, Direction: store.Upstream, MaxDepth: 10, AsOf: &asOf}, true},
		{"both ways as of a time", store.LineageQuery{Start: []string{mv}, Direction: store.Both, MaxDepth: 10, AsOf: &asOf}, true},
		{"paged: a budget smaller than the cone", store.LineageQuery{Start: []string{endpoint("1", "0")}, Direction: store.Upstream, MaxDepth: 10, Budget: 7}, true},
		{"without edges: the first statement alone", store.LineageQuery{Start: []string{endpoint("2", "0")}, Direction: store.Upstream, MaxDepth: 10, SkipEdges: true}, false},
		{"kinds: paged at once", store.LineageQuery{Start: []string{endpoint("1", "0")}, Direction: store.Upstream, MaxDepth: 10,
			Kinds: []store.Kind{store.KindDatasetVersion, store.KindProcessingJob}}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			folded, apart, folds, err := store.LineageFoldedAndApart(ctx, st, tt.q)
			require.NoError(t, err)
			assert.Equal(t, tt.folds, folds)
			if tt.q.SkipEdges {
				assert.Empty(t, folded.Edges)
				assert.Greater(t, len(folded.Nodes), 1, "the case has nodes to compare")
			} else {
				assert.NotEmpty(t, folded.Edges, "the case has edges to compare")
			}
			assert.Equal(t, apart.Nodes, folded.Nodes)
			assert.Equal(t, apart.Edges, folded.Edges)
			assert.Equal(t, apart.Truncated, folded.Truncated)
			// A cursor pins the time it was made at: only whether there is one compares.
			assert.Equal(t, apart.EndCursor != "", folded.EndCursor != "")
		})
	}
}

// An answer that only needs what every node has (CoreFields) holds the same nodes, with
// the same IDs, kinds, names and provenance, and the same edges; one that needs only
// the keys and kinds (KeyAndKind) holds the same nodes with the same kinds, its start
// nodes with their core fields, and the same edges.
func TestLineageOfFewerFieldsIsTheSameAnswer(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	tk := neo4jtest.Token(t)
	ctx := t.Context()
	_, _, err := st.Seed(ctx, store.SeedPlan{Nodes: 2 * store.SeedNodesPerPipeline, Prefix: tk, Seed: 1}, nil)
	require.NoError(t, err)
	type core struct {
		key, name, by string
		kind          store.Kind
		at            time.Time
	}
	cores := func(ns []store.Node) (out []core) {
		for _, n := range ns {
			out = append(out, core{n.Key, n.Name, n.RecordedBy, n.Kind, n.RecordedAt})
		}
		return out
	}
	keys := func(ns []store.Node) (out []core) {
		for _, n := range ns {
			out = append(out, core{key: n.Key, kind: n.Kind})
		}
		return out
	}
	for _, q := range []store.LineageQuery{
		{Start: []string{store.EndpointKey(tk + "-endpoint-1-0")}, Direction: store.Upstream, MaxDepth: 10},
		{Start: []string{store.EndpointKey(tk + "-endpoint-1-1")}, Direction: store.Upstream, MaxDepth: 10, SkipEdges: true},
		{Start: []string{store.SeedSharedKey(tk)}, Direction: store.Both, MaxDepth: 3},
		{Start: []string{store.EndpointKey(tk + "-endpoint-0-0")}, Direction: store.Upstream, MaxDepth: 10, Budget: 5},
		{Start: []string{store.EndpointKey(tk + "-endpoint-0-1")}, Direction: store.Upstream, MaxDepth: 10, AsOf: new(time.Now())},
	} {
		full, err := st.Lineage(ctx, q)
		require.NoError(t, err)
		assert.Greater(t, len(full.Nodes), 1)
		q.Fields = store.CoreFields
		core, err := st.Lineage(ctx, q)
		require.NoError(t, err)
		assert.Equal(t, cores(full.Nodes), cores(core.Nodes))
		assert.Equal(t, full.Edges, core.Edges)
		assert.Equal(t, full.Truncated, core.Truncated)
		q.Fields = store.KeyAndKind
		few, err := st.Lineage(ctx, q)
		require.NoError(t, err)
		assert.Equal(t, keys(full.Nodes), keys(few.Nodes))
		assert.Equal(t, cores(full.Nodes[:1]), cores(few.Nodes[:1]), "the start node")
		for i, n := range full.Nodes[1:] {
			require.NotEmpty(t, n.Name, n.Key)
			if q.Budget == 0 { // a page is fetched whole (Nodes may carry more)
				assert.Len(t, core.Nodes[i+1].Props, 5, "%s fetched with the core fields only", n.Key)
				assert.Len(t, few.Nodes[i+1].Props, 2, "%s fetched with its key and kind only", n.Key)
			}
		}
		assert.Equal(t, full.Edges, few.Edges)
		assert.Equal(t, full.Truncated, few.Truncated)
	}

	// A start node recorded after asOf is refused with KeyAndKind too.
	q := store.LineageQuery{Start: []string{store.EndpointKey(tk + "-endpoint-0-0")}, Direction: store.Upstream, MaxDepth: 10,
		AsOf: new(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)), Fields: store.KeyAndKind}
	_, err = st.Lineage(ctx, q)
	assert.Equal(t, apperr.NotFound, apperr.CodeOf(err), "%v", err)
	q.Fields = store.KeyAndKind + 1
	_, err = st.Lineage(ctx, q)
	assert.ErrorContains(t, err, "fields")
}
