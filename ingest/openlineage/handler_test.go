package openlineage_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/ingest/openlineage"
	"github.com/provgraph/provgraph/internal/neo4jtest"
	"github.com/provgraph/provgraph/store"
)

func runKey(t *testing.T, runID string) string {
	t.Helper()
	id, err := openlineage.RunID("runId", runID)
	require.NoError(t, err)
	return store.RunKey(id)
}

// golden returns testdata/name with {{KEY}} replaced by vars[KEY].
func golden(t *testing.T, name string, vars map[string]string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	s := string(b)
	for k, v := range vars {
		s = strings.ReplaceAll(s, "{{"+k+"}}", v)
	}
	require.NotContains(t, s, "{{", "unreplaced placeholder in %s", name)
	return []byte(s)
}

// response is a decoded answer of the handler.
type response struct {
	Status int
	Header http.Header
	Body   map[string]any
}

func newHandler(t *testing.T) http.Handler {
	t.Helper()
	h := openlineage.NewHandler(neo4jtest.Store(t), nil)
	logger := zerolog.New(zerolog.NewTestWriter(t))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r.WithContext(logger.WithContext(r.Context())))
	})
}

func do(t *testing.T, h http.Handler, method, path string, body io.Reader, header map[string]string) response {
	t.Helper()
	req := httptest.NewRequest(method, path, body)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	res := response{Status: rec.Code, Header: rec.Header()}
	assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &res.Body), "body: %s", rec.Body.String())
	return res
}

func post(t *testing.T, h http.Handler, path string, body []byte) response {
	t.Helper()
	return do(t, h, http.MethodPost, path, bytes.NewReader(body), nil)
}

func node(t *testing.T, key string) store.Node {
	t.Helper()
	n, err := neo4jtest.Store(t).NodeByID(t.Context(), "id", key)
	require.NoError(t, err, "node %s", key)
	return n
}

func facetNames(t *testing.T, n store.Node) []string {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(n.String("facets")), &m), "facets of %s", n.Key)
	return slices.Sorted(maps.Keys(m))
}

func keys(nodes []store.Node) []string {
	out := make([]string, 0, len(nodes))
	for _, n := range nodes {
		out = append(out, n.Key)
	}
	return out
}

// The golden events, shaped like the spec's examples, each answered 201 {} and recorded.
func TestSingleEventEndpointRecordsGoldenEvents(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	st := neo4jtest.Store(t)
	ctx := t.Context()
	tk := neo4jtest.Token(t)
	vars := map[string]string{"TOKEN": tk, "RUN_ID": uuid.NewString(), "PARENT_RUN_ID": uuid.NewString()}
	for _, name := range []string{"run_start.json", "run_complete.json", "dataset_event.json", "job_event.json"} {
		res := do(t, h, http.MethodPost, openlineage.Path, bytes.NewReader(golden(t, name, vars)),
			map[string]string{"Authorization": "Bearer any-api-key"})
		require.Equal(t, http.StatusCreated, res.Status, "%s: %v", name, res.Body)
		assert.Empty(t, res.Body, name)
	}

	db := "postgres://db-" + tk + ".example.com:5432"
	jobKey := store.JobKey("my-scheduler-namespace-"+tk, "myjob.mytask")
	run := node(t, runKey(t, vars["RUN_ID"]))
	assert.Equal(t, "FINISHED", run.String("status"))
	assert.Equal(t, []string{"nominalTime", "processing_engine"}, facetNames(t, run))
	assert.Equal(t, "2026-03-14T09:30:00Z", run.OptTime("startTime").UTC().Format("2006-01-02T15:04:05Z07:00"))
	assert.Equal(t, "2026-03-14T09:35:12.345678Z", run.OptTime("endTime").UTC().Format("2006-01-02T15:04:05.999999Z07:00"))
	assert.Equal(t, []string{"sql"}, facetNames(t, node(t, jobKey)))
	in := store.DatasetVersionKey(db, "instance.schema.input", store.Unversioned)
	assert.Equal(t, []string{"dataSource", "schema"}, facetNames(t, node(t, in)))
	id, _ := openlineage.RunID("runId", vars["RUN_ID"])
	out := store.DatasetVersionKey(db, "instance.schema.output", "run:"+id)
	assert.Equal(t, []string{"columnLineage", "dataSource", "schema"}, facetNames(t, node(t, out)))
	// How the run used each dataset, and its job's facets as of the run, stay on the run.
	var ioFacets map[string]map[string]any
	require.NoError(t, json.Unmarshal([]byte(run.String("inputFacets")), &ioFacets))
	assert.Equal(t, []string{in}, slices.Collect(maps.Keys(ioFacets)))
	assert.EqualValues(t, 1500, ioFacets[in]["inputStatistics"].(map[string]any)["rowCount"])
	var outFacets map[string]map[string]any
	require.NoError(t, json.Unmarshal([]byte(run.String("outputFacets")), &outFacets))
	assert.Equal(t, []string{out}, slices.Collect(maps.Keys(outFacets)))
	assert.EqualValues(t, 65536, outFacets[out]["outputStatistics"].(map[string]any)["size"])
	assert.JSONEq(t, `{"sql": {"_producer": "https://github.com/OpenLineage/OpenLineage/tree/1.54.0/client/python",
		"_schemaURL": "https://openlineage.io/spec/facets/1-1-0/SQLJobFacet.json#/$defs/SQLJobFacet",
		"query": "INSERT INTO instance.schema.output SELECT * FROM instance.schema.input"}}`, run.String("jobFacets"))

	ins, err := st.InputsOf(ctx, jobKey)
	require.NoError(t, err)
	assert.Equal(t, []string{in}, keys(ins))
	outs, err := st.OutputsOf(ctx, jobKey)
	require.NoError(t, err)
	assert.Equal(t, []string{out}, keys(outs))

	reference := node(t, store.DatasetVersionKey(db, "instance.schema.reference", "2026-03-01"))
	assert.Equal(t, []string{"documentation", "version"}, facetNames(t, reference))

	// The JobEvent reads the newest version of the output and writes an unversioned one.
	dbt := store.JobKey("dbt-"+tk, "analytics.orders_daily")
	assert.Equal(t, []string{"jobType"}, facetNames(t, node(t, dbt)))
	ins, err = st.InputsOf(ctx, dbt)
	require.NoError(t, err)
	assert.Equal(t, []string{out}, keys(ins))
	outs, err = st.OutputsOf(ctx, dbt)
	require.NoError(t, err)
	assert.Equal(t, []string{store.DatasetVersionKey(db, "analytics.orders_daily", store.Unversioned)}, keys(outs))

	// Posting them all again changes nothing.
	before := neo4jtest.Snapshot(t, tk)
	for _, name := range []string{"run_complete.json", "run_start.json", "job_event.json", "dataset_event.json"} {
		require.Equal(t, http.StatusCreated, post(t, h, openlineage.Path, golden(t, name, vars)).Status, name)
	}
	assert.Equal(t, before, neo4jtest.Snapshot(t, tk))
}

// An event from an old producer — no schemaURL, no eventType, a zone-less eventTime and
// the parent facet under its old name parentRun — makes a nested run.
func TestLegacyEventWithParentRunFacet(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	st := neo4jtest.Store(t)
	tk := neo4jtest.Token(t)
	vars := map[string]string{"TOKEN": tk, "RUN_ID": uuid.NewString(), "PARENT_RUN_ID": uuid.NewString()}
	res := post(t, h, openlineage.Path, golden(t, "legacy_event.json", vars))
	require.Equal(t, http.StatusCreated, res.Status, "%v", res.Body)

	child := runKey(t, vars["RUN_ID"])
	parents, err := st.ParentOfRun(t.Context(), child)
	require.NoError(t, err)
	assert.Equal(t, []string{runKey(t, vars["PARENT_RUN_ID"])}, keys(parents))
	executor, err := st.ExecutorOfRun(t.Context(), parents[0].Key)
	require.NoError(t, err)
	assert.Equal(t, []string{store.JobKey("airflow-"+tk, "etl_orders")}, keys(executor))
	r := node(t, child)
	assert.Equal(t, "RUNNING", r.String("status"), "an event without eventType is OTHER")
	assert.Equal(t, []string{"parent"}, facetNames(t, r), "parentRun is kept as parent")
}

// A batch answers per event; each event is its own transaction, and a refused one
// writes nothing while the others land.
func TestBatchEndpointReportsFailedEvents(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	st := neo4jtest.Store(t)
	tk, bad := neo4jtest.Token(t), neo4jtest.Token(t)
	vars := map[string]string{"TOKEN": tk, "RUN_ID": uuid.NewString()}
	var start, complete map[string]any
	require.NoError(t, json.Unmarshal(golden(t, "run_start.json", vars), &start))
	require.NoError(t, json.Unmarshal(golden(t, "run_complete.json", vars), &complete))
	// The same run under another job: refused by the store, after its job, run and
	// datasets were merged in its transaction, which must roll back.
	conflicting := map[string]any{
		"eventType": "COMPLETE", "eventTime": "2026-03-14T10:00:00Z",
		"run":      map[string]any{"runId": vars["RUN_ID"]},
		"job":      map[string]any{"namespace": "ns-" + bad, "name": "other"},
		"outputs":  []any{map[string]any{"namespace": "s3://b-" + bad, "name": "x"}},
		"producer": "test",
	}
	malformed := map[string]any{
		"eventType": "START", "eventTime": "2026-03-14T10:00:00Z",
		"run": map[string]any{"runId": 42}, "job": map[string]any{"namespace": "ns-" + bad, "name": "j"},
	}
	body, err := json.Marshal([]any{start, malformed, complete, conflicting, "not an event"})
	require.NoError(t, err)

	res := post(t, h, openlineage.BatchPath, body)
	require.Equal(t, http.StatusOK, res.Status, "%v", res.Body)
	assert.EqualValues(t, 5, res.Body["received"])
	assert.EqualValues(t, 2, res.Body["successful"])
	assert.EqualValues(t, 3, res.Body["failed"])
	failed := res.Body["failedEvents"].([]any)
	require.Len(t, failed, 3)
	for i, want := range []struct {
		index     int
		field     string
		code      string
		inReason  string
		retriable bool
	}{
		{1, "run.runId", "INVALID_ARGUMENT", "must be a string", false},
		{3, "job", "CONFLICT", "executed by", false},
		{4, "", "INVALID_ARGUMENT", "must be a JSON object", false},
	} {
		f := failed[i].(map[string]any)
		assert.EqualValues(t, want.index, f["index"])
		assert.Equal(t, want.code, f["code"])
		assert.Contains(t, f["reason"], want.inReason)
		assert.Equal(t, want.retriable, f["retriable"])
		if want.field == "" {
			assert.NotContains(t, f, "field")
		} else {
			assert.Equal(t, want.field, f["field"])
		}
	}
	assert.Empty(t, neo4jtest.Snapshot(t, bad), "refused events wrote nothing")
	r := node(t, runKey(t, vars["RUN_ID"]))
	assert.Equal(t, "FINISHED", r.String("status"))
	executor, err := st.ExecutorOfRun(t.Context(), r.Key)
	require.NoError(t, err)
	assert.Equal(t, []string{store.JobKey("my-scheduler-namespace-"+tk, "myjob.mytask")}, keys(executor))

	empty := post(t, h, openlineage.BatchPath, []byte(`[]`))
	assert.Equal(t, http.StatusOK, empty.Status)
	assert.Equal(t, map[string]any{"received": 0.0, "successful": 0.0, "failed": 0.0, "failedEvents": []any{}}, empty.Body)
}

// Refused requests answer 400 with the field to blame, and write nothing.
func TestRefusedEventsNameTheField(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	tk := neo4jtest.Token(t)
	event := func(edit func(m map[string]any)) []byte {
		m := map[string]any{
			"eventType": "START", "eventTime": "2026-03-14T09:30:00Z",
			"run":      map[string]any{"runId": uuid.NewString()},
			"job":      map[string]any{"namespace": "ns-" + tk, "name": "job"},
			"inputs":   []any{map[string]any{"namespace": "s3://b-" + tk, "name": "in"}},
			"outputs":  []any{map[string]any{"namespace": "s3://b-" + tk, "name": "out"}},
			"producer": "https://example.com/test", "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
		}
		edit(m)
		b, err := json.Marshal(m)
		require.NoError(t, err)
		return b
	}
	for _, tt := range []struct {
		name     string
		path     string
		body     []byte
		field    string // "" when no field is to blame
		inReason string
	}{
		{"malformed JSON", openlineage.Path, []byte(`{"eventType": "START",`), "", "malformed JSON"},
		{"JSON with trailing data", openlineage.Path, []byte(`{} {}`), "", "malformed JSON"},
		{"empty body", openlineage.Path, nil, "", "empty"},
		{"run id of the wrong type", openlineage.Path, event(func(m map[string]any) { m["run"] = map[string]any{"runId": 7} }), "run.runId", "must be a string"},
		{"run id not a UUID", openlineage.Path, event(func(m map[string]any) { m["run"] = map[string]any{"runId": "abc"} }), "run.runId", "UUID"},
		{"job without a name", openlineage.Path, event(func(m map[string]any) { m["job"] = map[string]any{"namespace": "ns"} }), "job.name", "required"},
		{"job of the wrong type", openlineage.Path, event(func(m map[string]any) { m["job"] = "job" }), "job", "JSON object"},
		{"input namespace of the wrong type", openlineage.Path, event(func(m map[string]any) {
			m["inputs"] = []any{map[string]any{"namespace": true, "name": "x"}}
		}), "inputs[0].namespace", "must be a string"},
		{"outputs not an array", openlineage.Path, event(func(m map[string]any) { m["outputs"] = map[string]any{} }), "outputs", "array"},
		{"facets not an object", openlineage.Path, event(func(m map[string]any) {
			m["outputs"] = []any{map[string]any{"namespace": "s3://b", "name": "x", "facets": []any{}}}
		}), "outputs[0].facets", "JSON object"},
		{"unknown event type", openlineage.Path, event(func(m map[string]any) { m["eventType"] = "FINISHED" }), "eventType", "START, RUNNING"},
		{"event time not a date-time", openlineage.Path, event(func(m map[string]any) { m["eventTime"] = "yesterday" }), "eventTime", "RFC 3339"},
		{"no event time", openlineage.Path, event(func(m map[string]any) { delete(m, "eventTime") }), "eventTime", "required"},
		{"malformed parent facet", openlineage.Path, event(func(m map[string]any) {
			m["run"] = map[string]any{"runId": uuid.NewString(), "facets": map[string]any{"parent": map[string]any{"run": map[string]any{"runId": uuid.NewString()}}}}
		}), "run.facets.parent.job", "required"},
		{"unknown event kind", openlineage.Path, []byte(`{"eventTime": "2026-03-14T09:30:00Z", "task": {"name": "x"}}`), "", "RunEvent has run and job"},
		{"unknown kind in schemaURL", openlineage.Path, event(func(m map[string]any) {
			m["schemaURL"] = "https://openlineage.io/spec/3-0-0/OpenLineage.json#/$defs/StreamEvent"
		}), "schemaURL", "StreamEvent"},
		{"schemaURL contradicting the shape", openlineage.Path, event(func(m map[string]any) {
			m["schemaURL"] = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent"
		}), "schemaURL", "shape of a RunEvent"},
		{"run and dataset", openlineage.Path, event(func(m map[string]any) { m["dataset"] = map[string]any{"namespace": "a", "name": "b"} }), "", "not both"},
		{"a batch at the single endpoint", openlineage.Path, []byte(`[]`), "", openlineage.BatchPath},
		{"an event at the batch endpoint", openlineage.BatchPath, event(func(map[string]any) {}), "", "JSON array"},
		{"malformed batch", openlineage.BatchPath, []byte(`[{"eventType": "START"`), "", "malformed JSON"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := post(t, h, tt.path, tt.body)
			assert.Equal(t, http.StatusBadRequest, res.Status, "%v", res.Body)
			assert.Equal(t, "INVALID_ARGUMENT", res.Body["code"])
			assert.Contains(t, res.Body["error"], tt.inReason)
			if tt.field == "" {
				assert.NotContains(t, res.Body, "field")
			} else {
				assert.Equal(t, tt.field, res.Body["field"])
			}
		})
	}
	assert.Empty(t, neo4jtest.Snapshot(t, tk))
}

// Only POST is allowed; other paths are not found.
func TestWrongMethodsAndPaths(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	for _, tt := range []struct {
		method, path string
		status       int
	}{
		{http.MethodGet, openlineage.Path, http.StatusMethodNotAllowed},
		{http.MethodPut, openlineage.Path, http.StatusMethodNotAllowed},
		{http.MethodDelete, openlineage.BatchPath, http.StatusMethodNotAllowed},
		{http.MethodGet, openlineage.BatchPath, http.StatusMethodNotAllowed},
		{http.MethodPost, "/api/v1/lineage/other", http.StatusNotFound},
		{http.MethodPost, "/api/v1/lineage/", http.StatusNotFound},
	} {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			res := do(t, h, tt.method, tt.path, strings.NewReader(`{}`), nil)
			assert.Equal(t, tt.status, res.Status)
			assert.NotEmpty(t, res.Body["error"])
			if tt.status == http.StatusMethodNotAllowed {
				assert.Equal(t, http.MethodPost, res.Header.Get("Allow"))
				assert.Contains(t, res.Body["error"], tt.method)
				assert.Equal(t, "METHOD_NOT_ALLOWED", res.Body["code"])
			}
		})
	}
}

// Bodies over the limits are refused with 413 naming the limit, whether the client
// announced the length, streamed the body or compressed it.
func TestBodyLimits(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	big := func(n int64) []byte {
		// A JSON string of n bytes in all.
		return []byte(`"` + strings.Repeat("x", int(n)-2) + `"`)
	}
	gz := func(b []byte) []byte {
		var buf bytes.Buffer
		w := gzip.NewWriter(&buf)
		_, err := w.Write(b)
		require.NoError(t, err)
		require.NoError(t, w.Close())
		return buf.Bytes()
	}
	for _, tt := range []struct {
		name   string
		path   string
		body   []byte
		header map[string]string
		stream bool // hide the length, as a chunked upload does
		limit  int64
	}{
		{"single event, announced", openlineage.Path, big(openlineage.MaxEventBytes + 1), nil, false, openlineage.MaxEventBytes},
		{"single event, streamed", openlineage.Path, big(openlineage.MaxEventBytes + 1), nil, true, openlineage.MaxEventBytes},
		{"single event, gzip", openlineage.Path, gz(big(openlineage.MaxEventBytes + 1)), map[string]string{"Content-Encoding": "gzip"}, false, openlineage.MaxEventBytes},
		{"batch, announced", openlineage.BatchPath, big(openlineage.MaxBatchBytes + 1), nil, false, openlineage.MaxBatchBytes},
		{"batch, streamed", openlineage.BatchPath, big(openlineage.MaxBatchBytes + 1), nil, true, openlineage.MaxBatchBytes},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var body io.Reader = bytes.NewReader(tt.body)
			if tt.stream {
				body = io.MultiReader(body) // not a *bytes.Reader: no Content-Length
			}
			res := do(t, h, http.MethodPost, tt.path, body, tt.header)
			assert.Equal(t, http.StatusRequestEntityTooLarge, res.Status)
			assert.EqualValues(t, tt.limit, res.Body["limit"])
			assert.Contains(t, res.Body["error"], fmt.Sprint(tt.limit))
		})
	}
	// Just within the limit is read (and refused for what it is, not for its size).
	res := post(t, h, openlineage.Path, big(openlineage.MaxEventBytes))
	assert.Equal(t, http.StatusBadRequest, res.Status)
	assert.Contains(t, res.Body["error"], "JSON object")
}

// Clients configured with compression send gzip bodies.
func TestGzipBody(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	tk := neo4jtest.Token(t)
	vars := map[string]string{"TOKEN": tk, "RUN_ID": uuid.NewString()}
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	_, err := w.Write(golden(t, "run_start.json", vars))
	require.NoError(t, err)
	require.NoError(t, w.Close())
	res := do(t, h, http.MethodPost, openlineage.Path, &buf, map[string]string{"Content-Encoding": "gzip"})
	require.Equal(t, http.StatusCreated, res.Status, "%v", res.Body)
	assert.Equal(t, "RUNNING", node(t, runKey(t, vars["RUN_ID"])).String("status"))

	res = do(t, h, http.MethodPost, openlineage.Path, strings.NewReader("not gzip"), map[string]string{"Content-Encoding": "gzip"})
	assert.Equal(t, http.StatusBadRequest, res.Status)
	res = do(t, h, http.MethodPost, openlineage.Path, strings.NewReader("{}"), map[string]string{"Content-Encoding": "br"})
	assert.Equal(t, http.StatusUnsupportedMediaType, res.Status)
}

// The curl example of docs/ingest-openlineage.md records what the page says, under this
// test's own names.
func TestDocumentedCurlExample(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	tk := neo4jtest.Token(t)
	page, err := os.ReadFile(filepath.Join("..", "..", "docs", "ingest-openlineage.md"))
	require.NoError(t, err)
	m := regexp.MustCompile(`(?s)-d '(\{.*?\})'`).FindSubmatch(page)
	require.NotNil(t, m, "the page has a curl -d example")
	const docRunID, docHex = "0176a8c2-fe01-7439-87e6-56a1a1b4029f", "0176a8c2fe01743987e656a1a1b4029f"
	runID := uuid.NewString()
	hex, err := openlineage.RunID("runId", runID)
	require.NoError(t, err)
	own := strings.NewReplacer(`"airflow"`, `"airflow-`+tk+`"`, "s3://lake", "s3://lake-"+tk, docRunID, runID)
	res := post(t, h, openlineage.Path, []byte(own.Replace(string(m[1]))))
	require.Equal(t, http.StatusCreated, res.Status, "%v", res.Body)
	assert.Empty(t, res.Body)

	// The IDs the page names, made this test's own.
	ids := strings.NewReplacer("job:airflow:", "job:airflow-"+tk+":", "s3://lake", "s3://lake-"+tk, docHex, hex)
	text := string(page)
	for _, id := range []string{
		"job:airflow:etl_orders.clean",
		"datasetVersion:s3://lake:raw/orders#2026-03-14",
		"datasetVersion:s3://lake:clean/orders#run:" + docHex,
		"run:" + docHex,
	} {
		require.Contains(t, text, "`"+id+"`")
		node(t, ids.Replace(id))
	}
	assert.Equal(t, "FINISHED", node(t, "run:"+hex).String("status"))
}
