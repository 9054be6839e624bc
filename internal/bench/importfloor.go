package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"

	"github.com/provgraph/provgraph/internal/pipegraph"
	"github.com/provgraph/provgraph/store"
)

// The import floor: what Neo4j itself takes, on this machine and database, to store
// the ML Metadata comparison's graph and nothing more — its nodes, then its edges,
// with one UNWIND statement per batch of importFloorBatch, each batch a transaction,
// one writer (as `provgraph import` writes a file's batches one after another), over
// Bolt from the benchmark's process. The nodes carry the OpenLineage floor's labels
// (olfloor.go), indexed as provgraph indexes its nodes. provgraph writes more for the
// same graph (the datasets and registered models its versions belong to, the runs and
// experiment of an import, audit entries, import markers), so it cannot import the
// graph faster than this with one writer.
const importFloorBatch = store.DefaultImportBatch

// cypherImportFloorNodes writes a batch of the graph's nodes; a property whose value is
// null is not stored.
const cypherImportFloorNodes = `
UNWIND $rows AS row
CREATE (:` + labelOLFloor + ` {key: row.key, kind: row.kind, name: row.name, namespace: row.namespace, version: row.version,
  uri: row.uri, recordedAt: datetime.transaction(), recordedBy: $actor})`

// cypherImportFloorEdges writes a batch of the graph's edges of one type (a
// relationship type cannot be a parameter): the statement for each provenance type.
var cypherImportFloorEdges = func() map[string]string {
	m := map[string]string{}
	for _, t := range []string{store.RelInputTo, store.RelProduced, store.RelRegisteredAs, store.RelDeployedTo} {
		m[t] = `
UNWIND $rows AS row
MATCH (a:` + labelOLFloor + ` {key: row.from}), (b:` + labelOLFloor + ` {key: row.to})
CREATE (a)-[:` + t + ` {recordedAt: datetime.transaction(), recordedBy: $actor}]->(b)`
	}
	return m
}()

// importFloorRow is n's row of cypherImportFloorNodes: the properties provgraph stores
// for it that the graph holds (a model version's number as its version), none empty.
func importFloorRow(prefix string, n pipegraph.Node) map[string]any {
	orNil := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	var version any = orNil(n.Version)
	if n.Kind == store.KindModelVersion {
		version = n.ModelVersion
	}
	return map[string]any{"key": prefix + n.ID, "kind": string(n.Kind), "name": n.Name, "namespace": orNil(n.Namespace),
		"version": version, "uri": orNil(n.URI)}
}

// importFloor writes g as the floor does, each node's ID after prefix (so that they
// meet neither provgraph's copy nor an earlier run's), and returns the time taken, from
// the first batch sent to the last committed.
func importFloor(ctx context.Context, driver neo4j.DriverWithContext, db string, g *pipegraph.Graph, prefix string) (time.Duration, error) {
	for _, stmt := range cypherOLFloorSchema {
		if _, err := neo4j.ExecuteQuery(ctx, driver, stmt, nil, neo4j.EagerResultTransformer, neo4j.ExecuteQueryWithDatabase(db)); err != nil {
			return 0, fmt.Errorf("import floor schema: %w", err)
		}
	}
	nodes := make([]map[string]any, len(g.Nodes))
	for i, n := range g.Nodes {
		nodes[i] = importFloorRow(prefix, n)
	}
	edges := map[string][]map[string]any{}
	for _, e := range g.Edges {
		edges[e.Type] = append(edges[e.Type], map[string]any{"from": prefix + g.Nodes[e.From].ID, "to": prefix + g.Nodes[e.To].ID})
	}
	write := func(cypher string, rows []map[string]any) error {
		for start := 0; start < len(rows); start += importFloorBatch {
			_, err := neo4j.ExecuteQuery(ctx, driver, cypher, map[string]any{"rows": rows[start:min(start+importFloorBatch, len(rows))], "actor": mlmdActor},
				neo4j.EagerResultTransformer, neo4j.ExecuteQueryWithDatabase(db))
			if err != nil {
				return fmt.Errorf("import floor: %w", err)
			}
		}
		return nil
	}
	start := time.Now()
	if err := write(cypherImportFloorNodes, nodes); err != nil {
		return 0, err
	}
	for _, t := range slices.Sorted(maps.Keys(edges)) {
		stmt, ok := cypherImportFloorEdges[t]
		if !ok {
			return 0, fmt.Errorf("import floor: no statement for edges of type %s", t)
		}
		if err := write(stmt, edges[t]); err != nil {
			return 0, err
		}
	}
	return time.Since(start), nil
}
