package sagemakerapi_test

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

	"github.com/provgraph/provgraph/auth"
	"github.com/provgraph/provgraph/internal/authtest"
)

func describeRequest(name string) *http.Request {
	req := httptest.NewRequest(http.MethodPost, "/aws/sagemaker/", strings.NewReader(`{"ExperimentName":"`+name+`"}`))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "SageMaker.DescribeExperiment")
	return req
}

// Requests are refused as AWS refuses them: unsigned, signed wrongly, too early or late,
// with an unknown, revoked or bearer-only key; SigV4 works on the SageMaker API only.
func TestSigV4Authentication(t *testing.T) {
	t.Parallel()
	e := newEnv(t, auth.RoleWriter)
	name := "auth-" + e.tk
	e.ok("CreateExperiment", map[string]any{"ExperimentName": name})
	body := []byte(`{"ExperimentName":"` + name + `"}`)

	refused := func(t *testing.T, req *http.Request, code string) answer {
		t.Helper()
		a := e.send(req)
		assert.Equal(t, http.StatusBadRequest, a.Status, a.Body)
		assert.Equal(t, code, a.code(), a.message())
		assert.NotEmpty(t, a.Header.Get("x-amzn-RequestId"))
		return a
	}
	t.Run("unsigned", func(t *testing.T) {
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, describeRequest(name))
		assert.Equal(t, http.StatusBadRequest, rec.Code)
		assert.Contains(t, rec.Body.String(), `"__type":"MissingAuthenticationTokenException"`)
	})
	t.Run("incomplete", func(t *testing.T) {
		req := describeRequest(name)
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+e.key.ID+"/20260101/us-east-1/sagemaker/aws4_request")
		a := refused(t, req, auth.CodeIncompleteSignature)
		assert.Contains(t, a.message(), "requires 'Signature' parameter")
	})
	t.Run("wrong secret", func(t *testing.T) {
		req := describeRequest(name)
		bad := e.key
		bad.Secret = "not-the-secret"
		bad.Sign(req, body, "us-east-1", time.Now())
		refused(t, req, auth.CodeInvalidSignature)
	})
	t.Run("body changed after signing", func(t *testing.T) {
		req := describeRequest(name)
		e.key.Sign(req, []byte(`{"ExperimentName":"other"}`), "us-east-1", time.Now())
		refused(t, req, auth.CodeInvalidSignature)
	})
	t.Run("signed 20 minutes ago", func(t *testing.T) {
		req := describeRequest(name)
		e.key.Sign(req, body, "us-east-1", time.Now().Add(-20*time.Minute))
		a := refused(t, req, auth.CodeInvalidSignature)
		assert.Contains(t, a.message(), "Signature expired")
	})
	t.Run("another region", func(t *testing.T) {
		req := describeRequest(name)
		e.key.Sign(req, body, "eu-west-1", time.Now())
		refused(t, req, auth.CodeInvalidSignature)
	})
	t.Run("unknown key", func(t *testing.T) {
		req := describeRequest(name)
		ghost := e.key
		ghost.ID = "PGAK0000000000000000"
		ghost.Sign(req, body, "us-east-1", time.Now())
		refused(t, req, auth.CodeUnrecognizedClient)
	})
	t.Run("revoked key", func(t *testing.T) {
		other := authtest.NewAccessKey(t, e.st, auth.RoleWriter, e.sealer)
		otherTok, err := e.st.APITokenByName(t.Context(), "name", other.Name)
		require.NoError(t, err)
		_, err = e.st.RevokeAPIToken(t.Context(), "test", "id", otherTok.ID)
		require.NoError(t, err)
		req := describeRequest(name)
		other.Sign(req, body, "us-east-1", time.Now())
		a := refused(t, req, auth.CodeUnrecognizedClient)
		assert.Contains(t, a.message(), "revoked")
	})
	t.Run("the secret as a bearer token", func(t *testing.T) {
		req := describeRequest(name)
		id, _ := auth.TokenIDOfAccessKey(e.key.ID)
		req.Header.Set("Authorization", "Bearer pgt_"+id+"_"+e.key.Secret)
		refused(t, req, "UnrecognizedClientException")
	})
	t.Run("SigV4 elsewhere", func(t *testing.T) {
		req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(`{"query":"{__typename}"}`))
		e.key.Sign(req, []byte(`{"query":"{__typename}"}`), "us-east-1", time.Now())
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, req)
		assert.Equal(t, http.StatusUnauthorized, rec.Code)
		assert.Contains(t, rec.Body.String(), "SageMaker API only")
	})
	t.Run("signed", func(t *testing.T) {
		d := e.send(describeRequest(name))
		require.Equal(t, http.StatusOK, d.Status, d.Body)
		assert.Equal(t, e.key.Actor, d.Body["CreatedBy"].(map[string]any)["UserProfileName"], "the key's owner is the actor")
	})
}

// GraphQL's apiTokens names an access key's id (never its secret); bearer tokens have none.
func TestAccessKeysInGraphQL(t *testing.T) {
	t.Parallel()
	e := newEnv(t, auth.RoleWriter)
	var page map[string]any
	var after any
	found := map[string]any{}
	for {
		body, _ := json.Marshal(map[string]any{"query": `query($after: String) { apiTokens(first: 100, after: $after) {
			edges { node { name accessKeyId } } pageInfo { hasNextPage endCursor } } }`, "variables": map[string]any{"after": after}})
		req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		page = e.bearer(auth.RoleAdmin, req)
		conn := page["data"].(map[string]any)["apiTokens"].(map[string]any)
		for _, edge := range conn["edges"].([]any) {
			n := edge.(map[string]any)["node"].(map[string]any)
			found[n["name"].(string)] = n["accessKeyId"]
		}
		info := conn["pageInfo"].(map[string]any)
		if info["hasNextPage"] != true {
			break
		}
		after = info["endCursor"]
	}
	assert.Equal(t, e.key.ID, found[e.key.Name])
	bearers := 0
	for _, id := range found {
		if id == nil {
			bearers++
		}
	}
	assert.Positive(t, bearers, "bearer tokens (the admin's the query was sent with) have no access key id")
}
