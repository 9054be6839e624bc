package store

import (
	"context"
	"fmt"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"

	"github.com/provgraph/provgraph/apperr"
)

// ModelVersionInput describes a model version to register.
type ModelVersionInput struct {
	// Model is the registered model's name; it is created on first use.
	Model string
	// Source is the URI of the model artifact.
	Source string
	// ProducedBy, when set, is the ID of the job that produced Source; the job must have
	// recorded Source as an output.
	ProducedBy  *string
	Description *string
	// Framework names what the model was built with, e.g. "xgboost 1.7".
	Framework *string
	// Signature describes the model's inputs and outputs (any JSON value, such as an
	// MLflow signature).
	Signature any
	// Metrics are the evaluation results the version is registered on.
	Metrics []ModelMetric
	// Tags label the version; like the rest of it they are fixed at registration.
	Tags []Tag
	// ProducedByRun, when set, is the ID of the tracked run the version came from: the
	// run is recorded as its producer (run -PRODUCED-> version).
	ProducedByRun *string
	// LoggedModel, when set, is the model id of the MLflow logged model the version is
	// registered from (whatever Source says): the logged model, not an artifact of
	// Source, is REGISTERED_AS the version.
	LoggedModel *string
}

// Model properties beyond the common ones.
const (
	propLatestVersion = "latestVersion"
	propSource        = "source"
	propModel         = "model"
)

// MaxModelNameLength is the longest registered-model name.
const MaxModelNameLength = 256

const (
	cypherJobProduced = `
MATCH (j:` + LabelNode + ` {key: $job})-[:` + RelProduced + `]->(a:` + LabelNode + ` {key: $artifact})
RETURN count(a) AS n`

	// Take the registered model's write lock first (MATCH takes no locks, SET does), so
	// that concurrent registrations queue instead of deadlocking on a lock upgrade
	// after MERGE. A model that does not exist yet is created by the MERGE below.
	cypherLockModel = `
MATCH (m:` + LabelNode + ` {key: $modelKey})
SET m._lock_ = true
REMOVE m._lock_`

	// The SET on m reads latestVersion under m's write lock, so concurrent
	// registrations get distinct, gap-free numbers.
	cypherRegisterModelVersion = `
MERGE (m:` + LabelNode + ` {key: $modelKey})
  ON CREATE SET m:` + string(KindRegisteredModel) + `, m.kind = '` + string(KindRegisteredModel) + `',
    m.name = $model, m.latestVersion = 0,
    m.recordedAt = datetime.transaction(), m.recordedBy = $actor
SET m.latestVersion = m.latestVersion + 1
WITH m
MERGE (a:` + LabelNode + ` {key: $artifactKey})
  ON CREATE SET a:` + string(KindArtifact) + `, a += $artifactProps,
    a.recordedAt = datetime.transaction(), a.recordedBy = $actor
CREATE (v:` + LabelNode + `:` + string(KindModelVersion) + ` {
    key: $modelKey + '/' + toString(m.latestVersion), kind: '` + string(KindModelVersion) + `',
    name: $model + '/' + toString(m.latestVersion), model: $model, version: m.latestVersion,
    source: $source, description: $description, framework: $framework, signature: $signature,
    metricKeys: $metricKeys, metricValues: $metricValues, tagKeys: $tagKeys, tagValues: $tagValues,
    producedByRun: $producedByRun, loggedModel: $loggedModel,
    recordedAt: datetime.transaction(), recordedBy: $actor})
CREATE (v)-[:` + RelVersionOf + `]->(m)
CREATE (a)-[:` + RelRegisteredAs + ` {recordedAt: datetime.transaction(), recordedBy: $actor}]->(v)
RETURN v`
)

// RegisterModelVersion creates the next version (1, 2, 3, …) of a registered model
// from a model artifact, linking the artifact to it so lineage runs from the version
// back through the job that produced the artifact.
func (s *Store) RegisterModelVersion(ctx context.Context, actor string, in ModelVersionInput) (Node, error) {
	w, err := checkModelVersionInput(actor, in)
	if err != nil {
		return Node{}, err
	}
	return write(ctx, s, actor, ActionModelVersionRegister, func(tx neo4j.ManagedTransaction, au *audit) (Node, error) {
		return registerModelVersionTx(ctx, tx, actor, au, w)
	})
}

// registerModelVersionTx registers the checked version w in tx: the steps of
// RegisterModelVersion, shared with RecordPipeline.
func registerModelVersionTx(ctx context.Context, tx neo4j.ManagedTransaction, actor string, au *audit, w modelVersionWrite) (Node, error) {
	in, artifactKey, params := w.in, w.artifactKey, w.params
	au.target(RegisteredModelKey(in.Model))
	if in.ProducedBy != nil {
		if err := checkJobProduced(ctx, tx, *in.ProducedBy, artifactKey, in.Source); err != nil {
			return Node{}, err
		}
	}
	if in.LoggedModel != nil {
		if _, err := loggedModelTx(ctx, tx, *in.LoggedModel, false); err != nil {
			return Node{}, err
		}
	}
	if _, err := collect(ctx, tx, cypherLockModel, params); err != nil {
		return Node{}, fmt.Errorf("lock model %q: %w", in.Model, err)
	}
	if in.ProducedByRun != nil {
		if _, err := nodeByKey(ctx, tx, "runId", *in.ProducedByRun); err != nil {
			return Node{}, err
		}
	}
	recs, err := collect(ctx, tx, cypherRegisterModelVersion, params)
	if err != nil {
		return Node{}, fmt.Errorf("register version of model %q: %w", in.Model, err)
	}
	v, err := nodeAt(recs[0], "v")
	if err != nil {
		return v, err
	}
	au.target(v.Key, artifactKey)
	if in.ProducedBy != nil {
		au.target(*in.ProducedBy)
	}
	if in.ProducedByRun == nil {
		return v, nil
	}
	au.target(*in.ProducedByRun)
	// The version was created here: the transaction holds its lock.
	var io jobIO
	io.wrote(*in.ProducedByRun, v.Key)
	if err := linkJobIO(ctx, tx, actor, io); err != nil {
		return Node{}, err
	}
	return v, nil
}

// modelVersionWrite is a checked ModelVersionInput and what registering it writes.
type modelVersionWrite struct {
	// in is the input, its LoggedModel taken from the source when that names one.
	in ModelVersionInput
	// artifactKey is the artifact registered: the logged model's, or the source's.
	artifactKey string
	// params are the parameters of the queries that lock the model and register it.
	params map[string]any
}

// checkModelVersionInput checks every field of in before the transaction, each error
// naming its field, and works out what registering it writes.
func checkModelVersionInput(actor string, in ModelVersionInput) (modelVersionWrite, error) {
	if err := checkText("model", in.Model, MaxModelNameLength); err != nil {
		return modelVersionWrite{}, err
	}
	if modelVersionSuffix.MatchString(in.Model) {
		return modelVersionWrite{}, apperr.Invalid("model", "must not end in '/<digits>', which would read as a version in IDs (got %q)", truncateForMessage(in.Model))
	}
	if _, err := checkURI("source", in.Source); err != nil {
		return modelVersionWrite{}, err
	}
	aprops, err := artifactProps(ArtifactInput{URI: in.Source}, "source")
	if err != nil {
		return modelVersionWrite{}, err
	}
	if in.ProducedBy != nil {
		if err := RequireKind("producedBy", *in.ProducedBy, KindTrainingJob, "job:<namespace>:<name>"); err != nil {
			return modelVersionWrite{}, err
		}
	}
	if err := checkDescription("description", in.Description); err != nil {
		return modelVersionWrite{}, err
	}
	if in.ProducedByRun != nil {
		if err := RequireKind("runId", *in.ProducedByRun, KindRun, "run:<run id>"); err != nil {
			return modelVersionWrite{}, err
		}
	}
	if err := checkProse("framework", in.Framework, MaxFrameworkLength); err != nil {
		return modelVersionWrite{}, err
	}
	signature, err := checkSignature("signature", in.Signature)
	if err != nil {
		return modelVersionWrite{}, err
	}
	metricKeys, metricValues, err := checkModelMetrics("metrics", in.Metrics)
	if err != nil {
		return modelVersionWrite{}, err
	}
	tagKeys, tagValues, err := checkTags("tags", in.Tags)
	if err != nil {
		return modelVersionWrite{}, err
	}
	artifactKey := ArtifactKey(in.Source)
	if id := LoggedModelIDOf(in.Source); id != "" && in.LoggedModel == nil {
		in.LoggedModel = &id
	}
	if in.LoggedModel != nil {
		if !loggedModelIDForm.MatchString(*in.LoggedModel) {
			return modelVersionWrite{}, missingLoggedModel(*in.LoggedModel)
		}
		if id := LoggedModelIDOf(in.Source); id != "" && id != *in.LoggedModel {
			return modelVersionWrite{}, apperr.Invalid("source", "names logged model %q, but model_id is %q", id, *in.LoggedModel)
		}
		artifactKey = LoggedModelKey(*in.LoggedModel)
	}
	params := map[string]any{
		"modelKey": RegisteredModelKey(in.Model), "model": in.Model, "source": in.Source,
		"description": optValue(in.Description), "artifactKey": artifactKey,
		"artifactProps": aprops, "actor": actor,
		"framework": optValue(in.Framework), "signature": signature,
		"metricKeys": metricKeys, "metricValues": metricValues, "tagKeys": tagKeys, "tagValues": tagValues,
		"producedByRun": optValue(in.ProducedByRun), "loggedModel": optValue(in.LoggedModel),
	}
	return modelVersionWrite{in: in, artifactKey: artifactKey, params: params}, nil
}

// conflict compares a version registered before from the same source with w: the
// facts a version is registered with are fixed.
func (w modelVersionWrite) conflict(v Node) error {
	floats := func(v any) any {
		fs, _ := v.([]float64)
		if len(fs) == 0 {
			return nil
		}
		out := make([]any, len(fs))
		for i, f := range fs {
			out[i] = f
		}
		return out
	}
	return firstConflict(v, "model version", []fieldCheck{
		{"description", propDescription, w.params["description"]},
		{"framework", "framework", w.params["framework"]},
		{"signature", "signature", w.params["signature"]},
		{"metrics", "metricKeys", w.params["metricKeys"]},
		{"metrics", "metricValues", floats(w.params["metricValues"])},
		{"tags", "tagKeys", w.params["tagKeys"]},
		{"tags", "tagValues", w.params["tagValues"]},
	})
}

// checkJobProduced makes sure the job named as producedBy exists and recorded an output
// with the model artifact's URI: a version is linked only to the job that made it.
func checkJobProduced(ctx context.Context, tx neo4j.ManagedTransaction, job, artifactKey, source string) error {
	if _, err := nodeByKey(ctx, tx, "producedBy", job); err != nil {
		return err
	}
	recs, err := collect(ctx, tx, cypherJobProduced, map[string]any{"job": job, "artifact": artifactKey})
	if err != nil {
		return fmt.Errorf("check output of %q: %w", job, err)
	}
	if n, _ := recs[0].Get("n"); n == int64(0) {
		return apperr.Invalid("source", "job %q recorded no output with URI %q; register the job's model artifact or drop producedBy",
			truncateForMessage(job), truncateForMessage(source))
	}
	return nil
}
