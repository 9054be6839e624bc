package sagemakerapi

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/store"
)

func coneOf(n int) store.Lineage {
	return store.Lineage{Nodes: make([]store.Node, n)}
}

func TestConeCache(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	c := newConeCache()
	c.now = func() time.Time { return now }
	c.maxNodes = 10

	a := c.keep("q1", coneOf(4))
	require.NotEmpty(t, a)
	l, ok := c.get(a, "q1")
	assert.True(t, ok)
	assert.Len(t, l.Nodes, 4)
	_, ok = c.get(a, "q2")
	assert.False(t, ok, "kept for another question")
	_, ok = c.get("nope", "q1")
	assert.False(t, ok)

	t.Run("the oldest goes first when the nodes would pass the most", func(t *testing.T) {
		b := c.keep("q1", coneOf(5))
		assert.Equal(t, 9, c.nodes)
		d := c.keep("q1", coneOf(3))
		_, ok := c.get(a, "q1")
		assert.False(t, ok, "the oldest was dropped")
		_, ok = c.get(b, "q1")
		assert.True(t, ok)
		_, ok = c.get(d, "q1")
		assert.True(t, ok)
		assert.Equal(t, 8, c.nodes)
		assert.Empty(t, c.keep("q1", coneOf(11)), "larger than the whole cache")
	})
	t.Run("dropped after its last page", func(t *testing.T) {
		e := c.keep("q3", coneOf(1))
		c.drop(e)
		_, ok := c.get(e, "q3")
		assert.False(t, ok)
		assert.Equal(t, 8, c.nodes)
		c.drop(e) // twice is harmless
		assert.Equal(t, 8, c.nodes)
	})
	t.Run("expired", func(t *testing.T) {
		f := c.keep("q4", coneOf(1))
		now = now.Add(ConeCacheTTL)
		_, ok := c.get(f, "q4")
		assert.False(t, ok)
		g := c.keep("q5", coneOf(2))
		assert.Equal(t, 2, c.nodes, "the expired cones were dropped")
		assert.Len(t, c.order, 1)
		_, ok = c.get(g, "q5")
		assert.True(t, ok)
	})
}
