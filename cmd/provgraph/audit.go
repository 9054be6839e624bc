package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/provgraph/provgraph/store"
)

const auditUsage = `Usage: provgraph audit <command> [flags]

Checks the audit log, the hash chain every write appends to (docs/audit.md).

Commands:
  verify   recompute the chain (--from, --to; the whole chain by default) and report
           the first break; exits 0 when it verifies, 3 at a break, 1 on other errors

The database must be at this binary's schema version: start provgraph serve once first.

` + neo4jTarget

// exitAuditBreak is the exit status of `provgraph audit verify` at a break, so scripts
// can tell a broken chain from a failure to check it.
const exitAuditBreak = 3

// audit runs `provgraph audit verify`.
func audit(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, auditUsage)
		return 2
	}
	switch args[0] {
	case "verify":
	case "help", "-h", "--help":
		fmt.Fprint(stdout, auditUsage)
		return 0
	default:
		fmt.Fprintf(stderr, "provgraph audit: unknown command %q\n\n%s", args[0], auditUsage)
		return 2
	}
	var cfg store.Config
	var wait time.Duration
	fs := flag.NewFlagSet("audit verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	neo4jFlags(fs, &cfg, &wait, cliNeo4jWait)
	var from, to int64
	fs.Int64Var(&from, "from", 1, "the first entry (`seq`) to check")
	fs.Int64Var(&to, "to", 0, "the last entry (`seq`) to check; 0 for the chain's head")
	fs.StringVar(&cfg.AuditChain, "chain", store.DefaultAuditChain, "the audit chain to check")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: provgraph audit verify [flags]\n\n%s\nFlags:\n", neo4jTarget)
		fs.PrintDefaults()
	}
	if err := parseArgs(fs, args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "provgraph audit verify: unexpected arguments %q\n", fs.Args())
		return 2
	}
	resolvePassword(&cfg)
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	defer cancel()
	var broken bool
	err := withCurrentStore(ctx, cfg, wait, func(ctx context.Context, st *store.Store) error {
		var err error
		broken, err = verifyAudit(ctx, st, from, to, stdout)
		return err
	})
	switch {
	case err != nil:
		fmt.Fprintf(stderr, "provgraph audit verify: %v\n", err)
		return 1
	case broken:
		return exitAuditBreak
	}
	return 0
}

// verifyAudit checks entries from..to (to 0: the head) in calls of at most
// store.MaxAuditVerifyRange entries, prints the outcome and reports a break.
func verifyAudit(ctx context.Context, st *store.Store, from, to int64, out io.Writer) (broken bool, err error) {
	var checked int64
	for next := from; ; {
		var upTo *int64
		if to > 0 {
			end := min(to, next+store.MaxAuditVerifyRange-1)
			upTo = &end
		}
		v, err := st.VerifyAuditLog(ctx, &next, upTo)
		if err != nil {
			return false, err
		}
		checked += v.Checked
		if b := v.FirstBreak; b != nil {
			fmt.Fprintf(out, "BROKEN at entry %d: %s\n  expected: %s\n  found:    %s\n%d entries verified before it (from %d)\n",
				b.Seq, b.Reason, b.Expected, b.Found, checked, from)
			return true, nil
		}
		last := v.Head
		if to > 0 {
			last = to
		}
		if v.To >= last || v.To < v.From {
			fmt.Fprintf(out, "verified %d entries (%d to %d); the chain's head is at %d\n", checked, from, max(v.To, from-1), v.Head)
			return false, nil
		}
		next = v.To + 1
	}
}
