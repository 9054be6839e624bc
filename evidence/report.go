package evidence

import (
	"bytes"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"codeberg.org/go-pdf/fpdf"

	"github.com/provgraph/provgraph/export"
	"github.com/provgraph/provgraph/store"
)

// The report's page geometry, in millimetres. Pages are A4; the content stays inside
// a box that also fits US Letter (215.9 × 279.4 mm) when a printer centres the page,
// so the report prints on either paper without losing an edge.
const (
	marginSide   = 20.0
	marginTop    = 20.0
	marginBottom = 35.0 // the content ends at 262 mm: 253 mm below Letter's top edge when centred
	contentWidth = 210.0 - 2*marginSide
	// Landscape picture pages: 257 × 150 mm of picture below a heading and above the
	// footer.
	pictureTop    = 30.0
	pictureWidth  = 297.0 - 2*marginSide
	pictureHeight = 150.0
	// The picture's scale, millimetres per layout unit: fitted to the page width,
	// but never so small that a name is below about 4 pt, nor larger than needed.
	minPictureScale = 0.12
	maxPictureScale = 0.3
	// maxPicturePages caps the pages the picture may take; a larger cone is left to
	// lineage.svg, which the report says.
	maxPicturePages = 24
	// maxReportAuditRows caps the audit-log entries listed in the report; all of
	// them are in audit-log.json.
	maxReportAuditRows = 1000
	// lineHeight is a table line's height at the body font size.
	lineHeight = 3.8
	cellPad    = 1.0
	bodySize   = 8.0
)

// report draws the PDF. Every string it shows goes through text, which keeps it on
// one line and maps it to the core fonts' code page: what ingested data holds is
// only ever drawn as text.
type report struct {
	pdf *fpdf.Fpdf
	tr  func(string) string
	// widths caches the glyph widths of the current font, per byte.
	widths    [256]float64
	widthsFor string
}

// renderReport renders report.pdf for ev; hashes are the SHA-256 of the package's
// other files, so the printed report anchors them.
func renderReport(ev Evidence, meta Meta, hashes []ManifestFile) ([]byte, error) {
	pdf := fpdf.New("P", "mm", "A4", "")
	r := &report{pdf: pdf, tr: pdf.UnicodeTranslatorFromDescriptor("cp1252")}
	pdf.SetMargins(marginSide, marginTop, marginSide)
	pdf.SetAutoPageBreak(true, marginBottom)
	pdf.SetCreationDate(meta.GeneratedAt)
	pdf.SetModificationDate(meta.GeneratedAt)
	pdf.SetCatalogSort(true)
	pdf.SetTitle("Evidence: "+ev.Subject.Key+" at "+ev.At.UTC().Format(time.RFC3339), true)
	pdf.SetCreator("provgraph "+meta.Version, true)
	pdf.SetSubject("provgraph evidence package", true)
	pdf.AliasNbPages("{nb}")
	footer := r.text(export.Ellipsize(ev.Subject.Key, 90) + " at " + ev.At.UTC().Format(time.RFC3339))
	pdf.SetFooterFunc(func() {
		pageWidth, _ := pdf.GetPageSize()
		pdf.SetY(-marginBottom + 8)
		r.font("", 7)
		pdf.SetTextColor(100, 100, 100)
		pdf.CellFormat(pageWidth-2*marginSide, 4, "provgraph evidence - "+footer+" - page "+strconv.Itoa(pdf.PageNo())+" of {nb}", "", 0, "C", false, 0, "")
		pdf.SetTextColor(0, 0, 0)
	})
	pdf.AddPage()

	r.cover(ev, meta)
	r.served(ev)
	for _, e := range ev.Trail.Entries {
		r.modelVersion(ev, e)
	}
	r.lineage(ev)
	r.auditLog(ev)
	r.files(hashes)

	if err := pdf.Error(); err != nil {
		return nil, fmt.Errorf("evidence report: %w", err)
	}
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return nil, fmt.Errorf("evidence report: %w", err)
	}
	return buf.Bytes(), nil
}

func (r *report) cover(ev Evidence, meta Meta) {
	r.font("B", 18)
	r.pdf.CellFormat(contentWidth, 9, "Evidence package", "", 1, "L", false, 0, "")
	r.font("", 10)
	r.paragraph(fmt.Sprintf("What provgraph recorded about %s %s, as the provenance graph stood at %s: what it served "+
		"or was, who approved it, which job or run produced it from which exact data, its upstream lineage, and the "+
		"tamper-evident audit log of the writes that recorded all of it.",
		strings.ToLower(export.KindLabel(ev.Subject.Kind)), ev.Subject.Key, ev.At.UTC().Format(time.RFC3339Nano)))
	r.gap(2)
	v := ev.Audit.Verification
	r.keyValues([][2]string{
		{"Subject", ev.Subject.Key},
		{"Kind", export.KindLabel(ev.Subject.Kind)},
		{"Name", ev.Subject.Name},
		{"Instant", ev.At.UTC().Format(time.RFC3339Nano)},
		{"Recorded", stamp(ev.Subject.RecordedAt) + " by " + ev.Subject.RecordedBy},
		{"Generated", stamp(meta.GeneratedAt) + " by provgraph " + meta.Version},
		{"Audit log", verdict(v, len(ev.Audit.Entries))},
	})
	r.gap(3)
	r.paragraph("Sections: 1 what served at the instant; 2 each model version: approvals, producing job or run, " +
		"training data; 3 upstream lineage (table and picture); 4 audit log and its verification; 5 the files of " +
		"this package and their SHA-256. Text outside the Windows-1252 character set is shown as '?'; the exact " +
		"text is in lineage.prov.json and audit-log.json.")
}

// verdict sums up the chain's verification over the package's entries.
func verdict(v store.AuditVerification, entries int) string {
	if b := v.FirstBreak; b != nil {
		return fmt.Sprintf("DOES NOT VERIFY: entry %d, %s (%d entries verified before it, from %d)", b.Seq, b.Reason, v.Checked, v.From)
	}
	if entries == 0 {
		return fmt.Sprintf("no entry names these nodes by the instant (chain head at %d)", v.Head)
	}
	return fmt.Sprintf("verifies: %d entries about these nodes; the chain checked from entry %d to %d (%d entries), no break",
		entries, v.From, v.To, v.Checked)
}

func (r *report) served(ev Evidence) {
	if ev.Trail.Endpoint == nil {
		return
	}
	r.heading("1  What served " + ev.Trail.Endpoint.Key + " at the instant")
	if len(ev.Trail.Entries) == 0 {
		r.paragraph("No model version served the endpoint at this instant.")
		return
	}
	var rows [][]string
	for _, e := range ev.Trail.Entries {
		d := e.Deployment
		to := "serving"
		if d.To != nil {
			to = stamp(*d.To)
		}
		rows = append(rows, []string{d.Variant, d.ModelVersion.Key, fmt.Sprintf("%.0f%%", d.TrafficShare*100), stamp(d.From), to, d.RecordedBy})
	}
	r.table([]column{{"Variant", 22, false}, {"Model version", 50, false}, {"Traffic", 14, false}, {"From", 30, false}, {"Until", 30, false}, {"Deployed by", 24, false}}, rows, 3)
}

func (r *report) modelVersion(ev Evidence, e store.AuditEntry) {
	v := e.Version
	r.heading("2  Model version " + v.Key)
	pairs := [][2]string{
		{"ID", v.Key},
		{"Registered", stamp(v.RecordedAt) + " by " + v.RecordedBy},
		{"Source", v.String("source")},
		{"Approval at the instant", string(store.StatusOf(e.Approvals))},
	}
	for _, p := range []struct{ label, prop string }{{"Framework", "framework"}, {"Description", "description"}} {
		if s := v.String(p.prop); s != "" {
			pairs = append(pairs, [2]string{p.label, s})
		}
	}
	r.keyValues(pairs)

	r.subheading("Approval history (by the instant, oldest first)")
	if len(e.Approvals) == 0 {
		r.paragraph("No approval change was recorded by the instant.")
	} else {
		var rows [][]string
		for _, a := range e.Approvals {
			comment := ""
			if a.Comment != nil {
				comment = *a.Comment
			}
			rows = append(rows, []string{stamp(a.At), string(a.Status), a.Actor, comment})
		}
		r.table([]column{{"At", 30, false}, {"Status", 40, false}, {"Actor", 40, false}, {"Comment", 60, false}}, rows, 6)
	}

	r.subheading("Produced by")
	if len(e.Producers) == 0 {
		r.paragraph("No job or run was recorded as producing this version's model artifact.")
	}
	for _, p := range e.Producers {
		r.producer(ev, p)
	}

	r.subheading("Training data (what the producers read)")
	if len(e.TrainingData) == 0 {
		r.paragraph("The producers were recorded with no inputs.")
		return
	}
	var rows [][]string
	for _, n := range e.TrainingData {
		rows = append(rows, []string{export.KindLabel(n.Kind), n.Key, pin(n), stamp(n.RecordedAt)})
	}
	r.table([]column{{"Kind", 24, false}, {"ID", 76, false}, {"Digest or version", 40, false}, {"Recorded", 30, false}}, rows, 4)
}

// pin is what pins a dataset version or artifact: its digest, else its version id.
func pin(n store.Node) string {
	for _, p := range []string{"digest", "versionId", "version"} {
		if s := n.String(p); s != "" {
			return s
		}
	}
	return "-"
}

func (r *report) producer(ev Evidence, p store.Node) {
	pairs := [][2]string{{"ID", p.Key}, {"Kind", export.KindLabel(p.Kind)}, {"Name", p.Name},
		{"Recorded", stamp(p.RecordedAt) + " by " + p.RecordedBy}}
	for _, f := range []struct{ label, prop string }{
		{"Status", "status"}, {"Instance type", "instanceType"}, {"Code version", "codeVersion"},
		{"Entry point", "entryPoint"}, {"User", "user"},
	} {
		if s := p.String(f.prop); s != "" {
			pairs = append(pairs, [2]string{f.label, s})
		}
	}
	for _, f := range []struct{ label, prop string }{{"Started", "startedAt"}, {"Ended", "endedAt"}, {"Started", "startTime"}, {"Ended", "endTime"}} {
		if t := p.OptTime(f.prop); t != nil {
			pairs = append(pairs, [2]string{f.label, stamp(*t)})
		}
	}
	r.keyValues(pairs)
	var params []store.Param
	switch p.Kind {
	case store.KindTrainingJob:
		params = p.DecodeParams("hyperParameters")
	case store.KindProcessingJob:
		params = p.DecodeParams("parameters")
	case store.KindRun:
		params = ev.Runs[p.Key].Params
	}
	if len(params) > 0 {
		var rows [][]string
		for _, kv := range params {
			rows = append(rows, []string{kv.Key, kv.Value})
		}
		r.table([]column{{"Parameter", 60, false}, {"Value", 110, false}}, rows, 4)
	}
	if ms := ev.Runs[p.Key].Metrics; len(ms) > 0 {
		var rows [][]string
		for _, m := range ms {
			rows = append(rows, []string{m.Key, number(&m.Last), number(m.Min), number(m.Max), number(m.Avg), number(m.StdDev), strconv.FormatInt(m.Count, 10)})
		}
		r.table([]column{{"Metric", 44, false}, {"Last", 21, false}, {"Min", 21, false}, {"Max", 21, false}, {"Avg", 21, false}, {"StdDev", 21, false}, {"Count", 21, false}}, rows, 2)
	}
	r.gap(2)
}

func number(f *float64) string {
	if f == nil {
		return "-"
	}
	return strconv.FormatFloat(*f, 'g', 6, 64)
}

func (r *report) lineage(ev Evidence) {
	l := ev.Lineage
	r.heading("3  Upstream lineage")
	counts := map[string]int{}
	for _, n := range l.Nodes {
		counts[export.KindLabel(n.Kind)]++
	}
	kinds := make([]string, 0, len(counts))
	for k := range counts {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	var parts []string
	for _, k := range kinds {
		parts = append(parts, fmt.Sprintf("%d %s", counts[k], strings.ToLower(k)))
	}
	note := fmt.Sprintf("%d nodes (%s) and %d edges, as the graph stood at the instant; data flows left to right. "+
		"lineage.svg holds the same picture, lineage.prov.json the same graph.", len(l.Nodes), strings.Join(parts, ", "), len(l.Edges))
	if l.Truncated {
		note += fmt.Sprintf(" The cone is larger than a lineage answer (%d nodes): the nodes nearest the subject are shown.", store.MaxLineageNodes)
	}
	r.paragraph(note)
	r.picture(export.LayOut(l))
	r.pdf.AddPage()
	r.subheading("The nodes of the upstream lineage")
	var rows [][]string
	for _, n := range l.Nodes {
		rows = append(rows, []string{export.KindLabel(n.Kind), n.Key, pin(n)})
	}
	r.table([]column{{"Kind", 28, false}, {"ID", 102, false}, {"Digest or version", 40, false}}, rows, 3)
}

// picture draws the layout on landscape pages: fitted to the page width at a
// readable scale, in as many pages (rows and columns of tiles) as it needs.
func (r *report) picture(lay export.Layout) {
	s := math.Min(maxPictureScale, math.Max(minPictureScale, pictureWidth/lay.Width))
	cols := int(math.Ceil(lay.Width * s / pictureWidth))
	rows := int(math.Ceil(lay.Height * s / pictureHeight))
	if cols*rows > maxPicturePages {
		r.paragraph(fmt.Sprintf("The picture needs %d pages at a readable size, more than this report gives it (%d); "+
			"open lineage.svg to see it.", cols*rows, maxPicturePages))
		return
	}
	tileW, tileH := pictureWidth/s, pictureHeight/s // layout units per tile
	part := 0
	for ty := range rows {
		for tx := range cols {
			part++
			r.pdf.AddPageFormat("L", r.pdf.GetPageSizeStr("A4"))
			r.font("B", 11)
			title := "Upstream lineage"
			if cols*rows > 1 {
				title += fmt.Sprintf(" - part %d of %d (row %d of %d, column %d of %d)", part, cols*rows, ty+1, rows, tx+1, cols)
			}
			r.pdf.CellFormat(pictureWidth, 6, title, "", 1, "L", false, 0, "")
			ox, oy := float64(tx)*tileW, float64(ty)*tileH
			at := func(p export.Point) (float64, float64) {
				return marginSide + (p.X-ox)*s, pictureTop + (p.Y-oy)*s
			}
			visible := func(x0, y0, x1, y1 float64) bool {
				return x1 >= ox && x0 <= ox+tileW && y1 >= oy && y0 <= oy+tileH
			}
			r.pdf.ClipRect(marginSide, pictureTop, pictureWidth, pictureHeight, false)
			r.pdf.SetLineWidth(0.25)
			r.pdf.SetDrawColor(0x4b, 0x55, 0x63)
			r.pdf.SetFillColor(0x4b, 0x55, 0x63)
			for _, e := range lay.Edges {
				x0, y0, x1, y1 := bounds(e.Points)
				if !visible(x0, y0, x1, y1) {
					continue
				}
				if e.Reversed {
					r.pdf.SetDashPattern([]float64{1.2, 1}, 0)
				}
				for i := 1; i < len(e.Points); i++ {
					ax, ay := at(e.Points[i-1])
					bx, by := at(e.Points[i])
					r.pdf.Line(ax, ay, bx, by)
				}
				r.pdf.SetDashPattern([]float64{}, 0)
				tip, from := e.Points[len(e.Points)-1], e.Points[len(e.Points)-2]
				if e.Reversed {
					tip, from = e.Points[0], e.Points[1]
				}
				r.arrowhead(at(from))(at(tip))
			}
			for _, b := range lay.Boxes {
				if !visible(b.X, b.Y, b.X+b.W, b.Y+b.H) {
					continue
				}
				st := export.StyleOf(b.Node.Kind)
				x, y := at(export.Point{X: b.X, Y: b.Y})
				r.pdf.SetLineWidth(0.3)
				r.pdf.SetFillColor(int(st.Fill.R), int(st.Fill.G), int(st.Fill.B))
				r.pdf.SetDrawColor(int(st.Stroke.R), int(st.Stroke.G), int(st.Stroke.B))
				r.pdf.RoundedRect(x, y, b.W*s, b.H*s, 6*s, "1234", "FD")
				r.pdf.SetTextColor(int(st.Stroke.R), int(st.Stroke.G), int(st.Stroke.B))
				r.fontUnits("B", 9*s)
				r.pdf.Text(x+8*s, y+15*s, r.fit(export.KindLabel(b.Node.Kind), (b.W-16)*s))
				r.pdf.SetTextColor(0x11, 0x18, 0x27)
				r.fontUnits("", 12*s)
				r.pdf.Text(x+8*s, y+33*s, r.fit(export.DisplayName(b.Node), (b.W-16)*s))
			}
			r.pdf.ClipEnd()
			r.pdf.SetTextColor(0, 0, 0)
			r.pdf.SetDrawColor(0, 0, 0)
		}
	}
}

// arrowhead returns a function drawing a filled arrowhead at the tip of a segment
// coming from (fx, fy).
func (r *report) arrowhead(fx, fy float64) func(tx, ty float64) {
	return func(tx, ty float64) {
		dx, dy := tx-fx, ty-fy
		l := math.Hypot(dx, dy)
		if l == 0 {
			return
		}
		ux, uy := dx/l, dy/l
		const length, half = 1.6, 0.7
		bx, by := tx-ux*length, ty-uy*length
		r.pdf.SetFillColor(0x4b, 0x55, 0x63)
		r.pdf.Polygon([]fpdf.PointType{{X: tx, Y: ty}, {X: bx - uy*half, Y: by + ux*half}, {X: bx + uy*half, Y: by - ux*half}}, "F")
	}
}

func bounds(ps []export.Point) (x0, y0, x1, y1 float64) {
	x0, y0, x1, y1 = math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, p := range ps {
		x0, y0, x1, y1 = math.Min(x0, p.X), math.Min(y0, p.Y), math.Max(x1, p.X), math.Max(y1, p.Y)
	}
	return
}

func (r *report) auditLog(ev Evidence) {
	a := ev.Audit
	v := a.Verification
	r.heading("4  Audit log")
	r.paragraph("Every write to provgraph appends an entry to a hash chain in the same transaction: each entry's hash is " +
		"the SHA-256 of its canonical form, which includes the previous entry's hash (docs/audit.md). Listed here: the " +
		"entries appended by the instant whose targets name a node of section 3, each with its hash recomputed; the " +
		"chain is checked over every entry from the first of them to the last.")
	pairs := [][2]string{{"Result", verdict(v, len(a.Entries))}}
	if len(a.Entries) > 0 {
		pairs = append(pairs, [2]string{"Range checked", fmt.Sprintf("entries %d to %d: %d checked; the head was at %d", v.From, v.To, v.Checked, v.Head)})
	}
	if b := v.FirstBreak; b != nil {
		pairs = append(pairs, [2]string{"Expected", b.Expected}, [2]string{"Found", b.Found})
	}
	bad := 0
	for _, e := range a.Entries {
		if !hashValid(e) {
			bad++
		}
	}
	pairs = append(pairs, [2]string{"Entries listed", fmt.Sprintf("%d; %d with a hash that is not their canonical form's", len(a.Entries), bad)})
	if a.Truncated {
		pairs = append(pairs, [2]string{"Note", fmt.Sprintf("more entries name these nodes than a package holds (%d): "+
			"the auditLogEntries query lists the rest", MaxAuditEntries)})
	}
	r.keyValues(pairs)
	var rows [][]string
	for i, e := range a.Entries {
		if i == maxReportAuditRows {
			break
		}
		valid := "yes"
		if !hashValid(e) {
			valid = "NO"
		}
		rows = append(rows, []string{strconv.FormatInt(e.Seq, 10), stamp(e.At), e.Actor, e.Action, e.Hash, valid})
	}
	if len(rows) > 0 {
		r.table([]column{{"Seq", 14, false}, {"At", 30, false}, {"Actor", 33, false}, {"Action", 33, false}, {"Hash", 46, true}, {"Valid", 14, false}}, rows, 2)
	}
	if len(a.Entries) > maxReportAuditRows {
		r.paragraph(fmt.Sprintf("The first %d entries are listed; audit-log.json holds all %d.", maxReportAuditRows, len(a.Entries)))
	}
}

func (r *report) files(hashes []ManifestFile) {
	r.heading("5  The files of this package")
	r.paragraph("manifest.json lists the SHA-256 and size of every other file (this report included); " +
		"`sha256sum <file>` must print the same digest. The digests of the other files, as this report was made:")
	var rows [][]string
	for _, f := range hashes {
		rows = append(rows, []string{f.Name, strconv.FormatInt(f.Bytes, 10), f.SHA256})
	}
	r.table([]column{{"File", 32, false}, {"Bytes", 18, false}, {"SHA-256", 120, true}}, rows, 1)
}

// --- drawing helpers ---

// column is a table column: its title, width in mm, and whether it is monospaced.
type column struct {
	title string
	width float64
	mono  bool
}

// table draws rows under a header repeated on every page; each cell wraps to at
// most maxLines lines, the last cut with an ellipsis.
func (r *report) table(cols []column, rows [][]string, maxLines int) {
	header := func() {
		r.font("B", bodySize)
		r.pdf.SetFillColor(0xe5, 0xe7, 0xeb)
		r.pdf.SetDrawColor(0x9c, 0xa3, 0xaf)
		r.pdf.SetLineWidth(0.2)
		x, y := marginSide, r.pdf.GetY()
		for _, c := range cols {
			r.pdf.Rect(x, y, c.width, lineHeight+2*cellPad, "FD")
			r.pdf.Text(x+cellPad, y+cellPad+lineHeight-0.9, r.fit(c.title, c.width-2*cellPad))
			x += c.width
		}
		r.pdf.SetY(y + lineHeight + 2*cellPad)
	}
	r.need(2 * (lineHeight + 2*cellPad))
	header()
	for _, row := range rows {
		cells := make([][]string, len(cols))
		lines := 1
		for i, c := range cols {
			r.cellFont(c)
			cells[i] = r.wrap(row[i], c.width-2*cellPad, maxLines)
			lines = max(lines, len(cells[i]))
		}
		h := float64(lines)*lineHeight + 2*cellPad
		if r.need(h) {
			header()
		}
		x, y := marginSide, r.pdf.GetY()
		for i, c := range cols {
			r.pdf.SetDrawColor(0x9c, 0xa3, 0xaf)
			r.pdf.Rect(x, y, c.width, h, "D")
			r.cellFont(c)
			for j, line := range cells[i] {
				r.pdf.Text(x+cellPad, y+cellPad+float64(j+1)*lineHeight-0.9, line)
			}
			x += c.width
		}
		r.pdf.SetY(y + h)
	}
	r.gap(3)
}

func (r *report) cellFont(c column) {
	if c.mono {
		r.fontFamily("Courier", "", bodySize-0.5)
		return
	}
	r.font("", bodySize)
}

// keyValues draws labelled values, each value wrapped to at most 6 lines.
func (r *report) keyValues(pairs [][2]string) {
	const labelWidth = 42.0
	for _, p := range pairs {
		r.font("", 9)
		lines := r.wrap(p[1], contentWidth-labelWidth, 6)
		r.need(float64(len(lines)) * 4.4)
		y := r.pdf.GetY()
		r.font("B", 9)
		r.pdf.Text(marginSide, y+3.4, r.fit(p[0], labelWidth-2))
		r.font("", 9)
		for i, line := range lines {
			r.pdf.Text(marginSide+labelWidth, y+3.4+float64(i)*4.4, line)
		}
		r.pdf.SetY(y + float64(len(lines))*4.4)
	}
}

func (r *report) heading(s string) {
	r.need(30)
	r.gap(4)
	r.font("B", 13)
	y := r.pdf.GetY()
	r.pdf.Text(marginSide, y+5, r.fit(s, contentWidth))
	r.pdf.SetDrawColor(0x9c, 0xa3, 0xaf)
	r.pdf.Line(marginSide, y+7, marginSide+contentWidth, y+7)
	r.pdf.SetY(y + 10)
}

func (r *report) subheading(s string) {
	r.need(20)
	r.gap(1)
	r.font("B", 10)
	y := r.pdf.GetY()
	r.pdf.Text(marginSide, y+4, r.fit(s, contentWidth))
	r.pdf.SetY(y + 6.5)
}

// paragraph draws prose wrapped to the content width (at most 40 lines).
func (r *report) paragraph(s string) {
	r.font("", 9)
	for _, line := range r.wrap(s, contentWidth, 40) {
		r.need(4.4)
		y := r.pdf.GetY()
		r.pdf.Text(marginSide, y+3.4, line)
		r.pdf.SetY(y + 4.4)
	}
	r.gap(1.5)
}

func (r *report) gap(h float64) { r.pdf.SetY(r.pdf.GetY() + h) }

// need starts a new page when h millimetres do not fit on this one, and says so.
func (r *report) need(h float64) bool {
	_, height := r.pdf.GetPageSize()
	if r.pdf.GetY()+h <= height-marginBottom {
		return false
	}
	r.pdf.AddPage()
	return true
}

func (r *report) font(style string, size float64) { r.fontFamily("Helvetica", style, size) }

func (r *report) fontFamily(family, style string, size float64) {
	r.pdf.SetFont(family, style, size)
	r.measure(family + style + strconv.FormatFloat(size, 'f', -1, 64))
}

// fontUnits sets the Helvetica font with its size in millimetres.
func (r *report) fontUnits(style string, mm float64) {
	r.pdf.SetFont("Helvetica", style, 10)
	r.pdf.SetFontUnitSize(mm)
	r.measure("Helvetica" + style + "mm" + strconv.FormatFloat(mm, 'f', -1, 64))
}

// measure caches the current font's glyph widths.
func (r *report) measure(key string) {
	if r.widthsFor == key {
		return
	}
	r.widthsFor = key
	for b := range 256 {
		r.widths[b] = r.pdf.GetStringWidth(string([]byte{byte(b)}))
	}
}

// text maps s to one line in the core fonts' code page (Windows-1252): control
// characters become spaces and characters the code page lacks become '?'.
func (r *report) text(s string) string {
	var b strings.Builder
	for _, c := range export.PlainText(s) {
		if c < 0x80 {
			b.WriteRune(c)
			continue
		}
		t := r.tr(string(c))
		if t == "." {
			t = "?"
		}
		b.WriteString(t)
	}
	return b.String()
}

func (r *report) width(s string) float64 {
	w := 0.0
	for i := 0; i < len(s); i++ {
		w += r.widths[s[i]]
	}
	return w
}

// ellipsis is "…" in Windows-1252.
const ellipsis = "\x85"

// fit returns s as one line no wider than w, cut with an ellipsis when needed.
func (r *report) fit(s string, w float64) string { return r.fitText(r.text(s), w) }

func (r *report) fitText(t string, w float64) string {
	if r.width(t) <= w {
		return t
	}
	room := w - r.width(ellipsis)
	n, used := 0, 0.0
	for n < len(t) && used+r.widths[t[n]] <= room {
		used += r.widths[t[n]]
		n++
	}
	return t[:n] + ellipsis
}

// wrap breaks s into lines no wider than w, preferring breaks after spaces and
// separators (an ID breaks after '/', ':' or '#'); the last of maxLines lines is cut
// with an ellipsis when text remains.
func (r *report) wrap(s string, w float64, maxLines int) []string {
	t := r.text(s)
	var lines []string
	for {
		if r.width(t) <= w {
			return append(lines, t)
		}
		if len(lines) == maxLines-1 {
			return append(lines, r.fitText(t, w))
		}
		n, used := 0, 0.0
		for n < len(t) && used+r.widths[t[n]] <= w {
			used += r.widths[t[n]]
			n++
		}
		n = max(n, 1)
		cut := n
		for i := n; i > n/2; i-- {
			if strings.IndexByte(" /:#-_.,;=&?", t[i-1]) >= 0 {
				cut = i
				break
			}
		}
		lines = append(lines, strings.TrimRight(t[:cut], " "))
		t = strings.TrimLeft(t[cut:], " ")
		if t == "" {
			return lines
		}
	}
}

// stamp formats a time for the report: UTC to the second.
func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}
