package sagemakerapi

import (
	"context"
	"fmt"
	"slices"

	"github.com/provgraph/provgraph/actor"
	"github.com/provgraph/provgraph/apperr"
	"github.com/provgraph/provgraph/store"
)

// Associations are the graph's provenance edges; tags are labels on any node.

// lineageOps are the ML Lineage operations.
func lineageOps() map[string]opFunc {
	return map[string]opFunc{
		"QueryLineage":      queryLineage,
		"CreateArtifact":    createArtifact,
		"DescribeArtifact":  describeArtifact,
		"ListArtifacts":     listArtifacts,
		"UpdateArtifact":    updateEntity(lineageArtifact),
		"DeleteArtifact":    refuseDelete("an artifact"),
		"CreateContext":     createContext,
		"DescribeContext":   describeContext,
		"ListContexts":      listContexts,
		"UpdateContext":     updateEntity(lineageContext),
		"DeleteContext":     refuseDelete("a context"),
		"CreateAction":      createAction,
		"DescribeAction":    describeAction,
		"ListActions":       listActions,
		"UpdateAction":      refuseUpdate("an action"),
		"DeleteAction":      refuseDelete("an action"),
		"AddAssociation":    addAssociation,
		"DeleteAssociation": refuseDelete("an association"),
		"ListAssociations":  listAssociations,
		"AddTags":           retag(false),
		"ListTags":          listTags,
		"DeleteTags":        retag(true),
	}
}

type addAssociationRequest struct {
	SourceArn       *string `json:"SourceArn"`
	DestinationArn  *string `json:"DestinationArn"`
	AssociationType *string `json:"AssociationType"`
}

var associationTypeValues = []string{"ContributedTo", "AssociatedWith", "DerivedFrom", "Produced", "SameAs"}

// addAssociation records that data flowed from the source into the destination: a
// dataset or artifact read by a job or run, or written by one. Whatever the type
// says, the edge is the graph's read or write; the pair decides which.
func addAssociation(ctx context.Context, api *API, body []byte) (any, error) {
	var in addAssociationRequest
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var c checks
	for member, v := range map[string]*string{"sourceArn": in.SourceArn, "destinationArn": in.DestinationArn} {
		if c.required(member, v) {
			c.length(member, *v, 0, MaxLineageARNLength)
		}
	}
	if in.AssociationType != nil && !slices.Contains(associationTypeValues, *in.AssociationType) {
		c.fail("associationType", *in.AssociationType, "Member must satisfy enum value set: [ContributedTo, AssociatedWith, DerivedFrom, Produced, SameAs]")
	}
	if err := c.err(); err != nil {
		return nil, err
	}
	src, err := api.nodeOfARN(ctx, "SourceArn", *in.SourceArn)
	if err != nil {
		return nil, err
	}
	dst, err := api.nodeOfARN(ctx, "DestinationArn", *in.DestinationArn)
	if err != nil {
		return nil, err
	}
	_, err = api.st.AddAssociation(ctx, actor.From(ctx), store.Association{From: src.Key, To: dst.Key})
	if e, ok := apperr.As(err); ok && e.Code == apperr.InvalidArgument {
		return nil, validation("%s → %s: %s", api.arns.vertexOf(src).Type, api.arns.vertexOf(dst).Type, e.Error())
	}
	if err != nil {
		return nil, err
	}
	return map[string]any{"SourceArn": *in.SourceArn, "DestinationArn": *in.DestinationArn}, nil
}

type listAssociationsRequest struct {
	listRequest
	SourceArn       *string `json:"SourceArn"`
	DestinationArn  *string `json:"DestinationArn"`
	SourceType      *string `json:"SourceType"`
	DestinationType *string `json:"DestinationType"`
	AssociationType *string `json:"AssociationType"`
}

// listAssociations lists the provenance edges out of SourceArn, or into
// DestinationArn: the graph's edges one step away.
func listAssociations(ctx context.Context, api *API, body []byte) (any, error) {
	var in listAssociationsRequest
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var c checks
	byCreationTime(&c, in.SortBy, "[SourceArn, DestinationArn, SourceType, DestinationType, CreationTime]")
	l := in.listing(&c)
	if err := c.err(); err != nil {
		return nil, err
	}
	member, arn, dir := "SourceArn", in.SourceArn, store.Downstream
	if arn == nil {
		member, arn, dir = "DestinationArn", in.DestinationArn, store.Upstream
	}
	if arn == nil {
		return nil, validation("provgraph lists the associations of an entity: send SourceArn or DestinationArn")
	}
	n, err := api.nodeOfARN(ctx, member, *arn)
	if err != nil {
		return nil, err
	}
	lin, err := api.st.Lineage(ctx, store.LineageQuery{Start: []string{n.Key}, Direction: dir, MaxDepth: 1})
	if err != nil {
		return nil, err
	}
	if lin.Truncated {
		return nil, resourceLimit("the entity has more associations than one listing reads (%d); query them page by page with QueryLineage (MaxDepth 1)", store.MaxLineageNodes)
	}
	byKey := make(map[string]store.Node, len(lin.Nodes))
	for _, m := range lin.Nodes {
		byKey[m.Key] = m
	}
	times, err := api.st.EdgeTimes(ctx, lin.Edges)
	if err != nil {
		return nil, err
	}
	for _, e := range lin.Edges {
		from, to := byKey[e.From], byKey[e.To]
		if (dir == store.Downstream && e.From != n.Key) || (dir == store.Upstream && e.To != n.Key) || e.Type == store.RelVersionOf {
			continue
		}
		sv, dv, typ := api.arns.vertexOf(from), api.arns.vertexOf(to), associationTypes[e.Type]
		if !wanted(in.SourceType, sv.Type) || !wanted(in.DestinationType, dv.Type) || !wanted(in.AssociationType, typ) {
			continue
		}
		l.add(times[e], "", sv.Arn+" "+dv.Arn, map[string]any{
			"SourceArn": sv.Arn, "DestinationArn": dv.Arn, "SourceType": sv.Type, "DestinationType": dv.Type,
			"AssociationType": typ, "SourceName": from.Name, "DestinationName": to.Name, "CreationTime": epoch(times[e]),
		})
	}
	return l.answer("AssociationSummaries")
}

func wanted(filter *string, v string) bool { return filter == nil || *filter == v }

type tagsRequest struct {
	ResourceArn *string  `json:"ResourceArn"`
	Tags        []tag    `json:"Tags"`
	TagKeys     []string `json:"TagKeys"`
	NextToken   *string  `json:"NextToken"`
	MaxResults  *int     `json:"MaxResults"`
}

// taggedNode finds the node a tag operation names: a lineage entity (trial components
// included), an experiment or a trial.
func (api *API) taggedNode(ctx context.Context, in *tagsRequest) (store.Node, error) {
	var c checks
	c.requiredText("resourceArn", in.ResourceArn, 0, MaxLineageARNLength)
	c.tags("tags", in.Tags)
	c.listLength("tagKeys", len(in.TagKeys), 0, MaxTags)
	for i, k := range in.TagKeys {
		c.unreservedTagKey(fmt.Sprintf("tagKeys.%d.member", i+1), k)
	}
	if err := c.err(); err != nil {
		return store.Node{}, err
	}
	switch typ, name, _ := api.arns.parse(*in.ResourceArn); typ {
	case resExperiment:
		return api.experimentByName(ctx, "ResourceArn", name)
	case resTrial:
		return api.trialByName(ctx, name)
	case resAction:
		return store.Node{}, validation("provgraph keeps no tags on actions (deployments and approvals): tag the endpoint or the model version")
	}
	return api.nodeOfARN(ctx, "ResourceArn", *in.ResourceArn)
}

// retag sets (AddTags) or removes (DeleteTags) the tags of the entity a request names;
// the audit entry keeps the value each had.
func retag(remove bool) opFunc {
	return func(ctx context.Context, api *API, body []byte) (any, error) {
		var in tagsRequest
		if err := decode(body, &in); err != nil {
			return nil, err
		}
		n, err := api.taggedNode(ctx, &in)
		if err != nil {
			return nil, err
		}
		set, del, out := storeTags(in.Tags), []string(nil), map[string]any{"Tags": in.Tags}
		if remove {
			set, del, out = nil, in.TagKeys, map[string]any{}
		}
		if _, err := api.st.RetagNode(ctx, actor.From(ctx), "ResourceArn", n.Key, set, del); err != nil {
			return nil, err
		}
		return out, nil
	}
}

func listTags(ctx context.Context, api *API, body []byte) (any, error) {
	var in tagsRequest
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var c checks
	max := c.maxResults(in.MaxResults, MaxListResults, MaxTags)
	if err := c.err(); err != nil {
		return nil, err
	}
	n, err := api.taggedNode(ctx, &in)
	if err != nil {
		return nil, err
	}
	items := []listed{}
	for _, t := range userTags(n) {
		items = append(items, listed{sortKey: t.Key, name: t.Key, summary: t})
	}
	tags, next, err := pageOf(items, false, in.NextToken, max)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"Tags": tags}
	if next != "" {
		out["NextToken"] = next
	}
	return out, nil
}
