package server_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/internal/neo4jtest"
)

const recordProcessingJob = `mutation($input: RecordProcessingJobInput!) {
  recordProcessingJob(input: $input) { created processingJob { id kind parameters { key value } inputs { id } outputs { id } } }
}`

// Raw data → processing job → the training data: the endpoint's lineage and audit
// trail reach back to the raw source.
func TestProcessingChainReachesRawSources(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	s := recordSlice(t, h)
	d := mustDo(t, h, registerDatasetVersion, map[string]any{"input": map[string]any{"uri": "s3://raw-" + s.token + "/events/2026-01", "digest": "sha256:aa"}})
	raw := get(d, "registerDatasetVersion", "datasetVersion", "id").(string)

	input := map[string]any{
		"namespace": "airflow-" + s.token, "name": "prepare_customers", "inputs": []string{raw}, "outputs": []string{s.dataset},
		"parameters": []map[string]any{{"key": "dedupe", "value": "true"}},
	}
	d = mustDo(t, h, recordProcessingJob, map[string]any{"input": input})
	job := get(d, "recordProcessingJob", "processingJob")
	prep := get(job, "id").(string)
	assert.Equal(t, "job:airflow-"+s.token+":prepare_customers", prep)
	assert.Equal(t, "PROCESSING_JOB", get(job, "kind"))
	assert.Equal(t, []string{raw}, ids(get(job, "inputs")))
	assert.Equal(t, []string{s.dataset}, ids(get(job, "outputs")))

	before := neo4jtest.Snapshot(t, s.token)
	d = mustDo(t, h, recordProcessingJob, map[string]any{"input": input})
	assert.Equal(t, false, get(d, "recordProcessingJob", "created"))
	assert.Equal(t, before, neo4jtest.Snapshot(t, s.token))

	d = mustDo(t, h, lineageQuery, map[string]any{"start": []string{s.endpoint}, "direction": "UPSTREAM"})
	assert.ElementsMatch(t, []string{s.endpoint, s.version, s.artifact, s.job, s.dataset, prep, raw}, ids(get(d, "lineage", "nodes")))

	d = mustDo(t, h, auditQuery, map[string]any{"endpoint": s.endpoint})
	assert.Contains(t, ids(get(d, "auditTrail", "entries", 0, "upstream", "nodes")), raw)

	d = mustDo(t, h, registerDatasetVersion, map[string]any{"input": map[string]any{"uri": "s3://raw-" + s.token + "/other", "digest": "sha256:bb"}})
	other := get(d, "registerDatasetVersion", "datasetVersion", "id").(string)
	before = neo4jtest.Snapshot(t, s.token)
	for _, tt := range []struct {
		name        string
		input       map[string]any
		code, field string
	}{
		{"output with another producer", map[string]any{"namespace": "airflow-" + s.token, "name": "again", "inputs": []string{other}, "outputs": []string{s.dataset}},
			"CONFLICT", "input.outputs[0]"},
		{"no outputs", map[string]any{"namespace": "airflow-" + s.token, "name": "none", "inputs": []string{raw}, "outputs": []string{}},
			"INVALID_ARGUMENT", "input.outputs"},
		{"reads what it writes", map[string]any{"namespace": "airflow-" + s.token, "name": "loop", "inputs": []string{other}, "outputs": []string{other}},
			"INVALID_ARGUMENT", "input.outputs[0]"},
		{"unknown output", map[string]any{"namespace": "airflow-" + s.token, "name": "ghost", "inputs": []string{raw}, "outputs": []string{"datasetVersion:s3://nowhere-" + s.token + ":x#1"}},
			"NOT_FOUND", "input.outputs[0]"},
		{"same ID as a training job", map[string]any{"namespace": "sagemaker-" + s.token, "name": "fraud-train-1", "inputs": []string{raw}, "outputs": []string{other}},
			"CONFLICT", "input.name"},
		{"same job, other parameters", map[string]any{"namespace": "airflow-" + s.token, "name": "prepare_customers", "inputs": []string{raw}, "outputs": []string{s.dataset}},
			"CONFLICT", "input.parameters"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp := do(t, h, recordProcessingJob, map[string]any{"input": tt.input})
			require.Len(t, resp.Errors, 1)
			assert.Equal(t, tt.code, resp.Errors[0].Extensions["code"], resp.Errors[0].Message)
			assert.Equal(t, tt.field, resp.Errors[0].Extensions["field"])
		})
	}
	assert.Equal(t, before, neo4jtest.Snapshot(t, s.token))
}
