package store_test

import (
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
