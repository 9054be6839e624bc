package store

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/provgraph/provgraph/apperr"
)

// The pure half of a lineage answer (lineage.go holds the queries and the transaction
// steps): what to ask of the graph, in which order and within which budget, and how the
// records are put together. Nothing here runs a query, so it is tested without Neo4j.

// lineagePlan is what a lineage question asks of the graph, worked out before the
// first query.
type lineagePlan struct {
	q LineageQuery
	// start is q.Start without repeats, in order.
	start []string
	// limit is the most nodes of this answer: the budget, or MaxLineageNodes.
	limit int
	// after is where a later page continues in the cone; nil on the first page.
	after *conePosition
	// pinned is the time the pages see the graph at, which the next cursor carries: the
	// first page's time (or asOf), and on a later page the time its cursor carries.
	pinned time.Time
	// asOf and recordedBy are the times as the driver sends them, or nil. recordedBy is
	// set on later pages only, so that they see what the first page saw.
	asOf, recordedBy any
	// timed selects the query variants that filter relationships by time (see
	// edgesStood): 1 when asOf or recordedBy is set.
	timed int
	// mask names the directions for the query sets: 1 upstream, 2 downstream, 3 both.
	mask int
	// dirs lists them as the cone queries count them: 0 upstream, 1 downstream.
	dirs []int
	// coneDepth is how deep the first round trip traverses along with fetching the
	// start nodes: MaxDepth on the first page, 0 (no cone) on a later one.
	coneDepth int
	// wanted is the kinds filter as a set; empty keeps every kind.
	wanted map[Kind]bool
	// fold is true when the first round trip also fetches the edges among the start
	// nodes and their cones (foldedQueries): on a first page, unfiltered, with edges
	// asked for, and from start nodes none of which stands for its versions (whose
	// traversal needs a second round trip anyway). The answer is then the whole cone in
	// one round trip unless it must be paged.
	fold bool
	// single is true when the first statement is likely the whole answer (a first,
	// unfiltered page from start nodes none of which stands for its versions), so it
	// is sent on its own, without a round trip for BEGIN (Store.Lineage).
	single bool
}

// planLineage checks q and plans its answer as asked at now (the time a first page
// pins for the pages after it).
func planLineage(q LineageQuery, now time.Time) (lineagePlan, error) {
	start, err := checkLineageQuery(q)
	if err != nil {
		return lineagePlan{}, err
	}
	p := lineagePlan{
		q: q, start: start, limit: q.Budget, pinned: now.UTC(), asOf: q.asOfParam(),
		mask:      map[Direction]int{Upstream: 1, Downstream: 2, Both: 3}[q.Direction],
		dirs:      map[Direction][]int{Upstream: {0}, Downstream: {1}, Both: {0, 1}}[q.Direction],
		coneDepth: q.MaxDepth,
		wanted:    make(map[Kind]bool, len(q.Kinds)),
	}
	if p.limit == 0 {
		p.limit = MaxLineageNodes
	}
	if q.AsOf != nil {
		p.pinned = q.AsOf.UTC()
	}
	// A page after the first continues from a position in the cone, as the graph stood
	// when the first page was asked for.
	if q.After != "" {
		c, err := decodeConeCursor("after", q.After, q.fingerprint())
		if err != nil {
			return lineagePlan{}, err
		}
		p.after, p.pinned, p.recordedBy = &c.Position, c.AsOf, c.AsOf
		p.coneDepth = 0
	}
	if p.asOf != nil || p.recordedBy != nil {
		p.timed = 1
	}
	for _, k := range q.Kinds {
		p.wanted[k] = true
	}
	p.single = p.after == nil && len(q.Kinds) == 0 && !mayStandForVersions(start)
	p.fold = p.single && !q.SkipEdges
	return p, nil
}

// mayStandForVersions is true when a start ID may name a dataset or a registered model,
// which stands for all its versions (versionParents).
func mayStandForVersions(start []string) bool {
	for _, id := range start {
		kinds, err := KindsOfID("start", id)
		if err != nil || slices.Contains(kinds, KindDataset) || slices.Contains(kinds, KindRegisteredModel) {
			return true
		}
	}
	return false
}

// params adds the times every lineage query filters by to params.
func (p *lineagePlan) params(params map[string]any) map[string]any {
	params["asOf"], params["recordedBy"] = p.asOf, p.recordedBy
	return params
}

// shows is true for a reached node of a kind the answer keeps.
func (p *lineagePlan) shows(n Node) bool { return len(p.wanted) == 0 || p.wanted[n.Kind] }

// pagedAtOnce is true when the answer is a page of the cone whatever its size: a later
// page, or one filtered by kinds, whose shown nodes are usually a thin slice of a cone
// (paging at once spares fetching the cone twice).
func (p *lineagePlan) pagedAtOnce() bool { return p.after != nil || len(p.q.Kinds) > 0 }

// checkStarts makes sure every start node was found (a NOT_FOUND error naming the list
// element otherwise) and, for an answer as of a time, had been recorded by then.
func (p *lineagePlan) checkStarts(found map[string]Node) error {
	for i, k := range p.q.Start {
		n, ok := found[k]
		if !ok {
			return notFound(fmt.Sprintf("start[%d]", i), k)
		}
		if p.q.AsOf != nil && n.RecordedAt.After(*p.q.AsOf) {
			return apperr.Missing(fmt.Sprintf("start[%d]", i), "node %q was recorded at %s, after asOf %s",
				truncateForMessage(k), n.RecordedAt.Format(time.RFC3339Nano), p.q.AsOf.Format(time.RFC3339Nano))
		}
	}
	return nil
}

// versionParents are the start nodes that stand for all their versions: datasets and
// registered models. Their versions join the traversal's start.
func (p *lineagePlan) versionParents(found map[string]Node) []string {
	var parents []string
	for _, k := range p.start {
		if kind := found[k].Kind; kind == KindDataset || kind == KindRegisteredModel {
			parents = append(parents, k)
		}
	}
	return parents
}

// lineageAnswer is a lineage answer being put together, step by step.
type lineageAnswer struct {
	out Lineage
	// structural are the VERSION_OF edges joining versions to their start nodes.
	structural []Edge
	// traversal is where the traversal starts: the start nodes and their versions.
	traversal []string
	// head is what the first page holds of them (the versions of a wanted kind).
	head []string
	// seen are the nodes already placed, so that each is placed once.
	seen map[string]bool
}

// startAnswer begins the answer with the start nodes: the first page holds them
// always, a later page never.
func (p *lineagePlan) startAnswer(found map[string]Node) *lineageAnswer {
	a := &lineageAnswer{
		traversal: slices.Clone(p.start),
		head:      slices.Clone(p.start),
		seen:      make(map[string]bool, len(p.start)),
	}
	for _, k := range p.start {
		a.seen[k] = true
		if p.after == nil {
			a.out.Nodes = append(a.out.Nodes, found[k])
		}
	}
	return a
}

// versionOf is a version of a start node, as the versions query returns it.
type versionOf struct {
	parent  string
	version Node
}

// addVersions adds the versions of start nodes (by ID): each joins the traversal with
// its structural edge, and the first page holds those of a wanted kind. It returns
// true when they alone exceed the limit: the answer is then the first of them, cut and
// without a next page (see docs/limits.md).
func (a *lineageAnswer) addVersions(p *lineagePlan, versions []versionOf) (cut bool) {
	for _, vo := range versions {
		v := vo.version
		a.structural = append(a.structural, Edge{From: v.Key, To: vo.parent, Type: RelVersionOf})
		if a.seen[v.Key] {
			continue
		}
		a.seen[v.Key] = true
		a.traversal = append(a.traversal, v.Key)
		if p.shows(v) {
			a.head = append(a.head, v.Key)
			if p.after == nil {
				a.out.Nodes = append(a.out.Nodes, v)
			}
		}
	}
	if len(a.out.Nodes) > p.limit {
		a.out.Nodes, a.out.Truncated = a.out.Nodes[:p.limit], true
		return true
	}
	return false
}

// room is how many cone nodes still fit into the answer.
func (a *lineageAnswer) room(p *lineagePlan) int { return p.limit - len(a.out.Nodes) }

// addWholeCone adds the cones of the directions asked for (cones[dir], each fetched
// with a limit one over the plan's), each node once and only the kinds shown, by ID,
// when they all fit. It returns true when they do not: the answer must be paged.
func (a *lineageAnswer) addWholeCone(p *lineagePlan, cones [2][]Node) (paged bool) {
	room := a.room(p)
	var reached []Node
	for _, dir := range p.dirs {
		paged = paged || len(cones[dir]) > p.limit
		for _, n := range cones[dir] {
			if !a.seen[n.Key] {
				a.seen[n.Key] = true
				if p.shows(n) {
					reached = append(reached, n)
				}
			}
		}
	}
	if paged = paged || len(reached) > room; !paged {
		sort.Slice(reached, func(i, j int) bool { return reached[i].Key < reached[j].Key })
		a.out.Nodes = append(a.out.Nodes, reached...)
	}
	return paged
}

// pageFrom is the position a page of the cone starts after: the cursor's on a later
// page, the cone's beginning on the first.
func (p *lineagePlan) pageFrom() conePosition {
	if p.after != nil {
		return *p.after
	}
	return conePosition{}
}

// pageLimit is how many nodes the page query lists: the room and one more (to tell
// whether a next page exists), and as many again as the traversal has starts, because
// start nodes reached again in a cycle are listed and dropped (addPage).
func (a *lineageAnswer) pageLimit(p *lineagePlan) int { return a.room(p) + 1 + len(a.traversal) }

// addPage adds a page of the cone: listed are the nodes the page query returned after
// pageFrom, by depth and then ID, with their depths. Nodes that start the traversal are
// dropped; what does not fit is cut, and the answer then carries the cursor of the next
// page. It returns the positions of the nodes added.
func (a *lineageAnswer) addPage(p *lineagePlan, listed []Node, depths []int) []conePosition {
	room := a.room(p)
	starting := make(map[string]bool, len(a.traversal))
	for _, k := range a.traversal {
		starting[k] = true
	}
	var nodes []Node
	var page []conePosition
	for i, n := range listed {
		if !starting[n.Key] {
			nodes = append(nodes, n)
			page = append(page, conePosition{Depth: depths[i], Key: n.Key})
		}
	}
	if len(nodes) > room {
		nodes, page = nodes[:room], page[:room]
		end := p.pageFrom()
		if room > 0 {
			end = page[room-1]
		}
		a.out.Truncated = true
		a.out.EndCursor = coneCursor{Position: end, AsOf: p.pinned, Query: p.q.fingerprint()}.encode()
	}
	a.out.Nodes = append(a.out.Nodes, nodes...)
	return page
}

// edgeScope is which nodes an answer's edges touch: onPage, the nodes it holds, of
// which every edge joins at least one; kept, those and the earlier nodes given (of
// earlier pages), among which the provenance edges are looked up.
func edgeScope(nodes []Node, earlier []string) (onPage, kept map[string]bool) {
	onPage = make(map[string]bool, len(nodes))
	for _, n := range nodes {
		onPage[n.Key] = true
	}
	kept = maps.Clone(onPage)
	for _, k := range earlier {
		kept[k] = true
	}
	return onPage, kept
}

// joinEdges is an answer's edges: the structural ones between two nodes on the page
// and the provenance ones among (found among the kept nodes) touching the page, each
// once, in (from, to, type) order.
func joinEdges(onPage map[string]bool, structural, among []Edge) []Edge {
	var out []Edge
	edgeSeen := map[Edge]bool{}
	for _, e := range structural {
		if onPage[e.From] && onPage[e.To] && !edgeSeen[e] {
			edgeSeen[e] = true
			out = append(out, e)
		}
	}
	for _, e := range among {
		if (onPage[e.From] || onPage[e.To]) && !edgeSeen[e] {
			edgeSeen[e] = true
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.From != b.From {
			return a.From < b.From
		}
		if a.To != b.To {
			return a.To < b.To
		}
		return a.Type < b.Type
	})
	return out
}
