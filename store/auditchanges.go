package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
)

// What a write replaced. An entry of the audit log lists, besides its targets, the old
// and new value of every field the write changed on something recorded before (21 CFR
// Part 11 §11.10(e): a change must not obscure what was there before). Values are
// text: strings as they are, times in RFC 3339 UTC with nine fractional digits, numbers
// in their shortest form, lists as JSON. docs/audit.md lists the field names.

// Field names of changes that are not a stored property's own name.
const (
	// ChangeTagPrefix prefixes a tag's key: tags.<key>.
	ChangeTagPrefix = "tags."
	// ChangeAliasPrefix prefixes an alias of a registered model: alias.<name>, whose
	// value is the model version it points at.
	ChangeAliasPrefix = "alias."
	// ChangeDeploymentPrefix prefixes an endpoint's variant: deployment.<variant>,
	// whose value is the model version serving it.
	ChangeDeploymentPrefix = "deployment."
	// ChangeTrafficSharePrefix prefixes an endpoint variant's share of traffic:
	// trafficShare.<variant>.
	ChangeTrafficSharePrefix = "trafficShare."
	// ChangeApproval is a model version's approval status.
	ChangeApproval = "approval"
)

// AuditChange is one field a write changed: Old is nil when the field was absent
// before, New is nil when the write removed it.
type AuditChange struct {
	Target string  `json:"target"`
	Field  string  `json:"field"`
	Old    *string `json:"old"`
	New    *string `json:"new"`
}

// change records that the write changed field of target from old to new; a change
// to the value the field already had records nothing.
func (a *audit) change(target, field string, old, new *string) {
	if (old == nil) == (new == nil) && (old == nil || *old == *new) {
		return
	}
	a.changes = append(a.changes, AuditChange{Target: target, Field: field, Old: old, New: new})
}

// changeValue records a change of a stored property from old to new, given as the
// driver reads and writes them.
func (a *audit) changeValue(target, field string, old, new any) {
	a.change(target, field, auditValue(old), auditValue(new))
}

// changeProps records the changes of the properties in new, each from its value in
// old, in the order of their names.
func (a *audit) changeProps(target string, old, new map[string]any) {
	for _, k := range slices.Sorted(maps.Keys(new)) {
		a.changeValue(target, k, old[k], new[k])
	}
}

// changeTags records the tags added, changed and removed, by key.
func (a *audit) changeTags(target string, old, new []Tag) {
	a.changePairs(target, ChangeTagPrefix, old, new)
}

// changePairs records the key/value pairs (tags, properties) added, changed and
// removed, by key, each as the field prefix+key.
func (a *audit) changePairs(target, prefix string, old, new []Tag) {
	before := make(map[string]string, len(old))
	for _, t := range old {
		before[t.Key] = t.Value
	}
	after := make(map[string]string, len(new))
	for _, t := range new {
		after[t.Key] = t.Value
	}
	keys := slices.Sorted(maps.Keys(before))
	for k := range after {
		if _, ok := before[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		a.change(target, prefix+k, optString(before, k), optString(after, k))
	}
}

// changeNode records what a write changed on node old (as read before its SET) to
// make it new: the named properties and, when tags, its tags.
func (a *audit) changeNode(old, new Node, tags bool, props ...string) {
	for _, p := range props {
		a.changeValue(new.Key, p, old.Props[p], new.Props[p])
	}
	if tags {
		a.changeTags(new.Key, old.Tags(), new.Tags())
	}
}

func optString(m map[string]string, k string) *string {
	if v, ok := m[k]; ok {
		return &v
	}
	return nil
}

// auditValue is a stored or given property value as a change records it; nil for
// an absent one.
func auditValue(v any) *string {
	var s string
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		s = x
	case time.Time:
		s = x.UTC().Format(auditTimeLayout)
	case int64:
		s = strconv.FormatInt(x, 10)
	case int:
		s = strconv.Itoa(x)
	case float64:
		s = auditFloat(x)
	case bool:
		s = strconv.FormatBool(x)
	case []string:
		s = auditList(len(x), func(i int) any { return x[i] })
	case []float64:
		s = auditList(len(x), func(i int) any { return x[i] })
	case []any:
		s = auditList(len(x), func(i int) any { return x[i] })
	default:
		b, _ := json.Marshal(x)
		s = string(b)
	}
	return &s
}

// auditFloat renders a number in its shortest form; NaN and ±Inf by name.
func auditFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// auditList renders a list as a JSON array of its elements' values as text, so that
// a list read back from the driver ([]any) reads as the one written ([]string).
func auditList(n int, at func(int) any) string {
	out := make([]*string, n)
	for i := range n {
		out[i] = auditValue(at(i))
	}
	return string(encodeJSON(out))
}

// encodeJSON is v as JSON without HTML escaping and without a final newline, as the
// canonical form writes it.
func encodeJSON(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	// Only strings, numbers and lists of them are encoded here, which cannot fail.
	_ = enc.Encode(v)
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// encodeAuditChanges is the text an entry stores its changes as (the JSON list the
// canonical form holds), or nil for none.
func encodeAuditChanges(cs []AuditChange) any {
	if len(cs) == 0 {
		return nil
	}
	return string(encodeJSON(cs))
}

// decodeAuditChanges reads an entry's stored changes. Text that is not exactly the
// encoding of a non-empty list of changes comes back as undecoded: the entry's
// canonical form then holds it as a string, which no write produces, so verification
// finds the entry changed.
func decodeAuditChanges(v any) (cs []AuditChange, undecoded *string) {
	s, ok := v.(string)
	if v == nil {
		return nil, nil
	}
	if !ok {
		text := string(encodeJSON(v))
		return nil, &text
	}
	if json.Unmarshal([]byte(s), &cs) != nil || encodeAuditChanges(cs) != any(s) {
		return nil, &s
	}
	return cs, nil
}

// canonicalChanges is what the canonical form holds under "changes": the list of
// changes, the undecodable text stored in their place, or nil (no key) for none.
func (e AuditLogEntry) canonicalChanges() any {
	switch {
	case e.undecodedChanges != nil:
		return *e.undecodedChanges
	case len(e.Changes) > 0:
		return e.Changes
	}
	return nil
}

// changedNodeAt reads a node as an update statement returns it: in column col as the
// SET left it, and in column oldCol its properties before (`WITH n, n {.*} AS old`).
func changedNodeAt(rec *neo4j.Record, col, oldCol string) (old, new Node, err error) {
	props, _, err := neo4j.GetRecordValue[map[string]any](rec, oldCol)
	if err != nil {
		return Node{}, Node{}, fmt.Errorf("read old properties column %q: %w", oldCol, err)
	}
	new, err = nodeAt(rec, col)
	return nodeFromProps(props), new, err
}

// variantServing is what served an endpoint's variant: a model version's ID and its
// share of traffic, both nil when nothing did.
type variantServing struct {
	version, share any
}

// variantServingAt reads what cypherEndDeployments ended.
func variantServingAt(recs []*neo4j.Record) variantServing {
	if len(recs) == 0 {
		return variantServing{}
	}
	v, _ := recs[0].Get("version")
	s, _ := recs[0].Get("share")
	return variantServing{v, s}
}

// changeDeployment records a change of what serves variant of endpoint:
// deployment.<variant> (the model version) and trafficShare.<variant>.
func (a *audit) changeDeployment(endpoint, variant string, old, new variantServing) {
	a.changeValue(endpoint, ChangeDeploymentPrefix+variant, old.version, new.version)
	a.changeValue(endpoint, ChangeTrafficSharePrefix+variant, old.share, new.share)
}

// aliasEndedAt reads the model version cypherEndAlias found the alias pointing at, or
// nil.
func aliasEndedAt(recs []*neo4j.Record) any {
	if len(recs) == 0 {
		return nil
	}
	v, _ := recs[0].Get("version")
	return v
}
