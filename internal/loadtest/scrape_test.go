package main

import (
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A server's /metrics in the text format, with retries, lock waits and write
// transactions; n scales the counters, lag adds the sequencing series.
func exposition(n int, lag bool) string {
	s := fmt.Sprintf(`# TYPE provgraph_neo4j_transaction_retries_total counter
provgraph_neo4j_transaction_retries_total{mode="read"} 0
provgraph_neo4j_transaction_retries_total{mode="write"} %d
# TYPE provgraph_neo4j_transient_errors_total counter
provgraph_neo4j_transient_errors_total{cause="Neo.TransientError.Transaction.DeadlockDetected",mode="write"} %d
provgraph_neo4j_transient_errors_total{cause="unknown",mode="write"} 1
# TYPE provgraph_neo4j_lock_wait_seconds_total counter
provgraph_neo4j_lock_wait_seconds_total{mode="read"} 0
provgraph_neo4j_lock_wait_seconds_total{mode="write"} %d
# TYPE provgraph_neo4j_lock_wait_samples_total counter
provgraph_neo4j_lock_wait_samples_total{result="ok"} %d
# TYPE provgraph_neo4j_transaction_duration_seconds histogram
provgraph_neo4j_transaction_duration_seconds_bucket{mode="write",le="0.1"} %d
provgraph_neo4j_transaction_duration_seconds_bucket{mode="write",le="1"} %d
provgraph_neo4j_transaction_duration_seconds_bucket{mode="write",le="+Inf"} %d
provgraph_neo4j_transaction_duration_seconds_sum{mode="write"} %d
provgraph_neo4j_transaction_duration_seconds_count{mode="write"} %d
`, 2*n, n, 3*n, 10*n, 90*n, 100*n, 100*n, 20*n, 100*n)
	if lag {
		s += fmt.Sprintf(`# TYPE provgraph_write_slot_wait_seconds histogram
provgraph_write_slot_wait_seconds_bucket{le="0.5"} %d
provgraph_write_slot_wait_seconds_bucket{le="2.5"} %d
provgraph_write_slot_wait_seconds_bucket{le="+Inf"} %d
provgraph_write_slot_wait_seconds_sum %d
provgraph_write_slot_wait_seconds_count %d
`, 50*n, 100*n, 100*n, 80*n, 100*n)
		s += fmt.Sprintf(`# TYPE provgraph_audit_sequencing_lag_seconds histogram
provgraph_audit_sequencing_lag_seconds_bucket{le="0.5"} %d
provgraph_audit_sequencing_lag_seconds_bucket{le="1"} %d
provgraph_audit_sequencing_lag_seconds_bucket{le="+Inf"} %d
provgraph_audit_sequencing_lag_seconds_sum %d
provgraph_audit_sequencing_lag_seconds_count %d
# TYPE provgraph_audit_sequencer_turn_seconds histogram
provgraph_audit_sequencer_turn_seconds_bucket{le="0.1"} %d
provgraph_audit_sequencer_turn_seconds_bucket{le="+Inf"} %d
provgraph_audit_sequencer_turn_seconds_sum %d
provgraph_audit_sequencer_turn_seconds_count %d
# TYPE provgraph_audit_sequencer_batch_entries histogram
provgraph_audit_sequencer_batch_entries_bucket{le="10"} %d
provgraph_audit_sequencer_batch_entries_bucket{le="+Inf"} %d
provgraph_audit_sequencer_batch_entries_sum %d
provgraph_audit_sequencer_batch_entries_count %d
# TYPE provgraph_audit_checkpoint_age_seconds gauge
provgraph_audit_checkpoint_age_seconds %d
`, 98*n, 100*n, 100*n, 30*n, 100*n, 10*n, 10*n, n, 10*n, 10*n, 10*n, 100*n, 10*n, 5+n)
	}
	return s
}

// serve answers /metrics with the texts one after another.
func serve(t *testing.T, texts ...string) string {
	t.Helper()
	i := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprint(w, texts[min(i, len(texts)-1)])
		i++
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// Two replicas, read before and after: counters are the run's, summed over both;
// the p99s come from the merged histograms' increase; the checkpoint age is the
// smallest; a series neither serves is "not exposed", not a failure.
func TestWhereTheTimeGoesSumsReplicas(t *testing.T) {
	t.Parallel()
	bases := []string{serve(t, exposition(1, false), exposition(3, false)), serve(t, exposition(1, true), exposition(2, true))}
	client := &http.Client{}
	before, err := scrapeAll(client, bases)
	if err != nil {
		t.Fatal(err)
	}
	after, err := scrapeAll(client, bases)
	if err != nil {
		t.Fatal(err)
	}
	got := whereTheTimeGoes(before, after, 2)
	for _, want := range []string{
		"(2 servers, summed)",
		"| transaction retries (write / read) | 6 / 0 |", // (6-2) + (4-2)
		"| retries after a deadlock | 3 |",
		"| retries by cause | `Neo.TransientError.Transaction.DeadlockDetected` 3 |", // unknown did not grow
		// lock waits (9-3)+(6-3) = 9 s of (60-20)+(40-20) = 60 s of write transactions.
		"| lock waits of write transactions (estimated; total) | 9.00 s, 15% of the write transactions' time, from 30 samples |",
		// 300 write transactions: 270 ≤ 100 ms, 30 in (0.1, 1]: rank 297 lies 27/30 into it.
		"| write transaction p99, connection wait and retries included | 910.0 ms (300 observations) |",
		"| write transaction begin wait p99 (pool, BEGIN) | not exposed |",
		// Only the second replica: 100 more waits, 80 s in all; 50 ≤ 0.5 s, 50 in (0.5, 2.5]:
		// rank 99 lies 49/50 into the second.
		"| wait for a write slot (`--max-writers`), before the transaction | 800.0 ms on average, p99 2.46 s (100 observations) |",
		// Only the second replica sequences: 100 more entries, 98 ≤ 0.5 s.
		"| audit sequencing lag p99 | 750.0 ms (100 observations) |",
		// 10 more turns, all ≤ 100 ms: rank 9.9 of 10 in the first bucket.
		"| audit sequencing transaction p99 | 99.0 ms (10 observations) |",
		"| entries per sequencing transaction | 10.0 on average, p99 10 |",
		"| audit checkpoint age at the end (newest checkpoint) | 7.00 s |",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}

	// A server without any of the new series: each is reported as not exposed.
	bare := serve(t, "# TYPE provgraph_neo4j_up gauge\nprovgraph_neo4j_up 1\n")
	r, err := scrapeAll(client, []string{bare})
	if err != nil {
		t.Fatal(err)
	}
	got = whereTheTimeGoes(r, r, 1)
	if n := strings.Count(got, notExposed); n != 12 {
		t.Errorf("%d rows not exposed, want 12 (retries has two):\n%s", n, got)
	}
}

// quantile interpolates within the bucket the rank falls in, as histogram_quantile
// does, and is NaN without observations.
func TestHistogramQuantile(t *testing.T) {
	h := histo{bounds: []float64{1, 2, math.Inf(1)}, counts: []float64{50, 100, 100}}
	for q, want := range map[float64]float64{0.5: 1, 0.75: 1.5, 0.99: 1.98, 1: 2} {
		if got := h.quantile(q); math.Abs(got-want) > 1e-9 {
			t.Errorf("quantile(%v) = %v, want %v", q, got, want)
		}
	}
	if got := (histo{bounds: []float64{1, math.Inf(1)}, counts: []float64{0, 5}}).quantile(0.5); got != 1 {
		t.Errorf("in +Inf: %v, want the last finite bound 1", got)
	}
	if got := (histo{}).quantile(0.99); !math.IsNaN(got) {
		t.Errorf("no observations: %v, want NaN", got)
	}
}
