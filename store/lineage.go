package store

import (
	"context"
	"fmt"
	"sort"

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
	// NodeLimit caps the nodes returned (start nodes included); 0 means
	// MaxLineageNodes, which is also the most it may be.
	NodeLimit int
}

// Edge is a provenance edge between two nodes of a lineage result; From is upstream.
type Edge struct {
	From string
	To   string
	Type string
}

// Lineage is a traversal result: nodes (start nodes first, then by ID), the
// provenance edges among them, and whether the node limit cut the cone short.
type Lineage struct {
	Nodes     []Node
	Edges     []Edge
	Truncated bool
}

// coneQueries[dir][depth] is the traversal for one direction and depth. Cypher cannot
// take a variable-length bound as a parameter, so one constant query per depth is
// built here from Go constants; user input only selects among them by a checked index.
// DISTINCT end nodes let the planner use its pruning breadth-first expand.
var coneQueries = func() (q [2][MaxLineageDepth + 1]string) {
	for depth := 1; depth <= MaxLineageDepth; depth++ {
		q[0][depth] = fmt.Sprintf(`MATCH (s:%[1]s) WHERE s.key IN $start
MATCH (s)<-[:%[2]s*1..%[3]d]-(n:%[1]s)
RETURN DISTINCT n LIMIT $limit`, LabelNode, provenancePattern, depth)
		q[1][depth] = fmt.Sprintf(`MATCH (s:%[1]s) WHERE s.key IN $start
MATCH (s)-[:%[2]s*1..%[3]d]->(n:%[1]s)
RETURN DISTINCT n LIMIT $limit`, LabelNode, provenancePattern, depth)
	}
	return q
}()

const cypherVersionsOf = `
UNWIND $keys AS k
MATCH (v:` + LabelNode + `)-[:` + RelVersionOf + `]->(:` + LabelNode + ` {key: k})
RETURN k AS parent, v ORDER BY v.key`

const cypherEdgesAmong = `
UNWIND $keys AS k
MATCH (a:` + LabelNode + ` {key: k})-[r:` + provenancePattern + `]->(b:` + LabelNode + `)
WHERE b.key IN $keys
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
	return read(ctx, s, func(tx neo4j.ManagedTransaction) (Lineage, error) {
		found, err := nodesByKeys(ctx, tx, start)
		if err != nil {
			return Lineage{}, err
		}
		for i, k := range q.Start {
			if _, ok := found[k]; !ok {
				return Lineage{}, notFound(fmt.Sprintf("start[%d]", i), k)
			}
		}
		var out Lineage
		seen := make(map[string]bool, len(start))
		for _, k := range start {
			out.Nodes = append(out.Nodes, found[k])
			seen[k] = true
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
			recs, err := collect(ctx, tx, cypherVersionsOf, map[string]any{"keys": parents})
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
			if len(out.Nodes) > limit {
				out.Nodes = out.Nodes[:limit]
				out.Truncated = true
			}
		}
		var dirs []int
		switch q.Direction {
		case Upstream:
			dirs = []int{0}
		case Downstream:
			dirs = []int{1}
		case Both:
			dirs = []int{0, 1}
		}
		var reached []Node
		var cones [][]string
		for _, dir := range dirs {
			cone := append([]string(nil), start...)
			if q.MaxDepth > 0 {
				recs, err := collect(ctx, tx, coneQueries[dir][q.MaxDepth], map[string]any{
					"start": start, "limit": limit + 1,
				})
				if err != nil {
					return Lineage{}, fmt.Errorf("traverse lineage: %w", err)
				}
				if len(recs) > limit {
					out.Truncated = true
				}
				for _, r := range recs {
					n, err := nodeAt(r, "n")
					if err != nil {
						return Lineage{}, err
					}
					cone = append(cone, n.Key)
					if !seen[n.Key] {
						seen[n.Key] = true
						reached = append(reached, n)
					}
				}
			}
			cones = append(cones, cone)
		}
		sort.Slice(reached, func(i, j int) bool { return reached[i].Key < reached[j].Key })
		if room := max(limit-len(out.Nodes), 0); out.Truncated || len(reached) > room {
			// Too many for one answer: keep the nodes nearest the start, whole depths
			// first, so a cut answer is the same every time and stays connected.
			out.Truncated = true
			reached, cones, err = nearestFirst(ctx, tx, dirs, start, q.MaxDepth, room)
			if err != nil {
				return Lineage{}, err
			}
		}
		out.Nodes = append(out.Nodes, reached...)

		kept := make(map[string]bool, len(out.Nodes))
		for _, n := range out.Nodes {
			kept[n.Key] = true
		}
		edgeSeen := map[Edge]bool{}
		structural := out.Edges
		out.Edges = nil
		for _, e := range structural {
			if kept[e.From] && kept[e.To] && !edgeSeen[e] {
				edgeSeen[e] = true
				out.Edges = append(out.Edges, e)
			}
		}
		for _, cone := range cones {
			keys := cone[:0:0]
			for _, k := range cone {
				if kept[k] {
					keys = append(keys, k)
				}
			}
			if len(keys) < 2 {
				continue
			}
			recs, err := collect(ctx, tx, cypherEdgesAmong, map[string]any{"keys": keys})
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
MATCH (:` + LabelNode + ` {key: k})<-[:` + provenancePattern + `]-(n:` + LabelNode + `)
RETURN DISTINCT n ORDER BY n.key`,
	`UNWIND $frontier AS k
MATCH (:` + LabelNode + ` {key: k})-[:` + provenancePattern + `]->(n:` + LabelNode + `)
RETURN DISTINCT n ORDER BY n.key`,
}

// nearestFirst walks the cones breadth-first, one query per depth, and returns at most
// room nodes besides the start nodes: every node at depth 1 before any at depth 2, and
// within a depth by ID. It serves cones too large for one answer; the single
// variable-length query serves the rest.
func nearestFirst(ctx context.Context, tx neo4j.ManagedTransaction, dirs []int, start []string, maxDepth, room int) ([]Node, [][]string, error) {
	seen := make(map[string]bool, len(start))
	for _, k := range start {
		seen[k] = true
	}
	var out []Node
	cones := make([][]string, len(dirs))
	frontiers := make([][]string, len(dirs))
	for i := range dirs {
		cones[i] = append([]string(nil), start...)
		frontiers[i] = start
	}
	for depth := 1; depth <= maxDepth && len(out) < room; depth++ {
		var level []Node
		for i, dir := range dirs {
			if len(frontiers[i]) == 0 {
				continue
			}
			recs, err := collect(ctx, tx, levelQueries[dir], map[string]any{"frontier": frontiers[i]})
			if err != nil {
				return nil, nil, fmt.Errorf("traverse lineage depth %d: %w", depth, err)
			}
			next := frontiers[i][:0:0]
			inCone := make(map[string]bool, len(cones[i]))
			for _, k := range cones[i] {
				inCone[k] = true
			}
			for _, r := range recs {
				n, err := nodeAt(r, "n")
				if err != nil {
					return nil, nil, err
				}
				if inCone[n.Key] {
					continue
				}
				next = append(next, n.Key)
				if !seen[n.Key] {
					seen[n.Key] = true
					level = append(level, n)
				}
			}
			frontiers[i] = next
		}
		sort.Slice(level, func(a, b int) bool { return level[a].Key < level[b].Key })
		level = level[:min(len(level), room-len(out))]
		out = append(out, level...)
		kept := make(map[string]bool, len(level))
		for _, n := range level {
			kept[n.Key] = true
		}
		for i := range dirs {
			for _, k := range frontiers[i] {
				if kept[k] {
					cones[i] = append(cones[i], k)
				}
			}
		}
	}
	return out, cones, nil
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
