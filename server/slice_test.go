package server_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/auth"
	"github.com/provgraph/provgraph/internal/neo4jtest"
)

const (
	registerDatasetVersion = `mutation($input: RegisterDatasetVersionInput!) {
  registerDatasetVersion(input: $input) { created datasetVersion { id kind name namespace uri version digest versionId dataset { id name } } }
}`
	recordTrainingJob = `mutation($input: RecordTrainingJobInput!) {
  recordTrainingJob(input: $input) {
    created
    trainingJob { id kind name status instanceType codeVersion hyperParameters { key value } inputs { id } outputs { id } }
    modelArtifact { id uri name }
  }
}`
	registerModelVersion = `mutation($input: RegisterModelVersionInput!) {
  registerModelVersion(input: $input) { modelVersion { id name version source model { id name latestVersion } producedBy { id kind } } }
}`
	deployModelVersion = `mutation($input: DeployModelVersionInput!) {
  deployModelVersion(input: $input) {
    created
    deployment { id variant trafficShare from to modelVersion { id } endpoint { id name } }
    replaced { id to modelVersion { id } }
  }
}`
	lineageQuery = `query($start: [ID!]!, $direction: LineageDirection!, $maxDepth: Int) {
  lineage(start: $start, direction: $direction, maxDepth: $maxDepth) {
    nodes { id kind name }
    edges { from to type }
    truncated
  }
}`
)

// slice is one dataset version → training job → model artifact → model version →
// endpoint chain, recorded through the API under a test token.
type slice struct {
	token, dataset, job, artifact, model, version, endpoint string
}

func recordSlice(t *testing.T, h http.Handler) slice {
	t.Helper()
	tk := neo4jtest.Token(t)
	s := slice{token: tk}
	d := mustDo(t, h, registerDatasetVersion, map[string]any{"input": map[string]any{
		"uri": "s3://lake-" + tk + "/customers/2026-01", "digest": "sha256:c0ffee",
	}})
	s.dataset = get(d, "registerDatasetVersion", "datasetVersion", "id").(string)
	s.artifact = "artifact:s3://models-" + tk + "/fraud/model.tar.gz"
	d = mustDo(t, h, recordTrainingJob, map[string]any{"input": map[string]any{
		"namespace": "sagemaker-" + tk, "name": "fraud-train-1", "inputs": []string{s.dataset},
		"modelArtifact":   map[string]any{"uri": "s3://models-" + tk + "/fraud/model.tar.gz"},
		"instanceType":    "ml.m5.xlarge",
		"hyperParameters": []map[string]any{{"key": "max_depth", "value": "6"}, {"key": "eta", "value": "0.2"}},
	}})
	s.job = get(d, "recordTrainingJob", "trainingJob", "id").(string)
	d = mustDo(t, h, registerModelVersion, map[string]any{"input": map[string]any{
		"model": "fraud-" + tk, "source": "s3://models-" + tk + "/fraud/model.tar.gz", "producedBy": s.job,
	}})
	s.version = get(d, "registerModelVersion", "modelVersion", "id").(string)
	s.model = get(d, "registerModelVersion", "modelVersion", "model", "id").(string)
	d = mustDo(t, h, deployModelVersion, map[string]any{"input": map[string]any{
		"endpoint": "fraud-prod-" + tk, "modelVersion": s.version,
	}})
	s.endpoint = get(d, "deployModelVersion", "deployment", "endpoint", "id").(string)
	return s
}

func TestSliceRecordsEveryStepWithReadableIDs(t *testing.T) {
	t.Parallel()
	h, cred := newHandlerAs(t, auth.RoleWriter)
	tk := neo4jtest.Token(t)

	d := mustDo(t, h, registerDatasetVersion, map[string]any{"input": map[string]any{
		"uri": "s3://lake-" + tk + "/customers/2026-01", "digest": "sha256:c0ffee", "versionId": "v3",
	}})
	dv := get(d, "registerDatasetVersion").(map[string]any)
	assert.Equal(t, true, dv["created"])
	assert.Equal(t, "datasetVersion:s3://lake-"+tk+":customers/2026-01#v3", get(dv, "datasetVersion", "id"))
	assert.Equal(t, "DATASET_VERSION", get(dv, "datasetVersion", "kind"))
	assert.Equal(t, "s3://lake-"+tk, get(dv, "datasetVersion", "namespace"))
	assert.Equal(t, "customers/2026-01", get(dv, "datasetVersion", "name"))
	assert.Equal(t, "sha256:c0ffee", get(dv, "datasetVersion", "digest"))
	assert.Equal(t, "dataset:s3://lake-"+tk+":customers/2026-01", get(dv, "datasetVersion", "dataset", "id"))

	// The same version again is accepted and changes nothing.
	before := neo4jtest.Snapshot(t, tk)
	d = mustDo(t, h, registerDatasetVersion, map[string]any{"input": map[string]any{
		"uri": "s3://lake-" + tk + "/customers/2026-01", "digest": "sha256:c0ffee", "versionId": "v3",
	}})
	assert.Equal(t, false, get(d, "registerDatasetVersion", "created"))
	assert.Equal(t, before, neo4jtest.Snapshot(t, tk))

	dvID := get(dv, "datasetVersion", "id").(string)
	d = mustDo(t, h, recordTrainingJob, map[string]any{"input": map[string]any{
		"namespace": "sagemaker-" + tk, "name": "fraud-train-1", "inputs": []string{dvID},
		"modelArtifact": map[string]any{"uri": "s3://models-" + tk + "/fraud/model.tar.gz"},
		"instanceType":  "ml.m5.xlarge", "codeVersion": "9f1c2e7",
		"hyperParameters": []map[string]any{{"key": "max_depth", "value": "6"}, {"key": "eta", "value": "0.2"}},
	}})
	job := get(d, "recordTrainingJob", "trainingJob")
	assert.Equal(t, "job:sagemaker-"+tk+":fraud-train-1", get(job, "id"))
	assert.Equal(t, "COMPLETED", get(job, "status"))
	assert.Equal(t, []any{
		map[string]any{"key": "eta", "value": "0.2"}, map[string]any{"key": "max_depth", "value": "6"},
	}, get(job, "hyperParameters"))
	assert.Equal(t, []string{dvID}, ids(get(job, "inputs")))
	assert.Equal(t, []string{"artifact:s3://models-" + tk + "/fraud/model.tar.gz"}, ids(get(job, "outputs")))
	assert.Equal(t, "model.tar.gz", get(d, "recordTrainingJob", "modelArtifact", "name"))

	d = mustDo(t, h, registerModelVersion, map[string]any{"input": map[string]any{
		"model": "fraud-" + tk, "source": "s3://models-" + tk + "/fraud/model.tar.gz",
		"producedBy": get(job, "id"),
	}})
	mv := get(d, "registerModelVersion", "modelVersion")
	assert.Equal(t, "model:fraud-"+tk+"/1", get(mv, "id"))
	assert.Equal(t, "fraud-"+tk+"/1", get(mv, "name"))
	assert.Equal(t, float64(1), get(mv, "version"))
	assert.Equal(t, "model:fraud-"+tk, get(mv, "model", "id"))
	assert.Equal(t, float64(1), get(mv, "model", "latestVersion"))
	assert.Equal(t, get(job, "id"), get(mv, "producedBy", "id"))

	d = mustDo(t, h, deployModelVersion, map[string]any{"input": map[string]any{
		"endpoint": "fraud-prod-" + tk, "modelVersion": get(mv, "id"),
	}})
	dep := get(d, "deployModelVersion", "deployment")
	assert.Equal(t, true, get(d, "deployModelVersion", "created"))
	assert.Equal(t, "endpoint:fraud-prod-"+tk, get(dep, "endpoint", "id"))
	assert.Equal(t, "AllTraffic", get(dep, "variant"))
	assert.Equal(t, 1.0, get(dep, "trafficShare"))
	assert.Nil(t, get(dep, "to"))
	assert.Nil(t, get(d, "deployModelVersion", "replaced"))

	// node(id:) resolves every kind by its readable ID.
	for id, typename := range map[string]string{
		dvID: "DatasetVersion", "dataset:s3://lake-" + tk + ":customers/2026-01": "Dataset",
		get(job, "id").(string): "TrainingJob", "artifact:s3://models-" + tk + "/fraud/model.tar.gz": "Artifact",
		"model:fraud-" + tk: "RegisteredModel", get(mv, "id").(string): "ModelVersion",
		"endpoint:fraud-prod-" + tk: "Endpoint",
	} {
		d := mustDo(t, h, `query($id: ID!) { node(id: $id) { __typename id recordedBy recordedAt } }`, map[string]any{"id": id})
		assert.Equal(t, typename, get(d, "node", "__typename"), id)
		assert.Equal(t, id, get(d, "node", "id"))
		assert.Equal(t, cred.Actor, get(d, "node", "recordedBy"), "the writer's token is the actor")
		assert.NotEmpty(t, get(d, "node", "recordedAt"))
	}
	d = mustDo(t, h, `query($id: ID!) { node(id: $id) { ... on Endpoint { activeDeployments { variant modelVersion { id } } } } }`,
		map[string]any{"id": "endpoint:fraud-prod-" + tk})
	assert.Equal(t, get(mv, "id"), get(d, "node", "activeDeployments", 0, "modelVersion", "id"))

	// A well-formed ID that names nothing is null, not an error.
	d = mustDo(t, h, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": "endpoint:nothing-" + tk})
	assert.Nil(t, d["node"])
}

func TestLineageTracesEndpointToDataset(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	s := recordSlice(t, h)
	all := []string{s.dataset, s.job, s.artifact, s.version, s.endpoint}
	wantEdges := []any{
		map[string]any{"from": s.artifact, "to": s.version, "type": "REGISTERED_AS"},
		map[string]any{"from": s.dataset, "to": s.job, "type": "INPUT_TO"},
		map[string]any{"from": s.job, "to": s.artifact, "type": "PRODUCED"},
		map[string]any{"from": s.version, "to": s.endpoint, "type": "DEPLOYED_TO"},
	}

	tests := []struct {
		name      string
		start     []string
		direction string
		maxDepth  any
		want      []string
	}{
		{"upstream from endpoint reaches the dataset version", []string{s.endpoint}, "UPSTREAM", nil, all},
		{"downstream from dataset version reaches the endpoint", []string{s.dataset}, "DOWNSTREAM", nil, all},
		{"depth 1 stops after one edge", []string{s.endpoint}, "UPSTREAM", 1, []string{s.endpoint, s.version}},
		{"depth 3 stops at the job", []string{s.endpoint}, "UPSTREAM", 3, []string{s.endpoint, s.version, s.artifact, s.job}},
		{"depth 0 is the start nodes", []string{s.endpoint, s.dataset}, "UPSTREAM", 0, []string{s.endpoint, s.dataset}},
		{"both from the artifact is both cones", []string{s.artifact}, "BOTH", nil, all},
		{"upstream of a source is itself", []string{s.dataset}, "UPSTREAM", nil, []string{s.dataset}},
		{"a dataset stands for its versions", []string{datasetOf(s)}, "DOWNSTREAM", nil, append([]string{datasetOf(s)}, all...)},
		{"a registered model stands for its versions", []string{s.model}, "UPSTREAM", nil,
			[]string{s.model, s.version, s.artifact, s.job, s.dataset}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := mustDo(t, h, lineageQuery, map[string]any{"start": tt.start, "direction": tt.direction, "maxDepth": tt.maxDepth})
			got := ids(get(d, "lineage", "nodes"))
			assert.ElementsMatch(t, tt.want, got)
			assert.Equal(t, tt.start, got[:len(tt.start)], "start nodes come first")
			assert.Equal(t, false, get(d, "lineage", "truncated"))
		})
	}

	d := mustDo(t, h, lineageQuery, map[string]any{"start": []string{s.endpoint}, "direction": "UPSTREAM"})
	assert.ElementsMatch(t, wantEdges, get(d, "lineage", "edges"))
	// Without edges selected, the same nodes (and the edges query is skipped).
	d2 := mustDo(t, h, `query($s: [ID!]!) { lineage(start: $s, direction: UPSTREAM) { nodes { id } truncated } }`, map[string]any{"s": []string{s.endpoint}})
	assert.Equal(t, ids(get(d, "lineage", "nodes")), ids(get(d2, "lineage", "nodes")))
	d = mustDo(t, h, lineageQuery, map[string]any{"start": []string{datasetOf(s)}, "direction": "DOWNSTREAM"})
	assert.ElementsMatch(t, append(wantEdges, map[string]any{"from": s.dataset, "to": datasetOf(s), "type": "VERSION_OF"}),
		get(d, "lineage", "edges"))
	for _, n := range get(d, "lineage", "nodes").([]any) {
		assert.NotEmpty(t, get(n, "kind"))
		assert.NotEmpty(t, get(n, "name"))
	}
}

// BOTH is the union of the two cones of the start nodes, not SageMaker's expansion in
// both directions from every visited node: a sibling job that read the same dataset
// version is downstream of the dataset, not of the start.
func TestLineageBothDoesNotExpandFromVisitedNodes(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	s := recordSlice(t, h)
	d := mustDo(t, h, recordTrainingJob, map[string]any{"input": map[string]any{
		"namespace": "sagemaker-" + s.token, "name": "sibling", "inputs": []string{s.dataset},
		"modelArtifact": map[string]any{"uri": "s3://models-" + s.token + "/sibling/model.tar.gz"},
	}})
	sibling := get(d, "recordTrainingJob", "trainingJob", "id").(string)

	d = mustDo(t, h, lineageQuery, map[string]any{"start": []string{s.version}, "direction": "BOTH"})
	got := ids(get(d, "lineage", "nodes"))
	assert.ElementsMatch(t, []string{s.dataset, s.job, s.artifact, s.version, s.endpoint}, got)
	assert.NotContains(t, got, sibling)

	d = mustDo(t, h, lineageQuery, map[string]any{"start": []string{s.dataset}, "direction": "DOWNSTREAM", "maxDepth": 1})
	assert.ElementsMatch(t, []string{s.dataset, s.job, sibling}, ids(get(d, "lineage", "nodes")))
}

func TestRedeployKeepsHistory(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	s := recordSlice(t, h)
	d := mustDo(t, h, registerModelVersion, map[string]any{"input": map[string]any{
		"model": "fraud-" + s.token, "source": "s3://models-" + s.token + "/fraud/model.tar.gz", "producedBy": s.job,
	}})
	v2 := get(d, "registerModelVersion", "modelVersion", "id").(string)
	assert.Equal(t, "model:fraud-"+s.token+"/2", v2)

	d = mustDo(t, h, deployModelVersion, map[string]any{"input": map[string]any{"endpoint": "fraud-prod-" + s.token, "modelVersion": v2}})
	assert.Equal(t, v2, get(d, "deployModelVersion", "deployment", "modelVersion", "id"))
	assert.Equal(t, s.version, get(d, "deployModelVersion", "replaced", "modelVersion", "id"))
	assert.Equal(t, get(d, "deployModelVersion", "deployment", "from"), get(d, "deployModelVersion", "replaced", "to"))

	// Deploying what already serves changes nothing.
	before := neo4jtest.Snapshot(t, s.token)
	d = mustDo(t, h, deployModelVersion, map[string]any{"input": map[string]any{"endpoint": "fraud-prod-" + s.token, "modelVersion": v2}})
	assert.Equal(t, false, get(d, "deployModelVersion", "created"))
	assert.Equal(t, before, neo4jtest.Snapshot(t, s.token))

	d = mustDo(t, h, `query($id: ID!) { node(id: $id) { ... on Endpoint { activeDeployments { modelVersion { id } } } } }`,
		map[string]any{"id": s.endpoint})
	assert.Equal(t, []string{v2}, ids(mapList(get(d, "node", "activeDeployments"), "modelVersion")))

	// Lineage keeps the replaced version: it served this endpoint once.
	d = mustDo(t, h, lineageQuery, map[string]any{"start": []string{s.endpoint}, "direction": "UPSTREAM", "maxDepth": 1})
	assert.ElementsMatch(t, []string{s.endpoint, s.version, v2}, ids(get(d, "lineage", "nodes")))
}

// datasetOf is the dataset ID of the slice's dataset version.
func datasetOf(s slice) string {
	return "dataset:s3://lake-" + s.token + ":customers/2026-01"
}

func mapList(list any, key string) []any {
	var out []any
	for _, v := range list.([]any) {
		out = append(out, get(v, key))
	}
	return out
}

func TestConcurrentRegistrationsGetDistinctVersions(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	s := recordSlice(t, h)
	const n = 8
	var wg sync.WaitGroup
	got := make([]string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp := do(t, h, registerModelVersion, map[string]any{"input": map[string]any{
				"model": "fraud-" + s.token, "source": "s3://models-" + s.token + "/fraud/model.tar.gz",
			}})
			if len(resp.Errors) == 0 {
				got[i], _ = get(resp.Data, "registerModelVersion", "modelVersion", "id").(string)
			}
		}()
	}
	wg.Wait()
	var want []string
	for i := 2; i <= n+1; i++ { // version 1 exists already
		want = append(want, fmt.Sprintf("model:fraud-%s/%d", s.token, i))
	}
	require.ElementsMatch(t, want, got)
}

// Concurrent deployments to one endpoint variant queue: each replaces the one before,
// and exactly one serves at the end — also when the endpoint is new and the first
// deployments race to create it.
func TestConcurrentDeploymentsLeaveOneActive(t *testing.T) {
	t.Run("existing endpoint", func(t *testing.T) { concurrentDeployments(t, "") })
	t.Run("new endpoint", func(t *testing.T) { concurrentDeployments(t, "-new") })
}

func concurrentDeployments(t *testing.T, suffix string) {
	t.Parallel()
	h := newHandler(t)
	s := recordSlice(t, h)
	d := mustDo(t, h, registerModelVersion, map[string]any{"input": map[string]any{
		"model": "fraud-" + s.token, "source": "s3://models-" + s.token + "/fraud/model.tar.gz",
	}})
	versions := []string{s.version, get(d, "registerModelVersion", "modelVersion", "id").(string)}
	const n = 6
	var wg sync.WaitGroup
	errs := make([][]gqlError, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp := do(t, h, deployModelVersion, map[string]any{"input": map[string]any{
				"endpoint": "fraud-prod-" + s.token + suffix, "modelVersion": versions[i%2], "trafficShare": 0.5 + float64(i)/20,
			}})
			errs[i] = resp.Errors
		}()
	}
	wg.Wait()
	for i := range n {
		require.Empty(t, errs[i], "deployment %d", i)
	}
	d = mustDo(t, h, `query($id: ID!) { node(id: $id) { ... on Endpoint { activeDeployments { id } } } }`, map[string]any{"id": s.endpoint + suffix})
	assert.Len(t, get(d, "node", "activeDeployments"), 1)
}
