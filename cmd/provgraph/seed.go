package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/provgraph/provgraph/store"
)

const seedUsage = `Usage: provgraph seed [flags]

Builds a synthetic provenance graph for benchmarks and demos: pipelines of raw dataset
versions, processing jobs, feature dataset versions, training jobs, model artifacts,
model versions and endpoints redeployed over months (98 nodes per pipeline), written
with batched UNWIND transactions. The schema is applied first. Keys start with --prefix,
so seeded graphs never collide with real ones; reusing a prefix is refused.

` + neo4jTarget + `
Flags:
`

func seed(args []string, stdout, stderr io.Writer) int {
	var cfg store.Config
	var wait time.Duration
	var plan store.SeedPlan
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	fs.SetOutput(stderr)
	neo4jFlags(fs, &cfg, &wait, time.Minute)
	fs.IntVar(&plan.Nodes, "nodes", 100000, "approximate number of nodes to create")
	fs.StringVar(&plan.Prefix, "prefix", "seed", "prefix of every seeded key")
	fs.Uint64Var(&plan.Seed, "seed", 1, "random seed, for a reproducible graph")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), seedUsage)
		fs.PrintDefaults()
	}
	if err := parseArgs(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	resolvePassword(&cfg)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "provgraph seed: unexpected arguments %q\n", fs.Args())
		return 2
	}
	if err := runSeed(ctx, cfg, wait, plan, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, "provgraph seed:", err)
		return 1
	}
	return 0
}

func runSeed(ctx context.Context, cfg store.Config, wait time.Duration, plan store.SeedPlan, stdout, stderr io.Writer) (err error) {
	st, err := openStore(ctx, cfg, wait)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, st.Close(context.Background())) }()
	if _, _, err := st.Migrate(ctx, store.Schema); err != nil {
		return err
	}
	start := time.Now()
	want := plan.Nodes / store.SeedNodesPerPipeline * store.SeedNodesPerPipeline
	nodes, rels, err := st.Seed(ctx, plan, func(nodes, rels int) {
		fmt.Fprintf(stderr, "\r%s %d/%d nodes, %d relationships, %s", bar(nodes, want), nodes, want, rels,
			time.Since(start).Round(time.Second))
	})
	fmt.Fprintln(stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "seeded %d nodes and %d relationships with prefix %q in %s\n", nodes, rels, plan.Prefix,
		time.Since(start).Round(100*time.Millisecond))
	return nil
}

// bar draws a 30-character progress bar.
func bar(done, total int) string {
	const width = 30
	n := 0
	if total > 0 {
		n = min(width, done*width/total)
	}
	return "[" + strings.Repeat("#", n) + strings.Repeat(".", width-n) + "]"
}
