package store

import (
	"context"
	"runtime"
	"time"

	"github.com/provgraph/provgraph/apperr"
)

// DefaultMaxWriters is how many write transactions a process runs at once unless
// configured: twice the cores, at least 4.
var DefaultMaxWriters = max(4, 2*runtime.NumCPU())

// writerSlots admits write transactions up to a bound; the others wait for a slot in
// the order the runtime wakes them, or until their context ends.
type writerSlots chan struct{}

func newWriterSlots(n int) writerSlots {
	if n <= 0 {
		n = DefaultMaxWriters
	}
	return make(writerSlots, n)
}

// acquire waits for a slot and returns the function that gives it back.
func (w writerSlots) acquire(ctx context.Context) (func(), error) {
	select {
	case w <- struct{}{}:
		return func() { <-w }, nil
	case <-ctx.Done():
		return nil, apperr.UnavailableBecause(context.Cause(ctx),
			"the request's time ran out while it waited to write (%d writes in flight); retry later", cap(w))
	}
}

// acquireWriter waits for one of the process's write slots and returns the function
// that gives it back, telling the context's TxObserver how long the write waited.
func (s *Store) acquireWriter(ctx context.Context) (func(), error) {
	obs := txObserverFrom(ctx)
	if obs == nil {
		return s.writers.acquire(ctx)
	}
	start := time.Now()
	obs.WriteSlotAsked()
	release, err := s.writers.acquire(ctx)
	obs.WriteSlotWaited(time.Since(start))
	return release, err
}
