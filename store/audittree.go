package store

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// The audit log's Merkle tree (RFC 6962 hashing, as Certificate Transparency and Go's
// checksum database use) is computed, proved and checked with golang.org/x/mod/sumdb/tlog,
// and its checkpoints are signed notes (golang.org/x/mod/sumdb/note, Ed25519) in the C2SP
// checkpoint format: the same well-reviewed code the Go checksum database runs, rather
// than proof code of our own.
//
// Entry seq s is the tree's record s-1; its leaf is the entry's canonical form. The tree
// is kept as tlog's stored hashes: record n's are its leaf hash followed by the hash of
// every subtree n completes, and they are kept on entry n+1 as the byte string `tree`
// (32 bytes per hash), so the stored hash (level L, index k) is on entry (k+1)<<L at
// offset 32·L.

// auditHashSize is the size of one stored hash in an entry's tree bytes.
const auditHashSize = tlog.HashSize

// hashMap is a HashReader over hashes held in memory.
type hashMap map[int64]tlog.Hash

// ReadHashes returns the hashes at indexes, all of which must be held.
func (m hashMap) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		h, ok := m[x]
		if !ok {
			level, n := tlog.SplitStoredHashIndex(x)
			return nil, fmt.Errorf("audit tree: hash (level %d, index %d) is not loaded", level, n)
		}
		out[i] = h
	}
	return out, nil
}

// frontier returns the stored indexes of the complete subtrees a tree of size n is made
// of, largest first: all that adding record n or hashing the tree reads.
func frontier(n int64) []int64 {
	var out []int64
	for level := 62; level >= 0; level-- {
		if (n>>level)&1 == 1 {
			out = append(out, tlog.StoredHashIndex(level, (n>>level)-1))
		}
	}
	return out
}

// storedAt says where stored hash index lives: on entry seq, at position level of its
// tree bytes.
func storedAt(index int64) (seq int64, level int) {
	level, n := tlog.SplitStoredHashIndex(index)
	return (n + 1) << level, level
}

// treeBuilder adds records to a tree whose frontier it holds in memory.
type treeBuilder struct {
	size   int64
	hashes hashMap
}

// add adds the record whose leaf is data and returns the hashes to store with it.
func (b *treeBuilder) add(data []byte) ([]byte, error) {
	return b.addLeaf(tlog.RecordHash(data))
}

// addLeaf adds the record whose leaf hash is leaf (tlog.RecordHash of its data) and
// returns the hashes to store with it.
func (b *treeBuilder) addLeaf(leaf tlog.Hash) ([]byte, error) {
	hashes, err := tlog.StoredHashesForRecordHash(b.size, leaf, b.hashes)
	if err != nil {
		return nil, fmt.Errorf("audit tree: add record %d: %w", b.size, err)
	}
	out := make([]byte, 0, len(hashes)*auditHashSize)
	for level, h := range hashes {
		b.hashes[tlog.StoredHashIndex(level, b.size>>level)] = h
		out = append(out, h[:]...)
	}
	b.size++
	if len(b.hashes) > maxHeldHashes {
		b.prune()
	}
	return out, nil
}

// maxHeldHashes is how many hashes a treeBuilder holds before it drops those no later
// record reads (all but the frontier, at most 63).
const maxHeldHashes = 1024

// prune drops every held hash but the frontier's.
func (b *treeBuilder) prune() {
	keep := map[int64]bool{}
	for _, x := range frontier(b.size) {
		keep[x] = true
	}
	for x := range b.hashes {
		if !keep[x] {
			delete(b.hashes, x)
		}
	}
}

// root is the tree's root hash.
func (b *treeBuilder) root() (tlog.Hash, error) {
	return tlog.TreeHash(b.size, b.hashes)
}

const cypherAuditTrees = `
UNWIND $seqs AS s
MATCH (e:` + LabelAuditEntry + ` {chain: $chain, seq: s})
USING INDEX e:` + LabelAuditEntry + `(chain, seq)
RETURN s AS seq, e.tree AS tree`

// readStoredHashes reads the stored hashes at indexes from the entries holding them.
func readStoredHashes(ctx context.Context, tx neo4j.ManagedTransaction, chain string, indexes []int64) ([]tlog.Hash, error) {
	seqs := make([]int64, 0, len(indexes))
	for _, x := range indexes {
		seq, _ := storedAt(x)
		seqs = append(seqs, seq) // an entry holds several levels' hashes: read it once
	}
	slices.Sort(seqs)
	seqs = slices.Compact(seqs)
	recs, err := collect(ctx, tx, cypherAuditTrees, map[string]any{"chain": chain, "seqs": seqs})
	if err != nil {
		return nil, fmt.Errorf("read audit tree hashes: %w", err)
	}
	trees := make(map[int64][]byte, len(recs))
	for _, r := range recs {
		seq, _ := r.Get("seq")
		tree, _ := r.Get("tree")
		s, _ := seq.(int64)
		trees[s], _ = tree.([]byte)
	}
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		seq, level := storedAt(x)
		tree := trees[seq]
		if len(tree) < (level+1)*auditHashSize {
			return nil, fmt.Errorf("audit tree: entry %d holds no hash at level %d", seq, level)
		}
		copy(out[i][:], tree[level*auditHashSize:])
	}
	return out, nil
}

// loadTreeBuilder returns a builder for the tree of the first size records, its
// frontier read from the entries.
func loadTreeBuilder(ctx context.Context, tx neo4j.ManagedTransaction, chain string, size int64) (*treeBuilder, error) {
	b := &treeBuilder{size: size, hashes: hashMap{}}
	idx := frontier(size)
	if len(idx) == 0 {
		return b, nil
	}
	hashes, err := readStoredHashes(ctx, tx, chain, idx)
	if err != nil {
		return nil, err
	}
	for i, x := range idx {
		b.hashes[x] = hashes[i]
	}
	return b, nil
}

// txHashReader reads stored hashes in a transaction, for proofs.
func txHashReader(ctx context.Context, tx neo4j.ManagedTransaction, chain string) tlog.HashReader {
	return tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		return readStoredHashes(ctx, tx, chain, indexes)
	})
}

// AuditKey signs the audit log's checkpoints: an Ed25519 key in the signed-note format
// of golang.org/x/mod/sumdb/note (`PRIVATE+KEY+<name>+<hash>+<key>`). A key made from a
// verifier key alone (ParseAuditVerifier) checks checkpoints but cannot sign them.
type AuditKey struct {
	signer note.Signer // nil for a verifier key
	// Verifier is the key's public half (`<name>+<hash>+<key>`), which auditors keep
	// to check checkpoints.
	Verifier string
}

// GenerateAuditKey makes a new checkpoint key named name; it returns the private key
// (to keep secret) and the verifier key (to give to auditors).
func GenerateAuditKey(name string) (skey, vkey string, err error) {
	return note.GenerateKey(rand.Reader, name)
}

// ParseAuditKey reads a private key made by GenerateAuditKey.
func ParseAuditKey(skey string) (*AuditKey, error) {
	skey = strings.TrimSpace(skey)
	signer, err := note.NewSigner(skey)
	if err != nil {
		return nil, fmt.Errorf("audit key: %w", err)
	}
	// PRIVATE+KEY+<name>+<hash>+<base64 of the algorithm byte and the seed>
	parts := strings.SplitN(skey, "+", 5) // the key's base64 may itself hold a '+'
	raw, err := base64.StdEncoding.DecodeString(parts[len(parts)-1])
	if err != nil || len(raw) != 1+ed25519.SeedSize {
		return nil, errors.New("audit key: not an Ed25519 key")
	}
	pub := ed25519.NewKeyFromSeed(raw[1:]).Public().(ed25519.PublicKey)
	vkey, err := note.NewEd25519VerifierKey(signer.Name(), pub)
	if err != nil {
		return nil, fmt.Errorf("audit key: %w", err)
	}
	return &AuditKey{signer: signer, Verifier: vkey}, nil
}

// ParseAuditVerifier reads a verifier key (`<name>+<hash>+<key>`), which checks
// checkpoints but cannot sign them.
func ParseAuditVerifier(vkey string) (*AuditKey, error) {
	vkey = strings.TrimSpace(vkey)
	if _, err := note.NewVerifier(vkey); err != nil {
		return nil, fmt.Errorf("audit verifier key: %w", err)
	}
	return &AuditKey{Verifier: vkey}, nil
}

// canSign reports whether k can sign checkpoints (and so sequence the log).
func (k *AuditKey) canSign() bool { return k != nil && k.signer != nil }

// AuditCheckpoint is a signed statement of the audit log's Merkle tree: its size and
// root hash at a time. Note is the signed note itself, what auditors keep.
type AuditCheckpoint struct {
	Origin string
	Size   int64
	Root   tlog.Hash
	At     time.Time
	Note   string
}

// auditOrigin names a chain's log in its checkpoints (the C2SP checkpoint's origin line).
func auditOrigin(chain string) string { return "provgraph/audit/" + chain }

// checkpointText is a checkpoint's body in the C2SP checkpoint format: origin, size,
// base64 root hash, then an extension line with the time.
func checkpointText(c AuditCheckpoint) string {
	return fmt.Sprintf("%s\n%d\n%s\ntime %s\n", c.Origin, c.Size, c.Root, c.At.UTC().Format(time.RFC3339Nano))
}

// SignCheckpoint returns c with its note signed by the key (it must hold the private half).
func (k *AuditKey) SignCheckpoint(c AuditCheckpoint) (AuditCheckpoint, error) {
	msg, err := note.Sign(&note.Note{Text: checkpointText(c)}, k.signer)
	if err != nil {
		return c, fmt.Errorf("sign audit checkpoint: %w", err)
	}
	c.Note = string(msg)
	return c, nil
}

// OpenAuditCheckpoint checks a signed checkpoint against the verifier key vkey and
// returns what it states.
func OpenAuditCheckpoint(signed []byte, vkey string) (AuditCheckpoint, error) {
	v, err := note.NewVerifier(strings.TrimSpace(vkey))
	if err != nil {
		return AuditCheckpoint{}, fmt.Errorf("verifier key: %w", err)
	}
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		return AuditCheckpoint{}, fmt.Errorf("checkpoint signature: %w", err)
	}
	c, err := ParseAuditCheckpoint(n.Text)
	c.Note = string(signed)
	return c, err
}

// ParseAuditCheckpoint reads a checkpoint's body (checkpointText) without checking any
// signature.
func ParseAuditCheckpoint(text string) (AuditCheckpoint, error) {
	if i := strings.Index(text, "\n\n"); i >= 0 {
		text = text[:i+1] // a signed note: the body ends at the blank line
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) < 4 || !strings.HasPrefix(lines[3], "time ") {
		return AuditCheckpoint{}, errors.New("checkpoint: want origin, size, root hash and time lines")
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 {
		return AuditCheckpoint{}, fmt.Errorf("checkpoint: size %q is not a tree size", lines[1])
	}
	root, err := tlog.ParseHash(lines[2])
	if err != nil {
		return AuditCheckpoint{}, fmt.Errorf("checkpoint: root hash %q: %w", lines[2], err)
	}
	at, err := time.Parse(time.RFC3339Nano, strings.TrimPrefix(lines[3], "time "))
	if err != nil {
		return AuditCheckpoint{}, fmt.Errorf("checkpoint: time: %w", err)
	}
	return AuditCheckpoint{Origin: lines[0], Size: size, Root: root, At: at.UTC(), Note: text}, nil
}
