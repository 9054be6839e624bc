package server_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	lineageAsOf = `query($start: [ID!]!, $direction: LineageDirection!, $kinds: [NodeKind!], $asOf: Time) {
  lineage(start: $start, direction: $direction, kinds: $kinds, asOf: $asOf) { nodes { id } edges { from to type } truncated }
}`
	servedAt = `query($endpoint: ID!, $at: Time) { servedAt(endpoint: $endpoint, at: $at) { variant trafficShare from to modelVersion { id } } }`
)

// kinds filters what is returned, not what is traversed.
func TestLineageKindsTraverseThroughHiddenKinds(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	s := recordSlice(t, h)

	d := mustDo(t, h, lineageAsOf, map[string]any{"start": []string{s.endpoint}, "direction": "UPSTREAM", "kinds": []string{"DATASET_VERSION"}})
	assert.Equal(t, []string{s.endpoint, s.dataset}, ids(get(d, "lineage", "nodes")))
	assert.Empty(t, get(d, "lineage", "edges"), "no edge joins the endpoint and the dataset version directly")

	d = mustDo(t, h, lineageAsOf, map[string]any{"start": []string{s.endpoint}, "direction": "UPSTREAM", "kinds": []string{"TRAINING_JOB", "DATASET_VERSION"}})
	assert.ElementsMatch(t, []string{s.endpoint, s.job, s.dataset}, ids(get(d, "lineage", "nodes")))
	assert.Equal(t, []any{map[string]any{"from": s.dataset, "to": s.job, "type": "INPUT_TO"}}, get(d, "lineage", "edges"))
}

// An endpoint redeployed from version 1 to version 2: asked as of a moment, lineage and
// servedAt answer with what served then.
func TestAsOfFollowsDeploymentsOverTime(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	s := recordSlice(t, h)
	d := mustDo(t, h, servedAt, map[string]any{"endpoint": s.endpoint})
	v1From := get(d, "servedAt", 0, "from").(string)

	d = mustDo(t, h, registerModelVersion, map[string]any{"input": map[string]any{
		"model": "fraud-" + s.token, "source": "s3://models-" + s.token + "/fraud/model.tar.gz", "producedBy": s.job,
	}})
	v2 := get(d, "registerModelVersion", "modelVersion", "id").(string)
	d = mustDo(t, h, deployModelVersion, map[string]any{"input": map[string]any{"endpoint": "fraud-prod-" + s.token, "modelVersion": v2, "trafficShare": 0.9}})
	v2From := get(d, "deployModelVersion", "deployment", "from").(string)
	before := mustParse(t, v1From).Add(-time.Millisecond).Format(time.RFC3339Nano)

	served := func(at any) []any {
		d := mustDo(t, h, servedAt, map[string]any{"endpoint": s.endpoint, "at": at})
		return mapList(get(d, "servedAt"), "modelVersion")
	}
	assert.Equal(t, []any{map[string]any{"id": s.version}}, served(v1From), "version 1 served from its deployment on")
	assert.Equal(t, []any{map[string]any{"id": v2}}, served(v2From), "version 2 replaced it at that instant")
	assert.Equal(t, []any{map[string]any{"id": v2}}, served(nil), "now")
	assert.Empty(t, served(before), "nothing served before the first deployment")
	d = mustDo(t, h, servedAt, map[string]any{"endpoint": s.endpoint})
	assert.Equal(t, 0.9, get(d, "servedAt", 0, "trafficShare"))

	upstream := func(asOf any) []string {
		d := mustDo(t, h, lineageAsOf, map[string]any{"start": []string{s.endpoint}, "direction": "UPSTREAM", "asOf": asOf})
		return ids(get(d, "lineage", "nodes"))
	}
	assert.ElementsMatch(t, []string{s.endpoint, s.version, s.artifact, s.job, s.dataset}, upstream(v1From))
	assert.ElementsMatch(t, []string{s.endpoint, v2, s.artifact, s.job, s.dataset}, upstream(v2From))
	assert.ElementsMatch(t, []string{s.endpoint, s.version, v2, s.artifact, s.job, s.dataset}, upstream(nil),
		"without asOf, the history: both versions served this endpoint")

	// Downstream of the dataset version as of version 1's deployment: version 2 and
	// its deployment did not exist yet.
	d = mustDo(t, h, lineageAsOf, map[string]any{"start": []string{s.dataset}, "direction": "DOWNSTREAM", "asOf": v1From})
	assert.NotContains(t, ids(get(d, "lineage", "nodes")), v2)

	resp := do(t, h, lineageAsOf, map[string]any{"start": []string{s.endpoint}, "direction": "UPSTREAM", "asOf": before})
	require.Len(t, resp.Errors, 1)
	assert.Equal(t, "NOT_FOUND", resp.Errors[0].Extensions["code"])
	assert.Equal(t, "start[0]", resp.Errors[0].Extensions["field"])
	assert.Contains(t, resp.Errors[0].Message, "after asOf")

	resp = do(t, h, servedAt, map[string]any{"endpoint": "endpoint:none-" + s.token})
	require.Len(t, resp.Errors, 1)
	assert.Equal(t, "NOT_FOUND", resp.Errors[0].Extensions["code"])
	assert.Equal(t, "endpoint", resp.Errors[0].Extensions["field"])
	resp = do(t, h, servedAt, map[string]any{"endpoint": s.version})
	require.Len(t, resp.Errors, 1)
	assert.Equal(t, "INVALID_ARGUMENT", resp.Errors[0].Extensions["code"])
	resp = do(t, h, servedAt, map[string]any{"endpoint": s.endpoint, "at": "last tuesday"})
	require.Len(t, resp.Errors, 1)
	assert.Equal(t, "INVALID_ARGUMENT", resp.Errors[0].Extensions["code"])
	assert.Equal(t, "at", resp.Errors[0].Extensions["field"])
}

func mustParse(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	require.NoError(t, err)
	return v
}

// An endpoint's deployment history pages newest first with honest cursors.
func TestDeploymentHistoryPages(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	s := recordSlice(t, h)
	versions := []string{s.version}
	for range 3 {
		d := mustDo(t, h, registerModelVersion, map[string]any{"input": map[string]any{
			"model": "fraud-" + s.token, "source": "s3://models-" + s.token + "/fraud/model.tar.gz",
		}})
		v := get(d, "registerModelVersion", "modelVersion", "id").(string)
		mustDo(t, h, deployModelVersion, map[string]any{"input": map[string]any{"endpoint": "fraud-prod-" + s.token, "modelVersion": v}})
		versions = append(versions, v)
	}
	const q = `query($id: ID!, $first: Int, $after: String) { node(id: $id) { ... on Endpoint {
  deploymentHistory(first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { to modelVersion { id } } } }
} } }`
	var got []string
	var after any
	for page := 0; ; page++ {
		require.Less(t, page, 5)
		d := mustDo(t, h, q, map[string]any{"id": s.endpoint, "first": 3, "after": after})
		conn := get(d, "node", "deploymentHistory")
		assert.Equal(t, float64(4), get(conn, "totalCount"))
		for _, e := range get(conn, "edges").([]any) {
			got = append(got, get(e, "node", "modelVersion", "id").(string))
		}
		if get(conn, "pageInfo", "hasNextPage") != true {
			break
		}
		after = get(conn, "pageInfo", "endCursor")
	}
	assert.Equal(t, []string{versions[3], versions[2], versions[1], versions[0]}, got, "newest first, each once")

	for _, tt := range []struct {
		vars  map[string]any
		field string
	}{
		{map[string]any{"id": s.endpoint, "first": 0}, "first"},
		{map[string]any{"id": s.endpoint, "first": 101}, "first"},
		{map[string]any{"id": s.endpoint, "after": "bogus"}, "after"},
	} {
		resp := do(t, h, q, tt.vars)
		require.Len(t, resp.Errors, 1)
		assert.Equal(t, "INVALID_ARGUMENT", resp.Errors[0].Extensions["code"])
		assert.Equal(t, tt.field, resp.Errors[0].Extensions["field"])
	}
}
