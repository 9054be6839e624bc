package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/neo4j/neo4j-go-driver/v5/neo4j"

	"github.com/provgraph/provgraph/export"
	"github.com/provgraph/provgraph/internal/importer"
	"github.com/provgraph/provgraph/store"
)

// `provgraph import` of a synthetic pipeline graph of issue 14's shape, written to
// files first: per pipeline, 20 dataset versions joined by 9 processing jobs (job k
// reads versions 2k and 2k+1 and writes 2k+2 and 2k+3) as OpenLineage COMPLETE events
// with pinned versions, one NDJSON line each; and in a PROV-JSON document a training
// job reading the last two versions and producing two model artifacts, registered as
// two versions of one model, both deployed to one endpoint. 1,000 pipelines make 20k
// dataset versions, 10k jobs, 2k model versions and 1k endpoints, chains of 22 edges.
// The files are imported in that order (the document's edges name the versions the
// events recorded), through importer.Run as the command does, in batches of the
// default size; the rate counts the nodes and relationships the graph gained.
const (
	importPipelines     = 1000
	importVersions      = 20 // dataset versions per pipeline
	importJobsPerChain  = 9  // processing jobs per pipeline
	importModelVersions = 2  // per pipeline
)

func importBench(ctx context.Context, st *store.Store, driver neo4j.DriverWithContext, db string) (string, error) {
	dir, err := os.MkdirTemp("", "provgraph-bench-import-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	tk := strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	events, doc := filepath.Join(dir, "events.ndjson"), filepath.Join(dir, "models.prov.json")
	if err := writeImportEvents(events, tk); err != nil {
		return "", err
	}
	if err := writeImportDocument(doc, tk); err != nil {
		return "", err
	}
	nodes0, rels0, err := graphSize(ctx, driver, db)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("\n### `provgraph import`\n\n")
	fmt.Fprintf(&b, "A synthetic pipeline graph (%d pipelines: %d dataset versions, %d processing and %d training jobs, %d model versions, %d endpoints) "+
		"written to an OpenLineage NDJSON file (one COMPLETE event per processing job run) and a PROV-JSON document (training jobs, artifacts, models, deployments), "+
		"imported in that order through `importer.Run` (what `provgraph import` runs) in batches of %d, into the seeded graph. "+
		"Nodes and edges are what the graph gained (runs, datasets and their edges included).\n\n",
		importPipelines, importPipelines*importVersions, importPipelines*importJobsPerChain, importPipelines, importPipelines*importModelVersions,
		importPipelines, store.DefaultImportBatch)
	b.WriteString("| file | items | nodes + edges | time | nodes + edges per second |\n|---|---|---|---|---|\n")
	start := time.Now()
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
		took := time.Since(began)
		n, r, err := graphSize(ctx, driver, db)
		if err != nil {
			return b.String(), err
		}
		added := (n - totalNodes) + (r - totalRels)
		totalNodes, totalRels = n, r
		fmt.Fprintf(&b, "| %s | %d | %d | %.2f s | %.0f |\n", f.format, sum.Read, added, took.Seconds(), float64(added)/took.Seconds())
	}
	took := time.Since(start)
	added := (totalNodes - nodes0) + (totalRels - rels0)
	fmt.Fprintf(&b, "| both | | %d | %.2f s | **%.0f** |\n", added, took.Seconds(), float64(added)/took.Seconds())
	return b.String(), nil
}

func importFile(ctx context.Context, st *store.Store, format, file string) (importer.Summary, error) {
	src, err := importer.Open(ctx, format, file)
	if err != nil {
		return importer.Summary{}, err
	}
	defer src.Close()
	return importer.Run(ctx, st, src.Source, importer.Options{Fingerprint: src.Fingerprint, Name: file, Actor: "bench",
		RunsIn: importer.RunsExperiment(), Total: src.Total})
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

func importNamespace(tk string, p int) string { return fmt.Sprintf("bench-import-%s-%d", tk, p) }

func writeImportEvents(file, tk string) error {
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for p := range importPipelines {
		ns := importNamespace(tk, p)
		ds := func(i int) map[string]any {
			return map[string]any{"namespace": ns, "name": fmt.Sprintf("table_%d", i),
				"facets": map[string]any{"version": map[string]any{"datasetVersion": "v1"}}}
		}
		for k := range importJobsPerChain {
			at = at.Add(time.Second)
			if err := enc.Encode(map[string]any{
				"eventType": "COMPLETE", "eventTime": at.Format(time.RFC3339Nano),
				"run":       map[string]any{"runId": uuid.NewString()},
				"job":       map[string]any{"namespace": ns, "name": fmt.Sprintf("prep_%d", k)},
				"inputs":    []any{ds(2 * k), ds(2*k + 1)},
				"outputs":   []any{ds(2*k + 2), ds(2*k + 3)},
				"producer":  "https://github.com/provgraph/provgraph/internal/bench",
				"schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
			}); err != nil {
				return err
			}
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}

// writeImportDocument writes the PROV-JSON document of the pipelines' models, as
// provgraph exports one.
func writeImportDocument(file, tk string) error {
	entity, activity := map[string]any{}, map[string]any{}
	relations := map[string]map[string]any{"used": {}, "wasGeneratedBy": {}, "wasDerivedFrom": {}, "specializationOf": {}}
	at := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC).Format(time.RFC3339Nano)
	qn := func(key string) string { return "pg:" + url.PathEscape(key) }
	node := func(section map[string]any, key string, kind store.Kind, name string) {
		section[qn(key)] = map[string]any{export.ProvAttrID: key, "prov:type": export.ProvKindPrefix + string(kind), "prov:label": name,
			export.ProvAttrRecordedAt: at, export.ProvAttrRecordedBy: "bench"}
	}
	edge := 0
	rel := func(section string, attrs map[string]any) {
		edge++
		attrs[export.ProvAttrRecordedAt] = at
		relations[section][fmt.Sprintf("_:e%d", edge)] = attrs
	}
	for p := range importPipelines {
		ns := importNamespace(tk, p)
		job := store.JobKey(ns, "train")
		node(activity, job, store.KindTrainingJob, "train")
		for i := importVersions - 2; i < importVersions; i++ {
			rel("used", map[string]any{"prov:activity": qn(job), "prov:entity": qn(store.DatasetVersionKey(ns, fmt.Sprintf("table_%d", i), "v1"))})
		}
		model, endpoint := store.RegisteredModelKey(ns), store.EndpointKey(ns)
		node(entity, model, store.KindRegisteredModel, ns)
		node(entity, endpoint, store.KindEndpoint, ns)
		for v := 1; v <= importModelVersions; v++ {
			art, mv := store.ArtifactKey(fmt.Sprintf("s3://%s/model-%d", ns, v)), store.ModelVersionKey(ns, int64(v))
			node(entity, art, store.KindArtifact, fmt.Sprintf("model-%d", v))
			node(entity, mv, store.KindModelVersion, fmt.Sprintf("%s/%d", ns, v))
			rel("wasGeneratedBy", map[string]any{"prov:entity": qn(art), "prov:activity": qn(job)})
			rel("wasDerivedFrom", map[string]any{"prov:generatedEntity": qn(mv), "prov:usedEntity": qn(art), "prov:type": export.ProvRegistration})
			rel("specializationOf", map[string]any{"prov:specificEntity": qn(mv), "prov:generalEntity": qn(model)})
			rel("wasDerivedFrom", map[string]any{"prov:generatedEntity": qn(endpoint), "prov:usedEntity": qn(mv), "prov:type": export.ProvDeployment})
		}
	}
	doc := map[string]any{"prefix": map[string]string{"pg": "urn:provgraph:"}, "entity": entity, "activity": activity}
	for k, v := range relations {
		doc[k] = v
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	return os.WriteFile(file, b, 0o600)
}
