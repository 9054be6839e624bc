package sagemakerapi_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
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

// sdkEnv is what points the SDK at a provgraph: the two endpoint variables, a region
// and an access key, and nothing from the machine's own AWS configuration.
func sdkEnv(url string, key authtest.AccessKey, tk string) []string {
	return []string{
		"AWS_ENDPOINT_URL_SAGEMAKER=" + url + "/aws/sagemaker",
		"AWS_ENDPOINT_URL_SAGEMAKER_METRICS=" + url + "/aws/sagemaker-metrics",
		"AWS_ACCESS_KEY_ID=" + key.ID, "AWS_SECRET_ACCESS_KEY=" + key.Secret, "AWS_DEFAULT_REGION=us-east-1",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true",
		"SAGEMAKER_SUPPRESS_V2_WARNING=1", "PROVGRAPH_TEST_TOKEN=" + tk,
	}
}

// sdkServer serves provgraph on the test Neo4j over HTTP, with a writer's access key
// for the SDK and the test's token for names.
func sdkServer(t *testing.T) (url string, st *store.Store, key authtest.AccessKey, tk string) {
	t.Helper()
	st = neo4jtest.Store(t)
	sealer := authtest.NewSealer(t)
	key = authtest.NewAccessKey(t, st, auth.RoleWriter, sealer)
	srv := httptest.NewServer(server.New(server.Options{Store: st, Logger: zerolog.Nop(), AccessKeys: sealer}))
	t.Cleanup(srv.Close)
	return srv.URL, st, key, neo4jtest.Token(t)
}

// The stock sagemaker SDK, 2.x and 3.x, with boto3, against the running service
// (testdata/sdk_run.py): what a SageMaker script records is in the graph GraphQL and
// MLflow read.
func TestTheSageMakerSDK(t *testing.T) {
	t.Parallel()
	for _, generation := range []int{2, 3} {
		t.Run(strconv.Itoa(generation)+".x", func(t *testing.T) {
			t.Parallel()
			python := pyclient.SageMakerPython(t, generation)
			url, st, key, tk := sdkServer(t)
			out := pyclient.RunWith(t, python, 5*time.Minute, sdkEnv(url, key, tk), "testdata/sdk_run.py")
			lines := strings.Split(strings.TrimSpace(out), "\n")
			var got struct {
				Generation     int
				Experiment     string
				TrialComponent string
				Table          []map[string]any
				Described      map[string]any
				Found          []string
				Errors         map[string]map[string]any
			}
			require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &got), out)
			assert.Equal(t, generation, got.Generation)

			// The Run and load_run: parameters, 1,000 steps of loss, the accuracy logged on
			// re-entry, the artifacts.
			d := got.Described
			assert.Equal(t, got.TrialComponent, d["DisplayName"], "Run sends no display name: the trial component's name is shown")
			assert.Equal(t, "Completed", d["Status"])
			assert.Equal(t, map[string]any{"loss": 1000.0, "accuracy": 1.0}, d["Metrics"])
			assert.Equal(t, map[string]any{"NumberValue": 0.01}, d["Parameters"].(map[string]any)["lr"])
			assert.Equal(t, map[string]any{"StringValue": "adam"}, d["Parameters"].(map[string]any)["optimizer"])
			assert.Equal(t, map[string]any{"train": map[string]any{"Value": "s3://datasets-" + tk + "/train.csv", "MediaType": "text/csv"}}, d["InputArtifacts"])
			assert.Contains(t, d["OutputArtifacts"], "model")

			// ExperimentAnalytics' table, oldest first.
			require.Len(t, got.Table, 2, got.Table)
			first := got.Table[0]
			assert.Equal(t, got.TrialComponent, first["TrialComponentName"])
			assert.Equal(t, 0.01, first["lr"])
			assert.Equal(t, "adam", first["optimizer"])
			assert.Equal(t, 1000.0, first["loss - Count"])
			assert.Equal(t, 1.0, first["loss - Max"])
			assert.InDelta(t, 0.001, first["loss - Min"], 1e-12)
			assert.InDelta(t, 0.001, first["loss - Last"], 1e-12)
			assert.Equal(t, "s3://datasets-"+tk+"/train.csv", first["train - Value"])
			assert.Equal(t, "sgd", got.Table[1]["optimizer"])
			assert.Nil(t, got.Table[1]["train - Value"])

			// boto3's search, paged by hand, and the errors as AWS words them.
			assert.Equal(t, []string{got.TrialComponent}, got.Found)
			for call, want := range map[string][2]string{
				"create_experiment:" + got.Experiment[:8]: {"ValidationException", "already exists"},
				"delete_experiment:" + got.Experiment[:8]: {"ValidationException", "append-only"},
				"describe_experiment:no-such-":            {"ResourceNotFound", "does not exist"},
				"create_experiment:not a va":              {"ValidationException", "Member must satisfy regular expression pattern"},
			} {
				require.Contains(t, got.Errors, call)
				assert.Equal(t, want[0], got.Errors[call]["code"], call)
				assert.Contains(t, got.Errors[call]["message"], want[1], call)
				assert.NotEmpty(t, got.Errors[call]["requestId"], call)
			}

			// One graph: the run is GraphQL's and MLflow's, recorded by the key's owner.
			exp, err := st.ExperimentByName(t.Context(), "name", got.Experiment)
			require.NoError(t, err)
			assert.Equal(t, key.Actor, exp.RecordedBy)
			reader := authtest.NewToken(t, st, auth.RoleReader)
			q, _ := json.Marshal(map[string]any{"query": `query($e: [ID!]) { searchRuns(experiments: $e, filter: "params.optimizer = 'adam' AND metrics.loss < 0.01") {
				edges { node { id name status group { name } } } } }`, "variables": map[string]any{"e": []string{exp.Key}}})
			req, _ := http.NewRequest(http.MethodPost, url+"/graphql", bytes.NewReader(q))
			req.Header.Set("Content-Type", "application/json")
			resp, err := reader.Client().Do(req)
			require.NoError(t, err)
			t.Cleanup(func() { _ = resp.Body.Close() })
			var gql struct {
				Data struct {
					SearchRuns struct {
						Edges []struct {
							Node struct {
								ID, Name, Status string
								Group            struct{ Name string }
							}
						}
					}
				}
			}
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&gql))
			require.Len(t, gql.Data.SearchRuns.Edges, 1)
			run := gql.Data.SearchRuns.Edges[0].Node
			assert.Equal(t, got.TrialComponent, run.Name)
			assert.Equal(t, "FINISHED", run.Status)
			assert.Equal(t, "Default-Run-Group-"+got.Experiment, run.Group.Name)
			resp2, err := reader.Client().Get(url + "/api/2.0/mlflow/metrics/get-history?metric_key=loss&run_id=" + strings.TrimPrefix(run.ID, "run:"))
			require.NoError(t, err)
			t.Cleanup(func() { _ = resp2.Body.Close() })
			var hist struct{ Metrics []map[string]any }
			require.NoError(t, json.NewDecoder(resp2.Body).Decode(&hist))
			assert.Len(t, hist.Metrics, 1000, "MLflow reads the 1,000 steps the SDK logged")
		})
	}
}
