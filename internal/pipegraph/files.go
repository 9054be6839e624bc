package pipegraph

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/provgraph/provgraph/export"
	"github.com/provgraph/provgraph/store"
)

// The files `provgraph import` is timed on: the graph's datasets and processing jobs as
// OpenLineage events, and the whole graph as provgraph's own PROV-JSON export.

// olProducer is the producer the OpenLineage events name.
const olProducer = "urn:provgraph:internal/pipegraph"

// olSpec is the OpenLineage spec version the events follow.
const olSpec = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/"

// olVersionFacet is the schema of the version facet that pins each dataset version.
const olVersionFacet = "https://openlineage.io/spec/facets/1-0-1/DatasetVersionDatasetFacet.json#/$defs/DatasetVersionDatasetFacet"

// EventTime is the time the files' events and nodes carry: fixed, so the files are the
// same for the same Plan.
var EventTime = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// WriteOpenLineage writes the raw dataset versions (a DatasetEvent each) and the
// processing jobs (a JobEvent each, in stage order, with what they read and wrote) as
// OpenLineage NDJSON, every dataset version pinned by its version facet. Training jobs,
// model versions and endpoints have no OpenLineage event; the PROV-JSON file holds
// them. It returns the number of events written.
func (g *Graph) WriteOpenLineage(w io.Writer) (int, error) {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	at := EventTime.Format(time.RFC3339Nano)
	events := 0
	for _, s := range g.Sources {
		ev := map[string]any{"eventTime": at, "producer": olProducer, "schemaURL": olSpec + "DatasetEvent", "dataset": g.olDataset(s)}
		if err := enc.Encode(ev); err != nil {
			return events, err
		}
		events++
	}
	for _, j := range g.ProcessingJobs {
		n := g.Nodes[j.Node]
		ev := map[string]any{"eventTime": at, "producer": olProducer, "schemaURL": olSpec + "JobEvent",
			"job": map[string]any{"namespace": n.Namespace, "name": n.Name}, "inputs": g.olDatasets(j.Reads), "outputs": g.olDatasets(j.Writes)}
		if err := enc.Encode(ev); err != nil {
			return events, err
		}
		events++
	}
	return events, bw.Flush()
}

func (g *Graph) olDatasets(nodes []int) []any {
	out := make([]any, len(nodes))
	for i, n := range nodes {
		out[i] = g.olDataset(n)
	}
	return out
}

func (g *Graph) olDataset(i int) map[string]any {
	n := g.Nodes[i]
	return map[string]any{"namespace": n.Namespace, "name": n.Name, "facets": map[string]any{
		"version": map[string]any{"_producer": olProducer, "_schemaURL": olVersionFacet, "datasetVersion": n.Version},
	}}
}

// Lineage returns the whole graph as a lineage result, as provgraph's store would
// answer for it, recorded by actor.
func (g *Graph) Lineage(actor string) store.Lineage {
	return g.lineage(actor, true, func(Edge) bool { return true })
}

// ModelsLineage returns the part of the graph the OpenLineage file lacks, as a lineage
// result recorded by actor: the training jobs with the dataset versions they read, their
// model artifacts, the model versions and the endpoints. With the OpenLineage file it
// makes the whole graph, each edge once.
func (g *Graph) ModelsLineage(actor string) store.Lineage {
	return g.lineage(actor, false, func(e Edge) bool {
		return g.Nodes[e.From].Kind != store.KindProcessingJob && g.Nodes[e.To].Kind != store.KindProcessingJob
	})
}

// lineage returns the edges keep keeps and the nodes they join, or all nodes (raw
// dataset versions no job reads among them).
func (g *Graph) lineage(actor string, all bool, keep func(Edge) bool) store.Lineage {
	var l store.Lineage
	in := make([]bool, len(g.Nodes))
	for i := range in {
		in[i] = all
	}
	for _, e := range g.Edges {
		if keep(e) {
			in[e.From], in[e.To] = true, true
			l.Edges = append(l.Edges, store.Edge{From: g.Nodes[e.From].ID, To: g.Nodes[e.To].ID, Type: e.Type})
		}
	}
	for i, n := range g.Nodes {
		if !in[i] {
			continue
		}
		props := map[string]any{}
		name := n.Name
		switch n.Kind {
		case store.KindDatasetVersion:
			props["uri"], props["version"], props["versionId"] = n.URI, n.Version, n.Version
		case store.KindArtifact:
			props["uri"] = n.URI
		case store.KindModelVersion:
			props["version"] = n.ModelVersion
			name = fmt.Sprintf("%s/%d", n.Name, n.ModelVersion)
		case store.KindTrainingJob, store.KindProcessingJob:
			props["status"] = string(store.JobCompleted)
		}
		l.Nodes = append(l.Nodes, store.Node{Key: n.ID, Kind: n.Kind, Name: name, RecordedAt: EventTime, RecordedBy: actor, Props: props})
	}
	return l
}

// WriteProvJSON writes l as provgraph's PROV-JSON export.
func WriteProvJSON(w io.Writer, l store.Lineage) error {
	b, err := export.Render(l, export.ProvJSON)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}
