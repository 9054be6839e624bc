package main

import (
	"fmt"
	"slices"
	"testing"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/internal/neo4jtest"
	"github.com/provgraph/provgraph/internal/pipegraph"
)

// The floor statement of the ML Metadata comparison finds each start's upstream cone,
// as the generator walks it: a floor that answered less would be no floor.
func TestConeFloorFindsTheUpstreamCone(t *testing.T) {
	st := neo4jtest.Store(t)
	cfg := neo4jtest.Config(t)
	ctx := t.Context()
	g, err := pipegraph.Generate(pipegraph.Plan{Endpoints: 3, Seed: 1, Prefix: "mlmd-" + neo4jtest.Token(t)})
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, writeGraphFiles(g, dir))
	for _, f := range mlmdImportFiles {
		_, err := timedImport(ctx, st, dir, f.file, f.format)
		require.NoError(t, err)
	}
	driver, err := neo4j.NewDriverWithContext(cfg.URI, neo4j.BasicAuth(cfg.User, cfg.Password, ""))
	require.NoError(t, err)
	defer driver.Close(ctx)
	for _, ep := range g.Endpoints {
		start := g.Nodes[ep].ID
		got, err := coneFloor(ctx, driver, cfg.Database, start)
		require.NoError(t, err)
		want := g.Upstream(start, mlmdDepth)
		require.Greater(t, len(want), 10, "a cone of more than the start")
		require.NoError(t, mlmdCheck(g, start, mlmdDepth, answer{"the floor statement", got}))
	}
}

// The import floor writes the graph's nodes and edges, each once and of its type: a
// floor that wrote less would be no floor.
func TestImportFloorWritesTheGraph(t *testing.T) {
	cfg := neo4jtest.Config(t)
	ctx := t.Context()
	g, err := pipegraph.Generate(pipegraph.Plan{Endpoints: 3, Seed: 1, Prefix: "floor"})
	require.NoError(t, err)
	driver, err := neo4j.NewDriverWithContext(cfg.URI, neo4j.BasicAuth(cfg.User, cfg.Password, ""))
	require.NoError(t, err)
	defer driver.Close(ctx)
	prefix := neo4jtest.Token(t) + ":"
	_, err = importFloor(ctx, driver, cfg.Database, g, prefix)
	require.NoError(t, err)

	res, err := neo4j.ExecuteQuery(ctx, driver, `
MATCH (n:`+labelOLFloor+`) WHERE n.key STARTS WITH $prefix
OPTIONAL MATCH (n)-[r]->(m:`+labelOLFloor+`)
RETURN n.key AS key, n.kind AS kind, collect(type(r) + ' ' + m.key) AS out`,
		map[string]any{"prefix": prefix}, neo4j.EagerResultTransformer, neo4j.ExecuteQueryWithDatabase(cfg.Database))
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
	require.Equal(t, want, got, "each node once, of its kind, with its edges out")
}
