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

// gql posts one GraphQL request and decodes the response's data into out, failing on
// errors.
func gql(client *http.Client, url, query string, vars map[string]any, out any) error {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	data, err := post(client, url, body)
	if err != nil || out == nil {
		return err
	}
	return json.Unmarshal(data, out)
}

// trackingBench measures experiment tracking: metric ingest through the GraphQL batch
// mutation, searchRuns over 100,000 runs, and a 1,000,000-point history down-sampled
// to 1,000. It seeds what it needs once and returns the report's section.
//
// It is long because it is a measurement script read top to bottom, in the order the
// report's section reads: each part seeds, measures and writes its lines in place.
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
	// logging to its own run batches of 1,000 points (10 metrics x 100 steps), in both
	// input forms. Request bodies are encoded before the clock starts: this measures the
	// server, not the client's JSON encoder, which shares the machine.
	rows, err := ingest(ctx, st, client, url, "metrics")
	if err != nil {
		return "", err
	}
	lists, err := ingest(ctx, st, client, url, "metricSeries")
	if err != nil {
		return "", err
	}

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
	fmt.Fprintf(&b, "Metric ingest through the GraphQL `logRun` batch mutation (target ≥ 150,000 points/s): %d clients, each logging "+
		"batches of %d points (%d metrics × %d steps) to its own run for %s, request bodies encoded before the clock starts and given timestamps of their own per request, so no point is sent twice:\n\n",
		ingestClients, pointsPerBatch, keysPerBatch, pointsPerBatch/keysPerBatch, ingestDuration)
	b.WriteString("| input form | points | points/s |\n|---|---|---|\n")
	fmt.Fprintf(&b, "| `metrics`: one object per point | %d | %.0f |\n", rows.total, rows.rate)
	fmt.Fprintf(&b, "| `metricSeries`: parallel lists per metric | %d | %.0f |\n", lists.total, lists.rate)
	fmt.Fprintf(&b, "\nPoints are stored in chunks of %d per run and metric, with the series summary updated in the same transaction, "+
		"so a batch costs one summary write per metric and a chunk write per %d points, not one write per point. "+
		"The object form costs the server more than the list form: a thousand input objects to decode from JSON and into Go "+
		"(gqlparser's reflective check of them is stepped around, see server/fastvars.go).\n", store.MetricChunkSize, store.MetricChunkSize)
	return b.String(), nil
}

type ingestResult struct {
	total int
	rate  float64
}

// ingest logs metric points through logRun from ingestClients clients for
// ingestDuration, in the input form named (metrics or metricSeries).
func ingest(ctx context.Context, st *store.Store, client *http.Client, url, form string) (ingestResult, error) {
	exp, err := st.CreateExperiment(ctx, "bench", store.ExperimentInput{Name: fmt.Sprintf("%s-%s-%d", ingestExpPrefix, form, time.Now().UnixNano())})
	if err != nil {
		return ingestResult{}, err
	}
	const logGQL = `mutation($input: LogRunInput!) { logRun(input: $input) { run { id } } }`
	const bodiesPerClient = 20
	bodies := make([]stampedBodies, ingestClients)
	for c := range ingestClients {
		run, err := st.StartRun(ctx, "bench", store.RunInput{Experiment: exp.Key})
		if err != nil {
			return ingestResult{}, err
		}
		ts := time.Now().UTC()
		if form == "metrics" {
			bodies[c].stamp, bodies[c].round = rfc3339Stamps(ts)
		} else {
			bodies[c].stamp, bodies[c].round = msStamps(ts)
		}
		for batch := range bodiesPerClient {
			input := map[string]any{"run": run.Key}
			steps := pointsPerBatch / keysPerBatch
			if form == "metrics" {
				points := make([]map[string]any, 0, pointsPerBatch)
				for s := range steps {
					for k := range keysPerBatch {
						points = append(points, map[string]any{"key": fmt.Sprintf("metric_%d", k), "value": float64(batch*steps+s) / 7,
							"step": batch*steps + s, "timestamp": bodies[c].stamp})
					}
				}
				input["metrics"] = points
			} else {
				series := make([]map[string]any, 0, keysPerBatch)
				for k := range keysPerBatch {
					values, stepList, stamps := make([]float64, steps), make([]int, steps), make([]int64, steps)
					for s := range steps {
						values[s], stepList[s], stamps[s] = float64(batch*steps+s)/7, batch*steps+s, ts.UnixMilli()
					}
					series = append(series, map[string]any{"key": fmt.Sprintf("metric_%d", k), "values": values, "steps": stepList, "timestampsMs": stamps})
				}
				input["metricSeries"] = series
			}
			body, _ := json.Marshal(map[string]any{"query": logGQL, "variables": map[string]any{"input": input}})
			if err := bodies[c].add(body, pointsPerBatch); err != nil {
				return ingestResult{}, err
			}
		}
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		total int
		first error
	)
	start := time.Now()
	deadline := start.Add(ingestDuration)
	for c := range ingestClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(deadline); i++ {
				_, err := post(client, url, bodies[c].body(i))
				mu.Lock()
				if err != nil && first == nil {
					first = fmt.Errorf("client %d: %w", c, err)
				}
				if err == nil {
					total += pointsPerBatch
				}
				mu.Unlock()
				if err != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if first != nil {
		return ingestResult{}, first
	}
	r := ingestResult{total: total, rate: float64(total) / elapsed.Seconds()}
	fmt.Fprintf(os.Stderr, "metric ingest (%s): %d points in %s = %.0f points/s\n", form, total, elapsed.Round(time.Millisecond), r.rate)
	return r, nil
}

// post sends a prepared GraphQL request body and returns the answer's data, failing
// on any error in the answer.
func post(client *http.Client, url string, body []byte) (json.RawMessage, error) {
	resp, err := client.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	var r struct {
		Data   json.RawMessage `json:"data"`
		Errors []any           `json:"errors"`
	}
	if err := json.Unmarshal(b, &r); err != nil || len(r.Errors) > 0 || resp.StatusCode != 200 {
		return nil, fmt.Errorf("bad response %d: %.300s", resp.StatusCode, b)
	}
	return r.Data, nil
}
