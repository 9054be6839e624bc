package store

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"

	"github.com/provgraph/provgraph/apperr"
)

// ApprovalStatus is a model version's approval state (SageMaker Model Registry's).
type ApprovalStatus string

// The approval states. A new version is pending.
const (
	PendingManualApproval ApprovalStatus = "PENDING_MANUAL_APPROVAL"
	Approved              ApprovalStatus = "APPROVED"
	Rejected              ApprovalStatus = "REJECTED"
)

// Approval is one recorded change of a model version's approval status.
type Approval struct {
	Status  ApprovalStatus
	Comment *string
	At      time.Time
	Actor   string
	// Seq is the change's place in its model version's history, from 1.
	Seq int64
}

// VersionApproval is an approval change with the model version it is about.
type VersionApproval struct {
	Approval
	ModelVersion Node
}

// AliasMove is one assignment of an alias to a model version; To is set when the
// alias moved on.
type AliasMove struct {
	Alias      string
	Version    Node
	From       time.Time
	To         *time.Time
	RecordedBy string
}

// Labels and relationship types of the registry's history records. They carry no
// LabelNode: they are facts about nodes, not nodes of the provenance graph.
const (
	LabelApproval = "Approval"
	RelApprovalOf = "APPROVAL_OF"
	RelAlias      = "ALIAS"
)

// MaxAliasLength bounds alias names.
const MaxAliasLength = 128

// reservedAlias matches names that already mean a version (as in MLflow).
var reservedAlias = regexp.MustCompile(`^(?i:v?[0-9]+|latest)$`)

const (
	cypherLockNode = `
MATCH (n:` + LabelNode + ` {key: $key})
SET n._lock_ = true
REMOVE n._lock_`

	// cypherLockAndReadNode write-locks the node and returns it as locked.
	cypherLockAndReadNode = cypherLockNode + `
RETURN n`

	cypherApprovals = `
MATCH (a:` + LabelApproval + `)-[:` + RelApprovalOf + `]->(:` + LabelNode + ` {key: $key})
RETURN a ORDER BY a.at, a.seq`

	cypherAddApproval = `
MATCH (mv:` + LabelNode + ` {key: $key})
CREATE (a:` + LabelApproval + ` {status: $status, comment: $comment, at: datetime.transaction(),
    actor: $actor, seq: $seq})-[:` + RelApprovalOf + `]->(mv)
RETURN a`

	cypherAliases = `
MATCH (m:` + LabelNode + ` {key: $model})-[r:` + RelAlias + `]->(v:` + LabelNode + `)
WITH m, r, v, coalesce($at, datetime.transaction()) AS at
WHERE ($inForce = false OR (r.from <= at AND (r.to IS NULL OR r.to > at))) AND ($alias IS NULL OR r.alias = $alias)
RETURN r, v ORDER BY r.alias, r.from`

	// cypherEndAlias ends the alias's assignment in force and returns the version it
	// pointed at.
	cypherEndAlias = `
MATCH (:` + LabelNode + ` {key: $model})-[r:` + RelAlias + ` {alias: $alias}]->(v:` + LabelNode + `)
WHERE r.to IS NULL
SET r.to = datetime.transaction(), r.endedBy = $actor
RETURN v.key AS version ORDER BY r.from DESC LIMIT 1`

	cypherSetAlias = `
MATCH (m:` + LabelNode + ` {key: $model}), (v:` + LabelNode + ` {key: $version})
CREATE (m)-[r:` + RelAlias + ` {alias: $alias, from: datetime.transaction(), recordedBy: $actor}]->(v)
RETURN r, v`
)

// ApprovalsOf returns the approval history of a model version, oldest first: all of
// it, or with asOf, the changes recorded by then.
func (s *Store) ApprovalsOf(ctx context.Context, key string, asOf *time.Time) ([]Approval, error) {
	history, err := read(ctx, s, func(tx neo4j.ManagedTransaction) ([]Approval, error) {
		return approvalsOf(ctx, tx, key)
	})
	return approvalsBy(history, asOf), err
}

// approvalsBy keeps the approval changes recorded by asOf (all, when nil).
func approvalsBy(history []Approval, asOf *time.Time) []Approval {
	if asOf == nil {
		return history
	}
	out := history[:0:0]
	for _, a := range history {
		if !a.At.After(*asOf) {
			out = append(out, a)
		}
	}
	return out
}

func approvalsOf(ctx context.Context, tx neo4j.ManagedTransaction, key string) ([]Approval, error) {
	recs, err := collect(ctx, tx, cypherApprovals, map[string]any{"key": key})
	if err != nil {
		return nil, fmt.Errorf("approvals of %q: %w", key, err)
	}
	out := make([]Approval, 0, len(recs))
	for _, r := range recs {
		n, err := nodeAt(r, "a")
		if err != nil {
			return nil, err
		}
		out = append(out, approvalFrom(n))
	}
	return out, nil
}

// approvalFrom reads an approval record.
func approvalFrom(n Node) Approval {
	a := Approval{Status: ApprovalStatus(n.String("status")), Comment: n.OptString("comment"), Actor: n.String("actor"), Seq: n.Int("seq")}
	if t := n.OptTime("at"); t != nil {
		a.At = *t
	}
	return a
}

const cypherAllApprovals = `
MATCH (a:` + LabelApproval + `)-[:` + RelApprovalOf + `]->(mv:` + LabelNode + `)
RETURN a, mv ORDER BY a.at, mv.key, a.seq LIMIT $limit`

// AllApprovals returns the approval changes of every model version, oldest first, at
// most limit of them.
func (s *Store) AllApprovals(ctx context.Context, limit int) ([]VersionApproval, error) {
	return read(ctx, s, func(tx neo4j.ManagedTransaction) ([]VersionApproval, error) {
		recs, err := collect(ctx, tx, cypherAllApprovals, map[string]any{"limit": limit})
		if err != nil {
			return nil, fmt.Errorf("approvals: %w", err)
		}
		out := make([]VersionApproval, 0, len(recs))
		for _, r := range recs {
			a, err := nodeAt(r, "a")
			if err != nil {
				return nil, err
			}
			mv, err := nodeAt(r, "mv")
			if err != nil {
				return nil, err
			}
			out = append(out, VersionApproval{approvalFrom(a), mv})
		}
		return out, nil
	})
}

// StatusOf returns the current approval status given a history (pending when empty).
func StatusOf(history []Approval) ApprovalStatus {
	if len(history) == 0 {
		return PendingManualApproval
	}
	return history[len(history)-1].Status
}

// SetApprovalStatus records a change of a model version's approval status with the
// actor and an optional comment; every change is kept. Setting the status it already
// has is a CONFLICT, so that a history never holds a change that changed nothing.
func (s *Store) SetApprovalStatus(ctx context.Context, actor, version string, status ApprovalStatus, comment *string) ([]Approval, error) {
	if err := RequireKind("modelVersion", version, KindModelVersion, "model:<name>/<version>"); err != nil {
		return nil, err
	}
	switch status {
	case PendingManualApproval, Approved, Rejected:
	default:
		return nil, apperr.Invalid("status", "must be PENDING_MANUAL_APPROVAL, APPROVED or REJECTED (got %q)", status)
	}
	if err := checkDescription("comment", comment); err != nil {
		return nil, err
	}
	return write(ctx, s, actor, ActionModelVersionApproval, func(tx neo4j.ManagedTransaction, au *audit) ([]Approval, error) {
		au.target(version)
		if _, err := nodeByKey(ctx, tx, "modelVersion", version); err != nil {
			return nil, err
		}
		if _, err := collect(ctx, tx, cypherLockNode, map[string]any{"key": version}); err != nil {
			return nil, fmt.Errorf("lock %q: %w", version, err)
		}
		history, err := approvalsOf(ctx, tx, version)
		if err != nil {
			return nil, err
		}
		current := StatusOf(history)
		if current == status {
			return nil, apperr.Conflicting("status", "model version %q is already %s", truncateForMessage(version), status)
		}
		au.changeValue(version, ChangeApproval, string(current), string(status))
		if _, err := collect(ctx, tx, cypherAddApproval, map[string]any{
			"key": version, "status": string(status), "comment": optValue(comment), "actor": actor, "seq": len(history) + 1,
		}); err != nil {
			return nil, fmt.Errorf("record approval of %q: %w", version, err)
		}
		return approvalsOf(ctx, tx, version)
	})
}

// SetAlias points alias of a registered model at one of its versions, ending the
// alias's previous assignment (kept in the history). Pointing it where it already
// points changes nothing.
func (s *Store) SetAlias(ctx context.Context, actor, model, alias string, version string) (AliasMove, error) {
	if err := RequireKind("model", model, KindRegisteredModel, "model:<name>"); err != nil {
		return AliasMove{}, err
	}
	if err := checkText("alias", alias, MaxAliasLength); err != nil {
		return AliasMove{}, err
	}
	if reservedAlias.MatchString(alias) {
		return AliasMove{}, apperr.Invalid("alias", "must not look like a version (7, v7) or be 'latest': those name versions already (got %q)", alias)
	}
	if err := RequireKind("modelVersion", version, KindModelVersion, "model:<name>/<version>"); err != nil {
		return AliasMove{}, err
	}
	return write(ctx, s, actor, ActionAliasSet, func(tx neo4j.ManagedTransaction, au *audit) (AliasMove, error) {
		au.target(model, version)
		if _, err := nodeByKey(ctx, tx, "model", model); err != nil {
			return AliasMove{}, err
		}
		if _, err := nodeByKey(ctx, tx, "modelVersion", version); err != nil {
			return AliasMove{}, err
		}
		parent, err := parentIn(ctx, tx, version)
		if err != nil {
			return AliasMove{}, err
		}
		if parent != model {
			return AliasMove{}, apperr.Invalid("modelVersion", "%q is a version of %q, not of %q", truncateForMessage(version), truncateForMessage(parent), truncateForMessage(model))
		}
		if _, err := collect(ctx, tx, cypherLockNode, map[string]any{"key": model}); err != nil {
			return AliasMove{}, fmt.Errorf("lock %q: %w", model, err)
		}
		current, err := aliasesOf(ctx, tx, model, &alias, true, nil)
		if err != nil {
			return AliasMove{}, err
		}
		if len(current) > 0 && current[0].Version.Key == version {
			return current[0], nil
		}
		params := map[string]any{"model": model, "alias": alias, "version": version, "actor": actor}
		recs, err := collect(ctx, tx, cypherEndAlias, params)
		if err != nil {
			return AliasMove{}, fmt.Errorf("end alias %q: %w", alias, err)
		}
		au.changeValue(model, ChangeAliasPrefix+alias, aliasEndedAt(recs), version)
		recs, err = collect(ctx, tx, cypherSetAlias, params)
		if err != nil {
			return AliasMove{}, fmt.Errorf("set alias %q: %w", alias, err)
		}
		return aliasMoveAt(recs[0])
	})
}

// AliasesOf returns the aliases of a registered model in force at an instant (now,
// when at is nil), by alias.
func (s *Store) AliasesOf(ctx context.Context, model string, at *time.Time) ([]AliasMove, error) {
	return read(ctx, s, func(tx neo4j.ManagedTransaction) ([]AliasMove, error) {
		return aliasesOf(ctx, tx, model, nil, true, at)
	})
}

// AliasHistoryOf returns every alias assignment of a registered model ever made, by
// alias and time.
func (s *Store) AliasHistoryOf(ctx context.Context, model string) ([]AliasMove, error) {
	return read(ctx, s, func(tx neo4j.ManagedTransaction) ([]AliasMove, error) {
		return aliasesOf(ctx, tx, model, nil, false, nil)
	})
}

func aliasesOf(ctx context.Context, tx neo4j.ManagedTransaction, model string, alias *string, inForce bool, at *time.Time) ([]AliasMove, error) {
	var atParam any
	if at != nil {
		atParam = at.UTC()
	}
	recs, err := collect(ctx, tx, cypherAliases, map[string]any{"model": model, "alias": optValue(alias), "inForce": inForce, "at": atParam})
	if err != nil {
		return nil, fmt.Errorf("aliases of %q: %w", model, err)
	}
	out := make([]AliasMove, 0, len(recs))
	for _, r := range recs {
		m, err := aliasMoveAt(r)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

func aliasMoveAt(rec *neo4j.Record) (AliasMove, error) {
	v, err := nodeAt(rec, "v")
	if err != nil {
		return AliasMove{}, err
	}
	rel, _, err := neo4j.GetRecordValue[neo4j.Relationship](rec, "r")
	if err != nil {
		return AliasMove{}, fmt.Errorf("read alias: %w", err)
	}
	m := AliasMove{Version: v}
	m.Alias, _ = rel.Props["alias"].(string)
	m.From, _ = rel.Props["from"].(time.Time)
	if t, ok := rel.Props["to"].(time.Time); ok {
		m.To = &t
	}
	m.RecordedBy, _ = rel.Props["recordedBy"].(string)
	return m, nil
}

// parentIn returns the key of the dataset or registered model a version belongs to.
func parentIn(ctx context.Context, tx neo4j.ManagedTransaction, key string) (string, error) {
	recs, err := collect(ctx, tx, cypherParentOf, map[string]any{"key": key})
	if err != nil {
		return "", fmt.Errorf("parent of %q: %w", key, err)
	}
	if len(recs) == 0 {
		return "", fmt.Errorf("node %q has no %s parent", key, RelVersionOf)
	}
	n, err := nodeAt(recs[0], "n")
	return n.Key, err
}
