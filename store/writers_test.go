package store

import (
	"context"
	"errors"
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
