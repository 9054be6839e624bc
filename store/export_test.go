package store

import (
	"context"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
)

// WriteTx exposes write to the external tests, which need a transaction of their own
// to provoke what only concurrent transactions can (a deadlock the driver retries).
// Its entries are audited as action "test.write" by actor "test".
func WriteTx[T any](ctx context.Context, s *Store, work func(tx neo4j.ManagedTransaction) (T, error)) (T, error) {
	return write(ctx, s, "test", "test.write", func(tx neo4j.ManagedTransaction, _ *audit) (T, error) { return work(tx) })
}
