package store

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"

	"github.com/provgraph/provgraph/apperr"
)

// A pipeline batch: what a client that ran a pipeline records in one call — its dataset
// versions, processing and training jobs, model versions and deployments — in one
// transaction, all of it or nothing. Each element follows the rules of its single
// write (the plans and steps of datasets.go, jobs.go, processing.go, models.go and
// endpoints.go, and jobio.go's linking rule); the batch only changes how many
// statements carry them: dataset versions and jobs are written with one fixed-shape
// UNWIND statement per kind of change for the whole batch, so a batch of hundreds of
// jobs costs about ten round trips and one commit. Model versions (their numbers are
// handed out under the registered model's lock) and deployments (each sees the one
// before it on its endpoint) take the steps of their single writes, a few statements
// each, which is why a batch holds fewer of them.

// PipelineInput is what one RecordPipeline call records. The lists are recorded in
// this order, so an element may refer to what an earlier list records.
type PipelineInput struct {
	DatasetVersions []DatasetVersionInput
	ProcessingJobs  []ProcessingJobInput
	TrainingJobs    []TrainingJobInput
	ModelVersions   []ModelVersionInput
	Deployments     []PipelineDeployment
}

// PipelineDeployment is a deployment of a RecordPipeline call. Its model version is
// DeploymentInput.ModelVersion, or, when ModelVersionIndex is set instead, the model
// version ModelVersions[*ModelVersionIndex] of the same call.
type PipelineDeployment struct {
	DeploymentInput
	ModelVersionIndex *int
}

// Recorded is a node a write recorded, or found recorded with equal content.
type Recorded struct {
	Node    Node
	Created bool
}

// RecordedTrainingJob is a training job with its model artifact.
type RecordedTrainingJob struct {
	Job, Artifact Node
	Created       bool
}

// RecordedDeployment is what a deployment made (see DeployModelVersion).
type RecordedDeployment struct {
	Deployment Deployment
	Replaced   *Deployment
	Created    bool
}

// PipelineRecord is what RecordPipeline recorded, one entry per input element, in
// input order.
type PipelineRecord struct {
	DatasetVersions []Recorded
	ProcessingJobs  []Recorded
	TrainingJobs    []RecordedTrainingJob
	ModelVersions   []Recorded
	Deployments     []RecordedDeployment
}

// pipelinePlan is a checked PipelineInput.
type pipelinePlan struct {
	datasetVersions []datasetVersionPlan
	processingJobs  []processingJobPlan
	trainingJobs    []trainingJobPlan
	modelVersions   []modelVersionWrite
	deployments     []PipelineDeployment
}

// RecordPipeline records in's elements in one transaction: all of them, or — when one
// is refused — nothing. Every element follows the rules of its single write: an
// element recorded before with equal content is found (Created false), one with other
// content is a CONFLICT. A model version, which the single write always registers
// anew, is here identified by its model and source: the newest version registered
// from that source with equal content is found, one with other content is a CONFLICT.
// Errors name the element, e.g. "trainingJobs[3].inputs[0]".
func (s *Store) RecordPipeline(ctx context.Context, actor string, in PipelineInput) (PipelineRecord, error) {
	p, err := planPipeline(actor, in)
	if err != nil {
		return PipelineRecord{}, err
	}
	// The call appends one audit entry per element (audit.entry), each with the action
	// and targets of its single write, so the call has no action of its own.
	return write(ctx, s, actor, "", func(tx neo4j.ManagedTransaction, au *audit) (PipelineRecord, error) {
		return pipelineTx{ctx: ctx, tx: tx, actor: actor, au: au}.record(p)
	})
}

func elem(list string, i int) string { return fmt.Sprintf("%s[%d]", list, i) }

// atElement names the element at in err: its field prefixed, or at itself for a rule
// about the whole element.
func atElement(err error, at string) error {
	return apperr.WithField(apperr.WithFieldPrefix(err, at), "", at)
}

// planPipeline checks every element of in without touching the graph.
func planPipeline(actor string, in PipelineInput) (pipelinePlan, error) {
	total := len(in.DatasetVersions) + len(in.ProcessingJobs) + len(in.TrainingJobs) + len(in.ModelVersions) + len(in.Deployments)
	switch {
	case total == 0:
		return pipelinePlan{}, apperr.Invalid("", "give at least one element to record")
	case total > MaxPipelineObjects:
		return pipelinePlan{}, apperr.Invalid("", "holds %d elements; one call records at most %d", total, MaxPipelineObjects)
	case len(in.ModelVersions) > MaxPipelineModelVersions:
		return pipelinePlan{}, apperr.Invalid("modelVersions", "must hold at most %d model versions (got %d)", MaxPipelineModelVersions, len(in.ModelVersions))
	case len(in.Deployments) > MaxPipelineDeployments:
		return pipelinePlan{}, apperr.Invalid("deployments", "must hold at most %d deployments (got %d)", MaxPipelineDeployments, len(in.Deployments))
	}
	var p pipelinePlan
	keys := map[string]string{} // node key -> the element that records it
	claim := func(key, at string) error {
		if other, ok := keys[key]; ok {
			return apperr.Invalid("", "records %q, as %s does; give each element once", truncateForMessage(key), other)
		}
		keys[key] = at
		return nil
	}
	for i, dv := range in.DatasetVersions {
		plan, err := planDatasetVersion(dv)
		if err == nil {
			err = claim(plan.key, elem("datasetVersions", i))
		}
		if err != nil {
			return pipelinePlan{}, atElement(err, elem("datasetVersions", i))
		}
		p.datasetVersions = append(p.datasetVersions, plan)
	}
	if err := p.planJobs(in, claim); err != nil {
		return pipelinePlan{}, err
	}
	registered := map[[2]string]int{} // model and artifact -> the element registering it
	for i, mv := range in.ModelVersions {
		w, err := checkModelVersionInput(actor, mv)
		if err != nil {
			return pipelinePlan{}, apperr.WithFieldPrefix(err, elem("modelVersions", i))
		}
		// A version is identified here by its model and source (see registerModelVersions).
		id := [2]string{w.in.Model, w.artifactKey}
		if j, dup := registered[id]; dup {
			return pipelinePlan{}, apperr.Invalid(elem("modelVersions", i), "registers model %q from %q, as modelVersions[%d] does; give each element once",
				truncateForMessage(w.in.Model), truncateForMessage(w.in.Source), j)
		}
		registered[id] = i
		p.modelVersions = append(p.modelVersions, w)
	}
	for i, d := range in.Deployments {
		d, err := checkPipelineDeployment(d, len(in.ModelVersions))
		if err != nil {
			return pipelinePlan{}, apperr.WithFieldPrefix(err, elem("deployments", i))
		}
		p.deployments = append(p.deployments, d)
	}
	return p, nil
}

// planJobs checks the processing and training jobs: each job once, each output made by
// one job of the call.
func (p *pipelinePlan) planJobs(in PipelineInput, claim func(key, field string) error) error {
	outputs := map[string]string{} // output key -> the element that writes it
	// produce claims key for the element at, whose field names it.
	produce := func(key, at, field string) error {
		if other, ok := outputs[key]; ok {
			return apperr.Conflicting(field, "%q is also written by %s; a dataset version or artifact has one producer", truncateForMessage(key), other)
		}
		outputs[key] = at
		return nil
	}
	for i, j := range in.ProcessingJobs {
		at := elem("processingJobs", i)
		plan, err := planProcessingJob(j)
		if err == nil {
			err = claim(plan.key, at)
		}
		for k, o := range j.Outputs {
			if err == nil {
				err = produce(o, at, elem("outputs", k))
			}
		}
		if err != nil {
			return atElement(err, at)
		}
		p.processingJobs = append(p.processingJobs, plan)
	}
	for i, j := range in.TrainingJobs {
		at := elem("trainingJobs", i)
		plan, err := planTrainingJob(j)
		if err == nil {
			err = claim(plan.key, at)
		}
		if err == nil {
			err = produce(plan.artifactKey, at, "modelArtifact.uri")
		}
		if err != nil {
			return atElement(err, at)
		}
		p.trainingJobs = append(p.trainingJobs, plan)
	}
	return nil
}

// checkPipelineDeployment checks a deployment of a call with models model versions.
func checkPipelineDeployment(d PipelineDeployment, models int) (PipelineDeployment, error) {
	var err error
	switch {
	case d.ModelVersionIndex == nil && d.ModelVersion == "", d.ModelVersionIndex != nil && d.ModelVersion != "":
		return d, apperr.Invalid("modelVersion", "give exactly one of modelVersion and modelVersionIndex")
	case d.ModelVersionIndex != nil:
		if i := *d.ModelVersionIndex; i < 0 || i >= models {
			return d, apperr.Invalid("modelVersionIndex", "must be the position of one of this call's %d model versions (got %d)", models, i)
		}
		d.DeploymentInput, err = checkDeploymentTarget(d.DeploymentInput)
	default:
		d.DeploymentInput, err = checkDeploymentInput(d.DeploymentInput)
	}
	return d, err
}

// pipelineTx runs the steps of recording one pipeline batch inside its transaction.
type pipelineTx struct {
	ctx   context.Context
	tx    neo4j.ManagedTransaction
	actor string
	au    *audit
}

// audit adds the entry of one element: its single write's action and targets.
func (w pipelineTx) audit(action string, targets ...string) {
	var sub audit
	sub.target(targets...)
	w.au.entry(action, &sub)
}

// record writes the checked batch p, list after list.
func (w pipelineTx) record(p pipelinePlan) (PipelineRecord, error) {
	var out PipelineRecord
	nodes, created, err := registerDatasetVersions(w.ctx, w.tx, w.actor, p.datasetVersions, func(i int) string { return elem("datasetVersions", i) })
	if err != nil {
		return out, err
	}
	for i, plan := range p.datasetVersions {
		w.audit(ActionDatasetVersionRegister, plan.key, plan.datasetKey)
		out.DatasetVersions = append(out.DatasetVersions, Recorded{nodes[i], created[i]})
	}
	for _, j := range p.processingJobs {
		w.audit(ActionProcessingJobRecord, append(append([]string{j.key}, j.in.Inputs...), j.in.Outputs...)...)
	}
	for _, j := range p.trainingJobs {
		w.audit(ActionTrainingJobRecord, append([]string{j.key, j.artifactKey}, j.in.Inputs...)...)
	}
	if err := w.checkJobReferences(p); err != nil {
		return out, err
	}
	var io jobIO
	if out.ProcessingJobs, err = w.recordProcessingJobs(p.processingJobs, &io); err != nil {
		return out, err
	}
	if out.TrainingJobs, err = w.recordTrainingJobs(p.trainingJobs, &io); err != nil {
		return out, err
	}
	// Every edge's job was created here: the transaction holds its lock.
	if err := linkJobIO(w.ctx, w.tx, w.actor, io); err != nil {
		return out, err
	}
	if out.ModelVersions, err = w.registerModelVersions(p.modelVersions); err != nil {
		return out, err
	}
	for i, d := range p.deployments {
		if d.ModelVersionIndex != nil {
			d.ModelVersion = out.ModelVersions[*d.ModelVersionIndex].Node.Key
		}
		var sub audit
		res, err := deployTx(w.ctx, w.tx, w.actor, &sub, d.DeploymentInput)
		if err != nil {
			return out, apperr.WithFieldPrefix(err, elem("deployments", i))
		}
		w.au.entry(ActionModelVersionDeploy, &sub)
		out.Deployments = append(out.Deployments, RecordedDeployment{res.dep, res.replaced, res.created})
	}
	return out, nil
}

// checkJobReferences fails with NOT_FOUND naming the first input or output of a job
// that names no node, recorded before or by this call's dataset versions (which it
// need not look up: they were just recorded).
func (w pipelineTx) checkJobReferences(p pipelinePlan) error {
	recorded := make(map[string]bool, len(p.datasetVersions))
	for _, dv := range p.datasetVersions {
		recorded[dv.key] = true
	}
	var ids, fields []string
	add := func(at, list string, refs []string) {
		for k, id := range refs {
			if recorded[id] {
				continue
			}
			ids = append(ids, id)
			fields = append(fields, at+"."+elem(list, k))
		}
	}
	for i, j := range p.processingJobs {
		add(elem("processingJobs", i), "inputs", j.in.Inputs)
		add(elem("processingJobs", i), "outputs", j.in.Outputs)
	}
	for i, j := range p.trainingJobs {
		add(elem("trainingJobs", i), "inputs", j.in.Inputs)
	}
	return checkNodesExist(w.ctx, w.tx, ids, func(i int) string { return fields[i] })
}

// mergeNodeRowsQueries[kind] is mergeNodeQueries[kind] for many nodes: it creates a
// node of that kind from each row's props unless one with the row's key exists, and
// returns each as n, with the row's i and created telling which.
var mergeNodeRowsQueries = func() map[Kind]string {
	m := map[Kind]string{}
	for _, k := range Kinds {
		m[k] = `
UNWIND $rows AS row
MERGE (n:` + LabelNode + ` {key: row.key})
  ON CREATE SET n:` + string(k) + `, n += row.props,
    n.recordedAt = datetime.transaction(), n.recordedBy = $actor, n.` + createdFlag + ` = true
WITH row, n, coalesce(n.` + createdFlag + `, false) AS created
REMOVE n.` + createdFlag + `
RETURN row.i AS i, n, created`
	}
	return m
}()

// mergeRows merges one node of kind per key (rows sorted by key, so concurrent writers
// lock in one order) and returns the nodes and whether each was created, by index.
func (w pipelineTx) mergeRows(kind Kind, what string, keys []string, props []map[string]any) ([]Node, []bool, error) {
	if len(keys) == 0 {
		return nil, nil, nil
	}
	rows := make([]map[string]any, len(keys))
	for i, k := range keys {
		rows[i] = map[string]any{"i": i, "key": k, "props": props[i]}
	}
	slices.SortFunc(rows, func(a, b map[string]any) int { return strings.Compare(a["key"].(string), b["key"].(string)) })
	recs, err := collect(w.ctx, w.tx, mergeNodeRowsQueries[kind], map[string]any{"rows": rows, "actor": w.actor})
	if err != nil {
		return nil, nil, fmt.Errorf("record %s: %w", what, err)
	}
	if len(recs) != len(keys) {
		return nil, nil, fmt.Errorf("record %s: %d records for %d nodes", what, len(recs), len(keys))
	}
	nodes, created := make([]Node, len(keys)), make([]bool, len(keys))
	for _, rec := range recs {
		i, _ := rec.Get("i")
		n, err := nodeAt(rec, "n")
		if err != nil {
			return nil, nil, err
		}
		c, _ := rec.Get("created")
		nodes[i.(int64)], created[i.(int64)] = n, c == true
	}
	return nodes, created, nil
}

// cypherProducersOfRows finds, for each row (i, k, key), a job other than the row's
// that produced key, and returns the first such row.
const cypherProducersOfRows = `
UNWIND $rows AS row
MATCH (p:` + LabelNode + `)-[:` + RelProduced + `]->(:` + LabelNode + ` {key: row.key})
RETURN row.i AS i, row.k AS k, p.key AS producer ORDER BY i, k LIMIT 1`

// recordProcessingJobs merges the processing jobs and adds the edges of the new ones
// to io. A new job's output made by another job before is a CONFLICT.
func (w pipelineTx) recordProcessingJobs(plans []processingJobPlan, io *jobIO) ([]Recorded, error) {
	keys, props := make([]string, len(plans)), make([]map[string]any, len(plans))
	for i, p := range plans {
		keys[i], props[i] = p.key, p.props
	}
	nodes, created, err := w.mergeRows(KindProcessingJob, "processing jobs", keys, props)
	if err != nil {
		return nil, err
	}
	out := make([]Recorded, len(plans))
	var rows []map[string]any
	for i, p := range plans {
		out[i] = Recorded{nodes[i], created[i]}
		if !created[i] {
			if err := p.conflict(nodes[i]); err != nil {
				return nil, apperr.WithFieldPrefix(err, elem("processingJobs", i))
			}
			continue
		}
		for k, o := range p.in.Outputs {
			rows = append(rows, map[string]any{"i": i, "k": k, "key": o})
		}
		io.readAll(p.key, p.inputs)
		io.wroteAll(p.key, p.outputs)
	}
	if len(rows) == 0 {
		return out, nil
	}
	recs, err := collect(w.ctx, w.tx, cypherProducersOfRows, map[string]any{"rows": rows})
	if err != nil {
		return nil, fmt.Errorf("producers of processing job outputs: %w", err)
	}
	if len(recs) > 0 {
		i, _ := recs[0].Get("i")
		k, _ := recs[0].Get("k")
		prod, _ := recs[0].Get("producer")
		p := plans[i.(int64)]
		return nil, producedElsewhere(elem("processingJobs", int(i.(int64)))+"."+elem("outputs", int(k.(int64))), p.in.Outputs[k.(int64)], prod.(string))
	}
	return out, nil
}

// recordTrainingJobs merges the training jobs and their model artifacts and adds the
// edges of the new jobs to io. A new job's artifact recorded before is a CONFLICT; a
// repeated job's artifact must be as recorded.
func (w pipelineTx) recordTrainingJobs(plans []trainingJobPlan, io *jobIO) ([]RecordedTrainingJob, error) {
	keys, props := make([]string, len(plans)), make([]map[string]any, len(plans))
	akeys, aprops := make([]string, len(plans)), make([]map[string]any, len(plans))
	for i, p := range plans {
		keys[i], props[i] = p.key, p.props
		akeys[i], aprops[i] = p.artifactKey, p.artifactProps
	}
	jobs, created, err := w.mergeRows(KindTrainingJob, "training jobs", keys, props)
	if err != nil {
		return nil, err
	}
	for i, p := range plans {
		if !created[i] {
			if err := p.conflict(jobs[i]); err != nil {
				return nil, apperr.WithFieldPrefix(err, elem("trainingJobs", i))
			}
		}
	}
	artifacts, fresh, err := w.mergeRows(KindArtifact, "model artifacts", akeys, aprops)
	if err != nil {
		return nil, err
	}
	out := make([]RecordedTrainingJob, len(plans))
	for i, p := range plans {
		out[i] = RecordedTrainingJob{jobs[i], artifacts[i], created[i]}
		switch {
		case !created[i]:
			err = p.artifactConflict(artifacts[i])
		case !fresh[i]:
			err = artifactTaken("modelArtifact", artifacts[i])
		default:
			io.readAll(p.key, p.inputs)
			io.wrote(p.key, p.artifactKey)
		}
		if err != nil {
			return nil, apperr.WithFieldPrefix(err, elem("trainingJobs", i))
		}
	}
	return out, nil
}

// cypherNewestVersionsFrom finds, for each row (i, artifactKey, modelKey), the newest
// version of the model registered from the artifact, or null.
const cypherNewestVersionsFrom = `
UNWIND $rows AS row
OPTIONAL MATCH (:` + LabelNode + ` {key: row.artifactKey})-[:` + RelRegisteredAs + `]->(v:` + LabelNode + `)
  -[:` + RelVersionOf + `]->(:` + LabelNode + ` {key: row.modelKey})
WITH row, v ORDER BY v.version DESC
WITH row, collect(v) AS vs
RETURN row.i AS i, vs[0] AS v`

// registerModelVersions finds the versions registered before from the same source with
// equal content and registers the others, each as RegisterModelVersion does.
func (w pipelineTx) registerModelVersions(plans []modelVersionWrite) ([]Recorded, error) {
	if len(plans) == 0 {
		return nil, nil
	}
	rows := make([]map[string]any, len(plans))
	for i, p := range plans {
		rows[i] = map[string]any{"i": i, "artifactKey": p.artifactKey, "modelKey": p.params["modelKey"]}
	}
	recs, err := collect(w.ctx, w.tx, cypherNewestVersionsFrom, map[string]any{"rows": rows})
	if err != nil {
		return nil, fmt.Errorf("look up model versions: %w", err)
	}
	found := make([]*Node, len(plans))
	for _, rec := range recs {
		i, _ := rec.Get("i")
		if v, _ := rec.Get("v"); v != nil {
			n, err := nodeAt(rec, "v")
			if err != nil {
				return nil, err
			}
			found[i.(int64)] = &n
		}
	}
	out := make([]Recorded, len(plans))
	for i, p := range plans {
		if found[i] != nil {
			w.audit(ActionModelVersionRegister, RegisteredModelKey(p.in.Model), found[i].Key, p.artifactKey)
			out[i] = Recorded{*found[i], false}
			if err := p.conflict(*found[i]); err != nil {
				return nil, apperr.WithFieldPrefix(err, elem("modelVersions", i))
			}
			continue
		}
		var sub audit
		v, err := registerModelVersionTx(w.ctx, w.tx, w.actor, &sub, p)
		if err != nil {
			return nil, apperr.WithFieldPrefix(err, elem("modelVersions", i))
		}
		w.au.entry(ActionModelVersionRegister, &sub)
		out[i] = Recorded{v, true}
	}
	return out, nil
}
