package mlmd

import (
	"context"
	"fmt"
	"time"

	"github.com/provgraph/provgraph/apperr"
	"github.com/provgraph/provgraph/store"
)

// Options tune a Read.
type Options struct {
	// Mapping says what each MLMD type becomes; the zero value means DefaultMapping().
	Mapping *Mapping
	// BatchSize is the number of records in a batch: DefaultBatchSize when 0, at most
	// MaxBatchSize.
	BatchSize int
	// RecordedBy is the actor the import runs as, set on every node record.
	RecordedBy string
}

// nodeRef is what an artifact or execution became, for the edges of its events.
type nodeRef struct {
	key     string
	role    Role
	created time.Time
	// failed: the row's record was an error; its events are errors too.
	failed bool
	// ignored: the row's type is ignored; its events are too.
	ignored bool
}

// reader holds what one Read has learnt: the types and contexts, and what each row
// became, so that events find their nodes and no node or edge is sent twice.
type reader struct {
	src        *Source
	m          Mapping
	actor      string
	types      map[int64]mlmdType
	contexts   map[int64]*mlmdContext
	artifacts  map[int64]nodeRef
	executions map[int64]nodeRef
	sentNodes  map[string]bool
	sentEdges  map[store.EdgeRecord]bool
}

// Read reads the whole database and hands its records to emit in batches: every
// artifact by id, then every execution by id, then every event by id, the same stream
// for the same database every time. An error of emit stops the read and is returned;
// a record that cannot be mapped is not an error of Read but a Record with Err.
func (s *Source) Read(ctx context.Context, opts Options, emit func([]Record) error) error {
	size := opts.BatchSize
	if size == 0 {
		size = DefaultBatchSize
	}
	if size < 1 || size > MaxBatchSize {
		return apperr.Invalid("batchSize", "must be between 1 and %d (got %d)", MaxBatchSize, size)
	}
	m := DefaultMapping()
	if opts.Mapping != nil {
		m = *opts.Mapping
	}
	r := &reader{
		src: s, m: m, actor: opts.RecordedBy,
		artifacts: map[int64]nodeRef{}, executions: map[int64]nodeRef{},
		sentNodes: map[string]bool{}, sentEdges: map[store.EdgeRecord]bool{},
	}
	var err error
	if r.types, err = s.types(ctx); err != nil {
		return err
	}
	if r.contexts, err = s.contexts(ctx); err != nil {
		return err
	}
	if err := r.readNodes(ctx, artifactTable, size, emit); err != nil {
		return err
	}
	if err := r.readNodes(ctx, executionTable, size, emit); err != nil {
		return err
	}
	return r.readEvents(ctx, size, emit)
}

// readNodes pages through the artifacts or executions.
func (r *reader) readNodes(ctx context.Context, t table, size int, emit func([]Record) error) error {
	for after := int64(0); ; {
		page, err := r.src.rows(ctx, t, after, size)
		if err != nil || len(page) == 0 {
			return err
		}
		lo, hi := page[0].id, page[len(page)-1].id
		props, err := r.src.properties(ctx, t, lo, hi)
		if err != nil {
			return err
		}
		links, err := r.src.links(ctx, t, lo, hi)
		if err != nil {
			return err
		}
		outputKeys := map[int64]string{}
		if t.rows == artifactTable.rows {
			if outputKeys, err = r.src.outputKeys(ctx, lo, hi); err != nil {
				return err
			}
		}
		batch := make([]Record, 0, len(page))
		for _, x := range page {
			in := rowInput{row: x, props: props[x.id], contexts: links[x.id], outputKey: outputKeys[x.id]}
			if t.rows == artifactTable.rows {
				batch = append(batch, r.artifact(in))
			} else {
				batch = append(batch, r.execution(in))
			}
		}
		if err := emit(batch); err != nil {
			return err
		}
		after = hi
	}
}

func (r *reader) readEvents(ctx context.Context, size int, emit func([]Record) error) error {
	for after := int64(0); ; {
		page, err := r.src.events(ctx, after, size)
		if err != nil || len(page) == 0 {
			return err
		}
		batch := make([]Record, 0, len(page))
		for _, e := range page {
			rec, err := r.event(ctx, e)
			if err != nil {
				return err
			}
			batch = append(batch, rec)
		}
		if err := emit(batch); err != nil {
			return err
		}
		after = page[len(page)-1].id
	}
}

// node adds n to rec unless an earlier record carried a node of its key.
func (r *reader) node(rec *Record, n store.NodeRecord) {
	if r.sentNodes[n.Key] {
		return
	}
	r.sentNodes[n.Key] = true
	n.RecordedBy = r.actor
	rec.Nodes = append(rec.Nodes, n)
}

// edge adds an edge to rec unless an earlier record carried it (an INPUT and a
// DECLARED_INPUT event of one pair are one edge).
func (r *reader) edge(rec *Record, from, to, typ string, at time.Time) {
	id := store.EdgeRecord{From: from, To: to, Type: typ}
	if r.sentEdges[id] {
		return
	}
	r.sentEdges[id] = true
	id.RecordedAt = at
	rec.Edges = append(rec.Edges, id)
}

func ref(word string, id int64) string { return fmt.Sprintf("%s %d", word, id) }

// millis is an MLMD time (milliseconds since the epoch) as a time in UTC.
func millis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }
