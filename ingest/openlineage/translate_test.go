package openlineage_test

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/apperr"
	"github.com/provgraph/provgraph/ingest/openlineage"
	"github.com/provgraph/provgraph/store"
)

const (
	testRunID    = "0176a8c2-fe01-7439-87e6-56a1a1b4029f"
	testRunHex   = "0176a8c2fe01743987e656a1a1b4029f"
	testParentID = "0176a8c2-fe01-7439-87e6-56a1a1b40300"
	testParent   = "0176a8c2fe01743987e656a1a1b40300"
)

// translate decodes and translates JSON text, as the handler does.
func translate(t *testing.T, body []byte) (openlineage.Event, store.LineageReport, error) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	require.NoError(t, dec.Decode(&v))
	ev, err := openlineage.Decode(v)
	if err != nil {
		return ev, store.LineageReport{}, err
	}
	rep, err := openlineage.Translate(ev)
	return ev, rep, err
}

func goldenReport(t *testing.T, name string) store.LineageReport {
	t.Helper()
	_, rep, err := translate(t, golden(t, name, map[string]string{"TOKEN": "tk", "RUN_ID": testRunID, "PARENT_RUN_ID": testParentID}))
	require.NoError(t, err)
	return rep
}

// namesOf are the names of a set of facets, sorted.
func namesOf(f map[string]any) []string { return append([]string{}, slices.Sorted(maps.Keys(f))...) }

// reportedDataset is a dataset of a report without its facets, which facetNames checks.
type reportedDataset struct {
	Namespace, Name, URI, Version string
	Facets, RunFacets             []string
}

func datasetsOf(ds []store.ReportedDataset) []reportedDataset {
	out := []reportedDataset{}
	for _, d := range ds {
		out = append(out, reportedDataset{d.Namespace, d.Name, d.URI, d.Version, namesOf(d.Facets), namesOf(d.RunFacets)})
	}
	return out
}

// The golden events of testdata become the reports the store records: the event type
// as the run's status, the UUID as a run id, the version facet as a pinned version,
// namespace and name as a URI, facets passed on by kind.
func TestTranslateGoldenEvents(t *testing.T) {
	t.Parallel()
	pg := "postgres://db-tk.example.com:5432"
	t.Run("run_start.json", func(t *testing.T) {
		r := goldenReport(t, "run_start.json").Run
		require.NotNil(t, r)
		assert.Equal(t, testRunHex, r.RunID)
		assert.Equal(t, store.RunRunning, r.Status)
		assert.True(t, r.Start)
		assert.True(t, r.At.Equal(time.Date(2026, 3, 14, 9, 30, 0, 0, time.UTC)))
		assert.Equal(t, store.ReportedJob{Namespace: "my-scheduler-namespace-tk", Name: "myjob.mytask", Facets: r.Job.Facets}, r.Job)
		assert.Equal(t, []string{"sql"}, namesOf(r.Job.Facets))
		assert.Equal(t, []string{"nominalTime"}, namesOf(r.Facets))
		assert.Nil(t, r.Parent)
		assert.Equal(t, []reportedDataset{{pg, "instance.schema.input", pg + "/instance.schema.input", "", []string{"dataSource", "schema"}, []string{}}}, datasetsOf(r.Inputs))
		assert.Equal(t, []reportedDataset{{pg, "instance.schema.output", pg + "/instance.schema.output", "", []string{"schema"}, []string{}}}, datasetsOf(r.Outputs))
	})
	t.Run("run_complete.json", func(t *testing.T) {
		r := goldenReport(t, "run_complete.json").Run
		require.NotNil(t, r)
		assert.Equal(t, store.RunFinished, r.Status)
		assert.False(t, r.Start)
		assert.True(t, r.At.Equal(time.Date(2026, 3, 14, 9, 35, 12, 345678000, time.UTC)))
		assert.Equal(t, []string{"processing_engine"}, namesOf(r.Facets))
		assert.Equal(t, []reportedDataset{{pg, "instance.schema.input", pg + "/instance.schema.input", "", []string{}, []string{"inputStatistics"}}}, datasetsOf(r.Inputs))
		assert.Equal(t, []reportedDataset{{pg, "instance.schema.output", pg + "/instance.schema.output", "", []string{"columnLineage", "dataSource"}, []string{"outputStatistics"}}}, datasetsOf(r.Outputs))
	})
	t.Run("legacy_event.json", func(t *testing.T) {
		r := goldenReport(t, "legacy_event.json").Run
		require.NotNil(t, r)
		assert.Equal(t, store.RunStatus(""), r.Status, "no eventType reports no status")
		assert.False(t, r.Start)
		assert.True(t, r.At.Equal(time.Date(2021, 11, 3, 10, 53, 52, 427343000, time.UTC)), "a time without a zone is UTC")
		assert.Equal(t, &store.ReportedParent{RunID: testParent, JobNamespace: "airflow-tk", JobName: "etl_orders"}, r.Parent)
		assert.Equal(t, []string{"parent"}, namesOf(r.Facets), "parentRun is kept as parent")
		assert.Empty(t, r.Inputs)
		assert.Equal(t, []reportedDataset{{"s3://legacy-tk", "orders/2021-11-03", "s3://legacy-tk/orders/2021-11-03", "", []string{}, []string{}}}, datasetsOf(r.Outputs))
	})
	t.Run("job_event.json", func(t *testing.T) {
		rep := goldenReport(t, "job_event.json")
		require.Nil(t, rep.Run)
		j := rep.JobIO
		require.NotNil(t, j)
		assert.Equal(t, "dbt-tk", j.Job.Namespace)
		assert.Equal(t, "analytics.orders_daily", j.Job.Name)
		assert.Equal(t, []string{"jobType"}, namesOf(j.Job.Facets))
		assert.Equal(t, []reportedDataset{{pg, "instance.schema.output", pg + "/instance.schema.output", "", []string{}, []string{}}}, datasetsOf(j.Inputs))
		assert.Equal(t, []reportedDataset{{pg, "analytics.orders_daily", pg + "/analytics.orders_daily", "", []string{}, []string{}}}, datasetsOf(j.Outputs))
	})
	t.Run("dataset_event.json", func(t *testing.T) {
		rep := goldenReport(t, "dataset_event.json")
		d := rep.Dataset
		require.NotNil(t, d)
		assert.True(t, d.At.Equal(time.Date(2026, 3, 14, 10, 0, 0, 0, time.UTC)))
		assert.Equal(t, []reportedDataset{{pg, "instance.schema.reference", pg + "/instance.schema.reference", "2026-03-01", []string{"documentation", "version"}, []string{}}},
			datasetsOf([]store.ReportedDataset{d.Dataset}))
	})
}

// Each event type reports a run status; a START is the run's start.
func TestTranslateEventTypes(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		eventType string // "" leaves it out
		status    store.RunStatus
		start     bool
	}{
		{"START", store.RunRunning, true},
		{"RUNNING", store.RunRunning, false},
		{"COMPLETE", store.RunFinished, false},
		{"FAIL", store.RunFailed, false},
		{"ABORT", store.RunKilled, false},
		{"OTHER", "", false},
		{"", "", false},
		{"complete", store.RunFinished, false},
	} {
		t.Run(tt.eventType, func(t *testing.T) {
			ev := map[string]any{"eventTime": "2026-03-14T09:30:00Z", "run": map[string]any{"runId": testRunID}, "job": map[string]any{"namespace": "a", "name": "b"}}
			if tt.eventType != "" {
				ev["eventType"] = tt.eventType
			}
			b, _ := json.Marshal(ev)
			_, rep, err := translate(t, b)
			require.NoError(t, err)
			assert.Equal(t, tt.status, rep.Run.Status)
			assert.Equal(t, tt.start, rep.Run.Start)
		})
	}
}

// How a dataset's namespace and name make its URI.
func TestTranslateDatasetURIs(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ namespace, name, uri string }{
		{"s3://lake", "raw/orders", "s3://lake/raw/orders"},
		{"s3://lake/", "/raw/orders", "s3://lake/raw/orders"},
		{"file", "/data/x.csv", "file:///data/x.csv"},
		{"file", "data/x.csv", "file:///data/x.csv"},
		{"postgres://db:5432", "public.orders", "postgres://db:5432/public.orders"},
	} {
		b, _ := json.Marshal(map[string]any{"eventTime": "2026-03-14T09:30:00Z", "dataset": map[string]any{"namespace": tt.namespace, "name": tt.name}})
		_, rep, err := translate(t, b)
		require.NoError(t, err)
		assert.Equal(t, tt.uri, rep.Dataset.Dataset.URI, "%s %s", tt.namespace, tt.name)
	}
}

// Events that break a rule of the format are refused naming the field of the event.
func TestTranslateRefusesBadEvents(t *testing.T) {
	t.Parallel()
	event := func(edit func(m map[string]any)) []byte {
		m := map[string]any{
			"eventType": "START", "eventTime": "2026-03-14T09:30:00Z",
			"run":     map[string]any{"runId": testRunID},
			"job":     map[string]any{"namespace": "ns", "name": "job"},
			"inputs":  []any{map[string]any{"namespace": "s3://b", "name": "in"}},
			"outputs": []any{map[string]any{"namespace": "s3://b", "name": "out"}},
		}
		edit(m)
		b, err := json.Marshal(m)
		require.NoError(t, err)
		return b
	}
	for _, tt := range []struct {
		name  string
		body  []byte
		field string
	}{
		{"run id not a UUID", event(func(m map[string]any) { m["run"] = map[string]any{"runId": "run-1"} }), "run.runId"},
		{"unknown event type", event(func(m map[string]any) { m["eventType"] = "STARTED" }), "eventType"},
		{"version facet not an object", event(func(m map[string]any) {
			m["inputs"] = []any{map[string]any{"namespace": "s3://b", "name": "in", "facets": map[string]any{"version": "v1"}}}
		}), "inputs[0].facets.version"},
		{"version facet without a version", event(func(m map[string]any) {
			m["outputs"] = []any{map[string]any{"namespace": "s3://b", "name": "out", "facets": map[string]any{"version": map[string]any{"datasetVersion": 3}}}}
		}), "outputs[0].facets.version.datasetVersion"},
		{"empty version", event(func(m map[string]any) {
			m["outputs"] = []any{map[string]any{"namespace": "s3://b", "name": "out", "facets": map[string]any{"datasetVersion": map[string]any{"datasetVersion": ""}}}}
		}), "outputs[0].facets.datasetVersion.datasetVersion"},
		{"parent run id not a UUID", event(func(m map[string]any) {
			m["run"] = map[string]any{"runId": testRunID, "facets": map[string]any{"parent": map[string]any{
				"run": map[string]any{"runId": "x"}, "job": map[string]any{"namespace": "ns", "name": "dag"}}}}
		}), "run.facets.parent.run.runId"},
		{"parent without a job name", event(func(m map[string]any) {
			m["run"] = map[string]any{"runId": testRunID, "facets": map[string]any{"parent": map[string]any{
				"run": map[string]any{"runId": testParentID}, "job": map[string]any{"namespace": "ns"}}}}
		}), "run.facets.parent.job.name"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := translate(t, tt.body)
			e, ok := apperr.As(err)
			require.True(t, ok, "want INVALID_ARGUMENT about %s, got %v", tt.field, err)
			assert.Equal(t, apperr.InvalidArgument, e.Code, "%v", err)
			assert.Equal(t, tt.field, e.Field, "%v", err)
		})
	}
}

// A rule the store finds broken names the field of the event it concerns.
func TestEventFieldOfReportFields(t *testing.T) {
	t.Parallel()
	ev, _, err := translate(t, []byte(`{"eventTime": "2026-03-14T09:30:00Z", "run": {"runId": "`+testRunID+`"},
		"job": {"namespace": "a", "name": "b"},
		"inputs": [{"namespace": "s3://b", "name": "x"}, {"namespace": "s3://b", "name": "y", "facets": {"datasetVersion": {"datasetVersion": "a#b"}}}],
		"outputs": [{"namespace": "s3://b", "name": "z", "facets": {"version": {"datasetVersion": "v#1"}}}]}`))
	require.NoError(t, err)
	dsEv, _, err := translate(t, []byte(`{"eventTime": "2026-03-14T09:30:00Z", "dataset": {"namespace": "s3://b", "name": "x", "facets": {"datasetVersion": {"datasetVersion": "a#b"}}}}`))
	require.NoError(t, err)
	for _, tt := range []struct {
		ev            openlineage.Event
		report, event string
	}{
		{ev, "runId", "run.runId"},
		{ev, "status", "eventType"},
		{ev, "at", "eventTime"},
		{ev, "facets", "run.facets"},
		{ev, "facets.custom", "run.facets.custom"},
		{ev, "parent.runId", "run.facets.parent.run.runId"},
		{ev, "parent.job", "run.facets.parent.job"},
		{ev, "parent.job.name", "run.facets.parent.job.name"},
		{ev, "job", "job"},
		{ev, "job.name", "job.name"},
		{ev, "job.facets.sql", "job.facets.sql"},
		{ev, "inputs", "inputs"},
		{ev, "inputs[0].namespace", "inputs[0].namespace"},
		{ev, "inputs[0].version", "inputs[0].facets.version.datasetVersion"},
		{ev, "inputs[1].version", "inputs[1].facets.datasetVersion.datasetVersion"},
		{ev, "outputs[0].version", "outputs[0].facets.version.datasetVersion"},
		{ev, "inputs[0].runFacets.stats", "inputs[0].inputFacets.stats"},
		{ev, "outputs[0].runFacets", "outputs[0].outputFacets"},
		{ev, "outputs[0].facets.schema", "outputs[0].facets.schema"},
		{dsEv, "dataset.version", "dataset.facets.datasetVersion.datasetVersion"},
		{dsEv, "dataset.name", "dataset.name"},
		{dsEv, "at", "eventTime"},
	} {
		assert.Equal(t, tt.event, openlineage.EventField(tt.ev, tt.report), tt.report)
	}
}
