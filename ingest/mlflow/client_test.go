package mlflow_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/auth"
	"github.com/provgraph/provgraph/internal/authtest"
	"github.com/provgraph/provgraph/internal/neo4jtest"
	"github.com/provgraph/provgraph/internal/pyclient"
	"github.com/provgraph/provgraph/server"
	"github.com/provgraph/provgraph/store"
)

// The stock mlflow client, driven by testdata/client.py against the real handler with a
// writer's API token in MLFLOW_TRACKING_TOKEN: an experiment, nested runs with parameters, metrics over steps (NaN among them), tags, a
// dataset input, an artifact written and read back, searches with a filter (and OR),
// metric history, a registered model with a version and an alias, and an MLflow 3
// logged model registered from models:/<model id> and downloaded back. Then, through
// the store, the run, its dataset and its model version are connected in lineage, and
// through GraphQL the logged model's versions reach it, its run and the run's dataset.
func TestTheMLflowClient(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	tk := neo4jtest.Token(t)
	writer := authtest.NewToken(t, st, auth.RoleWriter)
	srv := httptest.NewServer(server.New(server.Options{Store: st, Logger: zerolog.Nop(), ArtifactRoot: t.TempDir()}))
	t.Cleanup(srv.Close)

	out := pyclient.Run(t, 3*time.Minute, []string{"MLFLOW_TRACKING_URI=" + srv.URL, "MLFLOW_TRACKING_TOKEN=" + writer.Token,
		"PROVGRAPH_TEST_TOKEN=" + tk}, "testdata/client.py")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var ids struct {
		Run, Parent, Experiment, Model     string
		LoggedModel, LoggedRun, LoggedName string
	}
	require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &ids), out)

	run := store.RunKey(ids.Run)
	l, err := st.Lineage(t.Context(), store.LineageQuery{Start: []string{run}, Direction: store.Both, MaxDepth: 2})
	require.NoError(t, err)
	var keys []string
	for _, n := range l.Nodes {
		keys = append(keys, n.Key)
	}
	assert.ElementsMatch(t, []string{
		run,
		"datasetVersion:mlflow:customers-" + tk + "#9f2c1a7e",
		store.ModelVersionKey(ids.Model, 1),
	}, keys, "the run between its dataset and its model version")
	parent, err := st.ParentOfRun(t.Context(), run)
	require.NoError(t, err)
	require.Len(t, parent, 1)
	assert.Equal(t, store.RunKey(ids.Parent), parent[0].Key)
	r, err := st.NodeByID(t.Context(), "id", run)
	require.NoError(t, err)
	assert.Equal(t, writer.Actor, r.RecordedBy, "the run was recorded by the token's actor")

	// Through GraphQL: both versions registered from the logged model reach it, the run
	// that logged it and the dataset the run read, upstream.
	for _, version := range []int64{1, 2} {
		body, err := json.Marshal(map[string]any{
			"query":     `query($v: ID!) { lineage(start: [$v], direction: UPSTREAM) { nodes { id kind } edges { from to type } } }`,
			"variables": map[string]any{"v": store.ModelVersionKey(ids.LoggedName, version)},
		})
		require.NoError(t, err)
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+server.GraphQLPath, bytes.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+writer.Token)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		var answer struct {
			Data struct {
				Lineage struct {
					Nodes []struct{ ID, Kind string }
					Edges []struct{ From, To, Type string }
				}
			}
			Errors []any
		}
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&answer))
		require.NoError(t, resp.Body.Close())
		require.Empty(t, answer.Errors)
		nodes := map[string]string{}
		for _, n := range answer.Data.Lineage.Nodes {
			nodes[n.ID] = n.Kind
		}
		logged := store.LoggedModelKey(ids.LoggedModel)
		assert.Equal(t, map[string]string{
			store.ModelVersionKey(ids.LoggedName, version): "MODEL_VERSION",
			logged:                      "ARTIFACT",
			store.RunKey(ids.LoggedRun): "RUN",
			"datasetVersion:mlflow:customers-" + tk + "#9f2c1a7e": "DATASET_VERSION",
		}, nodes, "version %d", version)
		assert.Contains(t, answer.Data.Lineage.Edges, struct{ From, To, Type string }{logged, store.ModelVersionKey(ids.LoggedName, version), "REGISTERED_AS"})
		assert.Contains(t, answer.Data.Lineage.Edges, struct{ From, To, Type string }{store.RunKey(ids.LoggedRun), logged, "PRODUCED"})
	}
}
