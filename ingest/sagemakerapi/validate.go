package sagemakerapi

import (
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// SageMaker's limits on what it is sent, as its API model states them; botocore checks
// none of them, so provgraph does, with AWS's wording (docs/limits.md).
const (
	MaxEntityNameLength  = 120  // ExperimentEntityName: experiments, trials, trial components, display names
	MaxDescriptionLength = 3072 // ExperimentDescription
	MaxTags              = 50   // TagList
	MaxTagKeyLength      = 128
	MaxTagValueLength    = 256
	MaxListResults       = 100 // MaxResults of the List operations
	MaxSearchResults     = 100 // MaxResults of Search
	MaxNextTokenLength   = 8192
	MaxParameters        = 300  // TrialComponentParameters
	MaxParameterKey      = 250  // TrialComponentKey320 allows 320; provgraph's store keeps parameter keys to 250 (MLflow's)
	MaxParameterString   = 2500 // TrialComponentParameterValue.StringValue
	MaxArtifacts         = 60   // TrialComponentArtifacts, per direction
	MaxArtifactKey       = 128  // TrialComponentKey128
	MaxArtifactValue     = 2048 // TrialComponentArtifactValue
	MaxMediaTypeLength   = 64
	MaxStatusMessage     = 1024
	MaxKeysToRemove      = 1000
	MinMetricsPerCall    = 1  // BatchPutMetrics' MetricData
	MaxMetricsPerCall    = 10 // BatchPutMetrics' MetricData
	MaxMetricNameLength  = 255
)

// entityNamePattern is SageMaker's ExperimentEntityName pattern, quoted in messages.
const entityNamePattern = `^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,119}`

var (
	entityNameForm = regexp.MustCompile(`^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,119}$`)
	tagPattern     = `^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$`
	tagForm        = regexp.MustCompile(tagPattern)
	mediaPattern   = `^[-\w]+\/[-\w+]+$`
	mediaForm      = regexp.MustCompile(mediaPattern)
)

// checks collects the rules a request breaks and reports them together, in AWS's
// words: "2 validation errors detected: Value 'a b' at 'experimentName' failed to
// satisfy constraint: Member must satisfy regular expression pattern: …; …".
type checks struct{ failed []string }

func (c *checks) fail(member string, value any, rule string) {
	v := "null"
	switch x := value.(type) {
	case nil:
	case string:
		v = "'" + shorten(x) + "'"
	default:
		v = shorten(fmt.Sprint(x))
	}
	c.failed = append(c.failed, fmt.Sprintf("Value %s at '%s' failed to satisfy constraint: %s", v, member, rule))
}

// required checks that a required string member was sent.
func (c *checks) required(member string, v *string) bool {
	if v == nil {
		c.fail(member, nil, "Member must not be null")
		return false
	}
	return true
}

// length checks a string's length in characters.
func (c *checks) length(member, v string, minLen, maxLen int) {
	n := utf8.RuneCountInString(v)
	switch {
	case n > maxLen:
		c.fail(member, v, fmt.Sprintf("Member must have length less than or equal to %d", maxLen))
	case n < minLen:
		c.fail(member, v, fmt.Sprintf("Member must have length greater than or equal to %d", minLen))
	}
}

// pattern checks v against re, whose source pattern (as AWS quotes it) is src.
func (c *checks) pattern(member, v string, re *regexp.Regexp, src string) {
	if !re.MatchString(v) {
		c.fail(member, v, "Member must satisfy regular expression pattern: "+src)
	}
}

// entityName checks a SageMaker Experiments name (experiment, trial, trial component,
// display name).
func (c *checks) entityName(member, v string) {
	c.length(member, v, 1, MaxEntityNameLength)
	if utf8.RuneCountInString(v) <= MaxEntityNameLength {
		c.pattern(member, v, entityNameForm, entityNamePattern)
	}
}

// optEntityName checks an optional name.
func (c *checks) optEntityName(member string, v *string) {
	if v != nil {
		c.entityName(member, *v)
	}
}

// requiredName checks a required name.
func (c *checks) requiredName(member string, v *string) {
	if c.required(member, v) {
		c.entityName(member, *v)
	}
}

// listLength checks the number of elements of a list or map member.
func (c *checks) listLength(member string, n, minLen, maxLen int) {
	switch {
	case n > maxLen:
		c.fail(member, fmt.Sprintf("[%d elements]", n), fmt.Sprintf("Member must have length less than or equal to %d", maxLen))
	case n < minLen:
		c.fail(member, fmt.Sprintf("[%d elements]", n), fmt.Sprintf("Member must have length greater than or equal to %d", minLen))
	}
}

// maxResults checks a MaxResults member (1 to maxN) and returns it, or def when absent.
func (c *checks) maxResults(v *int, maxN, def int) int {
	if v == nil {
		return def
	}
	if *v < 1 {
		c.fail("maxResults", *v, "Member must have value greater than or equal to 1")
	}
	if *v > maxN {
		c.fail("maxResults", *v, fmt.Sprintf("Member must have value less than or equal to %d", maxN))
	}
	return *v
}

// tags checks a TagList.
func (c *checks) tags(member string, tags []tag) {
	c.listLength(member, len(tags), 0, MaxTags)
	for i, t := range tags {
		m := fmt.Sprintf("%s.%d.member", member, i+1)
		c.length(m+".key", t.Key, 1, MaxTagKeyLength)
		c.pattern(m+".key", t.Key, tagForm, tagPattern)
		c.unreservedTagKey(m+".key", t.Key)
		c.length(m+".value", t.Value, 0, MaxTagValueLength)
		c.pattern(m+".value", t.Value, tagForm, tagPattern)
	}
}

// unreservedTagKey checks that a tag key is not one provgraph keeps for the API itself.
func (c *checks) unreservedTagKey(member, key string) {
	if strings.HasPrefix(key, reservedTagPrefix) {
		c.fail(member, key, "provgraph keeps the keys starting with '"+reservedTagPrefix+"' for itself: Member must not start with '"+reservedTagPrefix+"'")
	}
}

// err is the ValidationException of the rules broken, or nil.
func (c *checks) err() error {
	switch len(c.failed) {
	case 0:
		return nil
	case 1:
		return validation("1 validation error detected: %s", c.failed[0])
	}
	return validation("%d validation errors detected: %s", len(c.failed), strings.Join(c.failed, "; "))
}

// shorten keeps a quoted value short in a message.
func shorten(s string) string {
	const maxQuoted = 200
	if utf8.RuneCountInString(s) <= maxQuoted {
		return s
	}
	return string([]rune(s)[:maxQuoted]) + "…"
}

// epochTime is a timestamp on the wire: epoch seconds, a float, as AWS JSON writes
// timestamps.
type epochTime float64

func epoch(t time.Time) epochTime { return epochTime(float64(t.UnixNano()) / 1e9) }

// maxEpochSeconds is where the times provgraph records end: the start of year 10000.
const maxEpochSeconds = 253402300800

// validTime says whether e is a time provgraph records: finite, not before 1970, and
// before year 10000 (the store refuses the rest too; this says so in AWS's words).
func (e epochTime) validTime() bool {
	f := float64(e)
	return !math.IsNaN(f) && f >= 0 && f < maxEpochSeconds
}

// time checks an optional timestamp member.
func (c *checks) time(member string, e *epochTime) {
	if e != nil && !e.validTime() {
		c.fail(member, float64(*e), fmt.Sprintf("Member must be a time in epoch seconds from 0 to less than %d (year 10000)", maxEpochSeconds))
	}
}

func (e epochTime) time() time.Time {
	sec := int64(e)
	return time.Unix(sec, int64((float64(e)-float64(sec))*1e9)).UTC()
}

// tag is an AWS tag.
type tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}
