package sagemakerapi

import (
	"context"

	"github.com/provgraph/provgraph/actor"
	"github.com/provgraph/provgraph/apperr"
	"github.com/provgraph/provgraph/store"
)

// A trial is a run group of its experiment. SageMaker's trial names are unique in an
// account, so a name is looked up in every experiment; run groups made through other
// surfaces with one name in two experiments cannot be told apart here.

type createTrialRequest struct {
	TrialName      *string `json:"TrialName"`
	DisplayName    *string `json:"DisplayName"`
	ExperimentName *string `json:"ExperimentName"`
	Tags           []tag   `json:"Tags"`
}

func createTrial(ctx context.Context, api *API, body []byte) (any, error) {
	var in createTrialRequest
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var c checks
	c.requiredName("trialName", in.TrialName)
	c.requiredName("experimentName", in.ExperimentName)
	c.optEntityName("displayName", in.DisplayName)
	c.tags("tags", in.Tags)
	if err := c.err(); err != nil {
		return nil, err
	}
	existing, err := api.st.RunGroupsNamed(ctx, *in.TrialName)
	if err != nil {
		return nil, err
	}
	if len(existing) > 0 {
		return nil, validation("Trial '%s' already exists", *in.TrialName)
	}
	e, err := api.experimentByName(ctx, "ExperimentName", *in.ExperimentName)
	if err != nil {
		return nil, err
	}
	_, created, err := api.st.CreateRunGroup(ctx, actor.From(ctx), store.RunGroupInput{Experiment: e.Key, Name: *in.TrialName})
	if err != nil {
		return nil, err
	}
	if !created {
		// Another request created it in between.
		return nil, validation("Trial '%s' already exists", *in.TrialName)
	}
	return map[string]any{"TrialArn": api.arns.arn(resTrial, *in.TrialName)}, nil
}

// trialByName finds the run group a trial name names.
func (api *API) trialByName(ctx context.Context, name string) (store.Node, error) {
	groups, err := api.st.RunGroupsNamed(ctx, name)
	if err != nil {
		return store.Node{}, err
	}
	switch len(groups) {
	case 0:
		return store.Node{}, resourceNotFound("Trial '%s' does not exist.", api.arns.arn(resTrial, name))
	case 1:
		return groups[0], nil
	}
	return store.Node{}, validation("%d run groups are named '%s' (in experiments %s and %s); SageMaker's trial names are unique, "+
		"so this one cannot be used through the SageMaker API", len(groups), name, groups[0].String("experimentId"), groups[1].String("experimentId"))
}

// experimentNameOf is the name of the experiment with id.
func (api *API) experimentNameOf(ctx context.Context, id string) (string, error) {
	e, err := api.st.NodeByID(ctx, "experiment", store.ExperimentKey(id))
	if err != nil {
		return "", err
	}
	return e.Name, nil
}

func (api *API) trialSummary(g store.Node) map[string]any {
	return map[string]any{
		"TrialArn": api.arns.arn(resTrial, g.Name), "TrialName": g.Name, "DisplayName": g.Name,
		"CreationTime": epoch(g.RecordedAt), "LastModifiedTime": epoch(modifiedAt(g)),
	}
}

func describeTrial(ctx context.Context, api *API, body []byte) (any, error) {
	var in struct {
		TrialName *string `json:"TrialName"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var c checks
	c.requiredName("trialName", in.TrialName)
	if err := c.err(); err != nil {
		return nil, err
	}
	g, err := api.trialByName(ctx, *in.TrialName)
	if err != nil {
		return nil, err
	}
	exp, err := api.experimentNameOf(ctx, g.String("experimentId"))
	if err != nil {
		return nil, err
	}
	out := api.trialSummary(g)
	out["ExperimentName"] = exp
	out["CreatedBy"] = userOf(g.RecordedBy)
	out["LastModifiedBy"] = userOf(modifiedBy(g))
	return out, nil
}

type listTrialsRequest struct {
	listRequest
	ExperimentName     *string `json:"ExperimentName"`
	TrialComponentName *string `json:"TrialComponentName"`
}

func listTrials(ctx context.Context, api *API, body []byte) (any, error) {
	var in listTrialsRequest
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var c checks
	c.optEntityName("experimentName", in.ExperimentName)
	c.optEntityName("trialComponentName", in.TrialComponentName)
	l := in.listing(&c)
	if err := c.err(); err != nil {
		return nil, err
	}
	groups, err := api.trialsOf(ctx, in.ExperimentName, in.TrialComponentName)
	if err != nil {
		return nil, err
	}
	for _, g := range groups {
		l.add(g.RecordedAt, g.Name, g.Key, api.trialSummary(g))
	}
	return l.answer("TrialSummaries")
}

// trialsOf returns the run groups of an experiment, of a run, or of every experiment.
func (api *API) trialsOf(ctx context.Context, experiment, trialComponent *string) ([]store.Node, error) {
	var groups []store.Node
	if trialComponent != nil {
		r, err := api.runOf(ctx, *trialComponent)
		if err != nil {
			return nil, err
		}
		if groups, err = api.st.GroupOfRun(ctx, r.Key); err != nil {
			return nil, err
		}
	}
	if experiment != nil {
		e, err := api.experimentByName(ctx, "ExperimentName", *experiment)
		if err != nil {
			return nil, err
		}
		if trialComponent != nil {
			var in []store.Node
			for _, g := range groups {
				if g.String("experimentId") == e.String("experimentId") {
					in = append(in, g)
				}
			}
			return in, nil
		}
		return api.st.RunGroupsOf(ctx, e.Key)
	}
	if trialComponent != nil {
		return groups, nil
	}
	return api.allTrials(ctx)
}

// allTrials returns the run groups of every active experiment.
func (api *API) allTrials(ctx context.Context) ([]store.Node, error) {
	var out []store.Node
	err := api.forEachExperiment(ctx, store.ViewActiveOnly, func(e store.Node) error {
		gs, err := api.st.RunGroupsOf(ctx, e.Key)
		out = append(out, gs...)
		return err
	})
	return out, err
}

type associationRequest struct {
	TrialComponentName *string `json:"TrialComponentName"`
	TrialName          *string `json:"TrialName"`
}

// association reads and checks an (Associate|Disassociate)TrialComponent request and
// returns the run and the run group.
func (api *API) association(ctx context.Context, body []byte) (run, group store.Node, err error) {
	var in associationRequest
	if err := decode(body, &in); err != nil {
		return store.Node{}, store.Node{}, err
	}
	var c checks
	c.requiredName("trialComponentName", in.TrialComponentName)
	c.requiredName("trialName", in.TrialName)
	if err := c.err(); err != nil {
		return store.Node{}, store.Node{}, err
	}
	if run, err = api.runOf(ctx, *in.TrialComponentName); err != nil {
		return store.Node{}, store.Node{}, err
	}
	if group, err = api.trialByName(ctx, *in.TrialName); err != nil {
		return store.Node{}, store.Node{}, err
	}
	return run, group, nil
}

func associateTrialComponent(ctx context.Context, api *API, body []byte) (any, error) {
	r, g, err := api.association(ctx, body)
	if err != nil {
		return nil, err
	}
	if _, err := api.st.AddRunToGroup(ctx, actor.From(ctx), r.Key, g.Key); err != nil {
		return nil, err
	}
	return map[string]any{"TrialComponentArn": api.arns.arn(resTrialComponent, tcName(r)), "TrialArn": api.arns.arn(resTrial, g.Name)}, nil
}

func disassociateTrialComponent(ctx context.Context, api *API, body []byte) (any, error) {
	r, g, err := api.association(ctx, body)
	if err != nil {
		return nil, err
	}
	_, err = api.st.RemoveRunFromGroup(ctx, actor.From(ctx), r.Key, g.Key)
	if apperr.CodeOf(err) == apperr.NotFound {
		return nil, resourceNotFound("Trial component '%s' is not associated with trial '%s'.", tcName(r), g.Name)
	}
	if err != nil {
		return nil, err
	}
	return map[string]any{"TrialComponentArn": api.arns.arn(resTrialComponent, tcName(r)), "TrialArn": api.arns.arn(resTrial, g.Name)}, nil
}
