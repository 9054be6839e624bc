package mlflow_test

import (
	"io"
	"net/http"
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
)

// Bad requests get MLflow's error JSON with the code and status its client expects,
// name the field, and write nothing.
func TestMLflowErrors(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	tk := neo4jtest.Token(t)
	h := authtest.NewToken(t, st, auth.RoleWriter).Handler(server.New(server.Options{Store: st, Logger: zerolog.Nop(), ArtifactRoot: t.TempDir()}))
	call := func(method, path, body string) (int, string) {
		contentType := "application/json"
		if method == "POST-FORM" {
			method, contentType = "POST", "application/x-www-form-urlencoded"
		}
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		b, _ := io.ReadAll(rec.Body)
		return rec.Code, string(b)
	}
	code, body := call("POST", "/api/2.0/mlflow/experiments/create", `{"name": "errors-`+tk+`"}`)
	require.Equal(t, 200, code, body)
	expID := body[strings.Index(body, `"experiment_id":"`)+len(`"experiment_id":"`):]
	expID = expID[:strings.Index(expID, `"`)]
	code, body = call("POST", "/api/2.0/mlflow/runs/create", `{"experiment_id": "`+expID+`"}`)
	require.Equal(t, 200, code, body)
	runID := body[strings.Index(body, `"run_id":"`)+len(`"run_id":"`):]
	runID = runID[:32]
	code, body = call("POST", "/api/2.0/mlflow/runs/log-parameter", `{"run_id": "`+runID+`", "key": "lr", "value": "0.01"}`)
	require.Equal(t, 200, code, body)

	before := neo4jtest.Snapshot(t, runID)
	for _, tt := range []struct {
		name, method, path, body string
		status                   int
		code, message            string
	}{
		{"not JSON", "POST", "/api/2.0/mlflow/runs/log-batch", `{"run_id": `, 400, "INVALID_PARAMETER_VALUE", "not a JSON object"},
		{"a wrong type", "POST", "/api/2.0/mlflow/runs/log-batch", `{"run_id": "` + runID + `", "metrics": "x"}`, 400, "INVALID_PARAMETER_VALUE", "metrics: must be a list"},
		{"a bad metric value", "POST", "/api/2.0/mlflow/runs/log-batch", `{"run_id": "` + runID + `", "metrics": [{"key": "m", "value": "high", "timestamp": 1, "step": 0}]}`, 400, "INVALID_PARAMETER_VALUE", "metrics[0].value: must be a number"},
		{"a changed parameter in a batch", "POST", "/api/2.0/mlflow/runs/log-batch", `{"run_id": "` + runID + `", "metrics": [{"key": "m", "value": 1, "timestamp": 1, "step": 0}], "params": [{"key": "lr", "value": "0.1"}]}`, 400, "INVALID_PARAMETER_VALUE", `(parameters are immutable)`},
		{"an unknown run", "GET", "/api/2.0/mlflow/runs/get?run_id=" + strings.Repeat("0", 32), "", 404, "RESOURCE_DOES_NOT_EXIST", "no node has ID"},
		{"a malformed run id", "GET", "/api/2.0/mlflow/runs/get?run_id=xyz", "", 404, "RESOURCE_DOES_NOT_EXIST", `run_id: no run has id`},
		{"an unknown experiment", "GET", "/api/2.0/mlflow/experiments/get?experiment_id=999999999", "", 404, "RESOURCE_DOES_NOT_EXIST", ""},
		{"a taken experiment name", "POST", "/api/2.0/mlflow/experiments/create", `{"name": "errors-` + tk + `"}`, 400, "RESOURCE_ALREADY_EXISTS", "exists already"},
		{"a missing field", "POST", "/api/2.0/mlflow/runs/set-tag", `{"run_id": "` + runID + `", "key": "k"}`, 400, "INVALID_PARAMETER_VALUE", "value: is required"},
		{"an endpoint not served", "POST", "/api/2.0/mlflow/gateway/routes/create", `{}`, 404, "ENDPOINT_NOT_FOUND", "does not serve"},
		{"a body over the limit", "POST", "/api/2.0/mlflow/runs/log-batch", `{"run_id": "` + runID + `", "tags": [{"key": "k", "value": "` + strings.Repeat("x", 9<<20) + `"}]}`, 413, "INVALID_PARAMETER_VALUE", "larger than the limit of 8388608 bytes"},
		{"an artifact path with ..", "GET", "/api/2.0/mlflow-artifacts/artifacts?path=../../etc", "", 400, "INVALID_PARAMETER_VALUE", "must not contain .."},
		{"a write as GET", "GET", "/api/2.0/mlflow/experiments/delete?experiment_id=" + expID, "", 405, "ENDPOINT_NOT_FOUND", "changes data: send it as POST"},
		{"a write as a form", "POST-FORM", "/api/2.0/mlflow/runs/set-tag", `run_id=` + runID + `&key=k&value=v`, 415, "INVALID_PARAMETER_VALUE", "must be JSON"},
		{"a step beyond 64 bits", "POST", "/api/2.0/mlflow/runs/log-metric", `{"run_id": "` + runID + `", "key": "m", "value": 1, "timestamp": 1, "step": 1e19}`, 400, "INVALID_PARAMETER_VALUE", "step: must be a 64-bit integer"},
		{"log-inputs for a missing run", "POST", "/api/2.0/mlflow/runs/log-inputs", `{"run_id": "` + strings.Repeat("0", 32) + `", "datasets": [{"dataset": {"name": "d-` + tk + `", "digest": "1", "source_type": "http", "source": "{}"}}]}`, 404, "RESOURCE_DOES_NOT_EXIST", "no node has ID"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, body := call(tt.method, tt.path, tt.body)
			assert.Equal(t, tt.status, status, body)
			assert.Contains(t, body, `"error_code":"`+tt.code+`"`)
			assert.Contains(t, body, tt.message)
		})
	}
	assert.Equal(t, before, neo4jtest.Snapshot(t, runID), "rejected requests write nothing")
	assert.Empty(t, neo4jtest.Snapshot(t, "d-"+tk), "log-inputs for a missing run registered no dataset")

	// The same API under /ajax-api, as MLflow's UI calls it.
	code, body = call("GET", "/ajax-api/2.0/mlflow/runs/get?run_id="+runID, "")
	assert.Equal(t, http.StatusOK, code, body)
	assert.Contains(t, body, `"params":[{"key":"lr","value":"0.01"}]`)
}
