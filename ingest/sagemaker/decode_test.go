package sagemaker

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/apperr"
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
	assert.Equal(t, Processing, it.Job.Type)
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

// FuzzDecode: Decode never panics, whatever JSON it is given, and what it decodes is
// named only by strings of the input: a number, boolean, object or array sent where a
// name belongs never becomes a node's name. The seeds are the real payloads of testdata/
// and every one of their values replaced by each JSON type in turn.
func FuzzDecode(f *testing.F) {
	for _, b := range goldenPayloads(f) {
		f.Add(b)
		v := parse(f, string(b))
		for _, p := range pathsOf(v, "") {
			for _, r := range wrongTypes {
				if m, err := json.Marshal(replaced(f, v, p, r)); err == nil {
					f.Add(m)
				}
			}
		}
	}
	f.Add([]byte(`{"detail-type":"SageMaker Endpoint State Change","detail":{"EndpointArn":"arn:x:endpoint/","ProductionVariants":{"CurrentWeight":"NaN"}}}`))
	f.Add([]byte(`{"ModelPackageArn":"x:model-package//-1","ModelPackageVersion":1e400}`))
	f.Add([]byte(`{"detail-type":"SageMaker Training Job State Change","source":"aws.sagemaker","detail":{"TrainingJobName":7}}`))
	f.Add([]byte(`{"detail-type":"SageMaker Training Job State Change","source":"aws.sagemaker","detail":{"TrainingJobName":{"x":"y"},"TrainingJobArn":"arn:aws:sagemaker:r:1:training-job/t"}}`))
	f.Add([]byte(`{"EndpointConfigArn":"arn:aws:sagemaker:r:1:endpoint-config/c","ProductionVariants":[{"ModelName":true}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var v any
		if dec.Decode(&v) != nil {
			return
		}
		it, err := Decode(v)
		if err != nil {
			e, ok := apperr.As(err)
			require.True(t, ok, "not a domain error: %v", err)
			require.Equal(t, apperr.InvalidArgument, e.Code, err.Error())
			return
		}
		inputStrings := stringsOf(v, nil)
		for _, name := range namesOf(it) {
			require.True(t, slices.ContainsFunc(inputStrings, func(s string) bool { return strings.Contains(s, name) }),
				"decoded name %q is in no string of the input %s", name, data)
		}
	})
}

// goldenPayloads are the real payload shapes of testdata/.
func goldenPayloads(t testing.TB) [][]byte {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	var out [][]byte
	for _, name := range files {
		b, err := os.ReadFile(name)
		require.NoError(t, err)
		out = append(out, b)
	}
	return out
}

// wrongTypes are the values put in each place of a payload: one of each JSON type.
var wrongTypes = []any{json.Number("7"), true, map[string]any{}, []any{}, "s", nil}

// pathsOf lists the JSON paths of every value under v, in the decoder's notation
// (detail.InputDataConfig[0].ChannelName).
func pathsOf(v any, path string) []string {
	var out []string
	join := func(k string) string {
		if path == "" {
			return k
		}
		return path + "." + k
	}
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			out = append(out, join(k))
			out = append(out, pathsOf(e, join(k))...)
		}
	case []any:
		for i, e := range x {
			p := path + "[" + strconv.Itoa(i) + "]"
			out = append(out, p)
			out = append(out, pathsOf(e, p)...)
		}
	}
	sort.Strings(out)
	return out
}

// replaced returns a copy of v with the value at path replaced by r.
func replaced(t testing.TB, v any, path string, r any) any {
	b, err := json.Marshal(v)
	require.NoError(t, err)
	cp := parse(t, string(b))
	var set func(cur any, rest string) any
	set = func(cur any, rest string) any {
		if rest == "" {
			return r
		}
		if rest[0] == '[' {
			end := strings.IndexByte(rest, ']')
			i, _ := strconv.Atoi(rest[1:end])
			a := cur.([]any)
			a[i] = set(a[i], strings.TrimPrefix(rest[end+1:], "."))
			return a
		}
		end := strings.IndexAny(rest, ".[")
		if end < 0 {
			end = len(rest)
		}
		m := cur.(map[string]any)
		m[rest[:end]] = set(m[rest[:end]], strings.TrimPrefix(rest[end:], "."))
		return m
	}
	return set(cp, path)
}

// stringsOf collects every string of v, keys included.
func stringsOf(v any, out []string) []string {
	switch x := v.(type) {
	case string:
		out = append(out, x)
	case map[string]any:
		for k, e := range x {
			out = stringsOf(e, append(out, k))
		}
	case []any:
		for _, e := range x {
			out = stringsOf(e, out)
		}
	}
	return out
}

// namesOf lists the names an item would give nodes and lookup records.
func namesOf(it Item) []string {
	var out []string
	if it.Job != nil {
		out = append(out, it.Job.Name)
		for _, c := range append(slices.Clone(it.Job.Inputs), it.Job.Outputs...) {
			out = append(out, c.URI)
		}
	}
	if it.ModelPackage != nil {
		out = append(out, it.ModelPackage.Group)
		out = append(out, it.ModelPackage.ModelDataURLs...)
	}
	if it.Model != nil {
		out = append(out, it.Model.Name)
		out = append(out, it.Model.ModelDataURLs...)
		out = append(out, it.Model.PackageNames...)
	}
	if it.EndpointConfig != nil {
		out = append(out, it.EndpointConfig.Name)
		for _, v := range it.EndpointConfig.Variants {
			out = append(out, v.ModelName)
		}
	}
	if it.Endpoint != nil {
		out = append(out, it.Endpoint.Name)
		if it.Endpoint.Config != nil {
			out = append(out, *it.Endpoint.Config)
		}
	}
	return out
}

// Every value of every real payload, replaced by a value of another JSON type, either
// fails the element with INVALID_ARGUMENT naming exactly that value's path, or was not
// read (the element decodes as before). Only hyper-parameter values take any scalar, and
// null is absent.
func TestDecodeRefusesWrongTypes(t *testing.T) {
	t.Parallel()
	for i, b := range goldenPayloads(t) {
		v := parse(t, string(b))
		want, err := Decode(v)
		require.NoError(t, err, "payload %d", i)
		for _, p := range pathsOf(v, "") {
			orig := get(t, v, p)
			for _, r := range wrongTypes {
				if r == nil || jsonType(r) == jsonType(orig) {
					continue
				}
				t.Run(fmt.Sprintf("%s/%s=%s", want.Kind, p, jsonType(r)), func(t *testing.T) {
					got, err := Decode(replaced(t, v, p, r))
					if err != nil {
						e, ok := apperr.As(err)
						require.True(t, ok, err.Error())
						assert.Equal(t, apperr.InvalidArgument, e.Code)
						assert.Equal(t, p, e.Field, err.Error())
						return
					}
					_, isScalar := r.(map[string]any)
					if _, isArray := r.([]any); strings.Contains(p, "HyperParameters.") && !isScalar && !isArray {
						return
					}
					assert.Equal(t, want, got, "a value of the wrong type was read without an error")
				})
			}
		}
	}
}

// get returns the value at path in v.
func get(t testing.TB, v any, path string) any {
	var out any
	replaced(t, v, path, nil) // checks the path exists
	var walk func(cur any, p string)
	walk = func(cur any, p string) {
		if p == path {
			out = cur
			return
		}
		switch x := cur.(type) {
		case map[string]any:
			for k, e := range x {
				if p == "" {
					walk(e, k)
				} else {
					walk(e, p+"."+k)
				}
			}
		case []any:
			for i, e := range x {
				walk(e, p+"["+strconv.Itoa(i)+"]")
			}
		}
	}
	walk(v, "")
	return out
}

// The cases a new user meets first, with the messages they read.
func TestDecodeTypeErrors(t *testing.T) {
	t.Parallel()
	training := func(detail string) string {
		return `{"detail-type":"SageMaker Training Job State Change","source":"aws.sagemaker","detail":` + detail + `}`
	}
	for _, c := range []struct{ in, field, msg string }{
		{training(`{"TrainingJobName":7}`), "detail.TrainingJobName", "must be a string, not a number"},
		{training(`{"TrainingJobName":true}`), "detail.TrainingJobName", "must be a string, not a boolean"},
		{training(`{"TrainingJobName":{"S":"x"}}`), "detail.TrainingJobName", "must be a string, not an object"},
		{training(`{"TrainingJobName":"t","InputDataConfig":"s3://lake/x"}`), "detail.InputDataConfig", "must be an array of objects, not a string"},
		{training(`{"TrainingJobName":"t","InputDataConfig":[{"DataSource":{"S3DataSource":{"S3Uri":5}}}]}`), "detail.InputDataConfig[0].DataSource.S3DataSource.S3Uri", "must be a string, not a number"},
		{training(`{"TrainingJobName":"t","InputDataConfig":["s3://lake/x"]}`), "detail.InputDataConfig[0]", "must be a JSON object, not a string"},
		{training(`{"TrainingJobName":"t","HyperParameters":"epochs=3"}`), "detail.HyperParameters", "must be a JSON object, not a string"},
		{training(`{"TrainingJobName":"t","HyperParameters":{"layers":[1,2]}}`), "detail.HyperParameters.layers", "must be a string, not an array"},
		{training(`{"TrainingJobName":"t","ResourceConfig":{"InstanceCount":"many"}}`), "detail.ResourceConfig.InstanceCount", `must be a number, not a string ("many")`},
		{training(`{"TrainingJobName":"t","TrainingStartTime":false}`), "detail.TrainingStartTime", "must be a timestamp"},
		{training(`7`), "detail", "must be a JSON object, not a number"},
		{`{"detail-type":7,"detail":{}}`, "detail-type", "must be a string, not a number"},
		{`{"detail-type":"SageMaker Training Job State Change","source":["aws.sagemaker",1],"detail":{}}`, "source[1]", "must be a string, not a number"},
		{`{"EndpointConfigArn":"arn:aws:sagemaker:r:1:endpoint-config/c","ProductionVariants":[{"ModelName":{}}]}`, "ProductionVariants[0].ModelName", "must be a string, not an object"},
		{`{"ModelPackageArn":"arn:aws:sagemaker:r:1:model-package/g/1","ModelPackageVersion":1.5}`, "ModelPackageVersion", "must be an integer"},
		{`{"detail-type":"SageMaker Notebook Instance State Change","source":"aws.sagemaker","detail":{}}`, "detail-type", "is not a SageMaker event this endpoint records"},
	} {
		_, err := Decode(parse(t, c.in))
		e, ok := apperr.As(err)
		if assert.True(t, ok, "%s: %v", c.in, err) {
			assert.Equal(t, apperr.InvalidArgument, e.Code, c.in)
			assert.Equal(t, c.field, e.Field, c.in)
			assert.True(t, strings.HasPrefix(e.Error(), c.field+": "), e.Error())
			assert.Contains(t, e.Error(), c.msg, c.in)
		}
	}
}

func TestTimeOfWholeSeconds(t *testing.T) {
	t.Parallel()
	got := timeOf(parse(t, `"2026-03-02 10:41:07+00:00"`)) // boto3's str() of a datetime without microseconds
	require.NotNil(t, got)
	assert.Equal(t, time.Date(2026, 3, 2, 10, 41, 7, 0, time.UTC), *got)
}
