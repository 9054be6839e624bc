package store

import (
	"context"
	"time"

	"github.com/provgraph/provgraph/apperr"
)

// AuditEntry is the evidence for one model version at an instant.
type AuditEntry struct {
	// Deployment is what served the endpoint at the instant (endpoint trails only).
	Deployment *Deployment
	Version    Node
	// Approvals are the approval changes recorded by the instant, oldest first.
	Approvals []Approval
	// Producers are the jobs that produced the version's model artifact.
	Producers []Node
	// TrainingData are the dataset versions (and artifacts) the producers read.
	TrainingData []Node
	// Upstream is the version's whole upstream cone as the graph stood at the instant.
	Upstream Lineage
}

// AuditTrail answers the auditor's question in one call: what an endpoint served at
// an instant (or one model version), who approved it, which job produced it with which
// parameters and code, which exact dataset versions fed it, and their upstream chain
// back to the raw sources — as the graph stood at that instant.
type AuditTrail struct {
	At       time.Time
	Endpoint *Node
	Entries  []AuditEntry
}

// AuditTrailOf builds the trail for an endpoint or for a model version (exactly one of
// them) at the instant at.
func (s *Store) AuditTrailOf(ctx context.Context, endpoint, version *string, at time.Time) (AuditTrail, error) {
	if (endpoint == nil) == (version == nil) {
		return AuditTrail{}, apperr.Invalid("endpoint", "give either an endpoint or a modelVersion")
	}
	trail := AuditTrail{At: at}
	var entries []AuditEntry
	if endpoint != nil {
		e, deps, err := s.DeploymentsAt(ctx, "endpoint", *endpoint, at)
		if err != nil {
			return AuditTrail{}, err
		}
		trail.Endpoint = &e
		for i := range deps {
			entries = append(entries, AuditEntry{Deployment: &deps[i], Version: deps[i].ModelVersion})
		}
	} else {
		if err := RequireKind("modelVersion", *version, KindModelVersion, "model:<name>/<version>"); err != nil {
			return AuditTrail{}, err
		}
		v, err := s.NodeByID(ctx, "modelVersion", *version)
		if err != nil {
			return AuditTrail{}, err
		}
		if v.RecordedAt.After(at) {
			return AuditTrail{}, apperr.Missing("modelVersion", "model version %q was registered at %s, after %s",
				truncateForMessage(*version), v.RecordedAt.Format(time.RFC3339Nano), at.Format(time.RFC3339Nano))
		}
		entries = append(entries, AuditEntry{Version: v})
	}
	for i := range entries {
		if err := s.fillAuditEntry(ctx, &entries[i], at); err != nil {
			return AuditTrail{}, err
		}
	}
	trail.Entries = entries
	return trail, nil
}

func (s *Store) fillAuditEntry(ctx context.Context, e *AuditEntry, at time.Time) error {
	history, err := s.ApprovalsOf(ctx, e.Version.Key)
	if err != nil {
		return err
	}
	for _, a := range history {
		if !a.At.After(at) {
			e.Approvals = append(e.Approvals, a)
		}
	}
	if e.Producers, err = s.ProducersOfModelVersion(ctx, e.Version.Key); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, p := range e.Producers {
		inputs, err := s.InputsOf(ctx, p.Key)
		if err != nil {
			return err
		}
		for _, in := range inputs {
			if !seen[in.Key] {
				seen[in.Key] = true
				e.TrainingData = append(e.TrainingData, in)
			}
		}
	}
	e.Upstream, err = s.Lineage(ctx, LineageQuery{
		Start: []string{e.Version.Key}, Direction: Upstream, MaxDepth: MaxLineageDepth, AsOf: &at,
	})
	return err
}
