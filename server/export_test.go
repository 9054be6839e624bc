package server

import "net/http"

// NewObserved is New for tests of lineagedirect.go: answered learns, for each lineage
// answer, whether it was written without gqlgen's executor; with gqlgenOnly, gqlgen
// writes every answer (and answered learns nothing).
func NewObserved(opts Options, gqlgenOnly bool, answered func(direct bool)) http.Handler {
	opts.lineage = lineageProbe{gqlgenOnly: gqlgenOnly, answered: answered}
	return New(opts)
}

// NewWithGqlgenPOST is New answering POST requests with gqlgen's transport.POST, for
// comparing answerPOST's answers with it.
func NewWithGqlgenPOST(opts Options) http.Handler {
	opts.gqlgenPOST = true
	return New(opts)
}
