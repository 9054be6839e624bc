package sagemakerapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/auth"
	"github.com/provgraph/provgraph/internal/authtest"
	"github.com/provgraph/provgraph/internal/neo4jtest"
	"github.com/provgraph/provgraph/server"
	"github.com/provgraph/provgraph/store"
)

// answer is a decoded answer of the SageMaker API.
type answer struct {
	Status int
	Header http.Header
	Body   map[string]any
}

// code is the AWS error code of a refusal ("" for a success).
func (a answer) code() string { s, _ := a.Body["__type"].(string); return s }

func (a answer) message() string { s, _ := a.Body["message"].(string); return s }

// env is provgraph's real handler on the test Neo4j with credentials of a role.
type env struct {
	t  *testing.T
	st *store.Store
	h  http.Handler
	// tk names what the test records, so that tests sharing the database never meet.
	tk string
	// key signs every request that has no Authorization header (SigV4).
	key    authtest.AccessKey
	sealer *auth.Sealer
}

// newEnv serves the API with an access key of role, as the SDK would use it.
func newEnv(t *testing.T, role auth.Role) *env {
	t.Helper()
	st := neo4jtest.Store(t)
	sealer := authtest.NewSealer(t)
	key := authtest.NewAccessKey(t, st, role, sealer)
	h := server.New(server.Options{Store: st, Logger: zerolog.New(zerolog.NewTestWriter(t)), AccessKeys: sealer})
	return &env{t: t, st: st, h: h, tk: neo4jtest.Token(t), key: key, sealer: sealer}
}

// call sends the SageMaker operation op with body (marshalled to JSON).
func (e *env) call(op string, body any) answer {
	e.t.Helper()
	b, err := json.Marshal(body)
	require.NoError(e.t, err)
	req := httptest.NewRequest(http.MethodPost, "/aws/sagemaker/", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "SageMaker."+op)
	return e.send(req)
}

// send sends req, signed with the env's key unless it has an Authorization header.
func (e *env) send(req *http.Request) answer {
	e.t.Helper()
	if req.Header.Get("Authorization") == "" {
		body, err := io.ReadAll(req.Body)
		require.NoError(e.t, err)
		req.Body = io.NopCloser(bytes.NewReader(body))
		e.key.Sign(req, body, "us-east-1", time.Now())
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	a := answer{Status: rec.Code, Header: rec.Header()}
	require.NoError(e.t, json.Unmarshal(rec.Body.Bytes(), &a.Body), rec.Body.String())
	return a
}

// ok sends op and requires it to succeed.
func (e *env) ok(op string, body any) map[string]any {
	e.t.Helper()
	a := e.call(op, body)
	require.Equal(e.t, http.StatusOK, a.Status, "%s: %v", op, a.Body)
	return a.Body
}
