package mlmd_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/provgraph/provgraph/apperr"
	"github.com/provgraph/provgraph/ingest/mlmd"
	"github.com/provgraph/provgraph/internal/pyclient"
	"github.com/provgraph/provgraph/store"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json from what the tests read")

// writer is the Python script that writes the test databases with ml-metadata.
func writer(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "testdata", "write_mlmd.py")
}

// writeMLMD has ml-metadata write the TFX- and Kubeflow-shaped pipelines and returns
// the times ml-metadata reports for them.
func writeMLMD(t *testing.T, args ...string) map[string]int64 {
	t.Helper()
	out := pyclient.Run(t, 2*time.Minute, nil, writer(t), args...)
	times := map[string]int64{}
	require.NoError(t, json.Unmarshal([]byte(out), &times), "the writer's output: %s", out)
	return times
}

func readAll(t *testing.T, location string, opts mlmd.Options) [][]mlmd.Record {
	t.Helper()
	src, err := mlmd.Open(context.Background(), location)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, src.Close()) })
	var batches [][]mlmd.Record
	require.NoError(t, src.Read(context.Background(), opts, func(b []mlmd.Record) error {
		batches = append(batches, b)
		return nil
	}))
	return batches
}

func flatten(batches [][]mlmd.Record) []mlmd.Record {
	var out []mlmd.Record
	for _, b := range batches {
		out = append(out, b...)
	}
	return out
}

// checkTimes checks every record's times against what ml-metadata reported — a node
// and an edge of an artifact or execution record at its creation, an event's edges at
// the event's time — and blanks them for the comparison with the golden file. db
// answers which artifact, execution and type an event id is.
func checkTimes(t *testing.T, recs []mlmd.Record, times map[string]int64, db *sql.DB) {
	t.Helper()
	for i := range recs {
		r := &recs[i]
		want, ok := times[r.Ref]
		if strings.HasPrefix(r.Ref, "event ") {
			var a, x, typ int64
			require.NoError(t, db.QueryRow("SELECT artifact_id, execution_id, type FROM Event WHERE id = ?",
				strings.TrimPrefix(r.Ref, "event ")).Scan(&a, &x, &typ))
			want, ok = times[fmt.Sprintf("event %d %d %d", a, x, typ)]
		}
		require.True(t, ok, "ml-metadata reported no time for %s", r.Ref)
		at := time.UnixMilli(want).UTC()
		for j := range r.Nodes {
			assert.Equal(t, at, r.Nodes[j].RecordedAt, "%s node %s", r.Ref, r.Nodes[j].Key)
			r.Nodes[j].RecordedAt = time.Time{}
			if _, has := r.Nodes[j].Props["lastUpdatedAt"]; has {
				assert.False(t, r.Nodes[j].Props["lastUpdatedAt"].(time.Time).Before(at), "%s updated before it was created", r.Ref)
				r.Nodes[j].Props["lastUpdatedAt"] = "(checked)"
			}
		}
		for j := range r.Edges {
			assert.Equal(t, at, r.Edges[j].RecordedAt, "%s edge %v", r.Ref, r.Edges[j])
			r.Edges[j].RecordedAt = time.Time{}
		}
	}
}

// goldenRecord is a record as the golden file holds it.
type goldenRecord struct {
	Ref   string
	Nodes []store.NodeRecord `json:",omitempty"`
	Edges []store.EdgeRecord `json:",omitempty"`
	Err   string             `json:",omitempty"`
}

func golden(recs []mlmd.Record) []goldenRecord {
	out := make([]goldenRecord, len(recs))
	for i, r := range recs {
		out[i] = goldenRecord{Ref: r.Ref, Nodes: r.Nodes, Edges: r.Edges}
		if r.Err != nil {
			out[i].Err = r.Err.Error()
		}
	}
	return out
}

// compareGolden compares records with testdata/<name>.golden.json (rewritten with
// -update).
func compareGolden(t *testing.T, name string, recs []mlmd.Record) {
	t.Helper()
	got, err := json.MarshalIndent(golden(recs), "", "  ")
	require.NoError(t, err)
	path := filepath.Join("testdata", name+".golden.json")
	if *update {
		require.NoError(t, os.WriteFile(path, append(got, '\n'), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.JSONEq(t, string(want), string(got))
}

func openSQLite(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, db.Close()) })
	return db
}

func TestReadsWhatMLMetadataWroteToSQLite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mlmd.sqlite")
	times := writeMLMD(t, "sqlite", path)

	batches := readAll(t, path, mlmd.Options{BatchSize: 8, RecordedBy: "importer"})
	recs := flatten(batches)
	for i, b := range batches {
		assert.LessOrEqual(t, len(b), 8, "batch %d", i)
	}
	// 21 artifacts, 18 executions and 46 events, each one record, in that order.
	require.Len(t, recs, 21+18+46)
	assert.Equal(t, "artifact 1", recs[0].Ref)
	assert.Equal(t, "execution 1", recs[21].Ref)
	assert.Equal(t, "event 1", recs[39].Ref)
	assert.Equal(t, "event 46", recs[84].Ref)
	for _, r := range recs {
		require.NoError(t, r.Err, r.Ref)
		for _, n := range r.Nodes {
			assert.Equal(t, "importer", n.RecordedBy)
			_, err := store.KindsOfID("key", n.Key)
			assert.NoError(t, err, "%s: %s is a valid node ID", r.Ref, n.Key)
		}
	}
	checkTimes(t, recs, times, openSQLite(t, path))
	checkMapping(t, recs)
	compareGolden(t, "tfx_kfp", recs)

	// The same database read again, in other batches, is the same stream.
	again := flatten(readAll(t, path, mlmd.Options{BatchSize: 1, RecordedBy: "importer"}))
	checkTimes(t, again, times, openSQLite(t, path))
	assert.Equal(t, golden(recs), golden(again))
}

// checkMapping checks the mapping's main rules on the stream, as a reader of
// docs/import-mlmd.md would expect them.
func checkMapping(t *testing.T, recs []mlmd.Record) {
	t.Helper()
	nodes := map[string]store.NodeRecord{}
	edges := map[string]bool{}
	for _, r := range recs {
		for _, n := range r.Nodes {
			require.NotContains(t, nodes, n.Key, "a node is sent once")
			nodes[n.Key] = n
		}
		for _, e := range r.Edges {
			id := e.From + " -" + e.Type + "-> " + e.To
			require.False(t, edges[id], "an edge is sent once: %s", id)
			edges[id] = true
		}
	}
	kinds := map[store.Kind]int{}
	for _, n := range nodes {
		kinds[n.Kind]++
	}
	assert.Equal(t, map[store.Kind]int{
		// 2 TFX Examples and 1 KFP Dataset, each at its own URI.
		store.KindDataset: 3, store.KindDatasetVersion: 3,
		// The two runs' Trainer executions.
		store.KindTrainingJob: 2,
		// 12 other TFX executions, 4 KFP executions (one of them the DAG).
		store.KindProcessingJob: 16,
		// 12 TFX artifacts besides Examples and PushedModel, 4 KFP ones.
		store.KindArtifact:        16,
		store.KindRegisteredModel: 1, store.KindModelVersion: 2,
	}, kinds)

	trainer := nodes["job:mlmd:Trainer-5"]
	assert.Equal(t, store.KindTrainingJob, trainer.Kind)
	assert.Equal(t, "taxi", trainer.Props["experiment"])
	assert.Equal(t, "20260101-000000.000000", trainer.Props["runGroup"])
	assert.Equal(t, "COMPLETE", trainer.Props["state"])
	assert.Equal(t, int64(100), trainer.Props["customProperty.train_steps"])
	assert.Equal(t, 0.01, trainer.Props["customProperty.learning_rate"])
	assert.Equal(t, false, trainer.Props["customProperty.warm_start"])
	assert.JSONEq(t, `{"layers": [16, 8], "optimizer": "adam"}`, trainer.Props["customProperty.hparams"].(string))

	examples := "datasetVersion:file:/pipelines/taxi/CsvExampleGen/examples/1#mlmd-1"
	assert.Equal(t, int64(1), nodes[examples].Props["property.span"])
	for _, e := range []string{
		examples + " -VERSION_OF-> dataset:file:/pipelines/taxi/CsvExampleGen/examples/1",
		"job:mlmd:CsvExampleGen-1 -PRODUCED-> " + examples,
		examples + " -INPUT_TO-> job:mlmd:Trainer-5",
		"job:mlmd:Trainer-5 -PRODUCED-> artifact:/pipelines/taxi/Trainer/model/1",
		"artifact:/pipelines/taxi/Trainer/model/1 -INPUT_TO-> job:mlmd:Pusher-7",
		"job:mlmd:Pusher-7 -PRODUCED-> model:taxi/8",
		"artifact:/pipelines/taxi/Trainer/model/1 -REGISTERED_AS-> model:taxi/8",
		"model:taxi/8 -VERSION_OF-> model:taxi",
		"datasetVersion:gs://bucket:iris/run-7f3c/load/dataset#mlmd-17 -INPUT_TO-> job:mlmd:system.ContainerExecution-17",
		"job:mlmd:system.ContainerExecution-17 -PRODUCED-> artifact:gs://bucket/iris/run-7f3c/train/model",
	} {
		assert.True(t, edges[e], "edge %s", e)
	}
	// The model blessing Pusher read is not a model: no REGISTERED_AS from it.
	assert.False(t, edges["artifact:/pipelines/taxi/Evaluator/blessing/1 -REGISTERED_AS-> model:taxi/8"])
	kfpTrain := nodes["job:mlmd:system.ContainerExecution-17"]
	assert.Equal(t, "train", kfpTrain.Name)
	assert.Equal(t, "iris", kfpTrain.Props["experiment"])
	assert.Equal(t, "run-7f3c", kfpTrain.Props["runGroup"])
}

func TestMappingFileChangesWhatTypesBecome(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mlmd.sqlite")
	writeMLMD(t, "sqlite", path)
	m, err := mlmd.ParseMapping([]byte(`{
		"namespace": "ml-prod",
		"unknown": "report",
		"artifacts": {"ExampleStatistics": "ignore", "system.Metrics": "DatasetVersion"},
		"executions": {"Pusher": "ignore", "*ExampleGen": "TrainingJob"}
	}`))
	require.NoError(t, err)
	recs := flatten(readAll(t, path, mlmd.Options{Mapping: &m}))
	byRef := map[string]mlmd.Record{}
	for _, r := range recs {
		byRef[r.Ref] = r
	}
	// Artifact 2 is the first run's ExampleStatistics: ignored, and so are its events.
	assert.Empty(t, byRef["artifact 2"].Nodes)
	assert.NoError(t, byRef["artifact 2"].Err)
	for _, r := range recs {
		for _, e := range r.Edges {
			assert.NotContains(t, e.From+e.To, "StatisticsGen/statistics", r.Ref)
			assert.NotContains(t, e.From+e.To, "Pusher", r.Ref)
		}
	}
	gen := byRef["execution 1"].Nodes
	require.Len(t, gen, 1)
	assert.Equal(t, store.KindTrainingJob, gen[0].Kind)
	assert.Equal(t, "job:ml-prod:CsvExampleGen-1", gen[0].Key)
	metrics := byRef["artifact 19"].Nodes
	require.Len(t, metrics, 2)
	assert.Equal(t, "datasetVersion:gs://bucket:iris/run-7f3c/train/metrics#ml-prod-19", metrics[1].Key)
	// The first run's pushed model is a version of the model "taxi" all the same.
	assert.Equal(t, "model:taxi/8", byRef["artifact 8"].Nodes[1].Key)
}

func TestUnknownTypesReportedPerRecord(t *testing.T) {
	// A mapping that reports unknown types, over a database whose TFX types it renames
	// away: "Schema" becomes a type no rule names.
	path := changedMLMD(t, "UPDATE Type SET name = 'CustomSchema' WHERE name = 'Schema'")
	m, err := mlmd.ParseMapping([]byte(`{"unknown": "report"}`))
	require.NoError(t, err)
	failed := errorsOf(t, flatten(readAll(t, path, mlmd.Options{Mapping: &m})))
	sort.Strings(failed)
	// Artifacts 3 and 11 are the two runs' schemas; each was output once and read by
	// Transform and Trainer (and the second by nothing else).
	assert.Equal(t, []string{
		`artifact 11: type "CustomSchema" has no rule in the mapping (the mapping reports unknown types)`,
		`artifact 3: type "CustomSchema" has no rule in the mapping (the mapping reports unknown types)`,
	}, failed[:2])
	for _, f := range failed[2:] {
		assert.Regexp(t, `^event \d+: artifact (3|11) was not imported$`, f)
	}
	assert.Len(t, failed, 2+2*3)
}

func TestRefusesWhatIsNotAnMLMDDatabaseOfVersion10(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "mlmd.sqlite")
	writeMLMD(t, "sqlite", path)
	db := openSQLite(t, path)

	for _, c := range []struct {
		version int
		says    string
	}{
		{9, "has MLMD schema version 9; this import reads version 10 (what ml-metadata 1.17.1 writes): upgrade it first"},
		{11, "has MLMD schema version 11, written by an ml-metadata newer than this import knows"},
	} {
		_, err := db.Exec("UPDATE MLMDEnv SET schema_version = ?", c.version)
		require.NoError(t, err)
		_, err = mlmd.Open(context.Background(), path)
		require.Error(t, err)
		assert.Equal(t, apperr.InvalidArgument, apperr.CodeOf(err))
		assert.Contains(t, err.Error(), c.says)
	}

	other := filepath.Join(dir, "other.sqlite")
	odb := openSQLite(t, other)
	_, err := odb.Exec("CREATE TABLE notes (id INTEGER)")
	require.NoError(t, err)
	_, err = mlmd.Open(context.Background(), other)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "is not an ML Metadata database")

	_, err = mlmd.Open(context.Background(), filepath.Join(dir, "missing.sqlite"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "cannot read SQLite file")
	_, statErr := os.Stat(filepath.Join(dir, "missing.sqlite"))
	assert.ErrorIs(t, statErr, os.ErrNotExist, "opening a missing file does not create it")
}

func TestBatchSizeIsBounded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mlmd.sqlite")
	writeMLMD(t, "sqlite", path)
	src, err := mlmd.Open(context.Background(), path)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, src.Close()) })
	for _, size := range []int{-1, mlmd.MaxBatchSize + 1} {
		err := src.Read(context.Background(), mlmd.Options{BatchSize: size}, func([]mlmd.Record) error { return nil })
		require.Error(t, err)
		e, ok := apperr.As(err)
		require.True(t, ok)
		assert.Equal(t, "batchSize", e.Field)
	}
	errStop := errors.New("stop")
	err = src.Read(context.Background(), mlmd.Options{BatchSize: mlmd.MaxBatchSize}, func(b []mlmd.Record) error {
		assert.Len(t, b, 21, "one batch per table page: all 21 artifacts, then 18 executions, then 46 events")
		return errStop
	})
	assert.ErrorIs(t, err, errStop, "an error of emit stops the read")
}

// A property value that cannot be decoded fails its record, not the import.
func TestBadPropertyValueIsAnErrorOfItsRecord(t *testing.T) {
	path := changedMLMD(t, "UPDATE ExecutionProperty SET string_value = 'mlmd-struct::%%%' WHERE execution_id = 5 AND name = 'hparams'")
	recs := flatten(readAll(t, path, mlmd.Options{}))
	failed := errorsOf(t, recs)
	require.NotEmpty(t, failed)
	assert.Equal(t, `execution 5: property "hparams": struct value is not base64: illegal base64 data at input byte 0`, failed[0])
	// Trainer-5's three input events and its output event fail with it.
	assert.Len(t, failed, 1+4)
	assert.Len(t, recs, 21+18+46)
}

// errorsOf lists the errors of the records that failed, which carry nothing else.
func errorsOf(t *testing.T, recs []mlmd.Record) []string {
	t.Helper()
	var out []string
	for _, r := range recs {
		if r.Err != nil {
			out = append(out, r.Err.Error())
			assert.Empty(t, r.Nodes, r.Ref)
			assert.Empty(t, r.Edges, r.Ref)
		}
	}
	return out
}

// changedMLMD has ml-metadata write the test database, changes it with one statement
// (what a buggy writer or another tool could leave), and returns its path.
func changedMLMD(t *testing.T, change string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "mlmd.sqlite")
	writeMLMD(t, "sqlite", path)
	_, err := openSQLite(t, path).Exec(change)
	require.NoError(t, err)
	return path
}

// A row whose node would break the store's rules for IDs fails its record and the
// events that name it, before anything of it is sent.
func TestRowsThatMakeBadIDsFailTheirRecords(t *testing.T) {
	cases := []struct {
		name, change string
		want         []string
	}{{
		name:   "control character in a URI",
		change: "UPDATE Artifact SET uri = 'gs://bucket/iris/run-7f3c/train/mo' || char(10) || 'del' WHERE id = 18",
		want: []string{
			"artifact 18: id: must not contain control characters",
			"event 41: artifact 18 was not imported", // train's output
			"event 44: artifact 18 was not imported", // eval's input
		},
	}, {
		name:   "pipeline named like a model version",
		change: "UPDATE Context SET name = 'taxi/2' WHERE name = 'taxi'",
		want: []string{
			`artifact 8: registered model name "taxi/2" ends like a version (/<number>)`,
			`artifact 16: registered model name "taxi/2" ends like a version (/<number>)`,
			"event 19: artifact 8 was not imported",
			"event 38: artifact 16 was not imported",
		},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			recs := flatten(readAll(t, changedMLMD(t, c.change), mlmd.Options{}))
			assert.Equal(t, c.want, errorsOf(t, recs))
			for _, r := range recs {
				for _, n := range r.Nodes {
					assert.NotEqual(t, "model:taxi/2", n.Key, "no registered model of a failed version is sent")
				}
			}
		})
	}
}
