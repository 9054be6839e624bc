package store

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/provgraph/provgraph/apperr"
)

const (
	cypherTreeHead = `
MATCH (h:` + LabelAuditHead + ` {chain: $chain})
RETURN h.seq AS seq, h.hash AS hash, coalesce(h.treeSize, 0) AS treeSize, h.root AS root`
	// checkpointColumns returns checkpoints c.
	checkpointColumns = `
RETURN c.size AS size, c.note AS note`
	cypherCheckpointLatest = `
MATCH (c:` + LabelAuditCheckpoint + `)
USING INDEX c:` + LabelAuditCheckpoint + `(chain, size)
WHERE c.chain = $chain AND c.size >= 0` + checkpointColumns + `
ORDER BY c.chain DESC, c.size DESC
LIMIT 1`
	cypherCheckpointOfSize = `
MATCH (c:` + LabelAuditCheckpoint + ` {chain: $chain, size: $size})` + checkpointColumns
	cypherCheckpointsBetween = `
MATCH (c:` + LabelAuditCheckpoint + `)
USING INDEX c:` + LabelAuditCheckpoint + `(chain, size)
WHERE c.chain = $chain AND c.size >= $from AND c.size <= $to
RETURN c.size AS size, c.root AS root, c.note AS note
ORDER BY c.chain, c.size`
)

// treeHead reads the chain's head and the root of its tree (zero for an empty tree).
func (s *Store) treeHead(ctx context.Context, tx neo4j.ManagedTransaction) (auditHead, tlog.Hash, error) {
	var head auditHead
	var root tlog.Hash
	recs, err := collect(ctx, tx, cypherTreeHead, map[string]any{"chain": s.auditChain})
	if err != nil || len(recs) == 0 {
		return head, root, err
	}
	m := recs[0].AsMap()
	head.Seq, _ = m["seq"].(int64)
	head.Hash, _ = m["hash"].(string)
	head.TreeSize, _ = m["treeSize"].(int64)
	if r, _ := m["root"].(string); r != "" {
		if root, err = tlog.ParseHash(r); err != nil {
			return head, root, fmt.Errorf("audit head's root hash: %w", err)
		}
	}
	return head, root, nil
}

// checkpointOf reads a stored checkpoint from its note, without checking the signature.
func checkpointOf(r *neo4j.Record) (AuditCheckpoint, error) {
	signed, _ := r.AsMap()["note"].(string)
	c, err := ParseAuditCheckpoint(signed)
	c.Note = signed
	return c, err
}

// latestCheckpointTx is the chain's largest checkpoint, nil when there is none.
func latestCheckpointTx(ctx context.Context, tx neo4j.ManagedTransaction, chain string) (*AuditCheckpoint, error) {
	recs, err := collect(ctx, tx, cypherCheckpointLatest, map[string]any{"chain": chain})
	if err != nil || len(recs) == 0 {
		return nil, err
	}
	c, err := checkpointOf(recs[0])
	return &c, err
}

// checkpointTx is the chain's checkpoint of tree size size, or the latest when size is
// nil; NOT_FOUND when there is none.
func checkpointTx(ctx context.Context, tx neo4j.ManagedTransaction, chain string, field string, size *int64) (AuditCheckpoint, error) {
	if size == nil {
		c, err := latestCheckpointTx(ctx, tx, chain)
		if err != nil {
			return AuditCheckpoint{}, err
		}
		if c == nil {
			return AuditCheckpoint{}, apperr.Missing(field, "the audit log has no checkpoint yet")
		}
		return *c, nil
	}
	recs, err := collect(ctx, tx, cypherCheckpointOfSize, map[string]any{"chain": chain, "size": *size})
	if err != nil {
		return AuditCheckpoint{}, err
	}
	if len(recs) == 0 {
		return AuditCheckpoint{}, apperr.Missing(field, "no checkpoint of tree size %d was published", *size)
	}
	return checkpointOf(recs[0])
}

// LatestAuditCheckpoint returns the chain's latest signed checkpoint, after the writes
// made before the call are in it; nil when the log is empty.
func (s *Store) LatestAuditCheckpoint(ctx context.Context) (*AuditCheckpoint, error) {
	if err := s.awaitCheckpointed(ctx); err != nil {
		return nil, err
	}
	return read(ctx, s, func(tx neo4j.ManagedTransaction) (*AuditCheckpoint, error) {
		return latestCheckpointTx(ctx, tx, s.auditChain)
	})
}

// AuditVerifierKey is the verifier key of the key that signs this store's
// checkpoints, "" when it has none.
func (s *Store) AuditVerifierKey() string {
	if s.auditKey == nil {
		return ""
	}
	return s.auditKey.Verifier
}

// AuditInclusionProof proves that an entry is in the tree of a checkpoint.
type AuditInclusionProof struct {
	// Entry is the entry's seq; it is the tree's record Entry-1.
	Entry int64
	// LeafHash is the RFC 6962 leaf hash of the entry's canonical form.
	LeafHash   tlog.Hash
	Checkpoint AuditCheckpoint
	Proof      tlog.RecordProof
}

// AuditInclusionProofOf proves that entry is in the tree of the checkpoint of size
// treeSize (the latest when nil).
func (s *Store) AuditInclusionProofOf(ctx context.Context, entry int64, treeSize *int64) (AuditInclusionProof, error) {
	if entry < 1 {
		return AuditInclusionProof{}, apperr.Invalid("entry", "must be at least 1, got %d", entry)
	}
	proofs, err := s.AuditInclusionProofsOf(ctx, []int64{entry}, treeSize)
	if err != nil {
		return AuditInclusionProof{}, err
	}
	return proofs[0], nil
}

// MaxAuditInclusionProofs caps the entries one AuditInclusionProofsOf call proves.
const MaxAuditInclusionProofs = 10_000

// AuditInclusionProofsOf proves that each of entries is in the tree of the checkpoint
// of size treeSize (the latest when nil), all against that one checkpoint. It reads
// the hashes every proof needs in one statement: which stored hashes a proof needs
// depends on the tree's size and the entry alone, so they are found first, then read.
func (s *Store) AuditInclusionProofsOf(ctx context.Context, entries []int64, treeSize *int64) ([]AuditInclusionProof, error) {
	if len(entries) > MaxAuditInclusionProofs {
		return nil, apperr.Invalid("entries", "proves at most %d entries per call, got %d", MaxAuditInclusionProofs, len(entries))
	}
	for _, e := range entries {
		if e < 1 {
			return nil, apperr.Invalid("entry", "must be at least 1, got %d", e)
		}
	}
	if err := s.awaitCheckpointed(ctx); err != nil {
		return nil, err
	}
	return read(ctx, s, func(tx neo4j.ManagedTransaction) ([]AuditInclusionProof, error) {
		c, err := checkpointTx(ctx, tx, s.auditChain, "treeSize", treeSize)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if e > c.Size {
				return nil, apperr.Missing("entry", "entry %d is not in the checkpoint of tree size %d", e, c.Size)
			}
		}
		// First pass: which hashes the proofs read (answered with zeros); then one read.
		needed := map[int64]bool{}
		noting := tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
			for _, x := range indexes {
				needed[x] = true
			}
			return make([]tlog.Hash, len(indexes)), nil
		})
		for _, e := range entries {
			needed[tlog.StoredHashIndex(0, e-1)] = true
			if _, err := tlog.ProveRecord(c.Size, e-1, noting); err != nil {
				return nil, fmt.Errorf("prove audit entry %d in tree %d: %w", e, c.Size, err)
			}
		}
		indexes := slices.Sorted(maps.Keys(needed))
		hashes, err := readStoredHashes(ctx, tx, s.auditChain, indexes)
		if err != nil {
			return nil, err
		}
		known := make(hashMap, len(indexes))
		for i, x := range indexes {
			known[x] = hashes[i]
		}
		proofs := make([]AuditInclusionProof, len(entries))
		for i, e := range entries {
			proof, err := tlog.ProveRecord(c.Size, e-1, known)
			if err != nil {
				return nil, fmt.Errorf("prove audit entry %d in tree %d: %w", e, c.Size, err)
			}
			proofs[i] = AuditInclusionProof{Entry: e, LeafHash: known[tlog.StoredHashIndex(0, e-1)], Checkpoint: c, Proof: proof}
		}
		return proofs, nil
	})
}

// AuditConsistencyProof proves that the tree of a checkpoint extends the tree of an
// earlier size: the log only grew between them.
type AuditConsistencyProof struct {
	From     int64
	FromRoot tlog.Hash
	// Checkpoint is the later checkpoint, of size To.
	Checkpoint AuditCheckpoint
	Proof      tlog.TreeProof
}

// AuditConsistencyProofOf proves that the tree of the checkpoint of size to (the
// latest when nil) extends the tree of size from.
func (s *Store) AuditConsistencyProofOf(ctx context.Context, from int64, to *int64) (AuditConsistencyProof, error) {
	if from < 1 {
		return AuditConsistencyProof{}, apperr.Invalid("from", "must be a tree size of at least 1, got %d", from)
	}
	if err := s.awaitCheckpointed(ctx); err != nil {
		return AuditConsistencyProof{}, err
	}
	return read(ctx, s, func(tx neo4j.ManagedTransaction) (AuditConsistencyProof, error) {
		c, err := checkpointTx(ctx, tx, s.auditChain, "to", to)
		if err != nil {
			return AuditConsistencyProof{}, err
		}
		if from > c.Size {
			return AuditConsistencyProof{}, apperr.Invalid("from", "must not exceed the later tree's size %d, got %d", c.Size, from)
		}
		hr := txHashReader(ctx, tx, s.auditChain)
		fromRoot, err := tlog.TreeHash(from, hr)
		if err != nil {
			return AuditConsistencyProof{}, fmt.Errorf("hash audit tree %d: %w", from, err)
		}
		proof, err := tlog.ProveTree(c.Size, from, hr)
		if err != nil {
			return AuditConsistencyProof{}, fmt.Errorf("prove audit tree %d extends %d: %w", c.Size, from, err)
		}
		return AuditConsistencyProof{From: from, FromRoot: fromRoot, Checkpoint: c, Proof: proof}, nil
	})
}

// awaitCheckpointed waits until the writes made before the call are sequenced and in
// a published checkpoint (auditAwaitLimit at most), so a proof or checkpoint asked for
// right after a write covers it.
func (s *Store) awaitCheckpointed(ctx context.Context) error {
	if err := s.awaitSequenced(ctx); err != nil {
		return err
	}
	return s.awaitAudit(ctx, func() (bool, error) {
		return readOne(ctx, s, cypherAuditWork, map[string]any{"chain": s.auditChain}, func(recs []*neo4j.Record) (bool, error) {
			if len(recs) != 1 {
				return false, nil
			}
			treeSize, _ := recs[0].AsMap()["treeSize"].(int64)
			done, _ := recs[0].AsMap()["checkpointed"].(bool)
			return done || treeSize == 0, nil
		})
	}, s.sequencer.checkpointSoon, func() error {
		return apperr.New(apperr.Unavailable, "", "the audit log's latest entries are not in a checkpoint yet; retry shortly")
	})
}
