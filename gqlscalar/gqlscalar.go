// Package gqlscalar holds the GraphQL scalars whose wire form is provgraph's own, kept
// apart from the generated code in graph/.
package gqlscalar

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"

	"github.com/99designs/gqlgen/graphql"
)

// The strings that stand for the floating-point values JSON numbers cannot hold.
const (
	NaN    = "NaN"
	PosInf = "Infinity"
	NegInf = "-Infinity"
)

// MarshalMetricValue writes a metric value: a JSON number, or "NaN", "Infinity" or
// "-Infinity" (the spellings MLflow clients and JavaScript use), so that values are
// returned exactly as logged.
func MarshalMetricValue(f float64) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) {
		switch {
		case math.IsNaN(f):
			_, _ = io.WriteString(w, strconv.Quote(NaN))
		case math.IsInf(f, 1):
			_, _ = io.WriteString(w, strconv.Quote(PosInf))
		case math.IsInf(f, -1):
			_, _ = io.WriteString(w, strconv.Quote(NegInf))
		default:
			_, _ = io.WriteString(w, strconv.FormatFloat(f, 'g', -1, 64))
		}
	})
}

// UnmarshalMetricValue reads a metric value: a number, or one of the three strings.
func UnmarshalMetricValue(v any) (float64, error) {
	switch x := v.(type) {
	case string:
		switch x {
		case NaN:
			return math.NaN(), nil
		case PosInf:
			return math.Inf(1), nil
		case NegInf:
			return math.Inf(-1), nil
		}
		return 0, fmt.Errorf("a metric value is a number or one of %q, %q, %q (got %q)", NaN, PosInf, NegInf, x)
	case json.Number:
		return x.Float64()
	case int:
		return float64(x), nil
	case int64:
		return float64(x), nil
	case float64:
		return x, nil
	}
	return 0, fmt.Errorf("a metric value is a number or one of %q, %q, %q (got %T)", NaN, PosInf, NegInf, v)
}
