package metrics

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// What the sequencer reports becomes the audit series: each entry's lag in the
// histogram, and the last checkpoint's size, date and age — absent until a checkpoint
// is published, then following the latest one.
func TestAuditObserverFeedsAuditSeries(t *testing.T) {
	t.Parallel()
	m := New()
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	m.audit.checkpoint.now = func() time.Time { return now }
	obs := m.Audit()

	n, err := testutil.GatherAndCount(m.reg, "provgraph_audit_checkpoint_tree_size", "provgraph_audit_checkpoint_age_seconds",
		"provgraph_audit_checkpoint_timestamp_seconds")
	require.NoError(t, err)
	assert.Zero(t, n, "no checkpoint published yet: no checkpoint series")

	obs.EntriesSequenced(30*time.Millisecond, []time.Duration{8 * time.Millisecond, 40 * time.Millisecond, 700 * time.Millisecond})
	obs.EntriesSequenced(200*time.Millisecond, []time.Duration{3 * time.Second})
	obs.CheckpointPublished(3, now.Add(-90*time.Second))
	obs.CheckpointPublished(4, now.Add(-2500*time.Millisecond))

	require.NoError(t, testutil.GatherAndCompare(m.reg, strings.NewReader(`
# HELP provgraph_audit_checkpoint_age_seconds Seconds from the date of the last signed audit checkpoint this process published until now (the scrape); absent until it publishes one. Across replicas, the smallest is the age of the newest checkpoint.
# TYPE provgraph_audit_checkpoint_age_seconds gauge
provgraph_audit_checkpoint_age_seconds 2.5
# HELP provgraph_audit_checkpoint_tree_size Tree size (entries) of the last signed audit checkpoint this process published; absent until it publishes one.
# TYPE provgraph_audit_checkpoint_tree_size gauge
provgraph_audit_checkpoint_tree_size 4
# HELP provgraph_audit_checkpoint_timestamp_seconds Time (Unix seconds) the last signed audit checkpoint this process published is dated; absent until it publishes one.
# TYPE provgraph_audit_checkpoint_timestamp_seconds gauge
provgraph_audit_checkpoint_timestamp_seconds 1.7962991975e+09
# HELP provgraph_audit_sequencing_lag_seconds Time from a write recording its audit entry (just before its commit) until the audit log's sequencer gave its entry a place in the log, per entry sequenced by this process.
# TYPE provgraph_audit_sequencing_lag_seconds histogram
provgraph_audit_sequencing_lag_seconds_bucket{le="0.005"} 0
provgraph_audit_sequencing_lag_seconds_bucket{le="0.01"} 1
provgraph_audit_sequencing_lag_seconds_bucket{le="0.025"} 1
provgraph_audit_sequencing_lag_seconds_bucket{le="0.05"} 2
provgraph_audit_sequencing_lag_seconds_bucket{le="0.1"} 2
provgraph_audit_sequencing_lag_seconds_bucket{le="0.25"} 2
provgraph_audit_sequencing_lag_seconds_bucket{le="0.5"} 2
provgraph_audit_sequencing_lag_seconds_bucket{le="0.75"} 3
provgraph_audit_sequencing_lag_seconds_bucket{le="1"} 3
provgraph_audit_sequencing_lag_seconds_bucket{le="1.5"} 3
provgraph_audit_sequencing_lag_seconds_bucket{le="2.5"} 3
provgraph_audit_sequencing_lag_seconds_bucket{le="5"} 4
provgraph_audit_sequencing_lag_seconds_bucket{le="10"} 4
provgraph_audit_sequencing_lag_seconds_bucket{le="30"} 4
provgraph_audit_sequencing_lag_seconds_bucket{le="60"} 4
provgraph_audit_sequencing_lag_seconds_bucket{le="+Inf"} 4
provgraph_audit_sequencing_lag_seconds_sum 3.748
provgraph_audit_sequencing_lag_seconds_count 4
`), "provgraph_audit_checkpoint_age_seconds", "provgraph_audit_checkpoint_tree_size", "provgraph_audit_checkpoint_timestamp_seconds",
		"provgraph_audit_sequencing_lag_seconds"))

	turns, turnSum := histogramOf(t, m, "provgraph_audit_sequencer_turn_seconds")
	assert.Equal(t, uint64(2), turns, "one turn observed per sequencing transaction")
	assert.InDelta(t, 0.23, turnSum, 1e-9)
	batches, entries := histogramOf(t, m, "provgraph_audit_sequencer_batch_entries")
	assert.Equal(t, uint64(2), batches)
	assert.Equal(t, 4.0, entries, "the batches' entries add up to the entries sequenced")

	// The age grows with the clock until the next checkpoint, and never goes below 0
	// for a checkpoint dated a moment ahead of this process's clock.
	now = now.Add(10 * time.Second)
	assert.InDelta(t, 12.5, gaugeValue(t, m, "provgraph_audit_checkpoint_age_seconds"), 1e-9)
	obs.CheckpointPublished(9, now.Add(time.Second))
	assert.Zero(t, gaugeValue(t, m, "provgraph_audit_checkpoint_age_seconds"))
	assert.Equal(t, 9.0, gaugeValue(t, m, "provgraph_audit_checkpoint_tree_size"))
}

// gaugeValue is the value of the one series of an unlabelled gauge; NaN when absent.
func gaugeValue(t *testing.T, m *Metrics, name string) float64 {
	t.Helper()
	families, err := m.reg.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() == name && len(f.GetMetric()) == 1 {
			return f.GetMetric()[0].GetGauge().GetValue()
		}
	}
	return math.NaN()
}

// histogramOf is the sample count and sum of an unlabelled histogram.
func histogramOf(t *testing.T, m *Metrics, name string) (uint64, float64) {
	t.Helper()
	families, err := m.reg.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() == name {
			require.Len(t, f.GetMetric(), 1, name)
			h := f.GetMetric()[0].GetHistogram()
			return h.GetSampleCount(), h.GetSampleSum()
		}
	}
	t.Fatalf("no %s", name)
	return 0, 0
}
