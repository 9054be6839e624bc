package store

// A reported status only moves forward. Jobs and runs that execute elsewhere are
// reported many times, out of order and more than once (an event, then a Describe
// response; START, RUNNING, COMPLETE): a report moves a job or run forward or changes
// nothing, so a late "running" never reopens what ended, and of two contradicting ends
// the first recorded stands. Every surface that records reports goes through these two
// functions.

// JobStage is how far a reported job has got, in the order a job goes through them.
type JobStage int

// The stages of a reported job.
const (
	// JobStageUnknown: the report says nothing about the job's status.
	JobStageUnknown JobStage = iota
	// JobStageRunning: started and not asked to stop.
	JobStageRunning
	// JobStageStopping: asked to stop, not stopped yet.
	JobStageStopping
	// JobStageEnded: completed, failed or stopped.
	JobStageEnded
)

// JobProgress is a job status as a source reports it.
type JobProgress struct {
	Stage JobStage
	// Ended is how the job ended, at JobStageEnded: COMPLETED, FAILED or STOPPED.
	Ended JobStatus
	// Word is the source's own word for the status (InProgress, Stopping, Completed),
	// kept on the job as its reported status.
	Word string
}

// status is the job status a job at this stage has.
func (p JobProgress) status() JobStatus {
	if p.Stage == JobStageEnded {
		return p.Ended
	}
	return JobInProgress
}

// recordedJobStage is the stage of a recorded job: the stage its last accepted report
// reached, else — for a job recorded without reports, or before stages were kept —
// what its status says.
func recordedJobStage(j Node) JobStage {
	if s, ok := j.Props[propReportedStage].(int64); ok && s > int64(JobStageUnknown) && s <= int64(JobStageEnded) {
		return JobStage(s)
	}
	switch JobStatus(j.String(propStatus)) {
	case JobCompleted, JobFailed, JobStopped:
		return JobStageEnded
	case JobInProgress:
		return JobStageRunning
	}
	return JobStageUnknown
}

// advanceJob returns the properties a report changes on job j's status: none unless
// it moves the job to a later stage.
func advanceJob(j Node, p JobProgress) map[string]any {
	if p.Stage <= recordedJobStage(j) {
		return nil
	}
	return map[string]any{
		propStatus:         string(p.status()),
		propReportedStatus: p.Word,
		propReportedStage:  int64(p.Stage),
	}
}

// runStatusOfJob is the status of the run a job executes, following the job's.
func runStatusOfJob(s JobStatus) RunStatus {
	switch s {
	case JobCompleted:
		return RunFinished
	case JobFailed:
		return RunFailed
	case JobStopped:
		return RunKilled
	}
	return RunRunning
}

// runEnded says whether a run status is an end: FINISHED, FAILED or KILLED.
func runEnded(s RunStatus) bool { return s == RunFinished || s == RunFailed || s == RunKilled }

// runStage orders run statuses: scheduled, running, ended.
func runStage(s RunStatus) int {
	switch {
	case s == RunScheduled:
		return 1
	case s == RunRunning:
		return 2
	case runEnded(s):
		return 3
	}
	return 0
}

// advanceRun returns the status a reported run moves to, and whether it moves: only
// to a later stage (scheduled → running → ended), so a run that ended keeps the status
// it ended with and a running one is not scheduled again; "" reports nothing.
func advanceRun(have, reported RunStatus) (RunStatus, bool) {
	if reported == "" || runStage(reported) <= runStage(have) {
		return have, false
	}
	return reported, true
}

// Properties of reported jobs.
const (
	// propReportedStatus is the source's own word for a reported node's status. It is
	// named after the first source that reported statuses, and keeps that name so the
	// graphs recorded since read the same.
	propReportedStatus = "sagemakerStatus"
	// propReportedStage is the JobStage a reported job has reached.
	propReportedStage = "reportedStage"
)
