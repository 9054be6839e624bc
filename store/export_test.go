package store

import (
	"context"
	"strings"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
)

// WriteTx exposes write to the external tests, which need a transaction of their own
// to provoke what only concurrent transactions can (a deadlock the driver retries).
// Its entries are audited as action "test.write" by actor "test".
func WriteTx[T any](ctx context.Context, s *Store, work func(tx neo4j.ManagedTransaction) (T, error)) (T, error) {
	return write(ctx, s, "test", "test.write", func(tx neo4j.ManagedTransaction, _ *audit) (T, error) { return work(tx) })
}

// SearchWordCases are texts and the words a search makes of them, which are the terms
// the full-text index makes of the same text.
var SearchWordCases = map[string][]string{
	"fraud":                       {"fraud"},
	"Fraud PRD":                   {"fraud", "prd"},
	"endpoint:fraud-prod":         {"endpoint:fraud", "prod"},
	"model.tar.gz":                {"model.tar.gz"},
	"s3://lake/customers/2026-01": {"s3", "lake", "customers", "2026", "01"},
	"v1.2":                        {"v1.2"},
	"a.3 x:9":                     {"a", "3", "x", "9"},
	"1,000;5":                     {"1,000;5"},
	"fraud_train":                 {"fraud_train"},
	"模型 ab":                       {"模", "型", "ab"},
	"Größe":                       {"größe"},
	"don't":                       {"don't"},
	"trailing. 'quoted'":          {"trailing", "quoted"},
	"!!! ---":                     nil,
	"x AND y OR NOT z":            {"x", "and", "y", "or", "not", "z"},
	"sha256:9f2c1a7e":             {"sha256", "9f2c1a7e"},
}

// NodeSearchIndex is the name of the full-text index search reads.
const NodeSearchIndex = nodeSearchIndex

// SearchWords exposes searchWords to the external tests.
var SearchWords = searchWords

// IndexHasTerm tells whether the full-text index holds word as a term of the name of
// the node with key.
func IndexHasTerm(ctx context.Context, s *Store, key, word string) (bool, error) {
	return read(ctx, s, func(tx neo4j.ManagedTransaction) (bool, error) {
		recs, err := collect(ctx, tx, cypherAwaitNodeSearch+`
CALL db.index.fulltext.queryNodes('`+nodeSearchIndex+`', $q) YIELD node
WHERE node.key = $key RETURN count(node) AS n`, map[string]any{"q": propName + ":" + escapeLucene(word), "key": key})
		if err != nil {
			return false, err
		}
		n, _ := recs[0].Get("n")
		return n.(int64) > 0, nil
	})
}

// LuceneQuery exposes the full-text query a search sends (scratch).
func LuceneQuery(text string) string { return luceneQuery(searchWords(text), nil) }

// ListLoggedModelsPlan returns the operators of the plan Neo4j makes for the query
// ListLoggedModels sends for these experiments (nil: every experiment), each as
// "Operator details" indented by depth, as EXPLAIN shows them.
func ListLoggedModelsPlan(ctx context.Context, s *Store, experimentIDs []string) ([]string, error) {
	query, params := listLoggedModelsQuery(experimentIDs, "", 100)
	return read(ctx, s, func(tx neo4j.ManagedTransaction) ([]string, error) {
		res, err := tx.Run(ctx, "EXPLAIN "+query, params)
		if err != nil {
			return nil, err
		}
		sum, err := res.Consume(ctx)
		if err != nil {
			return nil, err
		}
		var out []string
		var walk func(p neo4j.Plan, depth int)
		walk = func(p neo4j.Plan, depth int) {
			details, _ := p.Arguments()["Details"].(string)
			op, _, _ := strings.Cut(p.Operator(), "@")
			out = append(out, strings.Repeat("  ", depth)+op+" "+details)
			for _, c := range p.Children() {
				walk(c, depth+1)
			}
		}
		walk(sum.Plan(), 0)
		return out, nil
	})
}
