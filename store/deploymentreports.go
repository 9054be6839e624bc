package store

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"

	"github.com/provgraph/provgraph/apperr"
)

// Deployments reported by a serving platform. What an endpoint serves is known in
// three steps, reported separately and in any order: a serving model (what model data
// and model versions a deployable model serves), a deployment configuration (which
// serving model each variant of an endpoint runs, with what weight) and an endpoint
// report (which configuration the endpoint runs, and whether it is in service). Serving
// models and configurations are lookup records outside the provenance graph (they carry
// no LabelNode); each report brings the endpoints it concerns up to date: an endpoint
// in service deploys the model versions its configuration's variants resolve to, a new
// configuration ends the deployments of the old one, and an ended endpoint ends all.
//
// Deployments begun or ended by a report take the report's time — an endpoint report's
// own time, else the time of the endpoint's last report —, not the server's: an auditor
// asking what served at T gets the answer the reports give.

// Labels of the lookup records. The stored label strings are those of the first source
// that reported them, kept so the graphs recorded since read the same.
const (
	labelServingModel     = "SageMakerModel"
	labelDeploymentConfig = "SageMakerEndpointConfig"
)

// LookupRecordLabels returns the labels of the records that carry keys but are not
// part of the provenance graph (serving models, deployment configurations).
func LookupRecordLabels() []string {
	return []string{labelServingModel, labelDeploymentConfig}
}

// lookupLockName names the (:Sequence) node whose write lock serialises changes to the
// lookup records (the Sequence name is unique, so the lock node is merged safely).
const lookupLockName = "sagemaker-lookups"

func servingModelKey(name string) string     { return "sagemakerModel:" + name }
func deploymentConfigKey(name string) string { return "sagemakerEndpointConfig:" + name }

// Properties of the lookup records and of reported endpoints.
const (
	propServingArtifacts  = "modelDataUrls"
	propServingVersions   = "packageVersions"
	propConfigVariants    = "variantNames"
	propConfigModels      = "variantModels"
	propConfigWeights     = "variantWeights"
	propEndpointConfig    = "sagemakerEndpointConfig"
	propDeployedConfig    = "sagemakerDeployedConfig"
	propEndpointVariants  = "sagemakerVariantNames"
	propEndpointWeights   = "sagemakerVariantWeights"
	propEndpointState     = "endpointState"
	endpointStateInServ   = "inService"
	endpointStateEnded    = "ended"
	endpointStateChanging = "transitional"
)

// ServingModel is a deployable model as a serving platform describes it: the model
// data it serves and the model versions it was created from. An endpoint variant that
// runs it resolves to the first of ModelVersions that is recorded, else to the newest
// version registered from its model data.
type ServingModel struct {
	Name       string
	ExternalID *string
	// ArtifactURIs are its model data, normalized by the reporter.
	ArtifactURIs []string
	// ModelVersions are the IDs (model:<name>/<version>) of the versions it serves.
	ModelVersions []string
}

// DeploymentConfig is a deployment configuration: the variants an endpoint running it
// serves, each with a serving model and a weight.
type DeploymentConfig struct {
	Name       string
	ExternalID *string
	Variants   []ConfiguredVariant
}

// ConfiguredVariant is a variant of a deployment configuration.
type ConfiguredVariant struct {
	Name         string
	ServingModel string
	// Weight is the variant's share of traffic relative to the others', at least 0.
	Weight float64
}

// EndpointState is where a reported endpoint stands.
type EndpointState int

// The states of a reported endpoint.
const (
	// EndpointStateUnknown: the report says nothing about the state.
	EndpointStateUnknown EndpointState = iota
	// EndpointTransitional: being created, updated or rolled back, or failed: what
	// served keeps serving.
	EndpointTransitional
	// EndpointInService: serving its configuration.
	EndpointInService
	// EndpointEnded: being deleted or deleted: nothing serves.
	EndpointEnded
)

func (s EndpointState) stored() string {
	switch s {
	case EndpointTransitional:
		return endpointStateChanging
	case EndpointInService:
		return endpointStateInServ
	case EndpointEnded:
		return endpointStateEnded
	}
	return ""
}

// VariantWeight is an endpoint variant's current weight.
type VariantWeight struct {
	Variant string
	Weight  float64
}

// EndpointReport is one report of an endpoint. Fields a report lacks are nil or empty
// and leave what is recorded as it is.
type EndpointReport struct {
	Name       string
	ExternalID *string
	// Config names the deployment configuration the endpoint runs.
	Config *string
	State  EndpointState
	// StateWord is the reporter's own word for the state, kept as reported.
	StateWord string
	// Weights are the variants' current weights, which override the configuration's.
	Weights []VariantWeight
	// At is the report's time: a report older than the one recorded changes nothing,
	// and the deployments it begins or ends begin or end then.
	At *time.Time
}

// The lookup records.
const (
	cypherLockLookups = `
MERGE (s:` + LabelSequence + ` {name: '` + lookupLockName + `'})
SET s._lock_ = true
REMOVE s._lock_`

	cypherServingModel = `MATCH (r:` + labelServingModel + ` {key: $key}) RETURN r`

	cypherDeploymentConfig = `MATCH (r:` + labelDeploymentConfig + ` {key: $key}) RETURN r`

	cypherCreateServingModel = `
CREATE (r:` + labelServingModel + ` {key: $key, recordedAt: datetime.transaction(), recordedBy: $actor})
SET r += $props`

	cypherCreateDeploymentConfig = `
CREATE (r:` + labelDeploymentConfig + ` {key: $key, recordedAt: datetime.transaction(), recordedBy: $actor})
SET r += $props`

	// The updates return the record's properties as they were, for the audit entry.
	cypherUpdateServingModel = `
MATCH (r:` + labelServingModel + ` {key: $key})
WITH r, r {.*} AS old
SET r += $props, r.updatedAt = datetime.transaction(), r.updatedBy = $actor
RETURN old`

	cypherUpdateDeploymentConfig = `
MATCH (r:` + labelDeploymentConfig + ` {key: $key})
WITH r, r {.*} AS old
SET r += $props, r.updatedAt = datetime.transaction(), r.updatedBy = $actor
RETURN old`

	// Endpoints whose configuration is $config.
	cypherEndpointsForConfig = `
MATCH (e:` + string(KindEndpoint) + `) WHERE e.` + propEndpointConfig + ` = $config
RETURN e.key AS key ORDER BY key`

	// Endpoints whose configuration names the serving model $model.
	cypherEndpointsForModel = `
MATCH (c:` + labelDeploymentConfig + `) WHERE $model IN c.` + propConfigModels + `
WITH collect(c.name) AS configs
MATCH (e:` + string(KindEndpoint) + `) WHERE e.` + propEndpointConfig + ` IN configs
RETURN e.key AS key ORDER BY key`

	// Endpoints whose configuration names a serving model of the model version
	// $version or of one of the $artifacts.
	cypherEndpointsForVersion = `
MATCH (m:` + labelServingModel + `)
WHERE $version IN m.` + propServingVersions + ` OR any(u IN m.` + propServingArtifacts + ` WHERE ('` + prefixArtifact + `' + u) IN $artifacts)
WITH collect(m.name) AS models
MATCH (c:` + labelDeploymentConfig + `) WHERE any(n IN c.` + propConfigModels + ` WHERE n IN models)
WITH collect(c.name) AS configs
MATCH (e:` + string(KindEndpoint) + `) WHERE e.` + propEndpointConfig + ` IN configs
RETURN e.key AS key ORDER BY key`

	// cypherArtifactsOfVersions returns the artifacts model versions were registered
	// from.
	cypherArtifactsOfVersions = `
UNWIND $keys AS k
OPTIONAL MATCH (a:` + string(KindArtifact) + `)-[:` + RelRegisteredAs + `]->(:` + LabelNode + ` {key: k})
WITH a ORDER BY a.key
RETURN collect(DISTINCT a.key) AS keys`

	// cypherJobsOfServingModel returns the jobs that ran a serving model, with the
	// inputs recorded so far.
	cypherJobsOfServingModel = `
MATCH (j:` + string(KindProcessingJob) + ` {` + propServingModel + `: $model})
RETURN j.key AS key, j.` + propInputs + ` AS inputs ORDER BY key`
)

// RecordServingModel records what a serving model serves, so deployment
// configurations naming it resolve to model versions, and links the jobs that ran it
// to its model data (a job reported before its serving model is linked now, so report
// order does not decide lineage). Endpoints whose configuration names it are brought
// up to date. A serving model recorded again with other contents (deleted and created
// anew under its name) replaces the record; deployments keep their history.
func (s *Store) RecordServingModel(ctx context.Context, actor string, in ServingModel) (ReportOutcome, error) {
	if err := checkText("name", in.Name, MaxNameLength); err != nil {
		return ReportOutcome{}, err
	}
	if err := checkOptText("externalId", in.ExternalID, MaxURILength); err != nil {
		return ReportOutcome{}, err
	}
	urls := []string{}
	for i, u := range in.ArtifactURIs {
		if _, err := checkURI(fmt.Sprintf("artifactURIs[%d]", i), u); err != nil {
			return ReportOutcome{}, err
		}
		if !slices.Contains(urls, u) {
			urls = append(urls, u)
		}
	}
	versions := []string{}
	for i, v := range in.ModelVersions {
		if err := RequireKind(fmt.Sprintf("modelVersions[%d]", i), v, KindModelVersion, "model:<name>/<version>"); err != nil {
			return ReportOutcome{}, err
		}
		if !slices.Contains(versions, v) {
			versions = append(versions, v)
		}
	}
	props := map[string]any{propName: in.Name, propExternalID: optValue(in.ExternalID), propServingArtifacts: urls, propServingVersions: versions}
	key := servingModelKey(in.Name)
	return reportAudited(ctx, s, actor, ActionServingModel, func(w reportTx) (ReportOutcome, error) {
		var out ReportOutcome
		if err := w.upsertLookup(cypherServingModel, cypherCreateServingModel, cypherUpdateServingModel, key, props); err != nil {
			return ReportOutcome{}, err
		}
		if err := w.relinkJobsOfServingModel(in.Name, &out); err != nil {
			return ReportOutcome{}, err
		}
		ids, notes, err := w.reapplyEndpoints(cypherEndpointsForModel, map[string]any{"model": in.Name})
		out.add(ids...)
		out.Notes = append(out.Notes, notes...)
		return out, err
	})
}

// servingModelArtifacts returns the artifacts of the model data of a recorded serving
// model (recording those not seen yet) and of the versions it serves; none, with a
// note, for a serving model not recorded yet.
func (w reportTx) servingModelArtifacts(model string, out *ReportOutcome) ([]string, error) {
	recs, err := w.run(cypherServingModel, "look up serving model "+model, map[string]any{"key": servingModelKey(model)})
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		out.note("serving model %q is not known (forward its description); the job is not linked to it", truncateForMessage(model))
		return nil, nil
	}
	m, err := nodeAt(recs[0], "r")
	if err != nil {
		return nil, err
	}
	var keys []string
	for _, u := range stringsOf(m.Props[propServingArtifacts]) {
		props, err := artifactProps(ArtifactInput{URI: u}, "servingModel")
		if err != nil {
			return nil, err
		}
		k := props[propKey].(string)
		if _, err := w.run(cypherMergeReportedArtifact, "record artifact "+k, map[string]any{"key": k, "props": props}); err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	if versions := stringsOf(m.Props[propServingVersions]); len(versions) > 0 {
		recs, err := w.run(cypherArtifactsOfVersions, "artifacts of the versions of "+model, map[string]any{"keys": versions})
		if err != nil {
			return nil, err
		}
		for _, k := range stringsOf(recs[0].Values[0]) {
			if !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	return keys, nil
}

// relinkJobsOfServingModel makes the model data of a serving model just recorded an
// input of the jobs that ran it.
func (w reportTx) relinkJobsOfServingModel(model string, out *ReportOutcome) error {
	recs, err := w.run(cypherJobsOfServingModel, "jobs of serving model "+model, map[string]any{"model": model})
	if err != nil || len(recs) == 0 {
		return err
	}
	var scratch ReportOutcome
	keys, err := w.servingModelArtifacts(model, &scratch)
	if err != nil || len(keys) == 0 {
		return err
	}
	for _, rec := range recs {
		job, _ := rec.Values[0].(string)
		have := stringsOf(rec.Values[1])
		all := slices.Compact(slices.Sorted(slices.Values(append(slices.Clone(have), keys...))))
		if slices.Equal(all, have) {
			continue
		}
		if err := w.lock(job); err != nil {
			return err
		}
		if err := w.linkJob(job, keys, nil); err != nil {
			return err
		}
		// The inputs list only grows with the INPUT_TO edges, which are never removed:
		// the audit entry lists the job and the model data among its targets.
		if _, err := w.setProps(job, "update job", map[string]any{propInputs: all}, true); err != nil {
			return err
		}
		out.add(job)
		out.add(keys...)
	}
	return nil
}

// RecordDeploymentConfig records a deployment configuration: its variants with their
// serving models and weights. Endpoints running it are brought up to date.
func (s *Store) RecordDeploymentConfig(ctx context.Context, actor string, in DeploymentConfig) (ReportOutcome, error) {
	if err := checkText("name", in.Name, MaxNameLength); err != nil {
		return ReportOutcome{}, err
	}
	if err := checkOptText("externalId", in.ExternalID, MaxURILength); err != nil {
		return ReportOutcome{}, err
	}
	if len(in.Variants) > MaxTags {
		return ReportOutcome{}, apperr.Invalid("variants", "must hold at most %d variants (got %d)", MaxTags, len(in.Variants))
	}
	names, models, weights := []string{}, []string{}, []float64{}
	for i, v := range in.Variants {
		field := fmt.Sprintf("variants[%d]", i)
		if err := checkText(field+".name", v.Name, MaxShortTextLength); err != nil {
			return ReportOutcome{}, err
		}
		if slices.Contains(names, v.Name) {
			return ReportOutcome{}, apperr.Invalid(field+".name", "variant %q is given twice", truncateForMessage(v.Name))
		}
		if err := checkText(field+".servingModel", v.ServingModel, MaxNameLength); err != nil {
			return ReportOutcome{}, err
		}
		if err := checkWeight(field+".weight", v.Weight); err != nil {
			return ReportOutcome{}, err
		}
		names, models, weights = append(names, v.Name), append(models, v.ServingModel), append(weights, v.Weight)
	}
	props := map[string]any{propName: in.Name, propExternalID: optValue(in.ExternalID),
		propConfigVariants: names, propConfigModels: models, propConfigWeights: weights}
	key := deploymentConfigKey(in.Name)
	return reportAudited(ctx, s, actor, ActionDeploymentConfig, func(w reportTx) (ReportOutcome, error) {
		var out ReportOutcome
		if err := w.upsertLookup(cypherDeploymentConfig, cypherCreateDeploymentConfig, cypherUpdateDeploymentConfig, key, props); err != nil {
			return ReportOutcome{}, err
		}
		ids, notes, err := w.reapplyEndpoints(cypherEndpointsForConfig, map[string]any{"config": in.Name})
		out.add(ids...)
		out.Notes = append(out.Notes, notes...)
		return out, err
	})
}

func checkWeight(field string, w float64) error {
	if math.IsNaN(w) || math.IsInf(w, 0) || w < 0 {
		return apperr.Invalid(field, "must be a number of at least 0 (got %v)", w)
	}
	return nil
}

// upsertLookup creates a lookup record or updates the properties that changed, under
// the lookup lock (the records' keys have no uniqueness constraint).
func (w reportTx) upsertLookup(get, create, update, key string, props map[string]any) error {
	if _, err := w.run(cypherLockLookups, "lock lookup records", map[string]any{}); err != nil {
		return err
	}
	recs, err := w.run(get, "look up "+key, map[string]any{"key": key})
	if err != nil {
		return err
	}
	// The record is among the entry's targets, so its changes are found by its key.
	w.au.target(key)
	if len(recs) == 0 {
		_, err := w.run(create, "record "+key, map[string]any{"key": key, "props": props})
		return err
	}
	have, err := nodeAt(recs[0], "r")
	if err != nil {
		return err
	}
	changed := map[string]any{}
	for p, v := range props {
		if !equalValues(comparableValue(have.Props[p]), comparableValue(v)) {
			changed[p] = v
		}
	}
	if len(changed) == 0 {
		return nil
	}
	recs, err = w.run(update, "update "+key, map[string]any{"key": key, "props": changed})
	if err != nil || len(recs) == 0 {
		return err
	}
	old, _, err := neo4j.GetRecordValue[map[string]any](recs[0], "old")
	w.au.changeProps(key, old, changed)
	return err
}

// reapplyEndpoints brings the deployments of the endpoints cypher finds up to date.
func (w reportTx) reapplyEndpoints(cypher string, params map[string]any) ([]string, []string, error) {
	recs, err := w.run(cypher, "endpoints to update", params)
	if err != nil {
		return nil, nil, err
	}
	var ids, notes []string
	for _, r := range recs {
		k, _ := r.Get("key")
		// Another report changed what the endpoint resolves to (see applyEndpoint).
		deployed, n, err := w.applyEndpoint(k.(string), nil, true)
		if err != nil {
			return nil, nil, err
		}
		ids = append(append(ids, k.(string)), deployed...)
		notes = append(notes, n...)
	}
	return ids, notes, nil
}

// endpointPlan is an endpoint report checked, computed without the database.
type endpointPlan struct {
	in      EndpointReport
	key     string
	names   []string
	weights []float64
}

func planEndpoint(in EndpointReport) (endpointPlan, error) {
	p := endpointPlan{in: in, key: EndpointKey(in.Name)}
	if err := checkText("name", in.Name, MaxModelNameLength); err != nil {
		return p, err
	}
	sw := &in.StateWord
	if in.StateWord == "" {
		sw = nil
	}
	for field, v := range map[string]*string{"externalId": in.ExternalID, "config": in.Config, "stateWord": sw} {
		if err := checkOptText(field, v, MaxURILength); err != nil {
			return p, err
		}
	}
	if in.State < EndpointStateUnknown || in.State > EndpointEnded {
		return p, apperr.Invalid("state", "is not an endpoint state (%d)", in.State)
	}
	for i, v := range in.Weights {
		if v.Variant == "" || slices.Contains(p.names, v.Variant) {
			continue
		}
		if err := checkText(fmt.Sprintf("weights[%d].variant", i), v.Variant, MaxShortTextLength); err != nil {
			return p, err
		}
		if err := checkWeight(fmt.Sprintf("weights[%d].weight", i), v.Weight); err != nil {
			return p, err
		}
		p.names, p.weights = append(p.names, v.Variant), append(p.weights, v.Weight)
	}
	return p, nil
}

// updates returns what the report changes on endpoint e: a CONFLICT for another
// external ID; nothing else for a report older than the one recorded (stale).
func (p endpointPlan) updates(e Node) (props map[string]any, stale *time.Time, err error) {
	in := p.in
	props = map[string]any{}
	if in.ExternalID != nil {
		if have := e.OptString(propExternalID); have == nil {
			props[propExternalID] = *in.ExternalID
		} else if *have != *in.ExternalID {
			return nil, nil, apperr.Conflicting("externalId", "endpoint %q was recorded with external ID %q; got %q", p.key, *have, *in.ExternalID)
		}
	}
	have := e.OptTime(propReportedAt)
	if in.At != nil && have != nil && in.At.Before(*have) {
		return props, have, nil
	}
	if in.At != nil && (have == nil || !have.Equal(*in.At)) {
		props[propReportedAt] = in.At.UTC()
	}
	if in.State != EndpointStateUnknown {
		if e.String(propEndpointState) != in.State.stored() {
			props[propEndpointState] = in.State.stored()
		}
		if in.StateWord != "" && e.String(propReportedStatus) != in.StateWord {
			props[propReportedStatus] = in.StateWord
		}
	}
	if in.Config != nil && e.String(propEndpointConfig) != *in.Config {
		props[propEndpointConfig] = *in.Config
	}
	if len(p.names) > 0 {
		if !equalValues(comparableValue(e.Props[propEndpointVariants]), comparableValue(p.names)) ||
			!equalValues(comparableValue(e.Props[propEndpointWeights]), comparableValue(p.weights)) {
			props[propEndpointVariants], props[propEndpointWeights] = p.names, p.weights
		}
	}
	return props, nil, nil
}

// ReportEndpoint records one report of an endpoint in one transaction: the endpoint
// endpoint:<name>, its state and configuration, and — once it is in service —
// deployments of the model versions its configuration's variants resolve to, each with
// its traffic share (weight over the sum of weights), beginning at the report's time.
// A configuration other than the one deployed ends the old deployments; an ended
// endpoint ends all. A report older than the one recorded changes nothing.
func (s *Store) ReportEndpoint(ctx context.Context, actor string, in EndpointReport) (ReportOutcome, error) {
	p, err := planEndpoint(in)
	if err != nil {
		return ReportOutcome{}, err
	}
	return reportAudited(ctx, s, actor, ActionEndpointReport, func(w reportTx) (ReportOutcome, error) {
		var out ReportOutcome
		endpoint := map[string]any{"key": p.key, "name": in.Name}
		created := false
		for _, q := range []string{cypherLockEndpoint, cypherMergeEndpoint, cypherLockEndpoint} {
			recs, err := w.run(q, "record endpoint "+p.key, endpoint)
			if err != nil {
				return ReportOutcome{}, err
			}
			if q == cypherMergeEndpoint {
				c, _ := recs[0].Get("created")
				created = c == true
			}
		}
		e, err := nodeByKey(w.ctx, w.tx, "name", p.key)
		if err != nil {
			return ReportOutcome{}, err
		}
		out.add(p.key)
		props, stale, err := p.updates(e)
		if err != nil {
			return ReportOutcome{}, err
		}
		if stale != nil {
			out.note("report older than the one recorded (%s); endpoint left as it is", stale.Format(time.RFC3339))
		}
		if err := w.changeProps(p.key, "update endpoint", props, false, created); err != nil {
			return ReportOutcome{}, err
		}
		// The deployments this report begins or ends do so at its time; a report with no
		// time of its own, or a stale one, changes them now.
		var at any
		if stale == nil && in.At != nil {
			at = in.At.UTC()
		}
		deployed, notes, err := w.applyEndpoint(p.key, at, false)
		out.add(deployed...)
		out.Notes = append(out.Notes, notes...)
		return out, err
	})
}

// servedVariant is what a variant should serve.
type servedVariant struct {
	version string
	share   float64
}

// applyEndpoint makes the endpoint's deployments what its recorded state says: when it
// is in service, its configuration's variants (resolved to model versions) with their
// shares; when it has ended, none; otherwise (being created or updated) what was
// deployed stays. Deployments begin and end at at (nil: the transaction's time).
//
// late says another report (a serving model, a configuration, a model version) changed
// what the endpoint resolves to. When nothing was deployed yet, the endpoint has served
// its configuration since its last report and the deployments begin then, as the
// events say; when something was, what served until now did serve, and the change
// happens now, so history is not rewritten. It returns the model versions deployed and
// notes on variants not resolved.
func (w reportTx) applyEndpoint(key string, at any, late bool) (deployed, notes []string, err error) {
	if err := w.lock(key); err != nil {
		return nil, nil, err
	}
	e, err := nodeByKey(w.ctx, w.tx, "name", key)
	if err != nil {
		return nil, nil, err
	}
	active, err := deploymentsOf(w.ctx, w.tx, key, nil)
	if err != nil {
		return nil, nil, err
	}
	// deployedConfig is the configuration the deployments will stand for: the one
	// resolved, or none (ended, or serving a configuration not known yet).
	desired := map[string]servedVariant{}
	config := e.String(propEndpointConfig)
	deployedConfig := ""
	switch e.String(propEndpointState) {
	case endpointStateEnded:
	case endpointStateInServ:
		if config == "" {
			return nil, []string{"the endpoint names no deployment configuration; deployments unchanged"}, nil
		}
		recs, err := w.run(cypherDeploymentConfig, "look up configuration "+config, map[string]any{"key": deploymentConfigKey(config)})
		if err != nil {
			return nil, nil, err
		}
		if len(recs) == 0 {
			notes = append(notes, fmt.Sprintf("deployment configuration %q is not known yet (forward its description); deployments follow when it is", config))
			if len(active) == 0 || e.String(propDeployedConfig) == config {
				return nil, notes, nil
			}
			// The endpoint serves another configuration now: what served before does not.
			break
		}
		c, err := nodeAt(recs[0], "r")
		if err != nil {
			return nil, nil, err
		}
		if desired, notes, err = w.resolveVariants(e, c); err != nil {
			return nil, nil, err
		}
		deployedConfig = config
	default:
		// Being created, updated, rolled back: what served keeps serving until the
		// endpoint is in service again.
		return nil, nil, nil
	}
	if late && len(active) == 0 {
		at = timeValue(e.OptTime(propReportedAt))
	}
	deployed, err = w.redeploy(key, at, active, desired)
	if err != nil {
		return nil, nil, err
	}
	if e.String(propDeployedConfig) != deployedConfig {
		var v any
		if deployedConfig != "" {
			v = deployedConfig
		}
		// Which configuration's deployments are active is bookkeeping: the audit entry
		// records the deployments themselves (deployment.<variant>).
		if _, err := w.setProps(key, "update endpoint", map[string]any{propDeployedConfig: v}, false); err != nil {
			return nil, nil, err
		}
	}
	return deployed, notes, nil
}

// redeploy ends the active deployments that differ from desired and begins the
// desired ones not active, at time at (nil: now); it returns the versions deployed.
func (w reportTx) redeploy(key string, at any, active []Deployment, desired map[string]servedVariant) ([]string, error) {
	// Intervals never overlap: what replaces an active deployment begins no earlier
	// than the latest active one began (which ends then too).
	if t, ok := at.(time.Time); ok {
		for _, d := range active {
			if d.From.After(t) {
				t = d.From.UTC()
			}
		}
		at = t
	}
	var deployed []string
	ended := map[string]variantServing{}
	for _, d := range active {
		want, ok := desired[d.Variant]
		if ok && want.version == d.ModelVersion.Key && want.share == d.TrafficShare {
			delete(desired, d.Variant)
			deployed = append(deployed, d.ModelVersion.Key)
			continue
		}
		recs, err := w.run(cypherEndDeployments, "end deployments of "+key, map[string]any{"key": key, "variant": d.Variant, "at": at})
		if err != nil {
			return nil, err
		}
		ended[d.Variant] = variantServingAt(recs)
	}
	for _, v := range slices.Sorted(maps.Keys(ended)) {
		if _, ok := desired[v]; !ok {
			w.au.changeDeployment(key, v, ended[v], variantServing{})
		}
	}
	for _, v := range slices.Sorted(maps.Keys(desired)) {
		d := desired[v]
		w.au.changeDeployment(key, v, ended[v], variantServing{d.version, d.share})
		if _, err := w.run(cypherCreateDeployment, "deploy "+d.version+" to "+key, map[string]any{
			"key": key, "modelVersion": d.version, "variant": v, "share": d.share, "at": at,
		}); err != nil {
			return nil, err
		}
		deployed = append(deployed, d.version)
	}
	return deployed, nil
}

const (
	cypherVersionsOfArtifacts = `
UNWIND $artifacts AS k
MATCH (:` + LabelNode + ` {key: k})-[:` + RelRegisteredAs + `]->(v:` + string(KindModelVersion) + `)
RETURN v.key AS key ORDER BY v.recordedAt DESC, v.version DESC LIMIT 1`
)

// resolveVariants resolves the variants of configuration c to model versions, with
// traffic shares: a variant's weight (the endpoint's current weight when reported,
// else the configuration's) over the sum of all variants' weights.
func (w reportTx) resolveVariants(e, c Node) (map[string]servedVariant, []string, error) {
	names, models, weights := stringsOf(c.Props[propConfigVariants]), stringsOf(c.Props[propConfigModels]), floatsOf(c.Props[propConfigWeights])
	current := map[string]float64{}
	for i, n := range stringsOf(e.Props[propEndpointVariants]) {
		if ws := floatsOf(e.Props[propEndpointWeights]); i < len(ws) {
			current[n] = ws[i]
		}
	}
	total := 0.0
	for i, n := range names {
		if wt, ok := current[n]; ok && i < len(weights) {
			weights[i] = wt
		}
		if i < len(weights) {
			total += weights[i]
		}
	}
	out := map[string]servedVariant{}
	var notes []string
	for i, n := range names {
		if i >= len(models) || i >= len(weights) {
			break
		}
		if weights[i] <= 0 || total <= 0 {
			notes = append(notes, fmt.Sprintf("variant %q has weight 0 and serves no traffic; not deployed", n))
			continue
		}
		version, err := w.resolveServingModel(models[i])
		if err != nil {
			return nil, nil, err
		}
		if version == "" {
			notes = append(notes, fmt.Sprintf("variant %q: serving model %q does not resolve to a model version yet "+
				"(forward its description and its model version); not deployed", n, models[i]))
			continue
		}
		out[n] = servedVariant{version: version, share: weights[i] / total}
	}
	return out, notes, nil
}

// resolveServingModel returns the model version a serving model serves, or "": the
// first of its versions recorded, else the newest version registered from its model
// data.
func (w reportTx) resolveServingModel(model string) (string, error) {
	recs, err := w.run(cypherServingModel, "look up serving model "+model, map[string]any{"key": servingModelKey(model)})
	if err != nil || len(recs) == 0 {
		return "", err
	}
	m, err := nodeAt(recs[0], "r")
	if err != nil {
		return "", err
	}
	if versions := stringsOf(m.Props[propServingVersions]); len(versions) > 0 {
		recs, err := w.run(cypherFoundKeys, "look up versions of "+model, map[string]any{"keys": versions})
		if err != nil {
			return "", err
		}
		if found := stringsOf(recs[0].Values[0]); len(found) > 0 {
			for _, v := range versions { // in the serving model's order
				if slices.Contains(found, v) {
					return v, nil
				}
			}
		}
	}
	var artifacts []string
	for _, u := range stringsOf(m.Props[propServingArtifacts]) {
		artifacts = append(artifacts, ArtifactKey(u))
	}
	if len(artifacts) == 0 {
		return "", nil
	}
	recs, err = w.run(cypherVersionsOfArtifacts, "versions of the model data of "+model, map[string]any{"artifacts": artifacts})
	if err != nil || len(recs) == 0 {
		return "", err
	}
	v, _ := recs[0].Get("key")
	s, _ := v.(string)
	return s, nil
}

// transformModelMigration indexes the jobs that ran a serving model by it, so a
// serving model recorded after its jobs finds them (RecordServingModel), and the
// lookup records by key, which every job, endpoint and configuration report reads.
var transformModelMigration = Migration{
	Version:     7,
	Description: "SageMaker transform jobs by the model they ran; SageMaker model and endpoint configuration records by key; node IDs by a part of them",
	Statements: []string{
		`CREATE INDEX processing_job_sagemaker_model IF NOT EXISTS
		 FOR (j:` + string(KindProcessingJob) + `) ON (j.` + propServingModel + `)`,
		`CREATE INDEX sagemaker_model_key IF NOT EXISTS
		 FOR (r:` + labelServingModel + `) ON (r.key)`,
		`CREATE INDEX sagemaker_endpoint_config_key IF NOT EXISTS
		 FOR (r:` + labelDeploymentConfig + `) ON (r.key)`,
		// Searching IDs by a part of them (CONTAINS, ENDS WITH): the tests' snapshots of
		// what a request wrote, and operators looking for a node by a fragment of its ID.
		// Retired by nodeKeyTextMigration: it cost every write more than it served.
		`CREATE TEXT INDEX node_key_text IF NOT EXISTS
		 FOR (n:` + LabelNode + `) ON (n.key)`,
	},
	Indexes: []string{"processing_job_sagemaker_model", "sagemaker_model_key", "sagemaker_endpoint_config_key", "node_key_text"},
}

// nodeKeyTextMigration drops the text index on node IDs. Neo4j keeps a text index in
// Lucene, by the trigrams of each ID: every node a write creates was indexed there and
// merged again and again with the index's growing segments. During OpenLineage batch
// ingest on the 1M-node benchmark graph, Lucene's segment merges (of this index and the
// full-text one) took 31% of Neo4j's CPU with it and 18% without it, and ingest took in
// 11-55% more events a second without it (BENCHMARKS.md, "OpenLineage ingest without
// the text index on IDs"). Nothing provgraph serves reads it: IDs are found by their
// full value or their start (the unique constraint's range index answers both), and
// search finds a node by its ID cut short or by the words of its names and URIs. A
// CONTAINS or ENDS WITH on n.key now reads every node; the tests, whose snapshots ask
// that, give their own database an index of their own (neo4jtest).
var nodeKeyTextMigration = Migration{
	Version:     15,
	Description: "node IDs no longer in a text index (Lucene's upkeep of it slowed every write; nothing served reads it)",
	Statements:  []string{`DROP INDEX node_key_text IF EXISTS`},
	Retired:     []string{"node_key_text"},
}

// endpointStateMigration gives the endpoints recorded before reports said their state
// in domain terms the state their reported word meant (the words of the only source
// that reported endpoints then).
var endpointStateMigration = Migration{
	Version:     10,
	Description: "reported endpoints: their state (in service, ended, transitional) from their reported status",
	Backfills: []string{
		`MATCH (e:` + string(KindEndpoint) + `)
		 WHERE e.` + propReportedStatus + ` IS NOT NULL AND e.` + propEndpointState + ` IS NULL
		 SET e.` + propEndpointState + ` = CASE
		   WHEN e.` + propReportedStatus + ` = 'InService' THEN '` + endpointStateInServ + `'
		   WHEN e.` + propReportedStatus + ` IN ['Deleting', 'Deleted'] THEN '` + endpointStateEnded + `'
		   ELSE '` + endpointStateChanging + `' END`,
	},
}
