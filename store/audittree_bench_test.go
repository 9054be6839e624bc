package store

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkAuditEntryInTree is the CPU cost per entry of verifying the log, without
// Neo4j: the entry's canonical form, its chain hash, and its place in the tree.
func BenchmarkAuditEntryInTree(b *testing.B) {
	tree := &treeBuilder{hashes: hashMap{}}
	prev := GenesisHash
	at := time.Date(2026, 3, 14, 9, 30, 0, 0, time.UTC)
	b.ReportAllocs()
	for i := range b.N {
		e := AuditLogEntry{Seq: int64(i + 1), At: at, Actor: "token:bench", Action: ActionRunLog,
			Targets: []string{fmt.Sprintf("run:bench-audit-%d", i/10)}, TargetCount: 1, PrevHash: prev}
		if _, err := tree.add(e.sealed()); err != nil {
			b.Fatal(err)
		}
		prev = e.Hash
	}
}
