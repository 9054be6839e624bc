package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/neo4j/neo4j-go-driver/v5/neo4j"

	"github.com/provgraph/provgraph/store"
)

// The OpenLineage floor: what Neo4j itself takes, on this machine and database, to
// store what provgraph stores for the benchmark's RunEvents, sent the least Cypher
// there is for it — one UNWIND statement per batch, straight over Bolt, with no HTTP,
// parsing, checks, version lookups, locks or audit sequencing in the way. For each
// event it writes what provgraph's graph holds after it (store/lineagereports_batch.go):
// the run (with its inputs and outputs listed, in its experiment, executed by its job),
// the output's dataset and its version (a version of the dataset, produced by the
// job), the job merged and linked once to each input it reads; and for each batch one
// audit node listing up to store.MaxAuditTargets targets (provgraph's pending audit
// entry, which its sequencer integrates later). An input seen for the first time is
// created with its key, kind and version alone, where provgraph also records its
// dataset: the 200 tables a run of the benchmark reads, once. Its nodes carry labels of
// their own, indexed as provgraph indexes its nodes (the unique key, name and key, the
// full-text index updated after commits, runs by experiment), so that they take the
// same index work without joining provgraph's graph: nothing provgraph serves reads them.
//
// A second floor, whose nodes (labelled labelOLFloorBare) have no full-text index,
// shows what that index costs.
const (
	labelOLFloor        = "BenchOLFloor"
	labelOLFloorBare    = "BenchOLFloorBare"
	labelOLFloorRun     = "BenchOLFloorRun"
	labelOLFloorJob     = "BenchOLFloorJob"
	labelOLFloorDataset = "BenchOLFloorDataset"
	labelOLFloorVersion = "BenchOLFloorVersion"
	labelOLFloorAudit   = "BenchOLFloorAudit"
)

// olFloorLabels are the base labels of the two floors: with the full-text index, and
// without it.
var olFloorLabels = [2]string{labelOLFloor, labelOLFloorBare}

// cypherOLFloorSchema mirrors, for the floor's labels, the indexes provgraph keeps on
// its nodes (store: node_key, node_name_key, node_search_async, run_experiment); the
// bare floor's nodes get all but the full-text index.
var cypherOLFloorSchema = []string{
	`CREATE CONSTRAINT bench_ol_floor_key IF NOT EXISTS FOR (n:` + labelOLFloor + `) REQUIRE n.key IS UNIQUE`,
	`CREATE INDEX bench_ol_floor_name_key IF NOT EXISTS FOR (n:` + labelOLFloor + `) ON (n.name, n.key)`,
	`CREATE CONSTRAINT bench_ol_floor_bare_key IF NOT EXISTS FOR (n:` + labelOLFloorBare + `) REQUIRE n.key IS UNIQUE`,
	`CREATE INDEX bench_ol_floor_bare_name_key IF NOT EXISTS FOR (n:` + labelOLFloorBare + `) ON (n.name, n.key)`,
	`CREATE INDEX bench_ol_floor_run_experiment IF NOT EXISTS FOR (n:` + labelOLFloorRun + `) ON (n.experimentId)`,
	`CREATE FULLTEXT INDEX bench_ol_floor_search IF NOT EXISTS FOR (n:` + labelOLFloor + `)
ON EACH [n.name, n.namespace, n.uri, n.experimentId, n.runId, n.kind, n.lifecycle]
OPTIONS {indexConfig: {` + "`fulltext.analyzer`" + `: 'standard-no-stop-words', ` + "`fulltext.eventually_consistent`" + `: true}}`,
	`CALL db.awaitIndexes(300)`,
}

// olFloorStatements are the floor's statements for its nodes of base label base
// (labelOLFloor, or labelOLFloorBare for the floor without the full-text index): the
// experiment's, and a batch's. A batch's statement merges its jobs once each, in key
// order; writes each event; then links each job to each input it reads once, the pairs
// in order, adding an edge only where none is (as provgraph links a chunk's jobs to
// their inputs: store/jobio.go).
func olFloorStatements(base string) (experiment, batch string) {
	experiment = `MERGE (x:` + base + ` {key: $key})
  ON CREATE SET x.kind = '` + string(store.KindExperiment) + `', x.name = $key, x.experimentId = $key,
    x.lifecycle = '` + string(store.LifecycleActive) + `', x.recordedAt = datetime.transaction(), x.recordedBy = $actor`
	batch = `
MATCH (x:` + base + ` {key: $experiment})
CREATE (:` + labelOLFloorAudit + ` {at: datetime.transaction(), actor: $actor, parts: $parts})
WITH x
CALL {
  UNWIND $jobs AS job
  MERGE (j:` + base + ` {key: job.key})
    ON CREATE SET j:` + labelOLFloorJob + `, j.kind = '` + string(store.KindProcessingJob) + `', j.name = job.name, j.namespace = $ns,
      j.recordedAt = datetime.transaction(), j.recordedBy = $actor
}
UNWIND $events AS e
MATCH (j:` + base + ` {key: e.job})
CREATE (r:` + base + `:` + labelOLFloorRun + ` {key: e.run, kind: '` + string(store.KindRun) + `', name: e.jobName, runId: e.runId,
  experimentId: x.experimentId, status: '` + string(store.RunFinished) + `', startTime: e.at, endTime: e.at,
  lifecycle: '` + string(store.LifecycleActive) + `', inputs: e.inputs, outputs: [e.out], recordedAt: datetime.transaction(), recordedBy: $actor})
CREATE (r)-[:` + store.RelInExperiment + `]->(x)
CREATE (r)-[:` + store.RelExecutedBy + ` {recordedAt: datetime.transaction(), recordedBy: $actor}]->(j)
CREATE (d:` + base + `:` + labelOLFloorDataset + ` {key: e.dataset, kind: '` + string(store.KindDataset) + `', name: e.outName, namespace: $ns,
  uri: e.uri, recordedAt: datetime.transaction(), recordedBy: $actor})
CREATE (v:` + base + `:` + labelOLFloorVersion + ` {key: e.out, kind: '` + string(store.KindDatasetVersion) + `', name: e.outName, namespace: $ns,
  uri: e.uri, version: e.version, recordedSeq: e.seq, recordedAsOutput: true, recordedAt: datetime.transaction(), recordedBy: $actor})
CREATE (v)-[:` + store.RelVersionOf + `]->(d)
CREATE (j)-[:` + store.RelProduced + ` {recordedAt: datetime.transaction(), recordedBy: $actor}]->(v)
WITH count(*) AS _
UNWIND $links AS link
MATCH (j:` + base + ` {key: link.job})
MERGE (i:` + base + ` {key: link.input})
  ON CREATE SET i:` + labelOLFloorVersion + `, i.kind = '` + string(store.KindDatasetVersion) + `', i.namespace = $ns,
    i.version = '` + store.Unversioned + `', i.recordedAt = datetime.transaction(), i.recordedBy = $actor
WITH i, j WHERE NOT EXISTS { (i)-[:` + store.RelInputTo + `]->(j) }
CREATE (i)-[:` + store.RelInputTo + ` {recordedAt: datetime.transaction(), recordedBy: $actor}]->(j)`
	return experiment, batch
}

// olFloorBatches makes a client's batches of olBatches' events, as the rows of
// olFloorStatements' batch: 50 jobs per client, each event reading two of 200 tables
// all clients share and writing a table of the client's own. IDs are provgraph's for
// the same events.
func olFloorBatches(ns string, client, events int) [][]map[string]any {
	var batches [][]map[string]any
	for start := 0; start < events; start += olBatchSize {
		rows := make([]map[string]any, 0, olBatchSize)
		for i := start; i < min(start+olBatchSize, events); i++ {
			runID := strings.ReplaceAll(uuid.NewString(), "-", "") // as provgraph keys a run of an OpenLineage UUID
			out := fmt.Sprintf("client_%d.out_%d", client, i)
			job := fmt.Sprintf("client_%d.job_%d", client, i%50)
			version := "run:" + runID // the version a run writes (store.ReportLineage)
			rows = append(rows, map[string]any{
				"job": store.JobKey(ns, job), "jobName": job, "run": store.RunKey(runID), "runId": runID, "at": time.Now().UTC(),
				"inputs": []string{
					store.DatasetVersionKey(ns, fmt.Sprintf("table_%d", i%200), store.Unversioned),
					store.DatasetVersionKey(ns, fmt.Sprintf("table_%d", (i+1)%200), store.Unversioned)},
				"dataset": store.DatasetKey(ns, out), "out": store.DatasetVersionKey(ns, out, version), "version": version,
				"outName": out, "uri": ns + "/" + out, "seq": int64(i - start),
			})
		}
		batches = append(batches, rows)
	}
	return batches
}

// olFloorJobs are the jobs of a batch's events, each once, in key order.
func olFloorJobs(rows []map[string]any) []map[string]any {
	names := map[string]string{}
	for _, r := range rows {
		names[r["job"].(string)] = r["jobName"].(string)
	}
	jobs := make([]map[string]any, 0, len(names))
	for _, k := range slices.Sorted(maps.Keys(names)) {
		jobs = append(jobs, map[string]any{"key": k, "name": names[k]})
	}
	return jobs
}

// olFloorLinks are the (input, job) pairs of a batch's events, each once, in order.
func olFloorLinks(rows []map[string]any) []map[string]any {
	seen := map[[2]string]bool{}
	for _, r := range rows {
		for _, in := range r["inputs"].([]string) {
			seen[[2]string{in, r["job"].(string)}] = true
		}
	}
	pairs := slices.SortedFunc(maps.Keys(seen), func(a, b [2]string) int { return cmp.Or(strings.Compare(a[0], b[0]), strings.Compare(a[1], b[1])) })
	links := make([]map[string]any, len(pairs))
	for i, p := range pairs {
		links[i] = map[string]any{"input": p[0], "job": p[1]}
	}
	return links
}

// olFloorParts is the audit node's list of a batch's targets, as provgraph's audit
// entries list them (at most store.MaxAuditTargets).
func olFloorParts(rows []map[string]any) string {
	var targets []string
	count := 0
	for _, r := range rows {
		for _, k := range append([]string{r["job"].(string), r["run"].(string)}, append(r["inputs"].([]string), r["out"].(string))...) {
			if count++; len(targets) < store.MaxAuditTargets {
				targets = append(targets, k)
			}
		}
	}
	b, _ := json.Marshal([]map[string]any{{"action": "lineage.report", "targets": targets, "targetCount": count}})
	return string(b)
}

// olFloor writes each client's batches as nodes of base label base (see
// olFloorStatements), the clients concurrently (each batch one transaction, as
// ExecuteQuery runs it), and returns the events written a second.
func olFloor(ctx context.Context, driver neo4j.DriverWithContext, db, base, ns string, perClient [][][]map[string]any) (float64, error) {
	cypherExperiment, cypherBatch := olFloorStatements(base)
	exec := func(cypher string, params map[string]any) error {
		_, err := neo4j.ExecuteQuery(ctx, driver, cypher, params, neo4j.EagerResultTransformer, neo4j.ExecuteQueryWithDatabase(db))
		return err
	}
	for _, stmt := range cypherOLFloorSchema {
		if err := exec(stmt, nil); err != nil {
			return 0, fmt.Errorf("openlineage floor schema: %w", err)
		}
	}
	experiment := "experiment:" + ns
	if err := exec(cypherExperiment, map[string]any{"key": experiment, "actor": "bench"}); err != nil {
		return 0, fmt.Errorf("openlineage floor experiment: %w", err)
	}
	errs := make([]error, len(perClient))
	events := 0
	for _, batches := range perClient {
		for _, b := range batches {
			events += len(b)
		}
	}
	var wg sync.WaitGroup
	start := time.Now()
	for c, batches := range perClient {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, rows := range batches {
				err := exec(cypherBatch, map[string]any{"experiment": experiment, "ns": ns, "actor": "bench",
					"jobs": olFloorJobs(rows), "events": rows, "links": olFloorLinks(rows), "parts": olFloorParts(rows)})
				if err != nil {
					errs[c] = fmt.Errorf("openlineage floor: %w", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	for _, err := range errs {
		if err != nil {
			return 0, err
		}
	}
	return float64(events) / took.Seconds(), nil
}
