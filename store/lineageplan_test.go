package store

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/apperr"
)

// The lineage plan and the assembly of its answer, without Neo4j: lineage_test.go
// runs the same against the database.

var (
	planNow     = time.Date(2026, 3, 14, 9, 30, 0, 0, time.UTC)
	planDS      = DatasetKey("s3://lake", "customers")
	planDV      = DatasetVersionKey("s3://lake", "customers", "v1")
	planDV2     = DatasetVersionKey("s3://lake", "customers", "v2")
	planJobNode = JobKey("ns", "train")
	planArt     = ArtifactKey("s3://models/a")
	planMV      = ModelVersionKey("fraud", 1)
)

func planNode(key string, kind Kind) Node { return Node{Key: key, Kind: kind} }

func keysOf(nodes []Node) []string {
	var out []string
	for _, n := range nodes {
		out = append(out, n.Key)
	}
	return out
}

func TestPlanLineage(t *testing.T) {
	t.Parallel()
	asOf := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("CET", 3600))
	base := LineageQuery{Start: []string{planDV, planJobNode, planDV}, Direction: Both, MaxDepth: 3}
	later := base
	later.After = coneCursor{Position: conePosition{Depth: 2, Key: planArt}, AsOf: planNow.Add(-time.Hour), Query: base.fingerprint()}.encode()
	for _, tt := range []struct {
		name string
		q    func(LineageQuery) LineageQuery
		want func(*testing.T, lineagePlan)
	}{
		{"first page: the default budget, untimed, the cones with the start nodes", func(q LineageQuery) LineageQuery { return q }, func(t *testing.T, p lineagePlan) {
			assert.Equal(t, []string{planDV, planJobNode}, p.start, "repeats dropped, order kept")
			assert.Equal(t, MaxLineageNodes, p.limit)
			assert.Equal(t, 0, p.timed)
			assert.Nil(t, p.asOf)
			assert.Nil(t, p.recordedBy)
			assert.Equal(t, 3, p.mask)
			assert.Equal(t, []int{0, 1}, p.dirs)
			assert.Equal(t, 3, p.coneDepth)
			assert.Equal(t, planNow, p.pinned)
			assert.Nil(t, p.after)
			assert.False(t, p.pagedAtOnce())
		}},
		{"a budget and one direction", func(q LineageQuery) LineageQuery {
			q.Budget, q.Direction = 5, Upstream
			return q
		}, func(t *testing.T, p lineagePlan) {
			assert.Equal(t, 5, p.limit)
			assert.Equal(t, 1, p.mask)
			assert.Equal(t, []int{0}, p.dirs)
		}},
		{"downstream", func(q LineageQuery) LineageQuery {
			q.Direction = Downstream
			return q
		}, func(t *testing.T, p lineagePlan) {
			assert.Equal(t, 2, p.mask)
			assert.Equal(t, []int{1}, p.dirs)
		}},
		{"asOf: timed, pinned to asOf in UTC", func(q LineageQuery) LineageQuery {
			q.AsOf = &asOf
			return q
		}, func(t *testing.T, p lineagePlan) {
			assert.Equal(t, 1, p.timed)
			assert.Equal(t, asOf.UTC(), p.asOf)
			assert.Nil(t, p.recordedBy)
			assert.Equal(t, asOf.UTC(), p.pinned)
		}},
		{"kinds: paged at once", func(q LineageQuery) LineageQuery {
			q.Kinds = []Kind{KindArtifact}
			return q
		}, func(t *testing.T, p lineagePlan) {
			assert.True(t, p.pagedAtOnce())
			assert.True(t, p.shows(planNode(planArt, KindArtifact)))
			assert.False(t, p.shows(planNode(planJobNode, KindTrainingJob)))
		}},
		{"a later page: timed by the cursor's time, no cones with the start nodes", func(LineageQuery) LineageQuery { return later }, func(t *testing.T, p lineagePlan) {
			require.NotNil(t, p.after)
			assert.Equal(t, conePosition{Depth: 2, Key: planArt}, *p.after)
			assert.Equal(t, conePosition{Depth: 2, Key: planArt}, p.pageFrom())
			assert.Equal(t, planNow.Add(-time.Hour), p.pinned)
			assert.Equal(t, planNow.Add(-time.Hour), p.recordedBy)
			assert.Equal(t, 1, p.timed)
			assert.Equal(t, 0, p.coneDepth)
			assert.True(t, p.pagedAtOnce())
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := planLineage(tt.q(base), planNow)
			require.NoError(t, err)
			tt.want(t, p)
			params := p.params(map[string]any{"x": 1})
			assert.Equal(t, map[string]any{"x": 1, "asOf": p.asOf, "recordedBy": p.recordedBy}, params)
		})
	}
}

func TestPlanLineageRefuses(t *testing.T) {
	t.Parallel()
	base := LineageQuery{Start: []string{planDV}, Direction: Upstream, MaxDepth: 3}
	other := base
	other.MaxDepth = 4
	for _, tt := range []struct {
		name  string
		q     LineageQuery
		field string
	}{
		{"no start", LineageQuery{Direction: Upstream}, "start"},
		{"bad direction", LineageQuery{Start: []string{planDV}, Direction: "SIDEWAYS"}, "direction"},
		{"too deep", LineageQuery{Start: []string{planDV}, Direction: Upstream, MaxDepth: MaxLineageDepth + 1}, "maxDepth"},
		{"not a cursor", LineageQuery{Start: []string{planDV}, Direction: Upstream, After: "nope"}, "after"},
		{"another question's cursor", LineageQuery{Start: []string{planDV}, Direction: Upstream, MaxDepth: 3,
			After: coneCursor{Position: conePosition{Depth: 1, Key: planJobNode}, AsOf: planNow, Query: other.fingerprint()}.encode()}, "after"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := planLineage(tt.q, planNow)
			e, ok := apperr.As(err)
			require.True(t, ok, "%v", err)
			assert.Equal(t, apperr.InvalidArgument, e.Code)
			assert.Equal(t, tt.field, e.Field)
		})
	}
}

func TestLineagePlanChecksStarts(t *testing.T) {
	t.Parallel()
	asOf := planNow
	p, err := planLineage(LineageQuery{Start: []string{planDV, planJobNode}, Direction: Upstream, AsOf: &asOf}, planNow)
	require.NoError(t, err)
	dv, job := planNode(planDV, KindDatasetVersion), planNode(planJobNode, KindTrainingJob)
	dv.RecordedAt, job.RecordedAt = planNow.Add(-time.Minute), planNow
	require.NoError(t, p.checkStarts(map[string]Node{planDV: dv, planJobNode: job}))

	e, ok := apperr.As(p.checkStarts(map[string]Node{planDV: dv}))
	require.True(t, ok)
	assert.Equal(t, apperr.NotFound, e.Code)
	assert.Equal(t, "start[1]", e.Field)

	job.RecordedAt = planNow.Add(time.Nanosecond)
	e, ok = apperr.As(p.checkStarts(map[string]Node{planDV: dv, planJobNode: job}))
	require.True(t, ok)
	assert.Equal(t, apperr.NotFound, e.Code, "recorded after asOf: not there yet")
	assert.Equal(t, "start[1]", e.Field)
}

// The start nodes and the versions they stand for: what the traversal starts from,
// what the first page holds, and the cut when the versions alone exceed the budget.
func TestLineageAnswerVersions(t *testing.T) {
	t.Parallel()
	ds, dv, dv2 := planNode(planDS, KindDataset), planNode(planDV, KindDatasetVersion), planNode(planDV2, KindDatasetVersion)
	job := planNode(planJobNode, KindTrainingJob)
	found := map[string]Node{planDS: ds, planJobNode: job}
	versions := []versionOf{{planDS, dv}, {planDS, dv2}}
	for _, tt := range []struct {
		name      string
		q         LineageQuery
		versions  []versionOf
		cut       bool
		nodes     []string
		traversal []string
		head      []string
	}{
		{"versions join the start nodes", LineageQuery{Start: []string{planDS, planJobNode}, Direction: Downstream, MaxDepth: 2},
			versions, false, []string{planDS, planJobNode, planDV, planDV2}, []string{planDS, planJobNode, planDV, planDV2}, []string{planDS, planJobNode, planDV, planDV2}},
		{"a version listed twice is placed once", LineageQuery{Start: []string{planDS, planJobNode}, Direction: Downstream, MaxDepth: 2},
			append(versions, versionOf{planDS, dv}), false, []string{planDS, planJobNode, planDV, planDV2}, []string{planDS, planJobNode, planDV, planDV2}, []string{planDS, planJobNode, planDV, planDV2}},
		{"versions of a kind not wanted start the traversal but are not shown",
			LineageQuery{Start: []string{planDS, planJobNode}, Direction: Downstream, MaxDepth: 2, Kinds: []Kind{KindArtifact}},
			versions, false, []string{planDS, planJobNode}, []string{planDS, planJobNode, planDV, planDV2}, []string{planDS, planJobNode}},
		{"versions over the budget: cut, no next page", LineageQuery{Start: []string{planDS, planJobNode}, Direction: Downstream, MaxDepth: 2, Budget: 3},
			versions, true, []string{planDS, planJobNode, planDV}, []string{planDS, planJobNode, planDV, planDV2}, []string{planDS, planJobNode, planDV, planDV2}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := planLineage(tt.q, planNow)
			require.NoError(t, err)
			assert.Equal(t, []string{planDS}, p.versionParents(found))
			a := p.startAnswer(found)
			assert.Equal(t, tt.cut, a.addVersions(&p, tt.versions))
			assert.Equal(t, tt.cut, a.out.Truncated)
			assert.Empty(t, a.out.EndCursor)
			assert.Equal(t, tt.nodes, keysOf(a.out.Nodes))
			assert.Equal(t, tt.traversal, a.traversal)
			assert.Equal(t, tt.head, a.head)
			assert.Len(t, a.structural, len(tt.versions))
		})
	}
}

// The whole cone, when it fits: each node once, the kinds shown, by ID after the start
// nodes; otherwise nothing is added and the answer is paged.
func TestLineageAnswerWholeCone(t *testing.T) {
	t.Parallel()
	dv, job, art, mv := planNode(planDV, KindDatasetVersion), planNode(planJobNode, KindTrainingJob), planNode(planArt, KindArtifact), planNode(planMV, KindModelVersion)
	for _, tt := range []struct {
		name   string
		q      LineageQuery
		cones  [2][]Node
		paged  bool
		nodes  []string
		remain int
	}{
		{"fits: by ID after the start", LineageQuery{Start: []string{planArt}, Direction: Both, MaxDepth: 2},
			[2][]Node{{job, dv}, {mv}}, false, []string{planArt, planDV, planJobNode, planMV}, MaxLineageNodes - 4},
		{"the start reached again in a cycle and a node in both cones: once", LineageQuery{Start: []string{planArt}, Direction: Both, MaxDepth: 2},
			[2][]Node{{job, art}, {job, mv}}, false, []string{planArt, planJobNode, planMV}, MaxLineageNodes - 3},
		{"only the direction asked for", LineageQuery{Start: []string{planArt}, Direction: Upstream, MaxDepth: 2},
			[2][]Node{{job}, {mv}}, false, []string{planArt, planJobNode}, MaxLineageNodes - 2},
		{"exactly the budget", LineageQuery{Start: []string{planArt}, Direction: Upstream, MaxDepth: 2, Budget: 3},
			[2][]Node{{job, dv}}, false, []string{planArt, planDV, planJobNode}, 0},
		{"over the room: paged", LineageQuery{Start: []string{planArt}, Direction: Both, MaxDepth: 2, Budget: 3},
			[2][]Node{{job, dv}, {mv}}, true, []string{planArt}, 2},
		{"a cone over the limit (cut by its query): paged", LineageQuery{Start: []string{planArt}, Direction: Upstream, MaxDepth: 2, Budget: 3},
			[2][]Node{{job, dv, art, art}}, true, []string{planArt}, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := planLineage(tt.q, planNow)
			require.NoError(t, err)
			a := p.startAnswer(map[string]Node{planArt: art})
			assert.Equal(t, tt.paged, a.addWholeCone(&p, tt.cones))
			assert.Equal(t, tt.nodes, keysOf(a.out.Nodes))
			assert.Equal(t, tt.remain, a.room(&p))
			assert.False(t, a.out.Truncated)
		})
	}
}

// A page of the cone: the traversal's starts dropped, cut to the room with the cursor
// of the next page at the last node kept (or where the page began, with no room).
func TestLineageAnswerPage(t *testing.T) {
	t.Parallel()
	dv, job, art, mv := planNode(planDV, KindDatasetVersion), planNode(planJobNode, KindTrainingJob), planNode(planArt, KindArtifact), planNode(planMV, KindModelVersion)
	q := LineageQuery{Start: []string{planArt}, Direction: Both, MaxDepth: 3, Budget: 3}
	later := q
	later.After = coneCursor{Position: conePosition{Depth: 1, Key: planDV}, AsOf: planNow.Add(-time.Hour), Query: q.fingerprint()}.encode()
	for _, tt := range []struct {
		name      string
		q         LineageQuery
		listed    []Node
		depths    []int
		nodes     []string
		page      []conePosition
		limit     int
		truncated bool
		end       conePosition
	}{
		{"fits", q, []Node{job, art, mv}, []int{1, 2, 1},
			[]string{planArt, planJobNode, planMV}, []conePosition{{1, planJobNode}, {1, planMV}}, 4, false, conePosition{}},
		{"cut at the room", q, []Node{job, mv, dv}, []int{1, 1, 2},
			[]string{planArt, planJobNode, planMV}, []conePosition{{1, planJobNode}, {1, planMV}}, 4, true, conePosition{1, planMV}},
		{"a later page holds no start node and starts after the cursor", later, []Node{job, mv, dv, art}, []int{1, 1, 2, 2},
			[]string{planJobNode, planMV, planDV}, []conePosition{{1, planJobNode}, {1, planMV}, {2, planDV}}, 5, false, conePosition{}},
		{"a later page cut", later, []Node{job, mv, dv, art, planNode("artifact:s3://z", KindArtifact)}, []int{1, 1, 2, 2, 3},
			[]string{planJobNode, planMV, planDV}, []conePosition{{1, planJobNode}, {1, planMV}, {2, planDV}}, 5, true, conePosition{2, planDV}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := planLineage(tt.q, planNow)
			require.NoError(t, err)
			a := p.startAnswer(map[string]Node{planArt: art})
			assert.Equal(t, tt.limit, a.pageLimit(&p))
			assert.Equal(t, tt.page, a.addPage(&p, tt.listed, tt.depths))
			assert.Equal(t, tt.nodes, keysOf(a.out.Nodes))
			assert.Equal(t, tt.truncated, a.out.Truncated)
			if !tt.truncated {
				assert.Empty(t, a.out.EndCursor)
				return
			}
			c, err := decodeConeCursor("after", a.out.EndCursor, tt.q.fingerprint())
			require.NoError(t, err)
			assert.Equal(t, tt.end, c.Position)
			assert.Equal(t, p.pinned, c.AsOf, "the next page sees the graph as this one did")
		})
	}

	// No room left after the start nodes: the next page starts where this one did.
	p, err := planLineage(LineageQuery{Start: []string{planArt}, Direction: Upstream, MaxDepth: 3, Budget: 1}, planNow)
	require.NoError(t, err)
	a := p.startAnswer(map[string]Node{planArt: art})
	assert.Empty(t, a.addPage(&p, []Node{job}, []int{1}))
	assert.True(t, a.out.Truncated)
	c, err := decodeConeCursor("after", a.out.EndCursor, p.q.fingerprint())
	require.NoError(t, err)
	assert.Equal(t, conePosition{}, c.Position)
}

// The edges of an answer: structural ones between two nodes on the page, provenance
// ones touching it (from the earlier pages too), each once, in order.
func TestJoinEdges(t *testing.T) {
	t.Parallel()
	nodes := []Node{planNode(planDS, KindDataset), planNode(planDV, KindDatasetVersion), planNode(planJobNode, KindTrainingJob)}
	onPage, kept := edgeScope(nodes, []string{planArt})
	assert.Equal(t, map[string]bool{planDS: true, planDV: true, planJobNode: true}, onPage)
	assert.Equal(t, map[string]bool{planDS: true, planDV: true, planJobNode: true, planArt: true}, kept)

	versionOf := Edge{From: planDV, To: planDS, Type: RelVersionOf}
	input := Edge{From: planDV, To: planJobNode, Type: RelInputTo}
	fromEarlier := Edge{From: planArt, To: planJobNode, Type: RelInputTo}
	for _, tt := range []struct {
		name       string
		structural []Edge
		among      []Edge
		want       []Edge
	}{
		{"none", nil, nil, nil},
		{"in order, each once", []Edge{versionOf, versionOf}, []Edge{input, fromEarlier, input},
			[]Edge{fromEarlier, versionOf, input}},
		{"a structural edge to a node off the page is dropped", []Edge{{From: planDV2, To: planDS, Type: RelVersionOf}}, nil, nil},
		{"a provenance edge touching no node on the page is dropped", nil, []Edge{{From: planArt, To: planMV, Type: RelRegisteredAs}, {}}, nil},
		{"same ends, other types: both, by type", nil, []Edge{{From: planDV, To: planJobNode, Type: RelProduced}, input},
			[]Edge{input, {From: planDV, To: planJobNode, Type: RelProduced}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, joinEdges(onPage, tt.structural, tt.among))
		})
	}
}
