package server_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/internal/neo4jtest"
	"github.com/provgraph/provgraph/server"
	"github.com/provgraph/provgraph/store"
)

// Every rejected request gets a clear error with a stable code and, where an input is
// at fault, the field named — and leaves the graph exactly as it was.
func TestBadInputIsRejectedAndWritesNothing(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	s := recordSlice(t, h)
	tk := s.token
	source := "s3://models-" + tk + "/fraud/model.tar.gz"

	tests := []struct {
		name     string
		query    string
		vars     map[string]any
		code     string
		field    string // extensions.field, when an input is at fault
		mentions string // the message must contain this
	}{
		{"malformed node ID", `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": "nonsense"},
			"INVALID_ARGUMENT", "id", "is not a node ID"},
		{"node ID with an empty name", `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": "endpoint:"},
			"INVALID_ARGUMENT", "id", "is not a node ID"},
		{"malformed lineage start", lineageQuery, map[string]any{"start": []string{s.endpoint, "dataset:nocolon"}, "direction": "UPSTREAM"},
			"INVALID_ARGUMENT", "start[1]", "is not a node ID"},
		{"unknown lineage start", lineageQuery, map[string]any{"start": []string{"endpoint:none-" + tk}, "direction": "UPSTREAM"},
			"NOT_FOUND", "start[0]", "endpoint:none-" + tk},
		{"empty lineage start", lineageQuery, map[string]any{"start": []string{}, "direction": "UPSTREAM"},
			"INVALID_ARGUMENT", "start", "at least one"},
		{"too many lineage starts", lineageQuery, map[string]any{"start": repeat(s.endpoint, store.MaxLineageStarts+1), "direction": "UPSTREAM"},
			"INVALID_ARGUMENT", "start", "at most 100"},
		{"negative depth", lineageQuery, map[string]any{"start": []string{s.endpoint}, "direction": "UPSTREAM", "maxDepth": -1},
			"INVALID_ARGUMENT", "maxDepth", "between 0 and 50"},
		{"depth above the cap", lineageQuery, map[string]any{"start": []string{s.endpoint}, "direction": "UPSTREAM", "maxDepth": 51},
			"INVALID_ARGUMENT", "maxDepth", "between 0 and 50"},
		{"unknown direction", lineageQuery, map[string]any{"start": []string{s.endpoint}, "direction": "SIDEWAYS"},
			"GRAPHQL_VALIDATION_FAILED", "", "SIDEWAYS"},
		{"missing required field", `mutation { registerDatasetVersion(input: {digest: "sha256:1"}) { created } }`, nil,
			"GRAPHQL_VALIDATION_FAILED", "", "RegisterDatasetVersionInput.uri"},
		{"missing required field in a variable", registerDatasetVersion, map[string]any{"input": map[string]any{"digest": "sha256:1"}},
			"GRAPHQL_VALIDATION_FAILED", "input.uri", "must be defined"},
		{"mistyped field in a variable", lineageQuery, map[string]any{"start": []string{s.endpoint}, "direction": "UPSTREAM", "maxDepth": "deep"},
			"GRAPHQL_VALIDATION_FAILED", "maxDepth", "Int"},
		{"syntax error", `query { lineage(start: [ }`, nil, "GRAPHQL_PARSE_FAILED", "", "Unexpected }"},
		{"dataset version without digest or version id", registerDatasetVersion,
			map[string]any{"input": map[string]any{"uri": "s3://lake-" + tk + "/x"}},
			"INVALID_ARGUMENT", "input.digest", "digest or a versionId"},
		{"dataset URI without scheme", registerDatasetVersion,
			map[string]any{"input": map[string]any{"uri": "lake-" + tk + "/x", "digest": "sha256:1"}},
			"INVALID_ARGUMENT", "input.uri", "scheme"},
		{"dataset URI with a password", registerDatasetVersion,
			map[string]any{"input": map[string]any{"uri": "postgres://etl:hunter2@db-" + tk + ":5432/shop.orders", "digest": "sha256:1"}},
			"INVALID_ARGUMENT", "input.uri", "password"},
		{"dataset version with an overlong digest", registerDatasetVersion,
			map[string]any{"input": map[string]any{"uri": "s3://lake-" + tk + "/x", "digest": strings.Repeat("a", 257)}},
			"INVALID_ARGUMENT", "input.digest", "at most 256"},
		{"same dataset version, other description", registerDatasetVersion,
			map[string]any{"input": map[string]any{"uri": "s3://lake-" + tk + "/customers/2026-01", "digest": "sha256:c0ffee", "description": "changed"}},
			"CONFLICT", "input.description", "immutable"},
		{"job reading an unknown dataset version", recordTrainingJob, map[string]any{"input": map[string]any{
			"namespace": "sagemaker-" + tk, "name": "bad-inputs", "inputs": []string{s.dataset, "datasetVersion:s3://nowhere-" + tk + ":x#1"},
			"modelArtifact": map[string]any{"uri": "s3://models-" + tk + "/bad/model.tar.gz"}}},
			"NOT_FOUND", "input.inputs[1]", "nowhere-" + tk},
		{"job reading a model version", recordTrainingJob, map[string]any{"input": map[string]any{
			"namespace": "sagemaker-" + tk, "name": "bad-kind", "inputs": []string{s.version},
			"modelArtifact": map[string]any{"uri": "s3://models-" + tk + "/bad/model.tar.gz"}}},
			"INVALID_ARGUMENT", "input.inputs[0]", "dataset version or an artifact"},
		{"job ending before it started", recordTrainingJob, map[string]any{"input": map[string]any{
			"namespace": "sagemaker-" + tk, "name": "bad-times", "inputs": []string{s.dataset},
			"startedAt": "2026-03-14T10:00:00Z", "endedAt": "2026-03-14T09:00:00Z",
			"modelArtifact": map[string]any{"uri": "s3://models-" + tk + "/bad/model.tar.gz"}}},
			"INVALID_ARGUMENT", "input.endedAt", "before startedAt"},
		{"job with a time that is not RFC 3339", recordTrainingJob, map[string]any{"input": map[string]any{
			"namespace": "sagemaker-" + tk, "name": "bad-time", "inputs": []string{s.dataset}, "startedAt": "yesterday",
			"modelArtifact": map[string]any{"uri": "s3://models-" + tk + "/bad/model.tar.gz"}}},
			"INVALID_ARGUMENT", "input.startedAt", "RFC3339"},
		{"job with repeated hyper-parameter", recordTrainingJob, map[string]any{"input": map[string]any{
			"namespace": "sagemaker-" + tk, "name": "bad-params", "inputs": []string{s.dataset},
			"hyperParameters": []map[string]any{{"key": "lr", "value": "1"}, {"key": "lr", "value": "2"}},
			"modelArtifact":   map[string]any{"uri": "s3://models-" + tk + "/bad/model.tar.gz"}}},
			"INVALID_ARGUMENT", "input.hyperParameters[1].key", "repeats"},
		{"same job, other inputs", recordTrainingJob, map[string]any{"input": map[string]any{
			"namespace": "sagemaker-" + tk, "name": "fraud-train-1", "inputs": []string{},
			"modelArtifact": map[string]any{"uri": source}}},
			"CONFLICT", "input.inputs", "immutable"},
		{"same job, other artifact digest", recordTrainingJob, map[string]any{"input": map[string]any{
			"namespace": "sagemaker-" + tk, "name": "fraud-train-1", "inputs": []string{s.dataset},
			"instanceType":    "ml.m5.xlarge",
			"hyperParameters": []map[string]any{{"key": "max_depth", "value": "6"}, {"key": "eta", "value": "0.2"}},
			"modelArtifact":   map[string]any{"uri": source, "digest": "sha256:other"}}},
			"CONFLICT", "input.modelArtifact.digest", "immutable"},
		{"second job claiming an artifact already produced", recordTrainingJob, map[string]any{"input": map[string]any{
			"namespace": "sagemaker-" + tk, "name": "copycat", "inputs": []string{s.dataset},
			"modelArtifact": map[string]any{"uri": source}}},
			"CONFLICT", "input.modelArtifact.uri", "new URI"},
		{"model version from an unknown job", registerModelVersion, map[string]any{"input": map[string]any{
			"model": "fraud-" + tk, "source": source, "producedBy": "job:sagemaker-" + tk + ":nope"}},
			"NOT_FOUND", "input.producedBy", "nope"},
		{"model version from a job that did not produce it", registerModelVersion, map[string]any{"input": map[string]any{
			"model": "fraud-" + tk, "source": "s3://models-" + tk + "/elsewhere.tar.gz", "producedBy": s.job}},
			"INVALID_ARGUMENT", "input.source", "recorded no output"},
		{"model name that reads as a version", registerModelVersion, map[string]any{"input": map[string]any{
			"model": "fraud-" + tk + "/7", "source": source}},
			"INVALID_ARGUMENT", "input.model", "/<digits>"},
		{"deploying a model version that does not exist", deployModelVersion, map[string]any{"input": map[string]any{
			"endpoint": "new-endpoint-" + tk, "modelVersion": "model:fraud-" + tk + "/99"}},
			"NOT_FOUND", "input.modelVersion", "model:fraud-" + tk + "/99"},
		{"deploying something that is not a model version", deployModelVersion, map[string]any{"input": map[string]any{
			"endpoint": "new-endpoint-" + tk, "modelVersion": s.dataset}},
			"INVALID_ARGUMENT", "input.modelVersion", "ModelVersion"},
		{"deploying with no traffic", deployModelVersion, map[string]any{"input": map[string]any{
			"endpoint": "new-endpoint-" + tk, "modelVersion": s.version, "trafficShare": 0}},
			"INVALID_ARGUMENT", "input.trafficShare", "greater than 0"},
		{"deploying with more than all traffic", deployModelVersion, map[string]any{"input": map[string]any{
			"endpoint": "new-endpoint-" + tk, "modelVersion": s.version, "trafficShare": 1.5}},
			"INVALID_ARGUMENT", "input.trafficShare", "at most 1"},
		{"empty endpoint name", deployModelVersion, map[string]any{"input": map[string]any{
			"endpoint": " ", "modelVersion": s.version}},
			"INVALID_ARGUMENT", "input.endpoint", "must not be empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := neo4jtest.Snapshot(t, tk)
			resp := do(t, h, tt.query, tt.vars)
			require.Len(t, resp.Errors, 1, "want exactly one error, got data %v", resp.Data)
			e := resp.Errors[0]
			assert.Equal(t, tt.code, e.Extensions["code"], e.Message)
			if tt.field != "" {
				assert.Equal(t, tt.field, e.Extensions["field"], e.Message)
				assert.True(t, strings.HasPrefix(e.Message, tt.field+": "), "message %q names the field", e.Message)
			}
			assert.Contains(t, e.Message, tt.mentions)
			assert.NotContains(t, strings.ToLower(e.Message), "neo4j", "driver text must not reach clients")
			assert.NotContains(t, e.Message, "MATCH", "Cypher must not reach clients")
			assert.Equal(t, before, neo4jtest.Snapshot(t, tk), "a rejected request must leave the graph as it was")
		})
	}
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

// When Neo4j cannot be reached, clients get UNAVAILABLE (retryable) and /readyz 503;
// /healthz still answers because the process is up.
func TestUnreachableNeo4jIsUnavailable(t *testing.T) {
	t.Parallel()
	st, err := store.Open(store.Config{URI: "bolt://127.0.0.1:1", User: "neo4j", Password: "x", RetryTimeout: time.Second})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close(t.Context()) })
	h := newBareHandler(t, server.Options{Store: st, AnonymousReadLoopback: true})

	// An API token cannot be looked up: 503, retryable, not a refusal of the token.
	resp := doWithHeader(t, h, lineageQuery, map[string]any{"start": []string{"endpoint:x"}, "direction": "UPSTREAM"},
		map[string]string{"Authorization": "Bearer pgt_0123456789abcdef_" + strings.Repeat("a", 52)})
	assert.Equal(t, http.StatusServiceUnavailable, resp.Status)
	assert.Equal(t, "5", resp.Header.Get("Retry-After"))
	require.Len(t, resp.Errors, 1)
	assert.Equal(t, "UNAVAILABLE", resp.Errors[0].Extensions["code"])
	assert.NotContains(t, resp.Errors[0].Message, "127.0.0.1", "connection details stay in the log")

	// A resolver (reached by an anonymous read from loopback) cannot reach Neo4j either.
	resp = send(t, h, fromLoopback(t, lineageQuery, map[string]any{"start": []string{"endpoint:x"}, "direction": "UPSTREAM"}))
	assert.Equal(t, http.StatusOK, resp.Status)
	require.Len(t, resp.Errors, 1)
	assert.Equal(t, "UNAVAILABLE", resp.Errors[0].Extensions["code"])
	assert.NotContains(t, resp.Errors[0].Message, "127.0.0.1", "connection details stay in the log")

	assert.Equal(t, http.StatusServiceUnavailable, getStatus(t, h, "/readyz"))
	assert.Equal(t, http.StatusOK, getStatus(t, h, "/healthz"))
}

// fromLoopback is a GraphQL request without credentials from 127.0.0.1.
func fromLoopback(t *testing.T, query string, vars map[string]any) *http.Request {
	t.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	require.NoError(t, err)
	req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.RemoteAddr = "127.0.0.1:40000"
	return req
}

// A panic in a resolver becomes INTERNAL with the request id, its text stays in the
// log, and the server goes on serving. A handler without a store panics on first use
// (reached by an anonymous read, which needs no store to authenticate).
func TestPanicIsInternalAndRecovered(t *testing.T) {
	t.Parallel()
	h := newBareHandler(t, server.Options{AnonymousReadLoopback: true})
	resp := send(t, h, fromLoopback(t, `{ node(id: "endpoint:x") { id } }`, nil))
	require.Len(t, resp.Errors, 1)
	e := resp.Errors[0]
	assert.Equal(t, "INTERNAL", e.Extensions["code"])
	assert.Contains(t, e.Message, "request id "+resp.Header.Get("X-Request-Id"))
	assert.NotContains(t, e.Message, "nil pointer")
	assert.Equal(t, http.StatusOK, getStatus(t, h, "/healthz"))
}

// A resolver error that is not a domain error — here a node of a kind this provgraph
// does not know, as a newer version might write — is INTERNAL: the client gets the
// request id (its own, when it sent one), the details stay in the log.
func TestUnexpectedResolverErrorIsInternal(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	tk := neo4jtest.Token(t)
	key := "endpoint:from-the-future-" + tk
	neo4jtest.Exec(t, `CREATE (:Node:Hologram {key: $key, kind: 'Hologram', name: 'x', recordedAt: datetime(), recordedBy: 'test'})`,
		map[string]any{"key": key})
	t.Cleanup(func() { neo4jtest.Exec(t, `MATCH (n:Node {key: $key}) DELETE n`, map[string]any{"key": key}) })

	resp := doWithHeader(t, h, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": key},
		map[string]string{"X-Request-Id": "audit-" + tk})
	require.Len(t, resp.Errors, 1)
	e := resp.Errors[0]
	assert.Equal(t, "INTERNAL", e.Extensions["code"])
	assert.Contains(t, e.Message, "request id audit-"+tk)
	assert.NotContains(t, e.Message, "Hologram")
	assert.NotContains(t, e.Message, "kind")

	// A stored node missing a required property: gqlgen's non-null violation is the
	// server's fault, not the client's.
	broken := "endpoint:without-time-" + tk
	neo4jtest.Exec(t, `CREATE (:Node:Endpoint {key: $key, kind: 'Endpoint', name: 'x', recordedBy: 'test'})`,
		map[string]any{"key": broken})
	t.Cleanup(func() { neo4jtest.Exec(t, `MATCH (n:Node {key: $key}) DELETE n`, map[string]any{"key": broken}) })
	resp = do(t, h, `query($id: ID!) { node(id: $id) { id recordedAt } }`, map[string]any{"id": broken})
	require.NotEmpty(t, resp.Errors)
	assert.Equal(t, "INTERNAL", resp.Errors[0].Extensions["code"], resp.Errors[0].Message)
	assert.NotContains(t, resp.Errors[0].Message, "recordedAt")
}

func TestHealthAndReadiness(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	assert.Equal(t, http.StatusOK, getStatus(t, h, "/healthz"))
	assert.Equal(t, http.StatusOK, getStatus(t, h, "/readyz"))

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Contains(t, rec.Body.String(), "<title>provgraph</title>", "the console is served at /")

	// Every response carries a request id; a caller's own id is kept.
	req := httptest.NewRequest(http.MethodGet, "/healthz", nil)
	req.Header.Set("X-Request-Id", "caller-id-1")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	assert.Equal(t, "caller-id-1", rec.Header().Get("X-Request-Id"))
	resp := do(t, h, `{ __typename }`, nil)
	assert.NotEmpty(t, resp.Header.Get("X-Request-Id"))
}

func getStatus(t *testing.T, h http.Handler, path string) int {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Code
}
