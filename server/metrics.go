package server

import (
	"net/http"
	"strings"

	"github.com/provgraph/provgraph/ingest/mlflow"
	"github.com/provgraph/provgraph/ingest/openlineage"
	"github.com/provgraph/provgraph/ingest/sagemaker"
	"github.com/provgraph/provgraph/ingest/sagemakerapi"
	"github.com/provgraph/provgraph/metrics"
)

// MetricsPath is where the Prometheus metrics are served; it needs the reader role.
const MetricsPath = "/metrics"

// The surfaces requests are counted by (the surface label of the request metrics).
const (
	SurfaceGraphQL     = "graphql"
	SurfaceConsole     = "console"
	SurfaceMLflow      = "mlflow"
	SurfaceOpenLineage = "openlineage"
	SurfaceSageMaker   = "sagemaker"
	// SurfaceSageMakerAPI is SageMaker's own API (the sagemaker SDK, boto3).
	SurfaceSageMakerAPI = "sagemaker_api"
	SurfaceEvidence     = "evidence"
	SurfaceHealth       = "health"
	SurfaceMetrics      = "metrics"
	SurfaceOther        = "other"
)

// classify names the surface and operation of a request from its path, from fixed
// sets: a GraphQL request is metrics.OperationNone until its operation runs (and the
// metrics extension names it), an MLflow request is its call ("runs/log-batch"), and
// anything unknown is metrics.OperationOther.
func classify(r *http.Request) (surface, operation string) {
	p := r.URL.Path
	switch p {
	case consolePagePath:
		return SurfaceConsole, "page"
	case graphiQLPagePath:
		return SurfaceConsole, "graphiql"
	case GraphQLPath:
		return SurfaceGraphQL, metrics.OperationNone
	case "/healthz":
		return SurfaceHealth, "healthz"
	case "/readyz":
		return SurfaceHealth, "readyz"
	case MetricsPath:
		return SurfaceMetrics, "metrics"
	case openlineage.Path:
		return SurfaceOpenLineage, "lineage"
	case openlineage.BatchPath:
		return SurfaceOpenLineage, "lineage/batch"
	case sagemaker.Path:
		return SurfaceSageMaker, "events"
	case EvidencePath:
		return SurfaceEvidence, "evidence"
	}
	if op := sagemakerapi.Operation(r); op != "" {
		return SurfaceSageMakerAPI, op
	}
	if call := mlflow.Endpoint(r); call != "" {
		return SurfaceMLflow, call
	}
	if strings.HasPrefix(p, consoleAssets) {
		return SurfaceConsole, "assets"
	}
	if strings.HasPrefix(p, openlineage.Path+"/") {
		return SurfaceOpenLineage, metrics.OperationOther
	}
	return SurfaceOther, metrics.OperationOther
}
