package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
	"github.com/rs/zerolog"

	"github.com/provgraph/provgraph/auth"
	"github.com/provgraph/provgraph/internal/benchenv"
	"github.com/provgraph/provgraph/server"
	"github.com/provgraph/provgraph/store"
)

// bench is what the sections of a benchmark run share: the seeded graph, served by the
// real handler on a loopback listener, and a writer token every request carries.
type bench struct {
	ctx              context.Context
	st               *store.Store
	driver           neo4j.DriverWithContext
	db               string
	handler          http.Handler
	client           *http.Client // carries the token
	base, url        string       // the server's root and its GraphQL endpoint
	token            string
	pipelines        int
	nodes, rels      int64
	requests, warmup int
}

// The headings of BENCHMARKS.md that sections run alone (--only) write their part before.
const (
	beforeTracking = "## Experiment tracking"
	beforeMLflow   = "## MLflow REST: provgraph and a real MLflow server"
	beforeLoadTest = "## Load test"
	beforeEvidence = "## Evidence package"
)

// section is one benchmark after the lineage rows, in the order the full run reports
// them.
type section struct {
	name string
	run  func(b *bench) (string, error)
	// before is the heading its part of BENCHMARKS.md comes before when --only runs it
	// ("": then it is printed only); runInfo heads that part with the run's machine and
	// size (the full run's report has them once for all).
	before  string
	runInfo bool
	// alone: only --only runs it.
	alone bool
}

var sections = []section{
	{name: "search", before: beforeTracking, run: func(b *bench) (string, error) {
		return searchBench(b.client, b.url, b.pipelines, b.nodes, b.requests, b.warmup)
	}},
	{name: "mlmd", before: beforeTracking, runInfo: true, run: func(b *bench) (string, error) {
		return mlmdBench(b.ctx, b.st, b.client, b.url, b.driver, b.db, b.requests, b.warmup)
	}},
	{name: "tracking", run: func(b *bench) (string, error) {
		return trackingBench(b.ctx, b.st, b.driver, b.db, b.client, b.url, b.requests, b.warmup)
	}},
	{name: "openlineage", run: func(b *bench) (string, error) { return openLineageBench(b.ctx, b.client, b.base, b.driver, b.db) }},
	{name: "sagemaker", before: beforeMLflow, runInfo: true, run: func(b *bench) (string, error) {
		return sageMakerBench(b.client, b.base)
	}},
	{name: "sagemaker-metrics", before: beforeMLflow, runInfo: true, run: func(b *bench) (string, error) {
		return sageMakerMetricsBench(b.ctx, b.st, b.driver, b.db, sageMakerPython)
	}},
	{name: "sagemaker-lineage", before: beforeLoadTest, runInfo: true, run: func(b *bench) (string, error) {
		return sageMakerLineageBench(b.ctx, b.st, b.client, b.url, b.pipelines, b.requests, b.warmup)
	}},
	{name: "import", run: func(b *bench) (string, error) { return importBench(b.ctx, b.st, b.driver, b.db) }},
	{name: "mlflow", before: beforeEvidence, runInfo: true, run: func(b *bench) (string, error) {
		return mlflowComparison(b.ctx, b.base, b.token, mlflowPython)
	}},
	{name: "evidence", before: beforeLoadTest, runInfo: true, run: func(b *bench) (string, error) {
		return evidenceBench(b.ctx, b.st, b.client, b.base)
	}},
	{name: "console", before: beforeLoadTest, runInfo: true, run: func(b *bench) (string, error) {
		return consoleBench(b.client, b.base, b.token)
	}},
	{name: "breakdown", alone: true, run: func(b *bench) (string, error) {
		return breakdownBench(b.ctx, &breakdown{st: b.st, handler: b.handler, client: b.client, url: b.url, token: b.token,
			driver: b.driver, db: b.db, pipelines: b.pipelines, rng: rand.New(rand.NewPCG(7, 7))}, b.requests, b.warmup)
	}},
}

// runAlone runs the section --only names, prints it and, when it has a part of its
// own in BENCHMARKS.md, replaces that part of outFile.
func runAlone(b *bench, name, outFile string) error {
	for _, s := range sections {
		if s.name != name {
			continue
		}
		out, err := s.run(b)
		if err == nil && s.runInfo {
			out = withRunInfo(out, b.nodes, s.name)
		}
		fmt.Print(out)
		if err != nil || s.before == "" {
			return err
		}
		return writeSection(outFile, out, s.before)
	}
	return fmt.Errorf("--only %q: no such section", name)
}

// openBench seeds the graph (once: a graph seeded before is used as it is), counts it
// and serves it; stop stops what it started.
func openBench(ctx context.Context, nodes, requests, warmup int) (b *bench, stop func(), err error) {
	st, cfg, err := benchenv.OpenSequenced(ctx)
	if err != nil {
		return nil, nil, err
	}
	var closers []func()
	stop = func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	closers = append(closers, func() { st.Close(ctx) })
	defer func() {
		if err != nil {
			stop()
		}
	}()
	if err := seed(ctx, st, nodes); err != nil {
		return nil, nil, err
	}
	b = &bench{ctx: ctx, st: st, db: cfg.Database, pipelines: nodes / store.SeedNodesPerPipeline, requests: requests, warmup: warmup}
	if b.driver, err = neo4j.NewDriverWithContext(cfg.URI, neo4j.BasicAuth(cfg.User, cfg.Password, "")); err != nil {
		return nil, nil, err
	}
	closers = append(closers, func() { b.driver.Close(ctx) })
	if b.nodes, b.rels, err = countGraph(ctx, b.driver, b.db); err != nil {
		return nil, nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	b.handler = server.New(server.Options{Store: st, Logger: zerolog.Nop()})
	srv := &http.Server{Handler: b.handler}
	go srv.Serve(ln)
	closers = append(closers, func() { srv.Close() })
	b.base = "http://" + ln.Addr().String()
	b.url = b.base + "/graphql"
	// Every request authenticates, as production traffic does, with a writer token of
	// the benchmark's own (expiring in a day).
	expires := time.Now().Add(24 * time.Hour)
	if _, b.token, err = st.CreateAPIToken(ctx, "bench", store.NewAPIToken{Name: "bench-" + time.Now().UTC().Format("20060102-150405.000"),
		Role: auth.RoleWriter, ExpiresAt: &expires}); err != nil {
		return nil, nil, err
	}
	b.client = &http.Client{Transport: auth.BearerTransport(b.token, &http.Transport{MaxIdleConnsPerHost: 4})}
	return b, stop, nil
}

// seed seeds the benchmark graph of nodes nodes, unless one was seeded before.
func seed(ctx context.Context, st *store.Store, nodes int) error {
	start := time.Now()
	seeded, _, err := st.Seed(ctx, store.SeedPlan{Nodes: nodes, Prefix: prefix, Seed: 1}, func(n, r int) {
		fmt.Fprintf(os.Stderr, "\rseeding: %d nodes, %d relationships", n, r)
	})
	switch {
	case err == nil:
		fmt.Fprintf(os.Stderr, "\nseeded %d nodes in %s\n", seeded, time.Since(start).Round(time.Second))
	case strings.Contains(err.Error(), "seeded already"):
		fmt.Fprintln(os.Stderr, "using the graph seeded before with prefix", prefix)
	default:
		return err
	}
	return nil
}

// countGraph counts the database's nodes and relationships.
func countGraph(ctx context.Context, driver neo4j.DriverWithContext, db string) (nodes, rels int64, err error) {
	counts, err := neo4j.ExecuteQuery(ctx, driver,
		`MATCH (n:Node) WITH count(n) AS nodes MATCH ()-[r]->() RETURN nodes, count(r) AS rels`, nil,
		neo4j.EagerResultTransformer, neo4j.ExecuteQueryWithDatabase(db), neo4j.ExecuteQueryWithReadersRouting())
	if err != nil {
		return 0, 0, err
	}
	n, _ := counts.Records[0].Get("nodes")
	r, _ := counts.Records[0].Get("rels")
	nodes, _ = n.(int64)
	rels, _ = r.(int64)
	return nodes, rels, nil
}
