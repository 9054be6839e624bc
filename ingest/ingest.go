// Package ingest holds what the ingest surfaces (the mlflow, openlineage and sagemaker
// sub-packages) share: how they report what became of the items they were sent, so the
// server can count them (docs/operations.md) without the surfaces knowing about metrics.
package ingest

import "github.com/provgraph/provgraph/apperr"

// Outcome is what became of one ingested item.
type Outcome string

// The outcomes of an item.
const (
	// Accepted: recorded (committed).
	Accepted Outcome = "accepted"
	// Rejected: refused because of what was sent (invalid, contradicting what is
	// recorded, naming something unknown); sending it again fails again.
	Rejected Outcome = "rejected"
	// Failed: not recorded because provgraph could not (the graph database was
	// unavailable, an internal error); sending it again later may succeed.
	Failed Outcome = "failed"
	// Ignored: understood, with nothing to record (SageMaker events of no interest).
	Ignored Outcome = "ignored"
)

// Counter is told how many items of a request had an outcome. The server gives each
// surface one backed by its metrics; a nil Counter counts nothing.
type Counter func(o Outcome, n int)

// Add counts n items with outcome o.
func (c Counter) Add(o Outcome, n int) {
	if c != nil && n > 0 {
		c(o, n)
	}
}

// OutcomeOf is the outcome of an item whose recording returned err.
func OutcomeOf(err error) Outcome {
	if err == nil {
		return Accepted
	}
	return OutcomeOfCode(apperr.CodeOf(err))
}

// OutcomeOfCode is the outcome of an item refused with an error of code c.
func OutcomeOfCode(c apperr.Code) Outcome {
	switch c {
	case apperr.Unavailable, apperr.Internal:
		return Failed
	}
	return Rejected
}
