package store_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/internal/neo4jtest"
	"github.com/provgraph/provgraph/store"
)

// tailSegmentNames are the stored lists of a series' open tail, segment by segment
// (steps, timestamps, values), as store writes them: 10 segments of 100 points.
func tailSegmentNames() [][3]string {
	var out [][3]string
	for i := range store.MetricChunkSize / 100 {
		suffix := ""
		if i > 0 {
			suffix = strconv.Itoa(i)
		}
		out = append(out, [3]string{"tailSteps" + suffix, "tailTimestamps" + suffix, "tailValues" + suffix})
	}
	return out
}

// tailLayout is how many points each stored tail segment of run's metric key holds.
func tailLayout(t *testing.T, run, key string) []int64 {
	t.Helper()
	var names []string
	for _, seg := range tailSegmentNames() {
		names = append(names, seg[0])
	}
	res := neo4jtest.Exec(t, `MATCH (:`+store.LabelNode+` {key: $run})-[:`+store.RelHasMetric+`]->(m:`+store.LabelMetricSeries+` {key: $key})
RETURN [p IN $props | size(coalesce(m[p], []))] AS lens`, map[string]any{"run": run, "key": key, "props": names})
	require.Len(t, res.Records, 1)
	lens, _ := res.Records[0].Get("lens")
	var out []int64
	for _, n := range lens.([]any) {
		out = append(out, n.(int64))
	}
	return out
}

// requireSegmented fails unless the layout is the one store writes: full segments of
// 100, then at most one that is not full, then empty ones, holding want points.
func requireSegmented(t *testing.T, layout []int64, want int) {
	t.Helper()
	var total int64
	for i, n := range layout {
		total += n
		require.LessOrEqual(t, n, int64(100), "segment %d of %v", i, layout)
		if i > 0 && n > 0 {
			require.Equal(t, int64(100), layout[i-1], "segment %d before a stored one is not full: %v", i-1, layout)
		}
	}
	require.Equal(t, int64(want), total, "tail %v", layout)
}

// runsOfNewExperiment starts n runs in a new experiment named after name and the test.
func runsOfNewExperiment(t *testing.T, st *store.Store, name string, n int) []string {
	t.Helper()
	exp, err := st.CreateExperiment(t.Context(), "tester", store.ExperimentInput{Name: name + "-" + neo4jtest.Token(t)})
	require.NoError(t, err)
	runs := make([]string, n)
	for i := range runs {
		runs[i] = newRun(t, st, exp.Key).Key
	}
	return runs
}

func pointAt(key string, i int) store.MetricPoint {
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	return store.MetricPoint{Key: key, Step: int64(i), Value: float64(i) / 7, Timestamp: t0.Add(time.Duration(i) * time.Second)}
}

func pointsFrom(key string, lo, hi int) []store.MetricPoint {
	var out []store.MetricPoint
	for i := lo; i < hi; i++ {
		out = append(out, pointAt(key, i))
	}
	return out
}

func requireHistory(t *testing.T, st *store.Store, run, key string, n int) {
	t.Helper()
	got := metricHistory(t, st, run, key, 1000)
	require.Len(t, got, n)
	for i, p := range got {
		want := pointAt(key, i)
		require.Equal(t, want.Step, p.Step)
		require.Equal(t, want.Value, p.Value)
		require.True(t, want.Timestamp.Equal(p.Timestamp), "point %d at %v, want %v", i, p.Timestamp, want.Timestamp)
	}
}

// A series logged a few points at a time through the batch write (as BatchPutMetrics
// sends them, two runs in each transaction) keeps its open tail in segments of 100, a
// write reading and rewriting the last one; when the tail fills a chunk, the write
// reads it whole, and the chunk holds the first 1,000 points in order.
func TestMetricTailIsStoredInSegments(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	ctx := t.Context()
	runs := runsOfNewExperiment(t, st, "segments", 2)

	const n, call = 1005, 7
	for i := 0; i < n; i += call {
		logs := []store.RunLog{
			{Run: runs[0], Metrics: pointsFrom("loss", i, min(i+call, n))},
			{Run: runs[1], Metrics: pointsFrom("acc", i, min(i+call, n))},
		}
		errs, err := st.LogMetricsBatch(ctx, "tester", logs)
		require.NoError(t, err)
		require.Equal(t, []error{nil, nil}, errs)
		if logged := min(i+call, n); logged < store.MetricChunkSize && (logged/call)%20 == 0 {
			requireSegmented(t, tailLayout(t, runs[0], "loss"), logged)
		}
	}
	for i, run := range runs {
		key := []string{"loss", "acc"}[i]
		requireSegmented(t, tailLayout(t, run, key), n-store.MetricChunkSize)
		requireHistory(t, st, run, key, n)
		chunks := neo4jtest.Exec(t, `MATCH (:`+store.LabelNode+` {key: $run})-[:`+store.RelHasMetric+`]->(m:`+store.LabelMetricSeries+`)
MATCH (c:`+store.LabelMetricChunk+` {sid: m.sid}) RETURN c.n AS n, c.minStep AS lo, c.maxStep AS hi`, map[string]any{"run": run})
		require.Len(t, chunks.Records, 1)
		got := chunks.Records[0].AsMap()
		assert.Equal(t, map[string]any{"n": int64(1000), "lo": int64(0), "hi": int64(999)}, got)
		sums, err := st.RunMetrics(ctx, run, nil)
		require.NoError(t, err)
		require.Len(t, sums, 1)
		assert.Equal(t, int64(n), sums[0].Count)
	}
}

// Points that repeat ones recorded in an earlier tail segment, which a write in step
// order does not read, are recognised and recorded once.
func TestMetricRepeatsInEarlierTailSegmentsAreRecordedOnce(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	ctx := t.Context()
	run := runsOfNewExperiment(t, st, "repeats", 1)[0]

	for i := 0; i < 250; i += 50 {
		_, err := st.LogRun(ctx, "tester", store.RunLog{Run: run, Metrics: pointsFrom("loss", i, i+50)})
		require.NoError(t, err)
	}
	require.Equal(t, []int64{100, 100, 50, 0, 0, 0, 0, 0, 0, 0}, tailLayout(t, run, "loss"))

	// A retry of the first ten points, with ten new ones.
	again := append(pointsFrom("loss", 0, 10), pointsFrom("loss", 250, 260)...)
	_, err := st.LogRun(ctx, "tester", store.RunLog{Run: run, Metrics: again})
	require.NoError(t, err)
	requireHistory(t, st, run, "loss", 260)
	requireSegmented(t, tailLayout(t, run, "loss"), 260)
	sums, err := st.RunMetrics(ctx, run, nil)
	require.NoError(t, err)
	assert.Equal(t, int64(260), sums[0].Count)
}

// A tail stored whole, as series were before segments, reads as it was and is split
// into segments by the next write.
func TestMetricTailStoredWholeIsSplitOnTheNextWrite(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	ctx := t.Context()
	run := runsOfNewExperiment(t, st, "whole", 1)[0]

	_, err := st.LogRun(ctx, "tester", store.RunLog{Run: run, Metrics: pointsFrom("loss", 0, 450)})
	require.NoError(t, err)
	// Store the tail as one list of each, as before segments.
	segs := tailSegmentNames()
	var steps, ts, values []string
	for _, seg := range segs {
		steps, ts, values = append(steps, seg[0]), append(ts, seg[1]), append(values, seg[2])
	}
	neo4jtest.Exec(t, `MATCH (:`+store.LabelNode+` {key: $run})-[:`+store.RelHasMetric+`]->(m:`+store.LabelMetricSeries+`)
WITH m, reduce(a = [], p IN $steps | a + coalesce(m[p], [])) AS s,
     reduce(a = [], p IN $ts | a + coalesce(m[p], [])) AS t,
     reduce(a = [], p IN $values | a + coalesce(m[p], [])) AS v
SET m = m {.*, tailSteps: s, tailTimestamps: t, tailValues: v,
  tailSteps1: null, tailSteps2: null, tailSteps3: null, tailSteps4: null,
  tailTimestamps1: null, tailTimestamps2: null, tailTimestamps3: null, tailTimestamps4: null,
  tailValues1: null, tailValues2: null, tailValues3: null, tailValues4: null}`,
		map[string]any{"run": run, "steps": steps, "ts": ts, "values": values})
	require.Equal(t, []int64{450, 0, 0, 0, 0, 0, 0, 0, 0, 0}, tailLayout(t, run, "loss"))
	requireHistory(t, st, run, "loss", 450)

	for i := 450; i < 470; i += 5 {
		_, err := st.LogRun(ctx, "tester", store.RunLog{Run: run, Metrics: pointsFrom("loss", i, i+5)})
		require.NoError(t, err)
	}
	requireSegmented(t, tailLayout(t, run, "loss"), 470)
	requireHistory(t, st, run, "loss", 470)
}

// atOneStep is n points of key at step 0, a second apart from the i-th second on, as
// MLflow's log_metric without a step logs them.
func atOneStep(key string, i, n int) []store.MetricPoint {
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	out := make([]store.MetricPoint, n)
	for j := range out {
		out[j] = store.MetricPoint{Key: key, Step: 0, Value: float64(i+j) / 7, Timestamp: t0.Add(time.Duration(i+j) * time.Second)}
	}
	return out
}

func requireCount(t *testing.T, st *store.Store, run string, n int) {
	t.Helper()
	sums, err := st.RunMetrics(t.Context(), run, nil)
	require.NoError(t, err)
	require.Len(t, sums, 1)
	require.Equal(t, int64(n), sums[0].Count)
	require.Len(t, metricHistory(t, st, run, sums[0].Key, 1000), n)
}

// Points logged at one step, later and later, as MLflow's log_metric without a step
// logs them, are all recorded; retried ones, in the last tail segment or an earlier
// one, are recorded once.
func TestMetricPointsAtOneStepAndTheirRetries(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	ctx := t.Context()
	run := runsOfNewExperiment(t, st, "onestep", 1)[0]

	for i := 0; i < 250; i += 50 {
		_, err := st.LogRun(ctx, "tester", store.RunLog{Run: run, Metrics: atOneStep("loss", i, 50)})
		require.NoError(t, err)
	}
	requireCount(t, st, run, 250)
	require.Equal(t, []int64{100, 100, 50, 0, 0, 0, 0, 0, 0, 0}, tailLayout(t, run, "loss"))

	// The last batch again.
	_, err := st.LogRun(ctx, "tester", store.RunLog{Run: run, Metrics: atOneStep("loss", 200, 50)})
	require.NoError(t, err)
	requireCount(t, st, run, 250)
	// Points of the second segment again, with ten new ones.
	_, err = st.LogRun(ctx, "tester", store.RunLog{Run: run, Metrics: append(atOneStep("loss", 120, 10), atOneStep("loss", 250, 10)...)})
	require.NoError(t, err)
	requireCount(t, st, run, 260)
}
