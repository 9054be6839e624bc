package sagemakerapi

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/store"
)

// coneOf is a cone of n units of memory (edges of empty strings: 64 bytes each).
func coneOf(n int) cone {
	return cone{edges: make([]store.Edge, n)}
}

func TestConeCache(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	c := newConeCache()
	c.now = func() time.Time { return now }
	c.maxBytes = 10 * 64

	a := c.keep("q1", coneOf(4))
	require.NotEmpty(t, a)
	l, ok := c.get(a, "q1")
	assert.True(t, ok)
	assert.Len(t, l.edges, 4)
	_, ok = c.get(a, "q2")
	assert.False(t, ok, "kept for another question")
	_, ok = c.get("nope", "q1")
	assert.False(t, ok)

	t.Run("the oldest goes first when the nodes would pass the most", func(t *testing.T) {
		b := c.keep("q1", coneOf(5))
		assert.Equal(t, 9*64, c.bytes)
		d := c.keep("q1", coneOf(3))
		_, ok := c.get(a, "q1")
		assert.False(t, ok, "the oldest was dropped")
		_, ok = c.get(b, "q1")
		assert.True(t, ok)
		_, ok = c.get(d, "q1")
		assert.True(t, ok)
		assert.Equal(t, 8*64, c.bytes)
		assert.Empty(t, c.keep("q1", coneOf(11)), "larger than the whole cache")
	})
	t.Run("dropped after its last page", func(t *testing.T) {
		e := c.keep("q3", coneOf(1))
		c.drop(e)
		_, ok := c.get(e, "q3")
		assert.False(t, ok)
		assert.Equal(t, 8*64, c.bytes)
		c.drop(e) // twice is harmless
		assert.Equal(t, 8*64, c.bytes)
	})
	t.Run("forgotten by a new epoch", func(t *testing.T) {
		e := c.keep("q6", coneOf(1))
		coneEpoch.Add(1)
		_, ok := c.get(e, "q6")
		assert.False(t, ok)
		c.drop(e)
		assert.Equal(t, 8*64, c.bytes)
	})
	t.Run("expired", func(t *testing.T) {
		f := c.keep("q4", coneOf(1))
		now = now.Add(ConeCacheTTL)
		_, ok := c.get(f, "q4")
		assert.False(t, ok)
		g := c.keep("q5", coneOf(2))
		assert.Equal(t, 2*64, c.bytes, "the expired cones were dropped")
		assert.Len(t, c.order, 1)
		_, ok = c.get(g, "q5")
		assert.True(t, ok)
	})
}

// A page of a cone by ARN: the vertices after the ARN given, size at most, and whether
// more follow; the store's page is the whole cone as the store ordered it.
func TestConePage(t *testing.T) {
	var api API
	l := store.Lineage{}
	for _, k := range []string{"experiment:c", "experiment:a", "experiment:d", "experiment:b"} {
		l.Nodes = append(l.Nodes, store.Node{Key: k, Kind: store.KindExperiment})
	}
	c := api.coneOf(nil, l, true)
	arns := func(p lineagePage) []string {
		var out []string
		for _, v := range p.vertices {
			out = append(out, v.Arn)
		}
		return out
	}
	all := arns(c.page("", 10, false))
	require.Len(t, all, 4)
	assert.IsIncreasing(t, all)
	first := c.page("", 3, false)
	assert.Equal(t, all[:3], arns(first))
	assert.True(t, first.more)
	last := c.page(all[2], 3, false)
	assert.Equal(t, all[3:], arns(last))
	assert.False(t, last.more)
	assert.Empty(t, arns(c.page(all[3], 3, false)))
	stored := api.coneOf(nil, l, false)
	assert.Len(t, arns(stored.page("", 1, true)), 4, "the store's page is answered whole")
}

// A question is what its request decodes to: two bodies that decode to different start
// ARNs (a member spelled in another case decodes as the same member) are different
// questions, and a page token holds a cone only with the ARN paging continues after.
func TestQueryFingerprint(t *testing.T) {
	fingerprint := func(body string) (string, []string) {
		var in queryLineageRequest
		require.NoError(t, decode([]byte(body), &in))
		return queryFingerprint(in), in.StartArns
	}
	a, aStart := fingerprint(`{"StartArns":["A"],"startArns":["B"]}`)
	b, bStart := fingerprint(`{"startArns":["B"],"StartArns":["A"]}`)
	require.NotEqual(t, aStart, bStart)
	assert.NotEqual(t, a, b)
	c, _ := fingerprint(`{"StartArns":["B"],"MaxResults":3,"NextToken":"x"}`)
	d, _ := fingerprint(`{"StartArns":["B"]}`)
	assert.Equal(t, c, d, "MaxResults and NextToken may change between pages")

	for name, tok := range map[string]queryToken{
		"cone and cursor": {Cursor: "c", Cone: "k"},
		"cone alone":      {Cone: "k"},
	} {
		s := encodeQueryToken(tok, d)
		_, err := decodeQueryToken(&s, d)
		assert.Equal(t, badQueryToken, err, name)
	}
	s := encodeQueryToken(queryToken{After: "arn", Cone: "k"}, d)
	got, err := decodeQueryToken(&s, d)
	require.NoError(t, err)
	assert.Equal(t, "k", got.Cone)
}
