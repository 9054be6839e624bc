// Package mlflow serves MLflow's tracking REST API (/api/2.0/mlflow/..., and the same
// under /ajax-api/2.0/...) and its artifact proxy (/api/2.0/mlflow-artifacts/...) on
// provgraph's store, so that the stock mlflow client works against provgraph: an MLflow
// experiment is a provgraph experiment, a run a run, a logged dataset a dataset version
// in lineage, a registered version a model version. Everything a client logs is visible
// through GraphQL at once.
package mlflow

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/provgraph/provgraph/actor"
	"github.com/provgraph/provgraph/apperr"
	"github.com/provgraph/provgraph/ingest"
	"github.com/provgraph/provgraph/store"
)

// MLflow's error codes, with the HTTP statuses its client expects.
const (
	codeInvalid       = "INVALID_PARAMETER_VALUE"
	codeNotFound      = "RESOURCE_DOES_NOT_EXIST"
	codeExists        = "RESOURCE_ALREADY_EXISTS"
	codeInternal      = "INTERNAL_ERROR"
	codeUnavailable   = "TEMPORARILY_UNAVAILABLE"
	codeEndpointUnkwn = "ENDPOINT_NOT_FOUND"
)

// MaxBodyBytes bounds a request body (artifact uploads excepted, see MaxArtifactBytes).
const MaxBodyBytes = 8 << 20

// Options configure the MLflow surface.
type Options struct {
	// ArtifactRoot is the local directory the artifact proxy stores files under.
	ArtifactRoot string
	// MaxArtifactBytes bounds one uploaded artifact; 0 means 1 GiB.
	MaxArtifactBytes int64
	// Count, when not nil, hears what became of every call that writes (artifact
	// uploads excepted) once its body was read.
	Count ingest.Counter
}

type server struct {
	st   *store.Store
	opts Options
}

// NewHandler returns the handler for /api/2.0/mlflow/, /ajax-api/2.0/mlflow/ and
// /api/2.0/mlflow-artifacts/.
func NewHandler(st *store.Store, opts Options) http.Handler {
	if opts.MaxArtifactBytes <= 0 {
		opts.MaxArtifactBytes = 1 << 30
	}
	s := &server{st: st, opts: opts}
	mux := http.NewServeMux()
	for path, h := range s.routes() {
		for _, prefix := range apiPrefixes {
			mux.Handle(prefix+path, s.endpoint(h, isRead(path)))
		}
	}
	handlers := s.loggedModelHandlers()
	for _, c := range loggedModelCalls {
		for _, prefix := range apiPrefixes {
			mux.Handle(c.method+" "+prefix+c.pattern, s.endpoint(handlers[c.name], c.read))
		}
	}
	for _, prefix := range slices.Concat(apiPrefixes, []string{previewPrefix}) {
		mux.HandleFunc(prefix, func(w http.ResponseWriter, r *http.Request) {
			writeError(w, http.StatusNotFound, codeEndpointUnkwn, fmt.Sprintf("provgraph does not serve %s %s", r.Method, r.URL.Path))
		})
	}
	mux.HandleFunc(artifactsList, s.listArtifacts)
	mux.HandleFunc(artifactsPrefix, s.artifact)
	return mux
}

// The prefixes of the REST API's calls (a call's path follows them), of the preview
// API provgraph answers with ENDPOINT_NOT_FOUND, and of the artifact proxy.
var apiPrefixes = []string{"/api/2.0/mlflow/", "/ajax-api/2.0/mlflow/"}

const (
	previewPrefix   = "/api/2.0/preview/mlflow/"
	artifactsList   = "/api/2.0/mlflow-artifacts/artifacts"
	artifactsPrefix = artifactsList + "/"
)

// routes maps the path of every call provgraph serves (after an API prefix) to its
// implementation.
func (s *server) routes() map[string]func(*request) (any, error) {
	routes := map[string]func(*request) (any, error){
		"experiments/create":                    s.createExperiment,
		"experiments/get":                       s.getExperiment,
		"experiments/get-by-name":               s.getExperimentByName,
		"experiments/search":                    s.searchExperiments,
		"experiments/update":                    s.updateExperiment,
		"experiments/delete":                    s.experimentLifecycle(store.LifecycleDeleted),
		"experiments/restore":                   s.experimentLifecycle(store.LifecycleActive),
		"experiments/set-experiment-tag":        s.setExperimentTag,
		"runs/create":                           s.createRun,
		"runs/get":                              s.getRun,
		"runs/update":                           s.updateRun,
		"runs/delete":                           s.runLifecycle(store.LifecycleDeleted),
		"runs/restore":                          s.runLifecycle(store.LifecycleActive),
		"runs/log-metric":                       s.logMetric,
		"runs/log-parameter":                    s.logParameter,
		"runs/set-tag":                          s.setTag,
		"runs/delete-tag":                       s.deleteTag,
		"runs/log-batch":                        s.logBatch,
		"runs/log-inputs":                       s.logInputs,
		"runs/search":                           s.searchRuns,
		"metrics/get-history":                   s.getMetricHistory,
		"registered-models/create":              s.createRegisteredModel,
		"registered-models/get":                 s.getRegisteredModel,
		"registered-models/search":              s.searchRegisteredModels,
		"registered-models/get-latest-versions": s.getLatestVersions,
		"registered-models/alias":               s.alias,
		"model-versions/create":                 s.createModelVersion,
		"model-versions/get":                    s.getModelVersion,
		"model-versions/search":                 s.searchModelVersions,
		"registered-models/get-by-alias":        s.getByAlias,
		"registered-models/update":              s.updateRegisteredModel,
		"registered-models/set-tag":             s.modelTag(false),
		"registered-models/delete-tag":          s.modelTag(true),
		"registered-models/delete":              refuseDelete,
		"model-versions/update":                 s.updateModelVersion,
		"model-versions/set-tag":                s.versionTag(false),
		"model-versions/delete-tag":             s.versionTag(true),
		"model-versions/delete":                 refuseDelete,
		"runs/outputs":                          s.logOutputs,
	}
	routes["model-versions/get-download-uri"] = s.getDownloadURI
	return routes
}

// isRead tells whether the call at path only reads.
//
// SECURITY: calls that only read take GET (and POST, as MLflow's searches do); every
// other call writes and refuses GET, so a link or an image on a web page cannot make
// one.
func isRead(path string) bool {
	return readsOnly(path) || path == "registered-models/alias"
}

// endpoints holds the paths of the calls provgraph serves.
var endpoints = func() map[string]bool {
	m := map[string]bool{}
	for path := range (&server{}).routes() {
		m[path] = true
	}
	return m
}()

// Endpoint names the MLflow call a request is for, for the server's metrics:
// "runs/log-batch" for /api/2.0/mlflow/runs/log-batch, "logged-models/get" for GET
// /api/2.0/mlflow/logged-models/<model id>, "artifacts" for the artifact proxy,
// "other" for any other request under the MLflow prefixes, and "" for a path that is
// not MLflow's. The names are a fixed set, whatever the path.
func Endpoint(r *http.Request) string {
	urlPath := r.URL.Path
	for _, prefix := range apiPrefixes {
		if call, ok := strings.CutPrefix(urlPath, prefix); ok {
			if endpoints[call] {
				return call
			}
			if c, ok := loggedModelCallOf(r); ok {
				return c.name
			}
			return "other"
		}
	}
	switch {
	case urlPath == artifactsList || strings.HasPrefix(urlPath, artifactsPrefix):
		return "artifacts"
	case strings.HasPrefix(urlPath, previewPrefix), strings.HasPrefix(urlPath, "/api/2.0/mlflow-artifacts/"):
		return "other"
	}
	return ""
}

// APIPrefixes are the paths the tracking API is served under (the handler answers the
// last, MLflow's preview API, with ENDPOINT_NOT_FOUND); mount the handler on each.
var APIPrefixes = slices.Concat(apiPrefixes, []string{previewPrefix})

// ArtifactsPrefix is the path of the artifact proxy; mount the handler on it too.
const ArtifactsPrefix = "/api/2.0/mlflow-artifacts/"

// readsOnly tells whether an MLflow call (the path after the API prefix) only reads,
// whichever method it comes with: MLflow's clients send searches as POST.
func readsOnly(call string) bool {
	return strings.HasSuffix(call, "/get") || strings.Contains(call, "/get-") || strings.HasSuffix(call, "/search")
}

// ReadOnly tells whether a request to the MLflow surface only reads, for the server's
// authorization: GET (no call writes on GET: writes refuse it, and the artifact proxy
// serves downloads and listings), and POST to a served call that reads, like
// runs/search or logged-models/search. Everything else — every other method, every
// other call, uploads — may write.
//
// SECURITY: unknown calls count as writes, so an endpoint added later is a writer's
// until it is listed here. A logged-model call is judged by the route that serves it
// (loggedModelCalls), never by how its path ends: a model id in the path cannot make a
// write look like a read.
func ReadOnly(r *http.Request) bool {
	if r.Method == http.MethodGet {
		return true
	}
	if r.Method != http.MethodPost {
		return false
	}
	for _, prefix := range APIPrefixes {
		if call, ok := strings.CutPrefix(r.URL.Path, prefix); ok {
			if endpoints[call] {
				return readsOnly(call)
			}
			c, ok := loggedModelCallOf(r)
			return ok && c.read
		}
	}
	return false
}

// pathParams are the wildcards of the routes' patterns (loggedModelCalls).
var pathParams = []string{"model_id", "tag_key"}

// request is one API call: its parameters, from the path, the JSON body (POST, PATCH,
// DELETE) or the query string (GET), and its HTTP request.
type request struct {
	r      *http.Request
	params map[string]any
}

// endpoint decodes a call, runs it and writes MLflow's JSON answer or error. A call
// that writes (read false) must not come as GET; a body must be JSON.
func (s *server) endpoint(h func(*request) (any, error), read bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet:
			if !read {
				methodNotAllowed(w, "POST, PATCH, DELETE", fmt.Sprintf("%s changes data: send it as POST (or PATCH, DELETE), not GET", r.URL.Path))
				return
			}
		case http.MethodPost, http.MethodPatch, http.MethodDelete:
			// SECURITY: only JSON bodies, which a cross-site form cannot send without
			// a CORS preflight provgraph does not grant.
			if r.ContentLength != 0 && !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
				writeError(w, http.StatusUnsupportedMediaType, codeInvalid, "the request body must be JSON (Content-Type: application/json)")
				return
			}
		default:
			methodNotAllowed(w, "GET, POST, PATCH, DELETE", fmt.Sprintf("method %s is not allowed", r.Method))
			return
		}
		req := &request{r: r, params: map[string]any{}}
		for k, vs := range r.URL.Query() {
			if len(vs) == 1 {
				req.params[k] = vs[0]
			} else {
				list := make([]any, len(vs))
				for i, v := range vs {
					list[i] = v
				}
				req.params[k] = list
			}
		}
		if r.Method != http.MethodGet && r.Body != nil {
			body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
			if err != nil {
				writeError(w, http.StatusRequestEntityTooLarge, codeInvalid, fmt.Sprintf("request body is larger than the limit of %d bytes", MaxBodyBytes))
				return
			}
			if len(strings.TrimSpace(string(body))) > 0 {
				var m map[string]any
				d := json.NewDecoder(strings.NewReader(string(body)))
				d.UseNumber()
				if err := d.Decode(&m); err != nil {
					writeError(w, http.StatusBadRequest, codeInvalid, "the request body is not a JSON object: "+err.Error())
					return
				}
				for k, v := range m {
					req.params[k] = v
				}
			}
		}
		// The ids in a path (logged-models/{model_id}) win over the body's.
		for _, name := range pathParams {
			if v := r.PathValue(name); v != "" {
				req.params[name] = v
			}
		}
		out, err := h(req)
		if !read {
			s.opts.Count.Add(ingest.OutcomeOf(err), 1)
		}
		if err != nil {
			writeAppError(w, err)
			return
		}
		if out == nil {
			out = map[string]any{}
		}
		writeJSON(w, http.StatusOK, out)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = json.Marshal(map[string]any{"error_code": codeInternal, "message": "could not encode the answer"})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// methodNotAllowed answers a method a call does not take: 405 with the methods it
// does take in Allow. MLflow's protocol has no code for it; ENDPOINT_NOT_FOUND (no
// such call) is the one its clients know that fits.
func methodNotAllowed(w http.ResponseWriter, allow, message string) {
	w.Header().Set("Allow", allow)
	writeError(w, http.StatusMethodNotAllowed, codeEndpointUnkwn, message)
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, map[string]any{"error_code": code, "message": message})
}

// writeAppError maps provgraph's error codes onto MLflow's.
func writeAppError(w http.ResponseWriter, err error) {
	e, ok := apperr.As(err)
	if !ok {
		writeError(w, http.StatusInternalServerError, codeInternal, "internal error")
		return
	}
	switch e.Code {
	case apperr.NotFound:
		writeError(w, http.StatusNotFound, codeNotFound, e.Error())
	case apperr.Conflict:
		if strings.Contains(e.Reason, "exists already") {
			writeError(w, http.StatusBadRequest, codeExists, e.Error())
			return
		}
		writeError(w, http.StatusBadRequest, codeInvalid, e.Error())
	case apperr.InvalidArgument:
		writeError(w, http.StatusBadRequest, codeInvalid, e.Error())
	case apperr.Unavailable:
		writeError(w, http.StatusServiceUnavailable, codeUnavailable, e.Error())
	default:
		writeError(w, http.StatusInternalServerError, codeInternal, e.Error())
	}
}

// Parameter readers: each names the field and the rule when a value does not fit.

func (q *request) str(field string) (string, error) {
	v, ok := q.params[field]
	if !ok || v == nil {
		return "", apperr.Invalid(field, "is required")
	}
	s, ok := v.(string)
	if !ok {
		return "", apperr.Invalid(field, "must be a string (got %T)", v)
	}
	return s, nil
}

func (q *request) optStr(field string) (*string, error) {
	v, ok := q.params[field]
	if !ok || v == nil {
		return nil, nil
	}
	s, ok := v.(string)
	if !ok {
		return nil, apperr.Invalid(field, "must be a string (got %T)", v)
	}
	return &s, nil
}

// num reads a number given as a JSON number or a string (MLflow's clients send int64s
// both ways).
func num(field string, v any) (float64, error) {
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return 0, apperr.Invalid(field, "must be a number a float64 can hold (got %s)", x)
		}
		return f, nil
	case string:
		switch x {
		case "NaN":
			return math.NaN(), nil
		case "Infinity", "inf":
			return math.Inf(1), nil
		case "-Infinity", "-inf":
			return math.Inf(-1), nil
		}
		f, err := strconv.ParseFloat(x, 64)
		if err != nil {
			return 0, apperr.Invalid(field, "must be a number (got %q)", x)
		}
		return f, nil
	case float64:
		return x, nil
	}
	return 0, apperr.Invalid(field, "must be a number (got %T)", v)
}

func int64Of(field string, v any) (int64, error) {
	if n, ok := v.(json.Number); ok {
		if i, err := n.Int64(); err == nil {
			return i, nil
		}
	}
	if s, ok := v.(string); ok {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return i, nil
		}
	}
	f, err := num(field, v)
	if err != nil || f != math.Trunc(f) || math.IsInf(f, 0) || math.IsNaN(f) || math.Abs(f) >= 1<<63 {
		return 0, apperr.Invalid(field, "must be a 64-bit integer (got %v)", v)
	}
	return int64(f), nil
}

func (q *request) optInt(field string) (*int64, error) {
	v, ok := q.params[field]
	if !ok || v == nil || v == "" {
		return nil, nil
	}
	i, err := int64Of(field, v)
	return &i, err
}

// page reads a search's max_results and page_token: the page size (limit when
// max_results is absent, not positive or larger) and where to continue ("" from the
// start).
func (q *request) page(limit int) (first int, after string, err error) {
	max, err := q.optInt("max_results")
	if err != nil {
		return 0, "", err
	}
	first = limit
	if max != nil && *max > 0 && *max < int64(limit) {
		first = int(*max)
	}
	token, err := q.optStr("page_token")
	if err != nil {
		return 0, "", err
	}
	return first, deref(token), nil
}

func (q *request) list(field string) ([]any, error) {
	v, ok := q.params[field]
	if !ok || v == nil {
		return nil, nil
	}
	switch x := v.(type) {
	case []any:
		return x, nil
	case string:
		if q.r.Method == http.MethodGet { // one value of a repeatable query parameter
			return []any{x}, nil
		}
	}
	return nil, apperr.Invalid(field, "must be a list (got %T)", v)
}

func (q *request) actor() string { return actor.From(q.r.Context()) }

// keyValues reads a list of {key, value} objects (tags, params).
func keyValues(field string, items []any) ([]store.Tag, error) {
	out := make([]store.Tag, 0, len(items))
	for i, it := range items {
		m, ok := it.(map[string]any)
		if !ok {
			return nil, apperr.Invalid(fmt.Sprintf("%s[%d]", field, i), "must be an object with key and value")
		}
		k, _ := m["key"].(string)
		v, isStr := m["value"].(string)
		if !isStr && m["value"] != nil {
			v = fmt.Sprint(m["value"])
		}
		out = append(out, store.Tag{Key: k, Value: v})
	}
	return out, nil
}

func tagsJSON(tags []store.Tag) []map[string]any {
	out := make([]map[string]any, 0, len(tags))
	for _, t := range tags {
		out = append(out, map[string]any{"key": t.Key, "value": t.Value})
	}
	return out
}

func millis(t time.Time) int64 { return t.UnixMilli() }
