package pipegraph_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/internal/neo4jtest"
	"github.com/provgraph/provgraph/internal/pipegraph"
	"github.com/provgraph/provgraph/store"
)

// Seeded into a store, the graph answers lineage as the generator walks it, from every
// endpoint at every depth the benchmark asks, with the same edges.
func TestSeedRecordsTheGraphAsGenerated(t *testing.T) {
	st := neo4jtest.Store(t)
	ctx := context.Background()
	g := generate(t, pipegraph.Plan{Endpoints: 3, Seed: 5, Prefix: "seed-" + neo4jtest.Token(t)})
	times, err := g.Seed(ctx, st, "pipegraph-test")
	require.NoError(t, err)
	assert.Positive(t, times.Lineage)
	assert.Positive(t, times.Models)

	for _, e := range g.Endpoints {
		start := g.Nodes[e].ID
		for _, depth := range []int{0, 3, 10, pipegraph.MaxChain} {
			l, err := st.Lineage(ctx, store.LineageQuery{Start: []string{start}, Direction: store.Upstream, MaxDepth: depth})
			require.NoError(t, err)
			var ids []string
			for _, n := range l.Nodes {
				ids = append(ids, n.Key)
			}
			assert.ElementsMatch(t, g.Upstream(start, depth), ids, "%s at depth %d", start, depth)
		}
	}
	// The whole graph, downstream from every raw dataset version: every edge, once.
	var sources []string
	for _, s := range g.Sources {
		sources = append(sources, g.Nodes[s].ID)
	}
	l, err := st.Lineage(ctx, store.LineageQuery{Start: sources, Direction: store.Downstream, MaxDepth: pipegraph.MaxChain})
	require.NoError(t, err)
	assert.Len(t, l.Nodes, len(g.Nodes))
	want := g.Lineage("").Edges
	assert.ElementsMatch(t, want, l.Edges)

	_, err = g.Seed(ctx, st, "pipegraph-test")
	assert.ErrorContains(t, err, "model version recorded as", "a graph is seeded once: its model versions would be registered again")
}
