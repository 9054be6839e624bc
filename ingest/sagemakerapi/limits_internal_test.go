package sagemakerapi

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/internal/neo4jtest"
	"github.com/provgraph/provgraph/store"
)

// A List or Search of trial components that would read more than maxRunsScanned runs
// is a ResourceLimitExceeded (lowered here: 10,000 runs would be too slow to record).
func TestMaxRunsScanned(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	api := New(st, Options{})
	api.maxRunsScanned = 2
	ctx := context.Background()
	name := "scanned-" + neo4jtest.Token(t)
	exp, err := st.CreateExperiment(ctx, "test", store.ExperimentInput{Name: name})
	require.NoError(t, err)
	body := []byte(`{"ExperimentName": "` + name + `"}`)
	for i := range 3 {
		_, err := st.StartRun(ctx, "test", store.RunInput{Experiment: exp.Key})
		require.NoError(t, err)
		_, err = listTrialComponents(ctx, api, body)
		if i < 2 {
			require.NoError(t, err, "%d runs is within the limit", i+1)
			continue
		}
		var e *awsError
		require.True(t, errors.As(err, &e), "%v", err)
		assert.Equal(t, codeResourceLimit, e.Code)
		assert.Contains(t, e.Message, "more than 2 trial components match")
	}
}
