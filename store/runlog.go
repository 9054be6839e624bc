package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"

	"github.com/provgraph/provgraph/apperr"
)

// ParamNumber renders a numeric parameter value the way it is stored and searched:
// whole numbers (up to 2^53) as integers, others in their shortest form.
func ParamNumber(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) <= 1<<53 {
		return strconv.FormatInt(int64(v), 10)
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// MetricPoint is one logged value of a metric. Value may be NaN or ±Inf: it is stored
// and returned as logged.
type MetricPoint struct {
	Key       string
	Value     float64
	Step      int64
	Timestamp time.Time
}

// RunLog is one batch of logging for a run: it lands whole or not at all.
type RunLog struct {
	Run        string // the run's node ID
	Params     []Param
	Metrics    []MetricPoint
	Tags       []Tag
	DeleteTags []string
}

// MetricChunkSize is how many points one stored chunk of a metric's history holds.
// A metric's newest points (fewer than a chunk) stay on its series record, so logging
// one point at a time rewrites at most a chunk's worth of data, and a history of a
// million points is a thousand chunks, each with its extremes precomputed.
const MetricChunkSize = 1000

// The open tail (fewer than MetricChunkSize points) is stored in segments of
// metricTailSegment points, each segment three lists of its own (tailProps), so that a
// call appending a few points rewrites the last segment, not the whole tail: Neo4j
// rewrites a list property whole, and before segments a series logged 10 points at a
// time (SageMaker's BatchPutMetrics) rewrote about 500 points' lists per call.
// Segment 0 has the names the tail had before, so a tail stored whole reads as one
// long first segment, and is split into segments the first time it is written.
const (
	metricTailSegment  = 100
	metricTailSegments = MetricChunkSize / metricTailSegment
)

// metricTailSegmentsMigration changes nothing stored; its version marks the database
// as one where tails are kept in segments, so that a provgraph from before (which
// reads and writes only the first segment's lists, and so would miss points and
// record repeats again) refuses it, and one still running reports not ready.
var metricTailSegmentsMigration = Migration{
	Version:     16,
	Description: "metric series keep their open tail in segments of 100 points (a provgraph before this version reads only the first)",
}

// tailProps[i] are the properties of tail segment i: steps, timestamps, values.
var tailProps = func() (p [metricTailSegments][3]string) {
	for i := range p {
		suffix := ""
		if i > 0 {
			suffix = strconv.Itoa(i)
		}
		p[i] = [3]string{"tailSteps" + suffix, "tailTimestamps" + suffix, "tailValues" + suffix}
	}
	return p
}()

// tailProjection is the map projection of a series' tail segments.
var tailProjection = "{" + strings.Join(tailNames(func(seg [3]string) []string {
	return []string{"." + seg[0], "." + seg[1], "." + seg[2]}
}), ", ") + "}"

// seriesProjection is what a write reads of a stored series: its summary, how many
// points each tail segment holds (tailLens) and the last segment that holds any
// (tailLast: its index and its three lists). The rest of the tail is read only when a
// write needs it (loadTails), so that logging in step order reads and rewrites one
// segment, not the whole tail.
var seriesProjection = "{.sid, .count, .finite, .mean, .m2, .min, .max, .last, .lastStep, .lastTimestamp, " +
	".chunks, .chunkedMaxStep, .chunkedMaxTimestamp, tailLens: [" +
	strings.Join(tailNames(func(seg [3]string) []string { return []string{"size(coalesce(m." + seg[0] + ", []))"} }), ", ") +
	"], tailLast: CASE" + strings.Join(func() (out []string) {
	for i := metricTailSegments - 1; i >= 0; i-- {
		seg := tailProps[i]
		out = append(out, fmt.Sprintf(" WHEN m.%[2]s IS NOT NULL THEN [%[1]d, m.%[2]s, m.%[3]s, m.%[4]s]", i, seg[0], seg[1], seg[2]))
	}
	return out
}(), "") + " END}"

// tailNames is f of every tail segment's properties, in segment order, flattened.
func tailNames(f func(seg [3]string) []string) []string {
	var out []string
	for _, seg := range tailProps {
		out = append(out, f(seg)...)
	}
	return out
}

// storedTail is the open tail of the stored series m (a map holding every tail
// segment's lists, tailProjection), its segments joined in order, and how many points
// each segment held.
func storedTail(m map[string]any) (steps, ts []int64, values []float64, lens [metricTailSegments]int) {
	for i, seg := range tailProps {
		s, t, v := int64s(m[seg[0]]), int64s(m[seg[1]]), float64s(m[seg[2]])
		lens[i] = len(s)
		steps, ts, values = append(steps, s...), append(ts, t...), append(values, v...)
	}
	return steps, ts, values, lens
}

// tailSegmentProps sets, in props, the tail segments a write of st changes: from the
// segment where st's known part of the tail begins (st.tailFrom), or, when the whole
// tail is known, from the first segment that is not full, unless the stored layout is
// not the one this writes (a tail stored whole, before segments) or points went into
// chunks (flushed): then every segment. A segment left empty is removed (null) when
// it held points.
func tailSegmentProps(props map[string]any, st seriesState, flushed bool) {
	from := st.tailFrom / metricTailSegment
	if st.tailFrom == 0 && !flushed {
		for from < metricTailSegments && st.tailLens[from] == metricTailSegment {
			from++
		}
		for _, n := range st.tailLens[min(from+1, metricTailSegments):] {
			if n != 0 {
				from = 0
				break
			}
		}
		if from < metricTailSegments && st.tailLens[from] > metricTailSegment {
			from = 0
		}
	}
	for i := from; i < metricTailSegments; i++ {
		lo := min(max(i*metricTailSegment-st.tailFrom, 0), len(st.tailSteps))
		hi := min(max((i+1)*metricTailSegment-st.tailFrom, 0), len(st.tailSteps))
		if lo >= hi && st.tailLens[i] == 0 {
			continue // empty and stored empty: a null would cost a lookup for nothing
		}
		var steps, ts, values any
		if lo < hi {
			steps, ts, values = st.tailSteps[lo:hi], st.tailTS[lo:hi], st.tailValues[lo:hi]
		}
		props[tailProps[i][0]], props[tailProps[i][1]], props[tailProps[i][2]] = steps, ts, values
	}
}

// How points are stored: each run×metric has one :MetricSeries record (the summary
// searches and compare read: count, finite count, mean and M2 (Welford), min, max, the
// last point, and the open tail of points) and :MetricChunk records of
// MetricChunkSize points each (steps, values and timestamps as three lists, with the
// chunk's step range and its first, last, min and max points for down-sampling). A
// batch of 1,000 points for one key is one chunk write, which is why the batch APIs
// scale: the cost is per chunk, not per point.

const (
	cypherParamsOfRun = `
MATCH (:` + LabelNode + ` {key: $run})-[:` + RelHasParam + `]->(p:` + LabelParam + `)
WHERE p.key IN $keys
RETURN p.key AS key, p.value AS value`

	cypherAddParams = `
MATCH (r:` + LabelNode + ` {key: $run})
UNWIND $params AS row
MERGE (p:` + LabelParam + ` {pid: row.pid})
  ON CREATE SET p.key = row.key, p.value = row.value
CREATE (r)-[:` + RelHasParam + ` {recordedAt: datetime.transaction(), recordedBy: $actor, exp: r.experimentId, pid: row.pid}]->(p)`

	cypherSetRunTags = `
MATCH (r:` + LabelNode + ` {key: $run})
WITH r, r {.tagKeys, .tagValues} AS old
SET r.tagKeys = $tagKeys, r.tagValues = $tagValues
RETURN r, old`

	// cypherChunksAround reads the points of the chunks that could hold points of a
	// batch: those overlapping its step range and, when they know theirs, its timestamp
	// range (chunks written before timestamp ranges were kept do not).
	cypherChunksAround = `
UNWIND $checks AS q
MATCH (c:` + LabelMetricChunk + `)
WHERE c.sid = q.sid AND c.seq >= 0 AND c.maxStep >= q.lo AND c.minStep <= q.hi
  AND (c.maxTimestamp IS NULL OR c.maxTimestamp >= q.tlo AND c.minTimestamp <= q.thi)
RETURN q.i AS i, c.steps AS steps, c.timestamps AS ts, c.values AS vs`

	// cypherWriteSeries writes the series of one or many runs (s.run).
	cypherWriteSeries = `
UNWIND $series AS s
MATCH (r:` + LabelNode + ` {key: s.run})
MERGE (m:` + LabelMetricSeries + ` {sid: s.sid})
SET m += s.props, m.exp = r.experimentId
FOREACH (_ IN CASE WHEN s.isNew THEN [1] ELSE [] END | CREATE (r)-[:` + RelHasMetric + `]->(m))
WITH s
UNWIND s.chunks AS c
CREATE (ch:` + LabelMetricChunk + `)
SET ch = c`
)

// paramID identifies a (key, value) pair: the shared :Param node of that pair.
func paramID(key, value string) string {
	sum := sha256.Sum256([]byte(key + "\x00" + value))
	return hex.EncodeToString(sum[:16])
}

// seriesID identifies a run×metric series.
func seriesID(run, key string) string { return run + "\x00" + key }

// LogRun records a batch of parameters, metric points and tags for a run, in one
// transaction: the batch lands whole or not at all. A parameter, once logged, is
// immutable: the same value again is accepted, another is a CONFLICT naming the key and
// both values. Tags: the last write wins. A deleted run takes no logging.
func (s *Store) LogRun(ctx context.Context, actor string, l RunLog) (Node, error) {
	if err := RequireKind("run", l.Run, KindRun, "run:<run id>"); err != nil {
		return Node{}, err
	}
	params, err := checkParams(l.Params, MaxParamsPerCall)
	if err != nil {
		return Node{}, err
	}
	if err := checkMetricPoints(l.Metrics); err != nil {
		return Node{}, err
	}
	if len(l.Tags) > MaxTagsPerCall {
		return Node{}, apperr.Invalid("tags", "must hold at most %d tags per call (got %d)", MaxTagsPerCall, len(l.Tags))
	}
	if _, _, err := checkTags("tags", l.Tags); err != nil {
		return Node{}, err
	}
	return write(ctx, s, actor, ActionRunLog, func(tx neo4j.ManagedTransaction, au *audit) (Node, error) {
		return logRun(ctx, tx, au, actor, l, params)
	})
}

// logRun records the checked batch l (params) in tx (LogRun, RecordRun).
func logRun(ctx context.Context, tx neo4j.ManagedTransaction, au *audit, actor string, l RunLog, params []indexedParam) (Node, error) {
	au.target(l.Run)
	r, err := lockActiveRun(ctx, tx, "run", l.Run)
	if err != nil {
		return Node{}, err
	}
	if err := logParams(ctx, tx, actor, l.Run, params); err != nil {
		return Node{}, err
	}
	if len(l.Tags) > 0 || len(l.DeleteTags) > 0 {
		keys, values, err := mergeTags(r.Tags(), l.Tags, l.DeleteTags)
		if err != nil {
			return Node{}, apperr.WithField(err, "setTags", "tags")
		}
		recs, err := collect(ctx, tx, cypherSetRunTags, map[string]any{"run": l.Run, "tagKeys": keys, "tagValues": values})
		if err != nil {
			return Node{}, fmt.Errorf("tag run %q: %w", l.Run, err)
		}
		old, tagged, err := changedNodeAt(recs[0], "r", "old")
		if err != nil {
			return Node{}, err
		}
		au.changeNode(old, tagged, true)
		r = tagged
	}
	if err := logMetrics(ctx, tx, []RunLog{{Run: l.Run, Metrics: l.Metrics}}); err != nil {
		return Node{}, err
	}
	// Parameters and metrics are nodes of their own: the run is as read under its
	// lock, or as its tags left it.
	return r, nil
}

// lockActiveRun takes the run's write lock (so concurrent batches to one run queue)
// and returns it; a deleted run is an INVALID_ARGUMENT error about field.
func lockActiveRun(ctx context.Context, tx neo4j.ManagedTransaction, field, key string) (Node, error) {
	// Lock, then read, in one statement: what is read (tags, lifecycle) cannot change
	// before commit.
	recs, err := collect(ctx, tx, cypherLockAndReadNode, map[string]any{"key": key})
	if err != nil {
		return Node{}, fmt.Errorf("lock run %q: %w", key, err)
	}
	if len(recs) == 0 {
		return Node{}, notFound(field, key)
	}
	r, err := nodeAt(recs[0], "n")
	if err != nil {
		return Node{}, err
	}
	if Lifecycle(r.String(propLifecycle)) == LifecycleDeleted {
		return Node{}, deletedRun(field, key)
	}
	return r, nil
}

// deletedRun is the error of logging to the deleted run key, about field.
func deletedRun(field, key string) error {
	return apperr.Invalid(field, "run %q is deleted; restore it before logging to it", key)
}

// indexedParam is a parameter with its position in the batch, for error fields.
type indexedParam struct {
	Param
	index int
}

// checkParams validates a batch's parameters and returns them without repeats.
func checkParams(ps []Param, maxParams int) ([]indexedParam, error) {
	if len(ps) > maxParams {
		return nil, apperr.Invalid("params", "must hold at most %d parameters per call (got %d)", maxParams, len(ps))
	}
	seen := make(map[string]int, len(ps))
	out := make([]indexedParam, 0, len(ps))
	for i, p := range ps {
		f := fmt.Sprintf("params[%d]", i)
		if err := checkText(f+".key", p.Key, MaxParamKeyLength); err != nil {
			return nil, err
		}
		if err := checkProse(f+".value", &p.Value, MaxParamValueLength); err != nil {
			return nil, err
		}
		if j, ok := seen[p.Key]; ok {
			if ps[j].Value != p.Value {
				return nil, apperr.Conflicting(f+".value", "parameter %q is given twice in this batch, as %q and %q",
					truncateForMessage(p.Key), truncateForMessage(ps[j].Value), truncateForMessage(p.Value))
			}
			continue
		}
		seen[p.Key] = i
		out = append(out, indexedParam{p, i})
	}
	return out, nil
}

// checkMetricPoints validates a batch's metric points.
func checkMetricPoints(ms []MetricPoint) error {
	if len(ms) > MaxMetricsPerCall {
		return apperr.Invalid("metrics", "must hold at most %d points per call (got %d)", MaxMetricsPerCall, len(ms))
	}
	for i, m := range ms {
		if err := checkText(fmt.Sprintf("metrics[%d].key", i), m.Key, MaxParamKeyLength); err != nil {
			return err
		}
		if m.Timestamp.IsZero() {
			return apperr.Invalid(fmt.Sprintf("metrics[%d].timestamp", i), "must be set")
		}
		if err := checkTime(fmt.Sprintf("metrics[%d].timestamp", i), m.Timestamp); err != nil {
			return err
		}
	}
	return nil
}

func logParams(ctx context.Context, tx neo4j.ManagedTransaction, actor, run string, params []indexedParam) error {
	if len(params) == 0 {
		return nil
	}
	keys := make([]string, len(params))
	for i, p := range params {
		keys[i] = p.Key
	}
	recs, err := collect(ctx, tx, cypherParamsOfRun, map[string]any{"run": run, "keys": keys})
	if err != nil {
		return fmt.Errorf("parameters of %q: %w", run, err)
	}
	logged := make(map[string]string, len(recs))
	for _, r := range recs {
		k, _ := r.Get("key")
		v, _ := r.Get("value")
		logged[k.(string)], _ = v.(string)
	}
	var rows []map[string]any
	for _, p := range params {
		if old, ok := logged[p.Key]; ok {
			if old != p.Value {
				return apperr.Conflicting(fmt.Sprintf("params[%d].value", p.index),
					"parameter %q of run %q was logged as %q; got %q (parameters are immutable)",
					truncateForMessage(p.Key), run, truncateForMessage(old), truncateForMessage(p.Value))
			}
			continue
		}
		rows = append(rows, map[string]any{"pid": paramID(p.Key, p.Value), "key": p.Key, "value": p.Value})
	}
	if len(rows) == 0 {
		return nil
	}
	if _, err := collect(ctx, tx, cypherAddParams, map[string]any{"run": run, "params": rows, "actor": actor}); err != nil {
		return fmt.Errorf("log parameters of %q: %w", run, err)
	}
	return nil
}

// seriesState is a run×metric summary as stored on its :MetricSeries record.
type seriesState struct {
	count, finite     int64
	mean, m2          float64
	min, max          float64
	lastStep, lastTS  int64
	last              float64
	chunks            int64
	tailSteps, tailTS []int64
	tailValues        []float64
	// tailLens is how many points each stored tail segment held. tailSteps, tailTS
	// and tailValues hold the tail from position tailFrom on (0: all of it; else the
	// start of the last stored segment, which seriesProjection reads), then the points
	// added. tailFrom is -1 when the stored layout is not one this code writes and the
	// whole tail must be read before a write (loadTails).
	tailLens               [metricTailSegments]int
	tailFrom               int
	hasLast, hasMinMax, ok bool
	// chunkedMaxStep and chunkedMaxTS bound the points in the series' chunks, when
	// chunkedKnown: series chunked before the bounds were kept have none. Without
	// chunks they mean nothing.
	chunkedMaxStep, chunkedMaxTS int64
	chunkedKnown                 bool
}

func seriesFrom(m map[string]any) seriesState {
	s := seriesState{ok: true}
	s.count, _ = m["count"].(int64)
	s.finite, _ = m["finite"].(int64)
	s.mean, _ = m["mean"].(float64)
	s.m2, _ = m["m2"].(float64)
	s.min, s.hasMinMax = m["min"].(float64)
	s.max, _ = m["max"].(float64)
	s.last, s.hasLast = m["last"].(float64)
	s.lastStep, _ = m["lastStep"].(int64)
	s.lastTS, _ = m["lastTimestamp"].(int64)
	s.chunks, _ = m["chunks"].(int64)
	// A write's read (seriesProjection) holds the tail's layout; a summary's holds no
	// tail, and needs none.
	if lens, ok := m["tailLens"].([]any); ok {
		s.tailLensFrom(lens, m["tailLast"])
	}
	s.chunkedMaxStep, s.chunkedKnown = m["chunkedMaxStep"].(int64)
	s.chunkedMaxTS, _ = m["chunkedMaxTimestamp"].(int64)
	return s
}

// tailLensFrom sets the tail as seriesProjection read it: the segments' lengths and
// the last stored segment's points.
func (s *seriesState) tailLensFrom(lens []any, last any) {
	for i, n := range lens[:min(len(lens), metricTailSegments)] {
		v, _ := n.(int64)
		s.tailLens[i] = int(v)
	}
	seg, _ := last.([]any)
	if len(seg) != 4 {
		return // no tail stored
	}
	at, _ := seg[0].(int64)
	for _, n := range s.tailLens[:at] {
		s.tailFrom += n
	}
	if s.tailFrom != int(at)*metricTailSegment {
		s.tailFrom = -1 // segments before the last are not full: read it all
		return
	}
	s.tailSteps, s.tailTS, s.tailValues = int64s(seg[1]), int64s(seg[2]), float64s(seg[3])
}

// tailLen is how many points the tail holds, with those added.
func (s *seriesState) tailLen() int { return max(s.tailFrom, 0) + len(s.tailSteps) }

func int64s(v any) []int64 {
	l, _ := v.([]any)
	out := make([]int64, len(l))
	for i, x := range l {
		out[i], _ = x.(int64)
	}
	return out
}

func float64s(v any) []float64 {
	l, _ := v.([]any)
	out := make([]float64, len(l))
	for i, x := range l {
		out[i], _ = x.(float64)
	}
	return out
}

// add folds a point into the summary and the tail.
func (s *seriesState) add(step, ts int64, v float64) {
	s.count++
	if !math.IsNaN(v) && !math.IsInf(v, 0) {
		// Welford's update keeps the mean and the sum of squared deviations exact
		// enough where a sum of squares would cancel (1e9 and 1e9+1).
		s.finite++
		delta := v - s.mean
		s.mean += delta / float64(s.finite)
		s.m2 += delta * (v - s.mean)
		if !s.hasMinMax || v < s.min {
			s.min = v
		}
		if !s.hasMinMax || v > s.max {
			s.max = v
		}
		s.hasMinMax = true
	}
	// The last point is the one with the highest step, then the latest timestamp, then
	// the largest value (MLflow's latest metric value).
	if !s.hasLast || step > s.lastStep || (step == s.lastStep && (ts > s.lastTS ||
		ts == s.lastTS && (v > s.last || math.IsNaN(s.last) && !math.IsNaN(v)))) {
		s.last, s.lastStep, s.lastTS, s.hasLast = v, step, ts, true
	}
	s.tailSteps = append(s.tailSteps, step)
	s.tailTS = append(s.tailTS, ts)
	s.tailValues = append(s.tailValues, v)
}

// seriesPoints is one run×metric series of a batch and the points logged to it, in
// the order logged.
type seriesPoints struct {
	run, key, sid string
	points        []MetricPoint
}

// bySeries groups the metric points of logs by run and metric, each series in the
// order first logged and its points in the order logged: points logged to a run by
// several logs land as if the logs came one after another.
func bySeries(logs []RunLog) []seriesPoints {
	var out []seriesPoints
	at := map[string]int{}
	for _, l := range logs {
		for _, p := range l.Metrics {
			sid := seriesID(l.Run, p.Key)
			i, ok := at[sid]
			if !ok {
				i = len(out)
				at[sid] = i
				out = append(out, seriesPoints{run: l.Run, key: p.Key, sid: sid})
			}
			out[i].points = append(out[i].points, p)
		}
	}
	return out
}

// runsNamed names the runs of logs in a message: the run of one log, else how many
// logs.
func runsNamed(logs []RunLog) string {
	if len(logs) == 1 {
		return strconv.Quote(logs[0].Run)
	}
	return strconv.Itoa(len(logs)) + " logs"
}

// logMetrics records the metric points of logs (LogRun's one) with three statements at
// most, however many runs and series: the series are read in one, then writeMetrics.
func logMetrics(ctx context.Context, tx neo4j.ManagedTransaction, logs []RunLog) error {
	series := bySeries(logs)
	if len(series) == 0 {
		return nil
	}
	sids := make([]string, len(series))
	for i, sp := range series {
		sids[i] = sp.sid
	}
	recs, err := collect(ctx, tx, cypherSeriesOf, map[string]any{"sids": sids})
	if err != nil {
		return fmt.Errorf("metric series of %s: %w", runsNamed(logs), err)
	}
	existing := make(map[string]seriesState, len(recs))
	for _, r := range recs {
		m, _ := r.Get("m")
		addSeries(existing, m)
	}
	return writeMetrics(ctx, tx, logs, series, existing)
}

// addSeries adds the stored series m, a map of its properties, to existing by sid.
func addSeries(existing map[string]seriesState, m any) {
	props, _ := m.(map[string]any)
	sid, _ := props["sid"].(string)
	existing[sid] = seriesFrom(props)
}

// cypherSeriesOf reads the stored series of sids, as writes need them.
var cypherSeriesOf = `
UNWIND $sids AS sid
MATCH (m:` + LabelMetricSeries + ` {sid: sid})
RETURN m ` + seriesProjection + ` AS m`

// cypherTailsOf reads the whole tails of the series sids.
var cypherTailsOf = `
UNWIND $sids AS sid
MATCH (m:` + LabelMetricSeries + ` {sid: sid})
RETURN sid, m ` + tailProjection + ` AS m`

// loadTails reads the whole stored tail of each series of the batch that needs it —
// points that could repeat recorded ones are looked up in it, and a tail that fills a
// chunk is written out as one — and whose write read only the tail's last segment,
// with one statement for all of them.
func loadTails(ctx context.Context, tx neo4j.ManagedTransaction, series []seriesPoints, existing map[string]seriesState) error {
	var sids []string
	for _, sp := range series {
		st := existing[sp.sid]
		if !st.ok || st.tailFrom == 0 {
			continue
		}
		needed := st.tailFrom < 0 || st.tailLen()+len(sp.points) >= MetricChunkSize
		for _, p := range sp.points {
			needed = needed || p.Step <= st.lastStep
		}
		if needed {
			sids = append(sids, sp.sid)
		}
	}
	if len(sids) == 0 {
		return nil
	}
	recs, err := collect(ctx, tx, cypherTailsOf, map[string]any{"sids": sids})
	if err != nil {
		return err
	}
	for _, r := range recs {
		sid, _ := r.Get("sid")
		m, _ := r.Get("m")
		st := existing[sid.(string)]
		st.tailSteps, st.tailTS, st.tailValues, st.tailLens = storedTail(m.(map[string]any))
		st.tailFrom = 0
		existing[sid.(string)] = st
	}
	return nil
}

// writeMetrics records the points of logs, grouped as series (bySeries), whose stored
// series are existing (read under the runs' locks), with two statements at most: the
// chunks that could hold repeated points are read in one, and every series and new
// chunk written in one.
func writeMetrics(ctx context.Context, tx neo4j.ManagedTransaction, logs []RunLog, series []seriesPoints, existing map[string]seriesState) error {
	if err := loadTails(ctx, tx, series, existing); err != nil {
		return fmt.Errorf("metric tails of %s: %w", runsNamed(logs), err)
	}
	fresh, err := newPoints(ctx, tx, series, existing)
	if err != nil {
		return fmt.Errorf("metric points of %s: %w", runsNamed(logs), err)
	}
	rows := make([]map[string]any, 0, len(series))
	for i, sp := range series {
		if len(fresh[i]) > 0 { // else every point is recorded already
			row, err := seriesRow(sp, existing[sp.sid], fresh[i])
			if err != nil {
				return err
			}
			rows = append(rows, row)
		}
	}
	if len(rows) == 0 {
		return nil
	}
	if _, err := collect(ctx, tx, cypherWriteSeries, map[string]any{"series": rows}); err != nil {
		return fmt.Errorf("log metrics of %s: %w", runsNamed(logs), err)
	}
	return nil
}

// seriesRow is the write of series sp, stored as st, with its new points fresh: the
// series record's summary and open tail, and the chunks the tail fills. A tail that
// fills a chunk must have been read whole (loadTails): else the write is refused, as
// it would lose the points it did not read (and so is one whose stored layout was not
// understood).
func seriesRow(sp seriesPoints, st seriesState, fresh []MetricPoint) (map[string]any, error) {
	isNew := !st.ok
	for _, p := range fresh {
		st.add(p.Step, p.Timestamp.UnixMilli(), p.Value)
	}
	if st.tailFrom < 0 || st.tailFrom > 0 && st.tailLen() >= MetricChunkSize {
		return nil, fmt.Errorf("metric series %s: the tail fills a chunk but was not read whole", sp.sid)
	}
	var chunks []map[string]any
	for len(st.tailSteps) >= MetricChunkSize {
		chunk := chunkRow(sp.sid, st.chunks, st.tailSteps[:MetricChunkSize],
			st.tailTS[:MetricChunkSize], st.tailValues[:MetricChunkSize])
		chunks = append(chunks, chunk)
		step, ts := chunk["maxStep"].(int64), chunk["maxTimestamp"].(int64)
		if st.chunks == 0 {
			st.chunkedMaxStep, st.chunkedMaxTS, st.chunkedKnown = step, ts, true
		} else {
			st.chunkedMaxStep, st.chunkedMaxTS = max(st.chunkedMaxStep, step), max(st.chunkedMaxTS, ts)
		}
		st.chunks++
		st.tailSteps, st.tailTS, st.tailValues = st.tailSteps[MetricChunkSize:], st.tailTS[MetricChunkSize:], st.tailValues[MetricChunkSize:]
	}
	props := map[string]any{
		"run": sp.run, "key": sp.key, "count": st.count, "finite": st.finite, "mean": st.mean, "m2": st.m2,
		"last": st.last, "lastStep": st.lastStep, "lastTimestamp": st.lastTS, "chunks": st.chunks,
		"min": nil, "max": nil, "chunkedMaxStep": nil, "chunkedMaxTimestamp": nil,
	}
	tailSegmentProps(props, st, len(chunks) > 0)
	if st.hasMinMax {
		props["min"], props["max"] = st.min, st.max
	}
	if st.chunkedKnown {
		props["chunkedMaxStep"], props["chunkedMaxTimestamp"] = st.chunkedMaxStep, st.chunkedMaxTS
	}
	return map[string]any{"run": sp.run, "sid": sp.sid, "isNew": isNew, "props": props, "chunks": chunks}, nil
}

// pointID identifies a metric point within its series, as MLflow does: step,
// timestamp and value (every NaN the same, -0 the same as 0).
type pointID struct {
	step, ts int64
	bits     uint64
}

func idOf(step, ts int64, v float64) pointID {
	if math.IsNaN(v) {
		v = math.NaN()
	}
	if v == 0 {
		v = 0 // -0 is 0
	}
	return pointID{step, ts, math.Float64bits(v)}
}

// newPoints returns, per series, the batch's points that its series does not hold yet:
// a point already recorded (a retried request) or given twice in the batch is
// recorded once, as in MLflow's tracking store. The series' open tail is at hand;
// its chunks are read only for points that could be in them — at or below the
// highest step and timestamp chunked — which points logged in order never are.
func newPoints(ctx context.Context, tx neo4j.ManagedTransaction, series []seriesPoints,
	existing map[string]seriesState) ([][]MetricPoint, error) {
	fresh := make([][]MetricPoint, len(series))
	var checks []map[string]any
	for i, sp := range series {
		st := existing[sp.sid]
		// The batch without repeats, and the step range of the points that could
		// repeat a recorded one: no recorded point has a higher step than the series'
		// last point.
		seen := make(map[pointID]int, len(sp.points))
		minStep, maxStep := int64(math.MaxInt64), int64(math.MinInt64)
		for _, p := range sp.points {
			id := idOf(p.Step, p.Timestamp.UnixMilli(), p.Value)
			if _, ok := seen[id]; ok {
				continue
			}
			seen[id] = len(fresh[i])
			fresh[i] = append(fresh[i], p)
			if st.ok && id.step <= st.lastStep {
				minStep, maxStep = min(minStep, id.step), max(maxStep, id.step)
			}
		}
		if minStep > maxStep {
			continue // all beyond what is recorded: logged in order
		}
		// Points of the open tail in that range are looked up among the batch's.
		repeated := make([]bool, len(fresh[i]))
		for j, step := range st.tailSteps {
			if step >= minStep && step <= maxStep {
				if at, ok := seen[idOf(step, st.tailTS[j], st.tailValues[j])]; ok {
					repeated[at] = true
				}
			}
		}
		kept := fresh[i][:0]
		var lo, hi, tlo, thi int64 = math.MaxInt64, math.MinInt64, math.MaxInt64, math.MinInt64
		for j, p := range fresh[i] {
			if repeated[j] {
				continue
			}
			kept = append(kept, p)
			step, ts := p.Step, p.Timestamp.UnixMilli()
			if st.chunks > 0 && step <= st.lastStep && (!st.chunkedKnown || step <= st.chunkedMaxStep && ts <= st.chunkedMaxTS) {
				lo, hi, tlo, thi = min(lo, step), max(hi, step), min(tlo, ts), max(thi, ts)
			}
		}
		fresh[i] = kept
		if lo <= hi {
			checks = append(checks, map[string]any{"i": int64(i), "sid": sp.sid, "lo": lo, "hi": hi, "tlo": tlo, "thi": thi})
		}
	}
	if len(checks) == 0 {
		return fresh, nil
	}
	recs, err := collect(ctx, tx, cypherChunksAround, map[string]any{"checks": checks})
	if err != nil {
		return nil, err
	}
	chunked := make(map[int64]map[pointID]bool)
	for _, r := range recs {
		i, _ := r.Get("i")
		steps, _ := r.Get("steps")
		ts, _ := r.Get("ts")
		vs, _ := r.Get("vs")
		in := chunked[i.(int64)]
		if in == nil {
			in = map[pointID]bool{}
			chunked[i.(int64)] = in
		}
		ss, tt, xs := int64s(steps), int64s(ts), float64s(vs)
		for j := range ss {
			in[idOf(ss[j], tt[j], xs[j])] = true
		}
	}
	for i, in := range chunked {
		kept := fresh[i][:0]
		for _, p := range fresh[i] {
			if !in[idOf(p.Step, p.Timestamp.UnixMilli(), p.Value)] {
				kept = append(kept, p)
			}
		}
		fresh[i] = kept
	}
	return fresh, nil
}

// chunkRow is a full chunk of points with its step range and extreme points (as
// indexes into its lists), which down-sampling reads instead of the points.
func chunkRow(sid string, seq int64, steps, ts []int64, values []float64) map[string]any {
	first, last, lo, hi := 0, 0, -1, -1
	for i := range steps {
		if steps[i] < steps[first] {
			first = i
		}
		if steps[i] >= steps[last] {
			last = i
		}
		if v := values[i]; !math.IsNaN(v) {
			if lo < 0 || v < values[lo] {
				lo = i
			}
			if hi < 0 || v > values[hi] {
				hi = i
			}
		}
	}
	extremes := []int64{int64(first), int64(last)}
	if lo >= 0 {
		extremes = append(extremes, int64(lo), int64(hi))
	}
	return map[string]any{
		"sid": sid, "seq": seq, "n": int64(len(steps)),
		"steps": append([]int64(nil), steps...), "timestamps": append([]int64(nil), ts...),
		"values":  append([]float64(nil), values...),
		"minStep": steps[first], "maxStep": steps[last],
		"minTimestamp": slices.Min(ts), "maxTimestamp": slices.Max(ts),
		"extremeSteps": pick(steps, extremes), "extremeTimestamps": pick(ts, extremes),
		"extremeValues": pickF(values, extremes),
	}
}

func pick(xs []int64, idx []int64) []int64 {
	out := make([]int64, len(idx))
	for i, j := range idx {
		out[i] = xs[j]
	}
	return out
}

func pickF(xs []float64, idx []int64) []float64 {
	out := make([]float64, len(idx))
	for i, j := range idx {
		out[i] = xs[j]
	}
	return out
}

// MetricSummary is what a run's metric amounts to: its last point and, over its finite
// values, the minimum, maximum, mean and standard deviation (SageMaker
// ExperimentAnalytics' columns). Count counts every point, NaN and ±Inf included.
type MetricSummary struct {
	Key           string
	Last          float64
	LastStep      int64
	LastTimestamp time.Time
	Min, Max      *float64
	Avg, StdDev   *float64
	Count         int64
}

func summaryFrom(props map[string]any) MetricSummary {
	st := seriesFrom(props)
	out := MetricSummary{Count: st.count, Last: st.last, LastStep: st.lastStep, LastTimestamp: time.UnixMilli(st.lastTS).UTC()}
	out.Key, _ = props["key"].(string)
	if st.hasMinMax {
		mn, mx := st.min, st.max
		out.Min, out.Max = &mn, &mx
	}
	if st.finite > 0 {
		avg := st.mean
		sd := math.Sqrt(math.Max(st.m2/float64(st.finite), 0))
		out.Avg, out.StdDev = &avg, &sd
	}
	return out
}

const cypherRunMetrics = `
MATCH (:` + LabelNode + ` {key: $run})-[:` + RelHasMetric + `]->(m:` + LabelMetricSeries + `)
WHERE $keys IS NULL OR m.key IN $keys
RETURN m {.key, .count, .finite, .mean, .m2, .min, .max, .last, .lastStep, .lastTimestamp} AS m
ORDER BY m.key`

// RunMetrics returns the summaries of a run's metrics (of keys, when given), by key.
func (s *Store) RunMetrics(ctx context.Context, run string, keys []string) ([]MetricSummary, error) {
	var keysParam any
	if keys != nil {
		keysParam = keys
	}
	return read(ctx, s, func(tx neo4j.ManagedTransaction) ([]MetricSummary, error) {
		recs, err := collect(ctx, tx, cypherRunMetrics, map[string]any{"run": run, "keys": keysParam})
		if err != nil {
			return nil, fmt.Errorf("metrics of %q: %w", run, err)
		}
		out := make([]MetricSummary, 0, len(recs))
		for _, r := range recs {
			m, _ := r.Get("m")
			out = append(out, summaryFrom(m.(map[string]any)))
		}
		return out, nil
	})
}

const cypherRunParams = `
MATCH (:` + LabelNode + ` {key: $run})-[:` + RelHasParam + `]->(p:` + LabelParam + `)
RETURN p.key AS key, p.value AS value ORDER BY p.key`

// RunParams returns a run's parameters, by key.
func (s *Store) RunParams(ctx context.Context, run string) ([]Param, error) {
	return read(ctx, s, func(tx neo4j.ManagedTransaction) ([]Param, error) {
		recs, err := collect(ctx, tx, cypherRunParams, map[string]any{"run": run})
		if err != nil {
			return nil, fmt.Errorf("parameters of %q: %w", run, err)
		}
		out := make([]Param, 0, len(recs))
		for _, r := range recs {
			k, _ := r.Get("key")
			v, _ := r.Get("value")
			p := Param{}
			p.Key, _ = k.(string)
			p.Value, _ = v.(string)
			out = append(out, p)
		}
		return out, nil
	})
}

// sortPoints orders points by step, then timestamp; equal ones keep their order.
func sortPoints(ps []MetricPoint) {
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].Step != ps[j].Step {
			return ps[i].Step < ps[j].Step
		}
		return ps[i].Timestamp.Before(ps[j].Timestamp)
	})
}
