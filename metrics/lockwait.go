package metrics

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/provgraph/provgraph/store"
)

// LockWaitSampleEvery is how often, on average, the server asks Neo4j which of its
// transactions wait for a lock (SampleLockWaits): one SHOW TRANSACTIONS a second,
// which walks Neo4j's running transactions and reads nothing of the graph.
const LockWaitSampleEvery = time.Second

// lockWaits are the series SampleLockWaits feeds.
type lockWaits struct {
	seconds *prometheus.CounterVec
	blocked *prometheus.GaugeVec
	samples *prometheus.CounterVec
}

func newLockWaits() lockWaits {
	return lockWaits{
		seconds: counter("neo4j_lock_wait_seconds_total",
			"Estimated time this server's Neo4j transactions spent waiting for locks other transactions held, by mode: at each sample, the transactions blocked on a lock times the time since the previous sample.",
			"mode"),
		blocked: gauge("neo4j_transactions_blocked",
			"This server's Neo4j transactions waiting for a lock another transaction holds, at the last sample, by mode.",
			"mode"),
		samples: counter("neo4j_lock_wait_samples_total",
			"Samples of this server's running Neo4j transactions (SHOW TRANSACTIONS) for the lock-wait series, by result: ok, or failed (the time since the previous sample is then not counted).",
			"result"),
	}
}

func (l lockWaits) collectors() []prometheus.Collector {
	return []prometheus.Collector{l.seconds, l.blocked, l.samples}
}

// SampleLockWaits estimates the time this server's transactions wait for locks, until
// ctx ends. Neo4j tells no transaction's lock wait when it ends, only those of the
// transactions running when asked (SHOW TRANSACTIONS), so running is asked about
// every `every`, at random times between half and one and a half of it: the
// transactions blocked then, times the time since the previous sample, add up to an
// estimate of the total wait without bias — as a sampling profiler estimates CPU
// time — however short each wait, and the random spacing keeps it from falling into
// step with periodic work. Each sample may take at most `every` (LockWaitSampleEvery
// when not positive).
//
// The lock-wait series are registered when it starts (call it at most once per
// Metrics), so a server that does not sample exposes none rather than zeros.
func (m *Metrics) SampleLockWaits(ctx context.Context, every time.Duration, running func(context.Context) ([]store.RunningTx, error)) {
	if every <= 0 {
		every = LockWaitSampleEvery
	}
	m.reg.MustRegister(m.locks.collectors()...)
	for _, mode := range []store.TxMode{store.TxRead, store.TxWrite} {
		m.locks.seconds.WithLabelValues(string(mode))
		m.locks.blocked.WithLabelValues(string(mode))
	}
	for _, result := range []string{"ok", "failed"} {
		m.locks.samples.WithLabelValues(result)
	}
	last := time.Now()
	for {
		delay := every/2 + rand.N(every)
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		sampleCtx, cancel := context.WithTimeout(ctx, every)
		txs, err := running(sampleCtx)
		cancel()
		now := time.Now()
		if ctx.Err() != nil {
			return
		}
		m.lockSample(txs, err, now.Sub(last))
		last = now
	}
}

// lockSample counts one sample of the running transactions, taken since the previous
// one; a failed sample counts no wait.
func (m *Metrics) lockSample(txs []store.RunningTx, err error, since time.Duration) {
	if err != nil {
		m.locks.samples.WithLabelValues("failed").Inc()
		return
	}
	m.locks.samples.WithLabelValues("ok").Inc()
	blocked := map[store.TxMode]int{store.TxRead: 0, store.TxWrite: 0}
	for _, tx := range txs {
		if tx.Blocked && (tx.Mode == store.TxRead || tx.Mode == store.TxWrite) {
			blocked[tx.Mode]++
		}
	}
	for mode, n := range blocked {
		m.locks.blocked.WithLabelValues(string(mode)).Set(float64(n))
		m.locks.seconds.WithLabelValues(string(mode)).Add(float64(n) * since.Seconds())
	}
}
