package store_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"

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

// Leaving a group marks the membership ended instead of deleting it; the audit log tells
// a join from a leave, and a join that changes nothing writes no entry.
func TestGroupMembershipIsAppendOnly(t *testing.T) {
	t.Parallel()
	st, _ := neo4jtest.StoreWithOwnAuditChain(t)
	tk := neo4jtest.Token(t)
	ctx := t.Context()
	exp, err := st.CreateExperiment(ctx, "tester", store.ExperimentInput{Name: "members-" + tk}) // entry 1
	require.NoError(t, err)
	g, _, err := st.CreateRunGroup(ctx, "tester", store.RunGroupInput{Experiment: exp.Key, Name: "g-" + tk}) // 2
	require.NoError(t, err)
	run, err := st.StartRun(ctx, "tester", store.RunInput{Experiment: exp.Key}) // 3
	require.NoError(t, err)
	for range 2 { // 4, and nothing for the second join
		_, err = st.AddRunToGroup(ctx, "mover", run.Key, g.Key)
		require.NoError(t, err)
	}
	_, err = st.RemoveRunFromGroup(ctx, "mover", run.Key, g.Key) // 5
	require.NoError(t, err)
	data, err := st.RunsData(ctx, []string{run.Key})
	require.NoError(t, err)
	assert.Empty(t, data[run.Key].Groups, "an ended membership is not read")
	groups, err := st.GroupOfRun(ctx, run.Key)
	require.NoError(t, err)
	assert.Empty(t, groups)
	_, err = st.AddRunToGroup(ctx, "mover", run.Key, g.Key) // 6: a new membership
	require.NoError(t, err)

	entries, err := st.AuditEntries(ctx, 1, 10, 10)
	require.NoError(t, err)
	require.Len(t, entries, 6, "the second join wrote no entry")
	group := g.Key
	joined := []store.AuditChange{{Target: run.Key, Field: "runGroup", New: &group}}
	assert.Equal(t, joined, entries[3].Changes)
	assert.Equal(t, []store.AuditChange{{Target: run.Key, Field: "runGroup", Old: &group}}, entries[4].Changes)
	assert.Equal(t, joined, entries[5].Changes)

	edges := neo4jtest.Exec(t, `MATCH (:Node {key: $run})-[m:IN_GROUP]->(:Node {key: $group})
RETURN m.endedBy AS endedBy ORDER BY m.recordedAt`, map[string]any{"run": run.Key, "group": g.Key})
	require.Len(t, edges.Records, 2, "the ended membership is kept")
	endedBy, _ := edges.Records[0].Get("endedBy")
	assert.Equal(t, "mover", endedBy)
	page, err := st.SearchRuns(ctx, store.RunSearch{Group: g.Key, First: 10})
	require.NoError(t, err)
	assert.Len(t, page.Runs, 1)
}

// Creates that ask for a unique name race: exactly one wins, in whichever experiment,
// and the others are CONFLICTs on name. The lookup by name uses the name index.
func TestUniqueRunGroupNames(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	tk := neo4jtest.Token(t)
	ctx := t.Context()
	var exps []store.Node
	for _, n := range []string{"a-", "b-"} {
		e, err := st.CreateExperiment(ctx, "tester", store.ExperimentInput{Name: n + tk})
		require.NoError(t, err)
		exps = append(exps, e)
	}
	errs := make([]error, 8)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, errs[i] = st.CreateRunGroup(ctx, "tester", store.RunGroupInput{Experiment: exps[i%2].Key, Name: "trial-" + tk, UniqueName: true})
		}()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		if err == nil {
			won++
			continue
		}
		e, ok := apperr.As(err)
		require.True(t, ok, "%v", err)
		assert.Equal(t, apperr.Conflict, e.Code)
		assert.Equal(t, "name", e.Field)
	}
	assert.Equal(t, 1, won)
	named, err := st.RunGroupsNamed(ctx, "trial-"+tk)
	require.NoError(t, err)
	assert.Len(t, named, 1)

	plan := neo4jtest.Exec(t, "EXPLAIN MATCH (g:RunGroup) WHERE g.name = $name RETURN g", map[string]any{"name": "x"}).Summary.Plan()
	assert.Contains(t, operatorsOf(plan), "NodeIndexSeek")
}

// operatorsOf lists the operators of a query plan, depth first.
func operatorsOf(p neo4j.Plan) []string {
	if p == nil {
		return nil
	}
	out := []string{strings.SplitN(p.Operator(), "@", 2)[0]}
	for _, c := range p.Children() {
		out = append(out, operatorsOf(c)...)
	}
	return out
}
