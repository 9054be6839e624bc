package server

import (
	"context"
	"fmt"
	"io"
	"maps"
	"reflect"
	"slices"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/provgraph/provgraph/graph/model"
)

// A lineage answer written directly.
//
// gqlgen executes every field of an answer through a field context and the middleware
// chain, and marshals each element of a list of objects in a goroutine of its own; for
// a lineage cone of a few hundred nodes and edges that cost about a millisecond
// (BENCHMARKS.md, "Where a lineage request's time goes"). gqlgen lets a field
// middleware answer with a Marshaler instead of the resolver's value
// (graphql.ResolveField uses one as the field's result). lineageDirect does that for
// every field whose value is a lineage graph (`Query.lineage`, an audit trail entry's
// `upstream`) when the selection reads only plain fields: the nodes' common fields,
// the edges, `truncated` and `pageInfo`, with aliases, fragments, @skip and @include as
// gqlgen collects them. Arguments, @hasRole, the resolver and its errors are gqlgen's as
// before; only the writing of a successful answer changes. Any other selection (a
// field of one kind of node, @defer), or a value gqlgen would answer with an error (a
// nil node or edge, a node without a recording time), is left to gqlgen. The writer
// collects each part's fields as gqlgen's generated code does and writes each value
// with gqlgen's own scalar marshaler; the tests compare its answers with gqlgen's
// (lineagedirect_test.go over HTTP, lineagewriter_test.go for every kind of node and
// the values left to gqlgen).
//
// The writer reads the fields' Go values as gqlgen's generated code does for plain
// fields. A directive on one of them in the schema (an authorization rule, say) would
// be skipped, so lineageDirect refuses a schema with one (checkDirectFields); a field
// that gqlgen.yml turns into a resolver would be too, and must leave the writer. The
// Marshaler runs when the response is written, after gqlgen's panic recovery for the
// field: it only writes values checked before it was returned.

// lineageNodeTypes names the GraphQL object type of each Go type a lineage node can
// have; a node of a type not listed here is answered by gqlgen.
var lineageNodeTypes = map[reflect.Type]string{
	reflect.TypeFor[model.Artifact]():        "Artifact",
	reflect.TypeFor[model.Dataset]():         "Dataset",
	reflect.TypeFor[model.DatasetVersion]():  "DatasetVersion",
	reflect.TypeFor[model.Endpoint]():        "Endpoint",
	reflect.TypeFor[model.Experiment]():      "Experiment",
	reflect.TypeFor[model.ModelVersion]():    "ModelVersion",
	reflect.TypeFor[model.ProcessingJob]():   "ProcessingJob",
	reflect.TypeFor[model.RegisteredModel](): "RegisteredModel",
	reflect.TypeFor[model.Run]():             "Run",
	reflect.TypeFor[model.RunGroup]():        "RunGroup",
	reflect.TypeFor[model.TrainingJob]():     "TrainingJob",
}

// lineageProbe observes the writing of lineage answers, for tests: with gqlgenOnly,
// gqlgen writes them all; answered, when set, learns whether each one lineageDirect
// saw was written directly.
type lineageProbe struct {
	gqlgenOnly bool
	answered   func(direct bool)
}

// lineageDirect is the field middleware that writes plain lineage graphs itself.
// schema gives each node type's implementors (the type conditions its fields are
// collected under); answered is lineageProbe's.
func lineageDirect(schema *ast.Schema, answered func(direct bool)) graphql.FieldMiddleware {
	if err := checkDirectFields(schema, lineageNodeTypes); err != nil {
		panic(err) // the schema and this file disagree: a programming error
	}
	satisfies := make(map[string][]string, len(lineageNodeTypes))
	for _, name := range lineageNodeTypes {
		s := []string{name}
		for _, iface := range schema.GetImplements(schema.Types[name]) {
			s = append(s, iface.Name)
		}
		satisfies[name] = s
	}
	return func(ctx context.Context, next graphql.Resolver) (any, error) {
		res, err := next(ctx)
		g, ok := res.(*model.LineageGraph)
		if err != nil || !ok || g == nil {
			return res, err
		}
		fc := graphql.GetFieldContext(ctx)
		w := lineageWriter{oc: graphql.GetOperationContext(ctx), satisfies: satisfies}
		m, ok := w.graph(fc.Field.Selections, g)
		if answered != nil {
			answered(ok)
		}
		if !ok {
			return res, nil
		}
		return m, nil
	}
}

// directFields are the fields lineageWriter writes, by type ("Node": those of every
// node type).
var directFields = map[string][]string{
	"LineageGraph": {"nodes", "edges", "truncated", "pageInfo"},
	"Node":         {"id", "kind", "name", "recordedAt", "recordedBy"},
	"LineageEdge":  {"from", "to", "type"},
	"PageInfo":     {"hasNextPage", "endCursor"},
}

// checkDirectFields makes sure the schema is the one lineageWriter was written for:
// every type in nodeTypes (lineageNodeTypes) is a node type of the schema named as its
// Go type, every node type of the schema is in it, and no field the writer writes
// carries a directive but @deprecated.
func checkDirectFields(schema *ast.Schema, nodeTypes map[reflect.Type]string) error {
	node := schema.Types["Node"]
	types := map[string]bool{}
	for _, def := range schema.GetPossibleTypes(node) {
		types[def.Name] = true
	}
	if len(types) != len(nodeTypes) {
		return fmt.Errorf("lineagedirect: the schema has %d node types, lineageNodeTypes %d", len(types), len(nodeTypes))
	}
	written := maps.Clone(directFields)
	for goType, name := range nodeTypes {
		if !types[name] || goType.Name() != name {
			return fmt.Errorf("lineagedirect: %s (model.%s) is not a node type of the schema", name, goType.Name())
		}
		written[name] = directFields["Node"]
	}
	delete(written, "Node")
	for typ, fields := range written {
		def := schema.Types[typ]
		for _, f := range fields {
			fd := def.Fields.ForName(f)
			if fd == nil {
				return fmt.Errorf("lineagedirect: %s has no field %s", typ, f)
			}
			for _, d := range fd.Directives {
				if d.Name != "deprecated" {
					return fmt.Errorf("lineagedirect: %s.%s carries @%s, which the writer would skip", typ, f, d.Name)
				}
			}
		}
	}
	return nil
}

// lineageWriter plans the writing of one lineage answer: each part's fields as gqlgen
// collects them, checked before anything is written.
type lineageWriter struct {
	oc        *graphql.OperationContext
	satisfies map[string][]string
}

// fieldWriter writes one field's value.
type fieldWriter struct {
	alias string
	write func(w io.Writer)
}

// graph returns the answer's writer, or false when gqlgen should write it.
func (lw *lineageWriter) graph(sel ast.SelectionSet, g *model.LineageGraph) (graphql.Marshaler, bool) {
	var fields []fieldWriter
	for _, f := range graphql.CollectFields(lw.oc, sel, []string{"LineageGraph"}) {
		if len(f.Deferrables) > 0 {
			return nil, false
		}
		var write func(io.Writer)
		switch f.Name {
		case "__typename":
			write = graphql.MarshalString("LineageGraph").MarshalGQL
		case "truncated":
			write = graphql.MarshalBoolean(g.Truncated).MarshalGQL
		case "nodes":
			nodes, ok := lw.nodes(f.Selections, g.Nodes)
			if !ok {
				return nil, false
			}
			write = nodes
		case "edges":
			edges, ok := lw.edges(f.Selections, g.Edges)
			if !ok {
				return nil, false
			}
			write = edges
		case "pageInfo":
			page, ok := lw.pageInfo(f.Selections, g.PageInfo)
			if !ok {
				return nil, false
			}
			write = page
		default:
			return nil, false
		}
		fields = append(fields, fieldWriter{f.Alias, write})
	}
	return graphql.WriterFunc(func(w io.Writer) { writeObject(w, fields) }), true
}

// nodes returns the writer of a node list whose selection reads only the fields every
// node has.
func (lw *lineageWriter) nodes(sel ast.SelectionSet, nodes []model.Node) (func(io.Writer), bool) {
	type plan struct {
		typ    string
		fields []graphql.CollectedField
	}
	plans := make([]plan, len(nodes))
	byType := map[string][]graphql.CollectedField{} // this selection's fields, per node type
	for i, n := range nodes {
		v := reflect.ValueOf(n)
		if !v.IsValid() || (v.Kind() == reflect.Pointer && v.IsNil()) {
			return nil, false
		}
		typ, ok := lineageNodeTypes[reflect.Indirect(v).Type()]
		if !ok {
			return nil, false
		}
		fields, ok := byType[typ]
		if !ok {
			if fields, ok = lw.coreFields(sel, typ); !ok {
				return nil, false
			}
			byType[typ] = fields
		}
		// A node fetched without its recordedAt (store.KeyAndKind) has none to write.
		if n.GetRecordedAt().IsZero() && slices.ContainsFunc(fields, func(f graphql.CollectedField) bool { return f.Name == "recordedAt" }) {
			return nil, false
		}
		plans[i] = plan{typ, fields}
	}
	return func(w io.Writer) {
		writeList(w, len(nodes), func(i int) {
			n, p := nodes[i], plans[i]
			io.WriteString(w, "{")
			for j, f := range p.fields {
				if j > 0 {
					io.WriteString(w, ",")
				}
				writeKey(w, f.Alias)
				switch f.Name {
				case "__typename":
					graphql.MarshalString(p.typ).MarshalGQL(w)
				case "id":
					graphql.MarshalID(n.GetID()).MarshalGQL(w)
				case "kind":
					n.GetKind().MarshalGQL(w)
				case "name":
					graphql.MarshalString(n.GetName()).MarshalGQL(w)
				case "recordedAt":
					graphql.MarshalTime(n.GetRecordedAt()).MarshalGQL(w)
				case "recordedBy":
					graphql.MarshalString(n.GetRecordedBy()).MarshalGQL(w)
				}
			}
			io.WriteString(w, "}")
		})
	}, true
}

// nodeCore are the fields of a node lineageWriter writes: those every node has.
var nodeCore = func() map[string]bool {
	m := map[string]bool{"__typename": true}
	for _, f := range directFields["Node"] {
		m[f] = true
	}
	return m
}()

// coreFields collects a node selection for a node type; false when it reads any field
// but the common ones.
func (lw *lineageWriter) coreFields(sel ast.SelectionSet, typ string) ([]graphql.CollectedField, bool) {
	fields := graphql.CollectFields(lw.oc, sel, lw.satisfies[typ])
	for _, f := range fields {
		if !nodeCore[f.Name] || len(f.Deferrables) > 0 {
			return nil, false
		}
	}
	return fields, true
}

// edges returns the writer of an edge list.
func (lw *lineageWriter) edges(sel ast.SelectionSet, edges []*model.LineageEdge) (func(io.Writer), bool) {
	fields := graphql.CollectFields(lw.oc, sel, []string{"LineageEdge"})
	for _, f := range fields {
		switch {
		case len(f.Deferrables) > 0:
			return nil, false
		case f.Name == "__typename", f.Name == "from", f.Name == "to", f.Name == "type":
		default:
			return nil, false
		}
	}
	for _, e := range edges {
		if e == nil {
			return nil, false
		}
	}
	return func(w io.Writer) {
		writeList(w, len(edges), func(i int) {
			e := edges[i]
			io.WriteString(w, "{")
			for j, f := range fields {
				if j > 0 {
					io.WriteString(w, ",")
				}
				writeKey(w, f.Alias)
				switch f.Name {
				case "__typename":
					graphql.MarshalString("LineageEdge").MarshalGQL(w)
				case "from":
					graphql.MarshalID(e.From).MarshalGQL(w)
				case "to":
					graphql.MarshalID(e.To).MarshalGQL(w)
				case "type":
					e.Type.MarshalGQL(w)
				}
			}
			io.WriteString(w, "}")
		})
	}, true
}

// pageInfo returns the writer of the answer's page info.
func (lw *lineageWriter) pageInfo(sel ast.SelectionSet, p *model.PageInfo) (func(io.Writer), bool) {
	if p == nil {
		return nil, false
	}
	var fields []fieldWriter
	for _, f := range graphql.CollectFields(lw.oc, sel, []string{"PageInfo"}) {
		var write func(io.Writer)
		switch {
		case len(f.Deferrables) > 0:
			return nil, false
		case f.Name == "__typename":
			write = graphql.MarshalString("PageInfo").MarshalGQL
		case f.Name == "hasNextPage":
			write = graphql.MarshalBoolean(p.HasNextPage).MarshalGQL
		case f.Name == "endCursor" && p.EndCursor == nil:
			write = graphql.Null.MarshalGQL
		case f.Name == "endCursor":
			write = graphql.MarshalString(*p.EndCursor).MarshalGQL
		default:
			return nil, false
		}
		fields = append(fields, fieldWriter{f.Alias, write})
	}
	return func(w io.Writer) { writeObject(w, fields) }, true
}

// writeObject writes fields as a JSON object, as gqlgen's FieldSet does.
func writeObject(w io.Writer, fields []fieldWriter) {
	io.WriteString(w, "{")
	for i, f := range fields {
		if i > 0 {
			io.WriteString(w, ",")
		}
		writeKey(w, f.alias)
		f.write(w)
	}
	io.WriteString(w, "}")
}

// writeKey writes an object key and its colon, quoted as gqlgen quotes it.
func writeKey(w io.Writer, key string) {
	graphql.MarshalString(key).MarshalGQL(w)
	io.WriteString(w, ":")
}

// writeList writes n elements as a JSON array, as gqlgen's Array does.
func writeList(w io.Writer, n int, element func(i int)) {
	io.WriteString(w, "[")
	for i := range n {
		if i > 0 {
			io.WriteString(w, ",")
		}
		element(i)
	}
	io.WriteString(w, "]")
}
