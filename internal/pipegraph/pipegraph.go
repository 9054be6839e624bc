// Package pipegraph generates the synthetic pipeline graph the benchmark compares
// provgraph with Google's ML Metadata on, deterministically from a seed: raw dataset
// versions refined by processing jobs through up to eight stages, training jobs that
// read one stage's outputs and produce model artifacts, model versions registered from
// those artifacts and endpoints that serve them. At full size (Plan.Endpoints 1000) it
// has 20,000 dataset versions, 10,000 processing and training jobs, 2,000 model
// artifacts, 2,000 model versions and 1,000 endpoints, and its longest chain, from a
// raw dataset version to an endpoint, is 20 edges. Every count is a multiple of the
// number of endpoints, so a smaller Plan is the same graph scaled down.
//
// The graph is held in provgraph's terms (node IDs, kinds and provenance edges) and can
// be seeded into a store (Seed), written as OpenLineage NDJSON and as PROV-JSON
// (WriteOpenLineage, WriteProvJSON) for `provgraph import`, and walked upstream in
// memory (Upstream), which is what both stores' answers are checked against.
package pipegraph

import (
	"fmt"
	"math/rand/v2"

	"github.com/provgraph/provgraph/store"
)

// The shape of the graph, per endpoint.
const (
	// Stages is the number of processing stages: a processing job of stage s reads
	// dataset versions of layer s-1 and writes two of layer s (layer 0 is raw data).
	Stages = 8
	// SourcesPerEndpoint is the raw dataset versions (layer 0) per endpoint.
	SourcesPerEndpoint = 4
	// OutputsPerProcessingJob is the dataset versions each processing job writes.
	OutputsPerProcessingJob = 2
	// ModelVersionsPerEndpoint is the model versions deployed to each endpoint, each
	// trained by a training job of its own.
	ModelVersionsPerEndpoint = 2
	// MinReads and MaxReads bound the dataset versions a job reads.
	MinReads = 2
	MaxReads = 3
	// window is how far (in dataset versions either side) a job's reads stray from
	// its own position in the layer below: pipelines share data with their
	// neighbours, not with the whole lake.
	window = 16
	// FullEndpoints is the full-size graph's number of endpoints.
	FullEndpoints = 1000
)

// MaxChain is the longest chain of edges the graph holds: a raw dataset version, two
// edges per stage, then a training job, its model artifact, a model version and the
// endpoint.
const MaxChain = 2*Stages + 4

// Plan says which graph to generate.
type Plan struct {
	// Endpoints scales the graph; FullEndpoints is the full size.
	Endpoints int
	// Seed makes the graph: the same Plan gives the same graph.
	Seed uint64
	// Prefix goes into every name, so graphs of different prefixes share no node.
	Prefix string
}

// Node is a node of the graph, with what provgraph identifies it by.
type Node struct {
	ID   string
	Kind store.Kind
	// Namespace and Name are a dataset version's dataset or a job's; Name is a
	// model version's registered model or an endpoint's name.
	Namespace, Name string
	// Version is a dataset version's version; ModelVersion a model version's number.
	Version      string
	ModelVersion int64
	// URI is where a dataset version or a model artifact lives.
	URI string
}

// Edge is a provenance edge between two nodes, by index into Graph.Nodes.
type Edge struct {
	From, To int
	Type     string
}

// Job is a job with the nodes it read and wrote, by index into Graph.Nodes.
type Job struct {
	Node    int
	Reads   []int
	Writes  []int
	Stage   int
	Creates int // a training job's model artifact, else -1
}

// Deployment is a model version with the artifact it was registered from and the
// endpoint it serves, by index into Graph.Nodes.
type Deployment struct {
	ModelVersion, Artifact, Job, Endpoint int
}

// Graph is a generated graph.
type Graph struct {
	Plan    Plan
	Nodes   []Node
	Edges   []Edge
	Sources []int
	// ProcessingJobs are in stage order, so every job comes after the jobs that
	// wrote what it reads.
	ProcessingJobs []Job
	TrainingJobs   []Job
	// Deployments are by endpoint, each endpoint's model versions in version order.
	Deployments []Deployment
	Endpoints   []int
	index       map[string]int
	// in lists each node's upstream neighbours (the From of its edges).
	in [][]int
}

// Generate makes the graph of p.
func Generate(p Plan) (*Graph, error) {
	if p.Endpoints < 1 {
		return nil, fmt.Errorf("pipegraph: endpoints must be at least 1 (got %d)", p.Endpoints)
	}
	if p.Prefix == "" {
		return nil, fmt.Errorf("pipegraph: prefix must not be empty")
	}
	g := &Graph{Plan: p, index: map[string]int{}}
	rng := rand.New(rand.NewPCG(p.Seed, p.Seed^0x9e3779b97f4a7c15))
	lake := "s3://" + p.Prefix + "-lake"
	dataset := func(layer, i int) int {
		name := fmt.Sprintf("l%d/d%05d", layer, i)
		return g.add(Node{ID: store.DatasetVersionKey(lake, name, "1"), Kind: store.KindDatasetVersion,
			Namespace: lake, Name: name, Version: "1", URI: lake + "/" + name})
	}
	e := p.Endpoints
	layers := make([][]int, Stages+1)
	for i := range SourcesPerEndpoint * e {
		layers[0] = append(layers[0], dataset(0, i))
	}
	g.Sources = layers[0]
	for s := 1; s <= Stages; s++ {
		for i := range e {
			name := fmt.Sprintf("s%d-process-%05d", s, i)
			job := Job{Node: g.add(Node{ID: store.JobKey(p.Prefix, name), Kind: store.KindProcessingJob, Namespace: p.Prefix, Name: name}),
				Stage: s, Creates: -1, Reads: pickReads(rng, layers[s-1], i, e)}
			for k := range OutputsPerProcessingJob {
				out := dataset(s, OutputsPerProcessingJob*i+k)
				layers[s] = append(layers[s], out)
				job.Writes = append(job.Writes, out)
			}
			g.link(job)
			g.ProcessingJobs = append(g.ProcessingJobs, job)
		}
	}
	for i := range e {
		g.Endpoints = append(g.Endpoints, g.add(Node{ID: store.EndpointKey(fmt.Sprintf("%s-endpoint-%04d", p.Prefix, i)), Kind: store.KindEndpoint,
			Name: fmt.Sprintf("%s-endpoint-%04d", p.Prefix, i)}))
	}
	for t := range ModelVersionsPerEndpoint * e {
		ep := t / ModelVersionsPerEndpoint
		// A training job reads one stage's outputs, the later stages more often:
		// the chains from raw data to an endpoint run from 6 to MaxChain edges.
		stage := Stages - rng.IntN(rng.IntN(Stages)+1)
		name := fmt.Sprintf("train-%05d", t)
		uri := "s3://" + p.Prefix + "-models/" + name + "/model.tar.gz"
		art := g.add(Node{ID: store.ArtifactKey(uri), Kind: store.KindArtifact, Name: "model.tar.gz", URI: uri})
		job := Job{Node: g.add(Node{ID: store.JobKey(p.Prefix, name), Kind: store.KindTrainingJob, Namespace: p.Prefix, Name: name}),
			Stage: stage, Creates: art, Writes: []int{art}, Reads: pickReads(rng, layers[stage], ep, e)}
		g.link(job)
		g.TrainingJobs = append(g.TrainingJobs, job)
		model := fmt.Sprintf("%s-model-%04d", p.Prefix, ep)
		version := int64(t%ModelVersionsPerEndpoint + 1)
		mv := g.add(Node{ID: store.ModelVersionKey(model, version), Kind: store.KindModelVersion, Name: model, ModelVersion: version})
		g.Edges = append(g.Edges, Edge{art, mv, store.RelRegisteredAs}, Edge{mv, g.Endpoints[ep], store.RelDeployedTo})
		g.Deployments = append(g.Deployments, Deployment{ModelVersion: mv, Artifact: art, Job: job.Node, Endpoint: g.Endpoints[ep]})
	}
	g.in = make([][]int, len(g.Nodes))
	for _, e := range g.Edges {
		g.in[e.To] = append(g.in[e.To], e.From)
	}
	return g, nil
}

// pickReads picks 1 to MaxReads distinct dataset versions of layer near position i of
// n (the reader's place among its peers).
func pickReads(rng *rand.Rand, layer []int, i, n int) []int {
	center := i * len(layer) / n
	want := MinReads + rng.IntN(MaxReads-MinReads+1)
	var reads []int
	for len(reads) < want {
		d := layer[((center+rng.IntN(2*window+1)-window)%len(layer)+len(layer))%len(layer)]
		if !contains(reads, d) {
			reads = append(reads, d)
		}
		if len(reads) == len(layer) {
			break
		}
	}
	return reads
}

func contains(s []int, x int) bool {
	for _, y := range s {
		if y == x {
			return true
		}
	}
	return false
}

func (g *Graph) add(n Node) int {
	g.index[n.ID] = len(g.Nodes)
	g.Nodes = append(g.Nodes, n)
	return len(g.Nodes) - 1
}

// link adds a job's INPUT_TO and PRODUCED edges.
func (g *Graph) link(j Job) {
	for _, r := range j.Reads {
		g.Edges = append(g.Edges, Edge{r, j.Node, store.RelInputTo})
	}
	for _, w := range j.Writes {
		g.Edges = append(g.Edges, Edge{j.Node, w, store.RelProduced})
	}
}

// Count returns the number of nodes of kind k.
func (g *Graph) Count(k store.Kind) int {
	n := 0
	for _, x := range g.Nodes {
		if x.Kind == k {
			n++
		}
	}
	return n
}

// Upstream returns the IDs of the nodes within depth edges upstream of the node with
// ID start, start included, as provgraph's lineage(direction: UPSTREAM) and MLMD's
// get_lineage_subgraph(UPSTREAM) should answer; nil for an unknown start.
func (g *Graph) Upstream(start string, depth int) []string {
	s, ok := g.index[start]
	if !ok {
		return nil
	}
	seen := map[int]bool{s: true}
	ids := []string{start}
	frontier := []int{s}
	for d := 0; d < depth && len(frontier) > 0; d++ {
		var next []int
		for _, n := range frontier {
			for _, p := range g.in[n] {
				if !seen[p] {
					seen[p] = true
					ids = append(ids, g.Nodes[p].ID)
					next = append(next, p)
				}
			}
		}
		frontier = next
	}
	return ids
}

// LongestChain returns the number of edges of the longest path in the graph.
func (g *Graph) LongestChain() int {
	out := make([][]int, len(g.Nodes))
	indeg := make([]int, len(g.Nodes))
	for _, e := range g.Edges {
		out[e.From] = append(out[e.From], e.To)
		indeg[e.To]++
	}
	longest := make([]int, len(g.Nodes))
	var queue []int
	for n, d := range indeg {
		if d == 0 {
			queue = append(queue, n)
		}
	}
	best := 0
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		best = max(best, longest[n])
		for _, m := range out[n] {
			longest[m] = max(longest[m], longest[n]+1)
			if indeg[m]--; indeg[m] == 0 {
				queue = append(queue, m)
			}
		}
	}
	return best
}
