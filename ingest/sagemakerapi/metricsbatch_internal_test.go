package sagemakerapi

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/actor"
	"github.com/provgraph/provgraph/apperr"
	"github.com/provgraph/provgraph/store"
)

// written is one batch a fake store was asked to write.
type written struct {
	actor, requests string
	runs            []string
}

// holdingStore is a fake LogMetricsBatch that reports each batch and then waits for
// the test to let it finish; a log of run "run:fail…" gets its own error.
type holdingStore struct {
	batches chan written
	release chan error
}

func (h holdingStore) write(ctx context.Context, who string, logs []store.RunLog) ([]error, error) {
	w := written{actor: who, requests: actor.RequestFrom(ctx)}
	errs := make([]error, len(logs))
	for i, l := range logs {
		w.runs = append(w.runs, l.Run)
		if strings.HasPrefix(l.Run, "run:fail") {
			errs[i] = apperr.Missing("run", "no node has ID %q", l.Run)
		}
	}
	h.batches <- w
	if err := <-h.release; err != nil {
		return nil, err
	}
	return errs, nil
}

// queued waits until the batcher holds n queued calls.
func queued(b *metricsBatcher, n int) {
	for {
		b.mu.Lock()
		l := len(b.queue)
		b.mu.Unlock()
		if l >= n {
			return
		}
		runtime.Gosched()
	}
}

// With one writer: calls queued while a batch is written form the next batch, of one
// actor at a time, oldest first; each call hears its own outcome (or the transaction's
// failure); a call whose request ends while it waits is answered UNAVAILABLE and the
// batch it is in is written for the others all the same.
func TestMetricsBatcher(t *testing.T) {
	h := holdingStore{batches: make(chan written), release: make(chan error)}
	b := &metricsBatcher{write: h.write, maxWriters: 1}
	type outcome struct {
		run string
		err error
	}
	out := make(chan outcome)
	send := func(ctx context.Context, who, request, run string) {
		ctx = actor.WithRequest(ctx, request)
		go func() { out <- outcome{run, b.log(ctx, who, store.RunLog{Run: run})} }()
	}

	send(t.Context(), "alice", "r1", "run:a")
	assert.Equal(t, written{"alice", "r1", []string{"run:a"}}, <-h.batches, "a lone call is written at once")
	gone, cancel := context.WithCancel(t.Context())
	send(gone, "alice", "r2", "run:b")
	queued(b, 1)
	send(t.Context(), "bob", "r3", "run:c")
	queued(b, 2)
	send(t.Context(), "alice", "r4", "run:fail")
	queued(b, 3)
	send(t.Context(), "alice", "r5", "run:d")
	queued(b, 4)
	cancel()
	o := <-out
	assert.Equal(t, "run:b", o.run, "the cancelled call is answered first")
	assert.Equal(t, apperr.Unavailable, apperr.CodeOf(o.err))

	h.release <- nil
	assert.Equal(t, outcome{"run:a", nil}, <-out)
	assert.Equal(t, written{"alice", "r2,r4,r5", []string{"run:b", "run:fail", "run:d"}}, <-h.batches,
		"alice's queued calls, the cancelled one's too, and not bob's")
	h.release <- nil
	got := map[string]error{}
	for range 2 {
		o := <-out
		got[o.run] = o.err
	}
	assert.Equal(t, apperr.NotFound, apperr.CodeOf(got["run:fail"]), "its own error")
	assert.NoError(t, got["run:d"])

	assert.Equal(t, written{"bob", "r3", []string{"run:c"}}, <-h.batches)
	failure := apperr.UnavailableBecause(errors.New("down"), "the graph database is unavailable; retry later")
	h.release <- failure
	assert.Equal(t, outcome{"run:c", failure}, <-out, "the transaction's failure")
	for running := true; running; runtime.Gosched() {
		b.mu.Lock()
		running = b.writers > 0 // the writer stops once nothing is queued
		b.mu.Unlock()
	}
}

// While a batch is written, a call that arrives is written by a second writer at once;
// with both busy, calls queue for whichever finishes first.
func TestMetricsBatcherWriters(t *testing.T) {
	h := holdingStore{batches: make(chan written), release: make(chan error)}
	b := &metricsBatcher{write: h.write, maxWriters: 2}
	done := make(chan error)
	send := func(run string) {
		go func() { done <- b.log(t.Context(), "alice", store.RunLog{Run: run}) }()
	}
	send("run:a")
	assert.Equal(t, []string{"run:a"}, (<-h.batches).runs)
	send("run:b")
	assert.Equal(t, []string{"run:b"}, (<-h.batches).runs, "written beside the first batch")
	send("run:c")
	send("run:d")
	queued(b, 2)
	b.mu.Lock()
	assert.Equal(t, 2, b.writers, "no third writer")
	b.mu.Unlock()
	h.release <- nil
	require.NoError(t, <-done)
	assert.ElementsMatch(t, []string{"run:c", "run:d"}, (<-h.batches).runs, "the calls that queued meanwhile")
	for range 2 {
		h.release <- nil
	}
	for range 3 {
		require.NoError(t, <-done)
	}
}

// A batch takes at most MetricsCallsPerCommit calls; the rest wait for the next.
func TestMetricsBatchCap(t *testing.T) {
	b := &metricsBatcher{}
	for range MetricsCallsPerCommit + 10 {
		b.queue = append(b.queue, &metricsCall{actor: "alice"})
	}
	b.queue = append(b.queue, &metricsCall{actor: "bob"})
	require.Len(t, b.take(), MetricsCallsPerCommit)
	require.Len(t, b.take(), 10)
	require.Len(t, b.take(), 1)
	assert.Empty(t, b.take())
}

// A store that panics fails the batch's calls with INTERNAL; the next batch is written.
func TestMetricsBatcherPanic(t *testing.T) {
	panics := true
	b := &metricsBatcher{maxWriters: 1, write: func(_ context.Context, _ string, logs []store.RunLog) ([]error, error) {
		if panics {
			panic("boom")
		}
		return make([]error, len(logs)), nil
	}}
	err := b.log(t.Context(), "alice", store.RunLog{Run: "run:a"})
	assert.Equal(t, apperr.Internal, apperr.CodeOf(err), "%v", err)
	panics = false
	assert.NoError(t, b.log(t.Context(), "alice", store.RunLog{Run: "run:a"}))
}
