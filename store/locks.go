package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
)

// Every store transaction carries metadata naming this process and the transaction's
// mode (neo4j.WithTxMetadata), so that Neo4j's SHOW TRANSACTIONS and query log say
// whose it is, and RunningTransactions can tell this process's transactions apart
// from those of other replicas sharing the database.
const (
	txMetaInstance = "provgraphInstance"
	txMetaMode     = "provgraphMode"
)

// newInstanceID names one Store for its transactions' metadata: random, so that two
// processes (or two stores in one test process) never share it.
func newInstanceID() (string, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("instance id: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// txMetadata returns the transaction configuration that tags a transaction of mode
// with this store's metadata.
func (s *Store) txMetadata(mode TxMode) func(*neo4j.TransactionConfig) {
	if mode == TxRead {
		return s.txMeta[0]
	}
	return s.txMeta[1]
}

// txMetadataOf is the transaction configuration of a store named instance for read
// (0) and write (1) transactions, made once: the driver only reads the maps.
func txMetadataOf(instance string) [2]func(*neo4j.TransactionConfig) {
	var meta [2]func(*neo4j.TransactionConfig)
	for i, mode := range []TxMode{TxRead, TxWrite} {
		meta[i] = neo4j.WithTxMetadata(map[string]any{txMetaInstance: instance, txMetaMode: string(mode)})
	}
	return meta
}

// RunningTx is one of this store's transactions that Neo4j is running now.
type RunningTx struct {
	// Mode is the transaction's mode.
	Mode TxMode
	// Blocked says that it is waiting for a lock another transaction holds (Neo4j's
	// status "Blocked by: [...]").
	Blocked bool
	// LockWait is the time it has spent waiting for locks so far, the wait it is in
	// included (Neo4j's waitTime).
	LockWait time.Duration
}

// showOwnTransactions lists the transactions of one store (by the instance in their
// metadata) that the Neo4j server answering runs. It costs Neo4j a walk over its
// running transactions, no reads of the graph.
const showOwnTransactions = `
SHOW TRANSACTIONS YIELD metaData, status, waitTime
WHERE metaData.` + txMetaInstance + ` = $instance
RETURN metaData.` + txMetaMode + ` AS mode, status STARTS WITH 'Blocked' AS blocked, waitTime`

// RunningTransactions is what Neo4j says of this store's transactions running now,
// for sampling lock waits (see docs/operations.md). It asks the server that takes
// writes — on a cluster the leader, where the write transactions, the ones that take
// locks, run — in a transaction of its own, which is among those listed. Neo4j lists
// the transactions of the user provgraph connects as to anyone; other users' need
// the SHOW TRANSACTION privilege, and this store's are all its own.
func (s *Store) RunningTransactions(ctx context.Context) ([]RunningTx, error) {
	return transact(ctx, s, TxWrite, func(tx neo4j.ManagedTransaction) ([]RunningTx, error) {
		recs, err := collect(ctx, tx, showOwnTransactions, map[string]any{"instance": s.instance})
		if err != nil {
			return nil, fmt.Errorf("show transactions: %w", err)
		}
		txs := make([]RunningTx, 0, len(recs))
		for _, rec := range recs {
			mode, _, _ := neo4j.GetRecordValue[string](rec, "mode")
			blocked, _, _ := neo4j.GetRecordValue[bool](rec, "blocked")
			wait, _, err := neo4j.GetRecordValue[neo4j.Duration](rec, "waitTime")
			if err != nil {
				return nil, fmt.Errorf("show transactions: waitTime: %w", err)
			}
			txs = append(txs, RunningTx{Mode: TxMode(mode), Blocked: blocked, LockWait: durationOf(wait)})
		}
		return txs, nil
	})
}

// durationOf is a Neo4j duration of seconds and nanoseconds (no months or days, as
// waitTime is) as a time.Duration.
func durationOf(d neo4j.Duration) time.Duration {
	return time.Duration(d.Seconds)*time.Second + time.Duration(d.Nanos)
}
