package store

import (
	"context"
	"testing"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
	"github.com/stretchr/testify/assert"

	"github.com/provgraph/provgraph/apperr"
)

// A transaction gets the time its context has left, in whole milliseconds rounded up
// (Neo4j counts in them, and 0 would mean no limit); without a deadline, or with one
// already past, the server's default stands.
func TestTransactionTimeoutFollowsTheDeadline(t *testing.T) {
	t.Parallel()
	timeout := func(ctx context.Context) time.Duration {
		var c neo4j.TransactionConfig
		txTimeout(ctx)(&c)
		return c.Timeout
	}
	assert.Zero(t, timeout(context.Background()))

	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	t.Cleanup(cancel)
	got := timeout(ctx)
	assert.True(t, got > 59*time.Minute && got <= time.Hour, "got %s", got)
	assert.Zero(t, got%time.Millisecond, "whole milliseconds")

	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Microsecond)
	t.Cleanup(cancel)
	if got := timeout(ctx); got != 0 { // the deadline may already have passed
		assert.Equal(t, time.Millisecond, got, "a fraction of a millisecond rounds up, never to 0")
	}

	ctx, cancel = context.WithTimeout(context.Background(), time.Nanosecond)
	t.Cleanup(cancel)
	<-ctx.Done()
	assert.Zero(t, timeout(ctx))
}

// Neo4j stopping a transaction at its timeout is UNAVAILABLE, like the deadline
// passing on the driver's side, not an internal error.
func TestTransactionTimedOutIsUnavailable(t *testing.T) {
	t.Parallel()
	for _, code := range []string{
		"Neo.ClientError.Transaction.TransactionTimedOut",
		"Neo.ClientError.Transaction.TransactionTimedOutClientConfiguration",
	} {
		err := classify(&neo4j.Neo4jError{Code: code, Msg: "timed out"})
		assert.Equal(t, apperr.Unavailable, apperr.CodeOf(err), code)
		assert.Contains(t, err.Error(), "took too long")
	}
	assert.Equal(t, apperr.Unavailable, apperr.CodeOf(classify(context.DeadlineExceeded)))
}
