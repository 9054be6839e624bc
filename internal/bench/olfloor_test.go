package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/auth"
	"github.com/provgraph/provgraph/internal/neo4jtest"
	"github.com/provgraph/provgraph/server"
	"github.com/provgraph/provgraph/store"
)

// cypherEventShapes describes what the graph holds for each run of $runs: the
// properties of the run, its job, its output version and that version's dataset, of
// the edges between them and to the inputs, and the number of its edges of each kind.
// The nodes' labels differ (the floor's are its own); their kinds must not.
const cypherEventShapes = `
UNWIND $runs AS k
MATCH (r {key: k})-[ex:` + store.RelExecutedBy + `]->(j)
MATCH (j)-[p:` + store.RelProduced + `]->(v {key: r.outputs[0]})-[:` + store.RelVersionOf + `]->(d)
OPTIONAL MATCH (i)-[in:` + store.RelInputTo + `]->(j) WHERE i.key IN r.inputs
WITH r, ex, j, p, v, d, collect(in) AS ins
RETURN r.kind AS runKind, keys(r) AS run, j.kind AS jobKind, keys(j) AS job, v.kind AS versionKind, keys(v) AS version,
  d.kind AS datasetKind, keys(d) AS dataset, keys(ex) AS executedBy, keys(p) AS produced,
  [x IN ins | keys(x)] AS inputs, COUNT { (r)-[:` + store.RelInExperiment + `]->() } AS experiments`

// eventShapes returns the shape of each run of runs, sorted.
func eventShapes(t *testing.T, driver neo4j.DriverWithContext, db string, runs []string) []string {
	t.Helper()
	res, err := neo4j.ExecuteQuery(t.Context(), driver, cypherEventShapes, map[string]any{"runs": runs}, neo4j.EagerResultTransformer, neo4j.ExecuteQueryWithDatabase(db))
	require.NoError(t, err)
	var shapes []string
	for _, rec := range res.Records {
		m := rec.AsMap()
		for k, v := range m {
			if l, ok := v.([]any); ok {
				m[k] = sortedStrings(l)
			}
		}
		b, err := json.Marshal(m)
		require.NoError(t, err)
		shapes = append(shapes, string(b))
	}
	slices.Sort(shapes)
	return shapes
}

// sortedStrings sorts a list of property names, or each list of a list of them.
func sortedStrings(l []any) any {
	out := make([]string, 0, len(l))
	for _, x := range l {
		if inner, ok := x.([]any); ok {
			b, _ := json.Marshal(sortedStrings(inner))
			out = append(out, string(b))
			continue
		}
		out = append(out, x.(string))
	}
	slices.Sort(out)
	return out
}

// The OpenLineage floor writes, for the benchmark's events, what provgraph records for
// the same events: the same kinds of nodes with the same properties, joined by the same
// edges with the same properties. Were it to write more than provgraph must, its rate
// would not bound provgraph's; were it to write less, it would bound it loosely.
func TestOLFloorWritesWhatProvgraphRecords(t *testing.T) {
	st := neo4jtest.Store(t)
	cfg := neo4jtest.Config(t)
	ctx := t.Context()
	driver, err := neo4j.NewDriverWithContext(cfg.URI, neo4j.BasicAuth(cfg.User, cfg.Password, ""))
	require.NoError(t, err)
	t.Cleanup(func() { _ = driver.Close(context.Background()) })
	tok := neo4jtest.Token(t)
	expires := time.Now().Add(time.Hour)
	_, bearer, err := st.CreateAPIToken(ctx, "test", store.NewAPIToken{Name: "olfloor-" + tok, Role: auth.RoleWriter, ExpiresAt: &expires})
	require.NoError(t, err)
	srv := httptest.NewServer(server.New(server.Options{Store: st, Logger: zerolog.Nop()}))
	t.Cleanup(srv.Close)
	client := &http.Client{Transport: auth.BearerTransport(bearer, http.DefaultTransport)}

	const events = 60 // 50 jobs: some run twice
	ns := "bench-ol-" + tok
	batches := olBatches(ns, 0, events)
	recorded, _, err := olIngest(client, srv.URL, [][][]byte{batches})
	require.NoError(t, err)
	require.Equal(t, events, recorded)
	var sent []struct{ Run struct{ RunID string } }
	require.NoError(t, json.Unmarshal(batches[0], &sent))
	var pgRuns []string
	for _, e := range sent {
		pgRuns = append(pgRuns, "run:"+strings.ReplaceAll(e.Run.RunID, "-", ""))
	}

	floorNS := "bench-ol-floor-" + tok
	rows := olFloorBatches(floorNS, 0, events)
	_, err = olFloor(ctx, driver, cfg.Database, labelOLFloor, floorNS, [][][]map[string]any{rows})
	require.NoError(t, err)
	var floorRuns []string
	for _, r := range rows[0] {
		floorRuns = append(floorRuns, r["run"].(string))
	}

	pg := eventShapes(t, driver, cfg.Database, pgRuns)
	floor := eventShapes(t, driver, cfg.Database, floorRuns)
	require.Len(t, pg, events, "provgraph's runs, each with its job, output version and dataset")
	assert.Equal(t, pg, floor)
}
