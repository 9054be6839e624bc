package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/apperr"
	"github.com/provgraph/provgraph/internal/neo4jtest"
	"github.com/provgraph/provgraph/store"
)

const olActor = "openlineage"

// olExperiment is the experiment the tests' reported runs go to.
var olExperiment = store.ExperimentInput{Name: "lineage-reports"}

// reported is what a report says of its run's status: the status it reports and
// whether it is the run's start (the OpenLineage adapter's START, RUNNING, ...).
type reported struct {
	status store.RunStatus
	start  bool
}

var (
	reportStart    = reported{store.RunRunning, true}
	reportRunning  = reported{store.RunRunning, false}
	reportComplete = reported{store.RunFinished, false}
	reportFail     = reported{store.RunFailed, false}
	reportAbort    = reported{store.RunKilled, false}
	reportOther    = reported{}
)

func reportOne(ctx context.Context, st *store.Store, rep store.LineageReport) (store.LineageRecord, error) {
	recs, errs := st.ReportLineage(ctx, olActor, olExperiment, []store.LineageReport{rep})
	return recs[0], errs[0]
}

func reportRun(ctx context.Context, st *store.Store, r store.RunReport) (store.LineageRecord, error) {
	return reportOne(ctx, st, store.LineageReport{Run: &r})
}

func reportJobIO(ctx context.Context, st *store.Store, r store.JobIOReport) (store.LineageRecord, error) {
	return reportOne(ctx, st, store.LineageReport{JobIO: &r})
}

func reportDataset(ctx context.Context, st *store.Store, r store.DatasetReport) (store.LineageRecord, error) {
	return reportOne(ctx, st, store.LineageReport{Dataset: &r})
}

// runKeyOf is the node ID of a run.
func runKeyOf(_ *testing.T, runID string) string { return store.RunKey(runID) }

// olDataset is a dataset as the OpenLineage adapter reports it: its URI made of
// namespace and name, its version pinned by a "version" facet.
func olDataset(ns, name string, facets map[string]any) store.ReportedDataset {
	d := store.ReportedDataset{Namespace: ns, Name: name, URI: ns + "/" + name, Facets: facets}
	for _, f := range []string{"version", "datasetVersion"} {
		if v, ok := facets[f].(map[string]any); ok {
			d.Version, _ = v["datasetVersion"].(string)
		}
	}
	return d
}

func versionFacet(v string) map[string]any {
	return map[string]any{"version": map[string]any{"datasetVersion": v}}
}

func keysOf(nodes []store.Node) []string {
	out := make([]string, 0, len(nodes))
	for _, n := range nodes {
		out = append(out, n.Key)
	}
	return out
}

func facetsOf(t *testing.T, n store.Node) map[string]any {
	t.Helper()
	raw, ok := n.Props["facets"].(string)
	require.True(t, ok, "node %s has no facets", n.Key)
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(raw), &m))
	return m
}

func mustNode(t *testing.T, st *store.Store, key string) store.Node {
	t.Helper()
	n, err := st.NodeByID(t.Context(), "id", key)
	require.NoError(t, err, "node %s", key)
	return n
}

// propsText is a canonical text of a node's properties, to compare before and after.
func propsText(t *testing.T, st *store.Store, key string) string {
	t.Helper()
	n := mustNode(t, st, key)
	var out string
	for _, k := range slices.Sorted(maps.Keys(n.Props)) {
		out += fmt.Sprintf("%s=%v;", k, n.Props[k])
	}
	return out
}

func requireInvalid(t *testing.T, err error, field string) {
	t.Helper()
	e, ok := apperr.As(err)
	require.True(t, ok, "want INVALID_ARGUMENT about %s, got %v", field, err)
	assert.Equal(t, apperr.InvalidArgument, e.Code, "%v", err)
	assert.Equal(t, field, e.Field, "%v", err)
}

// A START and a COMPLETE of one run: the job, the run in the openlineage experiment, the
// versions and their facets, and Marquez-style lineage through the job node.
func TestLineageReportRunEventMapsOntoTheGraph(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	tk := neo4jtest.Token(t)
	ctx := t.Context()
	ns := "s3://lake-" + tk
	runID := store.NewRunID()
	t0 := time.Date(2026, 3, 14, 9, 30, 0, 0, time.UTC)
	schema := map[string]any{"_producer": "test", "fields": []any{map[string]any{"name": "id", "type": "BIGINT"}}}
	start := store.RunReport{
		Status: store.RunRunning, Start: true, At: t0, RunID: runID,
		Facets: map[string]any{"nominalTime": map[string]any{"nominalStartTime": "2026-03-14T09:00:00Z"}},
		Job: store.ReportedJob{Namespace: "airflow-" + tk, Name: "etl.clean",
			Facets: map[string]any{"sql": map[string]any{"query": "SELECT 1"}}},
		Inputs: []store.ReportedDataset{
			olDataset(ns, "raw/orders", map[string]any{"schema": schema, "version": map[string]any{"datasetVersion": "v1"}}),
			olDataset(ns, "raw/customers", nil),
		},
		Outputs: []store.ReportedDataset{olDataset(ns, "clean/orders", map[string]any{
			"schema":     schema,
			"dataSource": map[string]any{"name": "lake", "uri": ns},
		})},
	}
	rec, err := reportRun(ctx, st, start)
	require.NoError(t, err)

	jobKey := store.JobKey("airflow-"+tk, "etl.clean")
	runKey := runKeyOf(t, runID)
	ordersV1 := store.DatasetVersionKey(ns, "raw/orders", "v1")
	customers := store.DatasetVersionKey(ns, "raw/customers", store.Unversioned)
	hex := runID
	clean := store.DatasetVersionKey(ns, "clean/orders", "run:"+hex)
	assert.Equal(t, store.LineageRecord{Run: runKey, Job: jobKey, Inputs: []string{ordersV1, customers}, Outputs: []string{clean}}, rec)

	job := mustNode(t, st, jobKey)
	assert.Equal(t, store.KindProcessingJob, job.Kind)
	assert.Equal(t, "etl.clean", job.Name)
	assert.Equal(t, olActor, job.RecordedBy)
	assert.Equal(t, map[string]any{"sql": map[string]any{"query": "SELECT 1"}}, facetsOf(t, job))

	run := mustNode(t, st, runKey)
	assert.Equal(t, store.KindRun, run.Kind)
	assert.Equal(t, "RUNNING", run.String("status"))
	assert.Equal(t, hex, run.String("runId"))
	assert.Equal(t, "etl.clean", run.Name)
	require.NotNil(t, run.OptTime("startTime"))
	assert.True(t, run.OptTime("startTime").Equal(t0))
	assert.Nil(t, run.OptTime("endTime"))
	assert.Contains(t, facetsOf(t, run), "nominalTime")
	exp, err := st.ExperimentOf(ctx, runKey)
	require.NoError(t, err)
	assert.Equal(t, olExperiment.Name, exp.Name)
	executor, err := st.ExecutorOfRun(ctx, runKey)
	require.NoError(t, err)
	assert.Equal(t, []string{jobKey}, keysOf(executor))

	v := mustNode(t, st, clean)
	assert.Equal(t, store.KindDatasetVersion, v.Kind)
	assert.Equal(t, ns, v.String("namespace"))
	assert.Equal(t, "clean/orders", v.Name)
	assert.Equal(t, ns+"/clean/orders", v.String("uri"))
	assert.Equal(t, "run:"+hex, v.String("version"))
	assert.Equal(t, olActor, v.RecordedBy)
	assert.Equal(t, []string{"dataSource", "schema"}, slices.Sorted(maps.Keys(facetsOf(t, v))))
	assert.Equal(t, "v1", mustNode(t, st, ordersV1).String("versionId"))
	parent, err := st.ParentOf(ctx, clean)
	require.NoError(t, err)
	assert.Equal(t, store.DatasetKey(ns, "clean/orders"), parent.Key)
	assert.Equal(t, ns+"/clean/orders", parent.String("uri"))

	ins, err := st.InputsOf(ctx, jobKey)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{ordersV1, customers}, keysOf(ins))
	outs, err := st.OutputsOf(ctx, jobKey)
	require.NoError(t, err)
	assert.Equal(t, []string{clean}, keysOf(outs))

	// COMPLETE: the run finishes; facets are added, never replaced.
	complete := start
	complete.Status, complete.Start, complete.At = store.RunFinished, false, t0.Add(time.Minute)
	complete.Outputs = []store.ReportedDataset{olDataset(ns, "clean/orders", map[string]any{
		"schema": map[string]any{"fields": []any{}}, "custom": map[string]any{"owner": "data-eng"},
	})}
	complete.Facets = map[string]any{"processing_engine": map[string]any{"name": "spark"}}
	_, err = reportRun(ctx, st, complete)
	require.NoError(t, err)
	run = mustNode(t, st, runKey)
	assert.Equal(t, "FINISHED", run.String("status"))
	assert.True(t, run.OptTime("startTime").Equal(t0))
	assert.True(t, run.OptTime("endTime").Equal(t0.Add(time.Minute)))
	assert.Equal(t, []string{"nominalTime", "processing_engine"}, slices.Sorted(maps.Keys(facetsOf(t, run))))
	vf := facetsOf(t, mustNode(t, st, clean))
	assert.Equal(t, []string{"custom", "dataSource", "schema"}, slices.Sorted(maps.Keys(vf)))
	assert.Equal(t, schema["fields"], vf["schema"].(map[string]any)["fields"], "the first schema recorded stays")

	// Lineage works from the job and from a dataset, Marquez-style.
	down, err := st.Lineage(ctx, store.LineageQuery{Start: []string{store.DatasetKey(ns, "raw/orders")}, Direction: store.Downstream, MaxDepth: 5})
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{store.DatasetKey(ns, "raw/orders"), ordersV1, jobKey, clean}, keysOf(down.Nodes))
	up, err := st.Lineage(ctx, store.LineageQuery{Start: []string{jobKey}, Direction: store.Upstream, MaxDepth: 5})
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{jobKey, ordersV1, customers}, keysOf(up.Nodes))
}

// The same event delivered again — any kind of event — changes nothing.
func TestLineageReportRepeatedEventChangesNothing(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	ctx := t.Context()
	t0 := time.Date(2026, 3, 14, 9, 30, 0, 0, time.UTC)
	for _, tt := range []struct {
		name   string
		record func(tk, runID, parentID string) (store.LineageRecord, error)
	}{
		{"START", func(tk, runID, parentID string) (store.LineageRecord, error) {
			return reportRun(ctx, st, store.RunReport{
				Status: store.RunRunning, Start: true, At: t0, RunID: runID,
				Parent:  &store.ReportedParent{RunID: parentID, JobNamespace: "ns-" + tk, JobName: "dag-" + tk},
				Job:     store.ReportedJob{Namespace: "ns-" + tk, Name: "task", Facets: map[string]any{"jobType": map[string]any{"integration": "AIRFLOW"}}},
				Inputs:  []store.ReportedDataset{olDataset("pg://db-"+tk, "a", map[string]any{"schema": map[string]any{"fields": []any{}}})},
				Outputs: []store.ReportedDataset{olDataset("pg://db-"+tk, "b", nil)},
			})
		}},
		{"COMPLETE", func(tk, runID, parentID string) (store.LineageRecord, error) {
			return reportRun(ctx, st, store.RunReport{
				Status: store.RunFinished, At: t0, RunID: runID,
				Facets:  map[string]any{"errorMessage": nil, "custom": map[string]any{"n": json.Number("12345678901234567890")}},
				Job:     store.ReportedJob{Namespace: "ns-" + tk, Name: "task"},
				Outputs: []store.ReportedDataset{olDataset("pg://db-"+tk, "b", versionFacet("42"))},
			})
		}},
		{"JobEvent", func(tk, _, _ string) (store.LineageRecord, error) {
			return reportJobIO(ctx, st, store.JobIOReport{
				At: t0, Job: store.ReportedJob{Namespace: "ns-" + tk, Name: "model"},
				Inputs:  []store.ReportedDataset{olDataset("pg://db-"+tk, "a", nil)},
				Outputs: []store.ReportedDataset{olDataset("pg://db-"+tk, "b", nil)},
			})
		}},
		{"DatasetEvent", func(tk, _, _ string) (store.LineageRecord, error) {
			return reportDataset(ctx, st, store.DatasetReport{
				At: t0, Dataset: olDataset("pg://db-"+tk, "a", map[string]any{"documentation": map[string]any{"description": "x"}}),
			})
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tk := neo4jtest.Token(t)
			runID, parentID := store.NewRunID(), store.NewRunID()
			first, err := tt.record(tk, runID, parentID)
			require.NoError(t, err)
			before := neo4jtest.Snapshot(t, tk)
			require.NotEmpty(t, before)
			var runBefore string
			if first.Run != "" {
				runBefore = propsText(t, st, first.Run)
			}
			again, err := tt.record(tk, runID, parentID)
			require.NoError(t, err)
			assert.Equal(t, first, again)
			assert.Equal(t, before, neo4jtest.Snapshot(t, tk))
			if first.Run != "" {
				assert.Equal(t, runBefore, propsText(t, st, first.Run))
			}
		})
	}
}

// The same event from 8 goroutines at once is recorded once: one run, one edge of each
// kind, and a ninth delivery changes nothing.
func TestLineageReportConcurrentDeliveryRecordsOnce(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	tk := neo4jtest.Token(t)
	ctx := t.Context()
	ev := store.RunReport{
		Status: store.RunRunning, Start: true, At: time.Date(2026, 3, 14, 9, 30, 0, 0, time.UTC), RunID: store.NewRunID(),
		Facets:  map[string]any{"custom": map[string]any{"x": "y"}},
		Parent:  &store.ReportedParent{RunID: store.NewRunID(), JobNamespace: "ns-" + tk, JobName: "dag"},
		Job:     store.ReportedJob{Namespace: "ns-" + tk, Name: "task", Facets: map[string]any{"sql": map[string]any{"query": "q"}}},
		Inputs:  []store.ReportedDataset{olDataset("s3://b-"+tk, "in1", nil), olDataset("s3://b-"+tk, "in2", versionFacet("7"))},
		Outputs: []store.ReportedDataset{olDataset("s3://b-"+tk, "out", map[string]any{"schema": map[string]any{"fields": []any{}}})},
	}
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = reportRun(ctx, st, ev)
		})
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	runKey := runKeyOf(t, ev.RunID)
	count := func(cypher string) int64 {
		res := neo4jtest.Exec(t, cypher, map[string]any{"run": runKey, "token": tk})
		n, _ := res.Records[0].Get("n")
		return n.(int64)
	}
	assert.EqualValues(t, 1, count(`MATCH (r {key: $run}) RETURN count(r) AS n`))
	for _, rel := range []string{store.RelExecutedBy, store.RelChildOf, store.RelInExperiment} {
		assert.EqualValues(t, 1, count(`MATCH ({key: $run})-[e:`+rel+`]->() RETURN count(e) AS n`), rel)
	}
	// Two inputs and one output, each version with one VERSION_OF edge.
	assert.EqualValues(t, 2, count(`MATCH (v)-[e:`+store.RelInputTo+`]->(j) WHERE j.key CONTAINS $token RETURN count(e) AS n`))
	assert.EqualValues(t, 1, count(`MATCH (j)-[e:`+store.RelProduced+`]->(v) WHERE j.key CONTAINS $token RETURN count(e) AS n`))
	assert.EqualValues(t, 3, count(`MATCH (v)-[e:`+store.RelVersionOf+`]->(d) WHERE d.key CONTAINS $token RETURN count(e) AS n`))
	assert.EqualValues(t, 2, count(`MATCH (j:`+string(store.KindProcessingJob)+`) WHERE j.key CONTAINS $token RETURN count(j) AS n`))

	before := neo4jtest.Snapshot(t, tk)
	runBefore := propsText(t, st, runKey)
	_, err := reportRun(ctx, st, ev)
	require.NoError(t, err)
	assert.Equal(t, before, neo4jtest.Snapshot(t, tk))
	assert.Equal(t, runBefore, propsText(t, st, runKey))
}

// Events of a run may come in any order: a COMPLETE before its START still finishes the
// run, the START then sets the start time, and a late RUNNING or a contradicting end
// changes nothing.
func TestLineageReportRunStateAccumulatesOutOfOrder(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	tk := neo4jtest.Token(t)
	ctx := t.Context()
	runID := store.NewRunID()
	runKey := runKeyOf(t, runID)
	t0 := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	send := func(typ reported, at time.Time) store.Node {
		t.Helper()
		_, err := reportRun(ctx, st, store.RunReport{
			Status: typ.status, Start: typ.start, At: at, RunID: runID, Job: store.ReportedJob{Namespace: "ns-" + tk, Name: "job"},
		})
		require.NoError(t, err)
		return mustNode(t, st, runKey)
	}
	type want struct {
		status     string
		start, end time.Time // zero: absent
	}
	check := func(r store.Node, w want) {
		t.Helper()
		assert.Equal(t, w.status, r.String("status"))
		for prop, at := range map[string]time.Time{"startTime": w.start, "endTime": w.end} {
			if at.IsZero() {
				assert.Nil(t, r.OptTime(prop), prop)
			} else if assert.NotNil(t, r.OptTime(prop), prop) {
				assert.True(t, r.OptTime(prop).Equal(at), "%s: got %v, want %v", prop, r.OptTime(prop), at)
			}
		}
	}
	// OTHER first: the run exists, running, started no later than the event.
	check(send(reportOther, t0.Add(5*time.Minute)), want{"RUNNING", t0.Add(5 * time.Minute), time.Time{}})
	check(send(reportComplete, t0.Add(10*time.Minute)), want{"FINISHED", t0.Add(5 * time.Minute), t0.Add(10 * time.Minute)})
	check(send(reportStart, t0), want{"FINISHED", t0, t0.Add(10 * time.Minute)})
	check(send(reportRunning, t0.Add(time.Minute)), want{"FINISHED", t0, t0.Add(10 * time.Minute)})
	check(send(reportFail, t0.Add(11*time.Minute)), want{"FINISHED", t0, t0.Add(10 * time.Minute)})
	check(send(reportOther, t0.Add(-time.Hour)), want{"FINISHED", t0, t0.Add(10 * time.Minute)})

	for _, tt := range []struct {
		typ    reported
		status string
	}{{reportFail, "FAILED"}, {reportAbort, "KILLED"}, {reportComplete, "FINISHED"}} {
		id := store.NewRunID()
		_, err := reportRun(ctx, st, store.RunReport{
			Status: tt.typ.status, Start: tt.typ.start, At: t0, RunID: id, Job: store.ReportedJob{Namespace: "ns-" + tk, Name: "job"},
		})
		require.NoError(t, err)
		r := mustNode(t, st, runKeyOf(t, id))
		assert.Equal(t, tt.status, r.String("status"), string(tt.typ.status))
		assert.True(t, r.OptTime("endTime").Equal(t0))
	}
}

// Which version of a dataset an event means.
func TestLineageReportVersionRules(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	ctx := t.Context()
	at := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	hexOf := func(runID string) string { return runID }
	runEvent := func(tk, job string, typ reported, runID string, ins, outs []store.ReportedDataset) store.LineageRecord {
		t.Helper()
		rec, err := reportRun(ctx, st, store.RunReport{
			Status: typ.status, Start: typ.start, At: at, RunID: runID, Job: store.ReportedJob{Namespace: "ns-" + tk, Name: job},
			Inputs: ins, Outputs: outs,
		})
		require.NoError(t, err)
		return rec
	}

	t.Run("an input before any version is unversioned, then the newest", func(t *testing.T) {
		t.Parallel()
		tk := neo4jtest.Token(t)
		ns := "s3://b-" + tk
		x := []store.ReportedDataset{olDataset(ns, "x", nil)}
		rec := runEvent(tk, "reader0", reportStart, store.NewRunID(), x, nil)
		assert.Equal(t, []string{store.DatasetVersionKey(ns, "x", store.Unversioned)}, rec.Inputs)
		a, b := store.NewRunID(), store.NewRunID()
		runEvent(tk, "writer", reportComplete, a, nil, x)
		rec = runEvent(tk, "reader1", reportStart, store.NewRunID(), x, nil)
		assert.Equal(t, []string{store.DatasetVersionKey(ns, "x", "run:"+hexOf(a))}, rec.Inputs)
		runEvent(tk, "writer", reportComplete, b, nil, x)
		rec = runEvent(tk, "reader2", reportStart, store.NewRunID(), x, nil)
		assert.Equal(t, []string{store.DatasetVersionKey(ns, "x", "run:"+hexOf(b))}, rec.Inputs, "the newest version by recordedAt")
		// A job event writing x records no known version: readers keep the newest known one.
		_, err := reportJobIO(ctx, st, store.JobIOReport{
			At: at, Job: store.ReportedJob{Namespace: "ns-" + tk, Name: "static"}, Outputs: x,
		})
		require.NoError(t, err)
		rec = runEvent(tk, "reader3", reportStart, store.NewRunID(), x, nil)
		assert.Equal(t, []string{store.DatasetVersionKey(ns, "x", "run:"+hexOf(b))}, rec.Inputs)
	})

	t.Run("a run keeps reading the version it read first", func(t *testing.T) {
		t.Parallel()
		tk := neo4jtest.Token(t)
		ns := "s3://b-" + tk
		x := []store.ReportedDataset{olDataset(ns, "x", nil)}
		a, b, reader := store.NewRunID(), store.NewRunID(), store.NewRunID()
		runEvent(tk, "writer", reportComplete, a, nil, x)
		first := runEvent(tk, "reader", reportStart, reader, x, nil)
		runEvent(tk, "writer", reportComplete, b, nil, x) // a newer version appears
		again := runEvent(tk, "reader", reportComplete, reader, x, nil)
		vA := store.DatasetVersionKey(ns, "x", "run:"+hexOf(a))
		assert.Equal(t, []string{vA}, first.Inputs)
		assert.Equal(t, []string{vA}, again.Inputs)
		ins, err := st.InputsOf(ctx, store.JobKey("ns-"+tk, "reader"))
		require.NoError(t, err)
		assert.Equal(t, []string{vA}, keysOf(ins))
	})

	t.Run("a run reading what it writes reads the version before its own", func(t *testing.T) {
		t.Parallel()
		tk := neo4jtest.Token(t)
		ns := "s3://b-" + tk
		x := []store.ReportedDataset{olDataset(ns, "x", nil)}
		a, b := store.NewRunID(), store.NewRunID()
		runEvent(tk, "append", reportComplete, a, x, x)
		rec := runEvent(tk, "append", reportStart, b, x, x)
		// b's COMPLETE comes after its own output version exists.
		again := runEvent(tk, "append", reportComplete, b, x, x)
		assert.Equal(t, []string{store.DatasetVersionKey(ns, "x", "run:"+hexOf(a))}, rec.Inputs)
		assert.Equal(t, []string{store.DatasetVersionKey(ns, "x", "run:"+hexOf(b))}, rec.Outputs)
		assert.Equal(t, rec, again)
	})

	t.Run("a version facet pins the version of inputs and outputs", func(t *testing.T) {
		t.Parallel()
		tk := neo4jtest.Token(t)
		ns := "s3://b-" + tk
		rec := runEvent(tk, "job", reportStart, store.NewRunID(),
			[]store.ReportedDataset{olDataset(ns, "in", versionFacet("snap-1"))},
			[]store.ReportedDataset{olDataset(ns, "out", map[string]any{"datasetVersion": map[string]any{"datasetVersion": "snap-9"}})})
		assert.Equal(t, []string{store.DatasetVersionKey(ns, "in", "snap-1")}, rec.Inputs)
		assert.Equal(t, []string{store.DatasetVersionKey(ns, "out", "snap-9")}, rec.Outputs)
		assert.Equal(t, "snap-9", mustNode(t, st, rec.Outputs[0]).String("versionId"))
	})

	t.Run("a job event's outputs are unversioned, its inputs the newest", func(t *testing.T) {
		t.Parallel()
		tk := neo4jtest.Token(t)
		ns := "s3://b-" + tk
		a := store.NewRunID()
		runEvent(tk, "writer", reportComplete, a, nil, []store.ReportedDataset{olDataset(ns, "in", nil)})
		rec, err := reportJobIO(ctx, st, store.JobIOReport{
			At: at, Job: store.ReportedJob{Namespace: "ns-" + tk, Name: "static"},
			Inputs:  []store.ReportedDataset{olDataset(ns, "in", nil)},
			Outputs: []store.ReportedDataset{olDataset(ns, "out", nil)},
		})
		require.NoError(t, err)
		assert.Equal(t, []string{store.DatasetVersionKey(ns, "in", "run:"+hexOf(a))}, rec.Inputs)
		assert.Equal(t, []string{store.DatasetVersionKey(ns, "out", store.Unversioned)}, rec.Outputs)
	})

	t.Run("a dataset event describes the newest version", func(t *testing.T) {
		t.Parallel()
		tk := neo4jtest.Token(t)
		ns := "s3://b-" + tk
		doc := map[string]any{"documentation": map[string]any{"description": "orders"}}
		rec, err := reportDataset(ctx, st, store.DatasetReport{At: at, Dataset: olDataset(ns, "x", doc)})
		require.NoError(t, err)
		assert.Equal(t, store.DatasetVersionKey(ns, "x", store.Unversioned), rec.Version)
		a := store.NewRunID()
		runEvent(tk, "writer", reportComplete, a, nil, []store.ReportedDataset{olDataset(ns, "x", nil)})
		rec, err = reportDataset(ctx, st, store.DatasetReport{At: at, Dataset: olDataset(ns, "x", doc)})
		require.NoError(t, err)
		assert.Equal(t, store.DatasetVersionKey(ns, "x", "run:"+hexOf(a)), rec.Version)
		assert.Contains(t, facetsOf(t, mustNode(t, st, rec.Version)), "documentation")
	})
}

// A parent facet nests a run in its parent; a parent not seen yet is a placeholder that
// its own events later fill in.
func TestLineageReportParentRuns(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	tk := neo4jtest.Token(t)
	ctx := t.Context()
	t0 := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	parentID, childID := store.NewRunID(), store.NewRunID()
	parentKey, childKey := runKeyOf(t, parentID), runKeyOf(t, childID)
	dag := store.ReportedJob{Namespace: "airflow-" + tk, Name: "dag"}
	_, err := reportRun(ctx, st, store.RunReport{
		Status: store.RunRunning, Start: true, At: t0.Add(time.Minute), RunID: childID,
		Parent: &store.ReportedParent{RunID: parentID, JobNamespace: dag.Namespace, JobName: dag.Name},
		Job:    store.ReportedJob{Namespace: "airflow-" + tk, Name: "dag.task"},
	})
	require.NoError(t, err)

	parents, err := st.ParentOfRun(ctx, childKey)
	require.NoError(t, err)
	assert.Equal(t, []string{parentKey}, keysOf(parents))
	placeholder := mustNode(t, st, parentKey)
	assert.Equal(t, "RUNNING", placeholder.String("status"))
	assert.Equal(t, "dag", placeholder.Name)
	assert.True(t, placeholder.OptTime("startTime").Equal(t0.Add(time.Minute)), "started no later than its child")
	executor, err := st.ExecutorOfRun(ctx, parentKey)
	require.NoError(t, err)
	assert.Equal(t, []string{store.JobKey(dag.Namespace, dag.Name)}, keysOf(executor))
	exp, err := st.ExperimentOf(ctx, parentKey)
	require.NoError(t, err)
	assert.Equal(t, olExperiment.Name, exp.Name)

	// The parent's own events fill the placeholder in.
	for _, ev := range []struct {
		typ reported
		at  time.Time
	}{{reportStart, t0}, {reportComplete, t0.Add(time.Hour)}} {
		_, err = reportRun(ctx, st, store.RunReport{Status: ev.typ.status, Start: ev.typ.start, At: ev.at, RunID: parentID, Job: dag})
		require.NoError(t, err)
	}
	p := mustNode(t, st, parentKey)
	assert.Equal(t, "FINISHED", p.String("status"))
	assert.True(t, p.OptTime("startTime").Equal(t0))
	children, err := st.ChildrenOfRun(ctx, parentKey)
	require.NoError(t, err)
	assert.Equal(t, []string{childKey}, keysOf(children))

	// A run has one parent and one job.
	before := neo4jtest.Snapshot(t, tk)
	other := store.NewRunID()
	_, err = reportRun(ctx, st, store.RunReport{
		Status: store.RunFinished, At: t0, RunID: childID,
		Parent: &store.ReportedParent{RunID: other, JobNamespace: dag.Namespace, JobName: dag.Name},
		Job:    store.ReportedJob{Namespace: "airflow-" + tk, Name: "dag.task"},
	})
	assert.Equal(t, apperr.Conflict, apperr.CodeOf(err), "%v", err)
	_, err = reportRun(ctx, st, store.RunReport{
		Status: store.RunFinished, At: t0, RunID: childID, Job: store.ReportedJob{Namespace: "airflow-" + tk, Name: "another"},
	})
	assert.Equal(t, apperr.Conflict, apperr.CodeOf(err), "%v", err)
	assert.Equal(t, before, neo4jtest.Snapshot(t, tk), "a refused event writes nothing")
	_, err = st.NodeByID(ctx, "id", runKeyOf(t, other))
	assert.Equal(t, apperr.NotFound, apperr.CodeOf(err))

	_, err = reportRun(ctx, st, store.RunReport{
		At: t0, RunID: childID, Job: store.ReportedJob{Namespace: "airflow-" + tk, Name: "dag.task"},
		Parent: &store.ReportedParent{RunID: childID, JobNamespace: dag.Namespace, JobName: dag.Name},
	})
	requireInvalid(t, err, "parent.runId")
}

// Events that break a rule are refused naming the field, and write nothing.
func TestLineageReportRefusesBadEvents(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	tk := neo4jtest.Token(t)
	ctx := t.Context()
	at := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	good := func() store.RunReport {
		return store.RunReport{
			Status: store.RunRunning, Start: true, At: at, RunID: store.NewRunID(),
			Job:     store.ReportedJob{Namespace: "ns-" + tk, Name: "job"},
			Inputs:  []store.ReportedDataset{olDataset("s3://b-"+tk, "in", nil)},
			Outputs: []store.ReportedDataset{olDataset("s3://b-"+tk, "out", nil)},
		}
	}
	for _, tt := range []struct {
		name  string
		edit  func(*store.RunReport)
		field string
	}{
		{"run id not 32 hex digits", func(e *store.RunReport) { e.RunID = "run-1" }, "runId"},
		{"unknown status", func(e *store.RunReport) { e.Status = "STARTED" }, "status"},
		{"no time", func(e *store.RunReport) { e.At = time.Time{} }, "at"},
		{"empty job name", func(e *store.RunReport) { e.Job.Name = " " }, "job.name"},
		{"empty input namespace", func(e *store.RunReport) { e.Inputs[0].Namespace = "" }, "inputs[0].namespace"},
		{"control character in an output name", func(e *store.RunReport) { e.Outputs[0].Name = "a\nb" }, "outputs[0].name"},
		{"'#' in a version", func(e *store.RunReport) { e.Inputs[0].Version = "a#b" }, "inputs[0].version"},
		{"blank version", func(e *store.RunReport) { e.Outputs[0].Version = " " }, "outputs[0].version"},
		{"parent run id not 32 hex digits", func(e *store.RunReport) {
			e.Parent = &store.ReportedParent{RunID: "x", JobNamespace: "ns-" + tk, JobName: "dag"}
		}, "parent.runId"},
		{"parent without a job name", func(e *store.RunReport) {
			e.Parent = &store.ReportedParent{RunID: store.NewRunID(), JobNamespace: "ns-" + tk}
		}, "parent.job.name"},
		{"facets that are not JSON", func(e *store.RunReport) { e.Facets = map[string]any{"f": func() {}} }, "facets.f"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ev := good()
			tt.edit(&ev)
			_, err := reportRun(ctx, st, ev)
			requireInvalid(t, err, tt.field)
		})
	}
	assert.Empty(t, neo4jtest.Snapshot(t, tk))
}
