// Package sagemaker accepts what Amazon SageMaker reports about its jobs, model
// packages and endpoints — EventBridge events from aws.sagemaker, and the JSON responses
// of its Describe* APIs that an exporter forwards — at POST /api/v1/sagemaker/events,
// translates them into the store's domain commands (Translate: a job reported, a model
// version reported, a serving model, a deployment configuration, an endpoint reported),
// and has the store record them; the store owns the graph's rules. See
// docs/ingest-sagemaker.md.
package sagemaker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/rs/zerolog"

	"github.com/provgraph/provgraph/actor"
	"github.com/provgraph/provgraph/apperr"
	"github.com/provgraph/provgraph/ingest"
	"github.com/provgraph/provgraph/store"
)

// Path is where the handler takes events.
const Path = "/api/v1/sagemaker/events"

// MaxBodyBytes bounds a request body.
const MaxBodyBytes int64 = 8 << 20

// The statuses of an element of a request.
const (
	StatusAccepted = "accepted"
	StatusFailed   = "failed"
	StatusIgnored  = "ignored"
)

// Response is the answer to a request: how many elements it held, how many were
// recorded, refused and ignored, and what became of each.
type Response struct {
	Received int      `json:"received"`
	Accepted int      `json:"accepted"`
	Failed   int      `json:"failed"`
	Ignored  int      `json:"ignored"`
	Results  []Result `json:"results"`
}

// Result is what became of one element. A failed element wrote nothing.
type Result struct {
	// Index is the element's position in the body (0 for a single object).
	Index  int    `json:"index"`
	Status string `json:"status"`
	// Kind is what the element was recognised as: its detail-type or Describe<Resource>.
	Kind string `json:"kind,omitempty"`
	// Reason says why an element failed or was ignored, or what an accepted one could
	// not resolve yet.
	Reason string `json:"reason,omitempty"`
	// Field is the JSON path, within the element, of the value a failed element was
	// refused for, e.g. detail.InputDataConfig[0].DataSource.S3DataSource.S3Uri.
	Field string      `json:"field,omitempty"`
	Code  apperr.Code `json:"code,omitempty"`
	// Retriable is true when sending the element again later may succeed (the graph
	// database was unavailable).
	Retriable bool `json:"retriable,omitempty"`
	// IDs are the nodes the element recorded or linked.
	IDs []string `json:"ids"`
}

type errorBody struct {
	Error string      `json:"error"`
	Code  apperr.Code `json:"code"`
	Limit int64       `json:"limit,omitempty"`
}

// NewHandler returns the handler of POST /api/v1/sagemaker/events. The body is one JSON
// object or an array of them; each is recorded in its own transaction, and the answer
// reports each one. An array is answered 200 whatever became of its elements (a sender
// retries only the failed ones); a single object that failed is answered with the HTTP
// status of its error (400 for a wrong type or an unknown event, naming the field), so
// that an EventBridge API destination or a script sees the refusal.
//
// SECURITY: the endpoint does not authenticate by itself: the server's authentication
// middleware lets only writers in (EventBridge API destinations send the token as an
// Authorization header), and writes are recorded as the actor it put in the request
// context.
//
// count, when not nil, hears how many elements of each request were recorded, refused
// or ignored.
func NewHandler(st *store.Store, count ingest.Counter) http.Handler {
	return &handler{st: st, count: count}
}

type handler struct {
	st    *store.Store
	count ingest.Counter
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeJSON(w, http.StatusMethodNotAllowed, errorBody{Error: "method " + r.Method + " is not allowed; POST SageMaker events to " + Path, Code: apperr.MethodNotAllowed})
		return
	}
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	var elements []any
	single := false
	switch x := body.(type) {
	case []any:
		elements = x
	case map[string]any:
		elements, single = []any{x}, true
	default:
		writeJSON(w, http.StatusBadRequest, errorBody{Error: "the body is " + jsonType(body) + "; send a JSON object (an EventBridge event or a Describe* response) or an array of them", Code: apperr.InvalidArgument})
		return
	}
	who := actor.From(r.Context())
	res := Response{Received: len(elements), Results: make([]Result, 0, len(elements))}
	log := zerolog.Ctx(r.Context())
	var unavailable error
	for i, el := range elements {
		out := h.record(r.Context(), who, i, el, unavailable)
		switch out.Status {
		case StatusAccepted:
			res.Accepted++
		case StatusIgnored:
			res.Ignored++
		default:
			res.Failed++
			if out.Code == apperr.Unavailable && unavailable == nil {
				log.Warn().Int("index", i).Msg("sagemaker events: graph database unavailable; not attempting the rest")
				unavailable = &apperr.Error{Code: apperr.Unavailable, Reason: "not attempted: the graph database is unavailable; retry later"}
			}
		}
		res.Results = append(res.Results, out)
		h.count.Add(outcome(out), 1)
	}
	if res.Failed > 0 {
		log.Warn().Int("received", res.Received).Int("failed", res.Failed).Msg("sagemaker events partly refused")
	}
	status := http.StatusOK
	if single && res.Failed == 1 {
		status = apperr.HTTPStatus(res.Results[0].Code)
		if res.Results[0].Retriable {
			w.Header().Set("Retry-After", "5")
		}
	}
	writeJSON(w, status, res)
}

// outcome is what became of an element, for the ingest counter.
func outcome(r Result) ingest.Outcome {
	switch r.Status {
	case StatusAccepted:
		return ingest.Accepted
	case StatusIgnored:
		return ingest.Ignored
	}
	return ingest.OutcomeOfCode(r.Code)
}

// record decodes and records one element, never panicking: a bug in a decoder or the
// store fails that element, not the request.
func (h *handler) record(ctx context.Context, who string, i int, el any, unavailable error) (out Result) {
	out = Result{Index: i, IDs: []string{}}
	defer func() {
		if p := recover(); p != nil {
			zerolog.Ctx(ctx).Error().Interface("panic", p).Int("index", i).Msg("sagemaker event panicked")
			out = Result{Index: i, Status: StatusFailed, Kind: out.Kind, Reason: "internal error; see the server log", Code: apperr.Internal, IDs: []string{}}
		}
	}()
	it, err := Decode(el)
	out.Kind = it.Kind
	if err == nil && unavailable != nil {
		err = unavailable
	}
	var rec store.ReportOutcome
	if err == nil && it.Ignore != "" {
		out.Status, out.Reason = StatusIgnored, it.Ignore
		return out
	}
	if err == nil {
		var cmd Command
		if cmd, err = Translate(it); err == nil {
			rec, err = cmd.Record(ctx, h.st, who)
		}
	}
	if err != nil {
		out.Status, out.Code = StatusFailed, apperr.CodeOf(err)
		if e, ok := apperr.As(err); ok {
			out.Reason, out.Field = e.Error(), e.Field
			out.Retriable = e.Code == apperr.Unavailable
		} else {
			zerolog.Ctx(ctx).Error().Err(err).Int("index", i).Str("kind", it.Kind).Msg("sagemaker event failed")
			out.Reason = "internal error; see the server log"
		}
		return out
	}
	out.Status, out.Reason = StatusAccepted, strings.Join(rec.Notes, "; ")
	if rec.IDs != nil {
		out.IDs = rec.IDs
	}
	return out
}

// readBody reads and parses the body, answering the request itself when it cannot.
func readBody(w http.ResponseWriter, r *http.Request) (any, bool) {
	tooLarge := func() (any, bool) {
		writeJSON(w, http.StatusRequestEntityTooLarge, errorBody{
			Error: fmt.Sprintf("the request body is larger than the limit of %d bytes (%d MiB); send fewer events per request", MaxBodyBytes, MaxBodyBytes>>20),
			Code:  apperr.InvalidArgument, Limit: MaxBodyBytes,
		})
		return nil, false
	}
	if r.ContentLength > MaxBodyBytes {
		return tooLarge()
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			return tooLarge()
		}
		writeJSON(w, http.StatusBadRequest, errorBody{Error: "cannot read the request body: " + err.Error(), Code: apperr.InvalidArgument})
		return nil, false
	}
	if len(bytes.TrimSpace(data)) == 0 {
		writeJSON(w, http.StatusBadRequest, errorBody{Error: "the body is empty; send a JSON object or an array of them", Code: apperr.InvalidArgument})
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	err = dec.Decode(&v)
	if err == nil {
		if _, extra := dec.Token(); extra != io.EOF {
			err = fmt.Errorf("data after the JSON value at byte offset %d", dec.InputOffset())
		}
	}
	if err != nil {
		writeJSON(w, http.StatusBadRequest, errorBody{Error: "the body is not valid JSON: " + jsonError(err, data), Code: apperr.InvalidArgument})
		return nil, false
	}
	return v, true
}

// jsonError describes a JSON syntax error with its position.
func jsonError(err error, data []byte) string {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		line := 1 + bytes.Count(data[:min(int(syn.Offset), len(data))], []byte("\n"))
		return fmt.Sprintf("%v (at byte offset %d, line %d)", syn, syn.Offset, line)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return "the JSON value ends early (truncated body?)"
	}
	return err.Error()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
