package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/auth"
	"github.com/provgraph/provgraph/internal/authtest"
	"github.com/provgraph/provgraph/internal/neo4jtest"
	"github.com/provgraph/provgraph/server"
)

// lineageCount counts the lineage answers written directly and those left to gqlgen.
type lineageCount struct {
	mu             sync.Mutex
	direct, gqlgen int
}

func (c *lineageCount) answered(direct bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if direct {
		c.direct++
	} else {
		c.gqlgen++
	}
}

func (c *lineageCount) take() (direct, gqlgen int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	direct, gqlgen = c.direct, c.gqlgen
	c.direct, c.gqlgen = 0, 0
	return direct, gqlgen
}

// endCursor matches a cursor in a written answer.
var endCursor = regexp.MustCompile(`"endCursor":"[^"]+"`)

// rawDo posts a GraphQL request to h and returns the response body as it was written.
func rawDo(t *testing.T, h http.Handler, query string, vars map[string]any) string {
	t.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	require.NoError(t, err)
	req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Body.String()
}

// A lineage answer written without gqlgen's executor is the one gqlgen writes, as a
// reader receives it: for the selections it writes (aliases, __typename, fragments on
// Node or on one kind of node that read common fields, two selections of the nodes,
// @skip and @include, pages and the page after, filters, dataset and registered-model
// start nodes with their versions, two lineage fields in one query, an audit trail's
// upstream cone) and for those it leaves to gqlgen (a field of one kind of node, in
// one of two selections too; a refused request). A name with quotes, backslashes and non-ASCII letters comes out the
// same (both answers pass through encoding/json last, which escapes <, > and U+2028).
func TestLineageWrittenDirectlyIsGqlgensAnswer(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	s := recordSlice(t, newHandlerWith(t, st, auth.RoleWriter))
	c := authtest.NewToken(t, st, auth.RoleReader)
	var count lineageCount
	direct := c.Handler(server.NewObserved(server.Options{Store: st}, false, count.answered))
	gqlgen := c.Handler(server.NewObserved(server.Options{Store: st}, true, nil))
	tk := neo4jtest.Token(t)
	odd := "odd \"job\" \\ back\\slash <é> ✓ \u2028 end"
	mustDo(t, newHandlerWith(t, st, auth.RoleWriter), recordTrainingJob, map[string]any{"input": map[string]any{
		"namespace": "sagemaker-" + tk, "name": odd, "inputs": []string{s.dataset},
		"modelArtifact": map[string]any{"uri": "s3://models-" + tk + "/odd/model.tar.gz"},
	}})
	dataset := get(mustDo(t, direct, `query($id: ID!) { node(id: $id) { ... on DatasetVersion { dataset { id } } } }`,
		map[string]any{"id": s.dataset}), "node", "dataset", "id").(string)

	up := map[string]any{"start": []string{s.endpoint}}
	const firstPage = `query($start: [ID!]!, $after: String) { lineage(start: $start, direction: UPSTREAM, budget: 2, after: $after) {
  nodes { id } edges { from to type } truncated pageInfo { hasNextPage endCursor } } }`
	cases := []struct {
		name   string
		query  string
		vars   map[string]any
		direct int // answers written directly
		gqlgen int // answers left to gqlgen
	}{
		{"the benchmark's question", `query($start: [ID!]!) { lineage(start: $start, direction: UPSTREAM, maxDepth: 10) {
  nodes { id kind } edges { from to type } } }`, up, 1, 0},
		{"aliases and __typename everywhere", `query($start: [ID!]!) { l: lineage(start: $start, direction: UPSTREAM) {
  __typename t: truncated n: nodes { __typename i: id id kind name recordedAt recordedBy }
  e: edges { __typename to from type } p: pageInfo { __typename endCursor hasNextPage } } }`, up, 1, 0},
		{"fragments on Node", `query($start: [ID!]!) { lineage(start: $start, direction: UPSTREAM) {
  nodes { ...N ... on Node { kind } __typename } } }
fragment N on Node { id name }`, up, 1, 0},
		{"a common field of one kind of node", `query($start: [ID!]!) { lineage(start: $start, direction: UPSTREAM) {
  nodes { id ... on ModelVersion { name recordedBy } ... on TrainingJob { kind } } } }`, up, 1, 0},
		{"two selections of the nodes", `query($start: [ID!]!) { lineage(start: $start, direction: UPSTREAM) {
  a: nodes { id } b: nodes { name ... on ModelVersion { kind } } } }`, up, 1, 0},
		{"@include and @skip, true", `query($start: [ID!]!, $v: Boolean!) { lineage(start: $start, direction: UPSTREAM) {
  nodes { id name @include(if: $v) kind @skip(if: $v) } edges @skip(if: $v) { from } truncated @include(if: $v) } }`,
			map[string]any{"start": s.endpoint, "v": true}, 1, 0},
		{"@include and @skip, false", `query($start: [ID!]!, $v: Boolean!) { lineage(start: $start, direction: UPSTREAM) {
  nodes { id name @include(if: $v) kind @skip(if: $v) } edges @skip(if: $v) { from } truncated @include(if: $v) } }`,
			map[string]any{"start": s.endpoint, "v": false}, 1, 0},
		{"a first page", firstPage, up, 1, 0},
		{"downstream, filtered by kind, as of now", `query($start: [ID!]!) { lineage(start: $start, direction: DOWNSTREAM,
  kinds: [TRAINING_JOB, ENDPOINT], asOf: "2999-01-01T00:00:00Z") { nodes { id kind name } edges { from to type } } }`,
			map[string]any{"start": []string{s.dataset}}, 1, 0},
		{"a dataset and a registered model, with their versions", `query($start: [ID!]!) { lineage(start: $start, direction: BOTH) {
  nodes { id kind } edges { from to type } } }`, map[string]any{"start": []string{dataset, s.model}}, 1, 0},
		{"two lineage fields", `query($a: ID!, $b: ID!) {
  up: lineage(start: [$a], direction: UPSTREAM) { nodes { id } }
  down: lineage(start: [$b], direction: DOWNSTREAM) { nodes { name } edges { type } } }`,
			map[string]any{"a": s.endpoint, "b": s.dataset}, 2, 0},
		{"a field of one kind of node", `query($start: [ID!]!) { lineage(start: $start, direction: UPSTREAM) {
  nodes { id kind ... on ModelVersion { version } } edges { from to type } } }`, up, 0, 1},
		{"a field of one kind of node in one of two selections", `query($start: [ID!]!) { lineage(start: $start, direction: UPSTREAM) {
  a: nodes { id } b: nodes { ... on ModelVersion { version } } } }`, up, 0, 1},
		{"an audit trail's upstream cone", `query($e: ID!) { auditTrail(endpoint: $e) { entries {
  modelVersion { id } upstream { nodes { id kind name } edges { from to type } truncated } } } }`,
			map[string]any{"e": s.endpoint}, 1, 0},
		{"an audit trail's upstream cone with a field of one kind of node", `query($e: ID!) { auditTrail(endpoint: $e) { entries {
  upstream { nodes { id ... on TrainingJob { instanceType } } } } } }`, map[string]any{"e": s.endpoint}, 0, 1},
		{"an unknown start", `query { lineage(start: ["endpoint:nowhere-` + tk + `"], direction: UPSTREAM) { nodes { id } } }`,
			nil, 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// A page's cursor holds the instant it was asked at: equal when masked.
			want := endCursor.ReplaceAllString(rawDo(t, gqlgen, tc.query, tc.vars), `"endCursor":"…"`)
			count.take()
			got := endCursor.ReplaceAllString(rawDo(t, direct, tc.query, tc.vars), `"endCursor":"…"`)
			assert.Equal(t, want, got)
			d, g := count.take()
			assert.Equal(t, [2]int{tc.direct, tc.gqlgen}, [2]int{d, g}, "answers written directly, by gqlgen")
		})
	}

	// The cursor of a page written directly continues to the same next page.
	var first struct {
		Data struct {
			Lineage struct{ PageInfo struct{ EndCursor string } }
		}
	}
	require.NoError(t, json.Unmarshal([]byte(rawDo(t, direct, firstPage, up)), &first))
	next := map[string]any{"start": up["start"], "after": first.Data.Lineage.PageInfo.EndCursor}
	require.NotEmpty(t, next["after"])
	assert.Equal(t, endCursor.ReplaceAllString(rawDo(t, gqlgen, firstPage, next), "…"),
		endCursor.ReplaceAllString(rawDo(t, direct, firstPage, next), "…"))
	assert.Contains(t, rawDo(t, direct, firstPage, next), s.artifact, "the second page")

	// The odd name was in an answer written directly.
	count.take()
	body := rawDo(t, direct, `query($start: [ID!]!) { lineage(start: $start, direction: DOWNSTREAM) { nodes { name } } }`,
		map[string]any{"start": []string{s.dataset}})
	d, _ := count.take()
	assert.Equal(t, 1, d, "written directly")
	assert.Contains(t, body, `"odd \"job\" \\ back\\slash \u003cé\u003e ✓ \u2028 end"`)
}

// A lineage answer whose selection reads fewer of the nodes' fields (the store then
// fetches fewer: only keys and kinds, or what every node has) holds what the answer
// reading every field holds, for each field it reads: with fragments, a field of one
// kind of node, and two selections of the nodes, one reading more than the other.
func TestLineageFetchesWhatItsSelectionReads(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	h := newHandlerWith(t, st, auth.RoleWriter)
	s := recordSlice(t, h)
	up := map[string]any{"start": []string{s.endpoint}}
	const lineage = `query($start: [ID!]!) { lineage(start: $start, direction: UPSTREAM, maxDepth: 10) { %s } }`
	nodes := func(t *testing.T, query string, field string) []map[string]any {
		t.Helper()
		var out []map[string]any
		query = fmt.Sprintf(lineage, query)
		if strings.Contains(query, "...F") {
			query += " fragment F on Node { name }"
		}
		for _, n := range get(mustDo(t, h, query, up), "lineage", field).([]any) {
			out = append(out, n.(map[string]any))
		}
		return out
	}
	all := nodes(t, `nodes { __typename id kind ...F recordedAt recordedBy ... on ModelVersion { version } ... on TrainingJob { instanceType } }`, "nodes")
	require.Len(t, all, 5)
	for _, n := range all {
		require.NotEmpty(t, n["name"], "%v", n)
		require.NotEmpty(t, n["recordedAt"], "%v", n)
		require.NotEmpty(t, n["recordedBy"], "%v", n)
	}
	cases := []struct{ name, selection string }{
		{"keys and kinds", `nodes { id kind __typename }`},
		{"keys", `nodes { id }`},
		{"what every node has", `nodes { id recordedAt recordedBy name }`},
		{"a fragment on Node", `nodes { id ...F }`},
		{"an inline fragment with a name", `nodes { id ... on TrainingJob { name } }`},
		{"a field of one kind of node", `nodes { id kind ... on ModelVersion { version } }`},
		{"a field of another kind of node", `nodes { ... on TrainingJob { instanceType } }`},
		{"two selections of the nodes", `a: nodes { id } b: nodes { id name }`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fields := []string{"nodes"}
			if strings.HasPrefix(tc.selection, "a:") {
				fields = []string{"a", "b"}
			}
			for _, f := range fields {
				got := nodes(t, tc.selection, f)
				require.Len(t, got, len(all), f)
				compared := 0
				for i, n := range got {
					for k, v := range n {
						assert.Equal(t, all[i][k], v, "%s: node %d's %s", f, i, k)
						compared++
					}
				}
				assert.Positive(t, compared, f)
			}
		})
	}
}
