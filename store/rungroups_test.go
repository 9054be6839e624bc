package store_test

import (
	"time"

	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/apperr"
	"github.com/provgraph/provgraph/internal/neo4jtest"
	"github.com/provgraph/provgraph/store"
)

// A run started in the default experiment joins a run group of another experiment and
// moves there, its parameters and metrics with it (searches by experiment find them);
// a run of an experiment cannot join a group of another; leaving a group keeps the run
// in its experiment.
func TestRunJoinsAndLeavesAGroup(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	tk := neo4jtest.Token(t)
	ctx := t.Context()
	exp, err := st.CreateExperiment(ctx, "tester", store.ExperimentInput{Name: "join-" + tk})
	require.NoError(t, err)
	g, _, err := st.CreateRunGroup(ctx, "tester", store.RunGroupInput{Experiment: exp.Key, Name: "sweep-" + tk})
	require.NoError(t, err)
	named, err := st.RunGroupsNamed(ctx, "sweep-"+tk)
	require.NoError(t, err)
	require.Len(t, named, 1)
	assert.Equal(t, g.Key, named[0].Key)

	run := newRun(t, st, store.ExperimentKey(store.DefaultExperimentID))
	_, err = st.LogRun(ctx, "tester", store.RunLog{Run: run.Key, Params: []store.Param{{Key: "lr", Value: "0.1"}},
		Metrics: []store.MetricPoint{{Key: "auc", Value: 0.9, Timestamp: time.Now()}}})
	require.NoError(t, err)
	moved, err := st.AddRunToGroup(ctx, "mover", run.Key, g.Key)
	require.NoError(t, err)
	assert.Equal(t, exp.String("experimentId"), moved.String("experimentId"))
	again, err := st.AddRunToGroup(ctx, "mover", run.Key, g.Key)
	require.NoError(t, err, "joining again changes nothing")
	assert.Equal(t, moved.Key, again.Key)
	page, err := st.SearchRuns(ctx, store.RunSearch{Experiments: []string{exp.Key}, Filter: "params.lr = '0.1' AND metrics.auc > 0.5", First: 10})
	require.NoError(t, err)
	require.Len(t, page.Runs, 1, "the run's parameters and metrics moved with it")
	data, err := st.RunsData(ctx, []string{run.Key})
	require.NoError(t, err)
	assert.Equal(t, []string{"sweep-" + tk}, data[run.Key].Groups)

	other, err := st.CreateExperiment(ctx, "tester", store.ExperimentInput{Name: "other-" + tk})
	require.NoError(t, err)
	og, _, err := st.CreateRunGroup(ctx, "tester", store.RunGroupInput{Experiment: other.Key, Name: "sweep-" + tk})
	require.NoError(t, err)
	_, err = st.AddRunToGroup(ctx, "mover", run.Key, og.Key)
	assert.Equal(t, apperr.InvalidArgument, apperr.CodeOf(err))
	assert.ErrorContains(t, err, "a run belongs to one experiment")
	named, err = st.RunGroupsNamed(ctx, "sweep-"+tk)
	require.NoError(t, err)
	assert.Len(t, named, 2)

	_, err = st.RemoveRunFromGroup(ctx, "mover", run.Key, g.Key)
	require.NoError(t, err)
	_, err = st.RemoveRunFromGroup(ctx, "mover", run.Key, g.Key)
	assert.Equal(t, apperr.NotFound, apperr.CodeOf(err))
	after, err := st.ExperimentOf(ctx, run.Key)
	require.NoError(t, err)
	assert.Equal(t, exp.Key, after.Key, "leaving a group keeps the run in its experiment")
}

// A run's start time can be set later, never after its end.
func TestRunStartTimeUpdate(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	run := newRun(t, st, store.ExperimentKey(store.DefaultExperimentID))
	start := run.OptTime("startTime").Add(-time.Hour)
	r, err := st.UpdateRun(t.Context(), "tester", store.RunUpdate{Run: run.Key, StartTime: &start})
	require.NoError(t, err)
	assert.True(t, r.OptTime("startTime").Equal(start))
	end := start.Add(time.Hour / 2)
	_, err = st.UpdateRun(t.Context(), "tester", store.RunUpdate{Run: run.Key, EndTime: &end})
	require.NoError(t, err)
	late := end.Add(time.Hour)
	_, err = st.UpdateRun(t.Context(), "tester", store.RunUpdate{Run: run.Key, StartTime: &late})
	assert.Equal(t, apperr.InvalidArgument, apperr.CodeOf(err))
	assert.ErrorContains(t, err, "must not be after the run's end time")
}
