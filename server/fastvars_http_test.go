package server_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/internal/neo4jtest"
)

// logRun sent again and again through one handler, whose variables are then checked
// without gqlparser (fastvars.go): the points are recorded as sent, and a request
// gqlparser refuses gets the same error the first time its query is seen and after.
func TestLogRunWithItsQueryKnown(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	tk := neo4jtest.Token(t)
	d := mustDo(t, h, createExperiment, map[string]any{"input": map[string]any{"name": "known-" + tk}})
	d = mustDo(t, h, startRun, map[string]any{"input": map[string]any{"experiment": get(d, "createExperiment", "experiment", "id")}})
	run := get(d, "startRun", "run", "id").(string)

	unknownField := map[string]any{"input": map[string]any{"run": run, "metrics": []any{map[string]any{"key": "loss", "value": 1, "stepp": 3}}}}
	first := do(t, h, logRun, unknownField) // the query is not known yet
	require.Len(t, first.Errors, 1)
	for step := range 3 {
		mustDo(t, h, logRun, map[string]any{"input": map[string]any{"run": run,
			"metrics": []any{
				map[string]any{"key": "loss", "value": float64(step) / 2, "step": 2 * step, "timestamp": "2026-03-01T00:00:00Z"},
				map[string]any{"key": "loss", "value": "NaN", "step": 2*step + 1},
			},
			"metricSeries": []any{map[string]any{"key": "acc", "values": []any{step, "Infinity"}, "steps": []any{2 * step, 2*step + 1}}},
		}})
	}
	again := do(t, h, logRun, unknownField)
	assert.Equal(t, first.Status, again.Status)
	assert.Equal(t, first.Errors, again.Errors)
	assert.Contains(t, again.Errors[0].Message, "unknown field")

	d = mustDo(t, h, `query($id: ID!) { node(id: $id) { ... on Run {
  loss: metricHistory(key: "loss") { points { step value } }
  acc: metricHistory(key: "acc") { points { step value } }
} } }`, map[string]any{"id": run})
	var loss, acc []any
	for step := range 3 {
		loss = append(loss, map[string]any{"step": float64(2 * step), "value": float64(step) / 2}, map[string]any{"step": float64(2*step + 1), "value": "NaN"})
		acc = append(acc, map[string]any{"step": float64(2 * step), "value": float64(step)}, map[string]any{"step": float64(2*step + 1), "value": "Infinity"})
	}
	assert.Equal(t, loss, get(d, "node", "loss", "points"))
	assert.Equal(t, acc, get(d, "node", "acc", "points"))
}
