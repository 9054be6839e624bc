package store

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
)

// Reports: what a system that runs jobs and serves models elsewhere says about them,
// recorded as it arrives. A report is a domain command an ingest adapter builds from
// its format (a job reported, a model version reported, a serving model, a deployment
// configuration, an endpoint reported); the store decides what it changes. Reports of
// one thing arrive many times, out of order and more than once, so each verb merges:
// facts are fixed once (a different value later is a CONFLICT), statuses only move
// forward (status.go), what a job read and wrote is only added (jobio.go), and a report
// older than the one recorded changes nothing. Each report is one transaction: recorded
// whole or not at all, and recording it again changes nothing.

// ReportOutcome says what a report touched: the IDs of the nodes it recorded or
// linked, and notes on what it could not resolve (yet).
type ReportOutcome struct {
	IDs   []string
	Notes []string
}

func (r *ReportOutcome) add(ids ...string) {
	for _, id := range ids {
		if id != "" && !slices.Contains(r.IDs, id) {
			r.IDs = append(r.IDs, id)
		}
	}
}

func (r *ReportOutcome) note(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

// reportWrite runs work in a write transaction, once more when it lost a race to
// create a uniquely named record (an experiment) to a concurrent report: the second
// attempt finds the winner's.
func reportWrite(ctx context.Context, s *Store, actor, action string, work func(w reportTx) (ReportOutcome, error)) (ReportOutcome, error) {
	res, err := reportAudited(ctx, s, actor, action, work)
	if isConstraintViolation(err) {
		res, err = reportAudited(ctx, s, actor, action, work)
	}
	return res, err
}

// reportAudited runs work in a write transaction whose audit entry lists the IDs the
// report recorded.
func reportAudited(ctx context.Context, s *Store, actor, action string, work func(w reportTx) (ReportOutcome, error)) (ReportOutcome, error) {
	return write(ctx, s, actor, action, func(tx neo4j.ManagedTransaction, au *audit) (ReportOutcome, error) {
		res, err := work(reportTx{ctx, tx, actor, au})
		au.target(res.IDs...)
		return res, err
	})
}

// reportTx runs the steps of recording one report inside its transaction.
type reportTx struct {
	ctx   context.Context
	tx    neo4j.ManagedTransaction
	actor string
	// au is the transaction's audit entry, which records what the report changed.
	au *audit
}

func (w reportTx) run(cypher, what string, params map[string]any) ([]*neo4j.Record, error) {
	params["actor"] = w.actor
	recs, err := collect(w.ctx, w.tx, cypher, params)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return recs, nil
}

func (w reportTx) lock(key string) error {
	_, err := w.run(cypherLockNode, "lock "+key, map[string]any{"key": key})
	return err
}

// cypherSetReported sets properties of a reported node, stamping updatedAt/By when
// $stamp, and returns the names it set with their values before.
const cypherSetReported = `
MATCH (n:` + LabelNode + ` {key: $key})
WITH n, keys($props) AS fields
WITH n, fields, [f IN fields | n[f]] AS old
SET n += $props,
    n.updatedAt = CASE WHEN $stamp THEN datetime.transaction() ELSE n.updatedAt END,
    n.updatedBy = CASE WHEN $stamp THEN $actor ELSE n.updatedBy END
RETURN fields, old`

// setProps sets props on the node with ID key and returns their values before, by
// name, for the audit entry's changes (nil when props is empty).
func (w reportTx) setProps(key, what string, props map[string]any, stamp bool) (map[string]any, error) {
	if len(props) == 0 {
		return nil, nil
	}
	recs, err := w.run(cypherSetReported, what+" "+key, map[string]any{"key": key, "props": props, "stamp": stamp})
	if err != nil || len(recs) == 0 {
		return nil, err
	}
	fields, _ := recs[0].Get("fields")
	values, _ := recs[0].Get("old")
	names := stringsOf(fields)
	was, _ := values.([]any)
	old := make(map[string]any, len(names))
	for i, f := range names[:min(len(names), len(was))] {
		old[f] = was[i]
	}
	return old, nil
}

// changeProps sets props on a node and records in the audit entry each that it
// changes, with its old value, except those in unaudited; on a node this transaction
// created (created), whose values nothing preceded, it records none.
func (w reportTx) changeProps(key, what string, props map[string]any, stamp, created bool, unaudited ...string) error {
	old, err := w.setProps(key, what, props, stamp)
	if err != nil || created {
		return err
	}
	audited := maps.Clone(props)
	for _, p := range unaudited {
		delete(audited, p)
	}
	w.au.changeProps(key, old, audited)
	return nil
}

// Properties of reported nodes beyond the common ones. Their stored names come from
// the first source that reported them and stay, so the graphs recorded since read
// the same.
const (
	propExternalID        = "sagemakerArn"
	propJobSubtype        = "sagemakerJobType"
	propFailureReason     = "failureReason"
	propImage             = "image"
	propInstanceCount     = "instanceCount"
	propServingModel      = "sagemakerModelName"
	propPipelineExecution = "sagemakerPipelineExecution"
	propPipelineStep      = "sagemakerPipelineStep"
	propReportedAt        = "sagemakerModifiedAt"
)

func stringsOf(v any) []string {
	switch x := v.(type) {
	case []string:
		return slices.Clone(x)
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func floatsOf(v any) []float64 {
	switch x := v.(type) {
	case []float64:
		return slices.Clone(x)
	case []any:
		out := make([]float64, 0, len(x))
		for _, e := range x {
			switch f := e.(type) {
			case float64:
				out = append(out, f)
			case int64:
				out = append(out, float64(f))
			}
		}
		return out
	}
	return nil
}

func optInt(v *int64) any {
	if v == nil {
		return nil
	}
	return *v
}

// comparableValue turns stored and given values into one form for comparison.
func comparableValue(v any) any {
	switch x := v.(type) {
	case []float64:
		out := make([]any, len(x))
		for i, f := range x {
			out[i] = f
		}
		return out
	case []any:
		if len(x) == 0 {
			return nil
		}
	}
	return normalize(v)
}
