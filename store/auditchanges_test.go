package store_test

import (
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/internal/neo4jtest"
	"github.com/provgraph/provgraph/store"
)

// The example of an entry with changes in docs/audit.md is what the store computes.
func TestAuditDocChangesExample(t *testing.T) {
	t.Parallel()
	canonical, hash := auditDocExample(t, "canonical form with changes:", "hash with changes:")

	at, err := time.Parse(time.RFC3339Nano, "2026-03-14T09:31:00.5Z")
	require.NoError(t, err)
	run := "run:0123456789abcdef0123456789abcdef"
	running, finished, end := "RUNNING", "FINISHED", "2026-03-14T09:31:00.500000000Z"
	e := store.AuditLogEntry{
		Seq: 2, At: at, Actor: "token:ci", Action: store.ActionRunUpdate,
		Targets: []string{run}, TargetCount: 1, RequestID: "req-2",
		PrevHash: "e670f49d3784406342761c1a7383e0252edededddbd41e2d93a505b0a42b944c",
		Changes: []store.AuditChange{
			{Target: run, Field: "status", Old: &running, New: &finished},
			{Target: run, Field: "endTime", Old: nil, New: &end},
		},
	}
	assert.Equal(t, canonical, string(e.Canonical()))
	assert.Equal(t, hash, e.ComputeHash())

	e.Changes = nil
	assert.NotContains(t, string(e.Canonical()), "changes", "an entry without changes has no changes key")
}

// The changes an entry stores are part of what its hash covers: editing them, removing
// them, or putting changes (even an empty list) on an entry that had none is found by
// verification as HASH_MISMATCH at that entry. The test tampers with a chain of its own.
func TestVerifyFindsEditedChanges(t *testing.T) {
	t.Parallel()
	st, chain := neo4jtest.StoreWithOwnAuditChain(t)
	tk := neo4jtest.Token(t)
	desc := "first"
	m, err := st.CreateRegisteredModel(t.Context(), "token:alice", "changes-"+tk, &desc, nil) // entry 1
	require.NoError(t, err)
	for _, d := range []string{"second", "third"} { // entries 2 and 3
		_, err := st.UpdateRegisteredModel(t.Context(), "token:alice", store.RegisteredModelUpdate{Name: m.Name, Description: &d})
		require.NoError(t, err)
	}
	entries, err := st.AuditEntries(t.Context(), 1, 3, 3)
	require.NoError(t, err)
	require.Len(t, entries, 3)
	assert.Empty(t, entries[0].Changes, "creating records no change")
	require.Len(t, entries[2].Changes, 1)
	assert.Equal(t, "second", *entries[2].Changes[0].Old)
	assert.Equal(t, "third", *entries[2].Changes[0].New)
	v, err := st.VerifyAuditLog(t.Context(), nil, nil)
	require.NoError(t, err)
	require.Nil(t, v.FirstBreak)
	stored := neo4jtest.Exec(t, `MATCH (e:AuditEntry {chain: $chain, seq: 2}) RETURN e.changes AS c`, map[string]any{"chain": chain})
	require.Len(t, stored.Records, 1)
	c, _ := stored.Records[0].Get("c")
	original, _ := c.(string)
	require.Contains(t, original, `"old":"first"`)

	for name, tamper := range map[string]struct {
		seq   int64
		value any
	}{
		"an old value edited":            {2, regexp.MustCompile(`"old":"first"`).ReplaceAllString(original, `"old":"forged"`)},
		"not a list of changes":          {2, "garbage"},
		"changes removed":                {2, nil},
		"an empty list on a plain entry": {1, "[]"},
		"changes added to a plain entry": {1, original},
	} {
		neo4jtest.Exec(t, `MATCH (e:AuditEntry {chain: $chain, seq: $seq}) SET e.changes = $c`, map[string]any{"chain": chain, "seq": tamper.seq, "c": tamper.value})
		v, err := st.VerifyAuditLog(t.Context(), nil, nil)
		require.NoError(t, err)
		if assert.NotNil(t, v.FirstBreak, name) {
			assert.Equal(t, tamper.seq, v.FirstBreak.Seq, name)
			assert.Equal(t, store.AuditBreakHash, v.FirstBreak.Reason, name)
		}
		// Put it back: the chain verifies again.
		var restore any
		if tamper.seq == 2 {
			restore = original
		}
		neo4jtest.Exec(t, `MATCH (e:AuditEntry {chain: $chain, seq: $seq}) SET e.changes = $c`, map[string]any{"chain": chain, "seq": tamper.seq, "c": restore})
		v, err = st.VerifyAuditLog(t.Context(), nil, nil)
		require.NoError(t, err)
		require.Nil(t, v.FirstBreak, "restored after %s", name)
	}
}

// Concurrent changes of one field each record the value the one before left: in the
// order of the chain, every change's old value is the previous change's new one.
func TestConcurrentChangesChainTheirValues(t *testing.T) {
	t.Parallel()
	st, _ := neo4jtest.StoreWithOwnAuditChain(t)
	tk := neo4jtest.Token(t)
	exp, err := st.CreateExperiment(t.Context(), "token:alice", store.ExperimentInput{Name: "concurrent-" + tk})
	require.NoError(t, err)
	run, err := st.StartRun(t.Context(), "token:alice", store.RunInput{Experiment: exp.Key})
	require.NoError(t, err)
	const writers, writes = 6, 5
	concurrently(t, writers, writes, func(w, i int) error {
		name := fmt.Sprintf("w%d-%d", w, i)
		_, err := st.UpdateRun(t.Context(), "token:alice", store.RunUpdate{Run: run.Key, Name: &name})
		return err
	})
	entries, err := st.AuditEntries(t.Context(), 1, 100, 100)
	require.NoError(t, err)
	require.Len(t, entries, 2+writers*writes)
	previous := run.Name
	for _, e := range entries[2:] {
		require.Len(t, e.Changes, 1, "entry %d", e.Seq)
		c := e.Changes[0]
		assert.Equal(t, "name", c.Field)
		assert.Equal(t, previous, *c.Old, "entry %d", e.Seq)
		previous = *c.New
	}
}
