package store_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/internal/neo4jtest"
	"github.com/provgraph/provgraph/store"
)

// A cone larger than the node limit comes back cut to the limit, start nodes first,
// and says so; a cone within the limit does not.
func TestLineageMarksTruncatedCones(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	tk := neo4jtest.Token(t)
	ctx := t.Context()
	ptr := func(s string) *string { return &s }

	// One dataset version read by five jobs: a downstream cone of 1 + 5 jobs + 5 artifacts.
	dv, _, err := st.RegisterDatasetVersion(ctx, "tester", store.DatasetVersionInput{
		URI: "s3://lake-" + tk + "/wide", Digest: ptr("sha256:1"),
	})
	require.NoError(t, err)
	for _, name := range []string{"a", "b", "c", "d", "e"} {
		_, _, _, err := st.RecordTrainingJob(ctx, "tester", store.TrainingJobInput{
			Namespace: "ns-" + tk, Name: name, Inputs: []string{dv.Key},
			ModelArtifact: store.ArtifactInput{URI: "s3://models-" + tk + "/" + name},
		})
		require.NoError(t, err)
	}

	full, err := st.Lineage(ctx, store.LineageQuery{Start: []string{dv.Key}, Direction: store.Downstream, MaxDepth: 2})
	require.NoError(t, err)
	assert.Len(t, full.Nodes, 11)
	assert.False(t, full.Truncated)
	assert.Len(t, full.Edges, 10)

	cut, err := st.Lineage(ctx, store.LineageQuery{Start: []string{dv.Key}, Direction: store.Downstream, MaxDepth: 2, NodeLimit: 4})
	require.NoError(t, err)
	assert.True(t, cut.Truncated)
	require.Len(t, cut.Nodes, 4)
	assert.Equal(t, dv.Key, cut.Nodes[0].Key)
	kept := map[string]bool{}
	for _, n := range cut.Nodes {
		kept[n.Key] = true
	}
	for _, e := range cut.Edges {
		assert.True(t, kept[e.From] && kept[e.To], "edge %v joins returned nodes", e)
	}

	exact, err := st.Lineage(ctx, store.LineageQuery{Start: []string{dv.Key}, Direction: store.Downstream, MaxDepth: 2, NodeLimit: 11})
	require.NoError(t, err)
	assert.False(t, exact.Truncated, "a cone of exactly the limit is complete")
	assert.Len(t, exact.Nodes, 11)
}
