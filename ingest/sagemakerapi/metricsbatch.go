package sagemakerapi

import (
	"context"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/provgraph/provgraph/actor"
	"github.com/provgraph/provgraph/apperr"
	"github.com/provgraph/provgraph/store"
)

// Group commit of BatchPutMetrics: a call is 1 to 10 points, and a transaction of its
// own per call would spend its time on round trips and commits, not on points. Calls
// queue their points instead; a writer takes everything queued (up to
// MetricsCallsPerCommit calls of one actor) and records it with one
// store.LogMetricsBatch, while the next calls queue for the next batch. Nothing waits
// for a timer: an idle server writes a lone call at once, and a busy one writes larger
// batches.

// MetricsCallsPerCommit caps the BatchPutMetrics calls one transaction records: at
// most 2,560 points (MaxMetricsPerCall each), so that a transaction stays short and the
// calls in it wait little longer than they would alone.
const MetricsCallsPerCommit = 256

// metricsWriters is how many batches are written at once. Two: while one batch
// commits, the calls that queued meanwhile go to the other writer instead of waiting
// their turn, which clients that each wait for their answer feel (4 such clients sent
// about 1.4× the points with two writers than with one, on 2 cores); more writers only
// split the batches and contend for Neo4j's CPU.
const metricsWriters = 2

// metricsBatcher queues BatchPutMetrics calls and writes them in batches. Its writers
// run while calls are queued and stop when none is, so it needs no starting or
// stopping: a server that shuts down waits for its requests, and so for their batches.
type metricsBatcher struct {
	write func(ctx context.Context, actor string, logs []store.RunLog) ([]error, error)
	// maxWriters is metricsWriters (tests use one).
	maxWriters int

	mu      sync.Mutex
	queue   []*metricsCall
	writers int // running
}

// metricsCall is one call's points waiting to be recorded, and where it hears how
// that went.
type metricsCall struct {
	ctx   context.Context
	actor string
	log   store.RunLog
	done  chan error // buffered: a writer never waits for a call that gave up
}

func newMetricsBatcher(st *store.Store) *metricsBatcher {
	return &metricsBatcher{write: st.LogMetricsBatch, maxWriters: metricsWriters}
}

// log records l for actor as store.LogRun would, in a batch with the calls queued
// beside it, and returns its own error. When ctx ends first the call is answered
// UNAVAILABLE and its points may still be recorded: a retry records each point once.
func (b *metricsBatcher) log(ctx context.Context, who string, l store.RunLog) error {
	c := &metricsCall{ctx: ctx, actor: who, log: l, done: make(chan error, 1)}
	b.mu.Lock()
	b.queue = append(b.queue, c)
	if b.writers < b.maxWriters {
		b.writers++
		go b.drain()
	}
	b.mu.Unlock()
	select {
	case err := <-c.done:
		return err
	case <-ctx.Done():
		return apperr.UnavailableBecause(context.Cause(ctx), "the request ended before its points were recorded; retry it")
	}
}

// drain writes batches until the queue is empty.
func (b *metricsBatcher) drain() {
	for {
		b.mu.Lock()
		batch := b.take()
		if len(batch) == 0 {
			b.writers--
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()
		b.record(batch)
	}
}

// take removes from the queue and returns the next batch: the oldest call and the
// calls of its actor queued after it, MetricsCallsPerCommit at most. Calls of other
// actors keep their places. b.mu is held.
func (b *metricsBatcher) take() []*metricsCall {
	if len(b.queue) == 0 {
		return nil
	}
	who := b.queue[0].actor
	var batch []*metricsCall
	rest := b.queue[:0]
	for _, c := range b.queue {
		if c.actor == who && len(batch) < MetricsCallsPerCommit {
			batch = append(batch, c)
		} else {
			rest = append(rest, c)
		}
	}
	clear(b.queue[len(rest):])
	b.queue = rest
	return batch
}

// record writes batch and tells each call its outcome: its own error, or the
// transaction's when it failed. A panic is answered as an internal error to every call
// and logged, as the server's handlers answer one: the writer goes on.
func (b *metricsBatcher) record(batch []*metricsCall) {
	defer func() {
		if v := recover(); v != nil {
			zerolog.Ctx(batch[0].ctx).Error().Interface("panic", v).Bytes("stack", debug.Stack()).Msg("panic recording BatchPutMetrics calls")
			for _, c := range batch {
				select {
				case c.done <- apperr.New(apperr.Internal, "", "the points could not be recorded"):
				default: // answered already
				}
			}
		}
	}()
	ctx, cancel := batchContext(batch)
	defer cancel()
	logs := make([]store.RunLog, len(batch))
	for i, c := range batch {
		logs[i] = c.log
	}
	errs, err := b.write(ctx, batch[0].actor, logs)
	for i, c := range batch {
		if err != nil {
			c.done <- err
		} else {
			c.done <- errs[i]
		}
	}
}

// batchContext is the context a batch is written under: the first call's values (its
// logger, the store's observer), no call's cancellation — a call that gives up leaves
// the others' batch alone — and the latest of the calls' deadlines, so that Neo4j stops
// a transaction no call waits for any more. The audit entry's request id lists the
// calls' ids, comma-separated (a request id has no commas).
func batchContext(batch []*metricsCall) (context.Context, context.CancelFunc) {
	ctx := context.WithoutCancel(batch[0].ctx)
	ids := make([]string, 0, len(batch))
	var latest time.Time
	bounded := true
	for _, c := range batch {
		if id := actor.RequestFrom(c.ctx); id != "" {
			ids = append(ids, id)
		}
		d, ok := c.ctx.Deadline()
		bounded = bounded && ok
		if ok && d.After(latest) {
			latest = d
		}
	}
	ctx = actor.WithRequest(ctx, strings.Join(ids, ","))
	if bounded {
		return context.WithDeadline(ctx, latest)
	}
	return context.WithCancel(ctx)
}
