package store_test

import (
	"fmt"
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
// updates of the transactions committed before it. Without that wait, searching right
// after each of these writes misses some of them (the index is behind by the update
// of the last commit).
func TestSearchFindsANodeAsSoonAsItsWriteIsAcknowledged(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	tk := neo4jtest.Token(t)
	idx := neo4jtest.Exec(t, "SHOW FULLTEXT INDEXES YIELD name, options WHERE name = $name RETURN options.indexConfig AS config",
		map[string]any{"name": store.NodeSearchIndex})
	require.Len(t, idx.Records, 1, "the full-text index %s exists", store.NodeSearchIndex)
	config, _ := idx.Records[0].Get("config")
	assert.Equal(t, true, config.(map[string]any)["fulltext.eventually_consistent"], "the index is updated after commits")
	for i := range 30 {
		// A word of the name, not the whole name, so that the full-text index finds it
		// (a search also looks a name up whole, in a range index updated in the commit).
		word := fmt.Sprintf("fresh%s%d", tk, i)
		m, err := st.CreateRegisteredModel(t.Context(), "test", "model "+word, nil, nil)
		require.NoError(t, err)
		page, err := st.SearchNodes(t.Context(), store.NodeSearch{Text: word, First: 5})
		require.NoError(t, err)
		var keys []string
		for _, h := range page.Hits {
			keys = append(keys, h.Node.Key)
		}
		require.Contains(t, keys, m.Key, "write %d is found by the search after it", i)
	}
}
