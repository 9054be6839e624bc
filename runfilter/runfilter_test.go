package runfilter

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Helpers that build the comparisons the tables expect. Positions are left at
// zero: the tables compare ASTs with positions stripped, and TestPositions
// checks positions on their own.

func num(p Prefix, key string, op Op, v float64) *Comparison {
	return &Comparison{Prefix: p, Key: key, Op: op, Number: &v}
}

func str(p Prefix, key string, op Op, s string) *Comparison {
	return &Comparison{Prefix: p, Key: key, Op: op, Text: &s}
}

func list(p Prefix, key string, op Op, items ...string) *Comparison {
	return &Comparison{Prefix: p, Key: key, Op: op, List: items}
}

func null(p Prefix, key string, op Op) *Comparison {
	return &Comparison{Prefix: p, Key: key, Op: op}
}

func and(terms ...Expr) *And { return &And{Terms: terms} }
func or(terms ...Expr) *Or   { return &Or{Terms: terms} }

// stripPositions returns a copy of e with every Comparison.Pos set to zero,
// so ASTs parsed from differently spaced text compare equal.
func stripPositions(e Expr) Expr {
	switch e := e.(type) {
	case *And:
		out := &And{}
		for _, t := range e.Terms {
			out.Terms = append(out.Terms, stripPositions(t))
		}
		return out
	case *Or:
		out := &Or{}
		for _, t := range e.Terms {
			out.Terms = append(out.Terms, stripPositions(t))
		}
		return out
	case *Comparison:
		c := *e
		c.Pos = 0
		return &c
	}
	return e
}

func TestParseValid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		input string
		want  Expr
	}{
		// Empty filters match everything.
		{"empty", "", nil},
		{"only whitespace", " \t\r\n", nil},

		// Every prefix alias, case-insensitively.
		{"metrics", "metrics.auc > 0.9", num(PrefixMetrics, "auc", OpGt, 0.9)},
		{"metric", "metric.auc > 0.9", num(PrefixMetrics, "auc", OpGt, 0.9)},
		{"METRICS upper-case", "METRICS.auc > 0.9", num(PrefixMetrics, "auc", OpGt, 0.9)},
		{"params", "params.lr = '0.01'", str(PrefixParams, "lr", OpEq, "0.01")},
		{"param", "param.lr = '0.01'", str(PrefixParams, "lr", OpEq, "0.01")},
		{"parameter", "parameter.lr = '0.01'", str(PrefixParams, "lr", OpEq, "0.01")},
		{"parameters", "Parameters.lr = '0.01'", str(PrefixParams, "lr", OpEq, "0.01")},
		{"tags", "tags.team = 'ml'", str(PrefixTags, "team", OpEq, "ml")},
		{"tag", "tag.team = 'ml'", str(PrefixTags, "team", OpEq, "ml")},
		{"attributes", "attributes.status = 'FAILED'", str(PrefixAttributes, AttrStatus, OpEq, "FAILED")},
		{"attribute", "attribute.status = 'FAILED'", str(PrefixAttributes, AttrStatus, OpEq, "FAILED")},
		{"attr", "attr.status = 'FAILED'", str(PrefixAttributes, AttrStatus, OpEq, "FAILED")},
		{"run", "run.status = 'FAILED'", str(PrefixAttributes, AttrStatus, OpEq, "FAILED")},
		{"datasets", "datasets.name = 'mnist'", str(PrefixDatasets, DatasetName, OpEq, "mnist")},
		{"dataset", "dataset.digest = 'abc'", str(PrefixDatasets, DatasetDigest, OpEq, "abc")},
		{"dataset context", "dataset.context = 'training'", str(PrefixDatasets, DatasetContext, OpEq, "training")},
		{"dataset key upper-case", "datasets.NAME = 'x'", str(PrefixDatasets, DatasetName, OpEq, "x")},
		{"backticked prefix", "`metrics`.auc > 1", num(PrefixMetrics, "auc", OpGt, 1)},

		// Every attribute and alias.
		{"run_id", "attributes.run_id = 'abc'", str(PrefixAttributes, AttrRunID, OpEq, "abc")},
		{"run_name", "attributes.run_name = 'x'", str(PrefixAttributes, AttrRunName, OpEq, "x")},
		{"run name alias", "attributes.`run name` = 'x'", str(PrefixAttributes, AttrRunName, OpEq, "x")},
		{"Run name alias", `attributes."Run name" = 'x'`, str(PrefixAttributes, AttrRunName, OpEq, "x")},
		{"Run Name alias", "attributes.`Run Name` ILIKE '%a%'", str(PrefixAttributes, AttrRunName, OpILike, "%a%")},
		{"start_time", "attributes.start_time >= 1670628787527", num(PrefixAttributes, AttrStartTime, OpGe, 1670628787527)},
		{"created alias", "attributes.created > 1670628787527", num(PrefixAttributes, AttrStartTime, OpGt, 1670628787527)},
		{"Created alias", "attributes.Created < 5", num(PrefixAttributes, AttrStartTime, OpLt, 5)},
		{"end_time", "attributes.end_time <= 1e12", num(PrefixAttributes, AttrEndTime, OpLe, 1e12)},
		{"artifact_uri", "attributes.artifact_uri LIKE 's3://%'", str(PrefixAttributes, AttrArtifactURI, OpLike, "s3://%")},
		{"user_id", "attributes.user_id != 'bob'", str(PrefixAttributes, AttrUserID, OpNe, "bob")},
		{"attribute key case-insensitive", "attributes.STATUS = 'x'", str(PrefixAttributes, AttrStatus, OpEq, "x")},
		{"bare attribute", "status = 'FAILED'", str(PrefixAttributes, AttrStatus, OpEq, "FAILED")},
		{"bare attribute alias", "created > 0", num(PrefixAttributes, AttrStartTime, OpGt, 0)},
		{"bare quoted attribute", "`Run Name` = 'a'", str(PrefixAttributes, AttrRunName, OpEq, "a")},
		{"bare run_id IN", "run_id IN ('a')", list(PrefixAttributes, AttrRunID, OpIn, "a")},

		// Every operator.
		{"=", "metrics.m = 1", num(PrefixMetrics, "m", OpEq, 1)},
		{"!=", "metrics.m != 1", num(PrefixMetrics, "m", OpNe, 1)},
		{"<", "metrics.m < 1", num(PrefixMetrics, "m", OpLt, 1)},
		{"<=", "metrics.m <= 1", num(PrefixMetrics, "m", OpLe, 1)},
		{">", "metrics.m > 1", num(PrefixMetrics, "m", OpGt, 1)},
		{">=", "metrics.m >= 1", num(PrefixMetrics, "m", OpGe, 1)},
		{"no spaces", "metrics.m>=1", num(PrefixMetrics, "m", OpGe, 1)},
		{"LIKE", "tags.t LIKE 'a%'", str(PrefixTags, "t", OpLike, "a%")},
		{"ILIKE", "params.p ILIKE '%A'", str(PrefixParams, "p", OpILike, "%A")},
		{"like lower-case", "tags.t like 'a%'", str(PrefixTags, "t", OpLike, "a%")},
		{"IN", "attributes.run_id IN ('a','b')", list(PrefixAttributes, AttrRunID, OpIn, "a", "b")},
		{"NOT IN", "attributes.run_id NOT IN ('a', \"b\")", list(PrefixAttributes, AttrRunID, OpNotIn, "a", "b")},
		{"not in lower-case", "run.run_id not  in('a')", list(PrefixAttributes, AttrRunID, OpNotIn, "a")},
		{"IN on tags", "tags.env IN ('dev', 'prod')", list(PrefixTags, "env", OpIn, "dev", "prod")},
		{"IN on params", "params.opt NOT IN ('sgd')", list(PrefixParams, "opt", OpNotIn, "sgd")},
		{"IN on datasets", "datasets.context IN ('train', 'eval')", list(PrefixDatasets, DatasetContext, OpIn, "train", "eval")},
		{"IN list with spaces", "run_id IN (  'a' ,\n'b'  )", list(PrefixAttributes, AttrRunID, OpIn, "a", "b")},
		{"IS NULL", "tags.env IS NULL", null(PrefixTags, "env", OpIsNull)},
		{"IS NOT NULL", "params.lr IS NOT NULL", null(PrefixParams, "lr", OpIsNotNull)},
		{"is not null lower-case", "params.lr is\tnot\nnull", null(PrefixParams, "lr", OpIsNotNull)},
		{"dataset LIKE", "datasets.name LIKE 'mn%'", str(PrefixDatasets, DatasetName, OpLike, "mn%")},

		// Keys: bare, backticks, double quotes, single quotes.
		{"dotted bare key", "tags.mlflow.source.name = 'x'", str(PrefixTags, "mlflow.source.name", OpEq, "x")},
		{"bare key with - and /", "metrics.val-loss/epoch_1 < 2", num(PrefixMetrics, "val-loss/epoch_1", OpLt, 2)},
		{"bare key starting with a digit", "metrics.2019_error < 2", num(PrefixMetrics, "2019_error", OpLt, 2)},
		{"backticked key", "metrics.`f1 score` > 0.5", num(PrefixMetrics, "f1 score", OpGt, 0.5)},
		{"double-quoted key", `params."model-type" = 'x'`, str(PrefixParams, "model-type", OpEq, "x")},
		{"single-quoted key", `params.'model type' = 'x'`, str(PrefixParams, "model type", OpEq, "x")},
		{"key with leading number", `metrics."2019-04-02 error rate" < 1`, num(PrefixMetrics, "2019-04-02 error rate", OpLt, 1)},
		{"escaped backtick in key", "tags.`a\\`b` = 'x'", str(PrefixTags, "a`b", OpEq, "x")},
		{"doubled backtick in key", "tags.`a``b` = 'x'", str(PrefixTags, "a`b", OpEq, "x")},
		{"unicode key", "tags.`modèle` = 'x'", str(PrefixTags, "modèle", OpEq, "x")},

		// String values: both quote styles, escapes.
		{"single-quoted value", "tags.t = 'a b'", str(PrefixTags, "t", OpEq, "a b")},
		{"double-quoted value", `tags.t = "a b"`, str(PrefixTags, "t", OpEq, "a b")},
		{"empty value", "tags.`mlflow.user` = ''", str(PrefixTags, "mlflow.user", OpEq, "")},
		{"other quote inside", `tags.t = "it's"`, str(PrefixTags, "t", OpEq, "it's")},
		{"backslash-escaped quote", `tags.t = 'it\'s'`, str(PrefixTags, "t", OpEq, "it's")},
		{"doubled quote", `tags.t = 'it''s'`, str(PrefixTags, "t", OpEq, "it's")},
		{"escaped double quote", `tags.t = "say \"hi\""`, str(PrefixTags, "t", OpEq, `say "hi"`)},
		{"escaped backslash", `tags.t = 'C:\\data'`, str(PrefixTags, "t", OpEq, `C:\data`)},
		{"other backslashes kept", `tags.t LIKE 'a\_b\%'`, str(PrefixTags, "t", OpLike, `a\_b\%`)},
		{"unicode value", "tags.t = 'ünïcødé ✓'", str(PrefixTags, "t", OpEq, "ünïcødé ✓")},
		{"keyword inside a string", "tags.t = 'a AND b OR (c'", str(PrefixTags, "t", OpEq, "a AND b OR (c")},
		{"escapes in IN list", `run_id IN ('a\'b', "c""d")`, list(PrefixAttributes, AttrRunID, OpIn, "a'b", `c"d`)},

		// Numbers in every form.
		{"integer", "metrics.m = 42", num(PrefixMetrics, "m", OpEq, 42)},
		{"negative", "metrics.m > -3", num(PrefixMetrics, "m", OpGt, -3)},
		{"explicit plus", "metrics.m > +3", num(PrefixMetrics, "m", OpGt, 3)},
		{"float", "metrics.m < 0.125", num(PrefixMetrics, "m", OpLt, 0.125)},
		{"leading dot", "metrics.m < .5", num(PrefixMetrics, "m", OpLt, 0.5)},
		{"negative leading dot", "metrics.m < -.5", num(PrefixMetrics, "m", OpLt, -0.5)},
		{"trailing dot", "metrics.m < 5.", num(PrefixMetrics, "m", OpLt, 5)},
		{"scientific", "metrics.m < 1e-3", num(PrefixMetrics, "m", OpLt, 0.001)},
		{"scientific upper-case with sign", "metrics.m < -2.5E+10", num(PrefixMetrics, "m", OpLt, -2.5e10)},
		{"tiny number underflows to zero", "metrics.m < 1e-400", num(PrefixMetrics, "m", OpLt, 0)},
		{"number then keyword", "metrics.m < 1 AND metrics.n > 2",
			and(num(PrefixMetrics, "m", OpLt, 1), num(PrefixMetrics, "n", OpGt, 2))},
		{"whole timestamp in exponent form", "attributes.end_time = 1.5e3", num(PrefixAttributes, AttrEndTime, OpEq, 1500)},

		// AND, OR, precedence, parentheses.
		{"AND", "metrics.a > 1 AND params.b = 'x'",
			and(num(PrefixMetrics, "a", OpGt, 1), str(PrefixParams, "b", OpEq, "x"))},
		{"and lower-case", "metrics.a > 1 and metrics.b > 2",
			and(num(PrefixMetrics, "a", OpGt, 1), num(PrefixMetrics, "b", OpGt, 2))},
		{"OR", "metrics.a > 1 OR metrics.b > 2",
			or(num(PrefixMetrics, "a", OpGt, 1), num(PrefixMetrics, "b", OpGt, 2))},
		{"AND binds tighter than OR", "metrics.a > 1 OR metrics.b > 2 AND metrics.c > 3",
			or(num(PrefixMetrics, "a", OpGt, 1), and(num(PrefixMetrics, "b", OpGt, 2), num(PrefixMetrics, "c", OpGt, 3)))},
		{"AND binds tighter than OR, other side", "metrics.a > 1 AND metrics.b > 2 Or metrics.c > 3",
			or(and(num(PrefixMetrics, "a", OpGt, 1), num(PrefixMetrics, "b", OpGt, 2)), num(PrefixMetrics, "c", OpGt, 3))},
		{"parentheses override precedence", "(metrics.a > 1 OR metrics.b > 2) AND metrics.c > 3",
			and(or(num(PrefixMetrics, "a", OpGt, 1), num(PrefixMetrics, "b", OpGt, 2)), num(PrefixMetrics, "c", OpGt, 3))},
		{"redundant parentheses vanish", "((metrics.a > 1))", num(PrefixMetrics, "a", OpGt, 1)},
		{"nested AND flattens", "metrics.a > 1 AND (metrics.b > 2 AND metrics.c > 3)",
			and(num(PrefixMetrics, "a", OpGt, 1), num(PrefixMetrics, "b", OpGt, 2), num(PrefixMetrics, "c", OpGt, 3))},
		{"nested OR flattens", "(metrics.a > 1 OR metrics.b > 2) OR metrics.c > 3",
			or(num(PrefixMetrics, "a", OpGt, 1), num(PrefixMetrics, "b", OpGt, 2), num(PrefixMetrics, "c", OpGt, 3))},
		{"parentheses without spaces", "(metrics.a>1)AND(tags.b='x')OR(tags.c='y')",
			or(and(num(PrefixMetrics, "a", OpGt, 1), str(PrefixTags, "b", OpEq, "x")), str(PrefixTags, "c", OpEq, "y"))},
		{"string then keyword without space", "tags.b='x'AND tags.c='y'",
			and(str(PrefixTags, "b", OpEq, "x"), str(PrefixTags, "c", OpEq, "y"))},
		{"deep nesting within the limit", strings.Repeat("(", MaxDepth) + "metrics.a > 1" + strings.Repeat(")", MaxDepth),
			num(PrefixMetrics, "a", OpGt, 1)},
		{"MLflow docs example", `params.model = "LogisticRegression" and params.lambda = "0.001" and metrics.error <= 0.05`,
			and(str(PrefixParams, "model", OpEq, "LogisticRegression"), str(PrefixParams, "lambda", OpEq, "0.001"),
				num(PrefixMetrics, "error", OpLe, 0.05))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Parse(tt.input)
			require.NoError(t, err)
			if tt.want == nil {
				assert.Nil(t, got)
				return
			}
			assert.Equal(t, tt.want, stripPositions(got))
			// The canonical form parses back to the same AST.
			again, err := Parse(Format(got))
			require.NoError(t, err, "canonical form %q", Format(got))
			assert.Equal(t, stripPositions(got), stripPositions(again))
		})
	}
}

func TestParseLimits(t *testing.T) {
	t.Parallel()
	comparisons := func(n int) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = "metrics.a > 1"
		}
		return strings.Join(parts, " AND ")
	}
	inList := func(n int) string {
		items := make([]string, n)
		for i := range items {
			items[i] = "'x'"
		}
		return "run_id IN (" + strings.Join(items, ",") + ")"
	}
	longest := "tags.t = '" + strings.Repeat("x", MaxFilterLength-len("tags.t = ''")) + "'"

	t.Run("at the limits", func(t *testing.T) {
		t.Parallel()
		for _, s := range []string{comparisons(MaxComparisons), inList(MaxInListLength), longest} {
			_, err := Parse(s)
			require.NoError(t, err)
		}
	})
	tests := []struct {
		name    string
		input   string
		wantPos int
		wantMsg string
	}{
		{"too long", longest + " ", MaxFilterLength, "the limit is 10000 bytes (MaxFilterLength)"},
		{"too many comparisons", comparisons(MaxComparisons + 1), MaxComparisons * len("metrics.a > 1 AND "),
			"more than 100 comparisons (MaxComparisons)"},
		{"too deep", strings.Repeat("(", MaxDepth+1) + "metrics.a > 1" + strings.Repeat(")", MaxDepth+1), MaxDepth,
			"nested more than 20 deep (MaxDepth)"},
		{"IN list too long", inList(MaxInListLength + 1), len("run_id IN (") + MaxInListLength*len("'x',"),
			"more than 1000 values (MaxInListLength)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assertSyntaxError(t, tt.input, tt.wantPos, tt.wantMsg)
		})
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		input   string
		wantPos int
		wantMsg string
	}{
		// Operators.
		{"unknown operator", "metrics.auc   ~ 1", 14, `expected a comparison operator after "metrics.auc", found "~"`},
		{"missing operator", "metrics.auc", 11, `expected a comparison operator after "metrics.auc", found the end of the filter`},
		{"double equals", "metrics.a == 1", 10, `"==" is not an operator; use "="`},
		{"SQL not-equal", "metrics.a <> 1", 10, `"<>" is not an operator; use "!="`},
		{"bang alone", "metrics.a ! 1", 10, `found "!"`},
		{"NOT LIKE", "tags.a NOT LIKE 'x'", 11, `expected IN after NOT (NOT IN is the only negated operator), found "LIKE"`},
		{"IS without NULL", "tags.a IS 'x'", 10, "expected NULL or NOT NULL after IS, found string 'x'"},
		{"IS NOT without NULL", "tags.a IS NOT x", 14, `expected NULL after IS NOT, found "x"`},
		{"operator glued to word", "tags.a LIKEx 'x'", 7, `expected a comparison operator after "tags.a", found "LIKEx"`},

		// Operators not allowed on a prefix.
		{"LIKE on metrics", "metrics.auc LIKE 'x'", 12, "operator LIKE is not allowed on metrics (allowed: =, !=, <, <=, >, >=)"},
		{"IS NULL on metrics", "metrics.auc IS NULL", 12, "operator IS NULL is not allowed on metrics"},
		{"IN on metrics", "metrics.auc IN ('1')", 12, "operator IN is not allowed on metrics"},
		{"< on params", "params.lr < '1'", 10, "operator < is not allowed on params (allowed: =, !=, LIKE, ILIKE, IN, NOT IN, IS NULL, IS NOT NULL)"},
		{"> on tags", "tags.x > 'a'", 7, "operator > is not allowed on tags"},
		{"LIKE on start_time", "attributes.start_time LIKE '1%'", 22, "operator LIKE is not allowed on the numeric attribute start_time"},
		{"< on status", "attributes.status < 'x'", 18, "operator < is not allowed on the string attribute status (allowed: =, !=, LIKE, ILIKE)"},
		{"IN on run_name", "attributes.run_name IN ('a')", 20, "operator IN is only allowed on attributes.run_id, not on attributes.run_name"},
		{"IS NULL on attributes", "attributes.status IS NULL", 18, "operator IS NULL is not allowed on the string attribute status"},
		{"> on datasets", "datasets.name > 'a'", 14, "operator > is not allowed on datasets"},
		{"IS NULL on datasets", "datasets.name IS NOT NULL", 14, "operator IS NOT NULL is not allowed on datasets"},

		// Value types.
		{"string for a metric", "metrics.auc > 'x'", 14, "metrics.auc needs a number, found string 'x'"},
		{"word for a metric", "metrics.auc > x", 14, `metrics.auc needs a number, found "x"`},
		{"missing metric value", "metrics.auc > ", 14, "metrics.auc needs a number, found the end of the filter"},
		{"number for a param", "params.lr = 0.01", 12, "params.lr needs a quoted string, found number 0.01"},
		{"unquoted string", "tags.t = abc", 9, `tags.t needs a quoted string, found "abc"`},
		{"backticked value", "tags.t = `abc`", 9, "backticks quote keys, not values"},
		{"list without IN", "tags.t = ('a')", 9, "a list of values needs IN or NOT IN, not ="},
		{"string for start_time", "attributes.created > '2024'", 21, "attributes.start_time needs a number, found string '2024'"},
		{"fraction for start_time", "attributes.start_time > 1.5", 24, "attributes.start_time needs a whole number of milliseconds since the Unix epoch, found 1.5"},
		{"huge start_time", "attributes.end_time > 1e300", 22, "needs a whole number of milliseconds"},
		{"number for dataset", "datasets.name = 1", 16, "datasets.name needs a quoted string, found number 1"},

		// Numbers.
		{"number glued to word", "metrics.a > 1abc", 12, "malformed number 1abc"},
		{"two dots", "metrics.a > 1.2.3", 12, "malformed number"},
		{"exponent without digits", "metrics.a > 1e", 12, "malformed number"},
		{"sign without digits", "metrics.a > -x", 12, `metrics.a needs a number, found "-"`},
		{"out of range", "metrics.a > 1e999", 12, "number 1e999 is out of range"},
		{"hex", "metrics.a > 0x10", 12, "malformed number"},

		// IN lists.
		{"IN without list", "run_id IN 'a'", 10, "IN needs a parenthesized list of quoted strings such as ('a', 'b'), found string 'a'"},
		{"empty IN list", "run_id IN ( )", 12, "empty IN list: expected at least one quoted string"},
		{"number in IN list", "run_id IN ('a', 2)", 16, "IN lists hold quoted strings, found number 2"},
		{"trailing comma", "run_id IN ('a',)", 15, `IN lists hold quoted strings, found ")"`},
		{"missing comma", "run_id NOT IN ('a' 'b')", 19, "expected ',' or ')' in the NOT IN list, found string 'b'"},
		{"unclosed IN list", "run_id IN ('a', 'b'", 19, "missing ')' to close the list at position 10"},

		// Quotes.
		{"unterminated value", "tags.t = 'abc", 9, "unterminated quoted string: no closing ' for the ' at position 9"},
		{"unterminated by escape", `tags.t = 'abc\'`, 9, "unterminated quoted string"},
		{"unterminated key", "tags.`abc = 'x'", 5, "unterminated quoted key: no closing ` for the ` at position 5"},
		{"unterminated double-quoted key", `params."abc = 'x'`, 7, "unterminated quoted key"},
		{"unterminated bare quoted attribute", "`run name = 'x'", 0, "unterminated quoted name"},
		{"unterminated list item", "run_id IN ('a", 11, "unterminated quoted string"},

		// Entities.
		{"unknown prefix", "metric_x.auc > 1", 0, `unknown entity prefix "metric_x" (want metrics, params, tags, attributes or datasets)`},
		{"long names shortened in messages", strings.Repeat("x", 100) + ".a > 1", 0, `unknown entity prefix "` + strings.Repeat("x", 40) + `…"`},
		{"unknown quoted prefix", "`foo`.auc > 1", 0, `unknown entity prefix "foo"`},
		{"no prefix, not an attribute", "auc > 1", 0, `expected <prefix>.<key> such as metrics.auc, found "auc"`},
		{"unknown quoted bare attribute", `"auc" > 1`, 0, `unknown attribute "auc" (want run_id, run_name, status, start_time, end_time, artifact_uri or user_id)`},
		{"unknown attribute", "attributes.lifecycle_stage = 'active'", 11, `unknown attribute "lifecycle_stage"`},
		{"unknown dataset key", "datasets.source = 'x'", 9, `unknown dataset key "source" (want name, digest or context)`},
		{"missing key", "metrics. > 1", 8, `expected a key after "metrics.", found " "`},
		{"missing key at end", "metrics.", 8, `expected a key after "metrics.", found the end of the filter`},
		{"empty quoted key", "tags.`` = 'x'", 5, `empty key after "tags."`},
		{"key with bad character", "tags.$x = 'y'", 5, `expected a key after "tags.", found "$"`},
		{"space before dot", "metrics .a > 1", 7, `expected '.' right after the prefix "metrics", found " "`},

		// Structure.
		{"starts with AND", "AND metrics.a > 1", 0, "expected a comparison, found the keyword AND"},
		{"dangling AND", "metrics.a > 1 AND", 17, `expected a comparison after AND, found the end of the filter`},
		{"AND AND", "metrics.a > 1 AND AND metrics.b > 1", 18, "expected a comparison after AND, found the keyword AND"},
		{"dangling OR", "metrics.a > 1 OR ", 17, `expected a comparison after OR, found the end of the filter`},
		{"NOT in front", "NOT metrics.a > 1", 0, "NOT is only supported in NOT IN and IS NOT NULL"},
		{"trailing input", "metrics.a > 1 metrics.b > 2", 14, `expected AND, OR or the end of the filter after "metrics.a > 1", found "metrics"`},
		{"trailing garbage", "tags.a = 'x';", 12, `found ";"`},
		{"unbalanced close", "metrics.a > 1)", 13, "unbalanced parentheses: this ')' closes no '('"},
		{"unbalanced open", "(metrics.a > 1", 14, "unbalanced parentheses: missing ')' to close the '(' at position 0"},
		{"unbalanced inner open", "((metrics.a > 1)", 16, "missing ')' to close the '(' at position 0"},
		{"empty parentheses", "()", 1, "empty parentheses"},
		{"garbage in group", "(metrics.a > 1 x)", 15, `expected AND, OR or ')' after "metrics.a > 1", found "x"`},
		{"operator first", "> 1", 0, `expected a comparison such as metrics.auc > 0.9, found ">"`},
		{"invalid UTF-8", "tags.t = '\xff'", 10, "filter is not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assertSyntaxError(t, tt.input, tt.wantPos, tt.wantMsg)
		})
	}
}

// assertSyntaxError checks Parse fails on input with a *SyntaxError at
// wantPos whose message contains wantMsg.
func assertSyntaxError(t *testing.T, input string, wantPos int, wantMsg string) {
	t.Helper()
	got, err := Parse(input)
	require.Error(t, err)
	assert.Nil(t, got)
	var se *SyntaxError
	require.True(t, errors.As(err, &se), "error %v is a %T, not a *SyntaxError", err, err)
	assert.Equal(t, wantPos, se.Pos, "position; error: %v", err)
	assert.Contains(t, se.Msg, wantMsg)
	assert.Contains(t, err.Error(), "filter: position ")
}

func TestSyntaxErrorField(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		input     string
		wantField string
	}{
		{"canonical field of a bad value", "metric.`a b` > 'x'", "metrics.`a b`"},
		{"canonical attribute of a bad operator", "run.created LIKE 'x'", "attributes.start_time"},
		{"no field for a structural error", "metrics.a > 1)", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse(tt.input)
			var se *SyntaxError
			require.ErrorAs(t, err, &se)
			assert.Equal(t, tt.wantField, se.Field)
		})
	}
}

func TestPositions(t *testing.T) {
	t.Parallel()
	got, err := Parse("  metrics.a > 1 OR (tags.b = 'x' AND run_id IN ('r'))")
	require.NoError(t, err)
	var positions []int
	var walk func(Expr)
	walk = func(e Expr) {
		switch e := e.(type) {
		case *And:
			for _, t := range e.Terms {
				walk(t)
			}
		case *Or:
			for _, t := range e.Terms {
				walk(t)
			}
		case *Comparison:
			positions = append(positions, e.Pos)
		}
	}
	walk(got)
	assert.Equal(t, []int{2, 20, 37}, positions)
}

func TestFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		input string
		want  string
	}{
		{"empty", "", ""},
		{"aliases and case resolved", "metric.auc>0.9 and RUN.Created<=5", "metrics.auc > 0.9 AND attributes.start_time <= 5"},
		{"bare attribute gets its prefix", "status='FAILED'", "attributes.status = 'FAILED'"},
		{"keys quoted only when needed", `tags."a.b" = "x" AND tags."a b" = 'y'`, "tags.a.b = 'x' AND tags.`a b` = 'y'"},
		{"MLflow-safe bare keys", "metrics.val-loss < 1 AND metrics.2019_x < 1 AND tags.a..b = 'x' AND tags.\"é\" = 'y'",
			"metrics.`val-loss` < 1 AND metrics.`2019_x` < 1 AND tags.`a..b` = 'x' AND tags.`é` = 'y'"},
		{"escapes", `tags."a` + "`" + `b" = "it's \\ \"q\""`, "tags.`a\\`b` = 'it\\'s \\\\ \"q\"'"},
		{"timestamps in plain digits", "attributes.start_time > 1.670628787527e12", "attributes.start_time > 1670628787527"},
		{"big and small numbers", "metrics.a > 1e30 AND metrics.b < -0.00001", "metrics.a > 1e+30 AND metrics.b < -1e-05"},
		{"lists", `run_id not in ("a",'b')`, "attributes.run_id NOT IN ('a', 'b')"},
		{"null tests", "tags.a is null or params.b is not null", "tags.a IS NULL OR params.b IS NOT NULL"},
		{"parentheses only where needed", "((metrics.a > 1 AND metrics.b > 2)) OR (metrics.c > 3 OR metrics.d > 4) AND metrics.e > 5",
			"metrics.a > 1 AND metrics.b > 2 OR (metrics.c > 3 OR metrics.d > 4) AND metrics.e > 5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, err := Parse(tt.input)
			require.NoError(t, err)
			assert.Equal(t, tt.want, Format(e))
			if e != nil {
				assert.Equal(t, tt.want, e.String())
			}
		})
	}
}

func TestFormatHandBuiltTrees(t *testing.T) {
	t.Parallel()
	// Trees Parse never returns still print as filters that mean the same.
	tree := and(num(PrefixMetrics, "a", OpGt, 1), and(num(PrefixMetrics, "b", OpGt, 2), num(PrefixMetrics, "c", OpGt, 3)),
		or(or(num(PrefixMetrics, "d", OpGt, 4)), num(PrefixMetrics, "e", OpGt, 5)))
	assert.Equal(t, "metrics.a > 1 AND (metrics.b > 2 AND metrics.c > 3) AND ((metrics.d > 4) OR metrics.e > 5)", Format(tree))
	assert.Equal(t, "tags.`` = ''", Format(str(PrefixTags, "", OpEq, "")))
}

func BenchmarkParse(b *testing.B) {
	const filter = "metrics.auc > 0.9 AND params.`learning rate` = '0.01' AND (tags.env IN ('dev', 'prod') OR attributes.created > 1670628787527)"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(filter); err != nil {
			b.Fatal(err)
		}
	}
}

func TestParseOrderBy(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want OrderBy
	}{
		{"metrics.auc DESC", OrderBy{PrefixMetrics, "auc", true}},
		{"metric.`f1 score`", OrderBy{PrefixMetrics, "f1 score", false}},
		{"params.lr asc", OrderBy{PrefixParams, "lr", false}},
		{"start_time desc", OrderBy{PrefixAttributes, AttrStartTime, true}},
		{"attributes.created", OrderBy{PrefixAttributes, AttrStartTime, false}},
		{" tags.team ", OrderBy{PrefixTags, "team", false}},
	} {
		got, err := ParseOrderBy(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseOrderBy(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
	for _, tt := range []struct {
		in  string
		pos int
		msg string
	}{
		{"metrics.auc DOWN", 12, "expected ASC, DESC"},
		{"metrics.auc DESC x", 17, "expected the end of the clause"},
		{"datasets.name", 0, "cannot order by datasets"},
		{"", 0, "expected a comparison"},
	} {
		_, err := ParseOrderBy(tt.in)
		se, ok := err.(*SyntaxError)
		if !ok || se.Pos != tt.pos || !strings.Contains(se.Msg, tt.msg) {
			t.Errorf("ParseOrderBy(%q) = %v; want position %d and %q", tt.in, err, tt.pos, tt.msg)
		}
	}
}
