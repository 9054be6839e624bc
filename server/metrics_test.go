package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/uuid"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/internal/neo4jtest"
	"github.com/provgraph/provgraph/metrics"
	"github.com/provgraph/provgraph/server"
)

// scrape reads GET /metrics from h and parses the Prometheus text format.
func scrape(t *testing.T, h http.Handler) map[string]*dto.MetricFamily {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, server.MetricsPath, nil))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.True(t, strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain"), rec.Header().Get("Content-Type"))
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(rec.Body)
	require.NoError(t, err)
	return families
}

// series returns the sample of family name whose labels are exactly labels: a
// counter's or gauge's value, a histogram's count. ok is false when there is none.
func series(families map[string]*dto.MetricFamily, name string, labels map[string]string) (v float64, ok bool) {
	f := families[name]
	if f == nil {
		return 0, false
	}
	for _, m := range f.GetMetric() {
		if len(m.GetLabel()) != len(labels) {
			continue
		}
		match := true
		for _, l := range m.GetLabel() {
			if want, has := labels[l.GetName()]; !has || want != l.GetValue() {
				match = false
				break
			}
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount()), true
		}
	}
	return 0, false
}

// value is series for a series that must exist.
func value(t *testing.T, families map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	t.Helper()
	v, ok := series(families, name, labels)
	require.True(t, ok, "no series %s%v", name, labels)
	return v
}

// labelValues lists the values label takes in family name among series with the
// given other labels.
func labelValues(families map[string]*dto.MetricFamily, name, label string, where map[string]string) []string {
	var out []string
	for _, m := range families[name].GetMetric() {
		vals := map[string]string{}
		for _, l := range m.GetLabel() {
			vals[l.GetName()] = l.GetValue()
		}
		match := true
		for k, v := range where {
			match = match && vals[k] == v
		}
		if match {
			out = append(out, vals[label])
		}
	}
	return out
}

func sendRaw(t *testing.T, h http.Handler, method, path, body string) int {
	t.Helper()
	var req *http.Request
	if body == "" {
		req = httptest.NewRequest(method, path, nil)
	} else {
		req = httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code
}

// olRunEvent is a minimal OpenLineage RunEvent of job name in namespace ns.
func olRunEvent(t *testing.T, ns, name string) map[string]any {
	t.Helper()
	return map[string]any{
		"eventType": "COMPLETE",
		"eventTime": "2026-03-14T09:30:00.000Z",
		"run":       map[string]any{"runId": uuid.NewString()},
		"job":       map[string]any{"namespace": ns, "name": name},
		"producer":  "https://example.com/provgraph-metrics-test",
		"schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

// Requests to every surface show up in /metrics, scraped through the real handler,
// with their surface, operation and status code, their latency, the GraphQL errors,
// the Neo4j transactions they ran and the items they ingested.
func TestMetricsCountRequestsTransactionsAndIngest(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	tk := neo4jtest.Token(t)

	// GraphQL: a named query twice, an anonymous one, one that fails validation, and
	// a named one that fails with a domain error.
	for range 2 {
		mustDo(t, h, `query MetricsProbe($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": "endpoint:" + tk})
	}
	mustDo(t, h, `{ node(id: "endpoint:`+tk+`") { id } }`, nil)
	invalid := do(t, h, `query Broken { noSuchField }`, nil)
	require.Len(t, invalid.Errors, 1)
	require.Equal(t, "GRAPHQL_VALIDATION_FAILED", invalid.Errors[0].Extensions["code"])
	refused := do(t, h, `query MissingStart { lineage(start: ["endpoint:`+tk+`"], direction: UPSTREAM) { truncated } }`, nil)
	require.Len(t, refused.Errors, 1)
	require.Equal(t, "NOT_FOUND", refused.Errors[0].Extensions["code"])

	// MLflow: a write that is accepted, one that is rejected, a read, an unknown call.
	require.Equal(t, http.StatusOK, sendRaw(t, h, http.MethodPost, "/api/2.0/mlflow/experiments/create", `{"name": "metrics-`+tk+`"}`))
	require.Equal(t, http.StatusBadRequest, sendRaw(t, h, http.MethodPost, "/api/2.0/mlflow/experiments/create", `{"name": ""}`))
	require.Equal(t, http.StatusOK, sendRaw(t, h, http.MethodGet, "/api/2.0/mlflow/experiments/get-by-name?experiment_name=metrics-"+tk, ""))
	require.Equal(t, http.StatusNotFound, sendRaw(t, h, http.MethodPost, "/api/2.0/mlflow/no/such-call-"+tk, `{}`))

	// OpenLineage: one event, then a batch of two good events and a bad one.
	ns := "metrics-" + tk
	require.Equal(t, http.StatusCreated, sendRaw(t, h, http.MethodPost, "/api/v1/lineage", mustJSON(t, olRunEvent(t, ns, "single"))))
	bad := olRunEvent(t, ns, "bad")
	delete(bad, "eventTime")
	batch := []any{olRunEvent(t, ns, "first"), bad, olRunEvent(t, ns, "second")}
	require.Equal(t, http.StatusOK, sendRaw(t, h, http.MethodPost, "/api/v1/lineage/batch", mustJSON(t, batch)))

	// SageMaker: one element that is not an event.
	require.Equal(t, http.StatusOK, sendRaw(t, h, http.MethodPost, "/api/v1/sagemaker/events", `[{"not": "an event"}]`))

	// Operations and the unknown.
	require.Equal(t, http.StatusOK, sendRaw(t, h, http.MethodGet, "/healthz", ""))
	require.Equal(t, http.StatusNotFound, sendRaw(t, h, http.MethodGet, "/no/such/path/"+tk, ""))
	scrape(t, h) // counted by the next scrape

	m := scrape(t, h)
	requests := func(surface, operation, code string) float64 {
		t.Helper()
		return value(t, m, "provgraph_http_requests_total", map[string]string{"surface": surface, "operation": operation, "code": code})
	}
	assert.Equal(t, 2.0, requests("graphql", "MetricsProbe", "200"))
	assert.Equal(t, 1.0, requests("graphql", "anonymous", "200"))
	assert.Equal(t, 1.0, requests("graphql", "none", "422"), "refused before an operation ran: no name")
	assert.Equal(t, 1.0, requests("graphql", "MissingStart", "200"))
	assert.Equal(t, 1.0, requests("mlflow", "experiments/create", "200"))
	assert.Equal(t, 1.0, requests("mlflow", "experiments/create", "400"))
	assert.Equal(t, 1.0, requests("mlflow", "experiments/get-by-name", "200"))
	assert.Equal(t, 1.0, requests("mlflow", "other", "404"))
	assert.Equal(t, 1.0, requests("openlineage", "lineage", "201"))
	assert.Equal(t, 1.0, requests("openlineage", "lineage/batch", "200"))
	assert.Equal(t, 1.0, requests("sagemaker", "events", "200"))
	assert.Equal(t, 1.0, requests("health", "healthz", "200"))
	assert.Equal(t, 1.0, requests("metrics", "metrics", "200"))
	assert.Equal(t, 1.0, requests("other", "other", "404"))
	assert.NotContains(t, labelValues(m, "provgraph_http_requests_total", "operation", nil), "Broken",
		"the name of an operation that did not validate is not used")

	duration := func(surface, operation string) float64 {
		t.Helper()
		return value(t, m, "provgraph_http_request_duration_seconds", map[string]string{"surface": surface, "operation": operation})
	}
	assert.Equal(t, 2.0, duration("graphql", "MetricsProbe"))
	assert.Equal(t, 1.0, duration("openlineage", "lineage/batch"))
	assert.Equal(t, 0.0, value(t, m, "provgraph_http_requests_in_flight", map[string]string{"surface": "graphql"}))

	gqlErrors := func(operation, code string) float64 {
		t.Helper()
		return value(t, m, "provgraph_graphql_errors_total", map[string]string{"operation": operation, "code": code})
	}
	assert.Equal(t, 1.0, gqlErrors("none", "GRAPHQL_VALIDATION_FAILED"))
	assert.Equal(t, 1.0, gqlErrors("MissingStart", "NOT_FOUND"))
	_, ok := series(m, "provgraph_graphql_errors_total", map[string]string{"operation": "MetricsProbe", "code": "NOT_FOUND"})
	assert.False(t, ok, "a node that does not exist is null, not an error")

	ingested := func(surface, outcome string) float64 {
		t.Helper()
		return value(t, m, "provgraph_ingest_items_total", map[string]string{"surface": surface, "outcome": outcome})
	}
	assert.Equal(t, 3.0, ingested("openlineage", "accepted"))
	assert.Equal(t, 1.0, ingested("openlineage", "rejected"))
	assert.Equal(t, 0.0, ingested("openlineage", "failed"))
	assert.Equal(t, 1.0, ingested("mlflow", "accepted"))
	assert.Equal(t, 1.0, ingested("mlflow", "rejected"))
	assert.Equal(t, 1.0, ingested("sagemaker", "rejected"))
	assert.Equal(t, 0.0, ingested("sagemaker", "accepted"))

	// Neo4j: the reads and writes above ran in transactions, none retried, none still
	// open. Looking up nodes that do not exist is a read that answers NOT_FOUND.
	txs := func(mode string) (total float64) {
		for _, code := range labelValues(m, "provgraph_neo4j_transactions_total", "code", map[string]string{"mode": mode}) {
			total += value(t, m, "provgraph_neo4j_transactions_total", map[string]string{"mode": mode, "code": code})
		}
		return total
	}
	assert.GreaterOrEqual(t, value(t, m, "provgraph_neo4j_transactions_total", map[string]string{"mode": "read", "code": "NOT_FOUND"}), 4.0,
		"three node lookups and a lineage start")
	assert.GreaterOrEqual(t, value(t, m, "provgraph_neo4j_transactions_total", map[string]string{"mode": "write", "code": "OK"}), 3.0,
		"an experiment, the single OpenLineage event and the batch (one transaction for its events) at least")
	for _, mode := range []string{"read", "write"} {
		n := txs(mode)
		assert.Equal(t, n, value(t, m, "provgraph_neo4j_transaction_duration_seconds", map[string]string{"mode": mode}), mode)
		assert.Equal(t, n, value(t, m, "provgraph_neo4j_transaction_begin_wait_seconds", map[string]string{"mode": mode}), mode)
		assert.Equal(t, 0.0, value(t, m, "provgraph_neo4j_transaction_retries_total", map[string]string{"mode": mode}))
		assert.Equal(t, 0.0, value(t, m, "provgraph_neo4j_transactions_in_flight", map[string]string{"mode": mode}))
	}

	// The Go runtime's and the process's series come along.
	assert.Contains(t, m, "go_goroutines")
	assert.Contains(t, m, "process_resident_memory_bytes")
}

// Clients choose GraphQL operation names; only the first MaxOperationNames distinct
// names get series of their own, the rest count as "other".
func TestMetricsCapGraphQLOperationNames(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	extra := 5
	for i := range metrics.MaxOperationNames + extra {
		mustDo(t, h, fmt.Sprintf(`query Op%d { __typename }`, i), nil)
	}
	long := "Q" + strings.Repeat("x", metrics.MaxOperationNameLength)
	mustDo(t, h, `query `+long+` { __typename }`, nil)
	mustDo(t, h, `query Op0 { __typename }`, nil)

	m := scrape(t, h)
	names := labelValues(m, "provgraph_http_requests_total", "operation", map[string]string{"surface": "graphql"})
	assert.Len(t, names, metrics.MaxOperationNames+1, "the capped names and other")
	assert.Equal(t, float64(extra+1), value(t, m, "provgraph_http_requests_total",
		map[string]string{"surface": "graphql", "operation": "other", "code": "200"}))
	assert.Equal(t, 2.0, value(t, m, "provgraph_http_requests_total",
		map[string]string{"surface": "graphql", "operation": "Op0", "code": "200"}), "a known name keeps its series")
}

// Each server counts on its own registry: a second handler's metrics do not see the
// first one's requests.
func TestMetricsAreCountedPerServer(t *testing.T) {
	t.Parallel()
	first, second := newHandler(t), newHandler(t)
	require.Equal(t, http.StatusOK, sendRaw(t, first, http.MethodGet, "/healthz", ""))
	_, ok := series(scrape(t, second), "provgraph_http_requests_total",
		map[string]string{"surface": "health", "operation": "healthz", "code": "200"})
	assert.False(t, ok)
	assert.Equal(t, 1.0, value(t, scrape(t, first), "provgraph_http_requests_total",
		map[string]string{"surface": "health", "operation": "healthz", "code": "200"}))
}
