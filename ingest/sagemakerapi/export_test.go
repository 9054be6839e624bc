package sagemakerapi

// KeyOfARN reads the node ID of an ARN provgraph minted with the default account and
// region ("" when it names none), for tests that compare answers with the graph.
func KeyOfARN(arn string) string {
	_, key, _ := Options{}.arns().keyOf(arn)
	return key
}
