package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/mod/sumdb/note"

	"github.com/provgraph/provgraph/auth"
	"github.com/provgraph/provgraph/internal/benchenv"
	"github.com/provgraph/provgraph/server"
	"github.com/provgraph/provgraph/store"
)

// auditHeading is the heading of the audit log's section in BENCHMARKS.md.
const auditHeading = "## Audit log: verification and proofs (issue 15)"

// Targets of issue 15.
const (
	auditVerifyTarget = 60 * time.Second      // provgraph audit verify over 10M entries
	auditProofTarget  = 20 * time.Millisecond // an inclusion proof over HTTP, p99
	auditBenchChain   = "bench-audit"         // the chain the section seeds, apart from the service's
	auditEntriesFlag  = "audit-entries"       // the flag naming the log's size
)

var auditEntries = 10_000_000

// auditBench seeds a chain of auditEntries entries (once), verifies all of it as
// `provgraph audit verify` does, and measures inclusion proofs over HTTP.
func auditBench(ctx context.Context, requests, warmup int) (string, error) {
	cfg := benchenv.Config()
	cfg.AuditChain = fmt.Sprintf("%s-v2-%d", auditBenchChain, auditEntries)
	// The same key on every run, so a chain seeded by an earlier run verifies: a
	// benchmark's key signs nothing anyone relies on.
	skey, _, err := note.GenerateKey(rand.NewChaCha8([32]byte{15}), "provgraph-bench")
	if err == nil {
		cfg.AuditKey, err = store.ParseAuditKey(skey)
	}
	if err != nil {
		return "", err
	}
	st, err := store.Open(cfg)
	if err != nil {
		return "", err
	}
	defer st.Close(ctx)
	if err := st.WaitReachable(ctx, time.Second); err != nil {
		return "", err
	}
	if _, _, err := st.Migrate(ctx, store.Schema); err != nil {
		return "", err
	}
	start := time.Now()
	err = st.SeedAuditLog(ctx, auditEntries, func(done int) { fmt.Fprintf(os.Stderr, "\rseeding the audit log: %d entries", done) })
	switch {
	case err == nil:
		fmt.Fprintf(os.Stderr, "\nseeded %d audit entries in %s\n", auditEntries, time.Since(start).Round(time.Second))
	case strings.Contains(err.Error(), "seed only an empty chain"):
		fmt.Fprintf(os.Stderr, "using the audit log seeded before (%s)\n", cfg.AuditChain)
	default:
		return "", err
	}
	start = time.Now()
	v, err := st.VerifyAuditSpan(ctx, 1, int64(auditEntries))
	verifyTime := time.Since(start)
	if err != nil {
		return "", err
	}
	if v.FirstBreak != nil || v.Checked != int64(auditEntries) {
		return "", fmt.Errorf("audit verify: checked %d of %d entries, break %+v", v.Checked, auditEntries, v.FirstBreak)
	}
	fmt.Fprintf(os.Stderr, "audit verify: %d entries in %s\n", v.Checked, verifyTime.Round(time.Millisecond))
	proof, err := inclusionProofLatency(ctx, st, requests, warmup)
	if err != nil {
		return "", err
	}
	return auditReport(verifyTime, proof), nil
}

// inclusionProofLatency serves the seeded chain and asks for inclusion proofs of random
// entries, one at a time, checking that each answer holds a proof.
func inclusionProofLatency(ctx context.Context, st *store.Store, requests, warmup int) (result, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return result{}, err
	}
	srv := &http.Server{Handler: server.New(server.Options{Store: st, Logger: zerolog.Nop()})}
	go srv.Serve(ln)
	defer srv.Close()
	expires := time.Now().Add(time.Hour)
	_, token, err := st.CreateAPIToken(ctx, "bench", store.NewAPIToken{Name: "bench-audit-" + time.Now().UTC().Format("20060102-150405.000"),
		Role: auth.RoleReader, ExpiresAt: &expires})
	if err != nil {
		return result{}, err
	}
	client := &http.Client{Transport: auth.BearerTransport(token, &http.Transport{MaxIdleConnsPerHost: 1})}
	url := "http://" + ln.Addr().String() + "/graphql"
	rng := rand.New(rand.NewPCG(15, 15))
	prove := func() error {
		q := fmt.Sprintf(`{ auditInclusionProof(entry: %d) { leafHash proof checkpoint { treeSize rootHash } } }`, 1+rng.IntN(auditEntries))
		body, _ := json.Marshal(map[string]string{"query": q})
		resp, err := client.Post(url, "application/json", bytes.NewReader(body))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var out struct {
			Data struct {
				AuditInclusionProof struct{ Proof []string } `json:"auditInclusionProof"`
			} `json:"data"`
			Errors []any `json:"errors"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			return err
		}
		if len(out.Errors) > 0 || len(out.Data.AuditInclusionProof.Proof) == 0 {
			return fmt.Errorf("inclusion proof: %v", out.Errors)
		}
		return nil
	}
	res, err := measure([]row{{name: "auditInclusionProof over HTTP", op: prove}}, warmup, requests)
	if err != nil {
		return result{}, err
	}
	return res[0], nil
}

func auditReport(verify time.Duration, proof result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n%s\n\n", auditHeading)
	fmt.Fprintf(&b, "- Run: %s on %s, %d cores, %s RAM; `go run ./internal/bench --only audit --%s %d` (and make bench), on a fresh Neo4j\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), benchenv.CPUModel(), runtime.NumCPU(), memTotal(), auditEntriesFlag, auditEntries)
	fmt.Fprintf(&b, "- Method: a chain of %d entries seeded once, sequenced as the sequencer does (hash chain, Merkle tree, a signed checkpoint); "+
		"`store.VerifyAuditSpan` over all of it, the check `provgraph audit verify` runs (chain, every tree hash, every checkpoint); "+
		"then `auditInclusionProof` of random entries over HTTP through the real handler, one client, sequential\n\n", auditEntries)
	b.WriteString("| what | measured | target |\n|---|---|---|\n")
	fmt.Fprintf(&b, "| verify %d entries | %s (%.0f entries/s) | ≤ %s for 10M |\n", auditEntries, verify.Round(time.Millisecond),
		float64(auditEntries)/verify.Seconds(), auditVerifyTarget)
	fmt.Fprintf(&b, "| inclusion proof p50 / p99 / max | %s / %s / %s | p99 ≤ %s |\n", ms(proof.p50), ms(proof.p99), ms(proof.max), auditProofTarget)
	return b.String()
}
