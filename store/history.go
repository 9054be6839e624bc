package store

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"

	"github.com/provgraph/provgraph/apperr"
)

// Limits of metric history reads.
const (
	DefaultHistoryPage = 1000
	MaxHistoryPage     = 10000
	// MinDownsample and MaxDownsample bound the points a down-sampled history holds;
	// DefaultDownsample is how many it holds when the caller does not say.
	MinDownsample     = 4
	MaxDownsample     = 10000
	DefaultDownsample = 1000
)

// StepRange bounds a metric history by step, both ends included; nil is open.
type StepRange struct {
	Min, Max *int64
}

func (r StepRange) bounds() (lo, hi int64) {
	lo, hi = math.MinInt64, math.MaxInt64
	if r.Min != nil {
		lo = *r.Min
	}
	if r.Max != nil {
		hi = *r.Max
	}
	return lo, hi
}

// HistoryPage is one page of a metric's history, by step then timestamp.
type HistoryPage struct {
	Points []MetricPoint
	// EndCursor, when more points follow, asks for the next page.
	EndCursor string
}

// historyCursor is the last point a page returned: its step, timestamp and how many
// points of exactly that step and timestamp were returned so far.
type historyCursor struct {
	Step int64 `json:"s"`
	TS   int64 `json:"t"`
	N    int   `json:"n"`
}

const (
	cypherChunkMeta = `
MATCH (c:` + LabelMetricChunk + `)
WHERE c.sid = $sid AND c.seq >= 0 AND c.maxStep >= $lo AND c.minStep <= $hi
RETURN c.seq AS seq, c.minStep AS minStep, c.maxStep AS maxStep, c.n AS n,
       c.extremeSteps AS es, c.extremeTimestamps AS ets, c.extremeValues AS evs
ORDER BY c.minStep, c.seq`

	cypherChunkPointsBySeq = `
MATCH (c:` + LabelMetricChunk + `)
WHERE c.sid = $sid AND c.seq IN $seqs
RETURN c.seq AS seq, c.steps AS steps, c.timestamps AS ts, c.values AS vs`

	cypherChunkPoints = `
MATCH (c:` + LabelMetricChunk + `)
WHERE c.sid = $sid AND c.seq IN $seqs
RETURN c.steps AS steps, c.timestamps AS ts, c.values AS vs
ORDER BY c.seq`
)

// cypherSeriesTail reads a series' open tail, its segments (tailProps).
var cypherSeriesTail = `
MATCH (m:` + LabelMetricSeries + ` {sid: $sid})
RETURN m ` + tailProjection + ` AS m`

type chunkMeta struct {
	seq, minStep, maxStep, n int64
	extremes                 []MetricPoint
}

func pointsOf(key string, steps, ts []int64, values []float64) []MetricPoint {
	out := make([]MetricPoint, len(steps))
	for i := range steps {
		out[i] = MetricPoint{Key: key, Step: steps[i], Timestamp: time.UnixMilli(ts[i]).UTC(), Value: values[i]}
	}
	return out
}

// seriesReader reads one run×metric's stored points inside one transaction.
type seriesReader struct {
	ctx      context.Context
	tx       neo4j.ManagedTransaction
	sid, key string
}

func (r seriesReader) tail() ([]MetricPoint, bool, error) {
	recs, err := collect(r.ctx, r.tx, cypherSeriesTail, map[string]any{"sid": r.sid})
	if err != nil {
		return nil, false, fmt.Errorf("metric %q: %w", r.key, err)
	}
	if len(recs) == 0 {
		return nil, false, nil
	}
	m, _ := recs[0].Get("m")
	p := m.(map[string]any)
	steps, ts, values, _ := storedTail(p)
	return pointsOf(r.key, steps, ts, values), true, nil
}

func (r seriesReader) chunks(lo, hi int64) ([]chunkMeta, error) {
	recs, err := collect(r.ctx, r.tx, cypherChunkMeta, map[string]any{"sid": r.sid, "lo": lo, "hi": hi})
	if err != nil {
		return nil, fmt.Errorf("metric %q chunks: %w", r.key, err)
	}
	out := make([]chunkMeta, 0, len(recs))
	for _, rec := range recs {
		var c chunkMeta
		v, _ := rec.Get("seq")
		c.seq, _ = v.(int64)
		v, _ = rec.Get("minStep")
		c.minStep, _ = v.(int64)
		v, _ = rec.Get("maxStep")
		c.maxStep, _ = v.(int64)
		v, _ = rec.Get("n")
		c.n, _ = v.(int64)
		es, _ := rec.Get("es")
		ets, _ := rec.Get("ets")
		evs, _ := rec.Get("evs")
		c.extremes = pointsOf(r.key, int64s(es), int64s(ets), float64s(evs))
		out = append(out, c)
	}
	return out, nil
}

// pointsByChunk reads the points of the chunks seqs into into, by sequence number.
func (r seriesReader) pointsByChunk(seqs []int64, into map[int64][]MetricPoint) error {
	if len(seqs) == 0 {
		return nil
	}
	recs, err := collect(r.ctx, r.tx, cypherChunkPointsBySeq, map[string]any{"sid": r.sid, "seqs": seqs})
	if err != nil {
		return fmt.Errorf("metric %q points: %w", r.key, err)
	}
	for _, rec := range recs {
		seq, _ := rec.Get("seq")
		steps, _ := rec.Get("steps")
		ts, _ := rec.Get("ts")
		vs, _ := rec.Get("vs")
		into[seq.(int64)] = pointsOf(r.key, int64s(steps), int64s(ts), float64s(vs))
	}
	return nil
}

func (r seriesReader) points(seqs []int64) ([]MetricPoint, error) {
	if len(seqs) == 0 {
		return nil, nil
	}
	recs, err := collect(r.ctx, r.tx, cypherChunkPoints, map[string]any{"sid": r.sid, "seqs": seqs})
	if err != nil {
		return nil, fmt.Errorf("metric %q points: %w", r.key, err)
	}
	var out []MetricPoint
	for _, rec := range recs {
		steps, _ := rec.Get("steps")
		ts, _ := rec.Get("ts")
		vs, _ := rec.Get("vs")
		out = append(out, pointsOf(r.key, int64s(steps), int64s(ts), float64s(vs))...)
	}
	return out, nil
}

func inRange(ps []MetricPoint, lo, hi int64) []MetricPoint {
	out := ps[:0:0]
	for _, p := range ps {
		if p.Step >= lo && p.Step <= hi {
			out = append(out, p)
		}
	}
	return out
}

func checkMetricRead(run, key string) error {
	if err := RequireKind("run", run, KindRun, "run:<run id>"); err != nil {
		return err
	}
	return checkText("key", key, MaxParamKeyLength)
}

// MetricHistory returns a page of a run's metric history within a step range, by step
// then timestamp. A run without that metric has an empty history; an unknown run is
// NOT_FOUND.
func (s *Store) MetricHistory(ctx context.Context, run, key string, r StepRange, first int, after string) (HistoryPage, error) {
	if err := checkMetricRead(run, key); err != nil {
		return HistoryPage{}, err
	}
	if err := CheckSize("first", first, MaxHistoryPage); err != nil {
		return HistoryPage{}, err
	}
	var cur *historyCursor
	if after != "" {
		var c historyCursor
		if err := decodeOpaque("after", after, 256, &c); err != nil || c.N < 1 {
			return HistoryPage{}, errNotCursor("after")
		}
		cur = &c
	}
	lo, hi := r.bounds()
	if cur != nil {
		lo = max(lo, cur.Step)
	}
	return read(ctx, s, func(tx neo4j.ManagedTransaction) (HistoryPage, error) {
		if _, err := nodeByKey(ctx, tx, "run", run); err != nil {
			return HistoryPage{}, err
		}
		sr := seriesReader{ctx, tx, seriesID(run, key), key}
		tail, ok, err := sr.tail()
		if err != nil || !ok || lo > hi {
			return HistoryPage{}, err
		}
		metas, err := sr.chunks(lo, hi)
		if err != nil {
			return HistoryPage{}, err
		}
		// Read chunks in step order until the page is full and no chunk left can hold
		// a point before the page's last one (chunks overlap only when steps were
		// logged out of order). Points are kept in the order they were logged (chunks
		// by sequence, then the tail), so equal (step, timestamp) pairs keep that order
		// on every page.
		byChunk := map[int64][]MetricPoint{}
		var seqs []int64
		var pts []MetricPoint
		for i := 0; ; {
			var batch []int64
			for ; i < len(metas) && len(batch) < first/MetricChunkSize+2; i++ {
				batch = append(batch, metas[i].seq)
			}
			if err := sr.pointsByChunk(batch, byChunk); err != nil {
				return HistoryPage{}, err
			}
			seqs = append(seqs, batch...)
			slices.Sort(seqs)
			pts = pts[:0]
			for _, seq := range seqs {
				pts = append(pts, inRange(byChunk[seq], lo, hi)...)
			}
			pts = append(pts, inRange(tail, lo, hi)...)
			sortPoints(pts)
			pts = afterCursor(pts, cur)
			if i >= len(metas) || len(pts) > first && metas[i].minStep > pts[first].Step {
				break
			}
		}
		page := HistoryPage{Points: pts}
		if len(pts) > first {
			page.Points = pts[:first]
			last := page.Points[first-1]
			c := historyCursor{Step: last.Step, TS: last.Timestamp.UnixMilli()}
			for _, p := range page.Points {
				if p.Step == c.Step && p.Timestamp.UnixMilli() == c.TS {
					c.N++
				}
			}
			if cur != nil && cur.Step == c.Step && cur.TS == c.TS {
				c.N += cur.N
			}
			page.EndCursor = encodeOpaque(c)
		}
		return page, nil
	})
}

// afterCursor drops the points up to the cursor from sorted points.
func afterCursor(pts []MetricPoint, c *historyCursor) []MetricPoint {
	if c == nil {
		return pts
	}
	skip := c.N
	out := pts[:0:0]
	for _, p := range pts {
		ts := p.Timestamp.UnixMilli()
		switch {
		case p.Step < c.Step || (p.Step == c.Step && ts < c.TS):
		case p.Step == c.Step && ts == c.TS && skip > 0:
			skip--
		default:
			out = append(out, p)
		}
	}
	return out
}

// MetricDownsampled returns at most maxPoints points of a run's metric history within a
// step range, by step, for charts. The first and last points (by step) and the minimum
// and maximum values are always among them. A history that fits is returned whole;
// a longer one is cut into equal runs of stored chunks, each giving its first, last,
// minimum and maximum point — precomputed per chunk, so a million points are reduced
// without reading them.
func (s *Store) MetricDownsampled(ctx context.Context, run, key string, r StepRange, maxPoints int) ([]MetricPoint, error) {
	if err := checkMetricRead(run, key); err != nil {
		return nil, err
	}
	if maxPoints < MinDownsample || maxPoints > MaxDownsample {
		return nil, apperr.Invalid("maxPoints", "must be between %d and %d (got %d)", MinDownsample, MaxDownsample, maxPoints)
	}
	lo, hi := r.bounds()
	return read(ctx, s, func(tx neo4j.ManagedTransaction) ([]MetricPoint, error) {
		if _, err := nodeByKey(ctx, tx, "run", run); err != nil {
			return nil, err
		}
		sr := seriesReader{ctx, tx, seriesID(run, key), key}
		tail, ok, err := sr.tail()
		if err != nil || !ok || lo > hi {
			return []MetricPoint{}, err
		}
		metas, err := sr.chunks(lo, hi)
		if err != nil {
			return nil, err
		}
		// Chunks wholly inside the range are summarized by their extremes; chunks cut
		// by the range are read, as is the tail.
		var whole []chunkMeta
		var cut []int64
		total := 0
		for _, m := range metas {
			if m.minStep >= lo && m.maxStep <= hi {
				whole = append(whole, m)
				total += int(m.n)
			} else {
				cut = append(cut, m.seq)
			}
		}
		loose, err := sr.points(cut)
		if err != nil {
			return nil, err
		}
		loose = inRange(append(loose, tail...), lo, hi)
		total += len(loose)
		if total <= maxPoints {
			seqs := make([]int64, len(whole))
			for i, m := range whole {
				seqs[i] = m.seq
			}
			all, err := sr.points(seqs)
			if err != nil {
				return nil, err
			}
			all = append(all, loose...)
			sortPoints(all)
			return all, nil
		}
		// Blocks in step order: whole chunks by their extremes, loose points in runs of
		// a chunk's size.
		sortPoints(loose)
		var blocks [][]MetricPoint
		for _, m := range whole {
			blocks = append(blocks, m.extremes)
		}
		for i := 0; i < len(loose); i += MetricChunkSize {
			blocks = append(blocks, extremesOf(loose[i:min(i+MetricChunkSize, len(loose))]))
		}
		sort.SliceStable(blocks, func(i, j int) bool { return firstStep(blocks[i]) < firstStep(blocks[j]) })
		groups := maxPoints / 4
		per := (len(blocks) + groups - 1) / groups
		var out []MetricPoint
		for i := 0; i < len(blocks); i += per {
			var g []MetricPoint
			for _, b := range blocks[i:min(i+per, len(blocks))] {
				g = append(g, b...)
			}
			out = append(out, extremesOf(g)...)
		}
		sortPoints(out)
		return dedupePoints(out), nil
	})
}

func firstStep(ps []MetricPoint) int64 {
	m := int64(math.MaxInt64)
	for _, p := range ps {
		m = min(m, p.Step)
	}
	return m
}

// extremesOf returns the first and last point by step and the points of minimum and
// maximum value (NaN never is either), without repeats.
func extremesOf(ps []MetricPoint) []MetricPoint {
	if len(ps) == 0 {
		return nil
	}
	first, last, lo, hi := 0, 0, -1, -1
	for i, p := range ps {
		if p.Step < ps[first].Step {
			first = i
		}
		if p.Step >= ps[last].Step {
			last = i
		}
		if !math.IsNaN(p.Value) {
			if lo < 0 || p.Value < ps[lo].Value {
				lo = i
			}
			if hi < 0 || p.Value > ps[hi].Value {
				hi = i
			}
		}
	}
	idx := []int{first, last}
	if lo >= 0 {
		idx = append(idx, lo, hi)
	}
	sort.Ints(idx)
	out := make([]MetricPoint, 0, 4)
	for i, j := range idx {
		if i == 0 || j != idx[i-1] {
			out = append(out, ps[j])
		}
	}
	return out
}

func dedupePoints(ps []MetricPoint) []MetricPoint {
	out := ps[:0:0]
	for i, p := range ps {
		if i > 0 && p.Step == ps[i-1].Step && p.Timestamp.Equal(ps[i-1].Timestamp) &&
			(p.Value == ps[i-1].Value || math.IsNaN(p.Value) && math.IsNaN(ps[i-1].Value)) {
			continue
		}
		out = append(out, p)
	}
	return out
}
