package store

import (
	"math"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/provgraph/provgraph/apperr"
)

// Limits on what one write may carry. They are documented in docs/limits.md and
// enforced here, so every surface (GraphQL, ingest, CLI) applies the same rules.
const (
	MaxNamespaceLength   = 256
	MaxNameLength        = 1024
	MaxURILength         = 2048
	MaxDigestLength      = 256
	MaxDescriptionLength = 5000
	MaxShortTextLength   = 256 // instance type, code version, variant, media type
	MaxJobInputs         = 1000
	MaxHyperParameters   = 100
	MaxParamKeyLength    = 250
	MaxParamValueLength  = 6000
	MaxLineageStarts     = 100
	// DefaultLineageDepth is the traversal depth when none is asked for.
	DefaultLineageDepth = 10
	// MaxLineageDepth is the hard cap on traversal depth.
	MaxLineageDepth = 50
	// MaxLineageNodes is the most nodes one lineage answer holds (its budget's cap and
	// default); a larger cone is marked truncated and answered in pages.
	MaxLineageNodes = 10000
	// DefaultImpactBudget is how many model versions and endpoints one impact answer
	// holds when the caller does not say; MaxImpactBudget is the most it may ask for.
	DefaultImpactBudget = 100
	MaxImpactBudget     = 5000
	// MaxTokenNameLength is the longest API token name.
	MaxTokenNameLength = 100
	// MaxPipelineObjects is the most elements one RecordPipeline call records, all its
	// lists together.
	MaxPipelineObjects = 1000
	// MaxPipelineModelVersions and MaxPipelineDeployments are the most model versions
	// and deployments one RecordPipeline call makes: each takes the few statements of
	// its single write, where dataset versions and jobs share one per kind of change.
	MaxPipelineModelVersions = 100
	MaxPipelineDeployments   = 100
)

// checkText validates a required free-text identifier: non-empty, valid UTF-8, no
// control characters, at most max characters.
func checkText(field, v string, max int) error {
	if strings.TrimSpace(v) == "" {
		return apperr.Invalid(field, "must not be empty")
	}
	return checkOptText(field, &v, max)
}

// checkOptText validates optional text: when present, valid UTF-8 without control
// characters and at most max characters.
func checkOptText(field string, v *string, max int) error {
	if err := checkProse(field, v, max); err != nil || v == nil {
		return err
	}
	if hasControl(*v) {
		return apperr.Invalid(field, "must not contain control characters")
	}
	return nil
}

// checkDescription validates optional prose, which may contain line breaks and tabs.
func checkDescription(field string, v *string) error {
	return checkProse(field, v, MaxDescriptionLength)
}

// checkProse validates optional free text: valid UTF-8, at most max characters.
func checkProse(field string, v *string, max int) error {
	if v == nil {
		return nil
	}
	if !utf8.ValidString(*v) {
		return apperr.Invalid(field, "must be valid UTF-8")
	}
	if n := utf8.RuneCountInString(*v); n > max {
		return apperr.Invalid(field, "must be at most %d characters (got %d)", max, n)
	}
	return nil
}

// checkURI validates a URI that must carry a scheme, such as s3://bucket/key.
func checkURI(field, v string) (*url.URL, error) {
	if err := checkText(field, v, MaxURILength); err != nil {
		return nil, err
	}
	u, err := url.Parse(v)
	if err != nil || u.Scheme == "" {
		return nil, apperr.Invalid(field, "must be an absolute URI with a scheme, like s3://bucket/path or file:///data/x (got %q)", truncateForMessage(v))
	}
	if _, hasPassword := u.User.Password(); hasPassword {
		// Recorded facts are kept forever and shown to every reader: no secrets.
		return nil, apperr.Invalid(field, "must not contain a password; record the location without credentials")
	}
	return u, nil
}

// checkFraction validates a share in (0, 1].
func checkFraction(field string, v float64) error {
	if math.IsNaN(v) || v <= 0 || v > 1 {
		return apperr.Invalid(field, "must be greater than 0 and at most 1 (got %v)", v)
	}
	return nil
}

// optValue turns an optional string into a query parameter: nil stays nil, which
// Neo4j stores as an absent property.
func optValue(v *string) any {
	if v == nil {
		return nil
	}
	return *v
}
