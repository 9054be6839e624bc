package sagemakerapi_test

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/auth"
	"github.com/provgraph/provgraph/store"
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

// The SageMaker API's own names can't be spoofed by tags: the API refuses tags with its
// reserved prefix, and a name tag set through another surface is not believed.
func TestReservedTags(t *testing.T) {
	t.Parallel()
	e := newEnv(t, auth.RoleWriter)
	tc := "spoof-" + e.tk
	for _, op := range []string{"CreateTrialComponent", "CreateExperiment"} {
		body := map[string]any{"TrialComponentName": tc, "ExperimentName": "x-" + e.tk,
			"Tags": []map[string]string{{"Key": "sagemaker.trialComponentName", "Value": "spoofed"}}}
		a := e.call(op, body)
		require.Equal(t, "ValidationException", a.code(), a.Body)
		assert.Contains(t, a.message(), "'sagemaker.trialComponentName' at 'tags.1.member.key'", op)
	}
	e.ok("CreateTrialComponent", map[string]any{"TrialComponentName": tc})
	// Through the store, as MLflow's set-tag or GraphQL would.
	_, err := e.st.LogRun(t.Context(), "mlflow", store.RunLog{Run: store.RunKey(runIDOfName(e, tc)),
		Tags: []store.Tag{{Key: "sagemaker.trialComponentName", Value: "spoofed"}}})
	require.NoError(t, err)
	d := e.ok("DescribeTrialComponent", map[string]any{"TrialComponentName": tc})
	assert.NotEqual(t, "spoofed", d["TrialComponentName"])
	assert.NotContains(t, d["TrialComponentArn"], "spoofed")

	exp := "shown-" + e.tk
	e.ok("CreateExperiment", map[string]any{"ExperimentName": exp, "DisplayName": "Shown"})
	x, err := e.st.ExperimentByName(t.Context(), "name", exp)
	require.NoError(t, err)
	_, err = e.st.UpdateExperiment(t.Context(), "mlflow", store.ExperimentUpdate{ID: x.Key,
		SetTags: []store.Tag{{Key: "sagemaker.displayName", Value: "spoofed"}}})
	require.NoError(t, err)
	assert.Equal(t, "Shown", e.ok("DescribeExperiment", map[string]any{"ExperimentName": exp})["DisplayName"])
}

// runIDOfName is the run id of the trial component named name (a hash of the name).
func runIDOfName(_ *env, name string) string {
	sum := sha256.Sum256([]byte("trial-component\x00" + strings.ToLower(name)))
	return hex.EncodeToString(sum[:16])
}

// DescribeTrialComponent takes a trial component's ARN, not another resource's.
func TestDescribeTakesTrialComponentARNs(t *testing.T) {
	t.Parallel()
	e := newEnv(t, auth.RoleWriter)
	tc := "arn-" + e.tk
	arn := e.ok("CreateTrialComponent", map[string]any{"TrialComponentName": tc})["TrialComponentArn"].(string)
	e.ok("DescribeTrialComponent", map[string]any{"TrialComponentName": arn})
	other := strings.Replace(arn, ":experiment-trial-component/", ":experiment/", 1)
	a := e.call("DescribeTrialComponent", map[string]any{"TrialComponentName": other})
	assert.Equal(t, "ValidationException", a.code(), a.Body)
}
