package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/auth"
	"github.com/provgraph/provgraph/ingest/openlineage"
	"github.com/provgraph/provgraph/internal/authtest"
	"github.com/provgraph/provgraph/internal/neo4jtest"
	"github.com/provgraph/provgraph/store"
)

// SIGTERM during a stream of writes (the shutdown signal cancels the server's context,
// as serve's signal handler does): every write the server acknowledged is in the graph,
// whole, and every write it did not acknowledge is either whole or absent — never half.
func TestShutdownDuringWritesAcknowledgesOnlyWhatCommitted(t *testing.T) {
	st := neo4jtest.Store(t)
	tk := neo4jtest.Token(t)
	writer := authtest.NewToken(t, st, auth.RoleWriter)
	cfg := testServeConfig(t)
	cancel, done := startServer(t, cfg)
	base := "http://" + cfg.addr
	requireReady(t, http.DefaultClient, base)
	client := &http.Client{Timeout: 30 * time.Second, Transport: writer.Transport(&http.Transport{})}

	type attempt struct {
		runID, output string
		acked         bool
	}
	var (
		mu       sync.Mutex
		attempts []attempt
		wg       sync.WaitGroup
		acked    = make(chan struct{}, 1000)
	)
	for c := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				runID := uuid.NewString()
				output := fmt.Sprintf("out-%d-%d", c, i)
				body, _ := json.Marshal(map[string]any{
					"eventType": "COMPLETE", "eventTime": time.Now().UTC().Format(time.RFC3339Nano),
					"run": map[string]any{"runId": runID}, "job": map[string]any{"namespace": "shutdown-" + tk, "name": fmt.Sprintf("job-%d", c)},
					"inputs":  []any{map[string]any{"namespace": "shutdown-" + tk, "name": "source"}},
					"outputs": []any{map[string]any{"namespace": "shutdown-" + tk, "name": output}},
				})
				resp, err := client.Post(base+"/api/v1/lineage", "application/json", bytes.NewReader(body))
				ok := err == nil && resp.StatusCode == http.StatusCreated
				if err == nil {
					_ = resp.Body.Close()
				}
				mu.Lock()
				attempts = append(attempts, attempt{runID, output, ok})
				mu.Unlock()
				if err != nil {
					return // the server is gone
				}
				if ok {
					select {
					case acked <- struct{}{}:
					default:
					}
				}
			}
		}()
	}
	// Shut down while writes are in flight: after the first acknowledgements.
	for range 20 {
		select {
		case <-acked:
		case <-time.After(time.Minute):
			t.Fatal("the server acknowledged fewer than 20 writes in a minute")
		}
	}
	cancel()
	requireStopped(t, done)
	wg.Wait()

	nAcked := 0
	for _, a := range attempts {
		id, err := openlineage.RunID("runId", a.runID)
		require.NoError(t, err)
		res := neo4jtest.Exec(t, `
OPTIONAL MATCH (r:`+store.LabelNode+` {key: $run})
OPTIONAL MATCH (r)-[:`+store.RelExecutedBy+`]->(j)
OPTIONAL MATCH (j)-[:`+store.RelProduced+`]->(v:`+store.LabelNode+` {key: $out})
RETURN count(DISTINCT r) AS runs, count(DISTINCT j) AS jobs, count(DISTINCT v) AS outputs`,
			map[string]any{"run": store.RunKey(id), "out": store.DatasetVersionKey("shutdown-"+tk, a.output, "run:"+id)})
		runs, _ := res.Records[0].Get("runs")
		jobs, _ := res.Records[0].Get("jobs")
		outputs, _ := res.Records[0].Get("outputs")
		if a.acked {
			nAcked++
			assert.EqualValues(t, []any{int64(1), int64(1), int64(1)}, []any{runs, jobs, outputs},
				"acknowledged run %s is recorded whole: the run, its job, its output", a.runID)
		} else {
			assert.Contains(t, [][]any{{int64(0), int64(0), int64(0)}, {int64(1), int64(1), int64(1)}}, []any{runs, jobs, outputs},
				"unacknowledged run %s is whole or absent", a.runID)
		}
	}
	assert.GreaterOrEqual(t, nAcked, 20)
	t.Logf("%d writes attempted, %d acknowledged before and during shutdown", len(attempts), nAcked)
}
