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
	Job            *Job
	ModelPackage   *ModelPackage
	Model          *Model
	EndpointConfig *EndpointConfig
	Endpoint       *Endpoint
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
// milliseconds, numbers as strings, missing fields, keys in other cases) and strict with
// types: a value of the wrong JSON type fails the element with INVALID_ARGUMENT naming
// its JSON path and the type expected (see fields). It also fails when the element
// cannot be recognised or lacks what identifies it.
func Decode(v any) (Item, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return Item{}, apperr.Invalid("", "is %s, not a JSON object: send EventBridge events or Describe* responses", jsonType(v))
	}
	f := newFields(m, "")
	if f.get("detail-type") != nil {
		return decodeEvent(f)
	}
	for _, d := range describeKinds {
		if !f.has(d.arn) {
			continue
		}
		it, err := decodeDescribe(d.kind, f)
		it.Kind = d.kind
		return it, err
	}
	return Item{}, apperr.Invalid("", "is neither an EventBridge event (no detail-type) nor a Describe* response "+
		"(none of ProcessingJobArn, TransformJobArn, TrainingJobArn, ModelPackageArn, EndpointConfigArn, EndpointArn, ModelArn)")
}

// checked is what a decoder returns: its result, or the first wrong type it read.
func checked[T any](v T, err error, f fields) (T, error) {
	if err == nil {
		err = f.err()
	}
	if err != nil {
		var zero T
		return zero, err
	}
	return v, nil
}

func decodeDescribe(kind string, m fields) (Item, error) {
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

func decodeEvent(m fields) (Item, error) {
	dt := m.str("detail-type")
	it := Item{Kind: dt}
	if err := m.err(); err != nil {
		return it, err
	}
	if dt == "" {
		return it, apperr.Invalid("detail-type", "must name the event type, e.g. %q", DetailTraining)
	}
	if err := checkSource(m); err != nil {
		return it, err
	}
	if reason, ok := ignoredDetailTypes[dt]; ok {
		it.Ignore = reason
		return it, nil
	}
	supported := []string{DetailTraining, DetailProcessing, DetailTransform, DetailModelPackage, DetailEndpoint, DetailEndpointDeployment, DetailPipelineStep}
	if !slices.Contains(supported, dt) {
		return it, apperr.Invalid("detail-type", "%q is not a SageMaker event this endpoint records; it records %s", truncate(dt), strings.Join(supported, ", "))
	}
	if m.get("detail") == nil {
		return it, apperr.Invalid("detail", "is required: the event's JSON object")
	}
	d := m.obj("detail")
	at := m.time("time")
	if err := m.err(); err != nil {
		return it, err
	}
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
	return it, err
}

// checkSource refuses an event from another source than aws.sagemaker. "source" may be
// an array: a repeated key in a hand-written event, or a pattern.
func checkSource(m fields) error {
	switch x := m.get("source").(type) {
	case nil:
		return nil
	case string:
		if x == "aws.sagemaker" {
			return nil
		}
	case []any:
		found := false
		for i, e := range x {
			s, ok := e.(string)
			if !ok {
				return apperr.Invalid("source["+itoa(i)+"]", "must be a string, not %s", jsonType(e))
			}
			found = found || s == "aws.sagemaker"
		}
		if found {
			return nil
		}
	default:
		return apperr.Invalid("source", "must be a string, not %s", jsonType(x))
	}
	return apperr.Invalid("source", "is %s; only aws.sagemaker events are accepted here", describe(m.get("source")))
}

// trainingJob decodes a training job's detail or DescribeTrainingJob response.
func trainingJob(d fields) (*Job, error) {
	name, err := nameOf(d, "TrainingJobName", "TrainingJobArn", "training-job/")
	j := &Job{
		Type: Training, Name: name, ARN: d.optStr("TrainingJobArn"),
		Status: d.str("TrainingJobStatus"), FailureReason: d.optStr("FailureReason"),
		StartedAt: d.time("TrainingStartTime"), EndedAt: d.time("TrainingEndTime"),
		Image:           d.obj("AlgorithmSpecification").firstStr("TrainingImage", "AlgorithmName"),
		HyperParameters: params(d.obj("HyperParameters")),
		ModelArtifact:   d.obj("ModelArtifacts").optStr("S3ModelArtifacts"),
		Experiment:      experiment(d.obj("ExperimentConfig")),
	}
	rc := d.obj("ResourceConfig")
	j.InstanceType, j.InstanceCount = rc.optStr("InstanceType"), rc.optInt("InstanceCount")
	var groupType *string
	var count int64
	for _, g := range rc.objs("InstanceGroups") { // heterogeneous clusters: the first group's type, all instances
		if t := g.optStr("InstanceType"); groupType == nil {
			groupType = t
		}
		if n := g.optInt("InstanceCount"); n != nil {
			count += *n
		}
	}
	if j.InstanceType == nil {
		j.InstanceType = groupType
		if count > 0 && j.InstanceCount == nil {
			j.InstanceCount = &count
		}
	}
	for _, c := range d.objs("InputDataConfig") {
		channel := c.str("ChannelName")
		if uri := c.obj("DataSource").obj("S3DataSource").str("S3Uri"); uri != "" {
			j.Inputs = append(j.Inputs, Channel{Name: channel, URI: uri})
		}
	}
	return checked(j, err, d)
}

// processingJob decodes a processing job's detail or DescribeProcessingJob response.
func processingJob(d fields) (*Job, error) {
	name, err := nameOf(d, "ProcessingJobName", "ProcessingJobArn", "processing-job/")
	cc := d.obj("ProcessingResources").obj("ClusterConfig")
	j := &Job{
		Type: Processing, Name: name, ARN: d.optStr("ProcessingJobArn"),
		Status: d.str("ProcessingJobStatus"), FailureReason: d.optStr("FailureReason"),
		StartedAt: d.time("ProcessingStartTime"), EndedAt: d.time("ProcessingEndTime"),
		InstanceType: cc.optStr("InstanceType"), InstanceCount: cc.optInt("InstanceCount"),
		Image:      d.obj("AppSpecification").optStr("ImageUri"),
		Experiment: experiment(d.obj("ExperimentConfig")),
	}
	for _, in := range d.objs("ProcessingInputs") {
		channel := in.str("InputName")
		dd := in.obj("DatasetDefinition") // an Athena or Redshift dataset definition: the location its query wrote
		uri := firstNonEmpty(in.obj("S3Input").str("S3Uri"),
			dd.obj("AthenaDatasetDefinition").str("OutputS3Uri"), dd.obj("RedshiftDatasetDefinition").str("OutputS3Uri"))
		if uri != "" {
			j.Inputs = append(j.Inputs, Channel{Name: channel, URI: uri})
		}
	}
	for _, out := range d.obj("ProcessingOutputConfig").objs("Outputs") {
		channel := out.str("OutputName")
		if uri := out.obj("S3Output").str("S3Uri"); uri != "" {
			j.Outputs = append(j.Outputs, Channel{Name: channel, URI: uri})
		}
	}
	return checked(j, err, d)
}

// transformJob decodes a batch transform job's detail or DescribeTransformJob response:
// a processing job that reads its input and the model, and writes its output.
func transformJob(d fields) (*Job, error) {
	name, err := nameOf(d, "TransformJobName", "TransformJobArn", "transform-job/")
	tr := d.obj("TransformResources")
	j := &Job{
		Type: Transform, Name: name, ARN: d.optStr("TransformJobArn"),
		Status: d.str("TransformJobStatus"), FailureReason: d.optStr("FailureReason"),
		StartedAt: d.time("TransformStartTime"), EndedAt: d.time("TransformEndTime"),
		InstanceType: tr.optStr("InstanceType"), InstanceCount: tr.optInt("InstanceCount"),
		ModelName:  d.optStr("ModelName"),
		Experiment: experiment(d.obj("ExperimentConfig")),
	}
	if uri := d.obj("TransformInput").obj("DataSource").obj("S3DataSource").str("S3Uri"); uri != "" {
		j.Inputs = append(j.Inputs, Channel{Name: "TransformInput", URI: uri})
	}
	if uri := d.obj("TransformOutput").str("S3OutputPath"); uri != "" {
		j.Outputs = append(j.Outputs, Channel{Name: "TransformOutput", URI: uri})
	}
	return checked(j, err, d)
}

// pipelineStep decodes a pipeline step's status change: the job the step ran, known by
// its ARN in the step's metadata, with the step's status.
func pipelineStep(d fields) (*Job, string, error) {
	meta := d.obj("metadata")
	step := d.str("stepName")
	status, failure, execution, stepType := d.str("currentStepStatus"), d.optStr("failureReason"), d.optStr("pipelineExecutionArn"), d.str("stepType")
	var j *Job
	for _, k := range []struct {
		key, resource string
		typ           JobType
	}{
		{"trainingJob", "training-job/", Training},
		{"processingJob", "processing-job/", Processing},
		{"transformJob", "transform-job/", Transform},
	} {
		arn := meta.obj(k.key).str("arn")
		if arn == "" || j != nil {
			continue
		}
		name := nameFromARN(arn, k.resource)
		if name == "" {
			return nil, "", apperr.Invalid(meta.obj(k.key).at("arn"), "%q is not the ARN of a SageMaker %s", truncate(arn), strings.TrimSuffix(k.resource, "/"))
		}
		j = &Job{Type: k.typ, Name: name, ARN: &arn, Status: status, FailureReason: failure, PipelineExecution: execution}
		if step != "" {
			j.PipelineStep = &step
		}
	}
	if err := d.err(); err != nil {
		return nil, "", err
	}
	if j != nil {
		return j, "", nil
	}
	kinds := make([]string, 0, len(meta.m))
	for k := range meta.m {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	what := "no metadata"
	if len(kinds) > 0 {
		what = "metadata " + strings.Join(kinds, ", ")
	}
	return nil, fmt.Sprintf("pipeline step %q (%s) has %s and names no training, processing or transform job", truncate(step), truncate(stepType), what), nil
}

// modelPackage decodes a model package's detail or DescribeModelPackage response. An
// unversioned package (no group) is ignored: it belongs to no registered model.
func modelPackage(d fields, at *time.Time) (Item, error) {
	arn := d.str("ModelPackageArn")
	group := d.str("ModelPackageGroupName")
	version := d.optInt("ModelPackageVersion")
	mp := &ModelPackage{
		ARN:    d.optStr("ModelPackageArn"),
		Status: d.optStr("ModelPackageStatus"), Approval: d.optStr("ModelApprovalStatus"),
		ApprovalDescription: d.optStr("ApprovalDescription"),
		ApprovedBy:          d.obj("LastModifiedBy").firstStr("UserProfileName", "UserProfileArn"),
		Description:         d.optStr("ModelPackageDescription"),
		ModifiedAt:          d.time("LastModifiedTime"),
	}
	for i, c := range d.obj("InferenceSpecification").objs("Containers") {
		uri := firstNonEmpty(c.str("ModelDataUrl"), c.obj("ModelDataSource").obj("S3DataSource").str("S3Uri"))
		if uri != "" {
			mp.ModelDataURLs = append(mp.ModelDataURLs, uri)
		}
		if fw := c.str("Framework"); i == 0 && fw != "" {
			fw = strings.TrimSpace(fw + " " + c.str("FrameworkVersion"))
			mp.Framework = &fw
		}
	}
	if err := d.err(); err != nil {
		return Item{}, err
	}
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
		return Item{}, apperr.Invalid(d.at("ModelPackageVersion"), "is missing, and the ModelPackageArn %q does not end in /<version>", truncate(arn))
	}
	mp.Group, mp.Version = group, *version
	if mp.ModifiedAt == nil {
		mp.ModifiedAt = at
	}
	return Item{ModelPackage: mp}, nil
}

// model decodes a DescribeModel response.
func model(d fields) (*Model, error) {
	name, err := nameOf(d, "ModelName", "ModelArn", "model/")
	m := &Model{Name: name, ARN: d.optStr("ModelArn")}
	var containers []fields
	if pc := d.obj("PrimaryContainer"); pc.present() {
		containers = append(containers, pc)
	}
	containers = append(containers, d.objs("Containers")...)
	for _, c := range containers {
		if uri := firstNonEmpty(c.str("ModelDataUrl"), c.obj("ModelDataSource").obj("S3DataSource").str("S3Uri")); uri != "" {
			m.ModelDataURLs = append(m.ModelDataURLs, uri)
		}
		if p := c.str("ModelPackageName"); p != "" {
			m.PackageNames = append(m.PackageNames, p)
		}
	}
	return checked(m, err, d)
}

// endpointConfig decodes a DescribeEndpointConfig response.
func endpointConfig(d fields) (*EndpointConfig, error) {
	name, err := nameOf(d, "EndpointConfigName", "EndpointConfigArn", "endpoint-config/")
	c := &EndpointConfig{Name: name, ARN: d.optStr("EndpointConfigArn")}
	for _, v := range d.objs("ProductionVariants") {
		variant := Variant{Name: v.str("VariantName"), ModelName: v.str("ModelName"), Weight: v.optFloat("InitialVariantWeight")}
		if variant.ModelName == "" && err == nil && d.err() == nil {
			err = apperr.Invalid(v.at("ModelName"), "is missing")
		}
		c.Variants = append(c.Variants, variant)
	}
	return checked(c, err, d)
}

// endpoint decodes an endpoint state change, an endpoint deployment state change or a
// DescribeEndpoint response.
func endpoint(d fields, at *time.Time) (*Endpoint, error) {
	name, err := nameOf(d, "EndpointName", "EndpointArn", "endpoint/")
	e := &Endpoint{
		Name: name, ARN: d.optStr("EndpointArn"), Config: d.optStr("EndpointConfigName"),
		Status: d.optStr("EndpointStatus"), ModifiedAt: d.time("LastModifiedTime"),
	}
	if e.ModifiedAt == nil {
		e.ModifiedAt = at
	}
	for _, v := range d.objs("ProductionVariants") {
		variant := Variant{Name: v.str("VariantName"), Weight: v.optFloat("CurrentWeight")}
		if desired := v.optFloat("DesiredWeight"); variant.Weight == nil {
			variant.Weight = desired
		}
		e.Variants = append(e.Variants, variant)
	}
	return checked(e, err, d)
}

func experiment(c fields) *ExperimentConfig {
	e := &ExperimentConfig{
		ExperimentName: c.str("ExperimentName"), TrialName: c.str("TrialName"),
		TrialComponentDisplayName: c.str("TrialComponentDisplayName"), RunName: c.str("RunName"),
	}
	if *e == (ExperimentConfig{}) {
		return nil
	}
	return e
}

// params returns hyper-parameters sorted by key, each value as its text. SageMaker's
// values are strings; numbers and booleans are taken as their text, a null is no value.
func params(m fields) []store.Param {
	out := make([]store.Param, 0, len(m.m))
	for k, v := range m.m {
		switch v.(type) {
		case nil:
			continue
		case string, json.Number, bool:
			out = append(out, store.Param{Key: k, Value: text(v)})
		default:
			m.fail(m.at(k), "must be a string, not %s", jsonType(v))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// nameOf returns the resource name in field, else the one the ARN in arnField ends in.
// Both must be strings (a wrong type is the element's error, through d).
func nameOf(d fields, field, arnField, resource string) (string, error) {
	n, arn := d.str(field), d.str(arnField)
	if d.err() != nil {
		return "", nil
	}
	if n != "" {
		return n, nil
	}
	if n := nameFromARN(arn, resource); n != "" {
		return n, nil
	}
	return "", apperr.Invalid(d.at(field), "is missing (and no %s names the %s)", arnField, strings.TrimSuffix(resource, "/"))
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

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

func itoa(i int) string { return strconv.Itoa(i) }

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

// optInt is f as an integer, or nil when it is not a whole number a float64 holds exactly.
func optInt(f float64) *int64 {
	if f != math.Trunc(f) || math.Abs(f) > 1<<53 {
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
