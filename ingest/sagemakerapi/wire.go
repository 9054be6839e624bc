// Package sagemakerapi serves Amazon SageMaker's own API — the calls the stock
// `sagemaker` SDK and boto3 make — so that scripts written for SageMaker Experiments and
// ML Lineage Tracking record into, and query, provgraph's one graph: AWS JSON 1.1
// (`X-Amz-Target: SageMaker.<Op>`) at POST /aws/sagemaker/ and SageMaker Metrics'
// rest-json BatchPutMetrics at PUT /aws/sagemaker-metrics/BatchPutMetrics. Operations
// translate their requests into the store's domain commands (an experiment is
// provgraph's experiment, a trial a run group, a trial component a run) and answer in
// SageMaker's shapes, with its limits and its error codes. See docs/ingest-sagemaker.md.
//
// SECURITY: the handler does not authenticate by itself: the server's authentication
// middleware verifies the request's SigV4 signature, lets writers write and readers
// read (ReadOnly), and puts the key's owner in the request context as the actor of
// every write.
package sagemakerapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/rs/xid"
	"github.com/rs/zerolog"

	"github.com/provgraph/provgraph/actor"
	"github.com/provgraph/provgraph/ingest"
	"github.com/provgraph/provgraph/store"
)

// The routes, under provgraph's listener. Clients point botocore here with
// AWS_ENDPOINT_URL_SAGEMAKER=http://host:8080/aws/sagemaker and
// AWS_ENDPOINT_URL_SAGEMAKER_METRICS=http://host:8080/aws/sagemaker-metrics; botocore
// keeps the endpoint URL's path and appends the operation's: "/BatchPutMetrics", and for
// SageMaker's "/" nothing (it posts to /aws/sagemaker), which other clients send as
// /aws/sagemaker/: both are served.
const (
	Path          = "/aws/sagemaker"
	MetricsPrefix = "/aws/sagemaker-metrics/"
	MetricsPath   = MetricsPrefix + "BatchPutMetrics"
)

// SigningName is the service name SageMaker's clients sign with (SigV4), SageMaker
// Metrics' included.
const SigningName = "sagemaker"

// TargetPrefix starts the X-Amz-Target header of every SageMaker operation.
const TargetPrefix = "SageMaker."

// RequestIDHeader is where AWS services name the request; clients log it with errors.
const RequestIDHeader = "x-amzn-RequestId"

// contentType is AWS JSON 1.1's media type, the protocol SageMaker speaks.
const contentType = "application/x-amz-json-1.1"

// MaxBodyBytes bounds a request body (SageMaker's largest requests, a Search or a
// trial component with many parameters, are far smaller).
const MaxBodyBytes int64 = 1 << 20

// opFunc is one operation: it decodes its request from body, does it as the actor in
// ctx, and returns what is written as the JSON answer. An error is an *awsError, or an
// apperr error the dispatcher translates; anything else is an internal failure.
type opFunc func(ctx context.Context, api *API, body []byte) (any, error)

// opTables are the operation tables, merged by operations; an operation named twice is
// a programming error found at start.
var opTables = []func() map[string]opFunc{experimentOps, lineageOps}

var operations = sync.OnceValue(func() map[string]opFunc {
	all := map[string]opFunc{}
	for _, table := range opTables {
		for name, op := range table() {
			if _, dup := all[name]; dup {
				panic("sagemakerapi: operation " + name + " is defined twice")
			}
			all[name] = op
		}
	}
	return all
})

// Options configure the API.
type Options struct {
	// AccountID and Region go into every ARN provgraph mints; empty means
	// DefaultAccountID and DefaultRegion.
	AccountID, Region string
	// Count, when not nil, hears what became of each write.
	Count ingest.Counter
}

// API serves SageMaker's JSON 1.1 operations and SageMaker Metrics' BatchPutMetrics.
type API struct {
	st    *store.Store
	arns  arns
	count ingest.Counter
	// maxRunsScanned is MaxRunsScanned (lowered by tests, which can't afford 10,000 runs).
	maxRunsScanned int
	// metrics group-commits BatchPutMetrics calls (metricsbatch.go).
	metrics *metricsBatcher
	// cones keeps the cones QueryLineage pages (conecache.go).
	cones *coneCache
}

// Check tells whether the options are usable: an account id of 12 digits and a region
// shaped like one (us-east-1), since the SDK parses the ARNs they go into.
func (o Options) Check() error {
	a := o.arns()
	if !accountIDForm.MatchString(a.account) {
		return fmt.Errorf("the AWS account id must be 12 digits (got %q)", a.account)
	}
	if !regionForm.MatchString(a.region) {
		return fmt.Errorf("the AWS region must look like us-east-1 (got %q)", a.region)
	}
	return nil
}

// SigningRegion is the region clients must sign for: the configured one.
func (o Options) SigningRegion() string { return o.arns().region }

func (o Options) arns() arns {
	a := arns{account: o.AccountID, region: o.Region}
	if a.account == "" {
		a.account = DefaultAccountID
	}
	if a.region == "" {
		a.region = DefaultRegion
	}
	return a
}

// New returns the API over st; opts must pass Check (provgraph serve checks its flags).
func New(st *store.Store, opts Options) *API {
	if err := opts.Check(); err != nil {
		panic("sagemakerapi: " + err.Error())
	}
	return &API{st: st, arns: opts.arns(), count: opts.Count, maxRunsScanned: MaxRunsScanned, metrics: newMetricsBatcher(st), cones: newConeCache()}
}

// isJSONPath tells whether p is where SageMaker's JSON operations are posted.
func isJSONPath(p string) bool { return p == Path || p == Path+"/" }

// IsAPIPath tells whether p is one of the API's paths (or under the metrics prefix).
func IsAPIPath(p string) bool { return isJSONPath(p) || strings.HasPrefix(p, MetricsPrefix) }

// readPrefixes start the names of the operations that only read.
var readPrefixes = []string{"Describe", "List", "Search", "Query", "Get"}

// ReadOnly tells whether r only reads: a SageMaker operation that describes, lists,
// searches or queries. BatchPutMetrics and every other operation write.
func ReadOnly(r *http.Request) bool {
	if !isJSONPath(r.URL.Path) {
		return false
	}
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), TargetPrefix)
	if !ok {
		return false
	}
	for _, p := range readPrefixes {
		if strings.HasPrefix(op, p) {
			return true
		}
	}
	return false
}

// Operation names the operation r calls, for the request metrics: a known SageMaker
// operation, "BatchPutMetrics", "other" for anything else under the API's paths, and ""
// for a request elsewhere.
func Operation(r *http.Request) string {
	switch {
	case r.URL.Path == MetricsPath:
		return "BatchPutMetrics"
	case isJSONPath(r.URL.Path):
		name, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), TargetPrefix)
		if _, known := operations()[name]; ok && known {
			return name
		}
		return "other"
	case strings.HasPrefix(r.URL.Path, MetricsPrefix):
		return "other"
	}
	return ""
}

// ServeHTTP answers SageMaker's operations at Path and BatchPutMetrics at MetricsPath.
func (api *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case isJSONPath(r.URL.Path):
		api.serveJSON(w, r)
	case r.URL.Path == MetricsPath:
		api.serveMetrics(w, r)
	default:
		writeError(w, r, &awsError{Code: codeUnknownOperation, Status: http.StatusNotFound,
			Message: "no operation is served at " + r.URL.Path + "; SageMaker Metrics serves PUT " + MetricsPath})
	}
}

// serveJSON dispatches an AWS JSON 1.1 request on its X-Amz-Target.
func (api *API) serveJSON(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, r, &awsError{Code: codeUnknownOperation, Status: http.StatusMethodNotAllowed,
			Message: "method " + r.Method + " is not allowed: SageMaker's operations are POSTed to " + Path})
		return
	}
	target := r.Header.Get("X-Amz-Target")
	name, _ := strings.CutPrefix(target, TargetPrefix)
	op, known := operations()[name]
	if !known || !strings.HasPrefix(target, TargetPrefix) {
		writeError(w, r, unknownOperation(target))
		return
	}
	ctx := r.Context()
	zerolog.Ctx(ctx).UpdateContext(func(c zerolog.Context) zerolog.Context { return c.Str("operation", name) })
	body, err := readBody(w, r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	out, err := op(ctx, api, body)
	if !ReadOnly(r) {
		api.count.Add(outcomeOf(err), 1)
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	if out == nil {
		out = struct{}{}
	}
	writeJSON(w, r, http.StatusOK, out)
}

// readBody reads a request body of at most MaxBodyBytes; an empty body is {}.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, &awsError{Code: codeValidation, Status: http.StatusRequestEntityTooLarge,
			Message: fmt.Sprintf("the request body is larger than the limit of %d bytes", MaxBodyBytes)}
	}
	if err != nil {
		return nil, &awsError{Code: codeSerialization, Status: http.StatusBadRequest, Message: "the request body could not be read: " + err.Error()}
	}
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	return body, nil
}

// decode reads an operation's request into in (a pointer to its request type). A body
// that is not JSON, or a member of the wrong type, is a SerializationException naming
// the member, as AWS answers.
func decode(body []byte, in any) error {
	err := json.Unmarshal(body, in)
	if err == nil {
		return nil
	}
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		return &awsError{Code: codeSerialization, Status: http.StatusBadRequest,
			Message: fmt.Sprintf("%s must be a JSON %s, not %s", memberName(typeErr.Field), jsonTypeOf(typeErr.Type.Kind().String()), typeErr.Value)}
	}
	return &awsError{Code: codeSerialization, Status: http.StatusBadRequest, Message: "the request body is not a JSON object: " + err.Error()}
}

func jsonTypeOf(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "slice", "array":
		return "array"
	case "map", "struct", "ptr":
		return "object"
	case "bool":
		return "boolean"
	}
	return "number"
}

// memberName writes a JSON path (Tags.0.Key) as AWS names members in its messages.
func memberName(path string) string {
	if path == "" {
		return "the request"
	}
	return path
}

// requestID is the id the server gave the request (the X-Request-Id it echoes), so
// that a client's x-amzn-RequestId finds the request's log lines and audit entries.
func requestID(r *http.Request) string {
	if id := actor.RequestFrom(r.Context()); id != "" {
		return id
	}
	return xid.New().String()
}

func writeJSON(w http.ResponseWriter, r *http.Request, status int, body any) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set(RequestIDHeader, requestID(r))
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// writeError answers err in AWS's error shape; an error that is not an AWS or domain
// error is logged and answered as an internal failure.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	e, ok := awsErrorOf(err)
	log := zerolog.Ctx(r.Context())
	if !ok {
		log.Error().Err(err).Msg("sagemaker api: internal error")
	} else if e.Status >= 500 {
		log.Warn().Err(err).Msg("sagemaker api: unavailable")
	}
	writeJSON(w, r, e.Status, WireError{Type: e.Code, Message: e.Message})
}

// WireError is AWS's JSON error body.
type WireError struct {
	Type    string `json:"__type"`
	Message string `json:"message"`
}

// WriteError answers a request refused before it reached the API (by the
// authentication middleware) in AWS's error shape, with AWS's code and status.
func WriteError(w http.ResponseWriter, r *http.Request, status int, code, message string) {
	writeJSON(w, r, status, WireError{Type: code, Message: message})
}

// outcomeOf is what became of a write that returned err, for the ingest counter.
func outcomeOf(err error) ingest.Outcome {
	if err == nil {
		return ingest.Accepted
	}
	if e, ok := awsErrorOf(err); ok && e.Status < 500 {
		return ingest.Rejected
	}
	return ingest.Failed
}
