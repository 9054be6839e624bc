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

	job := func(name string) string { return store.JobKey("ns-"+tk, name) }
	artifact := func(name string) string { return store.ArtifactKey("s3://models-" + tk + "/" + name) }
	for _, tt := range []struct {
		limit int
		want  []string
	}{
		// Whole depths first, by ID within a depth: the same answer every time.
		{4, []string{dv.Key, job("a"), job("b"), job("c")}},
		{8, []string{dv.Key, job("a"), job("b"), job("c"), job("d"), job("e"), artifact("a"), artifact("b")}},
	} {
		cut, err := st.Lineage(ctx, store.LineageQuery{Start: []string{dv.Key}, Direction: store.Downstream, MaxDepth: 2, NodeLimit: tt.limit})
		require.NoError(t, err)
		assert.True(t, cut.Truncated)
		var got []string
		kept := map[string]bool{}
		for _, n := range cut.Nodes {
			got = append(got, n.Key)
			kept[n.Key] = true
		}
		assert.Equal(t, tt.want, got)
		assert.Len(t, cut.Edges, tt.limit-1, "each kept node is joined to the cone")
		for _, e := range cut.Edges {
			assert.True(t, kept[e.From] && kept[e.To], "edge %v joins returned nodes", e)
		}
	}

	// BOTH from a dataset version and a model version made from job a's artifact: the
	// cut keeps depth 1 of both cones, and the edge between the two cones is kept.
	mv, err := st.RegisterModelVersion(ctx, "tester", store.ModelVersionInput{
		Model: "wide-" + tk, Source: "s3://models-" + tk + "/a", ProducedBy: ptr(job("a")),
	})
	require.NoError(t, err)
	both, err := st.Lineage(ctx, store.LineageQuery{Start: []string{dv.Key, mv.Key}, Direction: store.Both, MaxDepth: 2, NodeLimit: 6})
	require.NoError(t, err)
	assert.True(t, both.Truncated)
	var got []string
	for _, n := range both.Nodes {
		got = append(got, n.Key)
	}
	assert.Equal(t, []string{dv.Key, mv.Key, artifact("a"), job("a"), job("b"), job("c")}, got)
	assert.ElementsMatch(t, []store.Edge{
		{From: dv.Key, To: job("a"), Type: store.RelInputTo},
		{From: dv.Key, To: job("b"), Type: store.RelInputTo},
		{From: dv.Key, To: job("c"), Type: store.RelInputTo},
		{From: job("a"), To: artifact("a"), Type: store.RelProduced},
		{From: artifact("a"), To: mv.Key, Type: store.RelRegisteredAs},
	}, both.Edges)

	exact, err := st.Lineage(ctx, store.LineageQuery{Start: []string{dv.Key}, Direction: store.Downstream, MaxDepth: 2, NodeLimit: 11})
	require.NoError(t, err)
	assert.False(t, exact.Truncated, "a cone of exactly the limit is complete")
	assert.Len(t, exact.Nodes, 11)
}

func TestLineageRejectsUnknownKinds(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	_, err := st.Lineage(t.Context(), store.LineageQuery{
		Start: []string{"endpoint:x"}, Direction: store.Upstream, MaxDepth: 1, Kinds: []store.Kind{store.KindEndpoint, "Bogus"},
	})
	require.Error(t, err)
	assert.Equal(t, "kinds[1]: unknown node kind \"Bogus\"", err.Error())
}
