package openlineage

import (
	"cmp"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/provgraph/provgraph/apperr"
	"github.com/provgraph/provgraph/store"
)

// What an OpenLineage event says, in the store's terms: a RunEvent is a report on a
// run, a JobEvent what a job reads and writes, a DatasetEvent metadata added to a
// dataset version. The vocabulary of the format — event types, UUIDs, the version
// facet, namespace and name as a location — is translated here; the graph rules
// (versions, run state, facets only added) are the store's.

// Experiment names the experiment runs reported by OpenLineage events are recorded in.
// The store creates it on the first run.
const Experiment = "openlineage"

// experiment is what the experiment is created with.
var experiment = func() store.ExperimentInput {
	desc := "Runs recorded from OpenLineage events (created on the first one)."
	return store.ExperimentInput{Name: Experiment, Description: &desc}
}()

// runStatus is the status each event type reports; OTHER reports none.
var runStatus = map[EventType]store.RunStatus{
	Start: store.RunRunning, Running: store.RunRunning, Complete: store.RunFinished,
	Fail: store.RunFailed, Abort: store.RunKilled,
}

// Translate turns a decoded event into the report the store records. Errors are
// INVALID_ARGUMENT errors naming the offending field of the event.
func Translate(ev Event) (store.LineageReport, error) {
	switch ev.Kind {
	case KindRunEvent:
		r, err := runReport(*ev.Run)
		return store.LineageReport{Run: r}, err
	case KindJobEvent:
		ins, outs, err := reportedDatasets(ev.Job.Inputs, ev.Job.Outputs)
		if err != nil {
			return store.LineageReport{}, err
		}
		return store.LineageReport{JobIO: &store.JobIOReport{At: ev.Job.EventTime, Job: reportedJob(ev.Job.Job), Inputs: ins, Outputs: outs}}, nil
	case KindDatasetEvent:
		d, err := reportedDataset("dataset", ev.Dataset.Dataset, nil)
		if err != nil {
			return store.LineageReport{}, err
		}
		return store.LineageReport{Dataset: &store.DatasetReport{At: ev.Dataset.EventTime, Dataset: d}}, nil
	}
	return store.LineageReport{}, fmt.Errorf("translate OpenLineage event: unknown kind %q", ev.Kind)
}

func runReport(ev RunEvent) (*store.RunReport, error) {
	runID, err := RunID("run.runId", ev.RunID)
	if err != nil {
		return nil, err
	}
	typ := ev.EventType
	if typ == "" {
		typ = Other
	}
	if _, known := runStatus[typ]; !known && typ != Other {
		return nil, apperr.Invalid("eventType", "must be START, RUNNING, COMPLETE, ABORT, FAIL or OTHER (got %q)", truncate(string(typ)))
	}
	r := &store.RunReport{
		RunID: runID, Status: runStatus[typ], Start: typ == Start, At: ev.EventTime,
		Job: reportedJob(ev.Job), Facets: ev.RunFacets,
	}
	if p := ev.Parent; p != nil {
		pid, err := RunID("run.facets.parent.run.runId", p.RunID)
		if err != nil {
			return nil, err
		}
		r.Parent = &store.ReportedParent{RunID: pid, JobNamespace: p.JobNamespace, JobName: p.JobName}
	}
	if r.Inputs, r.Outputs, err = reportedDatasets(ev.Inputs, ev.Outputs); err != nil {
		return nil, err
	}
	return r, nil
}

func reportedJob(j Job) store.ReportedJob {
	return store.ReportedJob{Namespace: j.Namespace, Name: j.Name, Facets: j.Facets}
}

func reportedDatasets(inputs, outputs []Dataset) (ins, outs []store.ReportedDataset, err error) {
	list := func(name string, ds []Dataset) ([]store.ReportedDataset, error) {
		out := make([]store.ReportedDataset, 0, len(ds))
		for i, d := range ds {
			r, err := reportedDataset(fmt.Sprintf("%s[%d]", name, i), d, d.IOFacets)
			if err != nil {
				return nil, err
			}
			out = append(out, r)
		}
		return out, nil
	}
	if ins, err = list("inputs", inputs); err != nil {
		return nil, nil, err
	}
	outs, err = list("outputs", outputs)
	return ins, outs, err
}

func reportedDataset(field string, d Dataset, ioFacets map[string]any) (store.ReportedDataset, error) {
	version, err := pinnedVersion(field, d.Facets)
	if err != nil {
		return store.ReportedDataset{}, err
	}
	return store.ReportedDataset{
		Namespace: d.Namespace, Name: d.Name, URI: datasetURI(d.Namespace, d.Name),
		Version: version, Facets: d.Facets, RunFacets: ioFacets,
	}, nil
}

// versionFacets are the names of the version facet (DatasetVersionDatasetFacet), in
// the order they are looked for: "version" as the spec names it, "datasetVersion" as
// some producers do.
var versionFacets = []string{"version", "datasetVersion"}

// versionFacet returns the name of the version facet a dataset's facets hold, or "".
func versionFacet(facets map[string]any) string {
	for _, name := range versionFacets {
		if f, ok := facets[name]; ok && f != nil {
			return name
		}
	}
	return ""
}

// pinnedVersion returns the version a dataset's version facet pins, or "". The store
// checks what a version may be (its length, no '#').
func pinnedVersion(field string, facets map[string]any) (string, error) {
	name := versionFacet(facets)
	if name == "" {
		return "", nil
	}
	ffield := field + ".facets." + name
	m, ok := facets[name].(map[string]any)
	if !ok {
		return "", apperr.Invalid(ffield, "must be a JSON object with a datasetVersion string")
	}
	v, ok := m["datasetVersion"].(string)
	if !ok {
		return "", apperr.Invalid(ffield+".datasetVersion", "must be a string (the dataset version)")
	}
	if strings.TrimSpace(v) == "" {
		return "", apperr.Invalid(ffield+".datasetVersion", "must not be empty")
	}
	return v, nil
}

// datasetURI is where a dataset lives, by OpenLineage's naming: the namespace is a
// data source (scheme://authority) and the name a path within it.
func datasetURI(namespace, name string) string {
	if namespace == "file" {
		return "file://" + "/" + strings.TrimPrefix(name, "/")
	}
	return strings.TrimSuffix(namespace, "/") + "/" + strings.TrimPrefix(name, "/")
}

// eventFields map the fields of the store's reports to the fields of the event they
// were translated from, longest first: a rule the store finds broken names the field
// of the event, as the rules checked here do.
var eventFields = []struct{ report, event string }{
	{"parent.runId", "run.facets.parent.run.runId"},
	{"parent.job", "run.facets.parent.job"},
	{"runId", "run.runId"},
	{"status", "eventType"},
	{"at", "eventTime"},
	{"facets", "run.facets"},
}

// datasetField matches the fields of a reported dataset the translation renames: its
// version and its run facets.
var datasetField = regexp.MustCompile(`^(?:(inputs|outputs)\[(\d+)\]|dataset)\.(version|runFacets)(.*)$`)

// eventField returns the field of event ev that a report's field was translated from:
// for instance "run.facets.parent.run.runId" for "parent.runId", or
// "inputs[0].facets.version.datasetVersion" for "inputs[0].version". Fields the
// translation keeps ("job.name", "inputs[2].namespace") are returned unchanged.
func eventField(ev Event, field string) string {
	if m := datasetField.FindStringSubmatch(field); m != nil {
		list, what, rest := m[1], m[3], m[4]
		item := "dataset"
		if list != "" {
			item = list + "[" + m[2] + "]"
		}
		if what == "runFacets" {
			return item + "." + map[string]string{"inputs": "inputFacets", "outputs": "outputFacets"}[list] + rest
		}
		i, _ := strconv.Atoi(m[2])
		name := cmp.Or(versionFacet(datasetAt(ev, list, i).Facets), versionFacets[0])
		return item + ".facets." + name + ".datasetVersion" + rest
	}
	for _, f := range eventFields {
		if field == f.report || strings.HasPrefix(field, f.report+".") {
			return f.event + strings.TrimPrefix(field, f.report)
		}
	}
	return field
}

// datasetAt returns dataset i of ev's list ("inputs" or "outputs"), or for list "" the
// dataset of a DatasetEvent.
func datasetAt(ev Event, list string, i int) Dataset {
	var ds []Dataset
	switch {
	case list == "" && ev.Dataset != nil:
		return ev.Dataset.Dataset
	case ev.Run != nil:
		ds = map[string][]Dataset{"inputs": ev.Run.Inputs, "outputs": ev.Run.Outputs}[list]
	case ev.Job != nil:
		ds = map[string][]Dataset{"inputs": ev.Job.Inputs, "outputs": ev.Job.Outputs}[list]
	}
	if i < 0 || i >= len(ds) {
		return Dataset{}
	}
	return ds[i]
}

// inEventTerms returns err with its field renamed to the field of event ev it
// concerns (see eventField).
func inEventTerms(ev Event, err error) error {
	e, ok := apperr.As(err)
	if !ok || e.Field == "" {
		return err
	}
	return apperr.WithField(err, e.Field, eventField(ev, e.Field))
}

// RunsExperiment is the experiment runs reported by events are recorded in (created
// on the first one), for callers that record events themselves (provgraph import).
func RunsExperiment() store.ExperimentInput { return experiment }

// InEventTerms returns a store error about the report an event was translated into
// with its field renamed to the event's field it concerns ("inputs[0].facets...").
func InEventTerms(ev Event, err error) error { return inEventTerms(ev, err) }
