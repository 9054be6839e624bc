package sagemakerapi_test

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/auth"
	"github.com/provgraph/provgraph/ingest/sagemakerapi"
	"github.com/provgraph/provgraph/internal/pyclient"
)

// documentedLineage is the boto3 example of docs/ingest-sagemaker.md's Lineage
// section, under the test's names.
func documentedLineage(t *testing.T, tk string) string {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "ingest-sagemaker.md"))
	require.NoError(t, err)
	_, section, ok := strings.Cut(string(doc), "\n### Lineage\n")
	require.True(t, ok, "docs/ingest-sagemaker.md has a Lineage section")
	m := regexp.MustCompile("(?s)```python\n(.*?)```").FindStringSubmatch(section)
	require.NotNil(t, m, "the Lineage section has a Python example")
	code := strings.ReplaceAll(m[1], "endpoint/fraud-prod", "endpoint/fraud-prod-"+tk)
	return strings.ReplaceAll(code, "s3://lake/", "s3://"+tk+"-lake/")
}

// The documented boto3 example runs against the server unchanged but for its names:
// from the endpoint the SageMaker events recorded it pages through QueryLineage by
// hand to the nodes of GraphQL's lineage cone, and finds the training data by its S3
// URI among them.
func TestBoto3LineageExample(t *testing.T) {
	t.Parallel()
	e := newEnv(t, auth.RoleReader)
	e.recordEvents(eventsChain...)
	srv := httptest.NewServer(e.h)
	t.Cleanup(srv.Close)

	script := filepath.Join(t.TempDir(), "lineage.py")
	code := documentedLineage(t, e.tk) + `
import json
print(json.dumps({"vertices": [v["Arn"] for v in vertices], "edges": len(edges), "datasets": datasets,
                  "train": train["ArtifactArn"]}))
`
	require.NoError(t, os.WriteFile(script, []byte(code), 0o600))
	out := pyclient.RunWith(t, pyclient.SageMakerPython(t, 2), 2*time.Minute, sdkEnv(srv.URL, e.key, e.tk), script)
	var got struct {
		Vertices, Datasets []string
		Edges              int
		Train              string
	}
	require.NoError(t, json.Unmarshal([]byte(out), &got), out)

	var keys []string
	for _, arn := range got.Vertices {
		keys = append(keys, sagemakerapi.KeyOfARN(arn))
	}
	slices.Sort(keys)
	assert.Equal(t, e.graphQLCone("endpoint:fraud-prod-"+e.tk, "UPSTREAM"), keys)
	assert.Greater(t, got.Edges, 0)
	assert.Equal(t, "datasetVersion:s3://"+e.tk+"-lake:features/fraud/train#sagemaker", sagemakerapi.KeyOfARN(got.Train))
}

// The stock sagemaker SDK's lineage classes, 2.x and 3.x, from the context of an
// endpoint the SageMaker events recorded (testdata/sdk_lineage.py): LineageQuery
// answers GraphQL's upstream cone, its datasets load as DatasetArtifacts at their S3
// URIs, EndpointContext.dataset_artifacts finds the same, training_job_arns the
// training job by its trial component, and Artifact.list by S3 URI the training data;
// Action.list by the endpoint's ARN its deployment, and the model package's approval
// loads as a ModelPackageApprovalAction whose datasets and endpoints are the graph's.
func TestTheSageMakerSDKLineage(t *testing.T) {
	t.Parallel()
	for _, generation := range []int{2, 3} {
		t.Run(strconv.Itoa(generation)+".x", func(t *testing.T) {
			t.Parallel()
			python := pyclient.SageMakerPython(t, generation)
			e := newEnv(t, auth.RoleReader)
			e.recordEvents(eventsChain...)
			srv := httptest.NewServer(e.h)
			t.Cleanup(srv.Close)

			out := pyclient.RunWith(t, python, 5*time.Minute, sdkEnv(srv.URL, e.key, e.tk), "testdata/sdk_lineage.py")
			lines := strings.Split(strings.TrimSpace(out), "\n")
			var got struct {
				Generation                        int
				Context                           string
				Vertices, Datasets                []string
				Edges                             int
				Loaded                            []struct{ Arn, Type, URI string }
				FromEndpoint, AtURI, TrainingJobs []string
				Deployments                       []struct{ Type, Status, URI string }
				Approval                          struct{ Arn, Status, URI string }
				ApprovalDatasets                  []string
				ApprovalEndpoints                 []string
			}
			require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &got), out)
			assert.Equal(t, generation, got.Generation)

			cone := e.graphQLCone("endpoint:fraud-prod-"+e.tk, "UPSTREAM")
			assert.Equal(t, cone, keysOf(got.Vertices), "LineageQuery answers GraphQL's cone")
			assert.Greater(t, got.Edges, 0)

			var datasets []string
			for _, k := range cone {
				if strings.HasPrefix(k, "datasetVersion:") {
					datasets = append(datasets, k)
				}
			}
			require.NotEmpty(t, datasets)
			assert.Equal(t, datasets, keysOf(got.Datasets))
			require.Len(t, got.Loaded, len(got.Datasets))
			for _, a := range got.Loaded {
				assert.Equal(t, "DataSet", a.Type)
				assert.True(t, strings.HasPrefix(a.URI, "s3://"+e.tk+"-"), a.URI)
			}
			assert.ElementsMatch(t, got.Datasets, got.FromEndpoint)
			require.Len(t, got.AtURI, 1)
			assert.Contains(t, got.Datasets, got.AtURI[0])
			assert.Equal(t, []string{"arn:aws:sagemaker:us-east-1:123456789012:training-job/fraud-xgb-" + e.tk}, got.TrainingJobs,
				"the training job's trial component has the job as its source")

			endpointARN := "arn:aws:sagemaker:us-east-1:123456789012:endpoint/fraud-prod-" + e.tk
			assert.Equal(t, []struct{ Type, Status, URI string }{{"ModelDeployment", "InProgress", endpointARN}}, got.Deployments)
			assert.Equal(t, "Approved", got.Approval.Status)
			assert.Equal(t, "arn:aws:sagemaker:us-east-1:123456789012:model-package/fraud-models-"+e.tk+"/1", got.Approval.URI)
			assert.Equal(t, got.Datasets, got.ApprovalDatasets, "the approval's datasets are the model version's")
			assert.Equal(t, []string{got.Context}, got.ApprovalEndpoints)
		})
	}
}

// keysOf reads the node IDs of ARNs, sorted.
func keysOf(arns []string) []string {
	out := make([]string, 0, len(arns))
	for _, a := range arns {
		out = append(out, sagemakerapi.KeyOfARN(a))
	}
	slices.Sort(out)
	return out
}
