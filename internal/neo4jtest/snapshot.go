package neo4jtest

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"

	"github.com/provgraph/provgraph/store"
)

// Snapshot returns a canonical description of every node whose key contains token
// and of every relationship touching one, with all properties. Comparing snapshots
// before and after a rejected request proves the request wrote nothing, even when
// other tests write to the same database concurrently under their own tokens.
func Snapshot(t testing.TB, token string) []string {
	t.Helper()
	// Each label with keys is searched on its own, so the tests' text index on node keys
	// (snapshotKeyIndex) answers the CONTAINS of provenance nodes (a scan of every node
	// would take seconds on a database that holds millions).
	q := `
CALL () {
  MATCH (n:` + store.LabelNode + `) WHERE n.key CONTAINS $token RETURN n`
	for _, label := range store.LookupRecordLabels() {
		q += `
  UNION
  MATCH (n:` + label + `) WHERE n.key CONTAINS $token RETURN n`
	}
	q += `
}
OPTIONAL MATCH (n)-[r]-()
RETURN n, labels(n) AS labels, collect(DISTINCT r) AS rels`
	res := Exec(t, q, map[string]any{"token": token})
	seen := map[string]bool{}
	var out []string
	keyOf := map[string]string{}
	for _, rec := range res.Records {
		n, _ := rec.Get("n")
		node := n.(neo4j.Node)
		keyOf[node.ElementId], _ = node.Props["key"].(string)
	}
	for _, rec := range res.Records {
		n, _ := rec.Get("n")
		node := n.(neo4j.Node)
		labels, _ := rec.Get("labels")
		line := fmt.Sprintf("node %v %s", labels, canonical(node.Props))
		if !seen[line] {
			seen[line] = true
			out = append(out, line)
		}
		rels, _ := rec.Get("rels")
		for _, r := range rels.([]any) {
			rel := r.(neo4j.Relationship)
			from, to := keyOf[rel.StartElementId], keyOf[rel.EndElementId]
			if from == "" {
				from = rel.StartElementId
			}
			if to == "" {
				to = rel.EndElementId
			}
			line := fmt.Sprintf("rel %s -[%s %s]-> %s", from, rel.Type, canonical(rel.Props), to)
			if !seen[line] {
				seen[line] = true
				out = append(out, line)
			}
		}
	}
	sort.Strings(out)
	return out
}

func canonical(props map[string]any) string {
	m := make(map[string]string, len(props))
	for k, v := range props {
		m[k] = fmt.Sprintf("%v", v)
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// Exec runs one Cypher statement on the test Neo4j and returns its records, for test
// set-up, checks and clean-up that the store has no method for (dropping a test's own
// indexes, say).
func Exec(t testing.TB, cypher string, params map[string]any) *neo4j.EagerResult {
	t.Helper()
	cfg := Config(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	driver, err := neo4j.NewDriverWithContext(cfg.URI, neo4j.BasicAuth(cfg.User, cfg.Password, ""))
	if err != nil {
		t.Fatalf("test driver: %v", err)
	}
	defer func() { _ = driver.Close(ctx) }()
	res, err := neo4j.ExecuteQuery(ctx, driver, cypher, params, neo4j.EagerResultTransformer,
		neo4j.ExecuteQueryWithDatabase(cfg.Database))
	if err != nil {
		t.Fatalf("exec %q: %v", cypher, err)
	}
	return res
}
