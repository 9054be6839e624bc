package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/provgraph/provgraph/auth"
	"github.com/provgraph/provgraph/internal/benchenv"
	"github.com/provgraph/provgraph/server"
	"github.com/provgraph/provgraph/store"
)

// The GraphQL batch write (--only batch): training jobs recorded by 4 concurrent
// clients with recordPipeline, against recordTrainingJob one job per request, the two
// alternating round by round in the same run. It runs before the graph is seeded, on
// the database as it is (fresh, for the numbers BENCHMARKS.md reports).
const (
	batchClients      = 4
	batchJobs         = 500 // training jobs per recordPipeline call
	batchVersions     = 50  // new dataset versions per call; each job reads 2 of them
	batchCallsPerRun  = 4   // calls per client per round
	batchSinglePerRun = 50  // recordTrainingJob requests per client per round
	batchRounds       = 3
)

const benchRecordPipeline = `mutation($input: RecordPipelineInput!) {
  recordPipeline(input: $input) { trainingJobs { created } }
}`

const benchRecordTrainingJob = `mutation($input: RecordTrainingJobInput!) {
  recordTrainingJob(input: $input) { created }
}`

// batchOnly serves the API on the benchmark's database, unseeded, and runs the batch
// section alone, writing it into outFile.
func batchOnly(ctx context.Context, outFile string) error {
	st, _, err := benchenv.OpenSequenced(ctx)
	if err != nil {
		return err
	}
	defer st.Close(ctx)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: server.New(server.Options{Store: st, Logger: zerolog.Nop()})}
	go srv.Serve(ln)
	defer srv.Close()
	expires := time.Now().Add(24 * time.Hour)
	_, token, err := st.CreateAPIToken(ctx, "bench", store.NewAPIToken{Name: "bench-batch-" + time.Now().UTC().Format("20060102-150405.000"),
		Role: auth.RoleWriter, ExpiresAt: &expires})
	if err != nil {
		return err
	}
	client := &http.Client{Transport: auth.BearerTransport(token, &http.Transport{MaxIdleConnsPerHost: batchClients})}
	section, err := batchBench(client, "http://"+ln.Addr().String()+"/graphql")
	if err != nil {
		return err
	}
	heading, rest, _ := strings.Cut(strings.TrimPrefix(section, "\n"), "\n")
	load, _ := os.ReadFile("/proc/loadavg")
	section = fmt.Sprintf("\n%s\n\n- Run: %s on %s, %d cores, %s RAM, load average %s at the end; on the database as it was, "+
		"not seeded by this section; `go run ./internal/bench --only batch`\n%s",
		heading, time.Now().UTC().Format("2006-01-02 15:04 MST"), benchenv.CPUModel(), runtime.NumCPU(), memTotal(),
		strings.Join(strings.Fields(string(load))[:3], " "), rest)
	fmt.Print(section)
	return writeSection(outFile, section, "## Experiment tracking")
}

// batchInput is one recordPipeline call of a client: batchVersions new dataset
// versions and batchJobs training jobs reading two of them each, with new artifacts.
func batchInput(ns string, client, call int) map[string]any {
	lake := fmt.Sprintf("s3://%s-lake", ns)
	versions := make([]any, batchVersions)
	ids := make([]string, batchVersions)
	for v := range versions {
		path := fmt.Sprintf("c%d/call%d/table%d", client, call, v)
		versions[v] = map[string]any{"uri": lake + "/" + path, "digest": "sha256:0"}
		ids[v] = "datasetVersion:" + lake + ":" + path + "#sha256:0"
	}
	jobs := make([]any, batchJobs)
	for j := range jobs {
		jobs[j] = trainingJobInput(ns, fmt.Sprintf("c%d-call%d-job%d", client, call, j), ids[j%batchVersions], ids[(j+1)%batchVersions])
	}
	return map[string]any{"datasetVersions": versions, "trainingJobs": jobs}
}

func trainingJobInput(ns, name string, inputs ...string) map[string]any {
	return map[string]any{
		"namespace": ns, "name": name, "inputs": inputs, "instanceType": "ml.m5.xlarge",
		"hyperParameters": []any{map[string]any{"key": "eta", "value": "0.1"}},
		"modelArtifact":   map[string]any{"uri": fmt.Sprintf("s3://%s-models/%s/model.tar.gz", ns, name), "digest": "sha256:1"},
	}
}

// postMutation sends one mutation and fails on a GraphQL error.
func postMutation(client *http.Client, url, query string, input any, out any) error {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": map[string]any{"input": input}})
	resp, err := client.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var r struct {
		Data   json.RawMessage   `json:"data"`
		Errors []json.RawMessage `json:"errors"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return err
	}
	if len(r.Errors) > 0 {
		return fmt.Errorf("graphql: %s", r.Errors[0])
	}
	return json.Unmarshal(r.Data, out)
}

// concurrently runs work for each client at once and returns the jobs recorded and
// the time taken.
func concurrently(work func(client int) (int, error)) (int, time.Duration, error) {
	start := time.Now()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		total    int
		firstErr error
	)
	for c := range batchClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := work(c)
			mu.Lock()
			defer mu.Unlock()
			total += n
			firstErr = cmp.Or(firstErr, err)
		}()
	}
	wg.Wait()
	return total, time.Since(start), firstErr
}

// batchRound records batchCallsPerRun calls per client with recordPipeline.
func batchRound(client *http.Client, url, ns string) (int, time.Duration, error) {
	return concurrently(func(c int) (int, error) {
		n := 0
		for call := range batchCallsPerRun {
			var out struct {
				RecordPipeline struct {
					TrainingJobs []struct{ Created bool } `json:"trainingJobs"`
				} `json:"recordPipeline"`
			}
			if err := postMutation(client, url, benchRecordPipeline, batchInput(ns, c, call), &out); err != nil {
				return n, err
			}
			for _, j := range out.RecordPipeline.TrainingJobs {
				if j.Created {
					n++
				}
			}
		}
		return n, nil
	})
}

// singleRound records batchSinglePerRun jobs per client with recordTrainingJob, in
// namespace ns, each reading two of inputs.
func singleRound(client *http.Client, url, ns string, inputs []string) (int, time.Duration, error) {
	return concurrently(func(c int) (int, error) {
		n := 0
		for j := range batchSinglePerRun {
			var out struct {
				RecordTrainingJob struct{ Created bool } `json:"recordTrainingJob"`
			}
			in := trainingJobInput(ns, fmt.Sprintf("single-c%d-job%d", c, j), inputs[j%len(inputs)], inputs[(j+1)%len(inputs)])
			if err := postMutation(client, url, benchRecordTrainingJob, in, &out); err != nil {
				return n, err
			}
			if out.RecordTrainingJob.Created {
				n++
			}
		}
		return n, nil
	})
}

// batchBench returns the report's section on the GraphQL batch write.
func batchBench(client *http.Client, url string) (string, error) {
	ns := fmt.Sprintf("bench-batch-%d", time.Now().UnixNano())
	// Warm up both paths; the single rounds read the warm-up call's dataset versions.
	setup := batchInput(ns+"-setup", 0, 0)
	if err := postMutation(client, url, benchRecordPipeline, setup, &struct{}{}); err != nil {
		return "", err
	}
	var inputs []string // the setup call's dataset versions, each once
	for _, j := range setup["trainingJobs"].([]any)[:batchVersions] {
		inputs = append(inputs, j.(map[string]any)["inputs"].([]string)[0])
	}
	if _, _, err := batchRound(client, url, ns+"-warmup"); err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n## GraphQL batch write\n\n"+
		"%d clients record training jobs (2 inputs, a model artifact and a hyper-parameter each) over HTTP: with `recordPipeline`, "+
		"%d calls per client per round, each call %d new dataset versions and %d training jobs reading 2 of them; with "+
		"`recordTrainingJob`, %d requests per client per round, one job each. The two alternate, round by round, in the same run "+
		"(a warm-up round went first). A job counts when the answer says it was created. Target ≥ 2,000 training jobs/s "+
		"with 4 clients.\n\n| round | mutation | jobs | time | jobs/s |\n|---|---|---|---|---|\n",
		batchClients, batchCallsPerRun, batchVersions, batchJobs, batchSinglePerRun)
	var batchJobsAll, singleJobsAll int
	var batchTime, singleTime time.Duration
	for round := 1; round <= batchRounds; round++ {
		n, elapsed, err := singleRound(client, url, fmt.Sprintf("%s-single-r%d", ns, round), inputs)
		if err != nil {
			return "", err
		}
		singleJobsAll, singleTime = singleJobsAll+n, singleTime+elapsed
		fmt.Fprintf(os.Stderr, "batch round %d: recordTrainingJob %d jobs in %s = %.0f jobs/s\n", round, n, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds())
		fmt.Fprintf(&b, "| %d | `recordTrainingJob` | %d | %s | %.0f |\n", round, n, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds())
		n, elapsed, err = batchRound(client, url, fmt.Sprintf("%s-r%d", ns, round))
		if err != nil {
			return "", err
		}
		batchJobsAll, batchTime = batchJobsAll+n, batchTime+elapsed
		fmt.Fprintf(os.Stderr, "batch round %d: recordPipeline %d jobs in %s = %.0f jobs/s\n", round, n, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds())
		fmt.Fprintf(&b, "| %d | `recordPipeline` | %d | %s | %.0f |\n", round, n, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds())
	}
	batchRate, singleRate := float64(batchJobsAll)/batchTime.Seconds(), float64(singleJobsAll)/singleTime.Seconds()
	fmt.Fprintf(&b, "\nIn all: `recordPipeline` %.0f training jobs/s, `recordTrainingJob` %.0f jobs/s (%.0f×). "+
		"A call writes its dataset versions and jobs with one UNWIND statement per kind of change (see `store/pipelines.go`).\n",
		batchRate, singleRate, batchRate/singleRate)
	return b.String(), nil
}
