// Package runfilter parses the filter strings of MLflow's search_runs API,
// extended with OR and parentheses, into an AST that a later stage compiles
// to parameterized Cypher.
//
// We accept MLflow's syntax so that MLflow clients, notebooks and saved
// queries work against provgraph unchanged; the parser is hand-written (no
// SQL tokenizer, unlike MLflow's) so that every error carries the byte
// position where the filter went wrong, and so that the grammar is exactly
// the one documented here.
//
// # Grammar
//
// Keywords (AND, OR, LIKE, ILIKE, IN, NOT, IS, NULL) and prefixes are
// case-insensitive. Whitespace (space, tab, CR, LF, FF, VT) may appear between
// any two tokens and is required only between two words.
//
//	filter     = [ or ] .                       (* empty: match every run *)
//	or         = and { "OR" and } .
//	and        = term { "AND" term } .          (* AND binds tighter than OR *)
//	term       = "(" or ")" | comparison .
//	comparison = field operator [ value ] .
//	field      = prefix "." key | attribute .   (* a bare attribute: status = 'FAILED' *)
//	prefix     = word | quoted .                (* see Prefixes *)
//	key        = barekey | quoted .
//	barekey    = wordchar { wordchar | "." | "-" | "/" } .
//	word       = wordchar { wordchar } .
//	wordchar   = "A"…"Z" | "a"…"z" | "0"…"9" | "_" .
//	quoted     = "`" … "`" | `"` … `"` | "'" … "'" .
//	operator   = "=" | "!=" | "<" | "<=" | ">" | ">=" | "LIKE" | "ILIKE"
//	           | "IN" | "NOT" "IN" | "IS" "NULL" | "IS" "NOT" "NULL" .
//	value      = string | number | list .       (* none after IS [NOT] NULL *)
//	string     = "'" … "'" | `"` … `"` .
//	list       = "(" string { "," string } ")" .
//	number     = [ "+" | "-" ] ( digits [ "." [ digits ] ] | "." digits )
//	             [ ( "e" | "E" ) [ "+" | "-" ] digits ] .
//
// Inside any quoted text a backslash escapes the quote character or another
// backslash, and a doubled quote character stands for one; any other
// backslash is kept, so LIKE patterns reach the compiler as typed:
//
//	'it\'s'   'it''s'   "it's"    all mean  it's
//	"say \"hi\""                  means     say "hi"
//	'C:\\data'                    means     C:\data
//	'a\_b%'                       means     a\_b%
//
// A key that is not a barekey (spaces, leading '-' or '.', other punctuation,
// non-ASCII) must be quoted: metrics.`f1 score`, tags."é". Keys with dots,
// dashes and slashes need no quotes: tags.mlflow.source.name,
// params.model-type. A number must not run into a letter, digit, '_' or
// '.' (1abc and 1.2.3 are errors); hexadecimal, Inf and NaN are not numbers.
// The filter must be valid UTF-8.
//
// # Prefixes and aliases
//
//	canonical   also accepted
//	metrics     metric
//	params      param, parameters, parameter
//	tags        tag
//	attributes  attribute, attr, run
//	datasets    dataset
//
// A field without a prefix must be an attribute (created > 0 means
// attributes.start_time > 0), as in MLflow.
//
// Attribute keys (case-insensitive), with MLflow's aliases:
//
//	run_id                                 string; the only attribute that takes IN / NOT IN
//	run_name   "run name", "Run name",     string
//	           "Run Name"
//	status                                 string
//	artifact_uri                           string
//	user_id                                string
//	start_time created, Created            number: whole milliseconds since the Unix epoch
//	end_time                               number: whole milliseconds since the Unix epoch
//
// Dataset keys (case-insensitive): name, digest, context.
//
// # Operators and values per prefix
//
//	metrics                    =, !=, <, <=, >, >=                        number
//	params, tags               =, !=, LIKE, ILIKE                         string
//	                           IN, NOT IN                                 list
//	                           IS NULL, IS NOT NULL                       none
//	attributes, string keys    =, !=, LIKE, ILIKE                         string
//	attributes.run_id          also IN, NOT IN                            list
//	attributes, time keys      =, !=, <, <=, >, >=                        whole number
//	datasets                   =, !=, LIKE, ILIKE                         string
//	                           IN, NOT IN                                 list
//
// LIKE and ILIKE take SQL patterns: % matches any run of characters, _ any
// one character; ILIKE ignores case.
//
// # Limits
//
// Filters come from API clients, so every dimension is bounded, each far
// above what a person writes: MaxFilterLength (10,000 bytes),
// MaxComparisons (100), MaxDepth (20 levels of parentheses) and
// MaxInListLength (1,000 values per IN or NOT IN list). Going over a limit
// is a *SyntaxError naming the limit.
//
// # Differences from MLflow
//
//   - OR and parentheses: MLflow joins comparisons with AND only.
//   - Prefixes and attribute and dataset keys are case-insensitive; MLflow
//     accepts only the spellings listed above.
//   - IN and NOT IN work on params and tags; MLflow allows lists only on
//     attributes.run_id and the dataset keys.
//   - Escapes inside quotes are decoded; MLflow keeps them verbatim, so
//     there 'it\'s' means the five characters it\'s.
//   - A key may be quoted with single quotes too, and needs no quotes when it
//     contains '-' or '/' or starts with a digit; MLflow's SQL tokenizer
//     needs quotes for those.
//   - The time attributes must be whole numbers, checked when parsing rather
//     than when matching.
//   - IS NULL and IS NOT NULL on params and tags follow MLflow 3 (mlflow/mlflow
//     pull request 21283); older MLflow servers reject them.
//   - lifecycle_stage is not an attribute here, as in MLflow: deleted runs are
//     chosen by the run view type, not the filter.
//
// # Errors
//
// Every error is a *SyntaxError with the 0-based byte position, such as
//
//	filter: position 12: expected a comparison operator after "metrics.auc", found "~"
//	filter: position 0: unknown entity prefix "metric_x" (want metrics, params, tags, attributes or datasets)
//	filter: position 12: operator LIKE is not allowed on metrics (allowed: =, !=, <, <=, >, >=)
//	filter: position 14: metrics.auc needs a number, found string 'x'
//
// # Canonical form
//
// Format (and the String method of every node) prints an AST back as a
// filter with canonical prefixes, attribute names and keyword case; Parse of
// that text gives the same AST. Parse flattens nested ANDs and ORs and drops
// redundant parentheses, so equivalent spellings of a filter give equal ASTs.
package runfilter
