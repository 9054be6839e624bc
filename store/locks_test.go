package store_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/internal/neo4jtest"
	"github.com/provgraph/provgraph/metrics"
	"github.com/provgraph/provgraph/store"
)

// ownStore opens a store of the test's own on the test Neo4j (schema applied): its
// transactions carry an instance of their own, so RunningTransactions lists only the
// test's, whatever other tests run beside it.
func ownStore(t *testing.T) *store.Store {
	t.Helper()
	neo4jtest.Store(t) // migrated
	st, err := store.Open(neo4jtest.Config(t))
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close(context.Background()) })
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	require.NoError(t, st.WaitReachable(ctx, 500*time.Millisecond))
	return st
}

// Two write transactions contend for one node's lock: while the second waits,
// RunningTransactions says it is blocked and has waited, and the server's lock-wait
// series, sampled from it, grow; the first lets go only once they have. Then both
// commit and nothing of the store's is blocked.
func TestLockWaitIsSampledWhileTransactionsContend(t *testing.T) {
	t.Parallel()
	st := ownStore(t)
	ctx := t.Context()
	key := neo4jtest.Token(t) + "-lock"
	exec := func(ctx context.Context, tx neo4j.ManagedTransaction, cypher string, params map[string]any) error {
		res, err := tx.Run(ctx, cypher, params)
		if err == nil {
			_, err = res.Consume(ctx)
		}
		return err
	}
	_, err := store.WriteTx(ctx, st, func(tx neo4j.ManagedTransaction) (struct{}, error) {
		return struct{}{}, exec(ctx, tx, probeCreate, map[string]any{"key": key})
	})
	require.NoError(t, err)
	t.Cleanup(func() {
		_, _ = store.WriteTx(context.Background(), st, func(tx neo4j.ManagedTransaction) (struct{}, error) {
			return struct{}{}, exec(context.Background(), tx, probeDelete, map[string]any{"prefix": key})
		})
	})

	m := metrics.New()
	sampleCtx, stopSampling := context.WithCancel(ctx)
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		m.SampleLockWaits(sampleCtx, 50*time.Millisecond, st.RunningTransactions)
	}()
	t.Cleanup(func() { stopSampling(); <-sampled })

	locked, release := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	var holderErr, waiterErr error
	wg.Go(func() {
		_, holderErr = store.WriteTx(ctx, st, func(tx neo4j.ManagedTransaction) (struct{}, error) {
			if err := exec(ctx, tx, probeLock, map[string]any{"key": key, "by": "holder"}); err != nil {
				return struct{}{}, err
			}
			close(locked)
			<-release
			return struct{}{}, nil
		})
	})
	<-locked
	wg.Go(func() {
		_, waiterErr = store.WriteTx(ctx, st, func(tx neo4j.ManagedTransaction) (struct{}, error) {
			return struct{}{}, exec(ctx, tx, probeLock, map[string]any{"key": key, "by": "waiter"})
		})
	})
	released := false
	t.Cleanup(func() {
		if !released {
			close(release)
		}
		wg.Wait()
	})

	var seen store.RunningTx
	require.Eventually(t, func() bool {
		txs, err := st.RunningTransactions(ctx)
		require.NoError(t, err)
		for _, tx := range txs {
			if tx.Blocked {
				seen = tx
				return tx.LockWait > 0
			}
		}
		return false
	}, 30*time.Second, 20*time.Millisecond, "the second transaction is never seen blocked")
	assert.Equal(t, store.TxWrite, seen.Mode)

	require.Eventually(t, func() bool {
		return counterValue(t, m, "provgraph_neo4j_lock_wait_seconds_total", "write") > 0 &&
			counterValue(t, m, "provgraph_neo4j_transactions_blocked", "write") >= 1
	}, 30*time.Second, 20*time.Millisecond, "the lock-wait series never grow")
	assert.Zero(t, counterValue(t, m, "provgraph_neo4j_lock_wait_seconds_total", "read"), "no read transaction waited")

	close(release)
	released = true
	wg.Wait()
	require.NoError(t, holderErr)
	require.NoError(t, waiterErr)
	stopSampling() // its own transactions would be listed too
	<-sampled
	// A sample cut off by its timeout or by the stop leaves Neo4j a transaction whose
	// client has gone, listed until Neo4j has closed it; the holder and the waiter
	// have committed, so once that is done only the transaction asking runs.
	var txs []store.RunningTx
	require.Eventually(t, func() bool {
		txs, err = st.RunningTransactions(ctx)
		require.NoError(t, err)
		return len(txs) == 1
	}, 30*time.Second, 50*time.Millisecond, "only the transaction asking runs: %+v", &txs)
	assert.Equal(t, store.RunningTx{Mode: store.TxWrite}, txs[0])
}

// counterValue is the value of the counter or gauge name of the metrics whose label
// mode is mode, as /metrics serves it; -1 when there is no such series.
func counterValue(t *testing.T, m *metrics.Metrics, name, mode string) float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(rec.Body)
	require.NoError(t, err)
	for _, s := range families[name].GetMetric() {
		for _, l := range s.GetLabel() {
			if l.GetName() == "mode" && l.GetValue() == mode {
				if s.GetCounter() != nil {
					return s.GetCounter().GetValue()
				}
				return s.GetGauge().GetValue()
			}
		}
	}
	return -1
}
