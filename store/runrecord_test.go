package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/apperr"
	"github.com/provgraph/provgraph/internal/neo4jtest"
	"github.com/provgraph/provgraph/store"
)

// RecordRun records a run's start, parameters, IO and update whole, or nothing; the
// store itself refuses times outside years 1..9999, for every surface.
func TestRecordRunIsWhole(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	ctx := context.Background()
	tk := neo4jtest.Token(t)
	exp, err := st.CreateExperiment(ctx, "alice", store.ExperimentInput{Name: "record-" + tk})
	require.NoError(t, err)
	start := time.Now().UTC().Truncate(time.Millisecond)
	before := start.Add(-time.Hour)
	in := store.RunInput{Experiment: exp.Key, StartTime: &start}
	rec := store.RunRecord{Start: &in, Params: []store.Param{{Key: "lr", Value: "0.5"}}, Update: store.RunUpdate{EndTime: &before}}
	_, err = st.RecordRun(ctx, "alice", rec)
	require.Error(t, err)
	assert.Equal(t, apperr.InvalidArgument, apperr.CodeOf(err))
	runs, err := st.SearchRuns(ctx, store.RunSearch{Experiments: []string{exp.Key}, First: 10})
	require.NoError(t, err)
	assert.Empty(t, runs.Runs, "the refused record started no run")

	rec.Update = store.RunUpdate{}
	r, err := st.RecordRun(ctx, "alice", rec)
	require.NoError(t, err)
	ps, err := st.RunParams(ctx, r.Key)
	require.NoError(t, err)
	assert.Equal(t, []store.Param{{Key: "lr", Value: "0.5"}}, ps)

	far := time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	_, err = st.UpdateRun(ctx, "alice", store.RunUpdate{Run: r.Key, EndTime: &far})
	assert.Equal(t, "endTime", fieldOf(err))
	_, err = st.StartRun(ctx, "alice", store.RunInput{Experiment: exp.Key, StartTime: &far})
	assert.Equal(t, "startTime", fieldOf(err))
	_, err = st.LogRun(ctx, "alice", store.RunLog{Run: r.Key, Metrics: []store.MetricPoint{{Key: "acc", Value: 1, Timestamp: far}}})
	assert.Equal(t, "metrics[0].timestamp", fieldOf(err))
}

func fieldOf(err error) string {
	e, ok := apperr.As(err)
	if !ok || e.Code != apperr.InvalidArgument {
		return "not invalid: " + err.Error()
	}
	return e.Field
}
