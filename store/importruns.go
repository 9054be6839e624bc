package store

import (
	"fmt"
	"strings"

	"github.com/provgraph/provgraph/apperr"
)

// An imported job that ran in an experiment (NodeRecord.Run) is linked to it by the
// rule a reported job's run follows (reportRun): a Run EXECUTED_BY the job, IN_EXPERIMENT
// the experiment of that name (created when none is recorded) and IN_GROUP the run group
// of that name in it. A repeated record finds the run and changes nothing.

// checkImportRun checks the run of a node record: only a job names one, with an
// experiment.
func checkImportRun(n NodeRecord) error {
	r := n.Run
	if r == nil {
		return nil
	}
	if n.Kind != KindTrainingJob && n.Kind != KindProcessingJob {
		return apperr.Invalid("run", "only a job's record names a run (not a %s's)", n.Kind)
	}
	if !runIDForm.MatchString(r.ID) {
		return apperr.Invalid("run.id", "must be 32 lowercase hexadecimal digits")
	}
	if err := checkText("run.experiment", strings.TrimSpace(r.Experiment), MaxExperimentNameLength); err != nil {
		return err
	}
	if err := checkText("run.name", r.Name, MaxRunNameLength); err != nil {
		return err
	}
	if g := strings.TrimSpace(r.Group); g != "" {
		return checkText("run.group", g, MaxRunNameLength)
	}
	return nil
}

// linkRuns links the batch's jobs that name a run to it, and adds what they were linked
// to to the audit entry's targets.
func (w importTx) linkRuns(nodes []indexed[NodeRecord]) error {
	for _, n := range nodes {
		if n.rec.Run == nil {
			continue
		}
		j, err := nodeByKey(w.ctx, w.tx, "key", n.rec.Key)
		if err != nil {
			return err
		}
		var out ReportOutcome
		if err := w.reportRun(j, n.rec.Run, nil, &out); err != nil {
			return fmt.Errorf("link job %q to its run: %w", n.rec.Key, err)
		}
		w.au.target(out.IDs...)
	}
	return nil
}
