package mlflow_test

import (
	"encoding/json"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/auth"
	"github.com/provgraph/provgraph/internal/authtest"
	"github.com/provgraph/provgraph/internal/neo4jtest"
	"github.com/provgraph/provgraph/server"
)

// experiments/search, registered-models/search and model-versions/search take MLflow's
// filters over names, tags, times and versions, with or without a filter.
func TestMLflowEntitySearches(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	tk := neo4jtest.Token(t)
	h := authtest.NewToken(t, st, auth.RoleWriter).Handler(server.New(server.Options{Store: st, Logger: zerolog.Nop(), ArtifactRoot: t.TempDir()}))
	call := func(path string, body any) (int, map[string]any) {
		t.Helper()
		b, err := json.Marshal(body)
		require.NoError(t, err)
		req := httptest.NewRequest("POST", "/api/2.0/mlflow/"+path, strings.NewReader(string(b)))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		raw, _ := io.ReadAll(rec.Body)
		var out map[string]any
		require.NoError(t, json.Unmarshal(raw, &out), string(raw))
		return rec.Code, out
	}
	ok := func(path string, body any) map[string]any {
		t.Helper()
		code, out := call(path, body)
		require.Equal(t, 200, code, "%s: %v", path, out)
		return out
	}
	names := func(list any, field string) []string {
		var out []string
		items, _ := list.([]any)
		for _, it := range items {
			out = append(out, it.(map[string]any)[field].(string))
		}
		return out
	}

	for _, e := range []struct{ name, team string }{{"search-a-" + tk, "risk"}, {"search-b-" + tk, "ops"}, {"other-" + tk, "risk"}} {
		id := ok("experiments/create", map[string]any{"name": e.name, "tags": []any{map[string]any{"key": "team", "value": e.team}}})["experiment_id"]
		require.NotEmpty(t, id)
	}
	exps := func(filter string) []string {
		t.Helper()
		return names(ok("experiments/search", map[string]any{"filter": filter, "max_results": 100})["experiments"], "name")
	}
	assert.Equal(t, []string{"search-a-" + tk, "search-b-" + tk}, exps("name LIKE 'search-%-"+tk+"'"))
	assert.Equal(t, []string{"search-a-" + tk}, exps("name LIKE '%-"+tk+"' AND tags.team = 'risk' AND name != 'other-"+tk+"'"))
	assert.Equal(t, []string{"search-a-" + tk, "other-" + tk}, exps("attributes.name ILIKE '%-"+strings.ToUpper(tk)+"' and tags.`team` = \"risk\""))
	assert.Equal(t, []string{"search-b-" + tk}, exps("tags.team LIKE 'o%' AND name LIKE '%"+tk+"' AND creation_time > 0"))
	assert.Empty(t, exps("name = 'search-a-"+tk+"' AND last_update_time < 1"))

	for _, m := range []struct{ name, owner string }{{"model-a-" + tk, "risk"}, {"model-b-" + tk, "ops"}} {
		ok("registered-models/create", map[string]any{"name": m.name, "tags": []any{map[string]any{"key": "owner", "value": m.owner}}})
		for range 2 {
			ok("model-versions/create", map[string]any{"name": m.name, "source": "s3://models/" + m.name})
		}
	}
	models := func(filter string) []string {
		t.Helper()
		return names(ok("registered-models/search", map[string]any{"filter": filter})["registered_models"], "name")
	}
	assert.Equal(t, []string{"model-a-" + tk, "model-b-" + tk}, models("name LIKE 'model-%-"+tk+"'"))
	assert.Equal(t, []string{"model-b-" + tk}, models("name LIKE 'model-%-"+tk+"' AND tags.owner = 'ops'"))
	assert.Equal(t, []string{"model-a-" + tk}, models("name = 'model-a-"+tk+"'"))
	// What the MLflow client adds to every model search: models without the tag match.
	assert.Equal(t, []string{"model-a-" + tk}, models("name = 'model-a-"+tk+"' AND tag.`mlflow.prompt.is_prompt` != 'true'"))
	// Without a filter: every model, a page at a time, the token continuing the list.
	first := ok("registered-models/search", map[string]any{"max_results": 1})
	require.Len(t, first["registered_models"], 1)
	require.NotEmpty(t, first["next_page_token"])
	second := ok("registered-models/search", map[string]any{"max_results": 1, "page_token": first["next_page_token"]})
	require.Len(t, second["registered_models"], 1)
	assert.NotEqual(t, names(first["registered_models"], "name"), names(second["registered_models"], "name"))

	versions := func(filter string) []string {
		t.Helper()
		out := ok("model-versions/search", map[string]any{"filter": filter})
		var got []string
		for _, v := range out["model_versions"].([]any) {
			m := v.(map[string]any)
			got = append(got, m["name"].(string)+"/"+m["version"].(string))
		}
		return got
	}
	assert.Equal(t, []string{"model-a-" + tk + "/2", "model-a-" + tk + "/1"}, versions("name = 'model-a-"+tk+"'"))
	assert.Equal(t, []string{"model-a-" + tk + "/2"}, versions("name = 'model-a-"+tk+"' AND version_number > 1"))
	assert.Equal(t, []string{"model-a-" + tk + "/1", "model-b-" + tk + "/1"}, versions("name LIKE 'model-%-"+tk+"' AND version_number = 1"))
	assert.Equal(t, []string{"model-b-" + tk + "/1", "model-b-" + tk + "/2"}, versions("source_path = 's3://models/model-b-"+tk+"'"))

	for _, bad := range []struct{ path, filter, message string }{
		{"experiments/search", "name = 'x' OR name = 'y'", "position 12: expected AND or the end of the filter"},
		{"experiments/search", "owner = 'x'", `position 1: \"owner\" is not something experiments/search can be searched by`},
		{"experiments/search", "creation_time > 'yesterday'", "creation_time compares with a number"},
		{"registered-models/search", "name > 'a'", "name takes =, !=, LIKE, ILIKE"},
		{"registered-models/search", "name = 'unclosed", "the string is not closed"},
		{"model-versions/search", "run_id IN ('a', 'b'", "expected , or ) in the IN list"},
		{"model-versions/search", "tags. = 'x'", "expected a tag key"},
	} {
		code, out := call(bad.path, map[string]any{"filter": bad.filter})
		assert.Equal(t, 400, code, "%s %q", bad.path, bad.filter)
		assert.Equal(t, "INVALID_PARAMETER_VALUE", out["error_code"], "%s %q", bad.path, bad.filter)
		b, _ := json.Marshal(out["message"])
		assert.Contains(t, string(b), bad.message, "%s %q", bad.path, bad.filter)
	}
}
