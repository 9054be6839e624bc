package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/internal/mariadbtest"
	"github.com/provgraph/provgraph/internal/neo4jtest"
	"github.com/provgraph/provgraph/internal/pyclient"
	"github.com/provgraph/provgraph/store"
)

// mlmdTestdata is where ingest/mlmd keeps the scripts that drive ml-metadata itself.
const mlmdTestdata = "../../ingest/mlmd/testdata"

// writeMLMDFile has ml-metadata 1.17.1 write its TFX- and Kubeflow-shaped pipelines into
// a new SQLite file.
func writeMLMDFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "metadata.sqlite")
	pyclient.Run(t, 2*time.Minute, nil, filepath.Join(mlmdTestdata, "write_mlmd.py"), "sqlite", path)
	return path
}

// mlmdLineage is what ml-metadata's get_lineage_subgraph says is upstream of an artifact.
type mlmdLineage struct {
	Artifacts, Executions []int64
	Events                [][3]any // artifact id, execution id, "INPUT" or "OUTPUT"
}

// clearMLMDImport removes what an import of the test's MLMD pipelines recorded — its
// nodes, their datasets and registered models, the runs of its jobs with their
// experiments and run groups — so the test starts from a graph without them.
func clearMLMDImport(t *testing.T) {
	t.Helper()
	neo4jtest.Exec(t, `
MATCH (n:`+store.LabelNode+` {importedFrom: 'mlmd'})
OPTIONAL MATCH (n)-[:`+store.RelVersionOf+`]->(p)
OPTIONAL MATCH (r:`+string(store.KindRun)+`)-[:`+store.RelExecutedBy+`]->(n)
OPTIONAL MATCH (r)-[:`+store.RelInExperiment+`]->(e)
OPTIONAL MATCH (g:`+string(store.KindRunGroup)+`)-[:`+store.RelInExperiment+`]->(e)
DETACH DELETE n, p, r, e, g`, nil)
}

// mlmdGraphCounts counts what an import of the test's pipelines recorded: nodes and
// provenance or VERSION_OF edges from MLMD rows, and the runs linking jobs to their
// experiments and run groups.
func mlmdGraphCounts(t *testing.T) []any {
	t.Helper()
	res := neo4jtest.Exec(t, `
MATCH (n:`+store.LabelNode+` {importedFrom: 'mlmd'})
OPTIONAL MATCH (n)-[r]->()
WITH count(DISTINCT n) AS nodes, count(r) AS edges
OPTIONAL MATCH (run:`+string(store.KindRun)+`)-[:`+store.RelExecutedBy+`]->(:`+store.LabelNode+` {importedFrom: 'mlmd'})
RETURN nodes, edges, count(run) AS runs`, nil)
	return res.Records[0].Values
}

var summaryLine = regexp.MustCompile(`provgraph import: (\d+) items read: (\d+) recorded, (\d+) skipped \(committed by an earlier run\), (\d+) failed`)

// summaryOf returns the items read, recorded, skipped and failed of an import's summary.
func summaryOf(t *testing.T, out string) [4]int {
	t.Helper()
	m := summaryLine.FindStringSubmatch(out)
	require.NotNil(t, m, "no summary in:\n%s", out)
	var s [4]int
	for i := range s {
		s[i], _ = strconv.Atoi(m[i+1])
	}
	return s
}

// A database ml-metadata wrote, imported by the built binary: lineage upstream of each
// pushed model is what ml-metadata's own get_lineage_subgraph answers, node for node and
// edge for edge; every job of a pipeline is linked to the pipeline's experiment and its
// run's run group; the same file again records nothing; an import killed half way and
// run again records every item exactly once.
func TestImportMLMDEndToEnd(t *testing.T) {
	t.Parallel()
	db := writeMLMDFile(t)
	bin := provgraphBinary(t)
	cfg := neo4jtest.Config(t)
	st := neo4jtest.Store(t)
	conn := []string{"--neo4j-uri", cfg.URI, "--neo4j-user", cfg.User, "--neo4j-password", cfg.Password, "--neo4j-database", cfg.Database}
	importMLMD := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(bin, append(append([]string{"import", "--format", "mlmd", "--quiet"}, args...), conn...)...).CombinedOutput()
		require.NoError(t, err, "%s", out)
		return string(out)
	}
	clearMLMDImport(t)

	first := summaryOf(t, importMLMD(db))
	items := first[0]
	assert.Equal(t, [4]int{items, items, 0, 0}, first, "every item recorded, none failed")
	counts := mlmdGraphCounts(t)

	t.Run("lineage is what ml-metadata says", func(t *testing.T) {
		var want map[string]mlmdLineage
		out := pyclient.Run(t, time.Minute, nil, filepath.Join(mlmdTestdata, "lineage_mlmd.py"), db, "PushedModel", "20")
		require.NoError(t, json.Unmarshal([]byte(out), &want), out)
		require.NotEmpty(t, want)
		for id, w := range want {
			models := neo4jtest.Exec(t, `MATCH (n:`+string(store.KindModelVersion)+` {importedFrom: 'mlmd', mlmdId: $id}) RETURN n.key`,
				map[string]any{"id": mustInt(t, id)})
			require.Len(t, models.Records, 1, "pushed model %s", id)
			key := models.Records[0].Values[0].(string)
			l, err := st.Lineage(t.Context(), store.LineageQuery{Start: []string{key}, Direction: store.Upstream, MaxDepth: 20})
			require.NoError(t, err)
			gotA, gotX, byKey := []int64{}, []int64{}, map[string]int64{}
			for _, n := range l.Nodes {
				id, ok := n.Props["mlmdId"].(int64)
				require.True(t, ok, "%s comes from an MLMD row", n.Key)
				byKey[n.Key] = id
				if n.Kind == store.KindTrainingJob || n.Kind == store.KindProcessingJob {
					gotX = append(gotX, id)
				} else {
					gotA = append(gotA, id)
				}
			}
			assert.ElementsMatch(t, w.Artifacts, gotA, "upstream artifacts of %s", key)
			assert.ElementsMatch(t, w.Executions, gotX, "upstream executions of %s", key)
			var gotE, wantE []string
			for _, e := range w.Events {
				wantE = append(wantE, fmt.Sprint(e[:]...))
			}
			for _, e := range l.Edges {
				switch e.Type {
				case store.RelInputTo:
					gotE = append(gotE, fmt.Sprint(byKey[e.From], byKey[e.To], "INPUT"))
				case store.RelProduced:
					gotE = append(gotE, fmt.Sprint(byKey[e.To], byKey[e.From], "OUTPUT"))
				default: // MLMD has no edge between artifacts: the model a pushed model registers
					assert.Equal(t, store.RelRegisteredAs, e.Type)
					assert.Equal(t, key, e.To)
				}
			}
			assert.ElementsMatch(t, wantE, gotE, "the events upstream of %s", key)
		}
	})

	t.Run("jobs are in their pipeline's experiment and run's group", func(t *testing.T) {
		res := neo4jtest.Exec(t, `
MATCH (j:`+store.LabelNode+` {importedFrom: 'mlmd'}) WHERE j.experiment IS NOT NULL
OPTIONAL MATCH (r:`+string(store.KindRun)+`)-[:`+store.RelExecutedBy+`]->(j)
OPTIONAL MATCH (r)-[:`+store.RelInExperiment+`]->(e:`+string(store.KindExperiment)+` {name: j.experiment})
OPTIONAL MATCH (r)-[:`+store.RelInGroup+`]->(g:`+string(store.KindRunGroup)+` {name: j.runGroup})-[:`+store.RelInExperiment+`]->(e)
WITH j, r, e, g WHERE j.kind IN $jobs
RETURN count(j) AS jobs, count(e) AS inExperiment, count(CASE WHEN j.runGroup IS NULL OR g IS NOT NULL THEN 1 END) AS inGroup`,
			map[string]any{"jobs": []string{string(store.KindTrainingJob), string(store.KindProcessingJob)}})
		v := res.Records[0].Values
		require.Positive(t, v[0])
		assert.Equal(t, []any{v[0], v[0], v[0]}, v, "jobs, those in their experiment, those in their run group")
	})

	t.Run("the same file again records nothing", func(t *testing.T) {
		assert.Equal(t, [4]int{items, 0, items, 0}, summaryOf(t, importMLMD(db)))
		assert.Equal(t, counts, mlmdGraphCounts(t))
	})

	t.Run("killed half way and run again, each item once", func(t *testing.T) {
		clearMLMDImport(t)
		// Another mapping file (the defaults, written out) is another import of the file.
		mapping := filepath.Join(t.TempDir(), "mapping.json")
		require.NoError(t, os.WriteFile(mapping, []byte(`{"namespace": "mlmd"}`), 0o600))
		args := append([]string{"import", "--format", "mlmd", "--mapping", mapping, "--batch", "1", db}, conn...)
		cmd := exec.Command(bin, args...)
		var firstOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &firstOut, &firstOut
		require.NoError(t, cmd.Start())
		source := "mlmd:sqlite:sha256:" + fileSHA256(t, db) + ":mapping:sha256:" + fileSHA256(t, mapping)
		require.Eventually(t, func() bool {
			p, err := st.ImportProgressOf(context.Background(), source)
			return err == nil && p.Batch >= 5
		}, 2*time.Minute, 2*time.Millisecond, "the import commits batches")
		require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
		_ = cmd.Wait()
		killedAt, err := st.ImportProgressOf(t.Context(), source)
		require.NoError(t, err)
		require.Less(t, killedAt.Batch, int64(items), "killed before the end:\n%s", firstOut.String())

		out, err := exec.Command(bin, args...).CombinedOutput()
		require.NoError(t, err, "%s", out)
		k := int(killedAt.Items)
		assert.Equal(t, [4]int{items, items - k, k, 0}, summaryOf(t, string(out)))
		done, err := st.ImportProgressOf(t.Context(), source)
		require.NoError(t, err)
		assert.Equal(t, store.ImportProgress{Batch: int64(items), BatchSize: 1, Items: int64(items)}, done)
		assert.Equal(t, counts, mlmdGraphCounts(t), "the graph of the first import, nothing twice")
		require.NoError(t, neo4jtest.Store(t).AwaitAuditSequenced(t.Context()))
		entries := neo4jtest.Exec(t, `MATCH (e:`+store.LabelAuditEntry+` {action: $action}) WHERE e.targets[0] = $marker RETURN count(e)`,
			map[string]any{"action": store.ActionImportBatch, "marker": "import:" + source})
		assert.EqualValues(t, items, entries.Records[0].Values[0], "one audit entry a batch")
	})

	t.Run("the same pipelines from MariaDB", func(t *testing.T) {
		port := mariadbtest.Start(t)
		pyclient.Run(t, 2*time.Minute, nil, filepath.Join(mlmdTestdata, "write_mlmd.py"), "mysql", "127.0.0.1", strconv.Itoa(port), "root", mariadbtest.Database)
		url := fmt.Sprintf("mysql://root@127.0.0.1:%d/%s", port, mariadbtest.Database)
		clearMLMDImport(t)
		assert.Equal(t, [4]int{items, items, 0, 0}, summaryOf(t, importMLMD(url)))
		assert.Equal(t, counts, mlmdGraphCounts(t), "the graph the SQLite file gave")
		assert.Equal(t, [4]int{items, 0, items, 0}, summaryOf(t, importMLMD(url)), "the same database again: its fingerprint is stable")
	})
}

func mustInt(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	require.NoError(t, err)
	return n
}

func fileSHA256(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
