package sagemakerapi

import (
	"context"
	"time"

	"github.com/provgraph/provgraph/actor"
	"github.com/provgraph/provgraph/apperr"
	"github.com/provgraph/provgraph/store"
)

// experimentOps are the SageMaker Experiments operations: experiments, trials (run
// groups), trial components (runs) and their associations, Search, and the deletes
// provgraph refuses.
func experimentOps() map[string]opFunc {
	return map[string]opFunc{
		"CreateExperiment":   createExperiment,
		"DescribeExperiment": describeExperiment,
		"ListExperiments":    listExperiments,
		"DeleteExperiment":   refuseDelete("an experiment"),

		"CreateTrial":   createTrial,
		"DescribeTrial": describeTrial,
		"ListTrials":    listTrials,
		"DeleteTrial":   refuseDelete("a trial (run group)"),

		"CreateTrialComponent":       createTrialComponent,
		"DescribeTrialComponent":     describeTrialComponent,
		"UpdateTrialComponent":       updateTrialComponent,
		"ListTrialComponents":        listTrialComponents,
		"DeleteTrialComponent":       refuseDelete("a trial component (run)"),
		"AssociateTrialComponent":    associateTrialComponent,
		"DisassociateTrialComponent": disassociateTrialComponent,

		"Search": search,
	}
}

// refuseDelete answers a delete of provenance.
func refuseDelete(what string) opFunc {
	return func(context.Context, *API, []byte) (any, error) { return nil, appendOnly(what) }
}

// displayNameTag keeps a display name that differs from the name, on experiments (whose
// store record has no field for it).
const displayNameTag = "sagemaker.displayName"

// userContext is SageMaker's UserContext (CreatedBy, LastModifiedBy): provgraph names
// the actor of the write.
type userContext struct {
	UserProfileName string `json:"UserProfileName"`
}

func userOf(who string) *userContext {
	if who == "" {
		return nil
	}
	return &userContext{UserProfileName: who}
}

func storeTags(tags []tag) []store.Tag {
	out := make([]store.Tag, 0, len(tags))
	for _, t := range tags {
		out = append(out, store.Tag{Key: t.Key, Value: t.Value})
	}
	return out
}

// displayName is a node's display name: its display-name tag, else its name.
func displayName(n store.Node) string {
	for _, t := range n.Tags() {
		if t.Key == displayNameTag {
			return t.Value
		}
	}
	return n.Name
}

func modifiedAt(n store.Node) time.Time {
	if t := n.OptTime("updatedAt"); t != nil {
		return *t
	}
	return n.RecordedAt
}

func modifiedBy(n store.Node) string {
	if by := n.String("updatedBy"); by != "" {
		return by
	}
	return n.RecordedBy
}

type createExperimentRequest struct {
	ExperimentName *string `json:"ExperimentName"`
	DisplayName    *string `json:"DisplayName"`
	Description    *string `json:"Description"`
	Tags           []tag   `json:"Tags"`
}

func createExperiment(ctx context.Context, api *API, body []byte) (any, error) {
	var in createExperimentRequest
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var c checks
	c.requiredName("experimentName", in.ExperimentName)
	c.optEntityName("displayName", in.DisplayName)
	if in.Description != nil {
		c.length("description", *in.Description, 0, MaxDescriptionLength)
	}
	c.tags("tags", in.Tags)
	if err := c.err(); err != nil {
		return nil, err
	}
	tags := storeTags(in.Tags)
	if in.DisplayName != nil && *in.DisplayName != *in.ExperimentName {
		tags = append(tags, store.Tag{Key: displayNameTag, Value: *in.DisplayName})
	}
	_, err := api.st.CreateExperiment(ctx, actor.From(ctx), store.ExperimentInput{
		Name: *in.ExperimentName, Description: in.Description, Tags: tags,
	})
	if apperr.CodeOf(err) == apperr.Conflict {
		// The SDK's idempotent re-runs look for exactly this.
		return nil, validation("Experiment '%s' already exists", *in.ExperimentName)
	}
	if err != nil {
		return nil, err
	}
	return map[string]any{"ExperimentArn": api.arns.arn(resExperiment, *in.ExperimentName)}, nil
}

type describeExperimentRequest struct {
	ExperimentName *string `json:"ExperimentName"`
}

// experimentByName finds the experiment a request names; a name SageMaker could not
// have given is a ValidationException, an unknown one ResourceNotFound.
func (api *API) experimentByName(ctx context.Context, member, name string) (store.Node, error) {
	e, err := api.st.ExperimentByName(ctx, member, name)
	if apperr.CodeOf(err) == apperr.NotFound {
		return store.Node{}, resourceNotFound("Experiment '%s' does not exist.", api.arns.arn(resExperiment, name))
	}
	return e, err
}

func describeExperiment(ctx context.Context, api *API, body []byte) (any, error) {
	var in describeExperimentRequest
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var c checks
	c.requiredName("experimentName", in.ExperimentName)
	if err := c.err(); err != nil {
		return nil, err
	}
	e, err := api.experimentByName(ctx, "ExperimentName", *in.ExperimentName)
	if err != nil {
		return nil, err
	}
	return api.experimentDoc(e), nil
}

// experimentDoc is an experiment as DescribeExperiment (and Search) answer it.
func (api *API) experimentDoc(e store.Node) map[string]any {
	out := map[string]any{
		"ExperimentName": e.Name, "ExperimentArn": api.arns.arn(resExperiment, e.Name),
		"DisplayName": displayName(e), "CreationTime": epoch(e.RecordedAt), "CreatedBy": userOf(e.RecordedBy),
		"LastModifiedTime": epoch(modifiedAt(e)), "LastModifiedBy": userOf(modifiedBy(e)),
	}
	if d := e.OptString("description"); d != nil {
		out["Description"] = *d
	}
	return out
}

// forEachExperiment calls fn with every experiment of view, by id.
func (api *API) forEachExperiment(ctx context.Context, view store.RunView, fn func(store.Node) error) error {
	after := ""
	for {
		page, err := api.st.Experiments(ctx, store.MaxPageSize, after, view)
		if err != nil {
			return err
		}
		for _, e := range page.Experiments {
			if err := fn(e); err != nil {
				return err
			}
		}
		if page.EndCursor == "" {
			return nil
		}
		after = page.EndCursor
	}
}

func listExperiments(ctx context.Context, api *API, body []byte) (any, error) {
	var in listRequest
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var c checks
	l := in.listing(&c)
	if err := c.err(); err != nil {
		return nil, err
	}
	err := api.forEachExperiment(ctx, store.ViewActiveOnly, func(e store.Node) error {
		l.add(e.RecordedAt, e.Name, e.Name, map[string]any{
			"ExperimentArn": api.arns.arn(resExperiment, e.Name), "ExperimentName": e.Name,
			"DisplayName": displayName(e), "CreationTime": epoch(e.RecordedAt), "LastModifiedTime": epoch(modifiedAt(e)),
		})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return l.answer("ExperimentSummaries")
}
