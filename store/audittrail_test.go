package store_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/internal/neo4jtest"
	"github.com/provgraph/provgraph/store"
)

// An audit trail's entries hold what the store's single questions answer for their
// model versions: the approvals recorded by the trail's instant, the producing jobs,
// and what those jobs read (each once, by producer, then ID). For every endpoint of a
// seeded pipeline, now and at instants through its deployments' history, with
// approvals set on the versions served now.
func TestAuditTrailEntriesAnswerTheSingleQuestions(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	tk := neo4jtest.Token(t)
	ctx := t.Context()
	_, _, err := st.Seed(ctx, store.SeedPlan{Nodes: store.SeedNodesPerPipeline, Prefix: tk, Seed: 1}, nil)
	require.NoError(t, err)
	endpoints := []string{store.EndpointKey(tk + "-endpoint-0-0"), store.EndpointKey(tk + "-endpoint-0-1")}
	for _, e := range endpoints {
		now, err := st.AuditTrailOf(ctx, store.AuditQuery{Endpoint: &e, At: time.Now(), SkipUpstream: true})
		require.NoError(t, err)
		require.NotEmpty(t, now.Entries)
		for _, entry := range now.Entries {
			for _, status := range []store.ApprovalStatus{store.Approved, store.Rejected} {
				_, err := st.SetApprovalStatus(ctx, "test", entry.Version.Key, status, nil)
				require.NoError(t, err)
			}
		}
	}
	checked := 0
	for _, e := range endpoints {
		history, err := st.DeploymentHistory(ctx, e, nil, nil)
		require.NoError(t, err)
		require.NotEmpty(t, history.Deployments)
		instants := []time.Time{time.Now()}
		for _, d := range history.Deployments {
			instants = append(instants, d.From, d.From.Add(time.Second))
		}
		for _, at := range instants {
			trail, err := st.AuditTrailOf(ctx, store.AuditQuery{Endpoint: &e, At: at, SkipUpstream: true})
			require.NoError(t, err)
			for _, entry := range trail.Entries {
				key := entry.Version.Key
				approvals, err := st.ApprovalsOf(ctx, key, &at)
				require.NoError(t, err)
				assert.Equal(t, approvals, entry.Approvals, "%s at %s", key, at)
				producers, err := st.ProducersOfModelVersion(ctx, key)
				require.NoError(t, err)
				assert.Equal(t, producers, entry.Producers, key)
				var data []store.Node
				seen := map[string]bool{}
				for _, p := range producers {
					inputs, err := st.InputsOf(ctx, p.Key)
					require.NoError(t, err)
					for _, in := range inputs {
						if !seen[in.Key] {
							seen[in.Key] = true
							data = append(data, in)
						}
					}
				}
				assert.Equal(t, data, entry.TrainingData, key)
				assert.NotEmpty(t, entry.TrainingData, key)
				checked++
			}
		}
	}
	assert.Greater(t, checked, 20, "entries compared")
}
