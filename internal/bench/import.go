package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/neo4j/neo4j-go-driver/v5/neo4j"

	"github.com/provgraph/provgraph/internal/importer"
	"github.com/provgraph/provgraph/internal/pipegraph"
	"github.com/provgraph/provgraph/store"
)

// `provgraph import` of issue 14's synthetic pipeline graph (internal/pipegraph, of
// --mlmd-endpoints endpoints, the graph the ML Metadata comparison loads), written to
// the pair of files `--pipegraph-files` writes: its raw dataset versions and processing
// jobs as OpenLineage NDJSON, and the rest (training jobs, model artifacts, model
// versions, endpoints) as PROV-JSON. Each run generates the graph under a fresh prefix,
// so it imports into the seeded graph without meeting an earlier run's nodes. The files
// are imported in that order (the document's edges name the versions the events
// recorded), through importer.Run as the command does, in batches of the default size;
// the rate counts the nodes and relationships the graph gained.
// importBatch is the batch size of the timed import (the command's default unless
// asked otherwise, to compare batch sizes).
var importBatch = flag.Int("import-batch", store.DefaultImportBatch, "batch size of the import section's `provgraph import`")

func importBench(ctx context.Context, st *store.Store, driver neo4j.DriverWithContext, db string) (string, error) {
	dir, err := os.MkdirTemp("", "provgraph-bench-import-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	prefix := "bench-import-" + strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	g, err := pipegraph.Generate(pipegraph.Plan{Endpoints: mlmdEndpoints, Seed: mlmdSeed, Prefix: prefix})
	if err != nil {
		return "", err
	}
	events, doc := filepath.Join(dir, "pipegraph.openlineage.ndjson"), filepath.Join(dir, "pipegraph.models.prov.json")
	if err := writeImportFiles(g, events, doc); err != nil {
		return "", err
	}
	nodes0, rels0, err := graphSize(ctx, driver, db)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("\n### `provgraph import`\n\n")
	fmt.Fprintf(&b, "The ML Metadata comparison's synthetic pipeline graph (%d endpoints: %d nodes and %d edges) "+
		"written as `go run ./internal/bench --pipegraph-files DIR` writes it: an OpenLineage NDJSON file (the raw dataset versions and processing jobs) "+
		"and a PROV-JSON document (training jobs, model artifacts, model versions, endpoints), "+
		"imported in that order through `importer.Run` (what `provgraph import` runs) in batches of %d, into the seeded graph. "+
		"Nodes and edges are what the graph gained (runs, datasets and their edges included); "+
		"the time of both is the sum of the files' times (the counts of the graph between them are not timed). "+
		"A file's time ends when its last batch committed; Neo4j updates the full-text index search reads after each commit, "+
		"and the last column is how long after that it held every node the file wrote.\n\n",
		mlmdEndpoints, len(g.Nodes), len(g.Edges), *importBatch)
	b.WriteString("| file | items | nodes + edges | time | nodes + edges per second | full-text index caught up after |\n|---|---|---|---|---|---|\n")
	var took time.Duration // the files' import times, not the counts between them
	totalNodes, totalRels := nodes0, rels0
	for _, f := range []struct{ format, file string }{{importer.FormatOpenLineage, events}, {importer.FormatPROVJSON, doc}} {
		began := time.Now()
		sum, err := importFile(ctx, st, f.format, f.file)
		if err != nil {
			return b.String(), err
		}
		if sum.Failed > 0 {
			return b.String(), fmt.Errorf("import %s: %d items failed", f.format, sum.Failed)
		}
		fileTook := time.Since(began)
		took += fileTook
		lag, err := indexCatchUp(ctx, driver, db)
		if err != nil {
			return b.String(), err
		}
		n, r, err := graphSize(ctx, driver, db)
		if err != nil {
			return b.String(), err
		}
		added := (n - totalNodes) + (r - totalRels)
		totalNodes, totalRels = n, r
		fmt.Fprintf(&b, "| %s | %d | %d | %.2f s | %.0f | %s |\n", f.format, sum.Read, added, fileTook.Seconds(), float64(added)/fileTook.Seconds(), ms(lag))
	}
	added := (totalNodes - nodes0) + (totalRels - rels0)
	fmt.Fprintf(&b, "| both | | %d | %.2f s | **%.0f** | |\n", added, took.Seconds(), float64(added)/took.Seconds())
	return b.String(), nil
}

func importFile(ctx context.Context, st *store.Store, format, file string) (importer.Summary, error) {
	src, err := importer.Open(ctx, format, file)
	if err != nil {
		return importer.Summary{}, err
	}
	defer src.Close()
	return importer.Run(ctx, st, src.Source, importer.Options{Fingerprint: src.Fingerprint, Name: file, Actor: "bench", BatchSize: *importBatch,
		RunsIn: importer.RunsExperiment(), Total: src.Total})
}

// indexCatchUp waits until the full-text index holds the updates of every committed
// transaction and returns how long that took.
func indexCatchUp(ctx context.Context, driver neo4j.DriverWithContext, db string) (time.Duration, error) {
	start := time.Now()
	_, err := neo4j.ExecuteQuery(ctx, driver, `CALL db.index.fulltext.awaitEventuallyConsistentIndexRefresh()`,
		nil, neo4j.EagerResultTransformer, neo4j.ExecuteQueryWithDatabase(db))
	return time.Since(start), err
}

// graphSize counts provenance nodes and all relationships (Neo4j's count store
// answers both).
func graphSize(ctx context.Context, driver neo4j.DriverWithContext, db string) (nodes, rels int64, err error) {
	res, err := neo4j.ExecuteQuery(ctx, driver, `MATCH (n:`+store.LabelNode+`) WITH count(n) AS nodes MATCH ()-[r]->() RETURN nodes, count(r) AS rels`,
		nil, neo4j.EagerResultTransformer, neo4j.ExecuteQueryWithDatabase(db))
	if err != nil {
		return 0, 0, err
	}
	n, _ := res.Records[0].Get("nodes")
	r, _ := res.Records[0].Get("rels")
	return n.(int64), r.(int64), nil
}

// writeImportFiles writes the pair of files `provgraph import` is timed on.
func writeImportFiles(g *pipegraph.Graph, events, doc string) error {
	f, err := os.Create(events)
	if err != nil {
		return err
	}
	_, err = g.WriteOpenLineage(f)
	if err := errors.Join(err, f.Close()); err != nil {
		return err
	}
	d, err := os.Create(doc)
	if err != nil {
		return err
	}
	return errors.Join(pipegraph.WriteProvJSON(d, g.ModelsLineage("bench")), d.Close())
}
