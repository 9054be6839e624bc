package server_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/provgraph/provgraph/auth"
	"github.com/provgraph/provgraph/internal/neo4jtest"
)

// graphqlBlock matches a fenced ```graphql block in Markdown.
var graphqlBlock = regexp.MustCompile("(?s)```graphql\n(.*?)```")

// docsRunID is the run id the documented examples use.
const docsRunID = "0123456789abcdef0123456789abcdef"

// expectLine is how a documented example says it must fail: "# expect: CODE [field]".
var expectLine = regexp.MustCompile(`(?m)^# expect: (\S+)(?: (\S+))?$`)

// The README's quick start and every example in docs/ run as documented, in order,
// under this test's own names ("quickstart" becomes "quickstart-<token>"), as an admin.
func TestDocumentedExamplesRun(t *testing.T) {
	t.Parallel()
	h, admin := newHandlerAs(t, auth.RoleAdmin)
	tk := neo4jtest.Token(t)
	blocks, runID := documentedExamples(t, tk)
	for i, block := range blocks {
		var loggedModel string
		if strings.Contains(block, "query WhatTheRunLogged") {
			loggedModel = logModel(t, h, runID)
		}
		resp := do(t, h, block, nil)
		if m := expectLine.FindStringSubmatch(block); m != nil {
			require.Len(t, resp.Errors, 1, "example %d: %s", i, firstLine(block))
			assert.Equal(t, m[1], resp.Errors[0].Extensions["code"], "example %d", i)
			if m[2] != "" {
				assert.Equal(t, m[2], resp.Errors[0].Extensions["field"], "example %d", i)
			}
			if strings.Contains(block, "mutation RecordAPipelineWithAMissingInput") {
				node := do(t, h, `{ node(id: "datasetVersion:s3://churn-lake:events/2026-03#sha256:9e02") { id } }`, nil)
				assert.Nil(t, get(node.Data, "node"), "the refused call wrote none of its elements")
			}
			continue
		}
		require.Empty(t, resp.Errors, "example %d: %s", i, firstLine(block))
		require.NotEmpty(t, resp.Data, "example %d", i)
		if strings.Contains(block, "query LookUpNodes") {
			assert.Nil(t, get(resp.Data, "nothing"), "an ID that names nothing is null")
			assert.Equal(t, "model:quickstart-"+tk+"-fraud/1", get(resp.Data, "endpoint", "activeDeployments", 0, "modelVersion", "id"))
			assert.Equal(t, "job:quickstart-"+tk+":fraud-train-2026-03-01", get(resp.Data, "version", "producedBy", "id"))
		}
		if strings.Contains(block, "query DerivedFromDataset") {
			// The dataset, its version, the job (1 edge) and the model artifact (2 edges).
			assert.ElementsMatch(t, []string{
				"dataset:s3://quickstart-" + tk + "-lake:customers/2026-01",
				"datasetVersion:s3://quickstart-" + tk + "-lake:customers/2026-01#sha256:9f2c1a7e",
				"job:quickstart-" + tk + ":fraud-train-2026-03-01",
				"artifact:s3://quickstart-" + tk + "-models/fraud/model.tar.gz",
			}, ids(get(resp.Data, "lineage", "nodes")))
		}
		if strings.Contains(block, "mutation RecordQuickstart") {
			// The README says running it again records version 2 and nothing else new.
			again := do(t, h, block, nil)
			require.Empty(t, again.Errors, "the quick-start mutation runs twice")
			assert.Equal(t, "model:quickstart-"+tk+"-fraud/2", get(again.Data, "model", "modelVersion", "id"))
		}
		if strings.Contains(block, "query FindTheEndpoint") {
			assert.ElementsMatch(t, []string{"endpoint:quickstart-" + tk + "-fraud-prod", "model:quickstart-" + tk + "-fraud"},
				ids(nodesOf(get(resp.Data, "search", "edges"))), "a word with a typo finds the endpoint and the model")
			assert.Equal(t, float64(2), get(resp.Data, "search", "totalCount"))
		}
		if strings.Contains(block, "query BrowseTheQuickstart") {
			assert.Equal(t, []string{"endpoint:quickstart-" + tk + "-fraud-prod"}, ids(nodesOf(get(resp.Data, "endpoints", "edges"))))
			assert.Equal(t, []string{"model:quickstart-" + tk + "-fraud"}, ids(nodesOf(get(resp.Data, "registeredModels", "edges"))))
			assert.Equal(t, []string{"dataset:s3://quickstart-" + tk + "-lake:customers/2026-01"}, ids(nodesOf(get(resp.Data, "datasets", "edges"))))
			assert.Equal(t, []string{"job:quickstart-" + tk + ":fraud-train-2026-03-01"}, ids(nodesOf(get(resp.Data, "jobs", "edges"))))
		}
		if strings.Contains(block, "query ExportTheTrace") {
			assert.Contains(t, get(resp.Data, "lineageExport"), "digraph lineage")
			assert.Contains(t, get(resp.Data, "lineageExport"), "-> \"endpoint:quickstart-"+tk+"-fraud-prod\"")
		}
		if strings.Contains(block, "query ProveEntryOne") {
			checkDocumentedInclusionProof(t, resp.Data)
		}
		if strings.Contains(block, "query ProveTheLogGrew") {
			proof := hashesOf(t, get(resp.Data, "auditConsistencyProof", "proof"))
			size := int64(get(resp.Data, "auditConsistencyProof", "checkpoint", "treeSize").(float64))
			root, err := tlog.ParseHash(get(resp.Data, "auditConsistencyProof", "checkpoint", "rootHash").(string))
			require.NoError(t, err)
			from, err := tlog.ParseHash(get(resp.Data, "auditConsistencyProof", "fromRootHash").(string))
			require.NoError(t, err)
			require.NoError(t, tlog.CheckTree(proof, size, root, 1, from), "the documented consistency proof checks")
		}
		if strings.Contains(block, "query AuditFraudProd") {
			assert.Equal(t, "model:quickstart-"+tk+"-fraud/1", get(resp.Data, "trail", "entries", 0, "modelVersion", "id"))
			assert.Equal(t, "sha256:9f2c1a7e", get(resp.Data, "trail", "entries", 0, "trainingData", 0, "digest"))
		}
		if strings.Contains(block, "query WhatCameFromTheDataset") {
			assert.Equal(t, []string{"model:quickstart-" + tk + "-fraud/1", "model:quickstart-" + tk + "-fraud/2"},
				ids(get(resp.Data, "impact", "modelVersions")))
			assert.Equal(t, true, get(resp.Data, "impact", "endpoints", 0, "servingNow"))
		}
		if strings.Contains(block, "query UpstreamOfTheEndpointTwoAtATime") {
			assert.Equal(t, []string{"endpoint:quickstart-" + tk + "-fraud-prod", "model:quickstart-" + tk + "-fraud/1"},
				ids(get(resp.Data, "lineage", "nodes")), "the start node, then the nearest")
			assert.Equal(t, true, get(resp.Data, "lineage", "truncated"))
			assert.NotEmpty(t, get(resp.Data, "lineage", "pageInfo", "endCursor"))
		}
		if strings.Contains(block, "mutation RecordAPipeline {") {
			assert.Equal(t, "job:churn-pipeline:train-2026-02", get(resp.Data, "recordPipeline", "trainingJobs", 0, "trainingJob", "id"))
			assert.Equal(t, "model:churn/1", get(resp.Data, "recordPipeline", "modelVersions", 0, "modelVersion", "id"))
			assert.Equal(t, "model:churn/1", get(resp.Data, "recordPipeline", "deployments", 0, "deployment", "modelVersion", "id"))
			again := do(t, h, block, nil)
			require.Empty(t, again.Errors, "the pipeline example runs twice")
			assert.Equal(t, false, get(again.Data, "recordPipeline", "trainingJobs", 0, "created"), "and changes nothing the second time")
			assert.Equal(t, false, get(again.Data, "recordPipeline", "modelVersions", 0, "created"))
		}
		if strings.Contains(block, "mutation DescribeTheModel") {
			assert.Equal(t, []any{map[string]any{"key": "owner", "value": "risk-team"}},
				get(resp.Data, "updateRegisteredModel", "registeredModel", "tags"))
		}
		if strings.Contains(block, "query FindGoodRuns") {
			edges := get(resp.Data, "searchRuns", "edges").([]any)
			require.Len(t, edges, 1)
			assert.Equal(t, "run:"+runID, get(edges[0], "node", "id"))
			assert.Equal(t, 0.91, get(edges[0], "node", "metrics", 0, "last"))
		}
		if strings.Contains(block, "query TheLossCurve") {
			assert.Equal(t, []any{map[string]any{"step": float64(1), "value": 0.42}, map[string]any{"step": float64(2), "value": "NaN"},
				map[string]any{"step": float64(3), "value": 0.31}}, get(resp.Data, "node", "metricChart"))
		}
		if strings.Contains(block, "mutation RecordWhatTheRunRead") {
			assert.Len(t, get(resp.Data, "logRunIO", "run", "outputs"), 1, "the chart")
		}
		if strings.Contains(block, "query WhatTheRunLogged") {
			byURI := map[any]any{}
			for _, o := range get(resp.Data, "node", "outputs").([]any) {
				byURI[get(o, "uri")] = o
			}
			model := byURI["models:/"+loggedModel]
			require.NotNil(t, model, "the logged model is an output of the run: %v", byURI)
			assert.Equal(t, "artifact:models:/"+loggedModel, get(model, "id"))
			assert.Equal(t, "READY", get(model, "status"))
			assert.Equal(t, []any{map[string]any{"key": "alpha", "value": "0.5"}}, get(model, "params"))
			assert.Equal(t, []any{map[string]any{"key": "team", "value": "risk"}}, get(model, "tags"))
			delete(byURI, "models:/"+loggedModel)
			require.Len(t, byURI, 1, "and the chart")
			for _, chart := range byURI {
				assert.Nil(t, get(chart, "status"), "a plain artifact has no status")
				assert.Equal(t, []any{}, get(chart, "params"))
				assert.Equal(t, []any{}, get(chart, "tags"))
			}
		}
		if strings.Contains(block, "query CompareTheRun") {
			assert.Equal(t, "run:"+runID, get(resp.Data, "compareRuns", "metrics", 0, "bestRun", "id"))
		}
		if strings.Contains(block, "query HowDoesTheDatasetReachTheEndpoint") {
			require.Len(t, get(resp.Data, "paths"), 1)
			assert.Equal(t, float64(4), get(resp.Data, "paths", 0, "length"))
		}
		if strings.Contains(block, "query WhatServedAndFromWhichData") {
			assert.Equal(t, "model:quickstart-"+tk+"-fraud/1", get(resp.Data, "servedAt", 0, "modelVersion", "id"))
			assert.Equal(t, []string{"endpoint:quickstart-" + tk + "-fraud-prod",
				"datasetVersion:s3://quickstart-" + tk + "-lake:customers/2026-01#sha256:9f2c1a7e"}, ids(get(resp.Data, "lineage", "nodes")))
		}
		if strings.Contains(block, "mutation CreateCIToken") {
			token := get(resp.Data, "createApiToken", "token").(string)
			assert.True(t, strings.HasPrefix(token, "pgt_"), token)
			assert.Equal(t, "quickstart-"+tk+"-ci", get(resp.Data, "createApiToken", "apiToken", "name"))
			assert.Equal(t, admin.Actor, get(resp.Data, "createApiToken", "apiToken", "createdBy"))
		}
		if strings.Contains(block, "mutation RevokeCIToken") {
			assert.Equal(t, admin.Actor, get(resp.Data, "revokeApiToken", "apiToken", "revokedBy"))
		}
		if strings.Contains(block, "query WhoAmI") {
			assert.Equal(t, map[string]any{"actor": admin.Actor, "role": "ADMIN"}, get(resp.Data, "viewer"))
		}
		if strings.Contains(block, "query TraceQuickstart") {
			nodes := ids(get(resp.Data, "lineage", "nodes"))
			assert.Contains(t, nodes, "datasetVersion:s3://quickstart-"+tk+"-lake:customers/2026-01#sha256:9f2c1a7e",
				"the README's trace reaches the dataset version")
			assert.Len(t, nodes, 5)
			assert.Len(t, get(resp.Data, "lineage", "edges"), 4)
		}
	}
}

// documentedExamples returns the GraphQL examples of the README and docs/, in order,
// under the test's own names (token tk), and the run id they use instead of docsRunID.
func documentedExamples(t *testing.T, tk string) (blocks []string, runID string) {
	t.Helper()
	// The documented run id becomes one of this test's own.
	sum := sha256.Sum256([]byte(tk))
	runID = hex.EncodeToString(sum[:16])
	for _, file := range []string{"../README.md", "../docs/api.md", "../docs/security.md", "../docs/audit.md"} {
		text, err := os.ReadFile(file)
		require.NoError(t, err)
		found := graphqlBlock.FindAllStringSubmatch(string(text), -1)
		require.NotEmpty(t, found, "%s has GraphQL examples", file)
		for _, m := range found {
			block := strings.ReplaceAll(m[1], "quickstart", "quickstart-"+tk)
			blocks = append(blocks, strings.ReplaceAll(block, docsRunID, runID))
		}
	}
	return blocks, runID
}

// logModel makes the calls MLflow 3's log_model makes for a run of the default
// experiment (create the logged model with the run as its source, finalize it) through
// the MLflow REST API, and returns the model's id.
func logModel(t *testing.T, h http.Handler, runID string) string {
	t.Helper()
	id := createLoggedModel(t, h, `{"experiment_id": "0", "name": "model", "source_run_id": "`+runID+`",
		"params": [{"key": "alpha", "value": "0.5"}], "tags": [{"key": "team", "value": "risk"}]}`)
	a := call(t, h, "PATCH", "/api/2.0/mlflow/logged-models/"+id, `{"model_id": "`+id+`", "status": "LOGGED_MODEL_READY"}`, nil)
	require.Equal(t, http.StatusOK, a.status, a.body)
	return id
}

// createLoggedModel creates a logged model through the MLflow REST API, as body
// describes it, and returns its id.
func createLoggedModel(t *testing.T, h http.Handler, body string) string {
	t.Helper()
	a := call(t, h, "POST", "/api/2.0/mlflow/logged-models", body, nil)
	require.Equal(t, http.StatusOK, a.status, a.body)
	var created struct {
		Model struct {
			Info struct {
				ModelID string `json:"model_id"`
			} `json:"info"`
		} `json:"model"`
	}
	require.NoError(t, json.Unmarshal([]byte(a.body), &created), a.body)
	return created.Model.Info.ModelID
}

// checkDocumentedInclusionProof checks the answer of docs/audit.md's inclusion proof
// with tlog, as an auditor would.
func checkDocumentedInclusionProof(t *testing.T, data any) {
	t.Helper()
	proof := hashesOf(t, get(data, "auditInclusionProof", "proof"))
	leaf, err := tlog.ParseHash(get(data, "auditInclusionProof", "leafHash").(string))
	require.NoError(t, err)
	root, err := tlog.ParseHash(get(data, "auditInclusionProof", "checkpoint", "rootHash").(string))
	require.NoError(t, err)
	size := int64(get(data, "auditInclusionProof", "checkpoint", "treeSize").(float64))
	require.NoError(t, tlog.CheckRecord(proof, size, root, 0, leaf), "the documented inclusion proof checks")
}

// hashesOf reads a list of base64 hashes from a GraphQL answer.
func hashesOf(t *testing.T, list any) []tlog.Hash {
	t.Helper()
	var out []tlog.Hash
	for _, v := range list.([]any) {
		h, err := tlog.ParseHash(v.(string))
		require.NoError(t, err)
		out = append(out, h)
	}
	return out
}
