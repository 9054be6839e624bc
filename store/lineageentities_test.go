package store_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/apperr"
	"github.com/provgraph/provgraph/internal/neo4jtest"
	"github.com/provgraph/provgraph/store"
)

// A location holds one entity: recording it again, in another spelling or as the other
// kind of entity, finds what is there and writes nothing.
func TestRecordLocation(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	tk := neo4jtest.Token(t)
	ctx := t.Context()
	uri := "s3://" + tk + "-lake/features/train"
	name := "train"
	v, created, err := st.RecordLocation(ctx, "token:alice", store.LocationRecord{URI: uri, Entity: store.LocationDataset,
		Version: "pinned", Name: &name, Type: "DataSet", Properties: []store.Tag{{Key: "rows", Value: "1000"}}})
	require.NoError(t, err)
	assert.True(t, created)
	assert.Equal(t, store.DatasetVersionKey("s3://"+tk+"-lake", "features/train", "pinned"), v.Key)
	assert.Equal(t, "DataSet", v.EntityType())
	assert.Equal(t, []store.Tag{{Key: "rows", Value: "1000"}}, v.EntityProperties())
	assert.Equal(t, "token:alice", v.RecordedBy)

	for _, entity := range []store.LocationEntity{store.LocationDataset, store.LocationArtifact} {
		again, created, err := st.RecordLocation(ctx, "token:bob", store.LocationRecord{URI: uri, Entity: entity, Version: "other", Type: "Model"})
		require.NoError(t, err)
		assert.False(t, created)
		assert.Equal(t, v.Key, again.Key)
	}
	at, err := st.NodesAtLocation(ctx, "uri", uri)
	require.NoError(t, err)
	require.Len(t, at, 1)
	assert.Equal(t, v.Key, at[0].Key)

	model := "s3://" + tk + "-models/m/model.tar.gz"
	a, created, err := st.RecordLocation(ctx, "token:alice", store.LocationRecord{URI: model, Entity: store.LocationArtifact, Type: "Model"})
	require.NoError(t, err)
	assert.True(t, created)
	assert.Equal(t, store.ArtifactKey(model), a.Key)
	assert.Equal(t, "model.tar.gz", a.Name)

	_, _, err = st.RecordLocation(ctx, "token:alice", store.LocationRecord{URI: "no-scheme", Entity: store.LocationArtifact, Type: "Model"})
	assert.Equal(t, apperr.InvalidArgument, apperr.CodeOf(err))
}

// Tags are labels: the audit entries of their changes keep each old value.
func TestRetagNodeKeepsOldValues(t *testing.T) {
	t.Parallel()
	st, _ := neo4jtest.StoreWithOwnAuditChain(t)
	tk := neo4jtest.Token(t)
	ctx := t.Context()
	a, _, err := st.RecordLocation(ctx, "token:alice", store.LocationRecord{URI: "s3://" + tk + "/m", Entity: store.LocationArtifact, Type: "Model"}) // entry 1
	require.NoError(t, err)
	_, err = st.RetagNode(ctx, "token:alice", "arn", a.Key, []store.Tag{{Key: "stage", Value: "dev"}}, nil) // entry 2
	require.NoError(t, err)
	_, err = st.RetagNode(ctx, "token:bob", "arn", a.Key, []store.Tag{{Key: "stage", Value: "prod"}}, nil) // entry 3
	require.NoError(t, err)
	n, err := st.RetagNode(ctx, "token:carol", "arn", a.Key, nil, []string{"stage"}) // entry 4
	require.NoError(t, err)
	assert.Empty(t, n.Tags())

	entries, err := st.AuditEntries(ctx, 1, 4, 4)
	require.NoError(t, err)
	require.Len(t, entries, 4)
	for i, want := range []struct{ old, new *string }{{nil, ptr("dev")}, {ptr("dev"), ptr("prod")}, {ptr("prod"), nil}} {
		e := entries[i+1]
		assert.Equal(t, store.ActionNodeRetag, e.Action)
		require.Len(t, e.Changes, 1, "entry %d", e.Seq)
		assert.Equal(t, "tags.stage", e.Changes[0].Field)
		assert.Equal(t, want.old, e.Changes[0].Old, "entry %d", e.Seq)
		assert.Equal(t, want.new, e.Changes[0].New, "entry %d", e.Seq)
	}

	_, err = st.RetagNode(ctx, "token:alice", "arn", store.ArtifactKey("s3://"+tk+"/none"), nil, []string{"x"})
	assert.Equal(t, apperr.NotFound, apperr.CodeOf(err))

	// Properties too.
	n, err = st.UpdateEntityProperties(ctx, "token:alice", "properties", a.Key, []store.Tag{{Key: "auc", Value: "0.9"}}, nil) // entry 5
	require.NoError(t, err)
	assert.Equal(t, []store.Tag{{Key: "auc", Value: "0.9"}}, n.EntityProperties())
	n, err = st.UpdateEntityProperties(ctx, "token:bob", "properties", a.Key, []store.Tag{{Key: "auc", Value: "0.93"}, {Key: "f1", Value: "0.8"}}, nil) // entry 6
	require.NoError(t, err)
	assert.Equal(t, []store.Tag{{Key: "auc", Value: "0.93"}, {Key: "f1", Value: "0.8"}}, n.EntityProperties())
	entries, err = st.AuditEntries(ctx, 6, 6, 1)
	require.NoError(t, err)
	require.Len(t, entries, 1)
	assert.Equal(t, store.ActionEntityUpdate, entries[0].Action)
	assert.Equal(t, []store.AuditChange{
		{Target: a.Key, Field: "properties.auc", Old: ptr("0.9"), New: ptr("0.93")},
		{Target: a.Key, Field: "properties.f1", New: ptr("0.8")},
	}, entries[0].Changes)
	many := make([]store.Tag, store.MaxEntityProperties)
	for i := range many {
		many[i] = store.Tag{Key: fmt.Sprintf("k%d", i)}
	}
	_, err = st.UpdateEntityProperties(ctx, "token:alice", "properties", a.Key, many, nil)
	assert.Equal(t, apperr.InvalidArgument, apperr.CodeOf(err), "more than the most properties")
}

func ptr(s string) *string { return &s }

// Associations follow the rule of what jobs read and wrote.
func TestAddAssociation(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	tk := neo4jtest.Token(t)
	ctx := t.Context()
	in, _, err := st.RecordLocation(ctx, "token:alice", store.LocationRecord{URI: "s3://" + tk + "/in", Entity: store.LocationDataset, Version: "v", Type: "DataSet"})
	require.NoError(t, err)
	out, _, err := st.RecordLocation(ctx, "token:alice", store.LocationRecord{URI: "s3://" + tk + "/out", Entity: store.LocationArtifact, Type: "Model"})
	require.NoError(t, err)
	var jobs []string
	for _, name := range []string{"prep", "other"} {
		_, err := st.ReportJob(ctx, "token:alice", store.JobReport{Kind: store.KindProcessingJob, Namespace: tk, Name: name, Facts: store.JobFacts{Subtype: "processing"}})
		require.NoError(t, err)
		jobs = append(jobs, store.JobKey(tk, name))
	}
	for i, want := range []bool{true, false} {
		created, err := st.AddAssociation(ctx, "token:alice", store.Association{From: in.Key, To: jobs[0]})
		require.NoError(t, err)
		assert.Equal(t, want, created, "call %d", i)
	}
	created, err := st.AddAssociation(ctx, "token:alice", store.Association{From: jobs[0], To: out.Key})
	require.NoError(t, err)
	assert.True(t, created)
	_, err = st.AddAssociation(ctx, "token:alice", store.Association{From: jobs[1], To: out.Key})
	assert.Equal(t, apperr.Conflict, apperr.CodeOf(err), "an artifact has one producer")
	_, err = st.AddAssociation(ctx, "token:alice", store.Association{From: in.Key, To: out.Key})
	assert.Equal(t, apperr.InvalidArgument, apperr.CodeOf(err))
	_, err = st.AddAssociation(ctx, "token:alice", store.Association{From: in.Key, To: store.JobKey(tk, "none")})
	assert.Equal(t, apperr.NotFound, apperr.CodeOf(err))

	l, err := st.Lineage(ctx, store.LineageQuery{Start: []string{out.Key}, Direction: store.Upstream, MaxDepth: 10})
	require.NoError(t, err)
	assert.Contains(t, l.Edges, store.Edge{From: in.Key, To: jobs[0], Type: store.RelInputTo})
	assert.Contains(t, l.Edges, store.Edge{From: jobs[0], To: out.Key, Type: store.RelProduced})
}
