package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/internal/neo4jtest"
	"github.com/provgraph/provgraph/store"
)

// provgraph audit verify checks a chain, and at an entry edited in Neo4j reports the
// break there and exits 3. The test tampers with a chain of its own.
func TestAuditVerifyCommand(t *testing.T) {
	t.Parallel()
	st, chain := neo4jtest.StoreWithOwnAuditChain(t)
	cfg := neo4jtest.Config(t)
	tk := neo4jtest.Token(t)
	for i := range 4 {
		_, err := st.CreateExperiment(t.Context(), "token:cli", store.ExperimentInput{Name: fmt.Sprintf("cli-%s-%d", tk, i)})
		require.NoError(t, err)
	}
	_, err := st.SequenceAudit(t.Context()) // what provgraph serve's sequencer does
	require.NoError(t, err)
	verify := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := run(append([]string{"audit", "verify", "--chain", chain,
			"--neo4j-uri", cfg.URI, "--neo4j-user", cfg.User, "--neo4j-password", cfg.Password, "--neo4j-database", cfg.Database}, args...), &out, &errOut)
		return code, out.String(), errOut.String()
	}

	code, out, errOut := verify()
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, "verified 4 entries (1 to 4); the log's head is at 4\n"+
		"checkpoint signatures were not checked: give --key to check them\n", out)
	code, out, errOut = verify("--key", neo4jtest.AuditVerifierKey)
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, "verified 4 entries (1 to 4); the log's head is at 4\n", out)
	code, out, _ = verify("--key", otherVerifierKey(t))
	assert.Equal(t, exitAuditBreak, code)
	assert.Contains(t, out, "BROKEN at entry 4: CHECKPOINT_SIGNATURE", "signed by another key")

	neo4jtest.Exec(t, `MATCH (e:AuditEntry {chain: $chain, seq: 2}) SET e.actor = 'token:mallory'`, map[string]any{"chain": chain})
	code, out, errOut = verify()
	assert.Equal(t, exitAuditBreak, code, errOut)
	assert.Contains(t, out, "BROKEN at entry 2: HASH_MISMATCH")
	assert.Contains(t, out, "1 entries verified before it")

	code, out, errOut = verify("--from", "3", "--to", "4")
	assert.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "verified 2 entries (3 to 4); the log's head is at 4\n")

	code, _, errOut = verify("--from", "0")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "from")

	code, _, errOut = verify("--from", "4", "--to", "3")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "to: must not be less than from (4), got 3")
}

// otherVerifierKey is the verifier key of a new key, not the one tests sign with.
func otherVerifierKey(t *testing.T) string {
	_, vkey, err := store.GenerateAuditKey("someone-else")
	require.NoError(t, err)
	return vkey
}

// An auditor keeps a checkpoint; later, provgraph audit prove gives the consistency
// proof to the latest, and provgraph audit verify --since --proof checks it offline:
// consistent while the log only grew, NOT CONSISTENT once an old entry was rewritten
// (its leaf changed, and the tree with it) and the log re-signed.
func TestAuditVerifySinceOffline(t *testing.T) {
	t.Parallel()
	st, chain := neo4jtest.StoreWithOwnAuditChain(t)
	cfg := neo4jtest.Config(t)
	write := func(n int) {
		for i := range n {
			_, err := st.CreateExperiment(t.Context(), "token:cli", store.ExperimentInput{Name: fmt.Sprintf("since-%s-%d", neo4jtest.Token(t), i)})
			require.NoError(t, err)
		}
		_, err := st.SequenceAudit(t.Context())
		require.NoError(t, err)
	}
	dir := t.TempDir()
	cli := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := run(append(args, "--neo4j-uri", cfg.URI, "--neo4j-user", cfg.User, "--neo4j-password", cfg.Password,
			"--neo4j-database", cfg.Database, "--chain", chain), &out, &errOut)
		return code, out.String(), errOut.String()
	}
	write(3)
	kept := filepath.Join(dir, "kept.checkpoint")
	code, _, errOut := cli("audit", "checkpoint", "--out", kept)
	require.Equal(t, 0, code, errOut)
	write(4)
	proof := filepath.Join(dir, "proof.json")
	code, _, errOut = cli("audit", "prove", "--since", kept, "--out", proof)
	require.Equal(t, 0, code, errOut)

	offline := func(key string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := run([]string{"audit", "verify", "--since", kept, "--proof", proof, "--key", key,
			"--neo4j-uri", "bolt://127.0.0.1:1"}, &out, &errOut) // no database: it must not be asked
		return code, out.String(), errOut.String()
	}
	code, out, errOut := offline(neo4jtest.AuditVerifierKey)
	require.Equal(t, 0, code, errOut)
	assert.Regexp(t, `^consistent: the log's first 3 entries \(checkpoint of .*\) are unchanged in the log of 7 entries`, out)
	code, _, errOut = offline(otherVerifierKey(t))
	assert.Equal(t, exitAuditBreak, code)
	assert.Contains(t, errOut, "does not verify", "signed by another key")

	// Rewrite entry 2 and everything after it as a forger with the key would: new
	// hashes, a new tree, a new signed checkpoint. The kept checkpoint exposes it.
	neo4jtest.Exec(t, `MATCH (e:AuditEntry {chain: $chain, seq: 2}) SET e.actor = 'token:mallory'`, map[string]any{"chain": chain})
	neo4jtest.Exec(t, `MATCH (e:AuditEntry {chain: $chain}) REMOVE e.tree`, map[string]any{"chain": chain})
	neo4jtest.Exec(t, `MATCH (h:AuditHead {chain: $chain}) SET h.treeSize = 0`, map[string]any{"chain": chain})
	neo4jtest.Exec(t, `MATCH (c:AuditCheckpoint {chain: $chain}) DELETE c`, map[string]any{"chain": chain})
	write(1)
	code, _, errOut = cli("audit", "prove", "--since", kept, "--out", proof)
	require.Equal(t, 0, code, errOut)
	code, _, errOut = offline(neo4jtest.AuditVerifierKey)
	assert.Equal(t, exitAuditBreak, code)
	assert.Contains(t, errOut, "NOT CONSISTENT", "the kept checkpoint exposes the rewrite")
}

// provgraph audit keygen makes a key file (0600) and its .pub, and refuses to replace one.
func TestAuditKeygen(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "audit.key")
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run([]string{"audit", "keygen", "--out", path}, &out, &errOut), errOut.String())
	info, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	skey, err := os.ReadFile(path)
	require.NoError(t, err)
	key, err := store.ParseAuditKey(string(skey))
	require.NoError(t, err)
	assert.Equal(t, key.Verifier+"\n", out.String())
	pub, err := os.ReadFile(path + ".pub")
	require.NoError(t, err)
	assert.Equal(t, key.Verifier+"\n", string(pub))
	errOut.Reset()
	assert.Equal(t, 1, run([]string{"audit", "keygen", "--out", path}, &out, &errOut))
	assert.Contains(t, errOut.String(), "exists")
}
