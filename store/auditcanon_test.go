package store

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// canonicalOddStrings are strings encoding/json escapes or rewrites, and some it does
// not: each must come out of the hand-written canonical form as it does out of
// encoding/json.
var canonicalOddStrings = []string{
	"", "plain", `with "quotes"`, `back\slash`, "tab\there", "new\nline", "cr\r", "\b\f", "\x00\x01\x1f",
	"\x7f del", "<html> & 'amp'", "é unicode ☃", "line\u2028sep\u2029", "bad utf8 \xff\xfe", "\xc3", "emoji 🙂",
	"run:fraud/2026-01-01", "token:ci-bot",
}

// The canonical form written field by field is byte for byte the one encoding/json
// gives, for entries without changes, whatever their strings hold.
func TestCanonicalFormWrittenByHandIsEncodingJSONs(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func() string {
		if rng.IntN(3) == 0 {
			return canonicalOddStrings[rng.IntN(len(canonicalOddStrings))]
		}
		b := make([]byte, rng.IntN(12))
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		return string(b)
	}
	for i := range 5000 {
		e := AuditLogEntry{
			Seq: rng.Int64N(1 << 40), At: time.Unix(rng.Int64N(4e9), rng.Int64N(1e9)).In(time.FixedZone("x", 3600)),
			Actor: pick(), Action: pick(), TargetCount: rng.Int64N(1000) - 1, RequestID: pick(), PrevHash: pick(),
		}
		switch i % 3 {
		case 0: // no targets: nil, which the form writes as []
		case 1:
			e.Targets = []string{}
		default:
			for range 1 + rng.IntN(4) {
				e.Targets = append(e.Targets, pick())
			}
		}
		got, want := e.Canonical(), e.canonicalOf()
		if !bytes.Equal(got, want) {
			t.Fatalf("entry %+v:\n by hand       %s\n encoding/json %s", e, got, want)
		}
	}
	// The escapes themselves, one string at a time, so a failure names the string.
	for _, s := range canonicalOddStrings {
		e := AuditLogEntry{Seq: 1, Actor: s, Targets: []string{s}}
		if got, want := e.Canonical(), e.canonicalOf(); !bytes.Equal(got, want) {
			t.Errorf("%q: by hand %s, encoding/json %s", s, got, want)
		}
	}
	if got := (AuditLogEntry{Actor: "a\"b"}).Canonical(); !strings.Contains(string(got), `"actor":"a\"b"`) {
		t.Errorf("a quote in a string is escaped: %s", got)
	}
}

// FuzzCanonicalForm: for any strings, the hand-written canonical form is encoding/json's.
func FuzzCanonicalForm(f *testing.F) {
	for _, s := range canonicalOddStrings {
		f.Add(s, s, int64(7))
	}
	f.Fuzz(func(t *testing.T, actor, target string, seq int64) {
		e := AuditLogEntry{Seq: seq, At: time.Unix(seq%4e9, 0), Actor: actor, Action: target, Targets: []string{target, actor},
			TargetCount: 2, RequestID: actor, PrevHash: target}
		if got, want := e.Canonical(), e.canonicalOf(); !bytes.Equal(got, want) {
			t.Fatalf("by hand %s, encoding/json %s", got, want)
		}
	})
}
