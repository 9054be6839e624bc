package store

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/provgraph/provgraph/apperr"
)

// Kind is the kind of a node. Its value is the Neo4j label the node carries besides
// LabelNode, so a Kind is always a Go constant, never user text.
type Kind string

// The node kinds of the provenance graph.
const (
	KindDataset         Kind = "Dataset"
	KindDatasetVersion  Kind = "DatasetVersion"
	KindTrainingJob     Kind = "TrainingJob"
	KindArtifact        Kind = "Artifact"
	KindRegisteredModel Kind = "RegisteredModel"
	KindModelVersion    Kind = "ModelVersion"
	KindEndpoint        Kind = "Endpoint"
	KindExperiment      Kind = "Experiment"
	KindRunGroup        Kind = "RunGroup"
	KindRun             Kind = "Run"
)

// Kinds lists every node kind, in the order the API documents them.
var Kinds = []Kind{
	KindDataset, KindDatasetVersion, KindTrainingJob, KindProcessingJob, KindArtifact,
	KindRegisteredModel, KindModelVersion, KindEndpoint, KindExperiment, KindRunGroup, KindRun,
}

// LabelNode is carried by every node of the provenance graph; its `key` property is
// unique (constraint node_key) and is the node's public ID.
const LabelNode = "Node"

// LabelSchemaVersion marks the node that records the applied schema version. It does
// not carry LabelNode, so it is never part of the provenance graph.
const LabelSchemaVersion = "SchemaVersion"

// Relationship types. Provenance edges point downstream, in data-flow direction;
// structural edges (RelVersionOf) are not followed by lineage traversals.
const (
	// RelInputTo: a dataset version or artifact was read by a job.
	RelInputTo = "INPUT_TO"
	// RelProduced: a job produced an artifact or a dataset version.
	RelProduced = "PRODUCED"
	// RelRegisteredAs: a model artifact was registered as a model version.
	RelRegisteredAs = "REGISTERED_AS"
	// RelDeployedTo: a model version served on an endpoint (one edge per deployment).
	RelDeployedTo = "DEPLOYED_TO"
	// RelVersionOf: structural, from a dataset version or model version to its parent.
	RelVersionOf = "VERSION_OF"
)

// ProvenanceRelTypes lists the relationship types lineage traversals follow.
var ProvenanceRelTypes = []string{RelInputTo, RelProduced, RelRegisteredAs, RelDeployedTo}

// provenancePattern is the relationship-type alternation used in traversal patterns.
const provenancePattern = RelInputTo + "|" + RelProduced + "|" + RelRegisteredAs + "|" + RelDeployedTo

// ID prefixes: the part of a node ID before the first colon.
const (
	prefixDataset        = "dataset:"
	prefixDatasetVersion = "datasetVersion:"
	prefixJob            = "job:"
	prefixArtifact       = "artifact:"
	prefixModel          = "model:"
	prefixEndpoint       = "endpoint:"
	prefixExperiment     = "experiment:"
	prefixRunGroup       = "runGroup:"
	prefixRun            = "run:"
)

// MaxIDLength is the longest node ID accepted anywhere.
const MaxIDLength = 4096

// modelVersionSuffix matches the "/<version>" that ends a model version ID. Registered
// model names may not end like this, so the two kinds of model ID never collide.
var modelVersionSuffix = regexp.MustCompile(`/[0-9]+$`)

// experimentIDForm is the form of experiment ids provgraph assigns.
var experimentIDForm = regexp.MustCompile(`^[0-9]{1,18}$`)

// DatasetKey is the ID of a dataset: dataset:<namespace>:<name> (Marquez's node id).
func DatasetKey(namespace, name string) string {
	return prefixDataset + namespace + ":" + name
}

// DatasetVersionKey is the ID of a dataset version: datasetVersion:<namespace>:<name>#<version>.
func DatasetVersionKey(namespace, name, version string) string {
	return prefixDatasetVersion + namespace + ":" + name + "#" + version
}

// JobKey is the ID of a job: job:<namespace>:<name> (Marquez's node id).
func JobKey(namespace, name string) string {
	return prefixJob + namespace + ":" + name
}

// ArtifactKey is the ID of an artifact: artifact:<uri>.
func ArtifactKey(uri string) string { return prefixArtifact + uri }

// RegisteredModelKey is the ID of a registered model: model:<name>.
func RegisteredModelKey(name string) string { return prefixModel + name }

// ModelVersionKey is the ID of a model version: model:<name>/<version>.
func ModelVersionKey(name string, version int64) string {
	return prefixModel + name + "/" + strconv.FormatInt(version, 10)
}

// ModelVersionOfKey reads a model version's ID (ModelVersionKey): its model's name and
// its version; ok is false for any other ID.
func ModelVersionOfKey(key string) (model string, version int64, ok bool) {
	rest, found := strings.CutPrefix(key, prefixModel)
	i := strings.LastIndexByte(rest, '/')
	if !found || i <= 0 {
		return "", 0, false
	}
	v, err := strconv.ParseInt(rest[i+1:], 10, 64)
	if err != nil || v < 1 || ModelVersionKey(rest[:i], v) != key {
		return "", 0, false
	}
	return rest[:i], v, true
}

// EndpointKey is the ID of an endpoint: endpoint:<name>.
func EndpointKey(name string) string { return prefixEndpoint + name }

// KindsOfID returns the kinds of node an ID can name, judged by its form alone, or an
// INVALID_ARGUMENT error about field when the ID cannot name any node. An ID of a valid
// form may still name no node.
func KindsOfID(field, id string) ([]Kind, error) {
	if id == "" {
		return nil, apperr.Invalid(field, "must not be empty")
	}
	if len(id) > MaxIDLength {
		return nil, apperr.Invalid(field, "must be at most %d bytes (got %d)", MaxIDLength, len(id))
	}
	if hasControl(id) {
		return nil, apperr.Invalid(field, "must not contain control characters")
	}
	prefix, rest, ok := strings.Cut(id, ":")
	if !ok || rest == "" {
		return nil, malformedID(field, id)
	}
	switch prefix + ":" {
	case prefixDataset:
		if i := strings.LastIndex(rest, ":"); i <= 0 || i == len(rest)-1 {
			return nil, malformedID(field, id)
		}
		return []Kind{KindDataset}, nil
	case prefixDatasetVersion:
		head, version, found := cutLast(rest, "#")
		if !found || version == "" {
			return nil, malformedID(field, id)
		}
		if i := strings.LastIndex(head, ":"); i <= 0 || i == len(head)-1 {
			return nil, malformedID(field, id)
		}
		return []Kind{KindDatasetVersion}, nil
	case prefixJob:
		if i := strings.LastIndex(rest, ":"); i <= 0 || i == len(rest)-1 {
			return nil, malformedID(field, id)
		}
		return []Kind{KindTrainingJob, KindProcessingJob}, nil
	case prefixArtifact:
		return []Kind{KindArtifact}, nil
	case prefixModel:
		if modelVersionSuffix.MatchString(rest) && len(modelVersionSuffix.FindString(rest)) < len(rest) {
			return []Kind{KindModelVersion}, nil
		}
		return []Kind{KindRegisteredModel}, nil
	case prefixEndpoint:
		return []Kind{KindEndpoint}, nil
	case prefixExperiment:
		if !experimentIDForm.MatchString(rest) {
			return nil, malformedID(field, id)
		}
		return []Kind{KindExperiment}, nil
	case prefixRunGroup:
		expID, name, found := strings.Cut(rest, "/")
		if !found || name == "" || !experimentIDForm.MatchString(expID) {
			return nil, malformedID(field, id)
		}
		return []Kind{KindRunGroup}, nil
	case prefixRun:
		if !runIDForm.MatchString(rest) {
			return nil, malformedID(field, id)
		}
		return []Kind{KindRun}, nil
	}
	return nil, malformedID(field, id)
}

// RequireKind checks that id has a valid form and can name a node of kind want.
func RequireKind(field, id string, want Kind, example string) error {
	kinds, err := KindsOfID(field, id)
	if err != nil {
		return err
	}
	for _, k := range kinds {
		if k == want {
			return nil
		}
	}
	return apperr.Invalid(field, "must be the ID of a %s, like %q (got %q)", want, example, id)
}

func malformedID(field, id string) error {
	return apperr.Invalid(field, "%q is not a node ID; IDs look like dataset:<namespace>:<name>, "+
		"datasetVersion:<namespace>:<name>#<version>, job:<namespace>:<name>, artifact:<uri>, "+
		"model:<name>, model:<name>/<version>, endpoint:<name>, experiment:<id>, runGroup:<experiment id>/<name> "+
		"or run:<run id>", truncateForMessage(id))
}

func cutLast(s, sep string) (before, after string, found bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}

func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return true
		}
	}
	return false
}

// truncateForMessage keeps echoed input short in error messages.
func truncateForMessage(s string) string {
	const max = 120
	r := []rune(s)
	if len(r) <= max {
		return s
	}
	return string(r[:max]) + "…"
}
