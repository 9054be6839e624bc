package sagemaker

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/store"
)

func parse(t testing.TB, s string) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.UseNumber()
	var v any
	require.NoError(t, dec.Decode(&v))
	return v
}

func TestTimeOf(t *testing.T) {
	t.Parallel()
	want := time.Date(2026, 3, 2, 10, 41, 7, 410_000_000, time.UTC)
	for _, in := range []string{
		`"2026-03-02T10:41:07.41Z"`,
		`"2026-03-02T10:41:07.410000+00:00"`,
		`"2026-03-02 10:41:07.410000+00:00"`,
		`"2026-03-02 11:41:07.41+01:00"`,
		`"2026-03-02T11:41:07.41+0100"`,
		`"2026-03-02T10:41:07.41"`,
		`1772448067.41`,
		`"1772448067.41"`,
		`1772448067410`,
		`"1772448067410"`,
		`1772448067410.0`,
	} {
		got := timeOf(parse(t, in))
		if assert.NotNil(t, got, in) {
			assert.True(t, want.Equal(*got), "%s: got %s", in, got)
		}
	}
	for _, in := range []string{`"Timestamp"`, `null`, `0`, `-5`, `true`, `"2026-13-40T00:00:00Z"`, `{}`, `1e300`} {
		assert.Nil(t, timeOf(parse(t, in)), in)
	}
}

func TestDecodeRecognises(t *testing.T) {
	t.Parallel()
	// A processing job run for a training job's Debugger rule names the training job too.
	it, err := Decode(parse(t, `{"ProcessingJobName":"rule-eval","ProcessingJobArn":"arn:aws:sagemaker:us-east-1:123456789012:processing-job/rule-eval",
		"TrainingJobArn":"arn:aws:sagemaker:us-east-1:123456789012:training-job/train-1","ProcessingJobStatus":"InProgress"}`))
	require.NoError(t, err)
	assert.Equal(t, "DescribeProcessingJob", it.Kind)
	assert.Equal(t, store.SageMakerProcessing, it.Job.Type)
	assert.Equal(t, "rule-eval", it.Job.Name)

	// Names from ARNs, numbers as strings, re-cased keys.
	it, err = Decode(parse(t, `{"trainingjobarn":"arn:aws:sagemaker:us-east-1:123456789012:training-job/from-arn",
		"ResourceConfig":{"InstanceType":"ml.g5.xlarge","InstanceCount":"4"},"HyperParameters":{"epochs":10,"lr":"0.001"}}`))
	require.NoError(t, err)
	assert.Equal(t, "from-arn", it.Job.Name)
	assert.Equal(t, int64(4), *it.Job.InstanceCount)
	assert.Equal(t, []store.Param{{Key: "epochs", Value: "10"}, {Key: "lr", Value: "0.001"}}, it.Job.HyperParameters)

	// The model package event of AWS's documentation repeats "source" as an array.
	b, err := os.ReadFile(filepath.Join("testdata", "model_package_approved.json"))
	require.NoError(t, err)
	it, err = Decode(parse(t, string(b)))
	require.NoError(t, err)
	assert.Equal(t, int64(1), it.ModelPackage.Version)
	assert.Equal(t, "Approved", *it.ModelPackage.Approval)
	assert.Equal(t, "XGBOOST 1.7", *it.ModelPackage.Framework)

	// An unversioned model package and steps without jobs are ignored, with a reason.
	it, err = Decode(parse(t, `{"ModelPackageArn":"arn:aws:sagemaker:us-east-1:123456789012:model-package/marketplace-pkg","ModelPackageName":"marketplace-pkg"}`))
	require.NoError(t, err)
	assert.NotEmpty(t, it.Ignore)
	it, err = Decode(parse(t, `{"detail-type":"SageMaker Model Building Pipeline Execution Status Change","source":"aws.sagemaker","detail":{}}`))
	require.NoError(t, err)
	assert.NotEmpty(t, it.Ignore)
}

// Decode never panics, whatever JSON it is given.
func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"detail-type":"SageMaker Endpoint State Change","detail":{"EndpointArn":"arn:x:endpoint/","ProductionVariants":{"CurrentWeight":"NaN"}}}`))
	f.Add([]byte(`{"ModelPackageArn":"x:model-package//-1","ModelPackageVersion":1e400}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var v any
		if dec.Decode(&v) != nil {
			return
		}
		_, _ = Decode(v)
	})
}

func TestTimeOfWholeSeconds(t *testing.T) {
	t.Parallel()
	got := timeOf(parse(t, `"2026-03-02 10:41:07+00:00"`)) // boto3's str() of a datetime without microseconds
	require.NotNil(t, got)
	assert.Equal(t, time.Date(2026, 3, 2, 10, 41, 7, 0, time.UTC), *got)
}
