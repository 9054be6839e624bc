package server_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/apperr"
	"github.com/provgraph/provgraph/auth"
	"github.com/provgraph/provgraph/internal/authtest"
	"github.com/provgraph/provgraph/internal/neo4jtest"
	"github.com/provgraph/provgraph/server"
	"github.com/provgraph/provgraph/store"
)

// answer is a raw HTTP answer.
type answer struct {
	status int
	header http.Header
	body   string
}

// call serves one request to h; header "Authorization" is sent as given.
func call(t *testing.T, h http.Handler, method, path, body string, header map[string]string) answer {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return answer{rec.Code, rec.Header(), rec.Body.String()}
}

// bearer is the header that sends token.
func bearer(token string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + token}
}

// errorCode reads the code of a refusal in the surface's shape.
func errorCode(t *testing.T, shape, body string) string {
	t.Helper()
	var v map[string]any
	require.NoError(t, json.Unmarshal([]byte(body), &v), body)
	switch shape {
	case "graphql":
		code, _ := get(v, "errors", 0, "extensions", "code").(string)
		return code
	case "mlflow":
		code, _ := v["error_code"].(string)
		return code
	}
	code, _ := v["code"].(string)
	return code
}

// surface is one kind of request to each surface, and the error shape its clients get.
type surface struct {
	name, method, path, body, shape string
}

func surfaces(tk string) []surface {
	return []surface{
		{"GraphQL query", "POST", "/graphql", `{"query": "{ viewer { actor } }"}`, "graphql"},
		{"GraphQL over GET", "GET", "/graphql?query=%7B__typename%7D", "", "graphql"},
		{"GraphQL mutation", "POST", "/graphql", `{"query": "mutation { createExperiment(input: {name: \"x-` + tk + `\"}) { experiment { id } } }"}`, "graphql"},
		{"metrics", "GET", "/metrics", "", "json"},
		{"MLflow read", "GET", "/api/2.0/mlflow/experiments/get?experiment_id=0", "", "mlflow"},
		{"MLflow search (POST)", "POST", "/api/2.0/mlflow/runs/search", `{}`, "mlflow"},
		{"MLflow write", "POST", "/api/2.0/mlflow/experiments/create", `{"name": "x-` + tk + `"}`, "mlflow"},
		{"MLflow under /ajax-api", "GET", "/ajax-api/2.0/mlflow/experiments/search", "", "mlflow"},
		{"MLflow artifact list", "GET", "/api/2.0/mlflow-artifacts/artifacts?path=0", "", "mlflow"},
		{"MLflow artifact download", "GET", "/api/2.0/mlflow-artifacts/artifacts/0/r/artifacts/f.txt", "", "mlflow"},
		{"MLflow artifact upload", "PUT", "/api/2.0/mlflow-artifacts/artifacts/0/r/artifacts/f.txt", "data", "mlflow"},
		{"OpenLineage", "POST", "/api/v1/lineage", `{}`, "json"},
		{"OpenLineage batch", "POST", "/api/v1/lineage/batch", `[]`, "json"},
		{"SageMaker events", "POST", "/api/v1/sagemaker/events", `{}`, "json"},
		{"evidence package", "GET", "/api/v1/evidence?node=endpoint:e-" + tk, "", "json"},
		{"a path no surface serves", "GET", "/nothing-here", "", "json"},
	}
}

// Every surface but the console's pages and the health checks refuses a request without
// valid credentials: 401, a Bearer challenge, UNAUTHENTICATED in the surface's own
// error shape — and nothing is written.
func TestEverySurfaceNeedsCredentials(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	tk := neo4jtest.Token(t)
	h := newBareHandler(t, server.Options{Store: st, ArtifactRoot: t.TempDir()})

	for _, path := range []string{"/", "/graphiql", "/healthz", "/readyz"} {
		a := call(t, h, "GET", path, "", nil)
		assert.Equal(t, http.StatusOK, a.status, "%s is public", path)
	}
	page := call(t, h, "GET", "/", "", nil)
	assert.Contains(t, page.body, "<title>provgraph</title>")
	// Every answer of the real handler carries the Content-Security-Policy.
	for _, path := range []string{"/", "/graphiql", "/healthz", "/graphql"} {
		a := call(t, h, "GET", path, "", nil)
		assert.Equal(t, server.ContentSecurityPolicy(nil), a.header.Get("Content-Security-Policy"), path)
	}

	id, _, _, err := auth.NewToken()
	require.NoError(t, err)
	credentials := map[string]string{
		"none":                     "",
		"a token of another kind":  "Bearer not-a-provgraph-token",
		"basic auth":               "Basic dXNlcjpwYXNz",
		"an empty bearer":          "Bearer ",
		"a malformed API token":    "Bearer pgt_123_abc",
		"an unknown API token":     "Bearer pgt_" + id + "_" + strings.Repeat("a", 52),
		"a scheme without a token": "pgt_" + id,
	}
	for _, s := range surfaces(tk) {
		for cname, header := range credentials {
			t.Run(s.name+" with "+cname, func(t *testing.T) {
				hdr := map[string]string{}
				if header != "" {
					hdr["Authorization"] = header
				}
				a := call(t, h, s.method, s.path, s.body, hdr)
				assert.Equal(t, http.StatusUnauthorized, a.status, a.body)
				challenge := a.header.Get("WWW-Authenticate")
				assert.True(t, strings.HasPrefix(challenge, `Bearer realm="provgraph"`), challenge)
				assert.Equal(t, header != "", strings.Contains(challenge, `error="invalid_token"`), challenge)
				assert.Equal(t, "UNAUTHENTICATED", errorCode(t, s.shape, a.body), "in the %s shape", s.shape)
				assert.NotContains(t, a.body, "dXNlcjpwYXNz", "credentials are never echoed")
			})
		}
	}
	res := neo4jtest.Exec(t, `MATCH (e:Experiment {name: $name}) RETURN count(e) AS n`, map[string]any{"name": "x-" + tk})
	n, _ := res.Records[0].Get("n")
	assert.Equal(t, int64(0), n, "no refused write wrote anything")
}

// Each role may do what it includes and is refused the rest: 403 with FORBIDDEN (or
// MLflow's PERMISSION_DENIED) on the REST surfaces; on GraphQL a FORBIDDEN error on the
// field, whose value is null.
func TestRolesOnEverySurface(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	tk := neo4jtest.Token(t)
	h := newBareHandler(t, server.Options{Store: st, ArtifactRoot: t.TempDir()})
	reader := authtest.NewToken(t, st, auth.RoleReader)
	writer := authtest.NewToken(t, st, auth.RoleWriter)
	admin := authtest.NewToken(t, st, auth.RoleAdmin)
	gql := func(c authtest.Credential, query string) gqlResponse {
		t.Helper()
		return doWithHeader(t, h, query, nil, bearer(c.Token))
	}
	forbidden := func(resp gqlResponse, field, need string) {
		t.Helper()
		assert.Equal(t, http.StatusOK, resp.Status, "a field error, like any other")
		require.Len(t, resp.Errors, 1, field)
		assert.Equal(t, "FORBIDDEN", resp.Errors[0].Extensions["code"], field)
		assert.Contains(t, resp.Errors[0].Message, field+" needs the "+need+" role")
		assert.Nil(t, resp.Data, "a refused mutation returns no data")
	}

	// Reader: queries and exports only.
	resp := gql(reader, `{ viewer { actor role } }`)
	require.Empty(t, resp.Errors)
	assert.Equal(t, map[string]any{"actor": reader.Actor, "role": "READER"}, get(resp.Data, "viewer"))
	resp = gql(reader, `{ experiments(first: 1) { edges { node { id } } } }`)
	assert.Empty(t, resp.Errors)
	forbidden(gql(reader, `mutation { createExperiment(input: {name: "r-`+tk+`"}) { experiment { id } } }`), "createExperiment", "writer")
	for _, s := range []struct {
		method, path, body string
		status             int
	}{
		{"GET", "/api/2.0/mlflow/experiments/get?experiment_id=0", "", http.StatusOK},
		{"POST", "/api/2.0/mlflow/runs/search", `{"experiment_ids": ["0"]}`, http.StatusOK},
		{"POST", "/api/2.0/mlflow/model-versions/get-download-uri", `{"name": "none-` + tk + `", "version": "1"}`, http.StatusNotFound},
		{"GET", "/api/2.0/mlflow-artifacts/artifacts?path=0", "", http.StatusOK},
		{"POST", "/api/2.0/mlflow/experiments/create", `{"name": "r-` + tk + `"}`, http.StatusForbidden},
		{"POST", "/api/2.0/mlflow/registered-models/alias", `{"name": "m", "alias": "a", "version": "1"}`, http.StatusForbidden},
		{"PUT", "/api/2.0/mlflow-artifacts/artifacts/0/r/artifacts/f.txt", "data", http.StatusForbidden},
		{"POST", "/api/2.0/mlflow/logged-models/search", `{"experiment_ids": ["0"], "max_results": 1}`, http.StatusOK},
		{"GET", "/api/2.0/mlflow/logged-models/m-" + strings.Repeat("0", 32), "", http.StatusNotFound},
		{"POST", "/api/2.0/mlflow/logged-models", `{"experiment_id": "0"}`, http.StatusForbidden},
		{"PATCH", "/api/2.0/mlflow/logged-models/m-" + strings.Repeat("0", 32), `{"status": "LOGGED_MODEL_READY"}`, http.StatusForbidden},
		{"POST", "/api/2.0/mlflow/logged-models/get-%2Fsearch/params", `{"params": []}`, http.StatusForbidden},
		{"POST", "/api/v1/lineage", `{}`, http.StatusForbidden},
		{"POST", "/api/v1/lineage/batch", `[]`, http.StatusForbidden},
		{"POST", "/api/v1/sagemaker/events", `{}`, http.StatusForbidden},
	} {
		a := call(t, h, s.method, s.path, s.body, bearer(reader.Token))
		assert.Equal(t, s.status, a.status, "reader %s %s: %s", s.method, s.path, a.body)
		if s.status == http.StatusForbidden {
			shape := "json"
			if strings.Contains(s.path, "mlflow") {
				shape = "mlflow"
			}
			assert.Equal(t, map[string]string{"json": "FORBIDDEN", "mlflow": "PERMISSION_DENIED"}[shape], errorCode(t, shape, a.body), a.body)
			assert.Contains(t, a.body, "needs the writer role; "+reader.Actor+" has the reader role")
		}
	}
	res := neo4jtest.Exec(t, `MATCH (e:Experiment {name: $name}) RETURN count(e) AS n`, map[string]any{"name": "r-" + tk})
	n, _ := res.Records[0].Get("n")
	assert.Equal(t, int64(0), n, "the reader's writes wrote nothing")

	// Writer: tracking writes and ingest, not tokens or approvals.
	resp = gql(writer, `mutation { createExperiment(input: {name: "w-`+tk+`"}) { experiment { id recordedBy } } }`)
	require.Empty(t, resp.Errors)
	assert.Equal(t, writer.Actor, get(resp.Data, "createExperiment", "experiment", "recordedBy"))
	a := call(t, h, "POST", "/api/2.0/mlflow/experiments/create", `{"name": "w2-`+tk+`"}`, bearer(writer.Token))
	assert.Equal(t, http.StatusOK, a.status, a.body)
	a = call(t, h, "PUT", "/api/2.0/mlflow-artifacts/artifacts/0/r/artifacts/f.txt", "data", bearer(writer.Token))
	assert.Equal(t, http.StatusOK, a.status, a.body)
	a = call(t, h, "GET", "/api/2.0/mlflow-artifacts/artifacts/0/r/artifacts/f.txt", "", bearer(reader.Token))
	assert.Equal(t, "data", a.body, "a reader downloads what a writer uploaded")
	forbidden(gql(writer, `mutation { createApiToken(input: {name: "w-`+tk+`", role: READER}) { token } }`), "createApiToken", "admin")
	forbidden(gql(writer, `mutation { revokeApiToken(input: {name: "`+reader.Name+`"}) { apiToken { id } } }`), "revokeApiToken", "admin")
	resp = gql(writer, `{ apiTokens { edges { node { name } } } }`)
	forbidden(resp, "apiTokens", "admin")

	// Approvals are an admin's; the writer records the version, the admin approves it.
	s := recordSlice(t, writer.Handler(h))
	approve := fmt.Sprintf(`mutation { setApprovalStatus(input: {modelVersion: %q, status: APPROVED}) { approvals { actor } } }`, s.version)
	forbidden(gql(writer, approve), "setApprovalStatus", "admin")
	resp = gql(admin, approve)
	require.Empty(t, resp.Errors)
	assert.Equal(t, admin.Actor, get(resp.Data, "setApprovalStatus", "approvals", 0, "actor"))
	resp = gql(admin, `{ apiTokens(first: 100) { edges { node { name } } } }`)
	assert.Empty(t, resp.Errors)
}

// The ingest surfaces record the authenticated token as the actor of what they write.
func TestIngestRecordsTheTokensActor(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	tk := neo4jtest.Token(t)
	h := newBareHandler(t, server.Options{Store: st})
	writer := authtest.NewToken(t, st, auth.RoleWriter)

	runID := uuid.NewString()
	event := `{"eventType": "COMPLETE", "eventTime": "2026-03-14T09:30:00Z", "producer": "https://example.com/test",
	  "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
	  "run": {"runId": "` + runID + `"}, "job": {"namespace": "ns-` + tk + `", "name": "job"},
	  "inputs": [{"namespace": "s3://lake-` + tk + `", "name": "in"}], "outputs": []}`
	a := call(t, h, "POST", "/api/v1/lineage", event, bearer(writer.Token))
	require.Equal(t, http.StatusCreated, a.status, a.body)
	job, err := st.NodeByID(t.Context(), "id", store.JobKey("ns-"+tk, "job"))
	require.NoError(t, err)
	assert.Equal(t, writer.Actor, job.RecordedBy, "OpenLineage")

	golden, err := os.ReadFile("../ingest/sagemaker/testdata/training_completed.json")
	require.NoError(t, err)
	a = call(t, h, "POST", "/api/v1/sagemaker/events", strings.ReplaceAll(string(golden), "{{TK}}", tk), bearer(writer.Token))
	require.Equal(t, http.StatusOK, a.status, a.body)
	require.Contains(t, a.body, `"accepted":1`)
	job, err = st.NodeByID(t.Context(), "id", store.JobKey("sagemaker", "fraud-xgb-"+tk))
	require.NoError(t, err)
	assert.Equal(t, writer.Actor, job.RecordedBy, "SageMaker")
}

const (
	createToken = `mutation($input: CreateApiTokenInput!) {
  createApiToken(input: $input) { token apiToken { id name role createdAt createdBy expiresAt revokedAt revokedBy } }
}`
	revokeToken = `mutation($input: RevokeApiTokenInput!) {
  revokeApiToken(input: $input) { apiToken { id name revokedAt revokedBy } }
}`
	listTokens = `query($first: Int, $after: String, $all: Boolean) {
  apiTokens(first: $first, after: $after, includeRevoked: $all) { edges { cursor node { id name role revokedBy } } pageInfo { hasNextPage endCursor } }
}`
)

// An admin creates a token through GraphQL: it is shown once, works at once with its
// role, is stored only as a hash of its secret, is listed without it, and once revoked
// stops working at once and stays listed with who revoked it.
func TestTokensThroughGraphQL(t *testing.T) {
	t.Parallel()
	h, admin := newHandlerAs(t, auth.RoleAdmin)
	tk := neo4jtest.Token(t)
	expires := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)

	d := mustDo(t, h, createToken, map[string]any{"input": map[string]any{"name": "ci-" + tk, "role": "WRITER", "expiresAt": expires.Format(time.RFC3339)}})
	token := get(d, "createApiToken", "token").(string)
	created := get(d, "createApiToken", "apiToken").(map[string]any)
	id, secret, ok := auth.ParseToken(token)
	require.True(t, ok, token)
	assert.Equal(t, id, created["id"])
	assert.Equal(t, "WRITER", created["role"])
	assert.Equal(t, admin.Actor, created["createdBy"])
	assert.Equal(t, expires.Format(time.RFC3339), created["expiresAt"])
	assert.Nil(t, created["revokedAt"])

	// The stored node holds the SHA-256 of the secret, and the secret nowhere.
	res := neo4jtest.Exec(t, `MATCH (t:ApiToken {id: $id}) RETURN properties(t) AS props, labels(t) AS labels`, map[string]any{"id": id})
	require.Len(t, res.Records, 1)
	props, _ := res.Records[0].Get("props")
	labels, _ := res.Records[0].Get("labels")
	assert.Equal(t, []any{"ApiToken"}, labels, "a token is not a node of the provenance graph")
	sum := sha256.Sum256([]byte(secret))
	assert.Equal(t, hex.EncodeToString(sum[:]), props.(map[string]any)["hash"])
	for k, v := range props.(map[string]any) {
		assert.NotContains(t, fmt.Sprint(v), secret, "property %s", k)
	}

	// It works at once, with its role and name.
	resp := doWithHeader(t, h, `{ viewer { actor role } }`, nil, bearer(token))
	require.Empty(t, resp.Errors)
	assert.Equal(t, map[string]any{"actor": "token:ci-" + tk, "role": "WRITER"}, get(resp.Data, "viewer"))

	for _, tt := range []struct {
		name, code, field string
		input             map[string]any
	}{
		{"a name used before", "CONFLICT", "input.name", map[string]any{"name": "ci-" + tk, "role": "READER"}},
		{"a name with a space", "INVALID_ARGUMENT", "input.name", map[string]any{"name": "ci " + tk, "role": "READER"}},
		{"a name with a colon", "INVALID_ARGUMENT", "input.name", map[string]any{"name": "token:" + tk, "role": "READER"}},
		{"a long name", "INVALID_ARGUMENT", "input.name", map[string]any{"name": strings.Repeat("n", 101), "role": "READER"}},
		{"an expiry in the past", "INVALID_ARGUMENT", "input.expiresAt", map[string]any{"name": "past-" + tk, "role": "READER", "expiresAt": "2020-01-01T00:00:00Z"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp := do(t, h, createToken, map[string]any{"input": tt.input})
			require.Len(t, resp.Errors, 1)
			assert.Equal(t, tt.code, resp.Errors[0].Extensions["code"], resp.Errors[0].Message)
			assert.Equal(t, tt.field, resp.Errors[0].Extensions["field"])
		})
	}

	// Listed by name, without secrets (the schema has no field for one).
	inList := func(all bool) bool {
		var after any
		for {
			d := mustDo(t, h, listTokens, map[string]any{"first": 100, "after": after, "all": all})
			for _, e := range get(d, "apiTokens", "edges").([]any) {
				if get(e, "node", "id") == id {
					return true
				}
			}
			if get(d, "apiTokens", "pageInfo", "hasNextPage") != true {
				return false
			}
			after = get(d, "apiTokens", "pageInfo", "endCursor")
		}
	}
	assert.True(t, inList(false), "the new token is listed")

	// Revoked by name: refused at once, kept, and listed only with includeRevoked.
	d = mustDo(t, h, revokeToken, map[string]any{"input": map[string]any{"name": "ci-" + tk}})
	assert.Equal(t, admin.Actor, get(d, "revokeApiToken", "apiToken", "revokedBy"))
	resp = doWithHeader(t, h, `{ viewer { actor } }`, nil, bearer(token))
	assert.Equal(t, http.StatusUnauthorized, resp.Status)
	require.Len(t, resp.Errors, 1)
	assert.Contains(t, resp.Errors[0].Message, `the API token "ci-`+tk+`" was revoked at`)
	resp = do(t, h, revokeToken, map[string]any{"input": map[string]any{"id": id}})
	require.Len(t, resp.Errors, 1)
	assert.Equal(t, "CONFLICT", resp.Errors[0].Extensions["code"])
	assert.Contains(t, resp.Errors[0].Message, "was revoked already")
	for _, input := range []map[string]any{{}, {"id": id, "name": "ci-" + tk}} {
		resp = do(t, h, revokeToken, map[string]any{"input": input})
		require.Len(t, resp.Errors, 1)
		assert.Equal(t, "INVALID_ARGUMENT", resp.Errors[0].Extensions["code"])
		assert.Contains(t, resp.Errors[0].Message, "exactly one of id and name")
	}
	resp = do(t, h, revokeToken, map[string]any{"input": map[string]any{"name": "missing-" + tk}})
	require.Len(t, resp.Errors, 1)
	assert.Equal(t, "NOT_FOUND", resp.Errors[0].Extensions["code"])
	n := neo4jtest.Exec(t, `MATCH (t:ApiToken {id: $id}) RETURN t.revokedBy AS by`, map[string]any{"id": id})
	require.Len(t, n.Records, 1, "a revoked token is kept")

	assert.False(t, inList(false), "revoked tokens are left out by default")
	assert.True(t, inList(true), "and listed when asked for")
}

// An expired token is refused, also while its lookup is cached; a token revoked on
// this instance is refused at once; one revoked through another instance (here a store
// of its own) within the cache's TTL.
func TestExpiredAndRevokedTokensAreRefused(t *testing.T) {
	t.Parallel()
	other := neo4jtest.Store(t)
	open := func(ttl time.Duration) (*store.Store, http.Handler) {
		cfg := neo4jtest.Config(t)
		cfg.TokenCacheTTL = ttl
		st, err := store.Open(cfg)
		require.NoError(t, err)
		t.Cleanup(func() { _ = st.Close(t.Context()) })
		return st, newBareHandler(t, server.Options{Store: st})
	}
	viewer := func(h http.Handler, token string) gqlResponse {
		t.Helper()
		return doWithHeader(t, h, `{ viewer { actor } }`, nil, bearer(token))
	}
	newToken := func(st *store.Store, expiresAt *time.Time) (string, store.APIToken) {
		t.Helper()
		tok, token, err := st.CreateAPIToken(t.Context(), "test", store.NewAPIToken{Name: "t-" + neo4jtest.Token(t), Role: auth.RoleReader, ExpiresAt: expiresAt})
		require.NoError(t, err)
		return token, tok
	}
	st, h := open(time.Minute)

	soon := time.Now().Add(1500 * time.Millisecond)
	expiring, _ := newToken(st, &soon)
	require.Empty(t, viewer(h, expiring).Errors, "valid until it expires (and now cached)")
	time.Sleep(time.Until(soon) + 50*time.Millisecond)
	resp := viewer(h, expiring)
	assert.Equal(t, http.StatusUnauthorized, resp.Status)
	require.Len(t, resp.Errors, 1)
	assert.Equal(t, "UNAUTHENTICATED", resp.Errors[0].Extensions["code"])
	assert.Contains(t, resp.Errors[0].Message, "expired at")

	admin := authtest.NewToken(t, st, auth.RoleAdmin)
	here, tokHere := newToken(st, nil)
	require.Empty(t, viewer(h, here).Errors)
	d := doWithHeader(t, h, revokeToken, map[string]any{"input": map[string]any{"id": tokHere.ID}}, bearer(admin.Token))
	require.Empty(t, d.Errors)
	resp = viewer(h, here)
	assert.Equal(t, http.StatusUnauthorized, resp.Status, "revoked on this instance: refused at once")

	elsewhere, tokElsewhere := newToken(st, nil)
	require.Empty(t, viewer(h, elsewhere).Errors)
	_, err := other.RevokeAPIToken(t.Context(), "test", "id", tokElsewhere.ID)
	require.NoError(t, err)
	assert.Empty(t, viewer(h, elsewhere).Errors, "revoked through another instance: still trusted here for the cache's TTL (a minute in this store)")

	short, hShort := open(time.Second)
	token, tok := newToken(short, nil)
	require.Empty(t, viewer(hShort, token).Errors)
	_, err = other.RevokeAPIToken(t.Context(), "test", "id", tok.ID)
	require.NoError(t, err)
	revokedAt := time.Now()
	require.Eventually(t, func() bool { return viewer(hShort, token).Status == http.StatusUnauthorized }, 3*time.Second, 50*time.Millisecond)
	assert.Less(t, time.Since(revokedAt), 2*time.Second, "refused within the TTL of 1 s (and a poll)")
}

// Anonymous reads from loopback are off by default. Turned on, a request without
// credentials from 127.0.0.1 may read, as the actor "anonymous" with the reader role,
// and never write; from anywhere else, or with bad credentials, it is refused as usual.
func TestAnonymousReadsFromLoopback(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	tk := neo4jtest.Token(t)
	off := newBareHandler(t, server.Options{Store: st})
	on := newBareHandler(t, server.Options{Store: st, AnonymousReadLoopback: true})
	viewer := `{ viewer { actor role } }`

	resp := send(t, off, fromLoopback(t, viewer, nil))
	assert.Equal(t, http.StatusUnauthorized, resp.Status, "off by default")

	resp = send(t, on, fromLoopback(t, viewer, nil))
	require.Empty(t, resp.Errors)
	assert.Equal(t, map[string]any{"actor": "anonymous", "role": "READER"}, get(resp.Data, "viewer"))
	resp = send(t, on, fromLoopback(t, `mutation { createExperiment(input: {name: "anon-`+tk+`"}) { experiment { id } } }`, nil))
	require.Len(t, resp.Errors, 1)
	assert.Equal(t, "FORBIDDEN", resp.Errors[0].Extensions["code"], "no anonymous writes")
	resp = send(t, on, fromLoopback(t, `{ __schema { queryType { name } } }`, nil))
	require.NotEmpty(t, resp.Errors)
	assert.Equal(t, "UNAUTHENTICATED", resp.Errors[0].Extensions["code"], "no anonymous introspection")
	assert.Contains(t, resp.Errors[0].Message, "introspection needs credentials")

	for _, tt := range []struct{ method, path, body, shape string }{
		{"POST", "/api/2.0/mlflow/experiments/create", `{"name": "anon-` + tk + `"}`, "mlflow"},
		{"POST", "/api/v1/lineage", `{}`, "json"},
	} {
		req := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
		req.Header.Set("Content-Type", "application/json")
		req.RemoteAddr = "[::1]:40000"
		rec := httptest.NewRecorder()
		on.ServeHTTP(rec, req)
		assert.Equal(t, http.StatusUnauthorized, rec.Code, "anonymous %s %s: %s", tt.method, tt.path, rec.Body.String())
		assert.Equal(t, "UNAUTHENTICATED", errorCode(t, tt.shape, rec.Body.String()))
		assert.Contains(t, rec.Body.String(), "requests without credentials may only read")
	}

	resp = doWithHeader(t, on, viewer, nil, nil) // httptest's remote address is 192.0.2.1
	assert.Equal(t, http.StatusUnauthorized, resp.Status, "not from loopback")
	req := fromLoopback(t, viewer, nil)
	req.Header.Set("Authorization", "Bearer pgt_nonsense")
	resp = send(t, on, req)
	assert.Equal(t, http.StatusUnauthorized, resp.Status, "bad credentials are never downgraded to anonymous")
	res := neo4jtest.Exec(t, `MATCH (e:Experiment {name: $name}) RETURN count(e) AS n`, map[string]any{"name": "anon-" + tk})
	n, _ := res.Records[0].Get("n")
	assert.Equal(t, int64(0), n)
}

// syncBuffer collects log lines from concurrent requests.
type syncBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Every refusal is logged with its reason, the path, the role needed and the token's id
// — never its secret.
func TestDenialsAreLoggedWithTheReason(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	var logs syncBuffer
	h := server.New(server.Options{Store: st, Logger: zerolog.New(&logs)})
	reader := authtest.NewToken(t, st, auth.RoleReader)
	revoked := authtest.NewToken(t, st, auth.RoleWriter)
	_, err := st.RevokeAPIToken(t.Context(), "test", "id", revoked.ID)
	require.NoError(t, err)

	call(t, h, "POST", "/api/v1/lineage", `{}`, nil)
	call(t, h, "POST", "/api/v1/lineage", `{}`, bearer(reader.Token))
	call(t, h, "POST", "/api/2.0/mlflow/experiments/create", `{}`, bearer(revoked.Token))
	doWithHeader(t, h, `mutation { createExperiment(input: {name: "x"}) { experiment { id } } }`, nil, bearer(reader.Token))

	var entries []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var e map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &e), line)
		entries = append(entries, e)
	}
	// find returns the log entry with message msg whose fields have the values given.
	find := func(msg string, fields map[string]any) map[string]any {
		t.Helper()
	next:
		for _, e := range entries {
			if e["message"] != msg {
				continue
			}
			for k, v := range fields {
				if e[k] != v {
					continue next
				}
			}
			return e
		}
		t.Fatalf("no %q entry with %v in\n%s", msg, fields, logs.String())
		return nil
	}
	noCredentials := find("request denied", map[string]any{"path": "/api/v1/lineage", "token_id": nil})
	assert.Equal(t, "no credentials: send Authorization: Bearer <token>", noCredentials["reason"])
	assert.Equal(t, "writer", noCredentials["need"])
	assert.Equal(t, float64(401), noCredentials["status"])

	tooLow := find("request denied", map[string]any{"path": "/api/v1/lineage", "token_id": reader.ID, "actor": reader.Actor})
	assert.Equal(t, "FORBIDDEN", tooLow["code"])
	assert.Contains(t, tooLow["reason"], "needs the writer role")

	wasRevoked := find("request denied", map[string]any{"path": "/api/2.0/mlflow/experiments/create", "token_id": revoked.ID})
	assert.Contains(t, wasRevoked["reason"], "was revoked at")

	field := find("field denied", map[string]any{"field": "createExperiment", "actor": reader.Actor})
	assert.Equal(t, "role too low", field["reason"])
	assert.Equal(t, "writer", field["need"])

	for _, secret := range []string{reader.Token, revoked.Token} {
		_, s, _ := auth.ParseToken(secret)
		assert.NotContains(t, logs.String(), s, "no secret in the log")
	}
}

// With an OIDC issuer configured, its JWTs are accepted with the role their claim maps
// to, and writes record the subject; a JWT that fails validation is refused like a bad
// token, and one without a role is FORBIDDEN.
func TestOIDCBearerTokens(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	tk := neo4jtest.Token(t)
	iss := authtest.NewIssuer(t)
	o, err := auth.NewOIDC(t.Context(), auth.OIDCConfig{Issuer: iss.URL, Audience: authtest.Audience, JWKSURL: iss.URL + "/jwks"})
	require.NoError(t, err)
	h := newBareHandler(t, server.Options{Store: st, OIDC: o})
	sub := "svc-" + tk + "@example.com"

	writerJWT := iss.Sign(t, jose.RS256, iss.Claims(map[string]any{"sub": sub, "roles": []string{"writer"}}))
	resp := doWithHeader(t, h, `mutation { createExperiment(input: {name: "oidc-`+tk+`"}) { experiment { recordedBy } } }`, nil, bearer(writerJWT))
	require.Empty(t, resp.Errors)
	assert.Equal(t, "oidc:"+sub, get(resp.Data, "createExperiment", "experiment", "recordedBy"))
	a := call(t, h, "POST", "/api/2.0/mlflow/runs/search", `{}`, bearer(writerJWT))
	assert.Equal(t, http.StatusOK, a.status, a.body)

	readerJWT := iss.Sign(t, jose.ES256, iss.Claims(map[string]any{"sub": sub, "roles": "reader"}))
	resp = doWithHeader(t, h, `{ viewer { actor role } }`, nil, bearer(readerJWT))
	require.Empty(t, resp.Errors)
	assert.Equal(t, map[string]any{"actor": "oidc:" + sub, "role": "READER"}, get(resp.Data, "viewer"))
	a = call(t, h, "POST", "/api/v1/lineage", `{}`, bearer(readerJWT))
	assert.Equal(t, http.StatusForbidden, a.status)

	for name, jwt := range map[string]string{
		"another issuer":   iss.Sign(t, jose.RS256, iss.Claims(map[string]any{"iss": "https://elsewhere.example"})),
		"another audience": iss.Sign(t, jose.RS256, iss.Claims(map[string]any{"aud": "another-app"})),
		"no exp":           iss.Sign(t, jose.RS256, iss.Claims(map[string]any{"exp": nil})),
		"RS384":            iss.Sign(t, jose.RS384, iss.Claims(nil)),
	} {
		a := call(t, h, "POST", "/graphql", `{"query": "{ viewer { actor } }"}`, bearer(jwt))
		assert.Equal(t, http.StatusUnauthorized, a.status, name)
		assert.Equal(t, "UNAUTHENTICATED", errorCode(t, "graphql", a.body), name)
		assert.Contains(t, a.header.Get("WWW-Authenticate"), `error="invalid_token"`, name)
	}
	noRole := iss.Sign(t, jose.RS256, iss.Claims(map[string]any{"roles": nil}))
	a = call(t, h, "POST", "/graphql", `{"query": "{ viewer { actor } }"}`, bearer(noRole))
	assert.Equal(t, http.StatusForbidden, a.status)
	assert.Equal(t, string(apperr.Forbidden), errorCode(t, "graphql", a.body))

	// API tokens keep working beside OIDC.
	reader := authtest.NewToken(t, st, auth.RoleReader)
	assert.Empty(t, doWithHeader(t, h, `{ viewer { actor } }`, nil, bearer(reader.Token)).Errors)
}

// The role each GraphQL field needs is in the schema, where GraphiQL shows it: every
// field of Query and Mutation carries @hasRole, every mutation needs at least WRITER,
// and tokens and approvals need ADMIN.
func TestEveryRootFieldDeclaresItsRole(t *testing.T) {
	t.Parallel()
	schema := loadSchema(t)
	admin := map[string]bool{"createApiToken": true, "revokeApiToken": true, "setApprovalStatus": true, "apiTokens": true}
	for _, typ := range []string{"Query", "Mutation"} {
		for _, f := range schema.Types[typ].Fields {
			if isIntrospection(f.Name) {
				continue
			}
			d := f.Directives.ForName("hasRole")
			require.NotNil(t, d, "%s.%s has no @hasRole", typ, f.Name)
			role := d.Arguments.ForName("role").Value.Raw
			switch {
			case admin[f.Name]:
				assert.Equal(t, "ADMIN", role, "%s.%s", typ, f.Name)
			case typ == "Mutation":
				assert.Equal(t, "WRITER", role, "%s.%s", typ, f.Name)
			default:
				assert.Equal(t, "READER", role, "%s.%s", typ, f.Name)
			}
		}
	}
}
