package sagemaker

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/apperr"
	"github.com/provgraph/provgraph/store"
)

// translated decodes testdata/name (its {{TK}} as "tk") and translates it.
func translated(t *testing.T, name string) Command {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	dec := json.NewDecoder(bytes.NewReader([]byte(strings.ReplaceAll(string(b), "{{TK}}", "tk"))))
	dec.UseNumber()
	var v any
	require.NoError(t, dec.Decode(&v))
	it, err := Decode(v)
	require.NoError(t, err)
	require.Empty(t, it.Ignore)
	c, err := Translate(it)
	require.NoError(t, err)
	return c
}

func at(s string) *time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return &t
}

// The real payloads become the store's domain commands: SageMaker's words, S3 URIs and
// package names are gone from what the store receives.
func TestTranslateRealPayloads(t *testing.T) {
	t.Parallel()
	versions := store.LocationVersions{Pinned: "sagemaker", RewritePrefix: "sagemaker:"}
	for _, c := range []struct {
		file  string
		check func(t *testing.T, c Command)
	}{
		{"describe_processing_job.json", func(t *testing.T, c Command) {
			j := c.Job
			require.NotNil(t, j)
			assert.Equal(t, store.KindProcessingJob, j.Kind)
			assert.Equal(t, "sagemaker", j.Namespace)
			assert.Equal(t, "fraud-preprocess-tk", j.Name)
			assert.Equal(t, "processing", j.Facts.Subtype)
			assert.Equal(t, store.JobStageEnded, j.Progress.Stage)
			assert.Equal(t, store.JobCompleted, j.Progress.Ended)
			assert.Equal(t, "Completed", j.Progress.Word)
			assert.Equal(t, versions, j.Locations)
			assert.Equal(t, []store.JobLocation{
				{URI: "s3://tk-lake/raw/customers/2026-03", Label: "input-1"},
				{URI: "s3://tk-artifacts/fraud-preprocess-tk/input/code/preprocess.py", Label: "code"},
			}, j.Reads)
			assert.Equal(t, []store.JobLocation{
				{URI: "s3://tk-lake/features/fraud/train", Label: "train"},
				{URI: "s3://tk-lake/features/fraud/validation", Label: "validation"},
			}, j.Writes)
		}},
		{"describe_training_job.json", func(t *testing.T, c Command) {
			j := c.Job
			require.NotNil(t, j)
			assert.Equal(t, store.KindTrainingJob, j.Kind)
			assert.Equal(t, "training", j.Facts.Subtype)
			assert.Equal(t, "arn:aws:sagemaker:us-east-1:123456789012:training-job/fraud-xgb-2-tk", *j.Facts.ExternalID)
			assert.Equal(t, at("2026-03-03T09:02:11.23Z"), j.StartedAt)
			assert.Equal(t, []store.JobLocation{{URI: "s3://tk-lake/features/fraud/train", Label: "train"}}, j.Reads)
			require.NotNil(t, j.ModelArtifact)
			assert.True(t, strings.HasPrefix(*j.ModelArtifact, "s3://tk-models/"), *j.ModelArtifact)
			assert.NotEmpty(t, j.Facts.HyperParameters)
		}},
		{"training_completed.json", func(t *testing.T, c Command) {
			require.NotNil(t, c.Job)
			assert.Equal(t, store.JobStageEnded, c.Job.Progress.Stage)
		}},
		{"training_inprogress.json", func(t *testing.T, c Command) {
			require.NotNil(t, c.Job)
			assert.Equal(t, store.JobProgress{Stage: store.JobStageRunning, Word: "InProgress"}, c.Job.Progress)
		}},
		{"describe_transform_job.json", func(t *testing.T, c Command) {
			j := c.Job
			require.NotNil(t, j)
			assert.Equal(t, store.KindProcessingJob, j.Kind)
			assert.Equal(t, "transform", j.Facts.Subtype)
			assert.Equal(t, "fraud-xgb-model-tk", *j.Facts.ServingModel)
			assert.Equal(t, []store.JobLocation{{URI: "s3://tk-lake/predictions/2026-03-03", Label: "TransformOutput"}}, j.Writes)
		}},
		{"pipeline_step_processing.json", func(t *testing.T, c Command) {
			j := c.Job
			require.NotNil(t, j)
			assert.Equal(t, store.JobStageEnded, j.Progress.Stage, "Succeeded ends the step's job")
			assert.Equal(t, "PreprocessFraudData", *j.PipelineStep)
		}},
		{"model_package_pending.json", func(t *testing.T, c Command) {
			v := c.ModelVersion
			require.NotNil(t, v)
			assert.Equal(t, "fraud-models-tk", v.Model)
			assert.Equal(t, int64(1), v.Version)
			assert.Equal(t, store.PendingManualApproval, v.Approval)
			assert.Equal(t, "Completed", *v.Status)
			assert.Equal(t, []string{"s3://tk-models/fraud/fraud-xgb-tk/output/model.tar.gz"}, v.ArtifactURIs)
			assert.Equal(t, at("2026-03-02T10:58:03Z"), v.ModifiedAt)
		}},
		{"model_package_approved.json", func(t *testing.T, c Command) {
			require.NotNil(t, c.ModelVersion)
			assert.Equal(t, store.Approved, c.ModelVersion.Approval)
		}},
		{"describe_model_package_2.json", func(t *testing.T, c Command) {
			v := c.ModelVersion
			require.NotNil(t, v)
			assert.Equal(t, int64(2), v.Version)
			assert.Equal(t, "changed in SageMaker by risk-reviewer", *v.ApprovalComment)
		}},
		{"describe_model.json", func(t *testing.T, c Command) {
			require.NotNil(t, c.ServingModel)
			assert.Equal(t, store.ServingModel{Name: "fraud-xgb-model-tk",
				ExternalID:   ptr("arn:aws:sagemaker:us-east-1:123456789012:model/fraud-xgb-model-tk"),
				ArtifactURIs: []string{"s3://tk-models/fraud/fraud-xgb-tk/output/model.tar.gz"}}, *c.ServingModel)
		}},
		{"describe_model_2.json", func(t *testing.T, c Command) {
			require.NotNil(t, c.ServingModel)
			assert.Equal(t, []string{store.ModelVersionKey("fraud-models-tk", 2)}, c.ServingModel.ModelVersions)
		}},
		{"describe_endpoint_config_2.json", func(t *testing.T, c Command) {
			require.NotNil(t, c.DeploymentConfig)
			assert.Equal(t, []store.ConfiguredVariant{
				{Name: "AllTraffic", ServingModel: "fraud-xgb-model-2-tk", Weight: 3},
				{Name: "Previous", ServingModel: "fraud-xgb-model-tk", Weight: 1},
			}, c.DeploymentConfig.Variants)
		}},
		{"endpoint_in_service.json", func(t *testing.T, c Command) {
			e := c.Endpoint
			require.NotNil(t, e)
			assert.Equal(t, store.EndpointInService, e.State)
			assert.Equal(t, "InService", e.StateWord)
			assert.Equal(t, "fraud-prod-config-1-tk", *e.Config)
			assert.Equal(t, at("2026-03-02T11:26:20.287Z"), e.At)
		}},
		{"describe_endpoint.json", func(t *testing.T, c Command) {
			e := c.Endpoint
			require.NotNil(t, e)
			assert.Equal(t, []store.VariantWeight{{Variant: "AllTraffic", Weight: 3}, {Variant: "Previous", Weight: 1}}, e.Weights)
		}},
	} {
		t.Run(c.file, func(t *testing.T) {
			t.Parallel()
			c.check(t, translated(t, c.file))
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestTranslateVocabularies(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]store.JobStage{
		"InProgress": store.JobStageRunning, "Executing": store.JobStageRunning, "Stopping": store.JobStageStopping,
		"Completed": store.JobStageEnded, "Succeeded": store.JobStageEnded, "FAILED": store.JobStageEnded,
		"stopped": store.JobStageEnded, "Paused": store.JobStageUnknown, "": store.JobStageUnknown,
	} {
		assert.Equal(t, want, JobProgress(in).Stage, in)
	}
	for in, want := range map[string]store.EndpointState{
		"IN_SERVICE": store.EndpointInService, "InService": store.EndpointInService, "Deleting": store.EndpointEnded,
		"DELETED": store.EndpointEnded, "Updating": store.EndpointTransitional, "Failed": store.EndpointTransitional,
		"Sideways": store.EndpointTransitional,
	} {
		got, _ := EndpointState(in)
		assert.Equal(t, want, got, in)
	}
	for in, want := range map[string]store.ApprovalStatus{
		"PendingManualApproval": store.PendingManualApproval, "APPROVED": store.Approved, "rejected": store.Rejected,
	} {
		got, ok := Approval(in)
		assert.True(t, ok, in)
		assert.Equal(t, want, got, in)
	}
	_, ok := Approval("Maybe")
	assert.False(t, ok)
	for in, want := range map[string]string{
		"arn:aws:sagemaker:us-east-1:1:model-package/g/3": store.ModelVersionKey("g", 3),
		"g/12": store.ModelVersionKey("g", 12),
	} {
		got, ok := PackageVersion(in)
		assert.True(t, ok, in)
		assert.Equal(t, want, got)
	}
	for _, in := range []string{"g", "g/x", "g/0", "/1"} {
		_, ok := PackageVersion(in)
		assert.False(t, ok, in)
	}
}

// A job's run is named by RunName, else the trial component, else the job, and has
// the same ID in every report of the job.
func TestTranslateRun(t *testing.T) {
	t.Parallel()
	c, err := Translate(Item{Job: &Job{Type: Training, Name: "j", Status: "Sideways",
		Experiment: &ExperimentConfig{ExperimentName: " e ", TrialName: "t", TrialComponentDisplayName: "tc"}}})
	require.NoError(t, err)
	r := c.Job.Run
	require.NotNil(t, r)
	assert.Equal(t, "e", r.Experiment)
	assert.Equal(t, "t", r.Group)
	assert.Equal(t, "tc", r.Name)
	assert.Equal(t, RunID(store.JobKey("sagemaker", "j")), r.ID)
	assert.Contains(t, r.Tags, store.Tag{Key: "sagemaker.job", Value: "job:sagemaker:j"})
	assert.Equal(t, []string{`unknown job status "Sideways" ignored`}, c.Notes)

	_, err = Translate(Item{Job: &Job{Type: Training, Name: "j", Inputs: []Channel{{Name: "train", URI: "s3:///x"}}}})
	e, ok := apperr.As(err)
	require.True(t, ok, "%v", err)
	assert.Equal(t, "inputs[0] (train)", e.Field)
}

// A rule the store finds broken names the SageMaker field the command's field came
// from, so a client reads the error in the terms of what it sent.
func TestStoreFieldsInSageMakerTerms(t *testing.T) {
	t.Parallel()
	job := Command{Job: &store.JobReport{}}
	pkg := Command{ModelVersion: &store.ModelVersionReport{}}
	model := Command{ServingModel: &store.ServingModel{}}
	config := Command{DeploymentConfig: &store.DeploymentConfig{}}
	endpoint := Command{Endpoint: &store.EndpointReport{}}
	for _, c := range []struct {
		command     Command
		field, want string
	}{
		{job, "externalId", "arn"},
		{job, "servingModel", "modelName"},
		{job, "reads[1] (validation)", "inputs[1] (validation)"},
		{job, "writes[0] (output-1)", "outputs[0] (output-1)"},
		{job, "reads", "inputs"},
		{job, "run.experiment", "experimentConfig.experimentName"},
		{job, "run.group", "experimentConfig.trialName"},
		{job, "run.tags", "tags"},
		{job, "hyperParameters.lr", "hyperParameters.lr"},
		{job, "modelArtifact", "modelArtifact"},
		{pkg, "model", "modelPackageGroupName"},
		{pkg, "version", "modelPackageVersion"},
		{pkg, "externalId", "modelPackageArn"},
		{pkg, "artifactURIs[0]", "inferenceSpecification.containers[0].modelDataUrl"},
		{pkg, "approval", "modelApprovalStatus"},
		{pkg, "approvalComment", "approvalDescription"},
		{model, "name", "modelName"},
		{model, "artifactURIs[2]", "containers[2].modelDataUrl"},
		{model, "modelVersions[1]", "containers[1].modelPackageName"},
		{config, "name", "endpointConfigName"},
		{config, "variants", "productionVariants"},
		{config, "variants[0].name", "productionVariants[0].variantName"},
		{config, "variants[1].servingModel", "productionVariants[1].modelName"},
		{config, "variants[1].weight", "productionVariants[1].initialVariantWeight"},
		{endpoint, "name", "endpointName"},
		{endpoint, "externalId", "endpointArn"},
		{endpoint, "weights[0].weight", "productionVariants[0].currentWeight"},
		{endpoint, "weights[0].variant", "productionVariants[0].variantName"},
	} {
		assert.Equal(t, c.want, sageMakerField(c.command, c.field), c.field)
		err := inSageMakerTerms(c.command, apperr.Conflicting(c.field, "broken"))
		e, ok := apperr.As(err)
		require.True(t, ok)
		assert.Equal(t, c.want, e.Field)
	}
}
