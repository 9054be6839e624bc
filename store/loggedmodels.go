package store

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"

	"github.com/provgraph/provgraph/apperr"
)

// Logged models are MLflow 3's models: what log_model records, under an id of its own
// ("m-" and 32 hex digits), before and apart from any registry entry. provgraph records
// one as an Artifact whose URI is the model's own URI, models:/<model id>, so that
//
//   - its ID is artifact:models:/<model id>, readable and resolvable by node(id:);
//   - the run that logged it PRODUCED it, like any output of a run;
//   - a model version registered from models:/<model id> (or with its model id) is
//     linked to it by REGISTERED_AS, so lineage from the version runs back through the
//     logged model to the run and what the run read.
//
// Its name, type, status, artifact location, tags and parameters are properties of the
// node. Parameters are immutable, like a run's; tags and the status (PENDING until
// the client finalizes the upload as READY or FAILED) are labels. Nothing is erased: a
// deleted logged model is marked deleted and stays in lineage.

// LoggedModelStatus is where a logged model's upload stands.
type LoggedModelStatus string

// The statuses of a logged model.
const (
	LoggedModelPending LoggedModelStatus = "PENDING"
	LoggedModelReady   LoggedModelStatus = "READY"
	LoggedModelFailed  LoggedModelStatus = "FAILED"
)

// Limits of logged models.
const (
	// MaxLoggedModelParams is the most parameters one logged model holds (MLflow's
	// log_model copies the run's parameters onto the model).
	MaxLoggedModelParams = 1000
	// MaxLoggedModelNameLength is the longest logged-model name.
	MaxLoggedModelNameLength = 256
)

// Logged-model properties beyond an artifact's.
const (
	propModelID          = "modelId"
	propModelType        = "modelType"
	propArtifactLocation = "artifactLocation"
	propSourceRun        = "sourceRun"
	propParamKeys        = "paramKeys"
	propParamValues      = "paramValues"
	propLoggedModel      = "loggedModel"
	propModelUpdatedAt   = "updatedAt"
	loggedModelURIPrefix = "models:/"
)

var loggedModelIDForm = regexp.MustCompile(`^m-[0-9a-f]{32}$`)

// NewLoggedModelID returns a fresh logged-model id in MLflow 3's form: "m-" and 32
// hexadecimal digits.
func NewLoggedModelID() string { return "m-" + NewRunID() }

// LoggedModelKey is the ID of a logged model: artifact:models:/<model id>.
func LoggedModelKey(modelID string) string { return ArtifactKey(loggedModelURIPrefix + modelID) }

// LoggedModelIDOf returns the model id of a logged model's key or URI
// (artifact:models:/m-…, models:/m-…), or "" when it is neither.
func LoggedModelIDOf(keyOrURI string) string {
	id, ok := strings.CutPrefix(strings.TrimPrefix(keyOrURI, prefixArtifact), loggedModelURIPrefix)
	if !ok || !loggedModelIDForm.MatchString(id) {
		return ""
	}
	return id
}

// IsLoggedModel tells whether n is a logged model.
func (n Node) IsLoggedModel() bool { return n.Kind == KindArtifact && n.String(propModelID) != "" }

// Params returns the parameters stored on a logged model, by key.
func (n Node) Params() []Param {
	keys, _ := n.Props[propParamKeys].([]any)
	values, _ := n.Props[propParamValues].([]any)
	out := make([]Param, 0, len(keys))
	for i := range min(len(keys), len(values)) {
		k, _ := keys[i].(string)
		v, _ := values[i].(string)
		out = append(out, Param{Key: k, Value: v})
	}
	return out
}

// LoggedModel is what a logged model's node records beyond an artifact's fields,
// decoded in one place (Node.LoggedModel) so no caller reads its properties by name.
type LoggedModel struct {
	// ModelID is MLflow's id of the model, m- and 32 hexadecimal digits.
	ModelID string
	// ExperimentID is the id (not the node ID) of the experiment it belongs to.
	ExperimentID string
	// ModelType is the type its client gave, "" when none.
	ModelType string
	Status    LoggedModelStatus
	// SourceRun is the node ID of the run that logged it, when one did.
	SourceRun *string
	// ArtifactLocation is where its files are stored.
	ArtifactLocation string
	// UpdatedAt is when it last changed (its creation when it never did).
	UpdatedAt time.Time
	// Deleted tells whether it was deleted (it stays in lineage).
	Deleted bool
	// Params are its parameters and Tags its tags, each sorted by key.
	Params []Param
	Tags   []Tag
}

// LoggedModel decodes n as a logged model; ok is false when n is not one (any other
// artifact or node).
func (n Node) LoggedModel() (m LoggedModel, ok bool) {
	if !n.IsLoggedModel() {
		return LoggedModel{}, false
	}
	updated := n.RecordedAt
	if t := n.OptTime(propModelUpdatedAt); t != nil {
		updated = *t
	}
	return LoggedModel{
		ModelID: n.String(propModelID), ExperimentID: n.String(propExperimentID),
		ModelType: n.String(propModelType), Status: LoggedModelStatus(n.String(propStatus)),
		SourceRun: n.OptString(propSourceRun), ArtifactLocation: n.String(propArtifactLocation),
		UpdatedAt: updated, Deleted: Lifecycle(n.String(propLifecycle)) == LifecycleDeleted,
		Params: n.Params(), Tags: n.Tags(),
	}, true
}

// LoggedModelInput describes a logged model to create.
type LoggedModelInput struct {
	// ModelID is the new model's id (NewLoggedModelID).
	ModelID string
	// Experiment is the node ID of the experiment the model belongs to.
	Experiment string
	Name       string
	ModelType  *string
	// SourceRun, when set, is the node ID of the run that logged the model: the run is
	// recorded as its producer.
	SourceRun *string
	// ArtifactLocation is where the model's files are stored.
	ArtifactLocation string
	Tags             []Tag
	Params           []Param
}

const (
	cypherCreateLoggedModel = `
MATCH (e:` + LabelNode + ` {key: $experiment})
CREATE (m:` + LabelNode + `:` + string(KindArtifact) + ` {
  key: $key, kind: '` + string(KindArtifact) + `', name: $name, uri: $uri, modelId: $modelId,
  experimentId: e.experimentId, modelType: $modelType, status: '` + string(LoggedModelPending) + `',
  artifactLocation: $artifactLocation, sourceRun: $sourceRun,
  tagKeys: $tagKeys, tagValues: $tagValues, paramKeys: $paramKeys, paramValues: $paramValues,
  lifecycle: '` + string(LifecycleActive) + `',
  recordedAt: datetime.transaction(), recordedBy: $actor,
  updatedAt: datetime.transaction(), updatedBy: $actor})
RETURN m`

	cypherUpdateLoggedModel = `
MATCH (m:` + LabelNode + ` {key: $key})
WITH m, m {.status, .lifecycle, .tagKeys, .tagValues} AS old
SET m.status = $status, m.tagKeys = $tagKeys, m.tagValues = $tagValues,
    m.paramKeys = $paramKeys, m.paramValues = $paramValues, m.lifecycle = $lifecycle,
    m.updatedAt = datetime.transaction(), m.updatedBy = $actor
RETURN m, old`

	// cypherListLoggedModels pages through every experiment's logged models: their keys
	// share one prefix, so this is a range seek on the node-key index in key order from
	// the cursor ($after, else the prefix) to the end of the prefix ($before).
	cypherListLoggedModels = `
MATCH (n:` + LabelNode + `) USING INDEX n:` + LabelNode + `(key)
WHERE n.key > $after AND n.key < $before AND n:` + string(KindArtifact) + `
  AND n.modelId IS NOT NULL AND n.lifecycle = '` + string(LifecycleActive) + `'
WITH n ORDER BY n.key LIMIT $limit RETURN collect(n {.*}) AS nodes`

	// cypherListExperimentLoggedModels pages through the logged models of the given
	// experiments: for each, a seek on loggedModelExperimentIndex (hinted: the planner
	// chose a scan on some statistics) reads its models in key
	// order and stops after $limit, so a page reads at most $limit models per experiment
	// however many logged models the others hold; the pages are merged in key order.
	cypherListExperimentLoggedModels = `
UNWIND $experiments AS experiment
CALL (experiment) {
  MATCH (n:` + LabelNode + `:` + string(KindArtifact) + `)
  USING INDEX n:` + string(KindArtifact) + `(` + propExperimentID + `, key)
  WHERE n.` + propExperimentID + ` = experiment AND n.key > $after
    AND n.modelId IS NOT NULL AND n.lifecycle = '` + string(LifecycleActive) + `'
  RETURN n ORDER BY n.` + propExperimentID + `, n.key LIMIT $limit
}
WITH n ORDER BY n.key LIMIT $limit RETURN collect(n {.*}) AS nodes`

	cypherRegistrationsOf = `
MATCH (:` + LabelNode + ` {key: $key})-[:` + RelRegisteredAs + `]->(v:` + string(KindModelVersion) + `)
RETURN v.model AS model, v.version AS version ORDER BY model, version`
)

// CreateLoggedModel records a new logged model, PENDING, in an active experiment; when
// a source run is given, the run PRODUCED it.
func (s *Store) CreateLoggedModel(ctx context.Context, actor string, in LoggedModelInput) (Node, error) {
	if !loggedModelIDForm.MatchString(in.ModelID) {
		return Node{}, apperr.Invalid("model_id", "must be m- and 32 hexadecimal digits (got %q)", truncateForMessage(in.ModelID))
	}
	if err := RequireKind("experiment_id", in.Experiment, KindExperiment, "experiment:<id>"); err != nil {
		return Node{}, err
	}
	if err := checkText("name", in.Name, MaxLoggedModelNameLength); err != nil {
		return Node{}, err
	}
	if err := checkOptText("model_type", in.ModelType, MaxShortTextLength); err != nil {
		return Node{}, err
	}
	if in.SourceRun != nil {
		if err := RequireKind("source_run_id", *in.SourceRun, KindRun, "run:<run id>"); err != nil {
			return Node{}, err
		}
	}
	if _, err := checkURI("artifact_location", in.ArtifactLocation); err != nil {
		return Node{}, err
	}
	tagKeys, tagValues, err := checkTags("tags", in.Tags)
	if err != nil {
		return Node{}, err
	}
	paramKeys, paramValues, err := mergeLoggedModelParams("params", nil, in.Params)
	if err != nil {
		return Node{}, err
	}
	key := LoggedModelKey(in.ModelID)
	return write(ctx, s, actor, ActionLoggedModelCreate, func(tx neo4j.ManagedTransaction, au *audit) (Node, error) {
		au.target(key)
		if in.SourceRun != nil {
			au.target(*in.SourceRun)
		}
		e, err := nodeByKey(ctx, tx, "experiment_id", in.Experiment)
		if err != nil {
			return Node{}, err
		}
		if Lifecycle(e.String(propLifecycle)) == LifecycleDeleted {
			return Node{}, apperr.Invalid("experiment_id", "experiment %q is deleted; restore it before logging models to it", in.Experiment)
		}
		if in.SourceRun != nil {
			if _, err := lockActiveRun(ctx, tx, "source_run_id", *in.SourceRun); err != nil {
				return Node{}, err
			}
		}
		recs, err := collect(ctx, tx, cypherCreateLoggedModel, map[string]any{
			"experiment": in.Experiment, "key": key, "name": in.Name, "uri": loggedModelURIPrefix + in.ModelID,
			"modelId": in.ModelID, "modelType": optValue(in.ModelType), "artifactLocation": in.ArtifactLocation,
			"sourceRun": optValue(in.SourceRun), "tagKeys": tagKeys, "tagValues": tagValues,
			"paramKeys": paramKeys, "paramValues": paramValues, "actor": actor,
		})
		if err != nil {
			return Node{}, fmt.Errorf("create logged model %q: %w", in.ModelID, err)
		}
		if in.SourceRun != nil {
			// The model was created here: the transaction holds its lock.
			var io jobIO
			io.wrote(*in.SourceRun, key)
			if err := linkJobIO(ctx, tx, actor, io); err != nil {
				return Node{}, err
			}
		}
		return nodeAt(recs[0], "m")
	})
}

// mergeLoggedModelParams adds params to a model's parameters (kept sorted by key) and
// returns them as two parallel lists. A parameter, once logged, keeps its value: the
// same value again is a no-op, another one a CONFLICT.
func mergeLoggedModelParams(field string, have, add []Param) (keys, values []string, err error) {
	if len(add) > MaxLoggedModelParams {
		return nil, nil, apperr.Invalid(field, "must hold at most %d parameters (got %d)", MaxLoggedModelParams, len(add))
	}
	m := make(map[string]string, len(have)+len(add))
	for _, p := range have {
		m[p.Key] = p.Value
	}
	for i, p := range add {
		f := fmt.Sprintf("%s[%d]", field, i)
		if err := checkText(f+".key", p.Key, MaxParamKeyLength); err != nil {
			return nil, nil, err
		}
		if err := checkProse(f+".value", &p.Value, MaxParamValueLength); err != nil {
			return nil, nil, err
		}
		if old, ok := m[p.Key]; ok && old != p.Value {
			return nil, nil, apperr.Conflicting(f+".value", "parameter %q was logged with value %q; got %q (parameters are immutable)",
				truncateForMessage(p.Key), truncateForMessage(old), truncateForMessage(p.Value))
		}
		m[p.Key] = p.Value
	}
	if len(m) > MaxLoggedModelParams {
		return nil, nil, apperr.Invalid(field, "a logged model holds at most %d parameters (this makes %d)", MaxLoggedModelParams, len(m))
	}
	keys = slices.Sorted(func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	})
	values = make([]string, len(keys))
	for i, k := range keys {
		values[i] = m[k]
	}
	return keys, values, nil
}

// LoggedModel returns the logged model with the given model id; a deleted one only when
// deleted is true. Anything else is NOT_FOUND.
func (s *Store) LoggedModel(ctx context.Context, modelID string, deleted bool) (Node, error) {
	if !loggedModelIDForm.MatchString(modelID) {
		return Node{}, missingLoggedModel(modelID)
	}
	return read(ctx, s, func(tx neo4j.ManagedTransaction) (Node, error) {
		return loggedModelTx(ctx, tx, modelID, deleted)
	})
}

func missingLoggedModel(modelID string) error {
	return apperr.Missing("model_id", "no logged model has id %q", truncateForMessage(modelID))
}

func loggedModelTx(ctx context.Context, tx neo4j.ManagedTransaction, modelID string, deleted bool) (Node, error) {
	m, err := nodeByKey(ctx, tx, "model_id", LoggedModelKey(modelID))
	if apperr.CodeOf(err) == apperr.NotFound {
		return Node{}, missingLoggedModel(modelID)
	}
	if err != nil {
		return Node{}, err
	}
	if !m.IsLoggedModel() || (!deleted && Lifecycle(m.String(propLifecycle)) == LifecycleDeleted) {
		return Node{}, missingLoggedModel(modelID)
	}
	return m, nil
}

// LoggedModelUpdate changes a logged model: its status (from PENDING to READY or
// FAILED), its tags (labels: the last write wins), its parameters (added, never
// changed), or deletes it (marks it deleted; it stays in lineage).
type LoggedModelUpdate struct {
	ModelID    string
	Status     *LoggedModelStatus
	SetTags    []Tag
	DeleteTags []string
	AddParams  []Param
	Delete     bool
}

// UpdateLoggedModel applies u to an active logged model and returns it. Finalizing
// again with the status it has is a no-op; any other change of a READY or FAILED
// model's status is an INVALID_ARGUMENT error. Deleting a tag the model does not have
// is NOT_FOUND, as in MLflow.
func (s *Store) UpdateLoggedModel(ctx context.Context, actor string, u LoggedModelUpdate) (Node, error) {
	if !loggedModelIDForm.MatchString(u.ModelID) {
		return Node{}, missingLoggedModel(u.ModelID)
	}
	if u.Status != nil && *u.Status != LoggedModelReady && *u.Status != LoggedModelFailed {
		return Node{}, apperr.Invalid("status", "must be LOGGED_MODEL_READY or LOGGED_MODEL_UPLOAD_FAILED (got %q)", truncateForMessage(string(*u.Status)))
	}
	if len(u.SetTags) > MaxTagsPerCall {
		return Node{}, apperr.Invalid("tags", "must hold at most %d tags per call (got %d)", MaxTagsPerCall, len(u.SetTags))
	}
	if len(u.AddParams) > MaxParamsPerCall {
		return Node{}, apperr.Invalid("params", "must hold at most %d parameters per call (got %d)", MaxParamsPerCall, len(u.AddParams))
	}
	key := LoggedModelKey(u.ModelID)
	return write(ctx, s, actor, ActionLoggedModelUpdate, func(tx neo4j.ManagedTransaction, au *audit) (Node, error) {
		au.target(key)
		if _, err := collect(ctx, tx, cypherLockNode, map[string]any{"key": key}); err != nil {
			return Node{}, fmt.Errorf("lock %q: %w", key, err)
		}
		m, err := loggedModelTx(ctx, tx, u.ModelID, false)
		if err != nil {
			return Node{}, err
		}
		status := m.String(propStatus)
		if u.Status != nil && string(*u.Status) != status {
			if status != string(LoggedModelPending) {
				return Node{}, apperr.Invalid("status", "logged model %q was finalized as %s; its status cannot change", u.ModelID, status)
			}
			status = string(*u.Status)
		}
		for i, k := range u.DeleteTags {
			if !slices.ContainsFunc(m.Tags(), func(t Tag) bool { return t.Key == k }) {
				return Node{}, apperr.Missing(fmt.Sprintf("tag_key[%d]", i), "logged model %q has no tag %q", u.ModelID, truncateForMessage(k))
			}
		}
		tagKeys, tagValues, err := mergeTags(m.Tags(), u.SetTags, u.DeleteTags)
		if err != nil {
			return Node{}, apperr.WithField(err, "setTags", "tags")
		}
		paramKeys, paramValues, err := mergeLoggedModelParams("params", m.Params(), u.AddParams)
		if err != nil {
			return Node{}, err
		}
		lifecycle := LifecycleActive
		if u.Delete {
			lifecycle = LifecycleDeleted
		}
		recs, err := collect(ctx, tx, cypherUpdateLoggedModel, map[string]any{
			"key": key, "status": status, "tagKeys": tagKeys, "tagValues": tagValues,
			"paramKeys": paramKeys, "paramValues": paramValues, "lifecycle": string(lifecycle), "actor": actor,
		})
		if err != nil {
			return Node{}, fmt.Errorf("update logged model %q: %w", u.ModelID, err)
		}
		// Parameters are only added (a logged one never changes), so they are no change.
		old, m, err := changedNodeAt(recs[0], "m", "old")
		au.changeNode(old, m, true, propStatus, propLifecycle)
		return m, err
	})
}

// ListLoggedModels pages through the active logged models of the given experiments
// (every experiment when experimentIDs is nil), in ID order, first (1–MaxKindPage) at
// a time.
func (s *Store) ListLoggedModels(ctx context.Context, experimentIDs []string, first int, after string) (KindPage, error) {
	if first < 1 || first > MaxKindPage {
		return KindPage{}, apperr.Invalid("first", "must be between 1 and %d (got %d)", MaxKindPage, first)
	}
	from, err := decodeKeyCursor(after)
	if err != nil {
		return KindPage{}, err
	}
	query, params := listLoggedModelsQuery(experimentIDs, from, first+1)
	return read(ctx, s, func(tx neo4j.ManagedTransaction) (KindPage, error) {
		recs, err := collect(ctx, tx, query, params)
		if err != nil {
			return KindPage{}, fmt.Errorf("list logged models: %w", err)
		}
		nodes, err := nodesAt(recs[0], "nodes")
		if err != nil {
			return KindPage{}, err
		}
		return keyPage(nodes, first), nil
	})
}

// listLoggedModelsQuery returns the query and parameters for a page of up to limit
// logged models after the key after, of the given experiments (every experiment when
// experimentIDs is nil).
func listLoggedModelsQuery(experimentIDs []string, after string, limit int) (string, map[string]any) {
	params := map[string]any{"after": after, "limit": limit}
	if experimentIDs == nil {
		// Every logged model's key starts with prefix; none starts with before, the
		// string just past them.
		prefix := ArtifactKey(loggedModelURIPrefix + "m-")
		params["after"] = max(after, prefix)
		params["before"] = prefix[:len(prefix)-1] + string(rune(prefix[len(prefix)-1]+1))
		return cypherListLoggedModels, params
	}
	// Each experiment once: a repeated one would list its models twice.
	exps := slices.Clone(experimentIDs)
	slices.Sort(exps)
	params["experiments"] = slices.Compact(exps)
	return cypherListExperimentLoggedModels, params
}

// loggedModelMigration indexes logged models by experiment and key, for listing an
// experiment's logged models in key order without reading the others'. Only logged
// models are artifacts with an experiment id, so the index holds nothing else.
var loggedModelMigration = Migration{
	Version:     9,
	Description: "list an experiment's logged models in key order from an index",
	Statements: []string{
		`CREATE INDEX ` + loggedModelExperimentIndex + ` IF NOT EXISTS
		 FOR (m:` + string(KindArtifact) + `) ON (m.` + propExperimentID + `, m.key)`,
	},
	Indexes: []string{loggedModelExperimentIndex},
}

const loggedModelExperimentIndex = "logged_model_experiment_key"

// Registration is one model version registered from a logged model.
type Registration struct {
	Model   string
	Version int64
}

// RegistrationsOf returns the model versions registered from the logged model (or
// artifact) with key, by model name and version.
func (s *Store) RegistrationsOf(ctx context.Context, key string) ([]Registration, error) {
	return read(ctx, s, func(tx neo4j.ManagedTransaction) ([]Registration, error) {
		recs, err := collect(ctx, tx, cypherRegistrationsOf, map[string]any{"key": key})
		if err != nil {
			return nil, fmt.Errorf("registrations of %q: %w", key, err)
		}
		out := make([]Registration, 0, len(recs))
		for _, rec := range recs {
			m, _ := rec.Get("model")
			v, _ := rec.Get("version")
			name, _ := m.(string)
			n, _ := v.(int64)
			out = append(out, Registration{Model: name, Version: n})
		}
		return out, nil
	})
}

// LogRunOutputs records logged models as outputs of a run (MLflow's runs/outputs): the
// run PRODUCED each. A logged model has one producer: one produced by another run is a
// CONFLICT.
func (s *Store) LogRunOutputs(ctx context.Context, actor, run string, modelIDs []string) (Node, error) {
	if err := RequireKind("run_id", run, KindRun, "run:<run id>"); err != nil {
		return Node{}, err
	}
	if len(modelIDs) > MaxRunIOPerCall {
		return Node{}, apperr.Invalid("models", "must hold at most %d models (got %d)", MaxRunIOPerCall, len(modelIDs))
	}
	return write(ctx, s, actor, ActionRunOutputs, func(tx neo4j.ManagedTransaction, au *audit) (Node, error) {
		au.target(run)
		for _, id := range modelIDs {
			au.target(LoggedModelKey(id))
		}
		if _, err := lockActiveRun(ctx, tx, "run_id", run); err != nil {
			return Node{}, err
		}
		for i, id := range modelIDs {
			field := fmt.Sprintf("models[%d].model_id", i)
			if !loggedModelIDForm.MatchString(id) {
				return Node{}, apperr.WithField(missingLoggedModel(id), "model_id", field)
			}
			m, err := loggedModelTx(ctx, tx, id, false)
			if err != nil {
				return Node{}, apperr.WithField(err, "model_id", field)
			}
			recs, err := collect(ctx, tx, cypherProducerOf, map[string]any{"key": m.Key})
			if err != nil {
				return Node{}, fmt.Errorf("producer of %q: %w", m.Key, err)
			}
			for _, rec := range recs {
				if p, _ := rec.Get("producer"); p != run {
					return Node{}, apperr.Conflicting(field, "logged model %q was produced by %v; a logged model has one producer", id, p)
				}
			}
			var io jobIO
			io.wrote(run, m.Key)
			if err := linkJobIO(ctx, tx, actor, io); err != nil {
				return Node{}, err
			}
		}
		return nodeByKey(ctx, tx, "run_id", run)
	})
}

// LoggedModelOfVersion returns the model id of the logged model a model version was
// registered from, or "".
func (n Node) LoggedModelOfVersion() string { return n.String(propLoggedModel) }
