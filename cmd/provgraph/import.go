package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/provgraph/provgraph/apperr"
	"github.com/provgraph/provgraph/internal/importer"
	"github.com/provgraph/provgraph/store"
)

const importUsage = `Usage: provgraph import --format FORMAT FILE|URL [flags]
       provgraph import --format mlmd FILE|mysql://USER:PASSWORD@HOST:PORT/DATABASE [--mapping FILE] [flags]

Brings lineage recorded elsewhere into the graph (docs/import.md):
  openlineage  OpenLineage events, one JSON object a line (Marquez, openlineage-python's FileTransport)
  prov-json    a PROV-JSON document provgraph exported (provgraph export --format prov)
  mlmd         an ML Metadata database (TFX, Kubeflow Pipelines): a SQLite file or a mysql:// URL

Items are recorded in batches, each one transaction with its audit entry. An import
stopped half way and run again resumes after the last batch it committed. A bad item is
reported with its line (or id) and the rest is recorded; with --strict its batch is
refused and the import stops, exiting 1. The schema is applied first.

` + neo4jTarget + `
Flags:
`

// importConfig is what `provgraph import` is told.
type importConfig struct {
	neo4j   store.Config
	wait    time.Duration
	format  string
	strict  bool
	batch   int
	quiet   bool
	mapping string
}

func importCmd(args []string, stdout, stderr io.Writer) int {
	cfg := &importConfig{}
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	neo4jFlags(fs, &cfg.neo4j, &cfg.wait, cliNeo4jWait)
	fs.StringVar(&cfg.format, "format", "", "what the file holds: "+strings.Join(importer.Formats, ", "))
	fs.BoolVar(&cfg.strict, "strict", false, "refuse a batch with a bad item and stop (exit 1), instead of reporting the item and going on")
	fs.IntVar(&cfg.batch, "batch", store.DefaultImportBatch, fmt.Sprintf("items per transaction (1 to %d); a resumed import keeps its batch size", store.MaxImportBatch))
	fs.BoolVar(&cfg.quiet, "quiet", false, "print no progress, only failed items and the summary")
	fs.StringVar(&cfg.mapping, "mapping", "", "with --format mlmd: a mapping file saying what custom MLMD types become (docs/import.md)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), importUsage)
		fs.PrintDefaults()
	}
	if err := parseArgs(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	resolvePassword(&cfg.neo4j)
	if fs.NArg() != 1 {
		fmt.Fprintf(stderr, "provgraph import: give one FILE or URL (got %d arguments)\n", fs.NArg())
		return 2
	}
	if !slices.Contains(importer.Formats, cfg.format) {
		fmt.Fprintf(stderr, "provgraph import: --format %q: must be one of %s\n", cfg.format, strings.Join(importer.Formats, ", "))
		return 2
	}
	if cfg.batch < 1 || cfg.batch > store.MaxImportBatch {
		fmt.Fprintf(stderr, "provgraph import: --batch %d: must be between 1 and %d\n", cfg.batch, store.MaxImportBatch)
		return 2
	}
	if cfg.mapping != "" && cfg.format != importer.FormatMLMD {
		fmt.Fprintf(stderr, "provgraph import: --mapping is for --format %s (got --format %s)\n", importer.FormatMLMD, cfg.format)
		return 2
	}
	if err := registerMLMD(cfg.mapping); err != nil {
		fmt.Fprintln(stderr, "provgraph import:", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	sum, err := runImport(ctx, cfg, fs.Arg(0), stderr)
	if sum != nil {
		fmt.Fprintln(stdout, "provgraph import:", sum)
	}
	if err != nil {
		fmt.Fprintln(stderr, "provgraph import:", err)
		return 1
	}
	return 0
}

func runImport(ctx context.Context, cfg *importConfig, location string, stderr io.Writer) (sum *importer.Summary, err error) {
	src, err := importer.Open(ctx, cfg.format, location)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, src.Close()) }()
	st, err := openStore(ctx, cfg.neo4j, cfg.wait)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, st.Close(context.Background())) }()
	if _, _, err := st.Migrate(ctx, store.Schema); err != nil {
		return nil, err
	}
	opts := importer.Options{
		Fingerprint: src.Fingerprint, Name: location, BatchSize: cfg.batch, Strict: cfg.strict,
		Actor: cliActor(), RunsIn: importer.RunsExperiment(), Total: src.Total,
		OnFailure: func(f importer.Failure) {
			fmt.Fprintf(stderr, "provgraph import: %s: not recorded (%s): %v\n", f.Ref, apperr.CodeOf(f.Err), f.Err)
		},
	}
	if !cfg.quiet {
		opts.Progress = importer.NewProgress(stderr) // a bar on a terminal, lines otherwise
	}
	s, err := importer.Run(ctx, st, src.Source, opts)
	return &s, err
}
