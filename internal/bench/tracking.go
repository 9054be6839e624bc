package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"

	"github.com/provgraph/provgraph/apperr"
	"github.com/provgraph/provgraph/store"
)

// trackingSizes are the sizes the experiment-tracking targets name.
const (
	searchRuns      = 100000
	historyPoints   = 1000000
	historyMax      = 1000
	ingestClients   = 4
	ingestDuration  = 15 * time.Second
	pointsPerBatch  = 1000
	keysPerBatch    = 10
	trackingPrefix  = "bench-tracking"
	searchFilter    = "metrics.auc > 0.9 AND params.lr = '0.01'"
	historyRunID    = "b0000000000000000000000000000001"
	historyMetric   = "loss"
	historyExpName  = trackingPrefix + "-history"
	ingestExpPrefix = trackingPrefix + "-ingest"
)

// gql posts one GraphQL request and decodes the response into out, failing on errors.
func gql(client *http.Client, url, query string, vars map[string]any, out any) error {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	resp, err := client.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	var r struct {
		Data   json.RawMessage `json:"data"`
		Errors []any           `json:"errors"`
	}
	if err := json.Unmarshal(b, &r); err != nil || len(r.Errors) > 0 || resp.StatusCode != 200 {
		return fmt.Errorf("bad response %d: %.300s", resp.StatusCode, b)
	}
	if out != nil {
		return json.Unmarshal(r.Data, out)
	}
	return nil
}

// trackingBench measures experiment tracking: metric ingest through the GraphQL batch
// mutation, searchRuns over 100,000 runs, and a 1,000,000-point history down-sampled
// to 1,000. It seeds what it needs once and returns the report's section.
func trackingBench(ctx context.Context, st *store.Store, driver neo4j.DriverWithContext, db string, client *http.Client, url string, requests, warmup int) (string, error) {
	var b strings.Builder
	b.WriteString("\n## Experiment tracking\n\n")

	// searchRuns over 100,000 runs of 10 parameters and 10 metrics each.
	exp, err := st.ExperimentByName(ctx, "name", trackingPrefix)
	if apperr.CodeOf(err) == apperr.NotFound {
		start := time.Now()
		exp, err = st.SeedRuns(ctx, store.RunSeedPlan{Experiment: trackingPrefix, Runs: searchRuns, Seed: 1}, func(n int) {
			fmt.Fprintf(os.Stderr, "\rseeding runs: %d", n)
		})
		fmt.Fprintf(os.Stderr, "\nseeded %d runs in %s\n", searchRuns, time.Since(start).Round(time.Second))
	}
	if err != nil {
		return "", err
	}
	counts, err := neo4j.ExecuteQuery(ctx, driver, `
MATCH (r:Run {experimentId: $exp})-[:HAS_METRIC]->(m:MetricSeries {key: 'auc'}) WHERE m.last > 0.9
MATCH (r)-[:HAS_PARAM]->(:Param {key: 'lr', value: '0.01'})
RETURN count(r) AS matching`, map[string]any{"exp": exp.String("experimentId")}, neo4j.EagerResultTransformer, neo4j.ExecuteQueryWithDatabase(db))
	if err != nil {
		return "", err
	}
	matching, _ := counts.Records[0].Get("matching")
	const searchGQL = `query($exp: ID!, $filter: String!) { searchRuns(filter: $filter, experiments: [$exp], first: 20) {
  edges { node { id } } pageInfo { hasNextPage } } }`
	search, err := measure([]row{{"searchRuns: one metric and one parameter condition over HTTP", func() error {
		var out struct {
			SearchRuns struct{ Edges []any }
		}
		if err := gql(client, url, searchGQL, map[string]any{"exp": exp.Key, "filter": searchFilter}, &out); err != nil {
			return err
		}
		if len(out.SearchRuns.Edges) != 20 {
			return fmt.Errorf("searchRuns returned %d runs, want 20", len(out.SearchRuns.Edges))
		}
		return nil
	}}}, warmup/10, requests/10)
	if err != nil {
		return "", err
	}

	// A history of 1,000,000 points of one metric, down-sampled to 1,000 for a chart.
	histExp, err := st.ExperimentByName(ctx, "name", historyExpName)
	if apperr.CodeOf(err) == apperr.NotFound {
		if histExp, err = st.CreateExperiment(ctx, "bench", store.ExperimentInput{Name: historyExpName}); err != nil {
			return "", err
		}
		id := historyRunID
		if _, err := st.StartRun(ctx, "bench", store.RunInput{Experiment: histExp.Key, RunID: &id}); err != nil {
			return "", err
		}
		t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		for i := 0; i < historyPoints; i += store.MaxMetricsPerCall {
			batch := make([]store.MetricPoint, store.MaxMetricsPerCall)
			for j := range batch {
				step := int64(i + j)
				batch[j] = store.MetricPoint{Key: historyMetric, Step: step, Value: 1 / float64(step+1), Timestamp: t0.Add(time.Duration(step) * time.Millisecond)}
			}
			if _, err := st.LogRun(ctx, "bench", store.RunLog{Run: store.RunKey(historyRunID), Metrics: batch}); err != nil {
				return "", err
			}
			fmt.Fprintf(os.Stderr, "\rlogging history: %d points", i+store.MaxMetricsPerCall)
		}
		fmt.Fprintln(os.Stderr)
	}
	if err != nil {
		return "", err
	}
	const chartGQL = `query($run: ID!) { node(id: $run) { ... on Run { metricChart(key: "loss", maxPoints: 1000) { step value } } } }`
	chart, err := measure([]row{{"metricChart: 1,000,000 points down-sampled to 1,000 over HTTP", func() error {
		var out struct {
			Node struct{ MetricChart []struct{ Step int64 } }
		}
		if err := gql(client, url, chartGQL, map[string]any{"run": store.RunKey(historyRunID)}, &out); err != nil {
			return err
		}
		if n := len(out.Node.MetricChart); n < 4 || n > historyMax {
			return fmt.Errorf("metricChart returned %d points", n)
		}
		if out.Node.MetricChart[0].Step != 0 || out.Node.MetricChart[len(out.Node.MetricChart)-1].Step != historyPoints-1 {
			return fmt.Errorf("metricChart lost the first or last point")
		}
		return nil
	}}}, warmup/30, requests/20)
	if err != nil {
		return "", err
	}

	// Metric ingest through the GraphQL logRun batch mutation: concurrent clients, each
	// logging to its own run batches of 1,000 points (10 metrics x 100 steps).
	ingestExp, err := st.CreateExperiment(ctx, "bench", store.ExperimentInput{Name: fmt.Sprintf("%s-%d", ingestExpPrefix, time.Now().UnixNano())})
	if err != nil {
		return "", err
	}
	const logGQL = `mutation($input: LogRunInput!) { logRun(input: $input) { run { id } } }`
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		total   int
		ingestE error
	)
	start := time.Now()
	deadline := start.Add(ingestDuration)
	for c := range ingestClients {
		run, err := st.StartRun(ctx, "bench", store.RunInput{Experiment: ingestExp.Key})
		if err != nil {
			return "", err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			ts := time.Now().UTC()
			for batch := 0; time.Now().Before(deadline); batch++ {
				points := make([]map[string]any, 0, pointsPerBatch)
				for s := range pointsPerBatch / keysPerBatch {
					for k := range keysPerBatch {
						points = append(points, map[string]any{"key": fmt.Sprintf("metric_%d", k), "value": float64(batch*100+s) / 7,
							"step": batch*100 + s, "timestamp": ts.Format(time.RFC3339Nano)})
					}
				}
				if err := gql(client, url, logGQL, map[string]any{"input": map[string]any{"run": run.Key, "metrics": points}}, nil); err != nil {
					mu.Lock()
					ingestE = fmt.Errorf("client %d: %w", c, err)
					mu.Unlock()
					return
				}
				mu.Lock()
				total += len(points)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if ingestE != nil {
		return "", ingestE
	}
	rate := float64(total) / elapsed.Seconds()
	fmt.Fprintf(os.Stderr, "metric ingest: %d points in %s = %.0f points/s\n", total, elapsed.Round(time.Millisecond), rate)

	fmt.Fprintf(&b, "- Data: an experiment of %d seeded runs with %d parameters and %d metrics each "+
		"(`lr` one of %d values, `auc` uniform in [0.5, 1)); a run with one metric of %d points logged in batches of %d\n",
		searchRuns, store.SeedRunParams, store.SeedRunMetrics, len(store.SeedLearningRates), historyPoints, store.MaxMetricsPerCall)
	fmt.Fprintf(&b, "- Method: sequential requests over HTTP through the real handler; the search asks for the first 20 of the "+
		"%d runs matching `%s`, newest first\n\n", matching, searchFilter)
	b.WriteString("| what | p50 | p99 | max |\n|---|---|---|---|\n")
	for _, x := range append(search, chart...) {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", x.name, ms(x.p50), ms(x.p99), ms(x.max))
	}
	fmt.Fprintf(&b, "\nTargets: searchRuns p50 ≤ 50 ms; the down-sampled history ≤ 100 ms.\n\n")
	fmt.Fprintf(&b, "Metric ingest through the GraphQL `logRun` batch mutation: %d clients, each logging batches of %d points "+
		"(%d metrics × %d steps) to its own run for %s: **%.0f points/s** (%d points; target ≥ 100,000 points/s). "+
		"Points are stored in chunks of %d per run and metric, with the series summary updated in the same transaction, "+
		"so a batch costs one summary write and about one chunk write per metric, not one write per point.\n",
		ingestClients, pointsPerBatch, keysPerBatch, pointsPerBatch/keysPerBatch, ingestDuration, rate, total, store.MetricChunkSize)
	return b.String(), nil
}
