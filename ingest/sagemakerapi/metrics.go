package sagemakerapi

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"unicode/utf8"

	"github.com/rs/zerolog"

	"github.com/provgraph/provgraph/actor"
	"github.com/provgraph/provgraph/apperr"
	"github.com/provgraph/provgraph/ingest"
	"github.com/provgraph/provgraph/store"
)

// SageMaker Metrics' BatchPutMetrics: 1 to 10 points per call for a trial component
// (a run), recorded together as one batch of the run's metrics. A point that breaks a
// rule is reported in Errors with its index and not recorded; the others are.

// The codes of BatchPutMetrics' per-point errors.
const (
	putErrValidation = "VALIDATION_ERROR"
	putErrInternal   = "INTERNAL_ERROR"
	putErrConflict   = "CONFLICT_ERROR"
)

type rawMetric struct {
	MetricName *string          `json:"MetricName"`
	Timestamp  *epochTime       `json:"Timestamp"`
	Step       *int64           `json:"Step"`
	Value      *json.RawMessage `json:"Value"`
}

type batchPutMetricsRequest struct {
	TrialComponentName *string     `json:"TrialComponentName"`
	MetricData         []rawMetric `json:"MetricData"`
}

// putError is one element of BatchPutMetrics' Errors. Message is not in SageMaker's
// model, but the sagemaker SDK reads it when it raises.
type putError struct {
	Code        string `json:"Code"`
	MetricIndex int    `json:"MetricIndex"`
	Message     string `json:"Message"`
}

// serveMetrics answers SageMaker Metrics' BatchPutMetrics (rest-json, PUT).
func (api *API) serveMetrics(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPut {
		w.Header().Set("Allow", http.MethodPut)
		writeError(w, r, &awsError{Code: codeUnknownOperation, Status: http.StatusMethodNotAllowed,
			Message: "method " + r.Method + " is not allowed: BatchPutMetrics is PUT to " + MetricsPath})
		return
	}
	body, err := readBody(w, r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	zerolog.Ctx(r.Context()).UpdateContext(func(c zerolog.Context) zerolog.Context { return c.Str("operation", "BatchPutMetrics") })
	errs, n, err := api.batchPutMetrics(r.Context(), body)
	if err != nil {
		api.count.Add(outcomeOf(err), max(n, 1))
		writeError(w, r, err)
		return
	}
	api.count.Add(ingest.Rejected, len(errs))
	api.count.Add(ingest.Accepted, n-len(errs))
	out := map[string]any{}
	if len(errs) > 0 {
		out["Errors"] = errs
	}
	writeJSON(w, r, http.StatusOK, out)
}

// batchPutMetrics records a call's valid points and returns the errors of the others
// and how many points the call held. An error refuses the whole call.
func (api *API) batchPutMetrics(ctx context.Context, body []byte) ([]putError, int, error) {
	var in batchPutMetricsRequest
	if err := decode(body, &in); err != nil {
		return nil, 0, err
	}
	var c checks
	c.requiredName("trialComponentName", in.TrialComponentName)
	c.listLength("metricData", len(in.MetricData), MinMetricsPerCall, MaxMetricsPerCall)
	if err := c.err(); err != nil {
		return nil, len(in.MetricData), err
	}
	// The run is not looked up first: the store finds it, and says when it is missing.
	run := store.RunKey(runIDOf(*in.TrialComponentName))
	var errs []putError
	var points []store.MetricPoint
	var indexes []int
	for i, m := range in.MetricData {
		p, msg := metricPoint(m)
		if msg != "" {
			errs = append(errs, putError{Code: putErrValidation, MetricIndex: i, Message: msg})
			continue
		}
		points = append(points, p)
		indexes = append(indexes, i)
	}
	if len(points) == 0 {
		return errs, len(in.MetricData), nil
	}
	// Recorded in a batch with the calls beside it (metricsbatch.go), as LogRun would.
	err := api.metrics.log(ctx, actor.From(ctx), store.RunLog{Run: run, Metrics: points})
	if err == nil {
		return errs, len(in.MetricData), nil
	}
	if apperr.CodeOf(err) == apperr.NotFound {
		return nil, len(in.MetricData), resourceNotFound("Trial Component '%s' does not exist.", api.arns.arn(resTrialComponent, *in.TrialComponentName))
	}
	code := putErrInternal
	switch apperr.CodeOf(err) {
	case apperr.InvalidArgument:
		code = putErrValidation
	case apperr.Conflict:
		code = putErrConflict
	case apperr.Unavailable, apperr.Internal:
		// Nothing was recorded and the call may succeed later: refuse it whole, so that
		// the client retries it.
		return nil, len(in.MetricData), err
	}
	msg := err.Error()
	if e, ok := apperr.As(err); ok {
		msg = e.Error()
	}
	for _, i := range indexes {
		errs = append(errs, putError{Code: code, MetricIndex: i, Message: msg})
	}
	return errs, len(in.MetricData), nil
}

// metricPoint reads one point, or says what is wrong with it.
func metricPoint(m rawMetric) (store.MetricPoint, string) {
	switch {
	case m.MetricName == nil:
		return store.MetricPoint{}, "MetricName is required"
	case utf8.RuneCountInString(*m.MetricName) < 1 || utf8.RuneCountInString(*m.MetricName) > MaxMetricNameLength:
		return store.MetricPoint{}, fmt.Sprintf("MetricName must have 1 to %d characters", MaxMetricNameLength)
	case m.Timestamp == nil:
		return store.MetricPoint{}, "Timestamp is required"
	case !m.Timestamp.validTime():
		return store.MetricPoint{}, fmt.Sprintf("Timestamp must be a time in epoch seconds from 0 to less than %d (year 10000)", maxEpochSeconds)
	case m.Value == nil:
		return store.MetricPoint{}, "Value is required"
	case m.Step != nil && *m.Step < 0:
		return store.MetricPoint{}, "Step must not be negative"
	}
	v, ok := metricValue(*m.Value)
	if !ok {
		return store.MetricPoint{}, "Value must be a number (or \"NaN\", \"Infinity\", \"-Infinity\")"
	}
	p := store.MetricPoint{Key: *m.MetricName, Value: v, Timestamp: m.Timestamp.time()}
	if m.Step != nil {
		p.Step = *m.Step
	}
	return p, ""
}

// metricValue reads a double as botocore writes it: a JSON number, or a string for the
// values JSON has no number for.
func metricValue(raw json.RawMessage) (float64, bool) {
	var f float64
	if err := json.Unmarshal(raw, &f); err == nil {
		return f, true
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return 0, false
	}
	switch s {
	case "NaN":
		return math.NaN(), true
	case "Infinity":
		return math.Inf(1), true
	case "-Infinity":
		return math.Inf(-1), true
	}
	return 0, false
}
