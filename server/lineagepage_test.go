package server_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Upstream from the endpoint of the slice (endpoint ← version ← artifact ← job ←
// dataset version), one node per page: the pages are the chain in depth order, the
// edges of each page join it to the page before, and bad budgets are refused.
func TestLineagePagesOverHTTP(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	s := recordSlice(t, h)
	const paged = `query($start: [ID!]!, $budget: Int, $after: String) {
  lineage(start: $start, direction: UPSTREAM, budget: $budget, after: $after) {
    nodes { id }
    edges { from to type }
    truncated
    pageInfo { hasNextPage endCursor }
  }
}`
	var pages [][]string
	var edges []any
	vars := map[string]any{"start": []string{s.endpoint}, "budget": 1}
	for page := 0; ; page++ {
		require.Less(t, page, 6, "paging ends")
		l := get(mustDo(t, h, paged, vars), "lineage")
		pages = append(pages, ids(get(l, "nodes")))
		edges = append(edges, get(l, "edges").([]any)...)
		if get(l, "truncated") == false {
			assert.Equal(t, false, get(l, "pageInfo", "hasNextPage"))
			break
		}
		vars["after"] = get(l, "pageInfo", "endCursor")
	}
	assert.Equal(t, [][]string{{s.endpoint}, {s.version}, {s.artifact}, {s.job}, {s.dataset}}, pages)
	assert.ElementsMatch(t, []any{
		map[string]any{"from": s.version, "to": s.endpoint, "type": "DEPLOYED_TO"},
		map[string]any{"from": s.artifact, "to": s.version, "type": "REGISTERED_AS"},
		map[string]any{"from": s.job, "to": s.artifact, "type": "PRODUCED"},
		map[string]any{"from": s.dataset, "to": s.job, "type": "INPUT_TO"},
	}, edges, "each edge once, on the page of its farther end")

	complete := get(mustDo(t, h, paged, map[string]any{"start": []string{s.endpoint}}), "lineage")
	assert.Len(t, get(complete, "nodes"), 5)
	assert.Equal(t, map[string]any{"hasNextPage": false, "endCursor": nil}, get(complete, "pageInfo"))

	for _, budget := range []int{0, -1, 10001} {
		resp := do(t, h, paged, map[string]any{"start": []string{s.endpoint}, "budget": budget})
		require.Len(t, resp.Errors, 1, budget)
		assert.Equal(t, "INVALID_ARGUMENT", resp.Errors[0].Extensions["code"], budget)
		assert.Equal(t, "budget", resp.Errors[0].Extensions["field"], budget)
	}
	resp := do(t, h, paged, map[string]any{"start": []string{s.endpoint, s.dataset}, "budget": 1})
	require.Len(t, resp.Errors, 1)
	assert.Contains(t, resp.Errors[0].Message, "must be at least the number of start nodes (2) on the first page")
}

// A lineage that selects only what every node has gets it; one that also asks for a
// field of a kind of node, in an inline fragment or a named one, gets that field too
// (the store fetches every property then), with the same nodes and edges.
func TestLineageFetchesWhatTheSelectionNeeds(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	s := recordSlice(t, h)
	vars := map[string]any{"start": []string{s.endpoint}}
	core := get(mustDo(t, h, `query($start: [ID!]!) { lineage(start: $start, direction: UPSTREAM) {
  nodes { id kind name recordedAt recordedBy __typename } edges { from to type } } }`, vars), "lineage")
	for _, q := range []string{
		`query($start: [ID!]!) { lineage(start: $start, direction: UPSTREAM) {
  nodes { id kind name recordedAt recordedBy __typename ... on ModelVersion { version } } edges { from to type } } }`,
		`query($start: [ID!]!) { lineage(start: $start, direction: UPSTREAM) {
  nodes { id kind name recordedAt recordedBy __typename ...V } edges { from to type } } }
fragment V on ModelVersion { version }`,
	} {
		full := get(mustDo(t, h, q, vars), "lineage")
		assert.Equal(t, get(core, "edges"), get(full, "edges"))
		coreNodes, fullNodes := get(core, "nodes").([]any), get(full, "nodes").([]any)
		require.Len(t, fullNodes, len(coreNodes))
		versions := 0
		for i, n := range fullNodes {
			node := n.(map[string]any)
			if v, ok := node["version"]; ok {
				assert.Equal(t, 1.0, v, "the version number of %v", node["id"])
				versions++
				delete(node, "version")
			}
			assert.Equal(t, coreNodes[i], node)
		}
		assert.Equal(t, 1, versions, "the slice's model version, with its version number")
	}
}
