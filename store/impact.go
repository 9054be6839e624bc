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
	// Truncated is true when the downstream cone was larger than the node limit.
	Truncated bool
}

// ImpactedEndpoint is an endpoint downstream of the impacted data.
type ImpactedEndpoint struct {
	Endpoint Node
	// ServingNow lists the affected model versions the endpoint serves now, by ID;
	// empty when it served them only in the past.
	ServingNow []string
}

const cypherServingNow = `
UNWIND $endpoints AS k
MATCH (mv:` + LabelNode + `)-[d:` + RelDeployedTo + `]->(:` + LabelNode + ` {key: k})
WHERE d.to IS NULL AND mv.key IN $versions
RETURN k AS endpoint, collect(DISTINCT mv.key) AS versions`

// ImpactOf answers the data owner's question: "this dataset (version) must be deleted
// or was poisoned — which models and which live endpoints were derived from it?"
func (s *Store) ImpactOf(ctx context.Context, of string, maxDepth int) (Impact, error) {
	cone, err := s.Lineage(ctx, LineageQuery{
		Start: []string{of}, Direction: Downstream, MaxDepth: maxDepth,
		Kinds: []Kind{KindModelVersion, KindEndpoint},
	})
	if err != nil {
		return Impact{}, apperr.WithField(err, "start[0]", "of")
	}
	out := Impact{Truncated: cone.Truncated}
	var versions, endpoints []string
	for _, n := range cone.Nodes {
		switch {
		case n.Key == of:
		case n.Kind == KindModelVersion:
			out.ModelVersions = append(out.ModelVersions, n)
			versions = append(versions, n.Key)
		case n.Kind == KindEndpoint:
			out.Endpoints = append(out.Endpoints, ImpactedEndpoint{Endpoint: n})
			endpoints = append(endpoints, n.Key)
		}
	}
	if len(endpoints) == 0 {
		return out, nil
	}
	serving, err := read(ctx, s, func(tx neo4j.ManagedTransaction) (map[string][]string, error) {
		recs, err := collect(ctx, tx, cypherServingNow, map[string]any{"endpoints": endpoints, "versions": versions})
		if err != nil {
			return nil, fmt.Errorf("endpoints serving impacted versions: %w", err)
		}
		m := make(map[string][]string, len(recs))
		for _, r := range recs {
			e, _ := r.Get("endpoint")
			vs, _ := r.Get("versions")
			for _, v := range vs.([]any) {
				m[e.(string)] = append(m[e.(string)], v.(string))
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
