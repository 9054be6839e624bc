package store

import (
	"context"
	"fmt"
	"sort"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
	"github.com/neo4j/neo4j-go-driver/v5/neo4j/dbtype"

	"github.com/provgraph/provgraph/apperr"
)

// Path is one provenance path, from its upstream end to its downstream end.
type Path struct {
	Nodes []Node
	Edges []Edge
}

// MaxPaths is the most paths one paths question returns.
const MaxPaths = 100

// pathQueries[depth] finds the shortest downstream paths from any of $froms to any of
// $tos, at most depth edges long. As with cones, the bound must be a literal, so there
// is one constant query per depth.
var pathQueries = func() (q [MaxLineageDepth + 1]string) {
	for depth := 1; depth <= MaxLineageDepth; depth++ {
		q[depth] = fmt.Sprintf(`MATCH (a:%[1]s) WHERE a.key IN $froms
MATCH (b:%[1]s) WHERE b.key IN $tos
MATCH p = allShortestPaths((a)-[:%[2]s*1..%[3]d]->(b))
RETURN nodes(p) AS nodes, relationships(p) AS rels
ORDER BY length(p) LIMIT $limit`, LabelNode, provenancePattern, depth)
	}
	return q
}()

// PathsBetween answers "how does from reach to?": the shortest provenance paths between
// the two nodes, each oriented downstream (data-flow order). When to is upstream of
// from, the paths from to to from are returned. A dataset or registered model stands
// for its versions, as in Lineage. No path within maxDepth gives an empty list.
func (s *Store) PathsBetween(ctx context.Context, from, to string, maxDepth int) ([]Path, error) {
	if _, err := KindsOfID("from", from); err != nil {
		return nil, err
	}
	if _, err := KindsOfID("to", to); err != nil {
		return nil, err
	}
	if maxDepth < 1 || maxDepth > MaxLineageDepth {
		return nil, apperr.Invalid("maxDepth", "must be between 1 and %d (got %d)", MaxLineageDepth, maxDepth)
	}
	if from == to {
		return nil, apperr.Invalid("to", "must differ from from")
	}
	return read(ctx, s, func(tx neo4j.ManagedTransaction) ([]Path, error) {
		froms, err := standIns(ctx, tx, "from", from)
		if err != nil {
			return nil, err
		}
		tos, err := standIns(ctx, tx, "to", to)
		if err != nil {
			return nil, err
		}
		paths, err := shortestPaths(ctx, tx, froms, tos, maxDepth)
		if err != nil || len(paths) > 0 {
			return paths, err
		}
		return shortestPaths(ctx, tx, tos, froms, maxDepth)
	})
}

// standIns returns the keys a node stands for in a path question: its versions for a
// dataset or registered model, else itself. An unknown key is NOT_FOUND.
func standIns(ctx context.Context, tx neo4j.ManagedTransaction, field, key string) ([]string, error) {
	n, err := nodeByKey(ctx, tx, field, key)
	if err != nil {
		return nil, err
	}
	if n.Kind != KindDataset && n.Kind != KindRegisteredModel {
		return []string{key}, nil
	}
	recs, err := collect(ctx, tx, cypherVersionsOf, map[string]any{"keys": []string{key}, "limit": MaxLineageNodes, "asOf": nil, "recordedBy": nil})
	if err != nil {
		return nil, fmt.Errorf("versions of %q: %w", key, err)
	}
	out := make([]string, 0, len(recs))
	for _, r := range recs {
		v, err := nodeAt(r, "v")
		if err != nil {
			return nil, err
		}
		out = append(out, v.Key)
	}
	return out, nil
}

// shortestPaths returns the paths of the least length among all pairs, ordered by
// their node IDs, at most MaxPaths.
func shortestPaths(ctx context.Context, tx neo4j.ManagedTransaction, froms, tos []string, maxDepth int) ([]Path, error) {
	if len(froms) == 0 || len(tos) == 0 {
		return nil, nil
	}
	recs, err := collect(ctx, tx, pathQueries[maxDepth], map[string]any{"froms": froms, "tos": tos, "limit": MaxPaths})
	if err != nil {
		return nil, fmt.Errorf("shortest paths: %w", err)
	}
	var out []Path
	for _, r := range recs {
		rawNodes, _ := r.Get("nodes")
		rawRels, _ := r.Get("rels")
		var p Path
		byID := map[string]string{}
		for _, v := range rawNodes.([]any) {
			n := nodeFrom(v.(dbtype.Node))
			byID[v.(dbtype.Node).ElementId] = n.Key
			p.Nodes = append(p.Nodes, n)
		}
		for _, v := range rawRels.([]any) {
			rel := v.(dbtype.Relationship)
			p.Edges = append(p.Edges, Edge{From: byID[rel.StartElementId], To: byID[rel.EndElementId], Type: rel.Type})
		}
		if len(out) > 0 && len(p.Edges) > len(out[0].Edges) {
			break // ordered by length: the rest are longer
		}
		out = append(out, p)
	}
	sort.SliceStable(out, func(i, j int) bool { return pathKey(out[i]) < pathKey(out[j]) })
	return out, nil
}

func pathKey(p Path) string {
	var k string
	for _, n := range p.Nodes {
		k += n.Key + "\x00"
	}
	return k
}
