package openlineage

import (
	"fmt"
	"strings"
	"time"

	"github.com/provgraph/provgraph/apperr"
)

// Kind is the kind of an OpenLineage event.
type Kind string

// The event kinds of spec 2-0-2.
const (
	KindRunEvent     Kind = "RunEvent"
	KindDatasetEvent Kind = "DatasetEvent"
	KindJobEvent     Kind = "JobEvent"
)

// Event is one decoded OpenLineage event: exactly one of Run, Dataset and Job is set,
// as Kind says.
type Event struct {
	Kind    Kind
	Run     *RunEvent
	Dataset *DatasetEvent
	Job     *JobEvent
}

// Decode turns one event, decoded from JSON into Go values (objects as map[string]any,
// numbers as json.Number or float64), into an Event. Errors are INVALID_ARGUMENT errors
// naming the offending field as a path into the event, such as "run.runId" or
// "inputs[0].namespace".
//
// The kind is told by shape, as the spec's JSON schema does: a RunEvent has run and job,
// a DatasetEvent has dataset, a JobEvent has job and no run. A schemaURL naming one of
// them must agree with the shape; one naming any other definition is refused. Older
// producers are accepted: schemaURL and eventType may be missing (the latter is OTHER),
// and the parent run facet may be named parentRun.
func Decode(v any) (Event, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return Event{}, apperr.Invalid("", "an event must be a JSON object (an OpenLineage RunEvent, DatasetEvent or JobEvent), not %s", jsonType(v))
	}
	kind, err := kindOf(m)
	if err != nil {
		return Event{}, err
	}
	at, err := eventTime(m)
	if err != nil {
		return Event{}, err
	}
	if _, _, err := optString(m, "", "producer"); err != nil {
		return Event{}, err
	}
	switch kind {
	case KindRunEvent:
		ev, err := decodeRunEvent(m, at)
		return Event{Kind: kind, Run: ev}, err
	case KindDatasetEvent:
		d, err := dataset(m, "", "dataset")
		if err != nil {
			return Event{}, err
		}
		return Event{Kind: kind, Dataset: &DatasetEvent{EventTime: at, Dataset: d}}, nil
	default:
		j, err := job(m, "", "job")
		if err != nil {
			return Event{}, err
		}
		ins, outs, err := datasets(m)
		if err != nil {
			return Event{}, err
		}
		return Event{Kind: kind, Job: &JobEvent{EventTime: at, Job: j, Inputs: ins, Outputs: outs}}, nil
	}
}

// kindOf tells the kind of an event by its shape, checked against its schemaURL.
func kindOf(m map[string]any) (Kind, error) {
	_, hasRun := present(m, "run")
	_, hasDataset := present(m, "dataset")
	_, hasJob := present(m, "job")
	var shape Kind
	switch {
	case hasRun && hasDataset:
		return "", apperr.Invalid("", "an event has either run (a RunEvent) or dataset (a DatasetEvent), not both")
	case hasRun:
		shape = KindRunEvent
	case hasDataset:
		shape = KindDatasetEvent
	case hasJob:
		shape = KindJobEvent
	}
	url, _, err := optString(m, "", "schemaURL")
	if err != nil {
		return "", err
	}
	if claimed := schemaDefinition(url); claimed != "" && claimed != "BaseEvent" {
		switch Kind(claimed) {
		case KindRunEvent, KindDatasetEvent, KindJobEvent:
			if shape != "" && shape != Kind(claimed) {
				return "", apperr.Invalid("schemaURL", "names a %s, but the event has the shape of a %s (%s)", claimed, shape, shapeRule)
			}
			if shape == "" {
				shape = Kind(claimed)
			}
		default:
			return "", apperr.Invalid("schemaURL", "names %q, which is not an event kind provgraph accepts: send a RunEvent, DatasetEvent or JobEvent (OpenLineage spec 2-0-2)", truncate(claimed))
		}
	}
	if shape == "" {
		return "", apperr.Invalid("", "is not an OpenLineage event provgraph knows: %s", shapeRule)
	}
	return shape, nil
}

const shapeRule = "a RunEvent has run and job, a DatasetEvent has dataset, a JobEvent has job and no run"

// schemaDefinition returns the definition a schemaURL's fragment names, such as
// "RunEvent" for https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent, or "".
func schemaDefinition(url string) string {
	_, frag, ok := strings.Cut(url, "#")
	if !ok {
		return ""
	}
	frag = strings.TrimSuffix(frag, "/")
	if i := strings.LastIndex(frag, "/"); i >= 0 {
		frag = frag[i+1:]
	}
	return frag
}

func eventTime(m map[string]any) (time.Time, error) {
	s, ok, err := optString(m, "", "eventTime")
	if err != nil {
		return time.Time{}, err
	}
	if !ok {
		return time.Time{}, apperr.Invalid("eventTime", "is required: the time the event occurred, in RFC 3339 (ISO 8601 with a time zone)")
	}
	t, err := parseTime(s)
	if err != nil {
		return time.Time{}, apperr.Invalid("eventTime", "must be a date-time in RFC 3339, such as \"2026-03-14T09:30:00.000Z\" (got %q)", truncate(s))
	}
	return t, nil
}

// parseTime accepts RFC 3339 and, leniently, ISO 8601 date-times without a zone (taken
// as UTC), which some producers send.
func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err == nil {
		return t, nil
	}
	if t, err2 := time.ParseInLocation("2006-01-02T15:04:05.999999999", s, time.UTC); err2 == nil {
		return t, nil
	}
	return time.Time{}, err
}

func decodeRunEvent(m map[string]any, at time.Time) (*RunEvent, error) {
	ev := &RunEvent{EventTime: at}
	typ, ok, err := optString(m, "", "eventType")
	if err != nil {
		return nil, err
	}
	if ok {
		ev.EventType = EventType(strings.ToUpper(typ))
		switch ev.EventType {
		case Start, Running, Complete,
			Abort, Fail, Other:
		default:
			return nil, apperr.Invalid("eventType", "must be START, RUNNING, COMPLETE, ABORT, FAIL or OTHER (got %q)", truncate(typ))
		}
	}
	run, err := object(m, "", "run", true)
	if err != nil {
		return nil, err
	}
	if ev.RunID, _, err = reqString(run, "run", "runId"); err != nil {
		return nil, err
	}
	if _, err := RunID("run.runId", ev.RunID); err != nil {
		return nil, err
	}
	if ev.RunFacets, err = facets(run, "run"); err != nil {
		return nil, err
	}
	// The parent run facet; producers before 1.0 named it parentRun.
	if _, ok := present(ev.RunFacets, "parent"); !ok {
		if legacy, ok := present(ev.RunFacets, "parentRun"); ok {
			ev.RunFacets["parent"] = legacy
			delete(ev.RunFacets, "parentRun")
		}
	}
	if _, ok := present(ev.RunFacets, "parent"); ok {
		if ev.Parent, err = parent(ev.RunFacets); err != nil {
			return nil, err
		}
	}
	if ev.Job, err = job(m, "", "job"); err != nil {
		return nil, err
	}
	if ev.Inputs, ev.Outputs, err = datasets(m); err != nil {
		return nil, err
	}
	return ev, nil
}

func parent(runFacets map[string]any) (*Parent, error) {
	const field = "run.facets.parent"
	p, err := object(runFacets, "run.facets", "parent", true)
	if err != nil {
		return nil, err
	}
	run, err := object(p, field, "run", true)
	if err != nil {
		return nil, err
	}
	id, _, err := reqString(run, field+".run", "runId")
	if err != nil {
		return nil, err
	}
	if _, err := RunID(field+".run.runId", id); err != nil {
		return nil, err
	}
	j, err := object(p, field, "job", true)
	if err != nil {
		return nil, err
	}
	ns, _, err := reqString(j, field+".job", "namespace")
	if err != nil {
		return nil, err
	}
	name, _, err := reqString(j, field+".job", "name")
	if err != nil {
		return nil, err
	}
	return &Parent{RunID: id, JobNamespace: ns, JobName: name}, nil
}

func job(m map[string]any, prefix, name string) (Job, error) {
	field := join(prefix, name)
	j, err := object(m, prefix, name, true)
	if err != nil {
		return Job{}, err
	}
	var out Job
	if out.Namespace, _, err = reqString(j, field, "namespace"); err != nil {
		return Job{}, err
	}
	if out.Name, _, err = reqString(j, field, "name"); err != nil {
		return Job{}, err
	}
	if out.Facets, err = facets(j, field); err != nil {
		return Job{}, err
	}
	return out, nil
}

func datasets(m map[string]any) (inputs, outputs []Dataset, err error) {
	if inputs, err = datasetList(m, "inputs", "inputFacets"); err != nil {
		return nil, nil, err
	}
	outputs, err = datasetList(m, "outputs", "outputFacets")
	return inputs, outputs, err
}

func datasetList(m map[string]any, list, ioFacets string) ([]Dataset, error) {
	v, ok := present(m, list)
	if !ok {
		return nil, nil
	}
	items, ok := v.([]any)
	if !ok {
		return nil, apperr.Invalid(list, "must be an array of datasets, not %s", jsonType(v))
	}
	out := make([]Dataset, 0, len(items))
	for i := range items {
		field := fmt.Sprintf("%s[%d]", list, i)
		obj, err := asObject(items[i], field, true)
		if err != nil {
			return nil, err
		}
		d, err := datasetOf(obj, field)
		if err != nil {
			return nil, err
		}
		// Input and output facets describe this run's use of the dataset: the store
		// keeps them on the run, not on the (run-independent) dataset version.
		if d.IOFacets, err = object(obj, field, ioFacets, false); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

func dataset(m map[string]any, prefix, name string) (Dataset, error) {
	d, err := object(m, prefix, name, true)
	if err != nil {
		return Dataset{}, err
	}
	return datasetOf(d, join(prefix, name))
}

func datasetOf(d map[string]any, field string) (Dataset, error) {
	var err error
	var out Dataset
	if out.Namespace, _, err = reqString(d, field, "namespace"); err != nil {
		return Dataset{}, err
	}
	if out.Name, _, err = reqString(d, field, "name"); err != nil {
		return Dataset{}, err
	}
	if out.Facets, err = facets(d, field); err != nil {
		return Dataset{}, err
	}
	return out, nil
}

// facets returns the facets object of m (nil when absent).
func facets(m map[string]any, prefix string) (map[string]any, error) {
	return object(m, prefix, "facets", false)
}

// present returns m[name] unless it is absent or null.
func present(m map[string]any, name string) (any, bool) {
	v, ok := m[name]
	return v, ok && v != nil
}

func object(m map[string]any, prefix, name string, required bool) (map[string]any, error) {
	v, _ := present(m, name)
	return asObject(v, join(prefix, name), required)
}

// asObject returns v as a JSON object; null is nil, or an error when required.
func asObject(v any, field string, required bool) (map[string]any, error) {
	if v == nil {
		if required {
			return nil, apperr.Invalid(field, "is required")
		}
		return nil, nil
	}
	o, ok := v.(map[string]any)
	if !ok {
		return nil, apperr.Invalid(field, "must be a JSON object, not %s", jsonType(v))
	}
	return o, nil
}

func optString(m map[string]any, prefix, name string) (string, bool, error) {
	v, ok := present(m, name)
	if !ok {
		return "", false, nil
	}
	s, ok := v.(string)
	if !ok {
		return "", false, apperr.Invalid(join(prefix, name), "must be a string, not %s", jsonType(v))
	}
	return s, true, nil
}

func reqString(m map[string]any, prefix, name string) (string, bool, error) {
	s, ok, err := optString(m, prefix, name)
	if err == nil && !ok {
		err = apperr.Invalid(join(prefix, name), "is required")
	}
	return s, ok, err
}

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	}
	return "a number"
}

func truncate(s string) string {
	const max = 120
	if r := []rune(s); len(r) > max {
		return string(r[:max]) + "…"
	}
	return s
}
