package server_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/internal/neo4jtest"
)

const searchQuery = `query($text: String!, $kinds: [NodeKind!], $first: Int, $after: String) {
  search(text: $text, kinds: $kinds, first: $first, after: $after) {
    edges { cursor score node { id kind name } }
    pageInfo { hasNextPage endCursor }
    totalCount
  }
}`

// Typing part of a name finds the node: a word, the start of one, a word with a typo,
// a URI, a tag value or a word of a description; each search here carries the test's
// token as a second word, which keeps it to the test's own nodes.
func TestSearchFindsNodesByWhatPeopleRemember(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	s := recordSlice(t, h)
	tk := s.token
	mustDo(t, h, `mutation($input: UpdateRegisteredModelInput!) { updateRegisteredModel(input: $input) { registeredModel { id } } }`,
		map[string]any{"input": map[string]any{"name": "fraud-" + tk, "description": "Scores card transactions",
			"setTags": []map[string]any{{"key": "owner", "value": "risk-team"}}}})

	find := func(text string, kinds ...string) []string {
		t.Helper()
		vars := map[string]any{"text": text, "first": 100}
		if kinds != nil {
			vars["kinds"] = kinds
		}
		d := mustDo(t, h, searchQuery, vars)
		var out []string
		for _, e := range get(d, "search", "edges").([]any) {
			out = append(out, get(e, "node", "id").(string))
		}
		return out
	}
	for _, tt := range []struct {
		text  string
		kinds []string
		want  []string
	}{
		{"fraud " + tk, []string{"ENDPOINT"}, []string{s.endpoint}},
		{"fra " + tk, []string{"ENDPOINT"}, []string{s.endpoint}},
		{"frad " + tk, []string{"ENDPOINT"}, []string{s.endpoint}},
		{"fraud-prd " + tk, []string{"ENDPOINT"}, []string{s.endpoint}},
		{"FRAUD " + tk, []string{"ENDPOINT", "REGISTERED_MODEL"}, []string{s.endpoint, s.model}},
		{"fraud " + tk, []string{"MODEL_VERSION"}, []string{s.version}},
		{"transactions " + tk, nil, []string{s.model}},
		{"risk-team " + tk, nil, []string{s.model}},
		{"s3://lake-" + tk + "/customers", nil, []string{s.dataset, "dataset:s3://lake-" + tk + ":customers/2026-01"}},
		{"c0ffee " + tk, nil, []string{s.dataset}},
		{"model.tar.gz " + tk, nil, []string{s.artifact, s.version}}, // the version's source is the artifact's URI
		{"sagemaker-" + tk, []string{"TRAINING_JOB"}, []string{s.job}},
		{"nothing-like-it " + tk, nil, nil},
	} {
		got := find(tt.text, tt.kinds...)
		assert.ElementsMatch(t, tt.want, got, "%q %v", tt.text, tt.kinds)
	}
	// Every kind of the chain has the word and the token.
	assert.ElementsMatch(t, []string{s.endpoint, s.model, s.version, s.job, s.artifact}, find("fraud "+tk))
}

// An exact ID comes first, then exact names (ignoring case), then by score, whatever
// the scores; scores never rise down the rest of the list, ties go by ID.
func TestSearchRanksExactMatchesFirst(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	tk := neo4jtest.Token(t)
	create := func(key, name string, extra map[string]any) {
		props := map[string]any{"key": key, "kind": "Endpoint", "name": name, "recordedBy": "test"}
		for k, v := range extra {
			props[k] = v
		}
		neo4jtest.Exec(t, `CREATE (n:Node:Endpoint) SET n = $props, n.recordedAt = datetime()`, map[string]any{"props": props})
	}
	// The words of "Exact-<token>" in a name, and in many other places too: a better
	// score than the node merely named so.
	named := "endpoint:exact-" + tk
	create(named, "exact-"+tk, nil)
	create("endpoint:everywhere-"+tk, "exact-"+tk+" everywhere", map[string]any{
		"tagValues": []string{"exact-" + tk}, "description": "exact-" + tk + " exact-" + tk, "uri": "s3://exact-" + tk})
	// And a node whose ID is a text another node's name is.
	create("endpoint:id-"+tk, "something else", nil)
	create("endpoint:named-like-the-id-"+tk, "endpoint:id-"+tk, nil)

	d := mustDo(t, h, searchQuery, map[string]any{"text": "EXACT-" + strings.ToUpper(tk)})
	edges := get(d, "search", "edges").([]any)
	require.Len(t, edges, 2)
	assert.Equal(t, []string{named, "endpoint:everywhere-" + tk}, ids(nodesOf(edges)), "the exact name first")
	assert.Less(t, get(edges[0], "score").(float64), get(edges[1], "score").(float64), "though its score is lower")

	d = mustDo(t, h, searchQuery, map[string]any{"text": "endpoint:id-" + tk})
	assert.Equal(t, []string{"endpoint:id-" + tk, "endpoint:named-like-the-id-" + tk}, ids(nodesOf(get(d, "search", "edges"))),
		"the exact ID before the exact name")

	s := recordSlice(t, h)
	d = mustDo(t, h, searchQuery, map[string]any{"text": "fraud " + s.token})
	edges = get(d, "search", "edges").([]any)
	require.Len(t, edges, 5)
	for i := 1; i < len(edges); i++ {
		prev, cur := get(edges[i-1], "score").(float64), get(edges[i], "score").(float64)
		assert.GreaterOrEqual(t, prev, cur, "scores fall down the list")
		if prev == cur {
			assert.Less(t, get(edges[i-1], "node", "id"), get(edges[i], "node", "id"), "ties by ID")
		}
	}
}

// Soft-deleted runs and experiments are not found, except by their ID.
func TestSearchLeavesOutDeletedRuns(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	tk := neo4jtest.Token(t)
	d := mustDo(t, h, createExperiment, map[string]any{"input": map[string]any{"name": "churn-" + tk}})
	exp := get(d, "createExperiment", "experiment", "id").(string)
	d = mustDo(t, h, startRun, map[string]any{"input": map[string]any{"experiment": exp, "name": "churn-run-" + tk}})
	run := get(d, "startRun", "run", "id").(string)

	d = mustDo(t, h, searchQuery, map[string]any{"text": "churn " + tk})
	assert.ElementsMatch(t, []string{exp, run}, ids(nodesOf(get(d, "search", "edges"))))

	mustDo(t, h, `mutation($input: RunRefInput!) { deleteRun(input: $input) { run { id } } }`, map[string]any{"input": map[string]any{"run": run}})
	d = mustDo(t, h, searchQuery, map[string]any{"text": "churn " + tk})
	assert.Equal(t, []string{exp}, ids(nodesOf(get(d, "search", "edges"))))
	d = mustDo(t, h, searchQuery, map[string]any{"text": run})
	assert.Equal(t, run, get(d, "search", "edges", 0, "node", "id"), "found by its ID")
}

// Pages follow one another without a repeat or a gap, and totalCount counts them all.
func TestSearchPages(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	tk := neo4jtest.Token(t)
	var want []string
	s := recordSlice(t, h)
	for _, name := range []string{"a", "b", "c", "d", "e"} {
		d := mustDo(t, h, deployModelVersion, map[string]any{"input": map[string]any{"endpoint": "paged-" + name + "-" + tk, "modelVersion": s.version}})
		want = append(want, get(d, "deployModelVersion", "deployment", "endpoint", "id").(string))
	}
	var got []string
	var after any
	for page := 0; ; page++ {
		require.Less(t, page, 5)
		d := mustDo(t, h, searchQuery, map[string]any{"text": "paged " + tk, "first": 2, "after": after})
		assert.Equal(t, float64(5), get(d, "search", "totalCount"))
		got = append(got, ids(nodesOf(get(d, "search", "edges")))...)
		if get(d, "search", "pageInfo", "hasNextPage") == false {
			assert.Nil(t, get(d, "search", "pageInfo", "endCursor"))
			break
		}
		after = get(d, "search", "pageInfo", "endCursor")
		assert.Equal(t, after, get(d, "search", "edges", 1, "cursor"), "the end cursor is the last edge's")
	}
	assert.ElementsMatch(t, want, got)
	assert.Len(t, got, 5)

	resp := do(t, h, searchQuery, map[string]any{"text": "other " + tk, "after": after})
	require.Len(t, resp.Errors, 1)
	assert.Equal(t, "INVALID_ARGUMENT", resp.Errors[0].Extensions["code"])
	assert.Equal(t, "after", resp.Errors[0].Extensions["field"])
}

const (
	endpointsQuery = `query($namePrefix: String, $since: Time, $serving: Boolean, $first: Int, $after: String) {
  endpoints(namePrefix: $namePrefix, recordedSince: $since, servingNow: $serving, first: $first, after: $after) {
    edges { cursor node { id name } } pageInfo { hasNextPage endCursor } totalCount
  }
}`
	registeredModelsQuery = `query($namePrefix: String, $since: Time) {
  registeredModels(namePrefix: $namePrefix, recordedSince: $since) { edges { node { id latestVersion } } totalCount }
}`
	datasetsQuery = `query($namespace: String, $namePrefix: String) {
  datasets(namespace: $namespace, namePrefix: $namePrefix) { edges { node { id namespace } } totalCount }
}`
	jobsQuery = `query($kinds: [NodeKind!], $namespace: String, $namePrefix: String) {
  jobs(kinds: $kinds, namespace: $namespace, namePrefix: $namePrefix) { edges { node { id kind } } totalCount }
}`
)

// The lists hold what their filters say, by ID, page after page.
func TestListsFilterAndPage(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	s := recordSlice(t, h)
	tk := s.token
	before := time.Now().UTC().Add(-time.Minute).Format(time.RFC3339Nano)
	later := time.Now().UTC().Add(time.Hour).Format(time.RFC3339Nano)
	// An endpoint with nothing deployed (as SageMaker reports one being created).
	idle := "endpoint:fraud-prod-" + tk + "-idle"
	neo4jtest.Exec(t, `CREATE (:Node:Endpoint {key: $key, kind: 'Endpoint', name: $name, recordedAt: datetime(), recordedBy: 'test'})`,
		map[string]any{"key": idle, "name": strings.TrimPrefix(idle, "endpoint:")})
	prefix := "fraud-prod-" + tk

	endpoints := func(vars map[string]any) []string {
		t.Helper()
		vars["namePrefix"] = prefix
		return ids(nodesOf(get(mustDo(t, h, endpointsQuery, vars), "endpoints", "edges")))
	}
	assert.Equal(t, []string{s.endpoint, idle}, endpoints(map[string]any{}))
	assert.Equal(t, []string{s.endpoint}, endpoints(map[string]any{"serving": true}))
	assert.Equal(t, []string{idle}, endpoints(map[string]any{"serving": false}))
	assert.Equal(t, []string{s.endpoint, idle}, endpoints(map[string]any{"since": before}))
	assert.Empty(t, endpoints(map[string]any{"since": later}))

	d := mustDo(t, h, endpointsQuery, map[string]any{"namePrefix": prefix, "first": 1})
	assert.Equal(t, float64(2), get(d, "endpoints", "totalCount"))
	assert.Equal(t, []string{s.endpoint}, ids(nodesOf(get(d, "endpoints", "edges"))))
	assert.Equal(t, true, get(d, "endpoints", "pageInfo", "hasNextPage"))
	d = mustDo(t, h, endpointsQuery, map[string]any{"namePrefix": prefix, "first": 1, "after": get(d, "endpoints", "pageInfo", "endCursor")})
	assert.Equal(t, []string{idle}, ids(nodesOf(get(d, "endpoints", "edges"))))
	assert.Equal(t, false, get(d, "endpoints", "pageInfo", "hasNextPage"))
	resp := do(t, h, endpointsQuery, map[string]any{"namePrefix": prefix, "serving": true, "after": get(d, "endpoints", "edges", 0, "cursor")})
	require.Len(t, resp.Errors, 1, "a cursor of another list")
	assert.Equal(t, "after", resp.Errors[0].Extensions["field"])

	// Registered models, not their versions.
	d = mustDo(t, h, registeredModelsQuery, map[string]any{"namePrefix": "fraud-" + tk})
	assert.Equal(t, []string{s.model}, ids(nodesOf(get(d, "registeredModels", "edges"))))
	assert.Equal(t, float64(1), get(d, "registeredModels", "edges", 0, "node", "latestVersion"))
	d = mustDo(t, h, registeredModelsQuery, map[string]any{"namePrefix": "fraud-" + tk, "since": later})
	assert.Empty(t, get(d, "registeredModels", "edges"))
	assert.Equal(t, float64(0), get(d, "registeredModels", "totalCount"))

	// Datasets by namespace, by name prefix within it, and by name prefix alone.
	d = mustDo(t, h, registerDatasetVersion, map[string]any{"input": map[string]any{"uri": "s3://lake-" + tk + "/orders-" + tk + "/2026", "digest": "sha256:1"}})
	orders := get(d, "registerDatasetVersion", "datasetVersion", "dataset", "id").(string)
	customers := "dataset:s3://lake-" + tk + ":customers/2026-01"
	for _, tt := range []struct {
		vars map[string]any
		want []string
	}{
		{map[string]any{"namespace": "s3://lake-" + tk}, []string{customers, orders}},
		{map[string]any{"namespace": "s3://lake-" + tk, "namePrefix": "orders"}, []string{orders}},
		{map[string]any{"namePrefix": "orders-" + tk}, []string{orders}},
		{map[string]any{"namespace": "s3://lake-" + tk + "-other"}, nil},
	} {
		d = mustDo(t, h, datasetsQuery, tt.vars)
		assert.Equal(t, tt.want, ids(nodesOf(get(d, "datasets", "edges"))), "%v", tt.vars)
		assert.Equal(t, float64(len(tt.want)), get(d, "datasets", "totalCount"))
	}

	// Jobs of both kinds, or of one.
	d = mustDo(t, h, recordProcessingJob, map[string]any{"input": map[string]any{
		"namespace": "sagemaker-" + tk, "name": "prepare", "inputs": []string{}, "outputs": []string{s.dataset},
	}})
	prepare := get(d, "recordProcessingJob", "processingJob", "id").(string)
	for _, tt := range []struct {
		vars map[string]any
		want []string
	}{
		{map[string]any{"namespace": "sagemaker-" + tk}, []string{s.job, prepare}},
		{map[string]any{"namespace": "sagemaker-" + tk, "kinds": []string{"PROCESSING_JOB"}}, []string{prepare}},
		{map[string]any{"namespace": "sagemaker-" + tk, "kinds": []string{"TRAINING_JOB", "PROCESSING_JOB"}}, []string{s.job, prepare}},
		{map[string]any{"namespace": "sagemaker-" + tk, "namePrefix": "fraud-"}, []string{s.job}},
	} {
		d = mustDo(t, h, jobsQuery, tt.vars)
		assert.Equal(t, tt.want, ids(nodesOf(get(d, "jobs", "edges"))), "%v", tt.vars)
	}
	d = mustDo(t, h, jobsQuery, map[string]any{"namespace": "sagemaker-" + tk})
	assert.Equal(t, []any{"TRAINING_JOB", "PROCESSING_JOB"}, []any{get(d, "jobs", "edges", 0, "node", "kind"), get(d, "jobs", "edges", 1, "node", "kind")})
}

// Datasets and jobs asked for by a name prefix alone come by name, then ID, page after
// page: the same name in two namespaces, then the longer name.
func TestJobsByNamePrefixPage(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	tk := neo4jtest.Token(t)
	var want []string
	for _, j := range []struct{ ns, name string }{{"b-" + tk, "etl-" + tk}, {"a-" + tk, "etl-" + tk + "-x"}, {"a-" + tk, "etl-" + tk}} {
		d := mustDo(t, h, recordTrainingJob, map[string]any{"input": map[string]any{
			"namespace": j.ns, "name": j.name, "inputs": []string{},
			"modelArtifact": map[string]any{"uri": "s3://models-" + tk + "/" + j.ns + "/" + j.name},
		}})
		want = append(want, get(d, "recordTrainingJob", "trainingJob", "id").(string))
	}
	want = []string{want[2], want[0], want[1]} // etl-<tk> in a-, in b-, then etl-<tk>-x
	const page = `query($prefix: String, $after: String) { jobs(namePrefix: $prefix, first: 1, after: $after) {
  edges { node { id } } pageInfo { hasNextPage endCursor } totalCount } }`
	var got []string
	var after any
	for range 4 {
		d := mustDo(t, h, page, map[string]any{"prefix": "etl-" + tk, "after": after})
		assert.Equal(t, float64(3), get(d, "jobs", "totalCount"))
		got = append(got, ids(nodesOf(get(d, "jobs", "edges")))...)
		if get(d, "jobs", "pageInfo", "hasNextPage") == false {
			break
		}
		after = get(d, "jobs", "pageInfo", "endCursor")
	}
	assert.Equal(t, want, got)
}

// Bad input is refused with the code and the argument named.
func TestSearchAndListsRefuseBadInput(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	long := strings.Repeat("x", 201)
	for _, tt := range []struct {
		name, query string
		vars        map[string]any
		code, field string
	}{
		{"empty text", `{ search(text: "") { totalCount } }`, nil, "INVALID_ARGUMENT", "text"},
		{"blank text", `{ search(text: "  \t ") { totalCount } }`, nil, "INVALID_ARGUMENT", "text"},
		{"text too long", `query($t: String!) { search(text: $t) { totalCount } }`, map[string]any{"t": long}, "INVALID_ARGUMENT", "text"},
		{"too many words", `{ search(text: "a b c d e f g h i") { totalCount } }`, nil, "INVALID_ARGUMENT", "text"},
		{"no word", `{ search(text: "*:* -- ~") { totalCount } }`, nil, "INVALID_ARGUMENT", "text"},
		{"search first 0", `{ search(text: "x", first: 0) { totalCount } }`, nil, "INVALID_ARGUMENT", "first"},
		{"search first 10000", `{ search(text: "x", first: 10000) { totalCount } }`, nil, "INVALID_ARGUMENT", "first"},
		{"search malformed cursor", `{ search(text: "x", after: "not-a-cursor") { totalCount } }`, nil, "INVALID_ARGUMENT", "after"},
		{"search unknown kind", `{ search(text: "x", kinds: [HOLOGRAM]) { totalCount } }`, nil, "GRAPHQL_VALIDATION_FAILED", ""},
		{"search unknown kind in a variable", `query($k: [NodeKind!]) { search(text: "x", kinds: $k) { totalCount } }`,
			map[string]any{"k": []string{"HOLOGRAM"}}, "GRAPHQL_VALIDATION_FAILED", "k[0]"},
		{"endpoints first 0", `{ endpoints(first: 0) { totalCount } }`, nil, "INVALID_ARGUMENT", "first"},
		{"endpoints first 10000", `{ endpoints(first: 10000) { totalCount } }`, nil, "INVALID_ARGUMENT", "first"},
		{"endpoints malformed cursor", `{ endpoints(after: "eyJ4IjoxfQ") { totalCount } }`, nil, "INVALID_ARGUMENT", "after"},
		{"endpoints malformed time", `{ endpoints(recordedSince: "yesterday") { totalCount } }`, nil, "INVALID_ARGUMENT", "recordedSince"},
		{"endpoints malformed time in a variable", `query($t: Time) { endpoints(recordedSince: $t) { totalCount } }`,
			map[string]any{"t": "2026-13-01T00:00:00Z"}, "INVALID_ARGUMENT", "recordedSince"},
		{"endpoints time without zone", `{ endpoints(recordedSince: "2026-03-14T09:30:00") { totalCount } }`, nil, "INVALID_ARGUMENT", "recordedSince"},
		{"registeredModels first 101", `{ registeredModels(first: 101) { totalCount } }`, nil, "INVALID_ARGUMENT", "first"},
		{"datasets empty namespace", `{ datasets(namespace: "") { totalCount } }`, nil, "INVALID_ARGUMENT", "namespace"},
		{"datasets first 0", `{ datasets(first: 0) { totalCount } }`, nil, "INVALID_ARGUMENT", "first"},
		{"jobs of a dataset kind", `{ jobs(kinds: [DATASET]) { totalCount } }`, nil, "INVALID_ARGUMENT", "kinds[0]"},
		{"jobs of an endpoint kind, second", `{ jobs(kinds: [TRAINING_JOB, ENDPOINT]) { totalCount } }`, nil, "INVALID_ARGUMENT", "kinds[1]"},
		{"jobs first 10000", `{ jobs(first: 10000) { totalCount } }`, nil, "INVALID_ARGUMENT", "first"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp := do(t, h, tt.query, tt.vars)
			require.Len(t, resp.Errors, 1, resp.Errors)
			e := resp.Errors[0]
			assert.Equal(t, tt.code, e.Extensions["code"], e.Message)
			if tt.field != "" {
				assert.Equal(t, tt.field, e.Extensions["field"], e.Message)
			}
		})
	}
}

// nodesOf returns the nodes of a connection's edges.
func nodesOf(edges any) []any {
	var out []any
	for _, e := range edges.([]any) {
		out = append(out, get(e, "node"))
	}
	return out
}
