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
	w := newWideCone(t, st, tk)
	dv := w.dv
	for _, name := range []string{"a", "b", "c", "d", "e"} {
		w.train(name)
	}

	full, err := st.Lineage(ctx, store.LineageQuery{Start: []string{dv.Key}, Direction: store.Downstream, MaxDepth: 2})
	require.NoError(t, err)
	assert.Len(t, full.Nodes, 11)
	assert.False(t, full.Truncated)
	assert.Len(t, full.Edges, 10)

	job, artifact := w.job, w.artifact
	for _, tt := range []struct {
		limit int
		want  []string
	}{
		// Whole depths first, by ID within a depth: the same answer every time.
		{4, []string{dv.Key, job("a"), job("b"), job("c")}},
		{8, []string{dv.Key, job("a"), job("b"), job("c"), job("d"), job("e"), artifact("a"), artifact("b")}},
	} {
		cut, err := st.Lineage(ctx, store.LineageQuery{Start: []string{dv.Key}, Direction: store.Downstream, MaxDepth: 2, Budget: tt.limit})
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
	both, err := st.Lineage(ctx, store.LineageQuery{Start: []string{dv.Key, mv.Key}, Direction: store.Both, MaxDepth: 2, Budget: 6})
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

	exact, err := st.Lineage(ctx, store.LineageQuery{Start: []string{dv.Key}, Direction: store.Downstream, MaxDepth: 2, Budget: 11})
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

// A cone larger than the budget is read page by page: each page continues where the
// last stopped, by depth and then ID, the pages together hold every node and every
// edge exactly once, and later pages see the graph as it stood at the first page.
func TestLineagePagesThroughLargeCones(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	ctx := t.Context()
	w := newWideCone(t, st, neo4jtest.Token(t))
	dv, job, artifact, train := w.dv, w.job, w.artifact, w.train
	for _, name := range []string{"a", "b", "c", "d", "e"} {
		train(name)
	}
	q := store.LineageQuery{Start: []string{dv.Key}, Direction: store.Downstream, MaxDepth: 2, Budget: 4}
	var pages [][]string
	edges := map[store.Edge]int{}
	for page := 0; ; page++ {
		require.Less(t, page, 5, "paging ends")
		l, err := st.Lineage(ctx, q)
		require.NoError(t, err)
		var keys []string
		for _, n := range l.Nodes {
			keys = append(keys, n.Key)
		}
		pages = append(pages, keys)
		for _, e := range l.Edges {
			edges[e]++
		}
		if page == 0 {
			// Written after the first page: later pages do not see it.
			train("f")
		}
		if !l.Truncated {
			assert.Empty(t, l.EndCursor)
			break
		}
		require.NotEmpty(t, l.EndCursor)
		q.After = l.EndCursor
	}
	assert.Equal(t, [][]string{
		{dv.Key, job("a"), job("b"), job("c")},
		{job("d"), job("e"), artifact("a"), artifact("b")},
		{artifact("c"), artifact("d"), artifact("e")},
	}, pages)
	assert.Len(t, edges, 10, "every edge of the cone")
	for e, n := range edges {
		assert.Equal(t, 1, n, "edge %v on one page only", e)
	}

	// The kinds filter pages over the nodes it shows; the walk passes through the rest.
	arts, err := st.Lineage(ctx, store.LineageQuery{Start: []string{dv.Key}, Direction: store.Downstream, MaxDepth: 2,
		Budget: 3, Kinds: []store.Kind{store.KindArtifact}, SkipEdges: true})
	require.NoError(t, err)
	require.True(t, arts.Truncated)
	var got []string
	for _, n := range arts.Nodes {
		got = append(got, n.Key)
	}
	assert.Equal(t, []string{dv.Key, artifact("a"), artifact("b")}, got)
	rest, err := st.Lineage(ctx, store.LineageQuery{Start: []string{dv.Key}, Direction: store.Downstream, MaxDepth: 2,
		Budget: 3, Kinds: []store.Kind{store.KindArtifact}, SkipEdges: true, After: arts.EndCursor})
	require.NoError(t, err)
	got = nil
	for _, n := range rest.Nodes {
		got = append(got, n.Key)
	}
	assert.Equal(t, []string{artifact("c"), artifact("d"), artifact("e")}, got)
	assert.True(t, rest.Truncated, "artifact f was written after the first page but is in the live cone")

	// A cursor answers only the question it came from.
	for _, other := range []store.LineageQuery{
		{Start: []string{dv.Key}, Direction: store.Upstream, MaxDepth: 2},
		{Start: []string{dv.Key}, Direction: store.Downstream, MaxDepth: 3},
		{Start: []string{dv.Key}, Direction: store.Downstream, MaxDepth: 2},
	} {
		other.After = arts.EndCursor
		_, err := st.Lineage(ctx, other)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "after: belongs to a lineage question with other arguments")
	}
	_, err = st.Lineage(ctx, store.LineageQuery{Start: []string{dv.Key}, Direction: store.Downstream, MaxDepth: 2, After: "bogus"})
	require.Error(t, err)
	assert.Equal(t, "after: is not a cursor returned by this API", err.Error())
}

// wideCone is one dataset version read by training jobs, each producing an artifact.
type wideCone struct {
	t  *testing.T
	st *store.Store
	tk string
	dv store.Node
}

func newWideCone(t *testing.T, st *store.Store, tk string) wideCone {
	digest := "sha256:1"
	dv, _, err := st.RegisterDatasetVersion(t.Context(), "tester", store.DatasetVersionInput{
		URI: "s3://lake-" + tk + "/wide", Digest: &digest,
	})
	require.NoError(t, err)
	return wideCone{t: t, st: st, tk: tk, dv: dv}
}

// train records job name reading the dataset version and producing artifact name.
func (w wideCone) train(name string) {
	_, _, _, err := w.st.RecordTrainingJob(w.t.Context(), "tester", store.TrainingJobInput{
		Namespace: "ns-" + w.tk, Name: name, Inputs: []string{w.dv.Key},
		ModelArtifact: store.ArtifactInput{URI: "s3://models-" + w.tk + "/" + name},
	})
	require.NoError(w.t, err)
}

func (w wideCone) job(name string) string { return store.JobKey("ns-"+w.tk, name) }

func (w wideCone) artifact(name string) string {
	return store.ArtifactKey("s3://models-" + w.tk + "/" + name)
}
