// Package mlmd reads a Google ML Metadata (MLMD) database — the lineage store under TFX
// and Kubeflow Pipelines — directly with SQL, from a SQLite file or a MySQL server, and
// translates it into provgraph's nodes and edges: artifacts become dataset versions,
// artifacts or model versions, executions become training or processing jobs, events
// become INPUT_TO and PRODUCED edges, and contexts (through attributions and
// associations) name the experiment and run group of what they hold. Which MLMD type
// becomes what is a Mapping: defaults for TFX's and Kubeflow Pipelines' own types,
// overridden by a small mapping file (docs/import-mlmd.md).
//
// The output is a deterministic stream of records in batches: every artifact by id,
// then every execution by id, then every event by id. Each record carries its ref
// ("artifact 17"), so a record that cannot be mapped is reported by its MLMD id and a
// resumed import can skip the records it committed.
package mlmd

import "github.com/provgraph/provgraph/store"

// Record is what one row of the MLMD database (an artifact, an execution, an event)
// becomes. A record that could not be mapped has Err set and no nodes or edges; a
// record of an ignored type, or one whose nodes an earlier record already carried, may
// have neither.
type Record struct {
	// Ref names the row: "artifact 17", "execution 5", "event 9".
	Ref   string
	Nodes []store.NodeRecord
	Edges []store.EdgeRecord
	Err   error
}

// The refs' first words.
const (
	refArtifact  = "artifact"
	refExecution = "execution"
	refEvent     = "event"
)

// DefaultBatchSize is the number of MLMD rows (so records) in a batch when the caller
// gives none; MaxBatchSize is the largest batch Read accepts (docs/import-mlmd.md).
const (
	DefaultBatchSize = 500
	MaxBatchSize     = 10000
)
