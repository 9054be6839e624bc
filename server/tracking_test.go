package server_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/internal/neo4jtest"
)

const (
	createExperiment = `mutation($input: CreateExperimentInput!) { createExperiment(input: $input) { experiment { id experimentId name lifecycle } } }`
	startRun         = `mutation($input: StartRunInput!) { startRun(input: $input) { run { id runId status lifecycle experiment { id } } } }`
	logRun           = `mutation($input: LogRunInput!) { logRun(input: $input) { run { id } } }`
	logRunIO         = `mutation($input: LogRunIOInput!) { logRunIO(input: $input) { run { id } } }`
)

// A run through GraphQL: an experiment and a group, a nested run, parameters, metrics
// with NaN and infinities, tags, an input dataset and output artifacts and a chart — and
// the run in lineage between its dataset and its model.
func TestTrackingThroughGraphQL(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	s := recordSlice(t, h)
	tk := s.token

	d := mustDo(t, h, createExperiment, map[string]any{"input": map[string]any{"name": "fraud-" + tk, "description": "card fraud", "tags": []any{map[string]any{"key": "team", "value": "risk"}}}})
	exp := get(d, "createExperiment", "experiment", "id").(string)
	assert.Equal(t, "ACTIVE", get(d, "createExperiment", "experiment", "lifecycle"))
	d = mustDo(t, h, `mutation($input: CreateRunGroupInput!) { createRunGroup(input: $input) { runGroup { id } created } }`,
		map[string]any{"input": map[string]any{"experiment": exp, "name": "sweep-1"}})
	group := get(d, "createRunGroup", "runGroup", "id").(string)
	assert.Equal(t, true, get(d, "createRunGroup", "created"))

	d = mustDo(t, h, startRun, map[string]any{"input": map[string]any{"experiment": exp, "group": group, "name": "parent", "codeVersion": "a1b2c3d"}})
	parent := get(d, "startRun", "run", "id").(string)
	assert.Equal(t, "RUNNING", get(d, "startRun", "run", "status"))
	d = mustDo(t, h, startRun, map[string]any{"input": map[string]any{"experiment": exp, "parent": parent, "name": "child"}})
	run := get(d, "startRun", "run", "id").(string)

	mustDo(t, h, logRun, map[string]any{"input": map[string]any{"run": run,
		"params": []any{map[string]any{"key": "lr", "number": 0.01}, map[string]any{"key": "optimizer", "value": "adam"}},
		"metrics": []any{
			map[string]any{"key": "loss", "value": 0.9, "step": 0, "timestamp": "2026-03-01T00:00:00Z"},
			map[string]any{"key": "loss", "value": "NaN", "step": 1, "timestamp": "2026-03-01T00:00:01Z"},
			map[string]any{"key": "loss", "value": 0.4, "step": 2, "timestamp": "2026-03-01T00:00:02Z"},
			map[string]any{"key": "grad", "value": "Infinity", "step": 5, "timestamp": "2026-03-01T00:00:02Z"},
		},
		"tags": []any{map[string]any{"key": "stage", "value": "dev"}},
		"metricSeries": []any{map[string]any{"key": "acc", "values": []any{0.5, "-Infinity", 0.7}, "steps": []any{0, 1, 2},
			"timestampsMs": []any{1772323200000, 1772323201000, 1772323202000}}},
	}})
	mustDo(t, h, logRunIO, map[string]any{"input": map[string]any{"run": run, "inputContext": "training",
		"inputs":          []string{s.dataset},
		"outputArtifacts": []any{map[string]any{"uri": "s3://models-" + tk + "/run/model.pkl", "mediaType": "application/octet-stream", "name": "fraud model"}},
		"charts":          []any{map[string]any{"name": "confusion", "type": "CONFUSION_MATRIX", "body": map[string]any{"labels": []any{"ok", "fraud"}, "matrix": []any{[]any{90, 2}, []any{3, 5}}}}},
	}})
	// Recording the same again changes nothing.
	mustDo(t, h, logRunIO, map[string]any{"input": map[string]any{"run": run, "inputs": []string{s.dataset}}})

	d = mustDo(t, h, `query($id: ID!) { node(id: $id) { ... on Run {
  name parent { id } group { id } experiment { name } tags { key value }
  params { key value }
  metrics { key last lastStep min max avg count }
  metricHistory(key: "loss") { points { step value } pageInfo { hasNextPage } }
  metricChart(key: "loss", maxPoints: 4) { step value }
  inputs { id }
  outputs { id ... on Artifact { chartType body } }
} } }`, map[string]any{"id": run})
	r := get(d, "node")
	assert.Equal(t, parent, get(r, "parent", "id"))
	assert.Nil(t, get(r, "group"), "the child was not put in the group")
	assert.Equal(t, "fraud-"+tk, get(r, "experiment", "name"))
	assert.Equal(t, []any{map[string]any{"key": "lr", "value": "0.01"}, map[string]any{"key": "optimizer", "value": "adam"}}, get(r, "params"))
	assert.Equal(t, []any{
		map[string]any{"key": "acc", "last": 0.7, "lastStep": float64(2), "min": 0.5, "max": 0.7, "avg": 0.6, "count": float64(3)},
		map[string]any{"key": "grad", "last": "Infinity", "lastStep": float64(5), "min": nil, "max": nil, "avg": nil, "count": float64(1)},
		map[string]any{"key": "loss", "last": 0.4, "lastStep": float64(2), "min": 0.4, "max": 0.9, "avg": 0.65, "count": float64(3)},
	}, get(r, "metrics"))
	assert.Equal(t, []any{
		map[string]any{"step": float64(0), "value": 0.9}, map[string]any{"step": float64(1), "value": "NaN"}, map[string]any{"step": float64(2), "value": 0.4},
	}, get(r, "metricHistory", "points"), "NaN comes back as logged")
	assert.Len(t, get(r, "metricChart"), 3)
	assert.Equal(t, []string{s.dataset}, ids(get(r, "inputs")))
	outs := get(r, "outputs").([]any)
	require.Len(t, outs, 2)
	chart := outs[0]
	if get(chart, "chartType") == nil {
		chart = outs[1]
	}
	assert.Equal(t, "CONFUSION_MATRIX", get(chart, "chartType"))
	assert.Equal(t, []any{"ok", "fraud"}, get(chart, "body", "labels"))

	// The run is in lineage between the dataset version and its artifact.
	d = mustDo(t, h, `query($id: ID!) { lineage(start: [$id], direction: DOWNSTREAM, maxDepth: 2, kinds: [RUN, ARTIFACT]) { nodes { id } } }`,
		map[string]any{"id": s.dataset})
	assert.Contains(t, ids(get(d, "lineage", "nodes")), run)
	assert.Contains(t, ids(get(d, "lineage", "nodes")), "artifact:s3://models-"+tk+"/run/model.pkl")

	d = mustDo(t, h, `query($exp: ID!) { searchRuns(filter: "datasets.context = 'training' AND datasets.digest = 'sha256:c0ffee'", experiments: [$exp]) { edges { node { id } } } }`,
		map[string]any{"exp": exp})
	assert.Equal(t, []string{run}, []string{get(d, "searchRuns", "edges", 0, "node", "id").(string)}, "found by the dataset it read")
	d = mustDo(t, h, `query($id: ID!) { node(id: $id) { name } }`, map[string]any{"id": "artifact:s3://models-" + tk + "/run/model.pkl"})
	assert.Equal(t, "fraud model", get(d, "node", "name"))

	// Search and compare through GraphQL.
	d = mustDo(t, h, `query($exp: ID!) { searchRuns(filter: "params.lr = '0.01' OR tags.stage = 'prod'", experiments: [$exp]) { edges { cursor node { id } } pageInfo { hasNextPage } } }`,
		map[string]any{"exp": exp})
	edges := get(d, "searchRuns", "edges").([]any)
	require.Len(t, edges, 1)
	assert.Equal(t, run, get(edges[0], "node", "id"))
	d = mustDo(t, h, `query($a: ID!, $b: ID!) { compareRuns(ids: [$a, $b], goals: [{key: "loss", goal: MINIMIZE}]) {
  params { key values differs } metrics { key goal goalGuessed bestRun { id } summaries { last } } } }`, map[string]any{"a": run, "b": parent})
	assert.Equal(t, []any{
		map[string]any{"key": "lr", "values": []any{"0.01", nil}, "differs": true},
		map[string]any{"key": "optimizer", "values": []any{"adam", nil}, "differs": true},
	}, get(d, "compareRuns", "params"))
	loss := get(d, "compareRuns", "metrics", 2) // acc, grad, loss
	assert.Equal(t, "MINIMIZE", get(loss, "goal"))
	assert.Equal(t, false, get(loss, "goalGuessed"))
	assert.Equal(t, run, get(loss, "bestRun", "id"))

	d = mustDo(t, h, `query($exp: ID!) { node(id: $exp) { ... on Experiment { runGroups { id } runs(first: 1) { edges { node { id } } pageInfo { hasNextPage endCursor } } } } }`,
		map[string]any{"exp": exp})
	assert.Equal(t, []string{group}, ids(get(d, "node", "runGroups")))
	assert.Equal(t, true, get(d, "node", "runs", "pageInfo", "hasNextPage"))
	d = mustDo(t, h, `query($name: String!) { experimentByName(name: $name) { id } none: experimentByName(name: "nope-x") { id } }`, map[string]any{"name": "fraud-" + tk})
	assert.Equal(t, exp, get(d, "experimentByName", "id"))
	assert.Nil(t, get(d, "none"))

	// Experiments page by id, the default one first.
	d = mustDo(t, h, `{ experiments(first: 1) { edges { cursor node { id name } } pageInfo { hasNextPage endCursor } } }`, nil)
	assert.Equal(t, map[string]any{"id": "experiment:0", "name": "Default"}, get(d, "experiments", "edges", 0, "node"))
	assert.Equal(t, true, get(d, "experiments", "pageInfo", "hasNextPage"))
	d = mustDo(t, h, `query($after: String) { experiments(first: 1, after: $after) { edges { node { id } } } }`,
		map[string]any{"after": get(d, "experiments", "pageInfo", "endCursor")})
	assert.NotEqual(t, "experiment:0", get(d, "experiments", "edges", 0, "node", "id"))

	// Rename, tag, delete (no new runs then) and restore.
	d = mustDo(t, h, `mutation($input: UpdateExperimentInput!) { updateExperiment(input: $input) { experiment { name tags { key value } } } }`,
		map[string]any{"input": map[string]any{"id": exp, "name": "fraud-renamed-" + tk, "deleteTags": []string{"team"}, "setTags": []any{map[string]any{"key": "owner", "value": "risk"}}}})
	assert.Equal(t, map[string]any{"name": "fraud-renamed-" + tk, "tags": []any{map[string]any{"key": "owner", "value": "risk"}}}, get(d, "updateExperiment", "experiment"))
	d = mustDo(t, h, `mutation($input: ExperimentRefInput!) { deleteExperiment(input: $input) { experiment { lifecycle } } }`, map[string]any{"input": map[string]any{"id": exp}})
	assert.Equal(t, "DELETED", get(d, "deleteExperiment", "experiment", "lifecycle"))
	resp := do(t, h, startRun, map[string]any{"input": map[string]any{"experiment": exp}})
	require.Len(t, resp.Errors, 1)
	assert.Equal(t, "input.experiment", resp.Errors[0].Extensions["field"])
	d = mustDo(t, h, `{ experiments(first: 100, view: DELETED_ONLY) { edges { node { id } } } }`, nil)
	var deleted []string
	for _, e := range get(d, "experiments", "edges").([]any) {
		deleted = append(deleted, get(e, "node", "id").(string))
	}
	assert.Contains(t, deleted, exp)
	mustDo(t, h, `mutation($input: ExperimentRefInput!) { restoreExperiment(input: $input) { experiment { lifecycle } } }`, map[string]any{"input": map[string]any{"id": exp}})
	mustDo(t, h, startRun, map[string]any{"input": map[string]any{"experiment": exp}})
	resp = do(t, h, `mutation { deleteExperiment(input: {id: "experiment:0"}) { experiment { id } } }`, nil)
	require.Len(t, resp.Errors, 1)
	assert.Contains(t, resp.Errors[0].Message, "the default experiment cannot be deleted")
}

// Every rule of logging and search through GraphQL: conflicting parameters, oversize
// batches, bad values, bad filters with their positions, deleted runs — each a clear
// error naming the field, and none writes anything.
func TestTrackingRejectsBadInput(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	tk := neo4jtest.Token(t)
	d := mustDo(t, h, createExperiment, map[string]any{"input": map[string]any{"name": "rules-" + tk}})
	exp := get(d, "createExperiment", "experiment", "id").(string)
	d = mustDo(t, h, startRun, map[string]any{"input": map[string]any{"experiment": exp}})
	run := get(d, "startRun", "run", "id").(string)
	runToken := strings.TrimPrefix(run, "run:")
	mustDo(t, h, logRun, map[string]any{"input": map[string]any{"run": run, "params": []any{map[string]any{"key": "lr", "value": "0.01"}}}})

	points := func(n int) []any {
		out := make([]any, n)
		for i := range out {
			out[i] = map[string]any{"key": "m", "value": i, "step": i}
		}
		return out
	}
	params := func(n int) []any {
		out := make([]any, n)
		for i := range out {
			out[i] = map[string]any{"key": fmt.Sprintf("p%d", i), "value": "v"}
		}
		return out
	}
	before := neo4jtest.Snapshot(t, runToken)
	beforeExp := neo4jtest.Snapshot(t, "rules-"+tk)
	for _, tt := range []struct {
		name, query string
		vars        map[string]any
		code, field string
		message     string
	}{
		{"conflicting parameter", logRun, map[string]any{"input": map[string]any{"run": run, "params": []any{map[string]any{"key": "lr", "value": "0.02"}}, "metrics": points(2)}},
			"CONFLICT", "input.params[0].value", `parameter "lr" of run "` + run + `" was logged as "0.01"; got "0.02"`},
		{"a parameter twice in a batch", logRun, map[string]any{"input": map[string]any{"run": run, "params": []any{map[string]any{"key": "b", "value": "1"}, map[string]any{"key": "b", "value": "2"}}}},
			"CONFLICT", "input.params[1].value", "given twice"},
		{"value and number", logRun, map[string]any{"input": map[string]any{"run": run, "params": []any{map[string]any{"key": "c", "value": "1", "number": 1}}}},
			"INVALID_ARGUMENT", "input.params[0]", "exactly one of value and number"},
		{"1001 points", logRun, map[string]any{"input": map[string]any{"run": run, "metrics": points(1001)}},
			"INVALID_ARGUMENT", "input.metrics", "at most 1000 points per call"},
		{"steps that do not match the values", logRun, map[string]any{"input": map[string]any{"run": run, "metricSeries": []any{map[string]any{"key": "m", "values": []any{1, 2}, "steps": []any{1}}}}},
			"INVALID_ARGUMENT", "input.metricSeries[0].steps", "one step per value (2 values, 1 steps)"},
		{"1001 points in lists", logRun, map[string]any{"input": map[string]any{"run": run, "metricSeries": []any{map[string]any{"key": "m", "values": zeros(1001)}}}},
			"INVALID_ARGUMENT", "input.metricSeries", "at most 1000 points per call"},
		{"1001 points, some as objects and some in lists", logRun, map[string]any{"input": map[string]any{"run": run, "metrics": points(2),
			"metricSeries": []any{map[string]any{"key": "m", "values": zeros(999)}}}},
			"INVALID_ARGUMENT", "input.metricSeries", "at most 1000 points per call, with the 2 of metrics"},
		{"a timestamp in lists beyond the year 9999", logRun, map[string]any{"input": map[string]any{"run": run, "metrics": points(1),
			"metricSeries": []any{map[string]any{"key": "m", "values": []any{1, 2}, "timestampsMs": []any{1, int64(300_000_000_000_000)}}}}},
			"INVALID_ARGUMENT", "input.metricSeries[0].timestampsMs[1]", "between years 1 and 9999"},
		{"101 parameters", logRun, map[string]any{"input": map[string]any{"run": run, "params": params(101)}},
			"INVALID_ARGUMENT", "input.params", "at most 100 parameters per call"},
		{"a long key", logRun, map[string]any{"input": map[string]any{"run": run, "params": []any{map[string]any{"key": strings.Repeat("k", 251), "value": "v"}}}},
			"INVALID_ARGUMENT", "input.params[0].key", "at most 250"},
		{"a long value", logRun, map[string]any{"input": map[string]any{"run": run, "params": []any{map[string]any{"key": "long", "value": strings.Repeat("v", 6001)}}}},
			"INVALID_ARGUMENT", "input.params[0].value", "at most 6000"},
		{"a bad metric value", logRun, map[string]any{"input": map[string]any{"run": run, "metrics": []any{map[string]any{"key": "m", "value": "nan"}}}},
			"INVALID_ARGUMENT", "input.metrics[0].value", "a metric value is a number"},
		{"an unknown run", logRun, map[string]any{"input": map[string]any{"run": "run:" + strings.Repeat("0", 32), "metrics": points(1)}},
			"NOT_FOUND", "input.run", "no node has ID"},
		{"not a run ID", logRun, map[string]any{"input": map[string]any{"run": "run:xyz", "metrics": points(1)}},
			"INVALID_ARGUMENT", "input.run", "is not a node ID"},
		{"an end before the start", `mutation($input: UpdateRunInput!) { updateRun(input: $input) { run { id } } }`,
			map[string]any{"input": map[string]any{"run": run, "endTime": "2000-01-01T00:00:00Z"}}, "INVALID_ARGUMENT", "input.endTime", "before the run's start time"},
		{"a taken experiment name", createExperiment, map[string]any{"input": map[string]any{"name": "rules-" + tk}},
			"CONFLICT", "input.name", "exists already"},
		{"a taken run id", startRun, map[string]any{"input": map[string]any{"experiment": exp, "runId": runToken}},
			"CONFLICT", "input.runId", "exists already"},
		{"a bad run id", startRun, map[string]any{"input": map[string]any{"experiment": exp, "runId": "ABC"}},
			"INVALID_ARGUMENT", "input.runId", "32 lowercase hexadecimal digits"},
		{"an output produced elsewhere", logRunIO, map[string]any{"input": map[string]any{"run": run, "inputs": []string{"datasetVersion:s3://none-" + tk + ":x#1"}}},
			"NOT_FOUND", "input.inputs[0]", "no node has ID"},
		{"a bad filter", `query { searchRuns(filter: "metrics.auc > 0.9 and params.lr = ") { edges { cursor } } }`, nil,
			"INVALID_ARGUMENT", "filter", "position 34: params.lr needs a quoted string"},
		{"an unknown prefix", `query { searchRuns(filter: "metric_x.auc > 1") { edges { cursor } } }`, nil,
			"INVALID_ARGUMENT", "filter", `position 0: unknown entity prefix "metric_x"`},
		{"a bad order", `query { searchRuns(orderBy: ["metrics.auc DOWN"]) { edges { cursor } } }`, nil,
			"INVALID_ARGUMENT", "orderBy[0]", "position 12: expected ASC, DESC"},
		{"a page of 101", `query { searchRuns(first: 101) { edges { cursor } } }`, nil,
			"INVALID_ARGUMENT", "first", "between 1 and 100"},
		{"a foreign cursor", `query($exp: ID!) { searchRuns(experiments: [$exp], after: "eyJvIjoxLCJxIjoieCJ9") { edges { cursor } } }`, map[string]any{"exp": exp},
			"INVALID_ARGUMENT", "after", "belongs to a search with other arguments"},
		{"a chart of 3 points", `query($id: ID!) { node(id: $id) { ... on Run { metricChart(key: "m", maxPoints: 3) { step } } } }`, map[string]any{"id": run},
			"INVALID_ARGUMENT", "maxPoints", "between 4 and 10000"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp := do(t, h, tt.query, tt.vars)
			require.Len(t, resp.Errors, 1, resp.Errors)
			assert.Equal(t, tt.code, resp.Errors[0].Extensions["code"], resp.Errors[0].Message)
			assert.Equal(t, tt.field, resp.Errors[0].Extensions["field"], resp.Errors[0].Message)
			assert.Contains(t, resp.Errors[0].Message, tt.message)
		})
	}
	assert.Equal(t, before, neo4jtest.Snapshot(t, runToken), "rejected batches write nothing")
	assert.Equal(t, beforeExp, neo4jtest.Snapshot(t, "rules-"+tk))

	// A deleted run takes no logging; restored, it does.
	mustDo(t, h, `mutation($input: RunRefInput!) { deleteRun(input: $input) { run { lifecycle } } }`, map[string]any{"input": map[string]any{"run": run}})
	resp := do(t, h, logRun, map[string]any{"input": map[string]any{"run": run, "metrics": points(1)}})
	require.Len(t, resp.Errors, 1)
	assert.Contains(t, resp.Errors[0].Message, "is deleted; restore it")
	mustDo(t, h, `mutation($input: RunRefInput!) { restoreRun(input: $input) { run { lifecycle } } }`, map[string]any{"input": map[string]any{"run": run}})
	mustDo(t, h, logRun, map[string]any{"input": map[string]any{"run": run, "metrics": points(1)}})
}

func zeros(n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = 0
	}
	return out
}
