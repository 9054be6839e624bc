package store

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"

	"github.com/provgraph/provgraph/apperr"
)

// Group commit of metric points: a surface that takes many small calls at once (a
// metrics API of 10 points a call) commits them in one transaction of a fixed number
// of statements, instead of paying a transaction's round trips and commit per call.

// cypherLockRuns takes the write locks of runs, in the order given, and reads back
// under the locks each run's lifecycle and those of its metric series run.sids that
// are stored. A run that no node has yields no row.
var cypherLockRuns = `
UNWIND $runs AS run
MATCH (n:` + LabelNode + ` {key: run.key})
SET n._lock_ = true
REMOVE n._lock_
WITH n, run
OPTIONAL MATCH (m:` + LabelMetricSeries + `)
WHERE m.sid IN run.sids
RETURN n.key AS key, n.` + propLifecycle + ` AS lifecycle, collect(m ` + seriesProjection + `) AS series`

// LogMetricsBatch records the metric points of many logs, of one run or of many, in one
// write transaction by actor, as LogRun would record each log's Metrics on its own, one
// after another: the same points, summaries and chunks, a point already recorded (or
// given twice) recorded once. Its statements do not grow with the logs: one locks the
// runs and reads their series, and writeMetrics writes them with two at most. The logs
// hold metrics only.
//
// errs has one error per log, nil for a log that was recorded. A log LogRun would
// refuse is refused with LogRun's error (malformed points, an ID that is not a run's
// are INVALID_ARGUMENT; a missing run NOT_FOUND; a deleted run INVALID_ARGUMENT) and
// the others are recorded all the same. err, when set, is the transaction's failure:
// nothing was recorded. The write appends one audit entry of ActionRunLog listing the
// runs recorded (one more for every MaxAuditTargets runs), none when none was.
func (s *Store) LogMetricsBatch(ctx context.Context, actor string, logs []RunLog) (errs []error, err error) {
	checked := make([]error, len(logs))
	var valid []RunLog
	for i, l := range logs {
		if checked[i] = checkMetricsLog(l); checked[i] == nil {
			valid = append(valid, l)
		}
	}
	if len(valid) == 0 {
		return checked, nil
	}
	return write(ctx, s, actor, ActionRunLog, func(tx neo4j.ManagedTransaction, au *audit) ([]error, error) {
		refused, existing, err := lockActiveRuns(ctx, tx, "run", bySeries(valid))
		if err != nil {
			return nil, err
		}
		errs := slices.Clone(checked)
		var ok []RunLog
		for i, l := range logs {
			if errs[i] == nil {
				if errs[i] = refused[l.Run]; errs[i] == nil {
					ok = append(ok, l)
				}
			}
		}
		if len(ok) == 0 {
			au.unchanged()
			return errs, nil
		}
		if err := writeMetrics(ctx, tx, ok, bySeries(ok), existing); err != nil {
			return nil, err
		}
		auditRuns(au, ok)
		return errs, nil
	})
}

// checkMetricsLog validates a log of LogMetricsBatch as LogRun would, and that it
// holds metrics only.
func checkMetricsLog(l RunLog) error {
	if err := RequireKind("run", l.Run, KindRun, "run:<run id>"); err != nil {
		return err
	}
	switch {
	case len(l.Params) > 0:
		return apperr.Invalid("params", "must be empty: a metrics batch records metric points only")
	case len(l.Tags) > 0:
		return apperr.Invalid("tags", "must be empty: a metrics batch records metric points only")
	case len(l.DeleteTags) > 0:
		return apperr.Invalid("deleteTags", "must be empty: a metrics batch records metric points only")
	}
	return checkMetricPoints(l.Metrics)
}

// lockActiveRuns takes the write locks of the runs of series with one statement, in
// key order (so that two batches lock the runs they share in the same order), and
// returns their stored series, and the error each run that cannot be logged to gets
// from lockActiveRun: NOT_FOUND when it is missing, INVALID_ARGUMENT about field when
// it is deleted.
func lockActiveRuns(ctx context.Context, tx neo4j.ManagedTransaction, field string, series []seriesPoints) (map[string]error, map[string]seriesState, error) {
	sidsOf := map[string][]string{}
	for _, sp := range series {
		sidsOf[sp.run] = append(sidsOf[sp.run], sp.sid)
	}
	keys := slices.Sorted(maps.Keys(sidsOf))
	runs := make([]map[string]any, len(keys))
	for i, k := range keys {
		runs[i] = map[string]any{"key": k, "sids": sidsOf[k]}
	}
	recs, err := collect(ctx, tx, cypherLockRuns, map[string]any{"runs": runs})
	if err != nil {
		return nil, nil, fmt.Errorf("lock %d runs: %w", len(keys), err)
	}
	refused := map[string]error{}
	existing := map[string]seriesState{}
	for _, r := range recs {
		k, _ := r.Get("key")
		lc, _ := r.Get("lifecycle")
		ms, _ := r.Get("series")
		key, _ := k.(string)
		delete(sidsOf, key)
		if s, _ := lc.(string); Lifecycle(s) == LifecycleDeleted {
			refused[key] = deletedRun(field, key)
		}
		for _, m := range ms.([]any) {
			addSeries(existing, m)
		}
	}
	for k := range sidsOf { // no node
		refused[k] = notFound(field, k)
	}
	return refused, existing, nil
}

// auditRuns lists the runs of logs in the write's audit entries, in the order logged,
// in entries of MaxAuditTargets runs at most, so that no run is left out of the list.
func auditRuns(au *audit, logs []RunLog) {
	all := &audit{}
	for _, l := range logs {
		all.target(l.Run)
	}
	for runs := range slices.Chunk(all.targets, MaxAuditTargets) {
		sub := &audit{}
		sub.target(runs...)
		au.entry(ActionRunLog, sub)
	}
}
