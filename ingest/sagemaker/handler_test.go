package sagemaker_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/ingest/sagemaker"
	"github.com/provgraph/provgraph/internal/neo4jtest"
	"github.com/provgraph/provgraph/store"
)

// golden returns testdata/name with {{TK}} replaced by the test's token.
func golden(t *testing.T, name, tk string) json.RawMessage {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	s := strings.ReplaceAll(string(b), "{{TK}}", tk)
	require.NotContains(t, s, "{{", "unreplaced placeholder in %s", name)
	return json.RawMessage(s)
}

// batch joins testdata files into one JSON array body.
func batch(t *testing.T, tk string, names ...string) []byte {
	t.Helper()
	var parts []string
	for _, n := range names {
		parts = append(parts, string(golden(t, n, tk)))
	}
	return []byte("[" + strings.Join(parts, ",") + "]")
}

func newHandler(t *testing.T) http.Handler {
	t.Helper()
	h := sagemaker.NewHandler(neo4jtest.Store(t), nil)
	logger := zerolog.New(zerolog.NewTestWriter(t))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r.WithContext(logger.WithContext(r.Context())))
	})
}

func post(t *testing.T, h http.Handler, body []byte) (int, sagemaker.Response) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, sagemaker.Path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer eb-api-destination-key")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var res sagemaker.Response
	if strings.HasPrefix(rec.Body.String(), `{"received"`) {
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &res), rec.Body.String())
	}
	return rec.Code, res
}

func requireAllAccepted(t *testing.T, res sagemaker.Response) {
	t.Helper()
	for _, r := range res.Results {
		require.NotEqual(t, sagemaker.StatusFailed, r.Status, "element %d (%s) failed: %s", r.Index, r.Kind, r.Reason)
	}
}

func nodeKeys(nodes []store.Node) []string {
	out := make([]string, len(nodes))
	for i, n := range nodes {
		out[i] = n.Key
	}
	return out
}

// A SageMaker pipeline reported through the endpoint — a processing job's
// DescribeProcessingJob, a training job's InProgress and Completed events, the model
// package's pending and approved events, DescribeModel, DescribeEndpointConfig and the
// endpoint's InService event — traces from the endpoint back to the raw S3 data.
// Delivering it all again changes nothing; a redeployment with a new configuration
// ends the old deployment.
func TestPipelineThroughHTTP(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	h := newHandler(t)
	tk := neo4jtest.Token(t)
	ctx := t.Context()
	body := batch(t, tk, "describe_processing_job.json", "pipeline_step_processing.json",
		"training_inprogress.json", "training_completed.json",
		"model_package_pending.json", "model_package_approved.json", "pipeline_step_condition.json",
		"describe_model.json", "describe_endpoint_config.json", "endpoint_in_service.json")

	code, res := post(t, h, body)
	require.Equal(t, http.StatusOK, code)
	requireAllAccepted(t, res)
	assert.Equal(t, sagemaker.Response{Received: 10, Accepted: 9, Ignored: 1}, sagemaker.Response{
		Received: res.Received, Accepted: res.Accepted, Failed: res.Failed, Ignored: res.Ignored})
	require.Len(t, res.Results, 10)
	for i, r := range res.Results {
		assert.Equal(t, i, r.Index)
	}
	assert.Equal(t, "DescribeProcessingJob", res.Results[0].Kind)
	assert.Equal(t, sagemaker.DetailTraining, res.Results[2].Kind)
	assert.Equal(t, sagemaker.StatusIgnored, res.Results[6].Status)
	assert.Contains(t, res.Results[6].Reason, "CheckAUCFraud")

	lake := "s3://" + tk + "-lake"
	raw := store.DatasetVersionKey(lake, "raw/customers/2026-03", sagemaker.PinnedVersion)
	train := store.DatasetVersionKey(lake, "features/fraud/train", sagemaker.PinnedVersion)
	prep := store.JobKey("sagemaker", "fraud-preprocess-"+tk)
	job := store.JobKey("sagemaker", "fraud-xgb-"+tk)
	version := store.ModelVersionKey("fraud-models-"+tk, 1)
	endpoint := store.EndpointKey("fraud-prod-" + tk)
	assert.Contains(t, res.Results[0].IDs, raw)
	assert.Contains(t, res.Results[3].IDs, job)
	assert.Contains(t, res.Results[9].IDs, version)

	up, err := st.Lineage(ctx, store.LineageQuery{Start: []string{endpoint}, Direction: store.Upstream, MaxDepth: 10})
	require.NoError(t, err)
	keys := nodeKeys(up.Nodes)
	for _, k := range []string{version, job, train, prep, raw} {
		assert.Contains(t, keys, k)
	}
	assert.Contains(t, up.Edges, store.Edge{From: raw, To: prep, Type: store.RelInputTo})
	assert.Contains(t, up.Edges, store.Edge{From: prep, To: train, Type: store.RelProduced})

	approvals, err := st.ApprovalsOf(ctx, version, nil)
	require.NoError(t, err)
	require.Len(t, approvals, 1)
	assert.Equal(t, store.Approved, approvals[0].Status)

	step, err := st.NodeByID(ctx, "id", store.JobKey("sagemaker", "pipelines-k2v8q1d0x7ja-preprocess-"+tk))
	require.NoError(t, err)
	assert.Equal(t, "COMPLETED", step.String("status"))
	assert.Equal(t, "PreprocessFraudData", step.String("sagemakerPipelineStep"))

	trained, err := st.NodeByID(ctx, "id", job)
	require.NoError(t, err)
	assert.Equal(t, "COMPLETED", trained.String("status"))
	assert.Equal(t, "2026-03-02T10:41:07.41Z", trained.OptTime("endedAt").Format("2006-01-02T15:04:05.999Z07:00"))

	// Repeated delivery, as EventBridge retries do.
	before := neo4jtest.Snapshot(t, tk)
	code, res = post(t, h, body)
	require.Equal(t, http.StatusOK, code)
	requireAllAccepted(t, res)
	assert.Equal(t, before, neo4jtest.Snapshot(t, tk), "a repeated delivery changed the graph")

	// A second training job (DescribeTrainingJob, ISO times) reads the same features; its
	// package version is served, with the first, by a new endpoint configuration.
	code, res = post(t, h, batch(t, tk, "describe_training_job.json", "describe_model_package_2.json",
		"describe_model_2.json", "describe_endpoint_config_2.json", "describe_endpoint.json", "describe_transform_job.json"))
	require.Equal(t, http.StatusOK, code)
	requireAllAccepted(t, res)
	inputs, err := st.InputsOf(ctx, store.JobKey("sagemaker", "fraud-xgb-2-"+tk))
	require.NoError(t, err)
	assert.Equal(t, []string{train}, nodeKeys(inputs))

	v2 := store.ModelVersionKey("fraud-models-"+tk, 2)
	deps, err := st.ActiveDeployments(ctx, endpoint)
	require.NoError(t, err)
	require.Len(t, deps, 2)
	assert.Equal(t, []any{"AllTraffic", v2, 0.75}, []any{deps[0].Variant, deps[0].ModelVersion.Key, deps[0].TrafficShare})
	assert.Equal(t, []any{"Previous", version, 0.25}, []any{deps[1].Variant, deps[1].ModelVersion.Key, deps[1].TrafficShare})
	page, err := st.DeploymentHistory(ctx, endpoint, nil, nil)
	require.NoError(t, err)
	require.Equal(t, 3, page.TotalCount)
	assert.NotNil(t, page.Deployments[2].To, "the first configuration's deployment did not end")
	approvals, err = st.ApprovalsOf(ctx, v2, nil)
	require.NoError(t, err)
	require.Len(t, approvals, 1)
	assert.Contains(t, *approvals[0].Comment, "risk-reviewer")

	// The batch transform read the scoring data and the first model's artifact.
	transform := store.JobKey("sagemaker", "fraud-batch-"+tk)
	inputs, err = st.InputsOf(ctx, transform)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{
		store.DatasetVersionKey(lake, "scoring/2026-03-03", sagemaker.PinnedVersion),
		store.ArtifactKey("s3://" + tk + "-models/fraud/fraud-xgb-" + tk + "/output/model.tar.gz"),
	}, nodeKeys(inputs))
	outputs, err := st.OutputsOf(ctx, transform)
	require.NoError(t, err)
	assert.Equal(t, []string{store.DatasetVersionKey(lake, "predictions/2026-03-03", sagemaker.PinnedVersion)}, nodeKeys(outputs))
}

// Elements that cannot be recorded are reported with their index and reason, and
// write nothing; the others are recorded.
func TestBadElementsReported(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	tk := neo4jtest.Token(t)
	good := golden(t, "describe_model.json", tk)
	code, res := post(t, h, good)
	require.Equal(t, http.StatusOK, code)
	requireAllAccepted(t, res)
	before := neo4jtest.Snapshot(t, tk)

	placeholderURI := strings.Replace(string(golden(t, "training_inprogress.json", tk)),
		`"s3://`+tk+`-lake/features/fraud/validation"`, `"S3Uri"`, 1)
	elements := []string{
		string(good),
		`{"version":"0","id":"1","detail-type":"SageMaker Notebook Instance State Change","source":"aws.sagemaker","detail":{"NotebookInstanceName":"nb-` + tk + `"}}`,
		`42`,
		`{"Name":"nothing-` + tk + `"}`,
		`{"detail-type":"SageMaker Training Job State Change","source":"aws.sagemaker","detail":{"TrainingJobStatus":"InProgress"}}`,
		placeholderURI,
		`{"detail-type":"SageMaker Training Job State Change","source":"aws.ec2","detail":{"TrainingJobName":"x-` + tk + `"}}`,
		`{"detail-type":"SageMaker Endpoint State Change","source":"aws.sagemaker","detail":"IN_SERVICE"}`,
		`{"ModelPackageArn":"arn:aws:sagemaker:us-east-1:123456789012:model-package/fraud-models-` + tk + `/3","ModelApprovalStatus":"Maybe"}`,
		`{"EndpointConfigName":"cfg-` + tk + `","EndpointConfigArn":"arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/cfg-` + tk + `","ProductionVariants":[{"VariantName":"AllTraffic","InitialVariantWeight":1}]}`,
	}
	code, res = post(t, h, []byte("["+strings.Join(elements, ",")+"]"))
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, 10, res.Received)
	assert.Equal(t, 1, res.Accepted, "%+v", res.Results)
	assert.Equal(t, 9, res.Failed)
	want := map[int]string{
		1: "not a SageMaker event this endpoint records",
		2: "not a JSON object",
		3: "neither an EventBridge event",
		4: "TrainingJobName",
		5: "absolute URI",
		6: "aws.sagemaker",
		7: "must be a JSON object",
		8: "PendingManualApproval, Approved or Rejected",
		9: "ProductionVariants[0].ModelName",
	}
	for i, r := range res.Results {
		assert.Equal(t, i, r.Index)
		if reason, ok := want[i]; ok {
			assert.Equal(t, sagemaker.StatusFailed, r.Status, "element %d", i)
			assert.Contains(t, r.Reason, reason, "element %d", i)
			assert.NotEmpty(t, r.Code)
		}
	}
	assert.Equal(t, sagemaker.StatusAccepted, res.Results[0].Status, res.Results[0].Reason)
	assert.Equal(t, before, neo4jtest.Snapshot(t, tk))
}

// Wrongly typed values are refused, naming the field and the type expected, and write
// nothing: a single event with 400 and its result, a batch with 200 and the failed
// element's index, field and reason among the results.
func TestWrongTypesRefused(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	tk := neo4jtest.Token(t)
	good := golden(t, "describe_model.json", tk)
	code, res := post(t, h, good)
	require.Equal(t, http.StatusOK, code)
	requireAllAccepted(t, res)
	before := neo4jtest.Snapshot(t, tk)
	training := string(golden(t, "training_completed.json", tk))
	mutate := func(from, to string) string {
		require.Contains(t, training, from)
		return strings.Replace(training, from, to, 1)
	}
	cases := []struct{ body, field, reason string }{
		{mutate(`"TrainingJobName": "fraud-xgb-`+tk+`"`, `"TrainingJobName": 7`), "detail.TrainingJobName", "must be a string, not a number"},
		{mutate(`"TrainingJobName": "fraud-xgb-`+tk+`"`, `"TrainingJobName": true`), "detail.TrainingJobName", "must be a string, not a boolean"},
		{mutate(`"TrainingJobName": "fraud-xgb-`+tk+`"`, `"TrainingJobName": {"name": "fraud-xgb-`+tk+`"}`), "detail.TrainingJobName", "must be a string, not an object"},
		{mutate(`"InputDataConfig": [`, `"InputDataConfig": "s3://lake", "x": [`), "detail.InputDataConfig", "must be an array of objects, not a string"},
		{mutate(`"HyperParameters": {`, `"HyperParameters": "eta=0.2", "x": {`), "detail.HyperParameters", "must be a JSON object, not a string"},
		{mutate(`"S3Uri": "s3://`+tk+`-lake/features/fraud/train"`, `"S3Uri": 12`), "detail.InputDataConfig[0].DataSource.S3DataSource.S3Uri", "must be a string, not a number"},
		{`{"detail-type":"SageMaker Notebook Instance State Change","source":"aws.sagemaker","detail":{"NotebookInstanceName":"nb-` + tk + `"}}`, "detail-type", "not a SageMaker event this endpoint records"},
	}
	for _, c := range cases {
		code, res := post(t, h, []byte(c.body))
		assert.Equal(t, http.StatusBadRequest, code, c.field)
		if assert.Len(t, res.Results, 1, c.field) {
			r := res.Results[0]
			assert.Equal(t, sagemaker.StatusFailed, r.Status)
			assert.Equal(t, "INVALID_ARGUMENT", string(r.Code))
			assert.Equal(t, c.field, r.Field)
			assert.True(t, strings.HasPrefix(r.Reason, c.field+": "), r.Reason)
			assert.Contains(t, r.Reason, c.reason)
		}
	}
	// The same elements in one batch, after a good one: 200, each refused with its index.
	parts := []string{string(good)}
	for _, c := range cases {
		parts = append(parts, c.body)
	}
	code, res = post(t, h, []byte("["+strings.Join(parts, ",")+"]"))
	require.Equal(t, http.StatusOK, code)
	require.Len(t, res.Results, len(cases)+1)
	assert.Equal(t, sagemaker.StatusAccepted, res.Results[0].Status, res.Results[0].Reason)
	for i, c := range cases {
		r := res.Results[i+1]
		assert.Equal(t, i+1, r.Index)
		assert.Equal(t, sagemaker.StatusFailed, r.Status)
		assert.Equal(t, c.field, r.Field)
		assert.Contains(t, r.Reason, c.reason)
	}
	assert.Equal(t, before, neo4jtest.Snapshot(t, tk), "a refused element wrote")
}

func TestRequestErrors(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	send := func(method string, body io.Reader) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, sagemaker.Path, body)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	rec := send(http.MethodGet, nil)
	assert.Equal(t, http.StatusMethodNotAllowed, rec.Code)
	assert.Equal(t, http.MethodPost, rec.Header().Get("Allow"))
	assert.Contains(t, rec.Body.String(), `"code":"METHOD_NOT_ALLOWED"`)

	for body, want := range map[string]string{
		`{"detail-type": "SageMaker Training Job State Change", "detail": {`: "truncated",
		`{"a": 1,}`:    "line 1",
		`"a string"`:   "a string",
		`   `:          "empty",
		`{"a":1} {}`:   "data after the JSON value",
		`[1, 2] extra`: "after the JSON value",
	} {
		rec := send(http.MethodPost, strings.NewReader(body))
		assert.Equal(t, http.StatusBadRequest, rec.Code, body)
		assert.Contains(t, rec.Body.String(), want, body)
	}

	big := bytes.Repeat([]byte(" "), int(sagemaker.MaxBodyBytes)+1)
	big[0] = '['
	rec = send(http.MethodPost, bytes.NewReader(big))
	assert.Equal(t, http.StatusRequestEntityTooLarge, rec.Code)

	rec = send(http.MethodPost, strings.NewReader(`[]`))
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.JSONEq(t, `{"received":0,"accepted":0,"failed":0,"ignored":0,"results":[]}`, rec.Body.String())
}

// A transform job reported before its model's DescribeModel is linked to the model's
// artifact when the model arrives: the order of events does not decide lineage.
func TestTransformLinkedWhenItsModelArrivesLater(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	tk := neo4jtest.Token(t)
	st := neo4jtest.Store(t)
	ctx := t.Context()
	transform := store.JobKey("sagemaker", "fraud-batch-"+tk)
	artifact := store.ArtifactKey("s3://" + tk + "-models/fraud/fraud-xgb-" + tk + "/output/model.tar.gz")

	code, res := post(t, h, batch(t, tk, "describe_transform_job.json"))
	require.Equal(t, http.StatusOK, code)
	requireAllAccepted(t, res)
	inputs, err := st.InputsOf(ctx, transform)
	require.NoError(t, err)
	assert.NotContains(t, nodeKeys(inputs), artifact, "the model is not known yet")

	code, res = post(t, h, batch(t, tk, "describe_model.json"))
	require.Equal(t, http.StatusOK, code)
	requireAllAccepted(t, res)
	inputs, err = st.InputsOf(ctx, transform)
	require.NoError(t, err)
	assert.Contains(t, nodeKeys(inputs), artifact)
	job, err := st.NodeByID(ctx, "id", transform)
	require.NoError(t, err)
	assert.Contains(t, job.Props["inputs"], artifact, "the job's recorded inputs list it too")

	// Describing the model again changes nothing more.
	before := neo4jtest.Snapshot(t, tk)
	code, res = post(t, h, batch(t, tk, "describe_model.json"))
	require.Equal(t, http.StatusOK, code)
	requireAllAccepted(t, res)
	assert.Equal(t, before, neo4jtest.Snapshot(t, tk))
}
