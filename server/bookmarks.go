package server

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"

	"github.com/felixge/httpsnoop"

	"github.com/provgraph/provgraph/apperr"
	"github.com/provgraph/provgraph/auth"
	"github.com/provgraph/provgraph/store"
)

// BookmarkHeader carries Neo4j bookmarks between a client and the service, for
// read-your-writes across replicas: the response to a request that wrote has one, naming
// the transactions it committed, and a request that sends it back (through any replica)
// runs after those transactions. Its value is opaque to clients: base64url, unpadded, of
// a JSON array of Neo4j's bookmark strings. A request may send several values (header
// lines, or one line with values separated by commas), e.g. of several earlier writes.
// docs/operations.md says how clients use it.
const BookmarkHeader = "X-Provgraph-Bookmark"

// Limits on the bookmarks a request sends; docs/limits.md lists them.
const (
	// MaxBookmarkHeaderBytes bounds the bookmark header values of one request together.
	MaxBookmarkHeaderBytes = 8 << 10
	// MaxBookmarks is the most bookmarks one request may send (a write answers with one
	// per database it wrote, so one today).
	MaxBookmarks = 32
	// maxBookmarkBytes bounds one bookmark string; Neo4j 5's are about 30 bytes.
	maxBookmarkBytes = 1024
)

// withBookmarks gives every request that needs credentials its store.Bookmarks: those
// its client sent in BookmarkHeader, which Neo4j must have reached before the request
// goes on (store.AwaitBookmarks), and those of the writes it commits, which the response
// carries in the same header. A malformed header, a bookmark Neo4j refuses and one it
// does not reach in time are INVALID_ARGUMENT, answered in the surface's error shape.
//
// It runs after authentication: only callers with credentials can make Neo4j wait for a
// bookmark, and the token lookup runs without them (docs/operations.md).
func withBookmarks(st *store.Store, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		acc := accessFor(r)
		if acc.public {
			next.ServeHTTP(w, r)
			return
		}
		p, _ := auth.PrincipalFrom(r.Context())
		sent, err := parseBookmarkHeader(r.Header.Values(BookmarkHeader))
		if err != nil {
			deny(w, r, acc, p, err)
			return
		}
		b := store.NewBookmarks(BookmarkHeader, sent)
		ctx := store.WithBookmarks(r.Context(), b)
		if err := st.AwaitBookmarks(ctx, b); err != nil {
			deny(w, r, acc, p, err)
			return
		}
		next.ServeHTTP(withBookmarkHeader(w, b), r.WithContext(ctx))
	})
}

// withBookmarkHeader is w that, when the response starts (its status, its first bytes
// or a flush, whichever comes first), puts the bookmarks of the writes committed by
// then into BookmarkHeader. Every surface answers after its writes, so that is all of
// them.
func withBookmarkHeader(w http.ResponseWriter, b *store.Bookmarks) http.ResponseWriter {
	started := false
	start := func() {
		if started {
			return
		}
		started = true
		if committed := b.Committed(); len(committed) > 0 {
			w.Header().Set(BookmarkHeader, encodeBookmarks(committed))
		}
	}
	return httpsnoop.Wrap(w, httpsnoop.Hooks{
		WriteHeader: func(next httpsnoop.WriteHeaderFunc) httpsnoop.WriteHeaderFunc {
			return func(code int) {
				if code >= 200 { // not an informational answer: the response itself
					start()
				}
				next(code)
			}
		},
		Write: func(next httpsnoop.WriteFunc) httpsnoop.WriteFunc {
			return func(p []byte) (int, error) { start(); return next(p) }
		},
		ReadFrom: func(next httpsnoop.ReadFromFunc) httpsnoop.ReadFromFunc {
			return func(src io.Reader) (int64, error) { start(); return next(src) }
		},
		Flush: func(next httpsnoop.FlushFunc) httpsnoop.FlushFunc {
			return func() { start(); next() }
		},
	})
}

// encodeBookmarks is BookmarkHeader's value for bookmarks.
func encodeBookmarks(bookmarks []string) string {
	raw, _ := json.Marshal(bookmarks) // strings always encode
	return base64.RawURLEncoding.EncodeToString(raw)
}

// parseBookmarkHeader returns the bookmarks in BookmarkHeader's values (none when
// there are none), or INVALID_ARGUMENT on the header naming the rule broken.
func parseBookmarkHeader(values []string) ([]string, error) {
	size := 0
	for _, v := range values {
		size += len(v)
	}
	if size > MaxBookmarkHeaderBytes {
		return nil, apperr.Invalid(BookmarkHeader, "is %d bytes; at most %d are allowed", size, MaxBookmarkHeaderBytes)
	}
	var bookmarks []string
	for _, line := range values {
		for v := range strings.SplitSeq(line, ",") {
			v = strings.TrimSpace(v)
			if v == "" {
				continue
			}
			got, err := decodeBookmarks(v)
			if err != nil {
				return nil, err
			}
			bookmarks = append(bookmarks, got...)
		}
	}
	if len(bookmarks) > MaxBookmarks {
		return nil, apperr.Invalid(BookmarkHeader, "holds %d bookmarks; at most %d are allowed", len(bookmarks), MaxBookmarks)
	}
	return bookmarks, nil
}

// decodeBookmarks reads one value of BookmarkHeader.
func decodeBookmarks(v string) ([]string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(v, "="))
	var bookmarks []string
	if err == nil {
		err = json.Unmarshal(raw, &bookmarks)
	}
	if err != nil {
		return nil, apperr.Invalid(BookmarkHeader, "must be a value this service returned in it "+
			"(base64url of a JSON array of bookmark strings), unchanged")
	}
	for _, bm := range bookmarks {
		if bm == "" || len(bm) > maxBookmarkBytes || strings.ContainsFunc(bm, func(r rune) bool { return r < 0x21 || r > 0x7e }) {
			return nil, apperr.Invalid(BookmarkHeader, "holds a bookmark that is not 1–%d printable ASCII characters", maxBookmarkBytes)
		}
	}
	return bookmarks, nil
}
