package main

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/internal/neo4jtest"
	"github.com/provgraph/provgraph/store"
)

// cliSlice is a dataset version → training job → model version → endpoint chain
// recorded through the store, with the flags that reach the test Neo4j.
type cliSlice struct {
	tk          string
	dv, job, mv store.Node
	endpoint    string
	conn        []string
}

func recordCLISlice(t *testing.T) cliSlice {
	t.Helper()
	st := neo4jtest.Store(t)
	cfg := neo4jtest.Config(t)
	s := cliSlice{tk: neo4jtest.Token(t)}
	tk := s.tk
	ctx := t.Context()
	digest := "sha256:1"
	var err error
	s.dv, _, err = st.RegisterDatasetVersion(ctx, "cli", store.DatasetVersionInput{URI: "s3://lake-" + tk + "/x", Digest: &digest})
	require.NoError(t, err)
	s.job, _, _, err = st.RecordTrainingJob(ctx, "cli", store.TrainingJobInput{
		Namespace: "ns-" + tk, Name: "train", Inputs: []string{s.dv.Key},
		ModelArtifact: store.ArtifactInput{URI: "s3://models-" + tk + "/m"},
	})
	require.NoError(t, err)
	s.mv, err = st.RegisterModelVersion(ctx, "cli", store.ModelVersionInput{Model: "m-" + tk, Source: "s3://models-" + tk + "/m", ProducedBy: &s.job.Key})
	require.NoError(t, err)
	dep, _, _, err := st.DeployModelVersion(ctx, "cli", store.DeploymentInput{Endpoint: "e-" + tk, ModelVersion: s.mv.Key, Variant: "AllTraffic", TrafficShare: 1})
	require.NoError(t, err)
	s.endpoint = dep.Endpoint.Key
	s.conn = []string{"--neo4j-uri", cfg.URI, "--neo4j-user", cfg.User, "--neo4j-password", cfg.Password, "--neo4j-database", cfg.Database}
	return s
}

// runCLI runs provgraph with args and returns its exit code, output and errors.
func runCLI(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestTraceAndExportPrintTheCone(t *testing.T) {
	t.Parallel()
	s := recordCLISlice(t)
	tk, dv, job, mv, endpoint, conn := s.tk, s.dv, s.job, s.mv, s.endpoint, s.conn

	code, out, errOut := runCLI(append(append([]string{"trace"}, conn...), endpoint)...)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "DATASET_VERSION  "+dv.Key)
	assert.Contains(t, out, dv.Key+" -[INPUT_TO]-> "+job.Key)

	// Flags may follow the ID.
	code, out, errOut = runCLI(append([]string{"trace", endpoint, "--format", "json", "--kinds", "DATASET_VERSION"}, conn...)...)
	require.Equal(t, 0, code, errOut)
	var doc struct {
		Nodes []struct{ ID string } `json:"nodes"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &doc))
	require.Len(t, doc.Nodes, 2)
	assert.Equal(t, dv.Key, doc.Nodes[1].ID)

	// Two nodes a page: the endpoint and its version, then the next page by cursor.
	code, out, errOut = runCLI(append(append([]string{"trace", "--format", "json", "--budget", "2"}, conn...), endpoint)...)
	require.Equal(t, 0, code, errOut)
	var page struct {
		Nodes     []struct{ ID string } `json:"nodes"`
		Truncated bool                  `json:"truncated"`
		EndCursor string                `json:"endCursor"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &page))
	require.True(t, page.Truncated)
	assert.Equal(t, endpoint, page.Nodes[0].ID)
	assert.Equal(t, mv.Key, page.Nodes[1].ID)
	code, out, errOut = runCLI(append(append([]string{"trace", "--budget", "2", "--after", page.EndCursor}, conn...), endpoint)...)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "ARTIFACT         artifact:s3://models-"+tk+"/m")
	assert.Contains(t, out, "TRAINING_JOB     "+job.Key)
	assert.Contains(t, out, "run again with --after ")
	code, _, errOut = runCLI(append(append([]string{"trace", "--budget", "0"}, conn...), endpoint)...)
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "--budget 0: must be between 1 and 10000")

	code, out, errOut = runCLI(append(append([]string{"export"}, conn...), endpoint, "--format", "dot")...)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "digraph lineage")
	code, out, errOut = runCLI(append(append([]string{"export"}, conn...), endpoint)...)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, `"wasGeneratedBy"`)
	code, out, errOut = runCLI(append(append([]string{"export", "--format", "svg"}, conn...), endpoint)...)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, `<svg xmlns="http://www.w3.org/2000/svg"`)
	assert.Contains(t, out, "DATASET VERSION")

	code, _, errOut = runCLI(append(append([]string{"trace"}, conn...), "endpoint:none-"+tk)...)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "start[0]: no node has ID")
	code, _, errOut = runCLI(append(append([]string{"trace", "--as-of", "yesterday"}, conn...), endpoint)...)
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "--as-of")
	code, _, errOut = runCLI(append([]string{"trace"}, conn...)...)
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "at least one node ID")
	// After "--" everything is an ID.
	code, _, errOut = runCLI(append(append([]string{"trace"}, conn...), endpoint, "--", "--format")...)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, `start[1]: "--format" is not a node ID`)
}
