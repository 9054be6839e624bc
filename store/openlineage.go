package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"

	"github.com/provgraph/provgraph/apperr"
)

// OpenLineage ingest: RunEvents, DatasetEvents and JobEvents (spec 2-0-2) become the
// same graph the other surfaces write, Marquez-style:
//
//   - an OpenLineage job is a ProcessingJob node job:<namespace>:<name>; every run of it
//     adds its inputs and outputs to that node, so lineage from a job or a dataset works
//     across runs;
//   - a dataset is a Dataset node with DatasetVersion nodes; inputs are INPUT_TO the job,
//     the job PRODUCED its outputs;
//   - a run is a tracking Run run:<runId as 32 hex digits> in the experiment
//     "openlineage", EXECUTED_BY its job and CHILD_OF the run its parent facet names.
//
// Events may arrive twice, concurrently and out of order. Every write is a merge that a
// repeat leaves unchanged: nodes and edges are merged on their keys, facets are only
// ever added (a facet once recorded under a name keeps its first value, as recorded
// facts are immutable), a run's state follows the rules of olRunState. Each event is one
// transaction that first locks what it merges into — jobs, then runs, then dataset
// versions, each in key order — so concurrent events serialise on shared nodes without
// deadlocking on one another.

// OpenLineageEventType is the run-state transition a RunEvent reports.
type OpenLineageEventType string

// The RunEvent types of the spec. An event without one is OTHER.
const (
	OpenLineageStart    OpenLineageEventType = "START"
	OpenLineageRunning  OpenLineageEventType = "RUNNING"
	OpenLineageComplete OpenLineageEventType = "COMPLETE"
	OpenLineageAbort    OpenLineageEventType = "ABORT"
	OpenLineageFail     OpenLineageEventType = "FAIL"
	OpenLineageOther    OpenLineageEventType = "OTHER"
)

const (
	// OpenLineageExperiment names the experiment OpenLineage runs are recorded in. It is
	// created on first use.
	OpenLineageExperiment = "openlineage"
	// OpenLineageUnversioned is the version of a dataset read before any version of it
	// was recorded, when the event pins none.
	OpenLineageUnversioned = "unversioned"
	// openLineageRunVersionPrefix starts the version a run writes when the event pins
	// none: run:<run id>.
	openLineageRunVersionPrefix = "run:"
)

// OpenLineageJob is the job of an event: its namespace, name and job facets.
type OpenLineageJob struct {
	Namespace string
	Name      string
	// Facets are the job facets by name, as decoded JSON values.
	Facets map[string]any
}

// OpenLineageDataset is a dataset an event names, with its dataset facets (schema,
// dataSource, version, columnLineage, custom ones) as decoded JSON values.
type OpenLineageDataset struct {
	Namespace string
	Name      string
	Facets    map[string]any
	// RunFacets are the input facets of an input or the output facets of an output
	// (inputStatistics, outputStatistics, ...): how this run used the dataset. They are
	// kept on the run, by dataset version.
	RunFacets map[string]any
}

// OpenLineageParent is what a parent run facet says: the parent's run id and job.
type OpenLineageParent struct {
	RunID        string
	JobNamespace string
	JobName      string
}

// OpenLineageRunEvent is a decoded RunEvent.
type OpenLineageRunEvent struct {
	// EventType "" is OTHER.
	EventType OpenLineageEventType
	EventTime time.Time
	// RunID is the run's UUID as sent.
	RunID string
	// RunFacets are the run facets (the parent facet among them) as decoded JSON.
	RunFacets map[string]any
	// Parent, when set, makes the run a nested run of that run.
	Parent  *OpenLineageParent
	Job     OpenLineageJob
	Inputs  []OpenLineageDataset
	Outputs []OpenLineageDataset
}

// OpenLineageJobEvent is a decoded JobEvent: a job and what it reads and writes,
// without a run.
type OpenLineageJobEvent struct {
	EventTime time.Time
	Job       OpenLineageJob
	Inputs    []OpenLineageDataset
	Outputs   []OpenLineageDataset
}

// OpenLineageDatasetEvent is a decoded DatasetEvent: metadata about one dataset.
type OpenLineageDatasetEvent struct {
	EventTime time.Time
	Dataset   OpenLineageDataset
}

// OpenLineageRecord says which nodes an event was recorded on.
type OpenLineageRecord struct {
	// Run is the run's ID, and Parent its parent run's, for a RunEvent.
	Run    string
	Parent string
	// Job is the job's ID, for a RunEvent or JobEvent.
	Job string
	// Inputs and Outputs are the dataset versions read and written, in event order.
	Inputs  []string
	Outputs []string
	// Version is the dataset version a DatasetEvent described.
	Version string
}

// Properties OpenLineage ingest keeps beyond the common ones.
const (
	// olPropFacets is a JSON object of facets by name, on jobs, runs and dataset versions.
	olPropFacets = "facets"
	// olPropStartEventSeen is true on a run once a START event set its startTime; until
	// then startTime is the earliest event time seen.
	olPropStartEventSeen = "startEventSeen"
	// olPropJobFacets are the job's facets as this run's events gave them (a job's facets
	// change from run to run: code location, SQL).
	olPropJobFacets = "jobFacets"
	// olPropInputFacets and olPropOutputFacets are a JSON object of the input (output)
	// facets this run gave each dataset version it read (wrote), by version ID.
	olPropInputFacets  = "inputFacets"
	olPropOutputFacets = "outputFacets"
	olPropUpdatedAt    = "updatedAt"
	// olPropRecordedSeq is, on a dataset version, the position in its transaction's
	// batch of the event that recorded it; olPropRecordedAsOutput says whether that
	// event wrote it (else it read it). With recordedAt they order versions newest
	// first, as if each event had been recorded alone.
	olPropRecordedSeq      = "recordedSeq"
	olPropRecordedAsOutput = "recordedAsOutput"
	olPropUpdatedBy        = "updatedBy"
)

// OpenLineageRunID turns an OpenLineage run id (a UUID) into a provgraph run id: its 32
// hexadecimal digits, lowercase. field names the input in the error.
func OpenLineageRunID(field, runID string) (string, error) {
	if !olUUIDForm.MatchString(runID) {
		return "", apperr.Invalid(field, "must be a UUID such as \"0176a8c2-fe01-7439-87e6-56a1a1b4029f\" (got %q)", truncateForMessage(runID))
	}
	return strings.ToLower(strings.ReplaceAll(runID, "-", "")), nil
}

var olUUIDForm = regexp.MustCompile(`^(?:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{32})$`)

// olDataset is a validated dataset reference of an event.
type olDataset struct {
	field     string // e.g. "inputs[2]"
	namespace string
	name      string
	key       string // the dataset's ID
	pinned    string // the version the event pins (version facet), or ""
	facets    map[string]any
	runFacets map[string]any // input or output facets
}

// olVersion is a dataset version an event records, with its version resolved.
type olVersion struct {
	olDataset
	version string
}

func (v olVersion) versionKey() string {
	return datasetVersionRef{namespace: v.namespace, name: v.name, version: v.version}.key()
}

func checkOLJob(field string, j OpenLineageJob) (string, error) {
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

func checkOLDatasets(list string, ds []OpenLineageDataset) ([]olDataset, error) {
	if len(ds) > MaxJobInputs {
		return nil, apperr.Invalid(list, "must list at most %d datasets (got %d)", MaxJobInputs, len(ds))
	}
	out := make([]olDataset, 0, len(ds))
	for i, d := range ds {
		v, err := checkOLDataset(fmt.Sprintf("%s[%d]", list, i), d)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func checkOLDataset(field string, d OpenLineageDataset) (olDataset, error) {
	if err := checkText(field+".namespace", d.Namespace, MaxNamespaceLength); err != nil {
		return olDataset{}, err
	}
	if err := checkText(field+".name", d.Name, MaxNameLength); err != nil {
		return olDataset{}, err
	}
	pinned, err := olPinnedVersion(field, d.Facets)
	if err != nil {
		return olDataset{}, err
	}
	// The longest version provgraph makes is run:<32 hex digits>.
	longest := max(len(pinned), len(openLineageRunVersionPrefix)+32, len(OpenLineageUnversioned))
	if n := len(DatasetVersionKey(d.Namespace, d.Name, "")) + longest; n > MaxIDLength {
		return olDataset{}, apperr.Invalid(field+".name", "namespace, name and version make an ID of %d bytes; IDs may have at most %d", n, MaxIDLength)
	}
	if err := olCheckFacets(field+".facets", d.Facets); err != nil {
		return olDataset{}, err
	}
	if err := olCheckFacets(field+"."+olIOFacetsField[strings.HasPrefix(field, "outputs")], d.RunFacets); err != nil {
		return olDataset{}, err
	}
	return olDataset{
		field: field, namespace: d.Namespace, name: d.Name, key: DatasetKey(d.Namespace, d.Name),
		pinned: pinned, facets: d.Facets, runFacets: d.RunFacets,
	}, nil
}

// olIOFacetsField names a dataset's run facets in events: [false] for inputs, [true]
// for outputs.
var olIOFacetsField = map[bool]string{false: "inputFacets", true: "outputFacets"}

// olPinnedVersion returns the version a dataset's version facet (DatasetVersionDatasetFacet,
// "version"; "datasetVersion" is accepted too) pins, or "".
func olPinnedVersion(field string, facets map[string]any) (string, error) {
	for _, name := range []string{"version", "datasetVersion"} {
		f, ok := facets[name]
		if !ok || f == nil {
			continue
		}
		ffield := field + ".facets." + name
		m, ok := f.(map[string]any)
		if !ok {
			return "", apperr.Invalid(ffield, "must be a JSON object with a datasetVersion string")
		}
		v, ok := m["datasetVersion"].(string)
		if !ok {
			return "", apperr.Invalid(ffield+".datasetVersion", "must be a string (the dataset version)")
		}
		if err := checkText(ffield+".datasetVersion", v, MaxDigestLength); err != nil {
			return "", err
		}
		if strings.Contains(v, "#") {
			return "", apperr.Invalid(ffield+".datasetVersion", "must not contain '#', which separates the version in IDs")
		}
		return v, nil
	}
	return "", nil
}

// olCheckFacets checks that facets can be stored as JSON.
func olCheckFacets(field string, facets map[string]any) error {
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

// openLineageURI is where a dataset lives, by OpenLineage's naming: the namespace is a
// data source (scheme://authority) and the name a path within it.
func openLineageURI(namespace, name string) string {
	if namespace == "file" {
		return "file://" + "/" + strings.TrimPrefix(name, "/")
	}
	return strings.TrimSuffix(namespace, "/") + "/" + strings.TrimPrefix(name, "/")
}

func checkOLEventTime(t time.Time) error {
	if t.IsZero() {
		return apperr.Invalid("eventTime", "is required: the time the event occurred, in RFC 3339")
	}
	return nil
}

// olExperiments caches the openlineage experiment of each store: it is created once and
// never erased.
var olExperiments sync.Map // *Store → Node

// openLineageExperiment returns the experiment OpenLineage runs go to, creating it on
// first use. Concurrent first uses race to create it; the losers find the winner's.
func (s *Store) openLineageExperiment(ctx context.Context, actor string) (Node, error) {
	if e, ok := olExperiments.Load(s); ok {
		return e.(Node), nil
	}
	e, err := s.ExperimentByName(ctx, "experiment", OpenLineageExperiment)
	if apperr.CodeOf(err) == apperr.NotFound {
		desc := "Runs recorded from OpenLineage events (created on the first one)."
		e, err = s.CreateExperiment(ctx, actor, ExperimentInput{Name: OpenLineageExperiment, Description: &desc})
		if apperr.CodeOf(err) == apperr.Conflict || olIsConstraintViolation(err) {
			e, err = s.ExperimentByName(ctx, "experiment", OpenLineageExperiment)
		}
	}
	if err != nil {
		return Node{}, fmt.Errorf("experiment %q for OpenLineage runs: %w", OpenLineageExperiment, err)
	}
	olExperiments.Store(s, e)
	return e, nil
}

// errOLExperimentGone says the cached experiment no longer exists (the graph was
// changed outside provgraph); the next event looks it up again.
var errOLExperimentGone = errors.New("the experiment is missing")

func olIsConstraintViolation(err error) bool {
	var nerr *neo4j.Neo4jError
	return errors.As(err, &nerr) && nerr.Code == "Neo.ClientError.Schema.ConstraintValidationFailed"
}

const (
	// cypherOLMergeJobs merges job nodes (rows sorted by key) and write-locks those whose
	// facets the events add to (row.lock), so that facet updates of a job are serialised.
	// A node this transaction created is locked already.
	cypherOLMergeJobs = `
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

	// cypherOLMergeRuns merges runs (rows sorted by key) into the experiment, write-locks
	// each (a created one is locked already) and returns them with the jobs that executed them and their parents.
	cypherOLMergeRuns = `
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

	// cypherOLNewestVersions returns, for each dataset, its two newest recorded versions
	// other than "unversioned" (which stands for an unknown version): newest by
	// recordedAt, then by the position of the recording event in its transaction's
	// batch, then a version recorded as an output before one recorded as an input
	// (by one event that read a dataset and wrote it), then by ID. Versions recorded
	// before these properties existed count as outputs when something produced them.
	// Two, because a run's lookups leave out the run's own output.
	cypherOLNewestVersions = `
UNWIND $datasets AS dk
OPTIONAL MATCH (v:` + string(KindDatasetVersion) + `)-[:` + RelVersionOf + `]->(:` + LabelNode + ` {key: dk})
  WHERE v.version <> $unversioned
WITH dk, v ORDER BY v.recordedAt DESC, coalesce(v.` + olPropRecordedSeq + `, 0) DESC,
  coalesce(v.` + olPropRecordedAsOutput + `, EXISTS { (:` + LabelNode + `)-[:` + RelProduced + `]->(v) }) DESC, v.key DESC
RETURN dk, collect(v.version)[..2] AS versions`

	// cypherOLExisting returns which of the keys are recorded nodes.
	cypherOLExisting = `
UNWIND $keys AS k
MATCH (n:` + LabelNode + ` {key: k})
RETURN collect(n.key) AS found`

	// cypherOLMergeVersions merges datasets and dataset versions (rows sorted by version
	// ID) and returns each version's facets.
	cypherOLMergeVersions = mergeDatasetVersionRows + `
RETURN v.key AS key, v.facets AS facets, created`

	// cypherOLSetFacets stores merged facets; a node created in this transaction gets no
	// update stamp.
	cypherOLSetFacets = `
UNWIND $rows AS row
MATCH (n:` + LabelNode + ` {key: row.key})
SET n.` + olPropFacets + ` = row.facets,
    n.` + olPropUpdatedAt + ` = CASE WHEN row.created THEN n.` + olPropUpdatedAt + ` ELSE datetime.transaction() END,
    n.` + olPropUpdatedBy + ` = CASE WHEN row.created THEN n.` + olPropUpdatedBy + ` ELSE $actor END`

	// cypherOLRunEdges records the jobs that executed runs and the runs' parents.
	cypherOLRunEdges = `
UNWIND $executedBy AS pair
MATCH (r:` + LabelNode + ` {key: pair[0]}), (j:` + LabelNode + ` {key: pair[1]})
MERGE (r)-[e:` + RelExecutedBy + `]->(j)
  ON CREATE SET e.recordedAt = datetime.transaction(), e.recordedBy = $actor
WITH count(*) AS _
UNWIND $childOf AS pair
MATCH (r:` + LabelNode + ` {key: pair[0]}), (p:` + LabelNode + ` {key: pair[1]})
MERGE (r)-[e:` + RelChildOf + `]->(p)
  ON CREATE SET e.recordedAt = datetime.transaction(), e.recordedBy = $actor`

	// cypherOLUpdateRuns sets what events changed on runs; a run created in this
	// transaction gets no update stamp.
	cypherOLUpdateRuns = `
UNWIND $rows AS row
MATCH (r:` + LabelNode + ` {key: row.key})
SET r += row.props,
    r.` + olPropUpdatedAt + ` = CASE WHEN row.created THEN r.` + olPropUpdatedAt + ` ELSE datetime.transaction() END,
    r.` + olPropUpdatedBy + ` = CASE WHEN row.created THEN r.` + olPropUpdatedBy + ` ELSE $actor END`
)

// olTx runs the steps of recording one event inside its transaction.
type olTx struct {
	ctx   context.Context
	tx    neo4j.ManagedTransaction
	actor string
}

func (w olTx) run(cypher, what string, params map[string]any) error {
	params["actor"] = w.actor
	if _, err := collect(w.ctx, w.tx, cypher, params); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

type olJobRow struct{ key, namespace, name string }

// mergeJobs merges jobs in key order, locking those in lock, and returns their stored
// facets.
func (w olTx) mergeJobs(jobs []olJobRow, lock map[string]bool) (map[string]olStoredFacets, error) {
	sort.Slice(jobs, func(i, j int) bool { return jobs[i].key < jobs[j].key })
	rows := make([]map[string]any, len(jobs))
	for i, j := range jobs {
		rows[i] = map[string]any{"key": j.key, "namespace": j.namespace, "name": j.name, "lock": lock[j.key]}
	}
	recs, err := collect(w.ctx, w.tx, cypherOLMergeJobs, map[string]any{"rows": rows, "actor": w.actor})
	if err != nil {
		return nil, fmt.Errorf("record OpenLineage jobs: %w", err)
	}
	return olFacetsByKey(recs), nil
}

type olRunRow struct {
	key, runID, name string
	// startTime, when set, is a placeholder's start: the time of the event naming it.
	startTime time.Time
}

type olMergedRun struct {
	node      Node
	created   bool
	executors []string
	parents   []string
}

// mergeRuns merges and locks runs in key order.
func (w olTx) mergeRuns(experiment string, runs []olRunRow) (map[string]olMergedRun, error) {
	sort.Slice(runs, func(i, j int) bool { return runs[i].key < runs[j].key })
	rows := make([]map[string]any, len(runs))
	for i, r := range runs {
		var start any
		if !r.startTime.IsZero() {
			start = r.startTime
		}
		rows[i] = map[string]any{"key": r.key, "runId": r.runID, "name": r.name, "startTime": start}
	}
	recs, err := collect(w.ctx, w.tx, cypherOLMergeRuns, map[string]any{"experiment": experiment, "rows": rows, "actor": w.actor})
	if err != nil {
		return nil, fmt.Errorf("record OpenLineage runs: %w", err)
	}
	if len(recs) != len(runs) {
		return nil, fmt.Errorf("record OpenLineage runs in %q: %w", experiment, errOLExperimentGone)
	}
	out := make(map[string]olMergedRun, len(recs))
	for _, rec := range recs {
		n, err := nodeAt(rec, "r")
		if err != nil {
			return nil, err
		}
		created, _ := rec.Get("created")
		executors, _ := rec.Get("executors")
		parents, _ := rec.Get("parents")
		out[n.Key] = olMergedRun{node: n, created: created == true, executors: olStrings(executors), parents: olStrings(parents)}
	}
	return out, nil
}

// olStoredFacets is a node's facets property as read under its lock, and whether the
// node was created by this transaction.
type olStoredFacets struct {
	json    any
	created bool
}

type olFacetUpdate struct {
	key    string
	stored olStoredFacets
	add    map[string]any
}

func olFacetsByKey(recs []*neo4j.Record) map[string]olStoredFacets {
	out := make(map[string]olStoredFacets, len(recs))
	for _, r := range recs {
		k, _ := r.Get("key")
		f, _ := r.Get("facets")
		c, _ := r.Get("created")
		out[k.(string)] = olStoredFacets{json: f, created: c == true}
	}
	return out
}

// setFacets adds facets to nodes (several updates of one node apply in order) and
// writes the nodes whose facets changed.
func (w olTx) setFacets(updates []olFacetUpdate) error {
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
		merged, changed, err := olMergeFacets(n.facets, u.add)
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
	return w.run(cypherOLSetFacets, "record OpenLineage facets", map[string]any{"rows": rows})
}

// olMergeFacets adds to current (a stored JSON object, or nil) the facets it lacks. A
// facet once recorded keeps its value: recorded facts are immutable, and a repeated or
// late event must not change what an auditor saw. It returns the merged JSON and
// whether it differs from current.
func olMergeFacets(current any, add map[string]any) (string, bool, error) {
	have := map[string]json.RawMessage{}
	cur, _ := current.(string)
	if cur != "" {
		if err := json.Unmarshal([]byte(cur), &have); err != nil {
			return "", false, fmt.Errorf("stored facets are not a JSON object: %w", err)
		}
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
	if !changed {
		return cur, false, nil
	}
	b, err := json.Marshal(have) // sorted keys: the same facets make the same text
	if err != nil {
		return "", false, fmt.Errorf("encode facets: %w", err)
	}
	return string(b), true, nil
}

// olMergeNestedFacets is olMergeFacets for a JSON object of facet objects by key (the
// input or output facets of each dataset version).
func olMergeNestedFacets(current any, add map[string]map[string]any) (string, bool, error) {
	have := map[string]json.RawMessage{}
	cur, _ := current.(string)
	if cur != "" {
		if err := json.Unmarshal([]byte(cur), &have); err != nil {
			return "", false, fmt.Errorf("stored facets are not a JSON object: %w", err)
		}
	}
	changed := false
	for k, facets := range add {
		var inner any
		if raw, ok := have[k]; ok {
			inner = string(raw)
		}
		merged, ch, err := olMergeFacets(inner, facets)
		if err != nil {
			return "", false, err
		}
		if ch {
			have[k], changed = json.RawMessage(merged), true
		}
	}
	if !changed {
		return cur, false, nil
	}
	b, err := json.Marshal(have)
	if err != nil {
		return "", false, fmt.Errorf("encode facets: %w", err)
	}
	return string(b), true, nil
}

// olRunState works out what an event changes on a run, as the properties to set (none
// for a repeat). OpenLineage's model is cumulative: each event of a run adds to what
// earlier ones said, in whatever order they arrive.
//   - status: START and RUNNING → RUNNING, COMPLETE → FINISHED, FAIL → FAILED, ABORT →
//     KILLED, OTHER keeps it; a run that finished keeps the status it finished with, so a
//     late RUNNING (or a second, contradicting end) changes nothing.
//   - startTime: the START event's time; until one arrives, the earliest event time.
//   - endTime: the time of the event that finished the run.
//   - facets are added (never replaced): the run's, its job's as of this run, and the
//     input and output facets of each version; inputs and outputs are collected.
//
// olRunFacets are the facets an event gives its run: its own, its job's, and its input
// and output facets by dataset version ID.
type olRunFacets struct {
	run, job        map[string]any
	inputs, outputs map[string]map[string]any
}

func olByVersion(vs []olVersion) map[string]map[string]any {
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

func olRunState(r Node, typ OpenLineageEventType, at time.Time, facets olRunFacets, inputs, outputs []string) (map[string]any, error) {
	props := map[string]any{}
	reported := map[OpenLineageEventType]RunStatus{
		OpenLineageStart: RunRunning, OpenLineageRunning: RunRunning, OpenLineageComplete: RunFinished,
		OpenLineageFail: RunFailed, OpenLineageAbort: RunKilled,
	}[typ]
	if next, moves := advanceRun(RunStatus(r.String(propStatus)), reported); moves {
		props[propStatus] = string(next)
		if runEnded(next) {
			props[propEndTime] = at
		}
	}
	start := r.OptTime(propStartTime)
	startSeen := r.Props[olPropStartEventSeen] == true
	switch {
	case typ == OpenLineageStart:
		if !startSeen {
			props[olPropStartEventSeen] = true
		}
		if start == nil || (!startSeen && !start.Equal(at)) || at.Before(*start) {
			props[propStartTime] = at
		}
	case !startSeen && (start == nil || at.Before(*start)):
		props[propStartTime] = at
	}
	for prop, add := range map[string]map[string]any{olPropFacets: facets.run, olPropJobFacets: facets.job} {
		merged, changed, err := olMergeFacets(r.Props[prop], add)
		if err != nil {
			return nil, err
		}
		if changed {
			props[prop] = merged
		}
	}
	for prop, add := range map[string]map[string]map[string]any{olPropInputFacets: facets.inputs, olPropOutputFacets: facets.outputs} {
		merged, changed, err := olMergeNestedFacets(r.Props[prop], add)
		if err != nil {
			return nil, err
		}
		if changed {
			props[prop] = merged
		}
	}
	for prop, add := range map[string][]string{propInputs: inputs, propOutputs: outputs} {
		have := olStrings(r.Props[prop])
		all := slices.Compact(slices.Sorted(slices.Values(append(slices.Clone(have), add...))))
		if !slices.Equal(all, have) {
			props[prop] = all
		}
	}
	return props, nil
}

// olSameNeighbour checks that a run's recorded neighbours (its executor or parent) are
// none or want.
func olSameNeighbour(have []string, want, field, format, key string) error {
	for _, h := range have {
		if h != want {
			return apperr.Conflicting(field, format, truncateForMessage(key), truncateForMessage(h))
		}
	}
	return nil
}

// olRunName is a run's name: its job's name, cut to the longest run name.
func olRunName(job string) string {
	if utf8.RuneCountInString(job) <= MaxRunNameLength {
		return job
	}
	return string([]rune(job)[:MaxRunNameLength])
}

func olVersionKeys(vs []olVersion) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.versionKey()
	}
	return out
}

func olStrings(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, x := range list {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
