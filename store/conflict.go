package store

import (
	"fmt"
	"reflect"
	"time"

	"github.com/provgraph/provgraph/apperr"
)

// fieldCheck pairs an input field with the stored property it became and the value a
// repeated write asks for.
type fieldCheck struct {
	field string
	prop  string
	want  any
}

// firstConflict compares a repeated create with what was recorded the first time.
// Provenance is append-only: a node, once recorded, never changes. A repeat with equal
// content is accepted as a no-op (clients retry); any difference is a CONFLICT naming
// the first differing field and both values.
func firstConflict(existing Node, what string, checks []fieldCheck) error {
	for _, c := range checks {
		have := normalize(existing.Props[c.prop])
		want := normalize(c.want)
		if equalValues(have, want) {
			continue
		}
		return apperr.Conflicting(c.field, "%s %q was already recorded with %s %s; got %s "+
			"(recorded facts are immutable: record a new one instead)",
			what, truncateForMessage(existing.Key), c.prop, describe(have), describe(want))
	}
	return nil
}

func normalize(v any) any {
	switch x := v.(type) {
	case *string:
		if x == nil {
			return nil
		}
		return *x
	case *time.Time:
		if x == nil {
			return nil
		}
		return x.UTC()
	case time.Time:
		return x.UTC()
	case []string:
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = s
		}
		return out
	case int:
		return int64(x)
	}
	return v
}

func equalValues(a, b any) bool {
	if ta, ok := a.(time.Time); ok {
		tb, ok := b.(time.Time)
		return ok && ta.Equal(tb)
	}
	if la, ok := a.([]any); ok && len(la) == 0 && b == nil {
		return true
	}
	if lb, ok := b.([]any); ok && len(lb) == 0 && a == nil {
		return true
	}
	return reflect.DeepEqual(a, b)
}

func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "none"
	case string:
		return fmt.Sprintf("%q", truncateForMessage(x))
	case time.Time:
		return x.Format(time.RFC3339Nano)
	}
	return truncateForMessage(fmt.Sprint(v))
}
