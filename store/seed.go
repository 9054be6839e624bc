package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"

	"github.com/provgraph/provgraph/apperr"
)

// SeedPlan sizes a synthetic provenance graph for benchmarks and demos.
type SeedPlan struct {
	// Nodes is the approximate number of nodes to create; the graph is built from
	// pipelines of SeedNodesPerPipeline nodes each.
	Nodes int
	// Prefix starts every key, so several seeded graphs can share a database.
	Prefix string
	// Seed makes the graph reproducible.
	Seed uint64
}

// SeedNodesPerPipeline is the size of one synthetic pipeline: 2 raw datasets with 5
// monthly versions each, 10 processing jobs (fan-in of 2) writing 10 feature versions of
// 2 feature datasets, 20 training runs each reading 2-3 feature versions, their 20 model
// artifacts and 20 versions of 2 registered models, and 2 endpoints redeployed 10 times
// each over months (one deployment live per endpoint). Each pipeline has a use case (fraud,
// churn, …: SeedUseCases) its models and raw data are described and tagged with. Besides, every tenth pipeline's
// first processing job also reads one shared reference dataset version (SeedSharedKey),
// whose downstream cone spans those pipelines: the impact benchmark's start.
const SeedNodesPerPipeline = 98

// seedSharedEvery is how many pipelines share one reader of the reference dataset.
const seedSharedEvery = 10

// SeedSharedKey is the ID of the shared reference dataset version of a seeded graph.
func SeedSharedKey(prefix string) string {
	return DatasetVersionKey("s3://"+prefix+"-shared", "reference", "2025-1")
}

// SeedUseCases are what seeded pipelines are for, one per pipeline in turn: the words
// their models and data are described and tagged with, for search to find.
var SeedUseCases = []string{
	"fraud", "churn", "credit", "pricing", "demand", "ranking", "recommendation", "forecast",
	"anomaly", "sentiment", "segmentation", "lifetime", "risk", "retention", "claims",
	"underwriting", "vision", "speech", "translation", "marketing", "inventory", "logistics",
	"support", "moderation",
}

// seedBatch is how many rows one UNWIND write carries.
const seedBatch = 5000

// seedNodeQueries[kind] creates nodes of one kind from rows of properties.
var seedNodeQueries = func() map[Kind]string {
	m := map[Kind]string{}
	for _, k := range Kinds {
		m[k] = `UNWIND $rows AS row CREATE (n:` + LabelNode + `:` + string(k) + `) SET n = row`
	}
	return m
}()

// seedEdgeQueries[type] creates relationships of one type between existing nodes.
var seedEdgeQueries = func() map[string]string {
	m := map[string]string{}
	for _, t := range append([]string{RelVersionOf}, ProvenanceRelTypes...) {
		m[t] = `UNWIND $rows AS row
MATCH (a:` + LabelNode + ` {key: row.from}), (b:` + LabelNode + ` {key: row.to})
CREATE (a)-[r:` + t + `]->(b) SET r = row.props`
	}
	return m
}()

type seedNode struct {
	kind  Kind
	props map[string]any
}

type seedEdge struct {
	typ      string
	from, to string
	props    map[string]any
}

// Seed builds the planned graph with batched UNWIND writes, calling progress after each
// batch with the nodes and relationships written so far. The nodes look like what the
// API records (same kinds, keys and properties), so every query works on them.
func (s *Store) Seed(ctx context.Context, plan SeedPlan, progress func(nodes, rels int)) (nodes, rels int, err error) {
	if plan.Nodes < SeedNodesPerPipeline {
		return 0, 0, apperr.Invalid("nodes", "must be at least %d (one pipeline)", SeedNodesPerPipeline)
	}
	if err := checkText("prefix", plan.Prefix, 64); err != nil {
		return 0, 0, err
	}
	first := DatasetKey("s3://"+plan.Prefix+"-raw-0", "source-0")
	exists, err := read(ctx, s, func(tx neo4j.ManagedTransaction) (bool, error) {
		recs, err := collect(ctx, tx, cypherNodeByKey, map[string]any{"key": first})
		return len(recs) > 0, err
	})
	if err != nil {
		return 0, 0, err
	}
	if exists {
		return 0, 0, apperr.Conflicting("prefix", "a graph with prefix %q was seeded already; choose another prefix", plan.Prefix)
	}
	rng := rand.New(rand.NewPCG(plan.Seed, plan.Seed^0x9e3779b97f4a7c15))
	pipelines := plan.Nodes / SeedNodesPerPipeline
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var pendingNodes []seedNode
	var pendingEdges []seedEdge
	flush := func(force bool) error {
		if len(pendingNodes) < seedBatch*4 && !force {
			return nil
		}
		n, err := s.writeSeedNodes(ctx, pendingNodes)
		nodes += n
		if err != nil {
			return err
		}
		r, err := s.writeSeedEdges(ctx, pendingEdges)
		rels += r
		pendingNodes, pendingEdges = pendingNodes[:0], pendingEdges[:0]
		if progress != nil {
			progress(nodes, rels)
		}
		return err
	}
	for p := range pipelines {
		ns, es := seedPipeline(plan.Prefix, p, base, rng)
		pendingNodes = append(pendingNodes, ns...)
		pendingEdges = append(pendingEdges, es...)
		if err := flush(false); err != nil {
			return nodes, rels, err
		}
	}
	return nodes, rels, flush(true)
}

func (s *Store) writeSeedNodes(ctx context.Context, ns []seedNode) (int, error) {
	byKind := map[Kind][]map[string]any{}
	for _, n := range ns {
		byKind[n.kind] = append(byKind[n.kind], n.props)
	}
	written := 0
	for _, k := range Kinds {
		rows := byKind[k]
		for len(rows) > 0 {
			batch := rows[:min(seedBatch, len(rows))]
			rows = rows[len(batch):]
			if _, err := write(ctx, s, SystemActor, ActionSeed, func(tx neo4j.ManagedTransaction, au *audit) (struct{}, error) {
				_, err := collect(ctx, tx, seedNodeQueries[k], map[string]any{"rows": batch})
				return struct{}{}, err
			}); err != nil {
				return written, fmt.Errorf("seed %s nodes: %w", k, err)
			}
			written += len(batch)
		}
	}
	return written, nil
}

func (s *Store) writeSeedEdges(ctx context.Context, es []seedEdge) (int, error) {
	byType := map[string][]map[string]any{}
	for _, e := range es {
		byType[e.typ] = append(byType[e.typ], map[string]any{"from": e.from, "to": e.to, "props": e.props})
	}
	written := 0
	for _, t := range append([]string{RelVersionOf}, ProvenanceRelTypes...) {
		rows := byType[t]
		for len(rows) > 0 {
			batch := rows[:min(seedBatch, len(rows))]
			rows = rows[len(batch):]
			if _, err := write(ctx, s, SystemActor, ActionSeed, func(tx neo4j.ManagedTransaction, au *audit) (struct{}, error) {
				_, err := collect(ctx, tx, seedEdgeQueries[t], map[string]any{"rows": batch})
				return struct{}{}, err
			}); err != nil {
				return written, fmt.Errorf("seed %s edges: %w", t, err)
			}
			written += len(batch)
		}
	}
	return written, nil
}

// seedPipeline generates one pipeline's nodes and edges, stage by stage as its data
// flows: raw data, features prepared from it, models trained on the features, and the
// endpoints that served them. The stages share the random source, so their order
// fixes the graph for a seed.
func seedPipeline(prefix string, p int, base time.Time, rng *rand.Rand) ([]seedNode, []seedEdge) {
	g := &pipelineSeed{prefix: prefix, p: p, ps: strconv.Itoa(p), base: base, rng: rng}
	g.useCase = SeedUseCases[p%len(SeedUseCases)]
	if p == 0 {
		g.sharedReference()
	}
	raw := g.rawData()
	feat := g.features(raw)
	versions := g.training(feat, g.models())
	g.endpoints(versions)
	return g.nodes, g.edges
}

// pipelineSeed collects the nodes and edges of one seeded pipeline.
type pipelineSeed struct {
	prefix  string
	p       int
	ps      string // p as a string, for keys and names
	useCase string
	base    time.Time
	rng     *rand.Rand
	nodes   []seedNode
	edges   []seedEdge
}

// at is the time of a pipeline's day: days from the base, spread by pipeline.
func (g *pipelineSeed) at(day int) time.Time {
	return g.base.Add(time.Duration(day)*24*time.Hour + time.Duration(g.p%86400)*time.Second)
}

// node adds a node recorded on day with the extra properties, and returns its key.
func (g *pipelineSeed) node(kind Kind, key, name string, day int, extra map[string]any) string {
	props := map[string]any{propKey: key, propKind: string(kind), propName: name, propRecordedAt: g.at(day), propRecordedBy: "seed"}
	for k, v := range extra {
		props[k] = v
	}
	g.nodes = append(g.nodes, seedNode{kind, props})
	return key
}

// edge adds an edge recorded on day with the extra properties.
func (g *pipelineSeed) edge(typ, from, to string, day int, extra map[string]any) {
	props := map[string]any{propRecordedAt: g.at(day), propRecordedBy: "seed"}
	for k, v := range extra {
		props[k] = v
	}
	g.edges = append(g.edges, seedEdge{typ, from, to, props})
}

// sharedReference adds the reference dataset version that every seedSharedEvery-th
// pipeline reads (pipeline 0 holds it).
func (g *pipelineSeed) sharedReference() {
	sharedNS := "s3://" + g.prefix + "-shared"
	ds := g.node(KindDataset, DatasetKey(sharedNS, "reference"), "reference", 0, map[string]any{propNamespace: sharedNS, propURI: sharedNS + "/reference"})
	v := g.node(KindDatasetVersion, SeedSharedKey(g.prefix), "reference", 0, map[string]any{propNamespace: sharedNS,
		propURI: sharedNS + "/reference/2025-1", propVersion: "2025-1", propVersionID: "2025-1", propDigest: "sha256:5eed"})
	g.edge(RelVersionOf, v, ds, 0, nil)
}

// rawData adds two source datasets of five monthly versions each, and returns the
// versions' keys.
func (g *pipelineSeed) rawData() []string {
	rawNS := "s3://" + g.prefix + "-raw-" + g.ps
	var raw []string
	for d := range 2 {
		name := "source-" + strconv.Itoa(d)
		ds := g.node(KindDataset, DatasetKey(rawNS, name), name, 0, map[string]any{propNamespace: rawNS, propURI: rawNS + "/" + name})
		for m := range 5 {
			v := "2025-" + strconv.Itoa(m+1)
			key := g.node(KindDatasetVersion, DatasetVersionKey(rawNS, name, v), name, m*30,
				map[string]any{propNamespace: rawNS, propURI: rawNS + "/" + name + "/" + v, propVersion: v, propVersionID: v,
					propDigest:      fmt.Sprintf("sha256:%016x", g.rng.Uint64()),
					propDescription: fmt.Sprintf("Raw %s data of pipeline %d: source %d, month %d of 2025", g.useCase, g.p, d, m+1)})
			g.edge(RelVersionOf, key, ds, m*30, nil)
			raw = append(raw, key)
		}
	}
	return raw
}

// features adds two feature datasets of five monthly versions each, every version
// prepared by a processing job from two raw versions (and, in some pipelines, the
// shared reference), and returns the versions' keys.
func (g *pipelineSeed) features(raw []string) []string {
	featNS := "s3://" + g.prefix + "-features-" + g.ps
	jobNS := "airflow-" + g.prefix + "-" + g.ps
	var feat []string
	for d := range 2 {
		name := "features-" + strconv.Itoa(d)
		ds := g.node(KindDataset, DatasetKey(featNS, name), name, 1, map[string]any{propNamespace: featNS, propURI: featNS + "/" + name})
		for m := range 5 {
			i := d*5 + m
			v := "2025-" + strconv.Itoa(m+1)
			key := g.node(KindDatasetVersion, DatasetVersionKey(featNS, name, v), name, m*30+1,
				map[string]any{propNamespace: featNS, propURI: featNS + "/" + name + "/" + v, propVersion: v, propVersionID: v,
					propDigest: fmt.Sprintf("sha256:%016x", g.rng.Uint64())})
			g.edge(RelVersionOf, key, ds, m*30+1, nil)
			job := g.node(KindProcessingJob, JobKey(jobNS, "prepare-"+strconv.Itoa(i)), "prepare-"+strconv.Itoa(i), m*30+1,
				map[string]any{propNamespace: jobNS, propStatus: string(JobCompleted)})
			g.edge(RelInputTo, raw[m], job, m*30+1, nil)
			if i == 0 && g.p%seedSharedEvery == 0 {
				g.edge(RelInputTo, SeedSharedKey(g.prefix), job, m*30+1, nil)
			}
			g.edge(RelInputTo, raw[5+(m+d)%5], job, m*30+1, nil)
			g.edge(RelProduced, job, key, m*30+1, nil)
			feat = append(feat, key)
		}
	}
	return feat
}

// models adds the pipeline's two registered models and returns their keys.
func (g *pipelineSeed) models() []string {
	models := []string{}
	for mi := range 2 {
		name := g.prefix + "-model-" + g.ps + "-" + strconv.Itoa(mi)
		models = append(models, g.node(KindRegisteredModel, RegisteredModelKey(name), name, 2, map[string]any{propLatestVersion: int64(10),
			propDescription: fmt.Sprintf("The %s model of pipeline %d, variant %d", g.useCase, g.p, mi),
			propTagKeys:     []string{"use-case"}, propTagValues: []string{g.useCase}}))
	}
	return models
}

// training adds twenty training jobs, each reading two or three feature versions and
// producing a model artifact registered as the next version of one of the models, and
// returns the model versions' keys in training order.
func (g *pipelineSeed) training(feat, models []string) []string {
	var versions []string
	for r := range 20 {
		day := 30 + r*12
		jobName := "train-" + strconv.Itoa(r)
		ns0 := "sagemaker-" + g.prefix + "-" + g.ps
		hyper := fmt.Sprintf(`{"eta":"%.3f","max_depth":"%d"}`, 0.01+g.rng.Float64()/10, 3+g.rng.IntN(8))
		job := g.node(KindTrainingJob, JobKey(ns0, jobName), jobName, day, map[string]any{
			propNamespace: ns0, propStatus: string(JobCompleted), propInstanceType: "ml.m5.xlarge",
			propCodeVersion: fmt.Sprintf("%07x", g.rng.Uint32()&0xfffffff), propHyperParameters: hyper})
		reads := 2 + g.rng.IntN(2)
		for k := range reads {
			g.edge(RelInputTo, feat[(r+k*3)%len(feat)], job, day, nil)
		}
		uri := "s3://" + g.prefix + "-models-" + g.ps + "/" + jobName + "/model.tar.gz"
		art := g.node(KindArtifact, ArtifactKey(uri), "model.tar.gz", day, map[string]any{propURI: uri})
		g.edge(RelProduced, job, art, day, nil)
		mi := r % 2
		v := int64(r/2 + 1)
		model := g.prefix + "-model-" + g.ps + "-" + strconv.Itoa(mi)
		mv := g.node(KindModelVersion, ModelVersionKey(model, v), model+"/"+strconv.FormatInt(v, 10), day,
			map[string]any{propModel: model, propVersion: v, propSource: uri,
				propDescription: fmt.Sprintf("%s model trained by %s", g.useCase, jobName),
				propTagKeys:     []string{"use-case"}, propTagValues: []string{g.useCase}})
		g.edge(RelVersionOf, mv, models[mi], day, nil)
		g.edge(RelRegisteredAs, art, mv, day, nil)
		versions = append(versions, mv)
	}
	return versions
}

// endpoints adds two endpoints, each deployed ten times in a row, a model version
// after another, the last deployment still serving.
func (g *pipelineSeed) endpoints(versions []string) {
	for e := range 2 {
		name := g.prefix + "-endpoint-" + g.ps + "-" + strconv.Itoa(e)
		key := g.node(KindEndpoint, EndpointKey(name), name, 45, map[string]any{"deploymentCount": int64(10)})
		for k := range 10 {
			from := g.at(45 + k*24)
			props := map[string]any{propDeploymentID: key + "#" + strconv.Itoa(k+1), propVariant: DefaultVariant, propTrafficShare: 1.0, propFrom: from}
			if k < 9 {
				props[propTo] = g.at(45 + (k+1)*24)
			}
			g.edge(RelDeployedTo, versions[e+2*k], key, 45+k*24, props)
		}
	}
}
