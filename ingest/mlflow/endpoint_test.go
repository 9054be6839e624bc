package mlflow_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/provgraph/provgraph/ingest/mlflow"
)

// Endpoint names served calls by their path and everything else under the MLflow
// prefixes "other", so request paths cannot make new metric labels.
func TestEndpointNamesKnownCallsOnly(t *testing.T) {
	t.Parallel()
	for path, want := range map[string]string{
		"/api/2.0/mlflow/runs/log-batch":                  "runs/log-batch",
		"/ajax-api/2.0/mlflow/experiments/get-by-name":    "experiments/get-by-name",
		"/api/2.0/mlflow/model-versions/get-download-uri": "model-versions/get-download-uri",
		"/api/2.0/mlflow/runs/log-batch/extra":            "other",
		"/api/2.0/mlflow/x-random-1234":                   "other",
		"/api/2.0/preview/mlflow/runs/get":                "other",
		"/api/2.0/mlflow-artifacts/artifacts":             "artifacts",
		"/api/2.0/mlflow-artifacts/artifacts/1/abc/m.pkl": "artifacts",
		"/api/2.0/mlflow-artifacts/mpu/create":            "other",
		"/api/v1/lineage":                                 "",
		"/graphql":                                        "",
	} {
		assert.Equal(t, want, mlflow.Endpoint(path), path)
	}
}
