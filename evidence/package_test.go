package evidence

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/store"
)

var keep = flag.String("keep", "", "write the test package to this file, to look at it")

// hostileNames are names any writer can give, which every file must show as text.
var hostileNames = []string{
	`<img src=x onerror=alert(1)>`,
	`"><script>alert(1)</script>`,
	"训练数据 データセット Обучение ελληνικά \u202e",
	strings.Repeat("a-very-long-name-without-spaces/", 20),
	"tab\there\nnewline\x00nul",
}

// fixture is the evidence of an endpoint serving one version, produced by a training
// job from hostile-named data, with approvals and audit entries, at fixed times.
func fixture() Evidence {
	at := time.Date(2026, 3, 14, 9, 30, 0, 0, time.UTC)
	node := func(key string, kind store.Kind, name string, props map[string]any) store.Node {
		p := map[string]any{"key": key, "kind": string(kind), "name": name, "recordedAt": at.Add(-time.Hour), "recordedBy": "token:ci"}
		for k, v := range props {
			p[k] = v
		}
		return store.Node{Key: key, Kind: kind, Name: name, RecordedAt: at.Add(-time.Hour), RecordedBy: "token:ci", Props: p}
	}
	endpoint := node("endpoint:fraud-prod", store.KindEndpoint, "fraud-prod", nil)
	version := node("model:fraud/3", store.KindModelVersion, "fraud/3", map[string]any{"version": int64(3), "source": "s3://models/fraud/model.tar.gz", "description": hostileNames[0]})
	artifact := node("artifact:s3://models/fraud/model.tar.gz", store.KindArtifact, "model.tar.gz", nil)
	job := node("job:sagemaker:train", store.KindTrainingJob, hostileNames[1], map[string]any{
		"instanceType": "ml.m5.xlarge", "codeVersion": "4e1d9b2", "hyperParameters": `{"eta":"0.2","max_depth":"6","note":"` + hostileNames[1] + `"}`,
	})
	lin := store.Lineage{Nodes: []store.Node{endpoint, version, artifact, job}}
	lin.Edges = []store.Edge{
		{From: artifact.Key, To: version.Key, Type: store.RelRegisteredAs},
		{From: job.Key, To: artifact.Key, Type: store.RelProduced},
		{From: version.Key, To: endpoint.Key, Type: store.RelDeployedTo},
	}
	var data []store.Node
	for i, name := range hostileNames {
		dv := node(fmt.Sprintf("datasetVersion:s3://lake:%s#sha256:%d", name, i), store.KindDatasetVersion, name, map[string]any{"digest": fmt.Sprintf("sha256:%064d", i)})
		data = append(data, dv)
		lin.Nodes = append(lin.Nodes, dv)
		lin.Edges = append(lin.Edges, store.Edge{From: dv.Key, To: job.Key, Type: store.RelInputTo})
	}
	comment := hostileNames[2]
	dep := store.Deployment{ID: "d1", Endpoint: endpoint, ModelVersion: version, Variant: "AllTraffic", TrafficShare: 1, From: at.Add(-30 * time.Minute), RecordedBy: "token:ci"}
	var entries []store.AuditLogEntry
	prev := store.GenesisHash
	for i := int64(1); i <= 3; i++ {
		e := store.AuditLogEntry{Seq: i, At: at.Add(time.Duration(i) * time.Minute), Actor: "token:ci", Action: "trainingJob.record",
			Targets: []string{job.Key, data[0].Key}, TargetCount: 2, RequestID: "req", PrevHash: prev}
		e.Hash = e.ComputeHash()
		prev = e.Hash
		entries = append(entries, e)
	}
	entries[2].Actor = "token:mallory" // changed after it was written: its hash no longer verifies
	return Evidence{
		Subject: endpoint, At: at,
		Trail: store.AuditTrail{At: at, Endpoint: &endpoint, Entries: []store.AuditEntry{{
			Deployment: &dep, Version: version,
			Approvals: []store.Approval{{Status: store.Approved, Comment: &comment, At: at.Add(-20 * time.Minute), Actor: "token:admin"}},
			Producers: []store.Node{job}, TrainingData: data,
		}}},
		Runs:    map[string]RunDetail{},
		Lineage: lin,
		Audit: AuditLog{Entries: entries, Verification: store.AuditVerification{From: 1, To: 3, Checked: 2, Head: 3,
			FirstBreak: &store.AuditBreak{Seq: 3, Reason: store.AuditBreakHash, Expected: entries[2].ComputeHash(), Found: entries[2].Hash}}},
	}
}

// unzip returns the files of a package by name, in archive order.
func unzip(t *testing.T, pkg []byte) (map[string][]byte, []string) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(pkg), int64(len(pkg)))
	require.NoError(t, err)
	files := map[string][]byte{}
	var names []string
	for _, f := range zr.File {
		rc, err := f.Open()
		require.NoError(t, err)
		b, err := io.ReadAll(rc)
		require.NoError(t, err)
		rc.Close()
		files[f.Name] = b
		names = append(names, f.Name)
	}
	return files, names
}

// The package holds the five files, and the manifest's digest and size of every other
// file are those of the file.
func TestPackageManifestMatchesItsFiles(t *testing.T) {
	ev := fixture()
	var buf bytes.Buffer
	meta := Meta{Version: "v-test", GeneratedAt: time.Date(2026, 3, 15, 8, 0, 0, 0, time.UTC)}
	require.NoError(t, Build(&buf, ev, meta))
	if *keep != "" {
		require.NoError(t, os.WriteFile(*keep, buf.Bytes(), 0o644))
	}
	files, names := unzip(t, buf.Bytes())
	assert.Equal(t, []string{FileReport, FileSVG, FileProvJSON, FileAuditLog, FileManifest}, names)
	var man Manifest
	require.NoError(t, json.Unmarshal(files[FileManifest], &man))
	assert.Equal(t, "endpoint:fraud-prod", man.Subject)
	assert.Equal(t, "2026-03-14T09:30:00Z", man.At)
	assert.Equal(t, "2026-03-15T08:00:00Z", man.GeneratedAt)
	assert.Equal(t, "v-test", man.ProvgraphVersion)
	require.Len(t, man.Files, 4)
	for _, f := range man.Files {
		sum := sha256.Sum256(files[f.Name])
		assert.Equal(t, hex.EncodeToString(sum[:]), f.SHA256, f.Name)
		assert.Equal(t, int64(len(files[f.Name])), f.Bytes, f.Name)
	}
	assert.True(t, bytes.HasPrefix(files[FileReport], []byte("%PDF-")))

	// The same evidence gives the same bytes.
	var again bytes.Buffer
	require.NoError(t, Build(&again, ev, meta))
	assert.Equal(t, buf.Bytes(), again.Bytes())
}

// audit-log.json recomputes every entry's hash from its canonical form and carries
// the chain's verification; an entry changed after it was written is marked.
func TestPackageAuditLogRecomputesHashes(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, Build(&buf, fixture(), Meta{Version: "v", GeneratedAt: time.Unix(0, 0)}))
	files, _ := unzip(t, buf.Bytes())
	var doc struct {
		Entries []struct {
			Seq          int64
			Hash         string
			PrevHash     string
			Canonical    string
			ComputedHash string
			HashValid    bool
			Targets      []string
		}
		Verification struct {
			Verified   bool
			FirstBreak *struct{ Seq int64 }
		}
	}
	require.NoError(t, json.Unmarshal(files[FileAuditLog], &doc))
	require.Len(t, doc.Entries, 3)
	for i, e := range doc.Entries {
		sum := sha256.Sum256([]byte(e.Canonical))
		assert.Equal(t, hex.EncodeToString(sum[:]), e.ComputedHash, "the canonical text hashes to the computed hash")
		assert.Equal(t, i < 2, e.HashValid, "entry %d", e.Seq)
		assert.Len(t, e.Targets, 2)
	}
	assert.Equal(t, doc.Entries[0].Hash, doc.Entries[1].PrevHash)
	assert.False(t, doc.Verification.Verified)
	require.NotNil(t, doc.Verification.FirstBreak)
	assert.Equal(t, int64(3), doc.Verification.FirstBreak.Seq)
}

// The PDF is drawn whatever the names hold — markup, scripts, non-Latin text, control
// characters, strings longer than a page — and shows markup as text.
func TestReportTreatsHostileNamesAsText(t *testing.T) {
	ev := fixture()
	// Many nodes: the picture takes several pages and the tables break across pages.
	for i := range 150 {
		n := store.Node{Key: fmt.Sprintf("datasetVersion:s3://bulk:t%03d#v1", i), Kind: store.KindDatasetVersion, Name: hostileNames[i%len(hostileNames)]}
		ev.Lineage.Nodes = append(ev.Lineage.Nodes, n)
		ev.Lineage.Edges = append(ev.Lineage.Edges, store.Edge{From: n.Key, To: "job:sagemaker:train", Type: store.RelInputTo})
	}
	pdf, err := renderReport(ev, Meta{Version: "v", GeneratedAt: time.Unix(0, 0)}, nil)
	require.NoError(t, err)
	if *keep != "" {
		require.NoError(t, os.WriteFile(*keep+".large.pdf", pdf, 0o644))
	}
	assert.True(t, bytes.HasPrefix(pdf, []byte("%PDF-")))
	assert.True(t, bytes.HasSuffix(bytes.TrimSpace(pdf), []byte("%%EOF")))
	assert.NotContains(t, string(pdf), "/JavaScript", "no script in the PDF")
	assert.NotContains(t, string(pdf), "/JS ")
	assert.NotContains(t, string(pdf), "/Launch")
	assert.NotContains(t, string(pdf), "/URI")
}

// File names carry a safe form of the subject's ID and the instant.
func TestFileName(t *testing.T) {
	at := time.Date(2026, 3, 14, 9, 30, 0, 0, time.FixedZone("CET", 3600))
	assert.Equal(t, "evidence-endpoint-fraud-prod-20260314T083000Z.zip", FileName("endpoint:fraud-prod", at))
	assert.Equal(t, "evidence-model-fraud-3-20260314T083000Z.zip", FileName("model:fraud/3", at))
	assert.Equal(t, "evidence-endpoint-img-src-x-onerror-alert-1-20260314T083000Z.zip", FileName(`endpoint:<img src=x onerror=alert(1)>`, at))
	assert.Equal(t, "evidence-endpoint-20260314T083000Z.zip", FileName("endpoint:名前", at))
	long := FileName("endpoint:"+strings.Repeat("x", 500), at)
	assert.LessOrEqual(t, len(long), len("evidence--20260314T083000Z.zip")+80)
}
