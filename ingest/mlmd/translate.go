package mlmd

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/provgraph/provgraph/store"
)

// rowInput is an artifact or execution row with what belongs to it.
type rowInput struct {
	row       row
	props     []property
	contexts  []int64
	outputKey string
}

// MLMD's enum values, by their number in metadata_store.proto.
var (
	artifactStates  = []string{"UNKNOWN", "PENDING", "LIVE", "MARKED_FOR_DELETION", "DELETED", "ABANDONED", "REFERENCE"}
	executionStates = []string{"UNKNOWN", "NEW", "RUNNING", "COMPLETE", "FAILED", "CACHED", "CANCELED"}
)

// Event types (metadata_store.proto's Event.Type).
const (
	eventUnknown        = 0
	eventDeclaredOutput = 1
	eventDeclaredInput  = 2
	eventInput          = 3
	eventOutput         = 4
	eventInternalInput  = 5
	eventInternalOutput = 6
	eventPendingOutput  = 7
)

// maxContextDepth bounds the walk up ParentContext rows to a record's experiment and
// run group.
const maxContextDepth = 10

// modelVersionSuffix is how a model version ID ends; a registered model's name may not.
var modelVersionSuffix = regexp.MustCompile(`/[0-9]+$`)

// typeOf finds a row's type and role; a type no rule names is an error of the record
// when the mapping reports unknown types, and so is a property value that cannot be
// decoded.
func (r *reader) typeOf(rf string, typeID int64, props []property) (mlmdType, Role, error) {
	for _, p := range props {
		if p.err != nil {
			return mlmdType{}, "", fmt.Errorf("%s: property %q: %w", rf, p.name, p.err)
		}
	}
	t, ok := r.types[typeID]
	if !ok {
		return t, "", fmt.Errorf("%s: type_id %d names no type", rf, typeID)
	}
	role, known := r.m.role(t)
	if !known && r.m.ReportUnknown {
		return t, "", fmt.Errorf("%s: type %q has no rule in the mapping (the mapping reports unknown types)", rf, t.name)
	}
	return t, role, nil
}

// artifact translates an artifact row by its role (docs/import-mlmd.md).
func (r *reader) artifact(in rowInput) Record {
	a := in.row
	rec := Record{Ref: ref(refArtifact, a.id)}
	fail := func(err error) Record {
		r.artifacts[a.id] = nodeRef{failed: true}
		return Record{Ref: rec.Ref, Err: err}
	}
	t, role, err := r.typeOf(rec.Ref, a.typeID, in.props)
	if err != nil {
		return fail(err)
	}
	if role == RoleIgnore {
		r.artifacts[a.id] = nodeRef{ignored: true}
		return rec
	}
	props := r.props(in, t, artifactStates)
	if in.outputKey != "" {
		props["outputKey"] = in.outputKey
	}
	var p artifactPlan
	switch role {
	case RoleDatasetVersion:
		p = r.datasetVersion(a, t, props)
	case RoleModelVersion:
		p = r.modelVersion(a, t, in.contexts, props)
	default:
		uri := a.uri.String
		if uri == "" {
			uri = "mlmd://" + r.m.Namespace + "/artifacts/" + strconv.FormatInt(a.id, 10)
		}
		if role == RoleModel {
			props["model"] = true
		}
		p.node = store.NodeRecord{Key: store.ArtifactKey(uri), Kind: store.KindArtifact, Name: displayName(a, t, in.props), Props: props}
	}
	// The store's rule for IDs (length, control characters, form) decides here, per
	// record, rather than failing a whole batch later.
	if _, err := store.KindsOfID("id", p.node.Key); err != nil {
		return fail(fmt.Errorf("%s: %w", rec.Ref, err))
	}
	if p.parent != nil && modelVersionSuffix.MatchString(p.parent.Name) && p.node.Kind == store.KindModelVersion {
		return fail(fmt.Errorf("%s: registered model name %q ends like a version (/<number>)", rec.Ref, p.parent.Name))
	}
	at := millis(a.created)
	p.node.RecordedAt = at
	if p.parent != nil {
		p.parent.RecordedAt = at
		r.node(&rec, *p.parent)
	}
	r.node(&rec, p.node)
	if p.parent != nil {
		r.edge(&rec, p.node.Key, p.parent.Key, store.RelVersionOf, at)
	}
	r.artifacts[a.id] = nodeRef{key: p.node.Key, role: role, created: at}
	return rec
}

// artifactPlan is the node an artifact becomes and, for a version, the dataset or
// registered model it is a VERSION_OF.
type artifactPlan struct {
	node   store.NodeRecord
	parent *store.NodeRecord
}

// datasetVersion plans a dataset version of the dataset at the artifact's URI (or, for
// an artifact without one, of the dataset <type>/<name or id> in the mapping's
// namespace), versioned by the artifact's id.
func (r *reader) datasetVersion(a row, t mlmdType, props map[string]any) artifactPlan {
	ns, name := datasetOf(a.uri.String)
	if name == "" {
		ns, name = r.m.Namespace, shortName(t.name)+"/"+nameOrID(a)
	}
	version := r.m.Namespace + "-" + strconv.FormatInt(a.id, 10)
	props["namespace"], props["datasetName"], props["version"] = ns, name, version
	return artifactPlan{
		node: store.NodeRecord{Key: store.DatasetVersionKey(ns, name, version), Kind: store.KindDatasetVersion, Name: name + "#" + version, Props: props},
		parent: &store.NodeRecord{Key: store.DatasetKey(ns, name), Kind: store.KindDataset, Name: name,
			Props: map[string]any{"namespace": ns}},
	}
}

// modelVersion plans a version (numbered by the artifact's id) of the registered model
// named after the artifact's experiment context (its pipeline), or after its type.
func (r *reader) modelVersion(a row, t mlmdType, contexts []int64, props map[string]any) artifactPlan {
	name, _ := r.experimentAndRunGroup(contexts)
	if name == "" {
		name = shortName(t.name)
	}
	props["model"], props["version"] = name, a.id
	// A model version's source is the URI it was registered from (ModelVersion.source).
	if uri, ok := props["uri"]; ok {
		props["source"] = uri
	}
	return artifactPlan{
		node:   store.NodeRecord{Key: store.ModelVersionKey(name, a.id), Kind: store.KindModelVersion, Name: name + "/" + strconv.FormatInt(a.id, 10), Props: props},
		parent: &store.NodeRecord{Key: store.RegisteredModelKey(name), Kind: store.KindRegisteredModel, Name: name},
	}
}

// execution translates an execution row into a training or processing job.
func (r *reader) execution(in rowInput) Record {
	x := in.row
	rec := Record{Ref: ref(refExecution, x.id)}
	t, role, err := r.typeOf(rec.Ref, x.typeID, in.props)
	if err != nil {
		r.executions[x.id] = nodeRef{failed: true}
		rec.Err = err
		return rec
	}
	if role == RoleIgnore {
		r.executions[x.id] = nodeRef{ignored: true}
		return rec
	}
	kind := store.KindProcessingJob
	if role == RoleTrainingJob {
		kind = store.KindTrainingJob
	}
	name := strings.ReplaceAll(shortName(t.name), ":", ".") + "-" + strconv.FormatInt(x.id, 10)
	n := store.NodeRecord{Key: store.JobKey(r.m.Namespace, name), Kind: kind, Name: displayName(x, t, in.props),
		Props: r.props(in, t, executionStates), RecordedAt: millis(x.created)}
	n.Props["namespace"], n.Props["jobName"] = r.m.Namespace, name
	if st, ok := jobStatuses[n.Props["state"]]; ok {
		n.Props["status"] = string(st)
	}
	n.Run = jobRun(n)
	if _, err := store.KindsOfID("id", n.Key); err != nil {
		r.executions[x.id] = nodeRef{failed: true}
		return Record{Ref: rec.Ref, Err: fmt.Errorf("%s: %w", rec.Ref, err)}
	}
	r.node(&rec, n)
	r.executions[x.id] = nodeRef{key: n.Key, role: role, created: n.RecordedAt}
	return rec
}

// event translates an event into an INPUT_TO or PRODUCED edge; an output that is a
// model version is also REGISTERED_AS from the models its execution read.
func (r *reader) event(ctx context.Context, e eventRow) (Record, error) {
	rec := Record{Ref: ref(refEvent, e.id)}
	a, okA := r.artifacts[e.artifactID]
	x, okX := r.executions[e.executionID]
	switch {
	case !okA:
		rec.Err = fmt.Errorf("%s: names artifact %d, which the database does not hold", rec.Ref, e.artifactID)
		return rec, nil
	case !okX:
		rec.Err = fmt.Errorf("%s: names execution %d, which the database does not hold", rec.Ref, e.executionID)
		return rec, nil
	case a.failed:
		rec.Err = fmt.Errorf("%s: artifact %d was not imported", rec.Ref, e.artifactID)
		return rec, nil
	case x.failed:
		rec.Err = fmt.Errorf("%s: execution %d was not imported", rec.Ref, e.executionID)
		return rec, nil
	case a.ignored || x.ignored:
		return rec, nil
	}
	at := eventTime(e, a, x)
	switch e.kind {
	case eventInput, eventDeclaredInput, eventInternalInput:
		r.edge(&rec, a.key, x.key, store.RelInputTo, at)
		return rec, nil
	case eventOutput, eventDeclaredOutput, eventInternalOutput:
		r.edge(&rec, x.key, a.key, store.RelProduced, at)
	case eventPendingOutput: // not yet written: no provenance
		return rec, nil
	default:
		rec.Err = fmt.Errorf("%s: event type %d (UNKNOWN) gives no direction", rec.Ref, e.kind)
		return rec, nil
	}
	if a.role != RoleModelVersion {
		return rec, nil
	}
	inputs, err := r.src.inputsOf(ctx, e.executionID)
	if err != nil {
		return rec, err
	}
	for _, id := range inputs {
		if in := r.artifacts[id]; in.role == RoleModel {
			r.edge(&rec, in.key, a.key, store.RelRegisteredAs, at)
		}
	}
	return rec, nil
}

// eventTime is when the event happened: its own time, or, for an event without one,
// the later of its artifact's and its execution's creation.
func eventTime(e eventRow, a, x nodeRef) time.Time {
	if e.at.Valid {
		return millis(e.at.Int64)
	}
	if a.created.After(x.created) {
		return a.created
	}
	return x.created
}

// jobStatuses are the job statuses of MLMD's execution states; NEW and UNKNOWN say
// nothing.
var jobStatuses = map[any]store.JobStatus{
	"RUNNING": store.JobInProgress, "COMPLETE": store.JobCompleted, "CACHED": store.JobCompleted,
	"FAILED": store.JobFailed, "CANCELED": store.JobStopped,
}

// experimentDescription describes an experiment the import creates for a pipeline.
const experimentDescription = "Created for the ML Metadata pipeline of that name by provgraph import."

// jobRun is the run of a job whose execution is in an experiment context (its
// pipeline): the store links the job to the experiment and to its run group (the
// pipeline run) through it. Nil for a job outside any experiment.
func jobRun(job store.NodeRecord) *store.JobRun {
	experiment, _ := job.Props["experiment"].(string)
	if experiment == "" {
		return nil
	}
	group, _ := job.Props["runGroup"].(string)
	name := job.Name
	if utf8.RuneCountInString(name) > store.MaxRunNameLength {
		name = string([]rune(name)[:store.MaxRunNameLength])
	}
	return &store.JobRun{ID: RunID(job.Key), Experiment: experiment, ExperimentDescription: experimentDescription,
		Group: group, Name: name, Tags: []store.Tag{{Key: "mlmd.job", Value: job.Key}}}
}

// RunID is the run id of the run a job imported from MLMD executed: derived from the
// job's ID, so that every import of the execution names the same run.
func RunID(jobKey string) string {
	sum := sha256.Sum256([]byte("mlmd\x00" + jobKey))
	return hex.EncodeToString(sum[:16])
}
