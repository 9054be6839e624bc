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
	"github.com/provgraph/provgraph/store"
)

// A dataset logged with log_input is keyed by its name and digest, as MLflow keys its
// datasets: the same name and digest from another source is the same dataset version,
// not a CONFLICT (the version keeps the source it was first logged with), and logging
// it again changes nothing.
func TestLogInputsSameDigestOtherSource(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	tk := neo4jtest.Token(t)
	writer := authtest.NewToken(t, st, auth.RoleWriter)
	h := writer.Handler(server.New(server.Options{Store: st, Logger: zerolog.Nop(), ArtifactRoot: t.TempDir()}))
	ok := func(path, body string) map[string]any {
		t.Helper()
		req := httptest.NewRequest("POST", "/api/2.0/mlflow/"+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		b, _ := io.ReadAll(rec.Body)
		require.Equal(t, 200, rec.Code, string(b))
		var out map[string]any
		require.NoError(t, json.Unmarshal(b, &out), string(b))
		return out
	}
	expID := ok("experiments/create", `{"name": "datasets-`+tk+`"}`)["experiment_id"].(string)
	newRun := func() string {
		return ok("runs/create", `{"experiment_id": "`+expID+`"}`)["run"].(map[string]any)["info"].(map[string]any)["run_id"].(string)
	}
	logInput := func(run, source string) {
		t.Helper()
		src, _ := json.Marshal(`{"uri": "` + source + `"}`)
		ok("runs/log-inputs", `{"run_id": "`+run+`", "datasets": [{"dataset": {"name": "customers-`+tk+`", "digest": "9f2c1a7e",
			"source_type": "http", "source": `+string(src)+`}, "tags": [{"key": "mlflow.data.context", "value": "training"}]}]}`)
	}
	first, second := newRun(), newRun()
	logInput(first, "https://data.example.com/"+tk+"/customers.csv")
	before := neo4jtest.Snapshot(t, tk)
	logInput(first, "https://data.example.com/"+tk+"/customers.csv")
	assert.Equal(t, before, neo4jtest.Snapshot(t, tk), "an exact repeat changes nothing")
	logInput(first, "s3://mirror-"+tk+"/customers.csv")
	logInput(second, "s3://mirror-"+tk+"/customers.csv")

	_, err := st.NodeByID(t.Context(), "id", store.DatasetVersionKey("mlflow", "customers-"+tk, "9f2c1a7e"))
	require.NoError(t, err, "the version keeps its ID")
	for _, run := range []string{first, second} {
		got := ok("runs/get", `{"run_id": "`+run+`"}`)["run"].(map[string]any)["inputs"].(map[string]any)["dataset_inputs"].([]any)
		require.Len(t, got, 1, "run %s", run)
		ds := got[0].(map[string]any)["dataset"].(map[string]any)
		assert.Equal(t, "customers-"+tk, ds["name"])
		assert.Equal(t, "9f2c1a7e", ds["digest"])
		assert.Contains(t, ds["source"], "https://data.example.com/"+tk+"/customers.csv", "the version keeps its first source")
	}
}
