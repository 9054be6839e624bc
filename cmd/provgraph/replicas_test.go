package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/auth"
	"github.com/provgraph/provgraph/internal/authtest"
	"github.com/provgraph/provgraph/internal/neo4jtest"
	"github.com/provgraph/provgraph/server"
	"github.com/provgraph/provgraph/store"
)

// replica is one `provgraph serve` process of a test, started by startReplicas.
type replica struct {
	// Name says which replica this is in messages: "replica 0", …
	Name string
	// Base is its URL, http://127.0.0.1:<port>.
	Base string

	cmd    *exec.Cmd
	out    *lockedBuffer
	exited chan struct{} // closed when the process has exited
}

// startReplicas starts n `provgraph serve` processes of the real binary on ports of
// their own against the Neo4j of db, with the extra serve flags args, and waits until
// each answers /readyz. They are stopped (SIGTERM, then SIGKILL) when the test ends, and
// their output is logged when it fails.
func startReplicas(t *testing.T, n int, db store.Config, args ...string) []*replica {
	t.Helper()
	bin := provgraphBinary(t)
	// Every replica signs audit checkpoints with the tests' key, as replicas of one
	// service share theirs; args may name another.
	key := filepath.Join(t.TempDir(), "audit.key")
	require.NoError(t, os.WriteFile(key, []byte(neo4jtest.AuditKey+"\n"), 0o600))
	args = append([]string{"--audit-key", key}, args...)
	replicas := make([]*replica, n)
	for i := range replicas {
		// Each replica listens on a port the kernel gives it and logs which: a port
		// chosen here and closed before the process binds it could meanwhile be taken
		// by another test's server, which would then answer this test's requests.
		r := &replica{Name: fmt.Sprintf("replica %d", i), out: &lockedBuffer{}, exited: make(chan struct{})}
		r.cmd = exec.Command(bin, append([]string{"serve", "--addr", "127.0.0.1:0", "--log-format", "json", "--log-level", "info",
			"--neo4j-uri", db.URI, "--neo4j-user", db.User, "--neo4j-database", db.Database,
			"--artifact-root", t.TempDir()}, args...)...)
		r.cmd.Env = append(os.Environ(), "NEO4J_PASSWORD="+db.Password)
		r.cmd.Stdout, r.cmd.Stderr = r.out, r.out
		require.NoError(t, r.cmd.Start(), r.Name)
		go func() { _ = r.cmd.Wait(); close(r.exited) }()
		t.Cleanup(func() { r.stop(t) })
		replicas[i] = r
	}
	for _, r := range replicas {
		r.Base = "http://" + r.awaitServing(t)
		requireReady(t, http.DefaultClient, r.Base)
	}
	return replicas
}

// awaitServing waits for the replica's "provgraph serving" log line and returns the
// address it names.
func (r *replica) awaitServing(t *testing.T) string {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		for _, line := range strings.Split(r.out.String(), "\n") {
			var entry struct{ Message, Addr string }
			if json.Unmarshal([]byte(line), &entry) == nil && entry.Message == "provgraph serving" {
				return entry.Addr
			}
		}
		select {
		case <-r.exited:
			t.Fatalf("%s exited before serving:\n%s", r.Name, r.out.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("%s is not serving after 2 minutes:\n%s", r.Name, r.out.String())
	return ""
}

// Kill ends the replica with SIGKILL, as a crash or an OOM kill would, and waits until
// it has exited.
func (r *replica) Kill(t *testing.T) {
	t.Helper()
	require.NoError(t, r.cmd.Process.Signal(syscall.SIGKILL), r.Name)
	select {
	case <-r.exited:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s did not exit after SIGKILL", r.Name)
	}
}

// PID is the replica's process id.
func (r *replica) PID() int { return r.cmd.Process.Pid }

// Output is what the replica has written to standard output and error so far (JSON
// log lines at --log-level info unless the test's args say otherwise).
func (r *replica) Output() string { return r.out.String() }

// stop ends a replica that is still running, gracefully if it will, and logs its
// output when the test failed.
func (r *replica) stop(t *testing.T) {
	select {
	case <-r.exited:
	default:
		_ = r.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-r.exited:
		case <-time.After(15 * time.Second):
			_ = r.cmd.Process.Kill()
			<-r.exited
		}
	}
	if t.Failed() {
		t.Logf("%s (%s) output:\n%s", r.Name, r.Base, r.out.String())
	}
}

// lockedBuffer collects a process's output, written by the exec package's copying
// goroutines and read by the test.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Three replicas against one Neo4j behave as one service: clients write through all
// three at once (GraphQL mutations and MLflow calls), each sending back the bookmark of
// its previous write, and after every acknowledged write read it through another
// replica with the write's bookmark — every read sees its write. Then one replica is
// killed with SIGKILL, and the writes acknowledged through it are read through the
// other two with their bookmarks.
func TestReplicasReadTheirWritesThroughAnother(t *testing.T) {
	t.Parallel()
	db := neo4jtest.Config(t)
	writer := authtest.NewToken(t, neo4jtest.Store(t), auth.RoleWriter)
	replicas := startReplicas(t, 3, db)
	client := &http.Client{Timeout: 30 * time.Second, Transport: writer.Transport(&http.Transport{MaxIdleConnsPerHost: 16})}
	tk := neo4jtest.Token(t)

	const clients, rounds = 6, 8
	var (
		mu    sync.Mutex
		acked []ackedWrite // what the clients wrote, and through which replica
	)
	// The clients run as parallel subtests, which "clients" waits for.
	t.Run("clients", func(t *testing.T) {
		for c := range clients {
			t.Run(fmt.Sprint(c), func(t *testing.T) {
				t.Parallel()
				rc := &replicaClient{t: t, http: client}
				exp := rc.mustMLflow(replicas[c%3], "experiments/create", map[string]any{"name": fmt.Sprintf("replicas-%s-%d", tk, c)})["experiment_id"]
				for i := range rounds {
					w, r := replicas[(c+i)%3], replicas[(c+i+1)%3]
					// A GraphQL mutation, read back as a node through r.
					data := rc.mustGraphQL(w, `mutation($input: CreateExperimentInput!) { createExperiment(input: $input) { experiment { id } } }`,
						map[string]any{"input": map[string]any{"name": fmt.Sprintf("replicas-%s-%d-%d", tk, c, i)}})
					a := ackedWrite{via: w, bookmark: rc.bookmark, node: dig(data, "createExperiment", "experiment", "id").(string)}
					rc.requireNode(r, a)
					// An MLflow call, read back with MLflow's runs/get through r.
					run := rc.mustMLflow(w, "runs/create", map[string]any{"experiment_id": exp, "run_name": fmt.Sprintf("r%d", i)})
					b := ackedWrite{via: w, bookmark: rc.bookmark, mlflowRun: dig(run, "run", "info", "run_id").(string)}
					rc.requireRun(r, b)
					mu.Lock()
					acked = append(acked, a, b)
					mu.Unlock()
				}
			})
		}
	})
	if t.Failed() {
		return
	}
	require.Len(t, acked, clients*rounds*2)
	t.Run("the documented example", func(t *testing.T) { runDocumentedReplicaExample(t, replicas[0], replicas[1], writer.Token, tk) })

	// SIGKILL replica 0; what was acknowledged through it is read through the others.
	replicas[0].Kill(t)
	t.Logf("killed %s (pid %d) with SIGKILL", replicas[0].Name, replicas[0].PID())
	rc := &replicaClient{t: t, http: client}
	throughKilled := 0
	for _, a := range acked {
		if a.via != replicas[0] {
			continue
		}
		throughKilled++
		for _, r := range replicas[1:] {
			if a.node != "" {
				rc.requireNode(r, a)
			} else {
				rc.requireRun(r, a)
			}
		}
	}
	assert.Equal(t, clients*rounds*2/3, throughKilled, "a third of the writes went through replica 0")
	_, err := http.Get(replicas[0].Base + "/healthz")
	assert.Error(t, err, "replica 0 is gone")
	for _, r := range replicas {
		assert.NotContains(t, r.Output(), `"level":"error"`, "%s logged no error", r.Name)
	}
}

// ackedWrite is a write a replica acknowledged: the node or MLflow run it made and the
// bookmark its answer carried.
type ackedWrite struct {
	via       *replica
	bookmark  string
	node      string
	mlflowRun string
}

// replicaClient is one client of TestReplicasReadTheirWritesThroughAnother: it sends
// the bookmark of its last write with every request, as a client wanting its own writes
// does, and keeps the one each write answers with.
type replicaClient struct {
	t        *testing.T
	http     *http.Client
	bookmark string
}

// do sends one request to r with the client's bookmark; a write's answer must carry a
// bookmark, which the client keeps.
func (c *replicaClient) do(r *replica, method, path string, body any, write bool) (int, []byte) {
	c.t.Helper()
	status, out, err := c.send(r, method, path, body, write)
	require.NoError(c.t, err, "%s %s through %s", method, path, r.Name)
	return status, out
}

// send is do, but a request whose answer never came (the connection failed) is an
// error, not a failed test.
func (c *replicaClient) send(r *replica, method, path string, body any, write bool) (int, []byte, error) {
	c.t.Helper()
	var payload io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(c.t, err)
		payload = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(c.t.Context(), method, r.Base+path, payload)
	require.NoError(c.t, err)
	req.Header.Set("Content-Type", "application/json")
	if c.bookmark != "" {
		req.Header.Set(server.BookmarkHeader, c.bookmark)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, err
	}
	got := resp.Header.Get(server.BookmarkHeader)
	if write {
		require.NotEmpty(c.t, got, "%s %s through %s answers with a bookmark: %s", method, path, r.Name, out)
		c.bookmark = got
	} else {
		require.Empty(c.t, got, "a read answers without a bookmark")
	}
	return resp.StatusCode, out, nil
}

func (c *replicaClient) mustGraphQL(r *replica, query string, vars map[string]any) map[string]any {
	c.t.Helper()
	data, err := c.tryGraphQL(r, query, vars)
	require.NoError(c.t, err, "POST /graphql through %s", r.Name)
	return data
}

// tryGraphQL is mustGraphQL, but a request whose answer never came is an error.
func (c *replicaClient) tryGraphQL(r *replica, query string, vars map[string]any) (map[string]any, error) {
	c.t.Helper()
	status, out, err := c.send(r, http.MethodPost, "/graphql", map[string]any{"query": query, "variables": vars}, strings.HasPrefix(query, "mutation"))
	if err != nil {
		return nil, err
	}
	require.Equal(c.t, http.StatusOK, status, "%s", out)
	var resp struct {
		Data   map[string]any `json:"data"`
		Errors []any          `json:"errors"`
	}
	require.NoError(c.t, json.Unmarshal(out, &resp), "%s", out)
	require.Empty(c.t, resp.Errors, "through %s", r.Name)
	return resp.Data, nil
}

func (c *replicaClient) mustMLflow(r *replica, call string, body map[string]any) map[string]any {
	c.t.Helper()
	status, out := c.do(r, http.MethodPost, "/api/2.0/mlflow/"+call, body, true)
	require.Equal(c.t, http.StatusOK, status, "%s through %s: %s", call, r.Name, out)
	var v map[string]any
	require.NoError(c.t, json.Unmarshal(out, &v), "%s", out)
	return v
}

// requireNode reads the node of a through r with a's bookmark.
func (c *replicaClient) requireNode(r *replica, a ackedWrite) {
	c.t.Helper()
	c.bookmark = a.bookmark
	data := c.mustGraphQL(r, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": a.node})
	require.Equal(c.t, a.node, dig(data, "node", "id"), "%s reads %s, written through %s", r.Name, a.node, a.via.Name)
}

// requireRun reads the MLflow run of a through r with a's bookmark.
func (c *replicaClient) requireRun(r *replica, a ackedWrite) {
	c.t.Helper()
	c.bookmark = a.bookmark
	status, out := c.do(r, http.MethodGet, "/api/2.0/mlflow/runs/get?run_id="+a.mlflowRun, nil, false)
	require.Equal(c.t, http.StatusOK, status, "%s reads run %s, written through %s: %s", r.Name, a.mlflowRun, a.via.Name, out)
	assert.Contains(c.t, string(out), a.mlflowRun)
}

// dig reads a value nested in decoded JSON objects, nil when absent.
func dig(v any, path ...string) any {
	for _, k := range path {
		m, _ := v.(map[string]any)
		v = m[k]
	}
	return v
}

// runDocumentedReplicaExample runs the shell example of docs/operations.md's "Running
// several replicas" with its two hosts replaced by replicas a and b, and its experiment
// name made the test's own: the write answers with a bookmark, and the read through b
// with it finds the experiment.
func runDocumentedReplicaExample(t *testing.T, a, b *replica, token, tk string) {
	page, err := os.ReadFile("../../docs/operations.md")
	require.NoError(t, err)
	_, section, found := strings.Cut(string(page), "\n## Running several replicas\n")
	require.True(t, found, "docs/operations.md has the section")
	m := regexp.MustCompile("(?s)```sh\n(.*?)```").FindStringSubmatch(section)
	require.NotNil(t, m, "the section has a shell example")
	script := strings.NewReplacer("https://provgraph-a.example.com", a.Base, "https://provgraph-b.example.com", b.Base,
		"churn-2026", "churn-2026-"+tk).Replace(m[1])
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", script+`printf '\nbookmark=%s\n' "$BOOKMARK"`)
	cmd.Env = append(os.Environ(), "PROVGRAPH_TOKEN="+token)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Regexp(t, `"name":"churn-2026-`+tk+`"`, string(out), "the read through b finds the experiment")
	assert.Regexp(t, `(?m)^bookmark=[A-Za-z0-9_-]{20,}$`, string(out), "the write answered with a bookmark")
}
