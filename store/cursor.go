package store

import (
	"encoding/base64"
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

func (c cursor) encode() string {
	b, _ := json.Marshal(c) // a struct of a time and a string always marshals
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor reads a cursor given back by a client; anything else is an
// INVALID_ARGUMENT error about field.
func decodeCursor(field, s string) (cursor, error) {
	bad := apperr.Invalid(field, "is not a cursor returned by this API")
	if len(s) > 1024 {
		return cursor{}, bad
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return cursor{}, bad
	}
	var c cursor
	if err := json.Unmarshal(b, &c); err != nil || c.ID == "" || c.At.IsZero() {
		return cursor{}, bad
	}
	return c, nil
}

// checkPage validates a page size, defaulting to DefaultPageSize.
func checkPage(first *int) (int, error) {
	if first == nil {
		return DefaultPageSize, nil
	}
	if *first < 1 || *first > MaxPageSize {
		return 0, apperr.Invalid("first", "must be between 1 and %d (got %d)", MaxPageSize, *first)
	}
	return *first, nil
}
