// Package openlineage accepts OpenLineage events (spec 2-0-2) over HTTP, as Marquez
// does — POST /api/v1/lineage for one event, POST /api/v1/lineage/batch for an array of
// them — so the stock clients and integrations (openlineage-python, Airflow, Spark, dbt)
// can point their HTTP transport at provgraph. This package decodes the events,
// translates them into the store's lineage reports (a run reported, what a job reads
// and writes, a dataset version described) and answers; the store records the reports
// (store.ReportLineage) and owns the rules of the provenance graph.
package openlineage

import (
	"bytes"
	"compress/gzip"
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

// The paths the handler serves.
const (
	Path      = "/api/v1/lineage"
	BatchPath = "/api/v1/lineage/batch"
)

// Request body limits (after decompression, for gzip bodies).
const (
	MaxEventBytes int64 = 4 << 20
	MaxBatchBytes int64 = 32 << 20
)

// NewHandler returns the handler of the OpenLineage endpoints. It serves Path and
// BatchPath (mount it on both) and answers other paths with 404.
//
// SECURITY: the endpoints do not authenticate by themselves: the server's
// authentication middleware lets only writers in (clients send their API key as
// "Authorization: Bearer <key>"), and every write is recorded as the actor it put in
// the request context.
//
// count, when not nil, hears how many events of each request were recorded or refused.
func NewHandler(st *store.Store, count ingest.Counter) http.Handler {
	h := &handler{st: st, count: count}
	mux := http.NewServeMux()
	mux.HandleFunc(Path, h.single)
	mux.HandleFunc(BatchPath, h.batch)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, errorBody{Error: "no OpenLineage endpoint at " + r.URL.Path + "; POST events to " + Path + " or " + BatchPath})
	})
	return mux
}

type handler struct {
	st    *store.Store
	count ingest.Counter
}

// errorBody is the answer to a refused request: the reason, and the field of the event
// it concerns (a path such as "run.runId" or "inputs[0].namespace") when there is one.
type errorBody struct {
	Error string      `json:"error"`
	Field string      `json:"field,omitempty"`
	Code  apperr.Code `json:"code,omitempty"`
	Limit int64       `json:"limit,omitempty"`
}

// BatchResult is the answer to a batch: how many events were received, recorded and
// refused, and why each refused one was.
type BatchResult struct {
	Received     int           `json:"received"`
	Successful   int           `json:"successful"`
	Failed       int           `json:"failed"`
	FailedEvents []FailedEvent `json:"failedEvents"`
}

// FailedEvent is an event of a batch that was not recorded (nothing of it was).
type FailedEvent struct {
	// Index is the event's position in the batch, from 0.
	Index  int    `json:"index"`
	Reason string `json:"reason"`
	// Field is the path of the offending field within the event, when one is to blame.
	Field string      `json:"field,omitempty"`
	Code  apperr.Code `json:"code"`
	// Retriable is true when sending the event again later may succeed (the graph
	// database was unavailable); a refused event fails again until it is corrected.
	Retriable bool `json:"retriable"`
}

// single records one event; 201 once it is committed.
func (h *handler) single(w http.ResponseWriter, r *http.Request) {
	if !allowPost(w, r) {
		return
	}
	v, ok := readJSON(w, r, MaxEventBytes)
	if !ok {
		return
	}
	if _, isBatch := v.([]any); isBatch {
		writeJSON(w, http.StatusBadRequest, errorBody{Error: "the body is a JSON array; POST one event here, or the array to " + BatchPath, Code: apperr.InvalidArgument})
		return
	}
	ev, err := Decode(v)
	if err == nil {
		err = record(r.Context(), h.st, ev)
	}
	h.count.Add(ingest.OutcomeOf(err), 1)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, struct{}{})
}

// batch records the events of an array in order — as if each were posted alone, after
// the ones before it — and reports which failed. Consecutive events share a
// transaction (store.ReportLineage); an event is counted successful only once
// its transaction committed, and a failed event wrote nothing.
func (h *handler) batch(w http.ResponseWriter, r *http.Request) {
	if !allowPost(w, r) {
		return
	}
	v, ok := readJSON(w, r, MaxBatchBytes)
	if !ok {
		return
	}
	items, isArray := v.([]any)
	if !isArray {
		writeJSON(w, http.StatusBadRequest, errorBody{Error: "the body must be a JSON array of OpenLineage events, not " + jsonType(v) + "; POST a single event to " + Path, Code: apperr.InvalidArgument})
		return
	}
	errs := make([]error, len(items))
	events := make([]Event, len(items))
	var reports []store.LineageReport
	var at []int // reports[k] is items[at[k]]
	for i, item := range items {
		ev, err := Decode(item)
		if err == nil {
			var rep store.LineageReport
			if rep, err = Translate(ev); err == nil {
				events[i] = ev
				reports = append(reports, rep)
				at = append(at, i)
			}
		}
		errs[i] = err
	}
	_, recorded := h.st.ReportLineage(r.Context(), actor.From(r.Context()), experiment, reports)
	for k, err := range recorded {
		errs[at[k]] = inEventTerms(events[at[k]], err)
	}
	res := BatchResult{Received: len(items), FailedEvents: []FailedEvent{}}
	log := zerolog.Ctx(r.Context())
	retriable := 0
	for i, err := range errs {
		if err == nil {
			res.Successful++
			continue
		}
		f := FailedEvent{Index: i, Code: apperr.CodeOf(err)}
		if e, ok := apperr.As(err); ok {
			f.Reason, f.Field = e.Error(), e.Field
		} else {
			log.Error().Err(err).Int("index", i).Msg("openlineage batch event failed")
			f.Reason = "internal error; see the server log"
		}
		// Retrying later may succeed; the items are reported retriable.
		f.Retriable = f.Code == apperr.Unavailable
		if f.Retriable {
			retriable++
		}
		res.Failed++
		res.FailedEvents = append(res.FailedEvents, f)
	}
	if res.Failed > 0 {
		log.Warn().Int("received", res.Received).Int("failed", res.Failed).Int("retriable", retriable).Msg("openlineage batch: some events not recorded")
	}
	countBatch(h.count, res)
	writeJSON(w, http.StatusOK, res)
}

// record writes one decoded event through the store.
func record(ctx context.Context, st *store.Store, ev Event) error {
	rep, err := Translate(ev)
	if err != nil {
		return err
	}
	_, errs := st.ReportLineage(ctx, actor.From(ctx), experiment, []store.LineageReport{rep})
	return inEventTerms(ev, errs[0])
}

func allowPost(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodPost {
		return true
	}
	w.Header().Set("Allow", http.MethodPost)
	writeJSON(w, http.StatusMethodNotAllowed, errorBody{Error: "method " + r.Method + " is not allowed here; POST OpenLineage events", Code: apperr.MethodNotAllowed})
	return false
}

// readJSON reads a body of at most limit bytes (gzip-compressed bodies are accepted,
// as clients configured with compression send them) and decodes it, answering the
// request itself when it cannot.
func readJSON(w http.ResponseWriter, r *http.Request, limit int64) (any, bool) {
	tooLarge := func() (any, bool) {
		writeJSON(w, http.StatusRequestEntityTooLarge, errorBody{
			Error: fmt.Sprintf("the request body is larger than the limit of %d bytes (%d MiB)", limit, limit>>20),
			Code:  apperr.InvalidArgument, Limit: limit,
		})
		return nil, false
	}
	if r.ContentLength > limit {
		return tooLarge()
	}
	var body io.Reader = http.MaxBytesReader(w, r.Body, limit)
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip":
		gz, err := gzip.NewReader(body)
		if err != nil {
			var maxErr *http.MaxBytesError
			if errors.As(err, &maxErr) {
				return tooLarge()
			}
			writeJSON(w, http.StatusBadRequest, errorBody{Error: "the body is not valid gzip: " + err.Error(), Code: apperr.InvalidArgument})
			return nil, false
		}
		body = io.LimitReader(gz, limit+1)
	default:
		writeJSON(w, http.StatusUnsupportedMediaType, errorBody{Error: "Content-Encoding " + enc + " is not supported; send identity or gzip", Code: apperr.InvalidArgument})
		return nil, false
	}
	data, err := io.ReadAll(body)
	if err != nil {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			return tooLarge()
		}
		writeJSON(w, http.StatusBadRequest, errorBody{Error: "cannot read the request body: " + err.Error(), Code: apperr.InvalidArgument})
		return nil, false
	}
	if int64(len(data)) > limit {
		return tooLarge()
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
		var syntax *json.SyntaxError
		msg := err.Error()
		switch {
		case errors.As(err, &syntax):
			msg = fmt.Sprintf("%s (at byte offset %d)", syntax.Error(), syntax.Offset)
		case errors.Is(err, io.EOF):
			msg = "the body is empty"
		case errors.Is(err, io.ErrUnexpectedEOF):
			msg = "the body ends in the middle of a JSON value"
		}
		writeJSON(w, http.StatusBadRequest, errorBody{Error: "malformed JSON: " + msg, Code: apperr.InvalidArgument})
		return nil, false
	}
	return v, true
}

// writeError answers with the HTTP status of a domain error; anything else is an
// internal error whose text goes to the log only.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	e, ok := apperr.As(err)
	if !ok || e.Code == apperr.Internal {
		zerolog.Ctx(r.Context()).Error().Err(err).Msg("openlineage event failed")
		writeJSON(w, http.StatusInternalServerError, errorBody{Error: "internal error; see the server log", Code: apperr.Internal})
		return
	}
	status := apperr.HTTPStatus(e.Code)
	if e.Code == apperr.Unavailable {
		zerolog.Ctx(r.Context()).Warn().Err(err).Msg("openlineage event: graph database unavailable")
		w.Header().Set("Retry-After", "5")
	}
	writeJSON(w, status, errorBody{Error: e.Error(), Field: e.Field, Code: e.Code})
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
