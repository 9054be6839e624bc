package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/stretchr/testify/require"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"

	"github.com/provgraph/provgraph/graph"
	"github.com/provgraph/provgraph/metrics"
	"github.com/provgraph/provgraph/resolvers"
	"github.com/provgraph/provgraph/store"
)

func schemaForTest(t *testing.T) *fastVariables {
	t.Helper()
	es := graph.NewExecutableSchema(graph.Config{Resolvers: &resolvers.Resolver{}})
	f := &fastVariables{docs: lru.New[*ast.QueryDocument](10)}
	require.NoError(t, f.Validate(es))
	return f
}

// inputTypes are the schema's input object types by name, in order.
func inputTypes(s *ast.Schema) []string {
	var names []string
	for name, def := range s.Types {
		if def.Kind == ast.InputObject && !def.BuiltIn {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// gqlparserCheck is what gqlgen does with a variable of typ holding val.
func gqlparserCheck(s *ast.Schema, typ *ast.Type, val any) (any, error) {
	op := &ast.OperationDefinition{VariableDefinitions: ast.VariableDefinitionList{
		{Variable: "v", Type: typ, Definition: s.Types[typ.Name()]},
	}}
	out, err := validator.VariableValues(s, op, map[string]any{"v": val})
	if err != nil {
		return nil, err
	}
	return out["v"], nil
}

// TestFastVariablesAgreeWithGqlparser generates values of every input type of the
// schema, valid ones and ones broken in one place, and holds passes to gqlparser's
// answer: what passes, gqlparser accepts and leaves as it was. Every valid value
// passes, so the fast way is the one taken for them.
func TestFastVariablesAgreeWithGqlparser(t *testing.T) {
	f := schemaForTest(t)
	rng := rand.New(rand.NewPCG(1, 2))
	g := valueGen{f: f, rng: rng}
	var broken, brokenPassed, brokenRefused int
	for _, name := range inputTypes(f.schema) {
		for _, typ := range []*ast.Type{ast.NonNullNamedType(name, nil), ast.NonNullListType(ast.NonNullNamedType(name, nil), nil), ast.ListType(ast.NamedType(name, nil), nil)} {
			for range 40 {
				val := decoded(t, g.valid(typ, 0))
				require.True(t, f.passes(typ, val), "%s: a valid value did not pass: %v", typ, val)
				out, err := gqlparserCheck(f.schema, typ, deepCopy(val))
				require.NoError(t, err, "%s: %v", typ, val)
				require.Equal(t, val, out, "%s: gqlparser changed a value", typ)

				bad := g.broken(typ, deepCopy(val))
				if bad == nil {
					continue
				}
				broken++
				passed := f.passes(typ, bad)
				out, err = gqlparserCheck(f.schema, typ, deepCopy(bad))
				if passed {
					brokenPassed++
					require.NoError(t, err, "%s: passed here, refused by gqlparser: %v", typ, bad)
					require.Equal(t, bad, out, "%s: passed here, changed by gqlparser: %v", typ, bad)
				}
				if err != nil {
					brokenRefused++
				}
			}
		}
	}
	t.Logf("%d broken values: %d passed, %d refused by gqlparser", broken, brokenPassed, brokenRefused)
	// Both sides of the comparison were exercised.
	require.Positive(t, brokenPassed)
	require.Positive(t, brokenRefused)
}

// The placeholder of every input type, and of lists of them, is accepted by gqlparser.
func TestFastVariablesPlaceholders(t *testing.T) {
	f := schemaForTest(t)
	for _, name := range inputTypes(f.schema) {
		for _, typ := range []*ast.Type{ast.NonNullNamedType(name, nil), ast.NonNullListType(ast.NonNullNamedType(name, nil), nil)} {
			ph, ok := f.placeholder(typ, 0)
			require.True(t, ok, typ.String())
			_, err := gqlparserCheck(f.schema, typ, ph)
			require.NoError(t, err, typ.String())
		}
	}
}

// The two steps: a known operation's object variable is swapped for its placeholder
// before gqlparser's check and put back after it; a value that does not pass, and
// the first request of a query, are left as they came.
func TestFastVariablesSwapAndRestore(t *testing.T) {
	f := schemaForTest(t)
	const query = `mutation($input: LogRunInput!, $b: Boolean!) { logRun(input: $input) { run @include(if: $b) { id } } }`
	input := map[string]any{"run": "run:1", "metrics": []any{map[string]any{"key": "loss", "value": json.Number("0.5"), "step": json.Number("3")}}}

	send := func() (*graphql.OperationContext, *graphql.RawParams) {
		oc := &graphql.OperationContext{RawQuery: query}
		ctx := graphql.WithOperationContext(context.Background(), oc)
		p := &graphql.RawParams{Query: query, Variables: map[string]any{"input": input, "b": true}}
		require.Nil(t, f.MutateOperationParameters(ctx, p))
		return oc, p
	}
	_, p := send()
	require.Equal(t, input, p.Variables["input"], "a query not yet cached is left alone")

	doc, err := parser.ParseQuery(&ast.Source{Input: query})
	require.NoError(t, err)
	require.Empty(t, validator.ValidateWithRules(f.schema, doc, nil))
	f.docs.Add(context.Background(), query, doc)

	oc, p := send()
	require.Equal(t, map[string]any{"run": ""}, p.Variables["input"], "swapped for the placeholder")
	require.Equal(t, true, p.Variables["b"], "a scalar is left to gqlparser")
	oc.Variables, err = validator.VariableValues(f.schema, doc.Operations[0], p.Variables)
	require.NoError(t, err)
	require.Nil(t, f.MutateOperationContext(context.Background(), oc))
	require.Equal(t, input, oc.Variables["input"], "put back")
	require.Equal(t, true, oc.Variables["b"])

	input["metrics"].([]any)[0].(map[string]any)["stepp"] = json.Number("1")
	_, p = send()
	require.Equal(t, input, p.Variables["input"], "an unknown field: left to gqlparser")
}

// valueGen makes values of the schema's input types, shaped as encoding/json makes
// them with UseNumber.
type valueGen struct {
	f   *fastVariables
	rng *rand.Rand
}

func (g valueGen) valid(typ *ast.Type, depth int) any {
	if typ.Elem != nil {
		n := g.rng.IntN(3)
		if depth > 3 {
			n = 0
		}
		list := make([]any, 0, n)
		for range n {
			if !typ.Elem.NonNull && g.rng.IntN(5) == 0 {
				list = append(list, nil)
				continue
			}
			list = append(list, g.valid(typ.Elem, depth+1))
		}
		return list
	}
	def := g.f.schema.Types[typ.NamedType]
	switch def.Kind {
	case ast.Enum:
		return def.EnumValues[g.rng.IntN(len(def.EnumValues))].Name
	case ast.Scalar:
		return g.scalar(typ.NamedType)
	}
	m := map[string]any{}
	for _, fd := range def.Fields {
		switch {
		case fd.Type.NonNull && fd.DefaultValue == nil:
		case depth > 3 || g.rng.IntN(3) == 0:
			continue
		case !fd.Type.NonNull && g.rng.IntN(4) == 0:
			m[fd.Name] = nil
			continue
		}
		m[fd.Name] = g.valid(fd.Type, depth+1)
	}
	return m
}

func (g valueGen) scalar(name string) any {
	switch name {
	case "Int":
		return g.rng.IntN(2000) - 1000
	case "Float":
		return []any{1.5, 3, -0.25}[g.rng.IntN(3)]
	case "Boolean":
		return g.rng.IntN(2) == 0
	case "ID":
		return []any{"id:" + strconv.Itoa(g.rng.IntN(100)), 7}[g.rng.IntN(2)]
	case "String":
		return "s" + strconv.Itoa(g.rng.IntN(100))
	}
	return []any{"2026-03-01T00:00:00Z", 0.5, "NaN", 12, map[string]any{"a": 1}}[g.rng.IntN(5)]
}

// wrongValues replace a value in broken: each is wrong for some types.
var wrongValues = []any{
	json.Number("1.5"), json.Number("1e3"), json.Number("99999999999999999999"), json.Number("7"),
	"abc", "12", "", true, map[string]any{}, []any{}, float64(2), float64(2.5), int64(3),
	"infinity", json.Number("-0"),
}

// broken returns val with one thing changed somewhere (nil when it found nothing to
// change): a field dropped, nulled, unknown or replaced, a list element nulled or
// replaced, a list given as its single element, an enum's name in other letters.
func (g valueGen) broken(typ *ast.Type, val any) any {
	if g.rng.IntN(6) == 0 {
		return wrongValues[g.rng.IntN(len(wrongValues))]
	}
	if typ.Elem != nil {
		list, _ := val.([]any)
		if len(list) == 0 {
			return nil
		}
		i := g.rng.IntN(len(list))
		switch g.rng.IntN(4) {
		case 0:
			list[i] = nil
		case 1:
			return list[i] // a single value where a list is expected
		default:
			if list[i] == nil {
				return nil
			}
			b := g.broken(typ.Elem, list[i])
			if b == nil {
				return nil
			}
			list[i] = b
		}
		return list
	}
	def := g.f.schema.Types[typ.NamedType]
	switch def.Kind {
	case ast.Enum:
		if s, ok := val.(string); ok {
			return []any{strings.ToLower(s), s + "X", json.Number("1")}[g.rng.IntN(3)]
		}
		return nil
	case ast.Scalar:
		return wrongValues[g.rng.IntN(len(wrongValues))]
	}
	m, _ := val.(map[string]any)
	fd := def.Fields[g.rng.IntN(len(def.Fields))]
	switch g.rng.IntN(5) {
	case 0:
		delete(m, fd.Name)
	case 1:
		m[fd.Name] = nil
	case 2:
		m[[]string{"__typename", "zz", fd.Name + "s"}[g.rng.IntN(3)]] = "x"
	default:
		v, ok := m[fd.Name]
		if !ok || v == nil {
			m[fd.Name] = wrongValues[g.rng.IntN(len(wrongValues))]
			break
		}
		b := g.broken(fd.Type, v)
		if b == nil {
			return nil
		}
		m[fd.Name] = b
	}
	return m
}

// decoded is v through JSON, as a transport decodes variables.
func decoded(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var out any
	require.NoError(t, dec.Decode(&out))
	return out
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = deepCopy(e)
		}
		return l
	}
	return v
}

// Through the handler newGraphQL builds: a query's second request has its list and
// object variables swapped, and the limits, which run after, weigh the values sent,
// not the placeholders. Both requests are refused before any resolver runs, so no
// database is needed: compareRuns of 100 runs' long histories is too complex (of one
// run, as its placeholder would count, it is not), and a mutation over GET is refused
// after its variables are checked.
func TestFastVariablesInTheHandler(t *testing.T) {
	var swapped [][]string
	h := newGraphQL(Options{RequestTimeout: time.Minute, swappedVariables: func(names []string) { swapped = append(swapped, names) }}, metrics.New())
	ids := make([]string, store.MaxCompareRuns)
	for i := range ids {
		ids[i] = fmt.Sprintf("run:%032x", i)
	}
	compare, err := json.Marshal(map[string]any{
		"query":     `query($ids: [ID!]!) { compareRuns(ids: $ids) { runs { metricHistory(key: "loss", first: 10000) { points { step value } } } } }`,
		"variables": map[string]any{"ids": ids},
	})
	require.NoError(t, err)
	post := func() *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(compare))
		req.Header.Set("Content-Type", "application/json")
		h.ServeHTTP(rec, req)
		return rec
	}
	first := post()
	require.Empty(t, swapped, "the query was not known yet")
	require.Contains(t, first.Body.String(), "above the limit of")
	again := post()
	require.Equal(t, [][]string{{"ids"}}, swapped)
	require.Equal(t, first.Code, again.Code)
	require.Equal(t, first.Body.String(), again.Body.String())

	metrics := make([]any, 1000)
	for i := range metrics {
		metrics[i] = map[string]any{"key": "loss", "value": 0.5, "step": i}
	}
	vars, err := json.Marshal(map[string]any{"input": map[string]any{"run": "run:1", "metrics": metrics}})
	require.NoError(t, err)
	target := "/graphql?query=" + url.QueryEscape(`mutation($input: LogRunInput!) { logRun(input: $input) { run { id } } }`) +
		"&variables=" + url.QueryEscape(string(vars))
	for range 2 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
		require.Equal(t, http.StatusMethodNotAllowed, rec.Code, rec.Body.String())
	}
	require.Equal(t, [][]string{{"ids"}, {"input"}}, swapped)
}

// Should the operation gqlgen checked not be the one the values were checked for, the
// values are checked by gqlparser after all: here a list of objects kept for an
// operation whose variable is a list of IDs.
func TestFastVariablesRecheckAnotherOperation(t *testing.T) {
	f := schemaForTest(t)
	doc, err := parser.ParseQuery(&ast.Source{Input: `query B($x: [ID!]!) { node(id: "a") { id } compareRuns(ids: $x) { runs { id } } }`})
	require.NoError(t, err)
	require.Empty(t, validator.ValidateWithRules(f.schema, doc, nil))
	oc := &graphql.OperationContext{RawQuery: "query B", OperationName: "B", Operation: doc.Operations[0], Variables: map[string]any{"x": []any{}}}
	objects := []any{map[string]any{"key": "k", "goal": "MAXIMIZE"}}
	oc.Stats.SetExtension(fastVariablesStash, keptVariables{query: "query A", operation: "A", values: map[string]any{"x": objects}})
	gqlErr := f.MutateOperationContext(context.Background(), oc)
	require.NotNil(t, gqlErr)
	require.Contains(t, gqlErr.Message, "cannot use map as ID")
}

// fastvars.go follows the rules of gqlparser's validator/vars.go at this version, and
// relies on gqlgen's order of extensions and its query cache's keys at this one: an
// upgrade is to be read against them, and this test updated with it.
func TestFastVariablesFollowTheseVersions(t *testing.T) {
	mod, err := os.ReadFile("../go.mod")
	require.NoError(t, err)
	for module, version := range map[string]string{
		"github.com/vektah/gqlparser/v2": "v2.5.64",  // re-read validator/vars.go against fastvars.go
		"github.com/99designs/gqlgen":    "v0.17.98", // re-read executor.CreateOperationContext
	} {
		require.Regexp(t, `(?m)^\s*`+regexp.QuoteMeta(module)+` `+regexp.QuoteMeta(version)+`(\s|$)`, string(mod), "fastvars.go was written against %s %s", module, version)
	}
}
