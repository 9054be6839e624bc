package openlineage_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/auth"
	"github.com/provgraph/provgraph/ingest/openlineage"
	"github.com/provgraph/provgraph/internal/authtest"
	"github.com/provgraph/provgraph/internal/neo4jtest"
	"github.com/provgraph/provgraph/internal/pyclient"
	"github.com/provgraph/provgraph/server"
	"github.com/provgraph/provgraph/store"
)

// The real openlineage-python client (HTTP transport, a writer's API token as its API
// key, gzip) emits a three-job pipeline with a nested run to the whole server; the
// lineage provgraph answers is exactly the pipeline's, computed here by hand, and every
// write records the token as its actor.
func TestOpenLineagePythonClientPipeline(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	tk := neo4jtest.Token(t)
	ctx := t.Context()
	writer := authtest.NewToken(t, st, auth.RoleWriter)
	h := server.New(server.Options{Store: st, Logger: zerolog.New(zerolog.NewTestWriter(t))})
	var mu sync.Mutex
	var requests []string // method, path, encoding and authorization of each request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		requests = append(requests, r.Method+" "+r.URL.Path+" "+r.Header.Get("Content-Encoding")+" "+r.Header.Get("Authorization"))
		mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)

	out := pyclient.Run(t, 2*time.Minute, []string{"OPENLINEAGE_TEST_URL=" + srv.URL, "OPENLINEAGE_API_KEY=" + writer.Token,
		"OPENLINEAGE_TEST_TOKEN=" + tk}, "testdata/pipeline.py")
	var ids map[string]string
	require.NoError(t, json.Unmarshal([]byte(out), &ids), "pipeline.py printed %q", out)
	mu.Lock()
	assert.Equal(t, slices.Repeat([]string{"POST /api/v1/lineage gzip Bearer " + writer.Token}, 8), requests,
		"START and COMPLETE of 4 runs, each sent once, compressed, with the bearer token")
	mu.Unlock()

	data, jobs := "s3://lake-"+tk, "pipeline-"+tk
	written := func(name, run string) string {
		id, err := openlineage.RunID("runId", ids[run])
		require.NoError(t, err)
		return store.DatasetVersionKey(data, name, "run:"+id)
	}
	var (
		raw1        = store.DatasetVersionKey(data, "raw1", "2026-03-01")
		raw2        = store.DatasetVersionKey(data, "raw2", store.Unversioned)
		clean       = written("clean", "A")
		features    = written("features", "B")
		modelInput  = written("model_input", "C")
		jobA, jobB  = store.JobKey(jobs, "A"), store.JobKey(jobs, "B")
		jobC, check = store.JobKey(jobs, "C"), store.JobKey(jobs, "B.validate")
	)

	lineage := func(start string, dir store.Direction) []string {
		t.Helper()
		l, err := st.Lineage(ctx, store.LineageQuery{Start: []string{start}, Direction: dir, MaxDepth: 20})
		require.NoError(t, err)
		require.False(t, l.Truncated)
		return keys(l.Nodes)
	}
	// Upstream of the model input: back through C, B and A to the raw versions; the
	// validation run's job reads clean but feeds nothing downstream.
	assert.ElementsMatch(t, []string{
		store.DatasetKey(data, "model_input"), modelInput, jobC, features, jobB, clean, jobA, raw1, raw2,
	}, lineage(store.DatasetKey(data, "model_input"), store.Upstream))
	// Downstream of raw1: everything derived from it, the validation job included, but
	// not raw2, which only feeds A.
	assert.ElementsMatch(t, []string{
		store.DatasetKey(data, "raw1"), raw1, jobA, clean, jobB, check, features, jobC, modelInput,
	}, lineage(store.DatasetKey(data, "raw1"), store.Downstream))

	// Every run finished, in the openlineage experiment; the child is nested in B's run.
	for name, id := range ids {
		r := node(t, runKey(t, id))
		assert.Equal(t, "FINISHED", r.String("status"), name)
		assert.NotNil(t, r.OptTime("startTime"), name)
		assert.NotNil(t, r.OptTime("endTime"), name)
		exp, err := st.ExperimentOf(ctx, r.Key)
		require.NoError(t, err)
		assert.Equal(t, openlineage.Experiment, exp.Name)
	}
	parents, err := st.ParentOfRun(ctx, runKey(t, ids["B.validate"]))
	require.NoError(t, err)
	assert.Equal(t, []string{runKey(t, ids["B"])}, keys(parents))
	executor, err := st.ExecutorOfRun(ctx, runKey(t, ids["B"]))
	require.NoError(t, err)
	assert.Equal(t, []string{jobB}, keys(executor))
	assert.Equal(t, []string{"dataSource", "schema", "version"}, facetNames(t, node(t, raw1)))
	for _, key := range []string{jobA, clean, raw1} {
		assert.Equal(t, writer.Actor, node(t, key).RecordedBy, "%s was recorded by the token's actor", key)
	}
	assert.Equal(t, []string{"jobType", "sql"}, facetNames(t, node(t, jobC)))
}
