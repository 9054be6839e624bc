package sagemaker

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/provgraph/provgraph/apperr"
)

// fields reads one JSON object of a request. Every accessor checks the type of the value
// it reads and, when the value has the wrong type, keeps an INVALID_ARGUMENT error naming
// the value by its JSON path (detail.InputDataConfig[0].DataSource.S3DataSource.S3Uri)
// and the type expected, in the wording of the OpenLineage surface. A decoder reads all
// it needs and then asks err: the first wrong type refuses the element, so a number
// never becomes a name and a scalar where a list belongs is never dropped in silence.
//
// A missing key and a JSON null are both absent. Keys are matched exactly, else ignoring
// case (exporters re-case keys). The zero fields (an absent object) reads as empty.
type fields struct {
	m    map[string]any
	path string
	errs *firstError // shared by every fields of one element
}

// firstError keeps the first wrong type an element's decoder found.
type firstError struct{ err error }

// newFields starts reading m, the object at path ("" for the element itself).
func newFields(m map[string]any, path string) fields {
	return fields{m: m, path: path, errs: &firstError{}}
}

// err is the first wrong type found so far in the element, or nil.
func (f fields) err() error { return f.errs.err }

// at is the JSON path of key in f.
func (f fields) at(key string) string {
	if f.path == "" {
		return key
	}
	return f.path + "." + key
}

// fail keeps the first error found in the element.
func (f fields) fail(field, format string, args ...any) {
	if f.errs.err == nil {
		f.errs.err = apperr.Invalid(field, format, args...)
	}
}

// get returns the value at key, or nil when it is absent or null.
func (f fields) get(key string) any {
	if f.m == nil {
		return nil
	}
	if v, ok := f.m[key]; ok {
		return v
	}
	for k, v := range f.m {
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return nil
}

// has tells whether key holds something other than null or an empty string.
func (f fields) has(key string) bool {
	v := f.get(key)
	s, isString := v.(string)
	return v != nil && (!isString || strings.TrimSpace(s) != "")
}

// str returns the string at key, trimmed, or "" when it is absent.
func (f fields) str(key string) string {
	switch x := f.get(key).(type) {
	case nil:
		return ""
	case string:
		return strings.TrimSpace(x)
	default:
		f.fail(f.at(key), "must be a string, not %s", jsonType(x))
		return ""
	}
}

// optStr is str, nil when absent or empty.
func (f fields) optStr(key string) *string {
	if s := f.str(key); s != "" {
		return &s
	}
	return nil
}

// firstStr is the first of keys that holds a string.
func (f fields) firstStr(keys ...string) *string {
	for _, k := range keys {
		if s := f.optStr(k); s != nil {
			return s
		}
	}
	return nil
}

// obj returns the object at key; an absent one reads as empty.
func (f fields) obj(key string) fields {
	out := fields{path: f.at(key), errs: f.errs}
	switch x := f.get(key).(type) {
	case nil:
	case map[string]any:
		out.m = x
	default:
		f.fail(out.path, "must be a JSON object, not %s", jsonType(x))
	}
	return out
}

// present tells whether f is an object that was sent.
func (f fields) present() bool { return f.m != nil }

// objs returns the objects of the array at key.
func (f fields) objs(key string) []fields {
	path := f.at(key)
	switch x := f.get(key).(type) {
	case nil:
		return nil
	case []any:
		out := make([]fields, 0, len(x))
		for i, e := range x {
			p := path + "[" + itoa(i) + "]"
			o, ok := e.(map[string]any)
			if !ok {
				f.fail(p, "must be a JSON object, not %s", jsonType(e))
				continue
			}
			out = append(out, fields{m: o, path: p, errs: f.errs})
		}
		return out
	default:
		f.fail(path, "must be an array of objects, not %s", jsonType(x))
		return nil
	}
}

// optFloat returns the number at key (a string holding one counts), or nil when absent.
func (f fields) optFloat(key string) *float64 {
	v := f.get(key)
	if v == nil {
		return nil
	}
	n, ok := number(v)
	if !ok {
		f.fail(f.at(key), "must be a number, not %s", describeValue(v))
		return nil
	}
	return &n
}

// optInt returns the integer at key (a string holding one counts), or nil when absent.
func (f fields) optInt(key string) *int64 {
	n := f.optFloat(key)
	if n == nil {
		return nil
	}
	i := optInt(*n)
	if i == nil {
		f.fail(f.at(key), "must be an integer, not %s", describeValue(f.get(key)))
	}
	return i
}

// time returns the timestamp at key (see timeOf), or nil when absent.
func (f fields) time(key string) *time.Time {
	v := f.get(key)
	if v == nil {
		return nil
	}
	t := timeOf(v)
	if t == nil {
		f.fail(f.at(key), "must be a timestamp (an ISO 8601 string, or epoch seconds or milliseconds after 1970), not %s", describeValue(v))
	}
	return t
}

// describeValue names a value's type, and for a scalar the value too.
func describeValue(v any) string {
	switch v.(type) {
	case string, json.Number, float64, bool:
		return jsonType(v) + " (" + describe(v) + ")"
	}
	return jsonType(v)
}
