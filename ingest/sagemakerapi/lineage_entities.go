package sagemakerapi

import (
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/provgraph/provgraph/actor"
	"github.com/provgraph/provgraph/apperr"
	"github.com/provgraph/provgraph/store"
)

// Artifacts, contexts and actions: the lineage entities, on the graph's nodes (see
// lineage_arn.go for which node is which entity).

// Limits of the lineage entities, as SageMaker's API model states them.
const (
	MaxSourceURILength    = 2048
	MaxArtifactTypeLength = 256
	MaxEntityProperties   = store.MaxEntityProperties
	MaxPropertyValue      = store.MaxEntityPropertyValue
)

// PinnedVersion is the version of a dataset location an artifact of type DataSet
// records: the one the SageMaker events ingest pins a location its jobs read at, so
// that an artifact created here and the data a job read are one node.
const PinnedVersion = "sagemaker"

type artifactSource struct {
	SourceURI   *string `json:"SourceUri"`
	SourceTypes []struct {
		SourceIDType string `json:"SourceIdType"`
		Value        string `json:"Value"`
	} `json:"SourceTypes,omitempty"`
}

type createArtifactRequest struct {
	ArtifactName *string           `json:"ArtifactName"`
	Source       *artifactSource   `json:"Source"`
	ArtifactType *string           `json:"ArtifactType"`
	Properties   map[string]string `json:"Properties"`
	Tags         []tag             `json:"Tags"`
}

// requiredText checks a required string member and its length.
func (c *checks) requiredText(member string, v *string, minLen, maxLen int) {
	if c.required(member, v) {
		c.length(member, *v, minLen, maxLen)
	}
}

func (c *checks) properties(member string, props map[string]string) {
	c.listLength(member, len(props), 0, MaxEntityProperties)
	for k, v := range props {
		c.length(member+".key", k, 1, MaxArtifactTypeLength)
		c.length(member+".value", v, 0, MaxPropertyValue)
	}
}

// storeProperties are the properties of a request, by key.
func storeProperties(props map[string]string) []store.Tag {
	out := make([]store.Tag, 0, len(props))
	for _, k := range slices.Sorted(maps.Keys(props)) {
		out = append(out, store.Tag{Key: k, Value: props[k]})
	}
	return out
}

func createArtifact(ctx context.Context, api *API, body []byte) (any, error) {
	var in createArtifactRequest
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var c checks
	c.optEntityName("artifactName", in.ArtifactName)
	if in.Source == nil {
		c.fail("source", nil, "Member must not be null")
	} else {
		c.requiredText("source.sourceUri", in.Source.SourceURI, 1, MaxSourceURILength)
	}
	c.requiredText("artifactType", in.ArtifactType, 0, MaxArtifactTypeLength)
	c.properties("properties", in.Properties)
	c.tags("tags", in.Tags)
	if err := c.err(); err != nil {
		return nil, err
	}
	uri, err := store.NormalizeLocation("Source.SourceUri", *in.Source.SourceURI)
	if err != nil {
		return nil, err
	}
	rec := store.LocationRecord{
		URI: uri, Entity: store.LocationArtifact, Name: in.ArtifactName, Type: *in.ArtifactType,
		Properties: storeProperties(in.Properties), Tags: storeTags(in.Tags),
	}
	if strings.EqualFold(*in.ArtifactType, typeDataSet) {
		rec.Entity, rec.Version = store.LocationDataset, PinnedVersion
	}
	n, created, err := api.st.RecordLocation(ctx, actor.From(ctx), rec)
	if err != nil {
		return nil, err
	}
	arn := api.arns.vertexOf(n).Arn
	if !created {
		// One artifact per source URI, as SageMaker keeps them; re-runs look for this.
		return nil, validation("Artifact with SourceUri '%s' already exists: %s", shorten(uri), arn)
	}
	return map[string]any{"ArtifactArn": arn}, nil
}

// entityOfARN finds the node an ARN names and requires it to be a lineage entity of
// lineage type want, else ResourceNotFound.
func (api *API) entityOfARN(ctx context.Context, member, arn, want string) (store.Node, vertex, error) {
	n, err := api.nodeOfARN(ctx, member, arn)
	if err != nil {
		return n, vertex{}, err
	}
	v := api.arns.vertexOf(n)
	if v.LineageType != want {
		return n, v, resourceNotFound("%s '%s' is a %s, not an %s", member, shorten(arn), strings.ToLower(v.LineageType), strings.ToLower(want))
	}
	return n, v, nil
}

// describeEntity is what Describe answers of every lineage entity, under the names
// of its kind (prefix "Artifact", "Context").
func describeEntity(n store.Node, v vertex, prefix string) map[string]any {
	out := map[string]any{
		prefix + "Name": n.Name, prefix + "Arn": v.Arn, prefix + "Type": v.Type,
		"Source":       map[string]any{"SourceUri": sourceURI(n)},
		"CreationTime": epoch(n.RecordedAt), "CreatedBy": userOf(n.RecordedBy),
		"LastModifiedTime": epoch(modifiedAt(n)), "LastModifiedBy": userOf(modifiedBy(n)),
	}
	props := map[string]string{}
	for _, p := range n.EntityProperties() {
		props[p.Key] = p.Value
	}
	if len(props) > 0 {
		out["Properties"] = props
	}
	return out
}

type artifactARNRequest struct {
	ArtifactArn *string `json:"ArtifactArn"`
}

func describeArtifact(ctx context.Context, api *API, body []byte) (any, error) {
	var in artifactARNRequest
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var c checks
	c.requiredText("artifactArn", in.ArtifactArn, 0, MaxLineageARNLength)
	if err := c.err(); err != nil {
		return nil, err
	}
	n, v, err := api.entityOfARN(ctx, "ArtifactArn", *in.ArtifactArn, lineageArtifact)
	if err != nil {
		return nil, err
	}
	return describeEntity(n, v, "Artifact"), nil
}

type listArtifactsRequest struct {
	listRequest
	SourceURI    *string `json:"SourceUri"`
	ArtifactType *string `json:"ArtifactType"`
}

// byCreationTime checks that a List sorts by creation time, the one order provgraph
// lists lineage entities in.
func byCreationTime(c *checks, sortBy *string, values string) {
	if sortBy != nil && *sortBy != "CreationTime" {
		c.fail("sortBy", *sortBy, "Member must satisfy enum value set: "+values+"; provgraph sorts by CreationTime")
	}
}

// listArtifacts lists the artifacts at a source URI: what is recorded there.
func listArtifacts(ctx context.Context, api *API, body []byte) (any, error) {
	var in listArtifactsRequest
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var c checks
	byCreationTime(&c, in.SortBy, "[CreationTime]")
	l := in.listing(&c)
	if in.SourceURI != nil {
		c.length("sourceUri", *in.SourceURI, 1, MaxSourceURILength)
	}
	if err := c.err(); err != nil {
		return nil, err
	}
	if in.SourceURI == nil {
		return nil, validation("provgraph lists artifacts by SourceUri; to find artifacts otherwise, query the lineage of an entity (QueryLineage) or search the graph (GraphQL searchNodes)")
	}
	uri, err := store.NormalizeLocation("SourceUri", *in.SourceURI)
	if err != nil {
		return nil, err
	}
	nodes, err := api.st.NodesAtLocation(ctx, "SourceUri", uri)
	if err != nil {
		return nil, err
	}
	for _, n := range nodes {
		v := api.arns.vertexOf(n)
		if in.ArtifactType != nil && *in.ArtifactType != v.Type {
			continue
		}
		l.add(n.RecordedAt, n.Name, n.Key, map[string]any{
			"ArtifactArn": v.Arn, "ArtifactName": n.Name, "Source": map[string]any{"SourceUri": sourceURI(n)},
			"ArtifactType": v.Type, "CreationTime": epoch(n.RecordedAt), "LastModifiedTime": epoch(modifiedAt(n)),
		})
	}
	return l.answer("ArtifactSummaries")
}

// refuseUpdate answers an update of what provenance recorded.
func refuseUpdate(what string) opFunc {
	return func(context.Context, *API, []byte) (any, error) {
		return nil, validation("provgraph keeps provenance append-only: %s is recorded once and not changed. "+
			"Nothing was changed; tags (AddTags, DeleteTags) are labels and may change, with their old values kept in the audit log", what)
	}
}

// updateEntityRequest is what UpdateArtifact and UpdateContext send.
type updateEntityRequest struct {
	ArtifactArn        *string           `json:"ArtifactArn"`
	ArtifactName       *string           `json:"ArtifactName"`
	ContextName        *string           `json:"ContextName"`
	Description        *string           `json:"Description"`
	Properties         map[string]string `json:"Properties"`
	PropertiesToRemove []string          `json:"PropertiesToRemove"`
}

// updateEntity changes the properties of an artifact (UpdateArtifact) or a context
// (UpdateContext): properties describe an entity and may change, their old values kept
// in the audit log; its name and description are what was recorded and stay.
func updateEntity(lineageType string) opFunc {
	return func(ctx context.Context, api *API, body []byte) (any, error) {
		var in updateEntityRequest
		if err := decode(body, &in); err != nil {
			return nil, err
		}
		var c checks
		member, arn := "artifactArn", in.ArtifactArn
		if lineageType == lineageContext {
			member, arn = "contextName", in.ContextName
		}
		c.requiredText(member, arn, 1, MaxLineageARNLength)
		c.properties("properties", in.Properties)
		c.listLength("propertiesToRemove", len(in.PropertiesToRemove), 0, MaxEntityProperties)
		if err := c.err(); err != nil {
			return nil, err
		}
		if lineageType == lineageContext && !strings.HasPrefix(*arn, "arn:") {
			full := api.arns.arn(resContext, *arn)
			arn = &full
		}
		n, v, err := api.entityOfARN(ctx, strings.ToUpper(member[:1])+member[1:], *arn, lineageType)
		if err != nil {
			return nil, err
		}
		if (in.ArtifactName != nil && *in.ArtifactName != n.Name) || in.Description != nil {
			return nil, validation("provgraph keeps provenance append-only: an entity's name and description are recorded once and not changed; its Properties may change. Nothing was changed")
		}
		if _, err := api.st.UpdateEntityProperties(ctx, actor.From(ctx), "Properties", n.Key, storeProperties(in.Properties), in.PropertiesToRemove); err != nil {
			return nil, err
		}
		return map[string]any{lineageType + "Arn": v.Arn}, nil
	}
}

type createContextRequest struct {
	ContextName *string         `json:"ContextName"`
	Source      *artifactSource `json:"Source"`
	ContextType *string         `json:"ContextType"`
	Description *string         `json:"Description"`
}

// createContext answers for the contexts provgraph keeps — endpoints and model
// package groups, which are the graph's endpoints and registered models, created when
// they are recorded: an existing one "already exists" (the SDK's re-runs look for
// that), and one not recorded is refused saying where it comes from.
func createContext(ctx context.Context, api *API, body []byte) (any, error) {
	var in createContextRequest
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var c checks
	c.requiredName("contextName", in.ContextName)
	if in.Source == nil {
		c.fail("source", nil, "Member must not be null")
	} else {
		c.requiredText("source.sourceUri", in.Source.SourceURI, 1, MaxSourceURILength)
	}
	c.requiredText("contextType", in.ContextType, 0, MaxArtifactTypeLength)
	if err := c.err(); err != nil {
		return nil, err
	}
	n, err := api.contextAt(ctx, *in.ContextType, *in.Source.SourceURI)
	if e, ok := awsErrorOf(err); err != nil && ok && e.Code == codeResourceNotFound {
		return nil, validation("%s; nothing was created", e.Message)
	}
	if err != nil {
		return nil, err
	}
	return nil, validation("Context for SourceUri '%s' already exists: %s", shorten(*in.Source.SourceURI), api.arns.vertexOf(n).Arn)
}

// contextAt finds the context of type typ whose source is uri: an endpoint by its ARN
// (or name, or ID), a registered model by its model package group's ARN (or name).
func (api *API) contextAt(ctx context.Context, typ, uri string) (store.Node, error) {
	var kind store.Kind
	var key string
	switch typ {
	case typeEndpoint:
		kind, key = store.KindEndpoint, store.EndpointKey(resourceName(uri, "endpoint/"))
	case typeModelGroup, "ModelPackageGroup":
		kind, key = store.KindRegisteredModel, store.RegisteredModelKey(resourceName(uri, "model-package-group/"))
	default:
		return store.Node{}, validation("provgraph keeps contexts of type Endpoint and ModelGroup — the graph's endpoints and registered models — not of type '%s'", shorten(typ))
	}
	if kind == store.KindEndpoint {
		if n, err := api.st.NodeByExternalID(ctx, "SourceUri", kind, uri); err == nil || apperr.CodeOf(err) != apperr.NotFound {
			return n, err
		}
		if strings.HasPrefix(uri, store.EndpointKey("")) {
			// The source URI of an endpoint without an ARN: its ID.
			if n, err := api.st.NodeByID(ctx, "SourceUri", uri); err == nil && n.Kind == kind {
				return n, nil
			} else if err != nil && apperr.CodeOf(err) != apperr.NotFound {
				return store.Node{}, err
			}
		}
	}
	n, err := api.st.NodeByID(ctx, "SourceUri", key)
	if apperr.CodeOf(err) == apperr.NotFound || (err == nil && n.Kind != kind) {
		return store.Node{}, resourceNotFound("no %s is recorded for SourceUri '%s'; provgraph records endpoints and registered models from SageMaker's events and the GraphQL API", strings.ToLower(typ), shorten(uri))
	}
	return n, err
}

// resourceName is the name in an ARN after its resource type (res), or s itself when
// it is no such ARN.
func resourceName(s, res string) string {
	if _, name, ok := strings.Cut(s, ":"+res); ok && strings.HasPrefix(s, "arn:") {
		return name
	}
	return s
}

type describeContextRequest struct {
	ContextName *string `json:"ContextName"`
}

func describeContext(ctx context.Context, api *API, body []byte) (any, error) {
	var in describeContextRequest
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var c checks
	c.requiredText("contextName", in.ContextName, 1, MaxLineageARNLength)
	if err := c.err(); err != nil {
		return nil, err
	}
	arn := *in.ContextName
	if !strings.HasPrefix(arn, "arn:") {
		arn = api.arns.arn(resContext, arn)
	}
	n, v, err := api.entityOfARN(ctx, "ContextName", arn, lineageContext)
	if err != nil {
		return nil, err
	}
	out := describeEntity(n, v, "Context")
	if d := n.OptString("description"); d != nil {
		out["Description"] = *d
	}
	return out, nil
}

type listContextsRequest struct {
	listRequest
	SourceURI   *string `json:"SourceUri"`
	ContextType *string `json:"ContextType"`
}

// MaxContextsListed is how many endpoints or registered models a ListContexts without
// SourceUri reads before paging (ResourceLimitExceeded beyond).
const MaxContextsListed = 10000

// checkSourceList checks a List's sort and page size, its SourceUri and its filter by
// type (member typeMember), and returns its listing.
func checkSourceList(req listRequest, source, typ *string, typeMember string) (*listing, error) {
	var c checks
	l := req.listing(&c)
	if source != nil {
		c.length("sourceUri", *source, 1, MaxSourceURILength)
	}
	if typ != nil {
		c.length(typeMember, *typ, 0, MaxArtifactTypeLength)
	}
	return l, c.err()
}

// listContexts lists the contexts provgraph keeps: the context of a source (an
// endpoint's or a model package group's ARN), or all of a type, or all.
func listContexts(ctx context.Context, api *API, body []byte) (any, error) {
	var in listContextsRequest
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	l, err := checkSourceList(in.listRequest, in.SourceURI, in.ContextType, "contextType")
	if err != nil {
		return nil, err
	}
	nodes, err := api.contextsOf(ctx, in.SourceURI, in.ContextType)
	if err != nil {
		return nil, err
	}
	for _, n := range nodes {
		v := api.arns.vertexOf(n)
		l.add(n.RecordedAt, nameOfARN(v.Arn), n.Key, map[string]any{
			"ContextArn": v.Arn, "ContextName": nameOfARN(v.Arn),
			"Source": map[string]any{"SourceUri": sourceURI(n)}, "ContextType": v.Type,
			"CreationTime": epoch(n.RecordedAt), "LastModifiedTime": epoch(modifiedAt(n)),
		})
	}
	return l.answer("ContextSummaries")
}

// contextKinds are the contexts provgraph keeps, by type.
var contextKinds = map[string]func(*store.Store) func(context.Context, store.Listing) (store.NodePage, error){
	typeEndpoint: func(st *store.Store) func(context.Context, store.Listing) (store.NodePage, error) {
		return st.Endpoints
	},
	typeModelGroup: func(st *store.Store) func(context.Context, store.Listing) (store.NodePage, error) {
		return st.RegisteredModels
	},
}

// contextsOf finds the contexts of a source, or of a type, or all (either may be nil).
func (api *API) contextsOf(ctx context.Context, source, typ *string) ([]store.Node, error) {
	types := []string{typeEndpoint, typeModelGroup}
	if typ != nil {
		if _, kept := contextKinds[*typ]; !kept {
			return nil, nil // provgraph keeps no context of another type
		}
		types = []string{*typ}
	}
	var out []store.Node
	for _, t := range types {
		if source != nil {
			n, err := api.contextAt(ctx, t, *source)
			if e, ok := awsErrorOf(err); err != nil && ok && e.Code == codeResourceNotFound {
				continue
			}
			if err != nil {
				return nil, err
			}
			out = append(out, n)
			continue
		}
		list := contextKinds[t](api.st)
		for after := ""; ; {
			page, err := list(ctx, store.Listing{First: store.MaxPageSize, After: after})
			if err != nil {
				return nil, err
			}
			out = append(out, page.Nodes...)
			if len(out) > MaxContextsListed {
				return nil, resourceLimit("more than %d contexts to list; name one by SourceUri", MaxContextsListed)
			}
			if after = page.EndCursor; after == "" {
				break
			}
		}
	}
	return out, nil
}

// nameOfARN is the resource name an ARN ends with.
func nameOfARN(arn string) string {
	_, name, _ := strings.Cut(arn, "/")
	return name
}

// jobSourceTypes are the trial-component source types of SageMaker's jobs.
var jobSourceTypes = map[string]string{
	typeTrainingJob: "SageMakerTrainingJob", typeProcessingJob: "SageMakerProcessingJob", typeTransformJob: "SageMakerTransformJob",
}

// jobStatuses are the trial-component statuses of the job statuses.
var jobStatuses = map[store.JobStatus]string{
	store.JobInProgress: "InProgress", store.JobCompleted: "Completed", store.JobFailed: "Failed", store.JobStopped: "Stopped",
}

// describeJobTrialComponent answers DescribeTrialComponent for a trial component that
// is a job (QueryLineage's TrialComponent vertices of type TrainingJob, ProcessingJob
// or TransformJob), as SageMaker describes the trial component of a job: its source is
// the job's ARN. ok is false for a name that names no job: a run's.
func (api *API) describeJobTrialComponent(ctx context.Context, name string) (doc map[string]any, ok bool, err error) {
	typ, key, named := api.arns.keyOf(api.arns.arn(resTrialComponent, name))
	if !named || typ != resTrialComponent || !strings.HasPrefix(key, "job:") {
		return nil, false, nil
	}
	n, err := api.st.NodeByID(ctx, "TrialComponentName", key)
	if apperr.CodeOf(err) == apperr.NotFound {
		return nil, true, resourceNotFound("Trial Component '%s' does not exist.", api.arns.arn(resTrialComponent, name))
	}
	if err != nil {
		return nil, true, err
	}
	v := api.arns.vertexOf(n)
	doc = map[string]any{
		"TrialComponentName": nameOfARN(v.Arn), "TrialComponentArn": v.Arn, "DisplayName": n.Name,
		"CreationTime": epoch(n.RecordedAt), "CreatedBy": userOf(n.RecordedBy),
		"LastModifiedTime": epoch(modifiedAt(n)), "LastModifiedBy": userOf(modifiedBy(n)),
		"Status":     map[string]any{"PrimaryStatus": jobStatuses[store.JobStatus(n.String("status"))]},
		"Parameters": map[string]parameterValue{},
	}
	if strings.HasPrefix(key, store.JobKey(jobNamespace, "")) {
		// Only SageMaker's own jobs have a SageMaker job as their source: the SDK reads
		// it as a job ARN.
		doc["Source"] = map[string]any{"SourceArn": sourceURI(n), "SourceType": jobSourceTypes[v.Type]}
	}
	for _, p := range n.DecodeParams("hyperParameters") {
		doc["Parameters"].(map[string]parameterValue)[p.Key] = parameterOf(p.Value)
	}
	for field, prop := range map[string]string{"StartTime": "startedAt", "EndTime": "endedAt"} {
		if t := n.OptTime(prop); t != nil {
			doc[field] = epoch(*t)
		}
	}
	for field, list := range map[string]func(context.Context, string) ([]store.Node, error){
		"InputArtifacts": api.st.InputsOf, "OutputArtifacts": api.st.OutputsOf,
	} {
		nodes, err := list(ctx, n.Key)
		if err != nil {
			return nil, true, err
		}
		doc[field] = artifactsOf(nodes)
	}
	return doc, true, nil
}
