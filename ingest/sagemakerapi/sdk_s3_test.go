package sagemakerapi_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/internal/pyclient"
)

// The SDK's file-backed logging — log_confusion_matrix, log_file — writes the files to an
// S3-compatible store (moto's server here; S3 or MinIO for users) and records lineage
// artifacts for them here: the files are in the store, and provgraph holds an artifact
// for each, associated with the run. The example of docs/ingest-sagemaker.md's Files
// paragraph runs as written, with moto's server in the store's place (testdata/sdk_s3.py).
func TestTheSageMakerSDKWithAnS3Store(t *testing.T) {
	t.Parallel()
	python := pyclient.SageMakerPython(t, 2)
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "ingest-sagemaker.md"))
	require.NoError(t, err)
	_, files, found := strings.Cut(string(doc), "**Files.**")
	require.True(t, found, "docs/ingest-sagemaker.md has its Files paragraph")
	m := pythonBlock.FindStringSubmatch(files)
	require.NotNil(t, m, "the Files paragraph has a python example")
	example := filepath.Join(t.TempDir(), "example.py")
	require.NoError(t, os.WriteFile(example, []byte(m[1]), 0o600))
	url, _, key, tk := sdkServer(t)
	out := pyclient.RunWith(t, python, 5*time.Minute, append(sdkEnv(url, key, tk), "PROVGRAPH_EXAMPLE="+example), "testdata/sdk_s3.py")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var got struct {
		TrialComponent string
		Bucket         string
		Objects        []string
		Artifacts      []struct{ URI, Type, Association string }
	}
	require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &got), out)
	// The files are in the store, under the run's prefix.
	require.Len(t, got.Objects, 2, "%+v", got)
	prefix := "runs/" + got.TrialComponent + "/"
	matrix, card := prefix+"confusion.json", ""
	for _, o := range got.Objects {
		if o != matrix {
			card = o
		}
	}
	assert.Contains(t, got.Objects, matrix)
	assert.True(t, strings.HasPrefix(card, prefix) && strings.HasSuffix(card, ".txt"), card)
	// provgraph holds an artifact for each, which the run produced.
	byURI := map[string]string{}
	for _, a := range got.Artifacts {
		assert.Equal(t, "Produced", a.Association, "%+v", a)
		byURI[a.URI] = a.Type
	}
	assert.Equal(t, "ConfusionMatrix", byURI["s3://"+got.Bucket+"/"+matrix], "%+v", got.Artifacts)
	assert.Contains(t, byURI, "s3://"+got.Bucket+"/"+card, "%+v", got.Artifacts)
}
