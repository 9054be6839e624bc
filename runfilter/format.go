package runfilter

import (
	"math"
	"strconv"
	"strings"
)

// Format prints an expression in canonical form: canonical prefixes and
// attribute names, upper-case keywords, single spaces, keys bare when MLflow
// would accept them bare and backtick-quoted otherwise, string values in single quotes with ' and
// \ escaped by a backslash, numbers in Go's shortest 'g' form, and
// parentheses only where OR sits inside AND. For any AST Parse returns,
// Parse(Format(e)) returns the same AST (positions aside), which makes the
// canonical form fit for logs, cache keys and tests. It can be longer than
// the filter it came from (longer prefixes, escapes), so near MaxFilterLength
// it may no longer parse. Format(nil) is "", the filter that matches every run.
func Format(e Expr) string {
	var b strings.Builder
	writeExpr(&b, e)
	return b.String()
}

func writeExpr(b *strings.Builder, e Expr) {
	switch e := e.(type) {
	case *And:
		if e == nil {
			return
		}
		for i, t := range e.Terms {
			if i > 0 {
				b.WriteString(" AND ")
			}
			// An Or term needs parentheses to stay an Or; an And term (which
			// Parse never produces) keeps its grouping visible.
			_, isComparison := t.(*Comparison)
			writeGrouped(b, t, !isComparison)
		}
	case *Or:
		if e == nil {
			return
		}
		for i, t := range e.Terms {
			if i > 0 {
				b.WriteString(" OR ")
			}
			_, isOr := t.(*Or)
			writeGrouped(b, t, isOr)
		}
	case *Comparison:
		writeComparison(b, e)
	}
}

func writeGrouped(b *strings.Builder, e Expr, paren bool) {
	if paren {
		b.WriteByte('(')
	}
	writeExpr(b, e)
	if paren {
		b.WriteByte(')')
	}
}

func writeComparison(b *strings.Builder, c *Comparison) {
	if c == nil {
		return
	}
	b.WriteString(c.Field())
	b.WriteByte(' ')
	b.WriteString(string(c.Op))
	switch {
	case c.Op == OpIsNull || c.Op == OpIsNotNull:
	case c.Op == OpIn || c.Op == OpNotIn:
		b.WriteString(" (")
		for i, s := range c.List {
			if i > 0 {
				b.WriteString(", ")
			}
			writeQuoted(b, s, '\'')
		}
		b.WriteByte(')')
	case c.Number != nil:
		b.WriteByte(' ')
		b.WriteString(formatNumber(*c.Number))
	case c.Text != nil:
		b.WriteByte(' ')
		writeQuoted(b, *c.Text, '\'')
	}
}

// formatNumber writes whole numbers below 1e21 in plain digits, so
// timestamps read as 1670628787527 rather than 1.670628787527e+12, and
// everything else in Go's shortest 'g' form; both parse back exactly.
func formatNumber(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e21 {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// formatKey returns key bare when MLflow's tokenizer would also read it
// whole (dot-separated runs of letters, digits and '_', not starting with a
// digit), so canonical filters stay valid MLflow filters, and quoted in
// backticks otherwise.
func formatKey(key string) string {
	if isPlainKey(key) {
		return key
	}
	var b strings.Builder
	writeQuoted(&b, key, '`')
	return b.String()
}

// isPlainKey reports whether key matches [A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*.
func isPlainKey(key string) bool {
	if key == "" || isDigit(key[0]) {
		return false
	}
	for _, part := range strings.Split(key, ".") {
		if part == "" {
			return false
		}
		for i := 0; i < len(part); i++ {
			if !isWordByte(part[i]) {
				return false
			}
		}
	}
	return true
}

// writeQuoted writes s between q quotes, escaping q and backslashes with a backslash.
func writeQuoted(b *strings.Builder, s string, q byte) {
	b.WriteByte(q)
	for i := 0; i < len(s); i++ {
		if s[i] == q || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte(q)
}
