package store

import (
	"context"
	"fmt"
	"maps"
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
	// Budget caps the nodes of one answer (on the first page, start nodes included);
	// 0 means MaxLineageNodes, which is also the most it may be. A larger cone is
	// answered in pages (see After).
	Budget int
	// Kinds, when not empty, keeps only reached nodes of these kinds in the result; the
	// traversal still passes through the other kinds. Start nodes are always returned.
	Kinds []Kind
	// AsOf, when set, answers as the graph stood then: only edges recorded by then, and
	// of deployments only those serving then.
	AsOf *time.Time
	// SkipEdges leaves Edges empty, saving a query when the caller does not need them.
	SkipEdges bool
	// After asks for the page after a truncated answer: its EndCursor. The other fields
	// must be the same as for that answer, except Budget.
	After string
}

// Edge is a provenance edge between two nodes of a lineage result; From is upstream.
type Edge struct {
	From string
	To   string
	Type string
}

// Lineage is a traversal result: nodes (start nodes first, then the versions of dataset
// and registered-model start nodes, then the cone by ID — or, when the cone is paged or
// filtered by kinds, by depth and ID), the edges among them, and whether the budget cut
// the cone short, with the cursor of the next page.
type Lineage struct {
	Nodes     []Node
	Edges     []Edge
	Truncated bool
	// EndCursor, when the answer is truncated, asks for the next page. A page after the
	// first holds only cone nodes, the edges among them and those joining them to
	// earlier pages, and sees the graph as it stood when the first page was asked for.
	EndCursor string
}

// asOfEdge is true for an edge r that stood at $asOf (always, when $asOf is null): it
// was recorded by then and, for a deployment, had not ended by then. An edge is never
// recorded before its end nodes, so the edges alone decide what existed.
//
// A page after the first also sets $recordedBy, the time of the first page, so that
// paging sees the facts recorded by then (deployments ended since included).
const asOfEdge = `($asOf IS NULL OR (r.recordedAt <= $asOf AND (type(r) <> '` + RelDeployedTo + `' OR r.to IS NULL OR r.to > $asOf)))
AND ($recordedBy IS NULL OR r.recordedAt <= $recordedBy)`

// edgesStood is the traversal's filter on the relationships rels of a path: asOfEdge
// for each when the query is timed (asOf or recordedBy set), nothing otherwise. The
// untimed variant spares the traversal a property read per relationship.
func edgesStood(timed int, rels string) string {
	if timed == 0 {
		return "true"
	}
	return "all(r IN " + rels + " WHERE " + asOfEdge + ")"
}

// coneQuery is the traversal for one direction (0 upstream, 1 downstream) and depth,
// returning each reached node once, as one list of property maps with part = dir+1 (a
// single record instead of one per node saves most of the Bolt and driver cost).
// Cypher cannot take a variable-length bound as a parameter, so the query sets below
// hold one constant query per depth (and per timed 0/1, see edgesStood), built here
// from Go constants; user input only selects among them by checked indexes. DISTINCT
// end nodes let the planner use its pruning breadth-first expand.
func coneQuery(timed, dir, depth int) string {
	arrow := [2][2]string{{"<-", "-"}, {"-", "->"}}[dir]
	return fmt.Sprintf(`MATCH (s:%[1]s) WHERE s.key IN $start
MATCH (s)%[5]s[rels:%[2]s*1..%[3]d]%[6]s(n:%[1]s)
WHERE %[4]s
WITH DISTINCT n LIMIT $limit
RETURN collect(n {.*}) AS nodes, %[7]d AS part`, LabelNode, provenancePattern, depth, edgesStood(timed, "rels"), arrow[0], arrow[1], dir+1)
}

// coneQueries[timed][dir][depth] is coneQuery(timed, dir, depth), for traversals that
// start from keys already known.
var coneQueries = func() (q [2][2][MaxLineageDepth + 1]string) {
	for timed := range 2 {
		for depth := 1; depth <= MaxLineageDepth; depth++ {
			q[timed][0][depth], q[timed][1][depth] = coneQuery(timed, 0, depth), coneQuery(timed, 1, depth)
		}
	}
	return q
}()

// startAndConeQueries[timed][dirs][depth] fetches the start nodes (part 0) and the
// upstream (part 1) and/or downstream (part 2) cones in one round trip; dirs is 1 for
// upstream, 2 for downstream, 3 for both. Each part is planned on its own, so the cones
// keep the pruning breadth-first expand.
var startAndConeQueries = func() (q [2][4][MaxLineageDepth + 1]string) {
	starts := `MATCH (n:` + LabelNode + `) WHERE n.key IN $start RETURN collect(n {.*}) AS nodes, 0 AS part`
	for timed := range 2 {
		for mask := 1; mask <= 3; mask++ {
			for depth := 0; depth <= MaxLineageDepth; depth++ {
				parts := []string{starts}
				for dir := range 2 {
					if depth > 0 && mask&(1<<dir) != 0 {
						parts = append(parts, coneQuery(timed, dir, depth))
					}
				}
				q[timed][mask][depth] = strings.Join(parts, "\nUNION ALL\n")
			}
		}
	}
	return q
}()

const cypherVersionsOf = `
UNWIND $keys AS k
MATCH (v:` + LabelNode + `)-[:` + RelVersionOf + `]->(:` + LabelNode + ` {key: k})
WHERE ($asOf IS NULL OR v.recordedAt <= $asOf) AND ($recordedBy IS NULL OR v.recordedAt <= $recordedBy)
RETURN k AS parent, v ORDER BY v.key LIMIT $limit`

const cypherEdgesAmong = `
UNWIND $keys AS k
MATCH (a:` + LabelNode + ` {key: k})-[r:` + provenancePattern + `]->(b:` + LabelNode + `)
WHERE b.key IN $keys AND ` + asOfEdge + `
WITH DISTINCT a.key AS from, type(r) AS type, b.key AS to
RETURN collect([from, type, to]) AS edges`

// Lineage returns the provenance cone of the start nodes in one read transaction.
// Unknown start IDs are NOT_FOUND errors naming the list element.
func (s *Store) Lineage(ctx context.Context, q LineageQuery) (Lineage, error) {
	// Check before the transaction, so bad input is told apart from an outage.
	if _, err := checkLineageQuery(q); err != nil {
		return Lineage{}, err
	}
	return read(ctx, s, func(tx neo4j.ManagedTransaction) (Lineage, error) {
		return lineageTx(ctx, tx, q)
	})
}

// lineageTx is Lineage inside the transaction tx, for callers that answer more in the
// same transaction.
func lineageTx(ctx context.Context, tx neo4j.ManagedTransaction, q LineageQuery) (Lineage, error) {
	start, err := checkLineageQuery(q)
	if err != nil {
		return Lineage{}, err
	}
	limit := q.Budget
	if limit == 0 {
		limit = MaxLineageNodes
	}
	// A page after the first continues from a position in the cone, as the graph stood
	// when the first page was asked for.
	var after *conePosition
	pinned := time.Now().UTC()
	if q.AsOf != nil {
		pinned = q.AsOf.UTC()
	}
	if q.After != "" {
		c, err := decodeConeCursor("after", q.After, q.fingerprint())
		if err != nil {
			return Lineage{}, err
		}
		after, pinned = &c.Position, c.AsOf
	}
	// The times as the driver sends them, or nil; timed selects the query variants
	// that filter relationships by time.
	var recordedBy any
	asOf := q.asOfParam()
	if after != nil {
		recordedBy = pinned
	}
	timed := 0
	if asOf != nil || recordedBy != nil {
		timed = 1
	}
	times := func(params map[string]any) map[string]any {
		params["asOf"], params["recordedBy"] = asOf, recordedBy
		return params
	}
	mask := map[Direction]int{Upstream: 1, Downstream: 2, Both: 3}[q.Direction]
	// One round trip for the start nodes and their cones; the cones are used unless
	// a start node stands for its versions, which must join the traversal first, or the
	// answer is a later page.
	coneDepth := q.MaxDepth
	if after != nil {
		coneDepth = 0
	}
	recs, err := collect(ctx, tx, startAndConeQueries[timed][mask][coneDepth], times(map[string]any{
		"start": start, "limit": limit + 1,
	}))
	if err != nil {
		return Lineage{}, fmt.Errorf("traverse lineage: %w", err)
	}
	found := make(map[string]Node, len(start))
	prefetched := map[int][]Node{}
	for _, r := range recs {
		nodes, err := nodesAt(r, "nodes")
		if err != nil {
			return Lineage{}, err
		}
		part, _ := r.Get("part")
		if p := int(part.(int64)); p > 0 {
			prefetched[p-1] = nodes
			continue
		}
		for _, n := range nodes {
			found[n.Key] = n
		}
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
	wanted := make(map[Kind]bool, len(q.Kinds))
	for _, k := range q.Kinds {
		wanted[k] = true
	}
	shows := func(n Node) bool { return len(wanted) == 0 || wanted[n.Kind] }

	// The first page holds the start nodes (always) and the versions they stand for
	// (when of a wanted kind); every page holds cone nodes.
	var out Lineage
	var structural []Edge
	traversal := slices.Clone(start) // where the traversal starts: start nodes and versions
	head := slices.Clone(start)      // what the first page holds of them
	seen := make(map[string]bool, len(start))
	for _, k := range start {
		seen[k] = true
		if after == nil {
			out.Nodes = append(out.Nodes, found[k])
		}
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
		recs, err := collect(ctx, tx, cypherVersionsOf, times(map[string]any{"keys": parents, "limit": limit + 1}))
		if err != nil {
			return Lineage{}, fmt.Errorf("versions of lineage start nodes: %w", err)
		}
		for _, r := range recs {
			v, err := nodeAt(r, "v")
			if err != nil {
				return Lineage{}, err
			}
			parent, _ := r.Get("parent")
			structural = append(structural, Edge{From: v.Key, To: parent.(string), Type: RelVersionOf})
			if !seen[v.Key] {
				seen[v.Key] = true
				traversal = append(traversal, v.Key)
				if shows(v) {
					head = append(head, v.Key)
					if after == nil {
						out.Nodes = append(out.Nodes, v)
					}
				}
			}
		}
		if len(out.Nodes) > limit {
			// The versions alone exceed the limit: return the first of them, by ID;
			// there is no next page (see docs/limits.md).
			out.Nodes, out.Truncated = out.Nodes[:limit], true
			return finishLineage(ctx, tx, q, out, structural, nil, times(map[string]any{}))
		}
	}
	dirs := map[Direction][]int{Upstream: {0}, Downstream: {1}, Both: {0, 1}}[q.Direction]
	room := limit - len(out.Nodes)
	// With kinds, the shown nodes are usually a thin slice of a cone: page at once
	// rather than fetch the cone twice.
	paged := after != nil || len(q.Kinds) > 0
	if !paged && q.MaxDepth > 0 {
		// The whole cone in one answer, when it fits.
		var reached []Node
		for _, dir := range dirs {
			cone := prefetched[dir]
			if len(parents) > 0 {
				// The versions joined the start nodes: traverse again from all.
				recs, err := collect(ctx, tx, coneQueries[timed][dir][q.MaxDepth], times(map[string]any{
					"start": traversal, "limit": limit + 1,
				}))
				if err != nil {
					return Lineage{}, fmt.Errorf("traverse lineage: %w", err)
				}
				if cone, err = nodesAt(recs[0], "nodes"); err != nil {
					return Lineage{}, err
				}
			}
			paged = paged || len(cone) > limit
			for _, n := range cone {
				if !seen[n.Key] {
					seen[n.Key] = true
					if shows(n) {
						reached = append(reached, n)
					}
				}
			}
		}
		if paged = paged || len(reached) > room; !paged {
			sort.Slice(reached, func(i, j int) bool { return reached[i].Key < reached[j].Key })
			out.Nodes = append(out.Nodes, reached...)
		}
	}
	var page []conePosition
	if paged && q.MaxDepth > 0 {
		// Too many for one answer: a page of the nearest nodes, by depth and then ID, so
		// that the cut is the same every time and every node's path to a start node
		// runs through nodes of this page or earlier ones.
		from := conePosition{}
		if after != nil {
			from = *after
		}
		// Later pages see what was recorded by the first page's time, so pages fit
		// together. Start nodes reached again in a cycle are dropped here, so ask for
		// as many more.
		recs, err := collect(ctx, tx, conePageQueries[timed][mask][q.MaxDepth], times(map[string]any{
			"start": traversal, "kinds": kindStrings(q.Kinds),
			"afterDepth": from.Depth, "afterKey": from.Key, "limit": room + 1 + len(traversal),
		}))
		if err != nil {
			return Lineage{}, fmt.Errorf("traverse lineage page: %w", err)
		}
		listed, err := nodesAt(recs[0], "nodes")
		if err != nil {
			return Lineage{}, err
		}
		depths, _, err := neo4j.GetRecordValue[[]any](recs[0], "depths")
		if err != nil || len(depths) != len(listed) {
			return Lineage{}, fmt.Errorf("traverse lineage page: node depths: %v", err)
		}
		starting := make(map[string]bool, len(traversal))
		for _, k := range traversal {
			starting[k] = true
		}
		var nodes []Node
		for i, n := range listed {
			if !starting[n.Key] {
				nodes = append(nodes, n)
				page = append(page, conePosition{Depth: int(depths[i].(int64)), Key: n.Key})
			}
		}
		if len(nodes) > room {
			nodes, page = nodes[:room], page[:room]
			end := from
			if room > 0 {
				end = page[room-1]
			}
			out.Truncated = true
			out.EndCursor = coneCursor{Position: end, AsOf: pinned, Query: q.fingerprint()}.encode()
		}
		out.Nodes = append(out.Nodes, nodes...)
	}
	if after != nil && !q.SkipEdges && len(page) > 0 {
		// A later page's edges join its nodes to each other and to earlier pages.
		earlier, err := conePrefix(ctx, tx, mask, q, traversal, head, pinned, page[len(page)-1])
		if err != nil {
			return Lineage{}, err
		}
		return finishLineage(ctx, tx, q, out, nil, earlier, times(map[string]any{}))
	}
	if after != nil {
		structural = nil
	}
	return finishLineage(ctx, tx, q, out, structural, nil, times(map[string]any{}))
}

// finishLineage adds the edges to a lineage answer: the structural ones given among
// its nodes, and the provenance edges among its nodes and the earlier nodes given
// (those of earlier pages), each once and in order.
func finishLineage(ctx context.Context, tx neo4j.ManagedTransaction, q LineageQuery, out Lineage, structural []Edge, earlier []string, params map[string]any) (Lineage, error) {
	if q.SkipEdges {
		return out, nil
	}
	onPage := make(map[string]bool, len(out.Nodes))
	for _, n := range out.Nodes {
		onPage[n.Key] = true
	}
	kept := maps.Clone(onPage)
	for _, k := range earlier {
		kept[k] = true
	}
	edgeSeen := map[Edge]bool{}
	for _, e := range structural {
		if onPage[e.From] && onPage[e.To] && !edgeSeen[e] {
			edgeSeen[e] = true
			out.Edges = append(out.Edges, e)
		}
	}
	// The provenance edges among everything returned, including edges between the
	// upstream and the downstream cone.
	if len(kept) > 1 {
		keys := slices.Collect(maps.Keys(kept))
		params["keys"] = keys
		recs, err := collect(ctx, tx, cypherEdgesAmong, params)
		if err != nil {
			return Lineage{}, fmt.Errorf("lineage edges: %w", err)
		}
		list, _, err := neo4j.GetRecordValue[[]any](recs[0], "edges")
		if err != nil {
			return Lineage{}, fmt.Errorf("lineage edges: %w", err)
		}
		for _, v := range list {
			var e Edge
			if t, ok := v.([]any); ok && len(t) == 3 {
				e.From, _ = t[0].(string)
				e.Type, _ = t[1].(string)
				e.To, _ = t[2].(string)
			}
			if (onPage[e.From] || onPage[e.To]) && !edgeSeen[e] {
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
}

// conePageQueries[timed][dirs][depth] lists the cone of $start in (depth, ID) order
// after the position ($afterDepth, $afterKey), at most $limit nodes with a label in
// $kinds (all when null), as the graph stood at $asOf with what was recorded by
// $recordedBy (see edgesStood for timed); dirs is 1 for upstream, 2 for downstream, 3
// for both. A node's depth is its distance from the nearest start node, which the
// planner finds with its pruning breadth-first expand. Start nodes reached again (in
// a cycle) are listed too; the caller drops them.
var conePageQueries = func() (q [2][4][MaxLineageDepth + 1]string) {
	for timed := range 2 {
		for mask := 1; mask <= 3; mask++ {
			for depth := 1; depth <= MaxLineageDepth; depth++ {
				q[timed][mask][depth] = conePositions(timed, mask, depth) + `
WHERE ($kinds IS NULL OR any(l IN labels(n) WHERE l IN $kinds))
  AND (depth > $afterDepth OR (depth = $afterDepth AND n.key > $afterKey))
WITH n, depth ORDER BY depth, n.key LIMIT $limit
RETURN collect(n {.*}) AS nodes, collect(depth) AS depths`
			}
		}
	}
	return q
}()

// conePrefixQueries[dirs][depth] lists the IDs of the cone nodes up to and including
// the position ($endDepth, $endKey), of the kinds $kinds: what earlier pages held. It
// serves only later pages, which are always timed.
var conePrefixQueries = func() (q [4][MaxLineageDepth + 1]string) {
	for mask := 1; mask <= 3; mask++ {
		for depth := 1; depth <= MaxLineageDepth; depth++ {
			q[mask][depth] = conePositions(1, mask, depth) + `
WHERE ($kinds IS NULL OR any(l IN labels(n) WHERE l IN $kinds))
  AND (depth < $endDepth OR (depth = $endDepth AND n.key <= $endKey))
RETURN collect(n.key) AS keys`
		}
	}
	return q
}()

// conePositions is the start of the page queries: every node n of the cone with its
// depth, the nearest over the directions in mask.
func conePositions(timed, mask, depth int) string {
	var parts []string
	for dir := range 2 {
		if mask&(1<<dir) == 0 {
			continue
		}
		arrow := [2][2]string{{"<-", "-"}, {"-", "->"}}[dir]
		parts = append(parts, fmt.Sprintf(`MATCH (s:%[1]s) WHERE s.key IN $start
MATCH p = (s)%[5]s[:%[2]s*1..%[3]d]%[6]s(n:%[1]s)
WHERE %[4]s
WITH n, min(length(p)) AS depth`, LabelNode, provenancePattern, depth, edgesStood(timed, "relationships(p)"), arrow[0], arrow[1]))
	}
	if len(parts) == 1 {
		return parts[0]
	}
	for i := range parts {
		parts[i] += "\nRETURN n, depth"
	}
	return "CALL {\n" + strings.Join(parts, "\nUNION ALL\n") + "\n}\nWITH n, min(depth) AS depth"
}

// conePrefix returns the IDs the pages up to and including end hold: head (what the
// first page holds besides cone nodes) and the cone nodes up to end.
func conePrefix(ctx context.Context, tx neo4j.ManagedTransaction, mask int, q LineageQuery, traversal, head []string, recordedBy time.Time, end conePosition) ([]string, error) {
	recs, err := collect(ctx, tx, conePrefixQueries[mask][q.MaxDepth], map[string]any{
		"start": traversal, "asOf": q.asOfParam(), "recordedBy": recordedBy, "kinds": kindStrings(q.Kinds), "endDepth": end.Depth, "endKey": end.Key,
	})
	if err != nil {
		return nil, fmt.Errorf("traverse lineage page: earlier pages: %w", err)
	}
	keys, _, err := neo4j.GetRecordValue[[]any](recs[0], "keys")
	if err != nil {
		return nil, fmt.Errorf("traverse lineage page: earlier pages: %w", err)
	}
	out := slices.Clone(head)
	for _, k := range keys {
		out = append(out, k.(string))
	}
	return out, nil
}

// kindStrings is kinds as a query parameter: null for no filter.
func kindStrings(kinds []Kind) any {
	if len(kinds) == 0 {
		return nil
	}
	out := make([]string, len(kinds))
	for i, k := range kinds {
		out[i] = string(k)
	}
	return out
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
	if err := CheckBudget("budget", q.Budget, MaxLineageNodes); err != nil {
		return nil, err
	}
	if q.Budget > 0 && q.Budget < len(q.Start) && q.After == "" {
		return nil, apperr.Invalid("budget", "must be at least the number of start nodes (%d) on the first page", len(q.Start))
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

// asOfParam is q.AsOf as the driver sends it, or nil.
func (q LineageQuery) asOfParam() any {
	if q.AsOf == nil {
		return nil
	}
	return q.AsOf.UTC()
}

// fingerprint identifies the question q asks, apart from paging, for its cursors.
func (q LineageQuery) fingerprint() string {
	var asOf string
	if q.AsOf != nil {
		asOf = q.AsOf.UTC().Format(time.RFC3339Nano)
	}
	return queryFingerprint(q.Start, q.Direction, q.MaxDepth, q.Kinds, asOf)
}

// CheckBudget validates a node budget: 0 (the default) or 1 to max.
func CheckBudget(field string, budget, max int) error {
	if budget < 0 || budget > max {
		return apperr.Invalid(field, "must be between 1 and %d (got %d)", max, budget)
	}
	return nil
}
