package main

import (
	"bytes"
	"fmt"
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
	verify := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := run(append([]string{"audit", "verify", "--chain", chain,
			"--neo4j-uri", cfg.URI, "--neo4j-user", cfg.User, "--neo4j-password", cfg.Password, "--neo4j-database", cfg.Database}, args...), &out, &errOut)
		return code, out.String(), errOut.String()
	}

	code, out, errOut := verify()
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, "verified 4 entries (1 to 4); the chain's head is at 4\n", out)

	neo4jtest.Exec(t, `MATCH (e:AuditEntry {chain: $chain, seq: 2}) SET e.actor = 'token:mallory'`, map[string]any{"chain": chain})
	code, out, errOut = verify()
	assert.Equal(t, exitAuditBreak, code, errOut)
	assert.Contains(t, out, "BROKEN at entry 2: HASH_MISMATCH")
	assert.Contains(t, out, "1 entries verified before it")

	code, out, errOut = verify("--from", "3", "--to", "4")
	assert.Equal(t, 0, code, errOut)
	assert.Equal(t, "verified 2 entries (3 to 4); the chain's head is at 4\n", out)

	code, _, errOut = verify("--from", "0")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "from")
}
