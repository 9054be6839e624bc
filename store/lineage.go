package store

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"

	"github.com/provgraph/provgraph/apperr"
)

// Direction says which way a lineage traversal follows provenance edges.
type Direction string

// The traversal directions.
const (
	// Upstream follows provenance edges backwards, towards the sources.
	Upstream Direction = "UPSTREAM"
	// Downstream follows them forwards, towards what was derived.
	Downstream Direction = "DOWNSTREAM"
	// Both is the union of the upstream and the downstream cone of the start nodes.
	Both Direction = "BOTH"
)

// LineageQuery asks for the provenance cone of some start nodes.
type LineageQuery struct {
	Start     []string
	Direction Direction
	// MaxDepth counts provenance edges from a start node; 0 returns the start nodes.
	MaxDepth int
	// NodeLimit caps the nodes visited (start nodes included); 0 means
	// MaxLineageNodes, which is also the most it may be.
	NodeLimit int
	// Kinds, when not empty, keeps only reached nodes of these kinds in the result; the
	// traversal still passes through the other kinds. Start nodes are always returned.
	Kinds []Kind
	// AsOf, when set, answers as the graph stood then: only edges recorded by then, and
	// of deployments only those serving then.
	AsOf *time.Time
	// SkipEdges leaves Edges empty, saving a query when the caller does not need them.
	SkipEdges bool
}

// Edge is a provenance edge between two nodes of a lineage result; From is upstream.
type Edge struct {
	From string
	To   string
	Type string
}

// Lineage is a traversal result: nodes (start nodes first, then the versions of dataset
// and registered-model start nodes, then the cone by ID — or, when truncated, by depth
// and ID), the edges among them, and whether the node limit cut the cone short.
type Lineage struct {
	Nodes     []Node
	Edges     []Edge
	Truncated bool
}

// asOfEdge is true for an edge r that stood at $asOf (always, when $asOf is null): it
// was recorded by then and, for a deployment, had not ended by then. An edge is never
// recorded before its end nodes, so the edges alone decide what existed.
const asOfEdge = `($asOf IS NULL OR (r.recordedAt <= $asOf AND (type(r) <> '` + RelDeployedTo + `' OR r.to IS NULL OR r.to > $asOf)))`

// coneQuery is the traversal for one direction (0 upstream, 1 downstream) and depth,
// returning each reached node once with part = dir+1. Cypher cannot take a
// variable-length bound as a parameter, so the query sets below hold one constant
// query per depth, built here from Go constants; user input only selects among them by
// a checked index. DISTINCT end nodes let the planner use its pruning breadth-first
// expand.
func coneQuery(dir, depth int) string {
	arrow := [2][2]string{{"<-", "-"}, {"-", "->"}}[dir]
	return fmt.Sprintf(`MATCH (s:%[1]s) WHERE s.key IN $start
MATCH (s)%[5]s[rels:%[2]s*1..%[3]d]%[6]s(n:%[1]s)
WHERE all(r IN rels WHERE %[4]s)
WITH DISTINCT n LIMIT $limit
RETURN n, %[7]d AS part`, LabelNode, provenancePattern, depth, asOfEdge, arrow[0], arrow[1], dir+1)
}

// coneQueries[dir][depth] is coneQuery(dir, depth), for traversals that start from
// keys already known.
var coneQueries = func() (q [2][MaxLineageDepth + 1]string) {
	for depth := 1; depth <= MaxLineageDepth; depth++ {
		q[0][depth], q[1][depth] = coneQuery(0, depth), coneQuery(1, depth)
	}
	return q
}()

// startAndConeQueries[dirs][depth] fetches the start nodes (part 0) and the upstream
// (part 1) and/or downstream (part 2) cones in one round trip; dirs is 1 for upstream,
// 2 for downstream, 3 for both. Each part is planned on its own, so the cones keep the
// pruning breadth-first expand.
var startAndConeQueries = func() (q [4][MaxLineageDepth + 1]string) {
	starts := `MATCH (n:` + LabelNode + `) WHERE n.key IN $start RETURN n, 0 AS part`
	for mask := 1; mask <= 3; mask++ {
		for depth := 0; depth <= MaxLineageDepth; depth++ {
			parts := []string{starts}
			for dir := range 2 {
				if depth > 0 && mask&(1<<dir) != 0 {
					parts = append(parts, coneQuery(dir, depth))
				}
			}
			q[mask][depth] = strings.Join(parts, "\nUNION ALL\n")
		}
	}
	return q
}()

const cypherVersionsOf = `
UNWIND $keys AS k
MATCH (v:` + LabelNode + `)-[:` + RelVersionOf + `]->(:` + LabelNode + ` {key: k})
WHERE $asOf IS NULL OR v.recordedAt <= $asOf
RETURN k AS parent, v ORDER BY v.key LIMIT $limit`

const cypherEdgesAmong = `
UNWIND $keys AS k
MATCH (a:` + LabelNode + ` {key: k})-[r:` + provenancePattern + `]->(b:` + LabelNode + `)
WHERE b.key IN $keys AND ` + asOfEdge + `
RETURN DISTINCT a.key AS from, type(r) AS type, b.key AS to`

// Lineage returns the provenance cone of the start nodes in one read transaction.
// Unknown start IDs are NOT_FOUND errors naming the list element.
func (s *Store) Lineage(ctx context.Context, q LineageQuery) (Lineage, error) {
	start, err := checkLineageQuery(q)
	if err != nil {
		return Lineage{}, err
	}
	limit := q.NodeLimit
	if limit == 0 {
		limit = MaxLineageNodes
	}
	var asOf any // nil, or the time as the driver sends it
	if q.AsOf != nil {
		asOf = q.AsOf.UTC()
	}
	mask := map[Direction]int{Upstream: 1, Downstream: 2, Both: 3}[q.Direction]
	return read(ctx, s, func(tx neo4j.ManagedTransaction) (Lineage, error) {
		// One round trip for the start nodes and their cones; the cones are used unless
		// a start node stands for its versions, which must join the traversal first.
		recs, err := collect(ctx, tx, startAndConeQueries[mask][q.MaxDepth], map[string]any{
			"start": start, "limit": limit + 1, "asOf": asOf,
		})
		if err != nil {
			return Lineage{}, fmt.Errorf("traverse lineage: %w", err)
		}
		found := make(map[string]Node, len(start))
		prefetched := map[int][]*neo4j.Record{}
		for _, r := range recs {
			part, _ := r.Get("part")
			if p := int(part.(int64)); p > 0 {
				prefetched[p-1] = append(prefetched[p-1], r)
				continue
			}
			n, err := nodeAt(r, "n")
			if err != nil {
				return Lineage{}, err
			}
			found[n.Key] = n
		}
		for i, k := range q.Start {
			n, ok := found[k]
			if !ok {
				return Lineage{}, notFound(fmt.Sprintf("start[%d]", i), k)
			}
			if q.AsOf != nil && n.RecordedAt.After(*q.AsOf) {
				return Lineage{}, apperr.Missing(fmt.Sprintf("start[%d]", i), "node %q was recorded at %s, after asOf %s",
					truncateForMessage(k), n.RecordedAt.Format(time.RFC3339Nano), q.AsOf.Format(time.RFC3339Nano))
			}
		}
		var out Lineage
		seen := make(map[string]bool, len(start))
		seenStart := make(map[string]bool, len(start)) // the start nodes as asked for
		for _, k := range start {
			out.Nodes = append(out.Nodes, found[k])
			seen[k] = true
			seenStart[k] = true
		}
		// A dataset or registered model stands for all of its versions: they start the
		// traversal with it, joined to it by their structural VERSION_OF edges.
		var parents []string
		for _, k := range start {
			if kind := found[k].Kind; kind == KindDataset || kind == KindRegisteredModel {
				parents = append(parents, k)
			}
		}
		if len(parents) > 0 {
			recs, err := collect(ctx, tx, cypherVersionsOf, map[string]any{"keys": parents, "limit": limit + 1, "asOf": asOf})
			if err != nil {
				return Lineage{}, fmt.Errorf("versions of lineage start nodes: %w", err)
			}
			for _, r := range recs {
				v, err := nodeAt(r, "v")
				if err != nil {
					return Lineage{}, err
				}
				parent, _ := r.Get("parent")
				out.Edges = append(out.Edges, Edge{From: v.Key, To: parent.(string), Type: RelVersionOf})
				if !seen[v.Key] {
					seen[v.Key] = true
					start = append(start, v.Key)
					out.Nodes = append(out.Nodes, v)
				}
			}
			if len(recs) > 0 && len(out.Nodes) > limit {
				// The versions alone exceed the limit: return the first of them, by ID.
				out.Nodes = out.Nodes[:limit]
				out.Truncated = true
			}
		}
		var dirs []int
		switch {
		case out.Truncated:
		case q.Direction == Upstream:
			dirs = []int{0}
		case q.Direction == Downstream:
			dirs = []int{1}
		case q.Direction == Both:
			dirs = []int{0, 1}
		}
		var reached []Node
		for _, dir := range dirs {
			if q.MaxDepth > 0 {
				recs := prefetched[dir]
				if len(parents) > 0 {
					// The versions joined the start nodes: traverse again from all.
					if recs, err = collect(ctx, tx, coneQueries[dir][q.MaxDepth], map[string]any{
						"start": start, "limit": limit + 1, "asOf": asOf,
					}); err != nil {
						return Lineage{}, fmt.Errorf("traverse lineage: %w", err)
					}
				}
				if len(recs) > limit {
					out.Truncated = true
				}
				for _, r := range recs {
					n, err := nodeAt(r, "n")
					if err != nil {
						return Lineage{}, err
					}
					if !seen[n.Key] {
						seen[n.Key] = true
						reached = append(reached, n)
					}
				}
			}
		}
		sort.Slice(reached, func(i, j int) bool { return reached[i].Key < reached[j].Key })
		if room := max(limit-len(out.Nodes), 0); len(dirs) > 0 && (out.Truncated || len(reached) > room) {
			// Too many for one answer: keep the nodes nearest the start, whole depths
			// first, so a cut answer is the same every time and stays connected.
			out.Truncated = true
			reached, err = nearestFirst(ctx, tx, dirs, start, q.MaxDepth, room, asOf)
			if err != nil {
				return Lineage{}, err
			}
		}
		if len(q.Kinds) > 0 {
			wanted := make(map[Kind]bool, len(q.Kinds))
			for _, k := range q.Kinds {
				wanted[k] = true
			}
			shown := out.Nodes[:0:0]
			for _, n := range out.Nodes {
				if seenStart[n.Key] || wanted[n.Kind] {
					shown = append(shown, n)
				}
			}
			for _, n := range reached {
				if wanted[n.Kind] {
					shown = append(shown, n)
				}
			}
			out.Nodes = shown
		} else {
			out.Nodes = append(out.Nodes, reached...)
		}

		kept := make(map[string]bool, len(out.Nodes))
		for _, n := range out.Nodes {
			kept[n.Key] = true
		}
		edgeSeen := map[Edge]bool{}
		structural := out.Edges
		out.Edges = nil
		if q.SkipEdges {
			structural = nil
		}
		for _, e := range structural {
			if kept[e.From] && kept[e.To] && !edgeSeen[e] {
				edgeSeen[e] = true
				out.Edges = append(out.Edges, e)
			}
		}
		// The provenance edges among everything returned, including edges between the
		// upstream and the downstream cone.
		if len(kept) > 1 && !q.SkipEdges {
			keys := make([]string, 0, len(kept))
			for k := range kept {
				keys = append(keys, k)
			}
			recs, err := collect(ctx, tx, cypherEdgesAmong, map[string]any{"keys": keys, "asOf": asOf})
			if err != nil {
				return Lineage{}, fmt.Errorf("lineage edges: %w", err)
			}
			for _, r := range recs {
				var e Edge
				from, _ := r.Get("from")
				to, _ := r.Get("to")
				typ, _ := r.Get("type")
				e.From, _ = from.(string)
				e.To, _ = to.(string)
				e.Type, _ = typ.(string)
				if !edgeSeen[e] {
					edgeSeen[e] = true
					out.Edges = append(out.Edges, e)
				}
			}
		}
		sort.Slice(out.Edges, func(i, j int) bool {
			a, b := out.Edges[i], out.Edges[j]
			if a.From != b.From {
				return a.From < b.From
			}
			if a.To != b.To {
				return a.To < b.To
			}
			return a.Type < b.Type
		})
		return out, nil
	})
}

// levelQueries[dir] expands a frontier by one provenance edge.
var levelQueries = [2]string{
	`UNWIND $frontier AS k
MATCH (:` + LabelNode + ` {key: k})<-[r:` + provenancePattern + `]-(n:` + LabelNode + `)
WHERE ` + asOfEdge + `
RETURN DISTINCT n ORDER BY n.key LIMIT $max`,
	`UNWIND $frontier AS k
MATCH (:` + LabelNode + ` {key: k})-[r:` + provenancePattern + `]->(n:` + LabelNode + `)
WHERE ` + asOfEdge + `
RETURN DISTINCT n ORDER BY n.key LIMIT $max`,
}

// nearestFirst walks the cones breadth-first, one query per depth and direction, and
// returns at most room nodes besides the start nodes: every node at depth 1 before any
// at depth 2, and within a depth by ID. It serves cones too large for one answer; the
// single variable-length query serves the rest.
func nearestFirst(ctx context.Context, tx neo4j.ManagedTransaction, dirs []int, start []string, maxDepth, room int, asOf any) ([]Node, error) {
	seen := make(map[string]bool, len(start))
	for _, k := range start {
		seen[k] = true
	}
	// visited[i] holds what direction i has reached, so each direction walks its own
	// cone even through nodes the other direction reached first.
	visited := make([]map[string]bool, len(dirs))
	frontiers := make([][]string, len(dirs))
	for i := range dirs {
		visited[i] = make(map[string]bool, len(start))
		for _, k := range start {
			visited[i][k] = true
		}
		frontiers[i] = start
	}
	var out []Node
	kept := make(map[string]bool, room) // everything returned so far, by key
	for depth := 1; depth <= maxDepth && len(out) < room; depth++ {
		var level []Node
		next := make([][]string, len(dirs))
		for i, dir := range dirs {
			if len(frontiers[i]) == 0 {
				continue
			}
			// Neighbours already reached may come back too: fetch enough beyond them.
			recs, err := collect(ctx, tx, levelQueries[dir], map[string]any{
				"frontier": frontiers[i], "max": room - len(out) + len(visited[i]), "asOf": asOf,
			})
			if err != nil {
				return nil, fmt.Errorf("traverse lineage depth %d: %w", depth, err)
			}
			for _, r := range recs {
				n, err := nodeAt(r, "n")
				if err != nil {
					return nil, err
				}
				if visited[i][n.Key] {
					continue
				}
				next[i] = append(next[i], n.Key)
				if !seen[n.Key] {
					seen[n.Key] = true
					level = append(level, n)
				}
			}
		}
		sort.Slice(level, func(a, b int) bool { return level[a].Key < level[b].Key })
		level = level[:min(len(level), room-len(out))]
		out = append(out, level...)
		for _, n := range level {
			kept[n.Key] = true
		}
		for i := range dirs {
			frontiers[i] = frontiers[i][:0:0]
			for _, k := range next[i] {
				// Walk on from what is returned, including nodes the other direction
				// reached first; a node cut from the answer ends its path.
				if kept[k] {
					visited[i][k] = true
					frontiers[i] = append(frontiers[i], k)
				}
			}
		}
	}
	return out, nil
}

// checkLineageQuery validates q and returns its start IDs without repeats, in order.
func checkLineageQuery(q LineageQuery) ([]string, error) {
	if len(q.Start) == 0 {
		return nil, apperr.Invalid("start", "must list at least one node ID")
	}
	if len(q.Start) > MaxLineageStarts {
		return nil, apperr.Invalid("start", "must list at most %d node IDs (got %d)", MaxLineageStarts, len(q.Start))
	}
	switch q.Direction {
	case Upstream, Downstream, Both:
	default:
		return nil, apperr.Invalid("direction", "must be UPSTREAM, DOWNSTREAM or BOTH (got %q)", q.Direction)
	}
	if q.NodeLimit < 0 || q.NodeLimit > MaxLineageNodes {
		return nil, apperr.Invalid("nodeLimit", "must be between 1 and %d (got %d)", MaxLineageNodes, q.NodeLimit)
	}
	if q.NodeLimit > 0 && q.NodeLimit < len(q.Start) {
		return nil, apperr.Invalid("nodeLimit", "must be at least the number of start nodes (%d)", len(q.Start))
	}
	if q.MaxDepth < 0 || q.MaxDepth > MaxLineageDepth {
		return nil, apperr.Invalid("maxDepth", "must be between 0 and %d (got %d)", MaxLineageDepth, q.MaxDepth)
	}
	for i, k := range q.Kinds {
		if !slices.Contains(Kinds, k) {
			return nil, apperr.Invalid(fmt.Sprintf("kinds[%d]", i), "unknown node kind %q", k)
		}
	}
	seen := make(map[string]bool, len(q.Start))
	out := make([]string, 0, len(q.Start))
	for i, id := range q.Start {
		if _, err := KindsOfID(fmt.Sprintf("start[%d]", i), id); err != nil {
			return nil, err
		}
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out, nil
}
