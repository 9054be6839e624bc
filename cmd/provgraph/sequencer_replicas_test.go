package main

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/auth"
	"github.com/provgraph/provgraph/internal/authtest"
	"github.com/provgraph/provgraph/internal/neo4jtest"
	"github.com/provgraph/provgraph/store"
)

// Three replicas record into one audit log. Clients write through all three while the
// replica holding the sequencer's lease is killed with SIGKILL mid-stream: another
// takes the lease over, every acknowledged write is sequenced exactly once, the log
// verifies (chain, tree, every checkpoint signed by the key the replicas share), and
// no two checkpoints of one size differ.
func TestReplicasShareOneSequencer(t *testing.T) {
	t.Parallel()
	db := neo4jtest.Config(t)
	writer := authtest.NewToken(t, neo4jtest.Store(t), auth.RoleWriter)
	chain := "test-" + neo4jtest.Token(t)
	replicas := startReplicas(t, 3, db, "--audit-chain", chain)
	client := &http.Client{Timeout: 30 * time.Second, Transport: writer.Transport(&http.Transport{MaxIdleConnsPerHost: 16})}

	const clients, writes = 6, 30
	var (
		mu    sync.Mutex
		acked []string // the experiments whose creation a replica acknowledged
		// unanswered are the names of creations whose answer never came.
		unanswered []string
		done       atomic.Int64
		killed     atomic.Int32 // 1 + the index of the killed replica, 0 before the kill
	)
	t.Run("writers", func(t *testing.T) {
		for c := range clients {
			t.Run(fmt.Sprint(c), func(t *testing.T) {
				t.Parallel()
				rc := &replicaClient{t: t, http: client}
				for i := range writes {
					r := replicas[(c+i)%3]
					if k := killed.Load(); k != 0 && r == replicas[k-1] {
						r = replicas[(c+i+1)%3]
						if r == replicas[k-1] {
							r = replicas[(c+i+2)%3]
						}
					}
					name := fmt.Sprintf("%s-%d-%d", chain, c, i)
					data, err := rc.tryGraphQL(r, `mutation($input: CreateExperimentInput!) { createExperiment(input: $input) { experiment { id } } }`,
						map[string]any{"input": map[string]any{"name": name}})
					mu.Lock()
					if err != nil {
						// Its answer was lost on the way (the killed replica's, or a connection
						// that failed): whether it was written is the log's to say, below.
						t.Logf("createExperiment %s through %s: no answer: %v", name, r.Name, err)
						unanswered = append(unanswered, name)
					} else {
						acked = append(acked, dig(data, "createExperiment", "experiment", "id").(string))
					}
					mu.Unlock()
					done.Add(1)
				}
			})
		}
		t.Run("kill the lease holder", func(t *testing.T) {
			t.Parallel()
			for done.Load() < clients*writes/3 {
				time.Sleep(10 * time.Millisecond)
			}
			i := leaseHolder(t, chain, replicas)
			killed.Store(int32(i + 1))
			replicas[i].Kill(t)
			t.Logf("killed the lease holder, %s (pid %d), after %d writes", replicas[i].Name, replicas[i].PID(), done.Load())
		})
	})
	if t.Failed() {
		return
	}
	require.Len(t, acked, clients*writes-len(unanswered))
	assert.LessOrEqual(t, len(unanswered), 1, "at most one answer lost on the way")
	k := int(killed.Load()) - 1
	require.GreaterOrEqual(t, k, 0)

	st := neo4jtest.StoreOnAuditChain(t, chain)
	require.NoError(t, st.AwaitAuditSequenced(t.Context()), "the surviving replicas sequence everything")
	holder := leaseHolder(t, chain, replicas)
	assert.NotEqual(t, k, holder, "another replica took the lease over")
	entries, err := st.AuditEntries(t.Context(), 1, 10_000, 10_000)
	require.NoError(t, err)
	times := map[string]int{}
	for _, e := range entries {
		if e.Action == store.ActionExperimentCreate {
			times[e.Targets[0]]++
		}
	}
	for _, id := range acked {
		assert.Equal(t, 1, times[id], "the write of %s is sequenced exactly once", id)
	}
	written := len(acked)
	for _, name := range unanswered {
		// Made or not, a creation whose answer was lost is in the log as often as made.
		if exp, err := st.ExperimentByName(t.Context(), "name", name); err == nil {
			written++
			assert.Equal(t, 1, times[exp.Key], "the unanswered write of %s is sequenced exactly once", name)
		}
	}
	assert.Len(t, times, written, "no entry for a write that was not made")

	c, err := st.LatestAuditCheckpoint(t.Context())
	require.NoError(t, err)
	require.NotNil(t, c)
	assert.Equal(t, int64(len(entries)), c.Size, "the latest checkpoint covers the whole log")
	v, err := st.VerifyAuditLog(t.Context(), nil, nil)
	require.NoError(t, err)
	assert.Nil(t, v.FirstBreak, "chain, tree and every checkpoint verify with the shared key")
	sizes := neo4jtest.Exec(t, `MATCH (c:`+store.LabelAuditCheckpoint+` {chain: $chain}) RETURN c.size AS size, count(*) AS n, count(DISTINCT c.root) AS roots`,
		map[string]any{"chain": chain})
	require.NotEmpty(t, sizes.Records)
	for _, row := range sizes.Records {
		n, _ := row.Get("n")
		size, _ := row.Get("size")
		assert.Equal(t, int64(1), n, "one checkpoint of size %v", size)
	}
	t.Logf("%d entries, %d checkpoints; lease with %s", len(entries), len(sizes.Records), replicas[holder].Name)
}

// leaseHolder is the index of the replica holding the chain's sequencer lease (the
// holder names its process: host/pid/nonce), waiting for one to hold it.
func leaseHolder(t *testing.T, chain string, replicas []*replica) int {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		rows := neo4jtest.Exec(t, `MATCH (l:`+store.LabelAuditSequencer+` {chain: $chain}) WHERE l.expires > datetime.realtime() RETURN l.holder AS holder`,
			map[string]any{"chain": chain})
		if len(rows.Records) == 1 {
			h, _ := rows.Records[0].Get("holder")
			parts := strings.Split(h.(string), "/")
			if pid, err := strconv.Atoi(parts[len(parts)-2]); err == nil {
				for i, r := range replicas {
					if r.PID() == pid {
						return i
					}
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no replica holds the lease of %s", chain)
	return -1
}
