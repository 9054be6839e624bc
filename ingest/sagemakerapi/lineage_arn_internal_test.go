package sagemakerapi

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/provgraph/provgraph/store"
)

// Every node's vertex ARN reads back to the node, whatever its name's case.
func TestVertexARNsReadBack(t *testing.T) {
	t.Parallel()
	a := Options{}.arns()
	for _, tc := range []struct {
		node store.Node
		arn  string
	}{
		{store.Node{Key: "endpoint:fraud-prod", Kind: store.KindEndpoint, Name: "fraud-prod"},
			"arn:aws:sagemaker:us-east-1:000000000000:context/fraud-prod-aws-endpoint"},
		{store.Node{Key: "endpoint:Fraud-Prod", Kind: store.KindEndpoint, Name: "Fraud-Prod"}, ""},
		{store.Node{Key: "model:fraud", Kind: store.KindRegisteredModel, Name: "fraud"},
			"arn:aws:sagemaker:us-east-1:000000000000:context/fraud-aws-model-group"},
		{store.Node{Key: "job:sagemaker:train-1", Kind: store.KindTrainingJob, Name: "train-1"},
			"arn:aws:sagemaker:us-east-1:000000000000:experiment-trial-component/train-1-aws-training-job"},
		{store.Node{Key: "job:sagemaker:batch-1", Kind: store.KindProcessingJob, Name: "batch-1", Props: map[string]any{"sagemakerJobType": "transform"}},
			"arn:aws:sagemaker:us-east-1:000000000000:experiment-trial-component/batch-1-aws-transform-job"},
		{store.Node{Key: "job:airflow:dag.Task", Kind: store.KindProcessingJob, Name: "dag.Task"}, ""},
		{store.Node{Key: "datasetVersion:s3://Lake:a/b#v1", Kind: store.KindDatasetVersion, Name: "a/b"}, ""},
		{store.Node{Key: "model:fraud/2", Kind: store.KindModelVersion, Name: "fraud/2"}, ""},
		{store.Node{Key: "run:0123456789abcdef0123456789abcdef", Kind: store.KindRun, Name: "r",
			Props: map[string]any{"runId": "0123456789abcdef0123456789abcdef"}},
			"arn:aws:sagemaker:us-east-1:000000000000:experiment-trial-component/0123456789abcdef0123456789abcdef"},
	} {
		v := a.vertexOf(tc.node)
		if tc.arn != "" {
			assert.Equal(t, tc.arn, v.Arn)
		}
		_, key, ok := a.keyOf(v.Arn)
		assert.True(t, ok, v.Arn)
		assert.Equal(t, tc.node.Key, key, v.Arn)
		_, _, ok = a.keyOf("arn:aws:sagemaker:eu-west-1:000000000000:" + v.Arn[len("arn:aws:sagemaker:us-east-1:000000000000:"):])
		assert.False(t, ok, "another region")
	}
}

// A name that reads as an encoded ID but is not one names no node by it.
func TestKeyOfRefusesForgedNames(t *testing.T) {
	t.Parallel()
	a := Options{}.arns()
	_, _, ok := a.keyOf(a.arn(resArtifact, "pg-mzxw6"))
	assert.False(t, ok, `"foo" is no node ID`)
	_, _, ok = a.keyOf(a.arn(resContext, "-aws-endpoint"))
	assert.False(t, ok)
}
