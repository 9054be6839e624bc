package sagemakerapi

import (
	"context"
	"fmt"
	"slices"

	"github.com/provgraph/provgraph/apperr"
	"github.com/provgraph/provgraph/store"
)

// QueryLineage's limits, as SageMaker's API model states them (docs/limits.md).
const (
	MaxQueryStartArns   = 1
	MaxQueryDepth       = 10
	DefaultQueryDepth   = 10
	MaxQueryResults     = 50
	MaxQueryTypes       = 5
	MaxQueryTypeLength  = 40
	MaxQueryProperties  = 5
	MaxQueryPropLength  = 256
	MaxLineageARNLength = 256
)

// DefaultQueryResults is how many vertices QueryLineage answers when MaxResults is not
// sent: the most it may, since the SDK's LineageQuery never asks for the next page.
const DefaultQueryResults = MaxQueryResults

type queryFilters struct {
	Types          []string          `json:"Types"`
	LineageTypes   []string          `json:"LineageTypes"`
	CreatedBefore  *epochTime        `json:"CreatedBefore"`
	CreatedAfter   *epochTime        `json:"CreatedAfter"`
	ModifiedBefore *epochTime        `json:"ModifiedBefore"`
	ModifiedAfter  *epochTime        `json:"ModifiedAfter"`
	Properties     map[string]string `json:"Properties"`
}

type queryLineageRequest struct {
	StartArns    []string      `json:"StartArns"`
	Direction    *string       `json:"Direction"`
	IncludeEdges *bool         `json:"IncludeEdges"`
	Filters      *queryFilters `json:"Filters"`
	MaxDepth     *int          `json:"MaxDepth"`
	MaxResults   *int          `json:"MaxResults"`
	NextToken    *string       `json:"NextToken"`
}

type lineageEdge struct {
	SourceArn       string `json:"SourceArn"`
	DestinationArn  string `json:"DestinationArn"`
	AssociationType string `json:"AssociationType"`
}

// directions maps SageMaker's Direction to the store's. Both is the union of the
// upstream and the downstream cone (provgraph's BOTH), not SageMaker's expansion from
// every vertex reached.
var directions = map[string]store.Direction{
	"Ascendants": store.Upstream, "Descendants": store.Downstream, "Both": store.Both,
}

// associationTypes names the graph's edges as SageMaker's AssociationType: data read
// contributed to a job, a job produced its outputs, a model artifact contributed to
// the model version registered from it, a model version is associated with the
// endpoint it was deployed to, and a version with its dataset or registered model.
var associationTypes = map[string]string{
	store.RelInputTo: "ContributedTo", store.RelProduced: "Produced", store.RelRegisteredAs: "ContributedTo",
	store.RelDeployedTo: "AssociatedWith", store.RelVersionOf: "AssociatedWith",
}

// checkQuery checks a QueryLineage request in SageMaker's words and returns its
// direction, depth and page size.
func checkQuery(in *queryLineageRequest) (store.Direction, int, int, error) {
	var c checks
	c.listLength("startArns", len(in.StartArns), 1, MaxQueryStartArns)
	for i, a := range in.StartArns {
		c.length(fmt.Sprintf("startArns.%d.member", i+1), a, 1, MaxLineageARNLength)
	}
	dir := store.Both
	if in.Direction != nil {
		d, ok := directions[*in.Direction]
		if !ok {
			c.fail("direction", *in.Direction, "Member must satisfy enum value set: [Both, Ascendants, Descendants]")
		}
		dir = d
	}
	depth := DefaultQueryDepth
	if in.MaxDepth != nil {
		depth = *in.MaxDepth
		if depth < 0 || depth > MaxQueryDepth {
			c.fail("maxDepth", depth, fmt.Sprintf("Member must have value less than or equal to %d and greater than or equal to 0", MaxQueryDepth))
		}
	}
	size := c.maxResults(in.MaxResults, MaxQueryResults, DefaultQueryResults)
	if in.NextToken != nil {
		c.length("nextToken", *in.NextToken, 0, MaxNextTokenLength)
	}
	if f := in.Filters; f != nil {
		c.listLength("filters.types", len(f.Types), 0, MaxQueryTypes)
		for i, t := range f.Types {
			c.length(fmt.Sprintf("filters.types.%d.member", i+1), t, 0, MaxQueryTypeLength)
		}
		c.listLength("filters.lineageTypes", len(f.LineageTypes), 0, len(lineageTypes))
		for i, t := range f.LineageTypes {
			if !slices.Contains(lineageTypes, t) {
				c.fail(fmt.Sprintf("filters.lineageTypes.%d.member", i+1), t, "Member must satisfy enum value set: [TrialComponent, Artifact, Context, Action]")
			}
		}
		c.listLength("filters.properties", len(f.Properties), 0, MaxQueryProperties)
		for k, v := range f.Properties {
			c.length("filters.properties.key", k, 0, MaxQueryPropLength)
			c.length("filters.properties.value", v, 0, MaxQueryPropLength)
		}
	}
	return dir, depth, size, c.err()
}

// kindsFor are the node kinds whose vertices filters f can let through, all when f
// does not narrow them. An empty non-nil answer means none can.
func kindsFor(f *queryFilters) []store.Kind {
	if f == nil || (len(f.Types) == 0 && len(f.LineageTypes) == 0) {
		return nil
	}
	out := []store.Kind{}
	for _, k := range store.Kinds {
		lt, types := kindVertices(k)
		if len(f.LineageTypes) > 0 && !slices.Contains(f.LineageTypes, lt) {
			continue
		}
		if len(f.Types) > 0 && types != nil && !slices.ContainsFunc(f.Types, func(t string) bool { return slices.Contains(types, t) }) {
			continue
		}
		out = append(out, k)
	}
	return out
}

// kindVertices is the lineage type of a kind's vertices and the types they can have
// (nil: any, for artifacts recorded with a type of their own).
func kindVertices(k store.Kind) (string, []string) {
	switch k {
	case store.KindEndpoint:
		return lineageContext, []string{typeEndpoint}
	case store.KindRegisteredModel:
		return lineageContext, []string{typeModelGroup}
	case store.KindExperiment:
		return lineageContext, []string{typeExperiment}
	case store.KindRunGroup:
		return lineageContext, []string{typeTrial}
	case store.KindTrainingJob:
		return lineageTrialComponent, []string{typeTrainingJob}
	case store.KindProcessingJob:
		return lineageTrialComponent, []string{typeProcessingJob, typeTransformJob}
	case store.KindRun:
		return lineageTrialComponent, []string{typeRun}
	case store.KindDataset, store.KindDatasetVersion:
		return lineageArtifact, []string{typeDataSet}
	case store.KindModelVersion:
		return lineageArtifact, []string{typeModel}
	}
	return lineageArtifact, nil
}

// passes tells whether node n, as vertex v, passes the filters f.
func passes(f *queryFilters, n store.Node, v vertex) bool {
	if f == nil {
		return true
	}
	if len(f.Types) > 0 && !slices.Contains(f.Types, v.Type) {
		return false
	}
	if len(f.LineageTypes) > 0 && !slices.Contains(f.LineageTypes, v.LineageType) {
		return false
	}
	if !inWindow(n.RecordedAt, f.CreatedAfter, f.CreatedBefore) || !inWindow(modifiedAt(n), f.ModifiedAfter, f.ModifiedBefore) {
		return false
	}
	for k, want := range f.Properties {
		if propertyOf(n, k) != want {
			return false
		}
	}
	return true
}

// propertyOf is the property k of a lineage entity: one it was recorded with, else a
// stored text property of that name.
func propertyOf(n store.Node, k string) string {
	for _, p := range n.EntityProperties() {
		if p.Key == k {
			return p.Value
		}
	}
	return n.String(k)
}

// queryLineage answers QueryLineage from the store's lineage traversal, the one
// GraphQL's lineage makes, so both see the same cone. A page holds at most MaxResults
// nodes of the cone, of which those the filters let through are its vertices; its
// NextToken is the traversal's cursor, so pages neither repeat nor skip a node.
func queryLineage(ctx context.Context, api *API, body []byte) (any, error) {
	var in queryLineageRequest
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	dir, depth, size, err := checkQuery(&in)
	if err != nil {
		return nil, err
	}
	start, err := api.nodeOfARN(ctx, "StartArns", in.StartArns[0])
	if err != nil {
		return nil, err
	}
	out := map[string]any{"Vertices": []vertex{}, "Edges": []lineageEdge{}}
	kinds := kindsFor(in.Filters)
	if kinds != nil && len(kinds) == 0 {
		return out, nil // no vertex can pass the filters
	}
	q := store.LineageQuery{
		Start: []string{start.Key}, Direction: dir, MaxDepth: depth, Budget: size, Kinds: kinds,
		SkipEdges: in.IncludeEdges == nil || !*in.IncludeEdges,
	}
	if in.NextToken != nil {
		q.After = *in.NextToken
	}
	l, err := api.st.Lineage(ctx, q)
	if e, ok := apperr.As(err); ok && e.Code == apperr.InvalidArgument && e.Field == "after" {
		return nil, validation("the NextToken is not one provgraph gave for this query: pass the NextToken of the previous answer unchanged, with the same StartArns, Direction, MaxDepth and Filters")
	}
	if err != nil {
		return nil, err
	}
	vertices := make([]vertex, 0, len(l.Nodes))
	arnOf := make(map[string]string, len(l.Nodes))
	for _, n := range l.Nodes {
		v := api.arns.vertexOf(n)
		arnOf[n.Key] = v.Arn
		if passes(in.Filters, n, v) {
			vertices = append(vertices, v)
		}
	}
	out["Vertices"] = vertices
	if !q.SkipEdges {
		edges, err := api.lineageEdges(ctx, l.Edges, arnOf)
		if err != nil {
			return nil, err
		}
		out["Edges"] = edges
	}
	if l.EndCursor != "" {
		out["NextToken"] = l.EndCursor
	}
	return out, nil
}

// lineageEdges writes the traversal's edges as associations. An edge may join a node
// of this page to one of an earlier page, whose ARN is looked up.
func (api *API) lineageEdges(ctx context.Context, edges []store.Edge, arnOf map[string]string) ([]lineageEdge, error) {
	var missing []string
	for _, e := range edges {
		for _, k := range []string{e.From, e.To} {
			if _, ok := arnOf[k]; !ok && !slices.Contains(missing, k) {
				missing = append(missing, k)
			}
		}
	}
	if len(missing) > 0 {
		nodes, err := api.st.NodesByID(ctx, missing)
		if err != nil {
			return nil, err
		}
		for k, n := range nodes {
			arnOf[k] = api.arns.vertexOf(n).Arn
		}
	}
	out := make([]lineageEdge, 0, len(edges))
	for _, e := range edges {
		from, to := arnOf[e.From], arnOf[e.To]
		if from == "" || to == "" {
			continue
		}
		out = append(out, lineageEdge{SourceArn: from, DestinationArn: to, AssociationType: associationTypes[e.Type]})
	}
	return out, nil
}
