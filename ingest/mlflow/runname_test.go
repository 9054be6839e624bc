package mlflow_test

import (
	"encoding/json"
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

// The run's name and its mlflow.runName tag stay one: runs/update renames the tag too,
// and a runName tag in log-batch renames the run, as set-tag's does.
func TestMLflowRunNameAndItsTagAgree(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	tk := neo4jtest.Token(t)
	h := authtest.NewToken(t, st, auth.RoleWriter).Handler(server.New(server.Options{Store: st, Logger: zerolog.Nop(), ArtifactRoot: t.TempDir()}))
	call := func(path string, body map[string]any) map[string]any {
		t.Helper()
		b, _ := json.Marshal(body)
		req := httptest.NewRequest("POST", "/api/2.0/mlflow/"+path, strings.NewReader(string(b)))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		require.Equal(t, 200, rec.Code, rec.Body.String())
		var out map[string]any
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &out))
		return out
	}
	exp := call("experiments/create", map[string]any{"name": "names-" + tk})["experiment_id"]
	run := call("runs/create", map[string]any{"experiment_id": exp, "run_name": "first"})["run"].(map[string]any)
	id := run["info"].(map[string]any)["run_id"].(string)
	nameAndTag := func() (string, []string) {
		t.Helper()
		r := call("runs/get", map[string]any{"run_id": id})["run"].(map[string]any)
		var tags []string
		for _, tag := range r["data"].(map[string]any)["tags"].([]any) {
			if m := tag.(map[string]any); m["key"] == "mlflow.runName" {
				tags = append(tags, m["value"].(string))
			}
		}
		return r["info"].(map[string]any)["run_name"].(string), tags
	}
	name, tags := nameAndTag()
	assert.Equal(t, "first", name)
	assert.Equal(t, []string{"first"}, tags)

	call("runs/update", map[string]any{"run_id": id, "run_name": "second"})
	name, tags = nameAndTag()
	assert.Equal(t, "second", name)
	assert.Equal(t, []string{"second"}, tags, "the tag follows the rename")

	call("runs/log-batch", map[string]any{"run_id": id, "tags": []any{map[string]any{"key": "mlflow.runName", "value": "third"}}})
	name, tags = nameAndTag()
	assert.Equal(t, "third", name, "the tag in a batch renames the run")
	assert.Equal(t, []string{"third"}, tags)
}
