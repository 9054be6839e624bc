package store

import (
	"context"
	"fmt"
	"maps"
	"slices"
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
	// Fields says which of the nodes' properties the caller reads: the first statement
	// then reads and sends only those. Nodes may still carry more.
	Fields NodeFields
	// After asks for the page after a truncated answer: its EndCursor. The other fields
	// must be the same as for that answer, except Budget.
	After string
}

// NodeFields says which properties the nodes of a lineage answer carry in Props.
type NodeFields int

// The node fields a lineage query may ask for, from most to fewest.
const (
	// AllFields: every stored property.
	AllFields NodeFields = iota
	// CoreFields: what every node has (key, kind, name, recordedAt, recordedBy).
	CoreFields
	// KeyAndKind: the key and kind of the cone's nodes; start nodes carry the core
	// fields (an answer as of a time checks when they were recorded).
	KeyAndKind
)

// nodeProjections[f] is the map projection of node n a first statement returns for f.
var nodeProjections = [...]string{
	AllFields:  `n {.*}`,
	CoreFields: `n {.` + propKey + `, .` + propKind + `, .` + propName + `, .` + propRecordedAt + `, .` + propRecordedBy + `}`,
	KeyAndKind: `n {.` + propKey + `, .` + propKind + `}`,
}

// startProjection is the projection of the start nodes for f: the core fields at least.
func startProjection(f NodeFields) string { return nodeProjections[min(f, CoreFields)] }

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
func coneQuery(timed, dir, depth int, fields NodeFields) string {
	arrow := [2][2]string{{"<-", "-"}, {"-", "->"}}[dir]
	return fmt.Sprintf(`MATCH (s:%[1]s) WHERE s.key IN $start
MATCH (s)%[5]s[rels:%[2]s*1..%[3]d]%[6]s(n:%[1]s)
WHERE %[4]s
WITH DISTINCT n LIMIT $limit
RETURN collect(%[8]s) AS nodes, %[7]d AS part`, LabelNode, provenancePattern, depth, edgesStood(timed, "rels"), arrow[0], arrow[1], dir+1, nodeProjections[fields])
}

// coneQueries[timed][dir][depth] is coneQuery(timed, dir, depth, AllFields), for
// traversals that start from keys already known.
var coneQueries = func() (q [2][2][MaxLineageDepth + 1]string) {
	for timed := range 2 {
		for depth := 1; depth <= MaxLineageDepth; depth++ {
			q[timed][0][depth], q[timed][1][depth] = coneQuery(timed, 0, depth, AllFields), coneQuery(timed, 1, depth, AllFields)
		}
	}
	return q
}()

// startAndConeQueries[fields][timed][dirs][depth] fetches the start nodes (part 0) and
// the upstream (part 1) and/or downstream (part 2) cones in one round trip; dirs is 1
// for upstream, 2 for downstream, 3 for both. Each part is planned on its own, so the
// cones keep the pruning breadth-first expand.
var startAndConeQueries = func() (q [len(nodeProjections)][2][4][MaxLineageDepth + 1]string) {
	for fields := range NodeFields(len(nodeProjections)) {
		starts := `MATCH (n:` + LabelNode + `) WHERE n.key IN $start RETURN collect(` + startProjection(fields) + `) AS nodes, 0 AS part`
		for timed := range 2 {
			for mask := 1; mask <= 3; mask++ {
				for depth := 0; depth <= MaxLineageDepth; depth++ {
					parts := []string{starts}
					for dir := range 2 {
						if depth > 0 && mask&(1<<dir) != 0 {
							parts = append(parts, coneQuery(timed, dir, depth, fields))
						}
					}
					q[fields][timed][mask][depth] = strings.Join(parts, "\nUNION ALL\n")
				}
			}
		}
	}
	return q
}()

// foldedQueries[timed][dirs][depth] answers a first page whose answer is likely the
// whole cone in one round trip: the start nodes, the cones in the directions dirs
// asks for (1 upstream, 2 downstream, 3 both; each cone at most $limit nodes, as
// coneQuery), and the provenance edges among all of them (as cypherEdgesAmong), unless
// a cone reached $limit nodes: then the answer is paged and the edges are fetched for
// its page. Each cone is a subquery planned on its own, so it keeps the pruning
// breadth-first expand. The edges are found from the side the traversal expanded: the
// incoming edges of each node for an upstream cone (or both), the outgoing ones for a
// downstream cone, so that a node many others read (a shared dataset version) is not
// expanded to all its readers.
var foldedQueries = func() (q [len(nodeProjections)][2][4][MaxLineageDepth + 1]string) {
	for fields := range NodeFields(len(nodeProjections)) {
		for timed := range 2 {
			for mask := 1; mask <= 3; mask++ {
				for depth := 0; depth <= MaxLineageDepth; depth++ {
					q[fields][timed][mask][depth] = foldedQuery(timed, mask, depth, fields)
				}
			}
		}
	}
	return q
}()

func foldedQuery(timed, mask, depth int, fields NodeFields) string {
	var b strings.Builder
	b.WriteString(`MATCH (s:` + LabelNode + `) WHERE s.key IN $start
WITH collect(s) AS starts
`)
	cones := [2]string{"[]", "[]"}
	for dir := range 2 {
		if depth == 0 || mask&(1<<dir) == 0 {
			continue
		}
		cones[dir] = fmt.Sprintf("c%d", dir)
		arrow := [2][2]string{{"<-", "-"}, {"-", "->"}}[dir]
		fmt.Fprintf(&b, `CALL {
MATCH (s:%[1]s) WHERE s.key IN $start
MATCH (s)%[5]s[rels:%[2]s*1..%[3]d]%[6]s(n:%[1]s)
WHERE %[4]s
WITH DISTINCT n LIMIT $limit
RETURN collect(n) AS c%[7]d
}
`, LabelNode, provenancePattern, depth, edgesStood(timed, "rels"), arrow[0], arrow[1], dir)
	}
	// (a)-[r]->(b) from b's side, or from a's for a downstream cone.
	expand := `UNWIND CASE WHEN size(c0) < $limit AND size(c1) < $limit THEN kept ELSE [] END AS b
MATCH (a:` + LabelNode + `)-[r:` + provenancePattern + `]->(b)
WHERE a IN kept`
	if mask == 2 {
		expand = `UNWIND CASE WHEN size(c0) < $limit AND size(c1) < $limit THEN kept ELSE [] END AS a
MATCH (a)-[r:` + provenancePattern + `]->(b:` + LabelNode + `)
WHERE b IN kept`
	}
	stood := "true"
	if timed == 1 {
		stood = asOfEdge
	}
	fmt.Fprintf(&b, `WITH starts, %[1]s AS c0, %[2]s AS c1
WITH starts, c0, c1, starts + c0 + c1 AS kept
CALL {
WITH kept, c0, c1
%[3]s AND %[4]s
WITH DISTINCT a.key AS from, type(r) AS type, b.key AS to
RETURN collect([from, type, to]) AS edges
}
RETURN [n IN starts | %[5]s] AS starts, [n IN c0 | %[6]s] AS up, [n IN c1 | %[6]s] AS down, edges`,
		cones[0], cones[1], expand, stood, startProjection(fields), nodeProjections[fields])
	return b.String()
}

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
	// Plan before the transaction, so bad input is told apart from an outage.
	p, err := planLineage(q, time.Now())
	if err != nil {
		return Lineage{}, err
	}
	if p.single {
		// Most answers are the first statement's: it goes alone, a round trip cheaper.
		type first struct {
			l    Lineage
			done bool
		}
		query, params := p.firstStatement()
		f, err := readOne(ctx, s, query, params, func(recs []*neo4j.Record) (first, error) {
			l, done, err := answerFromFirst(&p, recs)
			return first{l, done}, err
		})
		if f.done || err != nil {
			return f.l, err
		}
	}
	return read(ctx, s, func(tx neo4j.ManagedTransaction) (Lineage, error) {
		return answerLineage(ctx, tx, p)
	})
}

// answerFromFirst is the answer when the first statement's records recs (p.single)
// hold all of it: the whole cone, fitting into one answer, with its edges when they
// are asked for. done is false when the answer needs more statements.
func answerFromFirst(p *lineagePlan, recs []*neo4j.Record) (l Lineage, done bool, err error) {
	found, cones, folded, err := decodeFirst(p, recs)
	if err != nil {
		return Lineage{}, true, err
	}
	if err := p.checkStarts(found); err != nil {
		return Lineage{}, true, err
	}
	if len(p.versionParents(found)) > 0 {
		return Lineage{}, false, nil
	}
	a := p.startAnswer(found)
	if p.q.MaxDepth > 0 && a.addWholeCone(p, cones) {
		return Lineage{}, false, nil // paged
	}
	switch {
	case p.q.SkipEdges:
		return a.out, true, nil
	case folded != nil:
		return foldedAnswer(a, folded), true, nil
	}
	return Lineage{}, false, nil
}

// lineageTx is Lineage inside the transaction tx, for callers that answer more in the
// same transaction. The plan (lineageplan.go) decides what to ask and puts the answer
// together; the steps below are its queries, in the order they run.
func lineageTx(ctx context.Context, tx neo4j.ManagedTransaction, q LineageQuery) (Lineage, error) {
	p, err := planLineage(q, time.Now())
	if err != nil {
		return Lineage{}, err
	}
	return answerLineage(ctx, tx, p)
}

// answerLineage runs the plan p's queries and puts their answer together.
func answerLineage(ctx context.Context, tx neo4j.ManagedTransaction, p lineagePlan) (Lineage, error) {
	found, cones, folded, err := fetchStartsAndCones(ctx, tx, &p)
	if err != nil {
		return Lineage{}, err
	}
	if err := p.checkStarts(found); err != nil {
		return Lineage{}, err
	}
	a := p.startAnswer(found)
	// A dataset or registered model stands for all of its versions: they start the
	// traversal with it, so the cones fetched with the start nodes do not hold all.
	parents := p.versionParents(found)
	if len(parents) > 0 {
		versions, err := fetchVersions(ctx, tx, &p, parents)
		if err != nil {
			return Lineage{}, err
		}
		if a.addVersions(&p, versions) {
			return finishLineage(ctx, tx, &p, a, nil)
		}
		if cones, err = fetchCones(ctx, tx, &p, a.traversal); err != nil {
			return Lineage{}, err
		}
	}
	paged := p.pagedAtOnce()
	if !paged && p.q.MaxDepth > 0 {
		// The whole cone in one answer, when it fits.
		paged = a.addWholeCone(&p, cones)
	}
	if !paged && folded != nil && len(parents) == 0 {
		// The edges among the whole answer came with it.
		return foldedAnswer(a, folded), nil
	}
	var page []conePosition
	if paged && p.q.MaxDepth > 0 {
		// Too many for one answer: a page of the nearest nodes, by depth and then ID, so
		// that the cut is the same every time and every node's path to a start node
		// runs through nodes of this page or earlier ones.
		listed, depths, err := fetchConePage(ctx, tx, &p, a.traversal, a.pageLimit(&p))
		if err != nil {
			return Lineage{}, err
		}
		page = a.addPage(&p, listed, depths)
	}
	if p.after == nil {
		return finishLineage(ctx, tx, &p, a, nil)
	}
	// A later page holds no start node, so none of their structural edges; its
	// provenance edges join its nodes to each other and to earlier pages.
	a.structural = nil
	if p.q.SkipEdges || len(page) == 0 {
		return finishLineage(ctx, tx, &p, a, nil)
	}
	earlier, err := conePrefix(ctx, tx, &p, a.traversal, a.head, page[len(page)-1])
	if err != nil {
		return Lineage{}, err
	}
	return finishLineage(ctx, tx, &p, a, earlier)
}

// fetchStartsAndCones fetches the start nodes and, in the same round trip, their cones
// to the plan's coneDepth (cones[dir], each at most one over the limit). The cones serve
// unless a start node stands for its versions, which must join the traversal first, or
// the answer is a later page or paged at once. When the plan folds the edges in, folded
// holds the provenance edges among the start nodes and the cones (not nil, maybe
// empty), unless a cone is over the limit.
func fetchStartsAndCones(ctx context.Context, tx neo4j.ManagedTransaction, p *lineagePlan) (found map[string]Node, cones [2][]Node, folded []Edge, err error) {
	query, params := p.firstStatement()
	recs, err := collect(ctx, tx, query, params)
	if err != nil {
		return nil, cones, nil, fmt.Errorf("traverse lineage: %w", err)
	}
	return decodeFirst(p, recs)
}

// firstStatement is the plan's first query and its parameters: the start nodes and
// their cones, with the edges among them when the plan folds them in.
func (p *lineagePlan) firstStatement() (string, map[string]any) {
	params := p.params(map[string]any{"start": p.start, "limit": p.limit + 1})
	if p.fold {
		return foldedQueries[p.q.Fields][p.timed][p.mask][p.coneDepth], params
	}
	return startAndConeQueries[p.q.Fields][p.timed][p.mask][p.coneDepth], params
}

// decodeFirst reads the records of firstStatement (see fetchStartsAndCones).
func decodeFirst(p *lineagePlan, recs []*neo4j.Record) (found map[string]Node, cones [2][]Node, folded []Edge, err error) {
	if p.fold {
		return decodeFolded(p, recs)
	}
	found = make(map[string]Node, len(p.start))
	for _, r := range recs {
		nodes, err := nodesAt(r, "nodes")
		if err != nil {
			return nil, cones, nil, err
		}
		part, _ := r.Get("part")
		if p := int(part.(int64)); p > 0 {
			cones[p-1] = nodes
			continue
		}
		for _, n := range nodes {
			found[n.Key] = n
		}
	}
	return found, cones, nil, nil
}

// decodeFolded is decodeFirst with the edges folded in (foldedQueries).
func decodeFolded(p *lineagePlan, recs []*neo4j.Record) (found map[string]Node, cones [2][]Node, folded []Edge, err error) {
	if len(recs) != 1 {
		return nil, cones, nil, fmt.Errorf("traverse lineage: %d records, not one", len(recs))
	}
	starts, err := nodesAt(recs[0], "starts")
	if err != nil {
		return nil, cones, nil, err
	}
	found = make(map[string]Node, len(starts))
	for _, n := range starts {
		found[n.Key] = n
	}
	for dir, col := range []string{"up", "down"} {
		if cones[dir], err = nodesAt(recs[0], col); err != nil {
			return nil, cones, nil, err
		}
	}
	if len(cones[0]) > p.limit || len(cones[1]) > p.limit {
		return found, cones, nil, nil
	}
	folded, err = edgesAt(recs[0], "edges")
	if err != nil {
		return nil, cones, nil, fmt.Errorf("lineage edges: %w", err)
	}
	return found, cones, folded, nil
}

// foldedAnswer finishes the answer a, the whole cone of a first page, with the
// provenance edges among its nodes that came with them. An answer of one node has no
// edges, as finishLineage would not look any up.
func foldedAnswer(a *lineageAnswer, folded []Edge) Lineage {
	if len(a.out.Nodes) <= 1 {
		folded = nil
	}
	onPage, _ := edgeScope(a.out.Nodes, nil)
	a.out.Edges = joinEdges(onPage, a.structural, folded)
	return a.out
}

// fetchVersions fetches the versions of the parents (start nodes), by ID, at most one
// over the limit.
func fetchVersions(ctx context.Context, tx neo4j.ManagedTransaction, p *lineagePlan, parents []string) ([]versionOf, error) {
	recs, err := collect(ctx, tx, cypherVersionsOf, p.params(map[string]any{"keys": parents, "limit": p.limit + 1}))
	if err != nil {
		return nil, fmt.Errorf("versions of lineage start nodes: %w", err)
	}
	out := make([]versionOf, 0, len(recs))
	for _, r := range recs {
		v, err := nodeAt(r, "v")
		if err != nil {
			return nil, err
		}
		parent, _ := r.Get("parent")
		out = append(out, versionOf{parent: parent.(string), version: v})
	}
	return out, nil
}

// fetchCones traverses again from traversal (the start nodes and their versions) in
// the directions asked for, when the answer may be the whole cone; a paged answer
// fetches its page instead.
func fetchCones(ctx context.Context, tx neo4j.ManagedTransaction, p *lineagePlan, traversal []string) (cones [2][]Node, err error) {
	if p.pagedAtOnce() || p.q.MaxDepth == 0 {
		return cones, nil
	}
	for _, dir := range p.dirs {
		recs, err := collect(ctx, tx, coneQueries[p.timed][dir][p.q.MaxDepth], p.params(map[string]any{
			"start": traversal, "limit": p.limit + 1,
		}))
		if err != nil {
			return cones, fmt.Errorf("traverse lineage: %w", err)
		}
		if cones[dir], err = nodesAt(recs[0], "nodes"); err != nil {
			return cones, err
		}
	}
	return cones, nil
}

// fetchConePage lists at most limit nodes of the cone of traversal after the plan's
// pageFrom, by depth and then ID, with their depths. Later pages see what was recorded
// by the first page's time, so pages fit together.
func fetchConePage(ctx context.Context, tx neo4j.ManagedTransaction, p *lineagePlan, traversal []string, limit int) ([]Node, []int, error) {
	from := p.pageFrom()
	recs, err := collect(ctx, tx, conePageQueries[p.timed][p.mask][p.q.MaxDepth], p.params(map[string]any{
		"start": traversal, "kinds": kindStrings(p.q.Kinds),
		"afterDepth": from.Depth, "afterKey": from.Key, "limit": limit,
	}))
	if err != nil {
		return nil, nil, fmt.Errorf("traverse lineage page: %w", err)
	}
	listed, err := nodesAt(recs[0], "nodes")
	if err != nil {
		return nil, nil, err
	}
	raw, _, err := neo4j.GetRecordValue[[]any](recs[0], "depths")
	if err != nil || len(raw) != len(listed) {
		return nil, nil, fmt.Errorf("traverse lineage page: node depths: %v", err)
	}
	depths := make([]int, len(raw))
	for i, d := range raw {
		depths[i] = int(d.(int64))
	}
	return listed, depths, nil
}

// finishLineage adds the edges to the answer a, unless the question skips them: its
// structural edges among its nodes, and the provenance edges among its nodes and the
// earlier nodes given (those of earlier pages), each once and in order.
func finishLineage(ctx context.Context, tx neo4j.ManagedTransaction, p *lineagePlan, a *lineageAnswer, earlier []string) (Lineage, error) {
	if p.q.SkipEdges {
		return a.out, nil
	}
	onPage, kept := edgeScope(a.out.Nodes, earlier)
	var among []Edge
	// The provenance edges among everything returned, including edges between the
	// upstream and the downstream cone.
	if len(kept) > 1 {
		var err error
		if among, err = fetchEdgesAmong(ctx, tx, p, slices.Collect(maps.Keys(kept))); err != nil {
			return Lineage{}, err
		}
	}
	a.out.Edges = joinEdges(onPage, a.structural, among)
	return a.out, nil
}

// fetchEdgesAmong fetches the provenance edges among the nodes keys, as the graph
// stood at the plan's times.
func fetchEdgesAmong(ctx context.Context, tx neo4j.ManagedTransaction, p *lineagePlan, keys []string) ([]Edge, error) {
	recs, err := collect(ctx, tx, cypherEdgesAmong, p.params(map[string]any{"keys": keys}))
	if err != nil {
		return nil, fmt.Errorf("lineage edges: %w", err)
	}
	out, err := edgesAt(recs[0], "edges")
	if err != nil {
		return nil, fmt.Errorf("lineage edges: %w", err)
	}
	return out, nil
}

// edgesAt reads the edges in column col of rec: a list of [from, type, to].
func edgesAt(rec *neo4j.Record, col string) ([]Edge, error) {
	list, _, err := neo4j.GetRecordValue[[]any](rec, col)
	if err != nil {
		return nil, err
	}
	out := make([]Edge, 0, len(list))
	for _, v := range list {
		var e Edge
		if t, ok := v.([]any); ok && len(t) == 3 {
			e.From, _ = t[0].(string)
			e.Type, _ = t[1].(string)
			e.To, _ = t[2].(string)
		}
		out = append(out, e)
	}
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
// first page holds besides cone nodes) and the cone nodes up to end. It serves only
// later pages, which see the graph as it stood at the pinned time.
func conePrefix(ctx context.Context, tx neo4j.ManagedTransaction, p *lineagePlan, traversal, head []string, end conePosition) ([]string, error) {
	recs, err := collect(ctx, tx, conePrefixQueries[p.mask][p.q.MaxDepth], map[string]any{
		"start": traversal, "asOf": p.asOf, "recordedBy": p.pinned, "kinds": kindStrings(p.q.Kinds), "endDepth": end.Depth, "endKey": end.Key,
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
	if q.Fields < AllFields || q.Fields > KeyAndKind {
		return nil, apperr.Invalid("fields", "must be AllFields, CoreFields or KeyAndKind (got %d)", q.Fields)
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
