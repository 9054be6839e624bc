package sagemakerapi

import (
	"context"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/provgraph/provgraph/apperr"
	"github.com/provgraph/provgraph/store"
)

// Actions are what provgraph records as events on the graph rather than as nodes:
//
//   - a deployment (a model version serving an endpoint's variant over an interval, a
//     DEPLOYED_TO edge) is an action of type ModelDeployment, named
//     <endpoint>-<n>-aws-deployment for the endpoint's n-th deployment, its source the
//     endpoint; InProgress while it serves, Completed once it ended;
//   - a change of a model version's approval status is an action of type Approval,
//     named <model>-<version>-<n>-aws-model-package for the version's n-th change, its
//     source the model version (its model package); Completed.
//
// Names that would not survive an ARN's lower case are the action's ID encoded, as for
// nodes (keyPrefix). An action's lineage is that of what it is about: upstream of a
// deployment or an approval lies its model version's upstream; downstream of a
// deployment lies its endpoint, of an approval what the model version fed.

// Action types.
const (
	typeModelDeployment = "ModelDeployment"
	typeApproval        = "Approval"
)

// Suffixes of action names.
const (
	suffixDeployment = "-aws-deployment"
	suffixApproval   = "-aws-model-package"
)

// Action statuses.
const (
	actionInProgress = "InProgress"
	actionCompleted  = "Completed"
)

// MaxActionsListed is how many deployments and approvals a ListActions without
// SourceUri reads (ResourceLimitExceeded beyond: name a source).
const MaxActionsListed = 10000

// plainName matches the names an ARN keeps as they are.
var plainName = regexp.MustCompile(`^[a-z0-9](-*[a-z0-9])*$`)

// action is a deployment or an approval change as ML Lineage sees it.
type action struct {
	id, name, typ, status, description string
	source                             store.Node // the endpoint or the model version
	version                            store.Node // the model version
	endpoint                           *store.Node
	props                              map[string]string
	created, modified                  time.Time
	createdBy, modifiedBy              string
}

// deploymentAction is deployment d as an action.
func deploymentAction(d store.Deployment) action {
	a := action{
		id: d.ID, typ: typeModelDeployment, status: actionInProgress, source: d.Endpoint, version: d.ModelVersion,
		endpoint: &d.Endpoint, created: d.RecordedAt, createdBy: d.RecordedBy, modified: d.RecordedAt, modifiedBy: d.RecordedBy,
		description: "model version " + d.ModelVersion.Key + " serving variant " + d.Variant + " of " + d.Endpoint.Key,
		props: map[string]string{
			"ModelVersion": d.ModelVersion.Key, "Endpoint": d.Endpoint.Key, "Variant": d.Variant,
			"TrafficShare": strconv.FormatFloat(d.TrafficShare, 'g', -1, 64), "ServingFrom": d.From.UTC().Format(time.RFC3339Nano),
		},
	}
	if d.To != nil {
		a.status, a.modified, a.modifiedBy = actionCompleted, *d.To, d.EndedBy
		a.props["ServingUntil"] = d.To.UTC().Format(time.RFC3339Nano)
	}
	// Named for the endpoint's n-th deployment; one imported (its ID not <endpoint>#<n>)
	// by its ID.
	a.name = encodeKey(a.id)
	if key, n, ok := splitActionID(d.ID); ok && key == d.Endpoint.Key && isNumber(n) && plainName.MatchString(d.Endpoint.Name) {
		a.name = d.Endpoint.Name + "-" + n + suffixDeployment
	}
	return a
}

// approvalStatuses are SageMaker's words for the approval states.
var approvalStatuses = map[store.ApprovalStatus]string{
	store.Approved: "Approved", store.Rejected: "Rejected", store.PendingManualApproval: "PendingManualApproval",
}

// approvalAction is approval change c of model version mv as an action.
func approvalAction(mv store.Node, c store.Approval) action {
	seq := strconv.FormatInt(c.Seq, 10)
	a := action{
		id: mv.Key + "#" + seq, typ: typeApproval, status: actionCompleted, source: mv, version: mv,
		created: c.At, createdBy: c.Actor, modified: c.At, modifiedBy: c.Actor,
		props: map[string]string{"ModelVersion": mv.Key, "ModelApprovalStatus": approvalStatuses[c.Status]},
	}
	if c.Comment != nil {
		a.description = *c.Comment
	}
	a.name = encodeKey(a.id)
	if model, version, ok := store.ModelVersionOfKey(mv.Key); ok && plainName.MatchString(model) {
		a.name = model + "-" + strconv.FormatInt(version, 10) + "-" + seq + suffixApproval
	}
	return a
}

// isNumber tells whether s is a number (digits only).
func isNumber(s string) bool {
	_, err := strconv.ParseUint(s, 10, 63)
	return err == nil
}

// cutNumber splits s at its last '-' into what comes before and a number after.
func cutNumber(s string) (before, n string, ok bool) {
	i := strings.LastIndexByte(s, '-')
	if i <= 0 || !isNumber(s[i+1:]) {
		return "", "", false
	}
	return s[:i], s[i+1:], true
}

// splitActionID splits an action's ID at its last '#': the ID of the endpoint or the
// model version it is about, and which of its deployments or approval changes.
func splitActionID(id string) (key, n string, ok bool) {
	i := strings.LastIndexByte(id, '#')
	if i <= 0 || i == len(id)-1 {
		return "", "", false
	}
	return id[:i], id[i+1:], true
}

// actionIDOfName is the ID of the action a name stands for.
func actionIDOfName(name string) (string, bool) {
	if id, ok := decodeKey(name); ok {
		_, _, ok = splitActionID(id)
		return id, ok
	}
	if rest, ok := strings.CutSuffix(name, suffixDeployment); ok {
		if ep, n, ok := cutNumber(rest); ok {
			return store.EndpointKey(ep) + "#" + n, true
		}
	}
	if rest, ok := strings.CutSuffix(name, suffixApproval); ok {
		rest, seq, ok1 := cutNumber(rest)
		model, version, ok2 := cutNumber(rest)
		if v, err := strconv.ParseInt(version, 10, 64); ok1 && ok2 && err == nil && strconv.FormatInt(v, 10) == version {
			return store.ModelVersionKey(model, v) + "#" + seq, true
		}
	}
	return "", false
}

// actionNamed finds the action a name or ARN names, else ResourceNotFound naming member.
func (api *API) actionNamed(ctx context.Context, member, nameOrARN string) (action, error) {
	name := nameOrARN
	if strings.HasPrefix(nameOrARN, "arn:") {
		if err := checkARNForm(member, nameOrARN); err != nil {
			return action{}, err
		}
		typ, n, ok := api.arns.parse(nameOrARN)
		if !ok || typ != resAction {
			return action{}, resourceNotFound("%s '%s' names no action of this provgraph (account %s, region %s)", member, shorten(nameOrARN), api.arns.account, api.arns.region)
		}
		name = n
	}
	missing := resourceNotFound("Action '%s' does not exist", shorten(nameOrARN))
	id, ok := actionIDOfName(name)
	if !ok {
		return action{}, missing
	}
	a, err := api.actionByID(ctx, member, id)
	if apperr.CodeOf(err) == apperr.NotFound {
		return action{}, missing
	}
	return a, err
}

// actionByID finds the deployment or approval change with ID id.
func (api *API) actionByID(ctx context.Context, member, id string) (action, error) {
	if strings.HasPrefix(id, store.EndpointKey("")) {
		d, err := api.st.DeploymentByID(ctx, member, id)
		return deploymentAction(d), err
	}
	key, seq, ok := splitActionID(id)
	if !ok || !isNumber(seq) || store.RequireKind(member, key, store.KindModelVersion, "model:<name>/<version>") != nil {
		return action{}, apperr.Missing(member, "no action has ID %q", id)
	}
	mv, err := api.st.NodeByID(ctx, member, key)
	if err != nil {
		return action{}, err
	}
	history, err := api.st.ApprovalsOf(ctx, key, nil)
	if err != nil {
		return action{}, err
	}
	for _, c := range history {
		if strconv.FormatInt(c.Seq, 10) == seq {
			return approvalAction(mv, c), nil
		}
	}
	return action{}, apperr.Missing(member, "no action has ID %q", id)
}

// sourceDoc is an action's Source as SageMaker writes it: an approval's is its model
// version's model package (its ARN) or else the version's ID, which ListActions takes
// back as SourceUri.
func (a action) sourceDoc() map[string]any {
	uri := sourceURI(a.source)
	if a.typ == typeApproval && a.source.ExternalID() == "" {
		uri = a.source.Key
	}
	out := map[string]any{"SourceUri": uri}
	if strings.HasPrefix(uri, "arn:") {
		out["SourceType"] = "ARN"
	}
	return out
}

// vertex is the action as a QueryLineage vertex.
func (api *API) actionVertex(a action) vertex {
	return vertex{Arn: api.arns.arn(resAction, a.name), Type: a.typ, LineageType: lineageAction}
}

// createAction answers for the actions provgraph keeps, which are recorded where the
// graph records deployments and approvals: an existing one "already exists" (the
// SDK's re-runs look for that), any other is refused saying where they come from.
func createAction(ctx context.Context, api *API, body []byte) (any, error) {
	var in struct {
		ActionName *string `json:"ActionName"`
		ActionType *string `json:"ActionType"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var c checks
	c.requiredName("actionName", in.ActionName)
	c.requiredText("actionType", in.ActionType, 0, MaxArtifactTypeLength)
	if err := c.err(); err != nil {
		return nil, err
	}
	a, err := api.actionNamed(ctx, "ActionName", *in.ActionName)
	if err == nil {
		return nil, validation("Action '%s' already exists: %s", shorten(*in.ActionName), api.actionVertex(a).Arn)
	}
	if e, ok := awsErrorOf(err); !ok || e.Code != codeResourceNotFound {
		return nil, err
	}
	return nil, validation("provgraph records deployments and approvals where they happen — a model version deployed to an endpoint, an approval of a model version — through SageMaker's events and the GraphQL API, and shows them as actions of type ModelDeployment and Approval; nothing was created")
}

func describeAction(ctx context.Context, api *API, body []byte) (any, error) {
	var in struct {
		ActionName *string `json:"ActionName"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var c checks
	c.requiredText("actionName", in.ActionName, 1, MaxLineageARNLength)
	if err := c.err(); err != nil {
		return nil, err
	}
	a, err := api.actionNamed(ctx, "ActionName", *in.ActionName)
	if err != nil {
		return nil, err
	}
	out := map[string]any{
		"ActionName": a.name, "ActionArn": api.actionVertex(a).Arn, "ActionType": a.typ, "Source": a.sourceDoc(),
		"Status": a.status, "Properties": a.props, "CreationTime": epoch(a.created), "CreatedBy": userOf(a.createdBy),
		"LastModifiedTime": epoch(a.modified), "LastModifiedBy": userOf(a.modifiedBy),
	}
	if a.description != "" {
		out["Description"] = a.description
	}
	return out, nil
}

type listActionsRequest struct {
	listRequest
	SourceURI  *string `json:"SourceUri"`
	ActionType *string `json:"ActionType"`
}

// listActions lists the deployments and approvals of a source (an endpoint, a model
// version), or all of them.
func listActions(ctx context.Context, api *API, body []byte) (any, error) {
	var in listActionsRequest
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	l, err := checkSourceList(in.listRequest, in.SourceURI, in.ActionType, "actionType")
	if err != nil {
		return nil, err
	}
	actions, err := api.actionsOf(ctx, in.SourceURI)
	if err != nil {
		return nil, err
	}
	for _, a := range actions {
		if in.ActionType != nil && *in.ActionType != a.typ {
			continue
		}
		l.add(a.created, a.name, a.id, map[string]any{
			"ActionArn": api.actionVertex(a).Arn, "ActionName": a.name, "Source": a.sourceDoc(), "ActionType": a.typ,
			"Status": a.status, "CreationTime": epoch(a.created), "LastModifiedTime": epoch(a.modified),
		})
	}
	return l.answer("ActionSummaries")
}

// actionsOf finds the actions of a source — an endpoint's deployments, a model
// version's approval changes — or every action (source nil).
func (api *API) actionsOf(ctx context.Context, source *string) ([]action, error) {
	if source == nil {
		return api.allActions(ctx)
	}
	e, err := api.contextAt(ctx, typeEndpoint, *source)
	if err == nil {
		return api.deploymentActions(ctx, e.Key)
	}
	if e, ok := awsErrorOf(err); !ok || e.Code != codeResourceNotFound {
		return nil, err
	}
	mv, ok, err := api.modelVersionAt(ctx, *source)
	if err != nil || !ok {
		return nil, err
	}
	history, err := api.st.ApprovalsOf(ctx, mv.Key, nil)
	if err != nil {
		return nil, err
	}
	out := make([]action, 0, len(history))
	for _, c := range history {
		out = append(out, approvalAction(mv, c))
	}
	return out, nil
}

// deploymentActions reads every deployment an endpoint has had.
func (api *API) deploymentActions(ctx context.Context, endpoint string) ([]action, error) {
	var out []action
	first := store.MaxPageSize
	for after := (*string)(nil); ; {
		page, err := api.st.DeploymentHistory(ctx, endpoint, &first, after)
		if err != nil {
			return nil, err
		}
		for _, d := range page.Deployments {
			out = append(out, deploymentAction(d))
		}
		if len(out) > MaxActionsListed {
			return nil, resourceLimit("the endpoint has more than %d deployments to list", MaxActionsListed)
		}
		if !page.HasNextPage || len(page.Cursors) == 0 {
			return out, nil
		}
		after = &page.Cursors[len(page.Cursors)-1]
	}
}

// modelVersionAt finds the model version a source URI names: by its model package's
// ARN or its ID.
func (api *API) modelVersionAt(ctx context.Context, uri string) (store.Node, bool, error) {
	n, err := api.st.NodeByExternalID(ctx, "SourceUri", store.KindModelVersion, uri)
	if err == nil || apperr.CodeOf(err) != apperr.NotFound {
		return n, err == nil, err
	}
	if kinds, err := store.KindsOfID("SourceUri", uri); err == nil && slices.Contains(kinds, store.KindModelVersion) {
		n, err := api.st.NodeByID(ctx, "SourceUri", uri)
		if apperr.CodeOf(err) == apperr.NotFound {
			return store.Node{}, false, nil
		}
		return n, err == nil, err
	}
	return store.Node{}, false, nil
}

// allActions reads every deployment and approval change, up to MaxActionsListed.
func (api *API) allActions(ctx context.Context) ([]action, error) {
	deps, err := api.st.AllDeployments(ctx, MaxActionsListed+1)
	if err != nil {
		return nil, err
	}
	approvals, err := api.st.AllApprovals(ctx, MaxActionsListed+1-len(deps))
	if err != nil {
		return nil, err
	}
	if len(deps)+len(approvals) > MaxActionsListed {
		return nil, resourceLimit("more than %d actions to list; name one source by SourceUri (an endpoint's ARN, a model package's)", MaxActionsListed)
	}
	out := make([]action, 0, len(deps)+len(approvals))
	for _, d := range deps {
		out = append(out, deploymentAction(d))
	}
	for _, c := range approvals {
		out = append(out, approvalAction(c.ModelVersion, c.Approval))
	}
	return out, nil
}

// queryStarts are the nodes QueryLineage starts from for a start ARN: the node it
// names, or for an action the node it is about in direction dir, with the action: its
// model version, or downstream of a deployment its endpoint.
func (api *API) queryStarts(ctx context.Context, arn string, dir store.Direction) ([]string, *action, error) {
	if typ, _, _ := api.arns.parse(arn); typ != resAction {
		key, err := api.keyOfARN("StartArns", arn)
		return []string{key}, nil, err
	}
	a, err := api.actionNamed(ctx, "StartArns", arn)
	if err != nil {
		return nil, nil, err
	}
	if a.endpoint != nil && dir == store.Downstream {
		return []string{a.endpoint.Key}, &a, nil
	}
	// Both: the version's downstream holds the endpoint.
	return []string{a.version.Key}, &a, nil
}

// afterAction is the NextToken's After of the page after one that held only the
// action: the first page of the cone, without the action.
const afterAction = "\x00"

// actionPage is where a QueryLineage page from an action stands: whether the action is
// one of its vertices (the first page, when the action passes the filters) and whether
// the action's associations are answered on it (the first page of the cone).
type actionPage struct {
	a             *action
	vertex, edges bool
}

// actionPageOf reads the page token tok of a query from action a (nil: from a node):
// where its page stands, and the token the traversal pages by.
func actionPageOf(a *action, f *queryFilters, tok queryToken) (actionPage, queryToken) {
	afterTheAction := tok.After == afterAction
	if afterTheAction {
		tok.After = ""
	}
	first := a != nil && tok.After == "" && tok.Cursor == ""
	return actionPage{a: a, vertex: first && !afterTheAction && a.passes(f), edges: first}, tok
}

// add adds the action to a QueryLineage answer out, when it is a vertex of the page,
// and its associations with the vertices of the page (p) when edges are asked for: a
// model version contributed to its deployment and its approval, a deployment is
// associated with its endpoint.
func (ap actionPage) add(api *API, out map[string]any, in *queryLineageRequest, p lineagePage) map[string]any {
	if ap.a == nil {
		return out
	}
	v := api.actionVertex(*ap.a)
	if ap.vertex {
		out["Vertices"] = append([]vertex{v}, out["Vertices"].([]vertex)...)
	}
	if !ap.edges || in.IncludeEdges == nil || !*in.IncludeEdges {
		return out
	}
	edges := out["Edges"].([]lineageEdge)
	if k := ap.a.version.Key; p.isVertex[k] {
		edges = append(edges, lineageEdge{SourceArn: p.arnOf[k], DestinationArn: v.Arn, AssociationType: "ContributedTo"})
	}
	if ep := ap.a.endpoint; ep != nil && p.isVertex[ep.Key] {
		edges = append(edges, lineageEdge{SourceArn: v.Arn, DestinationArn: p.arnOf[ep.Key], AssociationType: "AssociatedWith"})
	}
	out["Edges"] = edges
	return out
}

// passes tells whether the action passes QueryLineage's filters f.
func (a action) passes(f *queryFilters) bool {
	if f == nil {
		return true
	}
	if (len(f.Types) > 0 && !slices.Contains(f.Types, a.typ)) || (len(f.LineageTypes) > 0 && !slices.Contains(f.LineageTypes, lineageAction)) {
		return false
	}
	if !inWindow(a.created, f.CreatedAfter, f.CreatedBefore) || !inWindow(a.modified, f.ModifiedAfter, f.ModifiedBefore) {
		return false
	}
	for k, want := range f.Properties {
		if a.props[k] != want {
			return false
		}
	}
	return true
}
