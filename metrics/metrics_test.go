package metrics

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/apperr"
	"github.com/provgraph/provgraph/ingest"
	"github.com/provgraph/provgraph/store"
)

// The store's transaction reports become the transaction series: in flight while
// open, one retry per re-run, the result by code (an unclassified error is INTERNAL).
func TestTxObserverFeedsTransactionSeries(t *testing.T) {
	t.Parallel()
	m := New()
	o := txObserver{m}
	o.TxStarted(store.TxWrite)
	o.TxStarted(store.TxRead)
	assert.Equal(t, 1.0, testutil.ToFloat64(m.txsInFlight.WithLabelValues("write")))
	o.TxBegun(store.TxWrite, 3*time.Millisecond)
	o.TxRetried(store.TxWrite, &neo4j.Neo4jError{Code: "Neo.TransientError.Transaction.DeadlockDetected"})
	o.TxRetried(store.TxWrite, nil)
	o.TxDone(store.TxWrite, 2*time.Second, nil)
	o.TxDone(store.TxRead, time.Millisecond, errors.New("driver says no"))

	assert.Equal(t, 0.0, testutil.ToFloat64(m.txsInFlight.WithLabelValues("write")))
	assert.Equal(t, 0.0, testutil.ToFloat64(m.txsInFlight.WithLabelValues("read")))
	assert.Equal(t, 2.0, testutil.ToFloat64(m.txRetries.WithLabelValues("write")))
	assert.Equal(t, 0.0, testutil.ToFloat64(m.txRetries.WithLabelValues("read")))
	assert.Equal(t, 1.0, testutil.ToFloat64(m.txTransient.WithLabelValues("write", "Neo.TransientError.Transaction.DeadlockDetected")))
	assert.Equal(t, 1.0, testutil.ToFloat64(m.txTransient.WithLabelValues("write", "unknown")))
	assert.Equal(t, 1.0, testutil.ToFloat64(m.txs.WithLabelValues("write", "OK")))
	assert.Equal(t, 1.0, testutil.ToFloat64(m.txs.WithLabelValues("read", "INTERNAL")))
	require.NoError(t, testutil.GatherAndCompare(m.reg, strings.NewReader(`
# HELP provgraph_neo4j_transaction_begin_wait_seconds Time from asking the driver for a transaction until its work first ran: getting a connection from the pool (or opening one), routing and BEGIN, by mode.
# TYPE provgraph_neo4j_transaction_begin_wait_seconds histogram
provgraph_neo4j_transaction_begin_wait_seconds_bucket{mode="write",le="0.001"} 0
provgraph_neo4j_transaction_begin_wait_seconds_bucket{mode="write",le="0.0025"} 0
provgraph_neo4j_transaction_begin_wait_seconds_bucket{mode="write",le="0.005"} 1
provgraph_neo4j_transaction_begin_wait_seconds_bucket{mode="write",le="0.01"} 1
provgraph_neo4j_transaction_begin_wait_seconds_bucket{mode="write",le="0.02"} 1
provgraph_neo4j_transaction_begin_wait_seconds_bucket{mode="write",le="0.05"} 1
provgraph_neo4j_transaction_begin_wait_seconds_bucket{mode="write",le="0.1"} 1
provgraph_neo4j_transaction_begin_wait_seconds_bucket{mode="write",le="0.25"} 1
provgraph_neo4j_transaction_begin_wait_seconds_bucket{mode="write",le="0.5"} 1
provgraph_neo4j_transaction_begin_wait_seconds_bucket{mode="write",le="1"} 1
provgraph_neo4j_transaction_begin_wait_seconds_bucket{mode="write",le="2.5"} 1
provgraph_neo4j_transaction_begin_wait_seconds_bucket{mode="write",le="5"} 1
provgraph_neo4j_transaction_begin_wait_seconds_bucket{mode="write",le="10"} 1
provgraph_neo4j_transaction_begin_wait_seconds_bucket{mode="write",le="30"} 1
provgraph_neo4j_transaction_begin_wait_seconds_bucket{mode="write",le="+Inf"} 1
provgraph_neo4j_transaction_begin_wait_seconds_sum{mode="write"} 0.003
provgraph_neo4j_transaction_begin_wait_seconds_count{mode="write"} 1
`), "provgraph_neo4j_transaction_begin_wait_seconds"))
}

// Ingested items count by surface and outcome; accepted, rejected and failed exist
// from the start.
func TestIngestCounter(t *testing.T) {
	t.Parallel()
	m := New()
	count := m.Ingest("openlineage")
	require.NoError(t, testutil.GatherAndCompare(m.reg, strings.NewReader(`
# HELP provgraph_ingest_items_total Items sent to the ingest surfaces (OpenLineage events, SageMaker events, MLflow write calls), by surface and outcome.
# TYPE provgraph_ingest_items_total counter
provgraph_ingest_items_total{outcome="accepted",surface="openlineage"} 0
provgraph_ingest_items_total{outcome="failed",surface="openlineage"} 0
provgraph_ingest_items_total{outcome="rejected",surface="openlineage"} 0
`), "provgraph_ingest_items_total"))
	count.Add(ingest.Accepted, 3)
	count.Add(ingest.OutcomeOf(apperr.Invalid("eventTime", "is required")), 1)
	count.Add(ingest.OutcomeOf(apperr.UnavailableBecause(errors.New("down"), "unavailable")), 2)
	count.Add(ingest.Rejected, 0)
	assert.Equal(t, 3.0, testutil.ToFloat64(m.ingested.WithLabelValues("openlineage", "accepted")))
	assert.Equal(t, 1.0, testutil.ToFloat64(m.ingested.WithLabelValues("openlineage", "rejected")))
	assert.Equal(t, 2.0, testutil.ToFloat64(m.ingested.WithLabelValues("openlineage", "failed")))
}

// The operation name rule: anonymous, capped in number and length.
func TestOperationNamesAreBounded(t *testing.T) {
	t.Parallel()
	o := NewOperationNames(2)
	assert.Equal(t, OperationAnonymous, o.Label(""))
	assert.Equal(t, "A", o.Label("A"))
	assert.Equal(t, OperationOther, o.Label(strings.Repeat("L", MaxOperationNameLength+1)))
	assert.Equal(t, "B", o.Label("B"))
	assert.Equal(t, OperationOther, o.Label("C"), "beyond the cap")
	assert.Equal(t, "A", o.Label("A"), "a known name keeps its label")
	assert.Equal(t, OperationAnonymous, o.Label(""), "anonymous does not count against the cap")
}

// extensions.code values outside the code shape count as OTHER.
func TestErrorCodeIsBounded(t *testing.T) {
	t.Parallel()
	for code, want := range map[string]string{
		"NOT_FOUND":                 "NOT_FOUND",
		"GRAPHQL_VALIDATION_FAILED": "GRAPHQL_VALIDATION_FAILED",
		"":                          "OTHER",
		"not a code":                "OTHER",
		strings.Repeat("X", 41):     "OTHER",
	} {
		assert.Equal(t, want, errorCode(code), code)
	}
}

// Instrument labels a request with its classification and captures the status code
// of the wrapped handler. (server's tests check, through the real handler, that the
// transactions of requests are counted.)
func TestInstrumentLabelsRequests(t *testing.T) {
	t.Parallel()
	m := New()
	h := m.Instrument(func(r *http.Request) (string, string) { return "test", "op" },
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) }))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	assert.Equal(t, 1.0, testutil.ToFloat64(m.requests.WithLabelValues("test", "op", "418")))
	assert.Equal(t, 0.0, testutil.ToFloat64(m.requestsInFlight.WithLabelValues("test")))
}

// A write heard asking for a slot is waiting until it is heard admitted (or giving
// up); each wait is observed once.
func TestTxObserverFeedsWriteSlotSeries(t *testing.T) {
	t.Parallel()
	m := New()
	o := txObserver{m}
	o.WriteSlotAsked()
	o.WriteSlotAsked()
	assert.Equal(t, 2.0, testutil.ToFloat64(m.writeSlotWaiting))
	o.WriteSlotWaited(30 * time.Millisecond)
	assert.Equal(t, 1.0, testutil.ToFloat64(m.writeSlotWaiting))
	o.WriteSlotWaited(2 * time.Second)
	assert.Equal(t, 0.0, testutil.ToFloat64(m.writeSlotWaiting))
	require.NoError(t, testutil.GatherAndCompare(m.reg, strings.NewReader(`
# HELP provgraph_write_slot_wait_seconds Time a write waited for one of this process's write slots (--max-writers) before asking the driver for a transaction; a write that gave up waiting (its deadline passed) counts the time it waited.
# TYPE provgraph_write_slot_wait_seconds histogram
provgraph_write_slot_wait_seconds_bucket{le="0.001"} 0
provgraph_write_slot_wait_seconds_bucket{le="0.0025"} 0
provgraph_write_slot_wait_seconds_bucket{le="0.005"} 0
provgraph_write_slot_wait_seconds_bucket{le="0.01"} 0
provgraph_write_slot_wait_seconds_bucket{le="0.02"} 0
provgraph_write_slot_wait_seconds_bucket{le="0.05"} 1
provgraph_write_slot_wait_seconds_bucket{le="0.1"} 1
provgraph_write_slot_wait_seconds_bucket{le="0.25"} 1
provgraph_write_slot_wait_seconds_bucket{le="0.5"} 1
provgraph_write_slot_wait_seconds_bucket{le="1"} 1
provgraph_write_slot_wait_seconds_bucket{le="2.5"} 2
provgraph_write_slot_wait_seconds_bucket{le="5"} 2
provgraph_write_slot_wait_seconds_bucket{le="10"} 2
provgraph_write_slot_wait_seconds_bucket{le="30"} 2
provgraph_write_slot_wait_seconds_bucket{le="+Inf"} 2
provgraph_write_slot_wait_seconds_sum 2.03
provgraph_write_slot_wait_seconds_count 2
`), "provgraph_write_slot_wait_seconds"))
}
