package runfilter

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// fuzzSeeds are the starting points for FuzzParse; the same inputs are
// committed under testdata/fuzz/FuzzParse so `go test` alone replays them.
var fuzzSeeds = []string{
	"",
	"metrics.auc > 0.9",
	"metric.`f1 score` >= -1.5e-3 AND params.lr = '0.01'",
	`params."model-type" != "it\"s" OR tags.'a b' LIKE 'x\_%'`,
	"tags.mlflow.source.name ILIKE '%train%' and tags.env IS NOT NULL",
	"attributes.run_id NOT IN ('a', \"b\", 'c''d')",
	"run.created > 1670628787527 OR attr.`Run Name` = 'x'",
	"status = 'FAILED' AND (datasets.name IN ('mnist') OR dataset.context = 'eval')",
	"((metrics.a<1)AND(metrics.b>.5))or tags.x is null",
	"metrics.a > 1 metrics.b",
	"metric_x.auc ~ 'x'",
	"(metrics.a > 1",
	"run_id IN ('a',)",
	"tags.t = 'unterminated",
	"attributes.start_time > 1.5",
	"NOT metrics.a > 1",
	"tags.`a\\`b` = 'C:\\\\x' AND params.p = \"\"",
}

// FuzzParse checks that Parse never panics, that every error is a
// *SyntaxError whose position lies within the input and appears in the
// message, and that every success prints to a canonical form that parses back
// to the same AST and prints identically again.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, input string) {
		e, err := Parse(input)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) error %v is a %T, not a *SyntaxError", input, err, err)
			}
			if se.Pos < 0 || se.Pos > len(input) {
				t.Fatalf("Parse(%q) error position %d outside [0, %d]: %v", input, se.Pos, len(input), err)
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("position %d:", se.Pos)) {
				t.Fatalf("Parse(%q) error %q does not name its position %d", input, err, se.Pos)
			}
			if e != nil {
				t.Fatalf("Parse(%q) returned both an AST and an error", input)
			}
			return
		}
		if e == nil {
			if strings.TrimLeft(input, " \t\r\n\f\v") != "" {
				t.Fatalf("Parse(%q) returned no AST and no error for a non-blank filter", input)
			}
			return
		}
		canonical := Format(e)
		again, err := Parse(canonical)
		if err != nil {
			// The canonical form can outgrow the length limit; nothing else may fail.
			var se *SyntaxError
			if len(canonical) > MaxFilterLength && errors.As(err, &se) && strings.Contains(se.Msg, "MaxFilterLength") {
				return
			}
			t.Fatalf("Parse(%q) ok, but its canonical form %q fails: %v", input, canonical, err)
		}
		if !reflect.DeepEqual(stripPositions(e), stripPositions(again)) {
			t.Fatalf("Parse(%q) and Parse(%q) differ:\n%#v\n%#v", input, canonical, e, again)
		}
		if again := Format(again); again != canonical {
			t.Fatalf("canonical form not stable: %q, then %q", canonical, again)
		}
	})
}
