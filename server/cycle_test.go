package server_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// Provenance can form a cycle: a dataset version recorded first can later be written
// by a job downstream of it. provgraph accepts the record (it is what the pipeline
// reported) and every traversal terminates with each node once.
func TestCyclesAreTraversedSafely(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	s := recordSlice(t, h)
	tk := s.token
	register := func(path string) string {
		d := mustDo(t, h, registerDatasetVersion, map[string]any{"input": map[string]any{"uri": "s3://loop-" + tk + "/" + path, "digest": "sha256:" + path}})
		return get(d, "registerDatasetVersion", "datasetVersion", "id").(string)
	}
	a, b := register("a"), register("b")
	process := func(name, in, out string) string {
		d := mustDo(t, h, recordProcessingJob, map[string]any{"input": map[string]any{
			"namespace": "loop-" + tk, "name": name, "inputs": []string{in}, "outputs": []string{out},
		}})
		return get(d, "recordProcessingJob", "processingJob", "id").(string)
	}
	ab := process("a-to-b", a, b)
	ba := process("b-to-a", b, a) // closes the cycle a → ab → b → ba → a
	cycle := []string{a, ab, b, ba}

	for _, dir := range []string{"UPSTREAM", "DOWNSTREAM", "BOTH"} {
		for _, depth := range []int{1, 3, 50} {
			d := mustDo(t, h, lineageQuery, map[string]any{"start": []string{a}, "direction": dir, "maxDepth": depth})
			got := ids(get(d, "lineage", "nodes"))
			assert.Subset(t, cycle, got, "%s %d", dir, depth)
			seen := map[string]bool{}
			for _, id := range got {
				assert.False(t, seen[id], "%s listed twice", id)
				seen[id] = true
			}
			if depth == 50 {
				assert.ElementsMatch(t, cycle, got, dir)
			}
		}
	}
	d := mustDo(t, h, pathsQuery, map[string]any{"from": a, "to": b})
	assert.Equal(t, []string{a, ab, b}, ids(get(d, "paths", 0, "nodes")))
	d = mustDo(t, h, pathsQuery, map[string]any{"from": b, "to": a})
	assert.Equal(t, []string{b, ba, a}, ids(get(d, "paths", 0, "nodes")), "both directions are real paths in a cycle")
	d = mustDo(t, h, impactQuery, map[string]any{"of": a})
	assert.Empty(t, get(d, "impact", "modelVersions"))
}
