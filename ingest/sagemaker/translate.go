package sagemaker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/provgraph/provgraph/apperr"
	"github.com/provgraph/provgraph/store"
)

// Translation: what SageMaker reports, in the store's domain terms. SageMaker's
// vocabulary (its statuses, approvals, endpoint states, S3 URIs, model package names)
// ends here; the store receives reports of jobs, model versions, serving models,
// deployment configurations and endpoints.
//
//   - a training, processing or transform job is a job job:sagemaker:<job name>
//     (Namespace); the S3 locations it reads and writes are dataset versions pinned at
//     PinnedVersion by their first writer (a rewrite by another job gets
//     RewritePrefix + the job's name); a training job's model artifact is an Artifact
//     it PRODUCED; a job with an ExperimentConfig executes a run in that experiment.
//   - a model package version is the model version model:<group>/<version>.
//   - a SageMaker model is a serving model, an endpoint configuration a deployment
//     configuration; an endpoint report deploys them once the endpoint is in service.

// Namespace is the job namespace of SageMaker jobs: job:sagemaker:<job name>.
const Namespace = "sagemaker"

// PinnedVersion is the version at which an S3 location a SageMaker job reads or writes
// is pinned: SageMaker has no version for what lies under a prefix, so the location is
// the identity (datasetVersion:s3://<bucket>:<prefix>#sagemaker). A location written
// again by another job gets the version RewritePrefix + <job name>.
const (
	PinnedVersion = "sagemaker"
	RewritePrefix = "sagemaker:"
)

// experimentDescription describes an experiment created for a job's ExperimentConfig.
const experimentDescription = "Created for SageMaker jobs whose ExperimentConfig names it."

// Command is what one element asks the store to record: exactly one of the reports is
// set. Notes are what the translation could not use.
type Command struct {
	Job              *store.JobReport
	ModelVersion     *store.ModelVersionReport
	ServingModel     *store.ServingModel
	DeploymentConfig *store.DeploymentConfig
	Endpoint         *store.EndpointReport
	Notes            []string
}

// Translate turns a decoded element into the store's command, without the database.
// A value SageMaker's rules refuse (an S3 URI without a bucket, an unknown approval)
// fails with INVALID_ARGUMENT naming the field.
func Translate(it Item) (Command, error) {
	switch {
	case it.Job != nil:
		return jobCommand(*it.Job)
	case it.ModelPackage != nil:
		return modelVersionCommand(*it.ModelPackage)
	case it.Model != nil:
		return servingModelCommand(*it.Model)
	case it.EndpointConfig != nil:
		return Command{DeploymentConfig: deploymentConfig(*it.EndpointConfig)}, nil
	case it.Endpoint != nil:
		return Command{Endpoint: endpointReport(*it.Endpoint)}, nil
	}
	return Command{}, fmt.Errorf("decoded %q into nothing to record", it.Kind)
}

// Record has the store record the command; the outcome's notes start with the
// command's.
func (c Command) Record(ctx context.Context, st *store.Store, who string) (store.ReportOutcome, error) {
	var out store.ReportOutcome
	var err error
	switch {
	case c.Job != nil:
		out, err = st.ReportJob(ctx, who, *c.Job)
	case c.ModelVersion != nil:
		out, err = st.ReportModelVersion(ctx, who, *c.ModelVersion)
	case c.ServingModel != nil:
		out, err = st.RecordServingModel(ctx, who, *c.ServingModel)
	case c.DeploymentConfig != nil:
		out, err = st.RecordDeploymentConfig(ctx, who, *c.DeploymentConfig)
	case c.Endpoint != nil:
		out, err = st.ReportEndpoint(ctx, who, *c.Endpoint)
	default:
		return out, fmt.Errorf("a command with nothing to record")
	}
	out.Notes = append(append([]string(nil), c.Notes...), out.Notes...)
	return out, inSageMakerTerms(c, err)
}

// sageMakerFields map the fields of the store's commands to the SageMaker fields they
// were translated from, per command: a rule the store finds broken names the field of
// the event or Describe response, as the rules checked here do. A field is renamed by
// its longest matching prefix; the part after a list item's index is renamed by leaves
// (and an item with no part after its index gets item); fields not listed keep their
// name.
type sageMakerName struct {
	command, sagemaker string
	leaves             map[string]string
	item               string
}

var sageMakerFields = map[string][]sageMakerName{
	"job": {
		{command: "kind", sagemaker: "type"}, {command: "subtype", sagemaker: "type"},
		{command: "externalId", sagemaker: "arn"}, {command: "servingModel", sagemaker: "modelName"},
		{command: "reads", sagemaker: "inputs"}, {command: "writes", sagemaker: "outputs"},
		{command: "run.experiment", sagemaker: "experimentConfig.experimentName"},
		{command: "run.group", sagemaker: "experimentConfig.trialName"},
		{command: "run.name", sagemaker: "experimentConfig.runName"}, {command: "run.tags", sagemaker: "tags"},
	},
	"modelVersion": {
		{command: "model", sagemaker: "modelPackageGroupName"}, {command: "version", sagemaker: "modelPackageVersion"},
		{command: "externalId", sagemaker: "modelPackageArn"}, {command: "status", sagemaker: "modelPackageStatus"},
		{command: "description", sagemaker: "modelPackageDescription"},
		{command: "approvalComment", sagemaker: "approvalDescription"}, {command: "approval", sagemaker: "modelApprovalStatus"},
		{command: "artifactURIs", sagemaker: "inferenceSpecification.containers", item: "modelDataUrl"},
	},
	"servingModel": {
		{command: "name", sagemaker: "modelName"}, {command: "externalId", sagemaker: "modelArn"},
		{command: "artifactURIs", sagemaker: "containers", item: "modelDataUrl"},
		{command: "modelVersions", sagemaker: "containers", item: "modelPackageName"},
	},
	"deploymentConfig": {
		{command: "name", sagemaker: "endpointConfigName"}, {command: "externalId", sagemaker: "endpointConfigArn"},
		{command: "variants", sagemaker: "productionVariants",
			leaves: map[string]string{"name": "variantName", "servingModel": "modelName", "weight": "initialVariantWeight"}},
	},
	"endpoint": {
		{command: "name", sagemaker: "endpointName"}, {command: "externalId", sagemaker: "endpointArn"},
		{command: "config", sagemaker: "endpointConfigName"}, {command: "state", sagemaker: "endpointStatus"},
		{command: "stateWord", sagemaker: "endpointStatus"},
		{command: "weights", sagemaker: "productionVariants",
			leaves: map[string]string{"variant": "variantName", "weight": "currentWeight"}},
	},
}

// sageMakerField returns the SageMaker field a command's field was translated from.
func sageMakerField(c Command, field string) string {
	kind := ""
	switch {
	case c.Job != nil:
		kind = "job"
	case c.ModelVersion != nil:
		kind = "modelVersion"
	case c.ServingModel != nil:
		kind = "servingModel"
	case c.DeploymentConfig != nil:
		kind = "deploymentConfig"
	case c.Endpoint != nil:
		kind = "endpoint"
	}
	var best *sageMakerName
	for i, f := range sageMakerFields[kind] {
		rest, ok := strings.CutPrefix(field, f.command)
		if ok && (rest == "" || strings.ContainsAny(rest[:1], ".[ ")) && (best == nil || len(f.command) > len(best.command)) {
			best = &sageMakerFields[kind][i]
		}
	}
	if best == nil {
		return field
	}
	rest := strings.TrimPrefix(field, best.command)
	if index, leaf, ok := strings.Cut(rest, "]"); ok && strings.HasPrefix(rest, "[") {
		index += "]"
		switch name, renamed := best.leaves[strings.TrimPrefix(leaf, ".")]; {
		case renamed:
			return best.sagemaker + index + "." + name
		case leaf == "" && best.item != "":
			return best.sagemaker + index + "." + best.item
		}
	}
	return best.sagemaker + rest
}

// inSageMakerTerms returns err with its field renamed to the SageMaker field it
// concerns (see sageMakerField).
func inSageMakerTerms(c Command, err error) error {
	e, ok := apperr.As(err)
	if !ok || e.Field == "" {
		return err
	}
	return apperr.WithField(err, e.Field, sageMakerField(c, e.Field))
}

func jobCommand(j Job) (Command, error) {
	var c Command
	kind := store.KindProcessingJob
	switch j.Type {
	case Training:
		kind = store.KindTrainingJob
	case Processing, Transform:
	default:
		return c, apperr.Invalid("type", "must be training, processing or transform (got %q)", j.Type)
	}
	progress := JobProgress(j.Status)
	if j.Status != "" && progress.Stage == store.JobStageUnknown {
		c.Notes = append(c.Notes, fmt.Sprintf("unknown job status %q ignored", truncate(j.Status)))
	}
	r := &store.JobReport{
		Kind: kind, Namespace: Namespace, Name: j.Name,
		Facts: store.JobFacts{
			ExternalID: j.ARN, Subtype: string(j.Type), InstanceType: j.InstanceType, InstanceCount: j.InstanceCount,
			Image: j.Image, HyperParameters: j.HyperParameters, ServingModel: j.ModelName,
		},
		Progress: progress, FailureReason: j.FailureReason, StartedAt: j.StartedAt, EndedAt: j.EndedAt,
		PipelineExecution: j.PipelineExecution, PipelineStep: j.PipelineStep,
		Locations: store.LocationVersions{Pinned: PinnedVersion, RewritePrefix: RewritePrefix},
	}
	var err error
	if r.Reads, err = locations("inputs", j.Inputs); err != nil {
		return c, err
	}
	if r.Writes, err = locations("outputs", j.Outputs); err != nil {
		return c, err
	}
	if j.ModelArtifact != nil && strings.TrimSpace(*j.ModelArtifact) != "" {
		uri, err := NormalizeURI("modelArtifact", *j.ModelArtifact)
		if err != nil {
			return c, err
		}
		r.ModelArtifact = &uri
	}
	if j.Experiment != nil {
		r.Run = jobRun(j.Name, *j.Experiment)
	}
	c.Job = r
	return c, nil
}

func locations(list string, chans []Channel) ([]store.JobLocation, error) {
	out := make([]store.JobLocation, 0, len(chans))
	for i, c := range chans {
		field := fmt.Sprintf("%s[%d]", list, i)
		if c.Name != "" {
			field = fmt.Sprintf("%s[%d] (%s)", list, i, truncate(c.Name))
		}
		uri, err := NormalizeURI(field, c.URI)
		if err != nil {
			return nil, err
		}
		out = append(out, store.JobLocation{URI: uri, Label: c.Name})
	}
	return out, nil
}

// jobRun is the run a job with an ExperimentConfig executes: in the experiment it
// names, its trial as the run group, named by RunName, else the trial component's
// display name, else the job's name.
func jobRun(job string, cfg ExperimentConfig) *store.JobRun {
	key := store.JobKey(Namespace, job)
	tags := []store.Tag{{Key: "sagemaker.job", Value: key}}
	if cfg.TrialComponentDisplayName != "" {
		tags = append(tags, store.Tag{Key: "sagemaker.trialComponentDisplayName", Value: cfg.TrialComponentDisplayName})
	}
	return &store.JobRun{
		ID: RunID(key), Experiment: strings.TrimSpace(cfg.ExperimentName), ExperimentDescription: experimentDescription,
		Group: strings.TrimSpace(cfg.TrialName), Name: runName(cfg, job), Tags: tags,
	}
}

// RunID is the run id of the run a SageMaker job executed: derived from the job's ID,
// so that every report of the job names the same run.
func RunID(jobKey string) string {
	sum := sha256.Sum256([]byte("sagemaker\x00" + jobKey))
	return hex.EncodeToString(sum[:16])
}

// runName is the run's name: the RunName, else the trial component's display name,
// else the job's name.
func runName(cfg ExperimentConfig, job string) string {
	name := job
	for _, n := range []string{cfg.RunName, cfg.TrialComponentDisplayName} {
		if strings.TrimSpace(n) != "" {
			name = n
			break
		}
	}
	if utf8.RuneCountInString(name) > store.MaxRunNameLength {
		name = string([]rune(name)[:store.MaxRunNameLength])
	}
	return name
}

// JobProgress places SageMaker's job statuses (and a pipeline step's) on the stages
// of a job; an unknown status reports none.
func JobProgress(s string) store.JobProgress {
	switch fold(s) {
	case "inprogress", "starting", "executing", "running":
		return store.JobProgress{Stage: store.JobStageRunning, Word: "InProgress"}
	case "stopping":
		return store.JobProgress{Stage: store.JobStageStopping, Word: "Stopping"}
	case "completed", "succeeded":
		return store.JobProgress{Stage: store.JobStageEnded, Ended: store.JobCompleted, Word: "Completed"}
	case "failed":
		return store.JobProgress{Stage: store.JobStageEnded, Ended: store.JobFailed, Word: "Failed"}
	case "stopped":
		return store.JobProgress{Stage: store.JobStageEnded, Ended: store.JobStopped, Word: "Stopped"}
	}
	return store.JobProgress{}
}

// fold folds a SageMaker enum value for comparison: IN_SERVICE, InService and
// in service are one value.
func fold(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '_' || r == ' ' || r == '-' {
			return -1
		}
		return r
	}, strings.ToLower(strings.TrimSpace(s)))
}

// Approval maps SageMaker's ModelApprovalStatus to provgraph's.
func Approval(s string) (store.ApprovalStatus, bool) {
	switch fold(s) {
	case "pendingmanualapproval", "pending":
		return store.PendingManualApproval, true
	case "approved":
		return store.Approved, true
	case "rejected":
		return store.Rejected, true
	}
	return "", false
}

func modelVersionCommand(p ModelPackage) (Command, error) {
	var c Command
	r := &store.ModelVersionReport{
		Model: p.Group, Version: p.Version, ExternalID: p.ARN, Status: p.Status,
		Description: p.Description, Framework: p.Framework, ModifiedAt: p.ModifiedAt,
	}
	if p.Approval != nil {
		a, ok := Approval(*p.Approval)
		if !ok {
			return c, apperr.Invalid("modelApprovalStatus", "must be PendingManualApproval, Approved or Rejected (got %q)", truncate(*p.Approval))
		}
		r.Approval = a
	}
	r.ApprovalComment = p.ApprovalDescription
	if p.ApprovedBy != nil && *p.ApprovedBy != "" {
		comment := "changed in SageMaker by " + *p.ApprovedBy
		if p.ApprovalDescription != nil && *p.ApprovalDescription != "" {
			comment = *p.ApprovalDescription + " (" + comment + ")"
		}
		r.ApprovalComment = &comment
	}
	for i, u := range p.ModelDataURLs {
		uri, err := NormalizeURI(fmt.Sprintf("inferenceSpecification.containers[%d].modelDataUrl", i), u)
		if err != nil {
			return c, err
		}
		r.ArtifactURIs = append(r.ArtifactURIs, uri)
	}
	c.ModelVersion = r
	return c, nil
}

func servingModelCommand(m Model) (Command, error) {
	var c Command
	r := &store.ServingModel{Name: m.Name, ExternalID: m.ARN}
	for i, u := range m.ModelDataURLs {
		uri, err := NormalizeURI(fmt.Sprintf("containers[%d].modelDataUrl", i), u)
		if err != nil {
			return c, err
		}
		r.ArtifactURIs = append(r.ArtifactURIs, uri)
	}
	for _, p := range m.PackageNames {
		v, ok := PackageVersion(p)
		if !ok {
			c.Notes = append(c.Notes, fmt.Sprintf("model package %q is not a versioned package; not resolved", truncate(p)))
			continue
		}
		r.ModelVersions = append(r.ModelVersions, v)
	}
	c.ServingModel = r
	return c, nil
}

// PackageVersion returns the model version ID a ModelPackageName names (its ARN, or
// <group>/<version>), or false for an unversioned package.
func PackageVersion(pkg string) (string, bool) {
	if _, rest, ok := strings.Cut(pkg, ":model-package/"); ok {
		pkg = rest
	}
	group, v, ok := strings.Cut(pkg, "/")
	if !ok || group == "" {
		return "", false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 {
		return "", false
	}
	return store.ModelVersionKey(group, n), true
}

// deploymentConfig is an endpoint configuration as a deployment configuration: a
// variant without a name is SageMaker's default one, without a weight weighs 1.
func deploymentConfig(e EndpointConfig) *store.DeploymentConfig {
	c := &store.DeploymentConfig{Name: e.Name, ExternalID: e.ARN}
	for _, v := range e.Variants {
		cv := store.ConfiguredVariant{Name: v.Name, ServingModel: v.ModelName, Weight: 1}
		if cv.Name == "" {
			cv.Name = store.DefaultVariant
		}
		if v.Weight != nil {
			cv.Weight = *v.Weight
		}
		c.Variants = append(c.Variants, cv)
	}
	return c
}

// endpointStates are SageMaker's EndpointStatus values, spelled as DescribeEndpoint
// does, with where each leaves an endpoint.
var endpointStates = []struct {
	word  string
	state store.EndpointState
}{
	{"OutOfService", store.EndpointTransitional},
	{"Creating", store.EndpointTransitional},
	{"Updating", store.EndpointTransitional},
	{"SystemUpdating", store.EndpointTransitional},
	{"RollingBack", store.EndpointTransitional},
	{"InService", store.EndpointInService},
	{"Deleting", store.EndpointEnded},
	{"Failed", store.EndpointTransitional},
	{"UpdateRollbackFailed", store.EndpointTransitional},
	{"Deleted", store.EndpointEnded},
}

// EndpointState places an EndpointStatus, in any of its spellings, on the states of
// an endpoint, with its DescribeEndpoint spelling; a status SageMaker does not define
// is transitional (what served keeps serving).
func EndpointState(s string) (store.EndpointState, string) {
	for _, st := range endpointStates {
		if fold(st.word) == fold(s) {
			return st.state, st.word
		}
	}
	return store.EndpointTransitional, strings.TrimSpace(s)
}

func endpointReport(e Endpoint) *store.EndpointReport {
	r := &store.EndpointReport{Name: e.Name, ExternalID: e.ARN, Config: e.Config, At: e.ModifiedAt}
	if e.Status != nil {
		r.State, r.StateWord = EndpointState(*e.Status)
	}
	for _, v := range e.Variants {
		if v.Name != "" && v.Weight != nil {
			r.Weights = append(r.Weights, store.VariantWeight{Variant: v.Name, Weight: *v.Weight})
		}
	}
	return r
}

// NormalizeURI returns the form under which provgraph records a location SageMaker
// names (store.NormalizeLocation): s3://Bucket/a//b/ and s3://bucket/a/b are one
// location. A URI without a scheme, or with a password, is refused naming field.
func NormalizeURI(field, raw string) (string, error) { return store.NormalizeLocation(field, raw) }
