package main

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// SageMaker event ingest: EventBridge "SageMaker Training Job State Change" events,
// shaped like ingest/sagemaker/testdata/training_{inprogress,completed}.json, posted one
// per request to /api/v1/sagemaker/events by one or more concurrent clients. Every job
// reads 3 of the same 4 S3 datasets (the popular inputs every client shares, where
// concurrent writers meet on the same dataset version), writes a model artifact of its
// own and is reported twice, InProgress then Completed, as SageMaker reports it.
//
// Only the HTTP surface is used (the path and the answer's counts), so the section
// measures any commit of the store alike: run it before and after a change.
const (
	smPath            = "/api/v1/sagemaker/events"
	smEventsPerClient = 400 // 200 jobs, each reported twice
	smWarmupEvents    = 100
	smSharedInputs    = 4
	smChannels        = 3
)

// smClientCounts are the numbers of concurrent clients measured, one row each.
var smClientCounts = []int{1, 2, 4}

// smEvents makes one client's request bodies, encoded before the clock starts: events
// of jobs named <run>-c<client>-j<i>, each job's InProgress event followed by its
// Completed one. Job i reads every shared input but the (i mod 4)th, so every pair of
// jobs shares at least two inputs.
func smEvents(run string, client, events int, base time.Time) [][]byte {
	bodies := make([][]byte, 0, events)
	for i := 0; len(bodies) < events; i++ {
		job := fmt.Sprintf("%s-c%d-j%d", run, client, i)
		arn := "arn:aws:sagemaker:us-east-1:123456789012:training-job/" + job
		output := fmt.Sprintf("s3://%s-models/client-%d/job-%d", run, client, i)
		created := base.Add(time.Duration(i) * time.Second)
		inputs := make([]any, 0, smChannels)
		for k := range smSharedInputs {
			if k == i%smSharedInputs {
				continue
			}
			inputs = append(inputs, map[string]any{
				"ChannelName": []string{"train", "validation", "test", "holdout"}[k],
				"DataSource": map[string]any{"S3DataSource": map[string]any{
					"S3DataType": "S3Prefix", "S3Uri": fmt.Sprintf("s3://%s-lake/features/shared-%d", run, k),
					"S3DataDistributionType": "FullyReplicated",
				}},
				"ContentType": "text/csv", "CompressionType": "None", "RecordWrapperType": "None",
			})
		}
		for _, status := range []string{"InProgress", "Completed"} {
			if len(bodies) == events {
				break
			}
			detail := map[string]any{
				"TrainingJobName": job, "TrainingJobArn": arn,
				"TrainingJobStatus": status, "SecondaryStatus": map[string]string{"InProgress": "Starting", "Completed": "Completed"}[status],
				"HyperParameters": map[string]any{
					"eta": "0.2", "max_depth": strconv.Itoa(4 + i%4), "num_round": "200", "objective": "binary:logistic",
				},
				"AlgorithmSpecification": map[string]any{
					"TrainingImage":     "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
					"TrainingInputMode": "File",
				},
				"RoleArn":           "arn:aws:iam::123456789012:role/service-role/AmazonSageMaker-ExecutionRole-20260101T000000",
				"InputDataConfig":   inputs,
				"OutputDataConfig":  map[string]any{"KmsKeyId": "", "S3OutputPath": output},
				"ResourceConfig":    map[string]any{"InstanceType": "ml.m5.2xlarge", "InstanceCount": 2, "VolumeSizeInGB": 30},
				"VpcConfig":         map[string]any{},
				"StoppingCondition": map[string]any{"MaxRuntimeInSeconds": 86400},
				"CreationTime":      strconv.FormatInt(created.UnixMilli(), 10),
				"LastModifiedTime":  strconv.FormatInt(created.Add(10*time.Second).UnixMilli(), 10),
				"ExperimentConfig": map[string]any{
					"ExperimentName": fmt.Sprintf("%s-c%d", run, client), "TrialName": fmt.Sprintf("%s-c%d-sweep", run, client),
					"TrialComponentDisplayName": fmt.Sprintf("xgb-%d", i),
				},
				"Tags": map[string]any{},
			}
			at := created.Add(10 * time.Second)
			if status == "Completed" {
				at = created.Add(30 * time.Minute)
				detail["TrainingStartTime"] = strconv.FormatInt(created.Add(time.Minute).UnixMilli(), 10)
				detail["TrainingEndTime"] = strconv.FormatInt(at.UnixMilli(), 10)
				detail["LastModifiedTime"] = strconv.FormatInt(at.UnixMilli(), 10)
				detail["ModelArtifacts"] = map[string]any{"S3ModelArtifacts": output + "/" + job + "/output/model.tar.gz"}
			}
			b, _ := json.Marshal(map[string]any{
				"version": "0", "id": fmt.Sprintf("%s-%d-%d-%s", run, client, i, status),
				"detail-type": "SageMaker Training Job State Change", "source": "aws.sagemaker",
				"account": "123456789012", "time": at.UTC().Format(time.RFC3339), "region": "us-east-1",
				"resources": []string{arn}, "detail": detail,
			})
			bodies = append(bodies, b)
		}
	}
	return bodies
}

// smPost posts one event and fails unless the answer is a 2xx that counts it accepted
// (a refused single event is answered 4xx or 5xx; an ignored one would not count).
func smPost(client *http.Client, url string, body []byte) error {
	resp, err := client.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	var out struct {
		Accepted int `json:"accepted"`
	}
	if resp.StatusCode/100 != 2 || json.Unmarshal(b, &out) != nil || out.Accepted != 1 {
		return fmt.Errorf("sagemaker event: answered %d: %.300s", resp.StatusCode, b)
	}
	return nil
}

// smRun is one measured row: how many events were accepted, how many requests failed,
// in how long, and every request's latency.
type smRun struct {
	accepted, errors int
	elapsed          time.Duration
	latencies        []time.Duration
	firstErr         error
}

// smIngest posts every client's events, the clients concurrently and each one request
// after another.
func smIngest(client *http.Client, url string, perClient [][][]byte) smRun {
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		out smRun
	)
	start := time.Now()
	for _, bodies := range perClient {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lat := make([]time.Duration, 0, len(bodies))
			accepted, errs := 0, 0
			var first error
			for _, b := range bodies {
				t := time.Now()
				err := smPost(client, url, b)
				lat = append(lat, time.Since(t))
				if err != nil {
					errs++
					first = cmp.Or(first, err)
					continue
				}
				accepted++
			}
			mu.Lock()
			out.accepted += accepted
			out.errors += errs
			out.latencies = append(out.latencies, lat...)
			out.firstErr = cmp.Or(out.firstErr, first)
			mu.Unlock()
		}()
	}
	wg.Wait()
	out.elapsed = time.Since(start)
	sort.Slice(out.latencies, func(i, j int) bool { return out.latencies[i] < out.latencies[j] })
	return out
}

// sageMakerBench returns the report's section on SageMaker event ingest. Any request
// that is not accepted fails the benchmark, after its row is printed.
func sageMakerBench(client *http.Client, base string) (string, error) {
	url := base + smPath
	run := "bench-sm-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	now := time.Now().UTC().Truncate(time.Second)
	if w := smIngest(client, url, [][][]byte{smEvents(run+"-warmup", 0, smWarmupEvents, now)}); w.firstErr != nil {
		return "", fmt.Errorf("warm-up: %w", w.firstErr)
	}
	var b strings.Builder
	b.WriteString("\n## SageMaker ingest\n\nTraining-job events per second with 1, 2 and 4 concurrent clients whose jobs read the same input datasets.\n\n")
	if heap, pc := os.Getenv("NEO4J_HEAP"), os.Getenv("NEO4J_PAGECACHE"); heap != "" || pc != "" {
		fmt.Fprintf(&b, "- Neo4j: heap %s, page cache %s (NEO4J_HEAP, NEO4J_PAGECACHE; scripts/neo4j.sh's default is 4g each)\n", cmp.Or(heap, "4g"), cmp.Or(pc, "4g"))
	}
	fmt.Fprintf(&b, "- Data: EventBridge \"SageMaker Training Job State Change\" events shaped like `ingest/sagemaker/testdata/training_*.json` "+
		"(hyper-parameters, ExperimentConfig, resource config); each job reads %d of the same %d S3 datasets, which all clients share "+
		"(the popular inputs), writes a model artifact of its own, and is reported twice, InProgress then Completed. "+
		"Job names carry a prefix of their own per run (`%s`) and each row has its own jobs and shared datasets, so runs never collide\n"+
		"- Method: each client posts %d events (%d jobs), one event per request to `%s`, each request after the answer to the previous; "+
		"the clients run concurrently over HTTP through the real handler on a loopback listener, bodies encoded before the clock starts. "+
		"An event counts when the answer is a 2xx saying it was accepted (after its transaction committed); anything else is an error "+
		"and fails the benchmark. %d events went first to warm up. Latency is per request, over all clients\n\n"+
		"| clients | events | errors | time | events/s | p50 | p99 | max |\n|---|---|---|---|---|---|---|---|\n",
		smChannels, smSharedInputs, run, smEventsPerClient, smEventsPerClient/2, smPath, smWarmupEvents)
	loadBefore := loadAverage()
	var failed error
	for _, clients := range smClientCounts {
		perClient := make([][][]byte, clients)
		for c := range clients {
			perClient[c] = smEvents(fmt.Sprintf("%s-%dc", run, clients), c, smEventsPerClient, now)
		}
		r := smIngest(client, url, perClient)
		rate := float64(r.accepted) / r.elapsed.Seconds()
		n := len(r.latencies)
		p50, p99, mx := r.latencies[n/2], r.latencies[n*99/100], r.latencies[n-1]
		fmt.Fprintf(os.Stderr, "sagemaker (%d clients): %d events accepted, %d errors in %s = %.0f events/s; p50 %s p99 %s max %s\n",
			clients, r.accepted, r.errors, r.elapsed.Round(time.Millisecond), rate, p50, p99, mx)
		fmt.Fprintf(&b, "| %d | %d | %d | %s | %.0f | %s | %s | %s |\n",
			clients, r.accepted, r.errors, r.elapsed.Round(time.Millisecond), rate, ms(p50), ms(p99), ms(mx))
		if r.firstErr != nil {
			failed = cmp.Or(failed, fmt.Errorf("%d clients: %d of %d requests failed, the first: %w", clients, r.errors, n, r.firstErr))
		}
	}
	fmt.Fprintf(&b, "\nThe machine's 1-minute load average was %s before the first row and %s after the last, on %d cores; "+
		"a load above the core count before the run means other work shared the CPU. ", loadBefore, loadAverage(), runtime.NumCPU())
	if failed != nil {
		return b.String(), failed
	}
	b.WriteString("Every job also records a run of its client's experiment and its hyper-parameters, as the ExperimentConfig asks. " +
		"Compare rows of the same database size; the 4-client row is where concurrent jobs meet on the shared input versions.\n")
	return b.String(), nil
}

// loadAverage is the machine's 1-minute load average, or "unknown".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) > 0 {
		return f[0]
	}
	return "unknown"
}
