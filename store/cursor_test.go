package store

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/apperr"
)

func TestCursorRoundTrip(t *testing.T) {
	t.Parallel()
	c := cursor{At: time.Date(2026, 3, 14, 9, 30, 0, 123456789, time.UTC), ID: "endpoint:fraud-prod#7"}
	got, err := decodeCursor("after", c.encode())
	require.NoError(t, err)
	assert.True(t, c.At.Equal(got.At))
	assert.Equal(t, c.ID, got.ID)
}

// FuzzDecodeCursor: any string is a cursor or an INVALID_ARGUMENT about the field.
func FuzzDecodeCursor(f *testing.F) {
	f.Add(cursor{At: time.Unix(1, 0).UTC(), ID: "x"}.encode())
	f.Add("")
	f.Add("e30")
	f.Add("not base64!")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := decodeCursor("after", s)
		if err != nil {
			e, ok := apperr.As(err)
			if !ok || e.Code != apperr.InvalidArgument || e.Field != "after" {
				t.Fatalf("decodeCursor(%q): %v", s, err)
			}
			return
		}
		if c.ID == "" || c.At.IsZero() {
			t.Fatalf("decodeCursor(%q) accepted an empty cursor", s)
		}
	})
}

// FuzzDecodeConeCursor: any string is a lineage cursor for the question, or an
// INVALID_ARGUMENT about the field.
func FuzzDecodeConeCursor(f *testing.F) {
	f.Add(coneCursor{Position: conePosition{Depth: 2, Key: "job:ns:a"}, AsOf: time.Unix(1, 0).UTC(), Query: "q"}.encode())
	f.Add(coneCursor{Position: conePosition{Depth: 99}, AsOf: time.Unix(1, 0).UTC(), Query: "q"}.encode())
	f.Add("")
	f.Add("e30")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := decodeConeCursor("after", s, "q")
		if err != nil {
			e, ok := apperr.As(err)
			if !ok || e.Code != apperr.InvalidArgument || e.Field != "after" {
				t.Fatalf("decodeConeCursor(%q): %v", s, err)
			}
			return
		}
		if c.Query != "q" || c.AsOf.IsZero() || c.Position.Depth < 0 || c.Position.Depth > MaxLineageDepth {
			t.Fatalf("decodeConeCursor(%q) accepted %+v", s, c)
		}
	})
}
