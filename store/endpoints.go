package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
	"github.com/neo4j/neo4j-go-driver/v5/neo4j/dbtype"

	"github.com/provgraph/provgraph/apperr"
)

// DeploymentInput asks for a model version to serve an endpoint's variant.
type DeploymentInput struct {
	Endpoint     string
	ModelVersion string
	Variant      string
	TrafficShare float64
}

// Deployment is a model version serving an endpoint's variant over an interval. It is
// stored as a DEPLOYED_TO edge from the model version to the endpoint; an ended
// deployment keeps its edge, with To set once, so the history stays visible.
type Deployment struct {
	ID           string
	Endpoint     Node
	ModelVersion Node
	Variant      string
	TrafficShare float64
	From         time.Time
	To           *time.Time
	RecordedBy   string
	RecordedAt   time.Time
	// EndedBy is who ended the deployment, when it has ended.
	EndedBy string
}

// DefaultVariant is the variant a deployment gets when none is named (SageMaker's
// default production variant name).
const DefaultVariant = "AllTraffic"

// Deployment edge properties.
const (
	propDeploymentID = "id"
	propVariant      = "variant"
	propTrafficShare = "trafficShare"
	propFrom         = "from"
	propTo           = "to"
	propEndedBy      = "endedBy"
)

const (
	// Take the endpoint's write lock first (MATCH takes no locks, SET does), so that
	// concurrent deployments to one endpoint queue and each sees the one before it.
	cypherLockEndpoint = `
MATCH (e:` + LabelNode + ` {key: $key})
SET e._lock_ = true
REMOVE e._lock_`

	cypherMergeEndpoint = `
MERGE (e:` + LabelNode + ` {key: $key})
  ON CREATE SET e:` + string(KindEndpoint) + `, e.kind = '` + string(KindEndpoint) + `',
    e.name = $name, e.deploymentCount = 0,
    e.recordedAt = datetime.transaction(), e.recordedBy = $actor, e.` + createdFlag + ` = true
WITH e, e.` + createdFlag + ` IS NOT NULL AS created
REMOVE e.` + createdFlag + `
RETURN e, created`

	cypherActiveDeployments = `
MATCH (mv:` + LabelNode + `)-[d:` + RelDeployedTo + `]->(e:` + LabelNode + ` {key: $key})
WHERE d.to IS NULL AND ($variant IS NULL OR d.variant = $variant)
RETURN mv, d, e ORDER BY d.variant, d.from`

	// $at is when the deployment ended: nil for now; never before it began. It returns
	// what the ended deployment served: the model version and its share of traffic.
	cypherEndDeployments = `
MATCH (mv:` + LabelNode + `)-[d:` + RelDeployedTo + `]->(:` + LabelNode + ` {key: $key})
WHERE d.to IS NULL AND d.variant = $variant
SET d.to = CASE WHEN $at IS NULL THEN datetime.transaction() WHEN $at < d.from THEN d.from ELSE $at END,
    d.` + propEndedBy + ` = $actor
RETURN mv.key AS version, d.` + propTrafficShare + ` AS share ORDER BY d.from DESC LIMIT 1`

	// $at is when the deployment began: nil for now.
	cypherCreateDeployment = `
MATCH (mv:` + LabelNode + ` {key: $modelVersion}), (e:` + LabelNode + ` {key: $key})
SET e.deploymentCount = e.deploymentCount + 1
CREATE (mv)-[d:` + RelDeployedTo + ` {
    id: $key + '#' + toString(e.deploymentCount), variant: $variant, trafficShare: $share,
    from: coalesce($at, datetime.transaction()), recordedAt: datetime.transaction(), recordedBy: $actor}]->(e)
RETURN mv, d, e`
)

// DeployModelVersion makes a model version serve an endpoint's variant (creating the
// endpoint on first use). A deployment already serving that variant ends now and stays
// in the history. When the same version already serves the variant with the same share,
// nothing changes and created is false.
func (s *Store) DeployModelVersion(ctx context.Context, actor string, in DeploymentInput) (dep Deployment, replaced *Deployment, created bool, err error) {
	if in, err = checkDeploymentInput(in); err != nil {
		return Deployment{}, nil, false, err
	}
	res, err := write(ctx, s, actor, ActionModelVersionDeploy, func(tx neo4j.ManagedTransaction, au *audit) (deployment, error) {
		return deployTx(ctx, tx, actor, au, in)
	})
	return res.dep, res.replaced, res.created, err
}

// checkDeploymentInput checks every field of in, each error naming its field, and
// gives the variant its default.
func checkDeploymentInput(in DeploymentInput) (DeploymentInput, error) {
	if err := checkText("endpoint", in.Endpoint, MaxModelNameLength); err != nil {
		return in, err
	}
	if err := RequireKind("modelVersion", in.ModelVersion, KindModelVersion, "model:<name>/<version>"); err != nil {
		return in, err
	}
	return checkDeploymentTarget(in)
}

// checkDeploymentTarget checks where and how in deploys (all but the model version),
// giving the variant its default.
func checkDeploymentTarget(in DeploymentInput) (DeploymentInput, error) {
	if err := checkText("endpoint", in.Endpoint, MaxModelNameLength); err != nil {
		return in, err
	}
	if in.Variant == "" {
		in.Variant = DefaultVariant
	}
	if err := checkText("variant", in.Variant, MaxShortTextLength); err != nil {
		return in, err
	}
	return in, checkFraction("trafficShare", in.TrafficShare)
}

// deployment is what one deployment made: the deployment serving now, the one it
// replaced, and whether anything changed.
type deployment struct {
	dep      Deployment
	replaced *Deployment
	created  bool
}

// deployTx makes the checked deployment in in tx: the steps of DeployModelVersion,
// shared with RecordPipeline.
func deployTx(ctx context.Context, tx neo4j.ManagedTransaction, actor string, au *audit, in DeploymentInput) (deployment, error) {
	key := EndpointKey(in.Endpoint)
	au.target(key, in.ModelVersion)
	if _, err := nodeByKey(ctx, tx, "modelVersion", in.ModelVersion); err != nil {
		return deployment{}, err
	}
	endpoint := map[string]any{"key": key, "name": in.Endpoint, "actor": actor}
	if _, err := collect(ctx, tx, cypherLockEndpoint, endpoint); err != nil {
		return deployment{}, fmt.Errorf("lock endpoint %q: %w", key, err)
	}
	if _, err := collect(ctx, tx, cypherMergeEndpoint, endpoint); err != nil {
		return deployment{}, fmt.Errorf("record endpoint %q: %w", key, err)
	}
	// Lock again: when several first deployments race, the losers of the MERGE
	// find the endpoint only now and must still queue behind each other.
	if _, err := collect(ctx, tx, cypherLockEndpoint, endpoint); err != nil {
		return deployment{}, fmt.Errorf("lock endpoint %q: %w", key, err)
	}
	active, err := deploymentsOf(ctx, tx, key, &in.Variant)
	if err != nil {
		return deployment{}, err
	}
	var prev *Deployment
	var ended variantServing
	if len(active) > 0 {
		prev = &active[0]
		if prev.ModelVersion.Key == in.ModelVersion && prev.TrafficShare == in.TrafficShare {
			return deployment{dep: *prev}, nil
		}
		recs, err := collect(ctx, tx, cypherEndDeployments, map[string]any{"key": key, "variant": in.Variant, "actor": actor, "at": nil})
		if err != nil {
			return deployment{}, fmt.Errorf("end deployments of %q: %w", key, err)
		}
		ended = variantServingAt(recs)
	}
	au.changeDeployment(key, in.Variant, ended, variantServing{in.ModelVersion, in.TrafficShare})
	recs, err := collect(ctx, tx, cypherCreateDeployment, map[string]any{
		"key": key, "modelVersion": in.ModelVersion, "variant": in.Variant,
		"share": in.TrafficShare, "actor": actor, "at": nil,
	})
	if err != nil {
		return deployment{}, fmt.Errorf("deploy %q to %q: %w", in.ModelVersion, key, err)
	}
	d, err := deploymentAt(recs[0])
	if err != nil {
		return deployment{}, err
	}
	if prev != nil {
		// Re-read the ended deployment so the caller sees its end time.
		ended := *prev
		ended.To = &d.From
		ended.Endpoint = d.Endpoint
		prev = &ended
	}
	return deployment{d, prev, true}, nil
}

const cypherDeploymentsAt = `
MATCH (mv:` + LabelNode + `)-[d:` + RelDeployedTo + `]->(e:` + LabelNode + ` {key: $key})
WHERE d.from <= $at AND (d.to IS NULL OR d.to > $at)
RETURN mv, d, e ORDER BY d.variant, d.from`

// DeploymentsAt returns what served the endpoint with ID key at the instant at, by
// variant: the answer to "which model was this endpoint serving then?". An unknown
// endpoint is NOT_FOUND; one that served nothing then gives an empty list.
// It returns the endpoint too, which an endpoint that served nothing then still has.
func (s *Store) DeploymentsAt(ctx context.Context, field, key string, at time.Time) (Node, []Deployment, error) {
	if err := RequireKind(field, key, KindEndpoint, "endpoint:<name>"); err != nil {
		return Node{}, nil, err
	}
	type result struct {
		endpoint Node
		deps     []Deployment
	}
	res, err := read(ctx, s, func(tx neo4j.ManagedTransaction) (result, error) {
		e, deps, err := deploymentsAtTx(ctx, tx, field, key, at)
		return result{e, deps}, err
	})
	return res.endpoint, res.deps, err
}

func deploymentsAtTx(ctx context.Context, tx neo4j.ManagedTransaction, field, key string, at time.Time) (Node, []Deployment, error) {
	e, err := nodeByKey(ctx, tx, field, key)
	if err != nil {
		return Node{}, nil, err
	}
	recs, err := collect(ctx, tx, cypherDeploymentsAt, map[string]any{"key": key, "at": at.UTC()})
	if err != nil {
		return Node{}, nil, fmt.Errorf("deployments of %q at %s: %w", key, at, err)
	}
	deps, err := deploymentsFrom(recs)
	return e, deps, err
}

const (
	cypherDeploymentByID = `
MATCH (mv:` + LabelNode + `)-[d:` + RelDeployedTo + `]->(e:` + LabelNode + ` {key: $key})
WHERE d.` + propDeploymentID + ` = $id
RETURN mv, d, e`

	cypherAllDeployments = `
MATCH (mv:` + LabelNode + `)-[d:` + RelDeployedTo + `]->(e:` + LabelNode + `)
RETURN mv, d, e ORDER BY d.` + propRecordedAt + `, d.` + propDeploymentID + ` LIMIT $limit`
)

// DeploymentByID returns the deployment with the given ID (<endpoint ID>#<n>, the
// endpoint's n-th), ended or not; an unknown one is NOT_FOUND about field.
func (s *Store) DeploymentByID(ctx context.Context, field, id string) (Deployment, error) {
	i := strings.LastIndexByte(id, '#')
	if i < 0 || RequireKind(field, id[:i], KindEndpoint, "endpoint:<name>#<n>") != nil {
		return Deployment{}, apperr.Missing(field, "no deployment has ID %q", truncateForMessage(id))
	}
	deps, err := read(ctx, s, func(tx neo4j.ManagedTransaction) ([]Deployment, error) {
		recs, err := collect(ctx, tx, cypherDeploymentByID, map[string]any{"key": id[:i], "id": id})
		if err != nil {
			return nil, fmt.Errorf("deployment %q: %w", id, err)
		}
		return deploymentsFrom(recs)
	})
	if err == nil && len(deps) == 0 {
		err = apperr.Missing(field, "no deployment has ID %q", truncateForMessage(id))
	}
	if err != nil {
		return Deployment{}, err
	}
	return deps[0], nil
}

// AllDeployments returns the deployments to every endpoint, ended ones included, in
// the order they were recorded, at most limit of them.
func (s *Store) AllDeployments(ctx context.Context, limit int) ([]Deployment, error) {
	return read(ctx, s, func(tx neo4j.ManagedTransaction) ([]Deployment, error) {
		recs, err := collect(ctx, tx, cypherAllDeployments, map[string]any{"limit": limit})
		if err != nil {
			return nil, fmt.Errorf("deployments: %w", err)
		}
		return deploymentsFrom(recs)
	})
}

// ActiveDeployments returns the deployments serving the endpoint with key now, ordered
// by variant.
func (s *Store) ActiveDeployments(ctx context.Context, key string) ([]Deployment, error) {
	return read(ctx, s, func(tx neo4j.ManagedTransaction) ([]Deployment, error) {
		return deploymentsOf(ctx, tx, key, nil)
	})
}

func deploymentsOf(ctx context.Context, tx neo4j.ManagedTransaction, key string, variant *string) ([]Deployment, error) {
	recs, err := collect(ctx, tx, cypherActiveDeployments, map[string]any{"key": key, "variant": optValue(variant)})
	if err != nil {
		return nil, fmt.Errorf("active deployments of %q: %w", key, err)
	}
	return deploymentsFrom(recs)
}

// deploymentsFrom reads deployment records (see deploymentAt).
func deploymentsFrom(recs []*neo4j.Record) ([]Deployment, error) {
	out := make([]Deployment, 0, len(recs))
	for _, r := range recs {
		d, err := deploymentAt(r)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// deploymentAt reads a record with columns mv (model version), d (edge), e (endpoint).
func deploymentAt(rec *neo4j.Record) (Deployment, error) {
	mv, err := nodeAt(rec, "mv")
	if err != nil {
		return Deployment{}, err
	}
	e, err := nodeAt(rec, "e")
	if err != nil {
		return Deployment{}, err
	}
	rel, _, err := neo4j.GetRecordValue[dbtype.Relationship](rec, "d")
	if err != nil {
		return Deployment{}, fmt.Errorf("read deployment: %w", err)
	}
	d := Deployment{Endpoint: e, ModelVersion: mv}
	d.ID, _ = rel.Props[propDeploymentID].(string)
	d.Variant, _ = rel.Props[propVariant].(string)
	d.TrafficShare, _ = rel.Props[propTrafficShare].(float64)
	d.From, _ = rel.Props[propFrom].(time.Time)
	if t, ok := rel.Props[propTo].(time.Time); ok {
		d.To = &t
	}
	d.RecordedBy, _ = rel.Props[propRecordedBy].(string)
	d.RecordedAt, _ = rel.Props[propRecordedAt].(time.Time)
	d.EndedBy, _ = rel.Props[propEndedBy].(string)
	return d, nil
}

// DeploymentPage is one page of an endpoint's deployment history, newest first.
type DeploymentPage struct {
	Deployments []Deployment
	// Cursors[i] is the cursor after Deployments[i].
	Cursors     []string
	HasNextPage bool
	TotalCount  int
}

const (
	cypherDeploymentHistory = `
MATCH (mv:` + LabelNode + `)-[d:` + RelDeployedTo + `]->(e:` + LabelNode + ` {key: $key})
WITH mv, d, e, d.from.epochSeconds * 1000000000 + d.from.nanosecond AS at
WHERE $afterAt IS NULL OR at < $afterAt OR (at = $afterAt AND d.id < $afterID)
RETURN mv, d, e ORDER BY at DESC, d.id DESC LIMIT $limit`

	cypherDeploymentCount = `
MATCH (:` + LabelNode + `)-[d:` + RelDeployedTo + `]->(:` + LabelNode + ` {key: $key})
RETURN count(d) AS n`
)

// DeploymentHistory pages through every deployment an endpoint has had, newest first,
// ended ones included.
func (s *Store) DeploymentHistory(ctx context.Context, key string, first *int, after *string) (DeploymentPage, error) {
	size, err := checkPage(first)
	if err != nil {
		return DeploymentPage{}, err
	}
	params := map[string]any{"key": key, "limit": size + 1, "afterAt": nil, "afterID": nil}
	if after != nil {
		c, err := decodeCursor("after", *after)
		if err != nil {
			return DeploymentPage{}, err
		}
		// Compare instants as integers: temporal equality in Cypher also compares the
		// time zone's form, which a round trip through a client need not keep.
		params["afterAt"], params["afterID"] = c.At.UnixNano(), c.ID
	}
	return read(ctx, s, func(tx neo4j.ManagedTransaction) (DeploymentPage, error) {
		recs, err := collect(ctx, tx, cypherDeploymentHistory, params)
		if err != nil {
			return DeploymentPage{}, fmt.Errorf("deployment history of %q: %w", key, err)
		}
		var page DeploymentPage
		for i, r := range recs {
			if i == size {
				page.HasNextPage = true
				break
			}
			d, err := deploymentAt(r)
			if err != nil {
				return DeploymentPage{}, err
			}
			page.Deployments = append(page.Deployments, d)
			page.Cursors = append(page.Cursors, cursor{At: d.From, ID: d.ID}.encode())
		}
		recs, err = collect(ctx, tx, cypherDeploymentCount, map[string]any{"key": key})
		if err != nil {
			return DeploymentPage{}, fmt.Errorf("count deployments of %q: %w", key, err)
		}
		n, _ := recs[0].Get("n")
		page.TotalCount = int(n.(int64))
		return page, nil
	})
}
