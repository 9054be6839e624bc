package store

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/provgraph/provgraph/apperr"
)

// A node record's run is checked with the record: only a job names one, with a run id
// of the run form, an experiment, and names within the tracking limits.
func TestImportRunIsChecked(t *testing.T) {
	job := NodeRecord{Key: JobKey("mlmd", "Trainer-5"), Kind: KindTrainingJob, Name: "Trainer-5"}
	good := JobRun{ID: strings.Repeat("a", 32), Experiment: "taxi", Group: "20260101", Name: "Trainer-5"}
	for _, tt := range []struct {
		name  string
		edit  func(n *NodeRecord, r *JobRun)
		field string
	}{
		{"a job's run", func(*NodeRecord, *JobRun) {}, ""},
		{"without a group", func(_ *NodeRecord, r *JobRun) { r.Group = "" }, ""},
		{"on a dataset", func(n *NodeRecord, _ *JobRun) {
			n.Key, n.Kind, n.Name = DatasetKey("file", "/x"), KindDataset, "/x"
		}, "run"},
		{"a run id not of the run form", func(_ *NodeRecord, r *JobRun) { r.ID = "run-1" }, "run.id"},
		{"no experiment", func(_ *NodeRecord, r *JobRun) { r.Experiment = " " }, "run.experiment"},
		{"an experiment name too long", func(_ *NodeRecord, r *JobRun) { r.Experiment = strings.Repeat("e", MaxExperimentNameLength+1) }, "run.experiment"},
		{"a run name too long", func(_ *NodeRecord, r *JobRun) { r.Name = strings.Repeat("n", MaxRunNameLength+1) }, "run.name"},
		{"a group name too long", func(_ *NodeRecord, r *JobRun) { r.Group = strings.Repeat("g", MaxRunNameLength+1) }, "run.group"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			n, r := job, good
			tt.edit(&n, &r)
			n.Run = &r
			err := checkNodeRecord(n)
			if tt.field == "" {
				assert.NoError(t, err)
				return
			}
			e, ok := apperr.As(err)
			if assert.True(t, ok, "%v", err) {
				assert.Equal(t, apperr.InvalidArgument, e.Code)
				assert.Equal(t, tt.field, e.Field)
			}
		})
	}
}
