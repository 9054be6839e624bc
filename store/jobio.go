package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
)

// What a job or a run read and wrote: the one rule every surface links them by (the
// GraphQL jobs, a run's inputs and outputs, lineage reports, job reports).
//
//   - A dataset version (or artifact, or model version) a job read is INPUT_TO the job;
//     the job PRODUCED what it wrote. An edge carries who recorded it and when, and a
//     read may say how it was used (its context).
//   - Edges are only ever added, each once. Each edge is kept single by a lock the
//     caller holds on one of its ends: the job or run it links (created in this
//     transaction, or locked), or — for an edge to something just made — the node at
//     the other end, created in this transaction. An edge is created only when absent. It is not MERGEd,
//     because MERGE write-locks both ends, and input versions are shared by many jobs:
//     every reader of a popular table would wait for the others (commit cb251fc found
//     OpenLineage p99 at 9.7–24 s that way).
//   - Edges are written in one order — reads by version then job, writes by version
//     then job — so concurrent transactions take whatever locks creating them takes in
//     the same order.

// jobIO collects the edges one transaction adds.
type jobIO struct {
	reads, writes []ioEdge
	seen          map[ioEdge]bool
}

// ioEdge is one edge: node is what was read or written, job the job or run.
type ioEdge struct {
	node, job string
	read      bool
	// context says how a read was used ("training", "eval"), or "".
	context string
}

// read adds that job read node (with how it was used, or "").
func (io *jobIO) read(job, node, context string) {
	io.add(ioEdge{node: node, job: job, read: true, context: context})
}

// wrote adds that job wrote node.
func (io *jobIO) wrote(job, node string) { io.add(ioEdge{node: node, job: job}) }

// readAll and wroteAll add several nodes of one job.
func (io *jobIO) readAll(job string, nodes []string) {
	for _, n := range nodes {
		io.read(job, n, "")
	}
}

func (io *jobIO) wroteAll(job string, nodes []string) {
	for _, n := range nodes {
		io.wrote(job, n)
	}
}

func (io *jobIO) add(e ioEdge) {
	if io.seen == nil {
		io.seen = map[ioEdge]bool{}
	}
	k := e
	k.context = "" // one edge per pair, whatever its context
	if io.seen[k] {
		return
	}
	io.seen[k] = true
	if e.read {
		io.reads = append(io.reads, e)
	} else {
		io.writes = append(io.writes, e)
	}
}

func (io *jobIO) empty() bool { return len(io.reads)+len(io.writes) == 0 }

// cypherLinkJobIO adds the edges not there yet (see the rule above).
const cypherLinkJobIO = `
UNWIND $reads AS e
MATCH (v:` + LabelNode + ` {key: e.node}), (j:` + LabelNode + ` {key: e.job})
WHERE NOT EXISTS { (v)-[:` + RelInputTo + `]->(j) }
CREATE (v)-[r:` + RelInputTo + ` {recordedAt: datetime.transaction(), recordedBy: $actor}]->(j)
SET r.context = e.context
WITH count(*) AS _
UNWIND $writes AS e
MATCH (j:` + LabelNode + ` {key: e.job}), (v:` + LabelNode + ` {key: e.node})
WHERE NOT EXISTS { (j)-[:` + RelProduced + `]->(v) }
CREATE (j)-[:` + RelProduced + ` {recordedAt: datetime.transaction(), recordedBy: $actor}]->(v)`

// linkJobIO adds io's edges in one statement. For every edge, the caller holds the
// write lock of its job or run, or created the node at its other end in this
// transaction.
func linkJobIO(ctx context.Context, tx neo4j.ManagedTransaction, actor string, io jobIO) error {
	if io.empty() {
		return nil
	}
	rows := func(edges []ioEdge) []map[string]any {
		sorted := slices.Clone(edges)
		slices.SortFunc(sorted, func(a, b ioEdge) int { return cmp.Or(cmp.Compare(a.node, b.node), cmp.Compare(a.job, b.job)) })
		out := make([]map[string]any, len(sorted))
		for i, e := range sorted {
			var context any
			if e.context != "" {
				context = e.context
			}
			out[i] = map[string]any{"node": e.node, "job": e.job, "context": context}
		}
		return out
	}
	if _, err := collect(ctx, tx, cypherLinkJobIO, map[string]any{"reads": rows(io.reads), "writes": rows(io.writes), "actor": actor}); err != nil {
		return fmt.Errorf("link jobs to what they read and wrote: %w", err)
	}
	return nil
}
