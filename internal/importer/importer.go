// Package importer brings lineage recorded elsewhere into the graph: `provgraph import`.
// A format's reader is a Source that yields items — a node, an edge or a lineage
// report, each with a ref that finds it in the source ("line 17", "entity
// pg:model:fraud%2F3", "execution 17") — and Run records them in batches of a fixed
// number of items through store.Import: one transaction per batch, holding the
// batch's records, the import's marker and one audit entry. Batches are cut the same
// way on every run of one source, so a run stopped half way and started again skips
// the items the marker says were committed and records every item exactly once.
package importer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/provgraph/provgraph/apperr"
	"github.com/provgraph/provgraph/store"
)

// Item is one item of a source: exactly one of Node, Edge and Report is set, or Err
// says why the source could not read it (it then counts as failed).
type Item struct {
	// Ref finds the item in its source, for error messages: "line 17", "execution 17".
	Ref    string
	Node   *store.NodeRecord
	Edge   *store.EdgeRecord
	Report *store.LineageReport
	Err    error
	// Explain, when set, rewords a store error about the item in the source's terms
	// (an OpenLineage event's field names, say).
	Explain func(error) error
}

// Source yields the items of one import in a fixed order: the same order on every
// run, which is what makes an import resumable.
type Source interface {
	// Next returns the next item, or io.EOF after the last. Another error stops the
	// import (a source that cannot go on); an item the source cannot read is an Item
	// with Err, and the import goes on.
	Next() (Item, error)
}

// Options say how to import.
type Options struct {
	// Fingerprint identifies the source's content, with its format: importing the same
	// content again resumes (see Fingerprint).
	Fingerprint string
	// Name is the source as given (a file path or URL), kept on the import's marker.
	Name string
	// BatchSize is the items per batch (store.DefaultImportBatch when 0).
	BatchSize int
	// Strict refuses a batch with a bad item and stops the import there (batches
	// before it stay committed).
	Strict bool
	// Actor is who imports: the actor of every batch's audit entry.
	Actor string
	// RunsIn is the experiment lineage reports' runs are recorded in.
	RunsIn store.ExperimentInput
	// Total is how many items the source holds, when known (for progress), else 0.
	Total int
	// Progress receives progress; nil for none.
	Progress *Progress
	// OnFailure is told of each item that was not recorded, as it happens.
	OnFailure func(Failure)
}

// Failure is an item that was not recorded, and why.
type Failure struct {
	Ref string
	Err error
}

func (f Failure) Error() string { return f.Ref + ": " + f.Err.Error() }

// Summary is what an import did.
type Summary struct {
	// Read counts the items read; Recorded those this run recorded; Skipped those an
	// earlier run had committed; Failed those refused.
	Read, Recorded, Skipped, Failed int
	// Nodes and Edges count what the recorded items wrote: nodes and edges created by
	// node and edge records, and the nodes and provenance edges lineage reports were
	// recorded on.
	Nodes, Edges int
	// Batches counts the batches this run committed; Resumed says earlier runs had
	// committed some.
	Batches int
	Resumed bool
	Elapsed time.Duration
}

// Rate is the nodes and edges written per second.
func (s Summary) Rate() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Nodes+s.Edges) / s.Elapsed.Seconds()
}

func (s Summary) String() string {
	return fmt.Sprintf("%d items read: %d recorded, %d skipped (committed by an earlier run), %d failed; "+
		"%d nodes and %d edges in %.1fs (%.0f nodes and edges per second)",
		s.Read, s.Recorded, s.Skipped, s.Failed, s.Nodes, s.Edges, s.Elapsed.Seconds(), s.Rate())
}

// ErrStrict is returned when a strict import refused a batch.
var ErrStrict = errors.New("a batch was refused (--strict): the import stopped there")

// Run imports src. It returns the summary, and an error when the import stopped before
// the end: the source failed, the database did, or a strict batch was refused
// (ErrStrict). Failed items do not make an error unless the import is strict.
func Run(ctx context.Context, st *store.Store, src Source, opts Options) (sum Summary, err error) {
	start := time.Now()
	if opts.BatchSize == 0 {
		opts.BatchSize = store.DefaultImportBatch
	}
	if opts.BatchSize < 1 || opts.BatchSize > store.MaxImportBatch {
		return Summary{}, apperr.Invalid("batch", "must be between 1 and %d (got %d)", store.MaxImportBatch, opts.BatchSize)
	}
	done, err := st.ImportProgressOf(ctx, opts.Fingerprint)
	if err != nil {
		return Summary{}, err
	}
	r := &run{ctx: ctx, st: st, opts: opts}
	r.sum.Resumed = done.Batch > 0
	defer func() {
		sum.Elapsed = time.Since(start)
		opts.Progress.finish(sum)
	}()
	// The items earlier runs committed are the first done.Items, whatever their batch
	// size was: skip them, then go on from the batch after theirs.
	for skip := done.Items; skip > 0; {
		items, err := readBatch(src, int(min(skip, int64(opts.BatchSize))))
		r.sum.Read += len(items)
		r.sum.Skipped += len(items)
		skip -= int64(len(items))
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = nil
			}
			return r.sum, err
		}
	}
	for batch := done.Batch + 1; ; batch++ {
		items, err := readBatch(src, opts.BatchSize)
		r.sum.Read += len(items)
		if len(items) > 0 {
			if berr := r.batch(batch, items); berr != nil {
				return r.sum, berr
			}
			opts.Progress.update(r.sum, opts.Total)
		}
		if errors.Is(err, io.EOF) {
			return r.sum, nil
		}
		if err != nil {
			return r.sum, err
		}
	}
}

// readBatch reads up to n items; its error is io.EOF after the last item.
func readBatch(src Source, n int) ([]Item, error) {
	items := make([]Item, 0, n)
	for len(items) < n {
		it, err := src.Next()
		if err != nil {
			return items, err
		}
		items = append(items, it)
	}
	return items, nil
}

// run is one run of an import.
type run struct {
	ctx  context.Context
	st   *store.Store
	opts Options
	sum  Summary
}

// batch records batch number n of items.
func (r *run) batch(n int64, items []Item) error {
	b := store.ImportBatch{Mark: store.ImportMark{Source: r.opts.Fingerprint, Name: r.opts.Name, BatchSize: r.opts.BatchSize,
		Batch: n, First: int64(r.sum.Read - len(items)), Items: len(items)}, RunsIn: r.opts.RunsIn, Strict: r.opts.Strict}
	var nodeAt, edgeAt, reportAt []int // b.Nodes[k] is items[nodeAt[k]], and so on
	var failed []Failure
	for i, it := range items {
		switch {
		case it.Err != nil:
			failed = append(failed, Failure{it.Ref, it.Err})
		case it.Node != nil:
			b.Nodes, nodeAt = append(b.Nodes, *it.Node), append(nodeAt, i)
		case it.Edge != nil:
			b.Edges, edgeAt = append(b.Edges, *it.Edge), append(edgeAt, i)
		case it.Report != nil:
			b.Reports, reportAt = append(b.Reports, *it.Report), append(reportAt, i)
		}
	}
	if r.opts.Strict && len(failed) > 0 {
		r.fail(failed)
		return fmt.Errorf("batch %d: %w", n, ErrStrict)
	}
	res, err := r.st.Import(r.ctx, r.opts.Actor, b)
	failed = append(failed, failures(items, nodeAt, res.NodeErrs)...)
	failed = append(failed, failures(items, edgeAt, res.EdgeErrs)...)
	failed = append(failed, failures(items, reportAt, res.ReportErrs)...)
	if errors.Is(err, store.ErrImportRefused) {
		r.fail(failed)
		return fmt.Errorf("batch %d: %w", n, ErrStrict)
	}
	if err != nil {
		return fmt.Errorf("batch %d (items %d to %d): %w", n, (n-1)*int64(r.opts.BatchSize)+1, (n-1)*int64(r.opts.BatchSize)+int64(len(items)), err)
	}
	if !res.Committed { // a concurrent run of the same import committed it
		r.sum.Skipped += len(items)
		return nil
	}
	r.fail(failed)
	r.sum.Batches++
	r.sum.Recorded += len(items) - len(failed)
	r.sum.Nodes += res.NodesCreated
	r.sum.Edges += res.EdgesCreated
	nodes, edges := reportSize(res.Reports)
	r.sum.Nodes, r.sum.Edges = r.sum.Nodes+nodes, r.sum.Edges+edges
	return nil
}

func (r *run) fail(failed []Failure) {
	r.sum.Failed += len(failed)
	if r.opts.OnFailure != nil {
		for _, f := range failed {
			r.opts.OnFailure(f)
		}
	}
}

// failures pairs the errors of one kind of record with their items.
func failures(items []Item, at []int, errs []error) []Failure {
	var out []Failure
	for k, err := range errs {
		if err == nil {
			continue
		}
		it := items[at[k]]
		if it.Explain != nil {
			err = it.Explain(err)
		}
		out = append(out, Failure{it.Ref, err})
	}
	return out
}

// reportSize counts the distinct nodes a batch's lineage reports were recorded on (runs,
// jobs, dataset versions) and the distinct provenance edges joining jobs to what they
// read and wrote.
func reportSize(recs []store.LineageRecord) (nodes, edges int) {
	seen := map[string]bool{}
	count := func(key string, edge bool) {
		if key == "" || seen[key] {
			return
		}
		seen[key] = true
		if edge {
			edges++
		} else {
			nodes++
		}
	}
	for _, rec := range recs {
		for _, k := range append([]string{rec.Run, rec.Job, rec.Version}, append(rec.Inputs, rec.Outputs...)...) {
			count(k, false)
		}
		for _, in := range rec.Inputs {
			count(in+" "+store.RelInputTo+" "+rec.Job, true)
		}
		for _, out := range rec.Outputs {
			count(rec.Job+" "+store.RelProduced+" "+out, true)
		}
	}
	return nodes, edges
}

// Items is a Source of items already read (a reader that loads its source whole,
// like one of a database, builds its items and returns Items(them)).
func Items(items []Item) Source { s := itemList(items); return &s }

type itemList []Item

func (s *itemList) Next() (Item, error) {
	if len(*s) == 0 {
		return Item{}, io.EOF
	}
	it := (*s)[0]
	*s = (*s)[1:]
	return it, nil
}
