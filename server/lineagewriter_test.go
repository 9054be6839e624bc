package server

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/provgraph/provgraph/graph"
	"github.com/provgraph/provgraph/graph/model"
	"github.com/provgraph/provgraph/resolvers"
)

// stubLineage answers `lineage` with a graph given by the test; every other field is
// the real resolvers' (which these tests never reach).
type stubLineage struct {
	*resolvers.Resolver
	g *model.LineageGraph
}

func (r stubLineage) Query() graph.QueryResolver { return stubQuery{r.Resolver.Query(), r.g} }

type stubQuery struct {
	graph.QueryResolver
	g *model.LineageGraph
}

func (q stubQuery) Lineage(context.Context, []string, model.LineageDirection, *int, []model.NodeKind, *time.Time, *int, *string) (*model.LineageGraph, error) {
	return q.g, nil
}

// stubHandler serves the schema with lineage answering g, through lineageDirect (direct)
// or through gqlgen alone.
func stubHandler(g *model.LineageGraph, direct bool, answered func(bool)) http.Handler {
	es := graph.NewExecutableSchema(graph.Config{
		Resolvers: stubLineage{&resolvers.Resolver{}, g},
		Directives: graph.DirectiveRoot{HasRole: func(ctx context.Context, _ any, next graphql.Resolver, _ model.Role) (any, error) {
			return next(ctx)
		}},
	})
	srv := handler.New(es)
	srv.AddTransport(transport.POST{})
	if direct {
		srv.AroundFields(lineageDirect(es.Schema(), answered))
	}
	return srv
}

func stubDo(t *testing.T, h http.Handler, query string) string {
	t.Helper()
	body, err := json.Marshal(map[string]any{"query": query})
	require.NoError(t, err)
	req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Body.String()
}

// A node of every Go type a lineage answer can hold, with awkward text.
func everyNodeType() []model.Node {
	at := time.Date(2026, 12, 4, 15, 4, 5, 123456789, time.FixedZone("CET", 3600))
	by := "token:ci \"runner\" \\ ✓"
	return []model.Node{
		&model.Artifact{ID: "artifact:s3://m/a", Kind: model.NodeKindArtifact, Name: "a<b>&c", RecordedAt: at, RecordedBy: by},
		&model.Dataset{ID: "dataset:s3://lake:x", Kind: model.NodeKindDataset, Name: "x\u2028y", RecordedAt: at, RecordedBy: by},
		&model.DatasetVersion{ID: "datasetVersion:s3://lake:x#1", Kind: model.NodeKindDatasetVersion, Name: "x", RecordedAt: at, RecordedBy: by},
		&model.Endpoint{ID: "endpoint:e", Kind: model.NodeKindEndpoint, Name: "é", RecordedAt: at, RecordedBy: by},
		&model.Experiment{ID: "experiment:1", Kind: model.NodeKindExperiment, Name: "exp", RecordedAt: at, RecordedBy: by},
		&model.ModelVersion{ID: "model:m/1", Kind: model.NodeKindModelVersion, Name: "m/1", RecordedAt: at, RecordedBy: by},
		&model.ProcessingJob{ID: "processingJob:n:p", Kind: model.NodeKindProcessingJob, Name: "p", RecordedAt: at, RecordedBy: by},
		&model.RegisteredModel{ID: "registeredModel:m", Kind: model.NodeKindRegisteredModel, Name: "m", RecordedAt: at, RecordedBy: by},
		&model.Run{ID: "run:r", Kind: model.NodeKindRun, Name: "r", RecordedAt: at, RecordedBy: by},
		&model.RunGroup{ID: "runGroup:g", Kind: model.NodeKindRunGroup, Name: "g", RecordedAt: at, RecordedBy: by},
		&model.TrainingJob{ID: "trainingJob:n:t", Kind: model.NodeKindTrainingJob, Name: "t", RecordedAt: at, RecordedBy: by},
	}
}

// For a node of every kind, the answer written directly is the one gqlgen writes; and
// the values gqlgen answers with an error (a nil node or edge, a node without a
// recording time, no page info) are left to it, which answers as before.
func TestLineageWriterWritesWhatGqlgenWrites(t *testing.T) {
	t.Parallel()
	cursor := "c"
	full := &model.LineageGraph{
		Nodes: everyNodeType(),
		Edges: []*model.LineageEdge{
			{From: "datasetVersion:s3://lake:x#1", To: "trainingJob:n:t", Type: model.LineageEdgeTypeInputTo},
			{From: "datasetVersion:s3://lake:x#1", To: "dataset:s3://lake:x", Type: model.LineageEdgeTypeVersionOf},
		},
		Truncated: true, PageInfo: &model.PageInfo{HasNextPage: true, EndCursor: &cursor},
	}
	const everything = `{ lineage(start: ["x"], direction: BOTH) { __typename truncated
  nodes { __typename id kind name recordedAt recordedBy ... on Node { k: kind } }
  edges { __typename from to type } pageInfo { __typename hasNextPage endCursor } } }`
	zeroTime := everyNodeType()
	zeroTime[3].(*model.Endpoint).RecordedAt = time.Time{}
	cases := []struct {
		name   string
		g      *model.LineageGraph
		query  string
		direct bool
	}{
		{"every kind of node", full, everything, true},
		{"no cursor, empty lists", &model.LineageGraph{Nodes: []model.Node{}, Edges: []*model.LineageEdge{}, PageInfo: &model.PageInfo{}}, everything, true},
		{"a nil node", &model.LineageGraph{Nodes: []model.Node{nil}, PageInfo: &model.PageInfo{}}, everything, false},
		{"a nil pointer node", &model.LineageGraph{Nodes: []model.Node{(*model.Run)(nil)}, PageInfo: &model.PageInfo{}}, everything, false},
		{"a node without a recording time", &model.LineageGraph{Nodes: zeroTime, PageInfo: &model.PageInfo{}}, everything, false},
		{"a nil edge", &model.LineageGraph{Edges: []*model.LineageEdge{nil}, PageInfo: &model.PageInfo{}}, everything, false},
		{"no page info", &model.LineageGraph{}, everything, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var direct []bool
			got := stubDo(t, stubHandler(tc.g, true, func(d bool) { direct = append(direct, d) }), tc.query)
			want := stubDo(t, stubHandler(tc.g, false, nil), tc.query)
			assert.Equal(t, want, got)
			assert.Equal(t, []bool{tc.direct}, direct, "written directly")
		})
	}
}

// The writer refuses a schema it was not written for: a directive on a field it writes
// (which it would skip), a node type it does not know.
func TestLineageWriterChecksTheSchema(t *testing.T) {
	t.Parallel()
	es := graph.NewExecutableSchema(graph.Config{Resolvers: &resolvers.Resolver{}})
	require.NoError(t, checkDirectFields(es.Schema(), lineageNodeTypes))

	withDirective := *es.Schema()
	withDirective.Types = maps.Clone(es.Schema().Types)
	edge := *withDirective.Types["LineageEdge"]
	edge.Fields = append(ast.FieldList{}, edge.Fields...)
	from := *edge.Fields.ForName("from")
	from.Directives = ast.DirectiveList{{Name: "hasRole"}}
	for i, f := range edge.Fields {
		if f.Name == "from" {
			edge.Fields[i] = &from
		}
	}
	withDirective.Types["LineageEdge"] = &edge
	assert.ErrorContains(t, checkDirectFields(&withDirective, lineageNodeTypes), "LineageEdge.from carries @hasRole")

	fewer := maps.Clone(lineageNodeTypes)
	delete(fewer, reflect.TypeFor[model.Run]())
	assert.ErrorContains(t, checkDirectFields(es.Schema(), fewer), "the schema has 11 node types, lineageNodeTypes 10")
	misnamed := maps.Clone(lineageNodeTypes)
	misnamed[reflect.TypeFor[model.Run]()] = "Ran"
	assert.ErrorContains(t, checkDirectFields(es.Schema(), misnamed), "Ran (model.Run) is not a node type")
}
