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

// How events are written: a batch is cut into chunks of consecutive events, and each
// chunk is one transaction of a fixed number of statements, whatever its size. The
// transaction first merges and locks the chunk's jobs, then its runs (each in key
// order, as a single event does), reads what the chunk's version lookups need, then
// works out every event in order in Go — as if each event were recorded alone, after
// the ones before it — and writes the outcome with one UNWIND statement per kind of
// change. A chunk therefore costs about ten round trips and one commit instead of ten
// round trips and a commit per event.
//
// Failures stay per event. An event the graph refuses (a run recorded under another
// job, say) is found while the chunk is worked out; the transaction is then rolled
// back and the chunk recorded again without it, so a refused event writes nothing. A
// chunk that fails for another reason is recorded again one event per transaction, so
// the failure is pinned on the events that cause it.

// OpenLineageChunkSize is the most events recorded in one transaction.
const OpenLineageChunkSize = 500

// OpenLineageEvent is one decoded event of any kind: exactly one field is set.
type OpenLineageEvent struct {
	Run     *OpenLineageRunEvent
	Job     *OpenLineageJobEvent
	Dataset *OpenLineageDatasetEvent
}

// RecordOpenLineageRunEvent records a RunEvent in one transaction: its job, its run
// (nested in the parent run its parent facet names, created as a placeholder when that
// parent has not been seen yet), the dataset versions it read and wrote with their
// facets, and the edges between them. A repeat of an event changes nothing.
//
// Versions: a version facet pins a dataset's version. Otherwise an output is the version
// run:<run id>, which this run writes; an input is the version this run read before (a
// later event of the run names the same input), else the newest version recorded (a
// known one before "unversioned"), else "unversioned".
//
// The run's state accumulates over its events (see olRunState): START and RUNNING make it
// RUNNING, COMPLETE FINISHED, FAIL FAILED, ABORT KILLED; a finished run stays finished.
func (s *Store) RecordOpenLineageRunEvent(ctx context.Context, actor string, ev OpenLineageRunEvent) (OpenLineageRecord, error) {
	return s.recordOne(ctx, actor, OpenLineageEvent{Run: &ev})
}

// RecordOpenLineageJobEvent records a JobEvent in one transaction: the job with its
// facets and the dataset versions it reads and writes, as for a run but without one.
// Without a version facet an input is the newest recorded version (else
// "unversioned"), and an output "unversioned": a job without a run wrote no particular
// version.
func (s *Store) RecordOpenLineageJobEvent(ctx context.Context, actor string, ev OpenLineageJobEvent) (OpenLineageRecord, error) {
	return s.recordOne(ctx, actor, OpenLineageEvent{Job: &ev})
}

// RecordOpenLineageDatasetEvent records a DatasetEvent: the dataset version it is about
// (the one its version facet pins, else the newest recorded, else "unversioned") with
// its facets added.
func (s *Store) RecordOpenLineageDatasetEvent(ctx context.Context, actor string, ev OpenLineageDatasetEvent) (OpenLineageRecord, error) {
	return s.recordOne(ctx, actor, OpenLineageEvent{Dataset: &ev})
}

func (s *Store) recordOne(ctx context.Context, actor string, ev OpenLineageEvent) (OpenLineageRecord, error) {
	recs, errs := s.RecordOpenLineageBatch(ctx, actor, []OpenLineageEvent{ev})
	return recs[0], errs[0]
}

// RecordOpenLineageBatch records events in order, with the outcome each would have if
// it were recorded alone after the ones before it, and returns for each event what it
// was recorded on, or why it was not (a refused event writes nothing). Every event
// whose error is nil is committed when it returns. When the graph database becomes
// unavailable, the events not yet recorded are not attempted and get an UNAVAILABLE
// error.
func (s *Store) RecordOpenLineageBatch(ctx context.Context, actor string, events []OpenLineageEvent) ([]OpenLineageRecord, []error) {
	recs := make([]OpenLineageRecord, len(events))
	errs := make([]error, len(events))
	prepared := make([]olEvent, 0, len(events))
	for i, ev := range events {
		p, err := prepareOLEvent(ev)
		if err != nil {
			errs[i] = err
			continue
		}
		p.index = i
		prepared = append(prepared, p)
	}
	for start := 0; start < len(prepared); start += OpenLineageChunkSize {
		chunk := prepared[start:min(start+OpenLineageChunkSize, len(prepared))]
		if err := s.recordOLChunk(ctx, actor, chunk, recs, errs); err != nil {
			// Unavailable: the rest would wait out the same outage one by one.
			rest := &apperr.Error{Code: apperr.Unavailable, Reason: "not attempted: the graph database is unavailable; retry later"}
			for _, ev := range prepared[start+len(chunk):] {
				errs[ev.index] = rest
			}
			break
		}
	}
	return recs, errs
}

// recordOLChunk records a chunk, dropping refused events until the rest commit. It
// returns an error only when the database is unavailable (the chunk's events have it).
func (s *Store) recordOLChunk(ctx context.Context, actor string, chunk []olEvent, recs []OpenLineageRecord, errs []error) error {
	for len(chunk) > 0 {
		var exp string
		if slices.ContainsFunc(chunk, func(e olEvent) bool { return e.kind == olRunKind }) {
			e, err := s.openLineageExperiment(ctx, actor)
			if err != nil {
				return s.olChunkFailed(ctx, actor, chunk, recs, errs, err)
			}
			exp = e.Key
		}
		out, err := write(ctx, s, actor, ActionOpenLineageBatch, func(tx neo4j.ManagedTransaction, au *audit) (olChunkResult, error) {
			out, err := olTx{ctx: ctx, tx: tx, actor: actor}.recordChunk(exp, chunk)
			for _, r := range out.records {
				au.target(r.Job, r.Run, r.Parent, r.Version)
				au.target(r.Inputs...)
				au.target(r.Outputs...)
			}
			return out, err
		})
		var refused *olRefused
		switch {
		case errors.As(err, &refused):
			var rest []olEvent
			for _, ev := range chunk {
				if e, ok := refused.errs[ev.index]; ok {
					errs[ev.index] = e
				} else {
					rest = append(rest, ev)
				}
			}
			chunk = rest
		case err != nil:
			if errors.Is(err, errOLExperimentGone) {
				olExperiments.Delete(s)
			}
			return s.olChunkFailed(ctx, actor, chunk, recs, errs, err)
		default:
			for i, ev := range chunk {
				recs[ev.index] = out.records[i]
			}
			return nil
		}
	}
	return nil
}

// olChunkFailed handles a chunk that failed as a whole: an outage fails its events;
// anything else is retried one event per transaction to find the events at fault.
func (s *Store) olChunkFailed(ctx context.Context, actor string, chunk []olEvent, recs []OpenLineageRecord, errs []error, err error) error {
	if apperr.CodeOf(err) == apperr.Unavailable || ctx.Err() != nil || len(chunk) == 1 {
		for _, ev := range chunk {
			errs[ev.index] = err
		}
		if apperr.CodeOf(err) == apperr.Unavailable || ctx.Err() != nil {
			return err
		}
		return nil
	}
	for i, ev := range chunk {
		if err := s.recordOLChunk(ctx, actor, []olEvent{ev}, recs, errs); err != nil {
			for _, rest := range chunk[i+1:] {
				errs[rest.index] = err
			}
			return err
		}
	}
	return nil
}

// olRefused lists the events of a chunk the graph refused, by index.
type olRefused struct{ errs map[int]error }

func (r *olRefused) Error() string { return fmt.Sprintf("%d OpenLineage events refused", len(r.errs)) }

type olKind int

const (
	olRunKind olKind = iota
	olJobKind
	olDatasetKind
)

// olEvent is a checked event, ready to record.
type olEvent struct {
	index int // in the batch
	kind  olKind
	typ   OpenLineageEventType
	at    time.Time
	// job is the job of a run or job event; its facets are the event's job facets.
	job     olJobRow
	jobFacs map[string]any
	// Run events: the run, its facets, and its parent (with the parent's job).
	run       olRunRow
	runFacets map[string]any
	parent    *olRunRow
	parentJob olJobRow
	// inputs and outputs of run and job events; dataset of a dataset event.
	inputs, outputs []olDataset
	dataset         olDataset
}

// prepareOLEvent checks an event without touching the graph.
func prepareOLEvent(ev OpenLineageEvent) (olEvent, error) {
	switch {
	case ev.Run != nil:
		return prepareOLRunEvent(*ev.Run)
	case ev.Job != nil:
		return prepareOLJobEvent(*ev.Job)
	case ev.Dataset != nil:
		if err := checkOLEventTime(ev.Dataset.EventTime); err != nil {
			return olEvent{}, err
		}
		d, err := checkOLDataset("dataset", ev.Dataset.Dataset)
		return olEvent{kind: olDatasetKind, at: ev.Dataset.EventTime, dataset: d}, err
	}
	return olEvent{}, errors.New("record OpenLineage event: no event given")
}

func prepareOLRunEvent(ev OpenLineageRunEvent) (olEvent, error) {
	runID, err := OpenLineageRunID("run.runId", ev.RunID)
	if err != nil {
		return olEvent{}, err
	}
	typ := cmp.Or(ev.EventType, OpenLineageOther)
	switch typ {
	case OpenLineageStart, OpenLineageRunning, OpenLineageComplete, OpenLineageAbort, OpenLineageFail, OpenLineageOther:
	default:
		return olEvent{}, apperr.Invalid("eventType", "must be START, RUNNING, COMPLETE, ABORT, FAIL or OTHER (got %q)", truncateForMessage(string(typ)))
	}
	if err := checkOLEventTime(ev.EventTime); err != nil {
		return olEvent{}, err
	}
	out := olEvent{kind: olRunKind, typ: typ, at: ev.EventTime.UTC(), jobFacs: ev.Job.Facets, runFacets: ev.RunFacets}
	if out.job, err = checkOLJobRow("job", ev.Job); err != nil {
		return olEvent{}, err
	}
	if err := olCheckFacets("job.facets", ev.Job.Facets); err != nil {
		return olEvent{}, err
	}
	if err := olCheckFacets("run.facets", ev.RunFacets); err != nil {
		return olEvent{}, err
	}
	out.run = olRunRow{key: RunKey(runID), runID: runID, name: olRunName(ev.Job.Name)}
	if p := ev.Parent; p != nil {
		pid, err := OpenLineageRunID("run.facets.parent.run.runId", p.RunID)
		if err != nil {
			return olEvent{}, err
		}
		if pid == runID {
			return olEvent{}, apperr.Invalid("run.facets.parent.run.runId", "names the run itself; a run cannot be its own parent")
		}
		if out.parentJob, err = checkOLJobRow("run.facets.parent.job", OpenLineageJob{Namespace: p.JobNamespace, Name: p.JobName}); err != nil {
			return olEvent{}, err
		}
		out.parent = &olRunRow{key: RunKey(pid), runID: pid, name: olRunName(p.JobName), startTime: out.at}
	}
	if out.inputs, err = checkOLDatasets("inputs", ev.Inputs); err != nil {
		return olEvent{}, err
	}
	if out.outputs, err = checkOLDatasets("outputs", ev.Outputs); err != nil {
		return olEvent{}, err
	}
	return out, nil
}

func prepareOLJobEvent(ev OpenLineageJobEvent) (olEvent, error) {
	if err := checkOLEventTime(ev.EventTime); err != nil {
		return olEvent{}, err
	}
	out := olEvent{kind: olJobKind, at: ev.EventTime, jobFacs: ev.Job.Facets}
	var err error
	if out.job, err = checkOLJobRow("job", ev.Job); err != nil {
		return olEvent{}, err
	}
	if err := olCheckFacets("job.facets", ev.Job.Facets); err != nil {
		return olEvent{}, err
	}
	if out.inputs, err = checkOLDatasets("inputs", ev.Inputs); err != nil {
		return olEvent{}, err
	}
	if out.outputs, err = checkOLDatasets("outputs", ev.Outputs); err != nil {
		return olEvent{}, err
	}
	return out, nil
}

func checkOLJobRow(field string, j OpenLineageJob) (olJobRow, error) {
	key, err := checkOLJob(field, j)
	return olJobRow{key: key, namespace: j.Namespace, name: j.Name}, err
}

type olChunkResult struct{ records []OpenLineageRecord }

// olChunkVersion is a dataset version the chunk records for the first time: newer
// than any recorded before, ordered among the chunk's own by the event that recorded
// it, then output before input, then ID (as cypherOLNewestVersions orders them).
type olChunkVersion struct {
	version, key string
	seq          int
	asOutput     bool
}

func (a olChunkVersion) newerThan(b olChunkVersion) bool {
	if a.seq != b.seq {
		return a.seq > b.seq
	}
	if a.asOutput != b.asOutput {
		return a.asOutput
	}
	return a.key > b.key
}

// olChunk is the state of a chunk being worked out: the graph as the events before
// the current one left it, and the changes to write.
type olChunk struct {
	jobs     map[string]olStoredFacets
	runs     map[string]*olMergedRun
	existing map[string]bool     // version IDs recorded before the chunk
	dbNewest map[string][]string // dataset ID → its two newest recorded versions
	// fresh are the versions the chunk records first, by dataset ID.
	fresh map[string][]olChunkVersion

	versionRows  []map[string]any
	versionSeen  map[string]bool
	facets       []olFacetUpdate
	io           jobIO
	executedBy   [][]string // [run, job]
	childOf      [][]string // [run, parent]
	runProps     map[string]map[string]any
	runPropOrder []string
}

// recordChunk records a chunk of checked events in this transaction, or returns
// *olRefused naming the events the graph refuses (then nothing must be committed).
func (w olTx) recordChunk(experiment string, events []olEvent) (olChunkResult, error) {
	c := &olChunk{versionSeen: map[string]bool{}, runProps: map[string]map[string]any{},
		fresh: map[string][]olChunkVersion{}}
	// Jobs, then runs, merged and locked in key order.
	var jobs []olJobRow
	seenJob := map[string]bool{}
	addJob := func(j olJobRow) {
		if !seenJob[j.key] {
			seenJob[j.key] = true
			jobs = append(jobs, j)
		}
	}
	var runs []olRunRow
	seenRun := map[string]bool{}
	addRun := func(r olRunRow) {
		if !seenRun[r.key] { // the first event naming a run says how it is created
			seenRun[r.key] = true
			runs = append(runs, r)
		}
	}
	for _, ev := range events {
		if ev.kind == olDatasetKind {
			continue
		}
		addJob(ev.job)
		if ev.kind == olRunKind {
			addRun(ev.run)
			if ev.parent != nil {
				addJob(ev.parentJob)
				addRun(*ev.parent)
			}
		}
	}
	// Jobs whose facets events add to, or that events link to datasets, are locked, so
	// that facet updates serialise and each job–dataset edge is added once (see
	// linkJobIO). Runs of one job wait for one another; readers of a shared table
	// do not.
	lockJobs := map[string]bool{}
	for _, ev := range events {
		if ev.kind != olDatasetKind && (len(ev.jobFacs) > 0 || len(ev.inputs)+len(ev.outputs) > 0) {
			lockJobs[ev.job.key] = true
		}
	}
	var err error
	if len(jobs) > 0 {
		if c.jobs, err = w.mergeJobs(jobs, lockJobs); err != nil {
			return olChunkResult{}, err
		}
	}
	c.runs = map[string]*olMergedRun{}
	if len(runs) > 0 {
		merged, err := w.mergeRuns(experiment, runs)
		if err != nil {
			return olChunkResult{}, err
		}
		for k, r := range merged {
			c.runs[k] = &r
		}
	}
	if err := w.readVersions(c, events); err != nil {
		return olChunkResult{}, err
	}

	out := olChunkResult{records: make([]OpenLineageRecord, len(events))}
	refused := map[int]error{}
	for seq, ev := range events {
		var rec OpenLineageRecord
		var err error
		switch ev.kind {
		case olRunKind:
			rec, err = c.runEvent(seq, ev)
		case olJobKind:
			rec = c.jobEvent(seq, ev)
		case olDatasetKind:
			vs := c.resolve([]olDataset{ev.dataset}, nil, "")
			c.addVersions(seq, vs, nil)
			rec = OpenLineageRecord{Version: vs[0].versionKey()}
		}
		if err != nil {
			refused[ev.index] = err
			continue
		}
		out.records[seq] = rec
	}
	if len(refused) > 0 {
		return olChunkResult{}, &olRefused{errs: refused}
	}
	return out, w.writeChunk(c)
}

// readVersions reads what the chunk's version lookups need: which of the versions it
// may record exist, and the two newest versions of each dataset read without a pin.
func (w olTx) readVersions(c *olChunk, events []olEvent) error {
	var keys, lookup []string
	seen := map[string]bool{}
	add := func(list *[]string, k string) {
		if !seen[k] {
			seen[k] = true
			*list = append(*list, k)
		}
	}
	for _, ev := range events {
		own := ""
		if ev.kind == olRunKind {
			own = openLineageRunVersionPrefix + ev.run.runID
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
			add(&keys, DatasetVersionKey(d.namespace, d.name, cmp.Or(d.pinned, own, OpenLineageUnversioned)))
		}
	}
	c.existing = map[string]bool{}
	if len(keys) > 0 {
		recs, err := collect(w.ctx, w.tx, cypherOLExisting, map[string]any{"keys": keys})
		if err != nil {
			return fmt.Errorf("look up OpenLineage dataset versions: %w", err)
		}
		found, _ := recs[0].Get("found")
		for _, k := range olStrings(found) {
			c.existing[k] = true
		}
	}
	c.dbNewest = map[string][]string{}
	if len(lookup) > 0 {
		recs, err := collect(w.ctx, w.tx, cypherOLNewestVersions, map[string]any{"datasets": lookup, "unversioned": OpenLineageUnversioned})
		if err != nil {
			return fmt.Errorf("newest versions of OpenLineage inputs: %w", err)
		}
		for _, r := range recs {
			dk, _ := r.Get("dk")
			vs, _ := r.Get("versions")
			c.dbNewest[dk.(string)] = olStrings(vs)
		}
	}
	return nil
}

// resolve gives each dataset its version: the pinned one, else the one in read (what
// the run read before), else the newest recorded other than exclude, else
// "unversioned".
func (c *olChunk) resolve(ds []olDataset, read map[string]string, exclude string) []olVersion {
	out := make([]olVersion, len(ds))
	for i, d := range ds {
		out[i] = olVersion{d, cmp.Or(d.pinned, read[d.key])}
		if out[i].version == "" {
			out[i].version = cmp.Or(c.newest(d.key, exclude), OpenLineageUnversioned)
		}
	}
	return out
}

// newest is the newest version of a dataset other than exclude, or "".
func (c *olChunk) newest(dataset, exclude string) string {
	var best *olChunkVersion
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

// addVersions records an event's dataset versions (reads, then writes) with the
// facets the event gives them.
func (c *olChunk) addVersions(seq int, reads, writes []olVersion) {
	written := map[string]bool{}
	for _, v := range writes {
		written[v.versionKey()] = true
	}
	for _, v := range append(slices.Clone(reads), writes...) {
		k := v.versionKey()
		if !c.versionSeen[k] {
			c.versionSeen[k] = true
			row := datasetVersionRef{namespace: v.namespace, name: v.name, uri: openLineageURI(v.namespace, v.name),
				version: v.version, versionID: v.pinned}.row()
			row["seq"], row["asOutput"] = seq, written[k]
			c.versionRows = append(c.versionRows, row)
			if !c.existing[k] && v.version != OpenLineageUnversioned {
				c.fresh[v.key] = append(c.fresh[v.key], olChunkVersion{version: v.version, key: k, seq: seq, asOutput: written[k]})
			}
		}
		c.facets = append(c.facets, olFacetUpdate{key: k, add: v.facets})
	}
}

// link adds the edges of a job to what an event says it read and wrote.
func (c *olChunk) link(job string, reads, writes []string) {
	c.io.readAll(job, reads)
	c.io.wroteAll(job, writes)
}

func (c *olChunk) jobEvent(seq int, ev olEvent) OpenLineageRecord {
	ins := c.resolve(ev.inputs, nil, "")
	outs := make([]olVersion, len(ev.outputs))
	for i, d := range ev.outputs {
		outs[i] = olVersion{d, cmp.Or(d.pinned, OpenLineageUnversioned)}
	}
	c.addVersions(seq, ins, outs)
	rec := OpenLineageRecord{Job: ev.job.key, Inputs: olVersionKeys(ins), Outputs: olVersionKeys(outs)}
	c.link(ev.job.key, rec.Inputs, rec.Outputs)
	c.facets = append(c.facets, olFacetUpdate{key: ev.job.key, add: ev.jobFacs})
	return rec
}

func (c *olChunk) runEvent(seq int, ev olEvent) (OpenLineageRecord, error) {
	run, job := ev.run, ev.job.key
	own := c.runs[run.key]
	if err := olSameNeighbour(own.executors, job, "job", "run %q was recorded as executed by %q; an OpenLineage run belongs to one job", run.key); err != nil {
		return OpenLineageRecord{}, err
	}
	var parent *olMergedRun
	if ev.parent != nil {
		parent = c.runs[ev.parent.key]
		if err := olSameNeighbour(own.parents, ev.parent.key, "run.facets.parent.run.runId", "run %q was recorded as nested in %q; a run has one parent", run.key); err != nil {
			return OpenLineageRecord{}, err
		}
		if err := olSameNeighbour(parent.executors, ev.parentJob.key, "run.facets.parent.job", "parent run %q was recorded as executed by %q", ev.parent.key); err != nil {
			return OpenLineageRecord{}, err
		}
	}
	// Versions: what this run read before stays what it read.
	read := map[string]string{}
	for _, k := range olStrings(own.node.Props[propInputs]) {
		if head, version, ok := cutLast(strings.TrimPrefix(k, prefixDatasetVersion), "#"); ok {
			read[prefixDataset+head] = version
		}
	}
	ins := c.resolve(ev.inputs, read, openLineageRunVersionPrefix+run.runID)
	outs := make([]olVersion, len(ev.outputs))
	for i, d := range ev.outputs {
		outs[i] = olVersion{d, cmp.Or(d.pinned, openLineageRunVersionPrefix+run.runID)}
	}
	rec := OpenLineageRecord{Run: run.key, Job: job, Inputs: olVersionKeys(ins), Outputs: olVersionKeys(outs)}
	props, err := olRunState(own.node, ev.typ, ev.at, olRunFacets{
		run: ev.runFacets, job: ev.jobFacs, inputs: olByVersion(ins), outputs: olByVersion(outs),
	}, rec.Inputs, rec.Outputs)
	if err != nil {
		return OpenLineageRecord{}, err
	}
	// Accepted: apply it.
	c.addVersions(seq, ins, outs)
	c.link(job, rec.Inputs, rec.Outputs)
	c.facets = append(c.facets, olFacetUpdate{key: job, add: ev.jobFacs})
	if len(own.executors) == 0 {
		c.executedBy = append(c.executedBy, []string{run.key, job})
		own.executors = []string{job}
	}
	if parent != nil {
		rec.Parent = ev.parent.key
		if len(own.parents) == 0 {
			c.childOf = append(c.childOf, []string{run.key, ev.parent.key})
			own.parents = []string{ev.parent.key}
		}
		if len(parent.executors) == 0 {
			c.executedBy = append(c.executedBy, []string{ev.parent.key, ev.parentJob.key})
			parent.executors = []string{ev.parentJob.key}
		}
	}
	if len(props) > 0 {
		if c.runProps[run.key] == nil {
			c.runProps[run.key] = map[string]any{}
			c.runPropOrder = append(c.runPropOrder, run.key)
		}
		for k, v := range props {
			if list, ok := v.([]string); ok { // as the driver reads lists back
				l := make([]any, len(list))
				for i, s := range list {
					l[i] = s
				}
				own.node.Props[k] = l
			} else {
				own.node.Props[k] = v
			}
			c.runProps[run.key][k] = v
		}
	}
	return rec, nil
}

// writeChunk writes what the chunk's events changed, one statement per kind of change.
func (w olTx) writeChunk(c *olChunk) error {
	stored := map[string]olStoredFacets{}
	for k, f := range c.jobs {
		stored[k] = f
	}
	if len(c.versionRows) > 0 {
		// Versions whose facets events add to are locked, so those updates serialise.
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
		recs, err := collect(w.ctx, w.tx, cypherOLMergeVersions, map[string]any{"rows": rows, "actor": w.actor})
		if err != nil {
			return fmt.Errorf("record OpenLineage dataset versions: %w", err)
		}
		for k, f := range olFacetsByKey(recs) {
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
		if err := w.run(cypherOLRunEdges, "record OpenLineage run jobs and parents", map[string]any{"executedBy": c.executedBy, "childOf": c.childOf}); err != nil {
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
	return w.run(cypherOLUpdateRuns, "update OpenLineage runs", map[string]any{"rows": rows})
}
