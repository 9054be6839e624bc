package store

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// Values are recorded as text in one form whichever way they reach the store: a list
// as written ([]string) reads like the same list read back from the driver ([]any).
func TestAuditValueText(t *testing.T) {
	at := time.Date(2026, 3, 14, 10, 0, 0, 250_000_000, time.FixedZone("CET", 3600))
	for _, c := range []struct {
		in   any
		want *string
	}{
		{nil, nil},
		{"RUNNING", ptr("RUNNING")},
		{at, ptr("2026-03-14T09:00:00.250000000Z")},
		{int64(3), ptr("3")},
		{1.0, ptr("1")},
		{0.25, ptr("0.25")},
		{math.NaN(), ptr("NaN")},
		{math.Inf(-1), ptr("-Infinity")},
		{true, ptr("true")},
		{[]string{"a", "b"}, ptr(`["a","b"]`)},
		{[]any{"a", "b"}, ptr(`["a","b"]`)},
		{[]float64{3, 0.5}, ptr(`["3","0.5"]`)},
		{[]any{nil, "<b>"}, ptr(`[null,"<b>"]`)},
	} {
		assert.Equal(t, c.want, auditValue(c.in), "%#v", c.in)
	}
}

// A change to the value a field has records nothing; tags are compared by key.
func TestAuditChangesSkipNoOps(t *testing.T) {
	var a audit
	a.changeValue("run:1", "status", "RUNNING", "RUNNING")
	a.changeValue("run:1", "endTime", nil, nil)
	a.changeValue("run:1", "status", "RUNNING", "FINISHED")
	a.changeTags("run:1", []Tag{{"a", "1"}, {"b", "2"}}, []Tag{{"b", "2"}, {"c", "3"}, {"a", "1"}})
	assert.Equal(t, []AuditChange{
		{Target: "run:1", Field: "status", Old: ptr("RUNNING"), New: ptr("FINISHED")},
		{Target: "run:1", Field: "tags.c", Old: nil, New: ptr("3")},
	}, a.changes)
}

// Stored changes decode only from their exact encoding; anything else is kept as
// text, which the canonical form holds as a string.
func TestDecodeAuditChanges(t *testing.T) {
	cs := []AuditChange{{Target: "run:1", Field: "status", Old: ptr("RUNNING"), New: nil}}
	stored := encodeAuditChanges(cs)
	got, undecoded := decodeAuditChanges(stored)
	assert.Equal(t, cs, got)
	assert.Nil(t, undecoded)
	for _, bad := range []any{"[]", "garbage", ` [{"target":"run:1","field":"status","old":"RUNNING","new":null}]`, int64(1)} {
		got, undecoded := decodeAuditChanges(bad)
		assert.Nil(t, got, "%#v", bad)
		assert.NotNil(t, undecoded, "%#v", bad)
	}
	got, undecoded = decodeAuditChanges(nil)
	assert.Nil(t, got)
	assert.Nil(t, undecoded)
}

func ptr(s string) *string { return &s }
