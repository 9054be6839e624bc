package evidence

import (
	"archive/zip"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/provgraph/provgraph/store"
)

// provenFixture is fixture() with a valid chain of entries, each proven in the tree of
// a checkpoint signed by a key of the test's; it returns the verifier key too.
func provenFixture(t *testing.T) (Evidence, string) {
	t.Helper()
	ev := fixture()
	ev.Audit.Entries[2].Actor = "token:ci" // as it was written
	var hashes []tlog.Hash
	for i, e := range ev.Audit.Entries {
		stored, err := tlog.StoredHashes(int64(i), e.Canonical(), tlog.HashReaderFunc(func(ix []int64) ([]tlog.Hash, error) {
			out := make([]tlog.Hash, len(ix))
			for i, x := range ix {
				out[i] = hashes[x]
			}
			return out, nil
		}))
		require.NoError(t, err)
		hashes = append(hashes, stored...)
	}
	n := int64(len(ev.Audit.Entries))
	require.Equal(t, tlog.StoredHashCount(n), int64(len(hashes)))
	reader := tlog.HashReaderFunc(func(ix []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(ix))
		for i, x := range ix {
			out[i] = hashes[x]
		}
		return out, nil
	})
	root, err := tlog.TreeHash(n, reader)
	require.NoError(t, err)
	skey, vkey, err := note.GenerateKey(rand.Reader, "provgraph-test")
	require.NoError(t, err)
	key, err := store.ParseAuditKey(skey)
	require.NoError(t, err)
	signed, err := key.SignCheckpoint(store.AuditCheckpoint{Origin: "provgraph/audit/test", Size: n, Root: root, At: ev.At})
	require.NoError(t, err)
	ev.Audit.Verification = store.AuditVerification{From: 1, To: n, Checked: n, Head: n}
	for _, e := range ev.Audit.Entries {
		proof, err := tlog.ProveRecord(n, e.Seq-1, reader)
		require.NoError(t, err)
		ev.Audit.Proofs = append(ev.Audit.Proofs, store.AuditInclusionProof{Entry: e.Seq, LeafHash: tlog.RecordHash(e.Canonical()), Checkpoint: signed, Proof: proof})
	}
	return ev, vkey
}

func build(t *testing.T, ev Evidence) []byte {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, Build(&buf, ev, Meta{Version: "v", GeneratedAt: time.Unix(0, 0)}))
	return buf.Bytes()
}

// rezip rewrites a package with one file's bytes changed by edit, keeping the rest
// (the manifest too, unless edit is of the manifest).
func rezip(t *testing.T, pkg []byte, name string, edit func([]byte) []byte) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(pkg), int64(len(pkg)))
	require.NoError(t, err)
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, f := range zr.File {
		rc, err := f.Open()
		require.NoError(t, err)
		data, err := io.ReadAll(rc)
		require.NoError(t, err)
		if f.Name == name {
			data = edit(data)
		}
		w, err := zw.Create(f.Name)
		require.NoError(t, err)
		_, err = w.Write(data)
		require.NoError(t, err)
	}
	require.NoError(t, zw.Close())
	return out.Bytes()
}

// A package as it was made checks out offline: every file, every entry's hash and
// chain, the checkpoint's signature and every inclusion proof. Each kind of change is
// found and named.
func TestCheckFindsWhatChanged(t *testing.T) {
	t.Parallel()
	ev, vkey := provenFixture(t)
	pkg := build(t, ev)
	c, err := Check(pkg, vkey)
	require.NoError(t, err)
	assert.Empty(t, c.Problems)
	assert.Equal(t, 4, c.Files)
	assert.Equal(t, 3, c.Entries)
	assert.Equal(t, 2, c.Chained)
	assert.Equal(t, 3, c.Proven)
	require.NotNil(t, c.Checkpoint)
	assert.Equal(t, int64(3), c.Checkpoint.Size)

	c, err = Check(pkg, "")
	require.NoError(t, err)
	assert.Empty(t, c.Problems)
	assert.Nil(t, c.Checkpoint, "without a key, the checkpoint is not opened")
	assert.Zero(t, c.Proven)

	_, otherKey, err := note.GenerateKey(rand.Reader, "provgraph-test")
	require.NoError(t, err)
	c, err = Check(pkg, otherKey)
	require.NoError(t, err)
	require.Len(t, c.Problems, 1)
	assert.Contains(t, c.Problems[0], "checkpoint signature")

	replace := func(old, new string) func([]byte) []byte {
		return func(b []byte) []byte {
			require.Contains(t, string(b), old)
			return []byte(strings.Replace(string(b), old, new, 1))
		}
	}
	// An entry rewritten with its hash recomputed: its own hash checks, but it is no
	// longer the tree's leaf, and the next entry's prevHash no longer names it.
	rewrite := func(b []byte) []byte {
		var doc auditLogFile
		require.NoError(t, json.Unmarshal(b, &doc))
		doc.Entries[0].Canonical = strings.Replace(doc.Entries[0].Canonical, `"actor":"token:ci"`, `"actor":"token:me"`, 1)
		sum := sha256.Sum256([]byte(doc.Entries[0].Canonical))
		doc.Entries[0].Hash = hex.EncodeToString(sum[:])
		out, err := indentJSON(doc)
		require.NoError(t, err)
		return out
	}
	for _, tc := range []struct {
		name, file string
		edit       func([]byte) []byte
		says       []string
	}{
		{"a file changed", FileProvJSON, replace("datasetVersion", "datasetVersioN"), []string{FileProvJSON + ": its SHA-256 or size"}},
		{"an entry's canonical form changed", FileAuditLog, replace(`\"actor\":\"token:ci\"`, `\"actor\":\"token:me\"`),
			[]string{"entry 1: its hash is not the SHA-256"}},
		{"an entry rewritten with its hash", FileAuditLog, rewrite,
			[]string{"entry 1: its leafHash is not", "entry 2: its prevHash is not entry 1's hash"}},
		{"a proof changed", FileAuditLog, replace(`"inclusionProof": [`+"\n        \"", `"inclusionProof": [`+"\n        \"A"), []string{"entry 1: inclusionProof[0]"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Check(rezip(t, pkg, tc.file, tc.edit), vkey)
			require.NoError(t, err)
			joined := strings.Join(c.Problems, "\n")
			for _, says := range tc.says {
				assert.Contains(t, joined, says)
			}
			assert.Contains(t, joined, tc.file+": its SHA-256 or size is not the manifest's")
		})
	}

	_, err = Check([]byte("not a zip"), vkey)
	assert.ErrorContains(t, err, "not an evidence package")
}
