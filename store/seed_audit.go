package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
)

// seedAuditBatch is how many synthetic entries SeedAuditLog writes per transaction.
const seedAuditBatch = 10_000

// SeedAuditLog fills the store's empty chain with n synthetic entries, sequenced as the
// sequencer would (chained, in the tree) but computed here and written in bulk, then
// publishes a checkpoint: a large log for benchmarks of verification and proofs. It
// holds the chain's lease while it writes.
func (s *Store) SeedAuditLog(ctx context.Context, n int, progress func(done int)) error {
	if !s.auditKey.canSign() {
		return errors.New("seed audit log: no checkpoint key is configured")
	}
	s.sequencer.mu.Lock()
	defer s.sequencer.mu.Unlock()
	epoch, err := s.acquireLease(ctx)
	if err != nil {
		return err
	}
	if epoch == 0 {
		return errors.New("seed audit log: another process sequences the chain")
	}
	s.sequencer.epoch = epoch
	defer func() { _ = s.releaseLease(context.WithoutCancel(ctx)) }()
	b := &treeBuilder{hashes: hashMap{}}
	head := auditHead{Hash: GenesisHash}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for head.Seq < int64(n) {
		rows := make([]map[string]any, 0, seedAuditBatch)
		for len(rows) < seedAuditBatch && head.Seq < int64(n) {
			e := AuditLogEntry{
				Seq: head.Seq + 1, At: base.Add(time.Duration(head.Seq) * time.Millisecond), Actor: "token:bench",
				Action: ActionRunLog, Targets: []string{fmt.Sprintf("run:bench-audit-%d", head.Seq/10)}, TargetCount: 1, PrevHash: head.Hash,
			}
			tree, err := b.add(e.sealed())
			if err != nil {
				return err
			}
			rows = append(rows, map[string]any{
				"seq": e.Seq, "at": e.At, "actor": e.Actor, "action": e.Action, "targets": e.Targets,
				"targetCount": e.TargetCount, "requestId": "", "prevHash": e.PrevHash, "hash": e.Hash, "tree": tree,
			})
			head.Seq, head.Hash = e.Seq, e.Hash
		}
		if err := s.seedAuditRows(ctx, rows, head, b); err != nil {
			return err
		}
		if progress != nil {
			progress(int(head.Seq))
		}
	}
	return s.publishCheckpoint(ctx)
}

// seedAuditRows writes one batch of SeedAuditLog under the lease and moves the head.
func (s *Store) seedAuditRows(ctx context.Context, rows []map[string]any, head auditHead, b *treeBuilder) error {
	root, err := b.root()
	if err != nil {
		return err
	}
	_, err = transact(ctx, s, TxWrite, func(tx neo4j.ManagedTransaction) (struct{}, error) {
		recs, err := collect(ctx, tx, cypherSequenceStart, map[string]any{
			"chain": s.auditChain, "me": s.sequencer.me, "ttl": AuditLeaseTTL.Milliseconds(), "genesis": GenesisHash, "limit": 0,
		})
		if err != nil {
			return struct{}{}, err
		}
		if len(recs) == 0 {
			return struct{}{}, errLeaseLost
		}
		if seq, _ := recs[0].AsMap()["seq"].(int64); seq != head.Seq-int64(len(rows)) {
			return struct{}{}, fmt.Errorf("seed audit log: the chain holds %d entries; seed only an empty chain", seq)
		}
		_, err = collect(ctx, tx, cypherSequenceFinish, map[string]any{
			"chain": s.auditChain, "entries": rows, "ids": []string{}, "checkpoints": []map[string]any{},
			"seq": head.Seq, "hash": head.Hash, "treeSize": b.size, "root": root.String(),
		})
		return struct{}{}, err
	})
	return err
}
