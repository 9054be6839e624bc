package store

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"

	"github.com/provgraph/provgraph/apperr"
)

// JobStatus is how a job ended.
type JobStatus string

// The job statuses.
const (
	JobCompleted JobStatus = "COMPLETED"
	JobFailed    JobStatus = "FAILED"
	JobStopped   JobStatus = "STOPPED"
	// JobInProgress is a job not (yet) reported to have ended: a job that runs
	// elsewhere, reported while it runs.
	JobInProgress JobStatus = "IN_PROGRESS"
)

// Param is one key/value parameter, such as a hyper-parameter.
type Param struct {
	Key   string
	Value string
}

// ArtifactInput describes an artifact a job wrote.
type ArtifactInput struct {
	URI       string
	Digest    *string
	MediaType *string
	// Name, when set, names the artifact; else its URI's last path segment does.
	Name *string
}

// TrainingJobInput describes a finished (or failed) training job.
type TrainingJobInput struct {
	Namespace       string
	Name            string
	Inputs          []string
	ModelArtifact   ArtifactInput
	Status          JobStatus
	StartedAt       *time.Time
	EndedAt         *time.Time
	InstanceType    *string
	CodeVersion     *string
	HyperParameters []Param
}

// Job and artifact properties beyond the common ones.
const (
	propStatus          = "status"
	propStartedAt       = "startedAt"
	propEndedAt         = "endedAt"
	propInstanceType    = "instanceType"
	propCodeVersion     = "codeVersion"
	propHyperParameters = "hyperParameters" // JSON object, keys sorted
	propInputs          = "inputs"          // sorted input IDs, to compare repeats cheaply
	propOutputs         = "outputs"         // sorted output IDs
	propMediaType       = "mediaType"
)

const (
	cypherInputKinds = `UNWIND range(0, size($inputs) - 1) AS i
OPTIONAL MATCH (n:` + LabelNode + ` {key: $inputs[i]})
RETURN i, n.kind AS kind ORDER BY i`
)

// trainingJobPlan is a checked TrainingJobInput: what recording it writes and how a
// repeat is compared with what was recorded.
type trainingJobPlan struct {
	in            TrainingJobInput
	key           string
	inputs        []string // sorted
	artifactKey   string
	artifactProps map[string]any
	props         map[string]any
	hyper         any
}

// planTrainingJob checks every field of in, each error naming its field, and works out
// what recording it writes.
func planTrainingJob(in TrainingJobInput) (trainingJobPlan, error) {
	if err := checkJobFields(in.Namespace, in.Name, &in.Status, in.StartedAt, in.EndedAt, in.InstanceType, in.CodeVersion); err != nil {
		return trainingJobPlan{}, err
	}
	inputs, err := checkInputs(in.Inputs)
	if err != nil {
		return trainingJobPlan{}, err
	}
	aprops, err := artifactProps(in.ModelArtifact, "modelArtifact")
	if err != nil {
		return trainingJobPlan{}, err
	}
	artifactKey := aprops[propKey].(string)
	for i, k := range in.Inputs {
		if k == artifactKey {
			return trainingJobPlan{}, apperr.Invalid(fmt.Sprintf("inputs[%d]", i), "is the job's own model artifact; a job cannot read what it produces")
		}
	}
	hyper, err := encodeParams("hyperParameters", in.HyperParameters)
	if err != nil {
		return trainingJobPlan{}, err
	}
	key := JobKey(in.Namespace, in.Name)
	return trainingJobPlan{
		in: in, key: key, inputs: inputs, artifactKey: artifactKey, artifactProps: aprops, hyper: hyper,
		props: map[string]any{
			propKey: key, propKind: string(KindTrainingJob), propName: in.Name,
			propNamespace: in.Namespace, propStatus: string(in.Status),
			propStartedAt: timeValue(in.StartedAt), propEndedAt: timeValue(in.EndedAt),
			propInstanceType: optValue(in.InstanceType), propCodeVersion: optValue(in.CodeVersion),
			propHyperParameters: hyper, propInputs: inputs, propOutputs: []string{artifactKey},
		},
	}, nil
}

// conflict compares a job found recorded with the plan.
func (p trainingJobPlan) conflict(j Node) error {
	return firstConflict(j, "job", []fieldCheck{
		{"name", propKind, string(KindTrainingJob)},
		{"namespace", propNamespace, p.in.Namespace},
		{"name", propName, p.in.Name},
		{"inputs", propInputs, p.inputs},
		{"modelArtifact.uri", propOutputs, []string{p.artifactKey}},
		{"status", propStatus, string(p.in.Status)},
		{"startedAt", propStartedAt, p.in.StartedAt},
		{"endedAt", propEndedAt, p.in.EndedAt},
		{"instanceType", propInstanceType, p.in.InstanceType},
		{"codeVersion", propCodeVersion, p.in.CodeVersion},
		{"hyperParameters", propHyperParameters, p.hyper},
	})
}

// artifactConflict compares the model artifact of a job found recorded with the plan.
func (p trainingJobPlan) artifactConflict(a Node) error {
	return firstConflict(a, "model artifact", []fieldCheck{
		{"modelArtifact.digest", propDigest, p.in.ModelArtifact.Digest},
		{"modelArtifact.mediaType", propMediaType, p.in.ModelArtifact.MediaType},
	})
}

// RecordTrainingJob records a training job, the dataset versions (or artifacts) it read
// and the model artifact it produced, in one transaction. Recording an equal job again
// is a no-op (created=false); the same job ID with other content is a CONFLICT.
func (s *Store) RecordTrainingJob(ctx context.Context, actor string, in TrainingJobInput) (job, artifact Node, created bool, err error) {
	p, err := planTrainingJob(in)
	if err != nil {
		return Node{}, Node{}, false, err
	}
	key, artifactKey := p.key, p.artifactKey
	type result struct {
		job, artifact Node
		created       bool
	}
	res, err := write(ctx, s, actor, ActionTrainingJobRecord, func(tx neo4j.ManagedTransaction, au *audit) (result, error) {
		au.target(key, artifactKey)
		au.target(in.Inputs...)
		if err := checkInputsExist(ctx, tx, "inputs", in.Inputs); err != nil {
			return result{}, err
		}
		recs, err := collect(ctx, tx, mergeNodeQueries[KindTrainingJob], map[string]any{"key": key, "props": p.props, "actor": actor})
		if err != nil {
			return result{}, fmt.Errorf("record training job %q: %w", key, err)
		}
		j, err := nodeAt(recs[0], "n")
		if err != nil {
			return result{}, err
		}
		if c, _ := recs[0].Get("created"); c != true {
			if err := p.conflict(j); err != nil {
				return result{}, err
			}
			a, err := nodeByKey(ctx, tx, "modelArtifact.uri", artifactKey)
			if err != nil {
				return result{}, err
			}
			return result{j, a, false}, p.artifactConflict(a)
		}
		a, err := createOutputArtifact(ctx, tx, actor, p.artifactProps, "modelArtifact")
		if err != nil {
			return result{}, err
		}
		var io jobIO // the job was created here: the transaction holds its lock
		io.readAll(key, p.inputs)
		io.wrote(key, artifactKey)
		if err := linkJobIO(ctx, tx, actor, io); err != nil {
			return result{}, err
		}
		return result{j, a, true}, nil
	})
	return res.job, res.artifact, res.created, err
}

// checkJobFields validates what every job carries, defaulting the status to COMPLETED.
func checkJobFields(namespace, name string, status *JobStatus, startedAt, endedAt *time.Time, instanceType, codeVersion *string) error {
	if err := checkText("namespace", namespace, MaxNamespaceLength); err != nil {
		return err
	}
	if err := checkText("name", name, MaxNameLength); err != nil {
		return err
	}
	if len(JobKey(namespace, name)) > MaxIDLength {
		return apperr.Invalid("name", "namespace and name make an ID of %d bytes; IDs may have at most %d", len(JobKey(namespace, name)), MaxIDLength)
	}
	switch *status {
	case "":
		*status = JobCompleted
	case JobCompleted, JobFailed, JobStopped:
	default:
		return apperr.Invalid("status", "must be COMPLETED, FAILED or STOPPED (got %q)", *status)
	}
	if startedAt != nil && endedAt != nil && endedAt.Before(*startedAt) {
		return apperr.Invalid("endedAt", "must not be before startedAt")
	}
	if err := checkOptText("instanceType", instanceType, MaxShortTextLength); err != nil {
		return err
	}
	return checkOptText("codeVersion", codeVersion, MaxShortTextLength)
}

// checkInputs validates the form of input IDs and returns them sorted.
func checkInputs(ids []string) ([]string, error) { return checkIDList("inputs", ids) }

// checkIDList validates a list of dataset-version or artifact IDs read or written by a
// job and returns them sorted.
func checkIDList(list string, ids []string) ([]string, error) {
	if len(ids) > MaxJobInputs {
		return nil, apperr.Invalid(list, "must list at most %d IDs (got %d)", MaxJobInputs, len(ids))
	}
	seen := make(map[string]int, len(ids))
	for i, id := range ids {
		field := fmt.Sprintf("%s[%d]", list, i)
		kinds, err := KindsOfID(field, id)
		if err != nil {
			return nil, err
		}
		if kinds[0] != KindDatasetVersion && kinds[0] != KindArtifact {
			return nil, apperr.Invalid(field, "must be the ID of a dataset version or an artifact, like \"datasetVersion:s3://lake:customers#v3\" (got %q)", truncateForMessage(id))
		}
		if j, dup := seen[id]; dup {
			return nil, apperr.Invalid(field, "repeats %s[%d]", list, j)
		}
		seen[id] = i
	}
	sorted := append([]string(nil), ids...)
	sort.Strings(sorted)
	return sorted, nil
}

// checkInputsExist fails with NOT_FOUND naming the first element of list that names
// no node.
func checkInputsExist(ctx context.Context, tx neo4j.ManagedTransaction, list string, ids []string) error {
	return checkNodesExist(ctx, tx, ids, func(i int) string { return fmt.Sprintf("%s[%d]", list, i) })
}

// checkNodesExist fails with NOT_FOUND naming fieldOf(i) for the first ids[i] that
// names no node. It looks each ID up once: a batch's jobs often read the same few
// dataset versions.
func checkNodesExist(ctx context.Context, tx neo4j.ManagedTransaction, ids []string, fieldOf func(int) string) error {
	if len(ids) == 0 {
		return nil
	}
	// first[k] is where unique[k] first occurs in ids, so the first unique ID missing is
	// at the first position of ids missing.
	var unique []string
	var first []int
	seen := make(map[string]bool, len(ids))
	for i, id := range ids {
		if !seen[id] {
			seen[id] = true
			unique, first = append(unique, id), append(first, i)
		}
	}
	recs, err := collect(ctx, tx, cypherInputKinds, map[string]any{"inputs": unique})
	if err != nil {
		return fmt.Errorf("look up job inputs: %w", err)
	}
	for _, r := range recs {
		k, _ := r.Get("i")
		if kind, _ := r.Get("kind"); kind == nil {
			idx := first[k.(int64)]
			return notFound(fieldOf(idx), ids[idx])
		}
	}
	return nil
}

// artifactProps validates an artifact and returns the properties to create it with.
func artifactProps(in ArtifactInput, field string) (map[string]any, error) {
	u, err := checkURI(field+".uri", in.URI)
	if err != nil {
		return nil, err
	}
	if err := checkOptText(field+".digest", in.Digest, MaxDigestLength); err != nil {
		return nil, err
	}
	if err := checkOptText(field+".mediaType", in.MediaType, MaxShortTextLength); err != nil {
		return nil, err
	}
	if key := ArtifactKey(in.URI); len(key) > MaxIDLength {
		return nil, apperr.Invalid(field+".uri", "makes an ID of %d bytes; IDs may have at most %d", len(key), MaxIDLength)
	}
	name := path.Base(u.Path)
	if name == "." || name == "/" || name == "" {
		name = in.URI
	}
	if in.Name != nil {
		if err := checkText(field+".name", *in.Name, MaxShortTextLength); err != nil {
			return nil, err
		}
		name = *in.Name
	}
	return map[string]any{
		propKey: ArtifactKey(in.URI), propKind: string(KindArtifact), propName: name,
		propURI: in.URI, propDigest: optValue(in.Digest), propMediaType: optValue(in.MediaType),
	}, nil
}

// createOutputArtifact creates an artifact a job produced. Artifacts are pinned like
// dataset versions: an artifact that is already recorded — produced by another job, or
// registered before as an external model source — cannot become a new job's output,
// or lineage recorded earlier through it would change. That is a CONFLICT.
func createOutputArtifact(ctx context.Context, tx neo4j.ManagedTransaction, actor string, props map[string]any, field string) (Node, error) {
	recs, err := collect(ctx, tx, mergeNodeQueries[KindArtifact], map[string]any{"key": props[propKey], "props": props, "actor": actor})
	if err != nil {
		return Node{}, fmt.Errorf("record artifact %q: %w", props[propKey], err)
	}
	a, err := nodeAt(recs[0], "n")
	if err != nil {
		return Node{}, err
	}
	if c, _ := recs[0].Get("created"); c != true {
		return Node{}, artifactTaken(field, a)
	}
	return a, nil
}

// artifactTaken is the CONFLICT of a job whose output artifact a was recorded before.
func artifactTaken(field string, a Node) error {
	return apperr.Conflicting(field+".uri", "artifact %q was already recorded (by %s at %s); a job can only "+
		"produce a new artifact: write its output to a new URI", truncateForMessage(a.Key), a.RecordedBy,
		a.RecordedAt.Format(time.RFC3339))
}

// encodeParams validates parameters and encodes them as a JSON object with sorted keys
// (nil when there are none), the form they are stored and compared in.
func encodeParams(field string, params []Param) (any, error) {
	if len(params) == 0 {
		return nil, nil
	}
	if len(params) > MaxHyperParameters {
		return nil, apperr.Invalid(field, "must have at most %d entries (got %d)", MaxHyperParameters, len(params))
	}
	m := make(map[string]string, len(params))
	for i, p := range params {
		f := fmt.Sprintf("%s[%d]", field, i)
		if err := checkText(f+".key", p.Key, MaxParamKeyLength); err != nil {
			return nil, err
		}
		if err := checkProse(f+".value", &p.Value, MaxParamValueLength); err != nil {
			return nil, err
		}
		if _, dup := m[p.Key]; dup {
			return nil, apperr.Invalid(f+".key", "repeats key %q", truncateForMessage(p.Key))
		}
		m[p.Key] = p.Value
	}
	b, err := json.Marshal(m) // encoding/json sorts map keys
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", field, err)
	}
	return string(b), nil
}

// DecodeParams returns the parameters stored in prop of n, sorted by key.
func (n Node) DecodeParams(prop string) []Param {
	raw, ok := n.Props[prop].(string)
	if !ok {
		return nil
	}
	var m map[string]string
	if json.Unmarshal([]byte(raw), &m) != nil {
		return nil
	}
	out := make([]Param, 0, len(m))
	for k, v := range m {
		out = append(out, Param{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

func timeValue(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC()
}
