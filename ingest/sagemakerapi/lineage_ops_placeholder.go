package sagemakerapi

// lineageOps is replaced by the ML Lineage operations (lineage*.go) when that branch is
// merged; this placeholder is then deleted.
func lineageOps() map[string]opFunc { return nil }
