package store

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/provgraph/provgraph/apperr"
)

// ModelVersionReport is one report of a model version registered elsewhere (a model
// registry's package version). Fields a report lacks are nil or empty and leave what
// is recorded as it is.
type ModelVersionReport struct {
	// Model is the registered model (created on first use); Version counts from 1.
	Model   string
	Version int64
	// ExternalID is the version's ID in the registry that reported it (an ARN); fixed.
	ExternalID *string
	// Status is the registry's own word for the version's state, kept as reported.
	Status *string
	// Approval is the approval the report gives ("" for none); ApprovalComment is
	// recorded with a change of it.
	Approval        ApprovalStatus
	ApprovalComment *string
	// ArtifactURIs are the model data the version was registered from, normalized by
	// the reporter; the first is its source, fixed.
	ArtifactURIs []string
	Description  *string
	Framework    *string
	// ModifiedAt is when the registry last changed the version: a report older than
	// the one recorded changes neither approval nor status.
	ModifiedAt *time.Time
}

const (
	cypherMergeReportedModel = `
MERGE (m:` + LabelNode + ` {key: $modelKey})
  ON CREATE SET m:` + string(KindRegisteredModel) + `, m.kind = '` + string(KindRegisteredModel) + `',
    m.name = $model, m.latestVersion = 0,
    m.recordedAt = datetime.transaction(), m.recordedBy = $actor
SET m._lock_ = true
REMOVE m._lock_
WITH m
SET m.latestVersion = CASE WHEN coalesce(m.latestVersion, 0) < $version THEN $version ELSE m.latestVersion END
RETURN m`

	cypherMergeReportedVersion = `
MATCH (m:` + LabelNode + ` {key: $modelKey})
MERGE (v:` + LabelNode + ` {key: $key})
  ON CREATE SET v:` + string(KindModelVersion) + `, v += $props,
    v.recordedAt = datetime.transaction(), v.recordedBy = $actor, v.` + createdFlag + ` = true
WITH m, v, coalesce(v.` + createdFlag + `, false) AS created
REMOVE v.` + createdFlag + `
FOREACH (_ IN CASE WHEN created THEN [1] ELSE [] END | CREATE (v)-[:` + RelVersionOf + `]->(m))
SET v._lock_ = true
REMOVE v._lock_
RETURN v, created`

	cypherRegisteredAs = `
MATCH (v:` + LabelNode + ` {key: $version})
UNWIND $artifacts AS k
MATCH (a:` + LabelNode + ` {key: k})
MERGE (a)-[e:` + RelRegisteredAs + `]->(v)
  ON CREATE SET e.recordedAt = datetime.transaction(), e.recordedBy = $actor`
)

// modelVersionPlan is a model version report checked, computed without the database.
type modelVersionPlan struct {
	in        ModelVersionReport
	modelKey  string
	key       string
	artifacts []map[string]any
	props     map[string]any
	notes     []string
}

func planModelVersion(in ModelVersionReport) (modelVersionPlan, error) {
	p := modelVersionPlan{in: in}
	if err := checkText("model", in.Model, MaxModelNameLength); err != nil {
		return p, err
	}
	if modelVersionSuffix.MatchString(in.Model) || strings.Contains(in.Model, "/") {
		return p, apperr.Invalid("model", "must not contain '/' (got %q)", truncateForMessage(in.Model))
	}
	if in.Version < 1 {
		return p, apperr.Invalid("version", "must be a version number from 1 (got %d)", in.Version)
	}
	for field, v := range map[string]*string{"externalId": in.ExternalID, "status": in.Status} {
		if err := checkOptText(field, v, MaxURILength); err != nil {
			return p, err
		}
	}
	if err := checkDescription("description", in.Description); err != nil {
		return p, err
	}
	if err := checkDescription("approvalComment", in.ApprovalComment); err != nil {
		return p, err
	}
	if err := checkProse("framework", in.Framework, MaxFrameworkLength); err != nil {
		return p, err
	}
	switch in.Approval {
	case "", PendingManualApproval, Approved, Rejected:
	default:
		return p, apperr.Invalid("approval", "must be PENDING_MANUAL_APPROVAL, APPROVED or REJECTED (got %q)", in.Approval)
	}
	for i, u := range in.ArtifactURIs {
		field := fmt.Sprintf("artifactURIs[%d]", i)
		props, err := artifactProps(ArtifactInput{URI: u}, field)
		if err != nil {
			return p, err
		}
		if !slices.ContainsFunc(p.artifacts, func(a map[string]any) bool { return a[propKey] == props[propKey] }) {
			p.artifacts = append(p.artifacts, props)
		}
	}
	if len(p.artifacts) == 0 {
		p.notes = append(p.notes, "the model version names no model data; it is recorded without an artifact")
	}
	p.modelKey = RegisteredModelKey(in.Model)
	p.key = ModelVersionKey(in.Model, in.Version)
	var source any
	if len(p.artifacts) > 0 {
		source = p.artifacts[0][propURI]
	}
	p.props = map[string]any{
		propKey: p.key, propKind: string(KindModelVersion), propName: in.Model + "/" + strconv.FormatInt(in.Version, 10),
		propModel: in.Model, propVersion: in.Version, propSource: source, propDescription: optValue(in.Description),
		propFramework: optValue(in.Framework), propExternalID: optValue(in.ExternalID),
	}
	return p, nil
}

func (p modelVersionPlan) artifactKeys() []string {
	out := make([]string, len(p.artifacts))
	for i, a := range p.artifacts {
		out[i] = a[propKey].(string)
	}
	return out
}

// fixedUpdates returns the fixed facts v lacks, or a CONFLICT: a registered version
// never changes.
func (p modelVersionPlan) fixedUpdates(v Node) (map[string]any, error) {
	update := map[string]any{}
	for _, c := range []struct {
		field, prop string
		value       any
	}{{"externalId", propExternalID, p.props[propExternalID]}, {"artifactURIs[0]", propSource, p.props[propSource]}} {
		if c.value == nil {
			continue
		}
		if have := v.Props[c.prop]; have == nil {
			update[c.prop] = c.value
		} else if have != c.value {
			return nil, apperr.Conflicting(c.field, "model version %q was recorded with %s %s; got %s "+
				"(a registered version never changes)", p.key, c.prop, describe(have), describe(c.value))
		}
	}
	return update, nil
}

// stale says whether the report is older than the one recorded on v.
func (p modelVersionPlan) stale(v Node) (*time.Time, bool) {
	have := v.OptTime(propReportedAt)
	return have, p.in.ModifiedAt != nil && have != nil && p.in.ModifiedAt.Before(*have)
}

// ReportModelVersion records one report of a model version in one transaction: the
// registered model (created on first use), the model version registered from the
// artifacts the report names (an artifact a job PRODUCED connects the version to that
// job), and a change of its approval when the report's differs from the current one.
// A report older than the newest one recorded changes no approval. Endpoints whose
// deployment configuration resolves to the version are brought up to date.
func (s *Store) ReportModelVersion(ctx context.Context, actor string, in ModelVersionReport) (ReportOutcome, error) {
	p, err := planModelVersion(in)
	if err != nil {
		return ReportOutcome{}, err
	}
	return reportAudited(ctx, s, actor, ActionModelVersionReport, func(w reportTx) (ReportOutcome, error) {
		out := ReportOutcome{Notes: slices.Clone(p.notes)}
		err := w.reportModelVersion(p, &out)
		return out, err
	})
}

func (w reportTx) reportModelVersion(p modelVersionPlan, out *ReportOutcome) error {
	in := p.in
	if _, err := w.run(cypherMergeReportedModel, "record registered model "+p.modelKey, map[string]any{
		"modelKey": p.modelKey, "model": in.Model, "version": in.Version,
	}); err != nil {
		return err
	}
	recs, err := w.run(cypherMergeReportedVersion, "record model version "+p.key, map[string]any{"modelKey": p.modelKey, "key": p.key, "props": p.props})
	if err != nil {
		return err
	}
	v, err := nodeAt(recs[0], "v")
	if err != nil {
		return err
	}
	created, _ := recs[0].Get("created")
	out.add(p.key, p.modelKey)
	update, err := p.fixedUpdates(v)
	if err != nil {
		return err
	}
	if len(p.artifacts) > 0 {
		keys := p.artifactKeys()
		for i, a := range p.artifacts {
			if _, err := w.run(cypherMergeReportedArtifact, "record artifact "+keys[i], map[string]any{"key": keys[i], "props": a}); err != nil {
				return err
			}
		}
		if _, err := w.run(cypherRegisteredAs, "register "+p.key, map[string]any{"version": p.key, "artifacts": keys}); err != nil {
			return err
		}
		out.add(keys...)
	}
	have, stale := p.stale(v)
	if stale {
		out.note("report older than the one recorded (%s); approval and status left as they are", have.Format(time.RFC3339))
	} else {
		if in.ModifiedAt != nil && (have == nil || !have.Equal(*in.ModifiedAt)) {
			update[propReportedAt] = in.ModifiedAt.UTC()
		}
		if in.Status != nil && v.String(propReportedStatus) != *in.Status {
			update[propReportedStatus] = *in.Status
		}
	}
	if err := w.changeProps(p.key, "update model version", update, false, created == true); err != nil {
		return err
	}
	if in.Approval != "" && !stale {
		if err := w.reportApproval(p.key, in.Approval, in.ApprovalComment); err != nil {
			return err
		}
	}
	ids, notes, err := w.reapplyEndpoints(cypherEndpointsForVersion, map[string]any{"version": p.key, "artifacts": p.artifactKeys()})
	out.add(ids...)
	out.Notes = append(out.Notes, notes...)
	return err
}

// reportApproval adds an approval to the version's history when it changes the
// current one.
func (w reportTx) reportApproval(key string, approval ApprovalStatus, comment *string) error {
	history, err := approvalsOf(w.ctx, w.tx, key)
	if err != nil {
		return err
	}
	current := StatusOf(history)
	if current == approval {
		return nil
	}
	w.au.changeValue(key, ChangeApproval, string(current), string(approval))
	_, err = w.run(cypherAddApproval, "record approval of "+key, map[string]any{
		"key": key, "status": string(approval), "comment": optValue(comment), "seq": len(history) + 1,
	})
	return err
}
