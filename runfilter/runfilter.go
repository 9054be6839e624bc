package runfilter

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits on a filter. Filters come from API clients and turn into one Cypher
// query each, so every dimension that grows the query or the parser's work is
// bounded; each limit is far above what a person writes by hand.
const (
	// MaxFilterLength is the longest filter accepted, in bytes.
	MaxFilterLength = 10000
	// MaxComparisons is the most comparisons one filter may hold.
	MaxComparisons = 100
	// MaxDepth is the deepest nesting of parentheses; it also bounds the parser's recursion.
	MaxDepth = 20
	// MaxInListLength is the most values one IN or NOT IN list may hold.
	MaxInListLength = 1000
)

// SyntaxError is the only error Parse returns. It says where the filter went
// wrong so an API client can point at the spot, and Error() always includes
// the position, e.g.
//
//	filter: position 12: expected a comparison operator after "metrics.auc", found "~"
type SyntaxError struct {
	// Pos is the 0-based byte offset into the filter, in [0, len(filter)];
	// len(filter) means the filter ended too early.
	Pos int
	// Field is the comparison's left-hand side in canonical form (such as
	// "metrics.auc") when the error is about one comparison, else empty.
	Field string
	// Msg says which rule was broken, without the position.
	Msg string
}

// Error returns "filter: position N: " followed by Msg.
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("filter: position %d: %s", e.Pos, e.Msg)
}

// Parse parses an MLflow search_runs filter string, extended with OR and
// parentheses (see the package documentation for the grammar), into an AST.
// An empty or all-whitespace filter matches every run: Parse returns a nil
// Expr and a nil error. Any other failure is a *SyntaxError.
func Parse(filter string) (Expr, error) {
	if len(filter) > MaxFilterLength {
		return nil, &SyntaxError{Pos: MaxFilterLength, Msg: fmt.Sprintf(
			"filter is %d bytes long; the limit is %d bytes (MaxFilterLength)", len(filter), MaxFilterLength)}
	}
	if !utf8.ValidString(filter) {
		return nil, &SyntaxError{Pos: firstInvalidUTF8(filter), Msg: "filter is not valid UTF-8"}
	}
	p := &parser{src: filter}
	p.skipSpace()
	if p.eof() {
		return nil, nil
	}
	expr, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if !p.eof() {
		if p.src[p.pos] == ')' {
			return nil, p.errorf(p.pos, "unbalanced parentheses: this ')' closes no '('")
		}
		return nil, p.errorf(p.pos, "expected AND, OR or the end of the filter%s, found %s",
			p.after(), p.describe(p.pos))
	}
	return expr, nil
}

// parser is a recursive-descent parser over the filter's bytes. The grammar
// is small enough that the lexer is a handful of methods on the parser.
type parser struct {
	src         string
	pos         int
	depth       int    // parentheses currently open
	comparisons int    // comparisons seen so far
	last        string // what the last complete thing was, for "after X" in messages
	field       string // the comparison being parsed, for SyntaxError.Field
}

func (p *parser) errorf(pos int, format string, args ...any) *SyntaxError {
	return &SyntaxError{Pos: pos, Field: p.field, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) eof() bool { return p.pos >= len(p.src) }

func (p *parser) skipSpace() {
	for p.pos < len(p.src) && isSpace(p.src[p.pos]) {
		p.pos++
	}
}

// typed quotes the input from start to the current position, shortened, so
// messages show what the user wrote rather than its canonical form.
func (p *parser) typed(start int) string {
	return strconv.Quote(shorten(p.src[start:p.pos]))
}

// after returns " after X", X being the last complete element, for
// "expected A after X" messages; at the start of the filter it returns "".
func (p *parser) after() string {
	if p.last == "" {
		return ""
	}
	return " after " + p.last
}

// parseOr parses: or = and { "OR" and }.
func (p *parser) parseOr() (Expr, error) {
	first, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	terms := appendFlat(nil, first, isOr)
	for {
		p.skipSpace()
		if !p.acceptKeyword("OR") {
			break
		}
		p.last = "OR"
		next, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		terms = appendFlat(terms, next, isOr)
	}
	if len(terms) == 1 {
		return terms[0], nil
	}
	return &Or{Terms: terms}, nil
}

// parseAnd parses: and = term { "AND" term }.
func (p *parser) parseAnd() (Expr, error) {
	first, err := p.parseTerm()
	if err != nil {
		return nil, err
	}
	terms := appendFlat(nil, first, isAnd)
	for {
		p.skipSpace()
		if !p.acceptKeyword("AND") {
			break
		}
		p.last = "AND"
		next, err := p.parseTerm()
		if err != nil {
			return nil, err
		}
		terms = appendFlat(terms, next, isAnd)
	}
	if len(terms) == 1 {
		return terms[0], nil
	}
	return &And{Terms: terms}, nil
}

func isOr(e Expr) []Expr {
	if o, ok := e.(*Or); ok {
		return o.Terms
	}
	return nil
}

func isAnd(e Expr) []Expr {
	if a, ok := e.(*And); ok {
		return a.Terms
	}
	return nil
}

// appendFlat appends e to terms, or e's own terms when e is the same kind of
// node, so `a AND (b AND c)` parses to the same AST as `a AND b AND c`.
func appendFlat(terms []Expr, e Expr, same func(Expr) []Expr) []Expr {
	if inner := same(e); inner != nil {
		return append(terms, inner...)
	}
	return append(terms, e)
}

// parseTerm parses: term = "(" or ")" | comparison.
func (p *parser) parseTerm() (Expr, error) {
	p.skipSpace()
	if p.eof() || p.src[p.pos] != '(' {
		return p.parseComparison()
	}
	open := p.pos
	p.depth++
	if p.depth > MaxDepth {
		return nil, p.errorf(open, "parentheses are nested more than %d deep (MaxDepth)", MaxDepth)
	}
	p.pos++
	p.skipSpace()
	if !p.eof() && p.src[p.pos] == ')' {
		return nil, p.errorf(p.pos, "empty parentheses: expected a comparison after '('")
	}
	p.last = "'('"
	e, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.eof() {
		return nil, p.errorf(p.pos, "unbalanced parentheses: missing ')' to close the '(' at position %d", open)
	}
	if p.src[p.pos] != ')' {
		return nil, p.errorf(p.pos, "expected AND, OR or ')'%s, found %s", p.after(), p.describe(p.pos))
	}
	p.pos++
	p.depth--
	p.last = "')'"
	return e, nil
}

// parseComparison parses: comparison = field operator [ value ].
func (p *parser) parseComparison() (*Comparison, error) {
	p.skipSpace()
	start := p.pos
	p.field = ""
	p.comparisons++
	if p.comparisons > MaxComparisons {
		return nil, p.errorf(start, "more than %d comparisons (MaxComparisons)", MaxComparisons)
	}
	c := &Comparison{Pos: start}
	if err := p.parseField(c); err != nil {
		return nil, err
	}
	p.field = c.Field()
	p.last = p.typed(start)
	if err := p.parseOperator(c); err != nil {
		return nil, err
	}
	if err := p.parseValue(c); err != nil {
		return nil, err
	}
	p.field = ""
	p.last = p.typed(start)
	return c, nil
}

// parseField parses the left-hand side: prefix "." key, or a bare attribute
// name, which MLflow also accepts (`status = 'FAILED'`).
func (p *parser) parseField(c *Comparison) error {
	start := p.pos
	if p.eof() {
		return p.errorf(p.pos, "expected a comparison%s, found the end of the filter", p.after())
	}
	var (
		name   string
		quoted bool
	)
	switch ch := p.src[p.pos]; {
	case isQuote(ch):
		s, err := p.readQuoted("name")
		if err != nil {
			return err
		}
		name, quoted = s, true
	case isWordByte(ch):
		name = p.readWord()
		switch strings.ToUpper(name) {
		case "AND", "OR":
			return p.errorf(start, "expected a comparison%s, found the keyword %s", p.after(), strings.ToUpper(name))
		case "NOT":
			return p.errorf(start, "NOT is only supported in NOT IN and IS NOT NULL, not in front of a comparison")
		}
	default:
		return p.errorf(start, "expected a comparison such as metrics.auc > 0.9%s, found %s", p.after(), p.describe(start))
	}

	if p.eof() || p.src[p.pos] != '.' {
		// No dot: a bare attribute.
		key, ok := lookupAttribute(name)
		if !ok {
			if _, isPrefix := lookupPrefix(name); isPrefix {
				return p.errorf(p.pos, "expected '.' right after the prefix %q, found %s", name, p.describe(p.pos))
			}
			if quoted {
				return p.errorf(start, "unknown attribute %q (want %s)", shorten(name), attributeList)
			}
			return p.errorf(start, "expected <prefix>.<key> such as metrics.%s, found %q, which is neither a prefix followed by '.' nor an attribute (%s)",
				shorten(name), shorten(name), attributeList)
		}
		c.Prefix, c.Key = PrefixAttributes, key
		return nil
	}

	prefix, ok := lookupPrefix(name)
	if !ok {
		return p.errorf(start, "unknown entity prefix %q (want metrics, params, tags, attributes or datasets)", shorten(name))
	}
	p.pos++ // the dot
	keyStart := p.pos
	var key string
	switch {
	case p.eof():
		return p.errorf(p.pos, "expected a key after %q, found the end of the filter", name+".")
	case isQuote(p.src[p.pos]):
		s, err := p.readQuoted("key")
		if err != nil {
			return err
		}
		if s == "" {
			return p.errorf(keyStart, "empty key after %q", name+".")
		}
		key = s
	case isKeyStart(p.src[p.pos]):
		for p.pos < len(p.src) && isKeyByte(p.src[p.pos]) {
			p.pos++
		}
		key = p.src[keyStart:p.pos]
	default:
		return p.errorf(p.pos, "expected a key after %q, found %s (quote keys that have special characters with ` or \")",
			name+".", p.describe(p.pos))
	}

	c.Prefix, c.Key = prefix, key
	switch prefix {
	case PrefixAttributes:
		canonical, ok := lookupAttribute(key)
		if !ok {
			return p.errorf(keyStart, "unknown attribute %q (want %s)", shorten(key), attributeList)
		}
		c.Key = canonical
	case PrefixDatasets:
		lower := strings.ToLower(key)
		if !datasetKeys[lower] {
			return p.errorf(keyStart, "unknown dataset key %q (want name, digest or context)", shorten(key))
		}
		c.Key = lower
	}
	return nil
}

// parseOperator parses the operator and checks the field allows it.
func (p *parser) parseOperator(c *Comparison) error {
	p.skipSpace()
	at := p.pos
	op, err := p.readOperator()
	if err != nil {
		return err
	}
	ops, _, what := rulesFor(c.Prefix, c.Key)
	for _, allowed := range ops {
		if op == allowed {
			c.Op = op
			return nil
		}
	}
	if c.Prefix == PrefixAttributes && (op == OpIn || op == OpNotIn) && !isNumericAttribute(c.Key) {
		return p.errorf(at, "operator %s is only allowed on attributes.run_id, not on %s", op, shorten(c.Field()))
	}
	return p.errorf(at, "operator %s is not allowed on %s (allowed: %s)", op, what, opsList(ops))
}

// readOperator reads one operator, multi-word ones included.
func (p *parser) readOperator() (Op, error) {
	at := p.pos
	if p.eof() {
		return "", p.errorf(at, "expected a comparison operator%s, found the end of the filter", p.after())
	}
	next := byte(0)
	if at+1 < len(p.src) {
		next = p.src[at+1]
	}
	switch p.src[at] {
	case '=':
		if next == '=' {
			return "", p.errorf(at, `"==" is not an operator; use "="`)
		}
		p.pos++
		return OpEq, nil
	case '!':
		if next == '=' {
			p.pos += 2
			return OpNe, nil
		}
	case '<':
		switch next {
		case '=':
			p.pos += 2
			return OpLe, nil
		case '>':
			return "", p.errorf(at, `"<>" is not an operator; use "!="`)
		}
		p.pos++
		return OpLt, nil
	case '>':
		if next == '=' {
			p.pos += 2
			return OpGe, nil
		}
		p.pos++
		return OpGt, nil
	}
	if isWordByte(p.src[at]) {
		switch word := p.peekWord(); strings.ToUpper(word) {
		case "LIKE":
			p.pos += len(word)
			return OpLike, nil
		case "ILIKE":
			p.pos += len(word)
			return OpILike, nil
		case "IN":
			p.pos += len(word)
			return OpIn, nil
		case "NOT":
			p.pos += len(word)
			p.skipSpace()
			if w := p.peekWord(); strings.EqualFold(w, "IN") {
				p.pos += len(w)
				return OpNotIn, nil
			}
			return "", p.errorf(p.pos, "expected IN after NOT (NOT IN is the only negated operator), found %s", p.describe(p.pos))
		case "IS":
			p.pos += len(word)
			p.skipSpace()
			w := p.peekWord()
			if strings.EqualFold(w, "NULL") {
				p.pos += len(w)
				return OpIsNull, nil
			}
			if strings.EqualFold(w, "NOT") {
				p.pos += len(w)
				p.skipSpace()
				if w := p.peekWord(); strings.EqualFold(w, "NULL") {
					p.pos += len(w)
					return OpIsNotNull, nil
				}
				return "", p.errorf(p.pos, "expected NULL after IS NOT, found %s", p.describe(p.pos))
			}
			return "", p.errorf(p.pos, "expected NULL or NOT NULL after IS, found %s", p.describe(p.pos))
		}
	}
	return "", p.errorf(at, "expected a comparison operator%s, found %s", p.after(), p.describe(at))
}

// parseValue parses the right-hand side the operator and field call for.
func (p *parser) parseValue(c *Comparison) error {
	switch c.Op {
	case OpIsNull, OpIsNotNull:
		return nil
	case OpIn, OpNotIn:
		list, err := p.readList(c)
		if err != nil {
			return err
		}
		c.List = list
		return nil
	}
	p.skipSpace()
	at := p.pos
	_, kind, _ := rulesFor(c.Prefix, c.Key)
	if kind == valueString {
		s, err := p.readString(c)
		if err != nil {
			return err
		}
		c.Text = &s
		return nil
	}
	if p.eof() || !startsNumber(p.src, at) {
		return p.errorf(at, "%s needs a number, found %s", shorten(c.Field()), p.describe(at))
	}
	v, err := p.readNumber()
	if err != nil {
		return err
	}
	if kind == valueInteger && (v != math.Trunc(v) || math.Abs(v) > 1<<53) {
		return p.errorf(at, "%s needs a whole number of milliseconds since the Unix epoch, found %s",
			shorten(c.Field()), shorten(p.src[at:p.pos]))
	}
	c.Number = &v
	return nil
}

// readString reads a single string value, quoted with ' or ".
func (p *parser) readString(c *Comparison) (string, error) {
	at := p.pos
	if p.eof() {
		return "", p.errorf(at, "%s needs a quoted string, found the end of the filter", shorten(c.Field()))
	}
	switch ch := p.src[at]; {
	case ch == '\'' || ch == '"':
		return p.readQuoted("string")
	case ch == '`':
		return "", p.errorf(at, "backticks quote keys, not values: quote the value of %s with ' or \"", shorten(c.Field()))
	case ch == '(':
		return "", p.errorf(at, "a list of values needs IN or NOT IN, not %s", c.Op)
	default:
		return "", p.errorf(at, "%s needs a quoted string, found %s", shorten(c.Field()), p.describe(at))
	}
}

// readList reads: list = "(" string { "," string } ")".
func (p *parser) readList(c *Comparison) ([]string, error) {
	p.skipSpace()
	if p.eof() || p.src[p.pos] != '(' {
		return nil, p.errorf(p.pos, "%s needs a parenthesized list of quoted strings such as ('a', 'b'), found %s",
			c.Op, p.describe(p.pos))
	}
	open := p.pos
	p.pos++
	var list []string
	for {
		p.skipSpace()
		if p.eof() {
			return nil, p.errorf(p.pos, "unbalanced parentheses: missing ')' to close the list at position %d", open)
		}
		if len(list) == 0 && p.src[p.pos] == ')' {
			return nil, p.errorf(p.pos, "empty %s list: expected at least one quoted string", c.Op)
		}
		if len(list) == MaxInListLength {
			return nil, p.errorf(p.pos, "%s list has more than %d values (MaxInListLength)", c.Op, MaxInListLength)
		}
		if ch := p.src[p.pos]; ch != '\'' && ch != '"' {
			return nil, p.errorf(p.pos, "%s lists hold quoted strings, found %s", c.Op, p.describe(p.pos))
		}
		s, err := p.readQuoted("string")
		if err != nil {
			return nil, err
		}
		list = append(list, s)
		p.skipSpace()
		if p.eof() {
			return nil, p.errorf(p.pos, "unbalanced parentheses: missing ')' to close the list at position %d", open)
		}
		switch p.src[p.pos] {
		case ',':
			p.pos++
		case ')':
			p.pos++
			return list, nil
		default:
			return nil, p.errorf(p.pos, "expected ',' or ')' in the %s list, found %s", c.Op, p.describe(p.pos))
		}
	}
}

// readQuoted reads a string quoted with the quote character at p.pos (', "
// or `) and returns it unescaped. Inside, a backslash escapes the quote
// character or another backslash, and a doubled quote character stands for
// one; any other backslash is kept as it is, so LIKE patterns such as 'a\_b'
// reach the compiler unchanged. what names the thing for the error message.
func (p *parser) readQuoted(what string) (string, error) {
	start := p.pos
	q := p.src[start]
	p.pos++
	var b strings.Builder
	for p.pos < len(p.src) {
		ch := p.src[p.pos]
		switch {
		case ch == '\\' && p.pos+1 < len(p.src) && (p.src[p.pos+1] == q || p.src[p.pos+1] == '\\'):
			b.WriteByte(p.src[p.pos+1])
			p.pos += 2
		case ch == q && p.pos+1 < len(p.src) && p.src[p.pos+1] == q:
			b.WriteByte(q)
			p.pos += 2
		case ch == q:
			p.pos++
			return b.String(), nil
		default:
			b.WriteByte(ch)
			p.pos++
		}
	}
	return "", p.errorf(start, "unterminated quoted %s: no closing %c for the %c at position %d", what, q, q, start)
}

// readNumber reads a number: optional sign, digits with an optional
// fraction (or a fraction alone), optional exponent. The caller has checked
// startsNumber.
func (p *parser) readNumber() (float64, error) {
	start := p.pos
	end := scanNumber(p.src, start)
	if end < 0 || (end < len(p.src) && (isWordByte(p.src[end]) || p.src[end] == '.')) {
		return 0, p.errorf(start, "malformed number %s", numberToken(p.src, start))
	}
	text := p.src[start:end]
	v, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, p.errorf(start, "number %s is out of range", text)
	}
	p.pos = end
	return v, nil
}

// scanNumber returns the end of the number starting at i, or -1 when the
// text there is not a well-formed number.
func scanNumber(s string, i int) int {
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := 0
	for i < len(s) && isDigit(s[i]) {
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && isDigit(s[i]) {
			i++
			digits++
		}
	}
	if digits == 0 {
		return -1
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		expStart := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		if i == expStart {
			return -1
		}
	}
	return i
}

// numberToken returns the number-like text at pos, shortened, for messages.
func numberToken(s string, pos int) string {
	end := pos + 1
	for end < len(s) && (isWordByte(s[end]) || strings.IndexByte("+-.", s[end]) >= 0) {
		end++
	}
	return shorten(s[pos:end])
}

// startsNumber reports whether a number (possibly malformed) starts at i.
func startsNumber(s string, i int) bool {
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	if i < len(s) && s[i] == '.' {
		i++
	}
	return i < len(s) && isDigit(s[i])
}

// acceptKeyword consumes kw (case-insensitively) if it is the next word.
func (p *parser) acceptKeyword(kw string) bool {
	if w := p.peekWord(); strings.EqualFold(w, kw) {
		p.pos += len(w)
		return true
	}
	return false
}

// peekWord returns the run of word bytes at p.pos without consuming it.
func (p *parser) peekWord() string {
	end := p.pos
	for end < len(p.src) && isWordByte(p.src[end]) {
		end++
	}
	return p.src[p.pos:end]
}

// readWord consumes and returns the run of word bytes at p.pos.
func (p *parser) readWord() string {
	w := p.peekWord()
	p.pos += len(w)
	return w
}

// describe names what is at pos for a "found X" message: a word, number or
// quoted string as typed (shortened), a single character, or the end.
func (p *parser) describe(pos int) string {
	if pos >= len(p.src) {
		return "the end of the filter"
	}
	s := p.src
	switch ch := s[pos]; {
	case startsNumber(s, pos):
		return "number " + numberToken(s, pos)
	case isWordByte(ch):
		end := pos
		for end < len(s) && isWordByte(s[end]) {
			end++
		}
		return strconv.Quote(shorten(s[pos:end]))
	case isQuote(ch):
		end := pos + 1
		for end < len(s) {
			if s[end] == '\\' && end+1 < len(s) {
				end += 2
				continue
			}
			if s[end] == ch {
				end++
				break
			}
			end++
		}
		return "string " + shorten(s[pos:end])
	default:
		r, _ := utf8.DecodeRuneInString(s[pos:])
		return strconv.Quote(string(r))
	}
}

// shorten cuts s to at most 40 bytes, on a rune boundary, marking the cut.
func shorten(s string) string {
	const limit = 40
	if len(s) <= limit {
		return s
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func firstInvalidUTF8(s string) int {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return len(s)
}

func isSpace(ch byte) bool {
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v'
}

func isDigit(ch byte) bool { return '0' <= ch && ch <= '9' }

func isLetter(ch byte) bool { return 'a' <= ch|0x20 && ch|0x20 <= 'z' }

// isWordByte reports whether ch can be part of a keyword, prefix or bare attribute.
func isWordByte(ch byte) bool { return isLetter(ch) || isDigit(ch) || ch == '_' }

// isKeyStart reports whether an unquoted key may start with ch.
func isKeyStart(ch byte) bool { return isWordByte(ch) }

// isKeyByte reports whether ch can be part of an unquoted key: besides word
// bytes, the '.', '-' and '/' that metric and tag names often contain
// (tags.mlflow.source.name, metrics.val-loss, params.optimizer/lr).
func isKeyByte(ch byte) bool { return isWordByte(ch) || ch == '.' || ch == '-' || ch == '/' }

func isQuote(ch byte) bool { return ch == '\'' || ch == '"' || ch == '`' }
