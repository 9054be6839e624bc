package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/internal/neo4jtest"
	"github.com/provgraph/provgraph/internal/pipegraph"
	"github.com/provgraph/provgraph/store"
)

// importedPipegraph generates a small pipeline graph of the test's own, imports it as
// the ML Metadata comparison does, and returns it with a driver of the test database.
func importedPipegraph(t *testing.T) (*pipegraph.Graph, neo4j.DriverWithContext, string) {
	t.Helper()
	st := neo4jtest.Store(t)
	cfg := neo4jtest.Config(t)
	g, err := pipegraph.Generate(pipegraph.Plan{Endpoints: 3, Seed: 1, Prefix: "mlmd-" + neo4jtest.Token(t)})
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, writeGraphFiles(g, dir))
	for _, f := range mlmdImportFiles {
		_, err := timedImport(t.Context(), st, dir, f.file, f.format)
		require.NoError(t, err)
	}
	driver, err := neo4j.NewDriverWithContext(cfg.URI, neo4j.BasicAuth(cfg.User, cfg.Password, ""))
	require.NoError(t, err)
	t.Cleanup(func() { _ = driver.Close(context.Background()) })
	return g, driver, cfg.Database
}

// The floor statement of the ML Metadata comparison finds each start's upstream cone
// exactly, as the generator walks it (with fewer nodes it would do less than any answer
// needs, with more, more), and Neo4j walks it with the pruning breadth-first expansion
// it walks provgraph's lineage statement with (store/lineage.go).
func TestConeFloorFindsTheUpstreamCone(t *testing.T) {
	g, driver, db := importedPipegraph(t)
	for _, ep := range g.Endpoints {
		start := g.Nodes[ep].ID
		got, err := coneFloor(t.Context(), driver, db, start)
		require.NoError(t, err)
		require.Greater(t, len(g.Upstream(start, mlmdDepth)), 10, "a cone of more than the start")
		require.NoError(t, mlmdCheck(g, start, mlmdDepth, answer{"the floor statement", got}))
	}
	res, err := neo4j.ExecuteQuery(t.Context(), driver, "EXPLAIN "+cypherConeFloor, map[string]any{"start": g.Nodes[g.Endpoints[0]].ID},
		neo4j.EagerResultTransformer, neo4j.ExecuteQueryWithDatabase(db))
	require.NoError(t, err)
	var operators []string
	var walk func(p neo4j.Plan)
	walk = func(p neo4j.Plan) {
		operators = append(operators, p.Operator())
		for _, c := range p.Children() {
			walk(c)
		}
	}
	walk(res.Summary.Plan())
	assert.True(t, slices.ContainsFunc(operators, func(op string) bool { return strings.HasPrefix(op, "VarLengthExpand(Pruning") }),
		"the plan's operators: %v", operators)
}

// The import floor writes each node of the graph once, of its kind, with its edges
// out, and no property provgraph does not store for it: were it to write more than
// provgraph must, its rate would not bound provgraph's.
func TestImportFloorWritesTheGraph(t *testing.T) {
	g, driver, db := importedPipegraph(t)
	prefix := neo4jtest.Token(t) + ":"
	_, err := importFloor(t.Context(), driver, db, g, prefix)
	require.NoError(t, err)

	res, err := neo4j.ExecuteQuery(t.Context(), driver, `
MATCH (n:`+labelOLFloor+`) WHERE n.key STARTS WITH $prefix
OPTIONAL MATCH (n)-[r]->(m:`+labelOLFloor+`)
WITH n, collect(type(r) + ' ' + m.key) AS out
MATCH (p:`+store.LabelNode+` {key: substring(n.key, size($prefix))})
RETURN n.key AS key, n.kind AS kind, out, [k IN keys(n) WHERE NOT k IN keys(p)] AS extra`,
		map[string]any{"prefix": prefix}, neo4j.EagerResultTransformer, neo4j.ExecuteQueryWithDatabase(db))
	require.NoError(t, err)
	got := map[string]string{}
	for _, rec := range res.Records {
		m := rec.AsMap()
		var out []string
		for _, o := range m["out"].([]any) {
			out = append(out, o.(string))
		}
		slices.Sort(out)
		got[m["key"].(string)] = fmt.Sprint(m["kind"], " ", out)
		assert.Empty(t, m["extra"], "properties of %s that provgraph does not store", m["key"])
	}
	outs := make([][]string, len(g.Nodes))
	for _, e := range g.Edges {
		outs[e.From] = append(outs[e.From], e.Type+" "+prefix+g.Nodes[e.To].ID)
	}
	want := map[string]string{}
	for i, n := range g.Nodes {
		slices.Sort(outs[i])
		want[prefix+n.ID] = fmt.Sprint(n.Kind, " ", outs[i])
	}
	require.Equal(t, want, got, "each node once, of its kind, with its edges out, and provgraph's copy of it")
}
