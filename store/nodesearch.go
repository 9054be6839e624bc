package store

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"

	"github.com/provgraph/provgraph/apperr"
)

// Node search: finding nodes by what a person remembers of them — a part of a name, an
// ID, a URI, a tag value or a word of a description — through a Neo4j full-text (Lucene)
// index over every node of the provenance graph.

// Limits of node search.
const (
	// MaxSearchTextLength is the longest search text, in characters.
	MaxSearchTextLength = 200
	// MaxSearchWords is the most words a search text may hold: each becomes terms in
	// every searched property (a fuzzy one up to 50), and Lucene bounds the terms of one
	// query.
	MaxSearchWords = 8
	// MaxSearchHits is how many of the best full-text matches a search ranks and pages
	// through; totalCount counts at most these, plus the node whose ID is the text and
	// (at most as many) nodes named the text. Ranking reads each hit's ID and name: a
	// word every node holds took 32 ms with 1,000 hits and 21 ms with 500 on the
	// 1M-node seed.
	MaxSearchHits = 500
)

// nodeSearchIndex is the full-text index over every node's searchable properties
// (nodeSearchAsyncMigration); node_search was the one before it.
const nodeSearchIndex = "node_search_async"

// searchFields are the properties the full-text index holds and a search looks in,
// with the weight a match in each gets (names first, then tag values, then the rest)
// and how a word may match there besides exactly.
//
// What they leave out is what made search slow (measured on the 1M-node seed, Lucene
// alone): a word's terms cost in proportion to the nodes they match in every field they
// are asked of, and a common word (`s3`, a shared prefix) matches most nodes in each
// field that repeats another. The node's ID repeats its namespace, name and URI, so it
// is not searched (an ID is found by the lookup of the whole text, and by its parts:
// withoutIDPrefix): `bench` 58 → 16 ms. The start of a word is looked for only in names,
// tag values and the one-of-a-kind identifiers (run ids, digests, version ids), and in
// names alone for words of one or two characters: `f` 65 → 7 ms.
var searchFields = []struct {
	prop   string
	weight int
	// prefixFrom is the shortest word looked for as the start of a term here (0: never).
	prefixFrom int
	// fuzzy: typos are forgiven here; each fuzzy term costs up to 50 expanded terms.
	fuzzy bool
}{
	{propName, 4, 1, true},
	{propTagValues, 2, 3, true},
	{propNamespace, 1, 0, false},
	{propURI, 1, 0, false},
	{propSource, 1, 0, false},
	{propArtifactURI, 1, 0, false},
	{propArtifactLocation, 1, 0, false},
	{propDescription, 1, 0, false},
	{propExperimentID, 1, 0, false},
	{propRunID, 1, 3, false},
	{propDigest, 1, 3, false},
	{propVersionID, 1, 3, false},
	{propModelID, 1, 3, false},
	{propExternalID, 1, 0, false},
}

// nodeSearchMigration creates the full-text index node search reads and the index of
// node names (and IDs, in that order) the listings read datasets and jobs by name from
// (listings.go). Besides the searched properties the full-text index holds each node's
// kind and lifecycle, which a search filters on inside Lucene (so that the hits it caps
// are all of the asked-for kinds). Neo4j fills both from the nodes already there (about
// 20 s for the 1M-node seed); Migrate waits until they are online.
//
// Keeping the full-text index up to date costs the writes that create nodes or change
// searched properties: OpenLineage batches on the 1M-node seed (2 cores, noisy) went
// from 2812 and 2307 to 1657 and 1457 events/s with 2 and 4 clients (1 client: within
// the noise). nodeSearchAsyncMigration replaced this index with one updated after
// each commit.
var nodeSearchMigration = Migration{
	Version:     8,
	Description: "node search: a full-text index over every node's names, URIs, tag values, descriptions and identifiers; node names",
	Statements: []string{
		cypherCreateNodeSearchIndex("node_search", false),
		`CREATE INDEX node_name_key IF NOT EXISTS FOR (n:` + LabelNode + `) ON (n.` + propName + `, n.key)`,
	},
	Indexes: []string{"node_search", "node_name_key"},
}

// nodeSearchAsyncMigration replaces the full-text index with one Neo4j updates after
// each commit, on a thread of its own (fulltext.eventually_consistent), instead of
// inside the commit: the writer that created the nodes no longer waits for Lucene.
// A search first waits for the updates of the transactions committed before it
// (SearchNodes), so a node is still found as soon as its write was
// acknowledged. The OpenLineage file of issue 14's pipeline graph (one writer,
// batches of 1,000) spent 3.3 of its 6.1 s of write transactions in BEGIN and COMMIT
// with the index updated inside the commits, 1.3 of 4.1 s after (BENCHMARKS.md, "The
// full-text index updated after commits"). Neo4j fills the new index from the nodes
// already there (28 s on the benchmark database, of over a million nodes; Migrate
// waits until it is online, before provgraph serves), after the old one is dropped: an older
// replica still running fails its searches from then on.
var nodeSearchAsyncMigration = Migration{
	Version:     14,
	Description: "node search: the full-text index updated after each commit, not inside it",
	// The old index goes first: Neo4j takes CREATE ... IF NOT EXISTS for an index of
	// the same kind over the same properties, whatever its options, as one that exists.
	Statements: []string{
		`DROP INDEX node_search IF EXISTS`,
		cypherCreateNodeSearchIndex(nodeSearchIndex, true),
	},
	Indexes: []string{nodeSearchIndex},
	Retired: []string{"node_search"},
}

// cypherCreateNodeSearchIndex creates the full-text index named name, updated after
// each commit when eventual.
func cypherCreateNodeSearchIndex(name string, eventual bool) string {
	props := make([]string, 0, len(searchFields)+2)
	for _, f := range searchFields {
		props = append(props, "n."+f.prop)
	}
	props = append(props, "n."+propKind, "n."+propLifecycle)
	// standard-no-stop-words (Neo4j's default, named so a changed default cannot change
	// this index): Unicode word boundaries, lowercased, no stop words dropped, so a run
	// named "to-do" stays findable.
	return `CREATE FULLTEXT INDEX ` + name + ` IF NOT EXISTS
FOR (n:` + LabelNode + `) ON EACH [` + strings.Join(props, ", ") + `]
OPTIONS {indexConfig: {` + "`fulltext.analyzer`" + `: 'standard-no-stop-words', ` + "`fulltext.eventually_consistent`" + `: ` +
		strconv.FormatBool(eventual) + `}}`
}

// NodeSearch asks for the nodes best matching a text.
type NodeSearch struct {
	Text string
	// Kinds, when not empty, keeps only nodes of these kinds.
	Kinds []Kind
	First int
	After string
}

// SearchHit is one node found, with its Lucene relevance score.
type SearchHit struct {
	Node  Node
	Score float64
	// Cursor points after this hit.
	Cursor string
}

// SearchPage is one page of search hits, best first.
type SearchPage struct {
	Hits []SearchHit
	// EndCursor is where the next page starts; "" when none follows.
	EndCursor string
	// TotalCount is how many nodes match, counting at most MaxSearchHits full-text
	// matches (and the exact matches besides).
	TotalCount int
}

// nodeSearchCursor is a position in a ranked search answer: after its first Offset
// hits, for the search with the fingerprint Query. Not after a score: Lucene's scores
// depend on the whole index, so every write elsewhere moves them all (a cursor keyed
// on one repeated or skipped whole pages while other writes went on); the order of
// the hits among themselves, ties broken by ID, stays.
type nodeSearchCursor struct {
	Offset int    `json:"o"`
	Query  string `json:"q"`
}

// cypherSearchNodes ranks the full-text matches (at most $cap of them, Lucene's best),
// the node whose ID is the text and the nodes named the text (up to $cap, from the
// node_name_key index, which `n.key IS NOT NULL` lets the planner use; found even where
// the text's words are not a name's terms): an exact ID match first, then exact name
// matches (ignoring case), then by score, ties by ID, and returns the page after
// $offset of them with the count of all. SearchNodes runs cypherAwaitNodeSearch
// before it, in the same transaction.
const cypherSearchNodes = `
CALL () {
  MATCH (n:` + LabelNode + ` {key: $text})
  WHERE $kinds IS NULL OR n.kind IN $kinds
  RETURN n, 0.0 AS score
  UNION
  MATCH (n:` + LabelNode + `)
  WHERE n.` + propName + ` = $text AND n.key IS NOT NULL AND ($kinds IS NULL OR n.kind IN $kinds)
    AND coalesce(n.` + propLifecycle + `, '') <> '` + string(LifecycleDeleted) + `'
  WITH n LIMIT $cap
  RETURN n, 0.0 AS score
  UNION
  CALL db.index.fulltext.queryNodes('` + nodeSearchIndex + `', $lucene, {limit: $cap}) YIELD node, score
  RETURN node AS n, score
}
WITH n, max(score) AS score
WITH collect({n: n, score: score,
  rank: CASE WHEN n.key = $text THEN 2 WHEN toLower(n.name) = $name THEN 1 ELSE 0 END}) AS hits
CALL (hits) {
  UNWIND hits AS h
  WITH h.n AS n, h.score AS score, h.rank AS rank
  ORDER BY rank DESC, score DESC, n.key
  SKIP $offset LIMIT $limit
  RETURN collect({node: n {.*}, score: score}) AS page
}
RETURN size(hits) AS total, page`

// SearchNodes finds the nodes whose names, URIs, tag values, descriptions or
// identifiers match the words of a text (luceneQuery), or whose ID or name is the text.
// An exact ID match comes first, then exact name matches (ignoring case), then by
// Lucene score, ties broken by ID. Soft-deleted experiments and runs are left out
// unless their ID is the text.
func (s *Store) SearchNodes(ctx context.Context, q NodeSearch) (SearchPage, error) {
	first, err := checkPage(&q.First)
	if err != nil {
		return SearchPage{}, err
	}
	text, words, err := checkSearchText("text", q.Text)
	if err != nil {
		return SearchPage{}, err
	}
	kinds, err := checkKinds("kinds", q.Kinds, Kinds)
	if err != nil {
		return SearchPage{}, err
	}
	fp := queryFingerprint(text, kinds)
	offset := 0
	if q.After != "" {
		var c nodeSearchCursor
		if err := decodeOpaque("after", q.After, 256, &c); err != nil || c.Offset < 1 || c.Offset > 2*MaxSearchHits+1 {
			return SearchPage{}, errNotCursor("after")
		}
		if c.Query != fp {
			return SearchPage{}, apperr.Invalid("after", "belongs to a search with other arguments; ask for the next page with the same text and kinds")
		}
		offset = c.Offset
	}
	params := map[string]any{
		"text": text, "name": strings.ToLower(text), "lucene": luceneQuery(words, kinds),
		"kinds": kindStrings(kinds), "cap": MaxSearchHits, "offset": offset, "limit": first + 1,
	}
	return read(ctx, s, func(tx neo4j.ManagedTransaction) (SearchPage, error) {
		// First, as a statement of its own so that nothing reads the index before it
		// (within one statement the planner may run an uncorrelated subquery first):
		// wait until the full-text index holds the updates of every transaction
		// committed before now (the index is updated after commits:
		// nodeSearchAsyncMigration); with no update pending that is a check.
		if _, err := collect(ctx, tx, cypherAwaitNodeSearch, nil); err != nil {
			return SearchPage{}, fmt.Errorf("search nodes: wait for the full-text index: %w", err)
		}
		recs, err := collect(ctx, tx, cypherSearchNodes, params)
		if err != nil {
			return SearchPage{}, fmt.Errorf("search nodes: %w", err)
		}
		total, _, err := neo4j.GetRecordValue[int64](recs[0], "total")
		if err != nil {
			return SearchPage{}, fmt.Errorf("search nodes: %w", err)
		}
		rows, _, err := neo4j.GetRecordValue[[]any](recs[0], "page")
		if err != nil {
			return SearchPage{}, fmt.Errorf("search nodes: %w", err)
		}
		page := SearchPage{TotalCount: int(total)}
		for i, r := range rows {
			if i == first {
				page.EndCursor = page.Hits[first-1].Cursor
				break
			}
			row, _ := r.(map[string]any)
			props, _ := row["node"].(map[string]any)
			score, _ := row["score"].(float64)
			page.Hits = append(page.Hits, SearchHit{Node: nodeFromProps(props), Score: score,
				Cursor: encodeOpaque(nodeSearchCursor{Offset: offset + i + 1, Query: fp})})
		}
		return page, nil
	})
}

// cypherAwaitNodeSearch waits until the full-text index holds the updates of the
// transactions committed before the statement it starts (a void procedure: the
// statement goes on with its one row).
const cypherAwaitNodeSearch = `CALL db.index.fulltext.awaitEventuallyConsistentIndexRefresh()`

// checkSearchText validates a search text and returns it trimmed, with its words.
func checkSearchText(field, text string) (string, []string, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return "", nil, apperr.Invalid(field, "must not be empty")
	}
	if err := checkOptText(field, &text, MaxSearchTextLength); err != nil {
		return "", nil, err
	}
	words := searchWords(withoutIDPrefix(text))
	if len(words) == 0 {
		return "", nil, apperr.Invalid(field, "must hold a letter or a digit")
	}
	if n := len(searchWords(strings.ReplaceAll(withoutIDPrefix(text), ":", " "))); n > MaxSearchWords {
		return "", nil, apperr.Invalid(field, "must hold at most %d words (got %d)", MaxSearchWords, n)
	}
	return text, words, nil
}

// checkKinds validates kinds a caller filters on against the kinds allowed there, and
// returns them without repeats.
func checkKinds(field string, kinds, allowed []Kind) ([]Kind, error) {
	var out []Kind
	for i, k := range kinds {
		if !slices.Contains(allowed, k) {
			return nil, apperr.Invalid(fmt.Sprintf("%s[%d]", field, i), "must be one of %s (got %s)", kindList(allowed), k)
		}
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out, nil
}

func kindList(kinds []Kind) string {
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = string(k)
	}
	return strings.Join(names, ", ")
}

// idPrefixes are the kinds' ID prefixes (keys.go).
var idPrefixes = []string{prefixDataset, prefixDatasetVersion, prefixJob, prefixArtifact, prefixModel,
	prefixEndpoint, prefixExperiment, prefixRunGroup, prefixRun}

// withoutIDPrefix drops the kind's prefix (`endpoint:`, `datasetVersion:`, any case) from
// a text that starts like an ID: the rest is what the ID is made of — a name, a
// namespace and a name, a URI — which the searched properties hold (the ID itself is
// not searched; see searchFields).
func withoutIDPrefix(text string) string {
	for _, p := range idPrefixes {
		if len(text) > len(p) && strings.EqualFold(text[:len(p)], p) {
			return text[len(p):]
		}
	}
	return text
}

// searchWords splits text into lowercased words the way the index's analyzer (Lucene's
// StandardTokenizer, Unicode's word boundaries) splits what it indexes, so that a word
// typed whole is one indexed term: letters and digits run together, `_` joins them,
// `:` joins letters (`endpoint:fraud`), `.` and `'` join letters or digits
// (`model.tar.gz`, `1.5`), `,` and `;` join digits; anything else separates. Ideographs
// and kana are words of their own.
func searchWords(text string) []string {
	runes := []rune(text)
	var words []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			words = append(words, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	for i, r := range runes {
		switch {
		case isSingleCharWord(r):
			flush()
			words = append(words, string(r))
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || (len(cur) > 0 && unicode.In(r, unicode.Mn, unicode.Me)):
			cur = append(cur, r)
		case len(cur) > 0 && i+1 < len(runes) && joins(cur[len(cur)-1], r, runes[i+1]):
			cur = append(cur, r)
		default:
			flush()
		}
	}
	flush()
	return words
}

// joins tells whether mid, between prev and next, stays inside a word (Unicode word
// boundary rules WB6, WB7, WB11 and WB12).
func joins(prev, mid, next rune) bool {
	letters := unicode.IsLetter(prev) && unicode.IsLetter(next) && !isSingleCharWord(prev) && !isSingleCharWord(next)
	digits := unicode.IsDigit(prev) && unicode.IsDigit(next)
	switch mid {
	case ':', '·', '\u0387', '\u05f4', '\u2027', '\ufe13', '\ufe55', '\uff1a': // MidLetter
		return letters
	case '.', '\'', '\u2018', '\u2019', '\u2024', '\ufe52', '\uff07', '\uff0e': // MidNumLet, Single_Quote
		return letters || digits
	case ',', ';', '\u037e', '\u0589', '\u060c', '\u060d', '\u066c', '\u07f8', '\u2044', '\ufe10', '\ufe14', '\ufe50', '\ufe54', '\uff0c', '\uff1b': // MidNum
		return digits
	}
	return false
}

// isSingleCharWord tells whether the tokenizer makes r a word of its own.
func isSingleCharWord(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana)
}

// luceneQuery builds the full-text query for the words of a search: every word must
// match in some searched property, exactly (best), as the start of a term (in names,
// tag values and identifiers; see searchFields), or — in names and tag values, for
// words of three or more characters with a letter — within one edit (two for words of
// six or more). Kinds, when given, and the lifecycle are filters. Every character
// Lucene's query syntax gives a meaning is escaped, so user text is only ever terms.
func luceneQuery(words []string, kinds []Kind) string {
	var clauses []string
	if len(kinds) > 0 {
		names := make([]string, len(kinds))
		for i, k := range kinds {
			names[i] = escapeLucene(strings.ToLower(string(k)))
		}
		clauses = append(clauses, "+"+propKind+":("+strings.Join(names, " OR ")+")")
	}
	for _, w := range words {
		clauses = append(clauses, "+"+wordQuery(w))
	}
	return strings.Join(append(clauses, "-"+propLifecycle+":"+string(LifecycleDeleted)), " ")
}

// wordQuery matches one word in any searched property. A word with a colon (which joins
// letters in a term: `lake:customers`) also matches where its parts are terms of their
// own, as in an ID's namespace and name (`s3://lake` and `customers/2026-01`).
func wordQuery(w string) string {
	q := fieldsQuery(w)
	if parts := searchWords(strings.ReplaceAll(w, ":", " ")); len(parts) > 1 {
		all := make([]string, len(parts))
		for i, p := range parts {
			all[i] = "+" + fieldsQuery(p)
		}
		q = "(" + q + " OR (" + strings.Join(all, " ") + "))"
	}
	return q
}

// fieldsQuery matches one word (without a colon between letters, or read as one term)
// in any searched property, as searchFields says.
func fieldsQuery(w string) string {
	e, n := escapeLucene(w), utf8.RuneCountInString(w)
	fields := make([]string, len(searchFields))
	for i, f := range searchFields {
		terms := e + "^3"
		if f.prefixFrom > 0 && n >= f.prefixFrom {
			terms += " OR " + e + "*^2"
		}
		if edits := fuzzyEdits(w); f.fuzzy && edits > 0 {
			terms += " OR " + e + "~" + strconv.Itoa(edits)
		}
		fields[i] = f.prop + ":(" + terms + ")"
		if f.weight > 1 {
			fields[i] += "^" + strconv.Itoa(f.weight)
		}
	}
	return "(" + strings.Join(fields, " OR ") + ")"
}

// fuzzyEdits is how many edits a word may be away from a term and still match it: none
// for short words and numbers (every short term or number is close to many others), one
// for words of three to five characters, two for longer ones.
func fuzzyEdits(w string) int {
	n := utf8.RuneCountInString(w)
	if n < 3 || !strings.ContainsFunc(w, unicode.IsLetter) {
		return 0
	}
	if n < 6 {
		return 1
	}
	return 2
}

// escapeLucene escapes every character with a meaning in Lucene's classic query
// syntax (and whitespace), so that s is read as one term.
func escapeLucene(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`\+-!():^[]"{}~*?|&/`, r) || unicode.IsSpace(r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
