package sagemakerapi

import (
	"crypto/rand"
	"encoding/base64"
	"sync"
	"sync/atomic"
	"time"
)

// The cone cache keeps the cone a QueryLineage answer paged, so that the pages after the
// first are answered from it instead of traversing the whole cone again: a client that
// follows NextToken through a cone of 120 vertices pays for one traversal, not three.
// It keeps what the pages need (vertices, ARNs, edges), not the nodes' properties. It
// lives in the process that answered the first page; a page asked of another replica,
// or after the cone was dropped, traverses again (lineage_query.go), which answers the
// same vertices, as the graph only grows.
const (
	// ConeCacheTTL is how long a paged cone is kept after its first page.
	ConeCacheTTL = 5 * time.Minute
	// ConeCacheBytes is about the most memory the kept cones hold together; the oldest
	// cone goes first when a new one would pass it.
	ConeCacheBytes = 64 << 20
)

// keepingCones is false when cones are neither kept nor answered from (tests turn the
// cache off to reach the traversal of later pages).
var keepingCones = func() *atomic.Bool {
	var b atomic.Bool
	b.Store(true)
	return &b
}()

// coneEpoch is the generation of the kept cones: a cone kept in an earlier one is no
// longer answered from (tests forget every kept cone by starting a new one).
var coneEpoch atomic.Int64

// keptCone is a cone kept for its later pages, for the question it answers.
type keptCone struct {
	id       string
	question string
	cone     cone
	bytes    int
	epoch    int64
	expires  time.Time
}

// coneCache holds the cones being paged, oldest first (they all live ConeCacheTTL, so
// the oldest is also the first to expire).
type coneCache struct {
	mu       sync.Mutex
	now      func() time.Time
	maxBytes int
	bytes    int
	byID     map[string]*keptCone
	order    []*keptCone
}

func newConeCache() *coneCache {
	return &coneCache{now: time.Now, maxBytes: ConeCacheBytes, byID: map[string]*keptCone{}}
}

// keep keeps cone c, the answer to question, and returns the ID its later pages ask
// for it by. A cone larger than the whole cache is not kept ("" is returned).
func (cc *coneCache) keep(question string, c cone) string {
	size := c.bytes()
	if size > cc.maxBytes || !keepingCones.Load() {
		return ""
	}
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	k := &keptCone{id: base64.RawURLEncoding.EncodeToString(b[:]), question: question, cone: c, bytes: size, epoch: coneEpoch.Load()}
	cc.mu.Lock()
	defer cc.mu.Unlock()
	now := cc.now()
	k.expires = now.Add(ConeCacheTTL)
	cc.expire(now)
	for len(cc.order) > 0 && cc.bytes+size > cc.maxBytes {
		cc.dropOldest()
	}
	cc.byID[k.id] = k
	cc.order = append(cc.order, k)
	cc.bytes += size
	return k.id
}

// expire drops the cones expired at now (cc.mu held).
func (cc *coneCache) expire(now time.Time) {
	for len(cc.order) > 0 && !cc.order[0].expires.After(now) {
		cc.dropOldest()
	}
}

// dropOldest forgets the oldest cone (cc.mu held). A cone dropped before is only taken
// off the queue.
func (cc *coneCache) dropOldest() {
	k := cc.order[0]
	cc.order[0] = nil
	cc.order = cc.order[1:]
	cc.forget(k)
}

// forget forgets cone k if it is still kept (cc.mu held); its place in the queue goes
// when it reaches the front.
func (cc *coneCache) forget(k *keptCone) {
	if cc.byID[k.id] == k {
		delete(cc.byID, k.id)
		cc.bytes -= k.bytes
		k.cone = cone{}
	}
}

// get returns the cone kept under id for question, if it is still kept.
func (cc *coneCache) get(id, question string) (cone, bool) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	cc.expire(cc.now())
	k, ok := cc.byID[id]
	if !ok || k.question != question || k.epoch != coneEpoch.Load() || !keepingCones.Load() {
		return cone{}, false
	}
	return k.cone, true
}

// drop forgets the cone kept under id: its last page was answered.
func (cc *coneCache) drop(id string) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	cc.expire(cc.now())
	if k, ok := cc.byID[id]; ok {
		cc.forget(k)
	}
}
