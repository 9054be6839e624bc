package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"

	"github.com/provgraph/provgraph/apperr"
)

// Lineage reports: sources that watch jobs run elsewhere (a scheduler, a Spark
// cluster, a dbt project) report them many times — a run started, running, completed;
// a job reads and writes these datasets; a dataset version has this schema — and the
// reports become the same graph the other surfaces write, Marquez-style:
//
//   - a job is a ProcessingJob node job:<namespace>:<name>; every run of it adds its
//     inputs and outputs to that node, so lineage from a job or a dataset works across
//     runs;
//   - a dataset is a Dataset node with DatasetVersion nodes; inputs are INPUT_TO the job,
//     the job PRODUCED its outputs;
//   - a run is a tracking Run run:<run id> in the experiment the caller names,
//     EXECUTED_BY its job and CHILD_OF its parent run.
//
// Reports may arrive twice, concurrently and out of order. Every write is a merge that a
// repeat leaves unchanged: nodes and edges are merged on their keys, facets are only
// ever added (a facet once recorded under a name keeps its first value, as recorded
// facts are immutable), a run's state follows the rules of runReportState. Each
// transaction first locks what it merges into — jobs, then runs, then dataset versions,
// each in key order — so concurrent reports serialise on shared nodes without
// deadlocking on one another.

// LineageReport is one report of a batch: exactly one field is set.
type LineageReport struct {
	Run     *RunReport
	JobIO   *JobIOReport
	Dataset *DatasetReport
}

// RunReport is one report on a run of a job, one of the many a run gets: its job, the
// status it reports, the datasets it read and wrote, and the facts (facets) it adds.
type RunReport struct {
	// RunID is the run's id: 32 lowercase hexadecimal digits (the node run:<RunID>).
	RunID string
	// Status is the status the report gives the run; "" says nothing about it.
	Status RunStatus
	// Start says the report is the run's start: At is then its start time.
	Start bool
	// At is when what the report says happened.
	At time.Time
	// Job is the job the run is a run of.
	Job ReportedJob
	// Facets are facts about the run, by name, as decoded JSON values.
	Facets map[string]any
	// Parent, when set, nests the run in that run.
	Parent  *ReportedParent
	Inputs  []ReportedDataset
	Outputs []ReportedDataset
}

// JobIOReport says what a job reads and writes, without a run.
type JobIOReport struct {
	At      time.Time
	Job     ReportedJob
	Inputs  []ReportedDataset
	Outputs []ReportedDataset
}

// DatasetReport adds metadata (facets) to a version of a dataset.
type DatasetReport struct {
	At      time.Time
	Dataset ReportedDataset
}

// ReportedJob is the job of a report: its namespace, name and facets.
type ReportedJob struct {
	Namespace string
	Name      string
	// Facets are facts about the job, by name, as decoded JSON values.
	Facets map[string]any
}

// ReportedParent is the run a reported run is nested in, and the parent's job.
type ReportedParent struct {
	RunID        string
	JobNamespace string
	JobName      string
}

// ReportedDataset is a dataset a report names: which one, where it lives, which
// version when the source pins one, and the facts the report adds.
type ReportedDataset struct {
	Namespace string
	Name      string
	// URI is where the dataset lives, as the source names it.
	URI string
	// Version is the version the source pins (also kept as the version's versionId),
	// or "" for the store to resolve (see ReportLineage).
	Version string
	// Facets are facts about the dataset version, by name, as decoded JSON values.
	Facets map[string]any
	// RunFacets say how the run used the dataset (input or output statistics, say):
	// they are kept on the run, by dataset version.
	RunFacets map[string]any
}

// LineageRecord says which nodes a report was recorded on.
type LineageRecord struct {
	// Run is the run's ID, and Parent its parent run's, for a RunReport.
	Run    string
	Parent string
	// Job is the job's ID, for a RunReport or JobIOReport.
	Job string
	// Inputs and Outputs are the dataset versions read and written, in report order.
	Inputs  []string
	Outputs []string
	// Version is the dataset version a DatasetReport described.
	Version string
}

const (
	// Unversioned is the version of a dataset read before any version of it was
	// recorded, when the report pins none: a version nobody pinned.
	Unversioned = "unversioned"
	// runVersionPrefix starts the version a run writes when the report pins none:
	// run:<run id>.
	runVersionPrefix = "run:"
)

// Properties lineage reports keep beyond the common ones. Their names are those the
// graphs recorded since OpenLineage ingest began carry.
const (
	// propFacets is a JSON object of facets by name, on jobs, runs and dataset versions.
	propFacets = "facets"
	// propStartReported is true on a run once a report of its start set its startTime;
	// until then startTime is the earliest report time seen.
	propStartReported = "startEventSeen"
	// propJobFacets are the job's facets as this run's reports gave them (a job's facets
	// change from run to run: code location, SQL).
	propJobFacets = "jobFacets"
	// propInputFacets and propOutputFacets are a JSON object of the facets this run gave
	// each dataset version it read (wrote), by version ID.
	propInputFacets  = "inputFacets"
	propOutputFacets = "outputFacets"
	propUpdatedAt    = "updatedAt"
	// propRecordedSeq is, on a dataset version, the position in its transaction's batch
	// of the report that recorded it; propRecordedAsOutput says whether that report
	// wrote it (else it read it). With recordedAt they order versions newest first, as
	// if each report had been recorded alone.
	propRecordedSeq      = "recordedSeq"
	propRecordedAsOutput = "recordedAsOutput"
	propUpdatedBy        = "updatedBy"
)

// reportedDataset is a checked dataset of a report.
type reportedDataset struct {
	field     string // e.g. "inputs[2]"
	namespace string
	name      string
	uri       string
	key       string // the dataset's ID
	pinned    string // the version the report pins, or ""
	facets    map[string]any
	runFacets map[string]any
}

// resolvedVersion is a dataset version a report records, with its version resolved.
type resolvedVersion struct {
	reportedDataset
	version string
}

func (v resolvedVersion) ref() datasetVersionRef {
	return datasetVersionRef{namespace: v.namespace, name: v.name, uri: v.uri, version: v.version, versionID: v.pinned}
}

func (v resolvedVersion) versionKey() string { return v.ref().key() }

func checkReportedJob(field string, j ReportedJob) (string, error) {
	if err := checkText(field+".namespace", j.Namespace, MaxNamespaceLength); err != nil {
		return "", err
	}
	if err := checkText(field+".name", j.Name, MaxNameLength); err != nil {
		return "", err
	}
	key := JobKey(j.Namespace, j.Name)
	if len(key) > MaxIDLength {
		return "", apperr.Invalid(field+".name", "namespace and name make an ID of %d bytes; IDs may have at most %d", len(key), MaxIDLength)
	}
	return key, nil
}

func checkReportedDatasets(list string, ds []ReportedDataset) ([]reportedDataset, error) {
	if len(ds) > MaxJobInputs {
		return nil, apperr.Invalid(list, "must list at most %d datasets (got %d)", MaxJobInputs, len(ds))
	}
	out := make([]reportedDataset, 0, len(ds))
	for i, d := range ds {
		v, err := checkReportedDataset(fmt.Sprintf("%s[%d]", list, i), d)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func checkReportedDataset(field string, d ReportedDataset) (reportedDataset, error) {
	if err := checkText(field+".namespace", d.Namespace, MaxNamespaceLength); err != nil {
		return reportedDataset{}, err
	}
	if err := checkText(field+".name", d.Name, MaxNameLength); err != nil {
		return reportedDataset{}, err
	}
	if err := checkOptText(field+".uri", &d.URI, MaxURILength); err != nil {
		return reportedDataset{}, err
	}
	if d.Version != "" {
		if err := checkText(field+".version", d.Version, MaxDigestLength); err != nil {
			return reportedDataset{}, err
		}
		if strings.Contains(d.Version, "#") {
			return reportedDataset{}, apperr.Invalid(field+".version", "must not contain '#', which separates the version in IDs")
		}
	}
	// The longest version provgraph makes is run:<32 hex digits>.
	longest := max(len(d.Version), len(runVersionPrefix)+32, len(Unversioned))
	if n := len(DatasetVersionKey(d.Namespace, d.Name, "")) + longest; n > MaxIDLength {
		return reportedDataset{}, apperr.Invalid(field+".name", "namespace, name and version make an ID of %d bytes; IDs may have at most %d", n, MaxIDLength)
	}
	if err := checkFacets(field+".facets", d.Facets); err != nil {
		return reportedDataset{}, err
	}
	if err := checkFacets(field+".runFacets", d.RunFacets); err != nil {
		return reportedDataset{}, err
	}
	return reportedDataset{
		field: field, namespace: d.Namespace, name: d.Name, uri: d.URI, key: DatasetKey(d.Namespace, d.Name),
		pinned: d.Version, facets: d.Facets, runFacets: d.RunFacets,
	}, nil
}

// checkFacets checks that facets can be stored as JSON.
func checkFacets(field string, facets map[string]any) error {
	for name, v := range facets {
		if !utf8.ValidString(name) {
			return apperr.Invalid(field, "facet names must be valid UTF-8")
		}
		if _, err := json.Marshal(v); err != nil {
			return apperr.Invalid(field+"."+name, "must be JSON: %v", err)
		}
	}
	return nil
}

func checkReportTime(t time.Time) error {
	if t.IsZero() {
		return apperr.Invalid("at", "is required: when what the report says happened")
	}
	return nil
}

// reportExperiments caches the experiment each store records reported runs in, by
// name: it is created once and never erased.
var reportExperiments sync.Map // reportExperimentKey → Node

type reportExperimentKey struct {
	store *Store
	name  string
}

// reportExperiment returns the experiment reported runs go to, creating it on first
// use. Concurrent first uses race to create it; the losers find the winner's.
func (s *Store) reportExperiment(ctx context.Context, actor string, in ExperimentInput) (Node, error) {
	cacheKey := reportExperimentKey{s, in.Name}
	if e, ok := reportExperiments.Load(cacheKey); ok {
		return e.(Node), nil
	}
	e, err := s.ExperimentByName(ctx, "experiment", in.Name)
	if apperr.CodeOf(err) == apperr.NotFound {
		e, err = s.CreateExperiment(ctx, actor, in)
		if apperr.CodeOf(err) == apperr.Conflict || isConstraintViolation(err) {
			e, err = s.ExperimentByName(ctx, "experiment", in.Name)
		}
	}
	if err != nil {
		return Node{}, fmt.Errorf("experiment %q for reported runs: %w", in.Name, err)
	}
	reportExperiments.Store(cacheKey, e)
	return e, nil
}

// errExperimentGone says the cached experiment no longer exists (the graph was
// changed outside provgraph); the next report looks it up again.
var errExperimentGone = errors.New("the experiment is missing")

const (
	// cypherReportMergeJobs merges job nodes (rows sorted by key) and write-locks those whose
	// facets the reports add to (row.lock), so that facet updates of a job are serialised.
	// A node this transaction created is locked already.
	cypherReportMergeJobs = `
UNWIND $rows AS row
MERGE (j:` + LabelNode + ` {key: row.key})
  ON CREATE SET j:` + string(KindProcessingJob) + `, j.kind = '` + string(KindProcessingJob) + `',
    j.name = row.name, j.namespace = row.namespace,
    j.recordedAt = datetime.transaction(), j.recordedBy = $actor, j.` + createdFlag + ` = true
WITH j, row, j.` + createdFlag + ` IS NOT NULL AS created
// Only a node created here is written to: touching an existing one would lock it.
FOREACH (_ IN CASE WHEN created THEN [1] ELSE [] END | REMOVE j.` + createdFlag + `)
FOREACH (_ IN CASE WHEN row.lock AND NOT created THEN [1] ELSE [] END | SET j._lock_ = true REMOVE j._lock_)
RETURN j.key AS key, j.facets AS facets, created`

	// cypherReportMergeRuns merges runs (rows sorted by key) into the experiment, write-locks
	// each (a created one is locked already) and returns them with the jobs that executed them and their parents.
	cypherReportMergeRuns = `
MATCH (e:` + LabelNode + ` {key: $experiment})
UNWIND $rows AS row
MERGE (r:` + LabelNode + ` {key: row.key})
  ON CREATE SET r:` + string(KindRun) + `, r.kind = '` + string(KindRun) + `', r.name = row.name,
    r.runId = row.runId, r.experimentId = e.experimentId, r.status = '` + string(RunRunning) + `',
    r.startTime = row.startTime, r.lifecycle = '` + string(LifecycleActive) + `',
    r.recordedAt = datetime.transaction(), r.recordedBy = $actor, r.` + createdFlag + ` = true
WITH e, r, r.` + createdFlag + ` IS NOT NULL AS created
// Only a node created here is written to: touching an existing one would lock it.
FOREACH (_ IN CASE WHEN created THEN [1] ELSE [] END | REMOVE r.` + createdFlag + `)
FOREACH (_ IN CASE WHEN created THEN [] ELSE [1] END | SET r._lock_ = true REMOVE r._lock_)
FOREACH (_ IN CASE WHEN created THEN [1] ELSE [] END | CREATE (r)-[:` + RelInExperiment + `]->(e))
WITH r, created
OPTIONAL MATCH (r)-[:` + RelExecutedBy + `]->(j:` + LabelNode + `)
WITH r, created, collect(j.key) AS executors
OPTIONAL MATCH (r)-[:` + RelChildOf + `]->(p:` + LabelNode + `)
RETURN r, created, executors, collect(p.key) AS parents`

	// cypherNewestVersions returns, for each dataset, its two newest recorded versions
	// other than "unversioned" (which stands for an unknown version): newest by
	// recordedAt, then by the position of the recording report in its transaction's
	// batch, then a version recorded as an output before one recorded as an input
	// (by one report that read a dataset and wrote it), then by ID. Versions recorded
	// before these properties existed count as outputs when something produced them.
	// Two, because a run's lookups leave out the run's own output.
	cypherNewestVersions = `
UNWIND $datasets AS dk
OPTIONAL MATCH (v:` + string(KindDatasetVersion) + `)-[:` + RelVersionOf + `]->(:` + LabelNode + ` {key: dk})
  WHERE v.version <> $unversioned
WITH dk, v ORDER BY v.recordedAt DESC, coalesce(v.` + propRecordedSeq + `, 0) DESC,
  coalesce(v.` + propRecordedAsOutput + `, EXISTS { (:` + LabelNode + `)-[:` + RelProduced + `]->(v) }) DESC, v.key DESC
RETURN dk, collect(v.version)[..2] AS versions`

	// cypherFoundKeys returns which of the keys are recorded nodes.
	cypherFoundKeys = `
UNWIND $keys AS k
MATCH (n:` + LabelNode + ` {key: k})
RETURN collect(n.key) AS found`

	// cypherReportMergeVersions merges datasets and dataset versions (rows sorted by version
	// ID) and returns each version's facets.
	cypherReportMergeVersions = mergeDatasetVersionRows + `
RETURN v.key AS key, v.facets AS facets, created`

	// cypherAddFacets stores merged facets; a node created in this transaction gets no
	// update stamp.
	cypherAddFacets = `
UNWIND $rows AS row
MATCH (n:` + LabelNode + ` {key: row.key})
SET n.` + propFacets + ` = row.facets,
    n.` + propUpdatedAt + ` = CASE WHEN row.created THEN n.` + propUpdatedAt + ` ELSE datetime.transaction() END,
    n.` + propUpdatedBy + ` = CASE WHEN row.created THEN n.` + propUpdatedBy + ` ELSE $actor END`

	// cypherReportRunEdges records the jobs that executed runs and the runs' parents.
	cypherReportRunEdges = `
UNWIND $executedBy AS pair
MATCH (r:` + LabelNode + ` {key: pair[0]}), (j:` + LabelNode + ` {key: pair[1]})
MERGE (r)-[e:` + RelExecutedBy + `]->(j)
  ON CREATE SET e.recordedAt = datetime.transaction(), e.recordedBy = $actor
WITH count(*) AS _
UNWIND $childOf AS pair
MATCH (r:` + LabelNode + ` {key: pair[0]}), (p:` + LabelNode + ` {key: pair[1]})
MERGE (r)-[e:` + RelChildOf + `]->(p)
  ON CREATE SET e.recordedAt = datetime.transaction(), e.recordedBy = $actor`

	// cypherReportUpdateRuns sets what reports changed on runs; a run created in this
	// transaction gets no update stamp. It returns the runs recorded before with their
	// properties as they were, for the audit entry's changes.
	cypherReportUpdateRuns = `
UNWIND $rows AS row
MATCH (r:` + LabelNode + ` {key: row.key})
WITH r, row, CASE WHEN row.created THEN null ELSE r {.status, .endTime, .startTime} END AS old
SET r += row.props,
    r.` + propUpdatedAt + ` = CASE WHEN row.created THEN r.` + propUpdatedAt + ` ELSE datetime.transaction() END,
    r.` + propUpdatedBy + ` = CASE WHEN row.created THEN r.` + propUpdatedBy + ` ELSE $actor END
WITH row, old WHERE old IS NOT NULL
RETURN row.key AS key, old`
)

type jobRow struct{ key, namespace, name string }

// mergeJobs merges jobs in key order, locking those in lock, and returns their stored
// facets.
func (w reportTx) mergeJobs(jobs []jobRow, lock map[string]bool) (map[string]storedFacets, error) {
	sort.Slice(jobs, func(i, j int) bool { return jobs[i].key < jobs[j].key })
	rows := make([]map[string]any, len(jobs))
	for i, j := range jobs {
		rows[i] = map[string]any{"key": j.key, "namespace": j.namespace, "name": j.name, "lock": lock[j.key]}
	}
	recs, err := collect(w.ctx, w.tx, cypherReportMergeJobs, map[string]any{"rows": rows, "actor": w.actor})
	if err != nil {
		return nil, fmt.Errorf("record reported jobs: %w", err)
	}
	return facetsByKey(recs), nil
}

type runRow struct {
	key, runID, name string
	// startTime, when set, is a placeholder's start: the time of the report naming it.
	startTime time.Time
}

type mergedRun struct {
	node      Node
	created   bool
	executors []string
	parents   []string
}

// mergeRuns merges and locks runs in key order.
func (w reportTx) mergeRuns(experiment string, runs []runRow) (map[string]mergedRun, error) {
	sort.Slice(runs, func(i, j int) bool { return runs[i].key < runs[j].key })
	rows := make([]map[string]any, len(runs))
	for i, r := range runs {
		var start any
		if !r.startTime.IsZero() {
			start = r.startTime
		}
		rows[i] = map[string]any{"key": r.key, "runId": r.runID, "name": r.name, "startTime": start}
	}
	recs, err := collect(w.ctx, w.tx, cypherReportMergeRuns, map[string]any{"experiment": experiment, "rows": rows, "actor": w.actor})
	if err != nil {
		return nil, fmt.Errorf("record reported runs: %w", err)
	}
	if len(recs) != len(runs) {
		return nil, fmt.Errorf("record reported runs in %q: %w", experiment, errExperimentGone)
	}
	out := make(map[string]mergedRun, len(recs))
	for _, rec := range recs {
		n, err := nodeAt(rec, "r")
		if err != nil {
			return nil, err
		}
		created, _ := rec.Get("created")
		executors, _ := rec.Get("executors")
		parents, _ := rec.Get("parents")
		out[n.Key] = mergedRun{node: n, created: created == true, executors: stringsOf(executors), parents: stringsOf(parents)}
	}
	return out, nil
}

// storedFacets is a node's facets property as read under its lock, and whether the
// node was created by this transaction.
type storedFacets struct {
	json    any
	created bool
}

type facetUpdate struct {
	key    string
	stored storedFacets
	add    map[string]any
}

func facetsByKey(recs []*neo4j.Record) map[string]storedFacets {
	out := make(map[string]storedFacets, len(recs))
	for _, r := range recs {
		k, _ := r.Get("key")
		f, _ := r.Get("facets")
		c, _ := r.Get("created")
		out[k.(string)] = storedFacets{json: f, created: c == true}
	}
	return out
}

// setFacets adds facets to nodes (several updates of one node apply in order) and
// writes the nodes whose facets changed.
func (w reportTx) setFacets(updates []facetUpdate) error {
	type node struct {
		facets           any
		created, changed bool
	}
	nodes := map[string]*node{}
	var order []string
	for _, u := range updates {
		n := nodes[u.key]
		if n == nil {
			n = &node{facets: u.stored.json, created: u.stored.created}
			nodes[u.key] = n
			order = append(order, u.key)
		}
		merged, changed, err := mergeFacets(n.facets, u.add)
		if err != nil {
			return err
		}
		if changed {
			n.facets, n.changed = merged, true
		}
	}
	var rows []map[string]any
	for _, k := range order {
		if n := nodes[k]; n.changed {
			rows = append(rows, map[string]any{"key": k, "facets": n.facets, "created": n.created})
		}
	}
	if len(rows) == 0 {
		return nil
	}
	_, err := w.run(cypherAddFacets, "record reported facets", map[string]any{"rows": rows})
	return err
}

// mergeFacets adds to current (a stored JSON object, or nil) the facets it lacks. A
// facet once recorded keeps its value: recorded facts are immutable, and a repeated or
// late report must not change what an auditor saw. It returns the merged JSON and
// whether it differs from current.
func mergeFacets(current any, add map[string]any) (string, bool, error) {
	cur, have, err := decodeFacets(current)
	if err != nil {
		return "", false, err
	}
	changed := false
	for name, v := range add {
		if _, ok := have[name]; ok {
			continue
		}
		b, err := json.Marshal(v)
		if err != nil {
			return "", false, apperr.Invalid("facets."+name, "must be JSON: %v", err)
		}
		have[name] = b
		changed = true
	}
	return encodeFacets(cur, have, changed)
}

// mergeNestedFacets is mergeFacets for a JSON object of facet objects by key (the
// input or output facets of each dataset version).
func mergeNestedFacets(current any, add map[string]map[string]any) (string, bool, error) {
	cur, have, err := decodeFacets(current)
	if err != nil {
		return "", false, err
	}
	changed := false
	for k, facets := range add {
		var inner any
		if raw, ok := have[k]; ok {
			inner = string(raw)
		}
		merged, ch, err := mergeFacets(inner, facets)
		if err != nil {
			return "", false, err
		}
		if ch {
			have[k], changed = json.RawMessage(merged), true
		}
	}
	return encodeFacets(cur, have, changed)
}

// decodeFacets decodes stored facets (a JSON object, or nil) into their text and
// their entries.
func decodeFacets(current any) (string, map[string]json.RawMessage, error) {
	have := map[string]json.RawMessage{}
	cur, _ := current.(string)
	if cur != "" {
		if err := json.Unmarshal([]byte(cur), &have); err != nil {
			return "", nil, fmt.Errorf("stored facets are not a JSON object: %w", err)
		}
	}
	return cur, have, nil
}

// encodeFacets is the merged facets as stored, and whether they changed: cur when
// nothing changed, else have's JSON (sorted keys: the same facets make the same text).
func encodeFacets(cur string, have map[string]json.RawMessage, changed bool) (string, bool, error) {
	if !changed {
		return cur, false, nil
	}
	b, err := json.Marshal(have)
	if err != nil {
		return "", false, fmt.Errorf("encode facets: %w", err)
	}
	return string(b), true, nil
}

// runFacets are the facets a report gives its run: its own, its job's, and its input
// and output facets by dataset version ID.
type runFacets struct {
	run, job        map[string]any
	inputs, outputs map[string]map[string]any
}

func facetsByVersion(vs []resolvedVersion) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, v := range vs {
		if len(v.runFacets) == 0 {
			continue
		}
		k := v.versionKey()
		if out[k] == nil {
			out[k] = map[string]any{}
		}
		for name, f := range v.runFacets {
			if _, seen := out[k][name]; !seen {
				out[k][name] = f
			}
		}
	}
	return out
}

// runReportState works out what a report changes on run r, as the properties to set
// (none for a repeat). A run's reports are cumulative: each adds to what earlier ones
// said, in whatever order they arrive.
//   - status: the reported status, if it moves the run forward (advanceRun): a run that
//     ended keeps the status it ended with, so a late RUNNING (or a second,
//     contradicting end) changes nothing; endTime is the time of the report that ended it.
//   - startTime: the time of the report of its start; until one arrives, the earliest
//     report time.
//   - facets are added (never replaced): the run's, its job's as of this run, and the
//     input and output facets of each version; inputs and outputs are collected.
func runReportState(r Node, rep checkedReport, facets runFacets, inputs, outputs []string) (map[string]any, error) {
	props := map[string]any{}
	if next, moves := advanceRun(RunStatus(r.String(propStatus)), rep.status); moves {
		props[propStatus] = string(next)
		if runEnded(next) {
			props[propEndTime] = rep.at
		}
	}
	reportedStartTime(r, rep.start, rep.at, props)
	if err := addRunFacets(r, facets, props); err != nil {
		return nil, err
	}
	maps.Copy(props, ioUpdates(r, inputs, outputs))
	return props, nil
}

// reportedStartTime sets in props the start time a report at time at gives run r: the
// time of the report of its start, else the earliest report time.
func reportedStartTime(r Node, isStart bool, at time.Time, props map[string]any) {
	start := r.OptTime(propStartTime)
	startSeen := r.Props[propStartReported] == true
	switch {
	case isStart:
		if !startSeen {
			props[propStartReported] = true
		}
		if start == nil || (!startSeen && !start.Equal(at)) || at.Before(*start) {
			props[propStartTime] = at
		}
	case !startSeen && (start == nil || at.Before(*start)):
		props[propStartTime] = at
	}
}

// addRunFacets sets in props the facet properties of run r that facets add to.
func addRunFacets(r Node, facets runFacets, props map[string]any) error {
	for prop, add := range map[string]map[string]any{propFacets: facets.run, propJobFacets: facets.job} {
		merged, changed, err := mergeFacets(r.Props[prop], add)
		if err != nil {
			return err
		}
		if changed {
			props[prop] = merged
		}
	}
	for prop, add := range map[string]map[string]map[string]any{propInputFacets: facets.inputs, propOutputFacets: facets.outputs} {
		merged, changed, err := mergeNestedFacets(r.Props[prop], add)
		if err != nil {
			return err
		}
		if changed {
			props[prop] = merged
		}
	}
	return nil
}

// sameNeighbour checks that a run's recorded neighbours (its executor or parent) are
// none or want.
func sameNeighbour(have []string, want, field, format, key string) error {
	for _, h := range have {
		if h != want {
			return apperr.Conflicting(field, format, truncateForMessage(key), truncateForMessage(h))
		}
	}
	return nil
}

// reportedRunName is a run's name: its job's name, cut to the longest run name.
func reportedRunName(job string) string {
	if utf8.RuneCountInString(job) <= MaxRunNameLength {
		return job
	}
	return string([]rune(job)[:MaxRunNameLength])
}

func versionKeys(vs []resolvedVersion) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.versionKey()
	}
	return out
}
