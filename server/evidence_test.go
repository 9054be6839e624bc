package server_test

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/auth"
	"github.com/provgraph/provgraph/evidence"
	"github.com/provgraph/provgraph/internal/authtest"
	"github.com/provgraph/provgraph/internal/neo4jtest"
	"github.com/provgraph/provgraph/server"
)

// hostile names any writer can give a dataset.
var hostile = []string{`<img src=x onerror=alert(1)>`, `"><script>alert(1)</script>`}

// evidenceFixture records, through the API, two hostile-named dataset versions read by
// a training job whose model was registered twice; version 1 was approved and
// deployed, then version 2 replaced it. It returns the IDs and the instant just
// before the redeployment.
type evidenceFixture struct {
	datasets                   []string
	job, v1, v2, endpoint, tk  string
	beforeRedeploy, redeployed time.Time
	admin, reader              authtest.Credential
	handler                    http.Handler
}

func recordEvidenceFixture(t *testing.T) evidenceFixture {
	t.Helper()
	// A chain of its own, whose checkpoints the test key signs whatever else the
	// database holds.
	st, _ := neo4jtest.StoreWithOwnAuditChain(t)
	f := evidenceFixture{tk: neo4jtest.Token(t)}
	f.handler = newBareHandler(t, server.Options{Store: st, Version: "v-test"})
	f.admin = authtest.NewToken(t, st, auth.RoleAdmin)
	f.reader = authtest.NewToken(t, st, auth.RoleReader)
	h := f.admin.Handler(f.handler)
	for i, name := range hostile {
		d := mustDo(t, h, registerDatasetVersion, map[string]any{"input": map[string]any{
			"uri": "s3://lake-" + f.tk + "/" + name, "digest": "sha256:" + strings.Repeat("ab", 31) + string(rune('0'+i)) + "f",
		}})
		f.datasets = append(f.datasets, get(d, "registerDatasetVersion", "datasetVersion", "id").(string))
	}
	d := mustDo(t, h, recordTrainingJob, map[string]any{"input": map[string]any{
		"namespace": "sagemaker-" + f.tk, "name": "fraud-train", "inputs": f.datasets,
		"modelArtifact": map[string]any{"uri": "s3://models-" + f.tk + "/fraud/model.tar.gz"},
		"instanceType":  "ml.m5.xlarge", "codeVersion": "4e1d9b2",
		"hyperParameters": []map[string]any{{"key": "max_depth", "value": "6"}},
	}})
	f.job = get(d, "recordTrainingJob", "trainingJob", "id").(string)
	register := func() string {
		d := mustDo(t, h, registerModelVersion, map[string]any{"input": map[string]any{
			"model": "fraud-" + f.tk, "source": "s3://models-" + f.tk + "/fraud/model.tar.gz", "producedBy": f.job,
		}})
		return get(d, "registerModelVersion", "modelVersion", "id").(string)
	}
	f.v1 = register()
	mustDo(t, h, setApproval, map[string]any{"input": map[string]any{"modelVersion": f.v1, "status": "APPROVED", "comment": hostile[1]}})
	d = mustDo(t, h, deployModelVersion, map[string]any{"input": map[string]any{"endpoint": "fraud-prod-" + f.tk, "modelVersion": f.v1}})
	f.endpoint = get(d, "deployModelVersion", "deployment", "endpoint", "id").(string)
	f.v2 = register()
	d = mustDo(t, h, deployModelVersion, map[string]any{"input": map[string]any{"endpoint": "fraud-prod-" + f.tk, "modelVersion": f.v2}})
	var err error
	f.redeployed, err = time.Parse(time.RFC3339Nano, get(d, "deployModelVersion", "deployment", "from").(string))
	require.NoError(t, err)
	f.beforeRedeploy = f.redeployed.Add(-time.Microsecond)
	return f
}

// evidenceURL is the package's URL for node at at (none when zero).
func evidenceURL(node string, at time.Time) string {
	q := url.Values{"node": {node}}
	if !at.IsZero() {
		q.Set("at", at.Format(time.RFC3339Nano))
	}
	return server.EvidencePath + "?" + q.Encode()
}

// openPackage unzips a package and checks every file against the manifest.
func openPackage(t *testing.T, body []byte) map[string][]byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
	require.NoError(t, err)
	files := map[string][]byte{}
	var names []string
	for _, zf := range zr.File {
		rc, err := zf.Open()
		require.NoError(t, err)
		b, err := io.ReadAll(rc)
		require.NoError(t, err)
		rc.Close()
		files[zf.Name] = b
		names = append(names, zf.Name)
	}
	assert.Equal(t, []string{"report.pdf", "lineage.svg", "lineage.prov.json", "audit-log.json", "manifest.json"}, names)
	var man struct {
		Files []struct {
			Name   string
			SHA256 string
			Bytes  int64
		}
	}
	require.NoError(t, json.Unmarshal(files["manifest.json"], &man))
	require.Len(t, man.Files, 4, "every file but the manifest")
	for _, f := range man.Files {
		sum := sha256.Sum256(files[f.Name])
		assert.Equal(t, hex.EncodeToString(sum[:]), f.SHA256, "the manifest's digest of %s", f.Name)
		assert.Equal(t, int64(len(files[f.Name])), f.Bytes, f.Name)
	}
	return files
}

// The console's "Download evidence": the package of an endpoint at an instant, over
// HTTP with a reader's token, holding what served then, its lineage as SVG and
// PROV-JSON with hostile names as text, and the audit-log entries of the writes that
// recorded it, each with a valid hash and the chain verified over their span.
func TestEvidencePackageOverHTTP(t *testing.T) {
	t.Parallel()
	f := recordEvidenceFixture(t)
	a := call(t, f.handler, "GET", evidenceURL(f.endpoint, f.beforeRedeploy), "", bearer(f.reader.Token))
	require.Equal(t, http.StatusOK, a.status, a.body)
	assert.Equal(t, "application/zip", a.header.Get("Content-Type"))
	assert.Equal(t, `attachment; filename="evidence-endpoint-fraud-prod-`+f.tk+`-`+f.beforeRedeploy.UTC().Format("20060102T150405Z")+`.zip"`,
		a.header.Get("Content-Disposition"))
	files := openPackage(t, []byte(a.body))
	assert.True(t, bytes.HasPrefix(files["report.pdf"], []byte("%PDF-")))

	var man map[string]any
	require.NoError(t, json.Unmarshal(files["manifest.json"], &man))
	assert.Equal(t, f.endpoint, man["subject"])
	assert.Equal(t, f.beforeRedeploy.UTC().Format(time.RFC3339Nano), man["at"])
	assert.Equal(t, "v-test", man["provgraphVersion"])

	// What served then: version 1, with its cone; version 2 came later.
	prov := string(files["lineage.prov.json"])
	for _, id := range append([]string{f.endpoint, f.v1, f.job}, f.datasets...) {
		assert.Contains(t, prov, url.PathEscape(id), "PROV-JSON holds %s", id)
	}
	assert.NotContains(t, prov, url.PathEscape(f.v2), "version 2 did not serve yet")

	// The SVG shows the hostile names as text and holds nothing but its own elements.
	allowed := map[string]bool{"svg": true, "title": true, "defs": true, "marker": true, "path": true, "g": true, "rect": true, "text": true}
	dec := xml.NewDecoder(bytes.NewReader(files["lineage.svg"]))
	var text strings.Builder
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		switch e := tok.(type) {
		case xml.StartElement:
			assert.True(t, allowed[e.Name.Local], "unexpected element <%s>", e.Name.Local)
			for _, at := range e.Attr {
				assert.NotContains(t, at.Value, "alert", "no ingested text in an attribute")
			}
		case xml.CharData:
			text.Write(e)
		}
	}
	for _, name := range hostile {
		assert.Contains(t, text.String(), name, "shown as text")
	}

	// The audit log: the writes that recorded the cone, by the instant, each valid.
	var audit struct {
		Entries []struct {
			Seq       int64
			At        time.Time
			Action    string
			Actor     string
			Targets   []string
			HashValid bool
		}
		Truncated    bool
		Verification struct {
			Verified   bool
			From, To   int64
			Checked    int64
			FirstBreak any
		}
	}
	require.NoError(t, json.Unmarshal(files["audit-log.json"], &audit))
	actions := map[string]bool{}
	for _, e := range audit.Entries {
		actions[e.Action] = true
		assert.True(t, e.HashValid, "entry %d", e.Seq)
		assert.False(t, e.At.After(f.beforeRedeploy), "entry %d was appended by the instant", e.Seq)
		assert.Equal(t, f.admin.Actor, e.Actor)
	}
	for _, want := range []string{"datasetVersion.register", "trainingJob.record", "modelVersion.register", "modelVersion.setApproval", "modelVersion.deploy"} {
		assert.True(t, actions[want], "an entry of %s", want)
	}
	require.NotEmpty(t, audit.Entries)
	assert.True(t, audit.Verification.Verified)
	assert.Nil(t, audit.Verification.FirstBreak)
	assert.Equal(t, audit.Entries[0].Seq, audit.Verification.From)
	assert.Equal(t, audit.Entries[len(audit.Entries)-1].Seq, audit.Verification.To)
	assert.Equal(t, audit.Verification.To-audit.Verification.From+1, audit.Verification.Checked)
	// Offline, with the service's verifier key: every file, entry and inclusion proof.
	checked, err := evidence.Check([]byte(a.body), neo4jtest.AuditVerifierKey)
	require.NoError(t, err)
	assert.Empty(t, checked.Problems)
	assert.Equal(t, len(audit.Entries), checked.Proven, "every entry is proven in the checkpoint's tree")
	require.NotNil(t, checked.Checkpoint)
	assert.GreaterOrEqual(t, checked.Checkpoint.Size, audit.Entries[len(audit.Entries)-1].Seq)

	// Now, version 2 serves; a model version has a package of its own.
	a = call(t, f.handler, "GET", evidenceURL(f.endpoint, time.Time{}), "", bearer(f.reader.Token))
	require.Equal(t, http.StatusOK, a.status, a.body)
	assert.Contains(t, string(openPackage(t, []byte(a.body))["lineage.prov.json"]), url.PathEscape(f.v2))
	a = call(t, f.handler, "GET", evidenceURL(f.v1, time.Time{}), "", bearer(f.reader.Token))
	require.Equal(t, http.StatusOK, a.status, a.body)
	assert.Contains(t, a.header.Get("Content-Disposition"), `filename="evidence-model-fraud-`+f.tk+`-1-`)
	openPackage(t, []byte(a.body))
}

// Bad input is a 400 naming node or at, an unknown node a 404, in the REST surfaces'
// error shape.
func TestEvidenceBadInput(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	tk := neo4jtest.Token(t)
	reader := authtest.NewToken(t, st, auth.RoleReader)
	h := newBareHandler(t, server.Options{Store: st})
	for _, c := range []struct {
		name, path  string
		status      int
		code, field string
	}{
		{"no node", server.EvidencePath, 400, "INVALID_ARGUMENT", "node"},
		{"a malformed ID", server.EvidencePath + "?node=nonsense", 400, "INVALID_ARGUMENT", "node"},
		{"a dataset", evidenceURL("dataset:s3://lake:x", time.Time{}), 400, "INVALID_ARGUMENT", "node"},
		{"a malformed time", evidenceURL("endpoint:e-"+tk, time.Time{}) + "&at=yesterday", 400, "INVALID_ARGUMENT", "at"},
		{"a time without a zone", evidenceURL("endpoint:e-"+tk, time.Time{}) + "&at=2026-03-14T09:30:00", 400, "INVALID_ARGUMENT", "at"},
		{"an unknown endpoint", evidenceURL("endpoint:none-"+tk, time.Time{}), 404, "NOT_FOUND", "node"},
		{"an unknown model version", evidenceURL("model:none-"+tk+"/1", time.Time{}), 404, "NOT_FOUND", "node"},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := call(t, h, "GET", c.path, "", bearer(reader.Token))
			assert.Equal(t, c.status, a.status, a.body)
			assert.Equal(t, "application/json", a.header.Get("Content-Type"))
			var body map[string]any
			require.NoError(t, json.Unmarshal([]byte(a.body), &body))
			assert.Equal(t, c.code, body["code"], a.body)
			assert.Equal(t, c.field, body["field"], a.body)
			assert.NotEmpty(t, body["error"])
		})
	}
	a := call(t, h, "POST", evidenceURL("endpoint:e-"+tk, time.Time{}), "{}", bearer(reader.Token))
	assert.Equal(t, http.StatusMethodNotAllowed, a.status)
	assert.Equal(t, "GET, HEAD", a.header.Get("Allow"))
	assert.Contains(t, a.body, `"code":"METHOD_NOT_ALLOWED"`)
}

// The audit view's query: the entries about some nodes, a page at a time, each with
// its hash checked, and the chain verified over the page's span.
func TestAuditLogEntriesAbout(t *testing.T) {
	t.Parallel()
	f := recordEvidenceFixture(t)
	h := f.reader.Handler(f.handler)
	const q = `query($about: [ID!]!, $first: Int, $after: String) {
  auditLogEntries(about: $about, first: $first, after: $after) {
    edges { cursor node { seq hash prevHash action actor at targets targetCount requestId hashValid } }
    pageInfo { hasNextPage endCursor }
    verification { verified from to checked head firstBreak { seq } }
  }
}`
	about := []string{f.datasets[0], f.job}
	var seqs []float64
	var actions []string
	var after any
	for pages := 0; ; pages++ {
		d := mustDo(t, h, q, map[string]any{"about": about, "first": 1, "after": after})
		conn := get(d, "auditLogEntries")
		edges := get(conn, "edges").([]any)
		require.Len(t, edges, 1)
		node := get(edges[0], "node")
		seqs = append(seqs, get(node, "seq").(float64))
		actions = append(actions, get(node, "action").(string))
		assert.Equal(t, true, get(node, "hashValid"))
		assert.Equal(t, f.admin.Actor, get(node, "actor"))
		assert.Len(t, get(node, "hash"), 64)
		v := get(conn, "verification")
		assert.Equal(t, true, get(v, "verified"))
		assert.Equal(t, get(node, "seq"), get(v, "from"))
		assert.Equal(t, get(node, "seq"), get(v, "to"))
		if get(conn, "pageInfo", "hasNextPage") == false {
			break
		}
		after = get(conn, "pageInfo", "endCursor")
		require.Less(t, pages, 20)
	}
	// The dataset's registration, the training job and the model versions it produced,
	// oldest first.
	assert.Subset(t, actions, []string{"datasetVersion.register", "trainingJob.record", "modelVersion.register"})
	require.GreaterOrEqual(t, len(seqs), 3)
	for i := 1; i < len(seqs); i++ {
		assert.Less(t, seqs[i-1], seqs[i])
	}

	d := mustDo(t, h, q, map[string]any{"about": append(about, "endpoint:nothing-"+f.tk)})
	assert.Len(t, get(d, "auditLogEntries", "edges"), len(seqs), "an ID no entry names matches nothing")
	d = mustDo(t, h, q, map[string]any{"about": []string{"endpoint:nothing-" + f.tk}})
	assert.Empty(t, get(d, "auditLogEntries", "edges"))
	assert.Equal(t, float64(0), get(d, "auditLogEntries", "verification", "checked"))

	for _, c := range []struct {
		vars  map[string]any
		field string
	}{
		{map[string]any{"about": []string{}}, "about"},
		{map[string]any{"about": []string{""}}, "about[0]"},
		{map[string]any{"about": about, "first": 0}, "first"},
		{map[string]any{"about": about, "first": 101}, "first"},
		{map[string]any{"about": about, "after": "not-a-cursor"}, "after"},
	} {
		resp := do(t, h, q, c.vars)
		require.Len(t, resp.Errors, 1, "%v", c.vars)
		assert.Equal(t, "INVALID_ARGUMENT", resp.Errors[0].Extensions["code"])
		assert.Equal(t, c.field, resp.Errors[0].Extensions["field"])
	}

	// lineageExport draws the same picture as the package's lineage.svg.
	d = mustDo(t, h, `query($e: ID!) { lineageExport(start: [$e], direction: UPSTREAM, format: SVG) }`, map[string]any{"e": f.endpoint})
	svg := get(d, "lineageExport").(string)
	assert.True(t, strings.HasPrefix(svg, "<?xml"))
	assert.Contains(t, svg, "&lt;img src=x onerror=alert(1)&gt;")
}
