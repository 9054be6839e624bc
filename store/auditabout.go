package store

import (
	"context"
	"fmt"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"

	"github.com/provgraph/provgraph/apperr"
)

// MaxAuditAbout caps the IDs one AuditEntriesAbout call asks about: as many as a
// lineage answer holds, so the audit view can ask about a whole cone at once.
const MaxAuditAbout = MaxLineageNodes

// maxAuditAboutIDLength caps one ID asked about; longer ones are never targets.
const maxAuditAboutIDLength = 4096

// AuditLogQuery asks for the audit-log entries about some IDs: those whose targets
// list any of them, oldest first.
type AuditLogQuery struct {
	// About are the IDs: node keys, or other target keys such as token:<name>.
	About []string
	// First is the page size, 1 to MaxPageSize.
	First int
	// After continues from a previous page's EndCursor.
	After string
	// Until, when set, keeps the entries appended at or before it (an evidence
	// package describes the log as it stood at its instant).
	Until *time.Time
}

// AuditLogPage is one page of AuditEntriesAbout, with a cursor per entry.
type AuditLogPage struct {
	Entries []AuditLogEntry
	Cursors []string
	// EndCursor continues after the page; "" when no entry follows.
	EndCursor string
}

// auditCursor is a position in the audit log: after entry Seq.
type auditCursor struct {
	Seq int64 `json:"s"`
}

// cypherAuditAbout lists a chain's entries after $after whose targets include any of
// $keys, in seq order. The (chain, seq) constraint's index yields them in order, so a
// page reads entries only up to its last match (or to the end of the log); the target
// test reads every entry it passes (targets are a list, which no index serves).
const cypherAuditAbout = `
MATCH (e:` + LabelAuditEntry + `)
USING INDEX e:` + LabelAuditEntry + `(chain, seq)
WHERE e.chain = $chain AND e.seq > $after AND ($until IS NULL OR e.at <= $until)
  AND any(t IN e.targets WHERE t IN $keys)` + auditEntryColumns

// AuditEntriesAbout returns a page of the entries whose targets include any of
// q.About, oldest first. IDs that no entry names match nothing; they are not errors,
// since an entry may name what is not a node (a token) or a node whose write was
// refused.
func (s *Store) AuditEntriesAbout(ctx context.Context, q AuditLogQuery) (AuditLogPage, error) {
	if len(q.About) == 0 {
		return AuditLogPage{}, apperr.Invalid("about", "must list at least one ID")
	}
	if len(q.About) > MaxAuditAbout {
		return AuditLogPage{}, apperr.Invalid("about", "must list at most %d IDs (got %d)", MaxAuditAbout, len(q.About))
	}
	for i, id := range q.About {
		if id == "" || len(id) > maxAuditAboutIDLength {
			return AuditLogPage{}, apperr.Invalid(fmt.Sprintf("about[%d]", i), "must be an ID of 1 to %d bytes", maxAuditAboutIDLength)
		}
	}
	if err := CheckSize("first", q.First, MaxPageSize); err != nil {
		return AuditLogPage{}, err
	}
	var after auditCursor
	if q.After != "" {
		if err := decodeOpaque("after", q.After, 64, &after); err != nil || after.Seq < 1 {
			return AuditLogPage{}, errNotCursor("after")
		}
	}
	var until any
	if q.Until != nil {
		until = q.Until.UTC()
	}
	if err := s.awaitSequenced(ctx); err != nil {
		return AuditLogPage{}, err
	}
	return read(ctx, s, func(tx neo4j.ManagedTransaction) (AuditLogPage, error) {
		recs, err := collect(ctx, tx, cypherAuditAbout, map[string]any{
			"chain": s.auditChain, "after": after.Seq, "until": until, "keys": q.About, "limit": q.First + 1,
		})
		if err != nil {
			return AuditLogPage{}, fmt.Errorf("read audit entries about %d IDs: %w", len(q.About), err)
		}
		var page AuditLogPage
		for i, r := range recs {
			if i == q.First {
				page.EndCursor = page.Cursors[i-1]
				break
			}
			e := auditEntryOf(r.Values)
			page.Entries = append(page.Entries, e)
			page.Cursors = append(page.Cursors, encodeOpaque(auditCursor{Seq: e.Seq}))
		}
		return page, nil
	})
}

// VerifyAuditSpan verifies the chain from entry from to entry to, whatever the
// distance, in VerifyAuditLog calls of at most MaxAuditVerifyRange entries; it stops
// at the first break. With to < from it checks nothing and reports the head.
func (s *Store) VerifyAuditSpan(ctx context.Context, from, to int64) (AuditVerification, error) {
	if from < 1 {
		return AuditVerification{}, apperr.Invalid("from", "must be at least 1, got %d", from)
	}
	if to < from {
		head, err := read(ctx, s, func(tx neo4j.ManagedTransaction) (auditHead, error) {
			head, _, err := s.treeHead(ctx, tx)
			return head, err
		})
		return AuditVerification{From: from, To: from - 1, Head: head.Seq}, err
	}
	out := AuditVerification{From: from, To: from - 1}
	for next := from; next <= to; {
		end := min(to, next+MaxAuditVerifyRange-1)
		v, err := s.VerifyAuditLog(ctx, &next, &end)
		if err != nil {
			return out, err
		}
		if next == from {
			out.Head = v.Head
		}
		out.Checked += v.Checked
		out.To = v.To
		if v.FirstBreak != nil {
			out.FirstBreak = v.FirstBreak
			return out, nil
		}
		next = end + 1
	}
	return out, nil
}
