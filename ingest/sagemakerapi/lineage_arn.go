package sagemakerapi

import (
	"context"
	"encoding/base32"
	"regexp"
	"strings"

	"github.com/provgraph/provgraph/apperr"
	"github.com/provgraph/provgraph/store"
)

// ML Lineage's view of the graph: every node is a lineage entity with an ARN, a type
// and a lineage type, and every ARN names one node.
//
//   - endpoints are contexts of type Endpoint named <endpoint>-aws-endpoint, and
//     registered models (model package groups) contexts of type ModelGroup named
//     <model>-aws-model-group, as SageMaker names the contexts it creates;
//   - SageMaker's jobs (job:sagemaker:<name>) are trial components named
//     <name>-aws-training-job, -aws-processing-job or -aws-transform-job (these names
//     only for names in lower case, which ARNs keep as they are);
//   - dataset versions (and datasets) are artifacts of type DataSet, model versions
//     artifacts of type Model, other artifacts of the type they were recorded with
//     (Model when none);
//   - runs are the trial components the Experiments half names (tcName);
//   - every other name is the node's ID written in lower-case base32 after keyPrefix,
//     so that it survives SageMaker's lower-casing of ARNs and reads back to the node
//     without a lookup table. An artifact, which AWS names with an id of its own, is
//     always named so.

// Lineage types: what kind of lineage entity a vertex is.
const (
	lineageArtifact       = "Artifact"
	lineageContext        = "Context"
	lineageAction         = "Action"
	lineageTrialComponent = "TrialComponent"
)

// lineageTypes are the LineageType values SageMaker defines, in its order.
var lineageTypes = []string{lineageTrialComponent, lineageArtifact, lineageContext, lineageAction}

// The entity types provgraph gives the nodes that have a fixed one.
const (
	typeDataSet       = "DataSet"
	typeModel         = "Model"
	typeEndpoint      = "Endpoint"
	typeModelGroup    = "ModelGroup"
	typeTrainingJob   = "TrainingJob"
	typeProcessingJob = "ProcessingJob"
	typeTransformJob  = "TransformJob"
	typeExperiment    = "Experiment"
	typeTrial         = "Trial"
	typeRun           = "Run"
)

// Suffixes of the names SageMaker gives the entities it creates.
const (
	suffixEndpoint   = "-aws-endpoint"
	suffixModelGroup = "-aws-model-group"
	suffixJob        = "-job"
	suffixAWS        = "-aws-"
)

// jobNamespace is the namespace of SageMaker's jobs in the graph (the events ingest's).
const jobNamespace = "sagemaker"

// keyPrefix starts the name of an entity whose name is its node's ID.
const keyPrefix = "pg-"

var keyEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

func encodeKey(key string) string {
	return keyPrefix + strings.ToLower(keyEncoding.EncodeToString([]byte(key)))
}

func decodeKey(name string) (string, bool) {
	enc, ok := strings.CutPrefix(name, keyPrefix)
	if !ok {
		return "", false
	}
	b, err := keyEncoding.DecodeString(strings.ToUpper(enc))
	if err != nil || len(b) == 0 {
		return "", false
	}
	return string(b), true
}

// vertex is a node as ML Lineage sees it.
type vertex struct {
	Arn         string `json:"Arn"`
	Type        string `json:"Type"`
	LineageType string `json:"LineageType"`
}

// vertexOf is the lineage entity of node n.
func (a arns) vertexOf(n store.Node) vertex {
	// SageMaker's own names only for names an ARN keeps as they are (lower case): any
	// other reads back through its node ID.
	named := n.Name == strings.ToLower(n.Name)
	switch n.Kind {
	case store.KindEndpoint:
		return vertex{a.arnOf(n, named, suffixEndpoint, resContext), typeEndpoint, lineageContext}
	case store.KindRegisteredModel:
		return vertex{a.arnOf(n, named, suffixModelGroup, resContext), typeModelGroup, lineageContext}
	case store.KindTrainingJob, store.KindProcessingJob:
		typ, sub := jobType(n)
		named = named && n.Key == store.JobKey(jobNamespace, n.Name)
		return vertex{a.arnOf(n, named, suffixAWS+sub+suffixJob, resTrialComponent), typ, lineageTrialComponent}
	case store.KindRun:
		return vertex{a.arn(resTrialComponent, tcName(n)), typeRun, lineageTrialComponent}
	case store.KindExperiment:
		return vertex{a.arn(resContext, encodeKey(n.Key)), typeExperiment, lineageContext}
	case store.KindRunGroup:
		return vertex{a.arn(resContext, encodeKey(n.Key)), typeTrial, lineageContext}
	}
	return vertex{a.arn(resArtifact, encodeKey(n.Key)), artifactType(n), lineageArtifact}
}

// arnOf is the ARN of type res of node n: its name with suffix when named, else its
// node ID encoded.
func (a arns) arnOf(n store.Node, named bool, suffix, res string) string {
	if named {
		return a.arn(res, n.Name+suffix)
	}
	return a.arn(res, encodeKey(n.Key))
}

// jobType is a job's entity type and the word its SageMaker name carries.
func jobType(n store.Node) (typ, word string) {
	switch {
	case n.Kind == store.KindTrainingJob:
		return typeTrainingJob, "training"
	case n.JobSubtype() == "transform":
		return typeTransformJob, "transform"
	}
	return typeProcessingJob, "processing"
}

// artifactType is the entity type of a node that is an artifact.
func artifactType(n store.Node) string {
	switch n.Kind {
	case store.KindDataset, store.KindDatasetVersion:
		return typeDataSet
	case store.KindModelVersion:
		return typeModel
	}
	if t := n.EntityType(); t != "" {
		return t
	}
	return typeModel
}

// sourceURI is where an entity's data lies, as SageMaker's Source.SourceUri says: an
// artifact's location, a node's external ID (an endpoint's or model package's ARN),
// else its node ID.
func sourceURI(n store.Node) string {
	if u := n.String("uri"); u != "" && (n.Kind == store.KindArtifact || n.Kind == store.KindDatasetVersion) {
		return u
	}
	if id := n.ExternalID(); id != "" {
		return id
	}
	if n.Kind == store.KindModelVersion {
		if s := n.String("source"); s != "" {
			return s
		}
	}
	return n.Key
}

// keyOf reads the node ID an ARN names; ok is false when the ARN names no node
// provgraph could have minted it for (another account or region, an unknown form).
// The node may still not exist.
func (a arns) keyOf(arn string) (typ, key string, ok bool) {
	typ, name, ok := a.parse(arn)
	if !ok {
		return "", "", false
	}
	key, ok = keyOfName(typ, name)
	if _, err := store.KindsOfID("arn", key); !ok || err != nil {
		return "", "", false
	}
	return typ, key, true
}

// keyOfName is the node ID the name of a resource of type typ stands for.
func keyOfName(typ, name string) (string, bool) {
	if key, ok := decodeKey(name); ok {
		if _, err := store.KindsOfID("arn", key); err == nil {
			return key, true
		}
	}
	switch typ {
	case resContext:
		if ep, ok := strings.CutSuffix(name, suffixEndpoint); ok && ep != "" {
			return store.EndpointKey(ep), true
		}
		if m, ok := strings.CutSuffix(name, suffixModelGroup); ok && m != "" {
			return store.RegisteredModelKey(m), true
		}
	case resTrialComponent:
		if rest, ok := strings.CutSuffix(name, suffixJob); ok {
			for _, word := range []string{"training", "processing", "transform"} {
				if job, ok := strings.CutSuffix(rest, suffixAWS+word); ok && job != "" {
					return store.JobKey(jobNamespace, job), true
				}
			}
		}
		return store.RunKey(runIDOf(name)), true
	}
	return "", false
}

// keyOfARN is the node ID an ARN names: a ValidationException naming member when it
// is no SageMaker ARN, ResourceNotFound when it names no node provgraph could have
// minted it for. The node may not exist.
func (api *API) keyOfARN(member, arn string) (string, error) {
	if err := checkARNForm(member, arn); err != nil {
		return "", err
	}
	if typ, _, _ := api.arns.parse(arn); typ == resAction {
		return "", validation("%s '%s' is an action — a deployment or an approval, which provgraph records on the graph's model versions and endpoints: QueryLineage from it answers its associations", member, shorten(arn))
	}
	_, key, ok := api.arns.keyOf(arn)
	if !ok {
		return "", resourceNotFound("%s '%s' names no lineage entity of this provgraph (account %s, region %s)", member, shorten(arn), api.arns.account, api.arns.region)
	}
	if _, err := store.KindsOfID(member, key); err != nil {
		return "", resourceNotFound("%s '%s' names no lineage entity of this provgraph", member, shorten(arn))
	}
	return key, nil
}

// arnForm is the form of the ARNs the lineage operations take, as SageMaker's API
// model states it: anything else is a ValidationException, not a missing resource.
var arnForm = regexp.MustCompile(`^arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]*:[0-9]{12}:.+$`)

// checkARNForm answers a ValidationException naming member when arn is not of the form
// of SageMaker's ARNs.
func checkARNForm(member, arn string) error {
	if arnForm.MatchString(arn) {
		return nil
	}
	var c checks
	c.fail(strings.ToLower(member[:1])+member[1:], arn, "Member must satisfy regular expression pattern: "+arnForm.String())
	return c.err()
}

// nodeOfARN finds the node an ARN names, or answers ResourceNotFound naming member.
func (api *API) nodeOfARN(ctx context.Context, member, arn string) (store.Node, error) {
	key, err := api.keyOfARN(member, arn)
	if err != nil {
		return store.Node{}, err
	}
	n, err := api.st.NodeByID(ctx, member, key)
	if apperr.CodeOf(err) == apperr.NotFound {
		return store.Node{}, resourceNotFound("%s '%s' does not exist", member, shorten(arn))
	}
	return n, err
}
