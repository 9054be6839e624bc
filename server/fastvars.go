package server

import (
	"context"
	"encoding/json"
	"maps"
	"math"
	"strconv"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/validator"
)

// Checking a request's variables without reflection.
//
// gqlgen checks every variable against its type with gqlparser's VariableValues, which
// walks the value through reflection, allocating at each step: for a logRun of 1,000
// metric objects that was a third of the server's CPU (BENCHMARKS.md, "logRun: the
// variables checked without reflection"). gqlgen offers no way to replace that check,
// so fastVariables steps around it. Before the check, it checks each variable holding
// an input object or a list itself, by type switches over what a JSON decoder makes
// (map[string]any, []any, string, json.Number, bool, float64), and, when the value
// passes, hands gqlparser a placeholder of the same type, the smallest value it
// accepts; right after the check, it puts the values back. A value it does not pass
// is left to gqlparser, whose error the client gets, as before.
//
// Putting the value back is exact because, for what passes here, gqlparser's check
// changes nothing: it coerces only a value it would accept in another shape (a single
// value where a list is expected, a float64 ID), and those do not pass here. The rules
// are gqlparser's (v2.5.64, validator/vars.go), rule by rule; fastvars_test.go holds
// the two to the same answers over generated values of every input type of the schema.

// fastVariablesStash is the name the swapped-out values are kept under in the
// operation's Stats between the two steps.
const fastVariablesStash = "provgraph.fastVariables"

// fastVariables is the gqlgen extension described above. docs is the handler's query
// cache: only an operation gqlgen parsed and validated before is known here (its
// variables' definitions are resolved against the schema); the first request of a
// query is checked by gqlparser alone.
type fastVariables struct {
	schema *ast.Schema
	docs   graphql.Cache[*ast.QueryDocument]
	// swapped, when set, hears the names of the variables swapped for a request (tests).
	swapped func(names []string)
}

// keptVariables are the values swapped out for one request, with the query and
// operation they were checked for.
type keptVariables struct {
	query, operation string
	values           map[string]any
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationParameterMutator
	graphql.OperationContextMutator
} = &fastVariables{}

func (*fastVariables) ExtensionName() string { return "FastVariables" }

func (f *fastVariables) Validate(es graphql.ExecutableSchema) error {
	f.schema = es.Schema()
	return nil
}

// MutateOperationParameters swaps each input object or list variable that passes the
// check for its placeholder, and keeps the value in the operation's Stats.
func (f *fastVariables) MutateOperationParameters(ctx context.Context, p *graphql.RawParams) *gqlerror.Error {
	if len(p.Variables) == 0 {
		return nil
	}
	doc, ok := f.docs.Get(ctx, p.Query)
	if !ok {
		return nil
	}
	op := doc.Operations.ForName(p.OperationName)
	if op == nil {
		return nil
	}
	var kept map[string]any
	var names []string
	for _, d := range op.VariableDefinitions {
		val := p.Variables[d.Variable]
		switch val.(type) {
		case map[string]any, []any:
		default:
			continue // absent, null or a scalar: gqlparser's check of it is cheap
		}
		if d.Definition == nil || !d.Definition.IsInputType() || !f.passes(d.Type, val) {
			continue
		}
		ph, ok := f.placeholder(d.Type, 0)
		if !ok {
			continue
		}
		if kept == nil {
			kept = map[string]any{}
			p.Variables = maps.Clone(p.Variables) // the transport's map stays as it came
		}
		kept[d.Variable] = val
		p.Variables[d.Variable] = ph
		names = append(names, d.Variable)
	}
	if kept != nil {
		graphql.GetOperationContext(ctx).Stats.SetExtension(fastVariablesStash,
			keptVariables{query: p.Query, operation: p.OperationName, values: kept})
		if f.swapped != nil {
			f.swapped(names)
		}
	}
	return nil
}

// MutateOperationContext puts the checked values back in place of their placeholders.
// It runs before the other extensions' (it is registered before them), so none of them
// sees a placeholder. Should the operation gqlgen checked not be the one the values
// were checked for (a parameter mutator after this one changed the query), gqlparser
// checks them after all.
func (f *fastVariables) MutateOperationContext(_ context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	kept, ok := oc.Stats.GetExtension(fastVariablesStash).(keptVariables)
	if !ok {
		return nil
	}
	for name, val := range kept.values {
		oc.Variables[name] = val
	}
	if oc.RawQuery == kept.query && oc.OperationName == kept.operation {
		return nil
	}
	vars, err := validator.VariableValues(f.schema, oc.Operation, oc.Variables)
	if err != nil {
		gqlErr, ok := err.(*gqlerror.Error)
		if !ok {
			gqlErr = gqlerror.WrapIfUnwrapped(err)
		}
		errcode.Set(gqlErr, errcode.ValidationFailed) // as gqlgen marks its own check's errors
		return gqlErr
	}
	oc.Variables = vars
	return nil
}

// passes reports whether gqlparser accepts val (not nil) as a value of typ and leaves
// it as it is.
func (f *fastVariables) passes(typ *ast.Type, val any) bool {
	if typ.Elem != nil {
		list, ok := val.([]any)
		if !ok {
			return false // gqlparser wraps a single value into a list: a change
		}
		for _, e := range list {
			if e == nil {
				if typ.Elem.NonNull {
					return false
				}
				continue
			}
			if !f.passes(typ.Elem, e) {
				return false
			}
		}
		return true
	}
	def := f.schema.Types[typ.NamedType]
	if def == nil {
		return false
	}
	switch def.Kind {
	case ast.Enum:
		s, ok := textOf(val)
		return ok && enumFold(def.EnumValues, s)
	case ast.Scalar:
		return scalarPasses(typ.NamedType, val)
	case ast.InputObject:
		return f.objectPasses(def, val)
	}
	return false
}

// objectPasses is passes for an input object: no unknown fields (__typename aside),
// every non-null field present (or defaulted) and not null, each field's value passing.
func (f *fastVariables) objectPasses(def *ast.Definition, val any) bool {
	m, ok := val.(map[string]any)
	if !ok {
		return false
	}
	for name := range m {
		if name != "__typename" && def.Fields.ForName(name) == nil {
			return false
		}
	}
	for _, fd := range def.Fields {
		v, present := m[fd.Name]
		switch {
		case !present:
			if fd.Type.NonNull && !defaultParses(fd) {
				return false
			}
		case v == nil:
			if fd.Type.NonNull {
				return false
			}
		case !f.passes(fd.Type, v):
			return false
		}
	}
	return true
}

func defaultParses(fd *ast.FieldDefinition) bool {
	if fd.DefaultValue == nil {
		return false
	}
	_, err := fd.DefaultValue.Value(nil)
	return err == nil
}

// enumFold is gqlparser's enum rule: a name equal to one of the values, ignoring case.
func enumFold(values ast.EnumValueList, s string) bool {
	for _, v := range values {
		if strings.EqualFold(s, v.Name) {
			return true
		}
	}
	return false
}

// textOf is the text of a value gqlparser treats as a string (its reflect kind is
// String): a string or a json.Number.
func textOf(val any) (string, bool) {
	switch v := val.(type) {
	case string:
		return v, true
	case json.Number:
		return string(v), true
	}
	return "", false
}

// scalarPasses is gqlparser's rule for the built-in scalars; any value passes as a
// custom scalar, which its own unmarshaller checks.
func scalarPasses(name string, val any) bool {
	s, isText := textOf(val)
	switch name {
	case "Int":
		switch v := val.(type) {
		case int, int32, int64:
			return true
		case float64:
			return !math.IsInf(v, 0) && v == math.Trunc(v)
		}
		if isText {
			_, err := strconv.ParseInt(s, 10, 64)
			return err == nil
		}
		return false
	case "Float":
		switch val.(type) {
		case float64, float32, int, int32, int64:
			return true
		}
		if isText {
			_, err := strconv.ParseFloat(s, 64)
			return err == nil
		}
		return false
	case "String":
		return isText
	case "Boolean":
		_, ok := val.(bool)
		return ok
	case "ID":
		switch val.(type) {
		case int, int32, int64:
			return true
		}
		return isText // a float64 ID is coerced to int64: a change
	}
	return true
}

// maxPlaceholderDepth bounds placeholder's recursion through input objects whose
// non-null fields lead back to themselves (which no value could satisfy).
const maxPlaceholderDepth = 32

// placeholder is the smallest value gqlparser accepts as a value of typ: an empty list,
// an object of its non-null fields without defaults, a zero scalar, an enum's first value.
// Each call builds a new one: gqlparser writes into the maps it checks, so a
// placeholder shared by requests would be written by several at once.
func (f *fastVariables) placeholder(typ *ast.Type, depth int) (any, bool) {
	switch {
	case depth > maxPlaceholderDepth:
		return nil, false
	case typ.Elem != nil:
		return []any{}, true
	}
	def := f.schema.Types[typ.NamedType]
	if def == nil {
		return nil, false
	}
	switch def.Kind {
	case ast.Enum:
		if len(def.EnumValues) == 0 {
			return nil, false
		}
		return def.EnumValues[0].Name, true
	case ast.Scalar:
		switch typ.NamedType {
		case "Int":
			return int64(0), true
		case "Float":
			return float64(0), true
		case "Boolean":
			return false, true
		}
		return "", true
	case ast.InputObject:
		m := map[string]any{}
		for _, fd := range def.Fields {
			if !fd.Type.NonNull || defaultParses(fd) {
				continue
			}
			v, ok := f.placeholder(fd.Type, depth+1)
			if !ok {
				return nil, false
			}
			m[fd.Name] = v
		}
		return m, true
	}
	return nil, false
}
