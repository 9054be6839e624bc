package web_test

import (
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"

	"github.com/provgraph/provgraph/internal/neo4jtest"
)

// The link the stock MLflow client prints for a run opens its page: parameters, tags,
// metric summaries and curves; two runs compared show the parameter that differs.
func TestConsoleRunsAndComparison(t *testing.T) {
	t.Parallel()
	c := newConsole(t)
	tk := neo4jtest.Token(t)
	exp := c.graphql(`mutation($name: String!) { createExperiment(input: {name: $name}) { experiment { id experimentId } } }`,
		map[string]any{"name": "sweep-" + tk})["createExperiment"].(map[string]any)["experiment"].(map[string]any)
	var runIDs []string
	for i, lr := range []string{"0.01", "0.1"} {
		run := c.graphql(`mutation($exp: ID!, $name: String!) {
		  startRun(input: {experiment: $exp, name: $name}) { run { id runId } } }`,
			map[string]any{"exp": exp["id"], "name": "run-" + lr})["startRun"].(map[string]any)["run"].(map[string]any)
		var points []map[string]any
		for step := range 20 {
			points = append(points, map[string]any{"key": "loss", "value": 1.0 / float64(step+1+i), "step": step})
		}
		c.graphql(`mutation($run: ID!, $lr: String!, $points: [MetricPointInput!]) {
		  logRun(input: {run: $run, params: [{key: "lr", value: $lr}, {key: "epochs", value: "20"}], metrics: $points,
		    tags: [{key: "team", value: "fraud"}]}) { run { id } } }`,
			map[string]any{"run": run["id"], "lr": lr, "points": points})
		runIDs = append(runIDs, run["runId"].(string))
	}

	// The MLflow client's link: <tracking URI>/#/experiments/<id>/runs/<id>.
	c.run("sign in", chromedp.Navigate(c.url+"/#token="+c.admin.Token), chromedp.WaitVisible(`input[aria-label="Search"]`, chromedp.ByQuery))
	c.run("open the MLflow link", chromedp.Navigate(c.url+"/#/experiments/"+exp["experimentId"].(string)+"/runs/"+runIDs[0]))
	c.waitText("main h1", "run-0.01")
	c.waitText("main", "epochs")
	c.run("wait for the loss chart", chromedp.WaitVisible(`.chart canvas`, chromedp.ByQuery))
	c.waitDrawn("run:" + runIDs[0]) // the page is whole once its lineage is drawn
	c.screenshot("run")
	c.run("add to comparison", chromedp.Click(`//button[contains(., "Add to comparison")]`, chromedp.BySearch))
	c.waitText("main", "Compare 1 run")

	// The experiment's page picks runs to compare.
	c.run("open the experiment", chromedp.Navigate(c.url+"/#/experiments/"+exp["experimentId"].(string)))
	c.waitText("main", "run-0.1")
	c.run("pick both runs",
		chromedp.Click(`input[aria-label="Pick run-0.01"]`, chromedp.ByQuery),
		chromedp.Click(`input[aria-label="Pick run-0.1"]`, chromedp.ByQuery),
		chromedp.Click(`//a[contains(., "Compare selected (2)")]`, chromedp.BySearch))
	c.waitText("main h1", "Compare 2 runs")
	c.waitText("tr.differs", "lr")
	var differing []string
	c.run("read the diff", chromedp.Evaluate(`[...document.querySelectorAll('tr.differs th')].map(th => th.innerText)`, &differing))
	assert.Equal(t, []string{"lr"}, differing)
	c.run("wait for the overlaid chart", chromedp.WaitVisible(`.chart canvas`, chromedp.ByQuery))
	c.screenshot("compare")
}

// Everything the console shows comes from ingested data that any writer controls: a
// dataset named like an HTML tag, a tag whose value is a javascript: URL and
// descriptions holding <script> are shown as text on every page that shows them, and
// nothing in them runs (an alert would open a dialog, which fails the test).
func TestConsoleShowsHostileDataAsText(t *testing.T) {
	t.Parallel()
	c := newConsole(t)
	tk := neo4jtest.Token(t)
	const (
		imgName    = `<img src=x onerror=alert(1)>`
		scriptDesc = `<script>alert(2)</script>`
		jsURL      = `javascript:alert(3)`
	)
	ns := "s3://evil-" + tk
	dv := c.graphql(`mutation($uri: String!, $d: String!) { registerDatasetVersion(input: {uri: $uri, digest: "sha256:0bad", description: $d}) { datasetVersion { id } } }`,
		map[string]any{"uri": ns + "/" + imgName, "d": scriptDesc})["registerDatasetVersion"].(map[string]any)["datasetVersion"].(map[string]any)["id"].(string)
	art := "s3://evil-models-" + tk + "/\"><svg onload=alert(4)>"
	c.graphql(`mutation($ns: String!, $in: ID!, $art: String!) { recordTrainingJob(input: {namespace: $ns,
	    name: "<b onmouseover=alert(5)>train</b>", inputs: [$in], modelArtifact: {uri: $art},
	    hyperParameters: [{key: "<i>k</i>", value: "<script>alert(6)</script>"}]}) { trainingJob { id } } }`,
		map[string]any{"ns": tk, "in": dv, "art": art})
	model := "evil-" + tk
	c.graphql(`mutation($model: String!, $art: String!, $job: ID!, $d: String!, $js: String!, $endpoint: String!, $mv: ID!) {
	  registerModelVersion(input: {model: $model, source: $art, producedBy: $job, description: $d,
	    tags: [{key: "homepage", value: $js}]}) { modelVersion { id } }
	  deployModelVersion(input: {endpoint: $endpoint, modelVersion: $mv}) { deployment { id } }
	}`, map[string]any{"model": model, "art": art, "job": "job:" + tk + ":<b onmouseover=alert(5)>train</b>", "d": scriptDesc,
		"js": jsURL, "endpoint": "evil-" + tk, "mv": "model:" + model + "/1"})
	endpoint := "endpoint:evil-" + tk

	inert := func(page string) {
		t.Helper()
		var bad []string
		c.run("look for injected elements on "+page, chromedp.Evaluate(`[
		  ...document.querySelectorAll('img, script:not([src]), iframe, object, embed, b, i, svg svg, [onerror], [onload], [onmouseover], a[href^="javascript:" i]')
		].map(e => e.outerHTML.slice(0, 120))`, &bad))
		assert.Empty(t, bad, "elements made from ingested data on %s", page)
	}
	c.run("sign in", chromedp.Navigate(c.url+"/#token="+c.admin.Token), chromedp.WaitVisible(`input[aria-label="Search"]`, chromedp.ByQuery))

	c.run("open the dataset version", chromedp.Navigate(c.url+"/#/node/"+urlEscape(dv)))
	c.waitText("main h1", imgName)
	c.waitText("main", scriptDesc)
	c.waitDrawn(dv)
	inert("the dataset version's page")

	c.run("open the model version", chromedp.Navigate(c.url+"/#/node/"+urlEscape("model:"+model+"/1")))
	c.waitText("main", jsURL)
	c.waitText("main", scriptDesc)
	c.waitDrawn(dv)
	inert("the model version's page")
	c.run("the table view", chromedp.Click(`//button[text()="Table"]`, chromedp.BySearch))
	c.waitText(".lineagetable", imgName)
	inert("the table view")

	c.run("open the endpoint", chromedp.Navigate(c.url+"/#/node/"+urlEscape(endpoint)))
	c.waitDrawn(dv)
	c.run("select the job in the picture", chromedp.Click(`g.node[data-kind="TRAINING_JOB"]`, chromedp.ByQuery))
	c.waitText(".selection", "<b onmouseover=alert(5)>train</b>")
	inert("the endpoint's page")

	c.run("open the audit view", chromedp.Navigate(c.url+"/#/audit/"+urlEscape(endpoint)))
	c.waitText(".entry", "<script>alert(6)</script>")
	c.waitText(".entry", imgName)
	inert("the audit view")

	// A run, its experiment and a comparison: names, parameters, tags and metric keys.
	exp := c.graphql(`mutation($name: String!) { createExperiment(input: {name: $name, description: "<script>alert(7)</script>"}) {
	  experiment { id experimentId } } }`, map[string]any{"name": "<img src=x onerror=alert(8)>-" + tk})["createExperiment"].(map[string]any)["experiment"].(map[string]any)
	run := c.graphql(`mutation($exp: ID!) { startRun(input: {experiment: $exp, name: "<svg onload=alert(9)>"}) { run { id runId } } }`,
		map[string]any{"exp": exp["id"]})["startRun"].(map[string]any)["run"].(map[string]any)
	c.graphql(`mutation($run: ID!, $js: String!) { logRun(input: {run: $run, params: [{key: "<i>p</i>", value: "<script>alert(10)</script>"}],
	    tags: [{key: "link", value: $js}], metrics: [{key: "<b>auc</b>", value: 0.5, step: 0}, {key: "<b>auc</b>", value: 0.7, step: 1}]}) { run { id } } }`,
		map[string]any{"run": run["id"], "js": jsURL})
	c.run("open the run", chromedp.Navigate(c.url+"/#/experiments/"+exp["experimentId"].(string)+"/runs/"+run["runId"].(string)))
	c.waitText("main h1", "<svg onload=alert(9)>")
	c.waitText("main", "<script>alert(10)</script>")
	c.waitText("main", jsURL)
	c.run("wait for the chart", chromedp.WaitVisible(`.chart canvas`, chromedp.ByQuery))
	c.waitText(".charts", "<b>auc</b>")
	inert("the run's page")
	c.run("open the experiment", chromedp.Navigate(c.url+"/#/experiments/"+exp["experimentId"].(string)))
	c.waitText("main h1", "<img src=x onerror=alert(8)>")
	c.waitText("main", "<script>alert(7)</script>")
	inert("the experiment's page")
	c.run("open a comparison", chromedp.Navigate(c.url+"/#/compare?runs="+urlEscape(run["id"].(string))))
	c.waitText("main", "<script>alert(10)</script>")
	c.waitText("main", "<b>auc</b>")
	inert("the comparison")

	c.run("search", chromedp.Navigate(c.url+"/#/?q="+urlEscape("evil-"+tk)))
	c.waitText(".results", endpoint)
	inert("the search results")
}
