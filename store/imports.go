package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"

	"github.com/provgraph/provgraph/apperr"
)

// Imports: lineage recorded elsewhere — another provgraph's export, a lineage store's
// database, a file of reports — brought in as batches. A batch is one transaction: its
// nodes and edges (NodeRecord, EdgeRecord), its lineage reports (recorded as
// ReportLineage records them), the import's marker and one audit entry. The marker
// (LabelImportMarker, not provenance) is keyed by the import's source and holds the
// last batch committed, so an import stopped half way and run again skips what was
// committed and records every item exactly once. Writes are merges besides: a repeated
// record changes nothing.
//
// Records keep what they say: a node's recordedAt and recordedBy, an edge's recordedAt
// (so the graph answers as of a time before the import as it did where it was
// recorded). The audit entry of a batch records the importing actor, with the marker
// first among its targets (it names the source) and targetCount the number of records
// the batch touched.
//
// Provenance is append-only: a record of a node already recorded with another kind, or
// with other facts (name or a given property), is a CONFLICT naming the record, and so
// is an edge the kinds at its ends do not allow.

// Limits of imports (docs/import.md).
const (
	// MaxImportBatch is the most records (nodes, edges and reports) one batch holds.
	MaxImportBatch = 5000
	// DefaultImportBatch is the batch size when none is asked for.
	DefaultImportBatch = 1000
	// MaxImportProps is the most properties one node record carries.
	MaxImportProps = 100
	// MaxImportValueLength is the longest text property value of a node record, in bytes.
	MaxImportValueLength = 64 * 1024
	// MaxImportSourceLength is the longest source name (a file path or URL) recorded.
	MaxImportSourceLength = 2048
)

// LabelImportMarker marks the node recording an import's progress. It does not carry
// LabelNode, so it is never part of the provenance graph.
const LabelImportMarker = "ImportMarker"

// importMarkerMigration makes an import's marker unique by its key: two runs of one
// import that start together cannot each create a marker and both record batch 1 (the
// second waits on the first's new marker, then finds its batch committed), and the
// marker is found through the constraint's index. Runs that did so before left a
// marker each; the one that came furthest is kept (the items of all were recorded, as
// merges), so the constraint can be created.
var importMarkerMigration = Migration{
	Version:     11,
	Description: "import markers: one per import (unique keys)",
	Statements: []string{
		`MATCH (m:` + LabelImportMarker + `)
		 WITH m ORDER BY m.batch DESC, m.items DESC
		 WITH m.key AS key, collect(m) AS markers
		 WHERE size(markers) > 1
		 UNWIND markers[1..] AS extra
		 DETACH DELETE extra`,
		`CREATE CONSTRAINT import_marker_key IF NOT EXISTS
		 FOR (m:` + LabelImportMarker + `) REQUIRE m.key IS UNIQUE`,
	},
	Indexes: []string{"import_marker_key"},
}

// ActionImportBatch is the audit action of one committed import batch.
const ActionImportBatch = "import.batch"

// importMarkerPrefix starts the key of an import marker.
const importMarkerPrefix = "import:"

// NodeRecord is a node to import: its ID, kind and name, its other properties, and
// when and by whom it was first recorded (zero: now, by the importing actor).
type NodeRecord struct {
	Key        string
	Kind       Kind
	Name       string
	Props      map[string]any
	RecordedAt time.Time
	RecordedBy string
	// Run, for a job that ran in an experiment, is that run: the job is linked to the
	// experiment and run group as a reported job's run is (see JobRun).
	Run *JobRun
}

// EdgeRecord is an edge to import between two nodes, of a provenance type or
// RelVersionOf, with when it was first recorded (zero: now).
type EdgeRecord struct {
	From, To, Type string
	RecordedAt     time.Time
}

// ImportMark places a batch in its import.
type ImportMark struct {
	// Source identifies the import: the same source, imported again, resumes. It is the
	// caller's fingerprint of what it reads (format and content hash, say).
	Source string
	// Name is the source as people name it (a file path or URL), kept on the marker.
	Name string
	// BatchSize is the import's batch size (kept on the marker, for people).
	BatchSize int
	// Batch is the batch's number, from 1; batches are committed in order.
	Batch int64
	// First is how many items of the source come before the batch's first: a batch is
	// recorded only when the marker counts exactly that many committed.
	First int64
	// Items is how many items of the source the batch covers (records that failed
	// included), added to the marker's count.
	Items int
}

// ImportBatch is one batch of an import.
type ImportBatch struct {
	Mark    ImportMark
	Nodes   []NodeRecord
	Edges   []EdgeRecord
	Reports []LineageReport
	// RunsIn is the experiment reported runs are recorded in (see ReportLineage).
	RunsIn ExperimentInput
	// Strict refuses the whole batch when one record is refused.
	Strict bool
}

// ImportResult is what Import did with a batch.
type ImportResult struct {
	// Committed is false when an earlier run of the import had committed the batch:
	// nothing was written.
	Committed bool
	// NodesCreated and EdgesCreated count the nodes and edges the batch's node and edge
	// records created (a record of what was recorded before creates nothing).
	NodesCreated, EdgesCreated int
	// Reports are what each report was recorded on.
	Reports []LineageRecord
	// NodeErrs, EdgeErrs and ReportErrs give, for each record, why it was refused (nil:
	// recorded, or Committed is false).
	NodeErrs, EdgeErrs, ReportErrs []error
}

// Failed counts the refused records.
func (r ImportResult) Failed() int {
	n := 0
	for _, errs := range [][]error{r.NodeErrs, r.EdgeErrs, r.ReportErrs} {
		for _, err := range errs {
			if err != nil {
				n++
			}
		}
	}
	return n
}

// ErrImportRefused is returned, with the records' errors in the result, when a strict
// batch had a refused record: nothing of the batch was written.
var ErrImportRefused = errors.New("the batch was refused: a record was refused and the import is strict")

// ImportProgress is how far an import came.
type ImportProgress struct {
	// Batch is the last batch committed, 0 when none was, and BatchSize its size.
	Batch     int64
	BatchSize int
	// Items counts the items the committed batches covered: the first Items items of
	// the source are recorded.
	Items int64
}

// ImportProgressOf returns how far the import of source came.
func (s *Store) ImportProgressOf(ctx context.Context, source string) (ImportProgress, error) {
	return read(ctx, s, func(tx neo4j.ManagedTransaction) (ImportProgress, error) {
		recs, err := collect(ctx, tx, cypherImportProgress, map[string]any{"key": importMarkerPrefix + source})
		if err != nil || len(recs) == 0 {
			return ImportProgress{}, err
		}
		return ImportProgress{Batch: intAt(recs[0], "batch"), BatchSize: int(intAt(recs[0], "batchSize")), Items: intAt(recs[0], "items")}, nil
	})
}

func intAt(rec *neo4j.Record, col string) int64 {
	v, _ := rec.Get(col)
	n, _ := v.(int64)
	return n
}

// Import records one batch of an import in one transaction with the import's marker
// and the batch's audit entry. A record that is refused (invalid, a CONFLICT with what
// is recorded, an edge to a node neither recorded nor in the batch) gets its error and
// writes nothing; the rest of the batch is recorded, unless b.Strict, when nothing is
// and the error is ErrImportRefused. A batch an earlier run committed is skipped
// (Committed false). Other errors fail the whole batch (nothing written).
func (s *Store) Import(ctx context.Context, actor string, b ImportBatch) (ImportResult, error) {
	res := ImportResult{Committed: true, NodeErrs: make([]error, len(b.Nodes)), EdgeErrs: make([]error, len(b.Edges)),
		ReportErrs: make([]error, len(b.Reports)), Reports: make([]LineageRecord, len(b.Reports))}
	if err := checkImportMark(b.Mark, len(b.Nodes)+len(b.Edges)+len(b.Reports)); err != nil {
		return res, err
	}
	batch := checkImportBatch(b, &res)
	if b.Strict && res.Failed() > 0 {
		return res, ErrImportRefused
	}
	if slices.ContainsFunc(batch.reports, func(r checkedReport) bool { return r.kind == runReportKind }) {
		e, err := s.reportExperiment(ctx, actor, b.RunsIn)
		if err != nil {
			return res, err
		}
		batch.experiment = e.Key
	}
	for {
		out, err := write(ctx, s, actor, ActionImportBatch, func(tx neo4j.ManagedTransaction, au *audit) (importOutcome, error) {
			return importTx{reportTx: reportTx{ctx: ctx, tx: tx, actor: actor, au: au}, au: au}.record(b.Mark, batch)
		})
		var refusedRecs *refusedRecords
		var refusedReps *refusedReports
		switch {
		case errors.Is(err, errBatchCommitted):
			return ImportResult{NodeErrs: res.NodeErrs, EdgeErrs: res.EdgeErrs, ReportErrs: res.ReportErrs}, nil
		case errors.As(err, &refusedRecs):
			batch.drop(refusedRecs, &res)
		case errors.As(err, &refusedReps):
			batch.dropReports(refusedReps, &res)
		case err != nil:
			return res, err
		default:
			res.NodesCreated, res.EdgesCreated = out.nodes, out.edges
			for i, rep := range batch.reports {
				res.Reports[rep.index] = out.reports[i]
			}
			return res, nil
		}
		if b.Strict {
			return res, ErrImportRefused
		}
	}
}

func checkImportMark(m ImportMark, records int) error {
	if err := checkText("source", m.Source, MaxIDLength-len(importMarkerPrefix)); err != nil {
		return err
	}
	if err := checkOptText("name", &m.Name, MaxImportSourceLength); err != nil {
		return err
	}
	if m.BatchSize < 1 || m.BatchSize > MaxImportBatch {
		return apperr.Invalid("batchSize", "must be between 1 and %d (got %d)", MaxImportBatch, m.BatchSize)
	}
	if records > MaxImportBatch {
		return apperr.Invalid("batch", "holds %d records; a batch may hold at most %d", records, MaxImportBatch)
	}
	if m.Batch < 1 {
		return apperr.Invalid("batch", "batches are numbered from 1 (got %d)", m.Batch)
	}
	if m.First < 0 {
		return apperr.Invalid("first", "must be 0 or more (got %d)", m.First)
	}
	return nil
}

// importBatch is a checked batch: the records that passed the checks, by index.
type importBatch struct {
	nodes      []indexed[NodeRecord]
	edges      []indexed[EdgeRecord]
	reports    []checkedReport
	experiment string
}

type indexed[T any] struct {
	index int
	rec   T
}

// checkImportBatch checks every record without touching the graph; refused records get
// their error in res.
func checkImportBatch(b ImportBatch, res *ImportResult) importBatch {
	var out importBatch
	for i, n := range b.Nodes {
		if res.NodeErrs[i] = checkNodeRecord(n); res.NodeErrs[i] == nil {
			out.nodes = append(out.nodes, indexed[NodeRecord]{i, n})
		}
	}
	for i, e := range b.Edges {
		if res.EdgeErrs[i] = checkEdgeRecord(e); res.EdgeErrs[i] == nil {
			out.edges = append(out.edges, indexed[EdgeRecord]{i, e})
		}
	}
	for i, rep := range b.Reports {
		c, err := checkReport(rep)
		if res.ReportErrs[i] = err; err == nil {
			c.index = i
			out.reports = append(out.reports, c)
		}
	}
	return out
}

// reservedImportProps are the properties a node record sets through its fields, or
// the store keeps for itself.
var reservedImportProps = map[string]bool{propKey: true, propKind: true, propName: true, propRecordedAt: true,
	propRecordedBy: true, createdFlag: true, "_lock_": true}

func checkNodeRecord(n NodeRecord) error {
	kinds, err := KindsOfID("key", n.Key)
	if err != nil {
		return err
	}
	if !slices.Contains(Kinds, n.Kind) {
		return apperr.Invalid("kind", "unknown kind %q", truncateForMessage(string(n.Kind)))
	}
	if !slices.Contains(kinds, n.Kind) {
		return apperr.Invalid("kind", "%q is the ID of a %s, not of a %s", truncateForMessage(n.Key), kindList(kinds), n.Kind)
	}
	if err := checkText("name", n.Name, MaxNameLength); err != nil {
		return err
	}
	if err := checkOptText("recordedBy", &n.RecordedBy, MaxShortTextLength); err != nil {
		return err
	}
	if err := checkImportRun(n); err != nil {
		return err
	}
	if len(n.Props) > MaxImportProps {
		return apperr.Invalid("props", "has %d properties; a node may carry at most %d", len(n.Props), MaxImportProps)
	}
	for _, name := range slices.Sorted(maps.Keys(n.Props)) {
		if err := checkImportProp("props."+name, name, n.Props[name]); err != nil {
			return err
		}
	}
	return nil
}

// checkImportProp checks a property a graph database can hold: a string, number,
// boolean or time, or a list of strings or numbers.
func checkImportProp(field, name string, v any) error {
	if name == "" || !utf8.ValidString(name) || hasControl(name) || len(name) > MaxParamKeyLength {
		return apperr.Invalid(field, "a property name must be 1 to %d characters without control characters", MaxParamKeyLength)
	}
	if reservedImportProps[name] {
		return apperr.Invalid(field, "%q is set by the record's own fields, not by a property", name)
	}
	switch x := v.(type) {
	case string:
		if len(x) > MaxImportValueLength || !utf8.ValidString(x) {
			return apperr.Invalid(field, "must be valid UTF-8 of at most %d bytes", MaxImportValueLength)
		}
		return nil
	case bool, int64, float64, time.Time:
		return nil
	case []string, []int64, []float64:
		return nil
	case []any:
		for i, e := range x {
			switch e.(type) {
			case string, int64, float64, bool:
			default:
				return apperr.Invalid(fmt.Sprintf("%s[%d]", field, i), "a list may hold strings, numbers and booleans (got %T)", e)
			}
			if i > 0 && fmt.Sprintf("%T", e) != fmt.Sprintf("%T", x[0]) {
				return apperr.Invalid(fmt.Sprintf("%s[%d]", field, i), "the items of a list must be of one type (%T, then %T)", x[0], e)
			}
		}
		return nil
	}
	return apperr.Invalid(field, "must be a string, number, boolean, time or a list of them (got %T)", v)
}

// importEdgeKinds are the edges an import may record: by type, the kinds each end may
// have, as the rest of the store records them.
var importEdgeKinds = map[string]struct{ from, to []Kind }{
	RelInputTo: {
		from: []Kind{KindDatasetVersion, KindArtifact, KindModelVersion},
		to:   []Kind{KindTrainingJob, KindProcessingJob, KindRun},
	},
	RelProduced: {
		from: []Kind{KindTrainingJob, KindProcessingJob, KindRun},
		to:   []Kind{KindDatasetVersion, KindArtifact, KindModelVersion},
	},
	RelRegisteredAs: {from: []Kind{KindArtifact, KindRun}, to: []Kind{KindModelVersion}},
	RelDeployedTo:   {from: []Kind{KindModelVersion}, to: []Kind{KindEndpoint}},
	RelVersionOf:    {from: []Kind{KindDatasetVersion, KindModelVersion}, to: []Kind{KindDataset, KindRegisteredModel}},
}

// importEdgeTypes lists the types of importEdgeKinds in a fixed order.
var importEdgeTypes = []string{RelInputTo, RelProduced, RelRegisteredAs, RelDeployedTo, RelVersionOf}

func checkEdgeRecord(e EdgeRecord) error {
	if _, ok := importEdgeKinds[e.Type]; !ok {
		return apperr.Invalid("type", "must be one of %s (got %q)", strings.Join(importEdgeTypes, ", "), truncateForMessage(e.Type))
	}
	if _, err := KindsOfID("from", e.From); err != nil {
		return err
	}
	_, err := KindsOfID("to", e.To)
	return err
}

// edgeKindsAllowed says whether an edge of type typ may join a node of kind from to
// one of kind to; a VERSION_OF edge joins a version to its own kind of parent.
func edgeKindsAllowed(typ string, from, to Kind) bool {
	k := importEdgeKinds[typ]
	if !slices.Contains(k.from, from) || !slices.Contains(k.to, to) {
		return false
	}
	if typ == RelVersionOf {
		return (from == KindDatasetVersion) == (to == KindDataset)
	}
	return true
}

// refusedRecords lists the node and edge records of a batch the graph refused, by
// index.
type refusedRecords struct{ nodes, edges map[int]error }

func (r *refusedRecords) Error() string {
	return fmt.Sprintf("%d node and %d edge records refused", len(r.nodes), len(r.edges))
}

// drop removes refused records from the batch, giving them their errors.
func (b *importBatch) drop(r *refusedRecords, res *ImportResult) {
	b.nodes = slices.DeleteFunc(b.nodes, func(n indexed[NodeRecord]) bool {
		res.NodeErrs[n.index] = r.nodes[n.index]
		return r.nodes[n.index] != nil
	})
	b.edges = slices.DeleteFunc(b.edges, func(e indexed[EdgeRecord]) bool {
		res.EdgeErrs[e.index] = r.edges[e.index]
		return r.edges[e.index] != nil
	})
}

func (b *importBatch) dropReports(r *refusedReports, res *ImportResult) {
	b.reports = slices.DeleteFunc(b.reports, func(rep checkedReport) bool {
		res.ReportErrs[rep.index] = r.errs[rep.index]
		return r.errs[rep.index] != nil
	})
}

// errBatchCommitted says an earlier run of the import committed the batch.
var errBatchCommitted = errors.New("the batch was committed before")

// derivedProps are the properties a node's ID says: the namespace of datasets,
// dataset versions and jobs, and the version of dataset versions.
func derivedProps(kind Kind, key string) map[string]any {
	_, rest, _ := strings.Cut(key, ":")
	switch kind {
	case KindDataset, KindTrainingJob, KindProcessingJob:
		i := strings.LastIndex(rest, ":")
		return map[string]any{propNamespace: rest[:i]}
	case KindDatasetVersion:
		head, version, _ := cutLast(rest, "#")
		i := strings.LastIndex(head, ":")
		return map[string]any{propNamespace: head[:i], propVersion: version}
	case KindModelVersion:
		v, err := strconv.ParseInt(rest[strings.LastIndex(rest, "/")+1:], 10, 64)
		if err != nil {
			return nil
		}
		return map[string]any{propVersion: v}
	}
	return nil
}

const cypherEdgeTimes = `
UNWIND $edges AS e
MATCH (:` + LabelNode + ` {key: e[0]})-[r]->(:` + LabelNode + ` {key: e[1]})
WHERE type(r) = e[2]
RETURN e AS edge, min(r.recordedAt) AS at`

// EdgeTimes returns when each of edges was first recorded (edges not found are left
// out), for exports that carry it.
func (s *Store) EdgeTimes(ctx context.Context, edges []Edge) (map[Edge]time.Time, error) {
	rows := make([][]string, len(edges))
	for i, e := range edges {
		rows[i] = []string{e.From, e.To, e.Type}
	}
	return read(ctx, s, func(tx neo4j.ManagedTransaction) (map[Edge]time.Time, error) {
		recs, err := collect(ctx, tx, cypherEdgeTimes, map[string]any{"edges": rows})
		if err != nil {
			return nil, err
		}
		out := make(map[Edge]time.Time, len(recs))
		for _, r := range recs {
			e, _ := r.Get("edge")
			at, _ := r.Get("at")
			ends, _ := e.([]any)
			t, ok := at.(time.Time)
			if len(ends) != 3 || !ok {
				continue
			}
			from, _ := ends[0].(string)
			to, _ := ends[1].(string)
			typ, _ := ends[2].(string)
			out[Edge{From: from, To: to, Type: typ}] = t
		}
		return out, nil
	})
}
