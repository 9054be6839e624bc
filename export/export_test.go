package export

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/store"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// fixture is a small lineage result with every kind of edge, at fixed times.
func fixture() store.Lineage {
	at := time.Date(2026, 3, 14, 9, 30, 0, 0, time.UTC)
	node := func(key string, kind store.Kind, name string, props map[string]any) store.Node {
		p := map[string]any{"key": key, "kind": string(kind), "name": name, "recordedAt": at, "recordedBy": "alice"}
		for k, v := range props {
			p[k] = v
		}
		return store.Node{Key: key, Kind: kind, Name: name, RecordedAt: at, RecordedBy: "alice", Props: p}
	}
	return store.Lineage{
		Nodes: []store.Node{
			node("endpoint:fraud-prod", store.KindEndpoint, "fraud-prod", nil),
			node("model:fraud/3", store.KindModelVersion, "fraud/3", map[string]any{"version": int64(3), "source": "s3://models/fraud/model.tar.gz"}),
			node("artifact:s3://models/fraud/model.tar.gz", store.KindArtifact, "model.tar.gz", map[string]any{"uri": "s3://models/fraud/model.tar.gz"}),
			node("job:sagemaker:train \"v3\"", store.KindTrainingJob, "train \"v3\"", map[string]any{"instanceType": "ml.m5.xlarge", "startedAt": at.Add(-time.Hour), "endedAt": at}),
			node("datasetVersion:s3://lake:customers#sha256:ab", store.KindDatasetVersion, "customers", map[string]any{"uri": "s3://lake/customers", "digest": "sha256:ab"}),
			node("dataset:s3://lake:customers", store.KindDataset, "customers", nil),
		},
		Edges: []store.Edge{
			{From: "datasetVersion:s3://lake:customers#sha256:ab", To: "job:sagemaker:train \"v3\"", Type: store.RelInputTo},
			{From: "job:sagemaker:train \"v3\"", To: "artifact:s3://models/fraud/model.tar.gz", Type: store.RelProduced},
			{From: "artifact:s3://models/fraud/model.tar.gz", To: "model:fraud/3", Type: store.RelRegisteredAs},
			{From: "model:fraud/3", To: "endpoint:fraud-prod", Type: store.RelDeployedTo},
			{From: "datasetVersion:s3://lake:customers#sha256:ab", To: "dataset:s3://lake:customers", Type: store.RelVersionOf},
		},
	}
}

func TestRenderMatchesGoldenFiles(t *testing.T) {
	for format, file := range map[Format]string{ProvJSON: "lineage.prov.json", DOT: "lineage.dot", Mermaid: "lineage.mmd", SVG: "lineage.svg"} {
		t.Run(string(format), func(t *testing.T) {
			got, err := Render(fixture(), format)
			require.NoError(t, err)
			path := filepath.Join("testdata", file)
			if *update {
				require.NoError(t, os.WriteFile(path, got, 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "run go test ./export -update to create it")
			assert.Equal(t, string(want), string(got))
		})
	}
}

// The PROV-JSON document has the W3C sections with the relations each edge type maps to.
func TestProvJSONStructure(t *testing.T) {
	out, err := Render(fixture(), ProvJSON)
	require.NoError(t, err)
	var doc map[string]map[string]map[string]any
	var prefixes map[string]any
	require.NoError(t, json.Unmarshal(out, &struct {
		Prefix *map[string]any `json:"prefix"`
	}{&prefixes}))
	require.NoError(t, json.Unmarshal(removePrefix(t, out), &doc))
	assert.Equal(t, "urn:provgraph:", prefixes["pg"])
	assert.Len(t, doc["entity"], 5)
	assert.Len(t, doc["activity"], 1)
	assert.Len(t, doc["agent"], 1)
	assert.Len(t, doc["used"], 1)
	assert.Len(t, doc["wasGeneratedBy"], 1)
	assert.Len(t, doc["wasDerivedFrom"], 2)
	assert.Len(t, doc["wasAssociatedWith"], 1)
	assert.Len(t, doc["specializationOf"], 1)
	for _, u := range doc["used"] {
		assert.Equal(t, qname(`job:sagemaker:train "v3"`), u["prov:activity"])
		assert.Equal(t, qname("datasetVersion:s3://lake:customers#sha256:ab"), u["prov:entity"])
	}
	act := doc["activity"][qname(`job:sagemaker:train "v3"`)]
	assert.Equal(t, "2026-03-14T08:30:00Z", act["prov:startTime"])
}

func removePrefix(t *testing.T, out []byte) []byte {
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(out, &m))
	delete(m, "prefix")
	b, err := json.Marshal(m)
	require.NoError(t, err)
	return b
}

func TestUnknownFormat(t *testing.T) {
	_, err := Render(fixture(), "PDF")
	require.Error(t, err)
}
