package server

import (
	"bytes"
	"net/http"
	"strconv"
	"time"

	"github.com/rs/zerolog/hlog"

	"github.com/provgraph/provgraph/apperr"
	"github.com/provgraph/provgraph/evidence"
	"github.com/provgraph/provgraph/export"
)

// EvidencePath serves evidence packages: GET ?node=<endpoint or model version
// ID>&at=<RFC 3339 time> answers the zip the console's "Download evidence" saves
// (docs/evidence.md). It needs the reader role (accessFor).
const EvidencePath = "/api/v1/evidence"

// apiError is the error body of the REST surfaces ({"error", "field", "code"}), as the
// OpenLineage endpoints answer.
type apiError struct {
	Error string      `json:"error"`
	Field string      `json:"field,omitempty"`
	Code  apperr.Code `json:"code"`
}

// evidenceHandler answers GET EvidencePath with the package of the node at the
// instant (now when at is not given), built from the store in the request's time.
func evidenceHandler(opts Options) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		node := q.Get("node")
		if node == "" {
			writeAPIError(w, r, apperr.Invalid("node", "must be given: the ID of an endpoint (endpoint:<name>) or a model version (model:<name>/<version>)"))
			return
		}
		at := time.Now().UTC()
		if s := q.Get("at"); s != "" {
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				writeAPIError(w, r, apperr.Invalid("at", "%q is not an RFC 3339 time with a zone, like 2026-03-14T09:30:00Z", export.Ellipsize(s, 64)))
				return
			}
			at = t
		}
		ev, err := evidence.Collect(r.Context(), opts.Store, node, at)
		if err != nil {
			writeAPIError(w, r, explainDeadline(r.Context(), err))
			return
		}
		var buf bytes.Buffer
		if err := evidence.Build(&buf, ev, evidence.Meta{Version: opts.Version, GeneratedAt: time.Now().UTC()}); err != nil {
			writeAPIError(w, r, err)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "application/zip")
		// The file name is reduced to [A-Za-z0-9._-], so it needs no quoting rules.
		h.Set("Content-Disposition", `attachment; filename="`+evidence.FileName(ev.Subject.Key, at)+`"`)
		h.Set("Content-Length", strconv.Itoa(buf.Len()))
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		_, _ = w.Write(buf.Bytes())
	}
}

// writeAPIError answers a REST request with the HTTP status of a domain error's code;
// anything else is an internal error whose text goes to the log only.
func writeAPIError(w http.ResponseWriter, r *http.Request, err error) {
	e, ok := apperr.As(err)
	if !ok || e.Code == apperr.Internal {
		hlog.FromRequest(r).Error().Err(err).Str("path", r.URL.Path).Msg("request failed")
		writeJSON(w, http.StatusInternalServerError, apiError{Error: internalMessage(r.Context()), Code: apperr.Internal})
		return
	}
	status := apperr.HTTPStatus(e.Code)
	if e.Code == apperr.Unavailable {
		hlog.FromRequest(r).Warn().Err(err).AnErr("cause", e.Cause).Str("path", r.URL.Path).Msg("request failed: unavailable")
		w.Header().Set("Retry-After", "5")
	}
	writeJSON(w, status, apiError{Error: e.Error(), Field: e.Field, Code: e.Code})
}
