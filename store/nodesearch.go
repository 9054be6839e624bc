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
	// MaxSearchWords is the most words a search text may hold: each becomes an exact, a
	// prefix and a fuzzy term over every searched property, and Lucene bounds the terms
	// of one query.
	MaxSearchWords = 8
	// MaxSearchHits is how many of the best full-text matches a search ranks and pages
	// through; totalCount counts at most these (plus an exact ID match).
	MaxSearchHits = 1000
)

// nodeSearchIndex is the full-text index over every node's searchable properties.
const nodeSearchIndex = "node_search"

// searchFields are the properties the full-text index holds and a search looks in,
// with the weight a match in each gets: names first, then IDs and tag values, then
// URIs, descriptions and the other identifiers.
var searchFields = []struct {
	prop   string
	weight int
}{
	{propName, 4},
	{propKey, 3},
	{propTagValues, 2},
	{propNamespace, 1},
	{propURI, 1},
	{propSource, 1},
	{propArtifactURI, 1},
	{propArtifactLocation, 1},
	{propDescription, 1},
	{propRunID, 1},
	{propDigest, 1},
	{propVersionID, 1},
	{propModelID, 1},
	{propSMArn, 1},
}

// fuzzyField is the one property typos are forgiven in: a name mistyped is the usual
// case, and every fuzzy term costs up to 50 expanded terms.
const fuzzyField = propName

// nodeSearchMigration creates the full-text index node search reads. Besides the
// searched properties it holds each node's kind and lifecycle, which a search filters
// on inside Lucene (so that the hits it caps are all of the asked-for kinds). Neo4j
// fills it from the nodes already there; Migrate waits until it is online.
var nodeSearchMigration = Migration{
	Version:     8,
	Description: "node search: a full-text index over every node's IDs, names, URIs, tag values and descriptions",
	Statements:  []string{cypherCreateNodeSearchIndex()},
	Indexes:     []string{nodeSearchIndex},
}

func cypherCreateNodeSearchIndex() string {
	props := make([]string, 0, len(searchFields)+2)
	for _, f := range searchFields {
		props = append(props, "n."+f.prop)
	}
	props = append(props, "n."+propKind, "n."+propLifecycle)
	// standard-no-stop-words (Neo4j's default, named so a changed default cannot change
	// this index): Unicode word boundaries, lowercased, no stop words dropped, so a run
	// named "to-do" stays findable. Updates are part of each write's transaction: a node
	// is searchable as soon as its write is acknowledged.
	return `CREATE FULLTEXT INDEX ` + nodeSearchIndex + ` IF NOT EXISTS
FOR (n:` + LabelNode + `) ON EACH [` + strings.Join(props, ", ") + `]
OPTIONS {indexConfig: {` + "`fulltext.analyzer`" + `: 'standard-no-stop-words', ` + "`fulltext.eventually_consistent`" + `: false}}`
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
	// matches.
	TotalCount int
}

// nodeSearchCursor is a position in a ranked search answer: after the hit with this
// rank (2 an exact ID match, 1 an exact name match, 0 others), score and ID, for the
// search with the fingerprint Query.
type nodeSearchCursor struct {
	Rank  int     `json:"r"`
	Score float64 `json:"s"`
	Key   string  `json:"k"`
	Query string  `json:"q"`
}

// cypherSearchNodes ranks the full-text matches (at most $cap of them, Lucene's best)
// and the node whose ID is the text itself: an exact ID match first, then exact name
// matches, then by score, ties by ID, and returns the page after the cursor with the
// count of all of them.
const cypherSearchNodes = `
CALL () {
  MATCH (n:` + LabelNode + ` {key: $text})
  WHERE $kinds IS NULL OR n.kind IN $kinds
  RETURN n, 0.0 AS score
  UNION
  CALL db.index.fulltext.queryNodes('` + nodeSearchIndex + `', $lucene, {limit: $cap}) YIELD node, score
  RETURN node AS n, score
}
WITH n, max(score) AS score
WITH collect({n: n, score: score,
  rank: CASE WHEN n.key = $text THEN 2 WHEN toLower(n.name) = $name THEN 1 ELSE 0 END}) AS hits
WITH size(hits) AS total, [h IN hits WHERE $afterKey IS NULL OR h.rank < $afterRank
  OR (h.rank = $afterRank AND (h.score < $afterScore OR (h.score = $afterScore AND h.n.key > $afterKey)))] AS rest
CALL (rest) {
  UNWIND rest AS h
  WITH h.n AS n, h.score AS score, h.rank AS rank
  ORDER BY rank DESC, score DESC, n.key
  LIMIT $limit
  RETURN collect({node: n {.*}, score: score, rank: rank}) AS page
}
RETURN total, page`

// SearchNodes finds the nodes whose IDs, names, URIs, tag values or descriptions match
// the words of a text, forgiving a typo and an unfinished last word: each word must
// match exactly, as the start of a word, or (names only) within one or two edits. An
// exact ID match comes first, then exact name matches (ignoring case), then by Lucene
// score, ties broken by ID. Soft-deleted experiments and runs are left out unless their
// ID is the text.
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
	params := map[string]any{
		"text": text, "name": strings.ToLower(text), "lucene": luceneQuery(words, kinds),
		"kinds": kindStrings(kinds), "cap": MaxSearchHits, "limit": first + 1,
		"afterRank": nil, "afterScore": nil, "afterKey": nil,
	}
	if q.After != "" {
		var c nodeSearchCursor
		if err := decodeOpaque("after", q.After, 8192, &c); err != nil || c.Key == "" || c.Rank < 0 || c.Rank > 2 {
			return SearchPage{}, errNotCursor("after")
		}
		if c.Query != fp {
			return SearchPage{}, apperr.Invalid("after", "belongs to a search with other arguments; ask for the next page with the same text and kinds")
		}
		params["afterRank"], params["afterScore"], params["afterKey"] = c.Rank, c.Score, c.Key
	}
	return read(ctx, s, func(tx neo4j.ManagedTransaction) (SearchPage, error) {
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
		for _, r := range rows {
			row, _ := r.(map[string]any)
			props, _ := row["node"].(map[string]any)
			score, _ := row["score"].(float64)
			rank, _ := row["rank"].(int64)
			if len(page.Hits) == first {
				page.EndCursor = page.Hits[first-1].Cursor
				break
			}
			n := nodeFromProps(props)
			page.Hits = append(page.Hits, SearchHit{Node: n, Score: score,
				Cursor: encodeOpaque(nodeSearchCursor{Rank: int(rank), Score: score, Key: n.Key, Query: fp})})
		}
		return page, nil
	})
}

// checkSearchText validates a search text and returns it trimmed, with its words.
func checkSearchText(field, text string) (string, []string, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return "", nil, apperr.Invalid(field, "must not be empty")
	}
	if err := checkOptText(field, &text, MaxSearchTextLength); err != nil {
		return "", nil, err
	}
	words := searchWords(text)
	if len(words) == 0 {
		return "", nil, apperr.Invalid(field, "must hold a letter or a digit")
	}
	if len(words) > MaxSearchWords {
		return "", nil, apperr.Invalid(field, "must hold at most %d words (got %d)", MaxSearchWords, len(words))
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
// match in some searched property, exactly (best), as the start of a term, or — in
// names, for words of three or more characters with a letter — within one edit (two
// for words of six or more). Kinds, when given, and the lifecycle are filters. Every
// character Lucene's query syntax gives a meaning is escaped, so user text is only
// ever terms.
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
		e := escapeLucene(w)
		fields := make([]string, len(searchFields))
		for i, f := range searchFields {
			terms := e + "^3 OR " + e + "*^2"
			if edits := fuzzyEdits(w); f.prop == fuzzyField && edits > 0 {
				terms += " OR " + e + "~" + strconv.Itoa(edits)
			}
			fields[i] = f.prop + ":(" + terms + ")"
			if f.weight > 1 {
				fields[i] += "^" + strconv.Itoa(f.weight)
			}
		}
		clauses = append(clauses, "+("+strings.Join(fields, " OR ")+")")
	}
	return strings.Join(append(clauses, "-"+propLifecycle+":"+string(LifecycleDeleted)), " ")
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
