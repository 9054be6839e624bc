package store

import (
	"context"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
)

// WriteTx exposes write to the external tests, which need a transaction of their own
// to provoke what only concurrent transactions can (a deadlock the driver retries).
func WriteTx[T any](ctx context.Context, s *Store, work func(tx neo4j.ManagedTransaction) (T, error)) (T, error) {
	return write(ctx, s, work)
}
