package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/uuid"

	"github.com/provgraph/provgraph/server"
	"github.com/provgraph/provgraph/store"
)

// The evidence package's endpoint: a model version trained on evidenceInputs prepared
// dataset versions, each made by a processing job of its own from two raw ones, so
// its upstream holds 4 + 4 × evidenceInputs = 200 nodes (target: the package in ≤ 3 s).
const (
	evidenceInputs   = 49
	evidenceWarmup   = 3
	evidenceRequests = 20
)

// buildEvidenceEndpoint records the endpoint in a namespace of its own, through the
// store (as the ingest surfaces would), and returns its ID and upstream size.
func buildEvidenceEndpoint(ctx context.Context, st *store.Store) (string, int, error) {
	ns := "bench-evidence-" + uuid.NewString()[:8]
	nodes := 0
	var prepared []string
	for i := range evidenceInputs {
		var raw []string
		for j := range 2 {
			digest := fmt.Sprintf("sha256:%064x", i*2+j)
			v, _, err := st.RegisterDatasetVersion(ctx, "bench", store.DatasetVersionInput{URI: fmt.Sprintf("s3://%s/raw/t%d_%d", ns, i, j), Digest: &digest})
			if err != nil {
				return "", 0, err
			}
			raw = append(raw, v.Key)
		}
		out, _, err := st.RegisterDatasetVersion(ctx, "bench", store.DatasetVersionInput{URI: fmt.Sprintf("s3://%s/prepared/t%d", ns, i),
			Digest: ptr(fmt.Sprintf("sha256:%064x", 1000+i))})
		if err != nil {
			return "", 0, err
		}
		if _, _, err := st.RecordProcessingJob(ctx, "bench", store.ProcessingJobInput{Namespace: ns, Name: fmt.Sprintf("prepare-%d", i),
			Inputs: raw, Outputs: []string{out.Key}, Parameters: []store.Param{{Key: "sample", Value: "0.1"}}}); err != nil {
			return "", 0, err
		}
		prepared = append(prepared, out.Key)
		nodes += 4
	}
	job, _, _, err := st.RecordTrainingJob(ctx, "bench", store.TrainingJobInput{Namespace: ns, Name: "train", Inputs: prepared,
		ModelArtifact: store.ArtifactInput{URI: "s3://" + ns + "/model.tar.gz"}, InstanceType: ptr("ml.m5.xlarge"), CodeVersion: ptr("4e1d9b2"),
		HyperParameters: []store.Param{{Key: "max_depth", Value: "6"}, {Key: "eta", Value: "0.2"}}})
	if err != nil {
		return "", 0, err
	}
	mv, err := st.RegisterModelVersion(ctx, "bench", store.ModelVersionInput{Model: ns, Source: "s3://" + ns + "/model.tar.gz", ProducedBy: &job.Key})
	if err != nil {
		return "", 0, err
	}
	if _, err := st.SetApprovalStatus(ctx, "bench", mv.Key, store.Approved, ptr("benchmark")); err != nil {
		return "", 0, err
	}
	dep, _, _, err := st.DeployModelVersion(ctx, "bench", store.DeploymentInput{Endpoint: ns, ModelVersion: mv.Key, Variant: store.DefaultVariant, TrafficShare: 1})
	if err != nil {
		return "", 0, err
	}
	return dep.Endpoint.Key, nodes + 4, nil
}

func ptr[T any](v T) *T { return &v }

// evidenceBench times GET /api/v1/evidence for an endpoint with a 200-node upstream
// and returns the report's section.
func evidenceBench(ctx context.Context, st *store.Store, client *http.Client, base string) (string, error) {
	endpoint, upstream, err := buildEvidenceEndpoint(ctx, st)
	if err != nil {
		return "", fmt.Errorf("evidence: build the endpoint: %w", err)
	}
	target := base + server.EvidencePath + "?" + url.Values{"node": {endpoint}}.Encode()
	var size int
	res, err := measure([]row{{"evidence package over HTTP", func() error {
		resp, err := client.Get(target)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK || !bytes.HasPrefix(b, []byte("PK")) {
			return fmt.Errorf("bad response %d: %.300s", resp.StatusCode, b)
		}
		size = len(b)
		return nil
	}}}, evidenceWarmup, evidenceRequests)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("\n## Evidence package\n\n")
	fmt.Fprintf(&b, "`GET /api/v1/evidence` for an endpoint whose upstream holds %d nodes (a model version, its artifact and "+
		"training job, %d prepared dataset versions each made by a processing job from 2 raw ones), recorded in a fresh "+
		"namespace; the package (PDF, SVG, PROV-JSON, audit log with the chain verified over its entries, manifest) is "+
		"%d bytes. %d warm-up requests, then %d measured, one at a time, through the real handler on a loopback listener.\n\n",
		upstream, evidenceInputs, size, evidenceWarmup, evidenceRequests)
	b.WriteString("| what | p50 | p99 | max |\n|---|---|---|---|\n")
	for _, x := range res {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", x.name, ms(x.p50), ms(x.p99), ms(x.max))
	}
	b.WriteString("\nTarget: ≤ 3 s.\n")
	return b.String(), nil
}
