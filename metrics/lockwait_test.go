package metrics

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/store"
)

// Each sample adds, per mode, the transactions blocked on a lock times the time since
// the previous sample; the blocked gauge is the last sample's count; a failed sample
// adds nothing and is counted as failed.
func TestLockSampleEstimatesWait(t *testing.T) {
	t.Parallel()
	m := New()
	m.lockSample([]store.RunningTx{
		{Mode: store.TxWrite, Blocked: true, LockWait: time.Second},
		{Mode: store.TxWrite, Blocked: true},
		{Mode: store.TxWrite},
		{Mode: store.TxRead},
		{Mode: "unknown", Blocked: true}, // not one of the store's modes: not counted
	}, nil, 500*time.Millisecond)
	m.lockSample(nil, errors.New("neo4j away"), 2*time.Second)
	m.lockSample([]store.RunningTx{{Mode: store.TxWrite, Blocked: true}, {Mode: store.TxRead, Blocked: true}}, nil, 1500*time.Millisecond)

	assert.InDelta(t, 2*0.5+1.5, testutil.ToFloat64(m.locks.seconds.WithLabelValues("write")), 1e-9)
	assert.InDelta(t, 1.5, testutil.ToFloat64(m.locks.seconds.WithLabelValues("read")), 1e-9)
	assert.Equal(t, 1.0, testutil.ToFloat64(m.locks.blocked.WithLabelValues("write")))
	assert.Equal(t, 1.0, testutil.ToFloat64(m.locks.blocked.WithLabelValues("read")))
	assert.Equal(t, 2.0, testutil.ToFloat64(m.locks.samples.WithLabelValues("ok")))
	assert.Equal(t, 1.0, testutil.ToFloat64(m.locks.samples.WithLabelValues("failed")))
}

// The lock-wait series exist only once sampling starts; the sampler asks at random
// times around its period, each time with a deadline, and stops when its context ends.
func TestSampleLockWaitsRunsUntilCancelled(t *testing.T) {
	t.Parallel()
	m := New()
	n, err := testutil.GatherAndCount(m.reg, "provgraph_neo4j_lock_wait_seconds_total")
	require.NoError(t, err)
	assert.Zero(t, n, "not sampling: no lock-wait series")

	ctx, cancel := context.WithCancel(t.Context())
	var mu sync.Mutex
	calls, withDeadline := 0, 0
	running := func(ctx context.Context) ([]store.RunningTx, error) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if _, ok := ctx.Deadline(); ok {
			withDeadline++
		}
		return []store.RunningTx{{Mode: store.TxWrite, Blocked: true}}, nil
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.SampleLockWaits(ctx, 10*time.Millisecond, running)
	}()
	ok := m.locks.samples.WithLabelValues("ok")
	require.Eventually(t, func() bool { return testutil.ToFloat64(ok) >= 3 }, 30*time.Second, 5*time.Millisecond,
		"the sampler did not sample three times")
	cancel()
	<-done

	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, calls, withDeadline, "every sample has a deadline")
	// A sample under way when the context ends is not counted.
	assert.InDelta(t, float64(calls), testutil.ToFloat64(ok), 1)
	assert.Positive(t, testutil.ToFloat64(m.locks.seconds.WithLabelValues("write")), "one transaction blocked at every sample")
	assert.Zero(t, testutil.ToFloat64(m.locks.seconds.WithLabelValues("read")))
}

// A retry's cause is labelled by the Neo4j status code when it is a lock or cluster
// failure worth its own series, else by a fixed word: the label's values are bounded.
func TestRetryCauseIsBounded(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err  error
		want string
	}{
		{nil, "unknown"},
		{&neo4jError{"Neo.TransientError.Transaction.DeadlockDetected"}, "Neo.TransientError.Transaction.DeadlockDetected"},
		{&neo4jError{"Neo.TransientError.Transaction.LockClientStopped"}, "Neo.TransientError.Transaction.LockClientStopped"},
		{&neo4jError{"Neo.ClientError.Cluster.NotALeader"}, "Neo.ClientError.Cluster.NotALeader"},
		{&neo4jError{"Neo.TransientError.Made.Up"}, "other"},
		{errors.New("anything else"), "other"},
		{connectivityError(), "connectivity"},
	} {
		err := tc.err
		if ne, ok := err.(*neo4jError); ok {
			err = ne.wrapped()
		}
		assert.Equal(t, tc.want, retryCause(err), "%v", tc.err)
	}
}

// neo4jError stands for a Neo4j error of a code, wrapped as the store's work
// functions wrap errors.
type neo4jError struct{ code string }

func (e *neo4jError) Error() string { return e.code }

func (e *neo4jError) wrapped() error {
	return fmt.Errorf("record something: %w", &neo4j.Neo4jError{Code: e.code})
}

func connectivityError() error {
	return fmt.Errorf("record something: %w", &neo4j.ConnectivityError{Inner: errors.New("connection reset")})
}
