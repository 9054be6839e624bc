package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"

	"github.com/provgraph/provgraph/apperr"
)

// The sequencer turns pending entries into the numbered log. Exactly one process at a
// time sequences a chain: the one holding the chain's lease, an (:AuditSequencer) node
// with the holder, an epoch and an expiry on Neo4j's clock. Every sequencing transaction
// first locks the lease node and checks that this process still holds it, so a holder
// that lost the lease (paused past the expiry, then taken over) commits nothing, and
// two sequencing transactions never run at once. A holder renews the lease while it
// lives; when it dies, another process takes the lease over once it expired.
//
// One sequencing transaction reads up to AuditSequenceBatch pending writes, gives their
// entries the next seqs, chains their hashes, adds them to the tree, creates the
// entries, deletes the pending nodes and moves the head: an entry is sequenced exactly
// once, and a pending write is never half sequenced.

// Labels of the sequencer's records.
const (
	// LabelAuditSequencer marks a chain's sequencer lease.
	LabelAuditSequencer = "AuditSequencer"
	// LabelAuditCheckpoint marks a signed checkpoint of a chain's tree.
	LabelAuditCheckpoint = "AuditCheckpoint"
)

// Sequencer settings.
const (
	// AuditLeaseTTL is how long a sequencer's lease lasts unless renewed: how long the
	// log waits for a dead sequencer before another process takes over.
	AuditLeaseTTL = 3 * time.Second
	// AuditSequenceBatch caps the pending writes one sequencing transaction takes.
	AuditSequenceBatch = 2000
	// AuditCheckpointEvery is the most often a sequencer publishes a checkpoint while
	// entries keep coming; when they stop, it publishes one for the last of them.
	AuditCheckpointEvery = time.Second
	// auditPollEvery is how often the lease holder looks for writes of other processes.
	auditPollEvery = 100 * time.Millisecond
	// auditRoundEvery is the least time between two sequencing turns that found work.
	auditRoundEvery = 100 * time.Millisecond
	// auditAwaitLimit bounds how long a read of the log waits for the entries written
	// before it to be sequenced.
	auditAwaitLimit = 10 * time.Second
)

// errLeaseLost stops a sequencing transaction of a process that no longer holds the
// lease.
var errLeaseLost = errors.New("audit sequencer: the lease is held by another process")

// sequencer is a store's side of sequencing: its identity, the lease it holds and a
// signal that a local write is pending.
type sequencer struct {
	me      string
	wake    chan struct{}
	mu      sync.Mutex // serializes this process's sequencing rounds
	running bool       // RunAuditSequencer is running
	epoch   int64      // the epoch of the lease held, 0 when none
	lastCP  time.Time  // when this process last published a checkpoint
	// tree is the tree this process left at the head with its last sequencing
	// transaction, reused while the head is still there; nil when unknown.
	tree *leftTree
	// cpSoon asks the running sequencer for a checkpoint at its next turn, without
	// waiting for AuditCheckpointEvery: a reader waits for one.
	cpSoon bool
	// stop is closed when the store closes; exited is closed when RunAuditSequencer has
	// returned (nil when it never ran).
	stop     chan struct{}
	stopOnce sync.Once
	exited   chan struct{}
	// lastErr and lastErrAt keep the sequencer's log quiet during an outage.
	lastErr   string
	lastErrAt time.Time
}

// leftTree is the tree a sequencing transaction committed: the head it moved to and
// the tree's frontier hashes, all a next transaction needs to add to it.
type leftTree struct {
	head     auditHead
	frontier hashMap
}

// builder is a treeBuilder for the left tree, of its own: a transaction that the
// driver retries starts again from the frontier.
func (t *leftTree) builder() *treeBuilder {
	b := &treeBuilder{size: t.head.TreeSize, hashes: make(hashMap, len(t.frontier))}
	for x, h := range t.frontier {
		b.hashes[x] = h
	}
	return b
}

func newSequencer() *sequencer {
	host, _ := os.Hostname()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return &sequencer{me: fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b)), wake: make(chan struct{}, 1),
		stop: make(chan struct{})}
}

// close stops a running RunAuditSequencer and waits until it released its lease.
func (q *sequencer) close() {
	q.stopOnce.Do(func() { close(q.stop) })
	q.mu.Lock()
	exited := q.exited
	q.mu.Unlock()
	if exited != nil {
		<-exited
	}
}

// checkpointSoon asks the running sequencer for a checkpoint at its next turn.
func (q *sequencer) checkpointSoon() {
	q.mu.Lock()
	q.cpSoon = true
	q.mu.Unlock()
	q.kick()
}

// kick tells the running sequencer that a write of this process is pending.
func (q *sequencer) kick() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

const (
	// cypherLeaseHold takes or renews the chain's lease for this process, creating
	// the lease when missing: it locks the lease until commit (SET lockedAt), then,
	// under the lock, keeps only a lease that is this process's, free or expired
	// (no row otherwise). Renewing keeps the epoch, a new holder starts the next.
	cypherLeaseHold = `
MERGE (l:` + LabelAuditSequencer + ` {chain: $chain})
  ON CREATE SET l.epoch = 0
SET l.lockedAt = datetime.realtime()
WITH l, l.holder = $me AND l.expires > datetime.realtime() AS mine
WHERE mine OR l.holder IS NULL OR l.expires <= datetime.realtime()
SET l.epoch = CASE WHEN mine THEN l.epoch ELSE l.epoch + 1 END,
    l.holder = $me, l.expires = datetime.realtime() + duration({milliseconds: $ttl})`
	cypherLeaseTake = cypherLeaseHold + `
RETURN l.epoch AS epoch`
	cypherLeaseRelease = `
MATCH (l:` + LabelAuditSequencer + ` {chain: $chain})
WHERE l.holder = $me AND l.epoch = $epoch
SET l.expires = datetime.realtime()`
)

// takeLease takes or renews the chain's lease for this process in tx and reports the
// epoch held; 0 when another process holds an unexpired lease.
func (s *Store) takeLease(ctx context.Context, tx neo4j.ManagedTransaction) (int64, error) {
	recs, err := collect(ctx, tx, cypherLeaseTake, map[string]any{
		"chain": s.auditChain, "me": s.sequencer.me, "ttl": AuditLeaseTTL.Milliseconds(),
	})
	if err != nil {
		return 0, fmt.Errorf("take audit sequencer lease: %w", err)
	}
	if len(recs) == 0 {
		return 0, nil
	}
	e, _ := recs[0].Get("epoch")
	got, _ := e.(int64)
	return got, nil
}

// acquireLease takes or renews the lease in a transaction of its own.
func (s *Store) acquireLease(ctx context.Context) (int64, error) {
	return transact(ctx, s, TxWrite, func(tx neo4j.ManagedTransaction) (int64, error) {
		return s.takeLease(ctx, tx)
	})
}

// releaseLease lets another process take the lease at once.
func (s *Store) releaseLease(ctx context.Context) error {
	epoch := s.sequencer.epoch
	if epoch == 0 {
		return nil
	}
	s.sequencer.epoch = 0
	_, err := transact(ctx, s, TxWrite, func(tx neo4j.ManagedTransaction) (struct{}, error) {
		_, err := collect(ctx, tx, cypherLeaseRelease, map[string]any{"chain": s.auditChain, "me": s.sequencer.me, "epoch": epoch})
		return struct{}{}, err
	})
	return err
}

// auditHead is the head of a chain: the last entry's seq and hash, and the tree's size.
type auditHead struct {
	Seq      int64
	Hash     string
	TreeSize int64
}

const (
	// cypherSequenceStart opens a sequencing transaction in one statement: it takes
	// the lease under its lock (no row when another process holds it), and reads the
	// head and the oldest pending writes.
	cypherSequenceStart = cypherLeaseHold + `
MERGE (h:` + LabelAuditHead + ` {chain: $chain})
  ON CREATE SET h.seq = 0, h.hash = $genesis, h.treeSize = 0
RETURN l.epoch AS epoch, h.seq AS seq, h.hash AS hash, coalesce(h.treeSize, 0) AS treeSize,
  COLLECT {
    MATCH (p:` + LabelAuditPending + `)
    WHERE p.chain = $chain
    WITH p ORDER BY p.chain, p.at LIMIT $limit
    RETURN [elementId(p), p.at, p.actor, p.requestId, p.parts]
  } AS pending`
	// cypherSequenceFinish ends a sequencing transaction in one statement: it creates
	// the entries, deletes the pending writes they came from, moves the head and
	// stores the checkpoint, when one is due.
	cypherSequenceFinish = `
CALL {
  UNWIND $entries AS e
  CREATE (:` + LabelAuditEntry + ` {chain: $chain, seq: e.seq, at: e.at, actor: e.actor, action: e.action,
    targets: e.targets, targetCount: e.targetCount, requestId: e.requestId, prevHash: e.prevHash, hash: e.hash,
    changes: e.changes, tree: e.tree})
}
CALL {
  UNWIND $ids AS id
  MATCH (p:` + LabelAuditPending + `)
  WHERE elementId(p) = id
  DELETE p
}
MATCH (h:` + LabelAuditHead + ` {chain: $chain})
SET h.seq = $seq, h.hash = $hash, h.treeSize = $treeSize, h.root = $root
FOREACH (c IN $checkpoints |
  CREATE (:` + LabelAuditCheckpoint + ` {chain: $chain, size: c.size, root: c.root, at: c.at, note: c.note}))`
	cypherIntegrateRange = `
MATCH (e:` + LabelAuditEntry + `)
USING INDEX e:` + LabelAuditEntry + `(chain, seq)
WHERE e.chain = $chain AND e.seq > $from AND e.seq <= $to` + auditEntryColumns
	cypherIntegrateSet = `
UNWIND $rows AS r
MATCH (e:` + LabelAuditEntry + ` {chain: $chain, seq: r.seq})
USING INDEX e:` + LabelAuditEntry + `(chain, seq)
SET e.tree = r.tree`
	cypherCheckpointCreate = `
CREATE (:` + LabelAuditCheckpoint + ` {chain: $chain, size: $size, root: $root, at: $at, note: $note})`
)

// sequenced is what one sequencing transaction did.
type sequenced struct {
	Entries int
	Lags    []time.Duration
	Head    auditHead
	Root    string
	More    bool // it stopped at AuditSequenceBatch: more may be pending
	// Checkpoint is the checkpoint it stored, nil when none was due.
	Checkpoint *AuditCheckpoint
	// rows and ids are the entries to create and the pending writes they came from;
	// tree is the tree the transaction leaves.
	rows []map[string]any
	ids  []string
	tree *treeBuilder
}

// sequenceBatch is one sequencing transaction: under the lease, it first adds entries
// that have seqs but are not in the tree yet (a log from before the tree), else it
// sequences up to AuditSequenceBatch pending writes. With checkpoint it also stores a
// signed checkpoint of the tree it leaves. It costs two statements when this process
// ran the chain's last sequencing transaction (it keeps the tree's frontier), three
// otherwise.
func (s *Store) sequenceBatch(ctx context.Context, checkpoint bool) (sequenced, error) {
	left := s.sequencer.tree
	s.sequencer.tree = nil // until this transaction is known to have committed
	done, err := transact(ctx, s, TxWrite, func(tx neo4j.ManagedTransaction) (sequenced, error) {
		// Taking the lease again under its lock is what fences a process that lost it:
		// whatever epoch it holds now, no other process holds the lease until commit.
		recs, err := collect(ctx, tx, cypherSequenceStart, map[string]any{
			"chain": s.auditChain, "me": s.sequencer.me, "ttl": AuditLeaseTTL.Milliseconds(),
			"genesis": GenesisHash, "limit": AuditSequenceBatch,
		})
		if err != nil {
			return sequenced{}, fmt.Errorf("start sequencing: %w", err)
		}
		if len(recs) == 0 {
			return sequenced{}, errLeaseLost
		}
		m := recs[0].AsMap()
		head := auditHead{}
		head.Seq, _ = m["seq"].(int64)
		head.Hash, _ = m["hash"].(string)
		head.TreeSize, _ = m["treeSize"].(int64)
		var b *treeBuilder
		if left != nil && left.head == head {
			b = left.builder()
		} else if b, err = loadTreeBuilder(ctx, tx, s.auditChain, head.TreeSize); err != nil {
			return sequenced{}, err
		}
		var done sequenced
		if head.TreeSize < head.Seq {
			done, err = s.integrateEntries(ctx, tx, head, b)
		} else {
			pending, _ := m["pending"].([]any)
			done, err = sequencePending(pending, head, b)
		}
		if err != nil || done.Entries == 0 {
			return done, err
		}
		return done, s.finishSequencing(ctx, tx, &done, b, checkpoint)
	})
	if err == nil && done.tree != nil {
		done.tree.prune()
		s.sequencer.tree = &leftTree{head: done.Head, frontier: done.tree.hashes}
	} else if err == nil && done.Entries == 0 {
		s.sequencer.tree = left // nothing changed
	}
	return done, err
}

// finishSequencing moves the head to done's, stores done's new entries (the rows of
// sequencePending; none after integrateEntries) and, with checkpoint, a signed
// checkpoint of the tree b, unless more entries wait for the next transaction.
func (s *Store) finishSequencing(ctx context.Context, tx neo4j.ManagedTransaction, done *sequenced, b *treeBuilder, checkpoint bool) error {
	root, err := b.root()
	if err != nil {
		return err
	}
	done.Head.TreeSize, done.Root, done.tree = b.size, root.String(), b
	checkpoints := []map[string]any{}
	if checkpoint && !done.More {
		c, err := s.auditKey.SignCheckpoint(AuditCheckpoint{Origin: auditOrigin(s.auditChain), Size: b.size, Root: root, At: time.Now().UTC()})
		if err != nil {
			return err
		}
		done.Checkpoint = &c
		checkpoints = append(checkpoints, map[string]any{"size": c.Size, "root": c.Root.String(), "at": c.At, "note": c.Note})
	}
	rows, ids := done.rows, done.ids
	if rows == nil {
		rows = []map[string]any{}
	}
	if ids == nil {
		ids = []string{}
	}
	_, err = collect(ctx, tx, cypherSequenceFinish, map[string]any{
		"chain": s.auditChain, "entries": rows, "ids": ids, "checkpoints": checkpoints,
		"seq": done.Head.Seq, "hash": done.Head.Hash, "treeSize": b.size, "root": done.Root,
	})
	if err != nil {
		return fmt.Errorf("store audit entries up to %d: %w", done.Head.Seq, err)
	}
	return nil
}

// integrateEntries adds to the tree up to AuditSequenceBatch entries that were
// numbered before the log had a tree: the hash-chained entries of earlier versions
// become the tree's first leaves, unchanged.
func (s *Store) integrateEntries(ctx context.Context, tx neo4j.ManagedTransaction, head auditHead, b *treeBuilder) (sequenced, error) {
	recs, err := collect(ctx, tx, cypherIntegrateRange, map[string]any{
		"chain": s.auditChain, "from": head.TreeSize, "to": head.Seq, "limit": AuditSequenceBatch,
	})
	if err != nil {
		return sequenced{}, fmt.Errorf("read audit entries to integrate: %w", err)
	}
	rows := make([]map[string]any, 0, len(recs))
	for _, r := range recs {
		e := auditEntryOf(r.Values)
		if e.Seq != b.size+1 {
			return sequenced{}, fmt.Errorf("integrate audit entries: entry %d is missing", b.size+1)
		}
		tree, err := b.add(e.Canonical())
		if err != nil {
			return sequenced{}, err
		}
		rows = append(rows, map[string]any{"seq": e.Seq, "tree": tree})
	}
	if _, err := collect(ctx, tx, cypherIntegrateSet, map[string]any{"chain": s.auditChain, "rows": rows}); err != nil {
		return sequenced{}, fmt.Errorf("store audit tree hashes: %w", err)
	}
	head.TreeSize = b.size
	return sequenced{Entries: len(rows), Head: head, More: b.size < head.Seq}, nil
}

// pendingWrite is one pending node as the sequencer reads it.
type pendingWrite struct {
	id        string
	at        time.Time
	actor     string
	requestID string
	parts     []pendingPart
}

// sequencePending numbers the entries of the pending writes read by
// cypherSequenceStart (at most AuditSequenceBatch, oldest first), a write's entries
// consecutively, adding them to the tree b.
func sequencePending(pending []any, head auditHead, b *treeBuilder) (sequenced, error) {
	now := time.Now()
	done := sequenced{Head: head, More: len(pending) == AuditSequenceBatch, ids: make([]string, 0, len(pending))}
	for _, row := range pending {
		w, err := pendingWriteOf(row)
		if err != nil {
			return sequenced{}, err
		}
		done.ids = append(done.ids, w.id)
		for _, p := range w.parts {
			e := AuditLogEntry{
				Seq: done.Head.Seq + 1, At: w.at, Actor: w.actor, Action: p.Action, Targets: p.Targets,
				TargetCount: p.TargetCount, RequestID: w.requestID, PrevHash: done.Head.Hash, Changes: p.Changes,
			}
			tree, err := b.add(e.sealed())
			if err != nil {
				return sequenced{}, err
			}
			done.rows = append(done.rows, map[string]any{
				"seq": e.Seq, "at": e.At, "actor": e.Actor, "action": e.Action, "targets": e.Targets,
				"targetCount": e.TargetCount, "requestId": e.RequestID, "prevHash": e.PrevHash, "hash": e.Hash, "tree": tree,
				"changes": encodeAuditChanges(e.Changes),
			})
			done.Head.Seq, done.Head.Hash = e.Seq, e.Hash
			done.Lags = append(done.Lags, now.Sub(w.at))
		}
	}
	done.Entries = len(done.rows)
	return done, nil
}

// pendingWriteOf reads one pending write as cypherSequenceStart lists it: element
// id, time, actor, request id and the entries' JSON.
func pendingWriteOf(row any) (pendingWrite, error) {
	w := pendingWrite{}
	cols, _ := row.([]any)
	if len(cols) != 5 {
		return w, fmt.Errorf("pending audit entries: %d columns, want 5", len(cols))
	}
	w.id, _ = cols[0].(string)
	if at, ok := cols[1].(time.Time); ok {
		w.at = at.UTC()
	}
	w.actor, _ = cols[2].(string)
	w.requestID, _ = cols[3].(string)
	parts, _ := cols[4].(string)
	if err := json.Unmarshal([]byte(parts), &w.parts); err != nil {
		return w, fmt.Errorf("pending audit entries %s: %w", w.id, err)
	}
	for i := range w.parts {
		if w.parts[i].Targets == nil {
			w.parts[i].Targets = []string{}
		}
	}
	return w, nil
}

// publishCheckpoint signs and stores a checkpoint of the tree at the head, when it is
// larger than the last one this process published.
func (s *Store) publishCheckpoint(ctx context.Context) error {
	var published *AuditCheckpoint
	_, err := transact(ctx, s, TxWrite, func(tx neo4j.ManagedTransaction) (struct{}, error) {
		published = nil
		held, err := s.takeLease(ctx, tx)
		if err != nil {
			return struct{}{}, err
		}
		if held == 0 {
			return struct{}{}, errLeaseLost
		}
		head, root, err := s.treeHead(ctx, tx)
		if err != nil || head.TreeSize == 0 {
			return struct{}{}, err
		}
		last, err := latestCheckpointTx(ctx, tx, s.auditChain)
		if err != nil || (last != nil && last.Size >= head.TreeSize) {
			return struct{}{}, err
		}
		c, err := s.auditKey.SignCheckpoint(AuditCheckpoint{Origin: auditOrigin(s.auditChain), Size: head.TreeSize, Root: root, At: time.Now().UTC()})
		if err != nil {
			return struct{}{}, err
		}
		_, err = collect(ctx, tx, cypherCheckpointCreate, map[string]any{
			"chain": s.auditChain, "size": c.Size, "root": c.Root.String(), "at": c.At, "note": c.Note,
		})
		published = &c
		return struct{}{}, err
	})
	if err == nil && published != nil {
		s.sequencer.lastCP = time.Now()
		s.auditObserved().CheckpointPublished(published.Size, published.At)
	}
	return err
}

// cypherAuditWork says whether the chain has work for its sequencer: pending writes,
// numbered entries not in the tree yet, or a tree larger than its last checkpoint.
const cypherAuditWork = `
OPTIONAL MATCH (h:` + LabelAuditHead + ` {chain: $chain})
RETURN EXISTS { MATCH (p:` + LabelAuditPending + `) WHERE p.chain = $chain } AS pending,
       coalesce(h.seq, 0) AS seq, coalesce(h.treeSize, 0) AS treeSize,
       COUNT { MATCH (c:` + LabelAuditCheckpoint + `) WHERE c.chain = $chain AND c.size >= coalesce(h.treeSize, 0) } > 0 AS checkpointed`

// sequenceAll sequences everything pending under the lease, in batches, then
// publishes a checkpoint when one is due (always, with force). busy says the last
// turn found work: the next goes straight to sequencing, without first asking
// whether there is any.
func (s *Store) sequenceAll(ctx context.Context, force, busy bool) (int, error) {
	more, checkpointed := true, false
	if !busy {
		work, err := readOne(ctx, s, cypherAuditWork, map[string]any{"chain": s.auditChain}, func(recs []*neo4j.Record) (map[string]any, error) {
			if len(recs) != 1 {
				return nil, fmt.Errorf("audit sequencer: %d answers about the chain's work", len(recs))
			}
			return recs[0].AsMap(), nil
		})
		if err != nil {
			return 0, err
		}
		pending, _ := work["pending"].(bool)
		seq, _ := work["seq"].(int64)
		treeSize, _ := work["treeSize"].(int64)
		checkpointed, _ = work["checkpointed"].(bool)
		more = pending || treeSize < seq
	}
	total := 0
	for more {
		start := time.Now()
		done, err := s.sequenceBatch(ctx, force || time.Since(s.sequencer.lastCP) >= AuditCheckpointEvery)
		if err != nil {
			return total, err
		}
		total += done.Entries
		more = done.More
		if done.Entries > 0 {
			s.auditObserved().EntriesSequenced(time.Since(start), done.Lags)
		}
		if done.Checkpoint != nil {
			s.sequencer.lastCP = time.Now()
			s.auditObserved().CheckpointPublished(done.Checkpoint.Size, done.Checkpoint.At)
			if !more {
				return total, nil // the checkpoint covers everything sequenced
			}
		}
	}
	if total == 0 && checkpointed {
		return 0, nil
	}
	if !force && time.Since(s.sequencer.lastCP) < AuditCheckpointEvery {
		return total, nil
	}
	return total, s.publishCheckpoint(ctx)
}

// sequenceFor runs SequenceAudit for a read that waits on the log: in a context of its
// own, without the request's values (its TxObserver counts the request's transactions,
// and sequencing is work for the log, not for the request), ending with the request's.
func (s *Store) sequenceFor(ctx context.Context) (bool, error) {
	own, cancel := context.WithCancel(context.Background())
	defer cancel()
	if deadline, ok := ctx.Deadline(); ok {
		var stop context.CancelFunc
		own, stop = context.WithDeadline(own, deadline)
		defer stop()
	}
	defer context.AfterFunc(ctx, cancel)()
	return s.SequenceAudit(own)
}

// SequenceAudit sequences every pending entry of the chain now and publishes a
// checkpoint, when this process can take the lease; when another live process holds
// it, that one does the work and SequenceAudit returns false. The CLI and tests use
// it; `provgraph serve` runs RunAuditSequencer instead.
func (s *Store) SequenceAudit(ctx context.Context) (bool, error) {
	if !s.auditKey.canSign() {
		return false, errors.New("audit sequencer: no checkpoint key is configured")
	}
	s.sequencer.mu.Lock()
	defer s.sequencer.mu.Unlock()
	epoch, err := s.acquireLease(ctx)
	if err != nil || epoch == 0 {
		return false, err
	}
	s.sequencer.epoch = epoch
	_, err = s.sequenceAll(ctx, true, false)
	if !s.sequencer.running {
		err = errors.Join(err, s.releaseLease(ctx))
	}
	return true, err
}

// RunAuditSequencer takes part in sequencing the chain until ctx ends or the store
// closes: it takes the
// lease when it is free or expired, then sequences pending writes as they come (at
// once for this process's, within auditPollEvery for other processes'), renews the
// lease, and publishes checkpoints. On return it releases the lease.
func (s *Store) RunAuditSequencer(ctx context.Context) error {
	if !s.auditKey.canSign() {
		return errors.New("audit sequencer: no checkpoint key is configured")
	}
	q := s.sequencer
	q.mu.Lock()
	if q.running {
		q.mu.Unlock()
		return errors.New("audit sequencer: already running in this process")
	}
	q.running, q.exited = true, make(chan struct{})
	q.mu.Unlock()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-q.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	defer func() {
		q.mu.Lock()
		defer q.mu.Unlock()
		defer close(q.exited)
		q.running = false
		rel, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = s.releaseLease(rel)
	}()
	tick := time.NewTicker(auditPollEvery)
	defer tick.Stop()
	var renewed time.Time
	n := 0
	for ctx.Err() == nil {
		var err error
		n, err = s.sequencerStep(ctx, &renewed, n > 0)
		if err != nil && ctx.Err() == nil {
			s.logSequencer(err)
		}
		if n > 0 {
			// Let writes gather: a turn costs a few statements whether it sequences one
			// write or a thousand, and under load the next turn takes them all at once.
			select {
			case <-ctx.Done():
			case <-time.After(auditRoundEvery):
			}
			continue
		}
		select {
		case <-ctx.Done():
		case <-q.wake:
		case <-tick.C:
		}
	}
	return nil
}

// sequencerStep is one turn of RunAuditSequencer; it returns how many entries it
// sequenced. busy says the last turn sequenced some.
func (s *Store) sequencerStep(ctx context.Context, renewed *time.Time, busy bool) (int, error) {
	q := s.sequencer
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.epoch == 0 || time.Since(*renewed) > AuditLeaseTTL/3 {
		epoch, err := s.acquireLease(ctx)
		if err != nil {
			q.epoch = 0
			return 0, err
		}
		q.epoch, *renewed = epoch, time.Now()
	}
	if q.epoch == 0 {
		return 0, nil
	}
	force := q.cpSoon
	q.cpSoon = false
	n, err := s.sequenceAll(ctx, force, busy)
	switch {
	case errors.Is(err, errLeaseLost):
		q.epoch = 0
	case err == nil && n > 0:
		*renewed = time.Now() // every sequencing transaction renews the lease
	}
	return n, err
}

// logSequencer logs a failed sequencer turn: a lost lease at debug level, and the
// same failure again (an outage of Neo4j) at most once in sequencerLogEvery.
func (s *Store) logSequencer(err error) {
	if s.log == nil {
		return
	}
	if errors.Is(err, errLeaseLost) {
		s.log.Debug().Err(err).Str("chain", s.auditChain).Msg("audit sequencer")
		return
	}
	q := s.sequencer
	if msg := err.Error(); msg != q.lastErr || time.Since(q.lastErrAt) >= sequencerLogEvery {
		q.lastErr, q.lastErrAt = msg, time.Now()
		s.log.Warn().Err(err).Str("chain", s.auditChain).Msg("audit sequencer: a turn failed; it tries again")
	}
}

// sequencerLogEvery is how often the sequencer logs a failure that repeats.
const sequencerLogEvery = 30 * time.Second

// cypherPendingBefore counts the chain's pending writes recorded at or before $at.
const cypherPendingBefore = `
MATCH (p:` + LabelAuditPending + `)
WHERE p.chain = $chain AND p.at <= $at
RETURN count(p) AS n`

// awaitSequenced waits until every write recorded before it was called is in the log,
// sequencing them itself when no process holds the lease, so that a read of the log
// sees the writes before it. It gives up with UNAVAILABLE after auditAwaitLimit.
func (s *Store) awaitSequenced(ctx context.Context) error {
	at := time.Now().UTC()
	var n int64
	return s.awaitAudit(ctx, func() (bool, error) {
		var err error
		n, err = readOne(ctx, s, cypherPendingBefore, map[string]any{"chain": s.auditChain, "at": at}, func(recs []*neo4j.Record) (int64, error) {
			if len(recs) != 1 {
				return 0, nil
			}
			v, _ := recs[0].Get("n")
			n, _ := v.(int64)
			return n, nil
		})
		return n == 0, err
	}, s.sequencer.kick, func() error {
		return apperr.New(apperr.Unavailable, "", "%d audit entries written before this request are not sequenced yet; "+
			"the log's sequencer runs in provgraph serve", n)
	})
}

// awaitAudit waits until done reports true, auditAwaitLimit at most. Meanwhile it
// nudges this process's running sequencer, or sequences the log itself when it has
// the key and no other process holds the lease; when no process sequences the log at
// all, it stops waiting and the caller reads the log as it stands. It gives up with the
// error late makes.
func (s *Store) awaitAudit(ctx context.Context, done func() (bool, error), nudge func(), late func() error) error {
	deadline := time.Now().Add(auditAwaitLimit)
	for {
		ok, err := done()
		if err != nil || ok {
			return err
		}
		if s.sequencerRunning() {
			nudge()
		} else if s.auditKey.canSign() {
			did, err := s.sequenceFor(ctx)
			if err != nil {
				return err
			}
			if did {
				continue
			}
		} else if live, err := s.sequencerAlive(ctx); err != nil || !live {
			return err
		}
		if time.Now().After(deadline) {
			return late()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// cypherLeaseAlive says whether some process holds the chain's lease.
const cypherLeaseAlive = `
MATCH (l:` + LabelAuditSequencer + ` {chain: $chain})
RETURN l.holder IS NOT NULL AND l.expires > datetime.realtime() AS alive`

// sequencerAlive reports whether some process holds the chain's sequencer lease.
func (s *Store) sequencerAlive(ctx context.Context) (bool, error) {
	return readOne(ctx, s, cypherLeaseAlive, map[string]any{"chain": s.auditChain}, func(recs []*neo4j.Record) (bool, error) {
		if len(recs) == 0 {
			return false, nil
		}
		alive, _ := recs[0].AsMap()["alive"].(bool)
		return alive, nil
	})
}

// AwaitAuditSequenced waits until the writes made before the call are in the audit
// log, as reads of the log do (auditAwaitLimit at most), sequencing them itself when
// this store has the key and no process holds the lease.
func (s *Store) AwaitAuditSequenced(ctx context.Context) error {
	return s.awaitSequenced(ctx)
}

func (s *Store) sequencerRunning() bool {
	s.sequencer.mu.Lock()
	defer s.sequencer.mu.Unlock()
	return s.sequencer.running
}

// auditTreeMigration makes room for the transparency log: one lease per chain, one
// checkpoint per tree size of a chain (so no two checkpoints of a size can differ),
// and pending writes found by chain in time order. Entries numbered before it become
// the tree's first leaves when a sequencer first runs (integrateEntries).
var auditTreeMigration = Migration{
	Version:     12,
	Description: "audit log as a Merkle tree: sequencer lease, checkpoints, pending writes",
	Statements: []string{
		`CREATE CONSTRAINT audit_sequencer_chain IF NOT EXISTS
		 FOR (l:` + LabelAuditSequencer + `) REQUIRE l.chain IS UNIQUE`,
		`CREATE CONSTRAINT audit_checkpoint_size IF NOT EXISTS
		 FOR (c:` + LabelAuditCheckpoint + `) REQUIRE (c.chain, c.size) IS UNIQUE`,
		`CREATE INDEX audit_pending_at IF NOT EXISTS
		 FOR (p:` + LabelAuditPending + `) ON (p.chain, p.at)`,
	},
	Indexes: []string{"audit_sequencer_chain", "audit_checkpoint_size", "audit_pending_at"},
}
