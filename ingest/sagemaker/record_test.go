package sagemaker

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/apperr"
	"github.com/provgraph/provgraph/internal/neo4jtest"
	"github.com/provgraph/provgraph/store"
)

func smPtr[T any](v T) *T { return &v }

func smTime(s string) *time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return &t
}

// smChain is a SageMaker pipeline of one test: processing job → training job → model
// package → model → endpoint configuration → endpoint, all named after the token.
type smChain struct {
	tk                          string
	processing                  Job
	trainingStarted, trainingOK Job
	pkg                         ModelPackage
	model                       Model
	config                      EndpointConfig
	endpoint                    Endpoint
}

func newSMChain(tk string) smChain {
	lake := "s3://" + tk + "-lake"
	artifact := "s3://" + tk + "-models/fraud/train-" + tk + "/output/model.tar.gz"
	c := smChain{tk: tk}
	c.processing = Job{
		Type: Processing, Name: "prep-" + tk,
		ARN:    smPtr("arn:aws:sagemaker:us-east-1:123456789012:processing-job/prep-" + tk),
		Status: "Completed", StartedAt: smTime("2026-03-02T10:00:00Z"), EndedAt: smTime("2026-03-02T10:05:00Z"),
		InstanceType: smPtr("ml.m5.xlarge"), InstanceCount: smPtr(int64(1)),
		Inputs:  []Channel{{Name: "input-1", URI: lake + "/raw/customers/"}},
		Outputs: []Channel{{Name: "train", URI: lake + "/features/train/"}},
	}
	c.trainingStarted = Job{
		Type: Training, Name: "train-" + tk,
		ARN:    smPtr("arn:aws:sagemaker:us-east-1:123456789012:training-job/train-" + tk),
		Status: "InProgress", InstanceType: smPtr("ml.m5.2xlarge"), InstanceCount: smPtr(int64(2)),
		Image:           smPtr("683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"),
		HyperParameters: []store.Param{{Key: "eta", Value: "0.2"}, {Key: "max_depth", Value: "6"}},
		Inputs:          []Channel{{Name: "train", URI: "S3://" + tk + "-LAKE/features//train"}},
		Experiment: &ExperimentConfig{ExperimentName: "fraud-" + tk, TrialName: "sweep-" + tk,
			TrialComponentDisplayName: "xgb-depth6"},
	}
	c.trainingOK = c.trainingStarted
	c.trainingOK.Status = "Completed"
	c.trainingOK.StartedAt, c.trainingOK.EndedAt = smTime("2026-03-02T10:09:30Z"), smTime("2026-03-02T10:41:07Z")
	c.trainingOK.ModelArtifact = &artifact
	c.pkg = ModelPackage{
		Group: "fraud-" + tk, Version: 1, ARN: smPtr("arn:aws:sagemaker:us-east-1:123456789012:model-package/fraud-" + tk + "/1"),
		Status: smPtr("Completed"), Approval: smPtr("Approved"), ApprovalDescription: smPtr("AUC 0.94"),
		ModelDataURLs: []string{artifact}, ModifiedAt: smTime("2026-03-02T11:02:40Z"),
	}
	c.model = Model{Name: "fraud-model-" + tk, ModelDataURLs: []string{artifact}}
	c.config = EndpointConfig{Name: "config-1-" + tk, Variants: []Variant{
		{Name: "AllTraffic", ModelName: "fraud-model-" + tk, Weight: smPtr(1.0)}}}
	c.endpoint = Endpoint{Name: "fraud-prod-" + tk, Config: smPtr("config-1-" + tk),
		Status: smPtr("IN_SERVICE"), ModifiedAt: smTime("2026-03-02T11:30:00Z")}
	return c
}

func (c smChain) record(t *testing.T, st *store.Store) {
	t.Helper()
	ctx := t.Context()
	for _, j := range []Job{c.processing, c.trainingStarted, c.trainingOK} {
		_, err := record(ctx, st, j)
		require.NoError(t, err, j.Name)
	}
	_, err := record(ctx, st, c.pkg)
	require.NoError(t, err)
	_, err = record(ctx, st, c.model)
	require.NoError(t, err)
	_, err = record(ctx, st, c.config)
	require.NoError(t, err)
	rec, err := record(ctx, st, c.endpoint)
	require.NoError(t, err)
	require.Empty(t, rec.Notes)
}

func smKeysOf(nodes []store.Node) []string {
	out := make([]string, len(nodes))
	for i, n := range nodes {
		out[i] = n.Key
	}
	return out
}

// The chain's endpoint traces upstream to the raw S3 data through the training job and
// the processing job; recording it all again changes nothing.
func TestSageMakerChainLineage(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	tk := neo4jtest.Token(t)
	ctx := t.Context()
	c := newSMChain(tk)
	c.record(t, st)

	raw := store.DatasetVersionKey("s3://"+tk+"-lake", "raw/customers", PinnedVersion)
	features := store.DatasetVersionKey("s3://"+tk+"-lake", "features/train", PinnedVersion)
	prep, train := store.JobKey("sagemaker", "prep-"+tk), store.JobKey("sagemaker", "train-"+tk)
	version := store.ModelVersionKey("fraud-"+tk, 1)
	endpoint := store.EndpointKey("fraud-prod-" + tk)

	up, err := st.Lineage(ctx, store.LineageQuery{Start: []string{endpoint}, Direction: store.Upstream, MaxDepth: 10})
	require.NoError(t, err)
	keys := smKeysOf(up.Nodes)
	for _, k := range []string{version, train, features, prep, raw} {
		assert.Contains(t, keys, k)
	}
	assert.Contains(t, up.Edges, store.Edge{From: raw, To: prep, Type: store.RelInputTo})
	assert.Contains(t, up.Edges, store.Edge{From: prep, To: features, Type: store.RelProduced})
	assert.Contains(t, up.Edges, store.Edge{From: features, To: train, Type: store.RelInputTo})

	approvals, err := st.ApprovalsOf(ctx, version, nil)
	require.NoError(t, err)
	require.Len(t, approvals, 1)
	assert.Equal(t, store.Approved, approvals[0].Status)
	assert.Equal(t, "AUC 0.94", *approvals[0].Comment)

	deps, err := st.ActiveDeployments(ctx, endpoint)
	require.NoError(t, err)
	require.Len(t, deps, 1)
	assert.Equal(t, version, deps[0].ModelVersion.Key)
	assert.Equal(t, "AllTraffic", deps[0].Variant)
	assert.Equal(t, 1.0, deps[0].TrafficShare)

	job, err := st.NodeByID(ctx, "id", train)
	require.NoError(t, err)
	assert.Equal(t, store.KindTrainingJob, job.Kind)
	assert.Equal(t, "ml.m5.2xlarge", job.String("instanceType"))
	assert.Equal(t, int64(2), job.Int("instanceCount"))
	assert.Equal(t, []store.Param{{Key: "eta", Value: "0.2"}, {Key: "max_depth", Value: "6"}}, job.DecodeParams("hyperParameters"))

	before := neo4jtest.Snapshot(t, tk)
	c.record(t, st)
	assert.Equal(t, before, neo4jtest.Snapshot(t, tk), "a repeated delivery changed the graph")
}

// InProgress, then Completed, then a late InProgress: the reports accumulate into one
// job and one run, and the status only moves forward.
func TestSageMakerTrainingJobAccumulates(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	tk := neo4jtest.Token(t)
	ctx := t.Context()
	c := newSMChain(tk)
	key := store.JobKey("sagemaker", c.trainingStarted.Name)

	rec, err := record(ctx, st, c.trainingStarted)
	require.NoError(t, err)
	require.Contains(t, rec.IDs, key)
	job, err := st.NodeByID(ctx, "id", key)
	require.NoError(t, err)
	assert.Equal(t, "InProgress", job.String("sagemakerStatus"))
	assert.Equal(t, string(store.JobInProgress), job.String("status"), "an unfinished job is IN_PROGRESS")
	outputs, err := st.OutputsOf(ctx, key)
	require.NoError(t, err)
	assert.Empty(t, outputs)

	runs := neo4jtest.Exec(t, `MATCH (r:Run)-[:EXECUTED_BY]->(:Node {key: $key}) RETURN r.key AS key, r.status AS status, r.name AS name`, map[string]any{"key": key})
	require.Len(t, runs.Records, 1)
	status, _ := runs.Records[0].Get("status")
	name, _ := runs.Records[0].Get("name")
	assert.Equal(t, "RUNNING", status)
	assert.Equal(t, "xgb-depth6", name)

	_, err = record(ctx, st, c.trainingOK)
	require.NoError(t, err)
	job, err = st.NodeByID(ctx, "id", key)
	require.NoError(t, err)
	assert.Equal(t, "Completed", job.String("sagemakerStatus"))
	assert.Equal(t, "COMPLETED", job.String("status"))
	assert.True(t, c.trainingOK.EndedAt.Equal(*job.OptTime("endedAt")))
	outputs, err = st.OutputsOf(ctx, key)
	require.NoError(t, err)
	assert.Equal(t, []string{store.ArtifactKey(*c.trainingOK.ModelArtifact)}, smKeysOf(outputs))
	inputs, err := st.InputsOf(ctx, key)
	require.NoError(t, err)
	assert.Equal(t, []string{store.DatasetVersionKey("s3://"+tk+"-lake", "features/train", PinnedVersion)}, smKeysOf(inputs))

	runs = neo4jtest.Exec(t, `MATCH (r:Run)-[:EXECUTED_BY]->(:Node {key: $key}) RETURN r.key AS key, r.status AS status`, map[string]any{"key": key})
	require.Len(t, runs.Records, 1, "a second report made a second run")
	status, _ = runs.Records[0].Get("status")
	assert.Equal(t, "FINISHED", status)
	runKey, _ := runs.Records[0].Get("key")
	params, err := st.RunParams(ctx, runKey.(string))
	require.NoError(t, err)
	assert.Len(t, params, 2)
	exp, err := st.ExperimentByName(ctx, "name", "fraud-"+tk)
	require.NoError(t, err)
	groups, err := st.RunGroupsOf(ctx, exp.Key)
	require.NoError(t, err)
	assert.Equal(t, []string{"sweep-" + tk}, []string{groups[0].Name})

	before := neo4jtest.Snapshot(t, tk)
	_, err = record(ctx, st, c.trainingStarted) // late InProgress
	require.NoError(t, err)
	assert.Equal(t, before, neo4jtest.Snapshot(t, tk))
}

// A new endpoint configuration ends the deployments of the old one and deploys its
// variants with their shares; a configuration described after the endpoint took it is
// applied then.
func TestSageMakerEndpointRedeploy(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	tk := neo4jtest.Token(t)
	ctx := t.Context()
	c := newSMChain(tk)
	c.record(t, st)
	endpoint := store.EndpointKey(c.endpoint.Name)
	v1 := store.ModelVersionKey("fraud-"+tk, 1)

	// A second training job and package version, served by a model that names it.
	train2 := c.trainingOK
	train2.Name, train2.ARN = "train-2-"+tk, nil
	art2 := "s3://" + tk + "-models/fraud/train-2-" + tk + "/output/model.tar.gz"
	train2.ModelArtifact = &art2
	_, err := record(ctx, st, train2)
	require.NoError(t, err)
	pkg2 := c.pkg
	pkg2.Version, pkg2.ARN, pkg2.ModelDataURLs = 2, nil, []string{art2}
	_, err = record(ctx, st, pkg2)
	require.NoError(t, err)
	v2 := store.ModelVersionKey("fraud-"+tk, 2)
	_, err = record(ctx, st, Model{Name: "fraud-model-2-" + tk,
		PackageNames: []string{"arn:aws:sagemaker:us-east-1:123456789012:model-package/fraud-" + tk + "/2"}})
	require.NoError(t, err)

	// The endpoint moves to config 2 before config 2 is described: config 1's
	// deployment ends, nothing is deployed yet.
	ep := c.endpoint
	ep.Config, ep.Status, ep.ModifiedAt = smPtr("config-2-"+tk), smPtr("InService"), smTime("2026-03-03T09:30:00Z")
	rec, err := record(ctx, st, ep)
	require.NoError(t, err)
	require.NotEmpty(t, rec.Notes)
	deps, err := st.ActiveDeployments(ctx, endpoint)
	require.NoError(t, err)
	assert.Empty(t, deps)

	rec, err = record(ctx, st, EndpointConfig{Name: "config-2-" + tk, Variants: []Variant{
		{Name: "AllTraffic", ModelName: "fraud-model-2-" + tk, Weight: smPtr(3.0)},
		{Name: "Previous", ModelName: "fraud-model-" + tk, Weight: smPtr(1.0)},
	}})
	require.NoError(t, err)
	assert.Contains(t, rec.IDs, endpoint)
	deps, err = st.ActiveDeployments(ctx, endpoint)
	require.NoError(t, err)
	require.Len(t, deps, 2)
	assert.Equal(t, []any{"AllTraffic", v2, 0.75}, []any{deps[0].Variant, deps[0].ModelVersion.Key, deps[0].TrafficShare})
	assert.Equal(t, []any{"Previous", v1, 0.25}, []any{deps[1].Variant, deps[1].ModelVersion.Key, deps[1].TrafficShare})

	page, err := st.DeploymentHistory(ctx, endpoint, nil, nil)
	require.NoError(t, err)
	require.Equal(t, 3, page.TotalCount)
	old := page.Deployments[len(page.Deployments)-1]
	assert.Equal(t, v1, old.ModelVersion.Key)
	require.NotNil(t, old.To, "the old configuration's deployment did not end")

	// A stale report of the old configuration changes nothing.
	before := neo4jtest.Snapshot(t, tk)
	rec, err = record(ctx, st, c.endpoint)
	require.NoError(t, err)
	assert.NotEmpty(t, rec.Notes)
	assert.Equal(t, before, neo4jtest.Snapshot(t, tk))

	// Deleting ends every deployment.
	ep.Status, ep.ModifiedAt = smPtr("Deleting"), smTime("2026-03-04T00:00:00Z")
	_, err = record(ctx, st, ep)
	require.NoError(t, err)
	deps, err = st.ActiveDeployments(ctx, endpoint)
	require.NoError(t, err)
	assert.Empty(t, deps)
}

// A report that breaks a rule is refused whole: nothing of it is written.
func TestSageMakerRejectedWritesNothing(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	tk := neo4jtest.Token(t)
	ctx := t.Context()
	c := newSMChain(tk)
	c.record(t, st)
	before := neo4jtest.Snapshot(t, tk)

	badURI := c.trainingOK
	badURI.Name = "other-" + tk
	badURI.Inputs = append(slices.Clone(badURI.Inputs), Channel{Name: "validation", URI: "S3Uri"})
	otherARN := c.trainingOK
	otherARN.ARN = smPtr("arn:aws:sagemaker:eu-west-1:999999999999:training-job/train-" + tk)
	otherArtifactProducer := c.trainingOK
	otherArtifactProducer.Name, otherArtifactProducer.ARN = "copy-"+tk, nil
	otherImage := c.trainingOK
	otherImage.Image = smPtr("my-own-image:latest")
	badApproval := c.pkg
	badApproval.Approval = smPtr("Maybe")
	otherSource := c.pkg
	otherSource.ModelDataURLs = []string{"s3://" + tk + "-models/elsewhere/model.tar.gz"}
	for name, call := range map[string]func() error{
		"uri without scheme": func() error { _, err := record(ctx, st, badURI); return err },
		"another ARN":        func() error { _, err := record(ctx, st, otherARN); return err },
		"artifact of another job": func() error {
			_, err := record(ctx, st, otherArtifactProducer)
			return err
		},
		"another image":      func() error { _, err := record(ctx, st, otherImage); return err },
		"unknown approval":   func() error { _, err := record(ctx, st, badApproval); return err },
		"version re-sourced": func() error { _, err := record(ctx, st, otherSource); return err },
		"no job name": func() error {
			_, err := record(ctx, st, Job{Type: Training})
			return err
		},
		"negative weight": func() error {
			_, err := record(ctx, st, EndpointConfig{Name: "bad-" + tk,
				Variants: []Variant{{Name: "a", ModelName: "m-" + tk, Weight: smPtr(-1.0)}}})
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			err := call()
			require.Error(t, err)
			_, ok := apperr.As(err)
			assert.True(t, ok, "not a domain error: %v", err)
			assert.Equal(t, before, neo4jtest.Snapshot(t, tk))
		})
	}
}

// A location written by one job is what a later job reads; written again by another
// job, it gets a version of its own, which readers recorded after that read.
func TestSageMakerLocationVersions(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	tk := neo4jtest.Token(t)
	ctx := t.Context()
	loc := "s3://" + tk + "-lake/curated/events"
	ns, name := "s3://"+tk+"-lake", "curated/events"
	job := func(n string, in, out []string) Job {
		j := Job{Type: Processing, Name: n + "-" + tk, Status: "Completed"}
		for _, u := range in {
			j.Inputs = append(j.Inputs, Channel{URI: u})
		}
		for _, u := range out {
			j.Outputs = append(j.Outputs, Channel{URI: u})
		}
		return j
	}
	// The reader is reported before the writer: they still meet on one version.
	for _, j := range []Job{
		job("reader", []string{loc + "/"}, []string{"s3://" + tk + "-lake/agg/a"}),
		job("writer", []string{"s3://" + tk + "-lake/raw"}, []string{loc}),
		job("rewriter", []string{"s3://" + tk + "-lake/raw2"}, []string{loc}),
		job("late-reader", []string{loc}, []string{"s3://" + tk + "-lake/agg/b"}),
		job("in-place", []string{loc}, []string{loc}),
	} {
		_, err := record(ctx, st, j)
		require.NoError(t, err, j.Name)
	}
	first := store.DatasetVersionKey(ns, name, PinnedVersion)
	second := store.DatasetVersionKey(ns, name, "sagemaker:rewriter-"+tk)
	third := store.DatasetVersionKey(ns, name, "sagemaker:in-place-"+tk)
	for j, want := range map[string][2][]string{
		"reader":      {{first}, nil},
		"writer":      {nil, {first}},
		"rewriter":    {nil, {second}},
		"late-reader": {{second}, nil},
		"in-place":    {{second}, {third}},
	} {
		key := store.JobKey("sagemaker", j+"-"+tk)
		ins, err := st.InputsOf(ctx, key)
		require.NoError(t, err)
		outs, err := st.OutputsOf(ctx, key)
		require.NoError(t, err)
		for _, k := range want[0] {
			assert.Contains(t, smKeysOf(ins), k, j)
		}
		for _, k := range want[1] {
			assert.Contains(t, smKeysOf(outs), k, j)
		}
	}
}

func TestNormalizeURI(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"s3://bucket/prefix/":         "s3://bucket/prefix",
		"S3://Bucket//a///b/":         "s3://bucket/a/b",
		" s3a://bucket/x ":            "s3://bucket/x",
		"s3://bucket":                 "s3://bucket",
		"s3://bucket/":                "s3://bucket",
		"file:///opt/ml/input/data/":  "file:///opt/ml/input/data",
		"https://example.com/models/": "https://example.com/models",
	} {
		got, err := NormalizeURI("uri", in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, bad := range []string{"", "S3Uri", "s3:///key", "s3://user:secret@bucket/x"} {
		_, err := NormalizeURI("uri", bad)
		assert.Equal(t, apperr.InvalidArgument, apperr.CodeOf(err), bad)
	}
}

// Reports delivered concurrently — several jobs of one new experiment, each reported
// twice — make one experiment, one job node and one run per job.
func TestSageMakerConcurrentReports(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	tk := neo4jtest.Token(t)
	ctx := t.Context()
	const jobs = 4
	errs := make(chan error, 2*jobs)
	for i := range 2 * jobs {
		go func() {
			c := newSMChain(tk)
			j := c.trainingOK
			j.Name = fmt.Sprintf("train-%d-%s", i%jobs, tk)
			j.ARN, j.ModelArtifact = nil, nil
			_, err := record(ctx, st, j)
			errs <- err
		}()
	}
	for range 2 * jobs {
		require.NoError(t, <-errs)
	}
	res := neo4jtest.Exec(t, `MATCH (e:Experiment {name: $name})<-[:IN_EXPERIMENT]-(r:Run)-[:EXECUTED_BY]->(j)
RETURN count(DISTINCT e) AS experiments, count(DISTINCT r) AS runs, count(DISTINCT j) AS jobs`, map[string]any{"name": "fraud-" + tk})
	require.Len(t, res.Records, 1)
	assert.Equal(t, []any{int64(1), int64(jobs), int64(jobs)}, res.Records[0].Values)
}

// record translates a decoded report and has the store record it, as the handler does.
func record(ctx context.Context, st *store.Store, v any) (store.ReportOutcome, error) {
	var it Item
	switch x := v.(type) {
	case Job:
		it.Job = &x
	case ModelPackage:
		it.ModelPackage = &x
	case Model:
		it.Model = &x
	case EndpointConfig:
		it.EndpointConfig = &x
	case Endpoint:
		it.Endpoint = &x
	default:
		return store.ReportOutcome{}, fmt.Errorf("record %T", v)
	}
	cmd, err := Translate(it)
	if err != nil {
		return store.ReportOutcome{}, err
	}
	return cmd.Record(ctx, st, "tester")
}
