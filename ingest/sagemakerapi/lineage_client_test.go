package sagemakerapi_test

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
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
