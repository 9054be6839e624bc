package sagemakerapi

import (
	"crypto/rand"
	"encoding/base64"
	"sync"
	"sync/atomic"
	"time"

	"github.com/provgraph/provgraph/store"
)

// The cone cache keeps the cone a QueryLineage answer paged, so that the pages after the
// first are answered from it instead of traversing the whole cone again: a client that
// follows NextToken through a cone of 120 vertices pays for one traversal, not three.
// It lives in the process that answered the first page; a page asked of another replica,
// or after the cone was dropped, traverses again (lineage_query.go), which answers the
// same vertices, as the graph only grows.
const (
	// ConeCacheTTL is how long a paged cone is kept after its first page.
	ConeCacheTTL = 5 * time.Minute
	// ConeCacheNodes is the most nodes the kept cones hold together; the oldest cone
	// goes first when a new one would pass it.
	ConeCacheNodes = 100_000
)

// keepingCones is false when cones are neither kept nor answered from (tests turn the
// cache off to reach the traversal of later pages).
var keepingCones = func() *atomic.Bool {
	var b atomic.Bool
	b.Store(true)
	return &b
}()

// keptCone is a cone kept for its later pages: the lineage of the question it answers.
type keptCone struct {
	id       string
	question string
	lineage  store.Lineage
	expires  time.Time
}

// coneCache holds the cones being paged, oldest first (they all live ConeCacheTTL, so
// the oldest is also the first to expire).
type coneCache struct {
	mu       sync.Mutex
	now      func() time.Time
	maxNodes int
	nodes    int
	byID     map[string]*keptCone
	order    []*keptCone
}

func newConeCache() *coneCache {
	return &coneCache{now: time.Now, maxNodes: ConeCacheNodes, byID: map[string]*keptCone{}}
}

// keep keeps lineage l, the answer to question, and returns the ID its later pages
// ask for it by. A cone larger than the whole cache is not kept ("" is returned).
func (c *coneCache) keep(question string, l store.Lineage) string {
	if len(l.Nodes) > c.maxNodes || !keepingCones.Load() {
		return ""
	}
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	k := &keptCone{id: base64.RawURLEncoding.EncodeToString(b[:]), question: question, lineage: l}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	k.expires = now.Add(ConeCacheTTL)
	for len(c.order) > 0 && (c.nodes+len(l.Nodes) > c.maxNodes || !c.order[0].expires.After(now)) {
		c.dropOldest()
	}
	c.byID[k.id] = k
	c.order = append(c.order, k)
	c.nodes += len(l.Nodes)
	return k.id
}

// dropOldest forgets the oldest cone (c.mu held). A cone forgotten by drop before is
// only taken off the queue.
func (c *coneCache) dropOldest() {
	k := c.order[0]
	c.order[0] = nil
	c.order = c.order[1:]
	if c.byID[k.id] == k {
		delete(c.byID, k.id)
		c.nodes -= len(k.lineage.Nodes)
	}
}

// get returns the cone kept under id for question, if it is still kept.
func (c *coneCache) get(id, question string) (store.Lineage, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k, ok := c.byID[id]
	if !ok || k.question != question || !k.expires.After(c.now()) || !keepingCones.Load() {
		return store.Lineage{}, false
	}
	return k.lineage, true
}

// drop forgets the cone kept under id: its last page was answered.
func (c *coneCache) drop(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if k, ok := c.byID[id]; ok {
		delete(c.byID, id)
		c.nodes -= len(k.lineage.Nodes)
		k.lineage = store.Lineage{} // its place in the queue goes when it would have expired
	}
}
