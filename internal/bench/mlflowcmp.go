package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/provgraph/provgraph/auth"
)

// The MLflow comparison: the same REST calls, from the same client code, against
// provgraph's MLflow surface and a real MLflow tracking server (SQLite backend,
// `mlflow server` from PyPI) on this machine, in the same run.
const (
	cmpRuns        = 10000
	cmpSeeders     = 8
	cmpClients     = 4
	cmpDuration    = 10 * time.Second
	cmpWarmup      = time.Minute
	cmpSearches    = 50
	cmpSearchQuery = "metrics.auc > 0.9 and params.lr = '0.01'"
)

// mlflowTarget is one server speaking MLflow's REST API.
type mlflowTarget struct {
	name   string
	base   string
	client *http.Client
}

func (t mlflowTarget) call(path string, body any, out any) error {
	b, _ := json.Marshal(body)
	resp, err := t.client.Post(t.base+"/api/2.0/mlflow/"+path, "application/json", bytes.NewReader(b))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != 200 {
		return fmt.Errorf("%s %s: %d %.300s", t.name, path, resp.StatusCode, data)
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

func (t mlflowTarget) postRaw(path string, body []byte) error {
	resp, err := t.client.Post(t.base+"/api/2.0/mlflow/"+path, "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return fmt.Errorf("%s %s: %d %.300s", t.name, path, resp.StatusCode, data)
	}
	return nil
}

// startMLflow starts `mlflow server` with a SQLite store in dir and waits until it
// answers; stop ends it.
func startMLflow(python, dir string) (base string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	logFile, err := os.Create(filepath.Join(dir, "mlflow-server.log"))
	if err != nil {
		return "", nil, err
	}
	cmd := exec.Command(python, "-m", "mlflow", "server",
		"--backend-store-uri", "sqlite:///"+filepath.Join(dir, "mlflow.db"),
		"--default-artifact-root", filepath.Join(dir, "artifacts"),
		"--host", "127.0.0.1", "--port", fmt.Sprint(port))
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// mlflow server forks uvicorn workers and job consumers: run it in its own process
	// group and end the whole group, or they outlive the benchmark.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop = func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_, _ = cmd.Process.Wait()
		logFile.Close()
	}
	base = fmt.Sprintf("http://127.0.0.1:%d", port)
	for deadline := time.Now().Add(3 * time.Minute); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		if resp, err := http.Get(base + "/health"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return base, stop, nil
			}
		}
	}
	stop()
	return "", nil, fmt.Errorf("mlflow server did not answer within 3 minutes; see %s", logFile.Name())
}

type cmpResult struct {
	pointsPerSec     float64
	seed             time.Duration
	searchP50, p99   time.Duration
	matching, points int
}

// mlflowWorkload runs the comparison's calls against one target.
//
// It is long because it is a measurement script read top to bottom: log-batch
// throughput, then search, each set up, timed and printed in place, so that both
// targets are sure to get the very same calls.
func mlflowWorkload(ctx context.Context, t mlflowTarget, tag string) (cmpResult, error) {
	var res cmpResult
	var exp struct {
		ExperimentID string `json:"experiment_id"`
	}
	if err := t.call("experiments/create", map[string]any{"name": "bench-cmp-" + tag}, &exp); err != nil {
		return res, err
	}
	newRun := func() (string, error) {
		var r struct {
			Run struct {
				Info struct {
					RunID string `json:"run_id"`
				} `json:"info"`
			} `json:"run"`
		}
		err := t.call("runs/create", map[string]any{"experiment_id": exp.ExperimentID, "start_time": time.Now().UnixMilli()}, &r)
		return r.Run.Info.RunID, err
	}

	// log-batch throughput: each client its own run, batches of 1,000 metric points
	// (10 metrics x 100 steps), bodies encoded before the clock starts.
	bodies := make([]stampedBodies, cmpClients)
	for c := range cmpClients {
		run, err := newRun()
		if err != nil {
			return res, err
		}
		bodies[c].stamp, bodies[c].round = msStamps(time.Now())
		ts := json.Number(bodies[c].stamp)
		for b := range 10 {
			metrics := make([]map[string]any, 0, 1000)
			for s := range 100 {
				for k := range 10 {
					metrics = append(metrics, map[string]any{"key": fmt.Sprintf("metric_%d", k), "value": float64(b*100+s) / 7, "timestamp": ts, "step": b*100 + s})
				}
			}
			body, _ := json.Marshal(map[string]any{"run_id": run, "metrics": metrics})
			if err := bodies[c].add(body, 1000); err != nil {
				return res, err
			}
		}
	}
	// The same traffic first, unmeasured: a Neo4j just seeded or restarted took it at
	// a third to a half of the rate it reached after a minute of it (BENCHMARKS.md,
	// "MLflow log-batch after a warm-up"). Each client's requests keep their
	// numbering, so no point is sent twice.
	next := make([]int, cmpClients)
	if _, err := logBatches(t, bodies, next, time.Now().Add(cmpWarmup)); err != nil {
		return res, err
	}
	start := time.Now()
	points, err := logBatches(t, bodies, next, start.Add(cmpDuration))
	if err != nil {
		return res, err
	}
	res.points = points
	res.pointsPerSec = float64(res.points) / time.Since(start).Seconds()
	fmt.Fprintf(os.Stderr, "%s log-batch: %.0f points/s\n", t.name, res.pointsPerSec)

	// searchRuns over 10,000 runs of 10 parameters and 10 metrics each.
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	start = time.Now()
	runs := make(chan int)
	go func() {
		for i := range cmpRuns {
			runs <- i
		}
		close(runs)
	}()
	for range cmpSeeders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range runs {
				run, err := newRun()
				if err == nil {
					params := make([]map[string]any, 0, 10)
					metrics := make([]map[string]any, 0, 10)
					lrs := []string{"0.001", "0.01", "0.1", "1"}
					params = append(params, map[string]any{"key": "lr", "value": lrs[i%len(lrs)]})
					metrics = append(metrics, map[string]any{"key": "auc", "value": 0.5 + float64((i*7919)%1000)/2000, "timestamp": time.Now().UnixMilli(), "step": 0})
					for k := 1; k < 10; k++ {
						params = append(params, map[string]any{"key": fmt.Sprintf("p%d", k), "value": fmt.Sprint((i * k) % 17)})
						metrics = append(metrics, map[string]any{"key": fmt.Sprintf("m%d", k), "value": float64((i*k)%100) / 100, "timestamp": time.Now().UnixMilli(), "step": 0})
					}
					err = t.call("runs/log-batch", map[string]any{"run_id": run, "params": params, "metrics": metrics}, nil)
				}
				if err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	if first != nil {
		return res, first
	}
	res.seed = time.Since(start)
	fmt.Fprintf(os.Stderr, "%s: %d runs created in %s\n", t.name, cmpRuns, res.seed.Round(time.Second))
	var lat []time.Duration
	for i := range cmpSearches + 5 {
		var out struct {
			Runs []any `json:"runs"`
		}
		t0 := time.Now()
		if err := t.call("runs/search", map[string]any{"experiment_ids": []string{exp.ExperimentID}, "filter": cmpSearchQuery, "max_results": 100}, &out); err != nil {
			return res, err
		}
		if i >= 5 {
			lat = append(lat, time.Since(t0))
		}
		res.matching = len(out.Runs)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	res.searchP50, res.p99 = lat[len(lat)/2], lat[len(lat)*99/100]
	fmt.Fprintf(os.Stderr, "%s runs/search: p50 %s p99 %s\n", t.name, res.searchP50, res.p99)
	return res, nil
}

// logBatches has each client c post its log-batch bodies one after another, from its
// request next[c] on, until deadline, and returns the points accepted; next is left
// at each client's next request. A client stops at its first error; the first error
// of any is returned.
func logBatches(t mlflowTarget, bodies []stampedBodies, next []int, deadline time.Time) (int, error) {
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		first  error
		points int
	)
	for c := range next {
		wg.Go(func() {
			for ; time.Now().Before(deadline); next[c]++ {
				err := t.postRaw("runs/log-batch", bodies[c].body(next[c]))
				mu.Lock()
				if err != nil && first == nil {
					first = err
				}
				if err == nil {
					points += 1000
				}
				mu.Unlock()
				if err != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	return points, first
}

// mlflowComparison measures provgraph's MLflow surface (called with token) against a
// real MLflow server and returns the report's section; without a python that has mlflow
// it says so.
func mlflowComparison(ctx context.Context, provgraphBase, token, python string) (string, error) {
	var b strings.Builder
	b.WriteString("\n## MLflow REST: provgraph and a real MLflow server\n\n")
	if _, err := os.Stat(python); err != nil {
		fmt.Fprintf(&b, "Not measured: no MLflow server to compare with (`%s` is missing; `make bench` installs it).\n", python)
		return b.String(), nil
	}
	dir, err := os.MkdirTemp("", "provgraph-mlflow-bench-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	mlflowBase, stop, err := startMLflow(python, dir)
	if err != nil {
		return "", err
	}
	defer stop()
	version, _ := exec.Command(python, "-c", "import mlflow; print(mlflow.__version__)").Output()
	tag := fmt.Sprint(time.Now().UnixNano())
	transport := &http.Transport{MaxIdleConnsPerHost: cmpSeeders}
	pg, err := mlflowWorkload(ctx, mlflowTarget{"provgraph", provgraphBase, &http.Client{Transport: auth.BearerTransport(token, transport)}}, tag)
	if err != nil {
		return "", err
	}
	ml, err := mlflowWorkload(ctx, mlflowTarget{"mlflow", mlflowBase, &http.Client{Transport: transport}}, tag)
	if err != nil {
		return "", err
	}
	fmt.Fprintf(&b, "- MLflow: `mlflow server` %s from PyPI, SQLite backend, on the same machine, started by the benchmark\n", strings.TrimSpace(string(version)))
	fmt.Fprintf(&b, "- log-batch: %d clients, each logging batches of 1,000 metric points (10 metrics × 100 steps) to its own run for %s after %s of the same unmeasured, bodies encoded before the clock starts and given timestamps of their own per request, so no point is sent twice\n", cmpClients, cmpDuration, cmpWarmup)
	fmt.Fprintf(&b, "- search: %d runs with 10 parameters and 10 metrics each, created through the API by %d clients; then `runs/search` with `%s` (max_results 100), %d times after 5 warm-up calls\n\n", cmpRuns, cmpSeeders, cmpSearchQuery, cmpSearches)
	b.WriteString("| what | provgraph | MLflow | provgraph ÷ MLflow |\n|---|---|---|---|\n")
	fmt.Fprintf(&b, "| log-batch metric points/s | %.0f | %.0f | %.1f× |\n", pg.pointsPerSec, ml.pointsPerSec, pg.pointsPerSec/ml.pointsPerSec)
	fmt.Fprintf(&b, "| runs/search p50 | %s | %s | %.2f× the time |\n", ms(pg.searchP50), ms(ml.searchP50), float64(pg.searchP50)/float64(ml.searchP50))
	fmt.Fprintf(&b, "| runs/search p99 | %s | %s | |\n", ms(pg.p99), ms(ml.p99))
	fmt.Fprintf(&b, "| creating the %d runs (2 calls each) | %s | %s | |\n", cmpRuns, pg.seed.Round(time.Second), ml.seed.Round(time.Second))
	fmt.Fprintf(&b, "\nBoth searches returned %d and %d runs (the first page). Target: provgraph's log-batch ≥ 10× MLflow's.\n", pg.matching, ml.matching)
	return b.String(), nil
}
