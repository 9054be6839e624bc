package store_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/internal/neo4jtest"
	"github.com/provgraph/provgraph/store"
)

// The words a search makes of a text are the terms Neo4j's analyzer indexes for the same
// text: a name typed whole is found by its exact terms.
func TestSearchWordsAreIndexTerms(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	tk := neo4jtest.Token(t)
	i := 0
	for text, words := range store.SearchWordCases {
		i++
		key := "endpoint:words-" + tk + "-" + string(rune('a'+i))
		neo4jtest.Exec(t, `CREATE (:Node:Endpoint {key: $key, kind: 'Endpoint', name: $name, recordedAt: datetime(), recordedBy: 'test'})`,
			map[string]any{"key": key, "name": text})
		assert.Equal(t, words, store.SearchWords(text))
		for _, w := range words {
			ok, err := store.IndexHasTerm(t.Context(), st, key, w)
			require.NoError(t, err)
			assert.True(t, ok, "%q is a term of %q", w, text)
		}
	}
}

// The full-text index is updated after each commit, on a thread of Neo4j's own, yet a
// search finds a node as soon as its write was acknowledged: each search waits for the
// updates of the transactions committed before it. Each write here is a batch of 300
// nodes, so that their index update takes a while after the commit; without that wait
// the search right after it finds none of them, or some.
func TestSearchFindsANodeAsSoonAsItsWriteIsAcknowledged(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	tk := neo4jtest.Token(t)
	idx := neo4jtest.Exec(t, "SHOW FULLTEXT INDEXES YIELD name, options WHERE name = $name RETURN options.indexConfig AS config",
		map[string]any{"name": store.NodeSearchIndex})
	require.Len(t, idx.Records, 1, "the full-text index %s exists", store.NodeSearchIndex)
	config, _ := idx.Records[0].Get("config")
	assert.Equal(t, true, config.(map[string]any)["fulltext.eventually_consistent"], "the index is updated after commits")
	const batch = 300
	for i := range 5 {
		// Words apart by more edits than a search forgives.
		word := "fresh" + tk + strings.Repeat(string(rune('a'+i)), 5)
		nodes := make([]store.NodeRecord, batch)
		for j := range nodes {
			name := fmt.Sprintf("%s-%d", word, j)
			nodes[j] = store.NodeRecord{Key: store.EndpointKey(name), Kind: store.KindEndpoint, Name: word + " " + name}
		}
		res, err := st.Import(t.Context(), "test", store.ImportBatch{Nodes: nodes,
			Mark: store.ImportMark{Source: "search-" + word, BatchSize: batch, Batch: 1, Items: batch}})
		require.NoError(t, err)
		require.Equal(t, batch, res.NodesCreated)
		page, err := st.SearchNodes(t.Context(), store.NodeSearch{Text: word, Kinds: []store.Kind{store.KindEndpoint}, First: 5})
		require.NoError(t, err)
		require.Equal(t, batch, page.TotalCount, "batch %d is found whole by the search after it", i)
	}
}
