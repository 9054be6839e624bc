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

Checks the audit log, the Merkle transparency log every write is recorded in
(docs/audit.md).

Commands:
  verify      recompute the log (--from, --to; all of it by default): the hash chain,
              the Merkle tree and the checkpoints, their signatures with --key; exits 0
              when it verifies, 3 at a break, 1 on other errors.
              With --since CHECKPOINT it proves the log only grew since that checkpoint;
              with --proof FILE too it does so offline, without database access.
  checkpoint  print the latest signed checkpoint (keep it to check the log later)
  prove       print the consistency proof from a kept checkpoint (--since) to the
              latest, as JSON for verify --proof
  keygen      create the Ed25519 key that signs checkpoints (--out FILE); prints its
              verifier key, which auditors keep

The database must be at this binary's schema version: start provgraph serve once first.

` + neo4jTarget

// exitAuditBreak is the exit status of `provgraph audit verify` at a break, so scripts
// can tell a broken log from a failure to check it.
const exitAuditBreak = 3

// audit runs `provgraph audit <command>`.
func audit(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, auditUsage)
		return 2
	}
	switch args[0] {
	case "verify":
		return auditVerify(args[1:], stdout, stderr)
	case "checkpoint", "prove":
		return auditFetch(args[0], args[1:], stdout, stderr)
	case "keygen":
		return auditKeygen(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, auditUsage)
		return 0
	default:
		fmt.Fprintf(stderr, "provgraph audit: unknown command %q\n\n%s", args[0], auditUsage)
		return 2
	}
}

// auditFlags are the flags of the audit commands that read the log.
type auditFlags struct {
	cfg      store.Config
	wait     time.Duration
	from, to int64
	key      string
	since    string
	proof    string
	out      string
}

func newAuditFlags(name string, stderr io.Writer) (*flag.FlagSet, *auditFlags) {
	f := &auditFlags{}
	fs := flag.NewFlagSet("audit "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	neo4jFlags(fs, &f.cfg, &f.wait, cliNeo4jWait)
	fs.StringVar(&f.cfg.AuditChain, "chain", store.DefaultAuditChain, "the audit chain (log) to read")
	fs.StringVar(&f.since, "since", "", "a `file` holding a checkpoint kept earlier (provgraph audit checkpoint)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: provgraph audit %s [flags]\n\n%s\nFlags:\n", name, neo4jTarget)
		fs.PrintDefaults()
	}
	return fs, f
}

// parseAuditFlags parses args into fs, reporting the exit status when it should stop.
func parseAuditFlags(fs *flag.FlagSet, args []string, stderr io.Writer) (int, bool) {
	if err := parseArgs(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0, false
		}
		return 2, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "provgraph %s: unexpected arguments %q\n", fs.Name(), fs.Args())
		return 2, false
	}
	return 0, true
}

// auditVerify runs `provgraph audit verify`.
func auditVerify(args []string, stdout, stderr io.Writer) int {
	fs, f := newAuditFlags("verify", stderr)
	fs.Int64Var(&f.from, "from", 1, "the first entry (`seq`) to check")
	fs.Int64Var(&f.to, "to", 0, "the last entry (`seq`) to check; 0 for the log's head")
	fs.StringVar(&f.key, "key", "", "the verifier key checkpoints must be signed with: the key itself (name+hash+key) or a `file` holding it or the private key")
	fs.StringVar(&f.proof, "proof", "", "with --since: a `file` holding the consistency proof (provgraph audit prove, or GraphQL auditConsistencyProof's answer); checks offline")
	if code, ok := parseAuditFlags(fs, args, stderr); !ok {
		return code
	}
	key, err := readAuditKey(f.key)
	if err != nil {
		fmt.Fprintf(stderr, "provgraph audit verify: --key: %v\n", err)
		return 2
	}
	if f.proof != "" || f.since != "" {
		return verifySince(f, key, stdout, stderr)
	}
	f.cfg.AuditKey = key
	resolvePassword(&f.cfg)
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	defer cancel()
	var broken bool
	err = withCurrentStore(ctx, f.cfg, f.wait, func(ctx context.Context, st *store.Store) error {
		var err error
		broken, err = verifyAudit(ctx, st, f.from, f.to, stdout)
		return err
	})
	switch {
	case err != nil:
		fmt.Fprintf(stderr, "provgraph audit verify: %v\n", err)
		return 1
	case broken:
		return exitAuditBreak
	}
	if key == nil {
		fmt.Fprintln(stdout, "checkpoint signatures were not checked: give --key to check them")
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
			fmt.Fprintf(out, "verified %d entries (%d to %d); the log's head is at %d\n", checked, from, max(v.To, from-1), v.Head)
			return false, nil
		}
		next = v.To + 1
	}
}
