package store

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/provgraph/provgraph/apperr"
)

// JobReport is one report of a job that runs elsewhere (an event, or a description
// the system answered): a job reported many times. Its facts are fixed once — a
// different value later is a CONFLICT —, its status only moves forward, and what it
// read and wrote is only added. Fields a report lacks are nil or empty and leave what
// is recorded as it is.
type JobReport struct {
	// Kind is KindTrainingJob or KindProcessingJob.
	Kind      Kind
	Namespace string
	// Name is the job's name within Namespace; it has no '#' or '/'.
	Name  string
	Facts JobFacts
	// Progress is the reported status; its zero value reports none.
	Progress      JobProgress
	FailureReason *string
	StartedAt     *time.Time
	// EndedAt is kept once the job has ended, unless it lies before the start.
	EndedAt *time.Time
	// PipelineExecution and PipelineStep name the pipeline run and step that ran the job.
	PipelineExecution *string
	PipelineStep      *string
	// Reads and Writes are the locations the job read and wrote (normalized URIs);
	// Locations says which dataset versions they are.
	Reads     []JobLocation
	Writes    []JobLocation
	Locations LocationVersions
	// ModelArtifact is the URI of the model the job produced: an Artifact it PRODUCED.
	ModelArtifact *string
	// Run, when set, is the run the job executed in an experiment.
	Run *JobRun
}

// JobFacts are what a job was created with; they never change.
type JobFacts struct {
	// ExternalID is the job's ID in the system that ran it (an ARN).
	ExternalID *string
	// Subtype is the reporter's own kind of job (e.g. "transform" for a ProcessingJob).
	Subtype       string
	InstanceType  *string
	InstanceCount *int64
	Image         *string
	// HyperParameters are a training job's; they are also its run's parameters.
	HyperParameters []Param
	// ServingModel names the serving model (RecordServingModel) the job ran: its model
	// data are inputs of the job, now or once the serving model is recorded.
	ServingModel *string
}

// JobLocation is a location a job reads or writes.
type JobLocation struct {
	// URI is the location, normalized by the reporter: one location, one URI.
	URI string
	// Label is what the reporter calls it (a channel name), for messages.
	Label string
}

// LocationVersions names the dataset versions of locations without versions of their
// own (an object-store prefix): the location is the identity. A location is pinned
// by its first writer at version Pinned — whichever job reports it first, so the
// output of one job that another reads is one node even when reports arrive out of
// order —, and its first producer is its only producer: a later job that writes it
// again gets a version of its own, RewritePrefix + the job's name, and jobs recorded
// after that read the newest written version. A job keeps the version it read first
// across all its reports.
type LocationVersions struct {
	Pinned        string
	RewritePrefix string
}

// JobRun is the run a job executed in an experiment (as StartRun with ExecutedBy
// would): the experiment by name, created on first use with ExperimentDescription,
// the group as a run group, and a run EXECUTED_BY the job. A job executes one run:
// later reports find it, and move its status with the job's.
type JobRun struct {
	// ID is the run's ID, derived by the reporter from the job so that every report of
	// the job names the same run.
	ID                    string
	Experiment            string
	ExperimentDescription string
	Group                 string
	Name                  string
	Tags                  []Tag
}

// jobLocation is a checked location with the dataset it belongs to.
type jobLocation struct {
	field     string
	uri       string
	namespace string
	name      string
}

func (l jobLocation) datasetKey() string { return DatasetKey(l.namespace, l.name) }
func (l jobLocation) versionKey(version string) string {
	return DatasetVersionKey(l.namespace, l.name, version)
}

// row is the dataset-version row of the location at the version of key.
func (l jobLocation) row(key string) map[string]any {
	_, version, _ := cutLast(key, "#")
	return datasetVersionRef{namespace: l.namespace, name: l.name, uri: l.uri, version: version, versionID: version}.row()
}

// locateAll checks the locations of a list (field "reads" or "writes"), each location
// once.
func locateAll(list string, locs []JobLocation, v LocationVersions) ([]jobLocation, error) {
	out := make([]jobLocation, 0, len(locs))
	seen := map[string]bool{}
	for i, c := range locs {
		field := fmt.Sprintf("%s[%d]", list, i)
		if c.Label != "" {
			field = fmt.Sprintf("%s[%d] (%s)", list, i, truncateForMessage(c.Label))
		}
		l, err := locate(field, c.URI, v)
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

// locate checks a location and finds its dataset: a URI that names only a bucket or
// host is the dataset "/" of it.
func locate(field, uri string, v LocationVersions) (jobLocation, error) {
	if _, err := checkURI(field, uri); err != nil {
		return jobLocation{}, err
	}
	in := DatasetVersionInput{URI: uri}
	if i := strings.Index(uri, "://"); i > 0 && !strings.Contains(uri[i+3:], "/") {
		root := "/"
		in.Name = &root
	}
	namespace, name, err := datasetIdentity(in)
	if err != nil {
		return jobLocation{}, apperr.WithField(apperr.WithField(err, "uri", field), "name", field)
	}
	if key := DatasetVersionKey(namespace, name, v.RewritePrefix+strings.Repeat("x", 63)); len(key) > MaxIDLength {
		return jobLocation{}, apperr.Invalid(field, "makes an ID longer than %d bytes", MaxIDLength)
	}
	return jobLocation{field: field, uri: uri, namespace: namespace, name: name}, nil
}

// jobFact is a fact fixed when the job is created.
type jobFact struct {
	field, prop string
	value       any
}

// jobPlan is a report checked and translated into what the transaction writes; it is
// computed without the database.
type jobPlan struct {
	in       JobReport
	key      string
	create   map[string]any
	facts    []jobFact
	reads    []jobLocation
	writes   []jobLocation
	artifact map[string]any
	notes    []string
}

// planJob checks a report and plans what it records.
func planJob(in JobReport) (jobPlan, error) {
	p := jobPlan{in: in}
	if in.Kind != KindTrainingJob && in.Kind != KindProcessingJob {
		return p, apperr.Invalid("kind", "must be %s or %s (got %q)", KindTrainingJob, KindProcessingJob, in.Kind)
	}
	if err := checkText("namespace", in.Namespace, MaxNameLength); err != nil {
		return p, err
	}
	if err := checkText("name", in.Name, MaxNameLength); err != nil {
		return p, err
	}
	if strings.ContainsAny(in.Name, "#/") {
		return p, apperr.Invalid("name", "a reported job's name has no '#' or '/' (got %q)", truncateForMessage(in.Name))
	}
	p.key = JobKey(in.Namespace, in.Name)
	if len(p.key) > MaxIDLength {
		return p, apperr.Invalid("name", "makes an ID longer than %d bytes", MaxIDLength)
	}
	f := in.Facts
	if f.ServingModel != nil && in.Kind != KindProcessingJob {
		// Only processing jobs are found again when their serving model is recorded.
		return p, apperr.Invalid("servingModel", "only a processing job (a batch transform) runs a serving model, not a %s", in.Kind)
	}
	for field, v := range map[string]*string{"externalId": f.ExternalID, "instanceType": f.InstanceType, "image": f.Image,
		"servingModel": f.ServingModel, "pipelineExecution": in.PipelineExecution, "pipelineStep": in.PipelineStep} {
		if err := checkOptText(field, v, MaxURILength); err != nil {
			return p, err
		}
	}
	if err := checkText("subtype", f.Subtype, MaxShortTextLength); err != nil {
		return p, err
	}
	if err := checkDescription("failureReason", in.FailureReason); err != nil {
		return p, err
	}
	var hyper any
	if in.Kind == KindTrainingJob {
		var err error
		if hyper, err = encodeParams("hyperParameters", f.HyperParameters); err != nil {
			return p, err
		}
	}
	if len(in.Reads)+len(in.Writes) > 0 && (in.Locations.Pinned == "" || in.Locations.RewritePrefix == "") {
		return p, apperr.Invalid("locations", "must name the pinned version and the rewrite prefix of the locations the job read and wrote")
	}
	var err error
	if p.reads, err = locateAll("reads", in.Reads, in.Locations); err != nil {
		return p, err
	}
	if p.writes, err = locateAll("writes", in.Writes, in.Locations); err != nil {
		return p, err
	}
	if len(p.reads)+len(p.writes) > MaxJobInputs {
		return p, apperr.Invalid("reads", "a job may read and write at most %d locations (got %d)", MaxJobInputs, len(p.reads)+len(p.writes))
	}
	if in.ModelArtifact != nil && strings.TrimSpace(*in.ModelArtifact) != "" {
		if p.artifact, err = artifactProps(ArtifactInput{URI: *in.ModelArtifact}, "modelArtifact"); err != nil {
			return p, err
		}
	}
	if in.StartedAt != nil && in.EndedAt != nil && in.EndedAt.Before(*in.StartedAt) {
		p.in.EndedAt = nil
		p.notes = append(p.notes, "end time before start time ignored")
	}
	p.create = map[string]any{propKey: p.key, propKind: string(in.Kind), propName: in.Name, propNamespace: in.Namespace}
	p.facts = []jobFact{
		{"externalId", propExternalID, optValue(f.ExternalID)},
		{"subtype", propJobSubtype, f.Subtype},
		{"instanceType", propInstanceType, optValue(f.InstanceType)},
		{"instanceCount", propInstanceCount, optInt(f.InstanceCount)},
		{"image", propImage, optValue(f.Image)},
		{"hyperParameters", propHyperParameters, hyper},
		{"servingModel", propServingModel, optValue(f.ServingModel)},
	}
	return p, nil
}

// factUpdates returns the facts j lacks, or a CONFLICT for a fact recorded with
// another value: a report with another value is about another job.
func (p jobPlan) factUpdates(j Node) (map[string]any, error) {
	props := map[string]any{}
	for _, f := range p.facts {
		if f.value == nil {
			continue
		}
		have, ok := j.Props[f.prop]
		if !ok || have == nil {
			props[f.prop] = f.value
			continue
		}
		if !equalValues(normalize(have), normalize(f.value)) {
			return nil, apperr.Conflicting(f.field, "job %q was recorded with %s %s; got %s "+
				"(a job's configuration never changes; is this another job of the same name?)",
				p.key, f.prop, describe(normalize(have)), describe(normalize(f.value)))
		}
	}
	return props, nil
}

// progressUpdates returns what the report changes on j's status and times: the
// first-reported pipeline, failure reason and start, the status when it moves
// forward, and the end once the job has ended.
func (p jobPlan) progressUpdates(j Node) map[string]any {
	in := p.in
	props := map[string]any{}
	for prop, v := range map[string]*string{propFailureReason: in.FailureReason,
		propPipelineExecution: in.PipelineExecution, propPipelineStep: in.PipelineStep} {
		if v != nil && j.Props[prop] == nil {
			props[prop] = *v
		}
	}
	if in.StartedAt != nil && j.OptTime(propStartedAt) == nil {
		props[propStartedAt] = in.StartedAt.UTC()
	}
	haveStage := recordedJobStage(j)
	maps.Copy(props, advanceJob(j, in.Progress))
	if in.EndedAt != nil && j.OptTime(propEndedAt) == nil && (in.Progress.Stage == JobStageEnded || haveStage == JobStageEnded) {
		if start := j.OptTime(propStartedAt); start == nil || !in.EndedAt.Before(*start) {
			props[propEndedAt] = in.EndedAt.UTC()
		}
	}
	return props
}

// ioUpdates returns a job's or run's input and output lists with what it read and wrote
// added, where they change.
func ioUpdates(j Node, inKeys, outKeys []string) map[string]any {
	props := map[string]any{}
	for prop, add := range map[string][]string{propInputs: inKeys, propOutputs: outKeys} {
		have := stringsOf(j.Props[prop])
		all := slices.Compact(slices.Sorted(slices.Values(append(slices.Clone(have), add...))))
		if !slices.Equal(all, have) {
			props[prop] = all
		}
	}
	return props
}

// ReportJob records one report of a job in one transaction: the job node, the dataset
// versions it read (INPUT_TO) and wrote (PRODUCED), its model artifact (PRODUCED), the
// model data of the serving model it ran (INPUT_TO), and — with Run — the run it
// executed. Reports accumulate (see JobReport); a report equal to what is recorded
// changes nothing. The audit action keeps the value it had when only SageMaker reported
// jobs (the audit log is hash-chained).
func (s *Store) ReportJob(ctx context.Context, actor string, in JobReport) (ReportOutcome, error) {
	p, err := planJob(in)
	if err != nil {
		return ReportOutcome{}, err
	}
	return reportWrite(ctx, s, actor, ActionJobReport, func(w reportTx) (ReportOutcome, error) {
		out := ReportOutcome{Notes: slices.Clone(p.notes)}
		err := w.reportJob(p, &out)
		return out, err
	})
}

// reportJob runs the steps of a job report.
func (w reportTx) reportJob(p jobPlan, out *ReportOutcome) error {
	j, created, err := w.mergeReportedJob(p)
	if err != nil {
		return err
	}
	out.add(p.key)
	props, err := p.factUpdates(j)
	if err != nil {
		return err
	}
	maps.Copy(props, p.progressUpdates(j))

	recs, err := w.run(cypherJobNeighbours, "neighbours of "+p.key, map[string]any{"key": p.key})
	if err != nil {
		return err
	}
	haveIn, _ := recs[0].Get("inputs")
	haveOut, _ := recs[0].Get("outputs")
	inKeys, err := w.resolveReads(p.key, p.reads, byDataset(haveIn), p.in.Locations)
	if err != nil {
		return err
	}
	if m := p.in.Facts.ServingModel; m != nil {
		models, err := w.servingModelArtifacts(*m, out)
		if err != nil {
			return err
		}
		for _, k := range models {
			if !slices.Contains(inKeys, k) {
				inKeys = append(inKeys, k)
			}
		}
	}
	outKeys, err := w.resolveWrites(p.in.Name, p.key, p.reads, p.writes, byDataset(haveOut), p.in.Locations)
	if err != nil {
		return err
	}
	if p.artifact != nil {
		ak, err := w.recordModelArtifact(p.key, p.artifact, inKeys)
		if err != nil {
			return err
		}
		outKeys = append(outKeys, ak)
	}
	if err := w.linkJob(p.key, inKeys, outKeys); err != nil {
		return err
	}
	out.add(inKeys...)
	out.add(outKeys...)
	maps.Copy(props, ioUpdates(j, inKeys, outKeys))
	// The input and output lists only grow with the edges, which are never removed.
	if err := w.changeProps(p.key, "update job", props, !created, created, propInputs, propOutputs); err != nil {
		return err
	}
	if p.in.Run == nil {
		return nil
	}
	if j, err = nodeByKey(w.ctx, w.tx, "name", p.key); err != nil {
		return err
	}
	return w.reportRun(j, p.in.Run, p.in.Facts.HyperParameters, out)
}

// mergeReportedJob merges the job node, takes its lock and reads it; created says the
// report created it.
func (w reportTx) mergeReportedJob(p jobPlan) (Node, bool, error) {
	recs, err := w.run(mergeNodeQueries[p.in.Kind], "record job "+p.key, map[string]any{"key": p.key, "props": p.create})
	if err != nil {
		return Node{}, false, err
	}
	created, _ := recs[0].Get("created")
	if err := w.lock(p.key); err != nil {
		return Node{}, false, err
	}
	j, err := nodeByKey(w.ctx, w.tx, "name", p.key)
	if err != nil {
		return Node{}, false, err
	}
	if j.Kind != p.in.Kind {
		return Node{}, false, apperr.Conflicting("name", "%q is recorded as a %s, not a %s", p.key, j.Kind, p.in.Kind)
	}
	return j, created == true, nil
}

// recordModelArtifact records the model a job produced and returns its key: an
// artifact has one producer, and a job cannot read what it produces.
func (w reportTx) recordModelArtifact(job string, artifact map[string]any, inKeys []string) (string, error) {
	ak := artifact[propKey].(string)
	if slices.Contains(inKeys, ak) {
		return "", apperr.Invalid("modelArtifact", "%q is also an input of the job; a job cannot read what it produces", artifact[propURI])
	}
	recs, err := w.run(cypherMergeReportedArtifact, "record model artifact of "+job, map[string]any{"key": ak, "props": artifact})
	if err != nil {
		return "", err
	}
	for _, p := range stringsOf(recs[0].Values[1]) {
		if p != job {
			return "", apperr.Conflicting("modelArtifact", "artifact %q was already produced by %q; an artifact has one producer", ak, p)
		}
	}
	return ak, nil
}

const (
	cypherJobNeighbours = `
MATCH (j:` + LabelNode + ` {key: $key})
OPTIONAL MATCH (i:` + LabelNode + `)-[:` + RelInputTo + `]->(j)
WITH j, collect(i.key) AS inputs
OPTIONAL MATCH (j)-[:` + RelProduced + `]->(o:` + LabelNode + `)
RETURN inputs, collect(o.key) AS outputs`

	// The newest version of each dataset that a job other than $job produced.
	cypherNewestProduced = `
UNWIND $datasets AS dk
OPTIONAL MATCH (p:` + LabelNode + `)-[e:` + RelProduced + `]->(v:` + string(KindDatasetVersion) + `)-[:` + RelVersionOf + `]->(:` + LabelNode + ` {key: dk})
  WHERE p.key <> $job
WITH dk, v, e ORDER BY e.recordedAt DESC, v.key DESC
RETURN dk, head(collect(v.key)) AS version`

	// Merges datasets and versions (rows sorted by key) and returns each version's
	// producers.
	cypherMergeLocationVersions = mergeDatasetVersionRows + `
WITH v
OPTIONAL MATCH (p:` + LabelNode + `)-[:` + RelProduced + `]->(v)
RETURN v.key AS key, collect(p.key) AS producers`

	// Merges an artifact, write-locks it and returns its producers.
	cypherMergeReportedArtifact = `
MERGE (a:` + LabelNode + ` {key: $key})
  ON CREATE SET a:` + string(KindArtifact) + `, a += $props,
    a.recordedAt = datetime.transaction(), a.recordedBy = $actor
SET a._lock_ = true
REMOVE a._lock_
WITH a
OPTIONAL MATCH (p:` + LabelNode + `)-[:` + RelProduced + `]->(a)
RETURN a.kind AS kind, collect(p.key) AS producers`
)

// byDataset maps the dataset of each dataset-version key to the key (artifacts by
// their own key).
func byDataset(v any) map[string]string {
	out := map[string]string{}
	for _, k := range stringsOf(v) {
		if head, _, ok := cutLast(k, "#"); ok && strings.HasPrefix(k, prefixDatasetVersion) {
			out[prefixDataset+strings.TrimPrefix(head, prefixDatasetVersion)] = k
		} else {
			out[k] = k
		}
	}
	return out
}

// resolveReads gives each location the job read its node: the artifact recorded at
// that URI (a model read by an evaluation job), else the version the job read in an
// earlier report, else the newest version another job wrote, else the location's
// pinned version.
func (w reportTx) resolveReads(job string, reads []jobLocation, readBefore map[string]string, v LocationVersions) ([]string, error) {
	if len(reads) == 0 {
		return nil, nil
	}
	artifacts := make([]string, len(reads))
	for i, l := range reads {
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
	keys := make([]string, len(reads))
	var lookup []string
	for i, l := range reads {
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
		recs, err := w.run(cypherNewestProduced, "newest versions of inputs of "+job, map[string]any{"datasets": lookup, "job": job})
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
	for i, l := range reads {
		if keys[i] != "" {
			continue
		}
		// A location the job also writes (in place) resolves the same way: what the job
		// read is the location as it was; what it wrote is its own version.
		keys[i] = newest[l.datasetKey()]
		if keys[i] == "" {
			keys[i] = l.versionKey(v.Pinned)
		}
		rows = append(rows, l.row(keys[i]))
	}
	if _, err := w.mergeLocationVersions(rows); err != nil {
		return nil, err
	}
	return keys, nil
}

// resolveWrites gives each location the job wrote its version: the one it wrote in an
// earlier report, else the location's pinned version unless another job produced that
// already (or the job also reads the location), else RewritePrefix + the job's name.
func (w reportTx) resolveWrites(name, job string, reads, writes []jobLocation, wroteBefore map[string]string, v LocationVersions) ([]string, error) {
	if len(writes) == 0 {
		return nil, nil
	}
	keys := make([]string, len(writes))
	var rows []map[string]any
	for i, l := range writes {
		if k := wroteBefore[l.datasetKey()]; k != "" {
			keys[i] = k
			continue
		}
		keys[i] = l.versionKey(v.Pinned)
		for _, in := range reads {
			if in.uri == l.uri {
				keys[i] = l.versionKey(v.RewritePrefix + name)
			}
		}
		rows = append(rows, l.row(keys[i]))
	}
	producers, err := w.mergeLocationVersions(rows)
	if err != nil {
		return nil, err
	}
	var again []map[string]any
	for i, l := range writes {
		if p := producers[keys[i]]; len(p) > 0 && !slices.Contains(p, job) {
			keys[i] = l.versionKey(v.RewritePrefix + name)
			again = append(again, l.row(keys[i]))
		}
	}
	producers, err = w.mergeLocationVersions(again)
	if err != nil {
		return nil, err
	}
	for i := range writes {
		if p := producers[keys[i]]; len(p) > 0 && !slices.Contains(p, job) {
			return nil, apperr.Conflicting(writes[i].field, "%q was already produced by %q; a dataset version has one producer", keys[i], p[0])
		}
	}
	return keys, nil
}

// mergeLocationVersions merges dataset versions in key order and returns their
// producers.
func (w reportTx) mergeLocationVersions(rows []map[string]any) (map[string][]string, error) {
	out := map[string][]string{}
	if len(rows) == 0 {
		return out, nil
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i]["key"].(string) < rows[j]["key"].(string) })
	rows = slices.CompactFunc(rows, func(a, b map[string]any) bool { return a["key"] == b["key"] })
	recs, err := w.run(cypherMergeLocationVersions, "record dataset versions", map[string]any{"rows": rows})
	if err != nil {
		return nil, err
	}
	for _, r := range recs {
		k, _ := r.Get("key")
		out[k.(string)] = stringsOf(r.Values[1])
	}
	return out, nil
}

// linkJob links a job (whose lock the transaction holds) to what it read and wrote.
func (w reportTx) linkJob(job string, inputs, outputs []string) error {
	var io jobIO
	io.readAll(job, inputs)
	io.wroteAll(job, outputs)
	return linkJobIO(w.ctx, w.tx, w.actor, io)
}

const (
	cypherRunsOfJob = `
MATCH (r:` + string(KindRun) + `)-[:` + RelExecutedBy + `]->(:` + LabelNode + ` {key: $key})
RETURN r ORDER BY r.recordedAt, r.key LIMIT 1`

	cypherCreateRunOfJob = `
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

	cypherUpdateRunOfJob = `
MATCH (r:` + LabelNode + ` {key: $key})
WITH r, r {.status, .endTime} AS old
SET r.status = $status, r.endTime = coalesce(r.endTime, $endTime),
    r.updatedAt = datetime.transaction(), r.updatedBy = $actor
RETURN r, old`
)

// reportRun finds the run job j executed and moves its status with the job's, or
// creates it (see JobRun). The job's hyper-parameters are its parameters.
func (w reportTx) reportRun(j Node, cfg *JobRun, hyper []Param, out *ReportOutcome) error {
	recs, err := w.run(cypherRunsOfJob, "run of "+j.Key, map[string]any{"key": j.Key})
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
			recs, err := w.run(cypherUpdateRunOfJob, "update run "+r.Key, map[string]any{"key": r.Key, "status": string(status), "endTime": endTime})
			if err != nil {
				return err
			}
			old, r, err := changedNodeAt(recs[0], "r", "old")
			if err != nil {
				return err
			}
			w.au.changeNode(old, r, false, propStatus, propEndTime)
		}
		return w.logHyperParameters(r.Key, hyper, out)
	}
	if strings.TrimSpace(cfg.Experiment) == "" {
		out.note("the job's run names no experiment; no run recorded")
		return nil
	}
	e, err := w.experimentOfRun(cfg)
	if err != nil {
		return err
	}
	if Lifecycle(e.String(propLifecycle)) == LifecycleDeleted {
		out.note("experiment %q is deleted; no run recorded", truncateForMessage(cfg.Experiment))
		return nil
	}
	var group any
	if g := strings.TrimSpace(cfg.Group); g != "" {
		if err := checkText("run.group", g, MaxRunNameLength); err != nil {
			return err
		}
		gk := RunGroupKey(e.String(propExperimentID), g)
		if _, err := w.run(cypherCreateRunGroup, "record run group "+gk, map[string]any{
			"experiment": e.Key, "key": gk, "name": g, "description": nil,
		}); err != nil {
			return err
		}
		group = gk
	}
	if err := checkText("run.name", cfg.Name, MaxRunNameLength); err != nil {
		return err
	}
	if err := checkText("run.id", cfg.ID, MaxNameLength); err != nil {
		return err
	}
	tagKeys, tagValues, err := checkTags("run.tags", cfg.Tags)
	if err != nil {
		return err
	}
	recs, err = w.run(cypherCreateRunOfJob, "start run for "+j.Key, map[string]any{
		"experiment": e.Key, "job": j.Key, "key": RunKey(cfg.ID), "runId": cfg.ID, "name": cfg.Name,
		"status": string(status), "startTime": timeValue(j.OptTime(propStartedAt)), "endTime": endTime,
		"tagKeys": tagKeys, "tagValues": tagValues, "group": group,
	})
	if err != nil {
		return err
	}
	if len(recs) == 0 {
		return fmt.Errorf("start run for %q: experiment %q or job vanished", j.Key, e.Key)
	}
	out.add(RunKey(cfg.ID))
	return w.logHyperParameters(RunKey(cfg.ID), hyper, out)
}

// experimentOfRun finds the run's experiment by name, creating it on first use.
func (w reportTx) experimentOfRun(cfg *JobRun) (Node, error) {
	if err := checkText("run.experiment", cfg.Experiment, MaxExperimentNameLength); err != nil {
		return Node{}, err
	}
	recs, err := w.run(cypherExperimentByName, "look up experiment "+cfg.Experiment, map[string]any{"name": cfg.Experiment})
	if err != nil {
		return Node{}, err
	}
	if len(recs) > 0 {
		return nodeAt(recs[0], "e")
	}
	recs, err = w.run(cypherNextExperimentID, "next experiment id", map[string]any{})
	if err != nil {
		return Node{}, err
	}
	n, _ := recs[0].Get("id")
	id := strconv.FormatInt(n.(int64), 10)
	var desc any
	if cfg.ExperimentDescription != "" {
		desc = cfg.ExperimentDescription
	}
	recs, err = w.run(cypherCreateExperiment, "create experiment "+cfg.Experiment, map[string]any{
		"key": ExperimentKey(id), "id": id, "name": cfg.Experiment, "displayName": nil, "description": desc,
		"artifactLocation": nil, "tagKeys": nil, "tagValues": nil,
	})
	if err != nil {
		return Node{}, err
	}
	return nodeAt(recs[0], "e")
}

func (w reportTx) logHyperParameters(run string, hyper []Param, out *ReportOutcome) error {
	if len(hyper) == 0 {
		return nil
	}
	params, err := checkParams(hyper, MaxParamsPerCall)
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
