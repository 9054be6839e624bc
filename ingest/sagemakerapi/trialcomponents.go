package sagemakerapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/provgraph/provgraph/actor"
	"github.com/provgraph/provgraph/apperr"
	"github.com/provgraph/provgraph/store"
)

// A trial component is a run. Its name (unique in SageMaker) fixes the run's id — a
// name of 32 hexadecimal digits is the run id itself, so every run, MLflow's too, is a
// trial component named by its run id; any other name maps to a run id by hash — and is
// kept in the run's tag tcNameTag. Its display name is the run's name. Created on its
// own, it waits in the default experiment until AssociateTrialComponent puts it in a
// trial, which moves it to the trial's experiment.

// tcNameTag keeps a trial component's name on its run.
const tcNameTag = "sagemaker.trialComponentName"

var runIDForm = regexp.MustCompile(`^[0-9a-f]{32}$`)

// runIDOf is the id of the run the trial component named name is. Names are told apart
// without regard to case, as SageMaker's ARNs (lower case) tell them.
func runIDOf(name string) string {
	name = strings.ToLower(name)
	if runIDForm.MatchString(name) {
		return name
	}
	sum := sha256.Sum256([]byte("trial-component\x00" + name))
	return hex.EncodeToString(sum[:16])
}

// tcName is the trial component name of run r. The name tag is believed only when it
// names this run (its run id is the name's): a tag set through another surface cannot
// rename the trial component or change its ARN.
func tcName(r store.Node) string {
	id := r.String("runId")
	for _, t := range r.Tags() {
		if t.Key == tcNameTag && runIDOf(t.Value) == id {
			return t.Value
		}
	}
	return id
}

// runOf finds the run a trial component name names.
func (api *API) runOf(ctx context.Context, name string) (store.Node, error) {
	r, err := api.st.NodeByID(ctx, "TrialComponentName", store.RunKey(runIDOf(name)))
	if apperr.CodeOf(err) == apperr.NotFound {
		return store.Node{}, resourceNotFound("Trial Component '%s' does not exist.", api.arns.arn(resTrialComponent, name))
	}
	return r, err
}

type parameterValue struct {
	StringValue *string  `json:"StringValue,omitempty"`
	NumberValue *float64 `json:"NumberValue,omitempty"`
}

type artifactValue struct {
	MediaType *string `json:"MediaType,omitempty"`
	Value     *string `json:"Value"`
}

type tcStatus struct {
	PrimaryStatus *string `json:"PrimaryStatus"`
	Message       *string `json:"Message,omitempty"`
}

// trialComponentWrite is what CreateTrialComponent and UpdateTrialComponent share.
type trialComponentWrite struct {
	TrialComponentName *string                   `json:"TrialComponentName"`
	DisplayName        *string                   `json:"DisplayName"`
	Status             *tcStatus                 `json:"Status"`
	StartTime          *epochTime                `json:"StartTime"`
	EndTime            *epochTime                `json:"EndTime"`
	Parameters         map[string]parameterValue `json:"Parameters"`
	InputArtifacts     map[string]artifactValue  `json:"InputArtifacts"`
	OutputArtifacts    map[string]artifactValue  `json:"OutputArtifacts"`
	// Create only.
	Tags []tag `json:"Tags"`
	// Update only: provgraph keeps what was recorded, so these must be empty.
	ParametersToRemove      []string `json:"ParametersToRemove"`
	InputArtifactsToRemove  []string `json:"InputArtifactsToRemove"`
	OutputArtifactsToRemove []string `json:"OutputArtifactsToRemove"`
}

// The statuses of a trial component and of a run, both ways.
var (
	runStatusOf = map[string]store.RunStatus{
		"InProgress": store.RunRunning, "Stopping": store.RunRunning,
		"Completed": store.RunFinished, "Failed": store.RunFailed, "Stopped": store.RunKilled,
	}
	tcStatusOf = map[store.RunStatus]string{
		store.RunRunning: "InProgress", store.RunScheduled: "InProgress",
		store.RunFinished: "Completed", store.RunFailed: "Failed", store.RunKilled: "Stopped",
	}
)

// check checks the members of a write as SageMaker's model states them.
func (in trialComponentWrite) check(c *checks) {
	c.requiredName("trialComponentName", in.TrialComponentName)
	c.optEntityName("displayName", in.DisplayName)
	c.time("startTime", in.StartTime)
	c.time("endTime", in.EndTime)
	if in.Status != nil && in.Status.PrimaryStatus != nil {
		if _, ok := runStatusOf[*in.Status.PrimaryStatus]; !ok {
			c.fail("status.primaryStatus", *in.Status.PrimaryStatus, "Member must satisfy enum value set: [InProgress, Completed, Failed, Stopping, Stopped]")
		}
	}
	if in.Status != nil && in.Status.Message != nil {
		c.length("status.message", *in.Status.Message, 0, MaxStatusMessage)
	}
	c.listLength("parameters", len(in.Parameters), 0, MaxParameters)
	for _, k := range sortedKeys(in.Parameters) {
		v := in.Parameters[k]
		c.length("parameters.key", k, 0, MaxParameterKey)
		if (v.StringValue == nil) == (v.NumberValue == nil) {
			c.fail("parameters."+k, "{}", "Member must have exactly one of StringValue and NumberValue")
		}
		if v.StringValue != nil {
			c.length("parameters."+k+".stringValue", *v.StringValue, 0, MaxParameterString)
		}
	}
	checkArtifacts(c, "inputArtifacts", in.InputArtifacts)
	checkArtifacts(c, "outputArtifacts", in.OutputArtifacts)
	c.tags("tags", in.Tags)
}

func checkArtifacts(c *checks, member string, arts map[string]artifactValue) {
	c.listLength(member, len(arts), 0, MaxArtifacts)
	for _, k := range sortedKeys(arts) {
		a := arts[k]
		c.length(member+".key", k, 0, MaxArtifactKey)
		if a.Value == nil {
			c.fail(member+"."+k+".value", nil, "Member must not be null")
			continue
		}
		c.length(member+"."+k+".value", *a.Value, 0, MaxArtifactValue)
		if u, err := url.Parse(*a.Value); err != nil || u.Scheme == "" {
			c.fail(member+"."+k+".value", *a.Value, "provgraph records artifacts by URI: Member must be a URI with a scheme, e.g. s3://bucket/key")
		}
		if a.MediaType != nil {
			c.length(member+"."+k+".mediaType", *a.MediaType, 0, MaxMediaTypeLength)
			c.pattern(member+"."+k+".mediaType", *a.MediaType, mediaForm, mediaPattern)
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func storeParams(ps map[string]parameterValue) []store.Param {
	out := make([]store.Param, 0, len(ps))
	for _, k := range sortedKeys(ps) {
		v := ps[k]
		s := ""
		if v.StringValue != nil {
			s = *v.StringValue
		} else {
			s = store.ParamNumber(*v.NumberValue)
		}
		out = append(out, store.Param{Key: k, Value: s})
	}
	return out
}

func storeArtifacts(arts map[string]artifactValue) []store.ArtifactInput {
	out := make([]store.ArtifactInput, 0, len(arts))
	for _, k := range sortedKeys(arts) {
		a := arts[k]
		out = append(out, store.ArtifactInput{URI: *a.Value, MediaType: a.MediaType, Name: &k})
	}
	return out
}

func createTrialComponent(ctx context.Context, api *API, body []byte) (any, error) {
	var in trialComponentWrite
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var c checks
	in.check(&c)
	if len(in.ParametersToRemove)+len(in.InputArtifactsToRemove)+len(in.OutputArtifactsToRemove) > 0 {
		c.fail("parametersToRemove", "[…]", "CreateTrialComponent takes no removals")
	}
	if n := in.TrialComponentName; n != nil {
		// A name the ARNs give to a job or a node would not read back as this run.
		if key, _ := keyOfName(resTrialComponent, *n); key != store.RunKey(runIDOf(*n)) {
			c.fail("trialComponentName", *n, "provgraph reads names ending in -aws-training-job, -aws-processing-job or -aws-transform-job, "+
				"or starting with pg-, as a SageMaker job's or a graph node's: Member must name a run of its own")
		}
	}
	if err := c.err(); err != nil {
		return nil, err
	}
	name := *in.TrialComponentName
	runID := runIDOf(name)
	display := name
	if in.DisplayName != nil {
		display = *in.DisplayName
	}
	tags := storeTags(in.Tags)
	if runID != strings.ToLower(name) {
		tags = append(tags, store.Tag{Key: tcNameTag, Value: name})
	}
	start := store.RunInput{Experiment: store.ExperimentKey(store.DefaultExperimentID), RunID: &runID, Name: &display, Tags: tags}
	if in.StartTime != nil {
		t := in.StartTime.time()
		start.StartTime = &t
	}
	if in.Status != nil && in.Status.PrimaryStatus != nil {
		st := runStatusOf[*in.Status.PrimaryStatus]
		start.Status = &st
	}
	in.StartTime, in.Status, in.DisplayName = nil, nil, nil
	rec := runRecordOf(in)
	rec.Start = &start
	_, err := api.st.RecordRun(ctx, actor.From(ctx), rec)
	if e, ok := apperr.As(err); ok && e.Code == apperr.Conflict && e.Field == "runId" {
		return nil, validation("Trial Component '%s' already exists", name)
	}
	if err := recordError(err); err != nil {
		return nil, err
	}
	return map[string]any{"TrialComponentArn": api.arns.arn(resTrialComponent, name)}, nil
}

// runRecordOf is what a write sets on its run besides its start: parameters,
// artifacts, and its status, times and display name. RecordRun records it with the
// start, in one transaction: a write that fails records nothing.
func runRecordOf(in trialComponentWrite) store.RunRecord {
	rec := store.RunRecord{Params: storeParams(in.Parameters),
		IO:     store.RunIO{InputArtifacts: storeArtifacts(in.InputArtifacts), OutputArtifacts: storeArtifacts(in.OutputArtifacts)},
		Update: store.RunUpdate{Name: in.DisplayName}}
	if in.Status != nil && in.Status.PrimaryStatus != nil {
		st := runStatusOf[*in.Status.PrimaryStatus]
		rec.Update.Status = &st
	}
	if in.StartTime != nil {
		t := in.StartTime.time()
		rec.Update.StartTime = &t
	}
	if in.EndTime != nil {
		t := in.EndTime.time()
		rec.Update.EndTime = &t
	}
	return rec
}

// recordError is the error of a RecordRun as SageMaker words it: a parameter logged
// with another value is a ValidationException that says why.
func recordError(err error) error {
	if e, ok := apperr.As(err); ok && e.Code == apperr.Conflict && strings.HasPrefix(e.Field, "params") {
		return validation("%s. provgraph keeps a run's parameters as first recorded (provenance is append-only): "+
			"log the changed value under a new name, or start a new run", e.Reason)
	}
	return err
}

func updateTrialComponent(ctx context.Context, api *API, body []byte) (any, error) {
	var in trialComponentWrite
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var c checks
	in.check(&c)
	if len(in.Tags) > 0 {
		c.fail("tags", "[…]", "UpdateTrialComponent takes no Tags; use AddTags")
	}
	if err := c.err(); err != nil {
		return nil, err
	}
	for member, keys := range map[string][]string{"ParametersToRemove": in.ParametersToRemove,
		"InputArtifactsToRemove": in.InputArtifactsToRemove, "OutputArtifactsToRemove": in.OutputArtifactsToRemove} {
		if len(keys) > 0 {
			return nil, appendOnly(fmt.Sprintf("what a run recorded (%s: %v)", member, keys))
		}
	}
	r, err := api.runOf(ctx, *in.TrialComponentName)
	if err != nil {
		return nil, err
	}
	rec := runRecordOf(in)
	rec.Run = r.Key
	if _, err := api.st.RecordRun(ctx, actor.From(ctx), rec); recordError(err) != nil {
		return nil, recordError(err)
	}
	return map[string]any{"TrialComponentArn": api.arns.arn(resTrialComponent, *in.TrialComponentName)}, nil
}

// trialComponentDoc is a trial component as DescribeTrialComponent and Search answer it:
// the run r with what it logged (data) and, when arts, its artifacts.
func (api *API) trialComponentDoc(r store.Node, data store.RunData) map[string]any {
	name := tcName(r)
	doc := map[string]any{
		"TrialComponentName": name, "TrialComponentArn": api.arns.arn(resTrialComponent, name),
		"DisplayName": r.Name, "CreationTime": epoch(r.RecordedAt), "CreatedBy": userOf(r.RecordedBy),
		"LastModifiedTime": epoch(modifiedAt(r)), "LastModifiedBy": userOf(modifiedBy(r)),
		"Status": map[string]any{"PrimaryStatus": tcStatusOf[store.RunStatus(r.String("status"))]},
	}
	if t := r.OptTime("startTime"); t != nil {
		doc["StartTime"] = epoch(*t)
	}
	if t := r.OptTime("endTime"); t != nil {
		doc["EndTime"] = epoch(*t)
	}
	params := map[string]parameterValue{}
	for _, p := range data.Params {
		params[p.Key] = parameterOf(p.Value)
	}
	doc["Parameters"] = params
	metrics := make([]map[string]any, 0, len(data.Metrics))
	for _, m := range data.Metrics {
		metrics = append(metrics, metricSummary(m))
	}
	doc["Metrics"] = metrics
	return doc
}

// parameterOf is a stored parameter value as SageMaker types it: a number when it reads
// as one (as stored numbers are written), else a string.
func parameterOf(v string) parameterValue {
	if f, err := strconv.ParseFloat(v, 64); err == nil && store.ParamNumber(f) == v {
		return parameterValue{NumberValue: &f}
	}
	return parameterValue{StringValue: &v}
}

// metricSummary is SageMaker's TrialComponentMetricSummary of a metric.
func metricSummary(m store.MetricSummary) map[string]any {
	out := map[string]any{"MetricName": m.Key, "Count": m.Count, "Last": jsonNumber(m.Last)}
	if !m.LastTimestamp.IsZero() {
		out["TimeStamp"] = epoch(m.LastTimestamp)
	}
	for k, v := range map[string]*float64{"Min": m.Min, "Max": m.Max, "Avg": m.Avg, "StdDev": m.StdDev} {
		if v != nil {
			out[k] = jsonNumber(*v)
		}
	}
	return out
}

// jsonNumber keeps NaN and infinities, which JSON cannot write, out of an answer.
func jsonNumber(f float64) any {
	if f != f || f > maxFloat || f < -maxFloat {
		return nil
	}
	return f
}

const maxFloat = 1.7976931348623157e308

// addArtifacts adds the run's input and output artifacts to doc.
func (api *API) addArtifacts(ctx context.Context, r store.Node, doc map[string]any) error {
	ins, err := api.st.InputsOf(ctx, r.Key)
	if err != nil {
		return err
	}
	outs, err := api.st.OutputsOf(ctx, r.Key)
	if err != nil {
		return err
	}
	doc["InputArtifacts"] = artifactsOf(ins)
	doc["OutputArtifacts"] = artifactsOf(outs)
	return nil
}

// artifactsOf is what a run read or wrote as SageMaker's artifact map: by name, the
// newest recorded of a name.
func artifactsOf(nodes []store.Node) map[string]artifactValue {
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].RecordedAt.Before(nodes[j].RecordedAt) })
	out := map[string]artifactValue{}
	for _, n := range nodes {
		v := n.String("uri")
		if v == "" {
			v = n.Key
		}
		out[n.Name] = artifactValue{Value: &v, MediaType: n.OptString("mediaType")}
	}
	return out
}

func describeTrialComponent(ctx context.Context, api *API, body []byte) (any, error) {
	var in struct {
		TrialComponentName *string `json:"TrialComponentName"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var c checks
	c.required("trialComponentName", in.TrialComponentName)
	if in.TrialComponentName != nil {
		// Describe takes a name or a trial component's ARN; another resource's ARN is no name.
		if typ, name, ok := api.arns.parse(*in.TrialComponentName); ok && typ == resTrialComponent {
			in.TrialComponentName = &name
		}
		c.entityName("trialComponentName", *in.TrialComponentName)
	}
	if err := c.err(); err != nil {
		return nil, err
	}
	// The trial component of a SageMaker job (ML Lineage's, lineage_entities.go).
	if doc, ok, err := api.describeJobTrialComponent(ctx, *in.TrialComponentName); ok || err != nil {
		return doc, err
	}
	r, err := api.runOf(ctx, *in.TrialComponentName)
	if err != nil {
		return nil, err
	}
	data, err := api.st.RunsData(ctx, []string{r.Key})
	if err != nil {
		return nil, err
	}
	doc := api.trialComponentDoc(r, data[r.Key])
	if err := api.addArtifacts(ctx, r, doc); err != nil {
		return nil, err
	}
	return doc, nil
}

type listTrialComponentsRequest struct {
	listRequest
	ExperimentName *string `json:"ExperimentName"`
	TrialName      *string `json:"TrialName"`
	SourceArn      *string `json:"SourceArn"`
}

func listTrialComponents(ctx context.Context, api *API, body []byte) (any, error) {
	var in listTrialComponentsRequest
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var c checks
	c.optEntityName("experimentName", in.ExperimentName)
	c.optEntityName("trialName", in.TrialName)
	l := in.listing(&c)
	if err := c.err(); err != nil {
		return nil, err
	}
	if in.SourceArn != nil {
		return nil, validation("provgraph lists no trial components by SourceArn: a trial component is a run, which SageMaker jobs " +
			"report through the events endpoint; list by ExperimentName or TrialName")
	}
	runs, err := api.runsOf(ctx, in.ExperimentName, in.TrialName)
	if err != nil {
		return nil, err
	}
	for _, r := range runs {
		l.add(r.RecordedAt, tcName(r), r.Key, api.trialComponentSummary(r))
	}
	return l.answer("TrialComponentSummaries")
}

func (api *API) trialComponentSummary(r store.Node) map[string]any {
	name := tcName(r)
	out := map[string]any{
		"TrialComponentName": name, "TrialComponentArn": api.arns.arn(resTrialComponent, name), "DisplayName": r.Name,
		"Status":       map[string]any{"PrimaryStatus": tcStatusOf[store.RunStatus(r.String("status"))]},
		"CreationTime": epoch(r.RecordedAt), "CreatedBy": userOf(r.RecordedBy),
		"LastModifiedTime": epoch(modifiedAt(r)), "LastModifiedBy": userOf(modifiedBy(r)),
	}
	if t := r.OptTime("startTime"); t != nil {
		out["StartTime"] = epoch(*t)
	}
	if t := r.OptTime("endTime"); t != nil {
		out["EndTime"] = epoch(*t)
	}
	return out
}

// MaxRunsScanned bounds the runs a List or Search of trial components reads before it
// pages: more is a ResourceLimitExceeded that asks for a narrower request.
const MaxRunsScanned = 10000

// runsOf returns the runs of a trial (run group), of an experiment, or of every
// experiment; at most MaxRunsScanned.
func (api *API) runsOf(ctx context.Context, experiment, trial *string) ([]store.Node, error) {
	q := store.RunSearch{First: store.MaxPageSize}
	if trial != nil {
		g, err := api.trialByName(ctx, *trial)
		if err != nil {
			return nil, err
		}
		q.Group = g.Key
		q.Experiments = []string{store.ExperimentKey(g.String("experimentId"))}
	}
	if experiment != nil {
		e, err := api.experimentByName(ctx, "ExperimentName", *experiment)
		if err != nil {
			return nil, err
		}
		if trial != nil && q.Experiments[0] != e.Key {
			return nil, nil
		}
		q.Experiments = []string{e.Key}
	}
	var out []store.Node
	for {
		page, err := api.st.SearchRuns(ctx, q)
		if err != nil {
			return nil, err
		}
		out = append(out, page.Runs...)
		if len(out) > api.maxRunsScanned {
			return nil, resourceLimit("more than %d trial components match; narrow the request with ExperimentName or TrialName", api.maxRunsScanned)
		}
		if page.EndCursor == "" {
			return out, nil
		}
		q.After = page.EndCursor
	}
}
