package store

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/apperr"
)

// No more writers than slots run at once, and one waiting for a slot gives up when its
// request does, with UNAVAILABLE.
func TestWriterSlotsBoundWriters(t *testing.T) {
	slots := newWriterSlots(2)
	var running, most atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			release, err := slots.acquire(t.Context())
			require.NoError(t, err)
			defer release()
			n := running.Add(1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			time.Sleep(5 * time.Millisecond)
			running.Add(-1)
		})
	}
	wg.Wait()
	assert.Equal(t, int32(2), most.Load(), "two at a time")

	r1, err := slots.acquire(t.Context())
	require.NoError(t, err)
	r2, err := slots.acquire(t.Context())
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	_, err = slots.acquire(ctx)
	assert.Equal(t, apperr.Unavailable, apperr.CodeOf(err), "%v", err)
	// The server's request deadline has a cause of its own; it is UNAVAILABLE too.
	ctx, cancel = context.WithTimeoutCause(t.Context(), time.Millisecond, errors.New("the request took too long"))
	defer cancel()
	_, err = slots.acquire(ctx)
	assert.Equal(t, apperr.Unavailable, apperr.CodeOf(err), "%v", err)
	r1()
	r2()
	assert.Equal(t, DefaultMaxWriters, cap(newWriterSlots(0)))
}

// slotRecorder is a TxObserver that keeps what it hears of write slots.
type slotRecorder struct {
	mu      sync.Mutex
	waiting int
	waits   []time.Duration
}

func (r *slotRecorder) TxStarted(TxMode)                    {}
func (r *slotRecorder) TxBegun(TxMode, time.Duration)       {}
func (r *slotRecorder) TxRetried(TxMode, error)             {}
func (r *slotRecorder) TxDone(TxMode, time.Duration, error) {}
func (r *slotRecorder) WriteSlotAsked()                     { r.mu.Lock(); r.waiting++; r.mu.Unlock() }
func (r *slotRecorder) WriteSlotWaited(wait time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.waiting--
	r.waits = append(r.waits, wait)
}

func (r *slotRecorder) state() (int, []time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.waiting, slices.Clone(r.waits)
}

// A write that waits for a slot is heard waiting until it is admitted, and the wait
// it reports spans at least from when it was seen waiting to the release that
// admitted it; one that gives up reports its wait too.
func TestAcquireWriterReportsTheWait(t *testing.T) {
	s := &Store{writers: newWriterSlots(1)}
	rec := &slotRecorder{}
	ctx := WithTxObserver(t.Context(), rec)
	release, err := s.acquireWriter(ctx)
	require.NoError(t, err)
	waiting, waits := rec.state()
	assert.Zero(t, waiting)
	require.Len(t, waits, 1, "a write admitted at once reports its wait too")

	admitted := make(chan func(), 1)
	go func() {
		r, err := s.acquireWriter(ctx)
		assert.NoError(t, err)
		admitted <- r
	}()
	var seenAt time.Time
	require.Eventually(t, func() bool {
		waiting, _ := rec.state()
		seenAt = time.Now()
		return waiting == 1
	}, 10*time.Second, time.Millisecond, "the second write is never heard waiting")
	time.Sleep(20 * time.Millisecond)
	releasedAt := time.Now()
	release()
	(<-admitted)()
	waiting, waits = rec.state()
	assert.Zero(t, waiting)
	require.Len(t, waits, 2)
	assert.GreaterOrEqual(t, waits[1], releasedAt.Sub(seenAt), "it waited from before it was seen waiting until the release")

	hold, err := s.acquireWriter(ctx)
	require.NoError(t, err)
	t.Cleanup(hold)
	short, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	t.Cleanup(cancel)
	_, err = s.acquireWriter(short)
	assert.Equal(t, apperr.Unavailable, apperr.CodeOf(err), "%v", err)
	waiting, waits = rec.state()
	assert.Zero(t, waiting)
	require.Len(t, waits, 4)
	assert.Positive(t, waits[3], "the write that gave up reports how long it waited")
}
