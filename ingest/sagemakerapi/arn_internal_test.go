package sagemakerapi

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestARNs(t *testing.T) {
	t.Parallel()
	a := Options{AccountID: "123456789012", Region: "eu-west-1"}.arns()
	arn := a.arn(resTrialComponent, "Churn-Run-1")
	assert.Equal(t, "arn:aws:sagemaker:eu-west-1:123456789012:experiment-trial-component/churn-run-1", arn, "SageMaker lower-cases names in ARNs")
	typ, name, ok := a.parse(arn)
	assert.True(t, ok)
	assert.Equal(t, resTrialComponent, typ)
	assert.Equal(t, "churn-run-1", name)
	for _, bad := range []string{"arn:aws:sagemaker:us-east-1:123456789012:experiment/x", "arn:aws:s3:::bucket", "experiment/x",
		"arn:aws:sagemaker:eu-west-1:123456789012:experiment/", "arn:aws:sagemaker:eu-west-1:123456789012:experiment"} {
		_, _, ok := a.parse(bad)
		assert.False(t, ok, bad)
	}
	id := stableID("artifact:s3://bucket/model.tar.gz")
	assert.Len(t, id, 32)
	assert.Equal(t, id, stableID("artifact:s3://bucket/model.tar.gz"), "the same node always gets the same id")
	assert.NotEqual(t, id, stableID("artifact:s3://bucket/other.tar.gz"))

	assert.NoError(t, Options{}.Check())
	assert.ErrorContains(t, Options{AccountID: "12"}.Check(), "12 digits")
	assert.ErrorContains(t, Options{Region: "mars"}.Check(), "us-east-1")
}

func TestRunIDOf(t *testing.T) {
	t.Parallel()
	id := "0123456789abcdef0123456789abcdef"
	assert.Equal(t, id, runIDOf(id), "a run id names its run")
	assert.Equal(t, id, runIDOf("0123456789ABCDEF0123456789ABCDEF"))
	assert.Len(t, runIDOf("churn-run-1"), 32)
	assert.Equal(t, runIDOf("churn-run-1"), runIDOf("Churn-Run-1"), "names are told apart without regard to case")
	assert.NotEqual(t, runIDOf("churn-run-1"), runIDOf("churn-run-2"))
}
