package mlflow

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/provgraph/provgraph/apperr"
	"github.com/provgraph/provgraph/store"
)

// The filters of experiments/search, registered-models/search and model-versions/search
// (MLflow's SearchExperimentsUtils and SearchModelUtils): comparisons of an attribute or
// a tag joined by AND, such as
//
//	name LIKE 'fraud-%' AND tags.team = 'risk'
//	attributes.creation_time > 1700000000000
//	name = 'fraud' AND version_number >= 3 AND run_id IN ('a1', 'b2')
//
// Strings are quoted with ' or "; a tag != matches entities without the tag. A tag key with spaces is quoted with backticks or
// double quotes (tags.`my key`). String attributes and tags take =, !=, LIKE and ILIKE;
// numbers (times in milliseconds, version numbers) =, !=, <, <=, > and >=; run_id also
// IN (...).

// maxEntityFilterBytes bounds a filter string.
const maxEntityFilterBytes = 4096

type attrKind int

const (
	attrString attrKind = iota
	attrNumber
	attrRunID // a string that also takes IN
)

// entityCond is one comparison of a filter.
type entityCond struct {
	attr string // canonical attribute, or the tag key when tag is set
	tag  bool
	op   string // =, !=, <, <=, >, >=, LIKE, ILIKE, IN
	str  string
	num  float64
	list []string
}

// entityFilter is a parsed filter: all its conditions must hold. Empty matches all.
type entityFilter []entityCond

// entityValues says what an entity holds: its attributes as strings or numbers, and
// its tags.
type entityValues struct {
	strs map[string]string
	nums map[string]float64
	tags map[string]string
}

func (f entityFilter) matches(v entityValues) bool {
	for _, c := range f {
		if !c.matches(v) {
			return false
		}
	}
	return true
}

func (c entityCond) matches(v entityValues) bool {
	if c.tag {
		s, ok := v.tags[c.attr]
		if !ok {
			// An entity without the tag differs from any value: the MLflow client relies
			// on it, adding tag.`mlflow.prompt.is_prompt` != 'true' to model searches.
			return c.op == "!="
		}
		return compareStrings(s, c)
	}
	if n, ok := v.nums[c.attr]; ok {
		switch c.op {
		case "=":
			return n == c.num
		case "!=":
			return n != c.num
		case "<":
			return n < c.num
		case "<=":
			return n <= c.num
		case ">":
			return n > c.num
		case ">=":
			return n >= c.num
		}
		return false
	}
	s, ok := v.strs[c.attr]
	return ok && compareStrings(s, c)
}

func compareStrings(s string, c entityCond) bool {
	switch c.op {
	case "=":
		return s == c.str
	case "!=":
		return s != c.str
	case "LIKE":
		return likeMatch(s, c.str)
	case "ILIKE":
		return likeMatch(strings.ToLower(s), strings.ToLower(c.str))
	case "IN":
		for _, x := range c.list {
			if s == x {
				return true
			}
		}
	}
	return false
}

// namePrefix is what every matching name starts with, as far as the filter says: the
// literal start of a name = or name LIKE condition ("" when none says).
func (f entityFilter) namePrefix() string {
	best := ""
	for _, c := range f {
		if c.tag || c.attr != "name" {
			continue
		}
		p := ""
		switch c.op {
		case "=":
			p = c.str
		case "LIKE":
			p = c.str[:strings.IndexFunc(c.str+"%", func(r rune) bool { return r == '%' || r == '_' || r == '\\' })]
		}
		if len(p) > len(best) {
			best = p
		}
	}
	return best
}

// kindFilter is what the store can narrow a listing by: the name prefix, and an exact
// source or run.
func (f entityFilter) kindFilter() store.KindFilter {
	out := store.KindFilter{NamePrefix: f.namePrefix()}
	for _, c := range f {
		if c.tag || c.op != "=" {
			continue
		}
		switch c.attr {
		case "source_path":
			out.Source = &c.str
		case "run_id":
			run := store.RunKey(c.str)
			out.Run = &run
		}
	}
	return out
}

// parseEntityFilter parses a filter over the given attributes (canonical names, which
// may also be written with an attribute./attributes. prefix); tags are always allowed.
func parseEntityFilter(filter *string, what string, attrs map[string]attrKind) (entityFilter, error) {
	if filter == nil || strings.TrimSpace(*filter) == "" {
		return nil, nil
	}
	if len(*filter) > maxEntityFilterBytes {
		return nil, apperr.Invalid("filter", "must be at most %d bytes (got %d)", maxEntityFilterBytes, len(*filter))
	}
	p := &filterParser{src: *filter, what: what, attrs: attrs}
	var out entityFilter
	for {
		c, err := p.condition()
		if err != nil {
			return nil, err
		}
		out = append(out, c)
		p.space()
		if p.eof() {
			return out, nil
		}
		at := p.pos
		if w := p.word(); !strings.EqualFold(w, "AND") {
			p.pos = at
			return nil, p.errorf("expected AND or the end of the filter, found %q (%s filters join comparisons with AND only)", w, what)
		}
	}
}

type filterParser struct {
	src   string
	pos   int
	what  string
	attrs map[string]attrKind
}

func (p *filterParser) eof() bool { return p.pos >= len(p.src) }

func (p *filterParser) space() {
	for p.pos < len(p.src) && unicode.IsSpace(rune(p.src[p.pos])) {
		p.pos++
	}
}

func (p *filterParser) errorf(format string, args ...any) error {
	return apperr.Invalid("filter", "position %d: %s", p.pos+1, fmt.Sprintf(format, args...))
}

// word reads a run of letters, digits, '_' and '.'.
func (p *filterParser) word() string {
	p.space()
	start := p.pos
	for p.pos < len(p.src) {
		r := rune(p.src[p.pos])
		if !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '.') {
			break
		}
		p.pos++
	}
	return p.src[start:p.pos]
}

// quoted reads a string in the quote at the current position; a doubled quote stands
// for itself.
func (p *filterParser) quoted() (string, bool) {
	if p.eof() {
		return "", false
	}
	q := p.src[p.pos]
	if q != '\'' && q != '"' && q != '`' {
		return "", false
	}
	var b strings.Builder
	for i := p.pos + 1; i < len(p.src); i++ {
		if p.src[i] == q {
			if i+1 < len(p.src) && p.src[i+1] == q {
				b.WriteByte(q)
				i++
				continue
			}
			p.pos = i + 1
			return b.String(), true
		}
		b.WriteByte(p.src[i])
	}
	return "", false
}

func (p *filterParser) condition() (entityCond, error) {
	p.space()
	start := p.pos
	ident := p.word()
	var c entityCond
	lower := strings.ToLower(ident)
	switch {
	case lower == "tags" || lower == "tag" || strings.HasPrefix(lower, "tags.") || strings.HasPrefix(lower, "tag."):
		c.tag = true
		_, key, _ := strings.Cut(ident, ".")
		if key == "" {
			if k, ok := p.quoted(); ok && strings.HasSuffix(ident, ".") {
				key = k
			}
		}
		if key == "" {
			p.pos = start
			return c, p.errorf("expected a tag key after %q, such as tags.team or tags.`my key`", ident)
		}
		c.attr = key
	default:
		name := lower
		for _, prefix := range []string{"attributes.", "attribute.", "attr."} {
			name = strings.TrimPrefix(name, prefix)
		}
		if _, ok := p.attrs[name]; !ok {
			p.pos = start
			return c, p.errorf("%q is not something %s can be searched by; use %s or tags.<key>", ident, p.what, attrList(p.attrs))
		}
		c.attr = name
	}
	kind := attrString
	if !c.tag {
		kind = p.attrs[c.attr]
	}
	p.space()
	opStart := p.pos
	switch {
	case strings.HasPrefix(p.src[p.pos:], "!="), strings.HasPrefix(p.src[p.pos:], "<="), strings.HasPrefix(p.src[p.pos:], ">="):
		c.op = p.src[p.pos : p.pos+2]
		p.pos += 2
	case strings.HasPrefix(p.src[p.pos:], "="), strings.HasPrefix(p.src[p.pos:], "<"), strings.HasPrefix(p.src[p.pos:], ">"):
		c.op = p.src[p.pos : p.pos+1]
		p.pos++
	default:
		c.op = strings.ToUpper(p.word())
	}
	allowed := map[attrKind][]string{
		attrString: {"=", "!=", "LIKE", "ILIKE"},
		attrNumber: {"=", "!=", "<", "<=", ">", ">="},
		attrRunID:  {"=", "!=", "LIKE", "ILIKE", "IN"},
	}[kind]
	if !slices.Contains(allowed, c.op) {
		p.pos = opStart
		return c, p.errorf("%s takes %s (found %q)", ident, strings.Join(allowed, ", "), c.op)
	}
	p.space()
	valStart := p.pos
	switch {
	case c.op == "IN":
		list, err := p.inList()
		c.list = list
		return c, err
	case kind == attrNumber:
		w := p.word()
		n, err := strconv.ParseFloat(w, 64)
		if err != nil {
			p.pos = valStart
			return c, p.errorf("%s compares with a number (found %q)", ident, w)
		}
		c.num = n
	default:
		if p.eof() || (p.src[p.pos] != '\'' && p.src[p.pos] != '"') {
			return c, p.errorf("%s compares with a quoted string", ident)
		}
		s, ok := p.quoted()
		if !ok {
			return c, p.errorf("the string is not closed")
		}
		c.str = s
	}
	return c, nil
}

// inList parses the parenthesised list of quoted strings after IN.
func (p *filterParser) inList() ([]string, error) {
	if p.eof() || p.src[p.pos] != '(' {
		return nil, p.errorf("IN takes a parenthesised list of quoted strings")
	}
	p.pos++
	var list []string
	for {
		p.space()
		s, ok := p.quoted()
		if !ok {
			return list, p.errorf("IN takes a parenthesised list of quoted strings")
		}
		list = append(list, s)
		p.space()
		if !p.eof() && p.src[p.pos] == ',' {
			p.pos++
			continue
		}
		if !p.eof() && p.src[p.pos] == ')' {
			p.pos++
			return list, nil
		}
		return list, p.errorf("expected , or ) in the IN list")
	}
}

func attrList(attrs map[string]attrKind) string {
	var names []string
	for _, n := range []string{"name", "creation_time", "last_update_time", "run_id", "source_path", "version_number",
		"model_id", "model_type", "status", "source_run_id", "creation_timestamp", "last_updated_timestamp", "last_updated_time"} {
		if _, ok := attrs[n]; ok {
			names = append(names, n)
		}
	}
	return strings.Join(names, ", ")
}

// The attributes each search takes.
var (
	experimentAttrs = map[string]attrKind{"name": attrString, "creation_time": attrNumber, "last_update_time": attrNumber}
	modelAttrs      = map[string]attrKind{"name": attrString}
	versionAttrs    = map[string]attrKind{"name": attrString, "run_id": attrRunID, "source_path": attrString, "version_number": attrNumber}
	// loggedModelAttrs are MLflow's SearchLoggedModelsUtils attributes.
	loggedModelAttrs = map[string]attrKind{
		"name": attrString, "model_id": attrString, "model_type": attrString, "status": attrString, "source_run_id": attrRunID,
		"creation_timestamp": attrNumber, "creation_time": attrNumber, "last_updated_timestamp": attrNumber, "last_updated_time": attrNumber,
	}
)

func tagMap(tags []store.Tag) map[string]string {
	out := make(map[string]string, len(tags))
	for _, t := range tags {
		out[t.Key] = t.Value
	}
	return out
}
