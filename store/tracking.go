package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"

	"github.com/provgraph/provgraph/apperr"
)

// Experiment tracking: experiments hold run groups and runs; runs log parameters,
// metrics, tags and artifacts, and take part in lineage like jobs do (dataset versions
// they read are INPUT_TO them, what they wrote is PRODUCED by them).

// Structural relationships of experiment tracking (not followed by lineage).
const (
	// RelInExperiment: a run or run group belongs to an experiment.
	RelInExperiment = "IN_EXPERIMENT"
	// RelInGroup: a run belongs to a run group.
	RelInGroup = "IN_GROUP"
	// RelChildOf: a nested run and its parent run.
	RelChildOf = "CHILD_OF"
	// RelExecutedBy: a run and the training or processing job that executed it.
	RelExecutedBy = "EXECUTED_BY"
	// RelHasParam: a run and one of its parameters (a shared :Param node).
	RelHasParam = "HAS_PARAM"
	// RelHasMetric: a run and the summary of one of its metrics (a :MetricSeries node).
	RelHasMetric = "HAS_METRIC"
)

// Labels of tracking records that are not provenance nodes (they carry no LabelNode).
const (
	LabelParam        = "Param"
	LabelMetricSeries = "MetricSeries"
	LabelMetricChunk  = "MetricChunk"
	LabelSequence     = "Sequence"
)

// Lifecycle says whether an experiment or run is active or soft-deleted.
type Lifecycle string

// The lifecycle stages (MLflow's names).
const (
	LifecycleActive  Lifecycle = "active"
	LifecycleDeleted Lifecycle = "deleted"
)

// RunStatus is where a run is in its life.
type RunStatus string

// The run statuses (MLflow's).
const (
	RunRunning   RunStatus = "RUNNING"
	RunScheduled RunStatus = "SCHEDULED"
	RunFinished  RunStatus = "FINISHED"
	RunFailed    RunStatus = "FAILED"
	RunKilled    RunStatus = "KILLED"
)

// DefaultExperimentID is the experiment every database has, named "Default" (MLflow's
// experiment "0").
const DefaultExperimentID = "0"

// Limits of experiment tracking, at least as generous as MLflow's.
const (
	MaxExperimentNameLength = 500
	MaxRunNameLength        = 250
	MaxParamsPerCall        = 100
	MaxMetricsPerCall       = 1000
	MaxTagsPerCall          = 100
	MaxRunIOPerCall         = 100
	MaxChartBytes           = 1 << 20
)

// Tracking node properties.
const (
	propExperimentID = "experimentId"
	propRunID        = "runId"
	propLifecycle    = "lifecycle"
	propStartTime    = "startTime"
	propEndTime      = "endTime"
	propUser         = "user"
	propEntryPoint   = "entryPoint"
	propArtifactURI  = "artifactUri"
	propExperiment   = "experiment"
	propGroup        = "group"
)

// ExperimentKey is the ID of an experiment: experiment:<experiment id>. Experiment IDs
// are assigned by provgraph ("0" is the default experiment) and never change, while
// names can.
func ExperimentKey(id string) string { return prefixExperiment + id }

// RunGroupKey is the ID of a run group: runGroup:<experiment id>/<name>.
func RunGroupKey(experimentID, name string) string {
	return prefixRunGroup + experimentID + "/" + name
}

// RunKey is the ID of a run: run:<run id>, a run id being 32 hexadecimal digits (as
// MLflow's).
func RunKey(runID string) string { return prefixRun + runID }

var runIDForm = regexp.MustCompile(`^[0-9a-f]{32}$`)

// NewRunID returns a fresh random run id.
func NewRunID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}

// trackingMigration creates what experiment tracking needs: unique experiment names,
// the shared parameter nodes and metric records with their indexes, and the default
// experiment.
var trackingMigration = Migration{
	Version:     3,
	Description: "experiment tracking: experiment names, runs by experiment, parameters, metric series and chunks, the default experiment",
	Statements: []string{
		`CREATE CONSTRAINT experiment_name IF NOT EXISTS
		 FOR (e:` + string(KindExperiment) + `) REQUIRE e.name IS UNIQUE`,
		`CREATE CONSTRAINT sequence_name IF NOT EXISTS
		 FOR (s:` + LabelSequence + `) REQUIRE s.name IS UNIQUE`,
		`CREATE CONSTRAINT param_pid IF NOT EXISTS
		 FOR (p:` + LabelParam + `) REQUIRE p.pid IS UNIQUE`,
		`CREATE INDEX param_key IF NOT EXISTS
		 FOR (p:` + LabelParam + `) ON (p.key)`,
		`CREATE CONSTRAINT metric_series_sid IF NOT EXISTS
		 FOR (m:` + LabelMetricSeries + `) REQUIRE m.sid IS UNIQUE`,
		`CREATE INDEX metric_series_key_last IF NOT EXISTS
		 FOR (m:` + LabelMetricSeries + `) ON (m.key, m.last)`,
		`CREATE INDEX metric_chunk_sid_seq IF NOT EXISTS
		 FOR (c:` + LabelMetricChunk + `) ON (c.sid, c.seq)`,
		`CREATE INDEX run_experiment IF NOT EXISTS
		 FOR (r:` + string(KindRun) + `) ON (r.experimentId)`,
		`MERGE (e:` + LabelNode + ` {key: '` + prefixExperiment + DefaultExperimentID + `'})
		 ON CREATE SET e:` + string(KindExperiment) + `, e.kind = '` + string(KindExperiment) + `',
		   e.name = 'Default', e.experimentId = '` + DefaultExperimentID + `', e.lifecycle = 'active',
		   e.recordedAt = datetime.transaction(), e.recordedBy = 'provgraph'`,
	},
	Indexes: []string{"experiment_name", "sequence_name", "param_pid", "param_key", "metric_series_sid",
		"metric_series_key_last", "metric_chunk_sid_seq", "run_experiment"},
}

// searchScopeMigration lets a run search scoped to experiments start from that
// experiment's parameters and metrics alone: metric series and parameter edges carry
// their run's experiment, indexed together with what a filter compares. Without it the
// driving lookups of one experiment's search grow with every other experiment.
var searchScopeMigration = Migration{
	Version:     4,
	Description: "run search by experiment: metric series and parameter edges carry the run's experiment",
	Statements: []string{
		`CREATE INDEX metric_series_exp_key_last IF NOT EXISTS
		 FOR (m:` + LabelMetricSeries + `) ON (m.exp, m.key, m.last)`,
		`CREATE INDEX has_param_exp_pid IF NOT EXISTS
		 FOR ()-[h:` + RelHasParam + `]-() ON (h.exp, h.pid)`,
	},
	Backfills: []string{
		`MATCH (r:` + string(KindRun) + `)-[:` + RelHasMetric + `]->(m:` + LabelMetricSeries + `)
		 WHERE m.exp IS NULL
		 CALL (r, m) { SET m.exp = r.experimentId } IN TRANSACTIONS OF 10000 ROWS`,
		`MATCH (r:` + string(KindRun) + `)-[h:` + RelHasParam + `]->(p:` + LabelParam + `)
		 WHERE h.exp IS NULL
		 CALL (r, h, p) { SET h.exp = r.experimentId, h.pid = p.pid } IN TRANSACTIONS OF 10000 ROWS`,
	},
	Indexes: []string{"metric_series_exp_key_last", "has_param_exp_pid"},
}

// ExperimentInput describes an experiment to create.
type ExperimentInput struct {
	Name        string
	Description *string
	Tags        []Tag
	// ArtifactLocation is where runs of the experiment store artifacts (MLflow's
	// artifact_location); optional.
	ArtifactLocation *string
}

const (
	// The next experiment id, under the sequence node's write lock.
	cypherNextExperimentID = `
MERGE (s:` + LabelSequence + ` {name: 'experiment'})
  ON CREATE SET s.next = 1
SET s.next = s.next + 1
RETURN s.next - 1 AS id`

	cypherExperimentByName = `MATCH (e:` + string(KindExperiment) + ` {name: $name}) RETURN e`

	cypherCreateExperiment = `
CREATE (e:` + LabelNode + `:` + string(KindExperiment) + ` {
  key: $key, kind: '` + string(KindExperiment) + `', name: $name, experimentId: $id,
  description: $description, artifactLocation: $artifactLocation,
  tagKeys: $tagKeys, tagValues: $tagValues, lifecycle: 'active',
  recordedAt: datetime.transaction(), recordedBy: $actor})
RETURN e`
)

// CreateExperiment creates an experiment with a new id. Names are unique among all
// experiments, deleted ones included (as in MLflow): a taken name is a CONFLICT.
func (s *Store) CreateExperiment(ctx context.Context, actor string, in ExperimentInput) (Node, error) {
	if err := checkText("name", in.Name, MaxExperimentNameLength); err != nil {
		return Node{}, err
	}
	if err := checkDescription("description", in.Description); err != nil {
		return Node{}, err
	}
	if in.ArtifactLocation != nil {
		if _, err := checkURI("artifactLocation", *in.ArtifactLocation); err != nil {
			return Node{}, err
		}
	}
	tagKeys, tagValues, err := checkTags("tags", in.Tags)
	if err != nil {
		return Node{}, err
	}
	return write(ctx, s, actor, ActionExperimentCreate, func(tx neo4j.ManagedTransaction, au *audit) (Node, error) {
		recs, err := collect(ctx, tx, cypherExperimentByName, map[string]any{"name": in.Name})
		if err != nil {
			return Node{}, fmt.Errorf("look up experiment %q: %w", in.Name, err)
		}
		if len(recs) > 0 {
			e, _ := nodeAt(recs[0], "e")
			return Node{}, apperr.Conflicting("name", "an experiment named %q exists already (%s)", truncateForMessage(in.Name), e.Key)
		}
		recs, err = collect(ctx, tx, cypherNextExperimentID, nil)
		if err != nil {
			return Node{}, fmt.Errorf("next experiment id: %w", err)
		}
		n, _ := recs[0].Get("id")
		id := strconv.FormatInt(n.(int64), 10)
		au.target(ExperimentKey(id))
		recs, err = collect(ctx, tx, cypherCreateExperiment, map[string]any{
			"key": ExperimentKey(id), "id": id, "name": in.Name, "description": optValue(in.Description),
			"artifactLocation": optValue(in.ArtifactLocation), "tagKeys": tagKeys, "tagValues": tagValues, "actor": actor,
		})
		if err != nil {
			return Node{}, fmt.Errorf("create experiment %q: %w", in.Name, err)
		}
		return nodeAt(recs[0], "e")
	})
}

// ExperimentByName returns the experiment with a name, or NOT_FOUND about field.
func (s *Store) ExperimentByName(ctx context.Context, field, name string) (Node, error) {
	return read(ctx, s, func(tx neo4j.ManagedTransaction) (Node, error) {
		recs, err := collect(ctx, tx, cypherExperimentByName, map[string]any{"name": name})
		if err != nil {
			return Node{}, fmt.Errorf("look up experiment %q: %w", name, err)
		}
		if len(recs) == 0 {
			return Node{}, apperr.Missing(field, "no experiment is named %q", truncateForMessage(name))
		}
		return nodeAt(recs[0], "e")
	})
}

// ExperimentUpdate renames an experiment and changes its description and tags (labels:
// the last write wins).
type ExperimentUpdate struct {
	ID          string // the experiment's node ID
	Name        *string
	Description *string
	SetTags     []Tag
	DeleteTags  []string
}

const cypherUpdateExperiment = `
MATCH (e:` + LabelNode + ` {key: $key})
WITH e, e {.name, .description, .tagKeys, .tagValues} AS old
SET e.name = coalesce($name, e.name),
    e.description = CASE WHEN $setDescription THEN $description ELSE e.description END,
    e.tagKeys = $tagKeys, e.tagValues = $tagValues,
    e.updatedAt = datetime.transaction(), e.updatedBy = $actor
RETURN e, old`

// UpdateExperiment applies u and returns the experiment. A new name taken by another
// experiment is a CONFLICT.
func (s *Store) UpdateExperiment(ctx context.Context, actor string, u ExperimentUpdate) (Node, error) {
	if err := RequireKind("id", u.ID, KindExperiment, "experiment:<id>"); err != nil {
		return Node{}, err
	}
	if u.Name != nil {
		if err := checkText("name", *u.Name, MaxExperimentNameLength); err != nil {
			return Node{}, err
		}
	}
	if err := checkDescription("description", u.Description); err != nil {
		return Node{}, err
	}
	return write(ctx, s, actor, ActionExperimentUpdate, func(tx neo4j.ManagedTransaction, au *audit) (Node, error) {
		au.target(u.ID)
		// Lock, then read, so concurrent tag changes do not overwrite each other.
		if _, err := collect(ctx, tx, cypherLockNode, map[string]any{"key": u.ID}); err != nil {
			return Node{}, fmt.Errorf("lock %q: %w", u.ID, err)
		}
		e, err := nodeByKey(ctx, tx, "id", u.ID)
		if err != nil {
			return Node{}, err
		}
		if u.Name != nil && *u.Name != e.Name {
			recs, err := collect(ctx, tx, cypherExperimentByName, map[string]any{"name": *u.Name})
			if err != nil {
				return Node{}, fmt.Errorf("look up experiment %q: %w", *u.Name, err)
			}
			if len(recs) > 0 {
				return Node{}, apperr.Conflicting("name", "an experiment named %q exists already", truncateForMessage(*u.Name))
			}
		}
		keys, values, err := mergeTags(e.Tags(), u.SetTags, u.DeleteTags)
		if err != nil {
			return Node{}, err
		}
		recs, err := collect(ctx, tx, cypherUpdateExperiment, map[string]any{
			"key": u.ID, "name": optValue(u.Name), "setDescription": u.Description != nil,
			"description": optValue(u.Description), "tagKeys": keys, "tagValues": values, "actor": actor,
		})
		if err != nil {
			return Node{}, fmt.Errorf("update experiment %q: %w", u.ID, err)
		}
		old, e, err := changedNodeAt(recs[0], "e", "old")
		au.changeNode(old, e, true, propName, propDescription)
		return e, err
	})
}

// mergeTags applies deletions, then additions, to tags and returns the result as the
// parallel lists nodes store.
func mergeTags(tags []Tag, set []Tag, del []string) (keys, values []string, err error) {
	if _, _, err := checkTags("setTags", set); err != nil {
		return nil, nil, err
	}
	if len(del) > MaxTags {
		return nil, nil, apperr.Invalid("deleteTags", "must hold at most %d keys (got %d)", MaxTags, len(del))
	}
	m := make(map[string]string, len(tags)+len(set))
	for _, t := range tags {
		m[t.Key] = t.Value
	}
	for _, k := range del {
		delete(m, k)
	}
	for _, t := range set {
		m[t.Key] = t.Value
	}
	merged := make([]Tag, 0, len(m))
	for k, v := range m {
		merged = append(merged, Tag{Key: k, Value: v})
	}
	return checkTags("setTags", merged)
}

// The node is locked (SET) before its old value is read, so that of two concurrent
// changes each records the value the other left.
const cypherSetLifecycle = `
MATCH (n:` + LabelNode + ` {key: $key})
SET n._lock_ = true
REMOVE n._lock_
WITH n, n {.lifecycle} AS old
SET n.lifecycle = $lifecycle, n.updatedAt = datetime.transaction(), n.updatedBy = $actor
RETURN n, old`

// SetLifecycle soft-deletes (LifecycleDeleted) or restores (LifecycleActive) an
// experiment or a run. Nothing is ever erased: a deleted run keeps its lineage and is
// still found by ID; searches leave it out unless asked.
func (s *Store) SetLifecycle(ctx context.Context, actor, field, key string, kind Kind, to Lifecycle) (Node, error) {
	example := map[Kind]string{KindExperiment: "experiment:<id>", KindRun: "run:<run id>"}[kind]
	if err := RequireKind(field, key, kind, example); err != nil {
		return Node{}, err
	}
	if key == ExperimentKey(DefaultExperimentID) && to == LifecycleDeleted {
		return Node{}, apperr.Invalid(field, "the default experiment cannot be deleted")
	}
	return write(ctx, s, actor, ActionLifecycleSet, func(tx neo4j.ManagedTransaction, au *audit) (Node, error) {
		au.target(key)
		if _, err := nodeByKey(ctx, tx, field, key); err != nil {
			return Node{}, err
		}
		recs, err := collect(ctx, tx, cypherSetLifecycle, map[string]any{"key": key, "lifecycle": string(to), "actor": actor})
		if err != nil {
			return Node{}, fmt.Errorf("set lifecycle of %q: %w", key, err)
		}
		old, n, err := changedNodeAt(recs[0], "n", "old")
		au.changeNode(old, n, false, propLifecycle)
		return n, err
	})
}

// RunGroupInput describes a run group (a sweep, an A/B comparison) in an experiment.
type RunGroupInput struct {
	Experiment  string // the experiment's node ID
	Name        string
	Description *string
}

const cypherCreateRunGroup = `
MATCH (e:` + LabelNode + ` {key: $experiment})
MERGE (g:` + LabelNode + ` {key: $key})
  ON CREATE SET g:` + string(KindRunGroup) + `, g.kind = '` + string(KindRunGroup) + `', g.name = $name,
    g.description = $description, g.experimentId = e.experimentId,
    g.recordedAt = datetime.transaction(), g.recordedBy = $actor, g._created = true
MERGE (g)-[:` + RelInExperiment + `]->(e)
WITH g, g._created IS NOT NULL AS created
REMOVE g._created
RETURN g, created`

// CreateRunGroup creates a run group, or returns the existing one of that name when the
// description is the same (created false); another description is a CONFLICT.
func (s *Store) CreateRunGroup(ctx context.Context, actor string, in RunGroupInput) (Node, bool, error) {
	if err := RequireKind("experiment", in.Experiment, KindExperiment, "experiment:<id>"); err != nil {
		return Node{}, false, err
	}
	if err := checkText("name", in.Name, MaxRunNameLength); err != nil {
		return Node{}, false, err
	}
	if err := checkDescription("description", in.Description); err != nil {
		return Node{}, false, err
	}
	type result struct {
		g       Node
		created bool
	}
	res, err := write(ctx, s, actor, ActionRunGroupCreate, func(tx neo4j.ManagedTransaction, au *audit) (result, error) {
		au.target(in.Experiment)
		e, err := nodeByKey(ctx, tx, "experiment", in.Experiment)
		if err != nil {
			return result{}, err
		}
		recs, err := collect(ctx, tx, cypherCreateRunGroup, map[string]any{
			"experiment": in.Experiment, "key": RunGroupKey(e.String(propExperimentID), in.Name), "name": in.Name,
			"description": optValue(in.Description), "actor": actor,
		})
		if err != nil {
			return result{}, fmt.Errorf("create run group %q: %w", in.Name, err)
		}
		g, err := nodeAt(recs[0], "g")
		if err != nil {
			return result{}, err
		}
		au.target(g.Key)
		created, _ := recs[0].Get("created")
		if created != true {
			if err := firstConflict(g, "run group", []fieldCheck{{"description", "description", in.Description}}); err != nil {
				return result{}, err
			}
		}
		return result{g, created == true}, nil
	})
	return res.g, res.created, err
}

// RunInput describes a run to start.
type RunInput struct {
	Experiment string // the experiment's node ID
	// RunID, when set, is the client's id for the run (32 hex digits); else one is made.
	RunID *string
	// Group and Parent are node IDs of a run group of the same experiment and of the
	// parent run of a nested run.
	Group  *string
	Parent *string
	Name   *string
	// StartTime defaults to the server time.
	StartTime   *time.Time
	Status      *RunStatus
	Tags        []Tag
	User        *string
	CodeVersion *string
	EntryPoint  *string
	// ExecutedBy is the ID of the training or processing job that executed the run.
	ExecutedBy *string
	// ArtifactURI is where the run's artifacts live; optional.
	ArtifactURI *string
}

const cypherStartRun = `
MATCH (e:` + LabelNode + ` {key: $experiment})
CREATE (r:` + LabelNode + `:` + string(KindRun) + ` {
  key: $key, kind: '` + string(KindRun) + `', name: $name, runId: $runId, experimentId: e.experimentId,
  status: $status, startTime: coalesce($startTime, datetime.transaction()), endTime: null,
  user: $user, codeVersion: $codeVersion, entryPoint: $entryPoint, artifactUri: $artifactUri,
  tagKeys: $tagKeys, tagValues: $tagValues, lifecycle: 'active',
  recordedAt: datetime.transaction(), recordedBy: $actor})
CREATE (r)-[:` + RelInExperiment + `]->(e)
WITH r
OPTIONAL MATCH (g:` + LabelNode + ` {key: $group})
FOREACH (_ IN CASE WHEN g IS NULL THEN [] ELSE [1] END | CREATE (r)-[:` + RelInGroup + `]->(g))
WITH r
OPTIONAL MATCH (p:` + LabelNode + ` {key: $parent})
FOREACH (_ IN CASE WHEN p IS NULL THEN [] ELSE [1] END | CREATE (r)-[:` + RelChildOf + `]->(p))
WITH r
OPTIONAL MATCH (j:` + LabelNode + ` {key: $executedBy})
FOREACH (_ IN CASE WHEN j IS NULL THEN [] ELSE [1] END | CREATE (r)-[:` + RelExecutedBy + `]->(j))
RETURN r`

// StartRun creates a run in an experiment (active, RUNNING unless told otherwise).
func (s *Store) StartRun(ctx context.Context, actor string, in RunInput) (Node, error) {
	r, err := checkRunInput(in)
	if err != nil {
		return Node{}, err
	}
	return write(ctx, s, actor, ActionRunStart, func(tx neo4j.ManagedTransaction, au *audit) (Node, error) {
		au.target(RunKey(r.runID), in.Experiment)
		e, err := nodeByKey(ctx, tx, "experiment", in.Experiment)
		if err != nil {
			return Node{}, err
		}
		if Lifecycle(e.String(propLifecycle)) == LifecycleDeleted {
			return Node{}, apperr.Invalid("experiment", "experiment %q is deleted; restore it to add runs", e.Key)
		}
		if _, err := nodeByKey(ctx, tx, "runId", RunKey(r.runID)); err == nil {
			return Node{}, apperr.Conflicting("runId", "a run with id %q exists already", r.runID)
		}
		if in.Group != nil {
			g, err := nodeByKey(ctx, tx, "group", *in.Group)
			if err != nil {
				return Node{}, err
			}
			if g.String(propExperimentID) != e.String(propExperimentID) {
				return Node{}, apperr.Invalid("group", "run group %q belongs to another experiment", g.Key)
			}
		}
		if in.Parent != nil {
			if _, err := nodeByKey(ctx, tx, "parent", *in.Parent); err != nil {
				return Node{}, err
			}
		}
		if in.ExecutedBy != nil {
			if _, err := nodeByKey(ctx, tx, "executedBy", *in.ExecutedBy); err != nil {
				return Node{}, err
			}
		}
		recs, err := collect(ctx, tx, cypherStartRun, map[string]any{
			"experiment": in.Experiment, "key": RunKey(r.runID), "runId": r.runID, "name": r.name,
			"status": string(r.status), "startTime": r.start, "user": optValue(in.User),
			"codeVersion": optValue(in.CodeVersion), "entryPoint": optValue(in.EntryPoint),
			"artifactUri": optValue(in.ArtifactURI), "tagKeys": r.tagKeys, "tagValues": r.tagValues,
			"group": optValue(in.Group), "parent": optValue(in.Parent), "executedBy": optValue(in.ExecutedBy),
			"actor": actor,
		})
		if isConstraintViolation(err) {
			// Another start with the same run id won the race.
			return Node{}, apperr.Conflicting("runId", "a run with id %q exists already", r.runID)
		}
		if err != nil {
			return Node{}, fmt.Errorf("start run in %q: %w", in.Experiment, err)
		}
		return nodeAt(recs[0], "r")
	})
}

// runStart is a checked RunInput: the run's ID, name and status (defaults filled in),
// its start time as the driver sends it (or nil), and its tags as parallel lists.
type runStart struct {
	runID, name        string
	status             RunStatus
	start              any
	tagKeys, tagValues []string
}

// checkRunInput checks every field of in before the transaction, each error naming
// its field, and fills in the defaults.
func checkRunInput(in RunInput) (runStart, error) {
	if err := RequireKind("experiment", in.Experiment, KindExperiment, "experiment:<id>"); err != nil {
		return runStart{}, err
	}
	runID := NewRunID()
	if in.RunID != nil {
		if !runIDForm.MatchString(*in.RunID) {
			return runStart{}, apperr.Invalid("runId", "must be 32 lowercase hexadecimal digits (got %q)", truncateForMessage(*in.RunID))
		}
		runID = *in.RunID
	}
	name := runID[:8]
	if in.Name != nil {
		if err := checkText("name", *in.Name, MaxRunNameLength); err != nil {
			return runStart{}, err
		}
		name = *in.Name
	}
	status := RunRunning
	if in.Status != nil {
		status = *in.Status
	}
	if err := checkRunStatus("status", status); err != nil {
		return runStart{}, err
	}
	for field, v := range map[string]*string{"user": in.User, "codeVersion": in.CodeVersion, "entryPoint": in.EntryPoint} {
		if err := checkProse(field, v, MaxShortTextLength); err != nil {
			return runStart{}, err
		}
	}
	if in.ArtifactURI != nil {
		if _, err := checkURI("artifactUri", *in.ArtifactURI); err != nil {
			return runStart{}, err
		}
	}
	if in.Group != nil {
		if err := RequireKind("group", *in.Group, KindRunGroup, "runGroup:<experiment id>/<name>"); err != nil {
			return runStart{}, err
		}
	}
	if in.Parent != nil {
		if err := RequireKind("parent", *in.Parent, KindRun, "run:<run id>"); err != nil {
			return runStart{}, err
		}
	}
	if in.ExecutedBy != nil {
		if err := RequireKind("executedBy", *in.ExecutedBy, KindTrainingJob, "job:<namespace>:<name>"); err != nil {
			return runStart{}, err
		}
	}
	tagKeys, tagValues, err := checkTags("tags", in.Tags)
	if err != nil {
		return runStart{}, err
	}
	var start any
	if in.StartTime != nil {
		start = in.StartTime.UTC()
	}
	return runStart{runID: runID, name: name, status: status, start: start, tagKeys: tagKeys, tagValues: tagValues}, nil
}

func checkRunStatus(field string, st RunStatus) error {
	switch st {
	case RunRunning, RunScheduled, RunFinished, RunFailed, RunKilled:
		return nil
	}
	return apperr.Invalid(field, "must be RUNNING, SCHEDULED, FINISHED, FAILED or KILLED (got %q)", truncateForMessage(string(st)))
}

// RunUpdate changes a run's status, start or end time, or name.
type RunUpdate struct {
	Run       string // the run's node ID
	Status    *RunStatus
	StartTime *time.Time
	EndTime   *time.Time
	Name      *string
}

// The run is locked (SET) before its old values are read, as in cypherSetLifecycle.
const cypherUpdateRun = `
MATCH (r:` + LabelNode + ` {key: $key})
SET r._lock_ = true
REMOVE r._lock_
WITH r, r {.status, .startTime, .endTime, .name} AS old
SET r.status = coalesce($status, r.status),
    r.startTime = coalesce($startTime, r.startTime),
    r.endTime = CASE WHEN $endTime IS NOT NULL THEN $endTime
                     WHEN $status IS NOT NULL AND $status <> 'RUNNING' AND $status <> 'SCHEDULED' AND r.endTime IS NULL
                     THEN datetime.transaction() ELSE r.endTime END,
    r.name = coalesce($name, r.name),
    r.updatedAt = datetime.transaction(), r.updatedBy = $actor
RETURN r, old`

// UpdateRun applies u. A run that reaches FINISHED, FAILED or KILLED without an end
// time gets the server time.
func (s *Store) UpdateRun(ctx context.Context, actor string, u RunUpdate) (Node, error) {
	if err := RequireKind("run", u.Run, KindRun, "run:<run id>"); err != nil {
		return Node{}, err
	}
	var status, start, end any
	if u.StartTime != nil {
		start = u.StartTime.UTC()
	}
	if u.Status != nil {
		if err := checkRunStatus("status", *u.Status); err != nil {
			return Node{}, err
		}
		status = string(*u.Status)
	}
	if u.EndTime != nil {
		end = u.EndTime.UTC()
	}
	if u.Name != nil {
		if err := checkText("name", *u.Name, MaxRunNameLength); err != nil {
			return Node{}, err
		}
	}
	return write(ctx, s, actor, ActionRunUpdate, func(tx neo4j.ManagedTransaction, au *audit) (Node, error) {
		au.target(u.Run)
		r, err := nodeByKey(ctx, tx, "run", u.Run)
		if err != nil {
			return Node{}, err
		}
		if err := checkRunTimes(r, u); err != nil {
			return Node{}, err
		}
		recs, err := collect(ctx, tx, cypherUpdateRun, map[string]any{
			"key": u.Run, "status": status, "startTime": start, "endTime": end, "name": optValue(u.Name), "actor": actor,
		})
		if err != nil {
			return Node{}, fmt.Errorf("update run %q: %w", u.Run, err)
		}
		old, r, err := changedNodeAt(recs[0], "r", "old")
		au.changeNode(old, r, false, propStatus, propStartTime, propEndTime, propName)
		return r, err
	})
}

// checkRunTimes refuses an update that would end run r before it started.
func checkRunTimes(r Node, u RunUpdate) error {
	start, end := r.OptTime(propStartTime), r.OptTime(propEndTime)
	if u.StartTime != nil {
		start = u.StartTime
	}
	if u.EndTime != nil {
		end = u.EndTime
	}
	if start == nil || end == nil || !end.Before(*start) {
		return nil
	}
	if u.EndTime != nil {
		return apperr.Invalid("endTime", "must not be before the run's start time %s", start.Format(time.RFC3339Nano))
	}
	return apperr.Invalid("startTime", "must not be after the run's end time %s", end.Format(time.RFC3339Nano))
}

// Neighbour queries of tracking records, each returning nodes n by ID.
const (
	cypherRunGroupsOf = `MATCH (:` + LabelNode + ` {key: $key})<-[:` + RelInExperiment + `]-(n:` + string(KindRunGroup) + `)
RETURN n ORDER BY n.name`
	cypherGroupOfRun = `MATCH (:` + LabelNode + ` {key: $key})-[:` + RelInGroup + `]->(n:` + LabelNode + `)
RETURN n`
	cypherParentOfRun = `MATCH (:` + LabelNode + ` {key: $key})-[:` + RelChildOf + `]->(n:` + LabelNode + `)
RETURN n`
	cypherChildrenOfRun = `MATCH (:` + LabelNode + ` {key: $key})<-[:` + RelChildOf + `]-(n:` + LabelNode + `)
RETURN n ORDER BY n.startTime, n.key LIMIT 1000`
	cypherExecutorOfRun = `MATCH (:` + LabelNode + ` {key: $key})-[:` + RelExecutedBy + `]->(n:` + LabelNode + `)
RETURN n`
)

// RunGroupsOf returns an experiment's run groups, by name.
func (s *Store) RunGroupsOf(ctx context.Context, experiment string) ([]Node, error) {
	return s.neighbours(ctx, cypherRunGroupsOf, experiment)
}

// GroupOfRun, ParentOfRun and ExecutorOfRun return the run group, the parent run and
// the executing job of a run: none or one node.
func (s *Store) GroupOfRun(ctx context.Context, run string) ([]Node, error) {
	return s.neighbours(ctx, cypherGroupOfRun, run)
}

// ParentOfRun returns the run a run is nested in, if any.
func (s *Store) ParentOfRun(ctx context.Context, run string) ([]Node, error) {
	return s.neighbours(ctx, cypherParentOfRun, run)
}

// ExecutorOfRun returns the job that executed a run, if recorded.
func (s *Store) ExecutorOfRun(ctx context.Context, run string) ([]Node, error) {
	return s.neighbours(ctx, cypherExecutorOfRun, run)
}

// ChildrenOfRun returns the runs nested in a run, oldest first (at most 1,000).
func (s *Store) ChildrenOfRun(ctx context.Context, run string) ([]Node, error) {
	return s.neighbours(ctx, cypherChildrenOfRun, run)
}

// ExperimentPage is a page of experiments.
type ExperimentPage struct {
	Experiments []Node
	// Cursors[i] points after Experiments[i].
	Cursors   []string
	EndCursor string
}

const cypherExperiments = `
MATCH (e:` + string(KindExperiment) + `)
WHERE e.lifecycle IN $lifecycles AND toInteger(e.experimentId) > $after
WITH e ORDER BY toInteger(e.experimentId) LIMIT $limit
RETURN collect(e {.*}) AS experiments`

// Experiments lists experiments by id, a page at a time.
func (s *Store) Experiments(ctx context.Context, first int, after string, view RunView) (ExperimentPage, error) {
	if _, err := checkPage(&first); err != nil {
		return ExperimentPage{}, err
	}
	lifecycles, err := viewLifecycles(view)
	if err != nil {
		return ExperimentPage{}, err
	}
	afterID := int64(-1)
	if after != "" {
		var c struct {
			ID int64 `json:"e"`
		}
		if err := decodeOpaque("after", after, 128, &c); err != nil || c.ID < 0 {
			return ExperimentPage{}, errNotCursor("after")
		}
		afterID = c.ID
	}
	return read(ctx, s, func(tx neo4j.ManagedTransaction) (ExperimentPage, error) {
		recs, err := collect(ctx, tx, cypherExperiments, map[string]any{"lifecycles": lifecycles, "after": afterID, "limit": first + 1})
		if err != nil {
			return ExperimentPage{}, fmt.Errorf("list experiments: %w", err)
		}
		exps, err := nodesAt(recs[0], "experiments")
		if err != nil {
			return ExperimentPage{}, err
		}
		var page ExperimentPage
		for i, e := range exps {
			if i == first {
				page.EndCursor = page.Cursors[first-1]
				break
			}
			id, _ := strconv.ParseInt(e.String(propExperimentID), 10, 64)
			page.Experiments = append(page.Experiments, e)
			page.Cursors = append(page.Cursors, encodeOpaque(struct {
				ID int64 `json:"e"`
			}{id}))
		}
		return page, nil
	})
}

// viewLifecycles is the lifecycle stages a view holds.
func viewLifecycles(view RunView) ([]string, error) {
	switch view {
	case ViewActiveOnly, "":
		return []string{string(LifecycleActive)}, nil
	case ViewDeletedOnly:
		return []string{string(LifecycleDeleted)}, nil
	case ViewAll:
		return []string{string(LifecycleActive), string(LifecycleDeleted)}, nil
	}
	return nil, apperr.Invalid("view", "must be ACTIVE_ONLY, DELETED_ONLY or ALL (got %q)", truncateForMessage(string(view)))
}

const cypherExperimentOf = `MATCH (:` + LabelNode + ` {key: $key})-[:` + RelInExperiment + `]->(n:` + LabelNode + `)
RETURN n`

// ExperimentOf returns the experiment a run or run group belongs to.
func (s *Store) ExperimentOf(ctx context.Context, key string) (Node, error) {
	ns, err := s.neighbours(ctx, cypherExperimentOf, key)
	if err != nil {
		return Node{}, err
	}
	if len(ns) == 0 {
		// Runs and groups are created with their experiment in one transaction.
		return Node{}, fmt.Errorf("%q belongs to no experiment", key)
	}
	return ns[0], nil
}
