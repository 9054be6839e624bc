package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/apperr"
	"github.com/provgraph/provgraph/auth"
	"github.com/provgraph/provgraph/internal/authtest"
	"github.com/provgraph/provgraph/internal/neo4jtest"
	"github.com/provgraph/provgraph/server"
)

// handlerWith returns provgraph's HTTP handler on the test Neo4j with opts, sending an
// admin token of the test's own.
func handlerWith(t *testing.T, opts server.Options) http.Handler {
	t.Helper()
	opts.Store = neo4jtest.Store(t)
	return authtest.NewToken(t, opts.Store, auth.RoleAdmin).Handler(newBareHandler(t, opts))
}

// getQuery sends a GraphQL request over GET and decodes the response.
func getQuery(t *testing.T, h http.Handler, query string) gqlResponse {
	t.Helper()
	return send(t, h, httptest.NewRequest(http.MethodGet, "/graphql?query="+url.QueryEscape(query), nil))
}

// nested selects field n times inside itself around innermost: nested("parent", 2, "id")
// is "parent { parent { id } }".
func nested(field string, n int, innermost string) string {
	return strings.Repeat(field+" { ", n) + innermost + strings.Repeat(" }", n)
}

// aliased selects field under n aliases a0, a1, ….
func aliased(n int, field string) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, " a%d: %s", i, field)
	}
	return b.String()
}

// Every limit on the shape of a request refuses it before anything runs, with
// INVALID_ARGUMENT on "query", a message naming the limit and the numbers, and the
// HTTP status of a request that fails validation; one just inside each limit runs.
func TestRequestLimits(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	node := `node(id: "endpoint:none") { id }`

	for _, tt := range []struct {
		name, query string
		mentions    []string
	}{
		{"root fields", "{" + aliased(server.MaxRootFields+1, node) + " }",
			[]string{"selects 21 top-level fields", "at most 20"}},
		{"aliases", "{ node(id: \"endpoint:none\") { ... on Endpoint {" + aliased(server.MaxAliases+1, "id") + " } } }",
			[]string{"uses 31 aliases", "at most 30"}},
		{"aliases in a fragment count where it is spread",
			"{ a: node(id: \"endpoint:a\") { ...F } b: node(id: \"endpoint:b\") { ...F } } fragment F on Endpoint {" + aliased(15, "id") + " }",
			[]string{"uses 32 aliases"}},
		{"depth", "{ node(id: \"" + noRun + "\") { ... on Run { " + nested("parent", server.MaxQueryDepth-1, "id") + " } } }",
			[]string{"nests fields 16 deep", "at most 15"}},
		{"depth through fragments", "{ node(id: \"" + noRun + "\") { ...P } } fragment P on Run { " + nested("parent", 7, "...Q") +
			" } fragment Q on Run { " + nested("parent", 7, "id") + " }",
			[]string{"nests fields 16 deep"}},
		{"complexity", `{ searchRuns(first: 100) { edges { node { metricHistory(key: "loss", first: 10000) { points { step } } } } } }`,
			[]string{"has complexity 2000301", "limit of 200000", "page size"}},
		{"complexity of fragments that multiply", `{ node(id: "endpoint:none") { ...F0 } }` + exponentialFragments(40),
			[]string{"has complexity at least ", "limit of 200000"}},
		{"tokens", "{" + strings.Repeat(" __typename", server.MaxQueryTokens) + " }",
			[]string{"more than 15000 tokens", "variables"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp := do(t, h, tt.query, nil)
			require.Len(t, resp.Errors, 1, resp.Errors)
			e := resp.Errors[0]
			assert.Equal(t, "INVALID_ARGUMENT", e.Extensions["code"], e.Message)
			assert.Equal(t, "query", e.Extensions["field"], e.Message)
			for _, m := range tt.mentions {
				assert.Contains(t, e.Message, m)
			}
			assert.Nil(t, resp.Data, "nothing ran")
			assert.Equal(t, http.StatusUnprocessableEntity, resp.Status)
		})
	}

	// Just inside each limit.
	for _, tt := range []struct{ name, query string }{
		{"root fields", "{" + aliased(server.MaxRootFields, node) + " }"},
		{"aliases", "{ node(id: \"endpoint:none\") { ... on Endpoint {" + aliased(server.MaxAliases, "id") + " } } }"},
		{"depth", "{ node(id: \"" + noRun + "\") { ... on Run { " + nested("parent", server.MaxQueryDepth-2, "id") + " } } }"},
		{"introspection is deeper than the depth limit", introspectionQuery},
	} {
		t.Run("within "+tt.name, func(t *testing.T) {
			resp := do(t, h, tt.query, nil)
			require.Empty(t, resp.Errors)
			assert.Equal(t, http.StatusOK, resp.Status)
		})
	}
}

// exponentialFragments defines n fragments F0, F1, … on Endpoint that each spread
// the next twice: a few hundred bytes that expand to 2^n fields.
func exponentialFragments(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, " fragment F%d on Endpoint { ...F%d ...F%d }", i, i+1, i+1)
	}
	fmt.Fprintf(&b, " fragment F%d on Endpoint { id }", n)
	return b.String()
}

// What GraphiQL asks for: deeper than MaxQueryDepth, which it need not respect
// (gqlparser bounds introspection depth itself).
const introspectionQuery = `query IntrospectionQuery {
  __schema {
    queryType { name }
    mutationType { name }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) {
    name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason
  }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType {
    kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } }
}`

// The big questions the product is for stay within the complexity limit: the full
// 10,000-node lineage budget with nodes, edges and paging (150,001), an audit trail with
// its upstream cones, an export, and a page of runs with their metric histories.
func TestTypicalLargeQueriesAreWithinLimits(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	s := recordSlice(t, h)
	d := mustDo(t, h, createExperiment, map[string]any{"input": map[string]any{"name": "large-" + s.token}})
	exp := get(d, "createExperiment", "experiment", "id").(string)
	mustDo(t, h, startRun, map[string]any{"input": map[string]any{"experiment": exp}})
	for _, q := range []string{
		`query($e: ID!) { lineage(start: [$e], direction: BOTH) {
			nodes { id kind name recordedAt recordedBy ... on ModelVersion { version } }
			edges { from to type } truncated pageInfo { hasNextPage endCursor } } }`,
		`query($e: ID!) { auditTrail(endpoint: $e) { entries { modelVersion { id } approvalStatus producedBy { id }
			trainingData { id } upstream { nodes { id kind } edges { from to type } } } } }`,
		`query($e: ID!) { lineageExport(start: [$e], direction: BOTH, format: PROV_JSON) }`,
		`query($x: ID!) { searchRuns(experiments: [$x]) { edges { node { id name params { key value } metrics { key last }
			metricHistory(key: "loss") { points { step value } } } } } }`,
	} {
		resp := do(t, h, q, map[string]any{"e": s.endpoint, "x": exp})
		require.Empty(t, resp.Errors, firstLine(q))
	}
}

// noRun is a run ID no run has.
var noRun = "run:" + strings.Repeat("0", 32)

// A request that runs out of time gets UNAVAILABLE saying so — never INTERNAL — and a
// mutation cut short writes nothing. A deadline of 1ns has passed before any resolver
// asks Neo4j, so the test does not depend on timing.
func TestRequestDeadline(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	s := recordSlice(t, h)
	hurried := handlerWith(t, server.Options{RequestTimeout: time.Nanosecond})

	resp := do(t, hurried, lineageQuery, map[string]any{"start": []string{s.endpoint}, "direction": "UPSTREAM"})
	require.NotEmpty(t, resp.Errors)
	for _, e := range resp.Errors {
		assert.Equal(t, "UNAVAILABLE", e.Extensions["code"], e.Message)
		assert.Contains(t, e.Message, "did not finish within the server's limit of 1ns")
	}

	uri := "s3://lake-" + s.token + "/late"
	resp = do(t, hurried, registerDatasetVersion, map[string]any{"input": map[string]any{"uri": uri, "digest": "sha256:1"}})
	require.NotEmpty(t, resp.Errors)
	assert.Equal(t, "UNAVAILABLE", resp.Errors[0].Extensions["code"], resp.Errors[0].Message)
	d := mustDo(t, h, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": "dataset:s3://lake-" + s.token + ":late"})
	assert.Nil(t, get(d, "node"), "the mutation wrote nothing")

	// With time to spare the same request runs.
	mustDo(t, handlerWith(t, server.Options{RequestTimeout: time.Minute}), lineageQuery,
		map[string]any{"start": []string{s.endpoint}, "direction": "UPSTREAM"})
}

// Mutations come only over POST: over GET one is refused with 405 and Allow: POST
// (GraphQL over HTTP), and writes nothing; queries over GET still work.
func TestMutationsOnlyOverPOST(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	tk := neo4jtest.Token(t)
	mutation := `mutation { registerDatasetVersion(input: {uri: "s3://lake-` + tk + `/x", digest: "sha256:1"}) { created } }`

	resp := getQuery(t, h, mutation)
	assert.Equal(t, http.StatusMethodNotAllowed, resp.Status)
	assert.Equal(t, "POST", resp.Header.Get("Allow"))
	require.Len(t, resp.Errors, 1)
	assert.Equal(t, "METHOD_NOT_ALLOWED", resp.Errors[0].Extensions["code"])
	assert.Contains(t, resp.Errors[0].Message, "mutations are accepted only over POST")
	d := mustDo(t, h, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": "dataset:s3://lake-" + tk + ":x"})
	assert.Nil(t, get(d, "node"), "the GET wrote nothing")

	resp = getQuery(t, h, `{ node(id: "endpoint:none") { id } __typename }`)
	assert.Equal(t, http.StatusOK, resp.Status)
	assert.Empty(t, resp.Errors)
	assert.Equal(t, "Query", get(resp.Data, "__typename"))

	mustDo(t, h, mutation, nil) // the same mutation over POST
}

// In production mode validation errors do not guess at what the caller meant (the
// schema is not spelt out to whoever probes it); otherwise they help.
func TestProductionModeGivesNoSuggestions(t *testing.T) {
	t.Parallel()
	mistakes := []string{
		`{ lineagee(start: ["endpoint:x"], direction: UPSTREAM) { truncated } }`, // a field
		`{ lineage(start: ["endpoint:x"], directon: UPSTREAM) { truncated } }`,   // an argument
		`{ lineage(start: ["endpoint:x"], direction: UPSTREEM) { truncated } }`,  // an enum value
		`{ ...F } fragment F on Quer { __typename }`,                             // a type
	}
	for _, production := range []bool{false, true} {
		h := handlerWith(t, server.Options{Production: production})
		for _, q := range mistakes {
			resp := do(t, h, q, nil)
			require.NotEmpty(t, resp.Errors, q)
			var messages []string
			for _, e := range resp.Errors {
				assert.Equal(t, "GRAPHQL_VALIDATION_FAILED", e.Extensions["code"])
				messages = append(messages, e.Message)
			}
			if production {
				assert.NotContains(t, strings.Join(messages, "\n"), "Did you mean", q)
			} else {
				assert.Contains(t, strings.Join(messages, "\n"), "Did you mean", q)
			}
		}
	}
}

// Introspection is open unless Options.AuthorizeIntrospection refuses it; a refused
// request gets the policy's code, and __typename (not introspection of the schema)
// always works.
func TestIntrospectionCanBeRefused(t *testing.T) {
	t.Parallel()
	schema := `{ __schema { queryType { name } } }`
	typ := `{ __type(name: "Query") { name } }`

	open := newHandler(t)
	assert.Equal(t, "Query", get(mustDo(t, open, schema, nil), "__schema", "queryType", "name"))

	closed := handlerWith(t, server.Options{AuthorizeIntrospection: func(context.Context) error {
		return apperr.New(apperr.Unauthenticated, "", "introspection needs credentials")
	}})
	for _, q := range []string{schema, typ} {
		resp := do(t, closed, q, nil)
		require.Len(t, resp.Errors, 1)
		assert.Equal(t, "UNAUTHENTICATED", resp.Errors[0].Extensions["code"])
		assert.Equal(t, "introspection needs credentials", resp.Errors[0].Message)
		assert.Nil(t, resp.Data)
	}
	assert.Equal(t, "Query", get(mustDo(t, closed, `{ __typename }`, nil), "__typename"))

	plain := handlerWith(t, server.Options{AuthorizeIntrospection: func(context.Context) error { return errors.New("no") }})
	resp := do(t, plain, schema, nil)
	require.Len(t, resp.Errors, 1)
	assert.Equal(t, "FORBIDDEN", resp.Errors[0].Extensions["code"], "a policy's plain error")

	admitted := handlerWith(t, server.Options{AuthorizeIntrospection: func(context.Context) error { return nil }})
	assert.Equal(t, "Query", get(mustDo(t, admitted, typ, nil), "__type", "name"))
}

// The ingest surfaces run under the same deadline: an OpenLineage event and an MLflow
// call that run out of time get UNAVAILABLE (MLflow's TEMPORARILY_UNAVAILABLE) and
// write nothing.
func TestIngestRequestDeadline(t *testing.T) {
	t.Parallel()
	tk := neo4jtest.Token(t)
	event := `{"eventType": "COMPLETE", "eventTime": "2026-11-26T04:00:00Z", "run": {"runId": "` + uuid.NewString() + `"},
	  "job": {"namespace": "deadline-` + tk + `", "name": "job"}}`
	post := func(h http.Handler, path, body string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		h.ServeHTTP(rec, req)
		return rec
	}
	hurried := handlerWith(t, server.Options{RequestTimeout: time.Nanosecond})
	rec := post(hurried, "/api/v1/lineage", event)
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code, rec.Body.String())
	assert.Contains(t, rec.Body.String(), `"code":"UNAVAILABLE"`)
	rec = post(hurried, "/api/2.0/mlflow/experiments/create", `{"name": "deadline-`+tk+`"}`)
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code, rec.Body.String())
	assert.Contains(t, rec.Body.String(), `"error_code":"TEMPORARILY_UNAVAILABLE"`)
	d := mustDo(t, newHandler(t), `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": "job:deadline-" + tk + ":job"})
	assert.Nil(t, get(d, "node"), "the event wrote nothing")

	// With time to spare the same event is recorded.
	rec = post(handlerWith(t, server.Options{RequestTimeout: time.Minute}), "/api/v1/lineage", event)
	assert.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
}

// A body that is not a GraphQL request in JSON is refused with a message quoting its
// first 64 bytes only, not the whole body back (gqlgen's POST transport quotes it all).
func TestUndecodableBodyIsQuotedShort(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	const mb = 1 << 20
	euros := strings.Repeat("€", mb/3) // 3 bytes each: 64 bytes end inside one
	for _, tt := range []struct {
		name, body, quoted string
	}{
		{"1 MB that is not JSON", "not json " + strings.Repeat("x", mb), "not json " + strings.Repeat("x", 55) + "…"},
		{"1 MB of JSON that is not a request", `{"query": 1, "pad": "` + strings.Repeat("y", mb) + `"}`,
			`{"query": 1, "pad": "` + strings.Repeat("y", 43) + "…"},
		{"a cut that would split a character", euros, strings.Repeat("€", 21) + "…"},
		{"a short body is quoted whole", "nope", "nope"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			assert.Equal(t, http.StatusBadRequest, rec.Code)
			assert.Less(t, rec.Body.Len(), 1024, "the answer is short")
			var resp gqlResponse
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &resp), rec.Body.String())
			require.Len(t, resp.Errors, 1)
			e := resp.Errors[0]
			assert.Equal(t, "INVALID_ARGUMENT", e.Extensions["code"])
			assert.True(t, strings.HasPrefix(e.Message, "json request body could not be decoded: "), e.Message)
			assert.True(t, strings.HasSuffix(e.Message, " body:"+tt.quoted), e.Message)
			assert.True(t, utf8.ValidString(e.Message) && !strings.ContainsRune(e.Message, utf8.RuneError), e.Message)
		})
	}
}
