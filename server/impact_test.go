package server_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const impactQuery = `query($of: ID!) {
  impact(of: $of) {
    modelVersions { id }
    endpoints { endpoint { id } servingNow servingVersions { id } }
    truncated
  }
}`

// A poisoned dataset version: which model versions came from it, and which endpoints
// serve one of them now (production does; staging moved on to an unrelated model).
func TestImpactFlagsEndpointsServingNow(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	s := recordSlice(t, h)
	tk := s.token

	// Staging served version 1, then a model trained on other data.
	mustDo(t, h, deployModelVersion, map[string]any{"input": map[string]any{"endpoint": "fraud-staging-" + tk, "modelVersion": s.version}})
	d := mustDo(t, h, registerDatasetVersion, map[string]any{"input": map[string]any{"uri": "s3://lake-" + tk + "/clean", "digest": "sha256:2"}})
	clean := get(d, "registerDatasetVersion", "datasetVersion", "id").(string)
	mustDo(t, h, recordTrainingJob, map[string]any{"input": map[string]any{
		"namespace": "sagemaker-" + tk, "name": "clean-train", "inputs": []string{clean},
		"modelArtifact": map[string]any{"uri": "s3://models-" + tk + "/clean/model.tar.gz"},
	}})
	d = mustDo(t, h, registerModelVersion, map[string]any{"input": map[string]any{
		"model": "clean-" + tk, "source": "s3://models-" + tk + "/clean/model.tar.gz", "producedBy": "job:sagemaker-" + tk + ":clean-train",
	}})
	cleanVersion := get(d, "registerModelVersion", "modelVersion", "id").(string)
	mustDo(t, h, deployModelVersion, map[string]any{"input": map[string]any{"endpoint": "fraud-staging-" + tk, "modelVersion": cleanVersion}})

	for _, of := range []string{s.dataset, datasetOf(s)} {
		d = mustDo(t, h, impactQuery, map[string]any{"of": of})
		im := get(d, "impact")
		assert.Equal(t, []string{s.version}, ids(get(im, "modelVersions")), of)
		assert.Equal(t, false, get(im, "truncated"))
		assert.ElementsMatch(t, []any{
			map[string]any{"endpoint": map[string]any{"id": s.endpoint}, "servingNow": true,
				"servingVersions": []any{map[string]any{"id": s.version}}},
			map[string]any{"endpoint": map[string]any{"id": "endpoint:fraud-staging-" + tk}, "servingNow": false,
				"servingVersions": []any{}},
		}, get(im, "endpoints"), of)
	}

	d = mustDo(t, h, impactQuery, map[string]any{"of": clean})
	assert.Equal(t, []string{cleanVersion}, ids(get(d, "impact", "modelVersions")))

	resp := do(t, h, impactQuery, map[string]any{"of": "datasetVersion:s3://nowhere-" + tk + ":x#1"})
	require.Len(t, resp.Errors, 1)
	assert.Equal(t, "NOT_FOUND", resp.Errors[0].Extensions["code"])
	assert.Equal(t, "of", resp.Errors[0].Extensions["field"])
}
