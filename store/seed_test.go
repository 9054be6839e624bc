package store_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/apperr"
	"github.com/provgraph/provgraph/internal/neo4jtest"
	"github.com/provgraph/provgraph/store"
)

// A seeded graph has the planned size and the shape of real records: from a seeded
// endpoint, lineage reaches model versions, training and processing jobs and raw data.
func TestSeedBuildsAConnectedRealisticGraph(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	tk := neo4jtest.Token(t)
	var calls int
	nodes, rels, err := st.Seed(t.Context(), store.SeedPlan{Nodes: 3 * store.SeedNodesPerPipeline, Prefix: tk, Seed: 1}, func(int, int) { calls++ })
	require.NoError(t, err)
	assert.Equal(t, 3*store.SeedNodesPerPipeline+2, nodes, "three pipelines and the shared reference dataset with its version")
	assert.Positive(t, rels)
	assert.Positive(t, calls, "progress is reported")

	l, err := st.Lineage(t.Context(), store.LineageQuery{Start: []string{store.EndpointKey(tk + "-endpoint-1-0")}, Direction: store.Upstream, MaxDepth: 10})
	require.NoError(t, err)
	kinds := map[store.Kind]int{}
	for _, n := range l.Nodes {
		kinds[n.Kind]++
	}
	for _, k := range []store.Kind{store.KindEndpoint, store.KindModelVersion, store.KindArtifact, store.KindTrainingJob, store.KindProcessingJob, store.KindDatasetVersion} {
		assert.Positive(t, kinds[k], "upstream of a seeded endpoint holds %s nodes", k)
	}
	// Ten deployments over months, one serving now.
	deps, err := st.ActiveDeployments(t.Context(), store.EndpointKey(tk+"-endpoint-1-0"))
	require.NoError(t, err)
	assert.Len(t, deps, 1)

	// The shared reference data reaches models and endpoints of the pipelines reading it.
	im, err := st.ImpactOf(t.Context(), store.ImpactQuery{Of: store.SeedSharedKey(tk), MaxDepth: 10})
	require.NoError(t, err)
	assert.NotEmpty(t, im.ModelVersions)
	assert.NotEmpty(t, im.Endpoints)

	// Models and raw data carry their pipeline's use case, for search to find: pipeline
	// 1 is the churn pipeline.
	found, err := st.SearchNodes(t.Context(), store.NodeSearch{Text: "churn " + tk, Kinds: []store.Kind{store.KindRegisteredModel}, First: 10})
	require.NoError(t, err)
	var models []string
	for _, h := range found.Hits {
		models = append(models, h.Node.Key)
	}
	assert.Equal(t, []string{store.RegisteredModelKey(tk + "-model-1-0"), store.RegisteredModelKey(tk + "-model-1-1")}, models)
	found, err = st.SearchNodes(t.Context(), store.NodeSearch{Text: tk + "-endpoint-2-1", First: 10})
	require.NoError(t, err)
	require.NotEmpty(t, found.Hits)
	assert.Equal(t, store.EndpointKey(tk+"-endpoint-2-1"), found.Hits[0].Node.Key, "an endpoint by its name")

	_, _, err = st.Seed(t.Context(), store.SeedPlan{Nodes: store.SeedNodesPerPipeline, Prefix: tk, Seed: 1}, nil)
	assert.Equal(t, apperr.Conflict, apperr.CodeOf(err), "a prefix is seeded once")
}

// Seeded runs look like logged ones: search finds them by parameter and metric.
func TestSeedRunsAreSearchable(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	tk := neo4jtest.Token(t)
	exp, err := st.SeedRuns(t.Context(), store.RunSeedPlan{Experiment: "seeded-" + tk, Runs: 300, Seed: 3}, nil)
	require.NoError(t, err)
	all, err := st.SearchRuns(t.Context(), store.RunSearch{Experiments: []string{exp.Key}, First: 100, Filter: "params.lr = '0.01'"})
	require.NoError(t, err)
	require.NotEmpty(t, all.Runs)
	high, err := st.SearchRuns(t.Context(), store.RunSearch{Experiments: []string{exp.Key}, First: 100, Filter: "params.lr = '0.01' and metrics.auc > 0.9"})
	require.NoError(t, err)
	assert.Less(t, len(high.Runs), len(all.Runs))
	for _, r := range high.Runs {
		sums, err := st.RunMetrics(t.Context(), r.Key, []string{"auc"})
		require.NoError(t, err)
		assert.Greater(t, sums[0].Last, 0.9)
	}
}
