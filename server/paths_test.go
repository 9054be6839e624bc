package server_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const pathsQuery = `query($from: ID!, $to: ID!, $maxDepth: Int) {
  paths(from: $from, to: $to, maxDepth: $maxDepth) { length nodes { id } edges { from to type } }
}`

func TestPathsBetweenDatasetAndEndpoint(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	s := recordSlice(t, h)
	want := []string{s.dataset, s.job, s.artifact, s.version, s.endpoint}

	paths := func(from, to string, depth any) []any {
		d := mustDo(t, h, pathsQuery, map[string]any{"from": from, "to": to, "maxDepth": depth})
		return get(d, "paths").([]any)
	}
	for name, ends := range map[string][2]string{
		"dataset version to endpoint": {s.dataset, s.endpoint},
		"given the other way round":   {s.endpoint, s.dataset},
		"from the dataset":            {datasetOf(s), s.endpoint},
	} {
		t.Run(name, func(t *testing.T) {
			got := paths(ends[0], ends[1], nil)
			require.Len(t, got, 1)
			assert.Equal(t, float64(4), get(got[0], "length"))
			assert.Equal(t, want, ids(get(got[0], "nodes")))
			assert.Equal(t, []any{
				map[string]any{"from": s.dataset, "to": s.job, "type": "INPUT_TO"},
				map[string]any{"from": s.job, "to": s.artifact, "type": "PRODUCED"},
				map[string]any{"from": s.artifact, "to": s.version, "type": "REGISTERED_AS"},
				map[string]any{"from": s.version, "to": s.endpoint, "type": "DEPLOYED_TO"},
			}, get(got[0], "edges"))
		})
	}
	assert.Empty(t, paths(s.dataset, s.endpoint, 3), "the path is 4 edges long")

	// A second route of the same length through another job and model version, served
	// under another variant: both shortest paths come back, ordered by their nodes.
	d := mustDo(t, h, recordTrainingJob, map[string]any{"input": map[string]any{
		"namespace": "sagemaker-" + s.token, "name": "fraud-train-2", "inputs": []string{s.dataset},
		"modelArtifact": map[string]any{"uri": "s3://models-" + s.token + "/fraud2/model.tar.gz"},
	}})
	job2 := get(d, "recordTrainingJob", "trainingJob", "id").(string)
	d = mustDo(t, h, registerModelVersion, map[string]any{"input": map[string]any{
		"model": "fraud-" + s.token, "source": "s3://models-" + s.token + "/fraud2/model.tar.gz", "producedBy": job2,
	}})
	v2 := get(d, "registerModelVersion", "modelVersion", "id").(string)
	mustDo(t, h, deployModelVersion, map[string]any{"input": map[string]any{
		"endpoint": "fraud-prod-" + s.token, "modelVersion": v2, "variant": "Challenger", "trafficShare": 0.1,
	}})
	got := paths(s.dataset, s.endpoint, nil)
	require.Len(t, got, 2)
	assert.Equal(t, want, ids(get(got[0], "nodes")))
	assert.Equal(t, []string{s.dataset, job2, "artifact:s3://models-" + s.token + "/fraud2/model.tar.gz", v2, s.endpoint}, ids(get(got[1], "nodes")))

	// A job that only read the same dataset does not reach the endpoint.
	d = mustDo(t, h, recordTrainingJob, map[string]any{"input": map[string]any{
		"namespace": "sagemaker-" + s.token, "name": "side", "inputs": []string{s.dataset},
		"modelArtifact": map[string]any{"uri": "s3://models-" + s.token + "/side/model.tar.gz"},
	}})
	assert.Empty(t, paths(get(d, "recordTrainingJob", "trainingJob", "id").(string), s.endpoint, nil))

	for _, tt := range []struct {
		name, from, to string
		depth          any
		code, field    string
	}{
		{"unknown from", "endpoint:none-" + s.token, s.endpoint, nil, "NOT_FOUND", "from"},
		{"malformed to", s.dataset, "nonsense", nil, "INVALID_ARGUMENT", "to"},
		{"depth 0", s.dataset, s.endpoint, 0, "INVALID_ARGUMENT", "maxDepth"},
		{"depth above the cap", s.dataset, s.endpoint, 51, "INVALID_ARGUMENT", "maxDepth"},
		{"same node", s.dataset, s.dataset, nil, "INVALID_ARGUMENT", "to"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp := do(t, h, pathsQuery, map[string]any{"from": tt.from, "to": tt.to, "maxDepth": tt.depth})
			require.Len(t, resp.Errors, 1)
			assert.Equal(t, tt.code, resp.Errors[0].Extensions["code"], resp.Errors[0].Message)
			assert.Equal(t, tt.field, resp.Errors[0].Extensions["field"])
		})
	}
}
