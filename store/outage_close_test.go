package store

import (
	"context"
	"net"
	"testing"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Closing the store while a health check is in flight stops the check and waits for
// it before the probe driver is closed: a check still running on a closed driver
// races with the driver's pool (go test -race reports it).
func TestHealthCloseWaitsForCheckInFlight(t *testing.T) {
	// A server that accepts connections and never answers: the check hangs in the
	// Bolt handshake until its timeout, or until close cancels it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	accepted := make(chan net.Conn, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	t.Cleanup(func() {
		for len(accepted) > 0 {
			_ = (<-accepted).Close()
		}
	})

	h, err := newHealth("bolt://"+ln.Addr().String(), neo4j.NoAuth(), "neo4j", nil)
	require.NoError(t, err)
	h.suspect()
	c := <-accepted // the check is connected, waiting for Neo4j's answer
	accepted <- c

	require.NoError(t, h.close(context.Background()))
	h.mu.Lock()
	probing := h.probing
	h.mu.Unlock()
	assert.False(t, probing, "close returned while the health check was still running")
	h.suspect() // a closed health starts no check
	h.mu.Lock()
	assert.False(t, h.probing)
	h.mu.Unlock()
}
