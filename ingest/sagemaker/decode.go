package sagemaker

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/provgraph/provgraph/apperr"
	"github.com/provgraph/provgraph/store"
)

// The EventBridge detail types the endpoint maps onto the graph.
const (
	DetailTraining           = "SageMaker Training Job State Change"
	DetailProcessing         = "SageMaker Processing Job State Change"
	DetailTransform          = "SageMaker Transform Job State Change"
	DetailModelPackage       = "SageMaker Model Package State Change"
	DetailEndpoint           = "SageMaker Endpoint State Change"
	DetailEndpointDeployment = "SageMaker Endpoint Deployment State Change"
	DetailPipelineStep       = "SageMaker Model Building Pipeline Execution Step Status Change"
)

// ignoredDetailTypes are SageMaker events that carry nothing the graph records: they are
// accepted and ignored, with the reason, so that a rule forwarding all of aws.sagemaker
// does not see them fail.
var ignoredDetailTypes = map[string]string{
	"SageMaker Model Building Pipeline Execution Status Change": "a pipeline execution's status names no job; its steps' events do",
	"SageMaker HyperParameter Tuning Job State Change":          "a tuning job is recorded through the training jobs it starts",
	"SageMaker Model State Change":                              "the event carries no containers; forward the model's DescribeModel response",
	"SageMaker Endpoint Config State Change":                    "the event carries no variants; forward the DescribeEndpointConfig response",
}

// Item is one decoded element of a request: exactly one of the record fields is set,
// or Ignore says why the element is accepted without being recorded.
type Item struct {
	// Kind names what the element is: its detail-type, or Describe<Resource>.
	Kind           string
	Job            *store.SageMakerJob
	ModelPackage   *store.SageMakerModelPackage
	Model          *store.SageMakerModel
	EndpointConfig *store.SageMakerEndpointConfig
	Endpoint       *store.SageMakerEndpoint
	Ignore         string
}

// describeKinds recognises Describe* responses by their ARN field, most specific first:
// a DescribeProcessingJob response can carry the TrainingJobArn of the training job a
// Debugger rule ran for, so ProcessingJobArn is looked at before it.
var describeKinds = []struct {
	arn, kind string
}{
	{"ProcessingJobArn", "DescribeProcessingJob"},
	{"TransformJobArn", "DescribeTransformJob"},
	{"TrainingJobArn", "DescribeTrainingJob"},
	{"ModelPackageArn", "DescribeModelPackage"},
	{"EndpointConfigArn", "DescribeEndpointConfig"},
	{"EndpointArn", "DescribeEndpoint"},
	{"ModelArn", "DescribeModel"},
}

// Decode turns one element of a request body — an EventBridge event from aws.sagemaker
// or a Describe* response — into what the store records. It is lenient with what
// SageMaker and exporters send (timestamps as ISO strings, epoch seconds or
// milliseconds, numbers as strings, missing fields) and fails only when the element
// cannot be recognised or lacks what identifies it.
func Decode(v any) (Item, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return Item{}, apperr.Invalid("", "is %s, not a JSON object: send EventBridge events or Describe* responses", jsonType(v))
	}
	if _, isEvent := lookup(m, "detail-type"); isEvent {
		return decodeEvent(m)
	}
	for _, d := range describeKinds {
		if str(m, d.arn) == "" {
			continue
		}
		it, err := decodeDescribe(d.kind, m)
		it.Kind = d.kind
		return it, err
	}
	return Item{}, apperr.Invalid("", "is neither an EventBridge event (no detail-type) nor a Describe* response "+
		"(none of ProcessingJobArn, TransformJobArn, TrainingJobArn, ModelPackageArn, EndpointConfigArn, EndpointArn, ModelArn)")
}

func decodeDescribe(kind string, m map[string]any) (Item, error) {
	switch kind {
	case "DescribeProcessingJob":
		j, err := processingJob(m)
		return Item{Job: j}, err
	case "DescribeTransformJob":
		j, err := transformJob(m)
		return Item{Job: j}, err
	case "DescribeTrainingJob":
		j, err := trainingJob(m)
		return Item{Job: j}, err
	case "DescribeModelPackage":
		return modelPackage(m, nil)
	case "DescribeEndpointConfig":
		c, err := endpointConfig(m)
		return Item{EndpointConfig: c}, err
	case "DescribeEndpoint":
		e, err := endpoint(m, nil)
		return Item{Endpoint: e}, err
	case "DescribeModel":
		md, err := model(m)
		return Item{Model: md}, err
	}
	return Item{}, fmt.Errorf("decode %s: no decoder", kind)
}

func decodeEvent(m map[string]any) (Item, error) {
	dt := strings.TrimSpace(str(m, "detail-type"))
	it := Item{Kind: dt}
	if dt == "" {
		return it, apperr.Invalid("detail-type", "must name the event type, e.g. %q", DetailTraining)
	}
	if src, ok := lookup(m, "source"); ok && !isSageMakerSource(src) {
		return it, apperr.Invalid("source", "is %s; only aws.sagemaker events are accepted here", describe(src))
	}
	if reason, ok := ignoredDetailTypes[dt]; ok {
		it.Ignore = reason
		return it, nil
	}
	supported := []string{DetailTraining, DetailProcessing, DetailTransform, DetailModelPackage, DetailEndpoint, DetailEndpointDeployment, DetailPipelineStep}
	if !slices.Contains(supported, dt) {
		return it, apperr.Invalid("detail-type", "%q is not a SageMaker event this endpoint records; it records %s", truncate(dt), strings.Join(supported, ", "))
	}
	d := obj(m, "detail")
	if d == nil {
		return it, apperr.Invalid("detail", "must be a JSON object (got %s)", jsonType(get(m, "detail")))
	}
	at := timeOf(get(m, "time"))
	var err error
	switch dt {
	case DetailTraining:
		it.Job, err = trainingJob(d)
	case DetailProcessing:
		it.Job, err = processingJob(d)
	case DetailTransform:
		it.Job, err = transformJob(d)
	case DetailModelPackage:
		var mp Item
		mp, err = modelPackage(d, at)
		it.ModelPackage, it.Ignore = mp.ModelPackage, mp.Ignore
	case DetailEndpoint, DetailEndpointDeployment:
		it.Endpoint, err = endpoint(d, at)
	case DetailPipelineStep:
		it.Job, it.Ignore, err = pipelineStep(d)
	}
	return it, apperr.WithFieldPrefix(err, "detail")
}

func isSageMakerSource(v any) bool {
	switch x := v.(type) {
	case string:
		return x == "aws.sagemaker"
	case []any: // a repeated "source" key in a hand-written event, or a pattern
		for _, e := range x {
			if s, _ := e.(string); s == "aws.sagemaker" {
				return true
			}
		}
	}
	return false
}

// trainingJob decodes a training job's detail or DescribeTrainingJob response.
func trainingJob(d map[string]any) (*store.SageMakerJob, error) {
	name, err := nameOf(d, "TrainingJobName", "TrainingJobArn", "training-job/")
	if err != nil {
		return nil, err
	}
	j := &store.SageMakerJob{
		Type: store.SageMakerTraining, Name: name, ARN: optStr(d, "TrainingJobArn"),
		Status: str(d, "TrainingJobStatus"), FailureReason: optStr(d, "FailureReason"),
		StartedAt: timeOf(get(d, "TrainingStartTime")), EndedAt: timeOf(get(d, "TrainingEndTime")),
		Image:           firstStr(obj(d, "AlgorithmSpecification"), "TrainingImage", "AlgorithmName"),
		HyperParameters: params(obj(d, "HyperParameters")),
		ModelArtifact:   optStr(obj(d, "ModelArtifacts"), "S3ModelArtifacts"),
		Experiment:      experiment(obj(d, "ExperimentConfig")),
	}
	rc := obj(d, "ResourceConfig")
	j.InstanceType, j.InstanceCount = optStr(rc, "InstanceType"), optInt(get(rc, "InstanceCount"))
	if j.InstanceType == nil { // heterogeneous clusters: the first group's type, all instances
		var count int64
		for _, g := range objs(rc, "InstanceGroups") {
			if j.InstanceType == nil {
				j.InstanceType = optStr(g, "InstanceType")
			}
			if n := optInt(get(g, "InstanceCount")); n != nil {
				count += *n
			}
		}
		if count > 0 && j.InstanceCount == nil {
			j.InstanceCount = &count
		}
	}
	for _, c := range objs(d, "InputDataConfig") {
		if uri := str(obj(obj(c, "DataSource"), "S3DataSource"), "S3Uri"); uri != "" {
			j.Inputs = append(j.Inputs, store.SageMakerChannel{Name: str(c, "ChannelName"), URI: uri})
		}
	}
	return j, nil
}

// processingJob decodes a processing job's detail or DescribeProcessingJob response.
func processingJob(d map[string]any) (*store.SageMakerJob, error) {
	name, err := nameOf(d, "ProcessingJobName", "ProcessingJobArn", "processing-job/")
	if err != nil {
		return nil, err
	}
	cc := obj(obj(d, "ProcessingResources"), "ClusterConfig")
	j := &store.SageMakerJob{
		Type: store.SageMakerProcessing, Name: name, ARN: optStr(d, "ProcessingJobArn"),
		Status: str(d, "ProcessingJobStatus"), FailureReason: optStr(d, "FailureReason"),
		StartedAt: timeOf(get(d, "ProcessingStartTime")), EndedAt: timeOf(get(d, "ProcessingEndTime")),
		InstanceType: optStr(cc, "InstanceType"), InstanceCount: optInt(get(cc, "InstanceCount")),
		Image:      optStr(obj(d, "AppSpecification"), "ImageUri"),
		Experiment: experiment(obj(d, "ExperimentConfig")),
	}
	for _, in := range objs(d, "ProcessingInputs") {
		uri := str(obj(in, "S3Input"), "S3Uri")
		if uri == "" { // an Athena or Redshift dataset definition: the location its query wrote
			dd := obj(in, "DatasetDefinition")
			uri = firstNonEmpty(str(obj(dd, "AthenaDatasetDefinition"), "OutputS3Uri"), str(obj(dd, "RedshiftDatasetDefinition"), "OutputS3Uri"))
		}
		if uri != "" {
			j.Inputs = append(j.Inputs, store.SageMakerChannel{Name: str(in, "InputName"), URI: uri})
		}
	}
	for _, out := range objs(obj(d, "ProcessingOutputConfig"), "Outputs") {
		if uri := str(obj(out, "S3Output"), "S3Uri"); uri != "" {
			j.Outputs = append(j.Outputs, store.SageMakerChannel{Name: str(out, "OutputName"), URI: uri})
		}
	}
	return j, nil
}

// transformJob decodes a batch transform job's detail or DescribeTransformJob response:
// a processing job that reads its input and the model, and writes its output.
func transformJob(d map[string]any) (*store.SageMakerJob, error) {
	name, err := nameOf(d, "TransformJobName", "TransformJobArn", "transform-job/")
	if err != nil {
		return nil, err
	}
	tr := obj(d, "TransformResources")
	j := &store.SageMakerJob{
		Type: store.SageMakerTransform, Name: name, ARN: optStr(d, "TransformJobArn"),
		Status: str(d, "TransformJobStatus"), FailureReason: optStr(d, "FailureReason"),
		StartedAt: timeOf(get(d, "TransformStartTime")), EndedAt: timeOf(get(d, "TransformEndTime")),
		InstanceType: optStr(tr, "InstanceType"), InstanceCount: optInt(get(tr, "InstanceCount")),
		ModelName:  optStr(d, "ModelName"),
		Experiment: experiment(obj(d, "ExperimentConfig")),
	}
	if uri := str(obj(obj(obj(d, "TransformInput"), "DataSource"), "S3DataSource"), "S3Uri"); uri != "" {
		j.Inputs = append(j.Inputs, store.SageMakerChannel{Name: "TransformInput", URI: uri})
	}
	if uri := str(obj(d, "TransformOutput"), "S3OutputPath"); uri != "" {
		j.Outputs = append(j.Outputs, store.SageMakerChannel{Name: "TransformOutput", URI: uri})
	}
	return j, nil
}

// pipelineStep decodes a pipeline step's status change: the job the step ran, known by
// its ARN in the step's metadata, with the step's status.
func pipelineStep(d map[string]any) (*store.SageMakerJob, string, error) {
	meta := obj(d, "metadata")
	step := str(d, "stepName")
	for _, k := range []struct {
		key, resource string
		typ           store.SageMakerJobType
	}{
		{"trainingJob", "training-job/", store.SageMakerTraining},
		{"processingJob", "processing-job/", store.SageMakerProcessing},
		{"transformJob", "transform-job/", store.SageMakerTransform},
	} {
		arn := str(obj(meta, k.key), "arn")
		if arn == "" {
			continue
		}
		name := nameFromARN(arn, k.resource)
		if name == "" {
			return nil, "", apperr.Invalid("metadata."+k.key+".arn", "%q is not the ARN of a SageMaker %s", truncate(arn), strings.TrimSuffix(k.resource, "/"))
		}
		j := &store.SageMakerJob{Type: k.typ, Name: name, ARN: &arn, Status: str(d, "currentStepStatus"),
			FailureReason: optStr(d, "failureReason"), PipelineExecution: optStr(d, "pipelineExecutionArn")}
		if step != "" {
			j.PipelineStep = &step
		}
		return j, "", nil
	}
	kinds := make([]string, 0, len(meta))
	for k := range meta {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	what := "no metadata"
	if len(kinds) > 0 {
		what = "metadata " + strings.Join(kinds, ", ")
	}
	return nil, fmt.Sprintf("pipeline step %q (%s) has %s and names no training, processing or transform job", truncate(step), truncate(str(d, "stepType")), what), nil
}

// modelPackage decodes a model package's detail or DescribeModelPackage response. An
// unversioned package (no group) is ignored: it belongs to no registered model.
func modelPackage(d map[string]any, at *time.Time) (Item, error) {
	arn := str(d, "ModelPackageArn")
	group := str(d, "ModelPackageGroupName")
	version := optInt(get(d, "ModelPackageVersion"))
	if group == "" || version == nil { // fall back on the ARN: model-package/<group>/<version>
		if g, v, ok := strings.Cut(nameFromARN(arn, "model-package/"), "/"); ok {
			if group == "" {
				group = g
			}
			if n, err := strconv.ParseInt(v, 10, 64); err == nil && version == nil {
				version = &n
			}
		}
	}
	if group == "" {
		return Item{Ignore: "an unversioned model package (no ModelPackageGroupName) belongs to no registered model"}, nil
	}
	if version == nil {
		return Item{}, apperr.Invalid("ModelPackageVersion", "is missing, and the ModelPackageArn %q does not end in /<version>", truncate(arn))
	}
	mp := &store.SageMakerModelPackage{
		Group: group, Version: *version, ARN: optStr(d, "ModelPackageArn"),
		Status: optStr(d, "ModelPackageStatus"), Approval: optStr(d, "ModelApprovalStatus"),
		ApprovalDescription: optStr(d, "ApprovalDescription"),
		ApprovedBy:          firstStr(obj(d, "LastModifiedBy"), "UserProfileName", "UserProfileArn"),
		Description:         optStr(d, "ModelPackageDescription"),
		ModifiedAt:          timeOf(get(d, "LastModifiedTime")),
	}
	if mp.ModifiedAt == nil {
		mp.ModifiedAt = at
	}
	for i, c := range objs(obj(d, "InferenceSpecification"), "Containers") {
		uri := firstNonEmpty(str(c, "ModelDataUrl"), str(obj(obj(c, "ModelDataSource"), "S3DataSource"), "S3Uri"))
		if uri != "" {
			mp.ModelDataURLs = append(mp.ModelDataURLs, uri)
		}
		if i == 0 && str(c, "Framework") != "" {
			fw := strings.TrimSpace(str(c, "Framework") + " " + str(c, "FrameworkVersion"))
			mp.Framework = &fw
		}
	}
	return Item{ModelPackage: mp}, nil
}

// model decodes a DescribeModel response.
func model(d map[string]any) (*store.SageMakerModel, error) {
	name, err := nameOf(d, "ModelName", "ModelArn", "model/")
	if err != nil {
		return nil, err
	}
	m := &store.SageMakerModel{Name: name, ARN: optStr(d, "ModelArn")}
	containers := objs(d, "Containers")
	if pc := obj(d, "PrimaryContainer"); pc != nil {
		containers = append([]map[string]any{pc}, containers...)
	}
	for _, c := range containers {
		if uri := firstNonEmpty(str(c, "ModelDataUrl"), str(obj(obj(c, "ModelDataSource"), "S3DataSource"), "S3Uri")); uri != "" {
			m.ModelDataURLs = append(m.ModelDataURLs, uri)
		}
		if p := str(c, "ModelPackageName"); p != "" {
			m.PackageNames = append(m.PackageNames, p)
		}
	}
	return m, nil
}

// endpointConfig decodes a DescribeEndpointConfig response.
func endpointConfig(d map[string]any) (*store.SageMakerEndpointConfig, error) {
	name, err := nameOf(d, "EndpointConfigName", "EndpointConfigArn", "endpoint-config/")
	if err != nil {
		return nil, err
	}
	c := &store.SageMakerEndpointConfig{Name: name, ARN: optStr(d, "EndpointConfigArn")}
	for i, v := range objs(d, "ProductionVariants") {
		if str(v, "ModelName") == "" {
			return nil, apperr.Invalid(fmt.Sprintf("ProductionVariants[%d].ModelName", i), "is missing")
		}
		c.Variants = append(c.Variants, store.SageMakerVariant{Name: str(v, "VariantName"), ModelName: str(v, "ModelName"), Weight: optFloat(get(v, "InitialVariantWeight"))})
	}
	return c, nil
}

// endpoint decodes an endpoint state change, an endpoint deployment state change or a
// DescribeEndpoint response.
func endpoint(d map[string]any, at *time.Time) (*store.SageMakerEndpoint, error) {
	name, err := nameOf(d, "EndpointName", "EndpointArn", "endpoint/")
	if err != nil {
		return nil, err
	}
	e := &store.SageMakerEndpoint{
		Name: name, ARN: optStr(d, "EndpointArn"), Config: optStr(d, "EndpointConfigName"),
		Status: optStr(d, "EndpointStatus"), ModifiedAt: timeOf(get(d, "LastModifiedTime")),
	}
	if e.ModifiedAt == nil {
		e.ModifiedAt = at
	}
	for _, v := range objs(d, "ProductionVariants") {
		w := optFloat(get(v, "CurrentWeight"))
		if w == nil {
			w = optFloat(get(v, "DesiredWeight"))
		}
		e.Variants = append(e.Variants, store.SageMakerVariant{Name: str(v, "VariantName"), Weight: w})
	}
	return e, nil
}

func experiment(c map[string]any) *store.SageMakerExperimentConfig {
	if c == nil {
		return nil
	}
	e := &store.SageMakerExperimentConfig{
		ExperimentName: str(c, "ExperimentName"), TrialName: str(c, "TrialName"),
		TrialComponentDisplayName: str(c, "TrialComponentDisplayName"), RunName: str(c, "RunName"),
	}
	if *e == (store.SageMakerExperimentConfig{}) {
		return nil
	}
	return e
}

// params returns hyper-parameters sorted by key, each value as its text.
func params(m map[string]any) []store.Param {
	out := make([]store.Param, 0, len(m))
	for k, v := range m {
		out = append(out, store.Param{Key: k, Value: text(v)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// nameOf returns the resource name in field, else the one the ARN in arnField ends in.
func nameOf(d map[string]any, field, arnField, resource string) (string, error) {
	if n := strings.TrimSpace(str(d, field)); n != "" {
		return n, nil
	}
	if n := nameFromARN(str(d, arnField), resource); n != "" {
		return n, nil
	}
	return "", apperr.Invalid(field, "is missing (and no %s names the %s)", arnField, strings.TrimSuffix(resource, "/"))
}

// nameFromARN returns what follows resource in an ARN such as
// arn:aws:sagemaker:us-east-1:123456789012:training-job/name, or "".
func nameFromARN(arn, resource string) string {
	_, rest, ok := strings.Cut(arn, ":"+resource)
	if !ok {
		return ""
	}
	return strings.TrimSpace(rest)
}

// lookup finds key in m: exactly, else ignoring case (exporters re-case keys).
func lookup(m map[string]any, key string) (any, bool) {
	if m == nil {
		return nil, false
	}
	if v, ok := m[key]; ok {
		return v, true
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}

func get(m map[string]any, key string) any {
	v, _ := lookup(m, key)
	return v
}

func obj(m map[string]any, key string) map[string]any {
	o, _ := get(m, key).(map[string]any)
	return o
}

// objs returns the objects of the array at key (a lone object counts as one).
func objs(m map[string]any, key string) []map[string]any {
	switch x := get(m, key).(type) {
	case []any:
		out := make([]map[string]any, 0, len(x))
		for _, e := range x {
			if o, ok := e.(map[string]any); ok {
				out = append(out, o)
			}
		}
		return out
	case map[string]any:
		return []map[string]any{x}
	}
	return nil
}

// str returns the string at key (a number or boolean as its text), or "".
func str(m map[string]any, key string) string {
	switch x := get(m, key).(type) {
	case string:
		return strings.TrimSpace(x)
	case json.Number, bool:
		return fmt.Sprint(x)
	}
	return ""
}

func optStr(m map[string]any, key string) *string {
	if s := str(m, key); s != "" {
		return &s
	}
	return nil
}

func firstStr(m map[string]any, keys ...string) *string {
	for _, k := range keys {
		if s := optStr(m, k); s != nil {
			return s
		}
	}
	return nil
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// text is a JSON value as a parameter value: strings as they are, other values as JSON.
func text(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	case json.Number:
		return x.String()
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// number reads a JSON number, or a string holding one.
func number(v any) (float64, bool) {
	var s string
	switch x := v.(type) {
	case json.Number:
		s = x.String()
	case float64:
		return x, !math.IsNaN(x) && !math.IsInf(x, 0)
	case string:
		s = strings.TrimSpace(x)
	default:
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

func optFloat(v any) *float64 {
	if f, ok := number(v); ok {
		return &f
	}
	return nil
}

func optInt(v any) *int64 {
	f, ok := number(v)
	if !ok || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return nil
	}
	n := int64(f)
	return &n
}

// epochMillisFrom is where a number stops reading as epoch seconds and starts reading as
// epoch milliseconds: 10^11 seconds is the year 5138, 10^11 milliseconds 1973.
const epochMillisFrom = 1e11

// timeLayouts are the textual timestamps SageMaker, the AWS CLI and boto3 exporters
// write (boto3's datetime printed with str() has a space and +00:00).
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999Z0700",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
}

// timeOf reads a timestamp: an ISO 8601 / RFC 3339 string, or epoch seconds (Describe
// responses, possibly with a fraction) or milliseconds (events) as a number or a
// string. Anything else, and times before 1971 or after 9999, is no time.
func timeOf(v any) *time.Time {
	var t time.Time
	if f, ok := number(v); ok {
		if f <= 0 {
			return nil
		}
		if f >= epochMillisFrom {
			f /= 1000
		}
		sec, frac := math.Modf(f)
		t = time.Unix(int64(sec), int64(math.Round(frac*1e6))*1e3).UTC()
	} else {
		s, ok := v.(string)
		if !ok {
			return nil
		}
		s = strings.TrimSpace(s)
		for _, layout := range timeLayouts {
			if p, err := time.Parse(layout, s); err == nil {
				t = p.UTC()
				break
			}
		}
	}
	if t.IsZero() || t.Year() < 1971 || t.Year() > 9999 {
		return nil
	}
	return &t
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case json.Number, float64:
		return "a number"
	case bool:
		return "a boolean"
	}
	return fmt.Sprintf("%T", v)
}

func describe(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return truncate(string(b))
}

func truncate(s string) string {
	const max = 120
	if r := []rune(s); len(r) > max {
		return string(r[:max]) + "…"
	}
	return s
}
