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
	assert.True(t, strings.HasPrefix(q, "+kind:(endpoint OR datasetversion) +(name:(frad^3 OR frad*^2 OR frad~1)^4 OR tagValues:(frad^3 OR frad*^2 OR frad~1)^2 OR namespace:(frad^3) OR "), q)
	assert.True(t, strings.HasSuffix(q, " -lifecycle:deleted"), q)
	assert.Equal(t, 2, strings.Count(q, "~"), "typos are forgiven in names and tag values only")
	assert.Contains(t, q, "runId:(frad^3 OR frad*^2)", "identifiers are typed from their start")
	assert.NotContains(t, q, "key:", "IDs are not searched: they repeat what other properties hold")

	q = luceneQuery([]string{"prod", "12"}, nil)
	assert.Equal(t, 2, strings.Count(q, "+("), "every word must match")
	assert.Contains(t, q, "name:(prod^3 OR prod*^2 OR prod~1)^4")
	assert.Contains(t, q, "name:(12^3 OR 12*^2)^4", "numbers are not fuzzy")
	assert.Contains(t, q, "uri:(prod^3)", "URIs, descriptions and namespaces match whole words")
	assert.NotContains(t, q, "kind:")

	q = luceneQuery([]string{"fr"}, nil)
	assert.Contains(t, q, "name:(fr^3 OR fr*^2)^4", "a short word starts names")
	assert.Contains(t, q, "tagValues:(fr^3)^2", "but is looked for whole elsewhere")

	// A word with a colon is one term or its parts.
	q = luceneQuery([]string{"lake:customers"}, nil)
	assert.True(t, strings.HasPrefix(q, "+((name:(lake\\:customers^3 OR lake\\:customers*^2 OR lake\\:customers~2)^4 OR "), q)
	assert.Contains(t, q, " OR (+(name:(lake^3 OR lake*^2 OR lake~1)^4 OR ")
	assert.Contains(t, q, " +(name:(customers^3 OR customers*^2 OR customers~2)^4 OR ")
}

// A text that starts like an ID is searched for by what the ID is made of.
func TestWithoutIDPrefix(t *testing.T) {
	t.Parallel()
	for text, want := range map[string]string{
		"endpoint:fraud-prod":           "fraud-prod",
		"datasetVersion:s3://lake:c#v1": "s3://lake:c#v1",
		"DATASETVERSION:s3://lake:c#v1": "s3://lake:c#v1",
		"dataset:s3://lake:customers":   "s3://lake:customers",
		"run:0123":                      "0123",
		"runGroup:12/sweep":             "12/sweep",
		"model:fraud/3":                 "fraud/3",
		"endpoint:":                     "endpoint:",
		"fraud endpoint:x":              "fraud endpoint:x",
		"s3://lake/customers":           "s3://lake/customers",
	} {
		assert.Equal(t, want, withoutIDPrefix(text), text)
	}
	_, words, err := checkSearchText("text", "datasetVersion:s3://lake:customers/2026-01#sha256:9f2c")
	require.NoError(t, err)
	assert.Equal(t, []string{"s3", "lake:customers", "2026", "01", "sha256", "9f2c"}, words)
	_, _, err = checkSearchText("text", "a:b:c:d:e:f:g:h:i")
	require.Error(t, err, "the parts of a word count")
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
