package store

import "testing"

// A reported status only moves forward, for jobs and runs alike.
func TestReportedStatusOnlyMovesForward(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		have, reported, want RunStatus
		moves                bool
	}{
		{"", RunRunning, RunRunning, true},
		{RunScheduled, RunRunning, RunRunning, true},
		{RunRunning, RunScheduled, RunRunning, false},
		{RunRunning, RunRunning, RunRunning, false},
		{RunRunning, RunFinished, RunFinished, true},
		{RunScheduled, RunFailed, RunFailed, true},
		{RunFinished, RunRunning, RunFinished, false},
		{RunFinished, RunFailed, RunFinished, false},
		{RunKilled, RunFinished, RunKilled, false},
		{RunRunning, "", RunRunning, false},
	} {
		got, moves := advanceRun(c.have, c.reported)
		if got != c.want || moves != c.moves {
			t.Errorf("advanceRun(%q, %q) = %q, %v; want %q, %v", c.have, c.reported, got, moves, c.want, c.moves)
		}
	}
	job := func(props map[string]any) Node { return Node{Props: props} }
	running := JobProgress{Stage: JobStageRunning, Word: "InProgress"}
	stopping := JobProgress{Stage: JobStageStopping, Word: "Stopping"}
	done := JobProgress{Stage: JobStageEnded, Ended: JobCompleted, Word: "Completed"}
	for _, c := range []struct {
		name   string
		have   Node
		report JobProgress
		want   JobStatus // "" when nothing changes
	}{
		{"new job starts", job(map[string]any{}), running, JobInProgress},
		{"running → stopping", job(map[string]any{propStatus: "IN_PROGRESS", propReportedStage: int64(JobStageRunning)}), stopping, JobInProgress},
		{"stopping ↛ running", job(map[string]any{propStatus: "IN_PROGRESS", propReportedStage: int64(JobStageStopping)}), running, ""},
		{"running → completed", job(map[string]any{propStatus: "IN_PROGRESS", propReportedStage: int64(JobStageRunning)}), done, JobCompleted},
		{"completed ↛ running", job(map[string]any{propStatus: "COMPLETED", propReportedStage: int64(JobStageEnded)}), running, ""},
		{"recorded as ended elsewhere", job(map[string]any{propStatus: "FAILED"}), done, ""},
		{"unknown says nothing", job(map[string]any{}), JobProgress{}, ""},
	} {
		props := advanceJob(c.have, c.report)
		if c.want == "" {
			if props != nil {
				t.Errorf("%s: changed %v", c.name, props)
			}
			continue
		}
		if props[propStatus] != string(c.want) || props[propReportedStage] != int64(c.report.Stage) || props[propReportedStatus] != c.report.Word {
			t.Errorf("%s: got %v", c.name, props)
		}
	}
}
