package store

import (
	"context"
	"fmt"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
	"github.com/neo4j/neo4j-go-driver/v5/neo4j/dbtype"
)

// Node is one node of the provenance graph with all of its stored properties.
type Node struct {
	// Key is the node's readable ID, e.g. "dataset:s3://lake:customers".
	Key  string
	Kind Kind
	Name string
	// RecordedAt is the server time of the write that created the node.
	RecordedAt time.Time
	// RecordedBy is the actor of that write.
	RecordedBy string
	// Props holds every stored property, including the ones above.
	Props map[string]any
}

// Property names shared by every node.
const (
	propKey         = "key"
	propKind        = "kind"
	propName        = "name"
	propDisplayName = "displayName"
	propRecordedAt  = "recordedAt"
	propRecordedBy  = "recordedBy"
)

// String returns a string property, or "" when it is absent.
func (n Node) String(prop string) string {
	s, _ := n.Props[prop].(string)
	return s
}

// DisplayName is the name to show of an experiment created with a display name
// (ExperimentInput.DisplayName), else its name.
func (n Node) DisplayName() string {
	if d := n.String(propDisplayName); d != "" {
		return d
	}
	return n.Name
}

// OptString returns a string property, or nil when it is absent.
func (n Node) OptString(prop string) *string {
	if s, ok := n.Props[prop].(string); ok {
		return &s
	}
	return nil
}

// Int returns an integer property, or 0 when it is absent.
func (n Node) Int(prop string) int64 {
	v, _ := n.Props[prop].(int64)
	return v
}

// OptTime returns a time property, or nil when it is absent.
func (n Node) OptTime(prop string) *time.Time {
	if t, ok := n.Props[prop].(time.Time); ok {
		return &t
	}
	return nil
}

func nodeFrom(n dbtype.Node) Node { return nodeFromProps(n.Props) }

// nodeFromProps makes a Node of a node's property map (as `n {.*}` returns it).
func nodeFromProps(props map[string]any) Node {
	out := Node{Props: props}
	out.Key, _ = props[propKey].(string)
	kind, _ := props[propKind].(string)
	out.Kind = Kind(kind)
	out.Name, _ = props[propName].(string)
	out.RecordedAt, _ = props[propRecordedAt].(time.Time)
	out.RecordedBy, _ = props[propRecordedBy].(string)
	return out
}

// nodesAt reads column col of rec, a list of node property maps (`collect(n {.*})`).
func nodesAt(rec *neo4j.Record, col string) ([]Node, error) {
	list, _, err := neo4j.GetRecordValue[[]any](rec, col)
	if err != nil {
		return nil, fmt.Errorf("read node list column %q: %w", col, err)
	}
	out := make([]Node, 0, len(list))
	for i, v := range list {
		props, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("read node list column %q: element %d is %T, not a property map", col, i, v)
		}
		out = append(out, nodeFromProps(props))
	}
	return out, nil
}

// nodeAt reads the node in column col of rec.
func nodeAt(rec *neo4j.Record, col string) (Node, error) {
	n, _, err := neo4j.GetRecordValue[dbtype.Node](rec, col)
	if err != nil {
		return Node{}, fmt.Errorf("read node column %q: %w", col, err)
	}
	return nodeFrom(n), nil
}

const cypherNodeByKey = `MATCH (n:` + LabelNode + ` {key: $key}) RETURN n`

// NodeByID returns the node whose ID is id, or a NOT_FOUND error. A malformed id is
// an INVALID_ARGUMENT error about field.
func (s *Store) NodeByID(ctx context.Context, field, id string) (Node, error) {
	if _, err := KindsOfID(field, id); err != nil {
		return Node{}, err
	}
	return read(ctx, s, func(tx neo4j.ManagedTransaction) (Node, error) {
		return nodeByKey(ctx, tx, field, id)
	})
}

func nodeByKey(ctx context.Context, tx neo4j.ManagedTransaction, field, key string) (Node, error) {
	recs, err := collect(ctx, tx, cypherNodeByKey, map[string]any{"key": key})
	if err != nil {
		return Node{}, fmt.Errorf("look up node %q: %w", key, err)
	}
	if len(recs) == 0 {
		return Node{}, notFound(field, key)
	}
	return nodeAt(recs[0], "n")
}

// neighbours runs one of the constant neighbour queries below for the node with key
// and returns the nodes it yields as column n.
func (s *Store) neighbours(ctx context.Context, cypher, key string) ([]Node, error) {
	return read(ctx, s, func(tx neo4j.ManagedTransaction) ([]Node, error) {
		return neighboursTx(ctx, tx, cypher, key)
	})
}

func neighboursTx(ctx context.Context, tx neo4j.ManagedTransaction, cypher, key string) ([]Node, error) {
	recs, err := collect(ctx, tx, cypher, map[string]any{"key": key})
	if err != nil {
		return nil, fmt.Errorf("neighbours of %q: %w", key, err)
	}
	out := make([]Node, 0, len(recs))
	for _, r := range recs {
		n, err := nodeAt(r, "n")
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

const (
	cypherInputsOf = `MATCH (:` + LabelNode + ` {key: $key})<-[:` + RelInputTo + `]-(n:` + LabelNode + `)
RETURN DISTINCT n ORDER BY n.key`
	cypherOutputsOf = `MATCH (:` + LabelNode + ` {key: $key})-[:` + RelProduced + `]->(n:` + LabelNode + `)
RETURN DISTINCT n ORDER BY n.key`
	cypherParentOf = `MATCH (:` + LabelNode + ` {key: $key})-[:` + RelVersionOf + `]->(n:` + LabelNode + `)
RETURN n`
	cypherProducerOfModelVersion = `MATCH (:` + LabelNode + ` {key: $key})<-[:` + RelRegisteredAs + `]-(:` + LabelNode + `)
      <-[:` + RelProduced + `]-(n:` + LabelNode + `)
RETURN DISTINCT n ORDER BY n.key`
)

// InputsOf returns what the job with key read, ordered by ID.
func (s *Store) InputsOf(ctx context.Context, key string) ([]Node, error) {
	return s.neighbours(ctx, cypherInputsOf, key)
}

// OutputsOf returns what the job with key produced, ordered by ID.
func (s *Store) OutputsOf(ctx context.Context, key string) ([]Node, error) {
	return s.neighbours(ctx, cypherOutputsOf, key)
}

// ParentOf returns the dataset of a dataset version or the registered model of a model
// version.
func (s *Store) ParentOf(ctx context.Context, key string) (Node, error) {
	nodes, err := s.neighbours(ctx, cypherParentOf, key)
	if err != nil {
		return Node{}, err
	}
	if len(nodes) == 0 {
		// Every version is created with its parent in one transaction: a missing
		// parent means the graph was changed outside provgraph.
		return Node{}, fmt.Errorf("node %q has no %s parent", key, RelVersionOf)
	}
	return nodes[0], nil
}

// ProducersOfModelVersion returns the jobs that produced the artifact a model version
// was registered from, ordered by ID (usually one, none for an external artifact).
func (s *Store) ProducersOfModelVersion(ctx context.Context, key string) ([]Node, error) {
	return s.neighbours(ctx, cypherProducerOfModelVersion, key)
}
