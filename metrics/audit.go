package metrics

import (
	"math"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/provgraph/provgraph/store"
)

// Buckets of the audit sequencing lag, in seconds: fine from 10 ms to 10 s around
// the 1 s that the lag's p99 should stay under, coarse beyond.
var sequencingLagBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, .75, 1, 1.5, 2.5, 5, 10, 30, 60}

// Buckets of the entries one sequencing transaction integrates, up to
// store.AuditSequenceBatch.
var sequencerBatchBuckets = []float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000}

// auditSeries are the series of the audit log's sequencer in this process.
type auditSeries struct {
	lag        prometheus.Histogram
	turn       prometheus.Histogram
	batch      prometheus.Histogram
	checkpoint *lastCheckpoint
}

func newAuditSeries() *auditSeries {
	return &auditSeries{
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: Namespace, Name: "audit_sequencing_lag_seconds",
			Help:    "Time from a write recording its audit entry (just before its commit) until the audit log's sequencer gave its entry a place in the log, per entry sequenced by this process.",
			Buckets: sequencingLagBuckets}),
		turn: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: Namespace, Name: "audit_sequencer_turn_seconds",
			Help:    "Time one sequencing transaction of this process took, from its start to its commit, for each that sequenced entries.",
			Buckets: sequencingLagBuckets}),
		batch: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: Namespace, Name: "audit_sequencer_batch_entries",
			Help:    "Entries one sequencing transaction of this process gave their place in the log, for each that sequenced any.",
			Buckets: sequencerBatchBuckets}),
		checkpoint: &lastCheckpoint{now: time.Now},
	}
}

func (a *auditSeries) collectors() []prometheus.Collector {
	return []prometheus.Collector{a.lag, a.turn, a.batch, a.checkpoint}
}

// Audit returns the observer that the store's audit sequencer reports to
// (store.Store.ObserveAudit).
func (m *Metrics) Audit() store.AuditObserver { return auditObserver{m.audit} }

type auditObserver struct{ a *auditSeries }

func (o auditObserver) EntriesSequenced(turn time.Duration, lags []time.Duration) {
	o.a.turn.Observe(turn.Seconds())
	o.a.batch.Observe(float64(len(lags)))
	for _, lag := range lags {
		o.a.lag.Observe(lag.Seconds())
	}
}

func (o auditObserver) CheckpointPublished(size int64, at time.Time) {
	o.a.checkpoint.set(size, at)
}

var (
	checkpointSizeDesc = prometheus.NewDesc(prometheus.BuildFQName(Namespace, "audit", "checkpoint_tree_size"),
		"Tree size (entries) of the last signed audit checkpoint this process published; absent until it publishes one.", nil, nil)
	checkpointTimeDesc = prometheus.NewDesc(prometheus.BuildFQName(Namespace, "audit", "checkpoint_timestamp_seconds"),
		"Time (Unix seconds) the last signed audit checkpoint this process published is dated; absent until it publishes one.", nil, nil)
	checkpointAgeDesc = prometheus.NewDesc(prometheus.BuildFQName(Namespace, "audit", "checkpoint_age_seconds"),
		"Seconds from the date of the last signed audit checkpoint this process published until now (the scrape); absent until it publishes one. Across replicas, the smallest is the age of the newest checkpoint.", nil, nil)
)

// lastCheckpoint is the last checkpoint this process published, as a collector: its
// series are absent until there is one, so that a replica that never sequenced says
// nothing rather than a made-up age.
type lastCheckpoint struct {
	mu   sync.Mutex
	size int64
	at   time.Time // zero until a checkpoint was published
	now  func() time.Time
}

func (c *lastCheckpoint) set(size int64, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.size, c.at = size, at
}

func (c *lastCheckpoint) Describe(ch chan<- *prometheus.Desc) {
	ch <- checkpointSizeDesc
	ch <- checkpointTimeDesc
	ch <- checkpointAgeDesc
}

func (c *lastCheckpoint) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	size, at := c.size, c.at
	c.mu.Unlock()
	if at.IsZero() {
		return
	}
	age := math.Max(0, c.now().Sub(at).Seconds())
	ch <- prometheus.MustNewConstMetric(checkpointSizeDesc, prometheus.GaugeValue, float64(size))
	ch <- prometheus.MustNewConstMetric(checkpointTimeDesc, prometheus.GaugeValue, float64(at.UnixNano())/1e9)
	ch <- prometheus.MustNewConstMetric(checkpointAgeDesc, prometheus.GaugeValue, age)
}
