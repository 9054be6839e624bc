package sagemakerapi_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/auth"
)

func TestExperiments(t *testing.T) {
	t.Parallel()
	e := newEnv(t, auth.RoleWriter)
	name := "exp-" + e.tk
	e.ok("CreateExperiment", map[string]any{"ExperimentName": name, "DisplayName": "Shown-" + e.tk,
		"Description": "churn", "Tags": []map[string]string{{"Key": "team", "Value": "ml"}}})

	t.Run("a repeated create", func(t *testing.T) {
		a := e.call("CreateExperiment", map[string]any{"ExperimentName": name})
		assert.Equal(t, "ValidationException", a.code())
		assert.Contains(t, a.message(), "already exists", "the SDK's idempotent re-runs look for this")
	})
	t.Run("describe", func(t *testing.T) {
		d := e.ok("DescribeExperiment", map[string]any{"ExperimentName": name})
		assert.Equal(t, name, d["ExperimentName"])
		assert.Equal(t, "Shown-"+e.tk, d["DisplayName"])
		assert.Equal(t, "churn", d["Description"])
		assert.IsType(t, float64(0), d["CreationTime"], "epoch seconds")
		assert.Equal(t, e.key.Actor, d["CreatedBy"].(map[string]any)["UserProfileName"])
	})
	t.Run("the same experiment in the graph", func(t *testing.T) {
		n, err := e.st.ExperimentByName(t.Context(), "name", name)
		require.NoError(t, err)
		assert.Equal(t, e.key.Actor, n.RecordedBy, "the credential's owner is the actor")
	})
	t.Run("unknown", func(t *testing.T) {
		a := e.call("DescribeExperiment", map[string]any{"ExperimentName": "none-" + e.tk})
		assert.Equal(t, "ResourceNotFound", a.code())
	})
	t.Run("limits as AWS words them", func(t *testing.T) {
		a := e.call("CreateExperiment", map[string]any{"ExperimentName": "has space"})
		assert.Equal(t, "ValidationException", a.code())
		assert.Equal(t, "1 validation error detected: Value 'has space' at 'experimentName' failed to satisfy constraint: "+
			"Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,119}", a.message())
		long := fmt.Sprintf("%0121d", 0)
		a = e.call("CreateExperiment", map[string]any{"ExperimentName": long})
		assert.Contains(t, a.message(), "Member must have length less than or equal to 120")
		a = e.call("CreateExperiment", map[string]any{})
		assert.Contains(t, a.message(), "Value null at 'experimentName' failed to satisfy constraint: Member must not be null")
		tags := make([]map[string]string, 51)
		for i := range tags {
			tags[i] = map[string]string{"Key": fmt.Sprint("k", i), "Value": "v"}
		}
		a = e.call("CreateExperiment", map[string]any{"ExperimentName": "tags-" + e.tk, "Tags": tags})
		assert.Contains(t, a.message(), "at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50")
		a = e.call("ListExperiments", map[string]any{"MaxResults": 101})
		assert.Contains(t, a.message(), "Member must have value less than or equal to 100")
	})
}

// ListExperiments pages with an honest NextToken in the order asked.
func TestListExperiments(t *testing.T) {
	t.Parallel()
	e := newEnv(t, auth.RoleWriter)
	var want []string
	for i := range 5 {
		n := fmt.Sprintf("list-%s-%d", e.tk, i)
		want = append(want, n)
		e.ok("CreateExperiment", map[string]any{"ExperimentName": n})
	}
	// Others' experiments are listed too; keep ours, in order.
	var got []string
	var token any
	for {
		body := map[string]any{"SortBy": "Name", "SortOrder": "Ascending", "MaxResults": 100}
		if token != nil {
			body["NextToken"] = token
		}
		page := e.ok("ListExperiments", body)
		for _, s := range page["ExperimentSummaries"].([]any) {
			n := s.(map[string]any)["ExperimentName"].(string)
			if len(n) > len("list-"+e.tk) && n[:len("list-"+e.tk)] == "list-"+e.tk {
				got = append(got, n)
			}
		}
		if token = page["NextToken"]; token == nil {
			break
		}
	}
	assert.Equal(t, want, got)

	// Two at a time, newest first (the default order).
	first := e.ok("ListExperiments", map[string]any{"MaxResults": 2})
	require.Len(t, first["ExperimentSummaries"], 2)
	require.NotNil(t, first["NextToken"])
	second := e.ok("ListExperiments", map[string]any{"MaxResults": 2, "NextToken": first["NextToken"]})
	assert.NotEqual(t, first["ExperimentSummaries"], second["ExperimentSummaries"])
	a := e.call("ListExperiments", map[string]any{"NextToken": "garbage"})
	assert.Equal(t, "ValidationException", a.code())
}
