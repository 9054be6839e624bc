package server_test

import (
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/apperr"
	"github.com/provgraph/provgraph/auth"
	"github.com/provgraph/provgraph/ingest/openlineage"
	"github.com/provgraph/provgraph/internal/authtest"
	"github.com/provgraph/provgraph/internal/neo4jtest"
	"github.com/provgraph/provgraph/server"
	"github.com/provgraph/provgraph/store"
)

const verifyAuditLog = `query($from: Int64, $to: Int64) {
  verifyAuditLog(from: $from, to: $to) { verified checked from to head firstBreak { seq reason expected found } }
}`

// Every write surface appends an audit entry with the caller as actor, the write's
// action and keys and the request's X-Request-Id; a refused write appends none; and the
// chain verifies through GraphQL. The test's store appends to a chain of its own.
func TestEveryWriteSurfaceAppendsAnAuditEntry(t *testing.T) {
	t.Parallel()
	st, _ := neo4jtest.StoreWithOwnAuditChain(t)
	tk := neo4jtest.Token(t)
	// The first OpenLineage event of a database creates the experiment events record
	// their runs in, with an entry of its own: make sure that happened before, on the
	// shared chain, so this chain holds exactly the writes below.
	_, err := neo4jtest.Store(t).CreateExperiment(t.Context(), "test", openlineage.RunsExperiment())
	require.True(t, err == nil || apperr.CodeOf(err) == apperr.Conflict, "%v", err)
	writer := authtest.NewToken(t, st, auth.RoleWriter)
	admin := authtest.NewToken(t, st, auth.RoleAdmin)
	h := newBareHandler(t, server.Options{Store: st})
	headers := func(c authtest.Credential, reqID string) map[string]string {
		return map[string]string{"Authorization": c.Header(), server.RequestIDHeader: reqID}
	}

	// GraphQL mutation.
	resp := doWithHeader(t, h, createExperiment, map[string]any{"input": map[string]any{"name": "gql-" + tk}}, headers(writer, "gql-"+tk))
	require.Empty(t, resp.Errors)
	gqlExperiment := get(resp.Data, "createExperiment", "experiment", "id").(string)
	// A refused one (the name is taken) appends nothing.
	resp = doWithHeader(t, h, createExperiment, map[string]any{"input": map[string]any{"name": "gql-" + tk}}, headers(writer, "refused-"+tk))
	require.Len(t, resp.Errors, 1)
	require.Equal(t, "CONFLICT", resp.Errors[0].Extensions["code"])
	// MLflow.
	a := call(t, h, "POST", "/api/2.0/mlflow/experiments/create", `{"name": "mlflow-`+tk+`"}`, headers(writer, "mlflow-"+tk))
	require.Equal(t, http.StatusOK, a.status, a.body)
	// OpenLineage batch.
	ns := "audit-" + tk
	a = call(t, h, "POST", "/api/v1/lineage/batch", mustJSON(t, []any{olRunEvent(t, ns, "first"), olRunEvent(t, ns, "second")}), headers(writer, "ol-"+tk))
	require.Equal(t, http.StatusOK, a.status, a.body)
	// SageMaker event.
	golden, err := os.ReadFile("../ingest/sagemaker/testdata/training_completed.json")
	require.NoError(t, err)
	a = call(t, h, "POST", "/api/v1/sagemaker/events", strings.ReplaceAll(string(golden), "{{TK}}", tk), headers(writer, "sm-"+tk))
	require.Equal(t, http.StatusOK, a.status, a.body)
	require.Contains(t, a.body, `"accepted":1`)
	// Token creation through GraphQL.
	resp = doWithHeader(t, h, createToken, map[string]any{"input": map[string]any{"name": "made-" + tk, "role": "READER"}}, headers(admin, "token-"+tk))
	require.Empty(t, resp.Errors)

	entries, err := st.AuditEntries(t.Context(), 1, 100, 100)
	require.NoError(t, err)
	type seen struct{ actor, action, requestID string }
	var got []seen
	for _, e := range entries {
		got = append(got, seen{e.Actor, e.Action, e.RequestID})
	}
	assert.Equal(t, []seen{
		{"test", store.ActionTokenCreate, ""},
		{"test", store.ActionTokenCreate, ""},
		{writer.Actor, store.ActionExperimentCreate, "gql-" + tk},
		{writer.Actor, store.ActionExperimentCreate, "mlflow-" + tk},
		{writer.Actor, store.ActionLineageReport, "ol-" + tk},
		{writer.Actor, store.ActionJobReport, "sm-" + tk},
		{admin.Actor, store.ActionTokenCreate, "token-" + tk},
	}, got)
	require.Len(t, entries, 7)
	assert.Equal(t, []string{auth.TokenActor(writer.Name)}, entries[0].Targets)
	assert.Equal(t, []string{gqlExperiment}, entries[2].Targets)
	assert.Contains(t, entries[4].Targets, store.JobKey(ns, "first"))
	assert.Contains(t, entries[4].Targets, store.JobKey(ns, "second"))
	assert.Contains(t, entries[5].Targets, store.JobKey("sagemaker", "fraud-xgb-"+tk))
	assert.Equal(t, []string{auth.TokenActor("made-" + tk)}, entries[6].Targets)

	d := mustDo(t, newHandlerWith(t, st, auth.RoleReader), verifyAuditLog, nil)
	assert.Equal(t, map[string]any{"verified": true, "checked": 8.0, "from": 1.0, "to": 8.0, "head": 8.0, "firstBreak": nil},
		get(d, "verifyAuditLog"), "the reader's token is entry 8")
}

// An entry edited in Neo4j is found by verifyAuditLog: the first break is at that
// entry. The test tampers with a chain of its own.
func TestVerifyAuditLogFindsAnEditedEntry(t *testing.T) {
	t.Parallel()
	st, chain := neo4jtest.StoreWithOwnAuditChain(t)
	tk := neo4jtest.Token(t)
	h := newHandlerWith(t, st, auth.RoleWriter) // entry 1: its token
	for i := range 3 {
		mustDo(t, h, createExperiment, map[string]any{"input": map[string]any{"name": "tamper-" + tk + "-" + string(rune('a'+i))}})
	}
	d := mustDo(t, h, verifyAuditLog, nil)
	require.Equal(t, true, get(d, "verifyAuditLog", "verified"))
	require.Equal(t, 4.0, get(d, "verifyAuditLog", "checked"))

	neo4jtest.Exec(t, `MATCH (e:AuditEntry {chain: $chain, seq: 3}) SET e.actor = 'token:mallory'`, map[string]any{"chain": chain})
	d = mustDo(t, h, verifyAuditLog, nil)
	v := get(d, "verifyAuditLog")
	assert.Equal(t, false, get(v, "verified"))
	assert.Equal(t, 2.0, get(v, "checked"))
	assert.Equal(t, 3.0, get(v, "firstBreak", "seq"))
	assert.Equal(t, "HASH_MISMATCH", get(v, "firstBreak", "reason"))
	entries, err := st.AuditEntries(t.Context(), 3, 3, 1)
	require.NoError(t, err)
	assert.Equal(t, entries[0].Hash, get(v, "firstBreak", "found"))
	assert.Equal(t, entries[0].ComputeHash(), get(v, "firstBreak", "expected"))

	resp := do(t, h, verifyAuditLog, map[string]any{"from": 1, "to": store.MaxAuditVerifyRange + 1})
	require.Len(t, resp.Errors, 1)
	assert.Equal(t, "INVALID_ARGUMENT", resp.Errors[0].Extensions["code"])
}

// newHandlerWith is the real handler on st, sending a token of role of its own.
func newHandlerWith(t *testing.T, st *store.Store, role auth.Role) http.Handler {
	t.Helper()
	c := authtest.NewToken(t, st, role)
	return c.Handler(newBareHandler(t, server.Options{Store: st}))
}

// Recorded facts are never overwritten in place: the same key with other content is
// refused (a dataset version with another digest, a run parameter with another
// value) or becomes a new version (a model version with another source), and the old
// record stays as it was.
func TestRecordedFactsAreNeverOverwritten(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	tk := neo4jtest.Token(t)

	// A dataset version: same version id, other digest.
	dv := map[string]any{"uri": "s3://facts-" + tk + "/orders", "versionId": "v1", "digest": "sha256:aaa"}
	d := mustDo(t, h, registerDatasetVersion, map[string]any{"input": dv})
	id := get(d, "registerDatasetVersion", "datasetVersion", "id").(string)
	dv["digest"] = "sha256:bbb"
	resp := do(t, h, registerDatasetVersion, map[string]any{"input": dv})
	require.Len(t, resp.Errors, 1)
	assert.Equal(t, "CONFLICT", resp.Errors[0].Extensions["code"])
	d = mustDo(t, h, `query($id: ID!) { node(id: $id) { ... on DatasetVersion { digest } } }`, map[string]any{"id": id})
	assert.Equal(t, "sha256:aaa", get(d, "node", "digest"))

	// A run parameter: same key, other value.
	d = mustDo(t, h, createExperiment, map[string]any{"input": map[string]any{"name": "facts-" + tk}})
	d = mustDo(t, h, startRun, map[string]any{"input": map[string]any{"experiment": get(d, "createExperiment", "experiment", "id")}})
	run := get(d, "startRun", "run", "id").(string)
	mustDo(t, h, logRun, map[string]any{"input": map[string]any{"run": run, "params": []any{map[string]any{"key": "lr", "value": "0.1"}}}})
	resp = do(t, h, logRun, map[string]any{"input": map[string]any{"run": run, "params": []any{map[string]any{"key": "lr", "value": "0.2"}}}})
	require.Len(t, resp.Errors, 1)
	assert.Equal(t, "CONFLICT", resp.Errors[0].Extensions["code"])
	d = mustDo(t, h, `query($id: ID!) { node(id: $id) { ... on Run { params { key value } } } }`, map[string]any{"id": run})
	assert.Equal(t, []any{map[string]any{"key": "lr", "value": "0.1"}}, get(d, "node", "params"))

	// A model version: another source is a new version; the first keeps its source.
	model := "facts-" + tk
	d = mustDo(t, h, registerModelVersion, map[string]any{"input": map[string]any{"model": model, "source": "s3://facts-" + tk + "/m1.tar.gz"}})
	v1 := get(d, "registerModelVersion", "modelVersion", "id").(string)
	d = mustDo(t, h, registerModelVersion, map[string]any{"input": map[string]any{"model": model, "source": "s3://facts-" + tk + "/m2.tar.gz"}})
	v2 := get(d, "registerModelVersion", "modelVersion", "id").(string)
	assert.NotEqual(t, v1, v2)
	d = mustDo(t, h, `query($id: ID!) { node(id: $id) { ... on ModelVersion { source } } }`, map[string]any{"id": v1})
	assert.Equal(t, "s3://facts-"+tk+"/m1.tar.gz", get(d, "node", "source"))
}
