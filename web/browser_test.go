package web_test

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/ledongthuc/pdf"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/evidence"
	"github.com/provgraph/provgraph/internal/neo4jtest"
)

// checkManifest opens an evidence package, checks the SHA-256 and size of every file
// its manifest lists against the file, and that every file is listed; it returns the
// manifest and the files by name.
func checkManifest(t *testing.T, zipped []byte) (evidence.Manifest, map[string][]byte) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(zipped), int64(len(zipped)))
	require.NoError(t, err)
	contents := map[string][]byte{}
	for _, f := range zr.File {
		r, err := f.Open()
		require.NoError(t, err)
		b, err := io.ReadAll(r)
		require.NoError(t, err)
		contents[f.Name] = b
	}
	var m evidence.Manifest
	require.NoError(t, json.Unmarshal(contents["manifest.json"], &m))
	require.Len(t, m.Files, len(contents)-1, "the manifest lists every other file")
	for _, f := range m.Files {
		b, ok := contents[f.Name]
		require.True(t, ok, "%s is in the package", f.Name)
		sum := sha256.Sum256(b)
		assert.Equal(t, hex.EncodeToString(sum[:]), f.SHA256, f.Name)
		assert.Equal(t, int64(len(b)), f.Bytes, f.Name)
	}
	return m, contents
}

// pdfText returns the text of a PDF's pages, as a reader opening it would find it.
func pdfText(t *testing.T, b []byte) string {
	t.Helper()
	r, err := pdf.NewReader(bytes.NewReader(b), int64(len(b)))
	require.NoError(t, err, "the report opens as a PDF")
	var text strings.Builder
	for i := 1; i <= r.NumPage(); i++ {
		p := r.Page(i)
		if p.V.IsNull() {
			continue
		}
		s, err := p.GetPlainText(nil)
		require.NoError(t, err, "page %d", i)
		text.WriteString(s)
	}
	return text.String()
}

// redeployedEndpoint records the README's quick start under names of the test's own —
// a dataset version, the training job that read it, a model version it produced, deployed
// to an endpoint — then a second version deployed to the same endpoint 1.5 s later. It
// returns the endpoint's, the dataset version's and both model versions' IDs.
func redeployedEndpoint(c *console, tk string) (endpoint, dataset, v1, v2 string) {
	c.t.Helper()
	model := "fraud-" + tk
	art := "s3://models-" + tk + "/fraud/model.tar.gz"
	dv := c.graphql(`mutation($uri: String!) { registerDatasetVersion(input: {uri: $uri, digest: "sha256:9f2c1a7e"}) { datasetVersion { id } } }`,
		map[string]any{"uri": "s3://lake-" + tk + "/customers/2026-01"})
	dataset = dv["registerDatasetVersion"].(map[string]any)["datasetVersion"].(map[string]any)["id"].(string)
	c.graphql(`mutation($ns: String!, $in: ID!, $art: String!) { recordTrainingJob(input: {namespace: $ns, name: "fraud-train",
	    inputs: [$in], modelArtifact: {uri: $art}, instanceType: "ml.m5.xlarge", codeVersion: "4e1d9b2",
	    hyperParameters: [{key: "max_depth", value: "6"}]}) { trainingJob { id } } }`,
		map[string]any{"ns": tk, "in": dataset, "art": art})
	for i, v := range []string{"1", "2"} {
		if i > 0 {
			time.Sleep(1500 * time.Millisecond)
		}
		c.graphql(`mutation($model: String!, $art: String!, $job: ID!, $endpoint: String!, $mv: ID!) {
		  registerModelVersion(input: {model: $model, source: $art, producedBy: $job}) { modelVersion { id } }
		  deployModelVersion(input: {endpoint: $endpoint, modelVersion: $mv}) { deployment { id } }
		}`, map[string]any{"model": model, "art": art, "job": "job:" + tk + ":fraud-train", "endpoint": "fraud-prod-" + tk, "mv": "model:" + model + "/" + v})
	}
	return "endpoint:fraud-prod-" + tk, dataset, "model:" + model + "/1", "model:" + model + "/2"
}

// The done-when path of the console, as a person would take it: sign in with the link
// make run prints, type part of an endpoint's name, open it, see its lineage as a
// picture, slide back to before the redeployment and see what served then, open the
// audit view, and run a query in GraphiQL — with no console error and no request
// leaving 127.0.0.1.
func TestConsoleFindTraceAudit(t *testing.T) {
	t.Parallel()
	c := newConsole(t)
	tk := neo4jtest.Token(t)
	endpoint, dvID, v1, v2 := redeployedEndpoint(c, tk)
	model := strings.TrimSuffix(strings.TrimPrefix(v1, "model:"), "/1")

	// Sign in with the link make run prints: the token in the fragment.
	c.run("open the sign-in link", chromedp.Navigate(c.url+"/#token="+c.admin.Token), chromedp.WaitVisible(`input[aria-label="Search"]`, chromedp.ByQuery))
	var href string
	c.run("read the address", chromedp.Location(&href))
	assert.NotContains(t, href, c.admin.Token, "the token stays in the address bar")

	// Search: part of the endpoint's name.
	c.run("search", chromedp.SendKeys(`input[aria-label="Search"]`, "fraud-prod-"+tk[:8], chromedp.ByQuery))
	c.waitText(".results", endpoint)
	c.screenshot("search")
	c.run("open the first result", chromedp.SendKeys(`input[aria-label="Search"]`, kb.Enter, chromedp.ByQuery))

	// The endpoint's page draws its upstream lineage, down to the dataset version.
	c.waitDrawn(endpoint)
	c.waitDrawn(dvID)
	c.screenshot("node")
	assert.Contains(t, c.drawnIDs(), v2, "all history: version 2 is drawn")

	// Now: only what serves now, version 2.
	c.run("show now", chromedp.Click(`//button[text()="Now"]`, chromedp.BySearch))
	c.waitText(`[data-testid="as-of"]`, "UTC")
	c.run("wait for the redraw", chromedp.Poll(`![...document.querySelectorAll('svg.lineage g.node')].some(g => g.dataset.id === `+jsString(v1)+`)`, nil))
	ids := c.drawnIDs()
	assert.Contains(t, ids, v2, "now: version 2 serves")
	assert.NotContains(t, ids, v1, "now: version 1 no longer serves")

	// Slide back to version 1's deployment: the picture shows what served then.
	c.run("jump to version 1's deployment", chromedp.Click(`//button[contains(@class,"mark")][contains(., "/1 deployed")]`, chromedp.BySearch))
	c.waitText(`[data-testid="as-of"]`, "UTC")
	c.waitDrawn(v1)
	c.run("wait for the redraw", chromedp.Poll(`![...document.querySelectorAll('svg.lineage g.node')].some(g => g.dataset.id === `+jsString(v2)+`)`, nil))
	ids = c.drawnIDs()
	assert.Contains(t, ids, v1)
	assert.NotContains(t, ids, v2, "before the redeployment version 2 did not serve")

	// The audit view at that instant.
	c.run("open the audit view", chromedp.Click(`//a[contains(., "Audit view at this instant")]`, chromedp.BySearch))
	c.waitText("table.served", v1[len("model:"):])
	served := c.text("table.served")
	assert.NotContains(t, served, model+"/2")
	c.waitText(".entry", "sha256:9f2c1a7e")
	c.waitText(".entry", "ml.m5.xlarge")
	c.waitText(`[data-testid="audit-verified"]`, "The audit log verifies")
	// The redeployment's entry says what it replaced.
	c.waitText(`[data-testid="audit-log"]`, "deployment.AllTraffic: "+v1+" → "+v2)
	c.screenshot("audit")

	// The evidence package of the same instant: its manifest names every other file
	// with its SHA-256, and the subject is version 1's endpoint then.
	c.run("download the evidence", chromedp.Click(`//button[contains(., "Download evidence")]`, chromedp.BySearch))
	zipped, name := c.download()
	assert.True(t, strings.HasPrefix(name, "evidence-endpoint-fraud-prod-") && strings.HasSuffix(name, ".zip"), name)
	manifest, files := checkManifest(t, zipped)
	assert.Equal(t, endpoint, manifest.Subject)
	var names []string
	for _, f := range manifest.Files {
		names = append(names, f.Name)
	}
	assert.Subset(t, names, []string{"report.pdf", "lineage.svg", "lineage.prov.json", "audit-log.json"})
	// The report says what the audit view said: version 1 served, trained on the
	// dataset version with its digest, on an ml.m5.xlarge.
	report := pdfText(t, files["report.pdf"])
	for _, want := range []string{strings.TrimPrefix(endpoint, "endpoint:"), strings.TrimPrefix(v1, "model:"), "sha256:9f2c1a7e", "ml.m5.xlarge", "4e1d9b2"} {
		assert.Contains(t, report, want, "the PDF report")
	}
	assert.NotContains(t, report, strings.TrimPrefix(v2, "model:"), "version 2 did not serve then")

	// GraphiQL with the same sign-in: introspection and a query work at once.
	result := c.graphiQL(`query Me { viewer { actor role } }`, `"role": "ADMIN"`)
	c.screenshot("graphiql")
	require.True(t, strings.Contains(result, c.admin.Actor), "the query ran as the signed-in token: %s", result)
}
