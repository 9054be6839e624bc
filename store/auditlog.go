package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"

	"github.com/provgraph/provgraph/actor"
	"github.com/provgraph/provgraph/apperr"
)

// The audit log: every write transaction appends one (:AuditEntry) to a hash chain as
// its last statement, so an entry exists exactly when its write committed. Entries are
// not provenance (they carry no LabelNode): lineage, node(id:) and exports never see
// them. docs/audit.md describes the chain and its canonical form for auditors.

// Labels of the audit log.
const (
	// LabelAuditHead marks the one node per chain holding the last entry's seq and hash;
	// appending locks it, so concurrent writers serialize on it until they commit.
	LabelAuditHead = "AuditHead"
	// LabelAuditEntry marks one entry of the audit log.
	LabelAuditEntry = "AuditEntry"
)

// DefaultAuditChain is the chain the service appends to (Config.AuditChain).
const DefaultAuditChain = "provgraph"

// GenesisHash is the prevHash of a chain's first entry.
var GenesisHash = strings.Repeat("0", 64)

// MaxAuditTargets caps the target keys one entry lists; an entry records how many keys
// its write touched in targetCount, so a capped list is visible as such.
const MaxAuditTargets = 100

// MaxAuditVerifyRange caps the entries one VerifyAuditLog call checks.
const MaxAuditVerifyRange = 100_000

// auditPage is how many entries verification reads per read transaction.
const auditPage = 1000

// SystemActor is the actor of writes provgraph makes on its own (schema migrations).
const SystemActor = "provgraph"

// Audit actions: one per kind of write, named <object>.<verb>.
const (
	ActionSchemaMigrate          = "schema.migrate"
	ActionDatasetVersionRegister = "datasetVersion.register"
	ActionModelVersionDeploy     = "modelVersion.deploy"
	ActionTrainingJobRecord      = "trainingJob.record"
	ActionProcessingJobRecord    = "processingJob.record"
	ActionRegisteredModelCreate  = "registeredModel.create"
	ActionRegisteredModelUpdate  = "registeredModel.update"
	ActionModelVersionRegister   = "modelVersion.register"
	ActionModelVersionUpdate     = "modelVersion.update"
	ActionModelVersionApproval   = "modelVersion.setApproval"
	ActionAliasSet               = "alias.set"
	ActionAliasDelete            = "alias.delete"
	ActionExperimentCreate       = "experiment.create"
	ActionExperimentUpdate       = "experiment.update"
	ActionLifecycleSet           = "lifecycle.set"
	ActionRunGroupCreate         = "runGroup.create"
	ActionRunStart               = "run.start"
	ActionRunUpdate              = "run.update"
	ActionRunLog                 = "run.log"
	ActionRunIO                  = "run.logIO"
	ActionLineageReport          = "openlineage.batch" // the value keeps the name of its first source: the audit log is hash-chained
	// The report actions keep the values of their first source, like ActionLineageReport.
	ActionJobReport          = "sagemaker.trainingJob"
	ActionModelVersionReport = "sagemaker.modelPackage"
	ActionServingModel       = "sagemaker.model"
	ActionDeploymentConfig   = "sagemaker.endpointConfig"
	ActionEndpointReport     = "sagemaker.endpoint"
	ActionLoggedModelCreate  = "loggedModel.create"
	ActionLoggedModelUpdate  = "loggedModel.update"
	ActionRunOutputs         = "run.logOutputs"
	ActionTokenCreate        = "token.create"
	ActionTokenRevoke        = "token.revoke"
	ActionSeed               = "bench.seed"
)

// audit collects the target keys of one write transaction attempt; write gives the
// work function a fresh one on every attempt, so a retried transaction lists its keys
// once.
type audit struct {
	targets []string
	seen    map[string]bool
	// entries, when a write adds any, are the entries it appends instead of one of its
	// own: a write that records several things, each as its single write would.
	entries []auditPart
	// changes are the fields the write changed, with their old values (auditchanges.go).
	changes []AuditChange
}

// auditPart is one entry of a write that appends several.
type auditPart struct {
	action  string
	targets []string
	changes []AuditChange
}

// entry adds to the write an entry of its own, with action and the targets of sub.
func (a *audit) entry(action string, sub *audit) {
	a.entries = append(a.entries, auditPart{action, sub.targets, sub.changes})
}

// target records keys the write touched, in order, each once.
func (a *audit) target(keys ...string) {
	for _, k := range keys {
		if k == "" || a.seen[k] {
			continue
		}
		if a.seen == nil {
			a.seen = map[string]bool{}
		}
		a.seen[k] = true
		a.targets = append(a.targets, k)
	}
}

// AuditLogEntry is one entry of the audit log.
type AuditLogEntry struct {
	Seq    int64
	At     time.Time
	Actor  string
	Action string
	// Targets are the keys the write touched, in the order recorded, at most
	// MaxAuditTargets of them; TargetCount is how many it touched in all.
	Targets     []string
	TargetCount int64
	RequestID   string
	PrevHash    string
	Hash        string
	// Changes are the fields the write changed, with their old and new values.
	Changes []AuditChange
	// undecodedChanges is stored changes text that is no list of changes.
	undecodedChanges *string
}

// canonicalAuditEntry is the form an entry's hash is computed over: JSON with these
// keys in this order, no whitespace, UTF-8 unescaped (docs/audit.md).
type canonicalAuditEntry struct {
	Seq         int64    `json:"seq"`
	At          string   `json:"at"`
	Actor       string   `json:"actor"`
	Action      string   `json:"action"`
	Targets     []string `json:"targets"`
	TargetCount int64    `json:"targetCount"`
	RequestID   string   `json:"requestId"`
	PrevHash    string   `json:"prevHash"`
	// Changes is last and only present when the entry has changes, so entries without
	// changes hash as they did before entries had them.
	Changes any `json:"changes,omitempty"`
}

// auditTimeLayout is RFC 3339 in UTC with exactly nine fractional digits.
const auditTimeLayout = "2006-01-02T15:04:05.000000000Z"

// Canonical returns the bytes e's hash is computed over.
func (e AuditLogEntry) Canonical() []byte {
	targets := e.Targets
	if targets == nil {
		targets = []string{}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	// Encoding strings, ints and a string slice cannot fail.
	_ = enc.Encode(canonicalAuditEntry{
		Seq: e.Seq, At: e.At.UTC().Format(auditTimeLayout), Actor: e.Actor, Action: e.Action,
		Targets: targets, TargetCount: e.TargetCount, RequestID: e.RequestID, PrevHash: e.PrevHash,
		Changes: e.canonicalChanges(),
	})
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// ComputeHash returns the hex SHA-256 of e's canonical form.
func (e AuditLogEntry) ComputeHash() string {
	sum := sha256.Sum256(e.Canonical())
	return hex.EncodeToString(sum[:])
}

const (
	// cypherAuditLockHead takes the chain head's write lock (the SET reads seq only
	// after locking it) and reserves the next $n seqs; the head is created on first use.
	cypherAuditLockHead = `
MERGE (h:` + LabelAuditHead + ` {chain: $chain})
  ON CREATE SET h.seq = 0, h.hash = $genesis
SET h.seq = h.seq + $n
RETURN h.seq - $n + 1 AS seq, h.hash AS prevHash`
	cypherAuditAppend = `
MATCH (h:` + LabelAuditHead + ` {chain: $chain})
SET h.hash = $hash
WITH h
UNWIND $entries AS e
CREATE (:` + LabelAuditEntry + ` {chain: $chain, seq: e.seq, at: e.at, actor: e.actor, action: e.action,
  targets: e.targets, targetCount: e.targetCount, requestId: e.requestId, prevHash: e.prevHash, hash: e.hash, changes: e.changes})`
)

// appendAudit appends the entry of the write running in tx, or the entries it added
// (audit.entry), in order. It runs last in the transaction, so the chain head stays
// locked only from here to the commit.
func (s *Store) appendAudit(ctx context.Context, tx neo4j.ManagedTransaction, who, action string, a *audit) error {
	parts := a.entries
	if len(parts) == 0 {
		parts = []auditPart{{action, a.targets, a.changes}}
	}
	recs, err := collect(ctx, tx, cypherAuditLockHead, map[string]any{"chain": s.auditChain, "genesis": GenesisHash, "n": len(parts)})
	if err != nil {
		return fmt.Errorf("lock audit chain %q: %w", s.auditChain, err)
	}
	if len(recs) != 1 {
		return fmt.Errorf("lock audit chain %q: %d heads", s.auditChain, len(recs))
	}
	seq, _ := recs[0].Get("seq")
	prev, _ := recs[0].Get("prevHash")
	at, prevHash := time.Now().UTC(), prev.(string)
	rows := make([]map[string]any, len(parts))
	for i, p := range parts {
		targets := p.targets
		if len(targets) > MaxAuditTargets {
			targets = targets[:MaxAuditTargets]
		}
		e := AuditLogEntry{
			Seq: seq.(int64) + int64(i), At: at, Actor: who, Action: p.action,
			Targets: targets, TargetCount: int64(len(p.targets)), RequestID: actor.RequestFrom(ctx), PrevHash: prevHash,
			Changes: p.changes,
		}
		e.Hash = e.ComputeHash()
		if e.Targets == nil {
			e.Targets = []string{}
		}
		rows[i] = map[string]any{
			"seq": e.Seq, "at": e.At, "actor": e.Actor, "action": e.Action, "targets": e.Targets,
			"targetCount": e.TargetCount, "requestId": e.RequestID, "prevHash": e.PrevHash, "hash": e.Hash,
			"changes": encodeAuditChanges(e.Changes),
		}
		prevHash = e.Hash
	}
	if _, err := collect(ctx, tx, cypherAuditAppend, map[string]any{"chain": s.auditChain, "hash": prevHash, "entries": rows}); err != nil {
		return fmt.Errorf("append audit entries from %d: %w", seq.(int64), err)
	}
	return nil
}

// AuditVerification is the outcome of VerifyAuditLog.
type AuditVerification struct {
	// From and To are the seqs checked; To < From when the chain has no entries there.
	From, To int64
	// Checked is how many entries were checked.
	Checked int64
	// Head is the chain head's seq when verification started.
	Head int64
	// FirstBreak is the first entry that does not verify, nil when all do.
	FirstBreak *AuditBreak
}

// AuditBreak says where and why the chain breaks.
type AuditBreak struct {
	Seq      int64
	Reason   string
	Expected string
	Found    string
}

// Reasons a chain breaks.
const (
	AuditBreakMissing  = "MISSING_ENTRY"
	AuditBreakPrevHash = "PREV_HASH_MISMATCH"
	AuditBreakHash     = "HASH_MISMATCH"
	AuditBreakHead     = "HEAD_MISMATCH"
)

// auditEntryColumns returns entries e in the columns auditEntryOf reads, in seq order.
// Ordering by (chain, seq), the (chain, seq) constraint's index order, lets the planner
// read entries in that order and stop at $limit (ORDER BY e.seq alone makes it read
// every entry of the range and sort them, for every page).
const auditEntryColumns = `
RETURN e.seq AS seq, e.at AS at, e.actor AS actor, e.action AS action, e.targets AS targets,
       e.targetCount AS targetCount, e.requestId AS requestId, e.prevHash AS prevHash, e.hash AS hash,
       e.changes AS changes
ORDER BY e.chain, e.seq
LIMIT $limit`

const (
	cypherAuditHead  = `MATCH (h:` + LabelAuditHead + ` {chain: $chain}) RETURN h.seq AS seq, h.hash AS hash`
	cypherAuditPrev  = `MATCH (e:` + LabelAuditEntry + ` {chain: $chain, seq: $seq}) RETURN e.hash AS hash`
	cypherAuditRange = `
MATCH (e:` + LabelAuditEntry + `)
WHERE e.chain = $chain AND e.seq >= $from AND e.seq <= $to` + auditEntryColumns
)

// VerifyAuditLog recomputes the chain from seq from (1 when nil) to seq to (the head,
// or the MaxAuditVerifyRange-th entry, when nil): every seq present, every prevHash the
// hash of the entry before (for from > 1 the stored hash of entry from-1), every hash
// the SHA-256 of its entry's canonical form, and — when the range ends at the head —
// the head's hash the last entry's. It reads in pages, so memory stays bounded.
func (s *Store) VerifyAuditLog(ctx context.Context, from, to *int64) (AuditVerification, error) {
	v := AuditVerification{From: 1}
	if from != nil {
		if *from < 1 {
			return v, apperr.Invalid("from", "must be at least 1, got %d", *from)
		}
		v.From = *from
	}
	if to != nil && *to < v.From {
		return v, apperr.Invalid("to", "must not be less than from (%d), got %d", v.From, *to)
	}
	if to != nil && *to-v.From+1 > MaxAuditVerifyRange {
		return v, apperr.Invalid("to", "verifies at most %d entries per call; got from %d to %d", MaxAuditVerifyRange, v.From, *to)
	}
	type start struct {
		headSeq  int64
		headHash string
		prev     string
		hasPrev  bool
	}
	st, err := read(ctx, s, func(tx neo4j.ManagedTransaction) (start, error) {
		var st start
		recs, err := collect(ctx, tx, cypherAuditHead, map[string]any{"chain": s.auditChain})
		if err != nil {
			return st, fmt.Errorf("read audit head: %w", err)
		}
		if len(recs) == 1 {
			seq, _ := recs[0].Get("seq")
			hash, _ := recs[0].Get("hash")
			st.headSeq, _ = seq.(int64)
			st.headHash, _ = hash.(string)
		}
		if v.From == 1 {
			st.prev, st.hasPrev = GenesisHash, true
			return st, nil
		}
		recs, err = collect(ctx, tx, cypherAuditPrev, map[string]any{"chain": s.auditChain, "seq": v.From - 1})
		if err != nil {
			return st, fmt.Errorf("read audit entry %d: %w", v.From-1, err)
		}
		if len(recs) == 1 {
			hash, _ := recs[0].Get("hash")
			st.prev, _ = hash.(string)
			st.hasPrev = true
		}
		return st, nil
	})
	if err != nil {
		return v, err
	}
	v.Head = st.headSeq
	v.To = min(st.headSeq, v.From+MaxAuditVerifyRange-1)
	if to != nil {
		v.To = *to
	}
	if v.To < v.From {
		v.To = v.From - 1
		return v, nil
	}
	prev, want := st.prev, v.From
	if !st.hasPrev {
		v.FirstBreak = &AuditBreak{Seq: v.From - 1, Reason: AuditBreakMissing, Expected: fmt.Sprint(v.From - 1), Found: "no entry"}
		return v, nil
	}
	for want <= v.To {
		page, err := s.auditEntries(ctx, want, v.To, auditPage)
		if err != nil {
			return v, err
		}
		if len(page) == 0 {
			break
		}
		for _, e := range page {
			if b := checkAuditEntry(e, want, prev); b != nil {
				v.FirstBreak = b
				return v, nil
			}
			v.Checked++
			prev, want = e.Hash, e.Seq+1
		}
	}
	switch {
	case want <= v.To:
		v.FirstBreak = &AuditBreak{Seq: want, Reason: AuditBreakMissing, Expected: fmt.Sprint(want), Found: "no entry"}
	case v.To == st.headSeq && prev != st.headHash:
		v.FirstBreak = &AuditBreak{Seq: v.To, Reason: AuditBreakHead, Expected: prev, Found: st.headHash}
	}
	return v, nil
}

// checkAuditEntry returns why e breaks the chain, expected to be entry want following
// an entry whose hash is prev, or nil.
func checkAuditEntry(e AuditLogEntry, want int64, prev string) *AuditBreak {
	switch {
	case e.Seq != want:
		return &AuditBreak{Seq: want, Reason: AuditBreakMissing, Expected: fmt.Sprint(want), Found: fmt.Sprint(e.Seq)}
	case e.PrevHash != prev:
		return &AuditBreak{Seq: e.Seq, Reason: AuditBreakPrevHash, Expected: prev, Found: e.PrevHash}
	}
	if h := e.ComputeHash(); h != e.Hash {
		return &AuditBreak{Seq: e.Seq, Reason: AuditBreakHash, Expected: h, Found: e.Hash}
	}
	return nil
}

// auditEntries reads up to limit entries from seq from to seq to, in seq order.
func (s *Store) auditEntries(ctx context.Context, from, to int64, limit int) ([]AuditLogEntry, error) {
	return read(ctx, s, func(tx neo4j.ManagedTransaction) ([]AuditLogEntry, error) {
		recs, err := collect(ctx, tx, cypherAuditRange, map[string]any{"chain": s.auditChain, "from": from, "to": to, "limit": limit})
		if err != nil {
			return nil, fmt.Errorf("read audit entries %d..%d: %w", from, to, err)
		}
		out := make([]AuditLogEntry, 0, len(recs))
		for _, r := range recs {
			out = append(out, auditEntryOf(r))
		}
		return out, nil
	})
}

// AuditEntries returns the entries from seq from to seq to (at most limit), for
// auditors and tests.
func (s *Store) AuditEntries(ctx context.Context, from, to int64, limit int) ([]AuditLogEntry, error) {
	return s.auditEntries(ctx, from, to, limit)
}

func auditEntryOf(r *neo4j.Record) AuditLogEntry {
	m := r.AsMap()
	e := AuditLogEntry{}
	e.Seq, _ = m["seq"].(int64)
	if at, ok := m["at"].(time.Time); ok {
		e.At = at.UTC()
	}
	e.Actor, _ = m["actor"].(string)
	e.Action, _ = m["action"].(string)
	if ts, ok := m["targets"].([]any); ok {
		e.Targets = make([]string, 0, len(ts))
		for _, t := range ts {
			s, _ := t.(string)
			e.Targets = append(e.Targets, s)
		}
	}
	e.TargetCount, _ = m["targetCount"].(int64)
	e.RequestID, _ = m["requestId"].(string)
	e.PrevHash, _ = m["prevHash"].(string)
	e.Hash, _ = m["hash"].(string)
	e.Changes, e.undecodedChanges = decodeAuditChanges(m["changes"])
	return e
}

// auditLogMigration creates the audit log's constraints: one head per chain, one entry
// per seq of a chain (which also indexes the range reads of verification).
var auditLogMigration = Migration{
	Version:     6,
	Description: "audit log: one head per chain, unique entry seqs",
	Statements: []string{
		`CREATE CONSTRAINT audit_head_chain IF NOT EXISTS
		 FOR (h:` + LabelAuditHead + `) REQUIRE h.chain IS UNIQUE`,
		`CREATE CONSTRAINT audit_entry_seq IF NOT EXISTS
		 FOR (e:` + LabelAuditEntry + `) REQUIRE (e.chain, e.seq) IS UNIQUE`,
	},
	Indexes: []string{"audit_head_chain", "audit_entry_seq"},
}
