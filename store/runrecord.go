package store

import (
	"context"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"

	"github.com/provgraph/provgraph/apperr"
)

// earliestTime and latestTime bound the times the store records (run start and end
// times, metric timestamps): Neo4j's temporal types and millisecond epochs both hold
// them, so a time outside is refused as bad input rather than failing in the database
// or overflowing silently.
var (
	earliestTime = time.Date(1, time.January, 1, 0, 0, 0, 0, time.UTC)
	latestTime   = time.Date(10000, time.January, 1, 0, 0, 0, 0, time.UTC)
)

// CheckTime refuses a time outside the years 1 to 9999, naming field: the times the
// store keeps.
func CheckTime(field string, t time.Time) error { return checkTime(field, t) }

// checkTime refuses a time t of field outside [year 1, year 10000).
func checkTime(field string, t time.Time) error {
	if t.Before(earliestTime) || !t.Before(latestTime) {
		return apperr.Invalid(field, "must be between years 1 and 9999 (got %s)", t.UTC().Format(time.RFC3339))
	}
	return nil
}

// RunRecord is what one client call records about a run at once: optionally its
// start, then parameters, inputs and outputs, and a change of status, times or name.
// RecordRun records all of it in one transaction, or nothing.
type RunRecord struct {
	// Start, when set, creates the run; otherwise Run names an existing run.
	Start *RunInput
	Run   string
	// Params are logged as LogRun logs them.
	Params []Param
	// IO is recorded as LogRunIO records it (its Run is ignored).
	IO RunIO
	// Update is applied as UpdateRun applies it (its Run is ignored).
	Update RunUpdate
}

// RecordRun records rec in one transaction, with one audit entry per part, as each
// part's own verb (StartRun, LogRun, LogRunIO, UpdateRun) would: a part that fails
// rolls back the whole record. The error of a part carries the field names of its verb.
func (s *Store) RecordRun(ctx context.Context, actor string, rec RunRecord) (Node, error) {
	var start runStart
	if rec.Start != nil {
		var err error
		if start, err = checkRunInput(*rec.Start); err != nil {
			return Node{}, err
		}
		rec.Run = RunKey(start.runID)
	}
	rec.IO.Run, rec.Update.Run = rec.Run, rec.Run
	if err := RequireKind("run", rec.Run, KindRun, "run:<run id>"); err != nil {
		return Node{}, err
	}
	params, err := checkParams(rec.Params, MaxParamsPerRecord)
	if err != nil {
		return Node{}, err
	}
	hasIO := len(rec.IO.Inputs)+len(rec.IO.InputArtifacts)+len(rec.IO.OutputArtifacts)+len(rec.IO.OutputModels)+len(rec.IO.Charts) > 0
	var inProps, outProps []map[string]any
	if hasIO {
		if inProps, outProps, err = checkRunIO(rec.IO, MaxRunIOPerRecord); err != nil {
			return Node{}, err
		}
	}
	u := rec.Update
	hasUpdate := u.Status != nil || u.StartTime != nil || u.EndTime != nil || u.Name != nil
	change, err := checkRunUpdate(u)
	if err != nil {
		return Node{}, err
	}
	if rec.Start == nil && len(params) == 0 && !hasIO && !hasUpdate {
		return s.NodeByID(ctx, "run", rec.Run) // nothing to record, nothing to audit
	}
	return write(ctx, s, actor, ActionRunUpdate, func(tx neo4j.ManagedTransaction, au *audit) (Node, error) {
		// part runs one verb's work with an audit entry of its own.
		part := func(action string, work func(au *audit) (Node, error)) error {
			var sub audit
			if _, err := work(&sub); err != nil {
				return err
			}
			au.target(sub.targets...)
			au.entry(action, &sub)
			return nil
		}
		if rec.Start != nil {
			if err := part(ActionRunStart, func(sub *audit) (Node, error) { return startRun(ctx, tx, sub, actor, *rec.Start, start) }); err != nil {
				return Node{}, err
			}
		}
		if len(params) > 0 {
			l := RunLog{Run: rec.Run, Params: rec.Params}
			if err := part(ActionRunLog, func(sub *audit) (Node, error) { return logRun(ctx, tx, sub, actor, l, params) }); err != nil {
				return Node{}, err
			}
		}
		if hasIO {
			if err := part(ActionRunIO, func(sub *audit) (Node, error) { return logRunIO(ctx, tx, sub, actor, rec.IO, inProps, outProps) }); err != nil {
				return Node{}, err
			}
		}
		if hasUpdate {
			if err := part(ActionRunUpdate, func(sub *audit) (Node, error) { return updateRun(ctx, tx, sub, actor, u, change) }); err != nil {
				return Node{}, err
			}
		}
		return nodeByKey(ctx, tx, "run", rec.Run)
	})
}
