// Command bench measures provgraph's lineage queries on a seeded graph and writes the
// results to BENCHMARKS.md. Run it with `make bench`, which starts the local Neo4j; it
// seeds a graph of --nodes nodes under the prefix "bench" first when none exists.
//
// It measures, one request at a time after a warm-up: upstream lineage from endpoints
// (depth 10) end to end over HTTP through the real handler; the same traversal as a raw
// Cypher query over Bolt (the baseline provgraph is held to: at most 1.3x); and the
// auditTrail of an endpoint over HTTP; then search (search.go), the comparison with ML
// Metadata (mlmd.go), experiment tracking, OpenLineage ingest, the MLflow comparison, the
// evidence package and the console in headless Chromium (each alone with --only). The raw query lives here, outside the
// store, because it is the yardstick, not part of the service.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"

	"github.com/provgraph/provgraph/internal/benchenv"
	"github.com/provgraph/provgraph/internal/pipegraph"
	"github.com/provgraph/provgraph/store"
)

func main() {
	nodes := flag.Int("nodes", 1000000, "size of the seeded graph")
	requests := flag.Int("requests", 2000, "measured requests per benchmark")
	warmup := flag.Int("warmup", 300, "unmeasured requests before each benchmark")
	out := flag.String("out", "BENCHMARKS.md", "file to write the results to")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the benchmark process to this file")
	flag.StringVar(&mlflowPython, "mlflow-python", ".data/bench-venv/bin/python", "a python with the full mlflow package, for the MLflow server comparison")
	flag.StringVar(&sageMakerPython, "sagemaker-python", ".data/venv-sagemaker2/bin/python", "a python with boto3 (make venv-sagemaker), for the BatchPutMetrics section")
	flag.StringVar(&mlmdPython, "mlmd-python", ".data/bench-venv/bin/python", "a python with ml-metadata, for the ML Metadata comparison")
	flag.IntVar(&mlmdEndpoints, "mlmd-endpoints", pipegraph.FullEndpoints, "endpoints of the ML Metadata comparison's pipeline graph (every other count scales with it)")
	pipegraphFiles := flag.String("pipegraph-files", "", "write the ML Metadata comparison's pipeline graph (of --mlmd-endpoints) into this directory "+
		"as OpenLineage NDJSON and PROV-JSON, and exit")
	pipegraphPrefix := flag.String("pipegraph-prefix", "pipegraph", "the prefix of every name in the --pipegraph-files graph")
	flag.IntVar(&auditEntries, auditEntriesFlag, auditEntries, "entries of the audit log the audit section seeds (once) and verifies")
	flag.StringVar(&only, "only", "", "run only this section, audit (the audit log's verification and proofs, on a chain of its own; unseeded), lineage, breakdown (where a lineage request's time goes; printed only), mlflow, mlmd, openlineage, import, sagemaker, sagemaker-metrics (BatchPutMetrics from Go and boto3 clients), sagemaker-lineage (QueryLineage against GraphQL lineage), tracking, search, evidence, console or batch, and print it (BENCHMARKS.md is left alone, "+
		"but for sagemaker, sagemaker-metrics, sagemaker-lineage, search, mlmd, mlflow, evidence, console and batch, which also replace their own section in --out; batch runs on the database as it is, unseeded)")
	flag.Parse()
	if *pipegraphFiles != "" {
		if err := writePipegraphFiles(*pipegraphFiles, *pipegraphPrefix); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	section := run
	switch only {
	case "batch":
		section = func(_, _, _ int, out string) error { return batchOnly(context.Background(), out) }
	case "audit":
		section = func(_, requests, warmup int, out string) error {
			return auditOnly(context.Background(), requests, warmup, out)
		}
	}
	err := section(*nodes, *requests, *warmup, *out)
	if err == nil && only == "" {
		err = auditOnly(context.Background(), *requests, *warmup, *out)
	}
	if err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// auditOnly measures the audit log (audit.go) on a chain of its own and writes its
// section; it needs no seeded graph.
func auditOnly(ctx context.Context, requests, warmup int, out string) error {
	a, err := auditBench(ctx, requests, warmup)
	if err != nil {
		return err
	}
	fmt.Print(a)
	return writeSection(out, a, "## Load test")
}

const prefix = "bench"

var (
	mlflowPython    string
	sageMakerPython string
	only            string
)

// run seeds the graph once, serves it on a loopback listener and runs the benchmarks
// (all, or the one --only names) in the order BENCHMARKS.md reports them: the lineage
// rows and impact here, then the sections (sections.go).
func run(nodes, requests, warmup int, outFile string) error {
	b, stop, err := openBench(context.Background(), nodes, requests, warmup)
	if err != nil {
		return err
	}
	defer stop()
	if only != "" && only != "lineage" {
		return runAlone(b, only, outFile)
	}
	rows, cone := lineageRows(b.ctx, b.st, b.client, b.url, b.driver, b.db, b.pipelines)
	res, err := measure(rows, warmup, requests)
	if err != nil || only == "lineage" {
		// measure printed the rows; lineage alone measures a change to the traversal.
		return err
	}
	lin, rawRes := res[0], res[3]
	imp, err := impactBench(b.ctx, b.client, b.url, b.driver, b.db, requests, warmup)
	if err != nil {
		return err
	}
	res = append(res, imp.results...)
	var tracking strings.Builder
	for _, s := range sections {
		if s.alone {
			continue
		}
		out, err := s.run(b)
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		tracking.WriteString(out)
	}
	return writeReport(outFile, report{
		tracking: tracking.String(),
		nodes:    b.nodes, rels: b.rels, cone: *cone, requests: requests, warmup: warmup,
		impactCone: imp.cone, impacted: imp.impacted, impactPages: imp.pages,
		results: res, ratio: float64(lin.p50) / float64(rawRes.p50), ratio99: float64(lin.p99) / float64(rawRes.p99),
	})
}

// lineageRows are the lineage benchmark's rows: upstream lineage from random endpoints,
// over HTTP, through the store and as raw Cypher, and the audit trail. cone is set to
// the size of the last cone answered over HTTP.
func lineageRows(ctx context.Context, st *store.Store, client *http.Client, url string, driver neo4j.DriverWithContext, db string, pipelines int) (rows []row, cone *int) {
	rng := rand.New(rand.NewPCG(7, 7))
	endpoint := func() string {
		return "endpoint:" + prefix + "-endpoint-" + strconv.Itoa(rng.IntN(pipelines)) + "-" + strconv.Itoa(rng.IntN(2))
	}
	// The same traversal as the raw query: the upstream nodes. A second row adds the
	// edges, which the raw query does not compute.
	lineageGQL := `query($e: ID!) { lineage(start: [$e], direction: UPSTREAM, maxDepth: 10) { nodes { id kind name } truncated } }`
	lineageEdgesGQL := `query($e: ID!) { lineage(start: [$e], direction: UPSTREAM, maxDepth: 10) { nodes { id kind name } edges { from to type } truncated } }`
	auditGQL := `query($e: ID!) { auditTrail(endpoint: $e) { entries { modelVersion { id } approvalStatus producedBy { id } trainingData { id } upstream { nodes { id kind } } } } }`
	rawCypher := `MATCH (s:Node {key: $e})
MATCH (s)<-[:INPUT_TO|PRODUCED|REGISTERED_AS|DEPLOYED_TO*1..10]-(n:Node)
RETURN DISTINCT n`
	// The same again, as provgraph's store sends it: the nodes' properties in one
	// record, which spares Bolt a message per node. Reported so the gain is visible.
	rawCollected := `MATCH (s:Node {key: $e})
MATCH (s)<-[:INPUT_TO|PRODUCED|REGISTERED_AS|DEPLOYED_TO*1..10]-(n:Node)
WITH DISTINCT n
RETURN collect(n {.*})`
	cone = new(int)
	graphql := func(query string) func() error {
		return func() error {
			body, _ := json.Marshal(map[string]any{"query": query, "variables": map[string]any{"e": endpoint()}})
			resp, err := client.Post(url, "application/json", bytes.NewReader(body))
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if err != nil {
				return err
			}
			// Decoded as a typed client would: the IDs, and any errors.
			var r struct {
				Data map[string]struct {
					Nodes []struct{ ID string }
				} `json:"data"`
				Errors []any `json:"errors"`
			}
			if err := json.Unmarshal(b, &r); err != nil || len(r.Errors) > 0 || resp.StatusCode != 200 {
				return fmt.Errorf("bad response %d: %.300s", resp.StatusCode, b)
			}
			if l, ok := r.Data["lineage"]; ok {
				*cone = len(l.Nodes)
			}
			return nil
		}
	}
	raw := func(cypher string) func() error {
		return func() error {
			_, err := neo4j.ExecuteQuery(ctx, driver, cypher, map[string]any{"e": endpoint()},
				neo4j.EagerResultTransformer, neo4j.ExecuteQueryWithDatabase(db), neo4j.ExecuteQueryWithReadersRouting())
			return err
		}
	}
	direct := func() error {
		_, err := st.Lineage(ctx, store.LineageQuery{Start: []string{endpoint()}, Direction: store.Upstream, MaxDepth: 10, SkipEdges: true})
		return err
	}
	return []row{
		{"lineage over HTTP", graphql(lineageGQL)},
		{"lineage + edges over HTTP", graphql(lineageEdgesGQL)},
		{"store.Lineage (no HTTP)", direct},
		{"raw Cypher over Bolt", raw(rawCypher)},
		{"raw Cypher, nodes collected into one record", raw(rawCollected)},
		{"auditTrail over HTTP", graphql(auditGQL)},
		// The fixed cost of a request: transport, authentication, GraphQL, no store call.
		{"`{ __typename }` over HTTP", typename(client, url)},
	}, cone
}

// typename is a `{ __typename }` request: what every request costs before the store.
func typename(client *http.Client, url string) func() error {
	return func() error {
		resp, err := client.Post(url, "application/json", strings.NewReader(`{"query":"{ __typename }"}`))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK || string(b) != `{"data":{"__typename":"Query"}}` {
			return fmt.Errorf("bad response %d: %.300s", resp.StatusCode, b)
		}
		return nil
	}
}

// impact is what impactBench measured: its rows, and the answer it checked.
type impact struct {
	results        []result
	cone, impacted int64
	pages          int
}

// impactBench measures impact of the shared reference dataset version: its first page,
// and then every page once, checked against a raw query for the complete answer.
func impactBench(ctx context.Context, client *http.Client, url string, driver neo4j.DriverWithContext, db string, requests, warmup int) (impact, error) {
	shared := store.SeedSharedKey(prefix)
	impactGQL := `query($of: ID!, $after: String, $budget: Int) { impact(of: $of, after: $after, budget: $budget) {
  modelVersions { id } endpoints { endpoint { id } servingNow } truncated pageInfo { endCursor } } }`
	impactPage := func(after any, budget int) (ids []string, next any, err error) {
		body, _ := json.Marshal(map[string]any{"query": impactGQL, "variables": map[string]any{"of": shared, "after": after, "budget": budget}})
		resp, err := client.Post(url, "application/json", bytes.NewReader(body))
		if err != nil {
			return nil, nil, err
		}
		defer resp.Body.Close()
		var r struct {
			Data struct {
				Impact struct {
					ModelVersions []struct{ ID string }
					Endpoints     []struct{ Endpoint struct{ ID string } }
					Truncated     bool
					PageInfo      struct{ EndCursor *string }
				}
			}
			Errors []any
		}
		if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || len(r.Errors) > 0 {
			return nil, nil, fmt.Errorf("impact: %v %v", err, r.Errors)
		}
		for _, v := range r.Data.Impact.ModelVersions {
			ids = append(ids, v.ID)
		}
		for _, e := range r.Data.Impact.Endpoints {
			ids = append(ids, e.Endpoint.ID)
		}
		if r.Data.Impact.Truncated != (r.Data.Impact.PageInfo.EndCursor != nil) {
			return nil, nil, fmt.Errorf("impact: truncated and endCursor disagree")
		}
		if r.Data.Impact.PageInfo.EndCursor != nil {
			next = *r.Data.Impact.PageInfo.EndCursor
		}
		return ids, next, nil
	}
	imp, err := measure([]row{
		{"impact first page (budget 100, the default) over HTTP", func() error {
			_, _, err := impactPage(nil, store.DefaultImpactBudget)
			return err
		}},
		{"impact first page (budget 1000) over HTTP", func() error {
			_, _, err := impactPage(nil, 1000)
			return err
		}},
	}, warmup/10, requests/10)
	if err != nil {
		return impact{}, err
	}
	var all []string
	pages := 0
	for after := any(nil); ; pages++ {
		ids, next, err := impactPage(after, 1000)
		if err != nil {
			return impact{}, err
		}
		all = append(all, ids...)
		if next == nil {
			break
		}
		after = next
	}
	want, err := neo4j.ExecuteQuery(ctx, driver, `MATCH (s:Node {key: $s})
MATCH (s)-[:INPUT_TO|PRODUCED|REGISTERED_AS|DEPLOYED_TO*1..10]->(n:Node)
WITH DISTINCT n
RETURN count(n) AS cone, count(CASE WHEN n.kind IN ['ModelVersion', 'Endpoint'] THEN 1 END) AS impacted`,
		map[string]any{"s": shared}, neo4j.EagerResultTransformer, neo4j.ExecuteQueryWithDatabase(db))
	if err != nil {
		return impact{}, err
	}
	coneSize, _ := want.Records[0].Get("cone")
	impacted, _ := want.Records[0].Get("impacted")
	distinct := map[string]bool{}
	for _, id := range all {
		distinct[id] = true
	}
	if int64(len(distinct)) != impacted.(int64) || len(distinct) != len(all) {
		return impact{}, fmt.Errorf("impact pages hold %d IDs (%d distinct), the raw query counts %d", len(all), len(distinct), impacted)
	}
	fmt.Fprintf(os.Stderr, "impact: %d pages, %d model versions and endpoints, each once, of a downstream cone of %d nodes\n", pages+1, len(all), coneSize)
	return impact{results: imp, cone: coneSize.(int64), impacted: int64(len(all)), pages: pages + 1}, nil
}

type result struct {
	name          string
	p50, p99, max time.Duration
}

type row struct {
	name string
	op   func() error
}

// measure runs the rows in rounds, one request of each per round in a rotating order,
// so that a cache warming up or a noisy moment on the machine weighs on every row alike.
func measure(rows []row, warmup, n int) ([]result, error) {
	lat := make([][]time.Duration, len(rows))
	for round := range warmup + n {
		for i := range rows {
			r := (round + i) % len(rows)
			t := time.Now()
			if err := rows[r].op(); err != nil {
				return nil, fmt.Errorf("%s: %w", rows[r].name, err)
			}
			if round >= warmup {
				lat[r] = append(lat[r], time.Since(t))
			}
		}
	}
	out := make([]result, len(rows))
	for r, l := range lat {
		sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
		out[r] = result{name: rows[r].name, p50: l[n/2], p99: l[n*99/100], max: l[n-1]}
		fmt.Fprintf(os.Stderr, "%-44s p50 %8s  p99 %8s  max %8s\n", out[r].name, out[r].p50, out[r].p99, out[r].max)
	}
	return out, nil
}

type report struct {
	tracking       string
	nodes, rels    int64
	impactCone     int64
	impacted       int64
	impactPages    int
	cone           int
	requests       int
	warmup         int
	results        []result
	ratio, ratio99 float64
}

func writeReport(file string, r report) error {
	var b strings.Builder
	b.WriteString("# Benchmarks\n\nWritten by `make bench` (`go run ./internal/bench`); rerun it to refresh. ")
	b.WriteString("Every number below was measured by that command on the machine described. ")
	b.WriteString("Without NEO4J_URI, `make bench` and `make loadtest` run on a Neo4j of their own created fresh for each run (an empty data folder); with NEO4J_URI, on that database as it is.\n\n")
	fmt.Fprintf(&b, "## Lineage on a seeded graph\n\n")
	fmt.Fprintf(&b, "- Date: %s\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "- Machine: %s, %d cores, %s RAM, %s\n", benchenv.CPUModel(), runtime.NumCPU(), memTotal(), runtime.Version())
	fmt.Fprintf(&b, "- Neo4j: the local launcher (embedded Neo4j 5.26 community, heap and page cache 4g), same machine\n")
	fmt.Fprintf(&b, "- Data: `provgraph seed` graph, %d nodes and %d relationships in the database; "+
		"upstream cones from endpoints hold about %d nodes (depth 10)\n", r.nodes, r.rels, r.cone)
	fmt.Fprintf(&b, "- Method: one client, sequential requests to random endpoints in rounds of one request per row "+
		"(rotating order), %d warm-up rounds then %d measured; HTTP rows go through the real handler on a loopback listener\n\n", r.warmup, r.requests)
	b.WriteString("| what | p50 | p99 | max |\n|---|---|---|---|\n")
	for _, x := range r.results {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", x.name, ms(x.p50), ms(x.p99), ms(x.max))
	}
	fmt.Fprintf(&b, "\nlineage (nodes, as the raw query returns) end to end ÷ raw Cypher: %.2f× at p50, %.2f× at p99 (target ≤ 1.3×); ", r.ratio, r.ratio99)
	fmt.Fprintf(&b, "target for lineage and auditTrail over HTTP: p99 ≤ 20 ms.\n")
	fmt.Fprintf(&b, "\nimpact: the shared reference dataset version has a downstream cone of %d nodes (depth 10), "+
		"%d of them model versions and endpoints; the impact rows are its first page (%d warm-up, %d measured). "+
		"Following the cursors (budget 1000) gave %d pages holding each of the %d exactly once, as a raw count query confirms (target: first page ≤ 50 ms).\n",
		r.impactCone, r.impacted, r.warmup/10, r.requests/10, r.impactPages, r.impacted)
	b.WriteString(keptSection(file, breakdownHeading))
	b.WriteString(r.tracking)
	b.WriteString(sectionsNotIn(file, b.String()+"\n## Load test\n"))
	b.WriteString(keptSection(file, "## Load test"))
	return os.WriteFile(file, []byte(b.String()), 0o644)
}

// sectionsNotIn returns the "## " sections of file whose headings doc does not have,
// in their order: what people wrote by hand (before-and-after comparisons, measured
// with the commands they name), which a benchmark run keeps.
func sectionsNotIn(file, doc string) string {
	old, err := os.ReadFile(file)
	if err != nil {
		return ""
	}
	var out strings.Builder
	parts := strings.Split(string(old), "\n## ")
	for _, sec := range parts[1:] {
		heading, _, _ := strings.Cut(sec, "\n")
		if !strings.Contains(doc, "\n## "+heading+"\n") {
			out.WriteString("\n## " + strings.TrimRight(sec, "\n") + "\n")
		}
	}
	return out.String()
}

// withRunInfo adds to a section measured alone (--only) when, on what machine, on how
// large a database and with which command it was measured, since the file's first
// section, which says so for a full run, may come from another run.
func withRunInfo(section string, nodes int64, only string) string {
	heading, rest, _ := strings.Cut(strings.TrimPrefix(section, "\n"), "\n")
	info := fmt.Sprintf("\n- Run: %s on %s, %d cores, %s RAM; database of %d nodes (the seed and what was recorded before this section: by the sections before it, and by earlier runs on a database not created fresh); "+
		"`go run ./internal/bench --nodes <seed size> --only %s` (or make bench)\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), benchenv.CPUModel(), runtime.NumCPU(), memTotal(), nodes, only)
	return "\n" + heading + "\n" + info + rest
}

// keptSection returns the section of file that starts with heading (up to the next
// "## " heading), which another command writes (make loadtest), so a benchmark run
// keeps it; "" when there is none.
func keptSection(file, heading string) string {
	old, err := os.ReadFile(file)
	if err != nil {
		return ""
	}
	doc := string(old)
	i := strings.Index(doc, "\n"+heading+"\n")
	if i < 0 {
		return ""
	}
	sec := doc[i+1:]
	if j := strings.Index(sec[len(heading):], "\n## "); j >= 0 {
		sec = sec[:len(heading)+j+1]
	}
	return "\n" + sec
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

func memTotal() string {
	out, err := exec.Command("sh", "-c", "free -g | awk '/Mem:/ {print $2}'").Output()
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(out)) + " GiB"
}
