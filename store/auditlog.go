package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/provgraph/provgraph/actor"
	"github.com/provgraph/provgraph/apperr"
)

// The audit log is a transparency log. Every write transaction records its entries as
// its last statement, as one (:AuditPending) node that no other writer touches, so an
// entry exists exactly when its write committed and writers never wait on each other.
// One sequencer at a time (auditsequencer.go) numbers pending entries into
// (:AuditEntry) nodes, chains their hashes (prevHash, hash), adds them as leaves to a
// Merkle tree (audittree.go) and publishes signed checkpoints of the tree. Entries are
// not provenance (they carry no LabelNode): lineage, node(id:) and exports never see
// them. docs/audit.md describes the log and its canonical form for auditors.

// Labels of the audit log.
const (
	// LabelAuditHead marks the one node per chain holding the last entry's seq and hash
	// and the Merkle tree's size and root; only the sequencer writes it.
	LabelAuditHead = "AuditHead"
	// LabelAuditPending marks a committed write's entries before the sequencer numbered
	// them; the sequencer deletes it in the transaction that creates its entries.
	LabelAuditPending = "AuditPending"
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
const auditPage = 5000

// auditReaders is how many pages verification reads at once.
const auditReaders = 2

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
	// none says the write found nothing to change and wrote nothing: it gets no entry.
	none bool
}

// unchanged says that the write wrote nothing, so that it appends no audit entry.
func (a *audit) unchanged() { a.none = true }

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
	// tree is the tree hashes stored with the entry (audittree.go), nil before the
	// sequencer added it to the tree.
	tree []byte
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
	if e.undecodedChanges == nil && len(e.Changes) == 0 {
		// Most entries: written field by field, which is what lets verification keep
		// up with Neo4j reading a log of millions (canonicalOf is the definition).
		return e.appendCanonical(make([]byte, 0, canonicalSizeHint(e)))
	}
	return e.canonicalOf()
}

// canonicalOf is the canonical form as encoding/json writes canonicalAuditEntry: the
// definition appendCanonical must equal, and the form of entries with changes.
func (e AuditLogEntry) canonicalOf() []byte {
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

// canonicalSizeHint is about the length of e's canonical form without changes.
func canonicalSizeHint(e AuditLogEntry) int {
	n := 160 + len(e.Actor) + len(e.Action) + len(e.RequestID) + len(e.PrevHash)
	for _, t := range e.Targets {
		n += len(t) + 3
	}
	return n
}

// appendCanonical appends the canonical form of e, an entry without changes, to b: the
// bytes canonicalOf gives (TestCanonicalFormWrittenByHandIsEncodingJSONs holds them
// equal, odd strings included).
func (e AuditLogEntry) appendCanonical(b []byte) []byte {
	b = append(b, `{"seq":`...)
	b = strconv.AppendInt(b, e.Seq, 10)
	b = append(b, `,"at":"`...)
	b = e.At.UTC().AppendFormat(b, auditTimeLayout)
	b = append(b, `","actor":`...)
	b = appendJSONString(b, e.Actor)
	b = append(b, `,"action":`...)
	b = appendJSONString(b, e.Action)
	b = append(b, `,"targets":[`...)
	for i, t := range e.Targets {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, t)
	}
	b = append(b, `],"targetCount":`...)
	b = strconv.AppendInt(b, e.TargetCount, 10)
	b = append(b, `,"requestId":`...)
	b = appendJSONString(b, e.RequestID)
	b = append(b, `,"prevHash":`...)
	b = appendJSONString(b, e.PrevHash)
	return append(b, '}')
}

// appendJSONString appends s as encoding/json writes it without HTML escaping: as is
// between quotes when it is printable ASCII other than a quote or a backslash, and
// through encoding/json otherwise (escapes, invalid UTF-8, U+2028 and U+2029).
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' {
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			_ = enc.Encode(s) // a string always encodes
			return append(b, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// ComputeHash returns the hex SHA-256 of e's canonical form.
func (e AuditLogEntry) ComputeHash() string {
	return hashOf(e.Canonical())
}

// hashOf is the hex SHA-256 of an entry's canonical form.
func hashOf(canon []byte) string {
	sum := sha256.Sum256(canon)
	return hex.EncodeToString(sum[:])
}

// sealed sets e's hash and returns its canonical form, the tree leaf: what the
// sequencer does to a numbered entry.
func (e *AuditLogEntry) sealed() []byte {
	canon := e.Canonical()
	e.Hash = hashOf(canon)
	return canon
}

// cypherAuditPend records a write's entries as one (:AuditPending) node: it takes no
// lock any other writer takes, so writers never wait on each other. The sequencer
// (auditsequencer.go) turns it into numbered entries of the log.
const cypherAuditPend = `
CREATE (:` + LabelAuditPending + ` {chain: $chain, at: $at, actor: $actor, requestId: $requestId, parts: $parts})`

// pendingPart is one entry of a pending write, as the pending node keeps it.
type pendingPart struct {
	Action      string        `json:"action"`
	Targets     []string      `json:"targets"`
	TargetCount int64         `json:"targetCount"`
	Changes     []AuditChange `json:"changes,omitempty"`
}

// appendAudit records the entry of the write running in tx, or the entries it added
// (audit.entry), in order, as pending: the sequencer numbers them, chains their hashes
// and adds them to the Merkle tree after the write commits. A write that rolls back
// leaves nothing.
func (s *Store) appendAudit(ctx context.Context, tx neo4j.ManagedTransaction, who, action string, a *audit) error {
	parts := a.entries
	if len(parts) == 0 {
		parts = []auditPart{{action, a.targets, a.changes}}
	}
	pending := make([]pendingPart, len(parts))
	for i, p := range parts {
		targets := p.targets
		if len(targets) > MaxAuditTargets {
			targets = targets[:MaxAuditTargets]
		}
		if targets == nil {
			targets = []string{}
		}
		pending[i] = pendingPart{Action: p.action, Targets: targets, TargetCount: int64(len(p.targets)), Changes: p.changes}
	}
	encoded, err := json.Marshal(pending)
	if err != nil {
		return fmt.Errorf("encode audit entries: %w", err)
	}
	if _, err := collect(ctx, tx, cypherAuditPend, map[string]any{
		"chain": s.auditChain, "at": time.Now().UTC(), "actor": who, "requestId": actor.RequestFrom(ctx), "parts": string(encoded),
	}); err != nil {
		return fmt.Errorf("record audit entries: %w", err)
	}
	s.sequencer.kick()
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
	// AuditBreakLeafHash: the leaf hash stored with an entry is not its canonical form's.
	AuditBreakLeafHash = "LEAF_HASH_MISMATCH"
	// AuditBreakTreeHash: a tree hash stored with an entry is not the one its subtree gives.
	AuditBreakTreeHash = "TREE_HASH_MISMATCH"
	// AuditBreakCheckpoint: a checkpoint states a root the log does not give, or a size
	// the log does not reach.
	AuditBreakCheckpoint = "CHECKPOINT_MISMATCH"
	// AuditBreakSignature: a checkpoint is not signed by the log's key, or its signed
	// text is not what is stored.
	AuditBreakSignature = "CHECKPOINT_SIGNATURE"
)

// auditEntryColumns returns entries e in the columns auditEntryOf reads, in seq order.
// Ordering by (chain, seq), the (chain, seq) constraint's index order, lets the planner
// read entries in that order and stop at $limit (ORDER BY e.seq alone makes it read
// every entry of the range and sort them, for every page).
const auditEntryColumns = `
RETURN e.seq AS seq, e.at AS at, e.actor AS actor, e.action AS action, e.targets AS targets,
       e.targetCount AS targetCount, e.requestId AS requestId, e.prevHash AS prevHash, e.hash AS hash,
       e.changes AS changes, e.tree AS tree
ORDER BY e.chain, e.seq
LIMIT $limit`

const (
	cypherAuditPrev  = `MATCH (e:` + LabelAuditEntry + ` {chain: $chain, seq: $seq}) USING INDEX e:` + LabelAuditEntry + `(chain, seq) RETURN e.hash AS hash`
	cypherAuditRange = `
MATCH (e:` + LabelAuditEntry + `)
USING INDEX e:` + LabelAuditEntry + `(chain, seq)
WHERE e.chain = $chain AND e.seq >= $from AND e.seq <= $to
WITH e ORDER BY e.chain, e.seq LIMIT $limit
// One record for the page: the driver's cost is per record, and verification reads
// millions of entries.
RETURN collect([e.seq, e.at, e.actor, e.action, e.targets, e.targetCount, e.requestId, e.prevHash, e.hash,
  e.changes, e.tree]) AS entries`
)

// auditVerifyStart is what verification of a range reads before its entries: the head,
// the hash of the entry before the range, the tree up to it and the checkpoints of
// the range.
type auditVerifyStart struct {
	head        auditHead
	headRoot    tlog.Hash
	prev        string
	hasPrev     bool
	tree        *treeBuilder
	checkpoints []storedCheckpoint
}

// storedCheckpoint is a checkpoint as stored: its size and root properties and its note.
type storedCheckpoint struct {
	size int64
	root string
	note string
}

// VerifyAuditLog recomputes the log from seq from (1 when nil) to seq to (the head,
// or the MaxAuditVerifyRange-th entry, when nil) after the writes made before the call
// are sequenced: every seq present, every prevHash the hash of the entry before (for
// from > 1 the stored hash of entry from-1), every hash the SHA-256 of its entry's
// canonical form, every entry's stored tree hashes those its leaf gives, every
// checkpoint of a size in the range signed by the store's key and of the recomputed
// root, and — when the range ends at the head — the head's hash and root the last
// entry's and no checkpoint larger than the log. It reads in pages, so memory stays
// bounded.
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
	if err := s.awaitSequenced(ctx); err != nil {
		return v, err
	}
	st, err := read(ctx, s, func(tx neo4j.ManagedTransaction) (auditVerifyStart, error) {
		return s.verifyStart(ctx, tx, v.From, to)
	})
	if err != nil {
		return v, err
	}
	v.Head = st.head.Seq
	v.To = min(st.head.Seq, v.From+MaxAuditVerifyRange-1)
	if to != nil {
		v.To = *to
	}
	if v.To < v.From {
		// Nothing to check from v.From on (to was not given): the log ends before it,
		// so any checkpoint verifyStart read, of a size from v.From on, is beyond it.
		v.To = v.From - 1
		if len(st.checkpoints) > 0 {
			v.FirstBreak = beyondTheLog(st.checkpoints[0], st.head)
		}
		return v, nil
	}
	if !st.hasPrev {
		v.FirstBreak = &AuditBreak{Seq: v.From - 1, Reason: AuditBreakMissing, Expected: fmt.Sprint(v.From - 1), Found: "no entry"}
		return v, nil
	}
	err = s.verifyEntries(ctx, &v, &st)
	if err != nil || v.FirstBreak != nil {
		return v, err
	}
	if v.To == st.head.Seq {
		v.FirstBreak = s.checkHead(&st)
	}
	return v, nil
}

// verifyStart reads what verifying from..to needs before the entries.
func (s *Store) verifyStart(ctx context.Context, tx neo4j.ManagedTransaction, from int64, to *int64) (auditVerifyStart, error) {
	var st auditVerifyStart
	head, root, err := s.treeHead(ctx, tx)
	if err != nil {
		return st, fmt.Errorf("read audit head: %w", err)
	}
	st.head, st.headRoot = head, root
	if from == 1 {
		st.prev, st.hasPrev = GenesisHash, true
	} else {
		recs, err := collect(ctx, tx, cypherAuditPrev, map[string]any{"chain": s.auditChain, "seq": from - 1})
		if err != nil {
			return st, fmt.Errorf("read audit entry %d: %w", from-1, err)
		}
		if len(recs) == 1 {
			hash, _ := recs[0].Get("hash")
			st.prev, _ = hash.(string)
			st.hasPrev = true
		}
	}
	if from-1 <= head.TreeSize && st.hasPrev {
		if st.tree, err = loadTreeBuilder(ctx, tx, s.auditChain, from-1); err != nil {
			return st, err
		}
	}
	// A range that reaches the head also reads the checkpoints beyond it, which
	// checkHead finds, whether the range ends at the head by its to or without one.
	last := int64(math.MaxInt64)
	switch {
	case to != nil && *to < head.Seq:
		last = *to
	case to == nil && from+MaxAuditVerifyRange-1 < head.Seq:
		last = from + MaxAuditVerifyRange - 1
	}
	recs, err := collect(ctx, tx, cypherCheckpointsBetween, map[string]any{"chain": s.auditChain, "from": from, "to": last})
	if err != nil {
		return st, fmt.Errorf("read audit checkpoints: %w", err)
	}
	beyond := false
	for _, r := range recs {
		m := r.AsMap()
		c := storedCheckpoint{}
		c.size, _ = m["size"].(int64)
		c.root, _ = m["root"].(string)
		c.note, _ = m["note"].(string)
		st.checkpoints = append(st.checkpoints, c)
		beyond = beyond || c.size > head.Seq
	}
	if beyond {
		// Each statement of a read transaction sees what was committed when it ran: a
		// turn of the sequencer that committed between the head's statement and this
		// one moved the head and stored its checkpoint together. The head read again
		// now covers every checkpoint just read that such a turn stored; only a
		// checkpoint beyond it is beyond the log.
		now, _, err := s.treeHead(ctx, tx)
		if err != nil {
			return st, fmt.Errorf("read audit head: %w", err)
		}
		st.checkpoints = slices.DeleteFunc(st.checkpoints, func(c storedCheckpoint) bool {
			return c.size > head.Seq && c.size <= now.Seq
		})
	}
	return st, nil
}

// verifyEntries checks v's range entry by entry, setting v.FirstBreak at the first
// that does not verify.
func (s *Store) verifyEntries(ctx context.Context, v *AuditVerification, st *auditVerifyStart) error {
	ctx, cancel := context.WithCancel(ctx)
	pages, wait := s.prefetchEntries(ctx, v.From, v.To)
	// Stop the readers, then wait for them: none may outlive the verification (and use
	// a store its caller closes next).
	defer wait()
	defer cancel()
	prev, want := st.prev, v.From
	for p := range pages {
		if p.err != nil {
			return p.err
		}
		for i, e := range p.entries {
			b := checkAuditEntry(e, p.hashes[i].hash, want, prev)
			if b == nil {
				b = s.checkTree(e, p.hashes[i].leaf, st)
			}
			if b != nil {
				v.FirstBreak = b
				return nil
			}
			v.Checked++
			prev, want = e.Hash, e.Seq+1
		}
	}
	// Pages stop early when the caller's context ends: that is an error, not an
	// entry missing from the log.
	if err := ctx.Err(); err != nil {
		return err
	}
	if want <= v.To {
		v.FirstBreak = &AuditBreak{Seq: want, Reason: AuditBreakMissing, Expected: fmt.Sprint(want), Found: "no entry"}
	}
	st.prev = prev
	return nil
}

// entryPage is a page of entries read ahead by prefetchEntries, with what their
// canonical forms hash to, or why it could not be read.
type entryPage struct {
	entries []AuditLogEntry
	hashes  []entryHashes
	err     error
}

// entryHashes are what an entry's canonical form hashes to: its chain hash and its
// leaf hash in the tree. Neither depends on other entries, so the readers compute them
// beside the check that goes through the entries in order.
type entryHashes struct {
	hash string
	leaf tlog.Hash
}

// hashPage computes the hashes of a page's entries.
func hashPage(entries []AuditLogEntry) []entryHashes {
	out := make([]entryHashes, len(entries))
	for i, e := range entries {
		canon := e.Canonical()
		out[i] = entryHashes{hash: hashOf(canon), leaf: tlog.RecordHash(canon)}
	}
	return out
}

// prefetchEntries reads the entries from seq from to seq to in pages of auditPage
// seqs, auditReaders pages at once, hashes each page's entries (hashPage) and hands
// the pages to the caller in seq order, so that Neo4j reads the next pages and the
// page after this one is hashed while the caller checks this one. A page of seqs that
// are missing is empty (the caller finds the gap). The channel closes after the last
// page or an error; cancelling ctx stops it, and wait returns once every goroutine it
// started has.
func (s *Store) prefetchEntries(ctx context.Context, from, to int64) (_ <-chan entryPage, wait func()) {
	read, pages := make(chan entryPage, 1), make(chan entryPage, 1)
	// Each page being read is a channel its reader answers on, queued in seq order;
	// the queue's capacity bounds the pages read ahead.
	queued := make(chan chan entryPage, auditReaders-1)
	var running sync.WaitGroup
	running.Add(3)
	go func() {
		defer running.Done()
		defer close(queued)
		for lo := from; lo <= to; lo += auditPage {
			answer := make(chan entryPage, 1)
			select {
			case queued <- answer:
			case <-ctx.Done():
				return
			}
			running.Add(1)
			go func(lo, hi int64) {
				defer running.Done()
				page, err := s.auditEntries(ctx, lo, hi, auditPage)
				answer <- entryPage{entries: page, err: err}
			}(lo, min(to, lo+auditPage-1))
		}
	}()
	go func() {
		defer running.Done()
		defer close(read)
		for answer := range queued {
			var p entryPage
			select {
			case p = <-answer:
			case <-ctx.Done():
				return
			}
			if !send(ctx, read, p) || p.err != nil {
				return
			}
		}
	}()
	go func() {
		defer running.Done()
		defer close(pages)
		for p := range read {
			p.hashes = hashPage(p.entries)
			if !send(ctx, pages, p) {
				return
			}
		}
	}()
	return pages, running.Wait
}

// send sends p on ch unless ctx ends first, and says whether it did.
func send(ctx context.Context, ch chan<- entryPage, p entryPage) bool {
	select {
	case ch <- p:
		return true
	case <-ctx.Done():
		return false
	}
}

// checkTree checks entry e's stored tree hashes and the checkpoints of the tree that
// ends with it, when e is in the tree.
func (s *Store) checkTree(e AuditLogEntry, leaf tlog.Hash, st *auditVerifyStart) *AuditBreak {
	if st.tree == nil || e.Seq > st.head.TreeSize {
		return nil
	}
	computed, err := st.tree.addLeaf(leaf)
	if err != nil {
		return &AuditBreak{Seq: e.Seq, Reason: AuditBreakTreeHash, Expected: "tree hashes", Found: err.Error()}
	}
	if !bytes.Equal(e.tree, computed) {
		reason := AuditBreakTreeHash
		if len(e.tree) < auditHashSize || !bytes.Equal(e.tree[:auditHashSize], computed[:auditHashSize]) {
			reason = AuditBreakLeafHash
		}
		return &AuditBreak{Seq: e.Seq, Reason: reason, Expected: hashList(computed), Found: hashList(e.tree)}
	}
	for len(st.checkpoints) > 0 && st.checkpoints[0].size <= e.Seq {
		c := st.checkpoints[0]
		st.checkpoints = st.checkpoints[1:]
		if c.size < e.Seq {
			continue // before the range's tree: nothing to compare with
		}
		if b := s.checkCheckpoint(c, st.tree); b != nil {
			return b
		}
	}
	return nil
}

// checkCheckpoint checks a stored checkpoint of the tree b: signed by this store's key
// (when it has one), stating b's size and root, and stored with that root.
func (s *Store) checkCheckpoint(c storedCheckpoint, b *treeBuilder) *AuditBreak {
	root, err := b.root()
	if err != nil {
		return &AuditBreak{Seq: c.size, Reason: AuditBreakCheckpoint, Expected: "a tree root", Found: err.Error()}
	}
	var stated AuditCheckpoint
	if s.auditKey != nil {
		stated, err = OpenAuditCheckpoint([]byte(c.note), s.auditKey.Verifier)
	} else {
		stated, err = ParseAuditCheckpoint(c.note)
	}
	switch {
	case err != nil:
		return &AuditBreak{Seq: c.size, Reason: AuditBreakSignature, Expected: "a checkpoint signed by " + s.AuditVerifierKey(), Found: err.Error()}
	case stated.Size != c.size:
		return &AuditBreak{Seq: c.size, Reason: AuditBreakSignature, Expected: fmt.Sprintf("tree size %d", c.size), Found: fmt.Sprintf("signed tree size %d", stated.Size)}
	case stated.Root != root || c.root != root.String():
		return &AuditBreak{Seq: c.size, Reason: AuditBreakCheckpoint, Expected: root.String(), Found: fmt.Sprintf("signed %s, stored %s", stated.Root, c.root)}
	}
	return nil
}

// checkHead checks the head against the log's last entry and tree, and that no
// checkpoint is larger than the log.
func (s *Store) checkHead(st *auditVerifyStart) *AuditBreak {
	if st.prev != st.head.Hash {
		return &AuditBreak{Seq: st.head.Seq, Reason: AuditBreakHead, Expected: st.prev, Found: st.head.Hash}
	}
	if st.tree != nil && st.head.TreeSize == st.head.Seq && st.head.Seq > 0 {
		if root, err := st.tree.root(); err == nil && root != st.headRoot {
			return &AuditBreak{Seq: st.head.Seq, Reason: AuditBreakHead, Expected: root.String(), Found: st.headRoot.String()}
		}
	}
	for _, c := range st.checkpoints {
		if c.size > st.head.Seq {
			return beyondTheLog(c, st.head)
		}
	}
	return nil
}

// beyondTheLog is the break a checkpoint larger than the log, whose head is head, is.
func beyondTheLog(c storedCheckpoint, head auditHead) *AuditBreak {
	return &AuditBreak{Seq: c.size, Reason: AuditBreakCheckpoint, Expected: fmt.Sprintf("at most %d entries", head.Seq),
		Found: fmt.Sprintf("a checkpoint of tree size %d", c.size)}
}

// hashList renders stored tree bytes as their base64 hashes.
func hashList(tree []byte) string {
	var parts []string
	for i := 0; i+auditHashSize <= len(tree); i += auditHashSize {
		var h tlog.Hash
		copy(h[:], tree[i:])
		parts = append(parts, h.String())
	}
	return strings.Join(parts, " ")
}

// checkAuditEntry returns why e breaks the chain, expected to be entry want following
// an entry whose hash is prev, with its canonical form hashing to hash, or nil.
func checkAuditEntry(e AuditLogEntry, hash string, want int64, prev string) *AuditBreak {
	switch {
	case e.Seq != want:
		return &AuditBreak{Seq: want, Reason: AuditBreakMissing, Expected: fmt.Sprint(want), Found: fmt.Sprint(e.Seq)}
	case e.PrevHash != prev:
		return &AuditBreak{Seq: e.Seq, Reason: AuditBreakPrevHash, Expected: prev, Found: e.PrevHash}
	case hash != e.Hash:
		return &AuditBreak{Seq: e.Seq, Reason: AuditBreakHash, Expected: hash, Found: e.Hash}
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
		if len(recs) != 1 {
			return nil, fmt.Errorf("read audit entries %d..%d: %d records, want 1", from, to, len(recs))
		}
		rows, _ := recs[0].Values[0].([]any)
		out := make([]AuditLogEntry, 0, len(rows))
		for _, row := range rows {
			values, _ := row.([]any)
			out = append(out, auditEntryOf(values))
		}
		return out, nil
	})
}

// AuditEntries returns the entries from seq from to seq to (at most limit), for
// auditors and tests, after the writes made before the call are sequenced.
func (s *Store) AuditEntries(ctx context.Context, from, to int64, limit int) ([]AuditLogEntry, error) {
	if err := s.awaitSequenced(ctx); err != nil {
		return nil, err
	}
	return s.auditEntries(ctx, from, to, limit)
}

// auditEntryOf reads an entry from the values of auditEntryColumns (or a row of
// cypherAuditRange's), by position: verification reads millions.
func auditEntryOf(v []any) AuditLogEntry {
	e := AuditLogEntry{}
	e.Seq, _ = v[0].(int64)
	if at, ok := v[1].(time.Time); ok {
		e.At = at.UTC()
	}
	e.Actor, _ = v[2].(string)
	e.Action, _ = v[3].(string)
	if ts, ok := v[4].([]any); ok {
		e.Targets = make([]string, 0, len(ts))
		for _, t := range ts {
			s, _ := t.(string)
			e.Targets = append(e.Targets, s)
		}
	}
	e.TargetCount, _ = v[5].(int64)
	e.RequestID, _ = v[6].(string)
	e.PrevHash, _ = v[7].(string)
	e.Hash, _ = v[8].(string)
	e.Changes, e.undecodedChanges = decodeAuditChanges(v[9])
	e.tree, _ = v[10].([]byte)
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
