package importer_test

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/apperr"
	"github.com/provgraph/provgraph/internal/importer"
	"github.com/provgraph/provgraph/internal/neo4jtest"
	"github.com/provgraph/provgraph/internal/pyclient"
	"github.com/provgraph/provgraph/store"
)

// events writes n pipelines' events with the real openlineage-python FileTransport
// and returns the file's lines.
func events(t *testing.T, tk string, n int) []string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "events.ndjson")
	pyclient.Run(t, 2*time.Minute, nil, "testdata/events.py", file, tk, fmt.Sprint(n))
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

func options(tk string, batch int, strict bool, failures *[]importer.Failure) importer.Options {
	return importer.Options{Fingerprint: "test:" + tk, Name: "test " + tk, BatchSize: batch, Strict: strict, Actor: "importer-test",
		RunsIn: importer.RunsExperiment(), OnFailure: func(f importer.Failure) { *failures = append(*failures, f) }}
}

func refs(fs []importer.Failure) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Ref + " " + string(apperr.CodeOf(f.Err))
	}
	return out
}

// NDJSON from the real client with two bad lines among the events: each bad line is
// reported with its number and the events around it are recorded, with the lineage the
// events describe; a second run records nothing more.
func TestOpenLineageNDJSONWithBadLines(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	tk := neo4jtest.Token(t)
	lines := events(t, tk, 2)
	require.Len(t, lines, 12)
	bad := append(append(append([]string{}, lines[:3]...), "{not json", strings.Replace(lines[3], `"runId": "`, `"runId": "x`, 1)), lines[3:]...)
	file := strings.Join(bad, "\n") + "\n\n" // a blank line at the end is no item
	var failures []importer.Failure
	sum, err := importer.Run(t.Context(), st, importer.NewOpenLineageNDJSON(strings.NewReader(file)), options(tk, 4, false, &failures))
	require.NoError(t, err)
	assert.Equal(t, []string{"line 4 INVALID_ARGUMENT", "line 5 INVALID_ARGUMENT"}, refs(failures))
	assert.Contains(t, failures[1].Err.Error(), "run.runId", "the event's field")
	assert.Equal(t, importer.Summary{Read: 14, Recorded: 12, Failed: 2, Batches: 4}, withoutCounts(sum))
	assert.Positive(t, sum.Nodes)

	l, err := st.Lineage(t.Context(), store.LineageQuery{Start: []string{store.JobKey("pipeline-"+tk, "train1")}, Direction: store.Upstream, MaxDepth: 10})
	require.NoError(t, err)
	var keys []string
	for _, n := range l.Nodes {
		keys = append(keys, n.Key)
	}
	assert.Contains(t, keys, store.DatasetVersionKey("s3://lake-"+tk, "raw1", "v1"))
	assert.Contains(t, keys, store.JobKey("pipeline-"+tk, "prep1"))

	failures = nil
	again, err := importer.Run(t.Context(), st, importer.NewOpenLineageNDJSON(strings.NewReader(file)), options(tk, 5, false, &failures))
	require.NoError(t, err)
	assert.Equal(t, importer.Summary{Read: 14, Skipped: 14, Resumed: true}, withoutCounts(again), "a run with another batch size skips what committed")
	assert.Empty(t, failures)
}

func withoutCounts(s importer.Summary) importer.Summary {
	s.Nodes, s.Edges, s.Elapsed = 0, 0, 0
	return s
}

// --strict refuses the batch holding a bad line: the batches before it stay committed,
// nothing of it is written, and the import stops.
func TestStrictRefusesTheBatch(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	tk := neo4jtest.Token(t)
	lines := events(t, tk, 2)
	file := strings.Join(append(append(append([]string{}, lines[:5]...), "[]"), lines[5:]...), "\n")
	var failures []importer.Failure
	sum, err := importer.Run(t.Context(), st, importer.NewOpenLineageNDJSON(strings.NewReader(file)), options(tk, 4, true, &failures))
	require.ErrorIs(t, err, importer.ErrStrict)
	assert.Equal(t, []string{"line 6 INVALID_ARGUMENT"}, refs(failures))
	assert.Equal(t, importer.Summary{Read: 8, Recorded: 4, Failed: 1, Batches: 1}, withoutCounts(sum))
	p, err := st.ImportProgressOf(t.Context(), "test:"+tk)
	require.NoError(t, err)
	assert.Equal(t, store.ImportProgress{Batch: 1, BatchSize: 4, Items: 4}, p)
	// Lines 7 and 8 (in the refused batch) are the only events of job prep1.
	_, err = st.NodeByID(t.Context(), "id", store.JobKey("pipeline-"+tk, "prep1"))
	assert.Equal(t, apperr.NotFound, apperr.CodeOf(err))
}

// Node and edge records go through the store's rules: IDs must fit kinds, what is
// recorded is never overwritten (CONFLICT), edges join the kinds their type allows and
// nodes that exist (NOT_FOUND); each refused record is reported by its ref, the rest is
// recorded with its own recordedAt/By, and the audit entry names the importing actor
// and the marker.
func TestNodeAndEdgeRecords(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	tk := neo4jtest.Token(t)
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	job, art, model, mv, ep := store.JobKey("ns-"+tk, "train"), store.ArtifactKey("s3://m-"+tk+"/a"),
		store.RegisteredModelKey("m-"+tk), store.ModelVersionKey("m-"+tk, 1), store.EndpointKey("e-"+tk)
	node := func(ref, key string, kind store.Kind, name string, props map[string]any) importer.Item {
		return importer.Item{Ref: ref, Node: &store.NodeRecord{Key: key, Kind: kind, Name: name, Props: props, RecordedAt: at, RecordedBy: "alice"}}
	}
	edge := func(ref, from, typ, to string) importer.Item {
		return importer.Item{Ref: ref, Edge: &store.EdgeRecord{From: from, To: to, Type: typ, RecordedAt: at.Add(time.Hour)}}
	}
	items := []importer.Item{
		node("n1", job, store.KindTrainingJob, "train", map[string]any{"instanceType": "ml.m5.xlarge"}),
		node("n2", art, store.KindArtifact, "a", map[string]any{"uri": "s3://m-" + tk + "/a"}),
		node("n3", model, store.KindRegisteredModel, "m", nil),
		node("n4", mv, store.KindModelVersion, "m/1", map[string]any{"version": int64(1)}),
		node("n5", ep, store.KindEndpoint, "e", nil),
		node("bad-kind", model, store.KindModelVersion, "m", nil),       // INVALID: the ID is a registered model's
		node("conflict-name", job, store.KindTrainingJob, "other", nil), // CONFLICT with n1
		node("bad-prop", store.EndpointKey("x-"+tk), store.KindEndpoint, "x", map[string]any{"p": map[string]any{}}),
		node("mixed-list", store.EndpointKey("y-"+tk), store.KindEndpoint, "y", map[string]any{"p": []any{"a", int64(1)}}),
		node("status-moved", job, store.KindTrainingJob, "train", map[string]any{"status": "InProgress"}), // a state, not a fact: no CONFLICT
		edge("e1", job, store.RelProduced, art),
		edge("e2", art, store.RelRegisteredAs, mv),
		edge("e3", mv, store.RelVersionOf, model),
		edge("e4", mv, store.RelDeployedTo, ep),
		edge("bad-type", job, "CALLS", art),                                           // INVALID
		edge("wrong-kinds", ep, store.RelInputTo, job),                                // CONFLICT
		edge("missing", store.ArtifactKey("s3://nowhere-"+tk), store.RelInputTo, job), // NOT_FOUND
	}
	var failures []importer.Failure
	sum, err := importer.Run(t.Context(), st, importer.Items(items), options(tk, 100, false, &failures))
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"bad-kind INVALID_ARGUMENT", "conflict-name CONFLICT", "bad-prop INVALID_ARGUMENT",
		"mixed-list INVALID_ARGUMENT", "bad-type INVALID_ARGUMENT", "wrong-kinds CONFLICT", "missing NOT_FOUND"}, refs(failures))
	assert.Equal(t, importer.Summary{Read: 17, Recorded: 10, Failed: 7, Batches: 1, Nodes: 5, Edges: 4}, withoutTime(sum))
	for _, f := range failures {
		if f.Ref == "conflict-name" {
			assert.ErrorContains(t, f.Err, `name: TrainingJob "`+job+`" was already recorded with name "train"; got "other"`)
		}
	}

	n, err := st.NodeByID(t.Context(), "id", mv)
	require.NoError(t, err)
	assert.True(t, at.Equal(n.RecordedAt))
	assert.Equal(t, "alice", n.RecordedBy)
	before, err := st.Lineage(t.Context(), store.LineageQuery{Start: []string{ep}, Direction: store.Upstream, MaxDepth: 10, AsOf: ptr(at.Add(30 * time.Minute))})
	require.NoError(t, err)
	assert.Empty(t, before.Edges, "edges recorded an hour after the nodes are not there half an hour after")
	now, err := st.Lineage(t.Context(), store.LineageQuery{Start: []string{ep}, Direction: store.Upstream, MaxDepth: 10})
	require.NoError(t, err)
	assert.Len(t, now.Nodes, 4, "endpoint, model version, artifact, job")

	require.NoError(t, neo4jtest.Store(t).AwaitAuditSequenced(t.Context()))
	trail := neo4jtest.Exec(t, `MATCH (e:`+store.LabelAuditEntry+` {action: $action}) WHERE e.targets[0] = $marker RETURN e.actor AS actor, e.targetCount AS n`,
		map[string]any{"action": store.ActionImportBatch, "marker": "import:test:" + tk})
	require.Len(t, trail.Records, 1)
	assert.Equal(t, []any{"importer-test", int64(6)}, trail.Records[0].Values, "the marker and the five nodes")
}

func withoutTime(s importer.Summary) importer.Summary {
	s.Elapsed = 0
	return s
}

func ptr[T any](v T) *T { return &v }

// The limits: a batch size outside 1..MaxImportBatch is refused before anything is
// read, and a line longer than MaxLineBytes is reported and skipped.
func TestLimits(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	tk := neo4jtest.Token(t)
	var failures []importer.Failure
	for _, n := range []int{-1, store.MaxImportBatch + 1} {
		_, err := importer.Run(t.Context(), st, importer.Items(nil), options(tk, n, false, &failures))
		assert.Equal(t, apperr.InvalidArgument, apperr.CodeOf(err), "batch %d", n)
	}
	long := `{"x": "` + strings.Repeat("a", int(importer.MaxLineBytes)) + `"}`
	src := importer.NewOpenLineageNDJSON(strings.NewReader(long + "\n" + "{}\n"))
	it, err := src.Next()
	require.NoError(t, err)
	assert.Equal(t, "line 1", it.Ref)
	assert.ErrorContains(t, it.Err, "longer than")
	it, err = src.Next()
	require.NoError(t, err)
	assert.Equal(t, "line 2", it.Ref, "the line after a long one is read")
	_, err = src.Next()
	assert.ErrorIs(t, err, io.EOF)

	props := map[string]any{}
	for i := range store.MaxImportProps + 1 {
		props[fmt.Sprint("p", i)] = "v"
	}
	items := []importer.Item{{Ref: "wide", Node: &store.NodeRecord{Key: store.EndpointKey("w-" + tk), Kind: store.KindEndpoint, Name: "w", Props: props}}}
	failures = nil
	_, err = importer.Run(t.Context(), st, importer.Items(items), options(tk, 10, false, &failures))
	require.NoError(t, err)
	require.Len(t, failures, 1)
	assert.ErrorContains(t, failures[0].Err, "at most 100")
}

// A PROV-JSON document's nodes and relations become records, in a fixed order; an
// attribute of the wrong type is reported with the record's id.
func TestPROVJSONItems(t *testing.T) {
	t.Parallel()
	doc := `{
  "prefix": {"pg": "urn:provgraph:"},
  "entity": {
    "pg:model:m%2F2": {"pg:id": "model:m/2", "prov:type": "pgkind:ModelVersion", "prov:label": "m/2", "pg:version": 2,
      "pg:recordedAt": "2026-03-14T09:30:00Z", "pg:recordedBy": "alice"},
    "pg:endpoint:e": {"pg:id": "endpoint:e", "prov:type": "pgkind:Endpoint", "prov:label": 7}
  },
  "wasDerivedFrom": {"_:e1": {"prov:generatedEntity": "pg:endpoint:e", "prov:usedEntity": "pg:model:m%2F2", "prov:type": "pgkind:Deployment",
    "pg:recordedAt": "2026-03-14T10:00:00Z"}}
}`
	p, err := importer.NewPROVJSON(bytes.NewReader([]byte(doc)))
	require.NoError(t, err)
	assert.Equal(t, 3, p.Len())
	var items []importer.Item
	for {
		it, err := p.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		items = append(items, it)
	}
	assert.Equal(t, "entity pg:endpoint:e", items[0].Ref)
	assert.ErrorContains(t, items[0].Err, "prov:label: must be a string")
	require.NotNil(t, items[1].Node)
	assert.Equal(t, store.NodeRecord{Key: "model:m/2", Kind: store.KindModelVersion, Name: "m/2", Props: map[string]any{"version": int64(2)},
		RecordedAt: time.Date(2026, 3, 14, 9, 30, 0, 0, time.UTC), RecordedBy: "alice"}, *items[1].Node)
	require.NotNil(t, items[2].Edge)
	assert.Equal(t, store.EdgeRecord{From: "model:m/2", To: "endpoint:e", Type: store.RelDeployedTo, RecordedAt: time.Date(2026, 3, 14, 10, 0, 0, 0, time.UTC)}, *items[2].Edge)

	_, err = importer.NewPROVJSON(strings.NewReader(`[1]`))
	assert.Equal(t, apperr.InvalidArgument, apperr.CodeOf(err))
}

// Runs of one import started together serialise on its marker (unique by key): every
// batch is committed by one of them, once, and the others skip it.
func TestConcurrentRunsRecordEachBatchOnce(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	tk := neo4jtest.Token(t)
	var items []importer.Item
	for i := range 6 {
		key := store.EndpointKey(fmt.Sprintf("e%d-%s", i, tk))
		items = append(items, importer.Item{Ref: key, Node: &store.NodeRecord{Key: key, Kind: store.KindEndpoint, Name: key}})
	}
	const runs = 4
	sums := make([]importer.Summary, runs)
	errs := make([]error, runs)
	var wg sync.WaitGroup
	for r := range runs {
		wg.Go(func() {
			var failures []importer.Failure
			sums[r], errs[r] = importer.Run(t.Context(), st, importer.Items(slices.Clone(items)), options(tk, 1, false, &failures))
		})
	}
	wg.Wait()
	recorded, batches := 0, 0
	for r := range runs {
		require.NoError(t, errs[r])
		assert.Equal(t, len(items), sums[r].Recorded+sums[r].Skipped, "run %d", r)
		recorded += sums[r].Recorded
		batches += sums[r].Batches
	}
	assert.Equal(t, len(items), recorded, "each item recorded by one run")
	assert.Equal(t, len(items), batches, "each batch committed by one run")
	markers := neo4jtest.Exec(t, `MATCH (m:`+store.LabelImportMarker+` {key: $key}) RETURN m.batch AS batch, m.items AS items`,
		map[string]any{"key": "import:test:" + tk})
	require.Len(t, markers.Records, 1, "one marker")
	assert.Equal(t, []any{int64(len(items)), int64(len(items))}, markers.Records[0].Values)
	require.NoError(t, neo4jtest.Store(t).AwaitAuditSequenced(t.Context()))
	trail := neo4jtest.Exec(t, `MATCH (e:`+store.LabelAuditEntry+` {action: $action}) WHERE e.targets[0] = $marker RETURN count(e) AS n`,
		map[string]any{"action": store.ActionImportBatch, "marker": "import:test:" + tk})
	assert.Equal(t, int64(len(items)), trail.Records[0].Values[0], "one audit entry a batch")
}

// Runs of one import in batches of different sizes place a batch by its first item: a
// batch inside what another run committed is skipped, one that overlaps it is refused,
// and no item is recorded twice or skipped.
func TestBatchesArePlacedByTheirFirstItem(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	tk := neo4jtest.Token(t)
	ctx := t.Context()
	source := "test:first-" + tk
	batch := func(n, first int64, size int, items ...int) store.ImportBatch {
		b := store.ImportBatch{Mark: store.ImportMark{Source: source, BatchSize: size, Batch: n, First: first, Items: len(items)}}
		for _, i := range items {
			key := store.EndpointKey(fmt.Sprintf("p%d-%s", i, tk))
			b.Nodes = append(b.Nodes, store.NodeRecord{Key: key, Kind: store.KindEndpoint, Name: key})
		}
		return b
	}
	// One run, in batches of 4, commits items 0-3.
	res, err := st.Import(ctx, "tester", batch(1, 0, 4, 0, 1, 2, 3))
	require.NoError(t, err)
	assert.True(t, res.Committed)
	// Another, in batches of 2: its second batch (items 2-3) is committed already.
	res, err = st.Import(ctx, "tester", batch(2, 2, 2, 2, 3))
	require.NoError(t, err)
	assert.False(t, res.Committed, "a batch inside what was committed is skipped")
	// A third, in batches of 3: its second batch (items 3-5) overlaps the first run's.
	_, err = st.Import(ctx, "tester", batch(2, 3, 3, 3, 4, 5))
	assert.Equal(t, apperr.Conflict, apperr.CodeOf(err), "%v", err)
	p, err := st.ImportProgressOf(ctx, source)
	require.NoError(t, err)
	assert.Equal(t, int64(4), p.Items, "the overlapping batch recorded nothing")
	// The batch that starts where the committed items end is recorded.
	res, err = st.Import(ctx, "tester", batch(2, 4, 2, 4, 5))
	require.NoError(t, err)
	assert.True(t, res.Committed)
	p, err = st.ImportProgressOf(ctx, source)
	require.NoError(t, err)
	assert.Equal(t, int64(6), p.Items)
	n := neo4jtest.Exec(t, `MATCH (e:`+store.LabelNode+`) WHERE e.key ENDS WITH $suffix RETURN count(e) AS n`, map[string]any{"suffix": "-" + tk})
	assert.Equal(t, int64(6), n.Records[0].Values[0])
}

// What a record's ID says wins over its properties, and an edge is never dated before
// its end nodes, whatever its record says: lineage as of a time relies on both.
func TestRecordsCannotContradictTheirIDsOrTheirNodes(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	tk := neo4jtest.Token(t)
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	job, ep := store.JobKey("ns-"+tk, "train"), store.EndpointKey("e-"+tk)
	art := store.ArtifactKey("s3://m-" + tk + "/a")
	items := []importer.Item{
		{Ref: "job", Node: &store.NodeRecord{Key: job, Kind: store.KindTrainingJob, Name: "train", RecordedAt: at,
			Props: map[string]any{"namespace": "elsewhere"}}},
		{Ref: "art", Node: &store.NodeRecord{Key: art, Kind: store.KindArtifact, Name: "a", RecordedAt: at.Add(2 * time.Hour)}},
		{Ref: "ep", Node: &store.NodeRecord{Key: ep, Kind: store.KindEndpoint, Name: "e", RecordedAt: at}},
		{Ref: "early", Edge: &store.EdgeRecord{From: job, To: art, Type: store.RelProduced, RecordedAt: at.Add(time.Hour)}},
	}
	var failures []importer.Failure
	_, err := importer.Run(t.Context(), st, importer.Items(items), options(tk, 100, false, &failures))
	require.NoError(t, err)
	require.Empty(t, failures)
	res := neo4jtest.Exec(t, `MATCH (j:`+store.LabelNode+` {key: $job})-[r:`+store.RelProduced+`]->(a {key: $art})
RETURN j.namespace AS ns, r.recordedAt = a.recordedAt AS edgeAtArtifact`, map[string]any{"job": job, "art": art})
	require.Len(t, res.Records, 1)
	assert.Equal(t, []any{"ns-" + tk, true}, res.Records[0].Values, "the namespace the ID says; the edge at its later node's time")
}
