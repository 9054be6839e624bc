package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/apperr"
	"github.com/provgraph/provgraph/auth"
	"github.com/provgraph/provgraph/ingest/openlineage"
	"github.com/provgraph/provgraph/internal/authtest"
	"github.com/provgraph/provgraph/store"
)

// Neo4j killed with SIGKILL while several clients stream batches — OpenLineage event
// batches and MLflow log-batch calls of metric points — and started again on the same
// files: while it is down /readyz fails and requests fail
// with UNAVAILABLE within the request deadline; the same server (not restarted) serves
// again once Neo4j is back; no batch was recorded in part; and after the clients
// redeliver what was not acknowledged, every event is recorded exactly once and the
// audit chain verifies.
func TestKillNeo4jDuringBatchIngest(t *testing.T) {
	if testing.Short() {
		t.Skip("starts, kills and restarts a Neo4j of its own (about a minute)")
	}
	if _, err := exec.LookPath("java"); err != nil && os.Getenv("CI") != "true" {
		t.Skip("needs Java to run a Neo4j of its own (scripts/neo4j.sh); CI has it")
	}
	db := startOwnNeo4j(t)
	st, err := store.Open(db.cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close(context.Background()) })

	// Long enough for a fresh Neo4j's first queries (each is planned on first use) on
	// a machine busy with other tests; the outage answers come in milliseconds.
	const requestTimeout = 15 * time.Second
	cfg := serveConfigFor(t, db.cfg)
	cfg.requestTimeout = requestTimeout
	cfg.tokenCacheTTL = time.Hour // requests reach the store, not only the token lookup
	stopServer, stopped := startServer(t, cfg)
	base := "http://" + cfg.addr
	requireReady(t, http.DefaultClient, base) // the server migrated the fresh database
	writer := authtest.NewToken(t, st, auth.RoleWriter)

	const clients, batchSize = 6, 25 // clients 0-3 send OpenLineage batches, 4-5 MLflow log-batch calls
	f := &faultRun{base: base, client: &http.Client{Timeout: time.Minute, Transport: writer.Transport(&http.Transport{})},
		resume: make(chan struct{})}
	exp := f.mustCall(t, "/api/2.0/mlflow/experiments/create", `{"name": "fault-kill"}`)["experiment_id"]
	runIDs := make([]string, clients)
	for c := 4; c < clients; c++ {
		run := f.mustCall(t, "/api/2.0/mlflow/runs/create", fmt.Sprintf(`{"experiment_id": %q}`, exp))["run"]
		runIDs[c] = run.(map[string]any)["info"].(map[string]any)["run_id"].(string)
	}
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() { defer wg.Done(); f.runClient(c, runIDs[c], batchSize) }()
	}
	t.Cleanup(func() { f.abort.Store(true); wg.Wait() })

	// Kill Neo4j while batches are being written.
	require.Eventually(t, func() bool { return f.acked.Load() >= 12 }, 2*time.Minute, 50*time.Millisecond,
		"the clients' first batches are acknowledged")
	f.phase.Store(phaseDown)
	db.kill(t)
	killed := time.Now()

	// Down: /readyz fails, and requests fail fast with UNAVAILABLE.
	requireReadyz(t, http.DefaultClient, base, http.StatusServiceUnavailable, requestTimeout+5*time.Second)
	t.Logf("/readyz failed %s after the kill", time.Since(killed).Round(time.Millisecond))
	probe, err := json.Marshal(f.newBatch(99, 0, 1).events()[0])
	require.NoError(t, err)
	gql := fmt.Sprintf(`{"query": "{ node(id: \"run:%s\") { id } }"}`, strings.Repeat("0", 32))
	for range 3 {
		start := time.Now()
		status, body := f.post("/api/v1/lineage", probe)
		took := time.Since(start)
		assert.Equal(t, http.StatusServiceUnavailable, status, body)
		assert.Contains(t, body, `"code":"UNAVAILABLE"`)
		assert.Less(t, took, store.OutageSuspectAfter, "an event sent while Neo4j is down fails at once, well within the request deadline")
		start = time.Now()
		status, body = f.post("/graphql", []byte(gql))
		assert.Equal(t, http.StatusOK, status, body)
		assert.Contains(t, body, `"code":"UNAVAILABLE"`)
		assert.Less(t, time.Since(start), store.OutageSuspectAfter, "a query while Neo4j is down fails at once")
		t.Logf("while down: an event failed in %s, a query in %s", took.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
		time.Sleep(500 * time.Millisecond)
	}

	status, body := f.get("/metrics")
	assert.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, "\nprovgraph_neo4j_up 0\n", "the outage shows in the metrics")

	// Hold the clients, start Neo4j again on the same files, and wait for the same
	// server to be ready: it recovers without a restart of its own.
	f.parked.Add(clients)
	f.phase.Store(phaseHold)
	f.parked.Wait()
	db.start(t)
	requireReady(t, http.DefaultClient, base)
	t.Logf("ready again %s after the kill", time.Since(killed).Round(time.Millisecond))

	status, body = f.get("/metrics")
	assert.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, "\nprovgraph_neo4j_up 1\n")

	// No batch is partial, and every acknowledged one is whole.
	unackedWhole, unackedAbsent := 0, 0
	for _, b := range f.allBatches() {
		n := countRecorded(t, st, b)
		switch {
		case b.acked:
			assert.Equal(t, b.size, n, "acknowledged batch %s is recorded whole", b.name)
		case n == 0:
			unackedAbsent++
		case n == b.size:
			unackedWhole++ // committed, but the answer was lost with the connection
		default:
			t.Errorf("unacknowledged batch %s is recorded in part: %d of %d items", b.name, n, b.size)
		}
	}
	t.Logf("after the restart: %d unacknowledged batches absent, %d whole", unackedAbsent, unackedWhole)

	// The clients redeliver what was not acknowledged and go on.
	sentBefore := len(f.allBatches())
	f.phase.Store(phaseResumed)
	close(f.resume)
	ackedAtResume := f.acked.Load()
	require.Eventually(t, func() bool { return f.unacknowledged(sentBefore) == 0 && f.acked.Load() >= ackedAtResume+8 },
		2*time.Minute, 50*time.Millisecond, "the clients' redeliveries and new batches are acknowledged")
	f.stop.Store(true) // the clients resend what is not acknowledged yet, then stop
	wg.Wait()
	require.Empty(t, f.unexpected(), "answers other than success or UNAVAILABLE")

	// Every event and metric point exactly once, and nothing else under the test's
	// namespace.
	events := 0
	points := map[string]int64{}
	for _, b := range f.allBatches() {
		require.True(t, b.acked, "batch %s acknowledged in the end", b.name)
		if b.mlflowRun != "" {
			assert.Equal(t, b.size, countRecorded(t, st, b), "batch %s: each point once", b.name)
			points[b.mlflowRun] += int64(b.size)
			continue
		}
		events += len(b.runIDs)
		for i, runID := range b.runIDs {
			assertRecordedOnce(t, runID, b.outputs[i])
		}
	}
	for run, n := range points {
		sums, err := st.RunMetrics(t.Context(), "run:"+run, []string{"loss"})
		require.NoError(t, err)
		require.Len(t, sums, 1)
		assert.Equal(t, n, sums[0].Count, "MLflow run %s holds every point sent, once", run)
	}
	res := execOn(t, `MATCH (r:`+store.LabelNode+`)-[:`+store.RelExecutedBy+`]->(j:`+store.LabelNode+`)
WHERE j.key STARTS WITH $prefix RETURN count(r) AS runs`, map[string]any{"prefix": "job:" + faultNamespace + ":"})
	runs, _ := res.Records[0].Get("runs")
	assert.EqualValues(t, events, runs, "one run per event sent, none twice")

	v, err := st.VerifyAuditLog(t.Context(), nil, nil)
	require.NoError(t, err)
	assert.Nil(t, v.FirstBreak, "the audit chain verifies after the crash")
	assert.Equal(t, v.Head, v.Checked, "every entry of the chain checked")
	t.Logf("%d batches of %d items (%d acknowledged before the kill; %d failed requests while down, slowest %s); audit chain of %d entries verifies",
		len(f.allBatches()), batchSize, f.ackedBeforeKill.Load(), f.failedDown.Load(), time.Duration(f.slowestDown.Load()).Round(time.Millisecond), v.Checked)
	stopServer()
	requireStopped(t, stopped)
}

const faultNamespace = "fault-kill"

const (
	phaseRunning int32 = iota
	phaseDown
	phaseHold
	phaseResumed
)

// faultRun is the state the clients of TestKillNeo4jDuringBatchIngest share.
type faultRun struct {
	base   string
	client *http.Client
	phase  atomic.Int32
	stop   atomic.Bool // send no new batch; stop once all are acknowledged
	abort  atomic.Bool // stop now
	resume chan struct{}
	parked sync.WaitGroup

	acked, ackedBeforeKill, failedDown, slowestDown atomic.Int64

	mu       sync.Mutex
	batches  []*faultBatch
	surprise []string
}

type faultBatch struct {
	name            string
	size            int
	runIDs, outputs []string // of an OpenLineage batch
	mlflowRun       string   // of an MLflow log-batch call, with points at steps first..first+size-1
	first           int64
	path            string
	body            []byte
	acked           bool
}

// newBatch is batch b of client c: n RunEvents, each with a new run writing an output
// of its own from a shared input.
func (f *faultRun) newBatch(c, b, n int) *faultBatch {
	fb := &faultBatch{name: fmt.Sprintf("%d/%d", c, b), size: n, path: "/api/v1/lineage/batch"}
	for i := range n {
		fb.runIDs = append(fb.runIDs, uuid.NewString())
		fb.outputs = append(fb.outputs, fmt.Sprintf("out-%d-%d-%d", c, b, i))
	}
	fb.body, _ = json.Marshal(fb.events())
	return fb
}

// newMetricBatch is batch b of client c: an MLflow log-batch call of n points of the
// metric loss of run.
func newMetricBatch(c, b, n int, run string) *faultBatch {
	fb := &faultBatch{name: fmt.Sprintf("%d/%d", c, b), size: n, path: "/api/2.0/mlflow/runs/log-batch", mlflowRun: run, first: int64(b * n)}
	var metrics []any
	for i := range n {
		step := fb.first + int64(i)
		metrics = append(metrics, map[string]any{"key": "loss", "value": 1 / float64(step+1), "timestamp": 1_780_000_000_000 + step, "step": step})
	}
	fb.body, _ = json.Marshal(map[string]any{"run_id": run, "metrics": metrics})
	return fb
}

func (fb *faultBatch) events() []any {
	var evs []any
	c := strings.SplitN(fb.name, "/", 2)[0]
	for i, runID := range fb.runIDs {
		evs = append(evs, map[string]any{
			"eventType": "COMPLETE", "eventTime": time.Now().UTC().Format(time.RFC3339Nano),
			"producer": "https://example.com/provgraph-fault-test", "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/definitions/RunEvent",
			"run":     map[string]any{"runId": runID},
			"job":     map[string]any{"namespace": faultNamespace, "name": "job-" + c},
			"inputs":  []any{map[string]any{"namespace": faultNamespace, "name": "source"}},
			"outputs": []any{map[string]any{"namespace": faultNamespace, "name": fb.outputs[i]}},
		})
	}
	return evs
}

// runClient sends new batches, and sends again those not acknowledged once the test
// resumes it after Neo4j's restart.
func (f *faultRun) runClient(c int, mlflowRun string, size int) {
	var retry []*faultBatch
	next := 0
	parked := false
	for !f.abort.Load() {
		stopping := f.stop.Load()
		if stopping && len(retry) == 0 {
			return
		}
		phase := f.phase.Load()
		if phase == phaseHold && !stopping {
			if !parked {
				parked = true
				f.parked.Done()
			}
			select {
			case <-f.resume:
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		// While Neo4j is down a client resends what failed rather than piling up new
		// batches; after the restart it resends first.
		var b *faultBatch
		if len(retry) > 0 && (stopping || phase == phaseDown || phase == phaseResumed) {
			b, retry = retry[0], retry[1:]
		} else {
			if mlflowRun != "" {
				b = newMetricBatch(c, next, size, mlflowRun)
			} else {
				b = f.newBatch(c, next, size)
			}
			next++
			f.mu.Lock()
			f.batches = append(f.batches, b)
			f.mu.Unlock()
		}
		start := time.Now()
		status, body := f.post(b.path, b.body)
		took := time.Since(start)
		ok := false
		switch {
		case b.mlflowRun != "" && status == http.StatusOK:
			ok = true
		case b.mlflowRun != "" && status == http.StatusServiceUnavailable && strings.Contains(body, `"TEMPORARILY_UNAVAILABLE"`):
		case status == http.StatusOK:
			var rep struct {
				Received, Successful, Failed int
				FailedEvents                 []struct {
					Code      string
					Retriable bool
				}
			}
			if err := json.Unmarshal([]byte(body), &rep); err != nil {
				f.note("batch %s: report %q: %v", b.name, body, err)
				break
			}
			switch {
			case rep.Successful == size:
				ok = true
			case rep.Failed == size && len(rep.FailedEvents) == size && rep.FailedEvents[0].Code == "UNAVAILABLE" && rep.FailedEvents[0].Retriable:
			default:
				f.note("batch %s recorded in part: %s", b.name, body)
			}
		case status == http.StatusServiceUnavailable && strings.Contains(body, `"UNAVAILABLE"`):
		default:
			f.note("batch %s: %d %s", b.name, status, body)
		}
		if ok {
			f.mu.Lock()
			b.acked = true
			f.mu.Unlock()
			f.acked.Add(1)
			if phase == phaseRunning {
				f.ackedBeforeKill.Add(1)
			}
			continue
		}
		retry = append(retry, b)
		if phase == phaseDown {
			f.failedDown.Add(1)
			for {
				old := f.slowestDown.Load()
				if int64(took) <= old || f.slowestDown.CompareAndSwap(old, int64(took)) {
					break
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// post sends body to path and returns the status and body.
func (f *faultRun) post(path string, body []byte) (int, string) {
	return answer(f.client.Post(f.base+path, "application/json", bytes.NewReader(body)))
}

// mustCall makes an MLflow call that must succeed and returns its answer.
func (f *faultRun) mustCall(t *testing.T, path, body string) map[string]any {
	t.Helper()
	status, answer := f.post(path, []byte(body))
	require.Equal(t, http.StatusOK, status, answer)
	var out map[string]any
	require.NoError(t, json.Unmarshal([]byte(answer), &out))
	return out
}

// get fetches path and returns the status and body.
func (f *faultRun) get(path string) (int, string) {
	return answer(f.client.Get(f.base + path))
}

// answer is a response's status and body; a transport error counts as status 0.
func answer(resp *http.Response, err error) (int, string) {
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String()
}

func (f *faultRun) note(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.surprise = append(f.surprise, fmt.Sprintf(format, args...))
}

func (f *faultRun) unexpected() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.surprise
}

func (f *faultRun) allBatches() []*faultBatch {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*faultBatch(nil), f.batches...)
}

// unacknowledged is how many of the first n batches sent are not acknowledged.
func (f *faultRun) unacknowledged(n int) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	count := 0
	for _, b := range f.batches[:n] {
		if !b.acked {
			count++
		}
	}
	return count
}

// countRecorded is how many of b's runs, or of its metric points, are in the graph.
func countRecorded(t *testing.T, st *store.Store, b *faultBatch) int {
	if b.mlflowRun != "" {
		last := b.first + int64(b.size) - 1
		page, err := st.MetricHistory(t.Context(), "run:"+b.mlflowRun, "loss", store.StepRange{Min: &b.first, Max: &last}, 1000, "")
		if apperr.CodeOf(err) == apperr.NotFound {
			return 0 // no point of the run's loss yet
		}
		require.NoError(t, err)
		return len(page.Points)
	}
	keys := make([]string, len(b.runIDs))
	for i, id := range b.runIDs {
		runID, err := openlineage.RunID("runId", id)
		require.NoError(t, err)
		keys[i] = store.RunKey(runID)
	}
	res := execOn(t, `MATCH (r:`+store.LabelNode+`) WHERE r.key IN $keys RETURN count(r) AS n`, map[string]any{"keys": keys})
	n, _ := res.Records[0].Get("n")
	return int(n.(int64))
}

// assertRecordedOnce checks one event's run, its job edge, and its output version with
// the edges to it, each exactly once.
func assertRecordedOnce(t *testing.T, runID, output string) {
	t.Helper()
	id, err := openlineage.RunID("runId", runID)
	require.NoError(t, err)
	res := execOn(t, `
MATCH (r:`+store.LabelNode+` {key: $run})
OPTIONAL MATCH (r)-[e:`+store.RelExecutedBy+`]->()
WITH collect(r) AS rs, count(e) AS executedBy
OPTIONAL MATCH (v:`+store.LabelNode+` {key: $out})
OPTIONAL MATCH ()-[p:`+store.RelProduced+`]->(v)
RETURN size(rs) AS runs, executedBy, count(DISTINCT v) AS versions, count(p) AS produced`,
		map[string]any{"run": store.RunKey(id), "out": store.DatasetVersionKey(faultNamespace, output, "run:"+id)})
	rec := res.Records[0].AsMap()
	assert.EqualValues(t, map[string]any{"runs": int64(1), "executedBy": int64(1), "versions": int64(1), "produced": int64(1)}, rec,
		"run %s and its output %s, once each", runID, output)
}

// execOn runs a read query on the Neo4j of startOwnNeo4j.
func execOn(t *testing.T, cypher string, params map[string]any) *neo4j.EagerResult {
	t.Helper()
	res, err := neo4j.ExecuteQuery(t.Context(), ownNeo4jDriver, cypher, params, neo4j.EagerResultTransformer,
		neo4j.ExecuteQueryWithDatabase("neo4j"), neo4j.ExecuteQueryWithReadersRouting())
	require.NoError(t, err)
	return res
}

// ownNeo4jDriver reaches the Neo4j of startOwnNeo4j.
var ownNeo4jDriver neo4j.DriverWithContext

// ownNeo4j is a Neo4j of the test's own, started with scripts/neo4j.sh in a temporary
// home on a free port, so that the test may kill it.
type ownNeo4j struct {
	home, addr string
	cfg        store.Config
}

func startOwnNeo4j(t *testing.T) *ownNeo4j {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	db := &ownNeo4j{home: t.TempDir(), addr: addr}
	db.cfg = store.Config{URI: "bolt://" + addr, User: "neo4j", Password: "provgraph-fault-test", Database: "neo4j"}
	t.Cleanup(func() { db.script(t, "stop") })
	db.start(t)
	ownNeo4jDriver, err = neo4j.NewDriverWithContext(db.cfg.URI, neo4j.BasicAuth(db.cfg.User, db.cfg.Password, ""))
	require.NoError(t, err)
	t.Cleanup(func() { _ = ownNeo4jDriver.Close(context.Background()) })
	return db
}

func (db *ownNeo4j) start(t *testing.T) { db.script(t, "start") }

// kill sends SIGKILL to the JVM and waits for it to be gone.
func (db *ownNeo4j) kill(t *testing.T) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(db.home, "neo4j.pid"))
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	require.NoError(t, err)
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
	require.Eventually(t, func() bool {
		_, err := os.Stat(fmt.Sprintf("/proc/%d", pid))
		return os.IsNotExist(err)
	}, 10*time.Second, 20*time.Millisecond, "Neo4j (pid %d) gone after SIGKILL", pid)
}

func (db *ownNeo4j) script(t *testing.T, command string) {
	t.Helper()
	cmd := exec.Command("../../scripts/neo4j.sh", command)
	cmd.Env = append(os.Environ(), "NEO4J_HOME_DIR="+db.home, "NEO4J_BOLT_ADDR="+db.addr,
		"NEO4J_PASSWORD="+db.cfg.Password, "NEO4J_HEAP=1g", "NEO4J_PAGECACHE=256m", "NEO4J_START_TIMEOUT=120")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "scripts/neo4j.sh %s:\n%s", command, out)
}
