package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/provgraph/provgraph/evidence"
	"github.com/provgraph/provgraph/store"
)

const evidenceUsage = `Usage: provgraph evidence ID [flags]

Writes the evidence package of an endpoint or a model version at an instant: one zip
with a PDF report, the upstream lineage as SVG and as W3C PROV-JSON, the audit-log
entries about it with the chain's verification, and a manifest with the SHA-256 of
every file (docs/evidence.md). ID is endpoint:<name> or model:<name>/<version>;
flags may come before or after it:

  provgraph evidence endpoint:fraud-prod --at 2026-03-14T09:30:00Z -o evidence.zip

It exits 0 when the package is written and the audit log verifies over its entries,
3 when it is written but the audit log does not verify there, 1 when it could not be
written, 2 on bad usage. provgraph evidence check PACKAGE.zip checks a package offline.

`

// evidenceCmd runs `provgraph evidence`.
func evidenceCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "check" {
		return evidenceCheck(args[1:], stdout, stderr)
	}
	var cfg store.Config
	var wait time.Duration
	var at, output string
	fs := flag.NewFlagSet("evidence", flag.ContinueOnError)
	fs.SetOutput(stderr)
	neo4jFlags(fs, &cfg, &wait, cliNeo4jWait)
	fs.StringVar(&at, "at", "", "the instant, an RFC 3339 `time` such as 2026-03-14T09:30:00Z (default now)")
	fs.StringVar(&output, "o", "", "write the package to this `file` (default evidence-<ID>-<time>.zip here)")
	fs.StringVar(&output, "output", "", "the same as -o")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), evidenceUsage+neo4jTarget+"\nFlags:\n")
		fs.PrintDefaults()
	}
	err := parseArgs(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	ids := fs.Args()
	if len(ids) != 1 {
		fmt.Fprintf(stderr, "provgraph evidence: give exactly one ID, endpoint:<name> or model:<name>/<version> (got %d)\n", len(ids))
		return 2
	}
	when := time.Now().UTC()
	if at != "" {
		if when, err = time.Parse(time.RFC3339Nano, at); err != nil {
			fmt.Fprintf(stderr, "provgraph evidence: --at %q: not an RFC 3339 time like 2026-03-14T09:30:00Z\n", at)
			return 2
		}
	}
	resolvePassword(&cfg)
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 5*time.Minute)
	defer cancelTimeout()
	var pkg bytes.Buffer
	var ev evidence.Evidence
	err = withCurrentStore(ctx, cfg, wait, func(ctx context.Context, st *store.Store) error {
		if ev, err = evidence.Collect(ctx, st, ids[0], when); err != nil {
			return err
		}
		return evidence.Build(&pkg, ev, evidence.Meta{Version: version, GeneratedAt: time.Now().UTC()})
	})
	if err != nil {
		fmt.Fprintf(stderr, "provgraph evidence: %v\n", err)
		return 1
	}
	if output == "" {
		output = evidence.FileName(ev.Subject.Key, when)
	}
	if err := writeFileAtomically(output, pkg.Bytes()); err != nil {
		fmt.Fprintf(stderr, "provgraph evidence: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "wrote %s (%d bytes): %s at %s, %d lineage nodes, %d audit-log entries\n",
		output, pkg.Len(), ev.Subject.Key, when.Format(time.RFC3339Nano), len(ev.Lineage.Nodes), len(ev.Audit.Entries))
	if b := ev.Audit.Verification.FirstBreak; b != nil {
		fmt.Fprintf(stderr, "provgraph evidence: the audit log does NOT verify: entry %d, %s (the package records it)\n", b.Seq, b.Reason)
		return exitAuditBreak
	}
	return 0
}

// writeFileAtomically writes data to a temporary file beside path and renames it
// there, so a failed write never leaves a partial package under the name.
func writeFileAtomically(path string, data []byte) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".evidence-*.zip")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
