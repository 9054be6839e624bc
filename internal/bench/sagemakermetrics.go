package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
	"github.com/rs/zerolog"

	"github.com/provgraph/provgraph/auth"
	"github.com/provgraph/provgraph/internal/authtest"
	"github.com/provgraph/provgraph/server"
	"github.com/provgraph/provgraph/store"
)

// SageMaker Metrics' BatchPutMetrics, the call Run.log_metric sends (10 points a call),
// from 4 clients, each to a trial component of its own: how many points a second
// provgraph records, against how many boto3's client can send. Three rows:
//
//   - provgraph, sent by Go clients that sign the same requests boto3 does (SigV4, a
//     body of 10 points): what the server takes, the client costing next to nothing;
//   - provgraph, sent by boto3 (tools/bench/boto3_metrics.py, a thread and a client
//     each): the whole path as the SDK drives it;
//   - a server that answers every call at once without reading it, sent by boto3: the
//     most boto3 can send, which the issue asks provgraph to take twice over.
//
// A fourth row sends from smmManyClients Go clients: 4 clients that each wait for their
// answer keep at most 4 calls in flight, so their rate is bound by a call's latency;
// more clients show what provgraph takes when calls arrive together, as it records
// them in shared transactions (group commit).
const (
	smmClients      = 4
	smmManyClients  = 32
	smmCallsPerGo   = 500
	smmCallsPerPy   = 200
	smmWarmupCalls  = 20
	smmPointsInCall = 10
	smmRegion       = "us-east-1"
)

// sageMakerMetricsBench runs the section with the python of the sagemaker venv.
func sageMakerMetricsBench(ctx context.Context, st *store.Store, driver neo4j.DriverWithContext, db, python string) (string, error) {
	kek, err := auth.NewKEK()
	if err != nil {
		return "", err
	}
	raw, err := hex.DecodeString(kek)
	if err != nil {
		return "", err
	}
	sealer, err := auth.NewSealer(raw)
	if err != nil {
		return "", err
	}
	stamp := time.Now().UTC().Format("20060102-150405")
	expires := time.Now().Add(24 * time.Hour)
	tok, keyID, secret, err := st.CreateAccessKey(ctx, "bench", store.NewAPIToken{Name: "bench-metrics-" + stamp, Role: auth.RoleWriter, ExpiresAt: &expires}, sealer.Seal)
	if err != nil {
		return "", err
	}
	key := authtest.AccessKey{ID: keyID, Secret: secret, Name: tok.Name, Actor: tok.Actor()}
	base, stop, err := serveLoopback(server.New(server.Options{Store: st, Logger: zerolog.Nop(), AccessKeys: sealer}))
	if err != nil {
		return "", err
	}
	defer stop()
	goRate, lat, err := goMetricsClients(base, key, "bench-metrics-"+stamp+"-go-c", smmClients)
	if err != nil {
		return "", err
	}
	manyRate, manyLat, err := goMetricsClients(base, key, "bench-metrics-"+stamp+"-go-many-c", smmManyClients)
	if err != nil {
		return "", err
	}
	pyRate, err := boto3MetricsClients(ctx, python, base, key, "bench-metrics-"+stamp+"-py-c")
	if err != nil {
		return "", err
	}
	nullBase, stopNull, err := serveLoopback(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte("{}"))
	}))
	if err != nil {
		return "", err
	}
	defer stopNull()
	sdkRate, err := boto3MetricsClients(ctx, python, nullBase, key, "bench-metrics-"+stamp+"-null-c")
	if err != nil {
		return "", err
	}
	floorRate, floorLat, err := writeFloor(ctx, driver, db, smmClients, smmCallsPerGo, smmPointsInCall)
	if err != nil {
		return "", err
	}
	// The calls of all clients in one transaction, as group commit at its best would
	// write them: one sender, each transaction the points of one call of every client.
	groupRate, groupLat, err := writeFloor(ctx, driver, db, 1, smmCallsPerGo, smmClients*smmPointsInCall)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n## SageMaker Metrics: BatchPutMetrics\n\n")
	fmt.Fprintf(&b, "%d clients, each sending calls of %d points (the sagemaker SDK's batch) to a trial component of its own over loopback HTTP, signed with SigV4 "+
		"and verified by provgraph; %d warm-up calls a client first. Go clients send %d calls each, boto3 %d (tools/bench/boto3_metrics.py, a thread and a client each).\n\n",
		smmClients, smmPointsInCall, smmWarmupCalls, smmCallsPerGo, smmCallsPerPy)
	fmt.Fprintf(&b, "Four clients that each wait for their answer keep at most four calls in flight, so their rate is bound by a call's latency; "+
		"the row of %d Go clients shows what provgraph takes when more calls arrive together, which it records in shared transactions (group commit).\n\n", smmManyClients)
	fmt.Fprintf(&b, "| sender → server | points/s | per call p50 | per call p99 |\n|---|---|---|---|\n")
	fmt.Fprintf(&b, "| Go (signs like boto3) → provgraph | %.0f | %s | %s |\n", goRate, pct(lat, 50).Round(10*time.Microsecond), pct(lat, 99).Round(10*time.Microsecond))
	fmt.Fprintf(&b, "| Go, %d clients → provgraph | %.0f | %s | %s |\n", smmManyClients, manyRate,
		pct(manyLat, 50).Round(10*time.Microsecond), pct(manyLat, 99).Round(10*time.Microsecond))
	fmt.Fprintf(&b, "| boto3 → provgraph | %.0f | | |\n", pyRate)
	fmt.Fprintf(&b, "| boto3 → a server that answers at once (what boto3 can send) | %.0f | | |\n", sdkRate)
	fmt.Fprintf(&b, "| reference: %d Go clients → Neo4j over Bolt, a bare write transaction a call | %.0f | %s | %s |\n", smmClients, floorRate,
		pct(floorLat, 50).Round(10*time.Microsecond), pct(floorLat, 99).Round(10*time.Microsecond))
	fmt.Fprintf(&b, "| reference: the %d clients' calls in one bare write transaction, one after another | %.0f | %s | %s |\n\n", smmClients, groupRate,
		pct(groupLat, 50).Round(10*time.Microsecond), pct(groupLat, 99).Round(10*time.Microsecond))
	fmt.Fprintf(&b, "What provgraph takes, against what %d boto3 clients can send (the issue asks the server for at least 2×): "+
		"%.1f× from %d Go clients sending at once; %.1f× from %d Go clients that each wait for their answer, a rate bound by a call's latency.\n\n",
		smmClients, manyRate/sdkRate, smmManyClients, goRate/sdkRate, smmClients)
	fmt.Fprintf(&b, "The reference rows are a write of the shape of provgraph's for these calls with nothing above it, sent straight over Bolt "+
		"and answered once committed: one statement a transaction that appends the points to lists kept to the last 90 (the last segment of a series' open tail holds at most 100 points), "+
		"updates a counter and creates one node (as an audit entry is), with no HTTP, signing, validation, deduplication, summaries or sequencing. "+
		"First one transaction per call from %d clients; then one sender writing the %d clients' calls together, %d points a transaction, "+
		"which is what group commit of %d waiting clients would write to one series at a time. "+
		"They are %.1f× and %.1f× what boto3 can send: a reference point for this schema on this machine, not a proven limit.\n",
		smmClients, smmClients, smmClients*smmPointsInCall, smmClients, floorRate/sdkRate, groupRate/sdkRate)
	return b.String(), nil
}

// serveLoopback serves h on a loopback port and returns its base URL and how to stop it.
func serveLoopback(h http.Handler) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), func() { _ = srv.Close() }, nil
}

// signedCall sends one signed AWS request and fails on anything but 200 without Errors.
func signedCall(client *http.Client, key authtest.AccessKey, method, url string, header map[string]string, body []byte) error {
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	key.Sign(req, body, smmRegion, time.Now())
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || bytes.Contains(out, []byte(`"Errors"`)) {
		return fmt.Errorf("%s %s: %d %s", method, url, resp.StatusCode, out)
	}
	return nil
}

// goMetricsClients creates the trial components of clients and times their calls.
func goMetricsClients(base string, key authtest.AccessKey, prefix string, clients int) (float64, []time.Duration, error) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	for i := range clients {
		body, _ := json.Marshal(map[string]any{"TrialComponentName": fmt.Sprintf("%s%d", prefix, i)})
		if err := signedCall(client, key, http.MethodPost, base+"/aws/sagemaker",
			map[string]string{"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "SageMaker.CreateTrialComponent"}, body); err != nil {
			return 0, nil, err
		}
	}
	lat := make([][]time.Duration, clients)
	errs := make([]error, clients)
	var start, done sync.WaitGroup
	start.Add(clients)
	done.Add(clients)
	begin := make(chan struct{})
	for i := range clients {
		go func() {
			defer done.Done()
			call := func(step int) error {
				data := make([]map[string]any, smmPointsInCall)
				for k := range data {
					data[k] = map[string]any{"MetricName": "loss", "Timestamp": float64(time.Now().UnixMicro()) / 1e6,
						"Step": step + k, "Value": 1.0 / float64(step+k+1)}
				}
				body, _ := json.Marshal(map[string]any{"TrialComponentName": fmt.Sprintf("%s%d", prefix, i), "MetricData": data})
				return signedCall(client, key, http.MethodPut, base+"/aws/sagemaker-metrics/BatchPutMetrics",
					map[string]string{"Content-Type": "application/json"}, body)
			}
			step := 0
			for range smmWarmupCalls {
				if errs[i] = call(step); errs[i] != nil {
					start.Done()
					return
				}
				step += smmPointsInCall
			}
			start.Done()
			<-begin
			for range smmCallsPerGo {
				t0 := time.Now()
				if errs[i] = call(step); errs[i] != nil {
					return
				}
				lat[i] = append(lat[i], time.Since(t0))
				step += smmPointsInCall
			}
		}()
	}
	start.Wait()
	t0 := time.Now()
	close(begin)
	done.Wait()
	return clientRate(clients*smmCallsPerGo*smmPointsInCall, time.Since(t0), lat, errs)
}

// clientRate is what clients that sent points in all, in elapsed, achieved: the points
// a second and every call's latency, or the first client's error.
func clientRate(points int, elapsed time.Duration, lat [][]time.Duration, errs []error) (float64, []time.Duration, error) {
	var all []time.Duration
	for i := range lat {
		if errs[i] != nil {
			return 0, nil, errs[i]
		}
		all = append(all, lat[i]...)
	}
	return float64(points) / elapsed.Seconds(), all, nil
}

// boto3MetricsClients runs tools/bench/boto3_metrics.py against base, after creating
// its trial components, and returns the points a second it sent.
func boto3MetricsClients(ctx context.Context, python, base string, key authtest.AccessKey, prefix string) (float64, error) {
	client := &http.Client{}
	for i := range smmClients {
		body, _ := json.Marshal(map[string]any{"TrialComponentName": fmt.Sprintf("%s%d", prefix, i)})
		// The null server answers this too; provgraph records the trial component.
		if err := signedCall(client, key, http.MethodPost, base+"/aws/sagemaker",
			map[string]string{"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "SageMaker.CreateTrialComponent"}, body); err != nil {
			return 0, err
		}
	}
	cmd := exec.CommandContext(ctx, python, "tools/bench/boto3_metrics.py", "--threads", fmt.Sprint(smmClients),
		"--calls", fmt.Sprint(smmCallsPerPy), "--trial-component-prefix", prefix)
	cmd.Env = []string{"AWS_ENDPOINT_URL_SAGEMAKER_METRICS=" + base + "/aws/sagemaker-metrics", "AWS_DEFAULT_REGION=" + smmRegion,
		"AWS_ACCESS_KEY_ID=" + key.ID, "AWS_SECRET_ACCESS_KEY=" + key.Secret, "AWS_CONFIG_FILE=/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true"}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("boto3_metrics.py: %v: %s", err, errOut.String())
	}
	var res struct {
		Points  int     `json:"points"`
		Seconds float64 `json:"seconds"`
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		return 0, fmt.Errorf("boto3_metrics.py printed %q: %w", out.String(), err)
	}
	return float64(res.Points) / res.Seconds, nil
}
