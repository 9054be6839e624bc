package store_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/internal/neo4jtest"
	"github.com/provgraph/provgraph/store"
)

// seededPipeline seeds one pipeline under a prefix of the test's own and returns the
// store and the prefix.
func seededPipeline(t *testing.T) (*store.Store, string) {
	t.Helper()
	st := neo4jtest.Store(t)
	tk := neo4jtest.Token(t)
	_, _, err := st.Seed(t.Context(), store.SeedPlan{Nodes: store.SeedNodesPerPipeline, Prefix: tk, Seed: 1}, nil)
	require.NoError(t, err)
	return st, tk
}

// An audit trail's entries hold what the store's single questions answer for their
// model versions: the approvals recorded by the trail's instant, the producing jobs,
// and what those jobs read (each once, by producer, then ID). For every endpoint of a
// seeded pipeline, now and at instants through its deployments' history, with
// approvals set on the versions served now.
func TestAuditTrailEntriesAnswerTheSingleQuestions(t *testing.T) {
	t.Parallel()
	st, tk := seededPipeline(t)
	ctx := t.Context()
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

// An audit trail without its upstream cones (SkipUpstream) holds the same entries with
// empty cones; with UpstreamFields KeyAndKind, the same cones' keys and kinds.
func TestAuditTrailWithoutOrWithFewerUpstreamFields(t *testing.T) {
	t.Parallel()
	st, tk := seededPipeline(t)
	ctx := t.Context()
	q := store.AuditQuery{Endpoint: new(store.EndpointKey(tk + "-endpoint-0-0")), At: time.Now()}
	full, err := st.AuditTrailOf(ctx, q)
	require.NoError(t, err)
	require.NotEmpty(t, full.Entries)
	q.SkipUpstream = true
	skipped, err := st.AuditTrailOf(ctx, q)
	require.NoError(t, err)
	q.SkipUpstream, q.UpstreamFields = false, store.KeyAndKind
	few, err := st.AuditTrailOf(ctx, q)
	require.NoError(t, err)
	require.Len(t, skipped.Entries, len(full.Entries))
	require.Len(t, few.Entries, len(full.Entries))
	for i, e := range full.Entries {
		assert.Greater(t, len(e.Upstream.Nodes), 1)
		assert.Empty(t, skipped.Entries[i].Upstream.Nodes)
		s := skipped.Entries[i]
		s.Upstream = e.Upstream
		assert.Equal(t, e, s)
		assert.Equal(t, len(e.Upstream.Nodes), len(few.Entries[i].Upstream.Nodes))
		for j, n := range e.Upstream.Nodes {
			got := few.Entries[i].Upstream.Nodes[j]
			assert.Equal(t, [2]any{n.Key, n.Kind}, [2]any{got.Key, got.Kind})
			if n.Key != e.Version.Key { // the start keeps what every node has
				assert.NotEmpty(t, n.Name, n.Key)
				assert.Empty(t, got.Name, "%s fetched with its keys and kinds only", n.Key)
				assert.Len(t, got.Props, 2, n.Key)
			}
		}
		assert.Equal(t, e.Upstream.Edges, few.Entries[i].Upstream.Edges)
	}
}

// An endpoint's trail has an entry per variant serving at its instant, each with what
// was recorded about its model version by then: two variants serving one version get
// the same facts, another version its own; approvals, a second job producing the same
// model artifact and what that job read appear only in trails of instants after they
// were recorded. Training data come by producer ID, then ID. A model version's trail
// has the same facts.
func TestAuditTrailEntriesAsTheGraphStood(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	tk := neo4jtest.Token(t)
	ctx := t.Context()
	data := make([]string, 3)
	for i := range data {
		digest := fmt.Sprintf("sha256:%064d", i)
		v, _, err := st.RegisterDatasetVersion(ctx, "test", store.DatasetVersionInput{URI: fmt.Sprintf("s3://trail-%s/d%d", tk, i), Digest: &digest})
		require.NoError(t, err)
		data[i] = v.Key
	}
	train := func(name string, inputs []string, model string) string {
		t.Helper()
		job, _, _, err := st.RecordTrainingJob(ctx, "test", store.TrainingJobInput{Namespace: tk, Name: name, Inputs: inputs,
			ModelArtifact: store.ArtifactInput{URI: "s3://trail-" + tk + "/" + model}, Status: store.JobCompleted})
		require.NoError(t, err)
		return job.Key
	}
	jobA := train("train-a", []string{data[0], data[1]}, "model-1")
	jobC := train("train-c", []string{data[2]}, "model-2")
	version := func(source, job string) string {
		t.Helper()
		v, err := st.RegisterModelVersion(ctx, "test", store.ModelVersionInput{Model: "trail-" + tk, Source: "s3://trail-" + tk + "/" + source, ProducedBy: &job})
		require.NoError(t, err)
		return v.Key
	}
	v1, v2 := version("model-1", jobA), version("model-2", jobC)
	endpoint := store.EndpointKey("trail-" + tk)
	for _, d := range []store.DeploymentInput{{Variant: "a", ModelVersion: v1}, {Variant: "b", ModelVersion: v2}, {Variant: "c", ModelVersion: v1}} {
		d.Endpoint, d.TrafficShare = "trail-"+tk, 0.3
		_, _, _, err := st.DeployModelVersion(ctx, "test", d)
		require.NoError(t, err)
	}
	approve := func(status store.ApprovalStatus) time.Time {
		t.Helper()
		_, err := st.SetApprovalStatus(ctx, "test", v1, status, nil)
		require.NoError(t, err)
		time.Sleep(5 * time.Millisecond)
		at := time.Now()
		// The database stamps a write with its transaction's start, which it may
		// round down to its clock's millisecond: the next write must start in a
		// later millisecond than at, or it counts as recorded by then.
		time.Sleep(5 * time.Millisecond)
		return at
	}
	approved, rejected := approve(store.Approved), approve(store.Rejected)
	// A second job recorded later as producing v1's artifact (as an import can say),
	// whose ID sorts before jobA's: its inputs come first.
	jobB := store.JobKey(tk, "a-second-producer")
	artifact := "artifact:s3://trail-" + tk + "/model-1"
	_, err := st.Import(ctx, "test", store.ImportBatch{
		Mark:  store.ImportMark{Source: "trail-" + tk, Name: "trail", BatchSize: 4, Batch: 1, Items: 4},
		Nodes: []store.NodeRecord{{Key: jobB, Kind: store.KindTrainingJob, Name: "a-second-producer"}},
		Edges: []store.EdgeRecord{{From: jobB, To: artifact, Type: store.RelProduced},
			{From: data[2], To: jobB, Type: store.RelInputTo}, {From: data[1], To: jobB, Type: store.RelInputTo}},
	})
	require.NoError(t, err)
	now := time.Now()

	type facts struct {
		version   string
		approvals []store.ApprovalStatus
		producers []string
		data      []string
	}
	factsOf := func(e store.AuditEntry) facts {
		f := facts{version: e.Version.Key, producers: []string{}}
		for _, a := range e.Approvals {
			f.approvals = append(f.approvals, a.Status)
		}
		for _, p := range e.Producers {
			f.producers = append(f.producers, p.Key)
		}
		for _, d := range e.TrainingData {
			f.data = append(f.data, d.Key)
		}
		return f
	}
	v2Facts := facts{version: v2, producers: []string{jobC}, data: []string{data[2]}}
	for _, tc := range []struct {
		name string
		at   time.Time
		v1   facts
	}{
		{"approved", approved, facts{v1, []store.ApprovalStatus{store.Approved}, []string{jobA}, []string{data[0], data[1]}}},
		{"rejected", rejected, facts{v1, []store.ApprovalStatus{store.Approved, store.Rejected}, []string{jobA}, []string{data[0], data[1]}}},
		{"with a second producer", now, facts{v1, []store.ApprovalStatus{store.Approved, store.Rejected}, []string{jobB, jobA}, []string{data[1], data[2], data[0]}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			trail, err := st.AuditTrailOf(ctx, store.AuditQuery{Endpoint: &endpoint, At: tc.at, SkipUpstream: true})
			require.NoError(t, err)
			require.Len(t, trail.Entries, 3)
			var got []facts
			for _, e := range trail.Entries {
				got = append(got, factsOf(e))
			}
			assert.Equal(t, []facts{tc.v1, v2Facts, tc.v1}, got)
			assert.Equal(t, []string{"a", "b", "c"}, []string{trail.Entries[0].Deployment.Variant, trail.Entries[1].Deployment.Variant, trail.Entries[2].Deployment.Variant})
			one, err := st.AuditTrailOf(ctx, store.AuditQuery{ModelVersion: &v1, At: tc.at, SkipUpstream: true})
			require.NoError(t, err)
			require.Len(t, one.Entries, 1)
			assert.Nil(t, one.Entries[0].Deployment)
			assert.Equal(t, tc.v1, factsOf(one.Entries[0]))
		})
	}
}
