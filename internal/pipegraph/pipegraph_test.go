package pipegraph_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/ingest/openlineage"
	"github.com/provgraph/provgraph/internal/pipegraph"
	"github.com/provgraph/provgraph/store"
)

func generate(t *testing.T, p pipegraph.Plan) *pipegraph.Graph {
	t.Helper()
	g, err := pipegraph.Generate(p)
	require.NoError(t, err)
	return g
}

func TestFullSizeGraph(t *testing.T) {
	g := generate(t, pipegraph.Plan{Endpoints: pipegraph.FullEndpoints, Seed: 1, Prefix: "pg"})
	assert.Equal(t, 20000, g.Count(store.KindDatasetVersion))
	assert.Equal(t, 10000, g.Count(store.KindProcessingJob)+g.Count(store.KindTrainingJob))
	assert.Equal(t, 2000, g.Count(store.KindTrainingJob))
	assert.Equal(t, 2000, g.Count(store.KindArtifact))
	assert.Equal(t, 2000, g.Count(store.KindModelVersion))
	assert.Equal(t, 1000, g.Count(store.KindEndpoint))
	assert.Len(t, g.Nodes, 35000)
	assert.Equal(t, 20, pipegraph.MaxChain)
	assert.Equal(t, pipegraph.MaxChain, g.LongestChain(), "some training job reads the last stage")

	ids := map[string]bool{}
	for _, n := range g.Nodes {
		assert.False(t, ids[n.ID], "node ID %s twice", n.ID)
		ids[n.ID] = true
		kinds, err := store.KindsOfID("id", n.ID)
		require.NoError(t, err)
		assert.Contains(t, kinds, n.Kind, n.ID)
	}
	for _, j := range g.ProcessingJobs {
		assert.GreaterOrEqual(t, len(j.Reads), pipegraph.MinReads)
		assert.LessOrEqual(t, len(j.Reads), pipegraph.MaxReads)
		assert.Len(t, j.Writes, pipegraph.OutputsPerProcessingJob)
	}
	// The cones the benchmark measures: from an endpoint, upstream, depth 10.
	small, large := len(g.Nodes), 0
	for _, e := range g.Endpoints {
		n := len(g.Upstream(g.Nodes[e].ID, 10))
		small, large = min(small, n), max(large, n)
	}
	assert.GreaterOrEqual(t, small, 13)
	assert.LessOrEqual(t, large, 200)
	assert.Greater(t, large, 2*small)
}

func TestGraphIsDeterministicAndScales(t *testing.T) {
	p := pipegraph.Plan{Endpoints: 20, Seed: 7, Prefix: "det"}
	a, b := generate(t, p), generate(t, p)
	assert.Equal(t, a.Nodes, b.Nodes)
	assert.Equal(t, a.Edges, b.Edges)
	p.Seed = 8
	c := generate(t, p)
	assert.Equal(t, a.Nodes, c.Nodes, "the seed picks the edges, not the nodes")
	assert.NotEqual(t, a.Edges, c.Edges)

	assert.Equal(t, 20*20, a.Count(store.KindDatasetVersion))
	assert.Equal(t, 20*10, a.Count(store.KindProcessingJob)+a.Count(store.KindTrainingJob))
	assert.Equal(t, 20, a.Count(store.KindEndpoint))
	assert.LessOrEqual(t, a.LongestChain(), pipegraph.MaxChain)

	_, err := pipegraph.Generate(pipegraph.Plan{Endpoints: 0, Prefix: "x"})
	assert.ErrorContains(t, err, "endpoints")
	_, err = pipegraph.Generate(pipegraph.Plan{Endpoints: 1})
	assert.ErrorContains(t, err, "prefix")
}

func TestUpstreamFollowsTheEdgesBackToTheDepth(t *testing.T) {
	g := generate(t, pipegraph.Plan{Endpoints: 3, Seed: 1, Prefix: "up"})
	d := g.Deployments[0]
	ep := g.Nodes[d.Endpoint].ID
	assert.Equal(t, []string{ep}, g.Upstream(ep, 0))
	one := g.Upstream(ep, 1)
	assert.ElementsMatch(t, []string{ep, g.Nodes[g.Deployments[0].ModelVersion].ID, g.Nodes[g.Deployments[1].ModelVersion].ID}, one)
	three := g.Upstream(ep, 3)
	assert.Contains(t, three, g.Nodes[d.Artifact].ID)
	assert.Contains(t, three, g.Nodes[d.Job].ID)
	assert.Len(t, three, 7)
	assert.Nil(t, g.Upstream("endpoint:nope", 3))
}

// The OpenLineage file decodes and translates as the OpenLineage endpoint would take it:
// every dataset version pinned to the graph's ID.
func TestOpenLineageFileIsWhatTheIngestAccepts(t *testing.T) {
	g := generate(t, pipegraph.Plan{Endpoints: 5, Seed: 3, Prefix: "ol"})
	var buf bytes.Buffer
	n, err := g.WriteOpenLineage(&buf)
	require.NoError(t, err)
	assert.Equal(t, len(g.Sources)+len(g.ProcessingJobs), n)

	sc := bufio.NewScanner(&buf)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	lines, datasets, jobs := 0, 0, 0
	for sc.Scan() {
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.UseNumber()
		var v any
		require.NoError(t, dec.Decode(&v))
		ev, err := openlineage.Decode(v)
		require.NoError(t, err, "line %d", lines+1)
		rep, err := openlineage.Translate(ev)
		require.NoError(t, err, "line %d", lines+1)
		switch {
		case rep.Dataset != nil:
			src := g.Nodes[g.Sources[datasets]]
			d := rep.Dataset.Dataset
			assert.Equal(t, src.ID, store.DatasetVersionKey(d.Namespace, d.Name, d.Version))
			datasets++
		case rep.JobIO != nil:
			j := g.ProcessingJobs[jobs]
			assert.Equal(t, g.Nodes[j.Node].ID, store.JobKey(rep.JobIO.Job.Namespace, rep.JobIO.Job.Name))
			require.Len(t, rep.JobIO.Inputs, len(j.Reads))
			for i, in := range rep.JobIO.Inputs {
				assert.Equal(t, g.Nodes[j.Reads[i]].ID, store.DatasetVersionKey(in.Namespace, in.Name, in.Version))
			}
			require.Len(t, rep.JobIO.Outputs, len(j.Writes))
			jobs++
		default:
			t.Fatalf("line %d: a run event", lines+1)
		}
		lines++
	}
	require.NoError(t, sc.Err())
	assert.Equal(t, n, lines)
	assert.Equal(t, len(g.Sources), datasets)
	assert.Equal(t, len(g.ProcessingJobs), jobs)
}

// provJSON writes l as PROV-JSON and reads it back: the node IDs, the number of edges
// and the number of activities.
func provJSON(t *testing.T, l store.Lineage) (ids map[string]bool, edges, activities int) {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, pipegraph.WriteProvJSON(&buf, l))
	var raw map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(buf.Bytes(), &raw))
	doc := map[string]map[string]map[string]any{}
	for section, v := range raw {
		if section != "prefix" {
			var s map[string]map[string]any
			require.NoError(t, json.Unmarshal(v, &s), section)
			doc[section] = s
		}
	}
	ids = map[string]bool{}
	for _, section := range []string{"entity", "activity"} {
		for _, attrs := range doc[section] {
			ids[attrs["pg:id"].(string)] = true
		}
	}
	return ids, len(doc["used"]) + len(doc["wasGeneratedBy"]) + len(doc["wasDerivedFrom"]), len(doc["activity"])
}

// The PROV-JSON file holds every node and edge of the graph; the models file the part
// the OpenLineage file lacks, so the two files together hold each edge once.
func TestProvJSONFilesHoldTheGraph(t *testing.T) {
	g := generate(t, pipegraph.Plan{Endpoints: 5, Seed: 3, Prefix: "prov"})
	ids, edges, activities := provJSON(t, g.Lineage("bench"))
	assert.Len(t, ids, len(g.Nodes))
	for _, n := range g.Nodes {
		assert.True(t, ids[n.ID], n.ID)
	}
	assert.Equal(t, len(g.Edges), edges)
	assert.Equal(t, len(g.ProcessingJobs)+len(g.TrainingJobs), activities)

	ids, edges, activities = provJSON(t, g.ModelsLineage("bench"))
	assert.Equal(t, len(g.TrainingJobs), activities)
	olEdges := 0
	for _, j := range g.ProcessingJobs {
		olEdges += len(j.Reads) + len(j.Writes)
		assert.False(t, ids[g.Nodes[j.Node].ID])
	}
	assert.Equal(t, len(g.Edges), edges+olEdges)
	for _, d := range g.Deployments {
		for _, n := range []int{d.Job, d.Artifact, d.ModelVersion, d.Endpoint} {
			assert.True(t, ids[g.Nodes[n].ID], g.Nodes[n].ID)
		}
	}
	for _, j := range g.TrainingJobs {
		for _, r := range j.Reads {
			assert.True(t, ids[g.Nodes[r].ID], "a dataset version a training job read")
		}
	}
}
