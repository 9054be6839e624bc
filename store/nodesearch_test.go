package store

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/apperr"
)

// A search text splits into the terms the index's analyzer makes of the same text, so
// that a word typed whole matches the term it names (the external test
// TestSearchWordsAreIndexTerms checks the same table against Neo4j itself).
func TestSearchWords(t *testing.T) {
	t.Parallel()
	for text, want := range SearchWordCases {
		assert.Equal(t, want, searchWords(text), "%q", text)
	}
}

func TestCheckSearchText(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		text string
		rule string // "" when valid
	}{
		{"fraud", ""},
		{"  endpoint:fraud-prod  ", ""},
		{strings.Repeat("x", MaxSearchTextLength), ""},
		{"", "must not be empty"},
		{" \t ", "must not be empty"},
		{strings.Repeat("x", MaxSearchTextLength+1), "at most 200 characters"},
		{"a b c d e f g h", ""},
		{"a b c d e f g h i", "at most 8 words (got 9)"},
		{"--- !!!", "must hold a letter or a digit"},
		{"fraud\x00", "control characters"},
		{"\xff", "valid UTF-8"},
	} {
		got, words, err := checkSearchText("text", tt.text)
		if tt.rule == "" {
			require.NoError(t, err, "%q", tt.text)
			assert.Equal(t, strings.TrimSpace(tt.text), got)
			assert.NotEmpty(t, words)
			continue
		}
		require.Error(t, err, "%q", tt.text)
		assert.Equal(t, apperr.InvalidArgument, apperr.CodeOf(err))
		assert.Contains(t, err.Error(), tt.rule)
		assert.True(t, strings.HasPrefix(err.Error(), "text: "), err.Error())
	}
}

// Whatever the user types is terms, never query syntax: every character Lucene reads as
// an operator is escaped.
func TestEscapeLucene(t *testing.T) {
	t.Parallel()
	assert.Equal(t, `a\+b\-c\!\(d\)e\:f\^g\[h\]i\"j\{k\}l\~m\*n\?o\|p\&q\/r\\s\ t`, escapeLucene(`a+b-c!(d)e:f^g[h]i"j{k}l~m*n?o|p&q/r\s t`))
	assert.Equal(t, "endpoint\\:fraud", escapeLucene("endpoint:fraud"))
	assert.Equal(t, "größe", escapeLucene("größe"))
}

func TestLuceneQuery(t *testing.T) {
	t.Parallel()
	q := luceneQuery([]string{"frad"}, []Kind{KindEndpoint, KindDatasetVersion})
	assert.True(t, strings.HasPrefix(q, "+kind:(endpoint OR datasetversion) +(name:(frad^3 OR frad*^2 OR frad~1)^4 OR key:(frad^3 OR frad*^2)^3 OR "), q)
	assert.True(t, strings.HasSuffix(q, " -lifecycle:deleted"), q)
	assert.Equal(t, 1, strings.Count(q, "~"), "typos are forgiven in names only")

	q = luceneQuery([]string{"endpoint:fraud", "prod", "12"}, nil)
	assert.True(t, strings.HasPrefix(q, "+(name:(endpoint\\:fraud^3 OR endpoint\\:fraud*^2 OR endpoint\\:fraud~2)^4 OR "), q)
	assert.Equal(t, 3, strings.Count(q, "+("), "every word must match")
	assert.Contains(t, q, "name:(prod^3 OR prod*^2 OR prod~1)^4")
	assert.Contains(t, q, "name:(12^3 OR 12*^2)^4", "numbers are not fuzzy")
	assert.NotContains(t, q, "kind:")
}

func TestFuzzyEdits(t *testing.T) {
	t.Parallel()
	for w, want := range map[string]int{"fr": 0, "prd": 1, "frad": 1, "fraud": 1, "fraudd": 2, "2026": 0, "20260101": 0, "s3x": 1, "größe": 1} {
		assert.Equal(t, want, fuzzyEdits(w), w)
	}
}

func TestCheckKinds(t *testing.T) {
	t.Parallel()
	jobs := []Kind{KindTrainingJob, KindProcessingJob}
	got, err := checkKinds("kinds", []Kind{KindProcessingJob, KindProcessingJob}, jobs)
	require.NoError(t, err)
	assert.Equal(t, []Kind{KindProcessingJob}, got, "repeats are dropped")
	got, err = checkKinds("kinds", nil, jobs)
	require.NoError(t, err)
	assert.Empty(t, got)
	_, err = checkKinds("kinds", []Kind{KindTrainingJob, KindDataset}, jobs)
	require.Error(t, err)
	assert.Equal(t, "kinds[1]: must be one of TrainingJob, ProcessingJob (got Dataset)", err.Error())
}
