package sagemakerapi_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/auth"
)

// The wire: AWS JSON 1.1 answers with x-amzn-RequestId, errors as {"__type", "message"},
// unknown operations and methods answered as AWS does.
func TestWire(t *testing.T) {
	t.Parallel()
	e := newEnv(t, auth.RoleWriter)

	a := e.call("CreateExperiment", map[string]any{"ExperimentName": "wire-" + e.tk})
	require.Equal(t, http.StatusOK, a.Status, a.Body)
	assert.Equal(t, "application/x-amz-json-1.1", a.Header.Get("Content-Type"))
	assert.NotEmpty(t, a.Header.Get("x-amzn-RequestId"))
	assert.Equal(t, a.Header.Get("X-Request-Id"), a.Header.Get("x-amzn-RequestId"), "one id finds the request's logs")
	assert.Equal(t, "arn:aws:sagemaker:us-east-1:000000000000:experiment/wire-"+e.tk, a.Body["ExperimentArn"])

	t.Run("unknown operation", func(t *testing.T) {
		a := e.call("CreateTrainingJobX", map[string]any{})
		assert.Equal(t, http.StatusBadRequest, a.Status)
		assert.Equal(t, "UnknownOperationException", a.code())
		assert.NotEmpty(t, a.Header.Get("x-amzn-RequestId"))
	})
	t.Run("no target", func(t *testing.T) {
		req := httptest.NewRequest(http.MethodPost, "/aws/sagemaker/", strings.NewReader("{}"))
		a := e.send(req)
		assert.Equal(t, "UnknownOperationException", a.code())
		assert.Contains(t, a.message(), "X-Amz-Target")
	})
	t.Run("another service's target", func(t *testing.T) {
		req := httptest.NewRequest(http.MethodPost, "/aws/sagemaker/", strings.NewReader("{}"))
		req.Header.Set("X-Amz-Target", "DynamoDB_20120810.CreateExperiment")
		assert.Equal(t, "UnknownOperationException", e.send(req).code())
	})
	t.Run("GET", func(t *testing.T) {
		req := httptest.NewRequest(http.MethodGet, "/aws/sagemaker/", nil)
		req.Header.Set("X-Amz-Target", "SageMaker.ListExperiments")
		a := e.send(req)
		assert.Equal(t, http.StatusMethodNotAllowed, a.Status)
		assert.Equal(t, "POST", a.Header.Get("Allow"))
	})
	t.Run("not JSON", func(t *testing.T) {
		req := httptest.NewRequest(http.MethodPost, "/aws/sagemaker/", strings.NewReader("{nope"))
		req.Header.Set("X-Amz-Target", "SageMaker.CreateExperiment")
		a := e.send(req)
		assert.Equal(t, http.StatusBadRequest, a.Status)
		assert.Equal(t, "SerializationException", a.code())
	})
	t.Run("wrong type", func(t *testing.T) {
		a := e.call("CreateExperiment", map[string]any{"ExperimentName": 12})
		assert.Equal(t, "SerializationException", a.code())
		assert.Contains(t, a.message(), "ExperimentName")
	})
	t.Run("too large", func(t *testing.T) {
		a := e.call("CreateExperiment", map[string]any{"ExperimentName": "x", "Description": strings.Repeat("d", 2<<20)})
		assert.Equal(t, http.StatusRequestEntityTooLarge, a.Status)
		assert.Equal(t, "ValidationException", a.code())
	})
	t.Run("a delete of provenance", func(t *testing.T) {
		a := e.call("DeleteExperiment", map[string]any{"ExperimentName": "wire-" + e.tk})
		assert.Equal(t, "ValidationException", a.code())
		assert.Contains(t, a.message(), "append-only")
		e.ok("DescribeExperiment", map[string]any{"ExperimentName": "wire-" + e.tk})
	})
}

// Readers read and cannot write, refused in AWS's shape.
func TestReaderCannotWrite(t *testing.T) {
	t.Parallel()
	e := newEnv(t, auth.RoleReader)
	a := e.call("CreateExperiment", map[string]any{"ExperimentName": "reader-" + e.tk})
	assert.Equal(t, http.StatusBadRequest, a.Status)
	assert.Equal(t, "AccessDeniedException", a.code())
	assert.Contains(t, a.message(), "writer")
	assert.NotEmpty(t, a.Header.Get("x-amzn-RequestId"))
	e.ok("ListExperiments", map[string]any{})
}
