package export

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/store"
)

// svgElements are the only elements the SVG export writes.
var svgElements = map[string]bool{"svg": true, "title": true, "defs": true, "marker": true, "path": true, "g": true, "rect": true, "text": true}

// parseSVG parses doc as XML and returns every element's name, every attribute value
// and all character data, failing the test on anything but the expected elements.
func parseSVG(t *testing.T, doc []byte) (attrs []string, text string) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(doc))
	var b strings.Builder
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		require.NoError(t, err, "the SVG is well-formed XML")
		switch tk := tok.(type) {
		case xml.StartElement:
			assert.True(t, svgElements[tk.Name.Local], "unexpected element <%s>", tk.Name.Local)
			if tk.Name.Local != "svg" {
				assert.Equal(t, "http://www.w3.org/2000/svg", tk.Name.Space, "<%s> is in the SVG namespace", tk.Name.Local)
			}
			for _, a := range tk.Attr {
				assert.NotContains(t, strings.ToLower(a.Name.Local), "href", "no references")
				assert.False(t, strings.HasPrefix(strings.ToLower(a.Name.Local), "on"), "no event handler attribute %s", a.Name.Local)
				attrs = append(attrs, a.Value)
			}
		case xml.CharData:
			b.Write(tk)
		case xml.ProcInst:
			assert.Equal(t, "xml", tk.Target, "only the XML declaration")
		case xml.Directive:
			t.Errorf("unexpected directive %s", tk)
		}
	}
	return attrs, b.String()
}

// Names any writer can give (a dataset, a job) come out of the SVG as text: the
// document parses, holds only the SVG elements it always holds, and no name reaches
// an attribute.
func TestSVGTreatsHostileNamesAsText(t *testing.T) {
	hostile := []string{
		`<img src=x onerror=alert(1)>`,
		`"><script>alert(1)</script>`,
		`]]><foreignObject><div xmlns="http://www.w3.org/1999/xhtml">x</div></foreignObject>`,
		"line\nbreak\x00nul & 'quote' <!-- comment --> <?pi?> <!DOCTYPE x>",
		`<a xlink:href="javascript:alert(1)">x</a>`,
		"名前 データ \u202e reversed",
	}
	at := time.Date(2026, 3, 14, 9, 30, 0, 0, time.UTC)
	var l store.Lineage
	for i, name := range hostile {
		dv := fmt.Sprintf("datasetVersion:s3://x:%s#%d", name, i)
		l.Nodes = append(l.Nodes, store.Node{Key: dv, Kind: store.KindDatasetVersion, Name: name, RecordedAt: at})
		l.Edges = append(l.Edges, store.Edge{From: dv, To: "job:ns:" + name, Type: store.RelInputTo})
		l.Nodes = append(l.Nodes, store.Node{Key: "job:ns:" + name, Kind: store.KindTrainingJob, Name: name, RecordedAt: at})
	}
	out, err := Render(l, SVG)
	require.NoError(t, err)
	attrs, text := parseSVG(t, out)
	for _, a := range attrs {
		for _, name := range hostile {
			assert.NotContains(t, a, name, "a name in an attribute")
		}
		assert.NotContains(t, strings.ToLower(a), "javascript:")
		if strings.Contains(a, "url(") {
			assert.Equal(t, "url(#arrow)", a, "the only reference is the document's own marker")
		}
	}
	assert.Contains(t, text, `<img src=x onerror=alert(1)>`, "shown as text")
	assert.Contains(t, text, `"><script>alert(1)</script>`, "shown as text")
	assert.Contains(t, text, "名前 データ")
	assert.NotContains(t, string(out), "<script", "never markup")
	assert.NotContains(t, string(out), "<img")
	assert.NotContains(t, string(out), "<foreignObject")
	assert.NotContains(t, text, "\x00")
}

// Data flows left to right: every provenance edge of an acyclic cone points to a box
// in a column further right, the endpoint is rightmost, and the same lineage gives the
// same picture.
func TestLayoutFlowsLeftToRight(t *testing.T) {
	l := fixture()
	lay := LayOut(l)
	require.Len(t, lay.Boxes, len(l.Nodes))
	x := map[string]float64{}
	for _, b := range lay.Boxes {
		x[b.Node.Key] = b.X
		assert.LessOrEqual(t, b.X+b.W, lay.Width)
		assert.LessOrEqual(t, b.Y+b.H, lay.Height)
	}
	for _, e := range l.Edges {
		if e.Type == store.RelVersionOf {
			assert.Greater(t, x[e.From], x[e.To], "a dataset stands left of its versions")
			continue
		}
		assert.Less(t, x[e.From], x[e.To], "%s -> %s", e.From, e.To)
	}
	for k, v := range x {
		assert.LessOrEqual(t, v, x["endpoint:fraud-prod"], k)
	}
	require.Len(t, lay.Edges, len(l.Edges))
	for _, r := range lay.Edges {
		require.GreaterOrEqual(t, len(r.Points), 2)
	}
	again, _ := Render(l, SVG)
	first, _ := Render(l, SVG)
	assert.Equal(t, first, again)
}

// A layer's order follows its neighbours': two parallel chains given in an order that
// crosses are drawn without crossing.
func TestLayoutUncrossesParallelChains(t *testing.T) {
	n := func(key string, kind store.Kind) store.Node { return store.Node{Key: key, Kind: kind, Name: key} }
	l := store.Lineage{
		Nodes: []store.Node{
			n("a1", store.KindDatasetVersion), n("b2", store.KindTrainingJob),
			n("a2", store.KindDatasetVersion), n("b1", store.KindTrainingJob),
			n("c1", store.KindArtifact), n("c2", store.KindArtifact),
		},
		// a1 → b2 → c1 and a2 → b1 → c2: in ID order every layer pair crosses.
		Edges: []store.Edge{
			{From: "a1", To: "b2", Type: store.RelInputTo}, {From: "b2", To: "c1", Type: store.RelProduced},
			{From: "a2", To: "b1", Type: store.RelInputTo}, {From: "b1", To: "c2", Type: store.RelProduced},
		},
	}
	lay := LayOut(l)
	y := map[string]float64{}
	for _, b := range lay.Boxes {
		y[b.Node.Key] = b.Y
	}
	for _, pair := range [][2]string{{"a1", "a2"}, {"b2", "b1"}, {"c1", "c2"}} {
		assert.Less(t, y[pair[0]], y[pair[1]], "%s above %s", pair[0], pair[1])
	}
}

// A cycle (which provenance should not have, but ingested data may) is laid out
// without hanging, and edges whose ends are missing are left out; an empty lineage is
// an empty picture.
func TestLayoutCyclesAndDanglingEdges(t *testing.T) {
	n := func(key string) store.Node { return store.Node{Key: key, Kind: store.KindDatasetVersion, Name: key} }
	l := store.Lineage{
		Nodes: []store.Node{n("x"), n("y"), n("z"), n("w")},
		Edges: []store.Edge{
			{From: "w", To: "x", Type: store.RelInputTo},
			{From: "x", To: "y", Type: store.RelInputTo}, {From: "y", To: "z", Type: store.RelInputTo},
			{From: "z", To: "x", Type: store.RelInputTo}, {From: "z", To: "gone", Type: store.RelInputTo},
		},
	}
	lay := LayOut(l)
	assert.Len(t, lay.Boxes, 4)
	assert.Len(t, lay.Edges, 4)
	out, err := Render(store.Lineage{}, SVG)
	require.NoError(t, err)
	parseSVG(t, out)
}

// A long edge passes the layers between its ends through points of its own, so it
// never runs through a box.
func TestLayoutRoutesLongEdgesAroundBoxes(t *testing.T) {
	l := fixture()
	// The raw dataset version also feeds the model version directly: two columns apart.
	l.Edges = append(l.Edges, store.Edge{From: "artifact:s3://models/fraud/model.tar.gz", To: "endpoint:fraud-prod", Type: store.RelInputTo})
	lay := LayOut(l)
	for _, r := range lay.Edges {
		for _, p := range r.Points[1 : len(r.Points)-1] {
			for _, b := range lay.Boxes {
				inside := p.X > b.X && p.X < b.X+b.W && p.Y > b.Y && p.Y < b.Y+b.H
				assert.False(t, inside, "edge %v passes through %s", r.Edge, b.Node.Key)
			}
		}
	}
}
