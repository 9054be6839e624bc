package main

import (
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
