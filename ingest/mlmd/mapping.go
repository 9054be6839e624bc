package mlmd

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/provgraph/provgraph/apperr"
	"github.com/provgraph/provgraph/store"
)

// Role is what the records of one MLMD type become. Most roles are a provgraph kind;
// the others say how a kind is used (a model artifact, a context's place in the
// experiment hierarchy) or that the type is skipped.
type Role string

// The roles a mapping file may name.
const (
	// RoleDatasetVersion: an artifact becomes a dataset version of the dataset at its URI.
	RoleDatasetVersion Role = "DatasetVersion"
	// RoleArtifact: an artifact becomes a generic Artifact.
	RoleArtifact Role = "Artifact"
	// RoleModel: an artifact becomes an Artifact that holds a model; a model version an
	// execution outputs is REGISTERED_AS from the models it read.
	RoleModel Role = "Model"
	// RoleModelVersion: an artifact becomes a version of a registered model.
	RoleModelVersion Role = "ModelVersion"
	// RoleTrainingJob and RoleProcessingJob: an execution becomes a job of that kind.
	RoleTrainingJob   Role = "TrainingJob"
	RoleProcessingJob Role = "ProcessingJob"
	// RoleExperiment and RoleRunGroup: a context names the experiment or run group of the
	// jobs associated with it (Props "experiment" and "runGroup").
	RoleExperiment Role = "Experiment"
	RoleRunGroup   Role = "RunGroup"
	// RoleIgnore: records of the type are skipped (an artifact's or execution's events
	// become no edges); a context is still listed in Props "contexts".
	RoleIgnore Role = "ignore"
)

// DefaultNamespace is the namespace of the jobs (and of the datasets without a URI) an
// import makes when the mapping file names none.
const DefaultNamespace = "mlmd"

// MaxMappingFileSize bounds the mapping file a user gives (docs/import-mlmd.md).
const MaxMappingFileSize = 1 << 20

// Mapping says which role each MLMD type name plays. Its rules map a type name, or a
// pattern with one leading or trailing '*' ("*ExampleGen"), to a role; a rule of the
// user's mapping file beats a default rule.
type Mapping struct {
	// Namespace is the namespace of job keys (job:<namespace>:<type>-<id>).
	Namespace string
	// ReportUnknown makes a record of a type no rule names an error of that record
	// instead of taking the fallback role (Artifact, ProcessingJob, a listed context).
	ReportUnknown  bool
	user, defaults ruleSet
}

// ruleSet holds the rules of one source (the user's file or the defaults) for each of
// the three kinds of MLMD type.
type ruleSet struct {
	artifacts, executions, contexts rules
}

type rules map[string]Role

// The type_kind values of MLMD's Type table.
const (
	typeKindExecution = 0
	typeKindArtifact  = 1
	typeKindContext   = 2
)

// defaultRules fit TFX's standard artifact types and component classes and Kubeflow
// Pipelines v2's system types. TFX names execution types by class path
// ("tfx.components.trainer.component.Trainer"); rules also match a name's last
// dot-separated part.
var defaultRules = ruleSet{
	artifacts: rules{
		"Examples": RoleDatasetVersion, "system.Dataset": RoleDatasetVersion,
		"Model": RoleModel, "system.Model": RoleModel,
		"PushedModel":       RoleModelVersion,
		"ExampleStatistics": RoleArtifact, "Schema": RoleArtifact, "TransformGraph": RoleArtifact,
		"TransformCache": RoleArtifact, "ModelBlessing": RoleArtifact, "ModelEvaluation": RoleArtifact,
		"InfraBlessing": RoleArtifact, "ExampleAnomalies": RoleArtifact, "HyperParameters": RoleArtifact,
		"ModelRun": RoleArtifact, "InferenceResult": RoleArtifact,
		"system.Artifact": RoleArtifact, "system.Metrics": RoleArtifact,
		"system.ClassificationMetrics": RoleArtifact, "system.SlicedClassificationMetrics": RoleArtifact,
		"system.HTML": RoleArtifact, "system.Markdown": RoleArtifact,
	},
	executions: rules{
		"Trainer": RoleTrainingJob, "Tuner": RoleTrainingJob,
		"*ExampleGen": RoleProcessingJob, "StatisticsGen": RoleProcessingJob, "SchemaGen": RoleProcessingJob,
		"ExampleValidator": RoleProcessingJob, "Transform": RoleProcessingJob, "Evaluator": RoleProcessingJob,
		"InfraValidator": RoleProcessingJob, "Pusher": RoleProcessingJob, "BulkInferrer": RoleProcessingJob,
		"system.ContainerExecution": RoleProcessingJob, "system.DAGExecution": RoleProcessingJob,
	},
	contexts: rules{
		"pipeline": RoleExperiment, "system.Pipeline": RoleExperiment,
		"pipeline_run": RoleRunGroup, "system.PipelineRun": RoleRunGroup,
		"node": RoleIgnore,
	},
}

// baseTypeRoles are the roles of types that name one of MLMD's system base types
// (ParentType rows to "mlmd.Dataset" and so on) and that no rule names.
var baseTypeRoles = map[string]Role{
	"mlmd.Dataset": RoleDatasetVersion, "mlmd.Model": RoleModel, "mlmd.Metrics": RoleArtifact,
	"mlmd.Statistics": RoleArtifact, "mlmd.Train": RoleTrainingJob, "mlmd.Transform": RoleProcessingJob,
	"mlmd.Process": RoleProcessingJob, "mlmd.Evaluate": RoleProcessingJob, "mlmd.Deploy": RoleProcessingJob,
}

// fallbackRoles are the roles of types no rule and no base type names.
var fallbackRoles = map[int]Role{
	typeKindArtifact: RoleArtifact, typeKindExecution: RoleProcessingJob, typeKindContext: RoleIgnore,
}

// allowedRoles lists the roles each section of a mapping file may name.
var allowedRoles = map[string][]Role{
	"artifacts":  {RoleDatasetVersion, RoleArtifact, RoleModel, RoleModelVersion, RoleIgnore},
	"executions": {RoleTrainingJob, RoleProcessingJob, RoleIgnore},
	"contexts":   {RoleExperiment, RoleRunGroup, RoleIgnore},
}

// DefaultMapping is the mapping of an import given no mapping file.
func DefaultMapping() Mapping {
	return Mapping{Namespace: DefaultNamespace, defaults: defaultRules}
}

// mappingFile is the JSON form of a mapping file (docs/import-mlmd.md).
type mappingFile struct {
	Namespace  *string           `json:"namespace"`
	Unknown    *string           `json:"unknown"`
	Artifacts  map[string]string `json:"artifacts"`
	Executions map[string]string `json:"executions"`
	Contexts   map[string]string `json:"contexts"`
}

// LoadMapping reads a mapping file; a bad file is an INVALID_ARGUMENT error naming the
// field at fault.
func LoadMapping(path string) (Mapping, error) {
	info, err := os.Stat(path)
	if err != nil {
		return Mapping{}, fmt.Errorf("read mapping file: %w", err)
	}
	if info.Size() > MaxMappingFileSize {
		return Mapping{}, apperr.Invalid("mapping", "file %s is %d bytes; at most %d are read", path, info.Size(), MaxMappingFileSize)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return Mapping{}, fmt.Errorf("read mapping file: %w", err)
	}
	return ParseMapping(data)
}

// ParseMapping parses the JSON of a mapping file over the default rules.
func ParseMapping(data []byte) (Mapping, error) {
	var f mappingFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return Mapping{}, apperr.Invalid("mapping", "is not a mapping file (a JSON object with namespace, unknown, artifacts, executions, contexts): %v", err)
	}
	if dec.More() {
		return Mapping{}, apperr.Invalid("mapping", "holds more than one JSON value")
	}
	m := DefaultMapping()
	if f.Namespace != nil {
		if err := checkNamespace(*f.Namespace); err != nil {
			return Mapping{}, err
		}
		m.Namespace = *f.Namespace
	}
	if f.Unknown != nil {
		switch *f.Unknown {
		case "default":
		case "report":
			m.ReportUnknown = true
		default:
			return Mapping{}, apperr.Invalid("unknown", `must be "default" or "report" (got %q)`, *f.Unknown)
		}
	}
	var err error
	if m.user.artifacts, err = checkRules("artifacts", f.Artifacts); err != nil {
		return Mapping{}, err
	}
	if m.user.executions, err = checkRules("executions", f.Executions); err != nil {
		return Mapping{}, err
	}
	if m.user.contexts, err = checkRules("contexts", f.Contexts); err != nil {
		return Mapping{}, err
	}
	return m, nil
}

// checkNamespace keeps job keys parseable: a namespace is short text without the
// characters that separate a key's parts.
func checkNamespace(ns string) error {
	switch {
	case strings.TrimSpace(ns) == "":
		return apperr.Invalid("namespace", "must not be empty")
	case len(ns) > store.MaxNamespaceLength:
		return apperr.Invalid("namespace", "must be at most %d bytes (got %d)", store.MaxNamespaceLength, len(ns))
	case strings.ContainsAny(ns, ":#/ \t\r\n"):
		return apperr.Invalid("namespace", "must not contain ':', '#', '/' or white space (got %q)", ns)
	}
	return nil
}

func checkRules(section string, in map[string]string) (rules, error) {
	out := rules{}
	names := make([]string, 0, len(in))
	for name := range in {
		names = append(names, name)
	}
	sort.Strings(names) // the first bad rule is the same one every time
	for _, name := range names {
		field := section + "." + name
		if name == "" || strings.Count(name, "*") > 1 || (strings.Contains(name, "*") && name != "*" &&
			!strings.HasPrefix(name, "*") && !strings.HasSuffix(name, "*")) || name == "*" {
			return nil, apperr.Invalid(field, "a type name, or a pattern with one leading or trailing '*' (got %q)", name)
		}
		role, ok := roleIn(section, in[name])
		if !ok {
			return nil, apperr.Invalid(field, "must be one of %s (got %q)", roleList(section), in[name])
		}
		out[name] = role
	}
	return out, nil
}

func roleIn(section, v string) (Role, bool) {
	for _, r := range allowedRoles[section] {
		if string(r) == v {
			return r, true
		}
	}
	return "", false
}

func roleList(section string) string {
	var parts []string
	for _, r := range allowedRoles[section] {
		parts = append(parts, fmt.Sprintf("%q", r))
	}
	return strings.Join(parts, ", ")
}

// role finds the role of a type: the user's rules, then the defaults, then the
// type's MLMD base type; known is false when none of them names it.
func (m Mapping) role(t mlmdType) (role Role, known bool) {
	for _, set := range []ruleSet{m.user, m.defaults} {
		if r, ok := set.of(t.kind).match(t.name); ok {
			return r, true
		}
	}
	if r, ok := baseTypeRoles[t.base]; ok {
		return r, true
	}
	return fallbackRoles[t.kind], false
}

func (s ruleSet) of(kind int) rules {
	switch kind {
	case typeKindArtifact:
		return s.artifacts
	case typeKindExecution:
		return s.executions
	}
	return s.contexts
}

// match finds the rule for a type name, or for the last dot-separated part of it: an
// exact name first, then the longest matching pattern.
func (r rules) match(name string) (Role, bool) {
	candidates := []string{name}
	if i := strings.LastIndex(name, "."); i >= 0 && i < len(name)-1 {
		candidates = append(candidates, name[i+1:])
	}
	for _, c := range candidates {
		if role, ok := r[c]; ok {
			return role, true
		}
	}
	best, bestPattern := Role(""), ""
	for pattern, role := range r {
		if !strings.Contains(pattern, "*") || !longerPattern(pattern, bestPattern) {
			continue
		}
		for _, c := range candidates {
			if patternMatches(pattern, c) {
				best, bestPattern = role, pattern
				break
			}
		}
	}
	return best, bestPattern != ""
}

// longerPattern orders patterns: longer first, then alphabetically, so a match does not
// depend on map order.
func longerPattern(p, than string) bool {
	if len(p) != len(than) {
		return len(p) > len(than)
	}
	return p < than
}

// patternMatches reports whether name matches a pattern with one leading or trailing '*'.
func patternMatches(pattern, name string) bool {
	if rest, ok := strings.CutPrefix(pattern, "*"); ok {
		return strings.HasSuffix(name, rest)
	}
	return strings.HasPrefix(name, strings.TrimSuffix(pattern, "*"))
}
