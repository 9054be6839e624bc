package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/provgraph/provgraph/evidence"
)

const evidenceCheckUsage = `Usage: provgraph evidence check [--key KEY] PACKAGE.zip

Checks an evidence package offline, without provgraph's database: every file against
the manifest's SHA-256 and size, every audit-log entry's hash against its canonical
form and the chain between consecutive entries, and, with --key (the service's audit
verifier key), the checkpoint's signature and every entry's inclusion proof in the
checkpoint's tree (docs/evidence.md). It exits 0 when everything holds, 1 when
something does not (each listed) or the package cannot be read, 2 on bad usage.

`

// evidenceCheck runs `provgraph evidence check`.
func evidenceCheck(args []string, stdout, stderr io.Writer) int {
	var keyArg string
	fs := flag.NewFlagSet("evidence check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&keyArg, "key", "", "the verifier key the package's checkpoint must be signed with: the key itself (name+hash+key) or a `file` holding it")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), evidenceCheckUsage+"Flags:\n")
		fs.PrintDefaults()
	}
	if err := parseArgs(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintf(stderr, "provgraph evidence check: give exactly one package file (got %d)\n", fs.NArg())
		return 2
	}
	key, err := readAuditKey(keyArg)
	if err != nil {
		fmt.Fprintf(stderr, "provgraph evidence check: --key: %v\n", err)
		return 2
	}
	pkg, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "provgraph evidence check: %v\n", err)
		return 1
	}
	vkey := ""
	if key != nil {
		vkey = key.Verifier
	}
	c, err := evidence.Check(pkg, vkey)
	if err != nil {
		fmt.Fprintf(stderr, "provgraph evidence check: %s: %v\n", fs.Arg(0), err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: %d files match the manifest; %d audit-log entries hash to their hash, %d chained to the entry before\n",
		fs.Arg(0), c.Files, c.Entries, c.Chained)
	switch {
	case c.Checkpoint != nil:
		fmt.Fprintf(stdout, "checkpoint of %d entries signed by the key; %d entries proven in its tree\n", c.Checkpoint.Size, c.Proven)
	case vkey == "":
		fmt.Fprintln(stdout, "checkpoint and inclusion proofs not checked: give --key, the service's audit verifier key")
	default:
		fmt.Fprintln(stdout, "the package holds no checkpoint: its entries are not proven in the log's tree")
	}
	for _, p := range c.Problems {
		fmt.Fprintln(stderr, "NOT OK:", p)
	}
	if len(c.Problems) > 0 {
		return 1
	}
	fmt.Fprintln(stdout, "OK")
	return 0
}
