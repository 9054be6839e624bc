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

// A read is retried on the failures the driver retries managed transactions on (a
// lost connection, wrapped or not; a transient error), the first time at once and
// then after the driver's wait, within the retry time and while its caller waits;
// never on other failures.
func TestRetryReadRetriesWhatTheDriverWould(t *testing.T) {
	t.Parallel()
	lost := &neo4j.ConnectivityError{Inner: errors.New("connection reset")}
	ctx := context.Background()
	now := time.Now()
	assert.True(t, retryRead(ctx, lost, 0, now, time.Minute), "a lost connection")
	assert.True(t, retryRead(ctx, fmt.Errorf("read: %w", lost), 0, now, time.Minute), "a lost connection, wrapped")
	assert.True(t, retryRead(ctx, &neo4j.Neo4jError{Code: "Neo.TransientError.Transaction.DeadlockDetected"}, 0, now, time.Minute), "a transient error")
	assert.False(t, retryRead(ctx, errors.New("syntax error"), 0, now, time.Minute), "another failure")
	assert.False(t, retryRead(ctx, &neo4j.Neo4jError{Code: "Neo.ClientError.Statement.SyntaxError"}, 0, now, time.Minute), "a client error")

	// The second retry waits about 2 s: not when that passes the retry time, nor
	// when the caller stops waiting.
	began := time.Now()
	assert.False(t, retryRead(ctx, lost, 1, now, time.Second), "past the retry time")
	stopped, cancel := context.WithCancel(ctx)
	cancel()
	assert.False(t, retryRead(stopped, lost, 0, now, time.Minute), "the caller stopped waiting")
	soon, cancelSoon := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancelSoon()
	assert.False(t, retryRead(soon, lost, 1, now, time.Minute), "the caller stopped waiting during the wait")
	assert.Less(t, time.Since(began), time.Second, "no wait was sat out")
}
