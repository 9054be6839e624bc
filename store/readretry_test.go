package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
	"github.com/stretchr/testify/assert"
)

// A single-statement read is retried as the driver retries a managed transaction: only
// after a lost connection (wrapped or not) or a transient error, the first lost
// connection at once and everything else after a wait of about 2 s, which is not made
// when it would pass the retry time or the caller's deadline, and is cut short when the
// caller stops waiting.
func TestReadRetryRetriesAsTheDriverDoes(t *testing.T) {
	t.Parallel()
	lost := &neo4j.ConnectivityError{Inner: errors.New("connection reset")}
	transient := &neo4j.Neo4jError{Code: "Neo.TransientError.Transaction.DeadlockDetected"}
	deadline := func(d time.Duration) context.Context {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		t.Cleanup(cancel)
		return ctx
	}
	stopped, stop := context.WithCancel(context.Background())
	stop()
	cases := []struct {
		name  string
		ctx   context.Context
		limit time.Duration
		errs  []error // the failures of the attempts, in turn
		again []bool  // whether each is retried
	}{
		{"a lost connection, at once", context.Background(), time.Minute, []error{lost}, []bool{true}},
		{"a lost connection, wrapped", context.Background(), time.Minute, []error{fmt.Errorf("read: %w", lost)}, []bool{true}},
		{"a second lost connection waits: past the retry time", context.Background(), time.Second, []error{lost, lost}, []bool{true, false}},
		{"a transient error waits: past the retry time", context.Background(), time.Second, []error{transient}, []bool{false}},
		{"a transient error waits: past the caller's deadline", deadline(time.Second), time.Minute, []error{transient}, []bool{false}},
		{"another failure", context.Background(), time.Minute, []error{errors.New("syntax error")}, []bool{false}},
		{"a client error", context.Background(), time.Minute, []error{&neo4j.Neo4jError{Code: "Neo.ClientError.Statement.SyntaxError"}}, []bool{false}},
		{"the caller stopped waiting", stopped, time.Minute, []error{lost}, []bool{false}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := readRetry{start: time.Now(), limit: tc.limit}
			began := time.Now()
			for i, err := range tc.errs {
				assert.Equal(t, tc.again[i], r.again(tc.ctx, err), "attempt %d", i+1)
			}
			assert.Less(t, time.Since(began), time.Second, "no wait was sat out")
		})
	}
	t.Run("the caller stops waiting during the wait", func(t *testing.T) {
		ctx, stop := context.WithCancel(context.Background())
		t.Cleanup(stop)
		r := readRetry{start: time.Now(), limit: time.Minute}
		began := time.Now()
		time.AfterFunc(50*time.Millisecond, stop) // after again has begun its wait
		assert.False(t, r.again(ctx, transient))
		assert.Less(t, time.Since(began), time.Second, "the wait was cut short")
	})
	t.Run("a transient error, after the wait", func(t *testing.T) {
		r := readRetry{start: time.Now(), limit: time.Minute}
		began := time.Now()
		assert.True(t, r.again(context.Background(), transient))
		assert.GreaterOrEqual(t, time.Since(began), 1800*time.Millisecond, "2 s less a tenth at most")
	})
}
