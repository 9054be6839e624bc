package store

import "time"

// AuditObserver hears what the audit log's sequencer does, for metrics.
type AuditObserver interface {
	// EntriesSequenced is called after a sequencing transaction integrated a batch: turn
	// is how long the transaction took, from its start to its commit, and lags holds,
	// for each entry, how long it waited from its write recording it (just before the
	// commit) to being sequenced.
	EntriesSequenced(turn time.Duration, lags []time.Duration)
	// CheckpointPublished is called when a signed checkpoint of the given tree size,
	// dated at, was stored.
	CheckpointPublished(size int64, at time.Time)
}

// ObserveAudit makes o hear what this process's audit sequencer does (the server's
// metrics); nil stops it hearing. It may be called while the sequencer runs.
func (s *Store) ObserveAudit(o AuditObserver) {
	s.auditObserverMu.Lock()
	defer s.auditObserverMu.Unlock()
	s.auditObserver = o
}

// auditObserved is the observer the sequencer reports to: the one ObserveAudit set,
// or one that hears nothing, so the sequencer never checks for nil. Its methods run
// inline on the sequencer's path and must be quick.
func (s *Store) auditObserved() AuditObserver {
	s.auditObserverMu.RLock()
	defer s.auditObserverMu.RUnlock()
	if s.auditObserver == nil {
		return noAuditObserver{}
	}
	return s.auditObserver
}

// noAuditObserver hears nothing.
type noAuditObserver struct{}

func (noAuditObserver) EntriesSequenced(time.Duration, []time.Duration) {}
func (noAuditObserver) CheckpointPublished(int64, time.Time)            {}
