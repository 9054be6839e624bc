package export

import (
	"encoding/xml"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/provgraph/provgraph/store"
)

// svgNameRunes is how many characters of a name fit a box at the SVG's font size;
// longer names are cut with an ellipsis (the whole ID is in the box's title).
const svgNameRunes = 30

// svg draws l's layout (LayOut) as a standalone SVG document: a box per node,
// coloured by kind, with its kind and name, and an arrow per edge (structural
// VERSION_OF edges dashed, pointing back at the dataset or registered model). Every
// string in it comes from ingested data, which any writer controls, so all of them
// are escaped as XML text and none is ever put in an attribute; the document has no
// script, no foreignObject and no external reference.
func svg(l store.Lineage) []byte {
	lay := LayOut(l)
	var b strings.Builder
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="%s" height="%s" viewBox="0 0 %s %s" font-family="Helvetica, Arial, sans-serif">
<title>provgraph lineage</title>
<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#4b5563"/></marker></defs>
<rect x="0" y="0" width="%[1]s" height="%[2]s" fill="#ffffff"/>
`, num(lay.Width), num(lay.Height), num(lay.Width), num(lay.Height))
	b.WriteString("<g fill=\"none\" stroke=\"#4b5563\" stroke-width=\"1.2\">\n")
	for _, r := range lay.Edges {
		dash := ""
		if r.Reversed {
			dash = ` stroke-dasharray="5,4"`
		}
		b.WriteString(`<path d="`)
		for i, p := range r.Points {
			if i == 0 {
				b.WriteString("M")
			} else {
				b.WriteString(" L")
			}
			b.WriteString(num(p.X) + "," + num(p.Y))
		}
		marker := "marker-end"
		if r.Reversed {
			marker = "marker-start"
		}
		fmt.Fprintf(&b, `" %s="url(#arrow)"%s><title>`, marker, dash)
		writeText(&b, r.Edge.Type+": "+r.Edge.From+" → "+r.Edge.To)
		b.WriteString("</title></path>\n")
	}
	b.WriteString("</g>\n")
	for _, box := range lay.Boxes {
		st := StyleOf(box.Node.Kind)
		b.WriteString("<g><title>")
		writeText(&b, box.Node.Key)
		fmt.Fprintf(&b, "</title>\n"+`<rect x="%s" y="%s" width="%s" height="%s" rx="6" fill="%s" stroke="%s" stroke-width="1.5"/>`+"\n",
			num(box.X), num(box.Y), num(box.W), num(box.H), hex(st.Fill), hex(st.Stroke))
		fmt.Fprintf(&b, `<text x="%s" y="%s" font-size="9" font-weight="bold" fill="%s">`, num(box.X+8), num(box.Y+15), hex(st.Stroke))
		writeText(&b, KindLabel(box.Node.Kind))
		fmt.Fprintf(&b, "</text>\n"+`<text x="%s" y="%s" font-size="12" fill="#111827">`, num(box.X+8), num(box.Y+33))
		writeText(&b, Ellipsize(DisplayName(box.Node), svgNameRunes))
		b.WriteString("</text></g>\n")
	}
	b.WriteString("</svg>\n")
	return []byte(b.String())
}

// writeText writes s escaped as XML character data; control characters become
// spaces, so a name cannot break the layout of its line.
func writeText(b *strings.Builder, s string) {
	_ = xml.EscapeText(b, []byte(PlainText(s))) // a strings.Builder never fails
}

// PlainText replaces control characters (line breaks, tabs, NUL) with spaces and
// invalid UTF-8 with U+FFFD, so ingested text stays on one line of a picture.
func PlainText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return ' '
		}
		return r
	}, s)
}

// Ellipsize cuts s to at most n characters, ending with "…" when cut.
func Ellipsize(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:max(n-1, 0)]) + "…"
}

// DisplayName is what a picture's box says about n: its name, or its ID when it has
// none.
func DisplayName(n store.Node) string {
	if n.Name != "" {
		return n.Name
	}
	return n.Key
}

func num(f float64) string { return fmt.Sprintf("%.1f", f) }

func hex(c Colour) string { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }
