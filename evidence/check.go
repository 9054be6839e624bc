package evidence

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/provgraph/provgraph/store"
)

// MaxCheckedFileBytes caps what Check reads of one file of a package.
const MaxCheckedFileBytes = 256 << 20

// Checked is what Check found in a package, without provgraph or its database.
type Checked struct {
	// Files is how many files match the manifest's digest and size.
	Files int
	// Entries is how many audit-log entries hash to their hash from their canonical
	// form, and Chained how many of them that follow another of the package name its
	// hash as their prevHash.
	Entries, Chained int
	// Checkpoint is the package's checkpoint, opened with the verifier key (nil when
	// the package has none, or no key was given).
	Checkpoint *store.AuditCheckpoint
	// Proven is how many entries are proven in the checkpoint's tree.
	Proven int
	// Problems lists what does not hold, each naming the file and entry; none when the
	// package is as it was made.
	Problems []string
}

// Check checks a package as an auditor would offline: every file against the
// manifest, every audit-log entry's hash against its canonical form and the chain
// between consecutive entries, and, with vkey (the service's audit verifier key), the
// checkpoint's signature and every entry's inclusion proof in its tree. It returns an
// error only when pkg is not a package at all.
func Check(pkg []byte, vkey string) (Checked, error) {
	files, err := unpack(pkg)
	if err != nil {
		return Checked{}, err
	}
	var c Checked
	var man Manifest
	if err := json.Unmarshal(files[FileManifest], &man); err != nil {
		return Checked{}, fmt.Errorf("%s: %w", FileManifest, err)
	}
	for _, f := range man.Files {
		data, ok := files[f.Name]
		sum := sha256.Sum256(data)
		switch {
		case !ok:
			c.problem("%s: listed in the manifest, not in the package", f.Name)
		case hex.EncodeToString(sum[:]) != f.SHA256 || int64(len(data)) != f.Bytes:
			c.problem("%s: its SHA-256 or size is not the manifest's", f.Name)
		default:
			c.Files++
		}
	}
	var doc auditLogFile
	if err := json.Unmarshal(files[FileAuditLog], &doc); err != nil {
		c.problem("%s: %v", FileAuditLog, err)
		return c, nil
	}
	c.checkEntries(doc)
	c.checkProofs(doc, vkey)
	return c, nil
}

func (c *Checked) problem(format string, args ...any) {
	c.Problems = append(c.Problems, fmt.Sprintf(format, args...))
}

// checkEntries checks each entry's hash and the chain between consecutive entries.
func (c *Checked) checkEntries(doc auditLogFile) {
	for i, e := range doc.Entries {
		sum := sha256.Sum256([]byte(e.Canonical))
		if hex.EncodeToString(sum[:]) != e.Hash {
			c.problem("%s: entry %d: its hash is not the SHA-256 of its canonical form", FileAuditLog, e.Seq)
			continue
		}
		c.Entries++
		if i > 0 && doc.Entries[i-1].Seq == e.Seq-1 {
			if e.PrevHash != doc.Entries[i-1].Hash {
				c.problem("%s: entry %d: its prevHash is not entry %d's hash", FileAuditLog, e.Seq, e.Seq-1)
				continue
			}
			c.Chained++
		}
	}
}

// checkProofs opens the checkpoint with vkey and checks every entry's inclusion proof
// in its tree.
func (c *Checked) checkProofs(doc auditLogFile, vkey string) {
	if doc.Checkpoint == nil || vkey == "" {
		return
	}
	cp, err := store.OpenAuditCheckpoint([]byte(doc.Checkpoint.Note), vkey)
	if err != nil {
		c.problem("%s: checkpoint: %v", FileAuditLog, err)
		return
	}
	c.Checkpoint = &cp
	if cp.Size != doc.Checkpoint.TreeSize || cp.Root.String() != doc.Checkpoint.RootHash {
		c.problem("%s: checkpoint: treeSize or rootHash is not what its signed note says", FileAuditLog)
	}
	for _, e := range doc.Entries {
		if err := checkInclusion(e, cp); err != nil {
			c.problem("%s: entry %d: %v", FileAuditLog, e.Seq, err)
			continue
		}
		c.Proven++
	}
}

// checkInclusion checks that entry e, by its canonical form, is record seq-1 of the
// checkpoint's tree.
func checkInclusion(e auditLogFileEntry, cp store.AuditCheckpoint) error {
	leaf := tlog.RecordHash([]byte(e.Canonical))
	if e.LeafHash != leaf.String() {
		return fmt.Errorf("its leafHash is not the leaf hash of its canonical form")
	}
	proof := make(tlog.RecordProof, len(e.InclusionProof))
	for i, h := range e.InclusionProof {
		var err error
		if proof[i], err = tlog.ParseHash(h); err != nil {
			return fmt.Errorf("inclusionProof[%d]: %w", i, err)
		}
	}
	if err := tlog.CheckRecord(proof, cp.Size, cp.Root, e.Seq-1, leaf); err != nil {
		return fmt.Errorf("not in the checkpoint's tree of %d entries: %w", cp.Size, err)
	}
	return nil
}

// unpack reads the files of a package.
func unpack(pkg []byte) (map[string][]byte, error) {
	zr, err := zip.NewReader(bytes.NewReader(pkg), int64(len(pkg)))
	if err != nil {
		return nil, fmt.Errorf("not an evidence package (a zip): %w", err)
	}
	files := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Name, err)
		}
		data, err := io.ReadAll(io.LimitReader(rc, MaxCheckedFileBytes+1))
		_ = rc.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Name, err)
		}
		if len(data) > MaxCheckedFileBytes {
			return nil, fmt.Errorf("%s: larger than %d bytes", f.Name, MaxCheckedFileBytes)
		}
		files[f.Name] = data
	}
	if _, ok := files[FileManifest]; !ok {
		return nil, fmt.Errorf("not an evidence package: no %s", FileManifest)
	}
	return files, nil
}
