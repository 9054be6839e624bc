package store_test

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/apperr"
	"github.com/provgraph/provgraph/internal/neo4jtest"
	"github.com/provgraph/provgraph/store"
)

func newRun(t *testing.T, st *store.Store, exp string) store.Node {
	t.Helper()
	r, err := st.StartRun(t.Context(), "tester", store.RunInput{Experiment: exp})
	require.NoError(t, err)
	return r
}

// metricHistory pages through a run's metric history, size points a page (10 pages at
// most), and returns every point.
func metricHistory(t *testing.T, st *store.Store, run, key string, size int) []store.MetricPoint {
	t.Helper()
	var got []store.MetricPoint
	after := ""
	for page := 0; ; page++ {
		require.Less(t, page, 10)
		p, err := st.MetricHistory(t.Context(), run, key, store.StepRange{}, size, after)
		require.NoError(t, err)
		got = append(got, p.Points...)
		if p.EndCursor == "" {
			return got
		}
		after = p.EndCursor
	}
}

// Points cross chunk boundaries (the tail becomes chunks of MetricChunkSize), and the
// summary, the paged history and the down-sampled history all agree with what was
// logged, NaN and infinities included.
func TestMetricHistoryAcrossChunks(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	tk := neo4jtest.Token(t)
	ctx := t.Context()
	exp, err := st.CreateExperiment(ctx, "tester", store.ExperimentInput{Name: "chunks-" + tk})
	require.NoError(t, err)
	run := newRun(t, st, exp.Key)

	const n = 2500
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	value := func(i int) float64 {
		switch i {
		case 1234:
			return math.NaN()
		case 1500:
			return math.Inf(1)
		case 2000:
			return -50 // the minimum
		case 700:
			return 99 // the maximum
		}
		return math.Sin(float64(i) / 100)
	}
	// Logged in batches of 300 and then one at a time, so the tail is appended to.
	for i := 0; i < n; {
		size := 300
		if i >= 2400 {
			size = 1
		}
		var batch []store.MetricPoint
		for j := i; j < min(i+size, n); j++ {
			batch = append(batch, store.MetricPoint{Key: "loss", Value: value(j), Step: int64(j), Timestamp: t0.Add(time.Duration(j) * time.Millisecond)})
		}
		_, err := st.LogRun(ctx, "tester", store.RunLog{Run: run.Key, Metrics: batch})
		require.NoError(t, err)
		i += size
	}

	sums, err := st.RunMetrics(ctx, run.Key, nil)
	require.NoError(t, err)
	require.Len(t, sums, 1)
	assert.Equal(t, int64(n), sums[0].Count)
	assert.Equal(t, value(n-1), sums[0].Last)
	assert.Equal(t, int64(n-1), sums[0].LastStep)
	assert.Equal(t, -50.0, *sums[0].Min)
	assert.Equal(t, 99.0, *sums[0].Max, "infinities and NaN are left out of min, max, avg and stddev")

	// Paged history: every point once, in step order, NaN and +Inf as logged.
	got := metricHistory(t, st, run.Key, "loss", 700)
	require.Len(t, got, n)
	for i, p := range got {
		require.Equal(t, int64(i), p.Step)
	}
	assert.True(t, math.IsNaN(got[1234].Value))
	assert.True(t, math.IsInf(got[1500].Value, 1))

	lo, hi := int64(900), int64(1100)
	window, err := st.MetricHistory(ctx, run.Key, "loss", store.StepRange{Min: &lo, Max: &hi}, 1000, "")
	require.NoError(t, err)
	assert.Len(t, window.Points, 201)
	assert.Equal(t, lo, window.Points[0].Step)

	// Down-sampled to at most 20 points: the first, the last, the minimum and the
	// maximum are kept.
	ds, err := st.MetricDownsampled(ctx, run.Key, "loss", store.StepRange{}, 20)
	require.NoError(t, err)
	assert.LessOrEqual(t, len(ds), 20)
	steps := map[int64]bool{}
	for _, p := range ds {
		steps[p.Step] = true
	}
	for _, s := range []int64{0, n - 1, 2000, 700} {
		assert.True(t, steps[s], "step %d kept", s)
	}
	all, err := st.MetricDownsampled(ctx, run.Key, "loss", store.StepRange{Min: &lo, Max: &hi}, 1000)
	require.NoError(t, err)
	assert.Len(t, all, 201, "a range that fits comes whole")

	_, err = st.MetricDownsampled(ctx, run.Key, "loss", store.StepRange{}, 3)
	assert.Equal(t, apperr.InvalidArgument, apperr.CodeOf(err))
}

// Parameters are immutable, a batch lands whole or not at all, and runs are found with
// the MLflow filter grammar plus OR, across experiments, and compared.
func TestRunLoggingSearchAndCompare(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	tk := neo4jtest.Token(t)
	ctx := t.Context()
	now := time.Now().UTC()
	e1, err := st.CreateExperiment(ctx, "tester", store.ExperimentInput{Name: "search-a-" + tk})
	require.NoError(t, err)
	e2, err := st.CreateExperiment(ctx, "tester", store.ExperimentInput{Name: "search-b-" + tk})
	require.NoError(t, err)
	_, err = st.CreateExperiment(ctx, "tester", store.ExperimentInput{Name: "search-a-" + tk})
	assert.Equal(t, apperr.Conflict, apperr.CodeOf(err), "experiment names are unique")

	type spec struct {
		exp    string
		lr     string
		auc    float64
		team   string
		status store.RunStatus
	}
	specs := []spec{
		{e1.Key, "0.01", 0.91, "risk", store.RunFinished},
		{e1.Key, "0.1", 0.95, "risk", store.RunFinished},
		{e1.Key, "0.01", 0.80, "ops", store.RunFailed},
		{e2.Key, "0.01", 0.97, "ops", store.RunFinished},
	}
	var runs []store.Node
	for _, sp := range specs {
		r := newRun(t, st, sp.exp)
		_, err := st.LogRun(ctx, "tester", store.RunLog{Run: r.Key,
			Params:  []store.Param{{Key: "lr", Value: sp.lr}, {Key: "depth", Value: "6"}},
			Metrics: []store.MetricPoint{{Key: "auc", Value: sp.auc, Step: 1, Timestamp: now}, {Key: "loss", Value: 1 - sp.auc, Step: 1, Timestamp: now}},
			Tags:    []store.Tag{{Key: "team", Value: sp.team}},
		})
		require.NoError(t, err)
		_, err = st.UpdateRun(ctx, "tester", store.RunUpdate{Run: r.Key, Status: &sp.status})
		require.NoError(t, err)
		runs = append(runs, r)
	}

	// The same value again is fine; another value is a CONFLICT, and nothing of that
	// batch lands.
	_, err = st.LogRun(ctx, "tester", store.RunLog{Run: runs[0].Key, Params: []store.Param{{Key: "lr", Value: "0.01"}}})
	require.NoError(t, err)
	before := neo4jtest.Snapshot(t, runs[0].Key[len("run:"):])
	_, err = st.LogRun(ctx, "tester", store.RunLog{Run: runs[0].Key,
		Params:  []store.Param{{Key: "batch", Value: "64"}, {Key: "lr", Value: "0.02"}},
		Metrics: []store.MetricPoint{{Key: "auc", Value: 0.1, Step: 2, Timestamp: now}},
	})
	require.Error(t, err)
	assert.Equal(t, apperr.Conflict, apperr.CodeOf(err))
	assert.Contains(t, err.Error(), `params[1].value: parameter "lr" of run`)
	assert.Contains(t, err.Error(), `was logged as "0.01"; got "0.02"`)
	assert.Equal(t, before, neo4jtest.Snapshot(t, runs[0].Key[len("run:"):]))
	sums, err := st.RunMetrics(ctx, runs[0].Key, []string{"auc"})
	require.NoError(t, err)
	assert.Equal(t, 0.91, sums[0].Last, "the rejected batch's metric did not land")

	search := func(filter string, exps []string, order ...string) []string {
		t.Helper()
		page, err := st.SearchRuns(ctx, store.RunSearch{Filter: filter, Experiments: exps, OrderBy: order, First: 100})
		require.NoError(t, err, filter)
		var keys []string
		for _, r := range page.Runs {
			keys = append(keys, r.Key)
		}
		return keys
	}
	both := []string{e1.Key, e2.Key}
	key := func(i int) string { return runs[i].Key }
	assert.Equal(t, []string{key(0), key(2)}, search("params.lr = '0.01'", []string{e1.Key}, "metrics.auc DESC"))
	assert.Equal(t, []string{key(3), key(0)}, search("metrics.auc > 0.9 and params.lr = '0.01'", both, "metrics.auc DESC"))
	// Across all experiments the search starts from the unscoped indexes; the run ids
	// keep other tests' runs out.
	assert.Equal(t, []string{key(3), key(0)}, search("metrics.auc > 0.9 and params.lr = '0.01' and attributes.run_id IN ('"+
		runs[0].Key[4:]+"', '"+runs[1].Key[4:]+"', '"+runs[3].Key[4:]+"')", nil, "metrics.auc DESC"))
	assert.Equal(t, []string{key(3), key(1), key(2)}, search("metrics.auc > 0.94 OR attributes.status = 'FAILED'", both, "metrics.auc DESC"))
	assert.Equal(t, []string{key(2), key(3)}, search("(tags.team = 'ops' or tags.team = 'none') and param.depth LIKE '6%'", both, "metric.loss desc"))
	assert.Equal(t, []string{key(1)}, search(`params."lr" != '0.01'`, both))
	assert.Equal(t, []string{key(0), key(3)}, search("attributes.run_id IN ('"+runs[0].Key[4:]+"', '"+runs[3].Key[4:]+"')", both, "metrics.auc"))
	assert.Empty(t, search("params.missing IS NOT NULL", both))

	_, err = st.SearchRuns(ctx, store.RunSearch{Filter: "metrics.auc >> 1", First: store.DefaultPageSize})
	require.Error(t, err)
	assert.Equal(t, apperr.InvalidArgument, apperr.CodeOf(err))
	assert.Contains(t, err.Error(), "filter: position 13")

	// Paging walks every result once.
	var paged []string
	after := ""
	for {
		p, err := st.SearchRuns(ctx, store.RunSearch{Experiments: both, First: 3, After: after, OrderBy: []string{"metrics.auc"}})
		require.NoError(t, err)
		for _, r := range p.Runs {
			paged = append(paged, r.Key)
		}
		if p.EndCursor == "" {
			break
		}
		after = p.EndCursor
	}
	assert.Equal(t, []string{key(2), key(0), key(1), key(3)}, paged)

	cmp, err := st.CompareRuns(ctx, []string{key(0), key(1), key(2)}, nil, nil, nil)
	require.NoError(t, err)
	require.Len(t, cmp.Params, 2)
	assert.Equal(t, "depth", cmp.Params[0].Key)
	assert.False(t, cmp.Params[0].Differs)
	assert.Equal(t, "lr", cmp.Params[1].Key)
	assert.True(t, cmp.Params[1].Differs)
	require.Len(t, cmp.Metrics, 2)
	assert.Equal(t, "auc", cmp.Metrics[0].Key)
	assert.Equal(t, store.Maximize, cmp.Metrics[0].Goal)
	assert.True(t, cmp.Metrics[0].GoalGuessed)
	assert.Equal(t, 1, cmp.Metrics[0].Best)
	assert.Equal(t, store.Minimize, cmp.Metrics[1].Goal)
	assert.Equal(t, 1, cmp.Metrics[1].Best)
	given, err := st.CompareRuns(ctx, []string{key(0), key(1)}, []string{"auc"}, []string{"lr"}, map[string]store.Goal{"auc": store.Minimize})
	require.NoError(t, err)
	assert.Equal(t, 0, given.Metrics[0].Best)
	assert.False(t, given.Metrics[0].GoalGuessed)

	// Deleted runs take no logging and leave searches unless asked for.
	_, err = st.SetLifecycle(ctx, "tester", "run", key(1), store.KindRun, store.LifecycleDeleted)
	require.NoError(t, err)
	assert.NotContains(t, search("", both), key(1))
	_, err = st.LogRun(ctx, "tester", store.RunLog{Run: key(1), Tags: []store.Tag{{Key: "a", Value: "b"}}})
	assert.Equal(t, apperr.InvalidArgument, apperr.CodeOf(err))
	deleted, err := st.SearchRuns(ctx, store.RunSearch{Experiments: both, View: store.ViewDeletedOnly, First: store.DefaultPageSize})
	require.NoError(t, err)
	require.Len(t, deleted.Runs, 1)
	assert.Equal(t, key(1), deleted.Runs[0].Key)
}

func TestGuessGoal(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]store.Goal{
		"loss": store.Minimize, "val_loss": store.Minimize, "train/RMSE": store.Minimize, "error_rate": store.Minimize,
		"accuracy": store.Maximize, "val-auc": store.Maximize, "F1": store.Maximize, "epoch": "",
	} {
		got, ok := store.GuessGoal(name)
		assert.Equal(t, want, got, name)
		assert.Equal(t, want != "", ok, name)
	}
}

// Points with the same step and timestamp page without loss, in the order logged; the
// summary's spread is exact for large values; the last value of a tie is the largest.
func TestMetricTiesAndPrecision(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	tk := neo4jtest.Token(t)
	ctx := t.Context()
	exp, err := st.CreateExperiment(ctx, "tester", store.ExperimentInput{Name: "ties-" + tk})
	require.NoError(t, err)
	run := newRun(t, st, exp.Key)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for b := range 3 {
		var batch []store.MetricPoint
		for i := range 400 {
			batch = append(batch, store.MetricPoint{Key: "same", Value: float64(b*400 + i), Timestamp: now})
		}
		_, err := st.LogRun(ctx, "tester", store.RunLog{Run: run.Key, Metrics: batch})
		require.NoError(t, err)
	}
	var values []float64
	for _, pt := range metricHistory(t, st, run.Key, "same", 500) {
		values = append(values, pt.Value)
	}
	require.Len(t, values, 1200)
	for i, v := range values {
		require.Equal(t, float64(i), v, "point %d", i)
	}
	sums, err := st.RunMetrics(ctx, run.Key, []string{"same"})
	require.NoError(t, err)
	assert.Equal(t, 1199.0, sums[0].Last, "a tie in step and time goes to the largest value")

	_, err = st.LogRun(ctx, "tester", store.RunLog{Run: run.Key, Metrics: []store.MetricPoint{
		{Key: "big", Value: 1e9, Timestamp: now}, {Key: "big", Value: 1e9 + 1, Step: 1, Timestamp: now},
	}})
	require.NoError(t, err)
	sums, err = st.RunMetrics(ctx, run.Key, []string{"big"})
	require.NoError(t, err)
	assert.InDelta(t, 0.5, *sums[0].StdDev, 1e-9)
	assert.Equal(t, "1000000", store.ParamNumber(1e6))
	assert.Equal(t, "0.01", store.ParamNumber(0.01))

	_, err = st.LogRun(ctx, "tester", store.RunLog{Run: run.Key, Tags: []store.Tag{{Key: "file", Value: "a_b%c"}}})
	require.NoError(t, err)
	for filter, want := range map[string]int{
		`tags.file LIKE 'a\_b\%c'`: 1, `tags.file LIKE 'a_b%'`: 1, `tags.file LIKE 'a\_bx%'`: 0, `tags.file ILIKE 'A\_B%'`: 1,
	} {
		p, err := st.SearchRuns(ctx, store.RunSearch{Filter: filter, Experiments: []string{exp.Key}, First: store.DefaultPageSize})
		require.NoError(t, err, filter)
		assert.Len(t, p.Runs, want, filter)
	}
}

// A metric point is its step, timestamp and value (as in MLflow): a batch sent again —
// a client retrying a request whose answer it lost — records nothing new, whether its
// points sit in the series' open tail or in a chunk, and a point given twice in a batch
// is recorded once. Another value at the same step and time is another point.
func TestRepeatedMetricPointsAreRecordedOnce(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	tk := neo4jtest.Token(t)
	ctx := t.Context()
	exp, err := st.CreateExperiment(ctx, "tester", store.ExperimentInput{Name: "repeat-" + tk})
	require.NoError(t, err)
	run := newRun(t, st, exp.Key)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	points := func(key string, from, n int, step func(int) int64) []store.MetricPoint {
		var ps []store.MetricPoint
		for i := from; i < from+n; i++ {
			v := float64(i)
			if i%97 == 0 {
				v = math.NaN()
			}
			ps = append(ps, store.MetricPoint{Key: key, Value: v, Step: step(i), Timestamp: t0.Add(time.Duration(i) * time.Second)})
		}
		return ps
	}
	byStep := func(i int) int64 { return int64(i) }
	stepZero := func(int) int64 { return 0 } // MLflow's log_metric without a step
	log := func(ps []store.MetricPoint) {
		t.Helper()
		for i := 0; i < len(ps); i += store.MaxMetricsPerCall {
			_, err := st.LogRun(ctx, "tester", store.RunLog{Run: run.Key, Metrics: ps[i:min(i+store.MaxMetricsPerCall, len(ps))]})
			require.NoError(t, err)
		}
	}
	count := func(key string) int64 {
		t.Helper()
		sums, err := st.RunMetrics(ctx, run.Key, []string{key})
		require.NoError(t, err)
		require.Len(t, sums, 1)
		return sums[0].Count
	}
	history := func(key string) []store.MetricPoint {
		t.Helper()
		var got []store.MetricPoint
		after := ""
		for {
			p, err := st.MetricHistory(ctx, run.Key, key, store.StepRange{}, store.MaxHistoryPage, after)
			require.NoError(t, err)
			got = append(got, p.Points...)
			if p.EndCursor == "" {
				return got
			}
			after = p.EndCursor
		}
	}

	for _, series := range []struct {
		key  string
		step func(int) int64
	}{{"loss", byStep}, {"loss-no-step", stepZero}} {
		first := points(series.key, 0, 1500, series.step) // a chunk of 1000 and a tail of 500
		log(first)
		require.Equal(t, int64(1500), count(series.key))
		before := history(series.key)

		log(first)                                   // the whole batch again
		log(points(series.key, 200, 1, series.step)) // a chunked point alone
		log(points(series.key, 1400, 1, series.step))
		assert.Equal(t, int64(1500), count(series.key), "%s: repeated points recorded once", series.key)
		assert.Equal(t, len(before), len(history(series.key)), series.key)

		// New points after and among the old ones are recorded, repeats in a batch once.
		more := points(series.key, 1500, 10, series.step)
		more = append(more, more[3], points(series.key, 100, 1, series.step)[0])
		other := points(series.key, 100, 1, series.step)[0]
		other.Value = -1 // same step and time, another value
		more = append(more, other)
		log(more)
		assert.Equal(t, int64(1511), count(series.key), series.key)
	}
}

// batchLogs are the logs the LogMetricsBatch test sends, for runs 0 to 2 by index: each
// run gets calls of 10 points on two metrics, interleaved with the other runs' calls,
// some out of step order, with NaN and ±Inf, a point given twice in a call, a call
// that repeats an earlier one, and points crossing a chunk boundary (run 0 has 995
// points before). Run is the run's index.
func batchLogs() []store.RunLog {
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	point := func(key string, step int, v float64) store.MetricPoint {
		return store.MetricPoint{Key: key, Value: v, Step: int64(step), Timestamp: t0.Add(time.Duration(step) * time.Second)}
	}
	var logs []store.RunLog
	for call := range 4 {
		for run := range 3 {
			var ps []store.MetricPoint
			for k := range 5 {
				step := 995 + call*5 + k
				if call == 2 {
					step = 100 + k // among the points recorded before
				}
				ps = append(ps, point("loss", step, 1/float64(step+run)), point("acc", step, float64(run*step)))
			}
			switch call {
			case 1:
				ps[3].Value, ps[5].Value = math.NaN(), math.Inf(-1)
				ps[9] = ps[0] // given twice
			case 3:
				ps = logs[run].Metrics // an earlier call again
			}
			logs = append(logs, store.RunLog{Run: string(rune('0' + run)), Metrics: ps})
		}
	}
	return logs
}

// The metric points of many runs written in one LogMetricsBatch land exactly as the
// same calls one LogRun at a time do: the same summaries and histories, chunks
// included. A missing run, a deleted run and a malformed log get their own errors (as
// LogRun's) and the others are recorded; sending the batch again records nothing
// twice; the transaction's audit entry lists the runs recorded.
func TestLogMetricsBatchIsLogRunInOneTransaction(t *testing.T) {
	t.Parallel()
	st, exp := auditedExperiment(t)
	ctx := t.Context()
	var one, batched []string
	for range 3 {
		one = append(one, newRun(t, st, exp.Key).Key)
		batched = append(batched, newRun(t, st, exp.Key).Key)
	}
	deleted := newRun(t, st, exp.Key).Key
	_, err := st.SetLifecycle(ctx, "tester", "run", deleted, store.KindRun, store.LifecycleDeleted)
	require.NoError(t, err)
	missing := store.RunKey(store.NewRunID())

	// Run 0's history before: 995 points, so the batch fills its first chunk.
	var before []store.MetricPoint
	for i := range 995 {
		before = append(before, store.MetricPoint{Key: "loss", Value: float64(i), Step: int64(i), Timestamp: time.UnixMilli(int64(i) * 1000)})
	}
	for _, run := range []string{one[0], batched[0]} {
		_, err := st.LogRun(ctx, "tester", store.RunLog{Run: run, Metrics: before})
		require.NoError(t, err)
	}

	logs := batchLogs()
	for _, l := range logs {
		_, err := st.LogRun(ctx, "tester", store.RunLog{Run: one[l.Run[0]-'0'], Metrics: l.Metrics})
		require.NoError(t, err)
	}
	var batch []store.RunLog
	for i, l := range logs {
		batch = append(batch, store.RunLog{Run: batched[l.Run[0]-'0'], Metrics: l.Metrics})
		if i == 4 {
			batch = append(batch, store.RunLog{Run: missing, Metrics: l.Metrics}, store.RunLog{Run: deleted, Metrics: l.Metrics},
				store.RunLog{Run: batched[1], Metrics: l.Metrics, Tags: []store.Tag{{Key: "k", Value: "v"}}},
				store.RunLog{Run: batched[2], Metrics: []store.MetricPoint{{Key: "late", Value: 1}}})
		}
	}
	errs, err := st.LogMetricsBatch(ctx, "batcher", batch)
	require.NoError(t, err)
	require.Len(t, errs, len(batch))
	refused := map[int]apperr.Code{5: apperr.NotFound, 6: apperr.InvalidArgument, 7: apperr.InvalidArgument, 8: apperr.InvalidArgument}
	for i, e := range errs {
		if code, ok := refused[i]; ok {
			assert.Equal(t, code, apperr.CodeOf(e), "log %d: %v", i, e)
			continue
		}
		assert.NoError(t, e, "log %d", i)
	}
	assert.Contains(t, errs[6].Error(), "is deleted", "the deleted run's error is LogRun's")
	for i, field := range map[int]string{5: "run", 6: "run", 7: "tags", 8: "metrics[0].timestamp"} {
		e, ok := apperr.As(errs[i])
		require.True(t, ok)
		assert.Equal(t, field, e.Field, "log %d", i)
	}

	again, err := st.LogMetricsBatch(ctx, "batcher", batch)
	require.NoError(t, err)
	assert.Equal(t, errs, again, "the same outcome the second time")

	for i := range 3 {
		assertSameMetrics(t, st, one[i], batched[i])
	}
	loss, err := st.RunMetrics(ctx, batched[0], []string{"loss"})
	require.NoError(t, err)
	require.Len(t, loss, 1)
	assert.Equal(t, int64(995+5+5+5), loss[0].Count, "a chunk filled; repeats, in a call and of a chunked point, recorded once")
	sums, err := st.RunMetrics(ctx, deleted, nil)
	require.NoError(t, err)
	assert.Empty(t, sums, "the deleted run got nothing")

	entries := entriesBy(t, st, "batcher", batched[0])
	require.Len(t, entries, 2, "one entry per batch")
	for _, e := range entries {
		assert.Equal(t, store.ActionRunLog, e.Action)
		assert.Equal(t, batched, e.Targets, "the runs recorded, in the order logged; not the refused ones")
	}
}

// assertSameMetrics checks that runs a and b hold the same metrics: summaries and
// every point of their histories.
func assertSameMetrics(t *testing.T, st *store.Store, a, b string) {
	t.Helper()
	ctx := t.Context()
	sa, err := st.RunMetrics(ctx, a, nil)
	require.NoError(t, err)
	sb, err := st.RunMetrics(ctx, b, nil)
	require.NoError(t, err)
	require.NotEmpty(t, sa)
	assert.Equal(t, sa, sb, "summaries of %s and %s", a, b)
	for _, m := range sa {
		ha, err := st.MetricHistory(ctx, a, m.Key, store.StepRange{}, store.MaxHistoryPage, "")
		require.NoError(t, err)
		hb, err := st.MetricHistory(ctx, b, m.Key, store.StepRange{}, store.MaxHistoryPage, "")
		require.NoError(t, err)
		require.Empty(t, ha.EndCursor, "one page holds the history")
		require.Equal(t, len(ha.Points), len(hb.Points), m.Key)
		for i := range ha.Points {
			pa, pb := ha.Points[i], hb.Points[i]
			same := pa.Step == pb.Step && pa.Timestamp.Equal(pb.Timestamp) &&
				(pa.Value == pb.Value || math.IsNaN(pa.Value) && math.IsNaN(pb.Value))
			assert.True(t, same, "%s point %d: %+v and %+v", m.Key, i, pa, pb)
		}
	}
}

// A batch of more runs than an audit entry lists gets an entry for every
// MaxAuditTargets of them, so that every run's history shows the write.
func TestLogMetricsBatchAuditsEveryRun(t *testing.T) {
	t.Parallel()
	st, exp := auditedExperiment(t)
	var logs []store.RunLog
	for range store.MaxAuditTargets + 1 {
		logs = append(logs, store.RunLog{Run: newRun(t, st, exp.Key).Key,
			Metrics: []store.MetricPoint{{Key: "loss", Value: 1, Timestamp: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}}})
	}
	errs, err := st.LogMetricsBatch(t.Context(), "batcher", logs)
	require.NoError(t, err)
	for _, e := range errs {
		require.NoError(t, e)
	}
	for i, l := range []store.RunLog{logs[0], logs[len(logs)-1]} {
		entries := entriesBy(t, st, "batcher", l.Run)
		require.Len(t, entries, 1, l.Run)
		assert.Equal(t, store.ActionRunLog, entries[0].Action)
		assert.Contains(t, entries[0].Targets, l.Run)
		assert.Len(t, entries[0].Targets, []int{store.MaxAuditTargets, 1}[i], "the first 100 runs, then the last")
	}
}

// auditedExperiment is a store on an audit chain of the test's own and an experiment
// on it.
func auditedExperiment(t *testing.T) (*store.Store, store.Node) {
	t.Helper()
	st, _ := neo4jtest.StoreWithOwnAuditChain(t)
	exp, err := st.CreateExperiment(t.Context(), "tester", store.ExperimentInput{Name: "batch-" + neo4jtest.Token(t)})
	require.NoError(t, err)
	return st, exp
}

// entriesBy sequences the audit log of st and returns the entries of actor about key.
func entriesBy(t *testing.T, st *store.Store, actor, key string) []store.AuditLogEntry {
	t.Helper()
	did, err := st.SequenceAudit(t.Context())
	require.NoError(t, err)
	require.True(t, did)
	page, err := st.AuditEntriesAbout(t.Context(), store.AuditLogQuery{About: []string{key}, First: 10})
	require.NoError(t, err)
	var out []store.AuditLogEntry
	for _, e := range page.Entries {
		if e.Actor == actor {
			out = append(out, e)
		}
	}
	return out
}

// A series logged a few points at a time, as SageMaker's BatchPutMetrics sends them,
// with a call retried: its history holds every point once, as logged, in order, across
// the chunks its open tail fills.
func TestMetricTailAppendedInSmallCalls(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	tk := neo4jtest.Token(t)
	ctx := t.Context()
	exp, err := st.CreateExperiment(ctx, "tester", store.ExperimentInput{Name: "small-calls-" + tk})
	require.NoError(t, err)
	run := newRun(t, st, exp.Key)
	t0 := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	const calls, per = 213, 10
	var logged []store.MetricPoint
	for c := range calls {
		var ps []store.MetricPoint
		for k := range per {
			i := c*per + k
			v := float64(i) / 3
			if i%101 == 0 {
				v = math.NaN()
			}
			ps = append(ps, store.MetricPoint{Key: "loss", Value: v, Step: int64(i), Timestamp: t0.Add(time.Duration(i) * time.Millisecond)})
		}
		_, err := st.LogRun(ctx, "tester", store.RunLog{Run: run.Key, Metrics: ps})
		require.NoError(t, err)
		logged = append(logged, ps...)
		if c == 150 { // a retried call, after the first chunk: recorded once
			_, err := st.LogRun(ctx, "tester", store.RunLog{Run: run.Key, Metrics: ps})
			require.NoError(t, err)
		}
	}
	got := metricHistory(t, st, run.Key, "loss", 1000)
	require.Len(t, got, len(logged))
	for i, p := range got {
		want := logged[i]
		require.Equal(t, want.Step, p.Step)
		require.True(t, want.Timestamp.Equal(p.Timestamp), "step %d: time %s, logged %s", p.Step, p.Timestamp, want.Timestamp)
		if math.IsNaN(want.Value) {
			require.True(t, math.IsNaN(p.Value), "step %d is NaN", p.Step)
		} else {
			require.Equal(t, want.Value, p.Value, "step %d", p.Step)
		}
	}
	sums, err := st.RunMetrics(ctx, run.Key, []string{"loss"})
	require.NoError(t, err)
	require.Len(t, sums, 1)
	assert.Equal(t, int64(calls*per), sums[0].Count)
	assert.Equal(t, int64(calls*per-1), sums[0].LastStep)
}

// LogRun answers with the run as it stands after the batch, the same as a read of it
// afterwards: with tags set and deleted in the batch, and with none, after the run
// was finished.
func TestLogRunAnswersTheRunAsRecorded(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	ctx := t.Context()
	exp, err := st.CreateExperiment(ctx, "tester", store.ExperimentInput{Name: "answer-" + neo4jtest.Token(t)})
	require.NoError(t, err)
	run := newRun(t, st, exp.Key)
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	point := func(step int64) []store.MetricPoint {
		return []store.MetricPoint{{Key: "loss", Value: 0.5, Step: step, Timestamp: at}}
	}
	_, err = st.LogRun(ctx, "tester", store.RunLog{Run: run.Key, Tags: []store.Tag{{Key: "a", Value: "1"}, {Key: "b", Value: "2"}}})
	require.NoError(t, err)

	tagged, err := st.LogRun(ctx, "tester", store.RunLog{Run: run.Key, Params: []store.Param{{Key: "lr", Value: "0.1"}},
		Metrics: point(1), Tags: []store.Tag{{Key: "a", Value: "3"}}, DeleteTags: []string{"b"}})
	require.NoError(t, err)
	read, err := st.NodeByID(ctx, "run", run.Key)
	require.NoError(t, err)
	assert.Equal(t, read, tagged)
	assert.Equal(t, []store.Tag{{Key: "a", Value: "3"}}, tagged.Tags())

	finished, end := store.RunFinished, time.Now().UTC().Truncate(time.Millisecond).Add(time.Minute)
	_, err = st.UpdateRun(ctx, "tester", store.RunUpdate{Run: run.Key, Status: &finished, EndTime: &end})
	require.NoError(t, err)
	plain, err := st.LogRun(ctx, "tester", store.RunLog{Run: run.Key, Metrics: point(2)})
	require.NoError(t, err)
	read, err = st.NodeByID(ctx, "run", run.Key)
	require.NoError(t, err)
	assert.Equal(t, read, plain)
	assert.Equal(t, string(store.RunFinished), plain.String("status"))
	assert.Equal(t, []store.Tag{{Key: "a", Value: "3"}}, plain.Tags())
}
