package server_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/auth"
	"github.com/provgraph/provgraph/internal/authtest"
	"github.com/provgraph/provgraph/internal/neo4jtest"
	"github.com/provgraph/provgraph/server"
	"github.com/provgraph/provgraph/store"
)

const recordPipeline = `mutation($input: RecordPipelineInput!) {
  recordPipeline(input: $input) {
    datasetVersions { datasetVersion { id } created }
    processingJobs { processingJob { id } created }
    trainingJobs { trainingJob { id inputs { id } } modelArtifact { id } created }
    modelVersions { modelVersion { id } created }
    deployments { deployment { id modelVersion { id } } replaced { id } created }
  }
}`

// pipelineInput is a pipeline of the test's own: two raw dataset versions, a processing
// job that joins them into features, n training jobs on the features, a model version
// from the first job's artifact and its deployment.
func pipelineInput(tk string, n int) map[string]any {
	lake := "s3://" + tk + "-lake"
	raw := []any{
		map[string]any{"uri": lake + "/raw/a", "digest": "sha256:aa"},
		map[string]any{"uri": lake + "/raw/b", "digest": "sha256:bb"},
		map[string]any{"uri": lake + "/features", "digest": "sha256:ff"},
	}
	id := func(path, digest string) string { return "datasetVersion:" + lake + ":" + path + "#" + digest }
	var jobs []any
	for i := range n {
		jobs = append(jobs, map[string]any{
			"namespace": tk, "name": fmt.Sprintf("train-%d", i),
			"inputs":        []any{id("features", "sha256:ff")},
			"modelArtifact": map[string]any{"uri": fmt.Sprintf("s3://%s-models/m%d/model.tar.gz", tk, i), "digest": "sha256:m"},
		})
	}
	return map[string]any{
		"datasetVersions": raw,
		"processingJobs": []any{map[string]any{
			"namespace": tk, "name": "join",
			"inputs": []any{id("raw/a", "sha256:aa"), id("raw/b", "sha256:bb")}, "outputs": []any{id("features", "sha256:ff")},
		}},
		"trainingJobs": jobs,
		"modelVersions": []any{map[string]any{
			"model": tk + "-fraud", "source": "s3://" + tk + "-models/m0/model.tar.gz", "producedBy": "job:" + tk + ":train-0",
			"framework": "xgboost 1.7", "metrics": []any{map[string]any{"key": "auc", "value": 0.91}},
		}},
		"deployments": []any{map[string]any{"endpoint": tk + "-prod", "modelVersionIndex": 0}},
	}
}

// One call records a whole pipeline whose elements refer to each other; the same call
// again finds every element (created false) and changes nothing.
func TestRecordPipelineRecordsAPipelineOnce(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	tk := neo4jtest.Token(t)
	in := pipelineInput(tk, 3)
	first := mustDo(t, h, recordPipeline, map[string]any{"input": in})
	out := get(first, "recordPipeline")
	for _, list := range []string{"datasetVersions", "processingJobs", "trainingJobs", "modelVersions", "deployments"} {
		for i, e := range get(out, list).([]any) {
			assert.Equal(t, true, get(e, "created"), "%s[%d] is new", list, i)
		}
	}
	require.Len(t, get(out, "trainingJobs"), 3)
	assert.Equal(t, "job:"+tk+":train-2", get(out, "trainingJobs", 2, "trainingJob", "id"))
	assert.Equal(t, "model:"+tk+"-fraud/1", get(out, "modelVersions", 0, "modelVersion", "id"))
	assert.Equal(t, "model:"+tk+"-fraud/1", get(out, "deployments", 0, "deployment", "modelVersion", "id"))

	// The graph holds the chain from the endpoint back to the raw data.
	lineage := mustDo(t, h, `query($s: [ID!]!) { lineage(start: $s, direction: UPSTREAM) { nodes { id } } }`,
		map[string]any{"s": []any{"endpoint:" + tk + "-prod"}})
	assert.Subset(t, ids(get(lineage, "lineage", "nodes")), []string{
		"model:" + tk + "-fraud/1", "artifact:s3://" + tk + "-models/m0/model.tar.gz", "job:" + tk + ":train-0",
		"datasetVersion:s3://" + tk + "-lake:features#sha256:ff", "job:" + tk + ":join",
		"datasetVersion:s3://" + tk + "-lake:raw/a#sha256:aa", "datasetVersion:s3://" + tk + "-lake:raw/b#sha256:bb",
	})

	again := get(mustDo(t, h, recordPipeline, map[string]any{"input": in}), "recordPipeline")
	for _, list := range []string{"datasetVersions", "processingJobs", "trainingJobs", "modelVersions", "deployments"} {
		for i, e := range get(again, list).([]any) {
			assert.Equal(t, false, get(e, "created"), "%s[%d] is found again", list, i)
		}
	}
	assert.Equal(t, "model:"+tk+"-fraud/1", get(again, "modelVersions", 0, "modelVersion", "id"), "no second version")
	assert.Nil(t, get(again, "deployments", 0, "replaced"))
}

// A refused call leaves the graph as it was, and its error names the element as the
// single mutation names the field.
func TestRecordPipelineIsAllOrNothing(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	tk := neo4jtest.Token(t)
	mustDo(t, h, recordPipeline, map[string]any{"input": pipelineInput(tk, 2)})

	cases := []struct {
		name        string
		change      func(in map[string]any)
		code, field string
	}{
		{"an input recorded nowhere", func(in map[string]any) {
			in["trainingJobs"].([]any)[1].(map[string]any)["inputs"] = []any{"datasetVersion:s3://" + tk + "-lake:features#sha256:ff", "datasetVersion:s3://nowhere:x#1"}
		}, "NOT_FOUND", "input.trainingJobs[1].inputs[1]"},
		{"an input recorded nowhere after one read twice", func(in map[string]any) {
			// The store looks each ID up once; the error still names where the missing one is.
			before := "artifact:s3://" + tk + "-models/m0/model.tar.gz"
			in["trainingJobs"] = append(in["trainingJobs"].([]any),
				map[string]any{"namespace": tk, "name": "train-late", "inputs": []any{before},
					"modelArtifact": map[string]any{"uri": "s3://" + tk + "-models/late/model.tar.gz"}},
				map[string]any{"namespace": tk, "name": "train-later", "inputs": []any{before, "datasetVersion:s3://nowhere:x#1"},
					"modelArtifact": map[string]any{"uri": "s3://" + tk + "-models/later/model.tar.gz"}})
		}, "NOT_FOUND", "input.trainingJobs[3].inputs[1]"},
		{"a job recorded before with other content", func(in map[string]any) {
			in["trainingJobs"].([]any)[0].(map[string]any)["status"] = "FAILED"
		}, "CONFLICT", "input.trainingJobs[0].status"},
		{"a dataset version recorded before with other content", func(in map[string]any) {
			in["datasetVersions"].([]any)[1].(map[string]any)["description"] = "changed"
		}, "CONFLICT", "input.datasetVersions[1].description"},
		{"a rule of the single mutation", func(in map[string]any) {
			in["trainingJobs"].([]any)[1].(map[string]any)["hyperParameters"] = []any{map[string]any{"key": "a", "value": "1"}, map[string]any{"key": "a", "value": "2"}}
		}, "INVALID_ARGUMENT", "input.trainingJobs[1].hyperParameters[1].key"},
		{"an output another job produced", func(in map[string]any) {
			in["processingJobs"] = append(in["processingJobs"].([]any), map[string]any{
				"namespace": tk, "name": "rejoin", "inputs": []any{"datasetVersion:s3://" + tk + "-lake:raw/a#sha256:aa"},
				"outputs": []any{"datasetVersion:s3://" + tk + "-lake:features#sha256:ff"},
			})
		}, "CONFLICT", "input.processingJobs[1].outputs[0]"},
		{"a model artifact recorded before", func(in map[string]any) {
			in["trainingJobs"] = append(in["trainingJobs"].([]any), map[string]any{
				"namespace": tk, "name": "train-late", "inputs": []any{},
				"modelArtifact": map[string]any{"uri": "s3://" + tk + "-models/m0/model.tar.gz"},
			})
		}, "CONFLICT", "input.trainingJobs[2].modelArtifact.uri"},
		{"a model version index out of range", func(in map[string]any) {
			in["deployments"].([]any)[0].(map[string]any)["modelVersionIndex"] = 1
		}, "INVALID_ARGUMENT", "input.deployments[0].modelVersionIndex"},
		{"an element given twice", func(in map[string]any) {
			in["datasetVersions"] = append(in["datasetVersions"].([]any), in["datasetVersions"].([]any)[0])
		}, "INVALID_ARGUMENT", "input.datasetVersions[3]"},
		{"a model version given twice", func(in map[string]any) {
			in["modelVersions"] = append(in["modelVersions"].([]any), in["modelVersions"].([]any)[0])
		}, "INVALID_ARGUMENT", "input.modelVersions[1]"},
		{"nothing to record", func(in map[string]any) {
			clear(in)
		}, "INVALID_ARGUMENT", "input"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := pipelineInput(tk, 2)
			c.change(in)
			// Every refused call also carries a new element, which must not be written.
			fresh := "s3://" + tk + "-lake/fresh/" + c.field
			if len(in) > 0 {
				in["datasetVersions"] = append(in["datasetVersions"].([]any), map[string]any{"uri": fresh, "digest": "sha256:new"})
			}
			resp := do(t, h, recordPipeline, map[string]any{"input": in})
			require.Len(t, resp.Errors, 1, "%+v", resp.Errors)
			assert.Equal(t, c.code, resp.Errors[0].Extensions["code"], resp.Errors[0].Message)
			assert.Equal(t, c.field, resp.Errors[0].Extensions["field"], resp.Errors[0].Message)
			node := mustDo(t, h, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": "datasetVersion:s3://" + tk + "-lake:fresh/" + c.field + "#sha256:new"})
			assert.Nil(t, get(node, "node"), "the refused call wrote nothing")
		})
	}
	// The late job of the refused calls was not written either.
	node := mustDo(t, h, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": "job:" + tk + ":train-late"})
	assert.Nil(t, get(node, "node"))
}

// A call holds at most store.MaxPipelineObjects elements, and at most
// MaxPipelineModelVersions model versions.
func TestRecordPipelineIsBounded(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	tk := neo4jtest.Token(t)
	versions := func(n int) []any {
		out := make([]any, n)
		for i := range out {
			out[i] = map[string]any{"uri": fmt.Sprintf("s3://%s-lake/bound/%d", tk, i), "digest": "sha256:1"}
		}
		return out
	}
	resp := do(t, h, recordPipeline, map[string]any{"input": map[string]any{"datasetVersions": versions(store.MaxPipelineObjects + 1)}})
	require.Len(t, resp.Errors, 1)
	assert.Equal(t, "INVALID_ARGUMENT", resp.Errors[0].Extensions["code"])
	assert.Equal(t, "input", resp.Errors[0].Extensions["field"])
	assert.Contains(t, resp.Errors[0].Message, fmt.Sprintf("at most %d", store.MaxPipelineObjects))

	models := make([]any, store.MaxPipelineModelVersions+1)
	for i := range models {
		models[i] = map[string]any{"model": tk + "-m", "source": fmt.Sprintf("s3://%s-models/%d", tk, i)}
	}
	resp = do(t, h, recordPipeline, map[string]any{"input": map[string]any{"modelVersions": models}})
	require.Len(t, resp.Errors, 1)
	assert.Equal(t, "input.modelVersions", resp.Errors[0].Extensions["field"])

	// The most a call may hold is recorded.
	out := mustDo(t, h, recordPipeline, map[string]any{"input": map[string]any{"datasetVersions": versions(store.MaxPipelineObjects)}})
	assert.Len(t, get(out, "recordPipeline", "datasetVersions"), store.MaxPipelineObjects)
}

// Each element of a call appends the audit entry its single mutation would, with the
// caller as actor, and the chain still verifies.
func TestRecordPipelineAuditsEachElement(t *testing.T) {
	t.Parallel()
	st, _ := neo4jtest.StoreWithOwnAuditChain(t)
	tk := neo4jtest.Token(t)
	writer := authtest.NewToken(t, st, auth.RoleWriter)
	h := writer.Handler(newBareHandler(t, server.Options{Store: st}))
	before, err := st.VerifyAuditLog(context.Background(), nil, nil)
	require.NoError(t, err)
	mustDo(t, h, recordPipeline, map[string]any{"input": pipelineInput(tk, 2)})
	lake, models := "s3://"+tk+"-lake", "s3://"+tk+"-models"
	want := []struct {
		about, action string
		targets       []string
	}{
		{"datasetVersion:" + lake + ":raw/b#sha256:bb", store.ActionDatasetVersionRegister, []string{"datasetVersion:" + lake + ":raw/b#sha256:bb", "dataset:" + lake + ":raw/b"}},
		{"job:" + tk + ":join", store.ActionProcessingJobRecord, []string{"job:" + tk + ":join", "datasetVersion:" + lake + ":raw/a#sha256:aa",
			"datasetVersion:" + lake + ":raw/b#sha256:bb", "datasetVersion:" + lake + ":features#sha256:ff"}},
		{"job:" + tk + ":train-1", store.ActionTrainingJobRecord, []string{"job:" + tk + ":train-1", "artifact:" + models + "/m1/model.tar.gz", "datasetVersion:" + lake + ":features#sha256:ff"}},
		{"model:" + tk + "-fraud/1", store.ActionModelVersionRegister, []string{"model:" + tk + "-fraud", "model:" + tk + "-fraud/1", "artifact:" + models + "/m0/model.tar.gz", "job:" + tk + ":train-0"}},
		{"endpoint:" + tk + "-prod", store.ActionModelVersionDeploy, []string{"endpoint:" + tk + "-prod", "model:" + tk + "-fraud/1"}},
	}
	for _, w := range want {
		page, err := st.AuditEntriesAbout(context.Background(), store.AuditLogQuery{About: []string{w.about}, First: 10})
		require.NoError(t, err)
		var found bool
		for _, e := range page.Entries {
			if e.Action == w.action {
				found = true
				assert.Equal(t, writer.Actor, e.Actor)
				assert.Equal(t, w.targets, e.Targets, w.about)
			}
		}
		assert.True(t, found, "an entry %s about %s", w.action, w.about)
	}
	after, err := st.VerifyAuditLog(context.Background(), nil, nil)
	require.NoError(t, err)
	assert.Nil(t, after.FirstBreak, "the chain verifies")
	assert.Equal(t, int64(3+1+2+1+1), after.Head-before.Head, "one entry per element")
}
