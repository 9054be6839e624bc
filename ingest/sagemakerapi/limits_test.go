package sagemakerapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/auth"
	"github.com/provgraph/provgraph/ingest/sagemakerapi"
)

// Each documented limit (docs/limits.md#sagemaker-api), one request at the limit and one
// past it, the second refused in AWS's words naming the member.
func TestDocumentedLimits(t *testing.T) {
	t.Parallel()
	e := newEnv(t, auth.RoleWriter)
	n := 0
	name := func() string { n++; return fmt.Sprintf("lim-%d-%s", n, e.tk) }
	tags := func(k int) []map[string]string {
		out := make([]map[string]string, k)
		for i := range out {
			out[i] = map[string]string{"Key": fmt.Sprintf("k%d", i), "Value": "v"}
		}
		return out
	}
	params := func(k int) map[string]any {
		out := map[string]any{}
		for i := range k {
			out[fmt.Sprintf("p%d", i)] = map[string]any{"NumberValue": i}
		}
		return out
	}
	artifacts := func(dir string, k int) map[string]any {
		out := map[string]any{}
		for i := range k {
			out[fmt.Sprintf("a%d", i)] = map[string]any{"Value": fmt.Sprintf("s3://b/%s/%s/%d", e.tk, dir, i)}
		}
		return out
	}
	// Searches at a limit name an experiment of their own as the first of their
	// filters, so that they read its trial components, not every run of a database
	// that many test runs filled (past MaxRunsScanned, a search of all is refused).
	scope := name()
	e.ok("CreateExperiment", map[string]any{"ExperimentName": scope})
	filters := func(k int) []any {
		out := make([]any, k)
		for i := range out {
			out[i] = map[string]any{"Name": "DisplayName", "Operator": "NotEquals", "Value": fmt.Sprint(i)}
		}
		out[0] = map[string]any{"Name": "Parents.ExperimentName", "Operator": "Equals", "Value": scope}
		return out
	}
	nested := func(depth int) map[string]any {
		x := map[string]any{"Filters": []any{map[string]any{"Name": "DisplayName", "Operator": "NotEquals", "Value": "x"}}}
		for range depth - 1 {
			x = map[string]any{"SubExpressions": []any{x}}
		}
		x["Filters"] = filters(1)
		return x
	}
	search := func(expr map[string]any) map[string]any {
		return map[string]any{"Resource": "ExperimentTrialComponent", "SearchExpression": expr}
	}
	exp := func(extra map[string]any) func() map[string]any {
		return func() map[string]any { extra["ExperimentName"] = name(); return extra }
	}
	tc := func(extra map[string]any) func() map[string]any {
		return func() map[string]any { extra["TrialComponentName"] = name(); return extra }
	}
	fixed := func(body map[string]any) func() map[string]any { return func() map[string]any { return body } }
	cases := []struct {
		limit     string
		op        string
		at, past  func() map[string]any
		violation string
	}{
		{"MaxTags", "CreateExperiment", exp(map[string]any{"Tags": tags(sagemakerapi.MaxTags)}), exp(map[string]any{"Tags": tags(sagemakerapi.MaxTags + 1)}),
			"at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50"},
		{"MaxTagKeyLength", "CreateExperiment", exp(map[string]any{"Tags": []map[string]string{{"Key": strings.Repeat("k", sagemakerapi.MaxTagKeyLength), "Value": ""}}}),
			exp(map[string]any{"Tags": []map[string]string{{"Key": strings.Repeat("k", sagemakerapi.MaxTagKeyLength+1), "Value": ""}}}),
			"at 'tags.1.member.key' failed to satisfy constraint: Member must have length less than or equal to 128"},
		{"MaxTagValueLength", "CreateExperiment", exp(map[string]any{"Tags": []map[string]string{{"Key": "k", "Value": strings.Repeat("v", sagemakerapi.MaxTagValueLength)}}}),
			exp(map[string]any{"Tags": []map[string]string{{"Key": "k", "Value": strings.Repeat("v", sagemakerapi.MaxTagValueLength+1)}}}),
			"at 'tags.1.member.value' failed to satisfy constraint: Member must have length less than or equal to 256"},
		{"MaxDescriptionLength", "CreateExperiment", exp(map[string]any{"Description": strings.Repeat("d", sagemakerapi.MaxDescriptionLength)}),
			exp(map[string]any{"Description": strings.Repeat("d", sagemakerapi.MaxDescriptionLength+1)}),
			"at 'description' failed to satisfy constraint: Member must have length less than or equal to 3072"},
		{"MaxParameters", "CreateTrialComponent", tc(map[string]any{"Parameters": params(sagemakerapi.MaxParameters)}),
			tc(map[string]any{"Parameters": params(sagemakerapi.MaxParameters + 1)}),
			"at 'parameters' failed to satisfy constraint: Member must have length less than or equal to 300"},
		{"MaxParameterKey", "CreateTrialComponent", tc(map[string]any{"Parameters": map[string]any{strings.Repeat("p", sagemakerapi.MaxParameterKey): map[string]any{"NumberValue": 1}}}),
			tc(map[string]any{"Parameters": map[string]any{strings.Repeat("p", sagemakerapi.MaxParameterKey+1): map[string]any{"NumberValue": 1}}}),
			"at 'parameters.key' failed to satisfy constraint: Member must have length less than or equal to 250"},
		{"MaxArtifacts", "CreateTrialComponent", tc(map[string]any{"InputArtifacts": artifacts("in", sagemakerapi.MaxArtifacts), "OutputArtifacts": artifacts("out", sagemakerapi.MaxArtifacts)}),
			tc(map[string]any{"InputArtifacts": artifacts("in", sagemakerapi.MaxArtifacts+1)}),
			"at 'inputArtifacts' failed to satisfy constraint: Member must have length less than or equal to 60"},
		{"MaxStatusMessage", "CreateTrialComponent", tc(map[string]any{"Status": map[string]any{"PrimaryStatus": "InProgress", "Message": strings.Repeat("m", sagemakerapi.MaxStatusMessage)}}),
			tc(map[string]any{"Status": map[string]any{"PrimaryStatus": "InProgress", "Message": strings.Repeat("m", sagemakerapi.MaxStatusMessage+1)}}),
			"at 'status.message' failed to satisfy constraint: Member must have length less than or equal to 1024"},
		{"MaxResults", "ListExperiments", fixed(map[string]any{"MaxResults": sagemakerapi.MaxListResults}), fixed(map[string]any{"MaxResults": sagemakerapi.MaxListResults + 1}),
			"at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 100"},
		{"MaxResults minimum", "ListExperiments", fixed(map[string]any{"MaxResults": 1}), fixed(map[string]any{"MaxResults": 0}),
			"at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 1"},
		{"MaxSearchFilters", "Search", fixed(search(map[string]any{"Filters": filters(sagemakerapi.MaxSearchFilters)})),
			fixed(search(map[string]any{"Filters": filters(sagemakerapi.MaxSearchFilters + 1)})),
			"at 'searchExpression.filters' failed to satisfy constraint: Member must have length less than or equal to 20"},
		{"MaxSearchDepth", "Search", fixed(search(nested(sagemakerapi.MaxSearchDepth))), fixed(search(nested(sagemakerapi.MaxSearchDepth + 1))),
			"SubExpressions may be nested at most 5 deep"},
		{"MaxFilterValueLength", "Search", fixed(search(map[string]any{"Filters": append(filters(1), map[string]any{"Name": "DisplayName", "Value": strings.Repeat("v", sagemakerapi.MaxFilterValueLength)})})),
			fixed(search(map[string]any{"Filters": append(filters(1), map[string]any{"Name": "DisplayName", "Value": strings.Repeat("v", sagemakerapi.MaxFilterValueLength+1)})})),
			"at 'searchExpression.filters.2.member.value' failed to satisfy constraint: Member must have length less than or equal to 1024"},
		// 20 filters and two sub-expressions of 14 filters each: 50 terms; one more is 51.
		{"MaxSearchTerms", "Search",
			fixed(search(map[string]any{"Filters": filters(20), "SubExpressions": []any{map[string]any{"Filters": filters(14)}, map[string]any{"Filters": filters(14)}}})),
			fixed(search(map[string]any{"Filters": filters(20), "SubExpressions": []any{map[string]any{"Filters": filters(14)}, map[string]any{"Filters": filters(15)}}})),
			"at 'searchExpression' failed to satisfy constraint: Member must have at most 50 Filters, NestedFilters and SubExpressions in all"},
	}
	for _, c := range cases {
		t.Run(c.limit, func(t *testing.T) {
			a := e.call(c.op, c.at())
			require.Equal(t, http.StatusOK, a.Status, "at the limit: %v", a.Body)
			a = e.call(c.op, c.past())
			assert.Equal(t, "ValidationException", a.code(), a.Body)
			assert.Contains(t, a.message(), c.violation)
		})
	}
}

// A reader may not record metrics.
func TestReaderCannotPutMetrics(t *testing.T) {
	t.Parallel()
	e := newEnv(t, auth.RoleReader)
	a := e.putMetrics(map[string]any{"TrialComponentName": "r-" + e.tk, "MetricData": []any{
		map[string]any{"MetricName": "acc", "Timestamp": 1, "Value": 1}}})
	assert.Equal(t, "AccessDeniedException", a.code(), a.Body)
}
