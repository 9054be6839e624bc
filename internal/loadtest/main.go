// Command loadtest drives mixed traffic at a provgraph server running as its own
// process, as `make loadtest` does: 70% lineage and audit-trail queries, 20% metric
// batches, 10% OpenLineage events, from many concurrent clients for a fixed time,
// against the benchmark's seeded graph (seeded first when missing). It reports errors,
// p50/p99 per operation, throughput and the server's peak resident memory, and writes
// them into the "Load test" section of BENCHMARKS.md.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/uuid"

	"github.com/provgraph/provgraph/auth"
	"github.com/provgraph/provgraph/internal/benchenv"
	"github.com/provgraph/provgraph/store"
)

// prefix is the benchmark's seeded graph (internal/bench).
const prefix = "bench"

// Operations and their share of the traffic, in percent.
var mix = []struct {
	name  string
	share int
}{
	{"lineage", 35}, {"auditTrail", 35}, {"logRun (100 points)", 20}, {"OpenLineage event", 10},
}

func main() {
	clients := flag.Int("clients", 64, "concurrent clients")
	duration := flag.Duration("duration", 2*time.Minute, "how long the traffic runs, measured")
	warmup := flag.Duration("warmup", 3*time.Minute, "how long the same traffic runs first, unmeasured: a Neo4j just started and seeded is still settling (measured from its start it took 280-285 requests/s, after 1 minute 365, after 3 minutes 442, as much as one that had run for over an hour)")
	nodes := flag.Int("nodes", 1000000, "size of the seeded graph (the benchmark's; seeded when missing)")
	bin := flag.String("bin", "bin/provgraph", "the provgraph binary to run as the server")
	out := flag.String("out", "BENCHMARKS.md", "file whose Load test section is written")
	replicas := flag.Int("replicas", 1, "provgraph serve processes sharing the database; client i talks to replica i mod replicas")
	flag.Parse()
	if *replicas < 1 {
		fmt.Fprintln(os.Stderr, "loadtest: --replicas must be at least 1")
		os.Exit(2)
	}
	if *warmup < 0 {
		fmt.Fprintln(os.Stderr, "loadtest: --warmup must not be negative")
		os.Exit(2)
	}
	if err := run(config{*clients, *replicas, *duration, *warmup, *nodes, *bin, *out}); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

// config is what a load test is told.
type config struct {
	clients, replicas int
	duration, warmup  time.Duration
	nodes             int
	bin, outFile      string
}

type sample struct {
	op  int
	dur time.Duration
	err error
}

// run starts the provgraph binary against the seeded graph, drives the mixed traffic
// from the clients for the warm-up and then, measured, for the duration, and writes
// the Load test section.
func run(lt config) error {
	ctx := context.Background()
	st, cfg, err := benchenv.Open(ctx)
	if err != nil {
		return err
	}
	defer st.Close(ctx)
	if _, _, err := st.Seed(ctx, store.SeedPlan{Nodes: lt.nodes, Prefix: prefix, Seed: 1}, func(n, r int) {
		fmt.Fprintf(os.Stderr, "\rseeding: %d nodes, %d relationships", n, r)
	}); err != nil && !strings.Contains(err.Error(), "seeded already") {
		return err
	}
	pipelines := lt.nodes / store.SeedNodesPerPipeline
	expiry := time.Now().Add(24 * time.Hour)
	_, token, err := st.CreateAPIToken(ctx, "loadtest", store.NewAPIToken{
		Name: "loadtest-" + time.Now().UTC().Format("20060102-150405.000"), Role: auth.RoleWriter, ExpiresAt: &expiry})
	if err != nil {
		return err
	}
	exp, err := st.CreateExperiment(ctx, "loadtest", store.ExperimentInput{Name: fmt.Sprintf("loadtest-%d", time.Now().UnixNano())})
	if err != nil {
		return err
	}
	runs := make([]string, lt.clients)
	for i := range runs {
		r, err := st.StartRun(ctx, "loadtest", store.RunInput{Experiment: exp.Key})
		if err != nil {
			return err
		}
		runs[i] = r.Key
	}

	// The servers, each its own process, so their memory is their own.
	servers, err := startServers(lt.bin, cfg, lt.replicas)
	defer servers.stop()
	if err != nil {
		return err
	}
	client := &http.Client{Timeout: 60 * time.Second, Transport: auth.BearerTransport(token, &http.Transport{MaxIdleConnsPerHost: lt.clients, MaxConnsPerHost: lt.clients})}
	if err := awaitServers(ctx, st, client, servers.bases); err != nil {
		return err
	}
	before, err := scrapeAll(client, servers.bases)
	if err != nil {
		return err
	}

	var peakRSS int64
	stopRSS := make(chan struct{})
	rssDone := make(chan struct{})
	go func() {
		defer close(rssDone)
		for {
			peakRSS = max(peakRSS, servers.maxKB("VmRSS"))
			select {
			case <-stopRSS:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()

	warmupErrs := 0 // the warm-up's errors are reported, not measured
	tr := traffic{lt: lt, client: client, bases: servers.bases, runs: runs, pipelines: pipelines,
		ns: fmt.Sprintf("loadtest-%d", time.Now().UnixNano()), steps: make([]int, lt.clients)}
	if lt.warmup > 0 {
		fmt.Fprintf(os.Stderr, "warming up for %s\n", lt.warmup)
		for _, smp := range tr.run(time.Now().Add(lt.warmup)) {
			if smp.err != nil {
				warmupErrs++
			}
		}
		if before, err = scrapeAll(client, servers.bases); err != nil {
			return err
		}
	}
	start := time.Now()
	all := tr.run(start.Add(lt.duration))
	elapsed := time.Since(start)
	close(stopRSS)
	<-rssDone
	peakRSS = max(peakRSS, servers.maxKB("VmHWM"))
	after, err := scrapeAll(client, servers.bases)
	if err != nil {
		return err
	}
	return report(all, lt, warmupErrs, elapsed, peakRSS, whereTheTimeGoes(before, after, lt.replicas))
}

// traffic is the load test's clients: each sends one request after another, picked at
// random from the mix, to its server (client i to server i mod servers). steps[i]
// counts client i's requests, across the warm-up and the measured run, so that its
// metric points and OpenLineage runs are never sent twice.
type traffic struct {
	lt        config
	client    *http.Client
	bases     []string
	runs      []string
	pipelines int
	ns        string
	steps     []int
}

// run drives the clients until deadline and returns every request's sample.
func (tr *traffic) run(deadline time.Time) []sample {
	results := make(chan []sample, tr.lt.clients)
	var wg sync.WaitGroup
	for c := range tr.lt.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := mrand.New(mrand.NewPCG(uint64(c), uint64(42+tr.steps[c])))
			base := tr.bases[c%len(tr.bases)]
			var mine []sample
			for ; time.Now().Before(deadline); tr.steps[c]++ {
				step := tr.steps[c]
				op := pick(rng.IntN(100))
				endpoint := "endpoint:" + prefix + "-endpoint-" + strconv.Itoa(rng.IntN(tr.pipelines)) + "-" + strconv.Itoa(rng.IntN(2))
				t0 := time.Now()
				var err error
				switch op {
				case 0:
					err = graphql(tr.client, base, `query($e: ID!) { lineage(start: [$e], direction: UPSTREAM, maxDepth: 10) { nodes { id kind name } truncated } }`, map[string]any{"e": endpoint})
				case 1:
					err = graphql(tr.client, base, `query($e: ID!) { auditTrail(endpoint: $e) { entries { modelVersion { id } approvalStatus producedBy { id } trainingData { id } } } }`, map[string]any{"e": endpoint})
				case 2:
					err = graphql(tr.client, base, `mutation($input: LogRunInput!) { logRun(input: $input) { run { id } } }`,
						map[string]any{"input": metricBatch(tr.runs[c], step)})
				case 3:
					err = olEvent(tr.client, base, tr.ns, c, step)
				}
				mine = append(mine, sample{op: op, dur: time.Since(t0), err: err})
			}
			results <- mine
		}()
	}
	wg.Wait()
	close(results)
	var all []sample
	for r := range results {
		all = append(all, r...)
	}
	return all
}

// servers are the provgraph serve processes of a load test.
type servers struct {
	bases []string
	procs []*exec.Cmd
}

// startServers starts n provgraph serve processes on free local ports against the
// database cfg names. Call stop even when it fails: it stops those it started.
func startServers(bin string, cfg store.Config, n int) (*servers, error) {
	s := &servers{}
	// The replicas share one audit checkpoint key, as replicas of one service do.
	key, err := auditKeyFile()
	if err != nil {
		return s, err
	}
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return s, err
		}
		addr := ln.Addr().String()
		ln.Close()
		srv := exec.Command(bin, "serve", "--addr", addr, "--log-level", "warn", "--audit-key", key)
		srv.Env = append(os.Environ(), "NEO4J_URI="+cfg.URI, "NEO4J_USER="+cfg.User, "NEO4J_PASSWORD="+cfg.Password, "NEO4J_DATABASE="+cfg.Database)
		srv.Stdout, srv.Stderr = os.Stderr, os.Stderr
		if err := srv.Start(); err != nil {
			return s, fmt.Errorf("start %s: %w", bin, err)
		}
		s.procs = append(s.procs, srv)
		s.bases = append(s.bases, "http://"+addr)
	}
	return s, nil
}

// stop ends the servers with SIGTERM and waits for them.
func (s *servers) stop() {
	for _, p := range s.procs {
		_ = p.Process.Signal(syscall.SIGTERM)
	}
	for _, p := range s.procs {
		_ = p.Wait()
	}
}

// maxKB is the largest memory figure (VmRSS, VmHWM) among the servers, in KiB.
func (s *servers) maxKB(field string) int64 {
	var kb int64
	for _, p := range s.procs {
		kb = max(kb, rssKB(p.Process.Pid, field))
	}
	return kb
}

func pick(n int) int {
	for i, m := range mix {
		if n < m.share {
			return i
		}
		n -= m.share
	}
	return len(mix) - 1
}

// metricBatch is 10 metrics × 10 steps of one run.
func metricBatch(run string, step int) map[string]any {
	points := make([]map[string]any, 0, 100)
	ts := time.Now().UTC().Format(time.RFC3339Nano)
	for s := range 10 {
		for k := range 10 {
			points = append(points, map[string]any{"key": fmt.Sprintf("metric_%d", k), "value": float64(step*10+s) / 7, "step": step*10 + s, "timestamp": ts})
		}
	}
	return map[string]any{"run": run, "metrics": points}
}

// olEvent posts one COMPLETE RunEvent with 2 inputs and 1 output.
func olEvent(client *http.Client, base, ns string, c, step int) error {
	ds := func(name string) map[string]any { return map[string]any{"namespace": ns, "name": name} }
	body, _ := json.Marshal(map[string]any{
		"eventType": "COMPLETE", "eventTime": time.Now().UTC().Format(time.RFC3339Nano),
		"run": map[string]any{"runId": uuid.NewString()}, "job": map[string]any{"namespace": ns, "name": fmt.Sprintf("client_%d.job_%d", c, step%10)},
		"inputs":   []any{ds(fmt.Sprintf("table_%d", step%50)), ds(fmt.Sprintf("table_%d", (step+1)%50))},
		"outputs":  []any{ds(fmt.Sprintf("client_%d.out_%d", c, step))},
		"producer": "https://github.com/provgraph/provgraph/internal/loadtest", "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
	})
	resp, err := client.Post(base+"/api/v1/lineage", "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("OpenLineage event: %d %s", resp.StatusCode, b)
	}
	return nil
}

func graphql(client *http.Client, base, query string, vars map[string]any) error {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	resp, err := client.Post(base+"/graphql", "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	var r struct {
		Errors []json.RawMessage `json:"errors"`
	}
	if err := json.Unmarshal(b, &r); err != nil || resp.StatusCode != http.StatusOK || len(r.Errors) > 0 {
		return fmt.Errorf("graphql: %d %s", resp.StatusCode, truncate(string(b)))
	}
	return nil
}

func truncate(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}

// awaitServers waits until every server is ready and the writes made before the
// traffic (the seed's, the runs') are sequenced: the sequencing lag measured is the
// traffic's, not that of writes recorded while no server ran a sequencer.
func awaitServers(ctx context.Context, st *store.Store, client *http.Client, bases []string) error {
	for _, base := range bases {
		if err := waitReady(client, base); err != nil {
			return err
		}
	}
	if err := st.AwaitAuditSequenced(ctx); err != nil {
		return fmt.Errorf("audit log not sequenced before the traffic: %w", err)
	}
	return nil
}

func waitReady(client *http.Client, base string) error {
	for range 300 {
		resp, err := client.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return errors.New("the server did not become ready within 60s")
}

// rssKB reads a memory figure (VmRSS, VmHWM) of a process from /proc, in KiB.
func rssKB(pid int, field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(float64(len(sorted))*p))]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

func report(all []sample, lt config, warmupErrs int, elapsed time.Duration, peakKB int64, timeGoes string) error {
	clients, duration, nodes := lt.clients, lt.duration, lt.nodes
	var b strings.Builder
	b.WriteString("## Load test\n\n")
	fmt.Fprintf(&b, "Written by `make loadtest` (`go run ./internal/loadtest`).\n\n")
	fmt.Fprintf(&b, "- Date: %s\n- Machine: %s, %d cores, %s\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"), benchenv.CPUModel(), runtime.NumCPU(), runtime.Version())
	fmt.Fprintf(&b, "- Data: the benchmark's seeded graph (`provgraph seed --nodes %d`, prefix `%s`) and whatever else the database holds\n", nodes, prefix)
	servers := "`provgraph serve` as its own process"
	if lt.replicas > 1 {
		servers = fmt.Sprintf("%d `provgraph serve` processes sharing the database, client i talking to replica i mod %d", lt.replicas, lt.replicas)
	}
	warm := "no warm-up"
	if lt.warmup > 0 {
		warm = fmt.Sprintf("after %s of the same traffic, unmeasured (the /metrics table counts from its end; errors during it: %d)", lt.warmup, warmupErrs)
	}
	fmt.Fprintf(&b, "- Method: %s; %d clients, each sending one request after another for %s, %s; "+
		"each request picked at random: 35%% lineage (upstream, depth 10), 35%% auditTrail of a random endpoint, "+
		"20%% a logRun batch of 100 metric points to the client's run, 10%% an OpenLineage RunEvent (2 inputs, 1 output); "+
		"every request authenticated with a writer token; peak RSS is the server process's over the whole run, warm-up included (VmHWM; the largest replica's)\n\n",
		servers, clients, duration, warm)
	b.WriteString("| operation | requests | errors | p50 | p99 |\n|---|---|---|---|---|\n")
	total, errs := 0, 0
	var firstErr error
	for i, m := range mix {
		var durs []time.Duration
		n, e := 0, 0
		for _, s := range all {
			if s.op != i {
				continue
			}
			n++
			if s.err != nil {
				e++
				if firstErr == nil {
					firstErr = s.err
				}
				continue
			}
			durs = append(durs, s.dur)
		}
		slices.Sort(durs)
		total += n
		errs += e
		fmt.Fprintf(&b, "| %s | %d | %d | %s | %s |\n", m.name, n, e, ms(percentile(durs, 0.5)), ms(percentile(durs, 0.99)))
		fmt.Fprintf(os.Stderr, "%-22s %7d requests, %d errors, p50 %s, p99 %s\n", m.name, n, e, ms(percentile(durs, 0.5)), ms(percentile(durs, 0.99)))
	}
	fmt.Fprintf(&b, "\nThroughput: %d requests in %s = **%.0f requests/s**; errors: **%d**; server peak RSS: **%.0f MiB** "+
		"(targets: zero errors, peak RSS ≤ 200 MB).\n", total, elapsed.Round(time.Millisecond), float64(total)/elapsed.Seconds(), errs, float64(peakKB)/1024)
	if firstErr != nil {
		fmt.Fprintf(&b, "\nFirst error: `%s`\n", truncate(firstErr.Error()))
	}
	b.WriteString("\n### Where the time goes\n\n" + timeGoes)
	fmt.Fprint(os.Stderr, timeGoes)
	fmt.Fprintf(os.Stderr, "%d requests in %s, %d errors, peak RSS %.0f MiB\n", total, elapsed.Round(time.Millisecond), errs, float64(peakKB)/1024)
	old, err := os.ReadFile(lt.outFile)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	return os.WriteFile(lt.outFile, []byte(ReplaceSection(string(old), "## Load test", b.String())), 0o644)
}

// ReplaceSection replaces the section of doc that starts with heading (up to the next
// "## " heading) with section, or appends section when doc has none.
func ReplaceSection(doc, heading, section string) string {
	i := strings.Index(doc, "\n"+heading+"\n")
	if i < 0 {
		return strings.TrimRight(doc, "\n") + "\n\n" + section
	}
	rest := doc[i+1+len(heading):]
	j := strings.Index(rest, "\n## ")
	if j < 0 {
		return doc[:i+1] + section
	}
	return doc[:i+1] + section + "\n" + rest[j+1:]
}

// auditKeyFile writes a new audit checkpoint key to a temporary file and returns its
// path.
func auditKeyFile() (string, error) {
	skey, _, err := store.GenerateAuditKey("provgraph-loadtest")
	if err != nil {
		return "", err
	}
	f, err := os.CreateTemp("", "provgraph-loadtest-*.key")
	if err != nil {
		return "", err
	}
	_, err = f.WriteString(skey + "\n")
	return f.Name(), errors.Join(err, f.Close())
}
