// Package metrics is provgraph's Prometheus instrumentation: request counts and
// latencies per surface and operation, GraphQL errors, Neo4j transactions (with their
// retries and the wait for a pooled connection), and ingested items. docs/operations.md
// lists every series.
//
// Each Metrics has a registry of its own rather than Prometheus's global one, so that
// several servers in one process (tests in parallel) count apart. Every label value is
// from a fixed set or capped (see OperationNames): nothing a client sends can make the
// number of series grow without bound.
package metrics

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/felixge/httpsnoop"
	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/provgraph/provgraph/apperr"
	"github.com/provgraph/provgraph/ingest"
	"github.com/provgraph/provgraph/store"
)

// Namespace prefixes every provgraph series.
const Namespace = "provgraph"

// Labels of requests that name no operation of their own.
const (
	// OperationNone labels a GraphQL request that ran no operation: refused before one
	// could (malformed, invalid, too large) or not a GraphQL request at all.
	OperationNone = "none"
	// OperationAnonymous labels a GraphQL operation without a name.
	OperationAnonymous = "anonymous"
	// OperationOther labels what is not worth a series of its own: a GraphQL operation
	// name beyond the cap, an unknown MLflow call, an unknown path.
	OperationOther = "other"
)

// Buckets of the latency histograms, in seconds: fine around the 20 ms that a
// traversal should take, coarse up to the 30 s a transaction may be retried for.
var latencyBuckets = []float64{.001, .0025, .005, .01, .02, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// Metrics is the instrumentation of one server. Its methods are safe for concurrent use.
type Metrics struct {
	reg *prometheus.Registry

	requests         *prometheus.CounterVec
	requestDuration  *prometheus.HistogramVec
	requestsInFlight *prometheus.GaugeVec
	graphqlErrors    *prometheus.CounterVec
	txs              *prometheus.CounterVec
	txDuration       *prometheus.HistogramVec
	txBeginWait      *prometheus.HistogramVec
	txRetries        *prometheus.CounterVec
	txsInFlight      *prometheus.GaugeVec
	ingested         *prometheus.CounterVec
	txTransient      *prometheus.CounterVec
	writeSlotWait    prometheus.Histogram
	writeSlotWaiting prometheus.Gauge
	locks            lockWaits
	audit            *auditSeries

	operations *OperationNames
}

// New returns the metrics of a server, registered with a registry of their own along
// with the Go runtime's and the process's.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: counter("http_requests_total",
			"HTTP requests answered, by surface, operation and status code.",
			"surface", "operation", "code"),
		requestDuration: histogram("http_request_duration_seconds",
			"Time from a request's arrival until its handler returned, by surface and operation.",
			"surface", "operation"),
		requestsInFlight: gauge("http_requests_in_flight",
			"HTTP requests being answered, by surface.",
			"surface"),
		graphqlErrors: counter("graphql_errors_total",
			"Errors in GraphQL responses (which are HTTP 200 when the operation ran), by operation and extensions.code.",
			"operation", "code"),
		txs: counter("neo4j_transactions_total",
			"Neo4j transactions the store ran for requests, by mode and result: OK when committed, else the error code the store returned.",
			"mode", "code"),
		txDuration: histogram("neo4j_transaction_duration_seconds",
			"Time a store transaction took, connection wait and retries included, by mode.",
			"mode"),
		txBeginWait: histogram("neo4j_transaction_begin_wait_seconds",
			"Time from asking the driver for a transaction until its work first ran: getting a connection from the pool (or opening one), routing and BEGIN, by mode.",
			"mode"),
		txRetries: counter("neo4j_transaction_retries_total",
			"Times the driver ran a transaction's work again after a transient failure (deadlock, leader switch, lost connection), by mode.",
			"mode"),
		txsInFlight: gauge("neo4j_transactions_in_flight",
			"Store transactions holding a pooled Neo4j connection or waiting for one, by mode.",
			"mode"),
		ingested: counter("ingest_items_total",
			"Items sent to the ingest surfaces (OpenLineage events, SageMaker events, MLflow write calls), by surface and outcome.",
			"surface", "outcome"),
		txTransient: counter("neo4j_transient_errors_total",
			"Attempts of Neo4j transactions that failed transiently and were run again, by mode and cause: the Neo4j status code of a deadlock or another lock failure, connectivity for a lost connection, other, or unknown when the work succeeded and its commit failed.",
			"mode", "cause"),
		writeSlotWait: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: Namespace, Name: "write_slot_wait_seconds",
			Help:    "Time a write waited for one of this process's write slots (--max-writers) before asking the driver for a transaction; a write that gave up waiting (its deadline passed) counts the time it waited.",
			Buckets: latencyBuckets}),
		writeSlotWaiting: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: Namespace, Name: "write_slot_waiting",
			Help: "Writes waiting now for one of this process's write slots (--max-writers)."}),
		locks:      newLockWaits(),
		audit:      newAuditSeries(),
		operations: NewOperationNames(MaxOperationNames),
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.requests, m.requestDuration, m.requestsInFlight, m.graphqlErrors,
		m.txs, m.txDuration, m.txBeginWait, m.txRetries, m.txsInFlight, m.ingested, m.txTransient,
		m.writeSlotWait, m.writeSlotWaiting,
	)
	m.reg.MustRegister(m.audit.collectors()...)
	// Series that exist from the start, so rates and alerts see them before the first
	// event rather than from it.
	for _, mode := range []store.TxMode{store.TxRead, store.TxWrite} {
		m.txRetries.WithLabelValues(string(mode))
		m.txsInFlight.WithLabelValues(string(mode))
		m.txTransient.WithLabelValues(string(mode), causeDeadlock)
	}
	return m
}

func counter(name, help string, labels ...string) *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: name, Help: help}, labels)
}

func gauge(name, help string, labels ...string) *prometheus.GaugeVec {
	return prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: Namespace, Name: name, Help: help}, labels)
}

func histogram(name, help string, labels ...string) *prometheus.HistogramVec {
	return prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Name: name, Help: help, Buckets: latencyBuckets}, labels)
}

// WatchNeo4j exports provgraph_neo4j_up: 1 while up reports that Neo4j answers, 0
// during an outage (store.Store.Outage).
func (m *Metrics) WatchNeo4j(up func() bool) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: Namespace, Name: "neo4j_up",
		Help: "1 while Neo4j answers, 0 during an outage: from its first failed check until a check succeeds (requests then fail at once with UNAVAILABLE)."},
		func() float64 {
			if up() {
				return 1
			}
			return 0
		}))
}

// Handler serves the metrics in Prometheus's exposition formats.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Classifier names the surface and operation of a request from what is known before
// it is handled; every value must come from a fixed set. A GraphQL operation's name
// replaces the operation once the operation runs (GraphQL).
type Classifier func(r *http.Request) (surface, operation string)

// requestLabels are the labels of a request being answered; the GraphQL extension
// fills in the operation.
type requestLabels struct {
	operation string
}

type requestLabelsKey struct{}

// Instrument counts and times the requests next answers, labelled by classify, and
// reports the store transactions they run (store.WithTxObserver).
func (m *Metrics) Instrument(classify Classifier, next http.Handler) http.Handler {
	obs := txObserver{m}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		surface, operation := classify(r)
		labels := &requestLabels{operation: operation}
		ctx := context.WithValue(r.Context(), requestLabelsKey{}, labels)
		ctx = store.WithTxObserver(ctx, obs)
		inFlight := m.requestsInFlight.WithLabelValues(surface)
		inFlight.Inc()
		defer inFlight.Dec()
		res := httpsnoop.CaptureMetrics(next, w, r.WithContext(ctx))
		m.requests.WithLabelValues(surface, labels.operation, strconv.Itoa(res.Code)).Inc()
		m.requestDuration.WithLabelValues(surface, labels.operation).Observe(res.Duration.Seconds())
	})
}

// Ingest returns the counter of a surface's ingested items. Its accepted, rejected
// and failed series exist from the start; ignored appears when an item is ignored
// (which only SageMaker events are).
func (m *Metrics) Ingest(surface string) ingest.Counter {
	for _, o := range []ingest.Outcome{ingest.Accepted, ingest.Rejected, ingest.Failed} {
		m.ingested.WithLabelValues(surface, string(o))
	}
	return func(o ingest.Outcome, n int) {
		m.ingested.WithLabelValues(surface, string(o)).Add(float64(n))
	}
}

// txObserver turns the store's transaction reports into series.
type txObserver struct{ m *Metrics }

func (o txObserver) TxStarted(mode store.TxMode) {
	o.m.txsInFlight.WithLabelValues(string(mode)).Inc()
}

func (o txObserver) TxBegun(mode store.TxMode, wait time.Duration) {
	o.m.txBeginWait.WithLabelValues(string(mode)).Observe(wait.Seconds())
}

func (o txObserver) TxRetried(mode store.TxMode, cause error) {
	o.m.txRetries.WithLabelValues(string(mode)).Inc()
	o.m.txTransient.WithLabelValues(string(mode), retryCause(cause)).Inc()
}

// The causes of a retry that are worth a series of their own: lock failures, and
// those of a cluster changing under the driver. Any other is causeOther.
var retryCauses = map[string]bool{
	causeDeadlock: true,
	"Neo.TransientError.Transaction.LockAcquisitionTimeout": true,
	"Neo.TransientError.Transaction.LockClientStopped":      true,
	"Neo.TransientError.General.DatabaseUnavailable":        true,
	"Neo.ClientError.Cluster.NotALeader":                    true,
	"Neo.ClientError.General.ForbiddenOnReadOnlyDatabase":   true,
}

// The retry causes that are not a Neo4j status code.
const (
	causeDeadlock     = "Neo.TransientError.Transaction.DeadlockDetected"
	causeConnectivity = "connectivity"
	causeOther        = "other"
	causeUnknown      = "unknown"
)

// retryCause is the cause label of a retry whose previous attempt failed with err.
func retryCause(err error) string {
	var (
		nerr *neo4j.Neo4jError
		conn *neo4j.ConnectivityError
	)
	switch {
	case err == nil:
		return causeUnknown
	case errors.As(err, &nerr) && retryCauses[nerr.Code]:
		return nerr.Code
	case errors.As(err, &conn):
		return causeConnectivity
	}
	return causeOther
}

func (o txObserver) WriteSlotAsked() { o.m.writeSlotWaiting.Inc() }

func (o txObserver) WriteSlotWaited(wait time.Duration) {
	o.m.writeSlotWaiting.Dec()
	o.m.writeSlotWait.Observe(wait.Seconds())
}

func (o txObserver) TxDone(mode store.TxMode, d time.Duration, err error) {
	o.m.txsInFlight.WithLabelValues(string(mode)).Dec()
	o.m.txDuration.WithLabelValues(string(mode)).Observe(d.Seconds())
	code := "OK"
	if err != nil {
		code = string(apperr.CodeOf(err))
	}
	o.m.txs.WithLabelValues(string(mode), code).Inc()
}
