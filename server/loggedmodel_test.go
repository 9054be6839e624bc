package server_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/internal/neo4jtest"
	"github.com/provgraph/provgraph/store"
)

// An Artifact that is a logged model shows the model's status, parameters and tags as
// they change; any other artifact shows null and empty lists.
func TestArtifactShowsLoggedModel(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	st := neo4jtest.Store(t)
	tk := neo4jtest.Token(t)
	ctx := t.Context()
	const query = `query($id: ID!) { node(id: $id) { id ... on Artifact { uri status params { key value } tags { key value } } } }`
	artifact := func(id string) map[string]any {
		t.Helper()
		return get(mustDo(t, h, query, map[string]any{"id": id}), "node").(map[string]any)
	}

	e, err := st.CreateExperiment(ctx, "test", store.ExperimentInput{Name: "artifact-" + tk})
	require.NoError(t, err)
	id := store.NewLoggedModelID()
	m, err := st.CreateLoggedModel(ctx, "test", store.LoggedModelInput{
		ModelID: id, Experiment: e.Key, Name: "model", ArtifactLocation: "s3://models-" + tk + "/m",
		Params: []store.Param{{Key: "lr", Value: "0.01"}, {Key: "alpha", Value: "0.5"}},
		Tags:   []store.Tag{{Key: "team", Value: "risk"}},
	})
	require.NoError(t, err)
	got := artifact(m.Key)
	assert.Equal(t, "models:/"+id, got["uri"])
	assert.Equal(t, "PENDING", got["status"])
	assert.Equal(t, []any{map[string]any{"key": "alpha", "value": "0.5"}, map[string]any{"key": "lr", "value": "0.01"}}, got["params"], "sorted by key")
	assert.Equal(t, []any{map[string]any{"key": "team", "value": "risk"}}, got["tags"])

	for _, tt := range []struct {
		name   string
		update store.LoggedModelUpdate
		status string
		params int
		tags   []any
	}{
		{"finalized", store.LoggedModelUpdate{Status: ptr(store.LoggedModelReady)}, "READY", 2, []any{map[string]any{"key": "team", "value": "risk"}}},
		{"a parameter added", store.LoggedModelUpdate{AddParams: []store.Param{{Key: "epochs", Value: "3"}}}, "READY", 3, []any{map[string]any{"key": "team", "value": "risk"}}},
		{"a tag set, one deleted", store.LoggedModelUpdate{SetTags: []store.Tag{{Key: "stage", Value: "eval"}}, DeleteTags: []string{"team"}}, "READY", 3,
			[]any{map[string]any{"key": "stage", "value": "eval"}}},
	} {
		tt.update.ModelID = id
		_, err := st.UpdateLoggedModel(ctx, "test", tt.update)
		require.NoError(t, err, tt.name)
		got := artifact(m.Key)
		assert.Equal(t, tt.status, got["status"], tt.name)
		assert.Len(t, got["params"], tt.params, tt.name)
		assert.Equal(t, tt.tags, got["tags"], tt.name)
	}

	plain := "s3://models-" + tk + "/plain/model.tar.gz"
	_, _, _, err = st.RecordTrainingJob(ctx, "test", store.TrainingJobInput{
		Namespace: "artifact-" + tk, Name: "train", Status: store.JobCompleted,
		ModelArtifact: store.ArtifactInput{URI: plain},
	})
	require.NoError(t, err)
	got = artifact(store.ArtifactKey(plain))
	assert.Nil(t, got["status"], "a plain artifact has no status")
	assert.Equal(t, []any{}, got["params"])
	assert.Equal(t, []any{}, got["tags"])
}

func ptr[T any](v T) *T { return &v }
