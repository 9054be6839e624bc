package server_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
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

// requestIDs matches what differs between two answers to one request besides the
// transport: the request ID in an internal error's message, and a page cursor (it
// holds the instant of its page).
var requestIDs = regexp.MustCompile(`request id [0-9a-z]+|"endCursor":"[^"]+"`)

// POST answers (answerpost.go) are gqlgen's transport.POST's, byte for byte, with the
// same status and Content-Type: for answers with data (lineage written directly,
// names with characters JSON escapes for HTML, introspection, a mutation), with
// errors and partial data, refused requests (validation, variables, an unknown
// persisted query, a body too large, a body that is not JSON, an empty body), and for
// every Accept header transport.POST tells apart.
func TestPOSTAnswersAreGqlgens(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	s := recordSlice(t, newHandlerWith(t, st, auth.RoleWriter))
	c := authtest.NewToken(t, st, auth.RoleWriter)
	opts := server.Options{Store: st, MaxBodyBytes: 8 << 10, Logger: zerolog.New(zerolog.NewTestWriter(t))}
	ours := c.Handler(server.New(opts))
	gqlgens := c.Handler(server.NewWithGqlgenPOST(opts))
	tk := neo4jtest.Token(t)
	odd := "odd <job> & \"quotes\" \\ \u2028 \u2029 é ✓ " + tk
	job := get(mustDo(t, ours, recordTrainingJob, map[string]any{"input": map[string]any{
		"namespace": "sagemaker-" + tk, "name": odd, "inputs": []string{s.dataset},
		"modelArtifact": map[string]any{"uri": "s3://models-" + tk + "/odd/model.tar.gz"},
	}}), "recordTrainingJob", "trainingJob", "id").(string)

	body := func(query string, vars map[string]any) string {
		b, err := json.Marshal(map[string]any{"query": query, "variables": vars})
		require.NoError(t, err)
		return string(b)
	}
	up := map[string]any{"start": []string{s.endpoint}}
	lineage := `query($start: [ID!]!) { lineage(start: $start, direction: UPSTREAM, maxDepth: 10) { nodes { id kind name } edges { from to type } } }`
	requests := map[string]string{
		"lineage written directly": body(lineage, up),
		"lineage by gqlgen":        body(`query($start: [ID!]!) { lineage(start: $start, direction: UPSTREAM) { nodes { id ... on ModelVersion { version } } } }`, up),
		"a first page":             body(`query($start: [ID!]!) { lineage(start: $start, direction: UPSTREAM, budget: 2) { nodes { id } pageInfo { endCursor hasNextPage } } }`, up),
		"a name JSON escapes":      body(`query($id: ID!) { node(id: $id) { id ... on TrainingJob { name } } }`, map[string]any{"id": job}),
		"introspection":            body(`{ __schema { queryType { name } types { name kind } } }`, nil),
		"a mutation recorded before": body(registerDatasetVersion, map[string]any{"input": map[string]any{
			"uri": "s3://lake-" + s.token + "/customers/2026-01", "digest": "sha256:c0ffee"}}),
		"an unknown start":           body(`query { lineage(start: ["endpoint:nowhere-`+tk+`"], direction: UPSTREAM) { nodes { id } } }`, nil),
		"errors and data":            body(`query($a: ID!, $b: ID!) { a: node(id: $a) { id } b: lineage(start: [$b], direction: UPSTREAM) { nodes { id } } }`, map[string]any{"a": s.endpoint, "b": "endpoint:nowhere-" + tk}),
		"an unknown field":           body(`{ nothing }`, nil),
		"a variable of a wrong type": body(lineage, map[string]any{"start": 7}),
		"an unknown persisted query": `{"extensions":{"persistedQuery":{"version":1,"sha256Hash":"` + strings.Repeat("ab", 32) + `"}}}`,
		"a body too large":           body(lineage+strings.Repeat(" ", 9<<10), up),
		"a body that is not JSON":    `{"query": "{ __typename }"`,
		"an empty body":              ``,
		"no query":                   `{}`,
	}
	accepts := []string{"", "*/*", "application/json", "application/graphql-response+json", "text/html",
		"application/graphql-response+json, application/json", "application/json;q=0.9, */*"}
	send := func(h http.Handler, payload, accept string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, server.GraphQLPath, bytes.NewReader([]byte(payload)))
		req.Header.Set("Content-Type", "application/json")
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	statuses := map[int]bool{}
	for name, payload := range requests {
		for _, accept := range accepts {
			want, got := send(gqlgens, payload, accept), send(ours, payload, accept)
			what := name + ", Accept: " + accept
			assert.Equal(t, want.Code, got.Code, what)
			assert.Equal(t, want.Header().Get("Content-Type"), got.Header().Get("Content-Type"), what)
			assert.Equal(t, requestIDs.ReplaceAllString(want.Body.String(), "…"), requestIDs.ReplaceAllString(got.Body.String(), "…"), what)
			statuses[got.Code] = true
		}
	}
	assert.Equal(t, map[int]bool{200: true, 400: true, 413: true, 422: true}, statuses, "the statuses seen")
	// The odd name came back escaped as json.Marshal escapes it.
	rec := send(ours, requests["a name JSON escapes"], "")
	assert.Contains(t, rec.Body.String(), `odd \u003cjob\u003e \u0026 \"quotes\" \\ \u2028 \u2029 é ✓`)
}
