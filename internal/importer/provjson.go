package importer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/provgraph/provgraph/apperr"
	"github.com/provgraph/provgraph/export"
	"github.com/provgraph/provgraph/store"
)

// MaxProvJSONBytes is the largest PROV-JSON document imported: it is read whole.
const MaxProvJSONBytes = 1 << 30

// PROVJSON reads a PROV-JSON document provgraph exported (`provgraph export`, the
// exportLineage query): its entities and activities are nodes, its used,
// wasGeneratedBy, wasDerivedFrom and specializationOf relations edges. Nodes come
// first, then edges, each in the order of their ids; an item's ref is its section and
// id ("entity pg:model:fraud%2F3", "used _:e4"). Agents and associations are left out:
// a node's recorder is its pg:recordedBy.
type PROVJSON struct {
	items []Item
}

// provRelations are the relation sections read, with the attributes naming the ends
// of the edge (from, to) and the edge type (by prov:type for wasDerivedFrom).
var provRelations = []struct {
	section  string
	from, to string
	types    map[string]string // prov:type → edge type; "" key: no prov:type
}{
	{"used", "prov:entity", "prov:activity", map[string]string{"": store.RelInputTo}},
	{"wasGeneratedBy", "prov:activity", "prov:entity", map[string]string{"": store.RelProduced}},
	{"wasDerivedFrom", "prov:usedEntity", "prov:generatedEntity", map[string]string{
		export.ProvRegistration: store.RelRegisteredAs, export.ProvDeployment: store.RelDeployedTo}},
	{"specializationOf", "prov:specificEntity", "prov:generalEntity", map[string]string{"": store.RelVersionOf}},
}

// NewPROVJSON reads a document from r (at most MaxProvJSONBytes).
func NewPROVJSON(r io.Reader) (*PROVJSON, error) {
	body, err := io.ReadAll(io.LimitReader(r, MaxProvJSONBytes+1))
	if err != nil {
		return nil, err
	}
	if len(body) > MaxProvJSONBytes {
		return nil, apperr.Invalid("", "the document is larger than %d bytes", MaxProvJSONBytes)
	}
	doc, err := provSections(body)
	if err != nil {
		return nil, err
	}
	p := &PROVJSON{}
	ids := map[string]string{} // qualified name → node ID
	for _, section := range []string{"entity", "activity"} {
		for _, qn := range slices.Sorted(mapKeys(doc[section])) {
			it := provNode(section, qn, doc[section][qn])
			if it.Node != nil {
				ids[qn] = it.Node.Key
			}
			p.items = append(p.items, it)
		}
	}
	for _, rel := range provRelations {
		for _, id := range slices.Sorted(mapKeys(doc[rel.section])) {
			p.items = append(p.items, provEdge(rel.section, id, doc[rel.section][id], rel.from, rel.to, rel.types, ids))
		}
	}
	return p, nil
}

// provSections decodes the sections provgraph reads from a document, numbers kept
// as written (json.Number).
func provSections(body []byte) (map[string]map[string]map[string]any, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, apperr.Invalid("", "not a PROV-JSON document (a JSON object of sections): %v", err)
	}
	doc := map[string]map[string]map[string]any{}
	sections := []string{"entity", "activity"}
	for _, rel := range provRelations {
		sections = append(sections, rel.section)
	}
	for _, name := range sections {
		if raw[name] == nil {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(raw[name]))
		dec.UseNumber()
		var sec map[string]map[string]any
		if err := dec.Decode(&sec); err != nil {
			return nil, apperr.Invalid(name, "must be an object of records (objects of attributes): %v", err)
		}
		doc[name] = sec
	}
	return doc, nil
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// Len is how many items the document holds.
func (p *PROVJSON) Len() int { return len(p.items) }

// Next returns the next node or edge.
func (p *PROVJSON) Next() (Item, error) {
	if len(p.items) == 0 {
		return Item{}, io.EOF
	}
	it := p.items[0]
	p.items = p.items[1:]
	return it, nil
}

// provNode reads an entity or activity.
func provNode(section, qn string, attrs map[string]any) Item {
	it := Item{Ref: section + " " + qn}
	n := store.NodeRecord{Props: map[string]any{}}
	var err error
	if n.Key, err = textAttr(attrs, export.ProvAttrID, true); err != nil {
		return failed(it, err)
	}
	kind, err := textAttr(attrs, "prov:type", true)
	if err != nil {
		return failed(it, err)
	}
	if !strings.HasPrefix(kind, export.ProvKindPrefix) {
		return failed(it, apperr.Invalid("prov:type", "must be %s<kind> (got %q)", export.ProvKindPrefix, kind))
	}
	n.Kind = store.Kind(strings.TrimPrefix(kind, export.ProvKindPrefix))
	if n.Name, err = textAttr(attrs, "prov:label", true); err != nil {
		return failed(it, err)
	}
	if n.RecordedBy, err = textAttr(attrs, export.ProvAttrRecordedBy, false); err != nil {
		return failed(it, err)
	}
	if n.RecordedAt, err = timeAttr(attrs, export.ProvAttrRecordedAt); err != nil {
		return failed(it, err)
	}
	for attr, prop := range map[string]string{"prov:startTime": "startedAt", "prov:endTime": "endedAt"} {
		t, err := timeAttr(attrs, attr)
		if err != nil {
			return failed(it, err)
		}
		if !t.IsZero() {
			n.Props[prop] = t
		}
	}
	for _, p := range export.ProvProps {
		if v, ok := attrs["pg:"+p]; ok {
			if n.Props[p], err = propValue("pg:"+p, v); err != nil {
				return failed(it, err)
			}
		}
	}
	it.Node = &n
	return it
}

// provEdge reads a relation; ids are the nodes' IDs by qualified name (an end not
// among them is read from its qualified name).
func provEdge(section, id string, attrs map[string]any, from, to string, types map[string]string, ids map[string]string) Item {
	it := Item{Ref: section + " " + id}
	e := store.EdgeRecord{}
	typ, err := textAttr(attrs, "prov:type", false)
	if err != nil {
		return failed(it, err)
	}
	var ok bool
	if e.Type, ok = types[typ]; !ok {
		return failed(it, apperr.Invalid("prov:type", "%q is not a relation provgraph exports", typ))
	}
	for _, end := range []struct {
		attr string
		key  *string
	}{{from, &e.From}, {to, &e.To}} {
		qn, err := textAttr(attrs, end.attr, true)
		if err != nil {
			return failed(it, err)
		}
		if *end.key = ids[qn]; *end.key == "" {
			*end.key = nodeIDOf(qn)
		}
	}
	if e.RecordedAt, err = timeAttr(attrs, export.ProvAttrRecordedAt); err != nil {
		return failed(it, err)
	}
	it.Edge = &e
	return it
}

// nodeIDOf is the node ID a qualified name pg:<escaped ID> stands for.
func nodeIDOf(qn string) string {
	id, err := export.NodeIDOf(qn)
	if err != nil {
		return qn
	}
	return id
}

func failed(it Item, err error) Item {
	it.Err = err
	return it
}

func textAttr(attrs map[string]any, name string, required bool) (string, error) {
	v, ok := attrs[name]
	if !ok {
		if required {
			return "", apperr.Invalid(name, "is missing")
		}
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", apperr.Invalid(name, "must be a string")
	}
	return s, nil
}

func timeAttr(attrs map[string]any, name string) (time.Time, error) {
	s, err := textAttr(attrs, name, false)
	if err != nil || s == "" {
		return time.Time{}, err
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, apperr.Invalid(name, "must be an RFC 3339 time (got %q)", s)
	}
	return t, nil
}

// propValue turns a decoded JSON value into a property: numbers that are whole stay
// integers.
func propValue(field string, v any) (any, error) {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i, nil
		}
		f, err := x.Float64()
		if err != nil {
			return nil, apperr.Invalid(field, "%q is not a number", x)
		}
		return f, nil
	case string, bool:
		return x, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			var err error
			if out[i], err = propValue(fmt.Sprintf("%s[%d]", field, i), e); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return nil, apperr.Invalid(field, "must be a string, number, boolean or list (got %T)", v)
}
