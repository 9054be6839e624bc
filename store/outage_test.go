package store_test

import (
	"context"
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/apperr"
	"github.com/provgraph/provgraph/internal/neo4jtest"
	"github.com/provgraph/provgraph/store"
)

// Neo4j that stops answering (a proxy in front of it drops every connection and
// refuses new ones) costs one request at most a moment, not the driver's 30 s of
// retries: the store notices the outage, fails what is in flight and what comes next
// with UNAVAILABLE at once, and serves again as soon as Neo4j answers, with the same
// store (no restart).
func TestOutageFailsFastAndRecovers(t *testing.T) {
	cfg := neo4jtest.Config(t)
	neo4jtest.Store(t) // the schema is in place
	u, err := url.Parse(cfg.URI)
	require.NoError(t, err)
	if u.Scheme != "bolt" && u.Scheme != "neo4j" {
		t.Skipf("the proxy forwards plain Bolt; NEO4J_URI is %s", u.Scheme)
	}
	p := startProxy(t, u.Host)
	cfg.URI = "bolt://" + p.addr
	st, err := store.Open(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close(context.Background()) })
	ctx := t.Context()
	require.NoError(t, st.Ready(ctx, store.Schema))
	_, down := st.Outage()
	assert.False(t, down)

	p.down()
	start := time.Now()
	err = st.Ready(ctx, store.Schema)
	first := time.Since(start)
	require.Error(t, err)
	assert.Equal(t, apperr.Unavailable, apperr.CodeOf(err), "%v", err)
	// The driver alone would retry for its 30 s; the store gives up after one check.
	assert.Less(t, first, store.OutageSuspectAfter+store.OutageProbeTimeout+5*time.Second)
	since, down := st.Outage()
	require.True(t, down, "the store knows of the outage")
	assert.WithinDuration(t, time.Now(), since, time.Minute)

	start = time.Now()
	err = st.Ready(ctx, store.Schema)
	assert.Equal(t, apperr.Unavailable, apperr.CodeOf(err), "%v", err)
	assert.Contains(t, err.Error(), "cannot be reached")
	assert.Less(t, time.Since(start), store.OutageSuspectAfter, "during the outage a request fails without waiting")
	t.Logf("first request failed after %s, the next after %s", first.Round(time.Millisecond), time.Since(start).Round(time.Microsecond))

	p.up(t)
	require.Eventually(t, func() bool { return st.Ready(ctx, store.Schema) == nil }, 10*time.Second, 50*time.Millisecond,
		"the same store serves again once Neo4j answers")
	_, down = st.Outage()
	assert.False(t, down)
}

// proxy forwards TCP connections to target until down is called, and again after up.
type proxy struct {
	addr, target string
	mu           sync.Mutex
	ln           net.Listener
	conns        map[net.Conn]struct{}
}

func startProxy(t *testing.T, target string) *proxy {
	p := &proxy{target: target, conns: map[net.Conn]struct{}{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(p.down)
	return p
}

func (p *proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.forward(c)
		}
	}()
}

func (p *proxy) forward(c net.Conn) {
	s, err := net.Dial("tcp", p.target)
	if err != nil {
		_ = c.Close()
		return
	}
	p.mu.Lock()
	if p.ln == nil { // went down meanwhile
		p.mu.Unlock()
		_ = c.Close()
		_ = s.Close()
		return
	}
	p.conns[c], p.conns[s] = struct{}{}, struct{}{}
	p.mu.Unlock()
	go func() { _, _ = io.Copy(s, c); _ = s.Close() }()
	_, _ = io.Copy(c, s)
	_ = c.Close()
}

// down stops accepting and drops every connection, as a dead server would.
func (p *proxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		_ = p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		_ = c.Close()
		delete(p.conns, c)
	}
}

// up listens again on the same address.
func (p *proxy) up(t *testing.T) {
	var ln net.Listener
	require.Eventually(t, func() bool {
		var err error
		ln, err = net.Listen("tcp", p.addr)
		return err == nil
	}, 5*time.Second, 50*time.Millisecond, "listen on %s again", p.addr)
	p.serve(ln)
}
