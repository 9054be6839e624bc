package mlflow_test

import (
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/provgraph/provgraph/ingest/mlflow"
)

const modelID = "m-0123456789abcdef0123456789abcdef"

// Endpoint names served calls by their path (logged-model calls by their method and
// route, whatever the model id) and everything else under the MLflow prefixes "other",
// so request paths cannot make new metric labels.
func TestEndpointNamesKnownCallsOnly(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ method, path, want string }{
		{"POST", "/api/2.0/mlflow/runs/log-batch", "runs/log-batch"},
		{"GET", "/ajax-api/2.0/mlflow/experiments/get-by-name", "experiments/get-by-name"},
		{"GET", "/api/2.0/mlflow/model-versions/get-download-uri", "model-versions/get-download-uri"},
		{"POST", "/api/2.0/mlflow/runs/outputs", "runs/outputs"},
		{"POST", "/api/2.0/mlflow/logged-models", "logged-models/create"},
		{"GET", "/api/2.0/mlflow/logged-models/" + modelID, "logged-models/get"},
		{"GET", "/ajax-api/2.0/mlflow/logged-models/x-any-id", "logged-models/get"},
		{"PATCH", "/api/2.0/mlflow/logged-models/" + modelID, "logged-models/finalize"},
		{"DELETE", "/api/2.0/mlflow/logged-models/" + modelID, "logged-models/delete"},
		{"PATCH", "/api/2.0/mlflow/logged-models/" + modelID + "/tags", "logged-models/set-tags"},
		{"DELETE", "/api/2.0/mlflow/logged-models/" + modelID + "/tags/mlflow.user", "logged-models/delete-tag"},
		{"POST", "/api/2.0/mlflow/logged-models/" + modelID + "/params", "logged-models/log-params"},
		{"POST", "/api/2.0/mlflow/logged-models/search", "logged-models/search"},
		{"PUT", "/api/2.0/mlflow/logged-models/" + modelID, "other"},
		{"GET", "/api/2.0/mlflow/logged-models/" + modelID + "/artifacts/directories", "other"},
		{"POST", "/api/2.0/mlflow/runs/log-batch/extra", "other"},
		{"POST", "/api/2.0/mlflow/x-random-1234", "other"},
		{"GET", "/api/2.0/preview/mlflow/runs/get", "other"},
		{"GET", "/api/2.0/mlflow-artifacts/artifacts", "artifacts"},
		{"GET", "/api/2.0/mlflow-artifacts/artifacts/1/abc/m.pkl", "artifacts"},
		{"POST", "/api/2.0/mlflow-artifacts/mpu/create", "other"},
		{"POST", "/api/v1/lineage", ""},
		{"POST", "/graphql", ""},
	} {
		assert.Equal(t, tt.want, mlflow.Endpoint(httptest.NewRequest(tt.method, tt.path, nil)), tt.method+" "+tt.path)
	}
}

// ReadOnly lets readers GET anything and POST only to served calls that read; every
// other logged-model call writes, whatever its model id looks like.
func TestReadOnlyCalls(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		method, path string
		read         bool
	}{
		{"GET", "/api/2.0/mlflow/logged-models/" + modelID, true},
		{"POST", "/api/2.0/mlflow/logged-models/search", true},
		{"POST", "/ajax-api/2.0/mlflow/logged-models/search", true},
		{"POST", "/api/2.0/mlflow/runs/search", true},
		{"POST", "/api/2.0/mlflow/model-versions/get-download-uri", true},
		{"POST", "/api/2.0/mlflow/logged-models", false},
		{"PATCH", "/api/2.0/mlflow/logged-models/" + modelID, false},
		{"DELETE", "/api/2.0/mlflow/logged-models/" + modelID, false},
		{"PATCH", "/api/2.0/mlflow/logged-models/" + modelID + "/tags", false},
		{"DELETE", "/api/2.0/mlflow/logged-models/" + modelID + "/tags/k", false},
		{"POST", "/api/2.0/mlflow/logged-models/" + modelID + "/params", false},
		// Ids that make the path end like a read stay writes.
		{"POST", "/api/2.0/mlflow/logged-models/get-%2Fsearch/params", false},
		{"POST", "/api/2.0/mlflow/logged-models/x/search", false},
		{"POST", "/api/2.0/mlflow/logged-models/x/get", false},
		{"POST", "/api/2.0/mlflow/runs/outputs", false},
		{"POST", "/api/2.0/mlflow/no-such/search", false},
	} {
		assert.Equal(t, tt.read, mlflow.ReadOnly(httptest.NewRequest(tt.method, tt.path, nil)), tt.method+" "+tt.path)
	}
}
