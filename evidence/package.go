package evidence

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/provgraph/provgraph/export"
	"github.com/provgraph/provgraph/store"
)

// The files of a package, in the order the zip holds them; the manifest comes last.
const (
	FileReport   = "report.pdf"
	FileSVG      = "lineage.svg"
	FileProvJSON = "lineage.prov.json"
	FileAuditLog = "audit-log.json"
	FileManifest = "manifest.json"
)

// Meta says who made a package and when.
type Meta struct {
	// Version is the generating provgraph's version.
	Version string
	// GeneratedAt is when the package was made; it dates the zip's files too.
	GeneratedAt time.Time
}

// Manifest is manifest.json: what the package is about and the SHA-256 and size of
// every other file, so a recipient can check that none was changed or swapped.
type Manifest struct {
	Subject          string         `json:"subject"`
	SubjectKind      string         `json:"subjectKind"`
	At               string         `json:"at"`
	GeneratedAt      string         `json:"generatedAt"`
	ProvgraphVersion string         `json:"provgraphVersion"`
	Files            []ManifestFile `json:"files"`
}

// ManifestFile is one file of the package in the manifest.
type ManifestFile struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
	Bytes  int64  `json:"bytes"`
}

// Build renders ev as a zip archive written to w. It reads nothing: the same evidence
// and meta give the same bytes.
func Build(w io.Writer, ev Evidence, meta Meta) error {
	svg, err := export.Render(ev.Lineage, export.SVG)
	if err != nil {
		return err
	}
	prov, err := export.Render(ev.Lineage, export.ProvJSON)
	if err != nil {
		return err
	}
	audit, err := auditLogJSON(ev)
	if err != nil {
		return err
	}
	files := []struct {
		name string
		body []byte
	}{{FileSVG, svg}, {FileProvJSON, prov}, {FileAuditLog, audit}}
	var sums []ManifestFile
	for _, f := range files {
		sum := sha256.Sum256(f.body)
		sums = append(sums, ManifestFile{Name: f.name, SHA256: hex.EncodeToString(sum[:]), Bytes: int64(len(f.body))})
	}
	// The report lists the other files' digests, so it is made after them.
	report, err := renderReport(ev, meta, sums)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(report)
	man := Manifest{
		Subject: ev.Subject.Key, SubjectKind: string(ev.Subject.Kind), At: ev.At.UTC().Format(time.RFC3339Nano),
		GeneratedAt: meta.GeneratedAt.UTC().Format(time.RFC3339Nano), ProvgraphVersion: meta.Version,
		Files: append([]ManifestFile{{Name: FileReport, SHA256: hex.EncodeToString(sum[:]), Bytes: int64(len(report))}}, sums...),
	}
	zw := zip.NewWriter(w)
	put := func(name string, body []byte) error {
		f, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: meta.GeneratedAt.UTC()})
		if err != nil {
			return fmt.Errorf("evidence package: %s: %w", name, err)
		}
		if _, err := f.Write(body); err != nil {
			return fmt.Errorf("evidence package: %s: %w", name, err)
		}
		return nil
	}
	if err := put(FileReport, report); err != nil {
		return err
	}
	for _, f := range files {
		if err := put(f.name, f.body); err != nil {
			return err
		}
	}
	manifest, err := indentJSON(man)
	if err != nil {
		return err
	}
	if err := put(FileManifest, manifest); err != nil {
		return err
	}
	return zw.Close()
}

// auditLogFile is audit-log.json.
type auditLogFile struct {
	Subject string `json:"subject"`
	At      string `json:"at"`
	// About says which entries the file holds.
	About        string              `json:"about"`
	Entries      []auditLogFileEntry `json:"entries"`
	Truncated    bool                `json:"truncated"`
	Verification auditVerification   `json:"verification"`
	// Checkpoint is the signed checkpoint every entry's inclusion proof leads to;
	// null when the log had none yet.
	Checkpoint *auditCheckpoint `json:"checkpoint"`
}

// auditCheckpoint is a signed checkpoint of the audit log's tree (docs/audit.md).
type auditCheckpoint struct {
	TreeSize int64  `json:"treeSize"`
	RootHash string `json:"rootHash"`
	// Note is the checkpoint as signed: the text and the signature lines.
	Note string `json:"note"`
}

// auditLogFileEntry is one entry with what its hash was recomputed from.
type auditLogFileEntry struct {
	Seq         int64    `json:"seq"`
	At          string   `json:"at"`
	Actor       string   `json:"actor"`
	Action      string   `json:"action"`
	Targets     []string `json:"targets"`
	TargetCount int64    `json:"targetCount"`
	RequestID   string   `json:"requestId"`
	PrevHash    string   `json:"prevHash"`
	Hash        string   `json:"hash"`
	// Changes are the fields the write changed, with the values they replaced.
	Changes []store.AuditChange `json:"changes"`
	// Canonical is the text the hash is the SHA-256 of (docs/audit.md).
	Canonical    string `json:"canonical"`
	ComputedHash string `json:"computedHash"`
	HashValid    bool   `json:"hashValid"`
	// LeafHash and InclusionProof prove the entry in the checkpoint's tree (record
	// seq-1; hashes in base64); absent without a checkpoint.
	LeafHash       string   `json:"leafHash,omitempty"`
	InclusionProof []string `json:"inclusionProof,omitempty"`
}

type auditVerification struct {
	Verified   bool        `json:"verified"`
	From       int64       `json:"from"`
	To         int64       `json:"to"`
	Checked    int64       `json:"checked"`
	Head       int64       `json:"head"`
	FirstBreak *auditBreak `json:"firstBreak"`
}

type auditBreak struct {
	Seq      int64  `json:"seq"`
	Reason   string `json:"reason"`
	Expected string `json:"expected"`
	Found    string `json:"found"`
}

func auditLogJSON(ev Evidence) ([]byte, error) {
	v := ev.Audit.Verification
	doc := auditLogFile{
		Subject: ev.Subject.Key, At: ev.At.UTC().Format(time.RFC3339Nano),
		About: "the audit-log entries appended by `at` whose targets name a node of lineage.prov.json, oldest first; " +
			"verification covers every entry from the first to the last of them (docs/audit.md)",
		Entries: []auditLogFileEntry{}, Truncated: ev.Audit.Truncated,
		Verification: auditVerification{Verified: v.FirstBreak == nil, From: v.From, To: v.To, Checked: v.Checked, Head: v.Head},
	}
	if b := v.FirstBreak; b != nil {
		doc.Verification.FirstBreak = &auditBreak{Seq: b.Seq, Reason: b.Reason, Expected: b.Expected, Found: b.Found}
	}
	if len(ev.Audit.Proofs) > 0 {
		c := ev.Audit.Proofs[0].Checkpoint
		doc.Checkpoint = &auditCheckpoint{TreeSize: c.Size, RootHash: c.Root.String(), Note: c.Note}
	}
	for i, e := range ev.Audit.Entries {
		computed := e.ComputeHash()
		targets := e.Targets
		if targets == nil {
			targets = []string{}
		}
		changes := e.Changes
		if changes == nil {
			changes = []store.AuditChange{}
		}
		doc.Entries = append(doc.Entries, auditLogFileEntry{
			Seq: e.Seq, At: e.At.UTC().Format(time.RFC3339Nano), Actor: e.Actor, Action: e.Action, Targets: targets,
			TargetCount: e.TargetCount, RequestID: e.RequestID, PrevHash: e.PrevHash, Hash: e.Hash, Changes: changes,
			Canonical: string(e.Canonical()), ComputedHash: computed, HashValid: computed == e.Hash,
		})
		if i < len(ev.Audit.Proofs) {
			p := ev.Audit.Proofs[i]
			doc.Entries[i].LeafHash = p.LeafHash.String()
			for _, h := range p.Proof {
				doc.Entries[i].InclusionProof = append(doc.Entries[i].InclusionProof, h.String())
			}
		}
	}
	return indentJSON(doc)
}

// indentJSON encodes v indented, without HTML escaping (the text is data, not markup
// for a browser, and sha256sum users compare it as written).
func indentJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("evidence package: encode JSON: %w", err)
	}
	return buf.Bytes(), nil
}

// hashValid tells whether e's stored hash is the SHA-256 of its canonical form.
func hashValid(e store.AuditLogEntry) bool { return e.ComputeHash() == e.Hash }
