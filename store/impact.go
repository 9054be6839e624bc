package store

import (
	"context"
	"fmt"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"

	"github.com/provgraph/provgraph/apperr"
)

// Impact is what was derived from a dataset version (or a dataset): the model versions
// downstream of it and the endpoints they reached, flagged when they serve an
// affected version now.
type Impact struct {
	ModelVersions []Node
	Endpoints     []ImpactedEndpoint
	// Truncated is true when more follows on later pages, asked for with EndCursor.
	Truncated bool
	EndCursor string
}

// ImpactedEndpoint is an endpoint downstream of the impacted data.
type ImpactedEndpoint struct {
	Endpoint Node
	// ServingNow lists the affected model versions the endpoint serves now, by ID;
	// empty when it served them only in the past.
	ServingNow []Node
}

// ImpactQuery asks what was derived from a dataset version or dataset.
type ImpactQuery struct {
	Of       string
	MaxDepth int
	// Budget caps the model versions and endpoints of one answer; 0 means
	// DefaultImpactBudget, and MaxImpactBudget is the most. More come in pages.
	Budget int
	// After continues a paged answer: the EndCursor of the previous page.
	After string
}

// servingNowQueries[depth] finds, of some endpoints, the model versions each serves
// now that are downstream of $of (or of a version of it) within depth edges.
var servingNowQueries = func() (q [MaxLineageDepth + 1]string) {
	for depth := 1; depth <= MaxLineageDepth; depth++ {
		q[depth] = fmt.Sprintf(`UNWIND $endpoints AS k
MATCH (mv:%[1]s)-[d:%[2]s]->(:%[1]s {key: k})
WHERE d.to IS NULL AND EXISTS {
  MATCH (mv)<-[:%[3]s*1..%[4]d]-(s:%[1]s)
  WHERE s.key = $of OR (s)-[:%[5]s]->(:%[1]s {key: $of})
}
WITH k, mv ORDER BY mv.key
RETURN k AS endpoint, collect(DISTINCT mv {.*}) AS versions`, LabelNode, RelDeployedTo, provenancePattern, depth, RelVersionOf)
	}
	return q
}()

// ImpactOf answers the data owner's question: "this dataset (version) must be deleted
// or was poisoned — which models and which live endpoints were derived from it?"
func (s *Store) ImpactOf(ctx context.Context, q ImpactQuery) (Impact, error) {
	if err := CheckBudget("budget", q.Budget, MaxImpactBudget); err != nil {
		return Impact{}, err
	}
	budget := q.Budget
	if budget == 0 {
		budget = DefaultImpactBudget
	}
	if q.After == "" {
		budget++ // the first page holds the start node too
	}
	cone, err := s.Lineage(ctx, LineageQuery{
		Start: []string{q.Of}, Direction: Downstream, MaxDepth: q.MaxDepth,
		Kinds: []Kind{KindModelVersion, KindEndpoint}, Budget: budget, After: q.After, SkipEdges: true,
	})
	if err != nil {
		return Impact{}, apperr.WithField(err, "start[0]", "of")
	}
	out := Impact{Truncated: cone.Truncated, EndCursor: cone.EndCursor}
	var endpoints []string
	for _, n := range cone.Nodes {
		switch {
		case n.Key == q.Of:
		case n.Kind == KindModelVersion:
			out.ModelVersions = append(out.ModelVersions, n)
		case n.Kind == KindEndpoint:
			out.Endpoints = append(out.Endpoints, ImpactedEndpoint{Endpoint: n})
			endpoints = append(endpoints, n.Key)
		}
	}
	if len(endpoints) == 0 {
		return out, nil
	}
	// Whether an endpoint serves an affected version now does not depend on the page
	// that version is on: ask the graph, not this page.
	serving, err := read(ctx, s, func(tx neo4j.ManagedTransaction) (map[string][]Node, error) {
		recs, err := collect(ctx, tx, servingNowQueries[q.MaxDepth], map[string]any{"endpoints": endpoints, "of": q.Of})
		if err != nil {
			return nil, fmt.Errorf("endpoints serving impacted versions: %w", err)
		}
		m := make(map[string][]Node, len(recs))
		for _, r := range recs {
			e, _ := r.Get("endpoint")
			if m[e.(string)], err = nodesAt(r, "versions"); err != nil {
				return nil, err
			}
		}
		return m, nil
	})
	if err != nil {
		return Impact{}, err
	}
	for i := range out.Endpoints {
		out.Endpoints[i].ServingNow = serving[out.Endpoints[i].Endpoint.Key]
	}
	return out, nil
}
