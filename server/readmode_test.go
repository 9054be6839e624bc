package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/auth"
	"github.com/provgraph/provgraph/internal/authtest"
	"github.com/provgraph/provgraph/internal/neo4jtest"
	"github.com/provgraph/provgraph/server"
)

// operationKind is the first word of a GraphQL document's first operation ("{" for
// the query shorthand).
var operationKind = regexp.MustCompile(`(?m)^(query|mutation|\{)`)

// Reads run in read transactions, which a neo4j:// driver routes to a cluster's
// secondaries: every documented GraphQL query and a round of MLflow reads, sent to a
// handler of their own (so with metrics of their own) after the documented mutations
// and MLflow writes went to another, start read transactions and not one write
// transaction.
func TestReadsRunInReadTransactions(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	admin := authtest.NewToken(t, st, auth.RoleAdmin)
	writes := admin.Handler(newBareHandler(t, server.Options{Store: st}))
	reads := admin.Handler(newBareHandler(t, server.Options{Store: st}))
	tk := neo4jtest.Token(t)

	blocks, _ := documentedExamples(t, tk)
	queries := 0
	for i, block := range blocks {
		kind := operationKind.FindString(block)
		require.NotEmpty(t, kind, "example %d: %s", i, firstLine(block))
		if kind == "mutation" {
			do(t, writes, block, nil)
			continue
		}
		do(t, reads, block, nil) // some are documented to fail: this counts transactions only
		queries++
	}
	require.Greater(t, queries, 10, "the documented queries")

	exp := call(t, writes, "POST", "/api/2.0/mlflow/experiments/create", `{"name": "readmode-`+tk+`"}`, nil)
	require.Equal(t, http.StatusOK, exp.status, exp.body)
	expID := get(decodeJSON(t, exp.body), "experiment_id")
	run := call(t, writes, "POST", "/api/2.0/mlflow/runs/create", fmt.Sprintf(`{"experiment_id": %q}`, expID), nil)
	require.Equal(t, http.StatusOK, run.status, run.body)
	runID := get(decodeJSON(t, run.body), "run", "info", "run_id")
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/api/2.0/mlflow/experiments/get-by-name?experiment_name=readmode-" + tk, ""},
		{"GET", fmt.Sprintf("/api/2.0/mlflow/experiments/get?experiment_id=%s", expID), ""},
		{"POST", "/api/2.0/mlflow/experiments/search", `{"max_results": 10}`},
		{"GET", fmt.Sprintf("/api/2.0/mlflow/runs/get?run_id=%s", runID), ""},
		{"POST", "/api/2.0/mlflow/runs/search", fmt.Sprintf(`{"experiment_ids": [%q]}`, expID)},
		{"GET", fmt.Sprintf("/api/2.0/mlflow/metrics/get-history?run_id=%s&metric_key=loss", runID), ""},
		{"POST", "/api/2.0/mlflow/registered-models/search", `{}`},
	} {
		got := call(t, reads, c.method, c.path, c.body, nil)
		require.Equal(t, http.StatusOK, got.status, "%s %s: %s", c.method, c.path, got.body)
	}

	m := scrape(t, reads)
	total := func(mode string) float64 {
		sum := 0.0
		for _, code := range labelValues(m, "provgraph_neo4j_transactions_total", "code", map[string]string{"mode": mode}) {
			sum += value(t, m, "provgraph_neo4j_transactions_total", map[string]string{"mode": mode, "code": code})
		}
		return sum
	}
	assert.GreaterOrEqual(t, total("read"), float64(queries+7), "at least a read transaction a request")
	assert.Zero(t, total("write"), "reads started write transactions: %v",
		labelValues(m, "provgraph_neo4j_transactions_total", "code", map[string]string{"mode": "write"}))
}

func decodeJSON(t *testing.T, body string) map[string]any {
	t.Helper()
	var v map[string]any
	require.NoError(t, json.Unmarshal([]byte(body), &v), body)
	return v
}
