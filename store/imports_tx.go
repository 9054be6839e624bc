package store

import (
	"fmt"
	"maps"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"

	"github.com/provgraph/provgraph/apperr"
)

// The transaction of an import batch: take the marker (skip a committed batch), read
// what the records name, refuse what conflicts, then write with one UNWIND statement per
// node kind and edge type, record the reports, and advance the marker.

const (
	cypherImportProgress = `
MATCH (m:` + LabelImportMarker + ` {key: $key})
RETURN m.batch AS batch, m.batchSize AS batchSize, m.items AS items`

	// cypherImportMarker merges and write-locks the import's marker, so that two runs of
	// one import serialise on it.
	cypherImportMarker = `
MERGE (m:` + LabelImportMarker + ` {key: $key})
  ON CREATE SET m.source = $name, m.batchSize = $batchSize, m.batch = 0, m.items = 0, m.nodes = 0, m.edges = 0,
    m.startedAt = datetime.transaction(), m.startedBy = $actor
SET m._lock_ = true
REMOVE m._lock_
RETURN m.batch AS batch, m.items AS items`

	cypherImportAdvance = `
MATCH (m:` + LabelImportMarker + ` {key: $key})
SET m.batch = $batch, m.batchSize = $batchSize, m.items = m.items + $items, m.nodes = m.nodes + $nodes, m.edges = m.edges + $edges,
    m.updatedAt = datetime.transaction(), m.updatedBy = $actor`

	// cypherImportExisting returns the recorded nodes among the keys of node records,
	// with their properties, and among the other ends of edge records, with their kinds.
	cypherImportExisting = `
UNWIND $records AS k
MATCH (n:` + LabelNode + ` {key: k})
RETURN n.key AS key, n.kind AS kind, properties(n) AS props
UNION ALL
UNWIND $ends AS k
MATCH (n:` + LabelNode + ` {key: k})
RETURN n.key AS key, n.kind AS kind, null AS props`
)

// cypherImportNodes creates the nodes of one kind (the label is the kind's constant).
// The statements return nothing: what they created is read from the result's
// counters, so no flag is set and removed on each node (which made the planner
// buffer every row).
var cypherImportNodes = func() map[Kind]string {
	m := map[Kind]string{}
	for _, k := range Kinds {
		m[k] = `
UNWIND $rows AS row
MERGE (n:` + LabelNode + ` {key: row.key})
  ON CREATE SET n:` + string(k) + `, n += row.props, n.kind = '` + string(k) + `', n.name = row.name,
    n.recordedAt = coalesce(row.at, datetime.transaction()), n.recordedBy = coalesce(row.by, $actor)`
	}
	return m
}()

// cypherImportEdges creates the edges of one type; an imported deployment serves the
// default variant from its recordedAt on. An edge is never dated before its end nodes
// (lineage as of a time relies on it), whatever time its record gives.
var cypherImportEdges = func() map[string]string {
	m := map[string]string{}
	for _, t := range importEdgeTypes {
		deployment := ""
		if t == RelDeployedTo {
			deployment = `, r.` + propDeploymentID + ` = row.to + '#import:' + row.from, r.` + propVariant + ` = '` + DefaultVariant + `',
    r.` + propTrafficShare + ` = 1.0, r.` + propFrom + ` = at`
		}
		m[t] = `
UNWIND $rows AS row
MATCH (a:` + LabelNode + ` {key: row.from}), (b:` + LabelNode + ` {key: row.to})
WITH a, b, row, CASE WHEN row.at IS NULL THEN datetime.transaction()
  ELSE reduce(at = row.at, t IN [a.recordedAt, b.recordedAt] | CASE WHEN t > at THEN t ELSE at END) END AS at
MERGE (a)-[r:` + t + `]->(b)
  ON CREATE SET r.recordedAt = at, r.recordedBy = $actor` + deployment
	}
	return m
}()

// importTx records one batch inside its transaction.
type importTx struct {
	reportTx
	au *audit
}

// exec runs a statement that returns nothing and gives what it changed.
func (w importTx) exec(cypher, what string, params map[string]any) (neo4j.Counters, error) {
	params["actor"] = w.actor
	res, err := w.tx.Run(w.ctx, cypher, params)
	if err == nil {
		var sum neo4j.ResultSummary
		if sum, err = res.Consume(w.ctx); err == nil {
			return sum.Counters(), nil
		}
	}
	return nil, fmt.Errorf("%s: %w", what, err)
}

// importOutcome is what a batch's transaction wrote.
type importOutcome struct {
	nodes, edges int
	reports      []LineageRecord
}

func (w importTx) record(m ImportMark, b importBatch) (importOutcome, error) {
	key := importMarkerPrefix + m.Source
	recs, err := w.run(cypherImportMarker, "import marker", map[string]any{"key": key, "name": m.Name, "batchSize": m.BatchSize})
	if err != nil {
		return importOutcome{}, err
	}
	// The marker counts the items committed; a batch is placed by its first item, so
	// runs with different batch sizes cannot record an item twice or skip one.
	committed := intAt(recs[0], "items")
	switch {
	case committed >= m.First+int64(m.Items):
		return importOutcome{}, errBatchCommitted
	case committed != m.First:
		return importOutcome{}, apperr.Conflicting("batch", "starts at item %d, but the import's marker counts %d items committed: another run of this import, in batches of another size, is recording it; run again to resume", m.First+1, committed)
	}
	w.au.target(key)
	if err := w.refuseConflicts(b); err != nil {
		return importOutcome{}, err
	}
	var out importOutcome
	if out.nodes, err = w.writeNodes(b.nodes); err != nil {
		return out, err
	}
	if out.edges, err = w.writeEdges(b.edges); err != nil {
		return out, err
	}
	if err := w.linkRuns(b.nodes); err != nil {
		return out, err
	}
	if len(b.reports) > 0 {
		res, err := w.recordChunk(b.experiment, b.reports)
		if err != nil {
			return out, err
		}
		out.reports = res.records
		for _, r := range res.records {
			w.au.target(r.Job, r.Run, r.Parent, r.Version)
			w.au.target(r.Inputs...)
			w.au.target(r.Outputs...)
		}
	}
	_, err = w.run(cypherImportAdvance, "advance import marker", map[string]any{"key": key, "batch": m.Batch, "batchSize": m.BatchSize,
		"items": m.Items, "nodes": out.nodes, "edges": out.edges})
	return out, err
}

// refuseConflicts reads the nodes the records name and returns a *refusedRecords when
// a node record conflicts with what is recorded (or an earlier record of the batch),
// or an edge names a node neither recorded nor in the batch, or joins kinds its type
// does not allow.
func (w importTx) refuseConflicts(b importBatch) error {
	records, ends := map[string]bool{}, map[string]bool{}
	for _, n := range b.nodes {
		records[n.rec.Key] = true
	}
	for _, e := range b.edges {
		for _, k := range []string{e.rec.From, e.rec.To} {
			if !records[k] {
				ends[k] = true
			}
		}
	}
	if len(records)+len(ends) == 0 {
		return nil
	}
	recs, err := w.run(cypherImportExisting, "read imported nodes", map[string]any{"records": keyList(records), "ends": keyList(ends)})
	if err != nil {
		return err
	}
	known := map[string]Node{}
	for _, r := range recs {
		n := Node{}
		if props, _ := r.Get("props"); props != nil {
			n = nodeFromProps(props.(map[string]any))
		}
		key, _ := r.Get("key")
		kind, _ := r.Get("kind")
		n.Key, _ = key.(string)
		k, _ := kind.(string)
		n.Kind = Kind(k)
		known[n.Key] = n
	}
	refused := &refusedRecords{nodes: map[int]error{}, edges: map[int]error{}}
	for _, n := range b.nodes {
		if err := nodeConflict(known, n.rec); err != nil {
			refused.nodes[n.index] = err
			continue
		}
		if _, ok := known[n.rec.Key]; !ok { // later records of the key are compared with this one
			props := nodeRecordProps(n.rec)
			props[propName] = n.rec.Name
			known[n.rec.Key] = Node{Key: n.rec.Key, Kind: n.rec.Kind, Name: n.rec.Name, Props: props}
		}
	}
	for _, e := range b.edges {
		if err := edgeConflict(known, e.rec); err != nil {
			refused.edges[e.index] = err
		}
	}
	if len(refused.nodes)+len(refused.edges) > 0 {
		return refused
	}
	return nil
}

func keyList(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// statusProps are states a node moves through (a run's or job's status), not facts:
// a record whose status differs from the node's (an older backup) is no conflict, and
// the recorded status stays.
var statusProps = map[string]bool{"status": true}

// nodeConflict compares a node record with the node recorded under its key, if any.
func nodeConflict(known map[string]Node, n NodeRecord) error {
	have, ok := known[n.Key]
	if !ok {
		return nil
	}
	if have.Kind != n.Kind {
		return apperr.Conflicting("kind", "%q was already recorded as a %s, not a %s (recorded facts are immutable)",
			truncateForMessage(n.Key), have.Kind, n.Kind)
	}
	checks := []fieldCheck{{field: "name", prop: propName, want: n.Name}}
	for name, v := range n.Props {
		if !statusProps[name] {
			checks = append(checks, fieldCheck{field: "props." + name, prop: name, want: v})
		}
	}
	return firstConflict(have, string(n.Kind), checks)
}

func edgeConflict(known map[string]Node, e EdgeRecord) error {
	from, ok := known[e.From]
	if !ok {
		return apperr.New(apperr.NotFound, "from", "no node %q is recorded or in the batch", truncateForMessage(e.From))
	}
	to, ok := known[e.To]
	if !ok {
		return apperr.New(apperr.NotFound, "to", "no node %q is recorded or in the batch", truncateForMessage(e.To))
	}
	if !edgeKindsAllowed(e.Type, from.Kind, to.Kind) {
		return apperr.Conflicting("type", "a %s edge cannot join a %s to a %s", e.Type, from.Kind, to.Kind)
	}
	return nil
}

// nodeRecordProps are the properties a node record stores besides its fields: its own,
// and over them the ones its ID says, so that a record cannot store a version or a
// namespace its ID contradicts.
func nodeRecordProps(n NodeRecord) map[string]any {
	props := make(map[string]any, len(n.Props))
	maps.Copy(props, n.Props)
	maps.Copy(props, derivedProps(n.Kind, n.Key))
	return props
}

func optTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}

func optText(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (w importTx) writeNodes(nodes []indexed[NodeRecord]) (int, error) {
	byKind := map[Kind][]map[string]any{}
	seen := map[string]bool{}
	for _, n := range nodes {
		if seen[n.rec.Key] { // a repeat that agreed with the first record of its key
			continue
		}
		seen[n.rec.Key] = true
		byKind[n.rec.Kind] = append(byKind[n.rec.Kind], map[string]any{"key": n.rec.Key, "name": n.rec.Name,
			"props": nodeRecordProps(n.rec), "at": optTime(n.rec.RecordedAt), "by": optText(n.rec.RecordedBy)})
		w.au.target(n.rec.Key)
	}
	created := 0
	for _, k := range Kinds {
		if len(byKind[k]) == 0 {
			continue
		}
		c, err := w.exec(cypherImportNodes[k], "import "+string(k)+" nodes", map[string]any{"rows": byKind[k]})
		if err != nil {
			return 0, err
		}
		created += c.NodesCreated()
	}
	return created, nil
}

func (w importTx) writeEdges(edges []indexed[EdgeRecord]) (int, error) {
	byType := map[string][]map[string]any{}
	seen := map[EdgeRecord]bool{}
	for _, e := range edges {
		k := EdgeRecord{From: e.rec.From, To: e.rec.To, Type: e.rec.Type}
		if seen[k] { // the same edge again (another recordedAt changes nothing)
			continue
		}
		seen[k] = true
		byType[e.rec.Type] = append(byType[e.rec.Type], map[string]any{"from": e.rec.From, "to": e.rec.To, "at": optTime(e.rec.RecordedAt)})
		w.au.target(e.rec.From, e.rec.To)
	}
	created := 0
	for _, t := range importEdgeTypes {
		if len(byType[t]) == 0 {
			continue
		}
		c, err := w.exec(cypherImportEdges[t], fmt.Sprintf("import %s edges", t), map[string]any{"rows": byType[t]})
		if err != nil {
			return 0, err
		}
		created += c.RelationshipsCreated()
	}
	return created, nil
}
