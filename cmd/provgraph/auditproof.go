package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/provgraph/provgraph/store"
)

// consistencyProof is a consistency proof as JSON: the shape of GraphQL's
// auditConsistencyProof answer, which `provgraph audit prove` writes and
// `provgraph audit verify --proof` reads.
type consistencyProof struct {
	From         int64            `json:"from"`
	FromRootHash string           `json:"fromRootHash"`
	Checkpoint   proofCheckpoint  `json:"checkpoint"`
	Proof        []string         `json:"proof"`
	Data         *consistencyData `json:"data,omitempty"`
}

// consistencyData lets verify read a whole GraphQL response saved to a file.
type consistencyData struct {
	AuditConsistencyProof *consistencyProof `json:"auditConsistencyProof"`
}

type proofCheckpoint struct {
	Origin      string `json:"origin"`
	TreeSize    int64  `json:"treeSize"`
	RootHash    string `json:"rootHash"`
	Time        string `json:"time"`
	SignedNote  string `json:"signedNote"`
	VerifierKey string `json:"verifierKey"`
}

// readAuditKey reads --key: a verifier key, or a file holding one or a private key.
// "" is no key.
func readAuditKey(arg string) (*store.AuditKey, error) {
	if arg == "" {
		return nil, nil
	}
	text := arg
	if b, err := os.ReadFile(arg); err == nil {
		text = strings.TrimSpace(string(b))
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if strings.HasPrefix(text, "PRIVATE+KEY+") {
		return store.ParseAuditKey(text)
	}
	return store.ParseAuditVerifier(text)
}

// verifySince checks that the log only grew since the checkpoint in f.since: offline
// from the proof in f.proof, or with a proof it asks the database for.
func verifySince(f *auditFlags, key *store.AuditKey, stdout, stderr io.Writer) int {
	fail := func(code int, format string, args ...any) int {
		fmt.Fprintf(stderr, "provgraph audit verify: "+format+"\n", args...)
		return code
	}
	switch {
	case f.since == "":
		return fail(2, "--proof needs --since: the checkpoint the proof starts from")
	case key == nil:
		return fail(2, "--since needs --key: the verifier key the checkpoints must be signed with")
	}
	kept, err := os.ReadFile(f.since)
	if err != nil {
		return fail(1, "--since: %v", err)
	}
	old, err := store.OpenAuditCheckpoint(kept, key.Verifier)
	if err != nil {
		return fail(exitAuditBreak, "the kept checkpoint %s does not verify: %v", f.since, err)
	}
	var p consistencyProof
	if f.proof != "" {
		if p, err = readConsistencyProof(f.proof); err != nil {
			return fail(1, "--proof: %v", err)
		}
	} else if p, err = fetchConsistencyProof(f, old.Size); err != nil {
		return fail(1, "%v", err)
	}
	latest, err := checkConsistency(old, p, key.Verifier)
	if err != nil {
		return fail(exitAuditBreak, "NOT CONSISTENT: %v", err)
	}
	fmt.Fprintf(stdout, "consistent: the log's first %d entries (checkpoint of %s) are unchanged in the log of %d entries (checkpoint of %s)\n",
		old.Size, old.At.Format("2006-01-02T15:04:05Z07:00"), latest.Size, latest.At.Format("2006-01-02T15:04:05Z07:00"))
	return 0
}

// checkConsistency checks that proof p proves the tree of the later checkpoint it
// carries extends the tree of checkpoint old, both signed by vkey, and returns the
// later checkpoint.
func checkConsistency(old store.AuditCheckpoint, p consistencyProof, vkey string) (store.AuditCheckpoint, error) {
	latest, err := store.OpenAuditCheckpoint([]byte(p.Checkpoint.SignedNote), vkey)
	if err != nil {
		return latest, fmt.Errorf("the proof's checkpoint does not verify: %w", err)
	}
	if latest.Origin != old.Origin {
		return latest, fmt.Errorf("the checkpoints are of different logs: %q and %q", old.Origin, latest.Origin)
	}
	if p.From != old.Size {
		return latest, fmt.Errorf("the proof starts at tree size %d, the kept checkpoint is of size %d", p.From, old.Size)
	}
	proof := make(tlog.TreeProof, len(p.Proof))
	for i, h := range p.Proof {
		if proof[i], err = tlog.ParseHash(h); err != nil {
			return latest, fmt.Errorf("proof hash %d: %w", i, err)
		}
	}
	if err := tlog.CheckTree(proof, latest.Size, latest.Root, old.Size, old.Root); err != nil {
		return latest, fmt.Errorf("the log of %d entries does not extend the kept log of %d: %w", latest.Size, old.Size, err)
	}
	return latest, nil
}

// readConsistencyProof reads a proof file: the JSON `provgraph audit prove` writes, or
// a GraphQL response holding auditConsistencyProof.
func readConsistencyProof(path string) (consistencyProof, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return consistencyProof{}, err
	}
	var p consistencyProof
	if err := json.Unmarshal(b, &p); err != nil {
		return p, fmt.Errorf("%s: not a consistency proof: %w", path, err)
	}
	if p.Data != nil && p.Data.AuditConsistencyProof != nil {
		p = *p.Data.AuditConsistencyProof
	}
	if p.Checkpoint.SignedNote == "" {
		return p, fmt.Errorf("%s: no checkpoint.signedNote: not a consistency proof", path)
	}
	return p, nil
}

// fetchConsistencyProof asks the database for the proof from tree size from to the
// latest checkpoint.
func fetchConsistencyProof(f *auditFlags, from int64) (consistencyProof, error) {
	resolvePassword(&f.cfg)
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	defer cancel()
	var out consistencyProof
	err := withCurrentStore(ctx, f.cfg, f.wait, func(ctx context.Context, st *store.Store) error {
		p, err := st.AuditConsistencyProofOf(ctx, from, nil)
		if err != nil {
			return err
		}
		out = proofJSON(p, st.AuditVerifierKey())
		return nil
	})
	return out, err
}

func checkpointJSON(c store.AuditCheckpoint, vkey string) proofCheckpoint {
	return proofCheckpoint{
		Origin: c.Origin, TreeSize: c.Size, RootHash: c.Root.String(), Time: c.At.Format("2006-01-02T15:04:05.999999999Z07:00"),
		SignedNote: c.Note, VerifierKey: vkey,
	}
}

func proofJSON(p store.AuditConsistencyProof, vkey string) consistencyProof {
	out := consistencyProof{From: p.From, FromRootHash: p.FromRoot.String(), Checkpoint: checkpointJSON(p.Checkpoint, vkey)}
	for _, h := range p.Proof {
		out.Proof = append(out.Proof, h.String())
	}
	if out.Proof == nil {
		out.Proof = []string{}
	}
	return out
}

// auditFetch runs `provgraph audit checkpoint` and `provgraph audit prove`.
func auditFetch(cmd string, args []string, stdout, stderr io.Writer) int {
	fs, f := newAuditFlags(cmd, stderr)
	fs.StringVar(&f.out, "out", "", "write to this `file` instead of standard output")
	if code, ok := parseAuditFlags(fs, args, stderr); !ok {
		return code
	}
	var from int64
	if cmd == "prove" {
		if f.since == "" {
			fmt.Fprintln(stderr, "provgraph audit prove: --since is required: the kept checkpoint the proof starts from")
			return 2
		}
		b, err := os.ReadFile(f.since)
		if err == nil {
			var c store.AuditCheckpoint
			c, err = store.ParseAuditCheckpoint(string(b))
			from = c.Size
		}
		if err != nil {
			fmt.Fprintf(stderr, "provgraph audit prove: --since: %v\n", err)
			return 2
		}
	}
	resolvePassword(&f.cfg)
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	defer cancel()
	var text []byte
	err := withCurrentStore(ctx, f.cfg, f.wait, func(ctx context.Context, st *store.Store) error {
		var err error
		text, err = fetchAuditText(ctx, st, from)
		return err
	})
	if err == nil {
		err = writeOut(f.out, text, stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "provgraph audit %s: %v\n", cmd, err)
		return 1
	}
	return 0
}

// fetchAuditText is the latest signed checkpoint (from 0) or the consistency proof from
// tree size from to it, as JSON.
func fetchAuditText(ctx context.Context, st *store.Store, from int64) ([]byte, error) {
	if from == 0 {
		c, err := st.LatestAuditCheckpoint(ctx)
		if err != nil {
			return nil, err
		}
		if c == nil {
			return nil, errors.New("the audit log has no checkpoint yet")
		}
		return []byte(c.Note), nil
	}
	p, err := st.AuditConsistencyProofOf(ctx, from, nil)
	if err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(proofJSON(p, st.AuditVerifierKey()), "", "  ")
	return append(b, '\n'), err
}

// writeOut writes text to the file path, or to stdout when path is "".
func writeOut(path string, text []byte, stdout io.Writer) error {
	if path == "" {
		_, err := stdout.Write(text)
		return err
	}
	return os.WriteFile(path, text, 0o644)
}

// auditKeygen runs `provgraph audit keygen`: a new checkpoint key in --out (mode 0600,
// never overwritten) and its verifier key in --out.pub and on standard output.
func auditKeygen(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("audit keygen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "the `file` to create with the private key (its verifier key goes to <file>.pub)")
	name := fs.String("name", "provgraph-audit", "the key's `name`, shown in every signature")
	if code, ok := parseAuditFlags(fs, args, stderr); !ok {
		return code
	}
	if *out == "" {
		fmt.Fprintln(stderr, "provgraph audit keygen: --out is required")
		return 2
	}
	skey, vkey, err := store.GenerateAuditKey(*name)
	if err == nil {
		err = createKeyFile(*out, skey, vkey)
	}
	if err != nil {
		fmt.Fprintf(stderr, "provgraph audit keygen: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, vkey)
	return 0
}

// createKeyFile writes a new key file (refusing to replace one) and its .pub.
func createKeyFile(path, skey, vkey string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.WriteString(skey + "\n")
	if err = errors.Join(err, f.Close()); err != nil {
		return err
	}
	return os.WriteFile(path+".pub", []byte(vkey+"\n"), 0o644)
}
