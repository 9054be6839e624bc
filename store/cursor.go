package store

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/provgraph/provgraph/apperr"
)

// Paging limits for Relay connections.
const (
	DefaultPageSize = 20
	MaxPageSize     = 100
)

// cursor is a position in a list ordered by time, then ID. Clients see it only as an
// opaque string.
type cursor struct {
	At time.Time `json:"t"`
	ID string    `json:"i"`
}

func (c cursor) encode() string { return encodeOpaque(c) }

// decodeCursor reads a cursor given back by a client; anything else is an
// INVALID_ARGUMENT error about field.
func decodeCursor(field, s string) (cursor, error) {
	var c cursor
	if err := decodeOpaque(field, s, 1024, &c); err != nil || c.ID == "" || c.At.IsZero() {
		return cursor{}, errNotCursor(field)
	}
	return c, nil
}

// encodeOpaque renders plain data (which always marshals) as an opaque cursor.
func encodeOpaque(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeOpaque reads an opaque cursor of at most max characters into v.
func decodeOpaque(field, s string, max int, v any) error {
	if len(s) > max {
		return errNotCursor(field)
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(b, v) != nil {
		return errNotCursor(field)
	}
	return nil
}

// queryFingerprint identifies a question apart from paging (its arguments, as plain
// data), so that a cursor given back with other arguments is refused.
func queryFingerprint(args ...any) string {
	b, _ := json.Marshal(args)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

func errNotCursor(field string) error {
	return apperr.Invalid(field, "is not a cursor returned by this API")
}

// checkPage validates a page size, defaulting to DefaultPageSize.
func checkPage(first *int) (int, error) {
	if first == nil {
		return DefaultPageSize, nil
	}
	if err := CheckSize("first", *first, MaxPageSize); err != nil {
		return 0, err
	}
	return *first, nil
}

// CheckSize validates a page size or node budget a caller gave: 1 to max. (Store
// methods that read 0 as "the default" take it only from code, never from a client.)
func CheckSize(field string, n, max int) error {
	if n < 1 || n > max {
		return apperr.Invalid(field, "must be between 1 and %d (got %d)", max, n)
	}
	return nil
}

// conePosition is a place in a lineage cone listed by depth, then ID.
type conePosition struct {
	Depth int    `json:"d"`
	Key   string `json:"k"`
}

// coneCursor continues a paged lineage answer: after which node, as the graph stood
// when (AsOf), and for which question (a fingerprint of the query), so that a cursor
// given with other arguments is refused rather than answered with a wrong page.
type coneCursor struct {
	Position conePosition `json:"p"`
	AsOf     time.Time    `json:"t"`
	Query    string       `json:"q"`
}

func (c coneCursor) encode() string { return encodeOpaque(c) }

// decodeConeCursor reads a lineage cursor given back by a client for the query with
// the fingerprint query; anything else is an INVALID_ARGUMENT error about field.
func decodeConeCursor(field, s, query string) (coneCursor, error) {
	var c coneCursor
	if err := decodeOpaque(field, s, 4096, &c); err != nil || c.AsOf.IsZero() || c.Query == "" ||
		c.Position.Depth < 0 || c.Position.Depth > MaxLineageDepth {
		return coneCursor{}, errNotCursor(field)
	}
	if c.Query != query {
		return coneCursor{}, apperr.Invalid(field, "belongs to a lineage question with other arguments; "+
			"ask for the next page with the same start, direction, maxDepth, kinds and asOf")
	}
	return c, nil
}
