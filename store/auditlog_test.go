package store_test

import (
	"fmt"
	"os"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/actor"
	"github.com/provgraph/provgraph/apperr"
	"github.com/provgraph/provgraph/internal/neo4jtest"
	"github.com/provgraph/provgraph/store"
)

// Concurrent writers take no shared lock; the sequencer numbers their 8 × 20 writes'
// entries 1..160 without gaps, each linked to the one before, and they verify.
func TestConcurrentWritersMakeAGapFreeChain(t *testing.T) {
	t.Parallel()
	st, _ := neo4jtest.StoreWithOwnAuditChain(t)
	tk := neo4jtest.Token(t)
	const writers, writes = 8, 20
	concurrently(t, writers, writes, func(w, i int) error {
		digest := fmt.Sprintf("sha256:%d-%d", w, i)
		_, _, err := st.RegisterDatasetVersion(t.Context(), "token:w"+fmt.Sprint(w), store.DatasetVersionInput{
			URI: fmt.Sprintf("s3://audit-%s/w%d", tk, w), Digest: &digest,
		})
		return err
	})

	entries, err := st.AuditEntries(t.Context(), 1, 1000, 1000)
	require.NoError(t, err)
	require.Len(t, entries, writers*writes)
	perActor := map[string]int{}
	for i, e := range entries {
		assert.Equal(t, int64(i+1), e.Seq)
		assert.Equal(t, store.ActionDatasetVersionRegister, e.Action)
		if i > 0 {
			assert.Equal(t, entries[i-1].Hash, e.PrevHash, "entry %d links to entry %d", e.Seq, e.Seq-1)
		}
		perActor[e.Actor]++
	}
	assert.Equal(t, store.GenesisHash, entries[0].PrevHash)
	assert.Len(t, perActor, writers)
	for a, n := range perActor {
		assert.Equal(t, writes, n, a)
	}
	v, err := st.VerifyAuditLog(t.Context(), nil, nil)
	require.NoError(t, err)
	assert.Nil(t, v.FirstBreak)
	assert.Equal(t, int64(writers*writes), v.Checked)
	assert.Equal(t, int64(writers*writes), v.Head)
}

// An entry records actor, action, the keys written, the request id and a server time;
// a write that is refused appends nothing.
func TestAuditEntryRecordsTheWrite(t *testing.T) {
	t.Parallel()
	st, _ := neo4jtest.StoreWithOwnAuditChain(t)
	tk := neo4jtest.Token(t)
	ctx := actor.WithRequest(t.Context(), "req-"+tk)
	before := time.Now()
	digest := "sha256:abc"
	v, _, err := st.RegisterDatasetVersion(ctx, "token:alice", store.DatasetVersionInput{URI: "s3://audit-" + tk + "/d", Digest: &digest})
	require.NoError(t, err)

	other := "sha256:other"
	_, _, err = st.RegisterDatasetVersion(ctx, "token:alice", store.DatasetVersionInput{URI: "s3://audit-" + tk + "/d", Digest: &digest, VersionID: &other})
	require.NoError(t, err, "a second version of the dataset")
	_, err = st.CreateExperiment(ctx, "token:alice", store.ExperimentInput{Name: ""})
	require.Error(t, err, "refused before any transaction")
	_, err = st.CreateExperiment(ctx, "token:alice", store.ExperimentInput{Name: "audit-" + tk})
	require.NoError(t, err)
	_, err = st.CreateExperiment(ctx, "token:bob", store.ExperimentInput{Name: "audit-" + tk})
	require.Equal(t, apperr.Conflict, apperr.CodeOf(err), "refused inside its transaction: %v", err)

	entries, err := st.AuditEntries(t.Context(), 1, 100, 100)
	require.NoError(t, err)
	require.Len(t, entries, 3, "the refused writes appended nothing")
	e := entries[0]
	assert.Equal(t, "token:alice", e.Actor)
	assert.Equal(t, store.ActionDatasetVersionRegister, e.Action)
	assert.Equal(t, []string{v.Key, store.DatasetKey("s3://audit-"+tk, "d")}, e.Targets)
	assert.Equal(t, int64(2), e.TargetCount)
	assert.Equal(t, "req-"+tk, e.RequestID)
	assert.WithinDuration(t, before, e.At, time.Minute)
	assert.Equal(t, e.ComputeHash(), e.Hash)
	assert.Equal(t, store.ActionExperimentCreate, entries[2].Action)
}

// Editing an entry in Neo4j breaks the chain at that entry, and verification finds it;
// so does deleting one. The test works on a chain of its own.
func TestVerifyFindsTheFirstBreak(t *testing.T) {
	t.Parallel()
	st, chain := neo4jtest.StoreWithOwnAuditChain(t)
	tk := neo4jtest.Token(t)
	for i := range 5 {
		digest := fmt.Sprintf("sha256:%d", i)
		_, _, err := st.RegisterDatasetVersion(t.Context(), "token:alice", store.DatasetVersionInput{URI: "s3://tamper-" + tk + "/d", Digest: &digest})
		require.NoError(t, err)
	}
	v, err := st.VerifyAuditLog(t.Context(), nil, nil)
	require.NoError(t, err)
	require.Nil(t, v.FirstBreak)
	require.Equal(t, int64(5), v.Checked)

	neo4jtest.Exec(t, `MATCH (e:AuditEntry {chain: $chain, seq: 3}) SET e.actor = 'token:mallory'`, map[string]any{"chain": chain})
	v, err = st.VerifyAuditLog(t.Context(), nil, nil)
	require.NoError(t, err)
	require.NotNil(t, v.FirstBreak)
	assert.Equal(t, int64(3), v.FirstBreak.Seq)
	assert.Equal(t, store.AuditBreakHash, v.FirstBreak.Reason)
	assert.Equal(t, int64(2), v.Checked)

	from, to := int64(4), int64(5)
	v, err = st.VerifyAuditLog(t.Context(), &from, &to)
	require.NoError(t, err)
	assert.Nil(t, v.FirstBreak, "a range after the break verifies")

	// Rewriting the entry's hash too moves the break to the next entry's link.
	neo4jtest.Exec(t, `MATCH (e:AuditEntry {chain: $chain, seq: 3}) SET e.hash = $hash`, map[string]any{"chain": chain, "hash": GenesisLike("f")})
	v, err = st.VerifyAuditLog(t.Context(), nil, nil)
	require.NoError(t, err)
	require.NotNil(t, v.FirstBreak)
	assert.Equal(t, int64(3), v.FirstBreak.Seq, "its hash is still not its content's")

	neo4jtest.Exec(t, `MATCH (e:AuditEntry {chain: $chain, seq: 2}) DELETE e`, map[string]any{"chain": chain})
	v, err = st.VerifyAuditLog(t.Context(), nil, nil)
	require.NoError(t, err)
	require.NotNil(t, v.FirstBreak)
	assert.Equal(t, int64(2), v.FirstBreak.Seq)
	assert.Equal(t, store.AuditBreakMissing, v.FirstBreak.Reason)
}

// concurrently runs write(w, i) for i below writes in each of writers goroutines w
// and requires every call to succeed.
func concurrently(t *testing.T, writers, writes int, write func(w, i int) error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, writers*writes)
	for w := range writers {
		wg.Go(func() {
			for i := range writes {
				errs <- write(w, i)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

// GenesisLike is a 64-digit hex string of one repeated digit.
func GenesisLike(digit string) string {
	out := ""
	for range 64 {
		out += digit
	}
	return out
}

// Verification refuses ranges it cannot check in one call.
func TestVerifyAuditLogRange(t *testing.T) {
	t.Parallel()
	st, _ := neo4jtest.StoreWithOwnAuditChain(t)
	zero, one, big := int64(0), int64(1), int64(store.MaxAuditVerifyRange+1)
	_, err := st.VerifyAuditLog(t.Context(), &zero, nil)
	assert.Equal(t, apperr.InvalidArgument, apperr.CodeOf(err))
	_, err = st.VerifyAuditLog(t.Context(), &one, &big)
	assert.Equal(t, apperr.InvalidArgument, apperr.CodeOf(err))
	v, err := st.VerifyAuditLog(t.Context(), nil, nil)
	require.NoError(t, err, "an empty chain")
	assert.Nil(t, v.FirstBreak)
	assert.Equal(t, int64(0), v.Checked)
}

// The example in docs/audit.md is what the store computes, so an auditor can follow it.
func TestAuditDocExample(t *testing.T) {
	t.Parallel()
	canonical, hash := auditDocExample(t, "canonical form:", "hash:")

	at, err := time.Parse(time.RFC3339Nano, "2026-03-14T09:30:00.120000000Z")
	require.NoError(t, err)
	e := store.AuditLogEntry{
		Seq: 1, At: at, Actor: "token:ci", Action: store.ActionExperimentCreate,
		Targets: []string{"experiment:12"}, TargetCount: 1, RequestID: "req-1", PrevHash: store.GenesisHash,
	}
	assert.Equal(t, canonical, string(e.Canonical()))
	assert.Equal(t, hash, e.ComputeHash())
}

// auditDocExample returns the canonical form that follows canonicalLabel in
// docs/audit.md (a json block) and the hash on the line that starts with hashLabel.
func auditDocExample(t *testing.T, canonicalLabel, hashLabel string) (canonical, hash string) {
	t.Helper()
	doc, err := os.ReadFile("../docs/audit.md")
	require.NoError(t, err)
	c := regexp.MustCompile("(?s)" + regexp.QuoteMeta(canonicalLabel) + "\\s*```json\\n(.*?)\\n```").FindSubmatch(doc)
	require.NotNil(t, c, "docs/audit.md shows a canonical form after %q", canonicalLabel)
	h := regexp.MustCompile("(?m)^" + regexp.QuoteMeta(hashLabel) + " ([0-9a-f]{64})$").FindSubmatch(doc)
	require.NotNil(t, h, "docs/audit.md shows a hash after %q", hashLabel)
	return string(c[1]), string(h[1])
}
