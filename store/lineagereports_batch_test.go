package store_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/apperr"
	"github.com/provgraph/provgraph/internal/neo4jtest"
	"github.com/provgraph/provgraph/store"
)

// olScript is a sequence of events that exercises what one event's outcome takes from
// the ones before it: version lookups (a run's own output left out, a version written
// and one read by one event, what a run read before), placeholders for parents that
// arrive later, facets added by later events, and an event the graph refuses.
func olScript(tk string, runs map[string]string) []store.LineageReport {
	t0 := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	ns := "s3://lake-" + tk
	job := func(name string) store.ReportedJob {
		return store.ReportedJob{Namespace: "airflow-" + tk, Name: name, Facets: map[string]any{"jobType": map[string]any{"jobType": name}}}
	}
	ds := func(name string, facets map[string]any) store.ReportedDataset { return olDataset(ns, name, facets) }
	run := func(typ reported, min int, id, jobName string, in, out []store.ReportedDataset) store.LineageReport {
		return store.LineageReport{Run: &store.RunReport{Status: typ.status, Start: typ.start, At: at(min), RunID: runs[id], Job: job(jobName),
			Facets: map[string]any{"note": map[string]any{"event": fmt.Sprintf("%s-%d", id, min)}}, Inputs: in, Outputs: out}}
	}
	withParent := func(ev store.LineageReport, parent, parentJob string) store.LineageReport {
		ev.Run.Parent = &store.ReportedParent{RunID: runs[parent], JobNamespace: "airflow-" + tk, JobName: parentJob}
		return ev
	}
	schema := map[string]any{"schema": map[string]any{"fields": []any{map[string]any{"name": "id", "type": "BIGINT"}}}}
	return []store.LineageReport{
		run(reportStart, 0, "A", "extract", []store.ReportedDataset{ds("src", nil)}, []store.ReportedDataset{ds("raw", nil)}),
		run(reportComplete, 5, "A", "extract", nil, []store.ReportedDataset{ds("raw", schema)}),
		withParent(run(reportStart, 6, "B", "clean", []store.ReportedDataset{ds("raw", nil)}, []store.ReportedDataset{ds("clean", nil)}), "A", "extract"),
		run(reportStart, 7, "C", "clean", []store.ReportedDataset{ds("raw", versionFacet("p1"))}, []store.ReportedDataset{ds("raw", nil)}),
		run(reportStart, 8, "D", "train", []store.ReportedDataset{ds("raw", nil), ds("clean", nil)}, nil),
		{Dataset: &store.DatasetReport{At: at(9), Dataset: ds("raw", map[string]any{"owner": map[string]any{"name": "data-eng"}})}},
		{JobIO: &store.JobIOReport{At: at(10), Job: job("report"), Inputs: []store.ReportedDataset{ds("clean", nil)}, Outputs: []store.ReportedDataset{ds("report", nil)}}},
		// B read raw before: it keeps that version although C wrote a newer one.
		run(reportComplete, 11, "B", "clean", []store.ReportedDataset{ds("raw", nil)}, []store.ReportedDataset{ds("clean", nil)}),
		// A belongs to extract: refused, and writes nothing (not even the job "other").
		run(reportRunning, 12, "A", "other", nil, []store.ReportedDataset{ds("refused", nil)}),
		run(reportComplete, 13, "D", "train", nil, []store.ReportedDataset{ds("model", versionFacet("m1"))}),
		// G names a parent P that arrives later.
		withParent(run(reportStart, 14, "G", "step", nil, nil), "P", "dag"),
		run(reportStart, 15, "P", "dag", nil, nil),
		{Dataset: &store.DatasetReport{At: at(16), Dataset: ds("clean", versionFacet("v9"))}},
		run(reportRunning, 17, "D", "train", []store.ReportedDataset{ds("clean", nil)}, nil),
		run(reportStart, 18, "H", "score", []store.ReportedDataset{ds("clean", nil)}, nil),
	}
}

// olGraphOf describes what a script wrote: every node it touched and its outgoing
// edges, with the token and the run ids replaced by names, leaving out the
// properties that say when (and in which transaction) something was recorded.
func olGraphOf(t *testing.T, tk string, runs map[string]string) []string {
	t.Helper()
	var runKeys []string
	var names *strings.Replacer
	pairs := []string{tk, "TK"}
	for name, id := range runs {
		hex := strings.ReplaceAll(id, "-", "")
		runKeys = append(runKeys, store.RunKey(hex))
		pairs = append(pairs, id, "RUN-"+name, hex, "RUN-"+name)
	}
	names = strings.NewReplacer(pairs...)
	res := neo4jtest.Exec(t, `
CALL () {
  MATCH (n:`+store.LabelNode+`) WHERE n.key CONTAINS $tk RETURN n
  UNION
  MATCH (n:`+store.LabelNode+`) WHERE n.key IN $runs RETURN n
}
OPTIONAL MATCH (n)-[r]->(m)
WITH n, r, m ORDER BY type(r), m.key
RETURN n.key AS key, properties(n) AS props, collect(type(r) + ' ' + coalesce(m.key, m.name, '')) AS out`,
		map[string]any{"tk": tk, "runs": runKeys})
	var lines []string
	for _, rec := range res.Records {
		key, _ := rec.Get("key")
		props, _ := rec.Get("props")
		out, _ := rec.Get("out")
		p := props.(map[string]any)
		for _, when := range []string{"recordedAt", "updatedAt", "updatedBy", "recordedSeq", "recordedAsOutput"} {
			delete(p, when)
		}
		var b strings.Builder
		fmt.Fprintf(&b, "%v:", key)
		for _, k := range slices.Sorted(maps.Keys(p)) {
			fmt.Fprintf(&b, " %s=%v", k, p[k])
		}
		fmt.Fprintf(&b, " → %v", out)
		lines = append(lines, names.Replace(b.String()))
	}
	slices.Sort(lines)
	return lines
}

// A batch records what the same events record one by one: the same nodes, properties,
// edges and version choices, and the same refusals.
func TestLineageReportBatchMatchesEventsOneByOne(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	ctx := t.Context()
	newRuns := func() map[string]string {
		runs := map[string]string{}
		for _, name := range []string{"A", "B", "C", "D", "G", "P", "H"} {
			runs[name] = store.NewRunID()
		}
		return runs
	}
	normalize := func(tk string, runs map[string]string, recs []store.LineageRecord, errs []error) []string {
		var pairs []string
		for name, id := range runs {
			pairs = append(pairs, store.RunKey(strings.ReplaceAll(id, "-", "")), "RUN-"+name)
		}
		pairs = append(pairs, tk, "TK")
		r := strings.NewReplacer(pairs...)
		var out []string
		for i := range recs {
			out = append(out, r.Replace(fmt.Sprintf("%d: %+v %v %v", i, recs[i], apperr.CodeOf(errs[i]), errs[i] != nil)))
		}
		return out
	}

	tkOne, runsOne := neo4jtest.Token(t), newRuns()
	script := olScript(tkOne, runsOne)
	recsOne := make([]store.LineageRecord, len(script))
	errsOne := make([]error, len(script))
	for i, ev := range script {
		switch {
		case ev.Run != nil:
			recsOne[i], errsOne[i] = reportRun(ctx, st, *ev.Run)
		case ev.JobIO != nil:
			recsOne[i], errsOne[i] = reportJobIO(ctx, st, *ev.JobIO)
		default:
			recsOne[i], errsOne[i] = reportDataset(ctx, st, *ev.Dataset)
		}
	}
	tkBatch, runsBatch := neo4jtest.Token(t), newRuns()
	recsBatch, errsBatch := st.ReportLineage(ctx, olActor, olExperiment, olScript(tkBatch, runsBatch))

	assert.Equal(t, normalize(tkOne, runsOne, recsOne, errsOne), normalize(tkBatch, runsBatch, recsBatch, errsBatch))
	require.Error(t, errsBatch[8])
	assert.Equal(t, apperr.Conflict, apperr.CodeOf(errsBatch[8]))
	for i, err := range errsBatch {
		if i != 8 {
			assert.NoError(t, err, "event %d", i)
		}
	}
	one, batch := olGraphOf(t, tkOne, runsOne), olGraphOf(t, tkBatch, runsBatch)
	assert.Equal(t, one, batch)
	assert.NotContains(t, strings.Join(batch, "\n"), "refused", "the refused event wrote nothing")
	assert.NotContains(t, strings.Join(batch, "\n"), "job:airflow-TK:other")

	// Spot checks of the version choices both made.
	v := func(name, version string) string { return store.DatasetVersionKey("s3://lake-"+tkBatch, name, version) }
	runVersion := func(name string) string { return "run:" + strings.ReplaceAll(runsBatch[name], "-", "") }
	assert.Equal(t, []string{v("raw", runVersion("A"))}, recsBatch[2].Inputs, "B reads what A wrote")
	assert.Equal(t, []string{v("raw", runVersion("C")), v("clean", runVersion("B"))}, recsBatch[4].Inputs,
		"D reads what C wrote, not p1, which C read in the same event")
	assert.Equal(t, v("raw", runVersion("C")), recsBatch[5].Version)
	assert.Equal(t, []string{v("raw", runVersion("A"))}, recsBatch[7].Inputs, "B keeps the version it read")
	assert.Equal(t, []string{v("clean", runVersion("B"))}, recsBatch[13].Inputs, "D keeps the version of clean it read")
	assert.Equal(t, []string{v("clean", "v9")}, recsBatch[14].Inputs, "the newest version of clean is the one the dataset event pinned")
}

// Events refused before they reach the graph (bad input) leave the others of the batch
// to be recorded, and each refusal names its field.
func TestLineageReportBatchRefusesBadEventsAlone(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	tk := neo4jtest.Token(t)
	good := func() store.LineageReport {
		return store.LineageReport{Run: &store.RunReport{Status: store.RunFinished, At: time.Now(), RunID: store.NewRunID(),
			Job: store.ReportedJob{Namespace: "ns-" + tk, Name: "j"}, Outputs: []store.ReportedDataset{olDataset("ns-"+tk, "out", nil)}}}
	}
	bad := good()
	bad.Run.RunID = "not-a-run-id"
	recs, errs := st.ReportLineage(t.Context(), olActor, olExperiment, []store.LineageReport{good(), bad, good()})
	assert.NoError(t, errs[0])
	requireInvalid(t, errs[1], "runId")
	assert.NoError(t, errs[2])
	assert.NotEmpty(t, recs[0].Run)
	assert.Empty(t, recs[1].Run)
	assert.NotEqual(t, recs[0].Run, recs[2].Run)
}
