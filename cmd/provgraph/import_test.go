package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/internal/neo4jtest"
	"github.com/provgraph/provgraph/internal/pyclient"
	"github.com/provgraph/provgraph/store"
)

// deleteNodesOf removes every node whose key holds tk, with its edges: the graph as a
// fresh deployment would have it.
func deleteNodesOf(t *testing.T, tk string) {
	t.Helper()
	neo4jtest.Exec(t, `MATCH (n:`+store.LabelNode+`) WHERE n.key CONTAINS $tk DETACH DELETE n`, map[string]any{"tk": tk})
}

// Export then import is a backup and a move: the chain exported from one graph and
// imported into a graph without it answers lineage the same, now and as of a time
// before its deployment (edge times survive the trip), with the nodes' recorders and
// times; importing the file again changes nothing.
func TestExportThenImportRoundTrips(t *testing.T) {
	t.Parallel()
	s := recordCLISlice(t)
	file := filepath.Join(t.TempDir(), "backup.prov.json")
	trace := func(args ...string) string {
		t.Helper()
		code, out, errOut := runCLI(append(append([]string{"trace"}, args...), s.conn...)...)
		require.Equal(t, 0, code, errOut)
		return out
	}
	before := trace(s.endpoint, "--format", "json")
	beforeAsOf := trace(s.mv.Key, "--direction", "downstream", "--as-of", s.mv.RecordedAt.Format(time.RFC3339Nano), "--format", "json")
	code, _, errOut := runCLI(append([]string{"export", s.endpoint, "--output", file}, s.conn...)...)
	require.Equal(t, 0, code, errOut)

	deleteNodesOf(t, s.tk)
	code, out, errOut := runCLI(append([]string{"import", "--format", "prov-json", file}, s.conn...)...)
	require.Equal(t, 0, code, errOut)
	assert.Regexp(t, `^provgraph import: (\d+) items read: (\d+) recorded, 0 skipped \(committed by an earlier run\), 0 failed; \d+ nodes and \d+ edges`, out)
	assert.Equal(t, before, trace(s.endpoint, "--format", "json"))
	assert.Equal(t, beforeAsOf, trace(s.mv.Key, "--direction", "downstream", "--as-of", s.mv.RecordedAt.Format(time.RFC3339Nano), "--format", "json"),
		"as of before the deployment, the endpoint is not downstream of the model version: edge times were kept")
	mv, err := neo4jtest.Store(t).NodeByID(t.Context(), "id", s.mv.Key)
	require.NoError(t, err)
	assert.True(t, s.mv.RecordedAt.Equal(mv.RecordedAt), "recordedAt kept: %v, was %v", mv.RecordedAt, s.mv.RecordedAt)
	assert.Equal(t, "cli", mv.RecordedBy, "recordedBy kept")
	assert.Equal(t, s.mv.Props["version"], mv.Props["version"], "an integer stays an integer")

	code, out, errOut = runCLI(append([]string{"import", "--format", "prov-json", file}, s.conn...)...)
	require.Equal(t, 0, code, errOut)
	assert.Regexp(t, `items read: 0 recorded, (\d+) skipped`, out, "the same file again: every batch was committed")
}

var (
	binaryOnce sync.Once
	binaryPath string
	binaryErr  error
)

// provgraphBinary builds the provgraph binary once for the tests that run it as a
// process of its own.
func provgraphBinary(t *testing.T) string {
	t.Helper()
	binaryOnce.Do(func() {
		dir, err := os.MkdirTemp("", "provgraph-bin-")
		if err != nil {
			binaryErr = err
			return
		}
		binaryPath = filepath.Join(dir, "provgraph")
		out, err := exec.Command("go", "build", "-o", binaryPath, ".").CombinedOutput()
		if err != nil {
			binaryErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	require.NoError(t, binaryErr)
	return binaryPath
}

// eventsFile writes n pipelines' OpenLineage events (6 a pipeline) with the real
// openlineage-python client's FileTransport.
func eventsFile(t *testing.T, tk string, n int) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "events.ndjson")
	pyclient.Run(t, 5*time.Minute, nil, "../../internal/importer/testdata/events.py", file, tk, fmt.Sprint(n))
	return file
}

// An import killed with SIGKILL half way and run again records every event exactly
// once: the second run skips the batches the first committed, every batch has one
// audit entry, and the graph holds each pipeline's nodes and edges once.
func TestImportKilledHalfWayResumes(t *testing.T) {
	t.Parallel()
	tk := neo4jtest.Token(t)
	const pipelines, batch = 60, 6 // 360 events, 60 batches
	file := eventsFile(t, tk, pipelines)
	bin := provgraphBinary(t)
	cfg := neo4jtest.Config(t)
	conn := []string{"--neo4j-uri", cfg.URI, "--neo4j-user", cfg.User, "--neo4j-password", cfg.Password, "--neo4j-database", cfg.Database}
	args := append([]string{"import", "--format", "openlineage", "--batch", fmt.Sprint(batch), file}, conn...)

	cmd := exec.Command(bin, args...)
	var firstOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &firstOut, &firstOut
	require.NoError(t, cmd.Start())
	st := neo4jtest.Store(t)
	source := markerOf(t, file)
	require.Eventually(t, func() bool {
		p, err := st.ImportProgressOf(context.Background(), source)
		return err == nil && p.Batch >= 5
	}, 2*time.Minute, 5*time.Millisecond, "the import commits batches")
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()
	killedAt, err := st.ImportProgressOf(t.Context(), source)
	require.NoError(t, err)
	require.Less(t, killedAt.Batch, int64(pipelines*6/batch), "killed before the end:\n%s", firstOut.String())

	out, err := exec.Command(bin, args...).CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), fmt.Sprintf("360 items read: %d recorded, %d skipped", 360-killedAt.Batch*batch, killedAt.Batch*batch))
	done, err := st.ImportProgressOf(t.Context(), source)
	require.NoError(t, err)
	assert.Equal(t, store.ImportProgress{Batch: 60, BatchSize: batch, Items: 360}, done)

	require.NoError(t, neo4jtest.Store(t).AwaitAuditSequenced(t.Context()))
	entries := neo4jtest.Exec(t, `MATCH (e:`+store.LabelAuditEntry+` {action: $action}) WHERE e.targets[0] = $marker RETURN count(e) AS n`,
		map[string]any{"action": store.ActionImportBatch, "marker": "import:" + source})
	assert.EqualValues(t, 60, entries.Records[0].Values[0], "one audit entry a batch")
	// Per pipeline: 3 datasets, 3 dataset versions and 3 jobs (keys with tk), with
	// VERSION_OF 3, INPUT_TO 3 and PRODUCED 2; 3 runs of those jobs, with EXECUTED_BY 3,
	// IN_EXPERIMENT 3 and CHILD_OF 1.
	counts := neo4jtest.Exec(t, `
MATCH (n:`+store.LabelNode+`) WHERE n.key CONTAINS $tk
OPTIONAL MATCH (n)-[r]->()
WITH count(DISTINCT n) AS nodes, count(r) AS edges
MATCH (run:`+string(store.KindRun)+`)-[:`+store.RelExecutedBy+`]->(j:`+store.LabelNode+`) WHERE j.key CONTAINS $tk
MATCH (run)-[r]->()
RETURN nodes, edges, count(DISTINCT run) AS runs, count(r) AS runEdges`, map[string]any{"tk": tk})
	assert.Equal(t, []any{int64(pipelines * 9), int64(pipelines * 8), int64(pipelines * 3), int64(pipelines * 7)}, counts.Records[0].Values)
}

// markerOf is the source an OpenLineage file's import is recorded under: the format
// and the SHA-256 of its content.
func markerOf(t *testing.T, file string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	sum := sha256.Sum256(b)
	return "openlineage:sha256:" + hex.EncodeToString(sum[:])
}

// docExample matches the commands docs/import.md shows.
var docExample = regexp.MustCompile(`(?m)^\s*provgraph import (.+)$`)

// The commands docs/import.md shows run as written, on files made by the real tools.
func TestImportDocExamples(t *testing.T) {
	t.Parallel()
	s := recordCLISlice(t)
	dir := t.TempDir()
	events := eventsFile(t, s.tk, 2)
	doc, err := os.ReadFile("../../docs/import.md")
	require.NoError(t, err)
	files := map[string]string{"events.ndjson": events, "backup.prov.json": filepath.Join(dir, "backup.prov.json")}
	code, _, errOut := runCLI(append([]string{"export", s.endpoint, "--output", files["backup.prov.json"]}, s.conn...)...)
	require.Equal(t, 0, code, errOut)
	// The URL example is served from here, the events file at its path.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/lineage/events.ndjson" {
			http.NotFound(w, r)
			return
		}
		http.ServeFile(w, r, events)
	}))
	t.Cleanup(srv.Close)
	ran := 0
	for _, m := range docExample.FindAllStringSubmatch(string(doc), -1) {
		args := strings.Fields(m[1])
		if strings.HasPrefix(m[1], "--format mlmd") {
			// TestImportMLMDEndToEnd runs these (a file, and --mapping) on a database
			// ml-metadata wrote; the MySQL URL needs a server (ingest/mlmd's MariaDB test).
			continue
		}
		for i, a := range args {
			if f, ok := files[a]; ok {
				args[i] = f
			}
			if rest, ok := strings.CutPrefix(a, "https://example.com"); ok {
				args[i] = srv.URL + rest
			}
		}
		code, out, errOut := runCLI(append(append([]string{"import"}, args...), s.conn...)...)
		assert.Equal(t, 0, code, "provgraph import %s: %s%s", m[1], out, errOut)
		ran++
	}
	assert.GreaterOrEqual(t, ran, 4, "the doc shows the openlineage, prov-json, --batch and URL examples")
}

// Usage errors exit 2 before anything is read; a format without a reader in this
// build says so.
func TestImportUsageErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"import", "events.ndjson"}, `--format "": must be one of openlineage, prov-json, mlmd`},
		{[]string{"import", "--format", "csv", "events.ndjson"}, `--format "csv"`},
		{[]string{"import", "--format", "openlineage", "--batch", "5001", "events.ndjson"}, "--batch 5001: must be between 1 and 5000"},
		{[]string{"import", "--format", "openlineage"}, "give one FILE or URL (got 0 arguments)"},
		{[]string{"import", "--format", "openlineage", "--mapping", "mapping.json", "events.ndjson"}, "--mapping is for --format mlmd (got --format openlineage)"},
	} {
		code, _, errOut := runCLI(tt.args...)
		assert.Equal(t, 2, code, "%v", tt.args)
		assert.Contains(t, errOut, tt.want, "%v", tt.args)
	}
	// An ML Metadata source or mapping that cannot be read fails (exit 1) before the
	// graph is touched.
	badMapping := filepath.Join(t.TempDir(), "mapping.json")
	require.NoError(t, os.WriteFile(badMapping, []byte(`{"artifacts": {"FeatureTable": "Table"}}`), 0o600))
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"import", "--format", "mlmd", filepath.Join(t.TempDir(), "metadata.sqlite")}, "cannot read SQLite file"},
		{[]string{"import", "--format", "mlmd", "mysql://localhost/metadata"}, "a mysql:// URL names a user"},
		{[]string{"import", "--format", "mlmd", "--mapping", badMapping, "metadata.sqlite"}, "--mapping " + badMapping + ": artifacts.FeatureTable"},
	} {
		code, _, errOut := runCLI(tt.args...)
		assert.Equal(t, 1, code, "%v", tt.args)
		assert.Contains(t, errOut, tt.want, "%v", tt.args)
	}
}
