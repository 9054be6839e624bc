package server_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A method a path does not serve is answered the same way on every surface: 405, an
// Allow header listing the methods it does serve, and METHOD_NOT_ALLOWED in the
// surface's error shape (MLflow's clients know only MLflow's codes: ENDPOINT_NOT_FOUND,
// "no such call", which they would also get for a path provgraph does not serve).
func TestWrongMethodIsMethodNotAllowedEverywhere(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	mutationOverGET := "/graphql?" + url.Values{"query": {`mutation { createExperiment(input: {name: "never"}) { experiment { id } } }`}}.Encode()
	for _, tt := range []struct {
		method, path, allow string
		// code is where the surface's error shape puts the code: GraphQL's
		// errors[0].extensions.code, MLflow's error_code, else code.
		code string
	}{
		{http.MethodDelete, "/graphql", "GET, POST, OPTIONS", "METHOD_NOT_ALLOWED"},
		{http.MethodPut, "/graphql", "GET, POST, OPTIONS", "METHOD_NOT_ALLOWED"},
		{http.MethodHead, "/graphql", "GET, POST, OPTIONS", ""},
		{http.MethodGet, mutationOverGET, "POST", "METHOD_NOT_ALLOWED"},
		{http.MethodGet, "/api/v1/lineage", "POST", "METHOD_NOT_ALLOWED"},
		{http.MethodDelete, "/api/v1/lineage/batch", "POST", "METHOD_NOT_ALLOWED"},
		{http.MethodGet, "/api/v1/sagemaker/events", "POST", "METHOD_NOT_ALLOWED"},
		{http.MethodPut, "/api/2.0/mlflow/experiments/create", "GET, POST, PATCH, DELETE", "ENDPOINT_NOT_FOUND"},
		{http.MethodGet, "/api/2.0/mlflow/experiments/create", "POST, PATCH, DELETE", "ENDPOINT_NOT_FOUND"},
		{http.MethodPost, "/api/2.0/mlflow-artifacts/artifacts/x.txt", "GET, PUT", "ENDPOINT_NOT_FOUND"},
		{http.MethodPost, "/metrics", "GET, HEAD", "METHOD_NOT_ALLOWED"},
		{http.MethodDelete, "/metrics", "GET, HEAD", "METHOD_NOT_ALLOWED"},
		{http.MethodPost, "/healthz", "GET, HEAD", "METHOD_NOT_ALLOWED"},
		{http.MethodPost, "/readyz", "GET, HEAD", "METHOD_NOT_ALLOWED"},
		{http.MethodPost, "/", "GET, HEAD", "METHOD_NOT_ALLOWED"},
		{http.MethodPost, "/graphiql", "GET, HEAD", "METHOD_NOT_ALLOWED"},
		{http.MethodDelete, "/api/v1/evidence", "GET, HEAD", "METHOD_NOT_ALLOWED"},
	} {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(tt.method, tt.path, strings.NewReader(`{}`))
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			assert.Equal(t, http.StatusMethodNotAllowed, rec.Code, rec.Body.String())
			assert.Equal(t, tt.allow, rec.Header().Get("Allow"))
			if tt.code == "" {
				return // HEAD: no body
			}
			assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
			var body struct {
				Code      string `json:"code"`
				Error     string `json:"error"`
				ErrorCode string `json:"error_code"`
				Message   string `json:"message"`
				Errors    []gqlError
			}
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body), rec.Body.String())
			switch {
			case strings.HasPrefix(tt.path, "/graphql"):
				require.Len(t, body.Errors, 1)
				assert.Equal(t, tt.code, body.Errors[0].Extensions["code"])
				assert.NotEmpty(t, body.Errors[0].Message)
			case strings.HasPrefix(tt.path, "/api/2.0/"):
				assert.Equal(t, tt.code, body.ErrorCode)
				assert.NotEmpty(t, body.Message)
			default:
				assert.Equal(t, tt.code, body.Code)
				assert.Contains(t, body.Error, tt.method)
			}
		})
	}

	// OPTIONS still says what /graphql takes.
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodOptions, "/graphql", nil))
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, "GET, POST, OPTIONS", rec.Header().Get("Allow"))
}
