package store

import (
	"context"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
)

// TxMode says whether a transaction reads or writes.
type TxMode string

// The transaction modes.
const (
	TxRead  TxMode = "read"
	TxWrite TxMode = "write"
)

// TxObserver is told about the transactions the store runs, so that the server can
// export transaction metrics without the store knowing about them. It travels in the
// context of a call, as net/http/httptrace hooks do (WithTxObserver); transactions on
// a context without one (migrations, the CLI) are not observed. Its methods run inline
// on the transaction's path: they must be quick and safe for concurrent use.
type TxObserver interface {
	// TxStarted is called when a store call asks the driver for a transaction. From
	// then until TxDone, the call holds a pooled Neo4j connection or waits for one.
	TxStarted(mode TxMode)
	// TxBegun is called when the transaction's work first runs, wait after TxStarted:
	// the time it took to get a connection from the driver's pool (or open one), to
	// route (on a cluster) and to begin the transaction. For a read of one statement
	// (an auto-commit transaction, readOne) it is called when Neo4j accepted the
	// statement, so wait also holds that round trip.
	TxBegun(mode TxMode, wait time.Duration)
	// TxRetried is called each time the work runs again (for a read of one statement:
	// the statement is accepted again) because the previous attempt failed
	// transiently (a deadlock, a leader switch, a lost connection). cause is the error
	// the previous attempt failed with, or nil when the work did not see the failure
	// (its commit failed). Attempts that failed before the work ran (no connection)
	// are not seen.
	TxRetried(mode TxMode, cause error)
	// TxDone is called when the call returns, d after TxStarted, with the error the
	// store returns (nil when the transaction committed).
	TxDone(mode TxMode, d time.Duration, err error)
	// WriteSlotAsked is called when a write asks for one of this process's write
	// slots (Config.MaxWriters), before TxStarted: from then until WriteSlotWaited it
	// waits for one, or is admitted at once.
	WriteSlotAsked()
	// WriteSlotWaited is called when that write was given a slot, or gave up waiting
	// because its context ended, wait after WriteSlotAsked.
	WriteSlotWaited(wait time.Duration)
}

type txObserverKey struct{}

// WithTxObserver returns a context whose store calls report their transactions to o.
func WithTxObserver(ctx context.Context, o TxObserver) context.Context {
	return context.WithValue(ctx, txObserverKey{}, o)
}

func txObserverFrom(ctx context.Context) TxObserver {
	o, _ := ctx.Value(txObserverKey{}).(TxObserver)
	return o
}

// observed wraps work so that obs hears when it first runs and when it is run again,
// and why. The driver runs the attempts of one transaction one after another, never
// at once.
func observed[T any](obs TxObserver, mode TxMode, start time.Time, work func(neo4j.ManagedTransaction) (T, error)) func(neo4j.ManagedTransaction) (T, error) {
	runs := 0
	var lastErr error
	return func(tx neo4j.ManagedTransaction) (T, error) {
		runs++
		if runs == 1 {
			obs.TxBegun(mode, time.Since(start))
		} else {
			obs.TxRetried(mode, lastErr)
		}
		res, err := work(tx)
		lastErr = err
		return res, err
	}
}
