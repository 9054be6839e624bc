package store

import (
	"context"
	"fmt"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"

	"github.com/provgraph/provgraph/apperr"
)

// AuditEntry is the evidence for one model version at an instant.
type AuditEntry struct {
	// Deployment is what served the endpoint at the instant (endpoint trails only).
	Deployment *Deployment
	Version    Node
	// Approvals are the approval changes recorded by the instant, oldest first.
	Approvals []Approval
	// Producers are the jobs recorded by the instant as producing the version's model
	// artifact.
	Producers []Node
	// TrainingData are the dataset versions (and artifacts) the producers were
	// recorded by the instant as reading.
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

// AuditQuery asks for the audit trail of an endpoint or of a model version (exactly one
// of them) at an instant.
type AuditQuery struct {
	Endpoint     *string
	ModelVersion *string
	At           time.Time
	// SkipUpstreamEdges leaves the upstream cones without edges, saving a query when
	// the caller needs only their nodes.
	SkipUpstreamEdges bool
	// SkipUpstream leaves the entries' upstream cones out (and empty), sparing their
	// traversal when the caller does not read them.
	SkipUpstream bool
	// UpstreamFields says which properties the upstream cones' nodes carry (see
	// LineageQuery.Fields).
	UpstreamFields NodeFields
}

// AuditTrailOf builds the trail q asks for in one read transaction, so that every part
// of the answer sees the same graph.
func (s *Store) AuditTrailOf(ctx context.Context, q AuditQuery) (AuditTrail, error) {
	endpoint, version, at := q.Endpoint, q.ModelVersion, q.At
	if (endpoint == nil) == (version == nil) {
		return AuditTrail{}, apperr.Invalid("endpoint", "give either an endpoint or a modelVersion")
	}
	if endpoint != nil {
		if err := RequireKind("endpoint", *endpoint, KindEndpoint, "endpoint:<name>"); err != nil {
			return AuditTrail{}, err
		}
	} else if err := RequireKind("modelVersion", *version, KindModelVersion, "model:<name>/<version>"); err != nil {
		return AuditTrail{}, err
	}
	return read(ctx, s, func(tx neo4j.ManagedTransaction) (AuditTrail, error) {
		trail := AuditTrail{At: at}
		if endpoint != nil {
			e, deps, err := deploymentsAtTx(ctx, tx, "endpoint", *endpoint, at)
			if err != nil {
				return AuditTrail{}, err
			}
			trail.Endpoint = &e
			for i := range deps {
				trail.Entries = append(trail.Entries, AuditEntry{Deployment: &deps[i], Version: deps[i].ModelVersion})
			}
		} else {
			v, err := nodeByKey(ctx, tx, "modelVersion", *version)
			if err != nil {
				return AuditTrail{}, err
			}
			if v.RecordedAt.After(at) {
				return AuditTrail{}, apperr.Missing("modelVersion", "model version %q was registered at %s, after %s",
					truncateForMessage(*version), v.RecordedAt.Format(time.RFC3339Nano), at.Format(time.RFC3339Nano))
			}
			trail.Entries = append(trail.Entries, AuditEntry{Version: v})
		}
		if err := fillAuditEntries(ctx, tx, trail.Entries, q); err != nil {
			return AuditTrail{}, err
		}
		return trail, nil
	})
}

// cypherAuditFacts reads, for each model version in $keys, its approval history
// (oldest first), the jobs that produced its model artifact (by ID), and what those
// jobs read (by producer ID, then ID), as recorded by $at, in one statement for every
// entry of a trail.
const cypherAuditFacts = `
UNWIND $keys AS k
MATCH (v:` + LabelNode + ` {key: k})
RETURN k AS key,
  COLLECT { MATCH (a:` + LabelApproval + `)-[:` + RelApprovalOf + `]->(v) RETURN a {.*} ORDER BY a.at, a.seq } AS approvals,
  COLLECT { MATCH (v)<-[r:` + RelRegisteredAs + `]-(:` + LabelNode + `)<-[p:` + RelProduced + `]-(n:` + LabelNode + `)
              WHERE r.recordedAt <= $at AND p.recordedAt <= $at
            WITH DISTINCT n ORDER BY n.key RETURN n {.*} } AS producers,
  COLLECT { MATCH (v)<-[r:` + RelRegisteredAs + `]-(:` + LabelNode + `)<-[p:` + RelProduced + `]-(j:` + LabelNode + `)
                  <-[i:` + RelInputTo + `]-(n:` + LabelNode + `)
              WHERE r.recordedAt <= $at AND p.recordedAt <= $at AND i.recordedAt <= $at
            WITH DISTINCT j, n ORDER BY j.key, n.key RETURN n {.*} } AS inputs`

// fillAuditEntries adds to each entry what q asks of it, as the graph stood at q.At:
// approvals, producers, training data (each data node once, in the order of its first
// producer) and, unless skipped, the upstream cone.
func fillAuditEntries(ctx context.Context, tx neo4j.ManagedTransaction, entries []AuditEntry, q AuditQuery) error {
	if len(entries) == 0 {
		return nil
	}
	keys := make([]string, len(entries))
	for i, e := range entries {
		keys[i] = e.Version.Key
	}
	recs, err := collect(ctx, tx, cypherAuditFacts, map[string]any{"keys": keys, "at": q.At.UTC()})
	if err != nil {
		return fmt.Errorf("audit trail facts: %w", err)
	}
	type facts struct {
		approvals []Approval
		producers []Node
		inputs    []Node
	}
	byKey := make(map[string]facts, len(recs))
	for _, r := range recs {
		key, _, err := neo4j.GetRecordValue[string](r, "key")
		if err != nil {
			return fmt.Errorf("audit trail facts: %w", err)
		}
		approvals, err := nodesAt(r, "approvals")
		if err != nil {
			return fmt.Errorf("audit trail facts: %w", err)
		}
		var f facts
		f.approvals = make([]Approval, 0, len(approvals))
		for _, a := range approvals {
			f.approvals = append(f.approvals, approvalFrom(a))
		}
		if f.producers, err = nodesAt(r, "producers"); err != nil {
			return fmt.Errorf("audit trail facts: %w", err)
		}
		if f.inputs, err = nodesAt(r, "inputs"); err != nil {
			return fmt.Errorf("audit trail facts: %w", err)
		}
		byKey[key] = f
	}
	at := q.At
	for i := range entries {
		e := &entries[i]
		f, ok := byKey[e.Version.Key]
		if !ok {
			return fmt.Errorf("audit trail facts: model version %q is gone (the graph was changed outside provgraph)", e.Version.Key)
		}
		e.Approvals = approvalsBy(f.approvals, &at)
		e.Producers = f.producers
		seen := map[string]bool{}
		for _, in := range f.inputs {
			if !seen[in.Key] {
				seen[in.Key] = true
				e.TrainingData = append(e.TrainingData, in)
			}
		}
		if q.SkipUpstream {
			continue
		}
		if e.Upstream, err = lineageTx(ctx, tx, LineageQuery{
			Start: []string{e.Version.Key}, Direction: Upstream, MaxDepth: MaxLineageDepth, AsOf: &at,
			SkipEdges: q.SkipUpstreamEdges, Fields: q.UpstreamFields,
		}); err != nil {
			return err
		}
	}
	return nil
}
