package runfilter

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// OrderBy is one sort key of search_runs' order_by: a field and a direction, such as
// `metrics.auc DESC` or `attributes.start_time` (ascending unless DESC is given, as in
// MLflow). Fields use the prefixes, aliases and quoting of filters; datasets cannot be
// sorted on.
type OrderBy struct {
	Prefix Prefix
	Key    string
	Desc   bool
}

// MaxOrderByLength bounds one order_by clause.
const MaxOrderByLength = 1000

// ParseOrderBy parses one order_by clause. Errors are *SyntaxError with the position
// in the clause.
func ParseOrderBy(clause string) (OrderBy, error) {
	if len(clause) > MaxOrderByLength {
		return OrderBy{}, &SyntaxError{Pos: MaxOrderByLength, Msg: fmt.Sprintf(
			"order_by clause is %d bytes long; the limit is %d bytes", len(clause), MaxOrderByLength)}
	}
	if !utf8.ValidString(clause) {
		return OrderBy{}, &SyntaxError{Pos: firstInvalidUTF8(clause), Msg: "order_by clause is not valid UTF-8"}
	}
	p := &parser{src: clause}
	p.skipSpace()
	var c Comparison
	if err := p.parseField(&c); err != nil {
		return OrderBy{}, err
	}
	if c.Prefix == PrefixDatasets {
		return OrderBy{}, p.errorf(0, "cannot order by datasets fields")
	}
	ob := OrderBy{Prefix: c.Prefix, Key: c.Key}
	p.skipSpace()
	if !p.eof() {
		start := p.pos
		switch strings.ToUpper(p.readWord()) {
		case "ASC":
		case "DESC":
			ob.Desc = true
		default:
			return OrderBy{}, p.errorf(start, "expected ASC, DESC or the end of the clause, found %s", p.describe(start))
		}
		p.skipSpace()
		if !p.eof() {
			return OrderBy{}, p.errorf(p.pos, "expected the end of the clause, found %s", p.describe(p.pos))
		}
	}
	return ob, nil
}
