package sagemakerapi_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/auth"
)

// A write refused in any part records nothing: not the run, not its parameters.
func TestTrialComponentWritesAreWhole(t *testing.T) {
	t.Parallel()
	e := newEnv(t, auth.RoleWriter)
	now := float64(time.Now().Unix())
	params := map[string]any{"lr": map[string]any{"NumberValue": 0.5}}

	tc := "whole-" + e.tk
	a := e.call("CreateTrialComponent", map[string]any{"TrialComponentName": tc, "Parameters": params,
		"StartTime": now, "EndTime": now - 60})
	require.Equal(t, "ValidationException", a.code(), a.Body)
	assert.Contains(t, a.message(), "endTime")
	a = e.call("DescribeTrialComponent", map[string]any{"TrialComponentName": tc})
	assert.Equal(t, "ResourceNotFound", a.code(), "the refused create recorded no run")
	e.ok("CreateTrialComponent", map[string]any{"TrialComponentName": tc, "Parameters": params, "StartTime": now})

	tc2 := "whole2-" + e.tk
	e.ok("CreateTrialComponent", map[string]any{"TrialComponentName": tc2, "StartTime": now})
	a = e.call("UpdateTrialComponent", map[string]any{"TrialComponentName": tc2, "Parameters": params, "EndTime": now - 60})
	require.Equal(t, "ValidationException", a.code(), a.Body)
	d := e.ok("DescribeTrialComponent", map[string]any{"TrialComponentName": tc2})
	assert.Empty(t, d["Parameters"], "the refused update recorded no parameter")
	a = e.call("UpdateTrialComponent", map[string]any{"TrialComponentName": tc2, "Parameters": params,
		"OutputArtifacts": map[string]any{"m": map[string]any{"Value": "s3://b/" + e.tk}}, "Status": map[string]any{"PrimaryStatus": "Completed"}})
	require.Equal(t, http.StatusOK, a.Status, a.Body)
	d = e.ok("DescribeTrialComponent", map[string]any{"TrialComponentName": tc2})
	assert.Equal(t, map[string]any{"lr": map[string]any{"NumberValue": 0.5}}, d["Parameters"])
	assert.Equal(t, "Completed", d["Status"].(map[string]any)["PrimaryStatus"])
	a = e.call("UpdateTrialComponent", map[string]any{"TrialComponentName": tc2, "Parameters": map[string]any{"lr": map[string]any{"NumberValue": 0.7}}})
	assert.Contains(t, a.message(), "provgraph keeps a run's parameters as first recorded")
}

// Times outside year 0..9999 are refused in AWS's words, naming the member, on every
// operation that records one.
func TestTimesOutOfRange(t *testing.T) {
	t.Parallel()
	e := newEnv(t, auth.RoleWriter)
	tc := "times-" + e.tk
	for _, bad := range []float64{1e18, -1, 253402300800} {
		a := e.call("CreateTrialComponent", map[string]any{"TrialComponentName": tc, "StartTime": bad})
		require.Equal(t, "ValidationException", a.code(), a.Body)
		assert.Contains(t, a.message(), "at 'startTime' failed to satisfy constraint")
	}
	e.ok("CreateTrialComponent", map[string]any{"TrialComponentName": tc, "StartTime": 253402300799})
	a := e.call("UpdateTrialComponent", map[string]any{"TrialComponentName": tc, "EndTime": 1e18})
	require.Equal(t, "ValidationException", a.code(), a.Body)
	assert.Contains(t, a.message(), "at 'endTime' failed to satisfy constraint")
	// The store is still usable after the refusals.
	e.ok("DescribeTrialComponent", map[string]any{"TrialComponentName": tc})

	a = e.putMetrics(map[string]any{"TrialComponentName": tc, "MetricData": []any{
		map[string]any{"MetricName": "acc", "Timestamp": 1e18, "Value": 1}}})
	require.Equal(t, http.StatusOK, a.Status, a.Body)
	errs, _ := a.Body["Errors"].([]any)
	require.Len(t, errs, 1)
	assert.Contains(t, errs[0].(map[string]any)["Message"], "Timestamp must be a time")
	d := e.ok("DescribeTrialComponent", map[string]any{"TrialComponentName": tc})
	assert.Empty(t, d["Metrics"])
}
