package store_test

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/provgraph/provgraph/internal/neo4jtest"
	"github.com/provgraph/provgraph/store"
)

// registerN records n dataset versions through st, one write (one entry) each.
func registerN(t *testing.T, st *store.Store, prefix string, n int) {
	t.Helper()
	for i := range n {
		digest := fmt.Sprintf("sha256:%s-%d", prefix, i)
		_, _, err := st.RegisterDatasetVersion(t.Context(), "token:alice", store.DatasetVersionInput{URI: "s3://tree-" + prefix + "/d", Digest: &digest})
		require.NoError(t, err)
	}
}

// The latest checkpoint is signed by the store's key and covers every write before it;
// every entry has an inclusion proof that tlog checks against it, and a later
// checkpoint has a consistency proof from any earlier size.
func TestAuditCheckpointsAndProofs(t *testing.T) {
	t.Parallel()
	st, chain := neo4jtest.StoreWithOwnAuditChain(t)
	tk := neo4jtest.Token(t)
	registerN(t, st, tk, 7)
	c1, err := st.LatestAuditCheckpoint(t.Context())
	require.NoError(t, err)
	require.NotNil(t, c1)
	opened, err := store.OpenAuditCheckpoint([]byte(c1.Note), neo4jtest.AuditVerifierKey)
	require.NoError(t, err, "signed by the test key")
	assert.Equal(t, int64(7), opened.Size)
	assert.Equal(t, c1.Root, opened.Root)
	assert.Equal(t, "provgraph/audit/"+chain, opened.Origin)

	entries, err := st.AuditEntries(t.Context(), 1, 7, 10)
	require.NoError(t, err)
	require.Len(t, entries, 7)
	for _, e := range entries {
		p, err := st.AuditInclusionProofOf(t.Context(), e.Seq, nil)
		require.NoError(t, err)
		assert.Equal(t, tlog.RecordHash(e.Canonical()), p.LeafHash, "the leaf is the entry's canonical form")
		require.NoError(t, tlog.CheckRecord(p.Proof, p.Checkpoint.Size, p.Checkpoint.Root, e.Seq-1, p.LeafHash), "entry %d", e.Seq)
	}
	_, err = st.AuditInclusionProofOf(t.Context(), 8, &c1.Size)
	require.Error(t, err, "entry 8 is not in a tree of 7")

	registerN(t, st, tk+"b", 5)
	c2, err := st.LatestAuditCheckpoint(t.Context())
	require.NoError(t, err)
	require.Equal(t, int64(12), c2.Size)
	// Many entries proven at once, against one checkpoint, as one at a time.
	all := []int64{12, 1, 7, 2, 11, 3, 4, 5, 6, 8, 9, 10}
	_, err = st.AuditInclusionProofsOf(t.Context(), all, &c1.Size)
	require.Error(t, err, "entries 8 to 12 are not in the tree of 7")
	proofs, err := st.AuditInclusionProofsOf(t.Context(), all, nil)
	require.NoError(t, err)
	require.Len(t, proofs, len(all))
	for i, p := range proofs {
		one, err := st.AuditInclusionProofOf(t.Context(), all[i], nil)
		require.NoError(t, err)
		assert.Equal(t, one, p, "entry %d", all[i])
		require.NoError(t, tlog.CheckRecord(p.Proof, c2.Size, c2.Root, all[i]-1, p.LeafHash), "entry %d", all[i])
	}
	for from := int64(1); from <= 12; from++ {
		p, err := st.AuditConsistencyProofOf(t.Context(), from, nil)
		require.NoError(t, err)
		require.NoError(t, tlog.CheckTree(p.Proof, c2.Size, c2.Root, from, p.FromRoot), "from %d", from)
		if from == 7 {
			assert.Equal(t, c1.Root, p.FromRoot, "the tree of 7 is the one the first checkpoint signed")
		}
	}
	p, err := st.AuditConsistencyProofOf(t.Context(), 7, &c1.Size)
	require.NoError(t, err, "a proof to an earlier checkpoint")
	assert.Equal(t, c1.Size, p.Checkpoint.Size)
	_, err = st.AuditConsistencyProofOf(t.Context(), 13, nil)
	require.Error(t, err, "from beyond the tree")
}

// Changing any stored part of the log is found by verification: an entry, the leaf
// hash or a tree hash stored with it, a checkpoint's signed note or its stored root.
func TestVerifyFindsTamperedTree(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		cypher string
		seq    int64
		reason string
	}{
		{"entry", `MATCH (e:AuditEntry {chain: $chain, seq: 3}) SET e.action = 'run.start'`, 3, store.AuditBreakHash},
		{"leaf hash", `MATCH (e:AuditEntry {chain: $chain, seq: 3}) SET e.tree = $junk + e.tree[32..]`, 3, store.AuditBreakLeafHash},
		// Entry 4 (record 3) completes subtrees of levels 1 and 2: its tree bytes hold three hashes.
		{"tree node", `MATCH (e:AuditEntry {chain: $chain, seq: 4}) SET e.tree = e.tree[0..64] + $junk`, 4, store.AuditBreakTreeHash},
		{"checkpoint note", `MATCH (c:AuditCheckpoint {chain: $chain, size: 5}) SET c.note = replace(c.note, '\n5\n', '\n6\n')`, 5, store.AuditBreakSignature},
		{"checkpoint root", `MATCH (c:AuditCheckpoint {chain: $chain, size: 5}) SET c.root = $junkRoot`, 5, store.AuditBreakCheckpoint},
		{"checkpoint beyond the log", `CREATE (:AuditCheckpoint {chain: $chain, size: 9, root: $junkRoot, note: 'x'})`, 9, store.AuditBreakCheckpoint},
	}
	junk := make([]byte, 32)
	for i := range junk {
		junk[i] = byte(i)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			st, chain := neo4jtest.StoreWithOwnAuditChain(t)
			registerN(t, st, neo4jtest.Token(t), 5)
			_, err := st.LatestAuditCheckpoint(t.Context())
			require.NoError(t, err)
			v, err := st.VerifyAuditLog(t.Context(), nil, nil)
			require.NoError(t, err)
			require.Nil(t, v.FirstBreak, "untouched, it verifies")

			neo4jtest.Exec(t, c.cypher, map[string]any{"chain": chain, "junk": junk, "junkRoot": tlog.Hash{1}.String()})
			v, err = st.VerifyAuditLog(t.Context(), nil, nil)
			require.NoError(t, err)
			require.NotNil(t, v.FirstBreak)
			assert.Equal(t, c.seq, v.FirstBreak.Seq)
			assert.Equal(t, c.reason, v.FirstBreak.Reason, "%+v", v.FirstBreak)
			// provgraph audit verify's pass over a span finds it too.
			v, err = st.VerifyAuditSpan(t.Context(), 1, 5)
			require.NoError(t, err)
			require.NotNil(t, v.FirstBreak, "VerifyAuditSpan")
			assert.Equal(t, c.seq, v.FirstBreak.Seq)
			assert.Equal(t, c.reason, v.FirstBreak.Reason, "%+v", v.FirstBreak)
		})
	}
}

// Two stores of one chain (two replicas) run the sequencer side by side while both
// take writes: one holds the lease at a time, every write's entry is sequenced once,
// the log verifies, and when the holder stops, the other takes over.
func TestTwoSequencersShareOneLog(t *testing.T) {
	t.Parallel()
	a, chain := neo4jtest.StoreWithOwnAuditChain(t)
	b := neo4jtest.StoreOnAuditChain(t, chain)
	ctxA, stopA := context.WithCancel(t.Context())
	ctxB, stopB := context.WithCancel(t.Context())
	defer stopB()
	var running sync.WaitGroup
	running.Go(func() { _ = a.RunAuditSequencer(ctxA) })
	running.Go(func() { _ = b.RunAuditSequencer(ctxB) })
	tk := neo4jtest.Token(t)
	var writers sync.WaitGroup
	for w, st := range []*store.Store{a, b, a, b} {
		writers.Go(func() { registerN(t, st, fmt.Sprintf("%s-%d", tk, w), 15) })
	}
	writers.Wait()
	stopA()
	registerN(t, b, tk+"-after", 5)
	entries, err := b.AuditEntries(t.Context(), 1, 1000, 1000)
	require.NoError(t, err)
	require.Len(t, entries, 65, "each write once")
	seen := map[string]bool{}
	for i, e := range entries {
		require.Equal(t, int64(i+1), e.Seq)
		require.False(t, seen[e.Targets[0]], "entry of %s twice", e.Targets[0])
		seen[e.Targets[0]] = true
	}
	c, err := b.LatestAuditCheckpoint(t.Context())
	require.NoError(t, err)
	assert.Equal(t, int64(65), c.Size)
	v, err := b.VerifyAuditLog(t.Context(), nil, nil)
	require.NoError(t, err)
	assert.Nil(t, v.FirstBreak)
	stopB()
	running.Wait()
}

// A sequencer keeps the tree's frontier between its transactions and reuses it only
// while the head is where it left it: sequencing in turns by one process, then another,
// then the first again (whose frontier is stale by then) makes a log whose tree and
// checkpoints verify.
func TestSequencerReusesItsTreeOnlyWhileItIsTheHead(t *testing.T) {
	t.Parallel()
	a, chain := neo4jtest.StoreWithOwnAuditChain(t)
	b := neo4jtest.StoreOnAuditChain(t, chain)
	tk := neo4jtest.Token(t)
	for i, st := range []*store.Store{a, a, b, a, a} {
		registerN(t, st, fmt.Sprintf("%s-%d", tk, i), 3+i)
		did, err := st.SequenceAudit(t.Context())
		require.NoError(t, err)
		require.True(t, did, "turn %d sequenced", i)
	}
	c, err := a.LatestAuditCheckpoint(t.Context())
	require.NoError(t, err)
	assert.Equal(t, int64(3+4+5+6+7), c.Size)
	v, err := b.VerifyAuditLog(t.Context(), nil, nil)
	require.NoError(t, err)
	assert.Nil(t, v.FirstBreak, "chain, tree and checkpoints verify")
	assert.Equal(t, int64(25), v.Checked)
}

// A log written before the tree existed — entries chained by hash, with no tree
// hashes — becomes the tree's first leaves unchanged, and entries after it follow.
func TestHashChainedEntriesBecomeTheFirstLeaves(t *testing.T) {
	t.Parallel()
	st, chain := neo4jtest.StoreWithOwnAuditChain(t)
	prev := store.GenesisHash
	var rows []map[string]any
	at := time.Date(2026, 3, 14, 9, 30, 0, 0, time.UTC)
	for seq := int64(1); seq <= 3; seq++ {
		e := store.AuditLogEntry{Seq: seq, At: at, Actor: "token:ci", Action: store.ActionExperimentCreate,
			Targets: []string{fmt.Sprintf("experiment:%d", seq)}, TargetCount: 1, PrevHash: prev}
		e.Hash = e.ComputeHash()
		rows = append(rows, map[string]any{"seq": e.Seq, "at": e.At, "actor": e.Actor, "action": e.Action,
			"targets": e.Targets, "targetCount": e.TargetCount, "requestId": "", "prevHash": e.PrevHash, "hash": e.Hash})
		prev = e.Hash
	}
	neo4jtest.Exec(t, `UNWIND $rows AS e
CREATE (:AuditEntry {chain: $chain, seq: e.seq, at: e.at, actor: e.actor, action: e.action, targets: e.targets,
  targetCount: e.targetCount, requestId: e.requestId, prevHash: e.prevHash, hash: e.hash})`, map[string]any{"chain": chain, "rows": rows})
	neo4jtest.Exec(t, `CREATE (:AuditHead {chain: $chain, seq: 3, hash: $hash})`, map[string]any{"chain": chain, "hash": prev})

	registerN(t, st, neo4jtest.Token(t), 2)
	entries, err := st.AuditEntries(t.Context(), 1, 10, 10)
	require.NoError(t, err)
	require.Len(t, entries, 5)
	assert.Equal(t, prev, entries[3].PrevHash, "the new entries extend the old chain")
	c, err := st.LatestAuditCheckpoint(t.Context())
	require.NoError(t, err)
	assert.Equal(t, int64(5), c.Size)
	p, err := st.AuditInclusionProofOf(t.Context(), 1, nil)
	require.NoError(t, err)
	require.NoError(t, tlog.CheckRecord(p.Proof, c.Size, c.Root, 0, tlog.RecordHash(entries[0].Canonical())))
	v, err := st.VerifyAuditLog(t.Context(), nil, nil)
	require.NoError(t, err)
	assert.Nil(t, v.FirstBreak)
	assert.Equal(t, int64(5), v.Checked)
}

// The signed checkpoint docs/audit.md shows verifies with the verifier key it names.
func TestAuditDocCheckpointExample(t *testing.T) {
	doc, err := os.ReadFile("../docs/audit.md")
	require.NoError(t, err)
	m := regexp.MustCompile("(?s)verifier\\s+key `([^`]+)`\\):\\s+```\\n(.*?)```").FindStringSubmatch(string(doc))
	require.NotNil(t, m, "docs/audit.md shows a signed checkpoint and its verifier key")
	c, err := store.OpenAuditCheckpoint([]byte(m[2]), m[1])
	require.NoError(t, err)
	assert.Equal(t, int64(3), c.Size)
	assert.Equal(t, "provgraph/audit/provgraph", c.Origin)
}

// A checkpoint larger than the log is found when nothing is left to check: on an empty
// log, and from the entry after the head.
func TestVerifyFindsACheckpointBeyondAShortLog(t *testing.T) {
	t.Parallel()
	st, chain := neo4jtest.StoreWithOwnAuditChain(t)
	v, err := st.VerifyAuditLog(t.Context(), nil, nil)
	require.NoError(t, err)
	require.Nil(t, v.FirstBreak, "an empty log verifies")
	params := map[string]any{"chain": chain, "junkRoot": tlog.Hash{1}.String()}
	neo4jtest.Exec(t, `CREATE (:`+store.LabelAuditCheckpoint+` {chain: $chain, size: 3, root: $junkRoot, note: 'x'})`, params)
	v, err = st.VerifyAuditLog(t.Context(), nil, nil)
	require.NoError(t, err)
	require.NotNil(t, v.FirstBreak, "a checkpoint of 3 entries on an empty log")
	assert.Equal(t, store.AuditBreakCheckpoint, v.FirstBreak.Reason)
	assert.Equal(t, int64(3), v.FirstBreak.Seq)

	registerN(t, st, neo4jtest.Token(t), 2)
	from := int64(3)
	v, err = st.VerifyAuditLog(t.Context(), &from, nil)
	require.NoError(t, err)
	assert.Equal(t, int64(2), v.Head)
	assert.Equal(t, int64(0), v.Checked)
	require.NotNil(t, v.FirstBreak, "from the entry after the head")
	assert.Equal(t, store.AuditBreakCheckpoint, v.FirstBreak.Reason)
}

// Verification reads a long log in pages, several at once, and checks them in seq
// order: a log of more than two pages verifies whole, a checkpoint in the last page is
// checked, and an entry missing in the middle of a later page is found where it is
// missing.
func TestVerifyReadsPagesInOrder(t *testing.T) {
	t.Parallel()
	st, chain := neo4jtest.StoreWithOwnAuditChain(t)
	const n = 12_345 // three pages of 5,000, the last one short
	require.NoError(t, st.SeedAuditLog(t.Context(), n, nil))
	v, err := st.VerifyAuditSpan(t.Context(), 1, n)
	require.NoError(t, err)
	require.Nil(t, v.FirstBreak)
	assert.Equal(t, int64(n), v.Checked)
	assert.Equal(t, int64(n), v.To)

	// The seed's one checkpoint is of the whole log, in the third page.
	params := map[string]any{"chain": chain, "size": n, "junkRoot": tlog.Hash{1}.String()}
	root := neo4jtest.Exec(t, `MATCH (c:`+store.LabelAuditCheckpoint+` {chain: $chain, size: $size}) RETURN c.root AS root`, params).Records
	require.Len(t, root, 1)
	params["root"] = root[0].Values[0]
	neo4jtest.Exec(t, `MATCH (c:`+store.LabelAuditCheckpoint+` {chain: $chain, size: $size}) SET c.root = $junkRoot`, params)
	v, err = st.VerifyAuditSpan(t.Context(), 1, n)
	require.NoError(t, err)
	require.NotNil(t, v.FirstBreak)
	assert.Equal(t, int64(n), v.FirstBreak.Seq, "%+v", v.FirstBreak)
	assert.Equal(t, store.AuditBreakCheckpoint, v.FirstBreak.Reason)
	neo4jtest.Exec(t, `MATCH (c:`+store.LabelAuditCheckpoint+` {chain: $chain, size: $size}) SET c.root = $root`, params)

	// A verification whose context ends part way fails with an error; it never reports
	// the entries it did not read as missing (it did, in about 2 runs of 5).
	for i := range 30 {
		ctx, cancel := context.WithCancel(t.Context())
		stop := time.AfterFunc(time.Duration(2+i)*time.Millisecond, cancel)
		v, err := st.VerifyAuditSpan(ctx, 1, n)
		stop.Stop()
		cancel()
		if err == nil {
			require.Nil(t, v.FirstBreak, "cancelled after %d ms: no error, and a break reported", 2+i)
			require.Equal(t, int64(n), v.Checked, "cancelled after %d ms: no error, yet not all checked", 2+i)
		}
	}

	neo4jtest.Exec(t, `MATCH (e:`+store.LabelAuditEntry+` {chain: $chain, seq: 7777}) DELETE e`, map[string]any{"chain": chain})
	v, err = st.VerifyAuditSpan(t.Context(), 1, n)
	require.NoError(t, err)
	require.NotNil(t, v.FirstBreak)
	assert.Equal(t, int64(7777), v.FirstBreak.Seq, "%+v", v.FirstBreak)
	assert.Equal(t, store.AuditBreakMissing, v.FirstBreak.Reason)
	assert.Equal(t, int64(7776), v.Checked)
}
