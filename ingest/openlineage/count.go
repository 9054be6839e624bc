package openlineage

import "github.com/provgraph/provgraph/ingest"

// countBatch tells count what became of the events of a batch.
func countBatch(count ingest.Counter, res BatchResult) {
	count.Add(ingest.Accepted, res.Successful)
	for _, f := range res.FailedEvents {
		count.Add(ingest.OutcomeOfCode(f.Code), 1)
	}
}
