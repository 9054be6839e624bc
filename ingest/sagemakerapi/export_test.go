package sagemakerapi

// KeyOfARN reads the node ID of an ARN provgraph minted with the default account and
// region ("" when it names none), for tests that compare answers with the graph.
func KeyOfARN(arn string) string {
	_, key, _ := Options{}.arns().keyOf(arn)
	return key
}

// SetWholeCone lowers the most nodes a cone may have to be answered from one
// traversal, until the returned function restores it.
func SetWholeCone(n int) (restore func()) {
	old := wholeCone.Swap(int64(n))
	return func() { wholeCone.Store(old) }
}

// SetConeCaching turns the cone cache on or off (off: no cone is kept or answered
// from), until the returned function restores it.
func SetConeCaching(on bool) (restore func()) {
	old := keepingCones.Swap(on)
	return func() { keepingCones.Store(old) }
}

// ForgetKeptCones makes every process's kept cones unanswerable, as if they had been
// dropped: the next page of each traverses again.
func ForgetKeptCones() { coneEpoch.Add(1) }
