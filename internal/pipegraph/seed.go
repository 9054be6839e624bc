package pipegraph

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/provgraph/provgraph/store"
)

// SeedWorkers is how many model pipelines Seed records at once.
const SeedWorkers = 4

// SeedTimes are how long each part of Seed took.
type SeedTimes struct {
	// Lineage is the raw dataset versions and the processing jobs, recorded as lineage
	// reports in batches (ReportLineage).
	Lineage time.Duration
	// Models is the training jobs, model versions and deployments, recorded one
	// command each (RecordTrainingJob, RegisterModelVersion, DeployModelVersion) by
	// SeedWorkers workers, each endpoint's by one worker in order.
	Models time.Duration
}

// Seed records the graph in st through the store's domain commands, as actor, and
// checks that every node got the ID the graph gives it. The graph's prefix must be new
// to st: Seed records a graph once.
func (g *Graph) Seed(ctx context.Context, st *store.Store, actor string) (SeedTimes, error) {
	var times SeedTimes
	start := time.Now()
	if err := g.seedLineage(ctx, st, actor); err != nil {
		return times, err
	}
	times.Lineage = time.Since(start)
	start = time.Now()
	next := make(chan int)
	errs := make([]error, SeedWorkers)
	var wg sync.WaitGroup
	for w := range SeedWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ep := range next {
				if errs[w] == nil {
					errs[w] = g.seedEndpoint(ctx, st, actor, ep)
				}
			}
		}()
	}
	for ep := range g.Endpoints {
		next <- ep
	}
	close(next)
	wg.Wait()
	times.Models = time.Since(start)
	return times, errors.Join(errs...)
}

// seedLineage records the raw dataset versions and the processing jobs as lineage
// reports, every dataset version pinned, in one ReportLineage call.
func (g *Graph) seedLineage(ctx context.Context, st *store.Store, actor string) error {
	reports := make([]store.LineageReport, 0, len(g.Sources)+len(g.ProcessingJobs))
	for _, s := range g.Sources {
		reports = append(reports, store.LineageReport{Dataset: &store.DatasetReport{At: EventTime, Dataset: g.reported(s)}})
	}
	for _, j := range g.ProcessingJobs {
		n := g.Nodes[j.Node]
		io := &store.JobIOReport{At: EventTime, Job: store.ReportedJob{Namespace: n.Namespace, Name: n.Name}}
		for _, r := range j.Reads {
			io.Inputs = append(io.Inputs, g.reported(r))
		}
		for _, w := range j.Writes {
			io.Outputs = append(io.Outputs, g.reported(w))
		}
		reports = append(reports, store.LineageReport{JobIO: io})
	}
	recs, errs := st.ReportLineage(ctx, actor, store.ExperimentInput{Name: g.Plan.Prefix}, reports)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("seed lineage reports: %w", err)
	}
	for i, j := range g.ProcessingJobs {
		rec := recs[len(g.Sources)+i]
		if want := g.Nodes[j.Node].ID; rec.Job != want {
			return fmt.Errorf("seed: job recorded as %q, want %q", rec.Job, want)
		}
		for k, w := range j.Writes {
			if want := g.Nodes[w].ID; rec.Outputs[k] != want {
				return fmt.Errorf("seed: output recorded as %q, want %q", rec.Outputs[k], want)
			}
		}
	}
	return nil
}

func (g *Graph) reported(i int) store.ReportedDataset {
	n := g.Nodes[i]
	return store.ReportedDataset{Namespace: n.Namespace, Name: n.Name, URI: n.URI, Version: n.Version}
}

// seedEndpoint records endpoint ep's model pipelines: each training job, the model
// version registered from its artifact and the deployment of that version.
func (g *Graph) seedEndpoint(ctx context.Context, st *store.Store, actor string, ep int) error {
	variants := []string{"blue", "green", "canary"}
	for v, d := range g.Deployments[ep*ModelVersionsPerEndpoint : (ep+1)*ModelVersionsPerEndpoint] {
		job := g.TrainingJobs[ep*ModelVersionsPerEndpoint+v]
		jn, art, mv, end := g.Nodes[job.Node], g.Nodes[d.Artifact], g.Nodes[d.ModelVersion], g.Nodes[d.Endpoint]
		in := store.TrainingJobInput{Namespace: jn.Namespace, Name: jn.Name, ModelArtifact: store.ArtifactInput{URI: art.URI}, Status: store.JobCompleted}
		for _, r := range job.Reads {
			in.Inputs = append(in.Inputs, g.Nodes[r].ID)
		}
		jobNode, artNode, _, err := st.RecordTrainingJob(ctx, actor, in)
		if err != nil {
			return fmt.Errorf("seed training job %s: %w", jn.ID, err)
		}
		if jobNode.Key != jn.ID || artNode.Key != art.ID {
			return fmt.Errorf("seed: training job recorded as %q with %q, want %q with %q", jobNode.Key, artNode.Key, jn.ID, art.ID)
		}
		version, err := st.RegisterModelVersion(ctx, actor, store.ModelVersionInput{Model: mv.Name, Source: art.URI, ProducedBy: &jn.ID})
		if err != nil {
			return fmt.Errorf("seed model version %s: %w", mv.ID, err)
		}
		if version.Key != mv.ID {
			return fmt.Errorf("seed: model version recorded as %q, want %q", version.Key, mv.ID)
		}
		if _, _, _, err := st.DeployModelVersion(ctx, actor, store.DeploymentInput{Endpoint: end.Name, ModelVersion: mv.ID,
			Variant: variants[v%len(variants)], TrafficShare: 1 / float64(ModelVersionsPerEndpoint)}); err != nil {
			return fmt.Errorf("seed deployment of %s to %s: %w", mv.ID, end.ID, err)
		}
	}
	return nil
}
