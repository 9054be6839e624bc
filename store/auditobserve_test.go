package store

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// auditRecorder is an AuditObserver that remembers what it heard.
type auditRecorder struct {
	mu    sync.Mutex
	lags  []time.Duration
	sizes []int64
}

func (r *auditRecorder) EntriesSequenced(_ time.Duration, lags []time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lags = append(r.lags, lags...)
}

func (r *auditRecorder) CheckpointPublished(size int64, _ time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sizes = append(r.sizes, size)
}

// Without an observer the sequencer reports to one that hears nothing; once one is
// set it hears every report, and setting nil stops it hearing. Setting the observer
// while the sequencer reports is safe (go test -race).
func TestAuditObservedWithAndWithoutObserver(t *testing.T) {
	s := &Store{}
	s.auditObserved().EntriesSequenced(time.Second, []time.Duration{time.Second})
	s.auditObserved().CheckpointPublished(1, time.Now())

	rec := &auditRecorder{}
	var wg sync.WaitGroup
	wg.Go(func() { s.ObserveAudit(rec) })
	wg.Go(func() { s.auditObserved().CheckpointPublished(0, time.Now()) }) // heard or not
	wg.Wait()
	s.auditObserved().EntriesSequenced(time.Millisecond, []time.Duration{10 * time.Millisecond, 20 * time.Millisecond})
	s.auditObserved().CheckpointPublished(2, time.Now())
	s.ObserveAudit(nil)
	s.auditObserved().CheckpointPublished(3, time.Now())

	rec.mu.Lock()
	defer rec.mu.Unlock()
	assert.Equal(t, []time.Duration{10 * time.Millisecond, 20 * time.Millisecond}, rec.lags)
	assert.Equal(t, int64(2), rec.sizes[len(rec.sizes)-1], "the last size heard is the one before nil was set")
	assert.NotContains(t, rec.sizes, int64(1), "reported before the observer was set")
	assert.NotContains(t, rec.sizes, int64(3), "reported after nil was set")
}
