package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"

	"github.com/provgraph/provgraph/apperr"
)

// SageMaker ingest: what SageMaker reports about its jobs, model packages, models,
// endpoint configurations and endpoints becomes the same graph the other surfaces
// write, captured the way SageMaker's own lineage auto-capture sees it:
//
//   - a training, processing or transform job is a TrainingJob or ProcessingJob node
//     job:sagemaker:<job name>. SageMaker reports a job several times (InProgress,
//     Completed; events and Describe responses). Every report is merged into the node:
//     what a job read and wrote is only ever added, the facts fixed when the job was
//     created (ARN, instance type, image, hyper-parameters) are filled in once and a
//     different value later is a CONFLICT, and its status only moves forward
//     (InProgress → Stopping → Completed/Failed/Stopped; a late InProgress changes
//     nothing).
//   - an S3 location a job reads or writes is a dataset version (see SageMakerVersion
//     for which one); a training job's model artifact is an Artifact it PRODUCED.
//   - a model package version is the model version model:<group>/<version>, registered
//     from the artifacts its containers name; approval changes are kept as history.
//   - a SageMaker model and an endpoint configuration are lookup records (labels
//     LabelSageMakerModel and LabelSageMakerEndpointConfig, outside the provenance
//     graph) that resolve an endpoint's variants to model versions; an endpoint in
//     service deploys them, and a new configuration ends the deployments of the old.
//
// Each report is one transaction: it is recorded whole or not at all, and recording it
// again changes nothing.

// SageMakerNamespace is the job namespace of SageMaker jobs: job:sagemaker:<job name>.
const SageMakerNamespace = "sagemaker"

// SageMakerVersion is the version id under which an S3 location is pinned when
// SageMaker jobs read or write it. SageMaker itself has no version for what lies under
// a prefix, so the location is the identity: the same normalized URI is the same dataset
// version (datasetVersion:s3://<bucket>:<prefix>#sagemaker), whichever job reports it
// first, so the outputs of one job that another reads are one node even when the
// reports arrive out of order.
//
// The location stays pinned: its first producer is its only producer. A later job that
// writes the same location again gets a version of its own, sagemaker:<job name>, and
// jobs recorded after that read the newest written version; a job keeps the version it
// read first across all its reports.
const SageMakerVersion = "sagemaker"

// sageMakerRewritePrefix starts the version of a location written again by another job.
const sageMakerRewritePrefix = "sagemaker:"

// Labels of the SageMaker lookup records. They carry no LabelNode: they are not part of
// the provenance graph, only what resolves an endpoint's variants to model versions.
const (
	LabelSageMakerModel          = "SageMakerModel"
	LabelSageMakerEndpointConfig = "SageMakerEndpointConfig"
)

// smLockName names the (:Sequence) node whose write lock serialises changes to the
// lookup records (the Sequence name is unique, so the lock node is merged safely).
const smLockName = "sagemaker-lookups"

// Properties of SageMaker-recorded nodes beyond the common ones.
const (
	propSMArn               = "sagemakerArn"
	propSMStatus            = "sagemakerStatus"
	propSMJobType           = "sagemakerJobType"
	propSMFailureReason     = "failureReason"
	propSMImage             = "image"
	propSMInstanceCount     = "instanceCount"
	propSMModelName         = "sagemakerModelName"
	propSMPipelineExecution = "sagemakerPipelineExecution"
	propSMPipelineStep      = "sagemakerPipelineStep"
	propSMModifiedAt        = "sagemakerModifiedAt"
	propSMEndpointConfig    = "sagemakerEndpointConfig"
	propSMDeployedConfig    = "sagemakerDeployedConfig"
	propSMVariantNames      = "sagemakerVariantNames"
	propSMVariantWeights    = "sagemakerVariantWeights"
	propSMUpdatedAt         = "updatedAt"
	propSMUpdatedBy         = "updatedBy"
	propSMModelDataURLs     = "modelDataUrls"
	propSMPackageVersions   = "packageVersions"
	propSMVariantModels     = "variantModels"
	propSMVariantNamesCfg   = "variantNames"
	propSMVariantWeightsCfg = "variantWeights"
)

// SageMakerJobType is the kind of SageMaker job a report is about.
type SageMakerJobType string

// The SageMaker job types. Processing and transform jobs are ProcessingJob nodes.
const (
	SageMakerTraining   SageMakerJobType = "training"
	SageMakerProcessing SageMakerJobType = "processing"
	SageMakerTransform  SageMakerJobType = "transform"
)

// SageMakerChannel is an S3 location a job reads or writes, with the name SageMaker
// gives it (channel, input or output name).
type SageMakerChannel struct {
	Name string
	URI  string
}

// SageMakerExperimentConfig is a job's ExperimentConfig.
type SageMakerExperimentConfig struct {
	ExperimentName            string
	TrialName                 string
	TrialComponentDisplayName string
	RunName                   string
}

// SageMakerJob is one report of a SageMaker job (an event or a Describe response).
// Fields a report lacks are nil or empty and leave what is recorded as it is.
type SageMakerJob struct {
	Type SageMakerJobType
	Name string
	ARN  *string
	// Status is SageMaker's: InProgress, Stopping, Completed, Failed or Stopped.
	Status          string
	FailureReason   *string
	StartedAt       *time.Time
	EndedAt         *time.Time
	InstanceType    *string
	InstanceCount   *int64
	Image           *string
	HyperParameters []Param
	Inputs          []SageMakerChannel
	Outputs         []SageMakerChannel
	// ModelArtifact is a training job's ModelArtifacts.S3ModelArtifacts.
	ModelArtifact *string
	// ModelName is the SageMaker model a transform job ran.
	ModelName         *string
	Experiment        *SageMakerExperimentConfig
	PipelineExecution *string
	PipelineStep      *string
}

// SageMakerModelPackage is one report of a model package version.
type SageMakerModelPackage struct {
	Group   string
	Version int64
	ARN     *string
	// Status is the ModelPackageStatus (Pending, InProgress, Completed, Failed, Deleting).
	Status *string
	// Approval is the ModelApprovalStatus: PendingManualApproval, Approved or Rejected.
	Approval            *string
	ApprovalDescription *string
	// ApprovedBy names who changed the approval in SageMaker (LastModifiedBy), if known.
	ApprovedBy    *string
	ModelDataURLs []string
	Description   *string
	Framework     *string
	// ModifiedAt is the package's LastModifiedTime: a report older than the one
	// recorded does not change the approval back.
	ModifiedAt *time.Time
}

// SageMakerModel is a DescribeModel response: the containers of a SageMaker model.
type SageMakerModel struct {
	Name string
	ARN  *string
	// ModelDataURLs and PackageNames come from the primary container first, then the
	// others, in order.
	ModelDataURLs []string
	PackageNames  []string
}

// SageMakerVariant is a production variant of an endpoint configuration or endpoint.
type SageMakerVariant struct {
	Name      string
	ModelName string
	// Weight is the variant's weight; nil when the report does not give it.
	Weight *float64
}

// SageMakerEndpointConfig is a DescribeEndpointConfig response.
type SageMakerEndpointConfig struct {
	Name     string
	ARN      *string
	Variants []SageMakerVariant
}

// SageMakerEndpoint is one report of an endpoint (an event or a DescribeEndpoint
// response).
type SageMakerEndpoint struct {
	Name   string
	ARN    *string
	Config *string
	// Status is SageMaker's EndpointStatus, in any of its spellings (InService,
	// IN_SERVICE).
	Status *string
	// Variants carry the endpoint's current weights by variant name, when reported.
	Variants []SageMakerVariant
	// ModifiedAt is the report's LastModifiedTime (or event time): a report older than
	// the one recorded does not change the endpoint back.
	ModifiedAt *time.Time
}

// SageMakerRecord says what a report touched: the IDs of the nodes it recorded or
// linked, and notes on what it could not resolve (yet).
type SageMakerRecord struct {
	IDs   []string
	Notes []string
}

func (r *SageMakerRecord) add(ids ...string) {
	for _, id := range ids {
		if id != "" && !slices.Contains(r.IDs, id) {
			r.IDs = append(r.IDs, id)
		}
	}
}

func (r *SageMakerRecord) note(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

// NormalizeSageMakerURI returns the form under which provgraph records an S3 location
// SageMaker names: scheme s3 (s3a and s3n too) in lower case, the bucket in lower case,
// repeated slashes collapsed and no trailing slash, so that s3://Bucket/a//b/ and
// s3://bucket/a/b are one location. Other URIs only lose trailing slashes.
func NormalizeSageMakerURI(field, raw string) (string, error) {
	uri := strings.TrimSpace(raw)
	lower := strings.ToLower(uri)
	for _, scheme := range []string{"s3://", "s3a://", "s3n://"} {
		if !strings.HasPrefix(lower, scheme) {
			continue
		}
		bucket, key, _ := strings.Cut(uri[len(scheme):], "/")
		parts := strings.FieldsFunc(key, func(r rune) bool { return r == '/' })
		uri = "s3://" + strings.ToLower(bucket)
		if len(parts) > 0 {
			uri += "/" + strings.Join(parts, "/")
		}
		if bucket == "" {
			return "", apperr.Invalid(field, "S3 URI %q names no bucket", truncateForMessage(raw))
		}
		break
	}
	for strings.HasSuffix(uri, "/") && !strings.HasSuffix(uri, "://") {
		uri = strings.TrimSuffix(uri, "/")
	}
	if _, err := checkURI(field, uri); err != nil {
		return "", err
	}
	return uri, nil
}

// smLocation is a normalized location with the dataset it belongs to.
type smLocation struct {
	field     string
	uri       string
	namespace string
	name      string
}

func (l smLocation) datasetKey() string { return DatasetKey(l.namespace, l.name) }
func (l smLocation) versionKey(version string) string {
	return DatasetVersionKey(l.namespace, l.name, version)
}

func smLocate(field, raw string) (smLocation, error) {
	uri, err := NormalizeSageMakerURI(field, raw)
	if err != nil {
		return smLocation{}, err
	}
	in := DatasetVersionInput{URI: uri}
	if i := strings.Index(uri, "://"); i > 0 && !strings.Contains(uri[i+3:], "/") {
		root := "/" // a bucket root: the dataset is the whole bucket
		in.Name = &root
	}
	namespace, name, err := datasetIdentity(in)
	if err != nil {
		return smLocation{}, apperr.WithField(apperr.WithField(err, "uri", field), "name", field)
	}
	if key := DatasetVersionKey(namespace, name, sageMakerRewritePrefix+strings.Repeat("x", 63)); len(key) > MaxIDLength {
		return smLocation{}, apperr.Invalid(field, "makes an ID longer than %d bytes", MaxIDLength)
	}
	return smLocation{field: field, uri: uri, namespace: namespace, name: name}, nil
}

// smJobProgress places SageMaker's job statuses on the stages of a job.
func smJobProgress(s string) JobProgress {
	switch smFold(s) {
	case "inprogress", "starting", "executing", "running":
		return JobProgress{Stage: JobStageRunning, Word: "InProgress"}
	case "stopping":
		return JobProgress{Stage: JobStageStopping, Word: "Stopping"}
	case "completed", "succeeded":
		return JobProgress{Stage: JobStageEnded, Ended: JobCompleted, Word: "Completed"}
	case "failed":
		return JobProgress{Stage: JobStageEnded, Ended: JobFailed, Word: "Failed"}
	case "stopped":
		return JobProgress{Stage: JobStageEnded, Ended: JobStopped, Word: "Stopped"}
	}
	return JobProgress{}
}

// smFold folds a SageMaker enum value for comparison: IN_SERVICE, InService and
// in service are one value.
func smFold(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '_' || r == ' ' || r == '-' {
			return -1
		}
		return r
	}, strings.ToLower(strings.TrimSpace(s)))
}

// smRunID is the run id of the run a SageMaker job executed: derived from the job, so
// that every report of the job finds the same run.
func smRunID(jobKey string) string {
	sum := sha256.Sum256([]byte("sagemaker\x00" + jobKey))
	return hex.EncodeToString(sum[:16])
}

func smIsConstraintViolation(err error) bool {
	var nerr *neo4j.Neo4jError
	return errors.As(err, &nerr) && nerr.Code == "Neo.ClientError.Schema.ConstraintValidationFailed"
}

// smWrite runs work in a write transaction, once more when it lost a race to create a
// uniquely named record (an experiment) to a concurrent report: the second attempt
// finds the winner's.
func smWrite(ctx context.Context, s *Store, actor, action string, work func(tx neo4j.ManagedTransaction) (SageMakerRecord, error)) (SageMakerRecord, error) {
	res, err := smAudited(ctx, s, actor, action, work)
	if smIsConstraintViolation(err) {
		res, err = smAudited(ctx, s, actor, action, work)
	}
	return res, err
}

// smAudited runs work in a write transaction whose audit entry lists the IDs the
// report recorded.
func smAudited(ctx context.Context, s *Store, actor, action string, work func(tx neo4j.ManagedTransaction) (SageMakerRecord, error)) (SageMakerRecord, error) {
	return write(ctx, s, actor, action, func(tx neo4j.ManagedTransaction, au *audit) (SageMakerRecord, error) {
		res, err := work(tx)
		au.target(res.IDs...)
		return res, err
	})
}

// smTx runs the steps of recording one report inside its transaction.
type smTx struct {
	ctx   context.Context
	tx    neo4j.ManagedTransaction
	actor string
}

func (w smTx) run(cypher, what string, params map[string]any) ([]*neo4j.Record, error) {
	params["actor"] = w.actor
	recs, err := collect(w.ctx, w.tx, cypher, params)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return recs, nil
}

func (w smTx) lock(key string) error {
	_, err := w.run(cypherLockNode, "lock "+key, map[string]any{"key": key})
	return err
}

// smMergeJobQueries[kind] merges a job node of that kind (created with $props) and
// returns whether it was created; the caller locks and re-reads it.
var smMergeJobQueries = map[Kind]string{
	KindTrainingJob:   mergeNodeQueries[KindTrainingJob],
	KindProcessingJob: mergeNodeQueries[KindProcessingJob],
}

const (
	cypherSMSetProps = `
MATCH (n:` + LabelNode + ` {key: $key})
SET n += $props,
    n.` + propSMUpdatedAt + ` = CASE WHEN $stamp THEN datetime.transaction() ELSE n.` + propSMUpdatedAt + ` END,
    n.` + propSMUpdatedBy + ` = CASE WHEN $stamp THEN $actor ELSE n.` + propSMUpdatedBy + ` END`

	cypherSMJobNeighbours = `
MATCH (j:` + LabelNode + ` {key: $key})
OPTIONAL MATCH (i:` + LabelNode + `)-[:` + RelInputTo + `]->(j)
WITH j, collect(i.key) AS inputs
OPTIONAL MATCH (j)-[:` + RelProduced + `]->(o:` + LabelNode + `)
RETURN inputs, collect(o.key) AS outputs`

	// The newest version of each dataset that a job other than $job produced.
	cypherSMNewestProduced = `
UNWIND $datasets AS dk
OPTIONAL MATCH (p:` + LabelNode + `)-[e:` + RelProduced + `]->(v:` + string(KindDatasetVersion) + `)-[:` + RelVersionOf + `]->(:` + LabelNode + ` {key: dk})
  WHERE p.key <> $job
WITH dk, v, e ORDER BY e.recordedAt DESC, v.key DESC
RETURN dk, head(collect(v.key)) AS version`

	// Merges datasets and versions (rows sorted by key) and returns each version's
	// producers.
	cypherSMMergeVersions = mergeDatasetVersionRows + `
WITH v
OPTIONAL MATCH (p:` + LabelNode + `)-[:` + RelProduced + `]->(v)
RETURN v.key AS key, collect(p.key) AS producers`

	// Merges an artifact, write-locks it and returns its producers.
	cypherSMMergeArtifact = `
MERGE (a:` + LabelNode + ` {key: $key})
  ON CREATE SET a:` + string(KindArtifact) + `, a += $props,
    a.recordedAt = datetime.transaction(), a.recordedBy = $actor
SET a._lock_ = true
REMOVE a._lock_
WITH a
OPTIONAL MATCH (p:` + LabelNode + `)-[:` + RelProduced + `]->(a)
RETURN a.kind AS kind, collect(p.key) AS producers`
)

// RecordSageMakerJob records one report of a SageMaker training, processing or transform
// job in one transaction: the job node, the dataset versions it read (INPUT_TO) and
// wrote (PRODUCED), a training job's model artifact (PRODUCED), and — when the job has
// an ExperimentConfig — the run it executed in that experiment. Reports accumulate (see
// the package notes above); a report equal to what is recorded changes nothing.
func (s *Store) RecordSageMakerJob(ctx context.Context, actor string, in SageMakerJob) (SageMakerRecord, error) {
	kind := KindProcessingJob
	switch in.Type {
	case SageMakerTraining:
		kind = KindTrainingJob
	case SageMakerProcessing, SageMakerTransform:
	default:
		return SageMakerRecord{}, apperr.Invalid("type", "must be training, processing or transform (got %q)", in.Type)
	}
	if err := checkText("name", in.Name, MaxNameLength); err != nil {
		return SageMakerRecord{}, err
	}
	if strings.ContainsAny(in.Name, "#/") {
		return SageMakerRecord{}, apperr.Invalid("name", "a SageMaker job name has no '#' or '/' (got %q)", truncateForMessage(in.Name))
	}
	key := JobKey(SageMakerNamespace, in.Name)
	if len(key) > MaxIDLength {
		return SageMakerRecord{}, apperr.Invalid("name", "makes an ID longer than %d bytes", MaxIDLength)
	}
	for field, v := range map[string]*string{"arn": in.ARN, "instanceType": in.InstanceType, "image": in.Image,
		"modelName": in.ModelName, "pipelineExecution": in.PipelineExecution, "pipelineStep": in.PipelineStep} {
		if err := checkOptText(field, v, MaxURILength); err != nil {
			return SageMakerRecord{}, err
		}
	}
	if err := checkDescription("failureReason", in.FailureReason); err != nil {
		return SageMakerRecord{}, err
	}
	progress := smJobProgress(in.Status)
	var rec SageMakerRecord
	if in.Status != "" && progress.Stage == JobStageUnknown {
		rec.note("unknown job status %q ignored", truncateForMessage(in.Status))
	}
	var hyper any
	if kind == KindTrainingJob {
		var err error
		if hyper, err = encodeParams("hyperParameters", in.HyperParameters); err != nil {
			return SageMakerRecord{}, err
		}
	}
	inputs, err := smLocations("inputs", in.Inputs)
	if err != nil {
		return SageMakerRecord{}, err
	}
	outputs, err := smLocations("outputs", in.Outputs)
	if err != nil {
		return SageMakerRecord{}, err
	}
	if len(inputs)+len(outputs) > MaxJobInputs {
		return SageMakerRecord{}, apperr.Invalid("inputs", "a job may read and write at most %d locations (got %d)", MaxJobInputs, len(inputs)+len(outputs))
	}
	var artifact map[string]any
	if in.ModelArtifact != nil && strings.TrimSpace(*in.ModelArtifact) != "" {
		uri, err := NormalizeSageMakerURI("modelArtifact", *in.ModelArtifact)
		if err != nil {
			return SageMakerRecord{}, err
		}
		if artifact, err = artifactProps(ArtifactInput{URI: uri}, "modelArtifact"); err != nil {
			return SageMakerRecord{}, err
		}
	}
	if in.StartedAt != nil && in.EndedAt != nil && in.EndedAt.Before(*in.StartedAt) {
		in.EndedAt = nil
		rec.note("end time before start time ignored")
	}

	create := map[string]any{propKey: key, propKind: string(kind), propName: in.Name, propNamespace: SageMakerNamespace}
	// fixed are set when the job is created and never change: a report with another
	// value is about another job.
	fixed := []struct {
		field, prop string
		value       any
	}{
		{"arn", propSMArn, optValue(in.ARN)},
		{"type", propSMJobType, string(in.Type)},
		{"instanceType", propInstanceType, optValue(in.InstanceType)},
		{"instanceCount", propSMInstanceCount, smOptInt(in.InstanceCount)},
		{"image", propSMImage, optValue(in.Image)},
		{"hyperParameters", propHyperParameters, hyper},
		{"modelName", propSMModelName, optValue(in.ModelName)},
	}
	return smWrite(ctx, s, actor, ActionSageMakerTrainingJob, func(tx neo4j.ManagedTransaction) (SageMakerRecord, error) {
		w := smTx{ctx, tx, actor}
		out := SageMakerRecord{Notes: slices.Clone(rec.Notes)}
		recs, err := w.run(smMergeJobQueries[kind], "record SageMaker job "+key, map[string]any{"key": key, "props": create})
		if err != nil {
			return SageMakerRecord{}, err
		}
		created, _ := recs[0].Get("created")
		if err := w.lock(key); err != nil {
			return SageMakerRecord{}, err
		}
		j, err := nodeByKey(ctx, tx, "name", key)
		if err != nil {
			return SageMakerRecord{}, err
		}
		if j.Kind != kind {
			return SageMakerRecord{}, apperr.Conflicting("name", "%q is recorded as a %s, not a %s", key, j.Kind, kind)
		}
		out.add(key)
		props := map[string]any{}
		for _, f := range fixed {
			if f.value == nil {
				continue
			}
			have, ok := j.Props[f.prop]
			if !ok || have == nil {
				props[f.prop] = f.value
				continue
			}
			if !equalValues(normalize(have), normalize(f.value)) {
				return SageMakerRecord{}, apperr.Conflicting(f.field, "SageMaker job %q was recorded with %s %s; got %s "+
					"(a job's configuration never changes; is this another job of the same name?)",
					in.Name, f.prop, describe(normalize(have)), describe(normalize(f.value)))
			}
		}
		for prop, v := range map[string]*string{propSMFailureReason: in.FailureReason,
			propSMPipelineExecution: in.PipelineExecution, propSMPipelineStep: in.PipelineStep} {
			if v != nil && j.Props[prop] == nil {
				props[prop] = *v
			}
		}
		if in.StartedAt != nil && j.OptTime(propStartedAt) == nil {
			props[propStartedAt] = in.StartedAt.UTC()
		}
		haveStage := recordedJobStage(j)
		maps.Copy(props, advanceJob(j, progress))
		if in.EndedAt != nil && j.OptTime(propEndedAt) == nil && (progress.Stage == JobStageEnded || haveStage == JobStageEnded) {
			if start := j.OptTime(propStartedAt); start == nil || !in.EndedAt.Before(*start) {
				props[propEndedAt] = in.EndedAt.UTC()
			}
		}

		// What the job read and wrote.
		recs, err = w.run(cypherSMJobNeighbours, "neighbours of "+key, map[string]any{"key": key})
		if err != nil {
			return SageMakerRecord{}, err
		}
		haveIn, _ := recs[0].Get("inputs")
		haveOut, _ := recs[0].Get("outputs")
		readBefore, wroteBefore := smByDataset(haveIn), smByDataset(haveOut)
		inKeys, err := w.resolveInputs(key, inputs, readBefore)
		if err != nil {
			return SageMakerRecord{}, err
		}
		if in.Type == SageMakerTransform && in.ModelName != nil {
			models, err := w.modelArtifacts(*in.ModelName, &out)
			if err != nil {
				return SageMakerRecord{}, err
			}
			for _, m := range models {
				if !slices.Contains(inKeys, m) {
					inKeys = append(inKeys, m)
				}
			}
		}
		outKeys, err := w.resolveOutputs(in.Name, key, inputs, outputs, wroteBefore)
		if err != nil {
			return SageMakerRecord{}, err
		}
		if artifact != nil {
			ak := artifact[propKey].(string)
			if slices.Contains(inKeys, ak) {
				return SageMakerRecord{}, apperr.Invalid("modelArtifact", "%q is also an input of the job; a job cannot read what it produces", artifact[propURI])
			}
			recs, err := w.run(cypherSMMergeArtifact, "record model artifact of "+key, map[string]any{"key": ak, "props": artifact})
			if err != nil {
				return SageMakerRecord{}, err
			}
			for _, p := range smStrings(recs[0].Values[1]) {
				if p != key {
					return SageMakerRecord{}, apperr.Conflicting("modelArtifact", "artifact %q was already produced by %q; an artifact has one producer", ak, p)
				}
			}
			outKeys = append(outKeys, ak)
		}
		if err := w.linkJob(key, inKeys, outKeys); err != nil {
			return SageMakerRecord{}, err
		}
		out.add(inKeys...)
		out.add(outKeys...)
		for prop, add := range map[string][]string{propInputs: inKeys, propOutputs: outKeys} {
			have := smStrings(j.Props[prop])
			all := slices.Compact(slices.Sorted(slices.Values(append(slices.Clone(have), add...))))
			if !slices.Equal(all, have) {
				props[prop] = all
			}
		}
		if len(props) > 0 {
			if _, err := w.run(cypherSMSetProps, "update SageMaker job "+key, map[string]any{"key": key, "props": props, "stamp": created != true}); err != nil {
				return SageMakerRecord{}, err
			}
		}
		if in.Experiment != nil {
			j, err = nodeByKey(ctx, tx, "name", key)
			if err != nil {
				return SageMakerRecord{}, err
			}
			if err := w.recordRun(j, in, &out); err != nil {
				return SageMakerRecord{}, err
			}
		}
		return out, nil
	})
}

// modelArtifacts returns the artifacts of the model data of a SageMaker model known
// from its DescribeModel (recording those not seen yet), the model a transform job
// read; none, with a note, for a model not described yet.
func (w smTx) modelArtifacts(model string, out *SageMakerRecord) ([]string, error) {
	recs, err := w.run(cypherSMModelRecord, "look up model "+model, map[string]any{"key": smModelRecordKey(model)})
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		out.note("SageMaker model %q is not known (forward its DescribeModel); the transform job is not linked to it", truncateForMessage(model))
		return nil, nil
	}
	m, err := nodeAt(recs[0], "r")
	if err != nil {
		return nil, err
	}
	var keys []string
	for _, u := range smStrings(m.Props[propSMModelDataURLs]) {
		props, err := artifactProps(ArtifactInput{URI: u}, "modelName")
		if err != nil {
			return nil, err
		}
		k := props[propKey].(string)
		if _, err := w.run(cypherSMMergeArtifact, "record artifact "+k, map[string]any{"key": k, "props": props}); err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	if versions := smStrings(m.Props[propSMPackageVersions]); len(versions) > 0 {
		recs, err := w.run(cypherSMArtifactsOfVersions, "artifacts of the packages of "+model, map[string]any{"keys": versions})
		if err != nil {
			return nil, err
		}
		for _, k := range smStrings(recs[0].Values[0]) {
			if !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	return keys, nil
}

// cypherSMArtifactsOfVersions returns the artifacts model versions were registered from.
const cypherSMArtifactsOfVersions = `
UNWIND $keys AS k
OPTIONAL MATCH (a:` + string(KindArtifact) + `)-[:` + RelRegisteredAs + `]->(:` + LabelNode + ` {key: k})
WITH a ORDER BY a.key
RETURN collect(DISTINCT a.key) AS keys`

func smLocations(list string, chans []SageMakerChannel) ([]smLocation, error) {
	out := make([]smLocation, 0, len(chans))
	seen := map[string]bool{}
	for i, c := range chans {
		field := fmt.Sprintf("%s[%d]", list, i)
		if c.Name != "" {
			field = fmt.Sprintf("%s[%d] (%s)", list, i, truncateForMessage(c.Name))
		}
		l, err := smLocate(field, c.URI)
		if err != nil {
			return nil, err
		}
		if !seen[l.uri] { // two channels of one location are one input
			seen[l.uri] = true
			out = append(out, l)
		}
	}
	return out, nil
}

// smByDataset maps the dataset of each dataset-version key to the key (artifacts by
// their own key).
func smByDataset(v any) map[string]string {
	out := map[string]string{}
	for _, k := range smStrings(v) {
		if head, _, ok := cutLast(k, "#"); ok && strings.HasPrefix(k, prefixDatasetVersion) {
			out[prefixDataset+strings.TrimPrefix(head, prefixDatasetVersion)] = k
		} else {
			out[k] = k
		}
	}
	return out
}

// resolveInputs gives each location the job read its node: the artifact recorded at
// that URI (a model read by an evaluation job), else the version the job read in an
// earlier report, else the newest version another job wrote, else the location's
// SageMakerVersion.
func (w smTx) resolveInputs(job string, inputs []smLocation, readBefore map[string]string) ([]string, error) {
	if len(inputs) == 0 {
		return nil, nil
	}
	artifacts := make([]string, len(inputs))
	for i, l := range inputs {
		artifacts[i] = ArtifactKey(l.uri)
	}
	recs, err := w.run(cypherInputKinds, "look up inputs of "+job, map[string]any{"inputs": artifacts})
	if err != nil {
		return nil, err
	}
	isArtifact := map[int]bool{}
	for _, r := range recs {
		i, _ := r.Get("i")
		if kind, _ := r.Get("kind"); kind == string(KindArtifact) {
			isArtifact[int(i.(int64))] = true
		}
	}
	keys := make([]string, len(inputs))
	var lookup []string
	for i, l := range inputs {
		switch {
		case isArtifact[i]:
			keys[i] = artifacts[i]
		case readBefore[artifacts[i]] != "":
			keys[i] = artifacts[i]
		case readBefore[l.datasetKey()] != "":
			keys[i] = readBefore[l.datasetKey()]
		default:
			lookup = append(lookup, l.datasetKey())
		}
	}
	newest := map[string]string{}
	if len(lookup) > 0 {
		recs, err := w.run(cypherSMNewestProduced, "newest versions of inputs of "+job, map[string]any{"datasets": lookup, "job": job})
		if err != nil {
			return nil, err
		}
		for _, r := range recs {
			dk, _ := r.Get("dk")
			if v, ok := r.Values[1].(string); ok {
				newest[dk.(string)] = v
			}
		}
	}
	var rows []map[string]any
	for i, l := range inputs {
		if keys[i] != "" {
			continue
		}
		// A location the job also writes (in place) resolves the same way: what the job
		// read is the location as it was; what it wrote is its own version.
		keys[i] = newest[l.datasetKey()]
		if keys[i] == "" {
			keys[i] = l.versionKey(SageMakerVersion)
		}
		rows = append(rows, smVersionRow(l, keys[i]))
	}
	if _, err := w.mergeVersions(rows); err != nil {
		return nil, err
	}
	return keys, nil
}

// resolveOutputs gives each location the job wrote its version: the one it wrote in an
// earlier report, else the location's SageMakerVersion unless another job produced that
// already (or the job also reads the location), else sagemaker:<job name>.
func (w smTx) resolveOutputs(name, job string, inputs, outputs []smLocation, wroteBefore map[string]string) ([]string, error) {
	if len(outputs) == 0 {
		return nil, nil
	}
	keys := make([]string, len(outputs))
	var rows []map[string]any
	for i, l := range outputs {
		if k := wroteBefore[l.datasetKey()]; k != "" {
			keys[i] = k
			continue
		}
		keys[i] = l.versionKey(SageMakerVersion)
		for _, in := range inputs {
			if in.uri == l.uri {
				keys[i] = l.versionKey(sageMakerRewritePrefix + name)
			}
		}
		rows = append(rows, smVersionRow(l, keys[i]))
	}
	producers, err := w.mergeVersions(rows)
	if err != nil {
		return nil, err
	}
	var again []map[string]any
	for i, l := range outputs {
		if p := producers[keys[i]]; len(p) > 0 && !slices.Contains(p, job) {
			keys[i] = l.versionKey(sageMakerRewritePrefix + name)
			again = append(again, smVersionRow(l, keys[i]))
		}
	}
	producers, err = w.mergeVersions(again)
	if err != nil {
		return nil, err
	}
	for i := range outputs {
		if p := producers[keys[i]]; len(p) > 0 && !slices.Contains(p, job) {
			return nil, apperr.Conflicting(outputs[i].field, "%q was already produced by %q; a dataset version has one producer", keys[i], p[0])
		}
	}
	return keys, nil
}

func smVersionRow(l smLocation, key string) map[string]any {
	_, version, _ := cutLast(key, "#")
	return datasetVersionRef{namespace: l.namespace, name: l.name, uri: l.uri, version: version, versionID: version}.row()
}

// mergeVersions merges dataset versions in key order and returns their producers.
func (w smTx) mergeVersions(rows []map[string]any) (map[string][]string, error) {
	out := map[string][]string{}
	if len(rows) == 0 {
		return out, nil
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i]["key"].(string) < rows[j]["key"].(string) })
	rows = slices.CompactFunc(rows, func(a, b map[string]any) bool { return a["key"] == b["key"] })
	recs, err := w.run(cypherSMMergeVersions, "record dataset versions", map[string]any{"rows": rows})
	if err != nil {
		return nil, err
	}
	for _, r := range recs {
		k, _ := r.Get("key")
		out[k.(string)] = smStrings(r.Values[1])
	}
	return out, nil
}

// linkJob links a job (whose lock the transaction holds) to what it read and wrote.
func (w smTx) linkJob(job string, inputs, outputs []string) error {
	var io jobIO
	io.readAll(job, inputs)
	io.wroteAll(job, outputs)
	return linkJobIO(w.ctx, w.tx, w.actor, io)
}

const (
	cypherSMRunsOfJob = `
MATCH (r:` + string(KindRun) + `)-[:` + RelExecutedBy + `]->(:` + LabelNode + ` {key: $key})
RETURN r ORDER BY r.recordedAt, r.key LIMIT 1`

	cypherSMCreateRun = `
MATCH (e:` + LabelNode + ` {key: $experiment}), (j:` + LabelNode + ` {key: $job})
CREATE (r:` + LabelNode + `:` + string(KindRun) + ` {
  key: $key, kind: '` + string(KindRun) + `', name: $name, runId: $runId, experimentId: e.experimentId,
  status: $status, startTime: coalesce($startTime, datetime.transaction()), endTime: $endTime,
  tagKeys: $tagKeys, tagValues: $tagValues, lifecycle: '` + string(LifecycleActive) + `',
  recordedAt: datetime.transaction(), recordedBy: $actor})
CREATE (r)-[:` + RelInExperiment + `]->(e)
CREATE (r)-[:` + RelExecutedBy + `]->(j)
WITH r
OPTIONAL MATCH (g:` + LabelNode + ` {key: $group})
FOREACH (_ IN CASE WHEN g IS NULL THEN [] ELSE [1] END | CREATE (r)-[:` + RelInGroup + `]->(g))
RETURN r`

	cypherSMUpdateRun = `
MATCH (r:` + LabelNode + ` {key: $key})
SET r.status = $status, r.endTime = coalesce(r.endTime, $endTime),
    r.updatedAt = datetime.transaction(), r.updatedBy = $actor`
)

// recordRun finds or creates the run a job with an ExperimentConfig executed (as
// StartRun with ExecutedBy would, in this transaction): the experiment by name (created
// on first use), the trial as a run group, and a run named after the run or trial
// component, EXECUTED_BY the job. Its status follows the job's; the job's
// hyper-parameters are its parameters. A job executes one run: later reports find it.
func (w smTx) recordRun(j Node, in SageMakerJob, out *SageMakerRecord) error {
	cfg := in.Experiment
	recs, err := w.run(cypherSMRunsOfJob, "run of "+j.Key, map[string]any{"key": j.Key})
	if err != nil {
		return err
	}
	status := runStatusOfJob(JobStatus(j.String(propStatus)))
	var endTime any
	if status != RunRunning {
		endTime = timeValue(j.OptTime(propEndedAt))
	}
	if len(recs) > 0 {
		r, err := nodeAt(recs[0], "r")
		if err != nil {
			return err
		}
		if err := w.lock(r.Key); err != nil {
			return err
		}
		if r, err = nodeByKey(w.ctx, w.tx, "run", r.Key); err != nil {
			return err
		}
		out.add(r.Key)
		if Lifecycle(r.String(propLifecycle)) == LifecycleDeleted {
			return nil
		}
		if _, moves := advanceRun(RunStatus(r.String(propStatus)), status); moves {
			if _, err := w.run(cypherSMUpdateRun, "update run "+r.Key, map[string]any{"key": r.Key, "status": string(status), "endTime": endTime}); err != nil {
				return err
			}
		}
		return w.logHyperParameters(r.Key, in.HyperParameters, out)
	}
	if strings.TrimSpace(cfg.ExperimentName) == "" {
		out.note("ExperimentConfig names no experiment; no run recorded")
		return nil
	}
	if err := checkText("experimentConfig.experimentName", cfg.ExperimentName, MaxExperimentNameLength); err != nil {
		return err
	}
	recs, err = w.run(cypherExperimentByName, "look up experiment "+cfg.ExperimentName, map[string]any{"name": cfg.ExperimentName})
	if err != nil {
		return err
	}
	var e Node
	if len(recs) > 0 {
		if e, err = nodeAt(recs[0], "e"); err != nil {
			return err
		}
	} else {
		recs, err = w.run(cypherNextExperimentID, "next experiment id", map[string]any{})
		if err != nil {
			return err
		}
		n, _ := recs[0].Get("id")
		id := strconv.FormatInt(n.(int64), 10)
		desc := "Created for SageMaker jobs whose ExperimentConfig names it."
		recs, err = w.run(cypherCreateExperiment, "create experiment "+cfg.ExperimentName, map[string]any{
			"key": ExperimentKey(id), "id": id, "name": cfg.ExperimentName, "description": desc,
			"artifactLocation": nil, "tagKeys": nil, "tagValues": nil,
		})
		if err != nil {
			return err
		}
		if e, err = nodeAt(recs[0], "e"); err != nil {
			return err
		}
	}
	if Lifecycle(e.String(propLifecycle)) == LifecycleDeleted {
		out.note("experiment %q is deleted; no run recorded", truncateForMessage(cfg.ExperimentName))
		return nil
	}
	var group any
	if trial := strings.TrimSpace(cfg.TrialName); trial != "" {
		if err := checkText("experimentConfig.trialName", trial, MaxRunNameLength); err != nil {
			return err
		}
		gk := RunGroupKey(e.String(propExperimentID), trial)
		if _, err := w.run(cypherCreateRunGroup, "record run group "+gk, map[string]any{
			"experiment": e.Key, "key": gk, "name": trial, "description": nil,
		}); err != nil {
			return err
		}
		group = gk
	}
	name := smRunName(cfg, in.Name)
	tags := []Tag{{Key: "sagemaker.job", Value: j.Key}}
	if cfg.TrialComponentDisplayName != "" {
		tags = append(tags, Tag{Key: "sagemaker.trialComponentDisplayName", Value: cfg.TrialComponentDisplayName})
	}
	tagKeys, tagValues, err := checkTags("tags", tags)
	if err != nil {
		return err
	}
	runID := smRunID(j.Key)
	recs, err = w.run(cypherSMCreateRun, "start run for "+j.Key, map[string]any{
		"experiment": e.Key, "job": j.Key, "key": RunKey(runID), "runId": runID, "name": name,
		"status": string(status), "startTime": timeValue(j.OptTime(propStartedAt)), "endTime": endTime,
		"tagKeys": tagKeys, "tagValues": tagValues, "group": group,
	})
	if err != nil {
		return err
	}
	if len(recs) == 0 {
		return fmt.Errorf("start run for %q: experiment %q or job vanished", j.Key, e.Key)
	}
	out.add(RunKey(runID))
	return w.logHyperParameters(RunKey(runID), in.HyperParameters, out)
}

// smRunName is the run's name: the RunName, else the trial component's display name,
// else the job's name.
func smRunName(cfg *SageMakerExperimentConfig, job string) string {
	name := job
	for _, n := range []string{cfg.RunName, cfg.TrialComponentDisplayName} {
		if strings.TrimSpace(n) != "" {
			name = n
			break
		}
	}
	if utf8.RuneCountInString(name) > MaxRunNameLength {
		name = string([]rune(name)[:MaxRunNameLength])
	}
	return name
}

func (w smTx) logHyperParameters(run string, hyper []Param, out *SageMakerRecord) error {
	if len(hyper) == 0 {
		return nil
	}
	params, err := checkParams(hyper)
	if err != nil {
		return apperr.WithFieldPrefix(err, "hyperParameters")
	}
	err = logParams(w.ctx, w.tx, w.actor, run, params)
	if apperr.CodeOf(err) == apperr.Conflict {
		// The run was logged to by its own code too; the job's record keeps the value.
		out.note("hyper-parameters not logged to run %s: %v", run, err)
		return nil
	}
	return err
}

const (
	cypherSMMergeRegisteredModel = `
MERGE (m:` + LabelNode + ` {key: $modelKey})
  ON CREATE SET m:` + string(KindRegisteredModel) + `, m.kind = '` + string(KindRegisteredModel) + `',
    m.name = $model, m.latestVersion = 0,
    m.recordedAt = datetime.transaction(), m.recordedBy = $actor
SET m._lock_ = true
REMOVE m._lock_
WITH m
SET m.latestVersion = CASE WHEN coalesce(m.latestVersion, 0) < $version THEN $version ELSE m.latestVersion END
RETURN m`

	cypherSMMergeModelVersion = `
MATCH (m:` + LabelNode + ` {key: $modelKey})
MERGE (v:` + LabelNode + ` {key: $key})
  ON CREATE SET v:` + string(KindModelVersion) + `, v += $props,
    v.recordedAt = datetime.transaction(), v.recordedBy = $actor, v.` + createdFlag + ` = true
WITH m, v, coalesce(v.` + createdFlag + `, false) AS created
REMOVE v.` + createdFlag + `
FOREACH (_ IN CASE WHEN created THEN [1] ELSE [] END | CREATE (v)-[:` + RelVersionOf + `]->(m))
SET v._lock_ = true
REMOVE v._lock_
RETURN v, created`

	cypherSMRegisteredAs = `
MATCH (v:` + LabelNode + ` {key: $version})
UNWIND $artifacts AS k
MATCH (a:` + LabelNode + ` {key: k})
MERGE (a)-[e:` + RelRegisteredAs + `]->(v)
  ON CREATE SET e.recordedAt = datetime.transaction(), e.recordedBy = $actor`
)

// SageMakerApproval maps SageMaker's ModelApprovalStatus to provgraph's.
func SageMakerApproval(s string) (ApprovalStatus, bool) {
	switch smFold(s) {
	case "pendingmanualapproval", "pending":
		return PendingManualApproval, true
	case "approved":
		return Approved, true
	case "rejected":
		return Rejected, true
	}
	return "", false
}

// RecordSageMakerModelPackage records one report of a model package version in one
// transaction: the registered model model:<group> (created on first use), the model
// version model:<group>/<version> registered from the artifacts its containers name
// (an artifact a training job PRODUCED connects the version to that job), and a change
// of its approval status when the report's differs from the current one. A report
// older than the newest one recorded (by LastModifiedTime) changes no approval.
func (s *Store) RecordSageMakerModelPackage(ctx context.Context, actor string, in SageMakerModelPackage) (SageMakerRecord, error) {
	if err := checkText("modelPackageGroupName", in.Group, MaxModelNameLength); err != nil {
		return SageMakerRecord{}, err
	}
	if modelVersionSuffix.MatchString(in.Group) || strings.Contains(in.Group, "/") {
		return SageMakerRecord{}, apperr.Invalid("modelPackageGroupName", "must not contain '/' (got %q)", truncateForMessage(in.Group))
	}
	if in.Version < 1 {
		return SageMakerRecord{}, apperr.Invalid("modelPackageVersion", "must be a version number from 1 (got %d)", in.Version)
	}
	for field, v := range map[string]*string{"modelPackageArn": in.ARN, "modelPackageStatus": in.Status, "approvedBy": in.ApprovedBy} {
		if err := checkOptText(field, v, MaxURILength); err != nil {
			return SageMakerRecord{}, err
		}
	}
	if err := checkDescription("modelPackageDescription", in.Description); err != nil {
		return SageMakerRecord{}, err
	}
	if err := checkDescription("approvalDescription", in.ApprovalDescription); err != nil {
		return SageMakerRecord{}, err
	}
	if err := checkProse("framework", in.Framework, MaxFrameworkLength); err != nil {
		return SageMakerRecord{}, err
	}
	var rec SageMakerRecord
	var approval ApprovalStatus
	if in.Approval != nil {
		var ok bool
		if approval, ok = SageMakerApproval(*in.Approval); !ok {
			return SageMakerRecord{}, apperr.Invalid("modelApprovalStatus", "must be PendingManualApproval, Approved or Rejected (got %q)", truncateForMessage(*in.Approval))
		}
	}
	var artifacts []map[string]any
	for i, u := range in.ModelDataURLs {
		field := fmt.Sprintf("inferenceSpecification.containers[%d].modelDataUrl", i)
		uri, err := NormalizeSageMakerURI(field, u)
		if err != nil {
			return SageMakerRecord{}, err
		}
		props, err := artifactProps(ArtifactInput{URI: uri}, field)
		if err != nil {
			return SageMakerRecord{}, err
		}
		if !slices.ContainsFunc(artifacts, func(a map[string]any) bool { return a[propKey] == props[propKey] }) {
			artifacts = append(artifacts, props)
		}
	}
	if len(artifacts) == 0 {
		rec.note("the model package names no model data; the version is recorded without an artifact")
	}
	modelKey := RegisteredModelKey(in.Group)
	key := ModelVersionKey(in.Group, in.Version)
	var source any
	if len(artifacts) > 0 {
		source = artifacts[0][propURI]
	}
	props := map[string]any{
		propKey: key, propKind: string(KindModelVersion), propName: in.Group + "/" + strconv.FormatInt(in.Version, 10),
		propModel: in.Group, propVersion: in.Version, propSource: source, propDescription: optValue(in.Description),
		propFramework: optValue(in.Framework), propSMArn: optValue(in.ARN),
	}
	return smAudited(ctx, s, actor, ActionSageMakerModelPackage, func(tx neo4j.ManagedTransaction) (SageMakerRecord, error) {
		w := smTx{ctx, tx, actor}
		out := SageMakerRecord{Notes: slices.Clone(rec.Notes)}
		if _, err := w.run(cypherSMMergeRegisteredModel, "record registered model "+modelKey, map[string]any{
			"modelKey": modelKey, "model": in.Group, "version": in.Version,
		}); err != nil {
			return SageMakerRecord{}, err
		}
		recs, err := w.run(cypherSMMergeModelVersion, "record model version "+key, map[string]any{"modelKey": modelKey, "key": key, "props": props})
		if err != nil {
			return SageMakerRecord{}, err
		}
		v, err := nodeAt(recs[0], "v")
		if err != nil {
			return SageMakerRecord{}, err
		}
		out.add(key, modelKey)
		update := map[string]any{}
		for _, c := range []struct {
			field, prop string
			value       any
		}{{"modelPackageArn", propSMArn, props[propSMArn]}, {"inferenceSpecification.containers[0].modelDataUrl", propSource, source}} {
			if c.value == nil {
				continue
			}
			if have := v.Props[c.prop]; have == nil {
				update[c.prop] = c.value
			} else if have != c.value {
				return SageMakerRecord{}, apperr.Conflicting(c.field, "model version %q was recorded with %s %s; got %s "+
					"(a registered version never changes)", key, c.prop, describe(have), describe(c.value))
			}
		}
		if len(artifacts) > 0 {
			keys := make([]string, len(artifacts))
			for i, a := range artifacts {
				keys[i] = a[propKey].(string)
				if _, err := w.run(cypherSMMergeArtifact, "record artifact "+keys[i], map[string]any{"key": keys[i], "props": a}); err != nil {
					return SageMakerRecord{}, err
				}
			}
			if _, err := w.run(cypherSMRegisteredAs, "register "+key, map[string]any{"version": key, "artifacts": keys}); err != nil {
				return SageMakerRecord{}, err
			}
			out.add(keys...)
		}
		stale := false
		if have := v.OptTime(propSMModifiedAt); in.ModifiedAt != nil && have != nil && in.ModifiedAt.Before(*have) {
			stale = true
			out.note("report older than the one recorded (%s); approval and status left as they are", have.Format(time.RFC3339))
		}
		if in.ModifiedAt != nil && !stale {
			if have := v.OptTime(propSMModifiedAt); have == nil || !have.Equal(*in.ModifiedAt) {
				update[propSMModifiedAt] = in.ModifiedAt.UTC()
			}
		}
		if in.Status != nil && !stale && v.String(propSMStatus) != *in.Status {
			update[propSMStatus] = *in.Status
		}
		if len(update) > 0 {
			if _, err := w.run(cypherSMSetProps, "update model version "+key, map[string]any{"key": key, "props": update, "stamp": false}); err != nil {
				return SageMakerRecord{}, err
			}
		}
		if approval != "" && !stale {
			history, err := approvalsOf(ctx, tx, key)
			if err != nil {
				return SageMakerRecord{}, err
			}
			if StatusOf(history) != approval {
				comment := optValue(in.ApprovalDescription)
				if in.ApprovedBy != nil && *in.ApprovedBy != "" {
					c := "changed in SageMaker by " + *in.ApprovedBy
					if in.ApprovalDescription != nil && *in.ApprovalDescription != "" {
						c = *in.ApprovalDescription + " (" + c + ")"
					}
					comment = c
				}
				if _, err := w.run(cypherAddApproval, "record approval of "+key, map[string]any{
					"key": key, "status": string(approval), "comment": comment, "seq": len(history) + 1,
				}); err != nil {
					return SageMakerRecord{}, err
				}
			}
		}
		ids, notes, err := w.reapplyEndpoints(cypherSMEndpointsForVersion, map[string]any{"version": key, "artifacts": smKeys(artifacts)})
		out.add(ids...)
		out.Notes = append(out.Notes, notes...)
		return out, err
	})
}

func smKeys(props []map[string]any) []string {
	out := make([]string, len(props))
	for i, p := range props {
		out[i] = p[propKey].(string)
	}
	return out
}

// The lookup records.
const (
	cypherSMLockLookups = `
MERGE (s:` + LabelSequence + ` {name: '` + smLockName + `'})
SET s._lock_ = true
REMOVE s._lock_`

	cypherSMModelRecord = `MATCH (r:` + LabelSageMakerModel + ` {key: $key}) RETURN r`

	cypherSMConfigRecord = `MATCH (r:` + LabelSageMakerEndpointConfig + ` {key: $key}) RETURN r`

	cypherSMCreateModelRecord = `
CREATE (r:` + LabelSageMakerModel + ` {key: $key, recordedAt: datetime.transaction(), recordedBy: $actor})
SET r += $props`

	cypherSMCreateConfigRecord = `
CREATE (r:` + LabelSageMakerEndpointConfig + ` {key: $key, recordedAt: datetime.transaction(), recordedBy: $actor})
SET r += $props`

	cypherSMUpdateModelRecord = `
MATCH (r:` + LabelSageMakerModel + ` {key: $key})
SET r += $props, r.updatedAt = datetime.transaction(), r.updatedBy = $actor`

	cypherSMUpdateConfigRecord = `
MATCH (r:` + LabelSageMakerEndpointConfig + ` {key: $key})
SET r += $props, r.updatedAt = datetime.transaction(), r.updatedBy = $actor`

	// Endpoints whose configuration is $config.
	cypherSMEndpointsForConfig = `
MATCH (e:` + string(KindEndpoint) + `) WHERE e.` + propSMEndpointConfig + ` = $config
RETURN e.key AS key ORDER BY key`

	// Endpoints whose configuration names the model $model.
	cypherSMEndpointsForModel = `
MATCH (c:` + LabelSageMakerEndpointConfig + `) WHERE $model IN c.` + propSMVariantModels + `
WITH collect(c.name) AS configs
MATCH (e:` + string(KindEndpoint) + `) WHERE e.` + propSMEndpointConfig + ` IN configs
RETURN e.key AS key ORDER BY key`

	// Endpoints whose configuration names a model of the package version $version or of
	// one of the $artifacts.
	cypherSMEndpointsForVersion = `
MATCH (m:` + LabelSageMakerModel + `)
WHERE $version IN m.` + propSMPackageVersions + ` OR any(u IN m.` + propSMModelDataURLs + ` WHERE ('` + prefixArtifact + `' + u) IN $artifacts)
WITH collect(m.name) AS models
MATCH (c:` + LabelSageMakerEndpointConfig + `) WHERE any(n IN c.` + propSMVariantModels + ` WHERE n IN models)
WITH collect(c.name) AS configs
MATCH (e:` + string(KindEndpoint) + `) WHERE e.` + propSMEndpointConfig + ` IN configs
RETURN e.key AS key ORDER BY key`
)

func smModelRecordKey(name string) string  { return "sagemakerModel:" + name }
func smConfigRecordKey(name string) string { return "sagemakerEndpointConfig:" + name }

// SageMakerPackageVersion returns the model version ID a ModelPackageName names (its
// ARN, or <group>/<version>), or false for an unversioned package.
func SageMakerPackageVersion(pkg string) (string, bool) {
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
	return ModelVersionKey(group, n), true
}

// RecordSageMakerModel records a DescribeModel response: which model data and model
// package versions the SageMaker model serves, so endpoint configurations naming it
// resolve to model versions. Endpoints whose configuration names the model are brought
// up to date. A model described again with other containers (deleted and created
// anew under its name) replaces the lookup record; deployments keep their history.
func (s *Store) RecordSageMakerModel(ctx context.Context, actor string, in SageMakerModel) (SageMakerRecord, error) {
	if err := checkText("modelName", in.Name, MaxNameLength); err != nil {
		return SageMakerRecord{}, err
	}
	if err := checkOptText("modelArn", in.ARN, MaxURILength); err != nil {
		return SageMakerRecord{}, err
	}
	urls := []string{}
	for i, u := range in.ModelDataURLs {
		uri, err := NormalizeSageMakerURI(fmt.Sprintf("containers[%d].modelDataUrl", i), u)
		if err != nil {
			return SageMakerRecord{}, err
		}
		if !slices.Contains(urls, uri) {
			urls = append(urls, uri)
		}
	}
	versions := []string{}
	var rec SageMakerRecord
	for i, p := range in.PackageNames {
		if err := checkText(fmt.Sprintf("containers[%d].modelPackageName", i), p, MaxURILength); err != nil {
			return SageMakerRecord{}, err
		}
		v, ok := SageMakerPackageVersion(p)
		if !ok {
			rec.note("model package %q is not a versioned package; not resolved", truncateForMessage(p))
			continue
		}
		if !slices.Contains(versions, v) {
			versions = append(versions, v)
		}
	}
	props := map[string]any{propName: in.Name, propSMArn: optValue(in.ARN), propSMModelDataURLs: urls, propSMPackageVersions: versions}
	key := smModelRecordKey(in.Name)
	return smAudited(ctx, s, actor, ActionSageMakerModel, func(tx neo4j.ManagedTransaction) (SageMakerRecord, error) {
		w := smTx{ctx, tx, actor}
		out := SageMakerRecord{Notes: slices.Clone(rec.Notes)}
		if err := w.upsertLookup(cypherSMLockLookups, cypherSMModelRecord, cypherSMCreateModelRecord, cypherSMUpdateModelRecord, key, props); err != nil {
			return SageMakerRecord{}, err
		}
		if err := w.relinkTransforms(in.Name, &out); err != nil {
			return SageMakerRecord{}, err
		}
		ids, notes, err := w.reapplyEndpoints(cypherSMEndpointsForModel, map[string]any{"model": in.Name})
		out.add(ids...)
		out.Notes = append(out.Notes, notes...)
		return out, err
	})
}

// cypherSMTransformsOfModel returns the transform jobs that ran a SageMaker model, with
// the inputs recorded so far.
const cypherSMTransformsOfModel = `
MATCH (j:` + string(KindProcessingJob) + ` {` + propSMModelName + `: $model})
WHERE j.` + propSMJobType + ` = '` + string(SageMakerTransform) + `'
RETURN j.key AS key, j.` + propInputs + ` AS inputs ORDER BY key`

// relinkTransforms makes the model data of a model just described an input of the
// transform jobs that ran it: a transform job reported before its model's
// DescribeModel is linked now, so event order does not decide lineage.
func (w smTx) relinkTransforms(model string, out *SageMakerRecord) error {
	recs, err := w.run(cypherSMTransformsOfModel, "transform jobs of model "+model, map[string]any{"model": model})
	if err != nil || len(recs) == 0 {
		return err
	}
	var scratch SageMakerRecord
	keys, err := w.modelArtifacts(model, &scratch)
	if err != nil || len(keys) == 0 {
		return err
	}
	for _, rec := range recs {
		job, _ := rec.Values[0].(string)
		have := smStrings(rec.Values[1])
		all := slices.Compact(slices.Sorted(slices.Values(append(slices.Clone(have), keys...))))
		if slices.Equal(all, have) {
			continue
		}
		if err := w.lock(job); err != nil {
			return err
		}
		if err := w.linkJob(job, keys, nil); err != nil {
			return err
		}
		if _, err := w.run(cypherSMSetProps, "update SageMaker job "+job, map[string]any{"key": job, "props": map[string]any{propInputs: all}, "stamp": true}); err != nil {
			return err
		}
		out.add(job)
		out.add(keys...)
	}
	return nil
}

// RecordSageMakerEndpointConfig records a DescribeEndpointConfig response: its variants
// with their models and weights. Endpoints using the configuration are brought up to
// date.
func (s *Store) RecordSageMakerEndpointConfig(ctx context.Context, actor string, in SageMakerEndpointConfig) (SageMakerRecord, error) {
	if err := checkText("endpointConfigName", in.Name, MaxNameLength); err != nil {
		return SageMakerRecord{}, err
	}
	if err := checkOptText("endpointConfigArn", in.ARN, MaxURILength); err != nil {
		return SageMakerRecord{}, err
	}
	if len(in.Variants) > MaxTags {
		return SageMakerRecord{}, apperr.Invalid("productionVariants", "must hold at most %d variants (got %d)", MaxTags, len(in.Variants))
	}
	names, models, weights := []string{}, []string{}, []float64{}
	for i, v := range in.Variants {
		field := fmt.Sprintf("productionVariants[%d]", i)
		name := v.Name
		if name == "" {
			name = DefaultVariant
		}
		if err := checkText(field+".variantName", name, MaxShortTextLength); err != nil {
			return SageMakerRecord{}, err
		}
		if slices.Contains(names, name) {
			return SageMakerRecord{}, apperr.Invalid(field+".variantName", "variant %q is given twice", truncateForMessage(name))
		}
		if err := checkText(field+".modelName", v.ModelName, MaxNameLength); err != nil {
			return SageMakerRecord{}, err
		}
		weight := 1.0
		if v.Weight != nil {
			weight = *v.Weight
		}
		if math.IsNaN(weight) || math.IsInf(weight, 0) || weight < 0 {
			return SageMakerRecord{}, apperr.Invalid(field+".initialVariantWeight", "must be a number of at least 0 (got %v)", weight)
		}
		names, models, weights = append(names, name), append(models, v.ModelName), append(weights, weight)
	}
	props := map[string]any{propName: in.Name, propSMArn: optValue(in.ARN),
		propSMVariantNamesCfg: names, propSMVariantModels: models, propSMVariantWeightsCfg: weights}
	key := smConfigRecordKey(in.Name)
	return smAudited(ctx, s, actor, ActionSageMakerEndpointConfig, func(tx neo4j.ManagedTransaction) (SageMakerRecord, error) {
		w := smTx{ctx, tx, actor}
		var out SageMakerRecord
		if err := w.upsertLookup(cypherSMLockLookups, cypherSMConfigRecord, cypherSMCreateConfigRecord, cypherSMUpdateConfigRecord, key, props); err != nil {
			return SageMakerRecord{}, err
		}
		ids, notes, err := w.reapplyEndpoints(cypherSMEndpointsForConfig, map[string]any{"config": in.Name})
		out.add(ids...)
		out.Notes = append(out.Notes, notes...)
		return out, err
	})
}

// upsertLookup creates a lookup record or updates the properties that changed, under
// the lookup lock (the records' keys have no uniqueness constraint).
func (w smTx) upsertLookup(lock, get, create, update, key string, props map[string]any) error {
	if _, err := w.run(lock, "lock SageMaker lookups", map[string]any{}); err != nil {
		return err
	}
	recs, err := w.run(get, "look up "+key, map[string]any{"key": key})
	if err != nil {
		return err
	}
	if len(recs) == 0 {
		_, err := w.run(create, "record "+key, map[string]any{"key": key, "props": props})
		return err
	}
	have, err := nodeAt(recs[0], "r")
	if err != nil {
		return err
	}
	changed := map[string]any{}
	for p, v := range props {
		if !equalValues(smComparable(have.Props[p]), smComparable(v)) {
			changed[p] = v
		}
	}
	if len(changed) == 0 {
		return nil
	}
	_, err = w.run(update, "update "+key, map[string]any{"key": key, "props": changed})
	return err
}

// smComparable turns stored and given values into one form for comparison.
func smComparable(v any) any {
	switch x := v.(type) {
	case []float64:
		out := make([]any, len(x))
		for i, f := range x {
			out[i] = f
		}
		return out
	case []any:
		if len(x) == 0 {
			return nil
		}
	}
	return normalize(v)
}

// reapplyEndpoints brings the deployments of the endpoints cypher finds up to date.
func (w smTx) reapplyEndpoints(cypher string, params map[string]any) ([]string, []string, error) {
	recs, err := w.run(cypher, "endpoints to update", params)
	if err != nil {
		return nil, nil, err
	}
	var ids, notes []string
	for _, r := range recs {
		k, _ := r.Get("key")
		deployed, n, err := w.applyEndpoint(k.(string))
		if err != nil {
			return nil, nil, err
		}
		ids = append(append(ids, k.(string)), deployed...)
		notes = append(notes, n...)
	}
	return ids, notes, nil
}

// RecordSageMakerEndpoint records one report of an endpoint (a state change event, a
// deployment state change or a DescribeEndpoint response) in one transaction: the
// endpoint endpoint:<name>, its status and configuration, and — once it is in service —
// deployments of the model versions its configuration's variants resolve to, each with
// its traffic share (weight over the sum of weights). A configuration other than the
// one deployed ends the old deployments; a deleted endpoint ends all. A report older
// than the one recorded (by LastModifiedTime) changes nothing.
func (s *Store) RecordSageMakerEndpoint(ctx context.Context, actor string, in SageMakerEndpoint) (SageMakerRecord, error) {
	if err := checkText("endpointName", in.Name, MaxModelNameLength); err != nil {
		return SageMakerRecord{}, err
	}
	for field, v := range map[string]*string{"endpointArn": in.ARN, "endpointConfigName": in.Config, "endpointStatus": in.Status} {
		if err := checkOptText(field, v, MaxURILength); err != nil {
			return SageMakerRecord{}, err
		}
	}
	var names []string
	var weights []float64
	for i, v := range in.Variants {
		if v.Name == "" || v.Weight == nil || slices.Contains(names, v.Name) {
			continue
		}
		if err := checkText(fmt.Sprintf("productionVariants[%d].variantName", i), v.Name, MaxShortTextLength); err != nil {
			return SageMakerRecord{}, err
		}
		if w := *v.Weight; math.IsNaN(w) || math.IsInf(w, 0) || w < 0 {
			return SageMakerRecord{}, apperr.Invalid(fmt.Sprintf("productionVariants[%d].currentWeight", i), "must be a number of at least 0 (got %v)", w)
		}
		names, weights = append(names, v.Name), append(weights, *v.Weight)
	}
	var status string
	if in.Status != nil {
		status = smEndpointStatus(*in.Status)
	}
	key := EndpointKey(in.Name)
	return smAudited(ctx, s, actor, ActionSageMakerEndpoint, func(tx neo4j.ManagedTransaction) (SageMakerRecord, error) {
		w := smTx{ctx, tx, actor}
		var out SageMakerRecord
		endpoint := map[string]any{"key": key, "name": in.Name}
		for _, q := range []string{cypherLockEndpoint, cypherMergeEndpoint, cypherLockEndpoint} {
			if _, err := w.run(q, "record endpoint "+key, endpoint); err != nil {
				return SageMakerRecord{}, err
			}
		}
		e, err := nodeByKey(ctx, tx, "endpointName", key)
		if err != nil {
			return SageMakerRecord{}, err
		}
		out.add(key)
		props := map[string]any{}
		if in.ARN != nil {
			if have := e.OptString(propSMArn); have == nil {
				props[propSMArn] = *in.ARN
			} else if *have != *in.ARN {
				return SageMakerRecord{}, apperr.Conflicting("endpointArn", "endpoint %q was recorded with ARN %q; got %q", key, *have, *in.ARN)
			}
		}
		stale := false
		if have := e.OptTime(propSMModifiedAt); in.ModifiedAt != nil && have != nil && in.ModifiedAt.Before(*have) {
			stale = true
			out.note("report older than the one recorded (%s); endpoint left as it is", have.Format(time.RFC3339))
		}
		if !stale {
			if in.ModifiedAt != nil {
				if have := e.OptTime(propSMModifiedAt); have == nil || !have.Equal(*in.ModifiedAt) {
					props[propSMModifiedAt] = in.ModifiedAt.UTC()
				}
			}
			if status != "" && e.String(propSMStatus) != status {
				props[propSMStatus] = status
			}
			if in.Config != nil && e.String(propSMEndpointConfig) != *in.Config {
				props[propSMEndpointConfig] = *in.Config
			}
			if len(names) > 0 {
				if !equalValues(smComparable(e.Props[propSMVariantNames]), smComparable(names)) ||
					!equalValues(smComparable(e.Props[propSMVariantWeights]), smComparable(weights)) {
					props[propSMVariantNames], props[propSMVariantWeights] = names, weights
				}
			}
		}
		if len(props) > 0 {
			if _, err := w.run(cypherSMSetProps, "update endpoint "+key, map[string]any{"key": key, "props": props, "stamp": false}); err != nil {
				return SageMakerRecord{}, err
			}
		}
		deployed, notes, err := w.applyEndpoint(key)
		out.add(deployed...)
		out.Notes = append(out.Notes, notes...)
		return out, err
	})
}

// smEndpointStatus spells an EndpointStatus as DescribeEndpoint does.
func smEndpointStatus(s string) string {
	for _, st := range []string{"OutOfService", "Creating", "Updating", "SystemUpdating", "RollingBack",
		"InService", "Deleting", "Failed", "UpdateRollbackFailed", "Deleted"} {
		if smFold(st) == smFold(s) {
			return st
		}
	}
	return strings.TrimSpace(s)
}

// smDeployment is what a variant should serve.
type smDeployment struct {
	version string
	share   float64
}

// applyEndpoint makes the endpoint's deployments what its recorded state says: when it
// is in service, its configuration's variants (resolved to model versions) with their
// shares; when it is deleted, none; otherwise (creating, updating) what was deployed
// stays. It returns the model versions deployed and notes on variants not resolved.
func (w smTx) applyEndpoint(key string) (deployed, notes []string, err error) {
	if err := w.lock(key); err != nil {
		return nil, nil, err
	}
	e, err := nodeByKey(w.ctx, w.tx, "endpointName", key)
	if err != nil {
		return nil, nil, err
	}
	active, err := deploymentsOf(w.ctx, w.tx, key, nil)
	if err != nil {
		return nil, nil, err
	}
	// deployedConfig is the configuration the deployments will stand for: the one
	// resolved, or none (deleted, or serving a configuration not known yet).
	desired := map[string]smDeployment{}
	config := e.String(propSMEndpointConfig)
	deployedConfig := ""
	switch e.String(propSMStatus) {
	case "Deleting", "Deleted":
	case "InService":
		if config == "" {
			return nil, []string{"the endpoint names no endpoint configuration; deployments unchanged"}, nil
		}
		recs, err := w.run(cypherSMConfigRecord, "look up configuration "+config, map[string]any{"key": smConfigRecordKey(config)})
		if err != nil {
			return nil, nil, err
		}
		if len(recs) == 0 {
			notes = append(notes, fmt.Sprintf("endpoint configuration %q is not known yet (forward its DescribeEndpointConfig); deployments follow when it is", config))
			if len(active) == 0 || e.String(propSMDeployedConfig) == config {
				return nil, notes, nil
			}
			// The endpoint serves another configuration now: what served before does not.
			break
		}
		c, err := nodeAt(recs[0], "r")
		if err != nil {
			return nil, nil, err
		}
		if desired, notes, err = w.resolveVariants(e, c); err != nil {
			return nil, nil, err
		}
		deployedConfig = config
	default:
		// Creating, updating, rolling back: what served keeps serving until the
		// endpoint is in service again.
		return nil, nil, nil
	}
	params := map[string]any{"key": key}
	for _, d := range active {
		want, ok := desired[d.Variant]
		if ok && want.version == d.ModelVersion.Key && want.share == d.TrafficShare {
			delete(desired, d.Variant)
			deployed = append(deployed, d.ModelVersion.Key)
			continue
		}
		params["variant"] = d.Variant
		if _, err := w.run(cypherEndDeployments, "end deployments of "+key, params); err != nil {
			return nil, nil, err
		}
	}
	for _, v := range slices.Sorted(maps.Keys(desired)) {
		d := desired[v]
		if _, err := w.run(cypherCreateDeployment, "deploy "+d.version+" to "+key, map[string]any{
			"key": key, "modelVersion": d.version, "variant": v, "share": d.share,
		}); err != nil {
			return nil, nil, err
		}
		deployed = append(deployed, d.version)
	}
	if e.String(propSMDeployedConfig) != deployedConfig {
		var v any
		if deployedConfig != "" {
			v = deployedConfig
		}
		if _, err := w.run(cypherSMSetProps, "update endpoint "+key, map[string]any{"key": key, "props": map[string]any{propSMDeployedConfig: v}, "stamp": false}); err != nil {
			return nil, nil, err
		}
	}
	return deployed, notes, nil
}

const (
	cypherSMVersionsOfArtifacts = `
UNWIND $artifacts AS k
MATCH (:` + LabelNode + ` {key: k})-[:` + RelRegisteredAs + `]->(v:` + string(KindModelVersion) + `)
RETURN v.key AS key ORDER BY v.recordedAt DESC, v.version DESC LIMIT 1`

	cypherSMExistingKeys = `
UNWIND $keys AS k
MATCH (n:` + LabelNode + ` {key: k})
RETURN collect(n.key) AS keys`
)

// resolveVariants resolves the variants of configuration c to model versions, with
// traffic shares: a variant's weight (the endpoint's current weight when reported,
// else the configuration's) over the sum of all variants' weights. A SageMaker model
// resolves through its model package version, else through its model data: the newest
// version registered from it.
func (w smTx) resolveVariants(e, c Node) (map[string]smDeployment, []string, error) {
	names, models, weights := smStrings(c.Props[propSMVariantNamesCfg]), smStrings(c.Props[propSMVariantModels]), smFloats(c.Props[propSMVariantWeightsCfg])
	current := map[string]float64{}
	for i, n := range smStrings(e.Props[propSMVariantNames]) {
		if ws := smFloats(e.Props[propSMVariantWeights]); i < len(ws) {
			current[n] = ws[i]
		}
	}
	total := 0.0
	for i, n := range names {
		if wt, ok := current[n]; ok && i < len(weights) {
			weights[i] = wt
		}
		if i < len(weights) {
			total += weights[i]
		}
	}
	out := map[string]smDeployment{}
	var notes []string
	for i, n := range names {
		if i >= len(models) || i >= len(weights) {
			break
		}
		if weights[i] <= 0 || total <= 0 {
			notes = append(notes, fmt.Sprintf("variant %q has weight 0 and serves no traffic; not deployed", n))
			continue
		}
		version, err := w.resolveModel(models[i])
		if err != nil {
			return nil, nil, err
		}
		if version == "" {
			notes = append(notes, fmt.Sprintf("variant %q: SageMaker model %q does not resolve to a model version yet "+
				"(forward its DescribeModel and its model package); not deployed", n, models[i]))
			continue
		}
		out[n] = smDeployment{version: version, share: weights[i] / total}
	}
	return out, notes, nil
}

// resolveModel returns the model version a SageMaker model serves, or "".
func (w smTx) resolveModel(model string) (string, error) {
	recs, err := w.run(cypherSMModelRecord, "look up model "+model, map[string]any{"key": smModelRecordKey(model)})
	if err != nil || len(recs) == 0 {
		return "", err
	}
	m, err := nodeAt(recs[0], "r")
	if err != nil {
		return "", err
	}
	if versions := smStrings(m.Props[propSMPackageVersions]); len(versions) > 0 {
		recs, err := w.run(cypherSMExistingKeys, "look up versions of "+model, map[string]any{"keys": versions})
		if err != nil {
			return "", err
		}
		if found := smStrings(recs[0].Values[0]); len(found) > 0 {
			for _, v := range versions { // in container order
				if slices.Contains(found, v) {
					return v, nil
				}
			}
		}
	}
	var artifacts []string
	for _, u := range smStrings(m.Props[propSMModelDataURLs]) {
		artifacts = append(artifacts, ArtifactKey(u))
	}
	if len(artifacts) == 0 {
		return "", nil
	}
	recs, err = w.run(cypherSMVersionsOfArtifacts, "versions of the model data of "+model, map[string]any{"artifacts": artifacts})
	if err != nil || len(recs) == 0 {
		return "", err
	}
	v, _ := recs[0].Get("key")
	s, _ := v.(string)
	return s, nil
}

func smStrings(v any) []string {
	switch x := v.(type) {
	case []string:
		return slices.Clone(x)
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func smFloats(v any) []float64 {
	switch x := v.(type) {
	case []float64:
		return slices.Clone(x)
	case []any:
		out := make([]float64, 0, len(x))
		for _, e := range x {
			switch f := e.(type) {
			case float64:
				out = append(out, f)
			case int64:
				out = append(out, float64(f))
			}
		}
		return out
	}
	return nil
}

func smOptInt(v *int64) any {
	if v == nil {
		return nil
	}
	return *v
}

// transformModelMigration indexes transform jobs by the SageMaker model they ran, so a
// model described after its transform jobs finds them (RecordSageMakerModel), and the
// lookup records of models and endpoint configurations by key, which every job,
// endpoint and configuration event reads.
var transformModelMigration = Migration{
	Version:     7,
	Description: "SageMaker transform jobs by the model they ran; SageMaker model and endpoint configuration records by key; node IDs by a part of them",
	Statements: []string{
		`CREATE INDEX processing_job_sagemaker_model IF NOT EXISTS
		 FOR (j:` + string(KindProcessingJob) + `) ON (j.` + propSMModelName + `)`,
		`CREATE INDEX sagemaker_model_key IF NOT EXISTS
		 FOR (r:` + LabelSageMakerModel + `) ON (r.key)`,
		`CREATE INDEX sagemaker_endpoint_config_key IF NOT EXISTS
		 FOR (r:` + LabelSageMakerEndpointConfig + `) ON (r.key)`,
		// Searching IDs by a part of them (CONTAINS, ENDS WITH): the tests' snapshots of
		// what a request wrote, and operators looking for a node by a fragment of its ID.
		`CREATE TEXT INDEX node_key_text IF NOT EXISTS
		 FOR (n:` + LabelNode + `) ON (n.key)`,
	},
	Indexes: []string{"processing_job_sagemaker_model", "sagemaker_model_key", "sagemaker_endpoint_config_key", "node_key_text"},
}
