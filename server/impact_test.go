package server_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/internal/neo4jtest"
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

// Impact of data behind many models comes in pages: each page continues where the last
// stopped, an endpoint is flagged as serving an affected version even when that version
// was on an earlier page, and the cursor is refused for another question.
func TestImpactPages(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	tk := neo4jtest.Token(t)
	d := mustDo(t, h, registerDatasetVersion, map[string]any{"input": map[string]any{"uri": "s3://lake-" + tk + "/shared", "digest": "sha256:1"}})
	shared := get(d, "registerDatasetVersion", "datasetVersion", "id").(string)
	var versions, endpoints []string
	for _, name := range []string{"a", "b", "c"} {
		mustDo(t, h, recordTrainingJob, map[string]any{"input": map[string]any{
			"namespace": "ns-" + tk, "name": name, "inputs": []string{shared},
			"modelArtifact": map[string]any{"uri": "s3://models-" + tk + "/" + name},
		}})
		d = mustDo(t, h, registerModelVersion, map[string]any{"input": map[string]any{
			"model": "m-" + name + "-" + tk, "source": "s3://models-" + tk + "/" + name, "producedBy": "job:ns-" + tk + ":" + name,
		}})
		v := get(d, "registerModelVersion", "modelVersion", "id").(string)
		mustDo(t, h, deployModelVersion, map[string]any{"input": map[string]any{"endpoint": "ep-" + name + "-" + tk, "modelVersion": v}})
		versions = append(versions, v)
		endpoints = append(endpoints, "endpoint:ep-"+name+"-"+tk)
	}
	const paged = `query($of: ID!, $budget: Int, $after: String) {
  impact(of: $of, budget: $budget, after: $after) {
    modelVersions { id }
    endpoints { endpoint { id } servingNow servingVersions { id } }
    truncated
    pageInfo { hasNextPage endCursor }
  }
}`
	var gotVersions, gotEndpoints []string
	vars := map[string]any{"of": shared, "budget": 2}
	for page := 0; ; page++ {
		require.Less(t, page, 4, "paging ends")
		im := get(mustDo(t, h, paged, vars), "impact")
		gotVersions = append(gotVersions, ids(get(im, "modelVersions"))...)
		for _, e := range get(im, "endpoints").([]any) {
			id := get(e, "endpoint", "id").(string)
			gotEndpoints = append(gotEndpoints, id)
			assert.Equal(t, true, get(e, "servingNow"), id)
			assert.Len(t, get(e, "servingVersions"), 1, id)
		}
		assert.Equal(t, get(im, "truncated"), get(im, "pageInfo", "hasNextPage"))
		if get(im, "truncated") == false {
			assert.Nil(t, get(im, "pageInfo", "endCursor"))
			break
		}
		vars["after"] = get(im, "pageInfo", "endCursor")
	}
	assert.Equal(t, versions, gotVersions, "model versions (depth 3) before endpoints (depth 4), by ID")
	assert.Equal(t, endpoints, gotEndpoints)

	for _, tt := range []struct {
		vars  map[string]any
		field string
	}{
		{map[string]any{"of": shared, "budget": 0}, "budget"},
		{map[string]any{"of": shared, "budget": 5001}, "budget"},
		{map[string]any{"of": shared, "after": "nope"}, "after"},
		{map[string]any{"of": versions[0], "after": vars["after"]}, "after"},
	} {
		resp := do(t, h, paged, tt.vars)
		require.Len(t, resp.Errors, 1, tt.vars)
		assert.Equal(t, "INVALID_ARGUMENT", resp.Errors[0].Extensions["code"], tt.vars)
		assert.Equal(t, tt.field, resp.Errors[0].Extensions["field"], tt.vars)
	}
}
