package server_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/internal/neo4jtest"
)

// Page sizes are 1 to 100 (default 20) on every connection, and the other sizes
// within their own ranges: an explicit 0 is refused like 101, never read as the
// default.
func TestPageSizesAreChecked(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	tk := neo4jtest.Token(t)
	d := mustDo(t, h, createExperiment, map[string]any{"input": map[string]any{"name": "pages-" + tk}})
	exp := get(d, "createExperiment", "experiment", "id").(string)
	d = mustDo(t, h, `mutation($input: CreateRunGroupInput!) { createRunGroup(input: $input) { runGroup { id } } }`,
		map[string]any{"input": map[string]any{"experiment": exp, "name": "sweep"}})
	group := get(d, "createRunGroup", "runGroup", "id").(string)
	var run string
	for i := range store21 {
		d = mustDo(t, h, startRun, map[string]any{"input": map[string]any{"experiment": exp, "group": group, "name": fmt.Sprint("r", i)}})
		run = get(d, "startRun", "run", "id").(string)
	}

	// The default page is 20.
	d = mustDo(t, h, `query($exp: ID!) { searchRuns(experiments: [$exp]) { edges { cursor } pageInfo { hasNextPage } } }`, map[string]any{"exp": exp})
	assert.Len(t, get(d, "searchRuns", "edges"), 20)
	assert.Equal(t, true, get(d, "searchRuns", "pageInfo", "hasNextPage"))
	d = mustDo(t, h, `query($id: ID!) { node(id: $id) { ... on RunGroup { runs { edges { cursor } } } } }`, map[string]any{"id": group})
	assert.Len(t, get(d, "node", "runs", "edges"), 20)

	experimentRuns := `query($id: ID!, $n: Int) { node(id: $id) { ... on Experiment { runs(first: $n) { edges { cursor } } } } }`
	groupRuns := `query($id: ID!, $n: Int) { node(id: $id) { ... on RunGroup { runs(first: $n) { edges { cursor } } } } }`
	searchRuns := `query($n: Int) { searchRuns(first: $n) { edges { cursor } } }`
	experiments := `query($n: Int) { experiments(first: $n) { edges { cursor } } }`
	history := `query($id: ID!, $n: Int) { node(id: $id) { ... on Run { metricHistory(key: "loss", first: $n) { points { step } } } } }`
	chart := `query($id: ID!, $n: Int) { node(id: $id) { ... on Run { metricChart(key: "loss", maxPoints: $n) { step } } } }`
	lineage := `query($n: Int) { lineage(start: ["endpoint:none"], direction: UPSTREAM, budget: $n) { truncated } }`
	impact := `query($n: Int) { impact(of: "dataset:s3://none:x", budget: $n) { truncated } }`
	for _, tt := range []struct {
		name, query string
		id          string
		n           int
		rule        string
	}{
		{"searchRuns first 0", searchRuns, "", 0, "between 1 and 100 (got 0)"},
		{"searchRuns first 101", searchRuns, "", 101, "between 1 and 100 (got 101)"},
		{"experiments first 0", experiments, "", 0, "between 1 and 100 (got 0)"},
		{"experiments first 101", experiments, "", 101, "between 1 and 100 (got 101)"},
		{"Experiment.runs first 0", experimentRuns, exp, 0, "between 1 and 100 (got 0)"},
		{"Experiment.runs first 101", experimentRuns, exp, 101, "between 1 and 100 (got 101)"},
		{"RunGroup.runs first 0", groupRuns, group, 0, "between 1 and 100 (got 0)"},
		{"RunGroup.runs first 101", groupRuns, group, 101, "between 1 and 100 (got 101)"},
		{"metricHistory first 0", history, run, 0, "between 1 and 10000 (got 0)"},
		{"metricHistory first 10001", history, run, 10001, "between 1 and 10000 (got 10001)"},
		{"metricChart maxPoints 10001", chart, run, 10001, "between 4 and 10000 (got 10001)"},
		{"lineage budget 0", lineage, "", 0, "between 1 and 10000 (got 0)"},
		{"lineage budget 10001", lineage, "", 10001, "between 1 and 10000 (got 10001)"},
		{"impact budget 0", impact, "", 0, "between 1 and 5000 (got 0)"},
		{"impact budget 5001", impact, "", 5001, "between 1 and 5000 (got 5001)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			vars := map[string]any{"n": tt.n}
			if tt.id != "" {
				vars["id"] = tt.id
			}
			resp := do(t, h, tt.query, vars)
			require.Len(t, resp.Errors, 1, resp.Errors)
			e := resp.Errors[0]
			assert.Equal(t, "INVALID_ARGUMENT", e.Extensions["code"], e.Message)
			assert.Contains(t, []any{"first", "budget", "maxPoints"}, e.Extensions["field"], e.Message)
			assert.Contains(t, e.Message, tt.rule)
		})
	}
}

// store21 is one run more than a default page.
const store21 = 21
