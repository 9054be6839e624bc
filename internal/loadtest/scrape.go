package main

import (
	"fmt"
	"math"
	"net/http"
	"slices"
	"sort"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// reading is one scrape of every server's /metrics, by the servers' base URLs: the
// load test reads it before and after the run and reports what changed, so a server
// that serves other traffic too, or ran before, is measured over the run alone.
type reading map[string]map[string]*dto.MetricFamily

// scrapeAll reads /metrics of every base URL.
func scrapeAll(client *http.Client, bases []string) (reading, error) {
	r := reading{}
	for _, base := range bases {
		resp, err := client.Get(base + "/metrics")
		if err != nil {
			return nil, fmt.Errorf("scrape %s/metrics: %w", base, err)
		}
		parser := expfmt.NewTextParser(model.UTF8Validation)
		families, err := parser.TextToMetricFamilies(resp.Body)
		_ = resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("scrape %s/metrics: %w", base, err)
		}
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("scrape %s/metrics: %s", base, resp.Status)
		}
		r[base] = families
	}
	return r, nil
}

// labels selects series by label values; a label not named matches any value.
type labels map[string]string

func (want labels) match(m *dto.Metric) bool {
	for name, value := range want {
		found := false
		for _, l := range m.GetLabel() {
			if l.GetName() == name {
				found = l.GetValue() == value
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// counter is the sum over servers and matching series of a counter (or of a gauge);
// ok is false when no server exposes the family.
func (r reading) counter(name string, want labels) (sum float64, ok bool) {
	for _, families := range r {
		f := families[name]
		if f == nil {
			continue
		}
		ok = true
		for _, m := range f.GetMetric() {
			if want.match(m) {
				sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
			}
		}
	}
	return sum, ok
}

// minGauge is the smallest value of a gauge over servers and matching series; ok is
// false when no server has a series of it.
func (r reading) minGauge(name string, want labels) (v float64, ok bool) {
	v = math.Inf(1)
	for _, families := range r {
		for _, m := range families[name].GetMetric() {
			if want.match(m) {
				v, ok = math.Min(v, m.GetGauge().GetValue()), true
			}
		}
	}
	return v, ok
}

// labelValues lists the values label takes in a family, over all servers.
func (r reading) labelValues(name, label string) []string {
	var values []string
	for _, families := range r {
		for _, m := range families[name].GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && !slices.Contains(values, l.GetValue()) {
					values = append(values, l.GetValue())
				}
			}
		}
	}
	sort.Strings(values)
	return values
}

// histo is a histogram summed over servers and series: cumulative counts by upper
// bound (+Inf last), and the sum of the observations.
type histo struct {
	bounds []float64
	counts []float64
	sum    float64
}

// histogram is the sum over servers and matching series of a histogram; ok is false
// when no server exposes the family. The servers' buckets must agree (they do: one
// binary).
func (r reading) histogram(name string, want labels) (h histo, ok bool) {
	for _, families := range r {
		f := families[name]
		if f == nil {
			continue
		}
		ok = true
		for _, m := range f.GetMetric() {
			if !want.match(m) {
				continue
			}
			hm := m.GetHistogram()
			h.sum += hm.GetSampleSum()
			for i, b := range hm.GetBucket() {
				if len(h.bounds) <= i {
					h.bounds = append(h.bounds, b.GetUpperBound())
					h.counts = append(h.counts, 0)
				}
				h.counts[i] += float64(b.GetCumulativeCount())
			}
			if n := len(hm.GetBucket()); n == 0 || !math.IsInf(hm.GetBucket()[n-1].GetUpperBound(), 1) {
				if len(h.bounds) <= n {
					h.bounds = append(h.bounds, math.Inf(1))
					h.counts = append(h.counts, 0)
				}
				h.counts[n] += float64(hm.GetSampleCount())
			}
		}
	}
	return h, ok
}

// minus is h less an earlier reading of the same histogram: the observations between.
func (h histo) minus(before histo) histo {
	d := histo{bounds: h.bounds, counts: slices.Clone(h.counts), sum: h.sum - before.sum}
	for i := range d.counts {
		if i < len(before.counts) {
			d.counts[i] -= before.counts[i]
		}
	}
	return d
}

// count is the number of observations.
func (h histo) count() float64 {
	if len(h.counts) == 0 {
		return 0
	}
	return h.counts[len(h.counts)-1]
}

// quantile estimates the q-quantile as Prometheus's histogram_quantile does: linearly
// within the bucket it falls in, the upper bound of the last finite bucket when it
// falls in +Inf. NaN without observations.
func (h histo) quantile(q float64) float64 {
	total := h.count()
	if total == 0 {
		return math.NaN()
	}
	rank := q * total
	i := sort.Search(len(h.counts), func(i int) bool { return h.counts[i] >= rank })
	if math.IsInf(h.bounds[i], 1) {
		if i == 0 {
			return math.NaN()
		}
		return h.bounds[i-1]
	}
	lower, below := 0.0, 0.0
	if i > 0 {
		lower, below = h.bounds[i-1], h.counts[i-1]
	}
	inBucket := h.counts[i] - below
	if inBucket == 0 {
		return h.bounds[i]
	}
	return lower + (h.bounds[i]-lower)*(rank-below)/inBucket
}

// Series the report reads, by name (docs/operations.md says what each means).
const (
	seriesRetries        = "provgraph_neo4j_transaction_retries_total"
	seriesTransient      = "provgraph_neo4j_transient_errors_total"
	seriesLockWait       = "provgraph_neo4j_lock_wait_seconds_total"
	seriesLockSamples    = "provgraph_neo4j_lock_wait_samples_total"
	seriesTxDuration     = "provgraph_neo4j_transaction_duration_seconds"
	seriesBeginWait      = "provgraph_neo4j_transaction_begin_wait_seconds"
	seriesWriteSlotWait  = "provgraph_write_slot_wait_seconds"
	seriesSequencingLag  = "provgraph_audit_sequencing_lag_seconds"
	seriesCheckpointAge  = "provgraph_audit_checkpoint_age_seconds"
	seriesSequencerTurn  = "provgraph_audit_sequencer_turn_seconds"
	seriesSequencerBatch = "provgraph_audit_sequencer_batch_entries"
)

const deadlockCode = "Neo.TransientError.Transaction.DeadlockDetected"

// notExposed stands for a figure of a series the servers do not serve.
const notExposed = "not exposed"

// whereTheTimeGoes is the report's table of what the servers' /metrics say of the
// run, before and after read, and the number of servers: counters summed over them,
// histograms merged, the checkpoint age the smallest (the newest checkpoint's). A
// series no server exposes is reported as not exposed.
func whereTheTimeGoes(before, after reading, servers int) string {
	var b strings.Builder
	row := func(what, value string) { fmt.Fprintf(&b, "| %s | %s |\n", what, value) }
	delta := func(name string, want labels) (float64, bool) {
		a, ok := after.counter(name, want)
		z, _ := before.counter(name, want)
		return a - z, ok
	}
	count := func(name string, want labels) string {
		if v, ok := delta(name, want); ok {
			return fmt.Sprintf("%.0f", v)
		}
		return notExposed
	}
	// during is the run's share of a histogram; ok is false when no server exposes it.
	during := func(name string, want labels) (histo, bool) {
		a, ok := after.histogram(name, want)
		if !ok {
			return histo{}, false
		}
		z, _ := before.histogram(name, want)
		return a.minus(z), true
	}
	p99 := func(name string, want labels) string {
		d, ok := during(name, want)
		if !ok {
			return notExposed
		}
		if d.count() == 0 {
			return "no observations"
		}
		return fmt.Sprintf("%s (%.0f observations)", seconds(d.quantile(0.99)), d.count())
	}

	fmt.Fprintf(&b, "From the server's `/metrics` (%s), read before and after the traffic; docs/operations.md says what each series means.\n\n", plural(servers, "server"))
	b.WriteString("| what | during the run |\n|---|---|\n")
	row("transaction retries (write / read)", count(seriesRetries, labels{"mode": "write"})+" / "+count(seriesRetries, labels{"mode": "read"}))
	row("retries after a deadlock", count(seriesTransient, labels{"cause": deadlockCode}))
	row("retries by cause", retryCauses(before, after))
	if lw, ok := delta(seriesLockWait, labels{"mode": "write"}); ok {
		share := ""
		if a, ok := after.histogram(seriesTxDuration, labels{"mode": "write"}); ok {
			z, _ := before.histogram(seriesTxDuration, labels{"mode": "write"})
			if total := a.minus(z).sum; total > 0 {
				share = fmt.Sprintf(", %.0f%% of the write transactions' time", 100*lw/total)
			}
		}
		samples, _ := delta(seriesLockSamples, labels{"result": "ok"})
		if failed, _ := delta(seriesLockSamples, labels{"result": "failed"}); failed > 0 {
			share += fmt.Sprintf(" (%.0f samples failed: an underestimate)", failed)
		}
		row("lock waits of write transactions (estimated; total)", fmt.Sprintf("%s%s, from %.0f samples", seconds(lw), share, samples))
	} else {
		row("lock waits of write transactions (estimated; total)", notExposed)
	}
	row("lock waits p99", "not measured per transaction: Neo4j tells a transaction's lock wait only while it runs, so the servers sample it (total above)")
	row("write transaction p99, connection wait and retries included", p99(seriesTxDuration, labels{"mode": "write"}))
	row("write transaction begin wait p99 (pool, BEGIN)", p99(seriesBeginWait, labels{"mode": "write"}))
	if d, ok := during(seriesWriteSlotWait, nil); !ok {
		row("wait for a write slot (`--max-writers`), before the transaction", notExposed)
	} else if d.count() > 0 {
		row("wait for a write slot (`--max-writers`), before the transaction", fmt.Sprintf("%s on average, p99 %s (%.0f observations)",
			seconds(d.sum/d.count()), seconds(d.quantile(0.99)), d.count()))
	} else {
		row("wait for a write slot (`--max-writers`), before the transaction", "no observations")
	}
	row("audit sequencing lag p99", p99(seriesSequencingLag, nil))
	row("audit sequencing transaction p99", p99(seriesSequencerTurn, nil))
	if d, ok := during(seriesSequencerBatch, nil); !ok {
		row("entries per sequencing transaction", notExposed)
	} else if d.count() > 0 {
		row("entries per sequencing transaction", fmt.Sprintf("%.1f on average, p99 %.0f", d.sum/d.count(), d.quantile(0.99)))
	} else {
		row("entries per sequencing transaction", "no observations")
	}
	if age, ok := after.minGauge(seriesCheckpointAge, nil); ok {
		row("audit checkpoint age at the end (newest checkpoint)", seconds(age))
	} else if _, exposed := after.histogram(seriesSequencingLag, nil); exposed {
		row("audit checkpoint age at the end (newest checkpoint)", "no checkpoint published")
	} else {
		row("audit checkpoint age at the end (newest checkpoint)", notExposed)
	}
	return b.String()
}

// retryCauses lists the retries of the run by cause, "none" when there were none.
func retryCauses(before, after reading) string {
	values := after.labelValues(seriesTransient, "cause")
	if values == nil {
		if _, ok := after.counter(seriesTransient, nil); !ok {
			return notExposed
		}
	}
	var parts []string
	for _, cause := range values {
		a, _ := after.counter(seriesTransient, labels{"cause": cause})
		z, _ := before.counter(seriesTransient, labels{"cause": cause})
		if a-z > 0 {
			parts = append(parts, fmt.Sprintf("`%s` %.0f", cause, a-z))
		}
	}
	if parts == nil {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func seconds(s float64) string {
	if math.IsNaN(s) {
		return "NaN"
	}
	if s < 1 {
		return fmt.Sprintf("%.1f ms", s*1000)
	}
	return fmt.Sprintf("%.2f s", s)
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss, summed", n, what)
}
