package resolvers

import (
	"context"
	"time"

	"github.com/provgraph/provgraph/graph/model"
	"github.com/provgraph/provgraph/store"
)

// Mapping for search and the node listings.

// listing maps the arguments the node listings share. totalCount costs a count of the
// whole list, so it is asked for only when selected.
func listing(ctx context.Context, namespace, namePrefix *string, recordedSince *time.Time, first *int, after *string) store.Listing {
	return store.Listing{
		Namespace: namespace, NamePrefix: namePrefix, RecordedSince: recordedSince,
		First: deref(first, store.DefaultPageSize), After: deref(after, ""),
		CountTotal: selects(ctx, "totalCount"),
	}
}

func toSearchConnection(p store.SearchPage) (*model.SearchConnection, error) {
	out := &model.SearchConnection{Edges: []*model.SearchEdge{}, PageInfo: pageInfo(p.EndCursor), TotalCount: p.TotalCount}
	for _, h := range p.Hits {
		n, err := toNode(h.Node)
		if err != nil {
			return nil, err
		}
		out.Edges = append(out.Edges, &model.SearchEdge{Cursor: h.Cursor, Node: n, Score: h.Score})
	}
	return out, nil
}

// nodeEdges maps a listing's nodes to the edges of its connection type.
func nodeEdges[E any](p store.NodePage, edge func(cursor string, n store.Node) (E, error)) ([]E, error) {
	out := make([]E, 0, len(p.Nodes))
	for i, n := range p.Nodes {
		e, err := edge(p.Cursors[i], n)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

func toEndpointConnection(p store.NodePage) *model.EndpointConnection {
	edges, _ := nodeEdges(p, func(c string, n store.Node) (*model.EndpointEdge, error) {
		return &model.EndpointEdge{Cursor: c, Node: toEndpoint(n)}, nil
	})
	return &model.EndpointConnection{Edges: edges, PageInfo: pageInfo(p.EndCursor), TotalCount: p.TotalCount}
}

func toRegisteredModelConnection(p store.NodePage) *model.RegisteredModelConnection {
	edges, _ := nodeEdges(p, func(c string, n store.Node) (*model.RegisteredModelEdge, error) {
		return &model.RegisteredModelEdge{Cursor: c, Node: toRegisteredModel(n)}, nil
	})
	return &model.RegisteredModelConnection{Edges: edges, PageInfo: pageInfo(p.EndCursor), TotalCount: p.TotalCount}
}

func toDatasetConnection(p store.NodePage) *model.DatasetConnection {
	edges, _ := nodeEdges(p, func(c string, n store.Node) (*model.DatasetEdge, error) {
		return &model.DatasetEdge{Cursor: c, Node: toDataset(n)}, nil
	})
	return &model.DatasetConnection{Edges: edges, PageInfo: pageInfo(p.EndCursor), TotalCount: p.TotalCount}
}

func toJobConnection(p store.NodePage) (*model.JobConnection, error) {
	edges, err := nodeEdges(p, func(c string, n store.Node) (*model.JobEdge, error) {
		node, err := toNode(n)
		return &model.JobEdge{Cursor: c, Node: node}, err
	})
	if err != nil {
		return nil, err
	}
	return &model.JobConnection{Edges: edges, PageInfo: pageInfo(p.EndCursor), TotalCount: p.TotalCount}, nil
}
