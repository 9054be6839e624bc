package runfilter

// Prefix names the kind of run data a comparison looks at. Parse always
// returns one of the canonical constants below, whatever alias the user typed,
// so the Cypher compiler needs one case per kind, not one per spelling.
type Prefix string

// The canonical prefixes. Their aliases are listed in the package documentation.
const (
	// PrefixMetrics compares the latest value of a logged metric; numbers only.
	PrefixMetrics Prefix = "metrics"
	// PrefixParams compares a logged parameter; parameters are strings.
	PrefixParams Prefix = "params"
	// PrefixTags compares a run tag; tags are strings.
	PrefixTags Prefix = "tags"
	// PrefixAttributes compares a built-in field of the run (see the Attr constants).
	PrefixAttributes Prefix = "attributes"
	// PrefixDatasets compares a field of a dataset the run used as input (see the Dataset constants).
	PrefixDatasets Prefix = "datasets"
)

// The canonical attribute keys. Parse resolves MLflow's aliases ("created",
// "Run Name", ...) to these, so Comparison.Key of an attributes comparison is
// always one of them.
const (
	// AttrRunID is the run's ID, the only attribute that takes IN and NOT IN.
	AttrRunID = "run_id"
	// AttrRunName is the run's display name (MLflow also stores it as the tag mlflow.runName).
	AttrRunName = "run_name"
	// AttrStatus is the run's status: RUNNING, SCHEDULED, FINISHED, FAILED or KILLED.
	AttrStatus = "status"
	// AttrStartTime is when the run started, in milliseconds since the Unix epoch.
	AttrStartTime = "start_time"
	// AttrEndTime is when the run ended, in milliseconds since the Unix epoch.
	AttrEndTime = "end_time"
	// AttrArtifactURI is the root URI of the run's artifacts.
	AttrArtifactURI = "artifact_uri"
	// AttrUserID is the user who started the run.
	AttrUserID = "user_id"
)

// The dataset keys, the only keys the datasets prefix accepts.
const (
	// DatasetName is the dataset's name.
	DatasetName = "name"
	// DatasetDigest is the dataset's content digest.
	DatasetDigest = "digest"
	// DatasetContext is how the run used the dataset ("training", "eval", ...).
	DatasetContext = "context"
)

// Op is a comparison operator in its canonical upper-case spelling; keywords
// are case-insensitive in the input but never in the AST.
type Op string

// The operators. Which ones a prefix allows is listed in the package documentation.
const (
	OpEq        Op = "="
	OpNe        Op = "!="
	OpLt        Op = "<"
	OpLe        Op = "<="
	OpGt        Op = ">"
	OpGe        Op = ">="
	OpLike      Op = "LIKE"
	OpILike     Op = "ILIKE"
	OpIn        Op = "IN"
	OpNotIn     Op = "NOT IN"
	OpIsNull    Op = "IS NULL"
	OpIsNotNull Op = "IS NOT NULL"
)

// Expr is a node of a parsed filter: *And, *Or or *Comparison. The set is
// closed (the unexported method) so a type switch over the three is complete.
// String returns the canonical filter text of the node (see Format).
type Expr interface {
	String() string
	isExpr()
}

// And matches runs that match every term. Parse flattens nested ANDs, so a
// term of an And is never itself an *And, and an And always has two or more terms.
type And struct {
	Terms []Expr
}

// Or matches runs that match at least one term. Parse flattens nested ORs, so
// a term of an Or is never itself an *Or, and an Or always has two or more terms.
type Or struct {
	Terms []Expr
}

// Comparison is one `<prefix>.<key> <op> <value>` test. Exactly one of Number,
// Text and List is set, chosen by the operator and the prefix, except for
// IS NULL and IS NOT NULL, which have no value:
//   - Number for metrics and the numeric attributes start_time and end_time
//     (whose values Parse has checked are whole numbers of milliseconds);
//   - List for IN and NOT IN (never empty);
//   - Text otherwise (the string value, quotes removed and escapes decoded;
//     for LIKE and ILIKE it is the pattern, % and _ left as typed).
type Comparison struct {
	Prefix Prefix
	// Key is the unquoted, unescaped key. For attributes and datasets it is the
	// canonical key (one of the Attr or Dataset constants), aliases resolved.
	Key    string
	Op     Op
	Number *float64
	// Text is named so rather than String to leave String() for the canonical form.
	Text *string
	List []string
	// Pos is the byte offset in the input where the comparison starts, so a
	// later stage (the Cypher compiler) can report its own errors at the right place.
	Pos int
}

func (*And) isExpr()        {}
func (*Or) isExpr()         {}
func (*Comparison) isExpr() {}

// String returns the canonical text of the conjunction (see Format).
func (a *And) String() string { return Format(a) }

// String returns the canonical text of the disjunction (see Format).
func (o *Or) String() string { return Format(o) }

// String returns the canonical text of the comparison (see Format).
func (c *Comparison) String() string { return Format(c) }

// Field returns the comparison's left-hand side in canonical form, such as
// `metrics.auc` or "tags.`my key`", the way error messages name it.
func (c *Comparison) Field() string {
	return string(c.Prefix) + "." + formatKey(c.Key)
}
