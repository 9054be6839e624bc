package mlflow_test

import (
	"encoding/json"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/auth"
	"github.com/provgraph/provgraph/internal/authtest"
	"github.com/provgraph/provgraph/internal/neo4jtest"
	"github.com/provgraph/provgraph/server"
	"github.com/provgraph/provgraph/store"
)

// MLflow 3's logged-model calls through the real handler: create (with the source run
// as producer), get, params (immutable), tags, finalize, search, register a version
// from models:/<id>, delete (kept in lineage), and the errors MLflow's client expects.
func TestLoggedModels(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	tk := neo4jtest.Token(t)
	writer := authtest.NewToken(t, st, auth.RoleWriter)
	h := writer.Handler(server.New(server.Options{Store: st, Logger: zerolog.Nop(), ArtifactRoot: t.TempDir()}))
	call := func(method, path, body string) (int, map[string]any) {
		t.Helper()
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		b, _ := io.ReadAll(rec.Body)
		var out map[string]any
		require.NoError(t, json.Unmarshal(b, &out), string(b))
		return rec.Code, out
	}
	ok := func(method, path, body string) map[string]any {
		t.Helper()
		code, out := call(method, path, body)
		require.Equal(t, 200, code, out)
		return out
	}
	api := "/api/2.0/mlflow/"
	expID := ok("POST", api+"experiments/create", `{"name": "logged-`+tk+`"}`)["experiment_id"].(string)
	runID := ok("POST", api+"runs/create", `{"experiment_id": "`+expID+`"}`)["run"].(map[string]any)["info"].(map[string]any)["run_id"].(string)

	created := ok("POST", api+"logged-models", `{"experiment_id": "`+expID+`", "name": "model", "model_type": "classifier",
		"source_run_id": "`+runID+`", "params": [{"key": "lr", "value": "0.01"}], "tags": [{"key": "mlflow.user", "value": "ann"}]}`)
	info := created["model"].(map[string]any)["info"].(map[string]any)
	id := info["model_id"].(string)
	assert.Regexp(t, `^m-[0-9a-f]{32}$`, id)
	assert.Equal(t, "LOGGED_MODEL_PENDING", info["status"])
	assert.Equal(t, "mlflow-artifacts:/"+expID+"/models/"+id+"/artifacts", info["artifact_uri"])
	assert.Equal(t, runID, info["source_run_id"])
	assert.Equal(t, expID, info["experiment_id"])
	assert.Equal(t, "classifier", info["model_type"])

	ok("POST", api+"logged-models/"+id+"/params", `{"model_id": "`+id+`", "params": [{"key": "depth", "value": "3"}, {"key": "lr", "value": "0.01"}]}`)
	ok("PATCH", api+"logged-models/"+id+"/tags", `{"tags": [{"key": "team", "value": "risk"}, {"key": "gone", "value": "x"}]}`)
	ok("DELETE", api+"logged-models/"+id+"/tags/gone", "")
	ok("POST", api+"runs/outputs", `{"run_id": "`+runID+`", "models": [{"model_id": "`+id+`", "step": 0}]}`)
	fin := ok("PATCH", api+"logged-models/"+id, `{"model_id": "`+id+`", "status": "LOGGED_MODEL_READY"}`)
	assert.Equal(t, "LOGGED_MODEL_READY", fin["model"].(map[string]any)["info"].(map[string]any)["status"])
	ok("PATCH", api+"logged-models/"+id, `{"model_id": "`+id+`", "status": "LOGGED_MODEL_READY"}`) // a repeat is a no-op

	got := ok("GET", "/ajax-api/2.0/mlflow/logged-models/"+id, "")["model"].(map[string]any)
	assert.Equal(t, []any{map[string]any{"key": "depth", "value": "3"}, map[string]any{"key": "lr", "value": "0.01"}},
		got["data"].(map[string]any)["params"])
	assert.ElementsMatch(t, []any{map[string]any{"key": "team", "value": "risk"}, map[string]any{"key": "mlflow.user", "value": "ann"}},
		got["info"].(map[string]any)["tags"])

	// A second model in the experiment, left pending, to filter against.
	other := ok("POST", api+"logged-models", `{"experiment_id": "`+expID+`", "name": "baseline"}`)["model"].(map[string]any)["info"].(map[string]any)["model_id"].(string)
	ids := func(out map[string]any) []string {
		var ids []string
		for _, m := range out["models"].([]any) {
			ids = append(ids, m.(map[string]any)["info"].(map[string]any)["model_id"].(string))
		}
		return ids
	}
	assert.ElementsMatch(t, []string{id, other}, ids(ok("POST", api+"logged-models/search", `{"experiment_ids": ["`+expID+`"]}`)))
	assert.Equal(t, []string{id}, ids(ok("POST", api+"logged-models/search", `{"experiment_ids": ["`+expID+`"], "filter": "name = 'model' AND tags.team = 'risk' AND status = 'READY'"}`)))
	assert.Equal(t, []string{id}, ids(ok("POST", api+"logged-models/search", `{"experiment_ids": ["`+expID+`"], "filter": "source_run_id = '`+runID+`'"}`)))
	page := ok("POST", api+"logged-models/search", `{"experiment_ids": ["`+expID+`"], "max_results": 1}`)
	require.Len(t, page["models"], 1)
	next := ok("POST", api+"logged-models/search", `{"experiment_ids": ["`+expID+`"], "max_results": 1, "page_token": "`+page["next_page_token"].(string)+`"}`)
	assert.ElementsMatch(t, []string{id, other}, append(ids(page), ids(next)...), "two pages hold both models")

	// Registered from models:/<id>, the version comes from the logged model and its run.
	ok("POST", api+"registered-models/create", `{"name": "fraud-`+tk+`"}`)
	v := ok("POST", api+"model-versions/create", `{"name": "fraud-`+tk+`", "source": "models:/`+id+`", "model_id": "`+id+`"}`)["model_version"].(map[string]any)
	assert.Equal(t, id, v["model_id"])
	assert.Equal(t, runID, v["run_id"], "the run that logged the model")
	uri := ok("GET", api+"model-versions/get-download-uri?name=fraud-"+tk+"&version=1", "")
	assert.Equal(t, info["artifact_uri"], uri["artifact_uri"])
	regs := ok("GET", api+"logged-models/"+id, "")["model"].(map[string]any)["info"].(map[string]any)["registrations"]
	assert.Equal(t, []any{map[string]any{"name": "fraud-" + tk, "version": "1"}}, regs)

	l, err := st.Lineage(t.Context(), store.LineageQuery{Start: []string{store.ModelVersionKey("fraud-"+tk, 1)}, Direction: store.Upstream, MaxDepth: 3})
	require.NoError(t, err)
	var keys []string
	for _, n := range l.Nodes {
		keys = append(keys, n.Key)
	}
	assert.Contains(t, keys, store.LoggedModelKey(id))
	assert.Contains(t, keys, store.RunKey(runID))
	m, err := st.NodeByID(t.Context(), "id", store.LoggedModelKey(id))
	require.NoError(t, err)
	assert.Equal(t, writer.Actor, m.RecordedBy)
	assert.Equal(t, store.KindArtifact, m.Kind)

	before := neo4jtest.Snapshot(t, id)
	missing := "m-" + strings.Repeat("0", 32)
	for _, tt := range []struct {
		name, method, path, body string
		status                   int
		code, message            string
	}{
		{"an unknown model", "GET", api + "logged-models/" + missing, "", 404, "RESOURCE_DOES_NOT_EXIST", "no logged model has id"},
		{"a malformed model id", "GET", api + "logged-models/nope", "", 404, "RESOURCE_DOES_NOT_EXIST", "no logged model has id"},
		{"finalize an unknown model", "PATCH", api + "logged-models/" + missing, `{"status": "LOGGED_MODEL_READY"}`, 404, "RESOURCE_DOES_NOT_EXIST", ""},
		{"a bad status", "PATCH", api + "logged-models/" + other, `{"status": "DONE"}`, 400, "INVALID_PARAMETER_VALUE", "status: must be LOGGED_MODEL_READY or LOGGED_MODEL_UPLOAD_FAILED"},
		{"back to pending", "PATCH", api + "logged-models/" + other, `{"status": "LOGGED_MODEL_PENDING"}`, 400, "INVALID_PARAMETER_VALUE", "status: must be"},
		{"a finalized status changed", "PATCH", api + "logged-models/" + id, `{"status": "LOGGED_MODEL_UPLOAD_FAILED"}`, 400, "INVALID_PARAMETER_VALUE", "its status cannot change"},
		{"a changed parameter", "POST", api + "logged-models/" + id + "/params", `{"params": [{"key": "lr", "value": "0.1"}]}`, 400, "INVALID_PARAMETER_VALUE", "parameters are immutable"},
		{"a tag not there", "DELETE", api + "logged-models/" + id + "/tags/nope", "", 404, "RESOURCE_DOES_NOT_EXIST", `tag_key: logged model`},
		{"an unknown experiment", "POST", api + "logged-models", `{"experiment_id": "999999999", "name": "x"}`, 404, "RESOURCE_DOES_NOT_EXIST", ""},
		{"an unknown source run", "POST", api + "logged-models", `{"experiment_id": "` + expID + `", "source_run_id": "` + strings.Repeat("0", 32) + `"}`, 404, "RESOURCE_DOES_NOT_EXIST", ""},
		{"a search ordered", "POST", api + "logged-models/search", `{"experiment_ids": ["` + expID + `"], "order_by": [{"field_name": "name"}]}`, 400, "INVALID_PARAMETER_VALUE", "order_by: is not supported"},
		{"a search by an unknown attribute", "POST", api + "logged-models/search", `{"filter": "flavor = 'x'"}`, 400, "INVALID_PARAMETER_VALUE", `"flavor" is not something logged-models/search can be searched by`},
		{"a write as GET", "GET", api + "logged-models/" + id + "/params", "", 404, "ENDPOINT_NOT_FOUND", "does not serve GET"},
		{"a version naming another model", "POST", api + "model-versions/create", `{"name": "fraud-` + tk + `", "source": "models:/` + id + `", "model_id": "` + other + `"}`, 400, "INVALID_PARAMETER_VALUE", "source: names logged model"},
		{"outputs of another run's model", "POST", api + "runs/outputs", `{"run_id": "` + runID + `", "models": [{"model_id": "` + missing + `"}]}`, 404, "RESOURCE_DOES_NOT_EXIST", "models[0].model_id"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, out := call(tt.method, tt.path, tt.body)
			assert.Equal(t, tt.status, status, out)
			if tt.code != "" {
				assert.Equal(t, tt.code, out["error_code"], out)
			}
			assert.Contains(t, out["message"], tt.message)
		})
	}
	assert.Equal(t, before, neo4jtest.Snapshot(t, id), "rejected requests write nothing to the model")

	// Deleted: gone from get and search, found with allow_deleted, kept in lineage.
	ok("DELETE", api+"logged-models/"+id, `{"model_id": "`+id+`"}`)
	code, _ := call("GET", api+"logged-models/"+id, "")
	assert.Equal(t, 404, code)
	assert.Equal(t, "LOGGED_MODEL_READY", ok("GET", api+"logged-models/"+id+"?allow_deleted=true", "")["model"].(map[string]any)["info"].(map[string]any)["status"])
	assert.Equal(t, []string{other}, ids(ok("POST", api+"logged-models/search", `{"experiment_ids": ["`+expID+`"]}`)))
	_, err = st.NodeByID(t.Context(), "id", store.LoggedModelKey(id))
	assert.NoError(t, err, "a deleted logged model stays in the graph")
}
