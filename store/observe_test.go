package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/apperr"
	"github.com/provgraph/provgraph/internal/neo4jtest"
	"github.com/provgraph/provgraph/store"
)

// txRecorder is a TxObserver that remembers what it was told.
type txRecorder struct {
	mu                       sync.Mutex
	started, begun, retried  map[store.TxMode]int
	causes                   []error
	done                     []error
	beginWaits, doneDuration []time.Duration
}

func newTxRecorder() *txRecorder {
	return &txRecorder{started: map[store.TxMode]int{}, begun: map[store.TxMode]int{}, retried: map[store.TxMode]int{}}
}

func (r *txRecorder) TxStarted(mode store.TxMode) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.started[mode]++
}

func (r *txRecorder) TxBegun(mode store.TxMode, wait time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.begun[mode]++
	r.beginWaits = append(r.beginWaits, wait)
}

func (r *txRecorder) TxRetried(mode store.TxMode, cause error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.retried[mode]++
	r.causes = append(r.causes, cause)
}

func (r *txRecorder) WriteSlotAsked()               {}
func (r *txRecorder) WriteSlotWaited(time.Duration) {}

func (r *txRecorder) TxDone(mode store.TxMode, d time.Duration, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.done = append(r.done, err)
	r.doneDuration = append(r.doneDuration, d)
}

// Cypher of this test only: a node outside the provenance graph (no Node label) that
// a transaction locks by writing to it.
const (
	probeCreate = "CREATE (:DeadlockProbe {key: $key})"
	probeLock   = "MATCH (p:DeadlockProbe {key: $key}) SET p.lockedBy = $by"
	probeRead   = "MATCH (p:DeadlockProbe {key: $key}) RETURN p.lockedBy AS by"
	probeDelete = "MATCH (p:DeadlockProbe) WHERE p.key STARTS WITH $prefix DETACH DELETE p"
)

// Two write transactions that lock two nodes in opposite orders deadlock; Neo4j fails
// one of them with a transient DeadlockDetected, the driver runs its work again, and
// the context's observer hears exactly one retry. Both calls then succeed, and the
// retried transaction, which committed last, wrote both nodes.
func TestTxObserverCountsDeadlockRetry(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	tk := neo4jtest.Token(t)
	keyA, keyB := tk+"-a", tk+"-b"
	ctx := t.Context()
	exec := func(ctx context.Context, cypher string, params map[string]any) {
		t.Helper()
		_, err := store.WriteTx(ctx, st, func(tx neo4j.ManagedTransaction) (any, error) {
			res, err := tx.Run(ctx, cypher, params)
			if err != nil {
				return nil, err
			}
			return res.Consume(ctx)
		})
		require.NoError(t, err)
	}
	exec(ctx, probeCreate, map[string]any{"key": keyA})
	exec(ctx, probeCreate, map[string]any{"key": keyB})
	t.Cleanup(func() { exec(context.Background(), probeDelete, map[string]any{"prefix": tk}) })

	rec := newTxRecorder()
	octx := store.WithTxObserver(ctx, rec)
	lock := func(tx neo4j.ManagedTransaction, key, by string) error {
		res, err := tx.Run(octx, probeLock, map[string]any{"key": key, "by": by})
		if err == nil {
			_, err = res.Consume(octx)
		}
		return err
	}
	// Each transaction locks its first node, waits (on its first attempt only) until
	// the other holds its own first node, then locks the other's.
	lockedA, lockedB := make(chan struct{}), make(chan struct{})
	var attempts sync.Map
	lockBoth := func(by, first, second string, mine, theirs chan struct{}) func(tx neo4j.ManagedTransaction) (struct{}, error) {
		n := 0
		return func(tx neo4j.ManagedTransaction) (struct{}, error) {
			n++
			attempts.Store(by, n)
			if err := lock(tx, first, by); err != nil {
				return struct{}{}, err
			}
			if n == 1 {
				close(mine)
				select {
				case <-theirs:
				case <-time.After(30 * time.Second):
					return struct{}{}, errors.New("the other transaction never took its first lock")
				}
			}
			return struct{}{}, lock(tx, second, by)
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	wg.Go(func() { _, errs[0] = store.WriteTx(octx, st, lockBoth("one", keyA, keyB, lockedA, lockedB)) })
	wg.Go(func() { _, errs[1] = store.WriteTx(octx, st, lockBoth("two", keyB, keyA, lockedB, lockedA)) })
	wg.Wait()
	require.NoError(t, errs[0])
	require.NoError(t, errs[1])

	rec.mu.Lock()
	defer rec.mu.Unlock()
	assert.Equal(t, 1, rec.retried[store.TxWrite], "one deadlock victim, run again once")
	require.Len(t, rec.causes, 1)
	var nerr *neo4j.Neo4jError
	require.ErrorAs(t, rec.causes[0], &nerr, "the retry's cause is the victim's error")
	assert.Equal(t, "Neo.TransientError.Transaction.DeadlockDetected", nerr.Code)
	assert.Equal(t, 2, rec.started[store.TxWrite])
	assert.Equal(t, 2, rec.begun[store.TxWrite], "begun once per call, not per attempt")
	assert.Equal(t, []error{nil, nil}, rec.done)
	assert.Zero(t, rec.retried[store.TxRead])

	victim := ""
	attempts.Range(func(by, n any) bool {
		if n.(int) == 2 {
			victim = by.(string)
		}
		return true
	})
	require.NotEmpty(t, victim, "one transaction ran twice: %v", rec.retried)
	for _, key := range []string{keyA, keyB} {
		by, err := store.WriteTx(ctx, st, func(tx neo4j.ManagedTransaction) (any, error) {
			res, err := tx.Run(ctx, probeRead, map[string]any{"key": key})
			if err != nil {
				return nil, err
			}
			r, err := res.Single(ctx)
			if err != nil {
				return nil, err
			}
			v, _ := r.Get("by")
			return v, nil
		})
		require.NoError(t, err)
		assert.Equal(t, victim, by, "the retried transaction committed last and wrote %s", key)
	}
}

// A transaction whose work fails with a domain error is observed once, with that
// error, and not retried; calls on a context without an observer are not observed.
func TestTxObserverSeesFailedTransaction(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	rec := newTxRecorder()
	ctx := store.WithTxObserver(t.Context(), rec)
	_, err := store.WriteTx(ctx, st, func(tx neo4j.ManagedTransaction) (bool, error) {
		return false, apperr.Missing("key", "no such node")
	})
	require.Error(t, err)
	_, err = store.WriteTx(t.Context(), st, func(tx neo4j.ManagedTransaction) (bool, error) { return true, nil })
	require.NoError(t, err)

	rec.mu.Lock()
	defer rec.mu.Unlock()
	assert.Equal(t, 1, rec.started[store.TxWrite])
	assert.Equal(t, 1, rec.begun[store.TxWrite])
	assert.Zero(t, rec.retried[store.TxWrite])
	require.Len(t, rec.done, 1)
	assert.Equal(t, apperr.NotFound, apperr.CodeOf(rec.done[0]))
}
