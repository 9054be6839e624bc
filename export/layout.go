package export

import (
	"cmp"
	"slices"
	"strings"
	"unicode"

	"github.com/provgraph/provgraph/store"
)

// The geometry of a lineage picture, in abstract units (the SVG draws one unit as one
// pixel; the evidence report scales them onto paper).
const (
	BoxWidth  = 200.0
	BoxHeight = 44.0
	// layerGap is the room between layers, where edges run.
	layerGap = 70.0
	// rowGap separates boxes of one layer; a long edge passing a layer takes a slot
	// of dummyHeight instead of a box.
	rowGap      = 16.0
	dummyHeight = 10.0
	margin      = 20.0
	// sweeps is how many down-and-up barycenter sweeps reorder the layers.
	sweeps = 4
	// centredRows is the most boxes a layer may hold for the layers to be centred on
	// the tallest; a taller picture has its layers top-aligned.
	centredRows = 15
)

// Layout is a lineage graph placed for drawing: data flows left to right, one layer
// of boxes per column. LayOut computes it; the SVG export and the evidence report's
// picture both draw it, so they show the same picture.
type Layout struct {
	Width, Height float64
	Boxes         []Box
	Edges         []Route
}

// Box is a node's place: its top-left corner and size.
type Box struct {
	Node       store.Node
	X, Y, W, H float64
	// Layer is the box's column, 0 leftmost.
	Layer int
}

// Route is an edge drawn as a polyline from the right side of its upstream box to
// the left side of its downstream box, where the arrowhead goes. A structural
// VERSION_OF edge is Reversed: its parent (a dataset, a registered model) stands left
// of its versions, so the line runs from the parent to the version and the arrowhead
// goes at its start, on the parent.
type Route struct {
	Edge     store.Edge
	Points   []Point
	Reversed bool
}

// Point is a position in layout units.
type Point struct{ X, Y float64 }

// vertex is a box or, for an edge spanning several layers, one of the dummy points it
// passes through, which take part in the ordering so long edges cross little.
type vertex struct {
	node  int // index into the sorted nodes, -1 for a dummy
	layer int
	up    []int // vertices in the layer before joined to this one
	down  []int // vertices in the layer after
	pos   int   // index within its layer
}

// LayOut places l's nodes for a left-to-right picture. It is deterministic: the same
// lineage gives the same layout. Nodes are layered by the longest path to the end of
// the cone (every node sits one column left of its nearest-placed consumer's column
// or further; an endpoint ends up rightmost), edges spanning several layers get dummy
// points, and a few barycenter sweeps reorder each layer to reduce crossings, keeping
// the order with the fewest; columns are centred on the tallest, or top-aligned when
// it holds more than 15 boxes. Edges of a cycle (which provenance should not have, but
// ingested data may) are drawn backwards without affecting the layers. Edges whose
// ends are not both in l are left out. A dataset or registered model is placed left of
// its versions (see Route).
func LayOut(l store.Lineage) Layout {
	nodes := slices.Clone(l.Nodes)
	slices.SortFunc(nodes, func(a, b store.Node) int { return cmp.Compare(a.Key, b.Key) })
	nodes = slices.CompactFunc(nodes, func(a, b store.Node) bool { return a.Key == b.Key })
	index := make(map[string]int, len(nodes))
	for i, n := range nodes {
		index[n.Key] = i
	}
	edges := drawableEdges(l.Edges, index)
	layer := layers(len(nodes), edges)

	verts := make([]vertex, len(nodes))
	for i := range nodes {
		verts[i] = vertex{node: i, layer: layer[i]}
	}
	// Each forward edge becomes a chain of vertices through the layers it spans.
	chains := make([][]int, len(edges))
	for i, e := range edges {
		from, to := e.from, e.to
		if layer[to] <= layer[from] {
			continue // part of a cycle: drawn backwards, not layered
		}
		chain := []int{from}
		for ly := layer[from] + 1; ly < layer[to]; ly++ {
			verts = append(verts, vertex{node: -1, layer: ly})
			chain = append(chain, len(verts)-1)
		}
		chain = append(chain, to)
		for j := 1; j < len(chain); j++ {
			verts[chain[j-1]].down = append(verts[chain[j-1]].down, chain[j])
			verts[chain[j]].up = append(verts[chain[j]].up, chain[j-1])
		}
		chains[i] = chain
	}
	order := orderLayers(verts)

	// Coordinates: columns by layer, each column's slots stacked, and centred on the
	// tallest column unless that is tall: in a large fan-in (a hundred dataset versions
	// read by one job) the chain to the endpoint then stays at the top, where a printed
	// picture's first page shows it, instead of half-way down.
	heights := make([]float64, len(order))
	for ly, vs := range order {
		for i, v := range vs {
			if i > 0 {
				heights[ly] += rowGap
			}
			heights[ly] += slotHeight(verts[v])
		}
	}
	tallest := 0.0
	for _, h := range heights {
		tallest = max(tallest, h)
	}
	out := Layout{
		Width:  2*margin + float64(len(order))*BoxWidth + float64(max(len(order)-1, 0))*layerGap,
		Height: 2*margin + tallest,
		Boxes:  make([]Box, len(nodes)),
	}
	if len(nodes) == 0 {
		out.Width, out.Height = 2*margin, 2*margin
	}
	centred := tallest <= centredRows*(BoxHeight+rowGap)
	centre := make([]float64, len(verts)) // a vertex's vertical centre
	for ly, vs := range order {
		y := margin
		if centred {
			y += (tallest - heights[ly]) / 2
		}
		x := columnX(ly)
		for _, v := range vs {
			h := slotHeight(verts[v])
			centre[v] = y + h/2
			if n := verts[v].node; n >= 0 {
				out.Boxes[n] = Box{Node: nodes[n], X: x, Y: y, W: BoxWidth, H: BoxHeight, Layer: ly}
			}
			y += h + rowGap
		}
	}
	for i, e := range edges {
		r := Route{Edge: e.edge, Reversed: e.reversed}
		from, to := out.Boxes[e.from], out.Boxes[e.to]
		r.Points = append(r.Points, Point{from.X + from.W, from.Y + from.H/2})
		if chain := chains[i]; chain != nil {
			for _, v := range chain[1 : len(chain)-1] {
				x := columnX(verts[v].layer)
				r.Points = append(r.Points, Point{x, centre[v]}, Point{x + BoxWidth, centre[v]})
			}
		}
		r.Points = append(r.Points, Point{to.X, to.Y + to.H/2})
		out.Edges = append(out.Edges, r)
	}
	// Boxes in reading order: by column, then top to bottom.
	slices.SortStableFunc(out.Boxes, func(a, b Box) int {
		return cmp.Or(cmp.Compare(a.Layer, b.Layer), cmp.Compare(a.Y, b.Y))
	})
	return out
}

func columnX(layer int) float64 { return margin + float64(layer)*(BoxWidth+layerGap) }

func slotHeight(v vertex) float64 {
	if v.node < 0 {
		return dummyHeight
	}
	return BoxHeight
}

// indexedEdge is an edge with its ends as node indexes, in drawing direction (left
// to right).
type indexedEdge struct {
	edge     store.Edge
	from, to int
	reversed bool
}

// drawableEdges keeps the edges between known, distinct nodes, each once, in a fixed
// order.
func drawableEdges(edges []store.Edge, index map[string]int) []indexedEdge {
	var out []indexedEdge
	seen := map[store.Edge]bool{}
	for _, e := range edges {
		from, ok1 := index[e.From]
		to, ok2 := index[e.To]
		if !ok1 || !ok2 || from == to || seen[e] {
			continue
		}
		seen[e] = true
		if e.Type == store.RelVersionOf {
			out = append(out, indexedEdge{edge: e, from: to, to: from, reversed: true})
			continue
		}
		out = append(out, indexedEdge{edge: e, from: from, to: to})
	}
	slices.SortFunc(out, func(a, b indexedEdge) int {
		return cmp.Or(cmp.Compare(a.from, b.from), cmp.Compare(a.to, b.to), cmp.Compare(a.edge.Type, b.edge.Type))
	})
	return out
}

// layers assigns each node its column: the longest path from it to a node without
// outgoing edges, counted from the right. A node left in a cycle is taken as if its
// remaining outgoing edges were not there, the smallest index first.
func layers(n int, edges []indexedEdge) []int {
	succ := make([][]int, n)
	pred := make([][]int, n)
	outdeg := make([]int, n)
	for _, e := range edges {
		succ[e.from] = append(succ[e.from], e.to)
		pred[e.to] = append(pred[e.to], e.from)
		outdeg[e.from]++
	}
	height := make([]int, n)
	done := make([]bool, n)
	var ready []int
	for i := range n {
		if outdeg[i] == 0 {
			ready = append(ready, i)
		}
	}
	for finished := 0; finished < n; {
		if len(ready) == 0 {
			ready = append(ready, onCycle(succ, done))
		}
		v := ready[0]
		ready = ready[1:]
		if done[v] {
			continue
		}
		done[v] = true
		finished++
		for _, s := range succ[v] {
			if done[s] {
				height[v] = max(height[v], height[s]+1)
			}
		}
		for _, p := range pred[v] {
			if outdeg[p]--; outdeg[p] == 0 && !done[p] {
				ready = append(ready, p)
			}
		}
	}
	top := 0
	for _, h := range height {
		top = max(top, h)
	}
	layer := make([]int, n)
	for i, h := range height {
		layer[i] = top - h
	}
	return layer
}

// onCycle returns a node on a cycle among the nodes not done, when every node not done
// has a successor not done: walking downstream from the first of them, by the first
// successor not done, must come back to a node it passed.
func onCycle(succ [][]int, done []bool) int {
	v := slices.Index(done, false)
	seen := map[int]bool{}
	for !seen[v] {
		seen[v] = true
		for _, s := range succ[v] {
			if !done[s] {
				v = s
				break
			}
		}
	}
	return v
}

// orderLayers orders each layer's vertices: boxes by ID, dummies after them, then
// barycenter sweeps down and up, keeping the order with the fewest crossings.
func orderLayers(verts []vertex) [][]int {
	count := 0
	for _, v := range verts {
		count = max(count, v.layer+1)
	}
	order := make([][]int, count)
	for i, v := range verts {
		order[v.layer] = append(order[v.layer], i)
	}
	setPos := func(o [][]int) {
		for _, vs := range o {
			for p, v := range vs {
				verts[v].pos = p
			}
		}
	}
	setPos(order)
	best, fewest := cloneOrder(order), crossings(verts, order)
	for range sweeps {
		for ly := 1; ly < count; ly++ {
			reorder(verts, order[ly], func(v vertex) []int { return v.up })
		}
		for ly := count - 2; ly >= 0; ly-- {
			reorder(verts, order[ly], func(v vertex) []int { return v.down })
		}
		if c := crossings(verts, order); c < fewest {
			best, fewest = cloneOrder(order), c
		}
	}
	setPos(best)
	return best
}

// reorder sorts one layer by the mean position of each vertex's neighbours in the
// adjacent layer; a vertex without neighbours there keeps its position as its key.
func reorder(verts []vertex, layer []int, neighbours func(vertex) []int) {
	key := make(map[int]float64, len(layer))
	for _, v := range layer {
		ns := neighbours(verts[v])
		if len(ns) == 0 {
			key[v] = float64(verts[v].pos)
			continue
		}
		sum := 0
		for _, n := range ns {
			sum += verts[n].pos
		}
		key[v] = float64(sum) / float64(len(ns))
	}
	slices.SortStableFunc(layer, func(a, b int) int {
		return cmp.Or(cmp.Compare(key[a], key[b]), cmp.Compare(verts[a].pos, verts[b].pos))
	})
	for p, v := range layer {
		verts[v].pos = p
	}
}

// crossings counts the pairs of segments that cross between adjacent layers, as the
// inversions among the segments' lower ends when sorted by their upper ends.
func crossings(verts []vertex, order [][]int) int {
	total := 0
	for ly := 0; ly+1 < len(order); ly++ {
		type seg struct{ a, b int }
		var segs []seg
		for _, v := range order[ly] {
			for _, d := range verts[v].down {
				segs = append(segs, seg{verts[v].pos, verts[d].pos})
			}
		}
		slices.SortFunc(segs, func(x, y seg) int { return cmp.Or(cmp.Compare(x.a, y.a), cmp.Compare(x.b, y.b)) })
		lower := make([]int, len(segs))
		for i, s := range segs {
			lower[i] = s.b
		}
		total += inversions(lower)
	}
	return total
}

// inversions counts the pairs i < j with s[i] > s[j], by merge sort (s is sorted on
// return).
func inversions(s []int) int {
	if len(s) < 2 {
		return 0
	}
	mid := len(s) / 2
	left, right := slices.Clone(s[:mid]), slices.Clone(s[mid:])
	n := inversions(left) + inversions(right)
	i, j := 0, 0
	for k := range s {
		if j == len(right) || (i < len(left) && left[i] <= right[j]) {
			s[k] = left[i]
			i++
		} else {
			s[k] = right[j]
			n += len(left) - i
			j++
		}
	}
	return n
}

func cloneOrder(o [][]int) [][]int {
	out := make([][]int, len(o))
	for i := range o {
		out[i] = slices.Clone(o[i])
	}
	return out
}

// KindLabel is a kind as the pictures label it: "DATASET VERSION".
func KindLabel(k store.Kind) string {
	var b strings.Builder
	for i, r := range string(k) {
		if i > 0 && unicode.IsUpper(r) {
			b.WriteByte(' ')
		}
		b.WriteRune(unicode.ToUpper(r))
	}
	return b.String()
}

// Colour is an RGB colour.
type Colour struct{ R, G, B uint8 }

// KindStyle is how the pictures colour a kind: a light fill and a darker outline.
type KindStyle struct{ Fill, Stroke Colour }

// StyleOf returns the colours of a kind: data blue, jobs and runs amber, artifacts
// grey, models green, endpoints violet, experiments slate.
func StyleOf(k store.Kind) KindStyle {
	switch k {
	case store.KindDataset, store.KindDatasetVersion:
		return KindStyle{Colour{0xdb, 0xea, 0xfe}, Colour{0x1d, 0x4e, 0xd8}}
	case store.KindTrainingJob, store.KindProcessingJob, store.KindRun:
		return KindStyle{Colour{0xfe, 0xf3, 0xc7}, Colour{0xb4, 0x53, 0x09}}
	case store.KindRegisteredModel, store.KindModelVersion:
		return KindStyle{Colour{0xdc, 0xfc, 0xe7}, Colour{0x15, 0x80, 0x3d}}
	case store.KindEndpoint:
		return KindStyle{Colour{0xed, 0xe9, 0xfe}, Colour{0x6d, 0x28, 0xd9}}
	case store.KindExperiment, store.KindRunGroup:
		return KindStyle{Colour{0xe2, 0xe8, 0xf0}, Colour{0x33, 0x41, 0x55}}
	}
	return KindStyle{Colour{0xf3, 0xf4, 0xf6}, Colour{0x4b, 0x55, 0x63}}
}
