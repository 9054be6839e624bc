// Package evidence builds the evidence package: the one file an auditor files for an
// endpoint or a model version at an instant. It holds a PDF report of the audit view
// (report.pdf), the upstream lineage as a picture (lineage.svg) and as W3C PROV-JSON
// (lineage.prov.json), the audit-log entries about that lineage with their hashes and
// the chain's verification (audit-log.json), and a manifest with the SHA-256 of every
// other file (manifest.json). docs/evidence.md describes it for auditors.
//
// Collect reads what the package holds through the store's methods (the audit trail,
// the audit log, a run's parameters and metrics); Build renders it, without I/O. The
// HTTP surface (GET /api/v1/evidence) and the CLI (provgraph evidence) both call them.
package evidence

import (
	"cmp"
	"context"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/provgraph/provgraph/apperr"
	"github.com/provgraph/provgraph/store"
)

// MaxAuditEntries caps the audit-log entries one package holds; a package that
// reaches it says so (AuditLog.Truncated), and the entries after it can be read with
// the auditLogEntries query.
const MaxAuditEntries = 10_000

// Evidence is everything one package holds, read at one instant.
type Evidence struct {
	// Subject is the endpoint or model version the package is about.
	Subject store.Node
	// At is the instant the package describes.
	At time.Time
	// Trail is the audit trail: what served (or the model version), approvals,
	// producers and training data, as the graph stood at At.
	Trail store.AuditTrail
	// Runs holds the parameters and metric summaries of the runs among the producers,
	// by run ID.
	Runs map[string]RunDetail
	// Lineage is the subject's upstream cone at At: the union of the served versions'
	// cones, the endpoint and the deployments joining them.
	Lineage store.Lineage
	// Audit holds the audit-log entries about the lineage's nodes.
	Audit AuditLog
}

// RunDetail is what the report shows of a run that produced a model version.
type RunDetail struct {
	Params  []store.Param
	Metrics []store.MetricSummary
}

// AuditLog is the audit-log part of a package: the entries appended by the package's
// instant whose targets name a node of its lineage, oldest first, and the chain's
// verification over the seqs they span.
type AuditLog struct {
	Entries      []store.AuditLogEntry
	Truncated    bool
	Verification store.AuditVerification
	// Proofs prove each entry (in Entries' order) in the tree of one signed
	// checkpoint, theirs; none when the log has no checkpoint yet.
	Proofs []store.AuditInclusionProof
}

// Collect reads the evidence for node — an endpoint (endpoint:<name>) or a model
// version (model:<name>/<version>) — at the instant at. Input errors name the field
// "node"; an unknown node is NOT_FOUND.
func Collect(ctx context.Context, st *store.Store, node string, at time.Time) (Evidence, error) {
	kinds, err := store.KindsOfID("node", node)
	if err != nil {
		return Evidence{}, err
	}
	q := store.AuditQuery{At: at}
	switch {
	case slices.Contains(kinds, store.KindEndpoint):
		q.Endpoint = &node
	case slices.Contains(kinds, store.KindModelVersion):
		q.ModelVersion = &node
	default:
		return Evidence{}, apperr.Invalid("node", "must be the ID of an endpoint (endpoint:<name>) or a model version "+
			"(model:<name>/<version>); got a %s ID", kinds[0])
	}
	trail, err := st.AuditTrailOf(ctx, q)
	if err != nil {
		return Evidence{}, apperr.WithField(apperr.WithField(err, "endpoint", "node"), "modelVersion", "node")
	}
	ev := Evidence{At: at, Trail: trail, Runs: map[string]RunDetail{}}
	if trail.Endpoint != nil {
		ev.Subject = *trail.Endpoint
	} else {
		ev.Subject = trail.Entries[0].Version
	}
	ev.Lineage = upstreamOf(trail)
	for _, e := range trail.Entries {
		for _, p := range e.Producers {
			if p.Kind != store.KindRun || ev.Runs[p.Key].Params != nil {
				continue
			}
			var d RunDetail
			if d.Params, err = st.RunParams(ctx, p.Key); err != nil {
				return Evidence{}, err
			}
			if d.Metrics, err = st.RunMetrics(ctx, p.Key, nil); err != nil {
				return Evidence{}, err
			}
			if d.Params == nil {
				d.Params = []store.Param{}
			}
			ev.Runs[p.Key] = d
		}
	}
	if ev.Audit, err = auditLogAbout(ctx, st, ev.Lineage, at); err != nil {
		return Evidence{}, err
	}
	return ev, nil
}

// upstreamOf joins a trail's upstream cones into the subject's: for an endpoint, its
// node and the DEPLOYED_TO edges of the deployments serving then join the cones of
// the versions served. Nodes come subject first, then by ID; edges in order.
func upstreamOf(t store.AuditTrail) store.Lineage {
	var out store.Lineage
	seen := map[string]bool{}
	add := func(n store.Node) {
		if !seen[n.Key] {
			seen[n.Key] = true
			out.Nodes = append(out.Nodes, n)
		}
	}
	if t.Endpoint != nil {
		add(*t.Endpoint)
	}
	edges := map[store.Edge]bool{}
	for _, e := range t.Entries {
		add(e.Version)
		for _, n := range e.Upstream.Nodes {
			add(n)
		}
		for _, ed := range e.Upstream.Edges {
			edges[ed] = true
		}
		out.Truncated = out.Truncated || e.Upstream.Truncated
		if e.Deployment != nil {
			edges[store.Edge{From: e.Version.Key, To: e.Deployment.Endpoint.Key, Type: store.RelDeployedTo}] = true
		}
	}
	slices.SortStableFunc(out.Nodes[1:], func(a, b store.Node) int { return cmp.Compare(a.Key, b.Key) })
	for e := range edges {
		out.Edges = append(out.Edges, e)
	}
	slices.SortFunc(out.Edges, func(a, b store.Edge) int {
		return cmp.Or(cmp.Compare(a.From, b.From), cmp.Compare(a.To, b.To), cmp.Compare(a.Type, b.Type))
	})
	return out
}

// auditLogAbout reads the entries appended by at that name a node of l, up to
// MaxAuditEntries, and verifies the chain over the seqs they span.
func auditLogAbout(ctx context.Context, st *store.Store, l store.Lineage, at time.Time) (AuditLog, error) {
	keys := make([]string, 0, len(l.Nodes))
	for _, n := range l.Nodes {
		keys = append(keys, n.Key)
	}
	var out AuditLog
	// A cone larger than one query's IDs is asked about in parts, merged by seq.
	for start := 0; start < len(keys) && !out.Truncated; start += store.MaxAuditAbout {
		q := store.AuditLogQuery{About: keys[start:min(start+store.MaxAuditAbout, len(keys))], First: store.MaxPageSize, Until: &at}
		for {
			page, err := st.AuditEntriesAbout(ctx, q)
			if err != nil {
				return AuditLog{}, err
			}
			out.Entries = append(out.Entries, page.Entries...)
			if page.EndCursor == "" {
				break
			}
			if len(out.Entries) >= MaxAuditEntries {
				out.Truncated = true
				break
			}
			q.After = page.EndCursor
		}
	}
	slices.SortFunc(out.Entries, func(a, b store.AuditLogEntry) int { return cmp.Compare(a.Seq, b.Seq) })
	out.Entries = slices.CompactFunc(out.Entries, func(a, b store.AuditLogEntry) bool { return a.Seq == b.Seq })
	if len(out.Entries) > MaxAuditEntries {
		out.Entries, out.Truncated = out.Entries[:MaxAuditEntries], true
	}
	var err error
	if len(out.Entries) == 0 {
		out.Verification, err = st.VerifyAuditSpan(ctx, 1, 0)
		return out, err
	}
	if out.Verification, err = st.VerifyAuditSpan(ctx, out.Entries[0].Seq, out.Entries[len(out.Entries)-1].Seq); err != nil {
		return out, err
	}
	seqs := make([]int64, len(out.Entries))
	for i, e := range out.Entries {
		seqs[i] = e.Seq
	}
	out.Proofs, err = st.AuditInclusionProofsOf(ctx, seqs, nil)
	if apperr.CodeOf(err) == apperr.NotFound {
		// No checkpoint holds them yet (no service has sequenced the log): the package
		// says so, and the chain's verification stands alone.
		out.Proofs, err = nil, nil
	}
	return out, err
}

// unsafeFileChars are the characters a file name keeps out.
var unsafeFileChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// FileName is the package's file name, evidence-<subject>-<instant>.zip, with the
// subject's ID reduced to letters, digits, '.', '_' and '-' (at most 80 of them), so
// it is safe in a Content-Disposition header and on any file system.
func FileName(subject string, at time.Time) string {
	safe := strings.Trim(unsafeFileChars.ReplaceAllString(subject, "-"), "-.")
	if len(safe) > 80 {
		safe = strings.TrimRight(safe[:80], "-.")
	}
	if safe == "" {
		safe = "subject"
	}
	return "evidence-" + safe + "-" + at.UTC().Format("20060102T150405Z") + ".zip"
}
