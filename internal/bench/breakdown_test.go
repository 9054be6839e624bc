package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The samples of `go tool pprof -traces` output go to the phase of the first pattern
// that matches a frame of their stack, with their own value, "(inline)" frames
// included.
func TestSortSamples(t *testing.T) {
	traces := `File: bench
Type: cpu
Duration: 7.68s, Total samples = 3.33s (43.36%)
-----------+-------------------------------------------------------
      30ms   internal/runtime/syscall/linux.Syscall6
             syscall.Write (inline)
             net/http.(*persistConn).writeLoop
-----------+-------------------------------------------------------
     1.20s   github.com/neo4j/neo4j-go-driver/v5/neo4j/internal/packstream.(*Unpacker).Next (inline)
             github.com/provgraph/provgraph/store.nodesAt
             github.com/provgraph/provgraph/store.(*Store).Lineage
             net/http.(*conn).serve
-----------+-------------------------------------------------------
      10ms   runtime.mallocgc
             github.com/provgraph/provgraph/resolvers.toNodes
             github.com/99designs/gqlgen/graphql/executor.(*Executor).DispatchOperation
-----------+-------------------------------------------------------
      20ms   runtime.gcBgMarkWorker
`
	byPhase, total := sortSamples([]byte(traces))
	assert.Equal(t, 1260*time.Millisecond, total)
	assert.Equal(t, map[string]time.Duration{
		"bench client (request, response reading)": 30 * time.Millisecond,
		"Neo4j driver: decoding records":           1200 * time.Millisecond,
		"resolvers: mapping to GraphQL types":      10 * time.Millisecond,
		"garbage collection (background)":          20 * time.Millisecond,
	}, byPhase)
}

// A full benchmark run keeps the hand-written breakdown section of BENCHMARKS.md.
func TestReportKeepsTheBreakdownSection(t *testing.T) {
	file := filepath.Join(t.TempDir(), "BENCHMARKS.md")
	doc := "# Benchmarks\n\n## Lineage on a seeded graph\n\nold\n\n" + breakdownHeading + "\n\nbefore and after\n\n### After\n\nnumbers\n\n## Search\n\nold\n"
	require.NoError(t, os.WriteFile(file, []byte(doc), 0o644))
	require.NoError(t, writeReport(file, report{requests: 10, results: []result{{name: "lineage over HTTP"}}}))
	out, err := os.ReadFile(file)
	require.NoError(t, err)
	assert.Contains(t, string(out), breakdownHeading+"\n\nbefore and after\n\n### After\n\nnumbers\n")
	assert.Equal(t, 1, strings.Count(string(out), breakdownHeading))
}

// A full benchmark run keeps the sections people wrote by hand, where they were
// relative to the ones it writes (before the load test's), and drops none twice.
func TestReportKeepsHandWrittenSections(t *testing.T) {
	file := filepath.Join(t.TempDir(), "BENCHMARKS.md")
	doc := "# Benchmarks\n\n## Lineage on a seeded graph\n\nstale-lineage\n\n## Search\n\nstale-search\n\n" +
		"## Before and after a change\n\n| run | x |\n\n### Details\n\nmore\n\n## Load test\n\nkept\n"
	require.NoError(t, os.WriteFile(file, []byte(doc), 0o644))
	require.NoError(t, writeReport(file, report{requests: 10, results: []result{{name: "lineage over HTTP"}}, tracking: "\n## Search\n\nnew\n"}))
	out, err := os.ReadFile(file)
	require.NoError(t, err)
	got := string(out)
	assert.Contains(t, got, "\n## Before and after a change\n\n| run | x |\n\n### Details\n\nmore\n")
	assert.Contains(t, got, "\n## Search\n\nnew\n")
	assert.NotContains(t, got, "stale-")
	assert.Equal(t, 1, strings.Count(got, "## Search"))
	assert.Equal(t, 1, strings.Count(got, "## Lineage on a seeded graph"))
	assert.Less(t, strings.Index(got, "## Before and after"), strings.Index(got, "## Load test\n\nkept"))
}
