package openlineage

import (
	"regexp"
	"strings"
	"time"

	"github.com/provgraph/provgraph/apperr"
)

// The decoded events, in OpenLineage's own terms (spec 2-0-2). Decode makes them from
// JSON; Translate turns them into the store's lineage reports.

// EventType is the run-state transition a RunEvent reports.
type EventType string

// The RunEvent types of the spec. An event without one is OTHER.
const (
	Start    EventType = "START"
	Running  EventType = "RUNNING"
	Complete EventType = "COMPLETE"
	Abort    EventType = "ABORT"
	Fail     EventType = "FAIL"
	Other    EventType = "OTHER"
)

// Job is the job of an event: its namespace, name and job facets.
type Job struct {
	Namespace string
	Name      string
	// Facets are the job facets by name, as decoded JSON values.
	Facets map[string]any
}

// Dataset is a dataset an event names, with its dataset facets (schema, dataSource,
// version, columnLineage, custom ones) as decoded JSON values.
type Dataset struct {
	Namespace string
	Name      string
	Facets    map[string]any
	// IOFacets are the input facets of an input or the output facets of an output
	// (inputStatistics, outputStatistics, ...): how this run used the dataset.
	IOFacets map[string]any
}

// Parent is what a parent run facet says: the parent's run id and job.
type Parent struct {
	RunID        string
	JobNamespace string
	JobName      string
}

// RunEvent is a decoded RunEvent.
type RunEvent struct {
	// EventType "" is OTHER.
	EventType EventType
	EventTime time.Time
	// RunID is the run's UUID as sent.
	RunID string
	// RunFacets are the run facets (the parent facet among them) as decoded JSON.
	RunFacets map[string]any
	// Parent, when set, makes the run a nested run of that run.
	Parent  *Parent
	Job     Job
	Inputs  []Dataset
	Outputs []Dataset
}

// JobEvent is a decoded JobEvent: a job and what it reads and writes, without a run.
type JobEvent struct {
	EventTime time.Time
	Job       Job
	Inputs    []Dataset
	Outputs   []Dataset
}

// DatasetEvent is a decoded DatasetEvent: metadata about one dataset.
type DatasetEvent struct {
	EventTime time.Time
	Dataset   Dataset
}

// RunID turns an OpenLineage run id (a UUID) into a provgraph run id: its 32
// hexadecimal digits, lowercase. field names the input in the error.
func RunID(field, runID string) (string, error) {
	if !uuidForm.MatchString(runID) {
		return "", apperr.Invalid(field, "must be a UUID such as \"0176a8c2-fe01-7439-87e6-56a1a1b4029f\" (got %q)", truncate(runID))
	}
	return strings.ToLower(strings.ReplaceAll(runID, "-", "")), nil
}

var uuidForm = regexp.MustCompile(`^(?:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{32})$`)
