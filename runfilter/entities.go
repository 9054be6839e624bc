package runfilter

import "strings"

// prefixAliases maps every accepted spelling of a prefix, lower-cased, to its
// canonical form. The spellings are MLflow's (SearchUtils._VALID_IDENTIFIERS);
// we match them case-insensitively where MLflow is case-sensitive.
var prefixAliases = map[string]Prefix{
	"metrics":    PrefixMetrics,
	"metric":     PrefixMetrics,
	"params":     PrefixParams,
	"param":      PrefixParams,
	"parameters": PrefixParams,
	"parameter":  PrefixParams,
	"tags":       PrefixTags,
	"tag":        PrefixTags,
	"attributes": PrefixAttributes,
	"attribute":  PrefixAttributes,
	"attr":       PrefixAttributes,
	"run":        PrefixAttributes,
	"datasets":   PrefixDatasets,
	"dataset":    PrefixDatasets,
}

// attributeAliases maps every accepted spelling of an attribute key,
// lower-cased, to its canonical key. MLflow's searchable RunInfo attributes
// plus its aliases "created"/"Created" and "run name"/"Run name"/"Run Name"
// (SearchUtils._ALTERNATE_*_ATTRIBUTES, translate_key_alias).
var attributeAliases = map[string]string{
	AttrRunID:       AttrRunID,
	AttrRunName:     AttrRunName,
	"run name":      AttrRunName,
	AttrStatus:      AttrStatus,
	AttrStartTime:   AttrStartTime,
	"created":       AttrStartTime,
	AttrEndTime:     AttrEndTime,
	AttrArtifactURI: AttrArtifactURI,
	AttrUserID:      AttrUserID,
}

// attributeList is the canonical attribute keys in the order error messages list them.
const attributeList = "run_id, run_name, status, start_time, end_time, artifact_uri or user_id"

// datasetKeys is the set of keys the datasets prefix accepts (SearchUtils.DATASET_ATTRIBUTES).
var datasetKeys = map[string]bool{DatasetName: true, DatasetDigest: true, DatasetContext: true}

// valueKind says what a comparison's right-hand side must be.
type valueKind int

const (
	valueString  valueKind = iota // a quoted string
	valueNumber                   // any number
	valueInteger                  // a whole number of milliseconds
)

// lookupPrefix returns the canonical prefix for a spelling, case-insensitively.
func lookupPrefix(s string) (Prefix, bool) {
	p, ok := prefixAliases[strings.ToLower(s)]
	return p, ok
}

// lookupAttribute returns the canonical attribute key for a spelling, case-insensitively.
func lookupAttribute(s string) (string, bool) {
	a, ok := attributeAliases[strings.ToLower(s)]
	return a, ok
}

// isNumericAttribute reports whether a canonical attribute holds a timestamp.
func isNumericAttribute(key string) bool {
	return key == AttrStartTime || key == AttrEndTime
}

var (
	numericOps = []Op{OpEq, OpNe, OpLt, OpLe, OpGt, OpGe}
	// paramTagOps: MLflow's =, !=, LIKE, ILIKE, plus IS [NOT] NULL (MLflow PR
	// #21283), plus IN and NOT IN, which MLflow does not allow on params and tags.
	paramTagOps   = []Op{OpEq, OpNe, OpLike, OpILike, OpIn, OpNotIn, OpIsNull, OpIsNotNull}
	stringAttrOps = []Op{OpEq, OpNe, OpLike, OpILike}
	runIDOps      = []Op{OpEq, OpNe, OpLike, OpILike, OpIn, OpNotIn}
	datasetOps    = []Op{OpEq, OpNe, OpLike, OpILike, OpIn, OpNotIn}
)

// rulesFor returns the operators a field allows, what its value must be, and
// how to name the field's kind in an error message.
func rulesFor(prefix Prefix, key string) (ops []Op, kind valueKind, what string) {
	switch prefix {
	case PrefixMetrics:
		return numericOps, valueNumber, "metrics"
	case PrefixParams:
		return paramTagOps, valueString, "params"
	case PrefixTags:
		return paramTagOps, valueString, "tags"
	case PrefixDatasets:
		return datasetOps, valueString, "datasets"
	}
	switch {
	case isNumericAttribute(key):
		return numericOps, valueInteger, "the numeric attribute " + key
	case key == AttrRunID:
		return runIDOps, valueString, "attributes.run_id"
	default:
		return stringAttrOps, valueString, "the string attribute " + key
	}
}

// opsList renders a list of operators for an error message.
func opsList(ops []Op) string {
	names := make([]string, len(ops))
	for i, op := range ops {
		names[i] = string(op)
	}
	return strings.Join(names, ", ")
}
