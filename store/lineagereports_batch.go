package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"

	"github.com/provgraph/provgraph/apperr"
)

// How reports are written: a batch is cut into chunks of consecutive reports, and each
// chunk is one transaction of a fixed number of statements, whatever its size. The
// transaction first merges and locks the chunk's jobs, then its runs (each in key
// order, as a single report does), reads what the chunk's version lookups need, then
// works out every report in order in Go — as if each report were recorded alone, after
// the ones before it — and writes the outcome with one UNWIND statement per kind of
// change. A chunk therefore costs about ten round trips and one commit instead of ten
// round trips and a commit per report.
//
// Failures stay per report. A report the graph refuses (a run recorded under another
// job, say) is found while the chunk is worked out; the transaction is then rolled
// back and the chunk recorded again without it, so a refused report writes nothing. A
// chunk that fails for another reason is recorded again one report per transaction, so
// the failure is pinned on the reports that cause it.

// LineageReportsPerTransaction is the most reports recorded in one transaction.
const LineageReportsPerTransaction = 500

// ReportLineage records reports in order, with the outcome each would have if it were
// recorded alone after the ones before it, and returns for each report what it was
// recorded on, or why it was not (a refused report writes nothing). Every report whose
// error is nil is committed when it returns. When the graph database becomes
// unavailable, the reports not yet recorded are not attempted and get an UNAVAILABLE
// error. Reported runs are recorded in the experiment runsIn names, created (with
// runsIn's description) on first use.
//
// A RunReport records its job, its run (nested in its parent run, created as a
// placeholder when that parent has not been seen yet), the dataset versions it read and
// wrote with their facets, and the edges between them; the run's state accumulates
// over its reports (see runReportState). A JobIOReport records the job with its facets
// and the dataset versions it reads and writes, as for a run but without one. A
// DatasetReport adds its facets to the dataset version it is about. A repeat of a
// report changes nothing.
//
// Versions: a report may pin a dataset's version. Otherwise an output of a run is the
// version run:<run id>, which the run writes; an input of a run is the version the run
// read before (a later report of the run names the same input), else the newest version
// recorded other than the run's own output, else Unversioned. An input of a JobIOReport,
// or the dataset of a DatasetReport, is the newest version recorded, else Unversioned;
// an output of a JobIOReport is Unversioned (a job without a run wrote no particular
// version).
func (s *Store) ReportLineage(ctx context.Context, actor string, runsIn ExperimentInput, reports []LineageReport) ([]LineageRecord, []error) {
	recs := make([]LineageRecord, len(reports))
	errs := make([]error, len(reports))
	checked := make([]checkedReport, 0, len(reports))
	for i, rep := range reports {
		c, err := checkReport(rep)
		if err != nil {
			errs[i] = err
			continue
		}
		c.index = i
		checked = append(checked, c)
	}
	for start := 0; start < len(checked); start += LineageReportsPerTransaction {
		chunk := checked[start:min(start+LineageReportsPerTransaction, len(checked))]
		if err := s.recordReportChunk(ctx, actor, runsIn, chunk, recs, errs); err != nil {
			// Unavailable: the rest would wait out the same outage one by one.
			rest := &apperr.Error{Code: apperr.Unavailable, Reason: "not attempted: the graph database is unavailable; retry later"}
			for _, rep := range checked[start+len(chunk):] {
				errs[rep.index] = rest
			}
			break
		}
	}
	return recs, errs
}

// recordReportChunk records a chunk, dropping refused reports until the rest commit.
// It returns an error only when the database is unavailable (the chunk's reports have
// it).
func (s *Store) recordReportChunk(ctx context.Context, actor string, runsIn ExperimentInput, chunk []checkedReport, recs []LineageRecord, errs []error) error {
	for len(chunk) > 0 {
		var exp string
		if slices.ContainsFunc(chunk, func(r checkedReport) bool { return r.kind == runReportKind }) {
			e, err := s.reportExperiment(ctx, actor, runsIn)
			if err != nil {
				return s.reportChunkFailed(ctx, actor, runsIn, chunk, recs, errs, err)
			}
			exp = e.Key
		}
		out, err := write(ctx, s, actor, ActionLineageReport, func(tx neo4j.ManagedTransaction, au *audit) (chunkResult, error) {
			out, err := reportTx{ctx: ctx, tx: tx, actor: actor, au: au}.recordChunk(exp, chunk)
			for _, r := range out.records {
				au.target(r.Job, r.Run, r.Parent, r.Version)
				au.target(r.Inputs...)
				au.target(r.Outputs...)
			}
			return out, err
		})
		var refused *refusedReports
		switch {
		case errors.As(err, &refused):
			var rest []checkedReport
			for _, rep := range chunk {
				if e, ok := refused.errs[rep.index]; ok {
					errs[rep.index] = e
				} else {
					rest = append(rest, rep)
				}
			}
			chunk = rest
		case err != nil:
			if errors.Is(err, errExperimentGone) {
				reportExperiments.Delete(reportExperimentKey{s, runsIn.Name})
			}
			return s.reportChunkFailed(ctx, actor, runsIn, chunk, recs, errs, err)
		default:
			for i, rep := range chunk {
				recs[rep.index] = out.records[i]
			}
			return nil
		}
	}
	return nil
}

// reportChunkFailed handles a chunk that failed as a whole: an outage fails its
// reports; anything else is retried one report per transaction to find the reports at
// fault.
func (s *Store) reportChunkFailed(ctx context.Context, actor string, runsIn ExperimentInput, chunk []checkedReport, recs []LineageRecord, errs []error, err error) error {
	if apperr.CodeOf(err) == apperr.Unavailable || ctx.Err() != nil || len(chunk) == 1 {
		for _, rep := range chunk {
			errs[rep.index] = err
		}
		if apperr.CodeOf(err) == apperr.Unavailable || ctx.Err() != nil {
			return err
		}
		return nil
	}
	for i, rep := range chunk {
		if err := s.recordReportChunk(ctx, actor, runsIn, []checkedReport{rep}, recs, errs); err != nil {
			for _, rest := range chunk[i+1:] {
				errs[rest.index] = err
			}
			return err
		}
	}
	return nil
}

// refusedReports lists the reports of a chunk the graph refused, by index.
type refusedReports struct{ errs map[int]error }

func (r *refusedReports) Error() string {
	return fmt.Sprintf("%d lineage reports refused", len(r.errs))
}

type reportKind int

const (
	runReportKind reportKind = iota
	jobIOReportKind
	datasetReportKind
)

// checkedReport is a checked report, ready to record.
type checkedReport struct {
	index  int // in the batch
	kind   reportKind
	status RunStatus
	start  bool
	at     time.Time
	// job is the job of a run or job report; jobFacets are the report's job facets.
	job       jobRow
	jobFacets map[string]any
	// Run reports: the run, its facets, and its parent (with the parent's job).
	run       runRow
	runFacets map[string]any
	parent    *runRow
	parentJob jobRow
	// inputs and outputs of run and job reports; dataset of a dataset report.
	inputs, outputs []reportedDataset
	dataset         reportedDataset
}

// checkReport checks a report without touching the graph.
func checkReport(rep LineageReport) (checkedReport, error) {
	switch {
	case rep.Run != nil:
		return checkRunReport(*rep.Run)
	case rep.JobIO != nil:
		return checkJobIOReport(*rep.JobIO)
	case rep.Dataset != nil:
		if err := checkReportTime(rep.Dataset.At); err != nil {
			return checkedReport{}, err
		}
		d, err := checkReportedDataset("dataset", rep.Dataset.Dataset)
		return checkedReport{kind: datasetReportKind, at: rep.Dataset.At, dataset: d}, err
	}
	return checkedReport{}, errors.New("report lineage: an empty report")
}

func checkRunReport(rep RunReport) (checkedReport, error) {
	if !runIDForm.MatchString(rep.RunID) {
		return checkedReport{}, apperr.Invalid("runId", "must be 32 lowercase hexadecimal digits (got %q)", truncateForMessage(rep.RunID))
	}
	if rep.Status != "" {
		if err := checkRunStatus("status", rep.Status); err != nil {
			return checkedReport{}, err
		}
	}
	if err := checkReportTime(rep.At); err != nil {
		return checkedReport{}, err
	}
	out := checkedReport{kind: runReportKind, status: rep.Status, start: rep.Start, at: rep.At.UTC(), jobFacets: rep.Job.Facets, runFacets: rep.Facets}
	var err error
	if out.job, err = checkJobRow("job", rep.Job); err != nil {
		return checkedReport{}, err
	}
	if err := checkFacets("job.facets", rep.Job.Facets); err != nil {
		return checkedReport{}, err
	}
	if err := checkFacets("facets", rep.Facets); err != nil {
		return checkedReport{}, err
	}
	out.run = runRow{key: RunKey(rep.RunID), runID: rep.RunID, name: reportedRunName(rep.Job.Name)}
	if p := rep.Parent; p != nil {
		if !runIDForm.MatchString(p.RunID) {
			return checkedReport{}, apperr.Invalid("parent.runId", "must be 32 lowercase hexadecimal digits (got %q)", truncateForMessage(p.RunID))
		}
		if p.RunID == rep.RunID {
			return checkedReport{}, apperr.Invalid("parent.runId", "names the run itself; a run cannot be its own parent")
		}
		if out.parentJob, err = checkJobRow("parent.job", ReportedJob{Namespace: p.JobNamespace, Name: p.JobName}); err != nil {
			return checkedReport{}, err
		}
		out.parent = &runRow{key: RunKey(p.RunID), runID: p.RunID, name: reportedRunName(p.JobName), startTime: out.at}
	}
	if out.inputs, err = checkReportedDatasets("inputs", rep.Inputs); err != nil {
		return checkedReport{}, err
	}
	if out.outputs, err = checkReportedDatasets("outputs", rep.Outputs); err != nil {
		return checkedReport{}, err
	}
	return out, nil
}

func checkJobIOReport(rep JobIOReport) (checkedReport, error) {
	if err := checkReportTime(rep.At); err != nil {
		return checkedReport{}, err
	}
	out := checkedReport{kind: jobIOReportKind, at: rep.At, jobFacets: rep.Job.Facets}
	var err error
	if out.job, err = checkJobRow("job", rep.Job); err != nil {
		return checkedReport{}, err
	}
	if err := checkFacets("job.facets", rep.Job.Facets); err != nil {
		return checkedReport{}, err
	}
	if out.inputs, err = checkReportedDatasets("inputs", rep.Inputs); err != nil {
		return checkedReport{}, err
	}
	if out.outputs, err = checkReportedDatasets("outputs", rep.Outputs); err != nil {
		return checkedReport{}, err
	}
	return out, nil
}

func checkJobRow(field string, j ReportedJob) (jobRow, error) {
	key, err := checkReportedJob(field, j)
	return jobRow{key: key, namespace: j.Namespace, name: j.Name}, err
}

type chunkResult struct{ records []LineageRecord }

// chunkVersion is a dataset version the chunk records for the first time: newer
// than any recorded before, ordered among the chunk's own by the report that recorded
// it, then output before input, then ID (as cypherNewestVersions orders them).
type chunkVersion struct {
	version, key string
	seq          int
	asOutput     bool
}

func (a chunkVersion) newerThan(b chunkVersion) bool {
	if a.seq != b.seq {
		return a.seq > b.seq
	}
	if a.asOutput != b.asOutput {
		return a.asOutput
	}
	return a.key > b.key
}

// reportChunk is the state of a chunk being worked out: the graph as the reports before
// the current one left it, and the changes to write.
type reportChunk struct {
	jobs     map[string]storedFacets
	runs     map[string]*mergedRun
	existing map[string]bool     // version IDs recorded before the chunk
	dbNewest map[string][]string // dataset ID → its two newest recorded versions
	// fresh are the versions the chunk records first, by dataset ID.
	fresh map[string][]chunkVersion

	versionRows  []map[string]any
	versionSeen  map[string]bool
	facets       []facetUpdate
	io           jobIO
	executedBy   [][]string // [run, job]
	childOf      [][]string // [run, parent]
	runProps     map[string]map[string]any
	runPropOrder []string
}

// recordChunk records a chunk of checked reports in this transaction, or returns
// *refusedReports naming the reports the graph refuses (then nothing must be
// committed). It locks, reads what the chunk's reports need, works every report out
// in order in Go, and writes the outcome.
func (w reportTx) recordChunk(experiment string, reports []checkedReport) (chunkResult, error) {
	c := &reportChunk{versionSeen: map[string]bool{}, runProps: map[string]map[string]any{},
		fresh: map[string][]chunkVersion{}, runs: map[string]*mergedRun{}}
	if err := w.mergeAndLock(c, experiment, reports); err != nil {
		return chunkResult{}, err
	}
	if err := w.readVersions(c, reports); err != nil {
		return chunkResult{}, err
	}
	out := chunkResult{records: make([]LineageRecord, len(reports))}
	refused := map[int]error{}
	for seq, rep := range reports {
		var rec LineageRecord
		var err error
		switch rep.kind {
		case runReportKind:
			rec, err = c.runReport(seq, rep)
		case jobIOReportKind:
			rec = c.jobIOReport(seq, rep)
		case datasetReportKind:
			vs := c.resolve([]reportedDataset{rep.dataset}, nil, "")
			c.addVersions(seq, vs, nil)
			rec = LineageRecord{Version: vs[0].versionKey()}
		}
		if err != nil {
			refused[rep.index] = err
			continue
		}
		out.records[seq] = rec
	}
	if len(refused) > 0 {
		return chunkResult{}, &refusedReports{errs: refused}
	}
	return out, w.writeChunk(c)
}

// mergeAndLock merges the jobs, then the runs, the reports name, each in key order.
// Jobs whose facets reports add to, or that reports link to datasets, are locked, so
// that facet updates serialise and each job–dataset edge is added once (see
// linkJobIO): runs of one job wait for one another; readers of a shared table do not.
// Every run is locked.
func (w reportTx) mergeAndLock(c *reportChunk, experiment string, reports []checkedReport) error {
	var jobs []jobRow
	var runs []runRow
	seen := map[string]bool{}
	lockJobs := map[string]bool{}
	addJob := func(j jobRow) {
		if !seen[j.key] {
			seen[j.key] = true
			jobs = append(jobs, j)
		}
	}
	addRun := func(r runRow) {
		if !seen[r.key] { // the first report naming a run says how it is created
			seen[r.key] = true
			runs = append(runs, r)
		}
	}
	for _, rep := range reports {
		if rep.kind == datasetReportKind {
			continue
		}
		addJob(rep.job)
		if len(rep.jobFacets) > 0 || len(rep.inputs)+len(rep.outputs) > 0 {
			lockJobs[rep.job.key] = true
		}
		if rep.kind == runReportKind {
			addRun(rep.run)
			if rep.parent != nil {
				addJob(rep.parentJob)
				addRun(*rep.parent)
			}
		}
	}
	var err error
	if len(jobs) > 0 {
		if c.jobs, err = w.mergeJobs(jobs, lockJobs); err != nil {
			return err
		}
	}
	if len(runs) > 0 {
		merged, err := w.mergeRuns(experiment, runs)
		if err != nil {
			return err
		}
		for k, r := range merged {
			c.runs[k] = &r
		}
	}
	return nil
}

// readVersions reads what the chunk's version lookups need: which of the versions it
// may record exist, and the two newest versions of each dataset read without a pin.
func (w reportTx) readVersions(c *reportChunk, reports []checkedReport) error {
	var keys, lookup []string
	seen := map[string]bool{}
	add := func(list *[]string, k string) {
		if !seen[k] {
			seen[k] = true
			*list = append(*list, k)
		}
	}
	for _, ev := range reports {
		own := ""
		if ev.kind == runReportKind {
			own = runVersionPrefix + ev.run.runID
		}
		for _, d := range append(slices.Clone(ev.inputs), ev.dataset) {
			if d.key == "" {
				continue
			}
			if d.pinned != "" {
				add(&keys, DatasetVersionKey(d.namespace, d.name, d.pinned))
			} else {
				add(&lookup, d.key)
			}
		}
		for _, d := range ev.outputs {
			add(&keys, DatasetVersionKey(d.namespace, d.name, cmp.Or(d.pinned, own, Unversioned)))
		}
	}
	c.existing = map[string]bool{}
	if len(keys) > 0 {
		recs, err := collect(w.ctx, w.tx, cypherFoundKeys, map[string]any{"keys": keys})
		if err != nil {
			return fmt.Errorf("look up reported dataset versions: %w", err)
		}
		found, _ := recs[0].Get("found")
		for _, k := range stringsOf(found) {
			c.existing[k] = true
		}
	}
	c.dbNewest = map[string][]string{}
	if len(lookup) > 0 {
		recs, err := collect(w.ctx, w.tx, cypherNewestVersions, map[string]any{"datasets": lookup, "unversioned": Unversioned})
		if err != nil {
			return fmt.Errorf("newest versions of reported inputs: %w", err)
		}
		for _, r := range recs {
			dk, _ := r.Get("dk")
			vs, _ := r.Get("versions")
			c.dbNewest[dk.(string)] = stringsOf(vs)
		}
	}
	return nil
}

// resolve gives each dataset its version: the pinned one, else the one in read (what
// the run read before), else the newest recorded other than exclude, else
// "unversioned".
func (c *reportChunk) resolve(ds []reportedDataset, read map[string]string, exclude string) []resolvedVersion {
	out := make([]resolvedVersion, len(ds))
	for i, d := range ds {
		out[i] = resolvedVersion{d, cmp.Or(d.pinned, read[d.key])}
		if out[i].version == "" {
			out[i].version = cmp.Or(c.newest(d.key, exclude), Unversioned)
		}
	}
	return out
}

// newest is the newest version of a dataset other than exclude, or "".
func (c *reportChunk) newest(dataset, exclude string) string {
	var best *chunkVersion
	for i, v := range c.fresh[dataset] {
		if v.version != exclude && (best == nil || v.newerThan(*best)) {
			best = &c.fresh[dataset][i]
		}
	}
	if best != nil {
		return best.version
	}
	for _, v := range c.dbNewest[dataset] {
		if v != exclude {
			return v
		}
	}
	return ""
}

// addVersions records a report's dataset versions (reads, then writes) with the
// facets the report gives them.
func (c *reportChunk) addVersions(seq int, reads, writes []resolvedVersion) {
	written := map[string]bool{}
	for _, v := range writes {
		written[v.versionKey()] = true
	}
	for _, v := range append(slices.Clone(reads), writes...) {
		k := v.versionKey()
		if !c.versionSeen[k] {
			c.versionSeen[k] = true
			row := v.ref().row()
			row["seq"], row["asOutput"] = seq, written[k]
			c.versionRows = append(c.versionRows, row)
			if !c.existing[k] && v.version != Unversioned {
				c.fresh[v.key] = append(c.fresh[v.key], chunkVersion{version: v.version, key: k, seq: seq, asOutput: written[k]})
			}
		}
		c.facets = append(c.facets, facetUpdate{key: k, add: v.facets})
	}
}

// link adds the edges of a job to what a report says it read and wrote.
func (c *reportChunk) link(job string, reads, writes []string) {
	c.io.readAll(job, reads)
	c.io.wroteAll(job, writes)
}

func (c *reportChunk) jobIOReport(seq int, ev checkedReport) LineageRecord {
	ins := c.resolve(ev.inputs, nil, "")
	outs := make([]resolvedVersion, len(ev.outputs))
	for i, d := range ev.outputs {
		outs[i] = resolvedVersion{d, cmp.Or(d.pinned, Unversioned)}
	}
	c.addVersions(seq, ins, outs)
	rec := LineageRecord{Job: ev.job.key, Inputs: versionKeys(ins), Outputs: versionKeys(outs)}
	c.link(ev.job.key, rec.Inputs, rec.Outputs)
	c.facets = append(c.facets, facetUpdate{key: ev.job.key, add: ev.jobFacets})
	return rec
}

// runReport works out a run report: refused when it contradicts the run's recorded
// job or parent, else its versions, edges, facets and run state are added to the
// chunk's changes.
func (c *reportChunk) runReport(seq int, rep checkedReport) (LineageRecord, error) {
	run, job := rep.run, rep.job.key
	own := c.runs[run.key]
	if err := c.checkNeighbours(rep); err != nil {
		return LineageRecord{}, err
	}
	// Versions: what this run read before stays what it read.
	read := map[string]string{}
	for _, k := range stringsOf(own.node.Props[propInputs]) {
		if head, version, ok := cutLast(strings.TrimPrefix(k, prefixDatasetVersion), "#"); ok {
			read[prefixDataset+head] = version
		}
	}
	ins := c.resolve(rep.inputs, read, runVersionPrefix+run.runID)
	outs := make([]resolvedVersion, len(rep.outputs))
	for i, d := range rep.outputs {
		outs[i] = resolvedVersion{d, cmp.Or(d.pinned, runVersionPrefix+run.runID)}
	}
	rec := LineageRecord{Run: run.key, Job: job, Inputs: versionKeys(ins), Outputs: versionKeys(outs)}
	props, err := runReportState(own.node, rep, runFacets{
		run: rep.runFacets, job: rep.jobFacets, inputs: facetsByVersion(ins), outputs: facetsByVersion(outs),
	}, rec.Inputs, rec.Outputs)
	if err != nil {
		return LineageRecord{}, err
	}
	// Accepted: apply it.
	c.addVersions(seq, ins, outs)
	c.link(job, rec.Inputs, rec.Outputs)
	c.facets = append(c.facets, facetUpdate{key: job, add: rep.jobFacets})
	c.addNeighbours(rep)
	if rep.parent != nil {
		rec.Parent = rep.parent.key
	}
	c.setRunProps(own, props)
	return rec, nil
}

// checkNeighbours refuses a run report that names another job or parent than the run
// was recorded with, or another job for its parent run: a run has one job and one
// parent.
func (c *reportChunk) checkNeighbours(rep checkedReport) error {
	own := c.runs[rep.run.key]
	if err := sameNeighbour(own.executors, rep.job.key, "job", "run %q was recorded as executed by %q; a run belongs to one job", rep.run.key); err != nil {
		return err
	}
	if rep.parent == nil {
		return nil
	}
	if err := sameNeighbour(own.parents, rep.parent.key, "parent.runId", "run %q was recorded as nested in %q; a run has one parent", rep.run.key); err != nil {
		return err
	}
	return sameNeighbour(c.runs[rep.parent.key].executors, rep.parentJob.key, "parent.job", "parent run %q was recorded as executed by %q", rep.parent.key)
}

// addNeighbours adds the edges from a run to its job and parent, and from the parent
// to its job, that are not recorded yet.
func (c *reportChunk) addNeighbours(rep checkedReport) {
	own := c.runs[rep.run.key]
	if len(own.executors) == 0 {
		c.executedBy = append(c.executedBy, []string{rep.run.key, rep.job.key})
		own.executors = []string{rep.job.key}
	}
	if rep.parent == nil {
		return
	}
	if len(own.parents) == 0 {
		c.childOf = append(c.childOf, []string{rep.run.key, rep.parent.key})
		own.parents = []string{rep.parent.key}
	}
	if parent := c.runs[rep.parent.key]; len(parent.executors) == 0 {
		c.executedBy = append(c.executedBy, []string{rep.parent.key, rep.parentJob.key})
		parent.executors = []string{rep.parentJob.key}
	}
}

// setRunProps adds props to what the chunk sets on run r, and to r as the chunk's
// later reports see it.
func (c *reportChunk) setRunProps(r *mergedRun, props map[string]any) {
	if len(props) == 0 {
		return
	}
	key := r.node.Key
	if c.runProps[key] == nil {
		c.runProps[key] = map[string]any{}
		c.runPropOrder = append(c.runPropOrder, key)
	}
	for k, v := range props {
		if list, ok := v.([]string); ok { // as the driver reads lists back
			l := make([]any, len(list))
			for i, s := range list {
				l[i] = s
			}
			r.node.Props[k] = l
		} else {
			r.node.Props[k] = v
		}
		c.runProps[key][k] = v
	}
}

// writeChunk writes what the chunk's reports changed, one statement per kind of change.
func (w reportTx) writeChunk(c *reportChunk) error {
	stored := map[string]storedFacets{}
	for k, f := range c.jobs {
		stored[k] = f
	}
	if len(c.versionRows) > 0 {
		// Versions whose facets reports add to are locked, so those updates serialise.
		lock := map[string]bool{}
		for _, f := range c.facets {
			if len(f.add) > 0 {
				lock[f.key] = true
			}
		}
		rows := slices.Clone(c.versionRows)
		for _, r := range rows {
			r["lock"] = lock[r["key"].(string)]
		}
		slices.SortFunc(rows, func(a, b map[string]any) int { return strings.Compare(a["key"].(string), b["key"].(string)) })
		recs, err := collect(w.ctx, w.tx, cypherReportMergeVersions, map[string]any{"rows": rows, "actor": w.actor})
		if err != nil {
			return fmt.Errorf("record reported dataset versions: %w", err)
		}
		for k, f := range facetsByKey(recs) {
			stored[k] = f
		}
	}
	for i := range c.facets {
		c.facets[i].stored = stored[c.facets[i].key]
	}
	if err := w.setFacets(c.facets); err != nil {
		return err
	}
	// Every job the chunk links is locked (see recordChunk).
	if err := linkJobIO(w.ctx, w.tx, w.actor, c.io); err != nil {
		return err
	}
	if len(c.executedBy)+len(c.childOf) > 0 {
		if _, err := w.run(cypherReportRunEdges, "record reported runs' jobs and parents", map[string]any{"executedBy": c.executedBy, "childOf": c.childOf}); err != nil {
			return err
		}
	}
	if len(c.runPropOrder) == 0 {
		return nil
	}
	rows := make([]map[string]any, 0, len(c.runPropOrder))
	for _, k := range c.runPropOrder {
		rows = append(rows, map[string]any{"key": k, "props": c.runProps[k], "created": c.runs[k].created})
	}
	recs, err := w.run(cypherReportUpdateRuns, "update reported runs", map[string]any{"rows": rows})
	for _, rec := range recs {
		k, _ := rec.Get("key")
		old, _ := rec.Get("old")
		key, _ := k.(string)
		props, _ := old.(map[string]any)
		// Facets are only added and inputs and outputs only grow: what changes is
		// the run's state.
		set := c.runProps[key]
		for _, p := range []string{propStatus, propEndTime, propStartTime} {
			if v, ok := set[p]; ok {
				w.au.changeValue(key, p, props[p], v)
			}
		}
	}
	return err
}
