package resolvers

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/provgraph/provgraph/apperr"
	"github.com/provgraph/provgraph/graph/model"
	"github.com/provgraph/provgraph/store"
)

// Mapping between the store's tracking records and the GraphQL types.

func optEnum[E ~string](s *string) *E {
	if s == nil {
		return nil
	}
	e := E(*s)
	return &e
}

func toExperiment(n store.Node) *model.Experiment {
	return &model.Experiment{
		ID: n.Key, Kind: nodeKinds[n.Kind], Name: n.Name,
		RecordedAt: n.RecordedAt, RecordedBy: n.RecordedBy,
		ExperimentID: n.String("experimentId"), Description: n.OptString("description"),
		ArtifactLocation: n.OptString("artifactLocation"), Tags: toTags(n.Tags()),
		Lifecycle: toLifecycle(n.String("lifecycle")),
	}
}

func toRunGroup(n store.Node) *model.RunGroup {
	return &model.RunGroup{
		ID: n.Key, Kind: nodeKinds[n.Kind], Name: n.Name,
		RecordedAt: n.RecordedAt, RecordedBy: n.RecordedBy, Description: n.OptString("description"),
	}
}

func toRun(n store.Node) *model.Run {
	r := &model.Run{
		ID: n.Key, Kind: nodeKinds[n.Kind], Name: n.Name,
		RecordedAt: n.RecordedAt, RecordedBy: n.RecordedBy,
		RunID: n.String("runId"), Status: model.RunStatus(n.String("status")),
		EndTime: n.OptTime("endTime"), Lifecycle: toLifecycle(n.String("lifecycle")),
		User: n.OptString("user"), CodeVersion: n.OptString("codeVersion"), EntryPoint: n.OptString("entryPoint"),
		ArtifactURI: n.OptString("artifactUri"), Tags: toTags(n.Tags()),
	}
	if t := n.OptTime("startTime"); t != nil {
		r.StartTime = *t
	}
	return r
}

func toRuns(ns []store.Node) []*model.Run {
	out := make([]*model.Run, 0, len(ns))
	for _, n := range ns {
		out = append(out, toRun(n))
	}
	return out
}

func toLifecycle(s string) model.Lifecycle {
	if s == string(store.LifecycleDeleted) {
		return model.LifecycleDeleted
	}
	return model.LifecycleActive
}

func toRunConnection(p store.RunPage) *model.RunConnection {
	out := &model.RunConnection{Edges: []*model.RunEdge{}, PageInfo: pageInfo(p.EndCursor)}
	for i, n := range p.Runs {
		out.Edges = append(out.Edges, &model.RunEdge{Cursor: p.Cursors[i], Node: toRun(n)})
	}
	return out
}

func toMetricSummary(m store.MetricSummary) *model.MetricSummary {
	return &model.MetricSummary{
		Key: m.Key, Last: m.Last, LastStep: m.LastStep, LastTimestamp: m.LastTimestamp,
		Min: m.Min, Max: m.Max, Avg: m.Avg, Stddev: m.StdDev, Count: m.Count,
	}
}

func toMetricPoints(ps []store.MetricPoint) []*model.MetricPoint {
	out := make([]*model.MetricPoint, 0, len(ps))
	for _, p := range ps {
		out = append(out, &model.MetricPoint{Step: p.Step, Value: p.Value, Timestamp: p.Timestamp})
	}
	return out
}

// runParams maps logged parameters; a number is kept as its shortest decimal text.
func runParams(in []*model.RunParamInput) ([]store.Param, error) {
	out := make([]store.Param, 0, len(in))
	for i, p := range in {
		field := "params[" + strconv.Itoa(i) + "]"
		switch {
		case p.Value != nil && p.Number != nil, p.Value == nil && p.Number == nil:
			return nil, apperr.Invalid(field, "give exactly one of value and number")
		case p.Number != nil:
			if math.IsNaN(*p.Number) || math.IsInf(*p.Number, 0) {
				return nil, apperr.Invalid(field+".number", "must be a finite number")
			}
			out = append(out, store.Param{Key: p.Key, Value: store.ParamNumber(*p.Number)})
		default:
			out = append(out, store.Param{Key: p.Key, Value: *p.Value})
		}
	}
	return out, nil
}

// metricSeriesPoints unrolls metric series given as parallel lists into points, which
// follow the objects points of the same call given as objects. The count and the
// timestamps are checked here, where a point can be named by its series and index.
func metricSeriesPoints(in []*model.MetricSeriesInput, objects int, now time.Time) ([]store.MetricPoint, error) {
	var out []store.MetricPoint
	for i, s := range in {
		field := "metricSeries[" + strconv.Itoa(i) + "]"
		if s.Steps != nil && len(s.Steps) != len(s.Values) {
			return nil, apperr.Invalid(field+".steps", "must have one step per value (%d values, %d steps)", len(s.Values), len(s.Steps))
		}
		if s.TimestampsMs != nil && len(s.TimestampsMs) != len(s.Values) {
			return nil, apperr.Invalid(field+".timestampsMs", "must have one timestamp per value (%d values, %d timestamps)", len(s.Values), len(s.TimestampsMs))
		}
		if s.Key == "" || len(s.Key) > store.MaxParamKeyLength {
			return nil, apperr.Invalid(field+".key", "must be 1 to %d characters", store.MaxParamKeyLength)
		}
		if objects+len(out)+len(s.Values) > store.MaxMetricsPerCall {
			if objects > 0 {
				return nil, apperr.Invalid("metricSeries", "must hold at most %d points per call, with the %d of metrics", store.MaxMetricsPerCall, objects)
			}
			return nil, apperr.Invalid("metricSeries", "must hold at most %d points per call", store.MaxMetricsPerCall)
		}
		for j, v := range s.Values {
			p := store.MetricPoint{Key: s.Key, Value: v, Step: int64(j), Timestamp: now}
			if s.Steps != nil {
				p.Step = s.Steps[j]
			}
			if s.TimestampsMs != nil {
				p.Timestamp = time.UnixMilli(s.TimestampsMs[j]).UTC()
				if err := store.CheckTime(fmt.Sprintf("%s.timestampsMs[%d]", field, j), p.Timestamp); err != nil {
					return nil, err
				}
			}
			out = append(out, p)
		}
	}
	return out, nil
}

func metricPoints(in []*model.MetricPointInput, now time.Time) []store.MetricPoint {
	out := make([]store.MetricPoint, 0, len(in))
	for _, m := range in {
		p := store.MetricPoint{Key: m.Key, Value: m.Value, Timestamp: now}
		if m.Step != nil {
			p.Step = *m.Step
		}
		if m.Timestamp != nil {
			p.Timestamp = *m.Timestamp
		}
		out = append(out, p)
	}
	return out
}

func toComparison(c store.RunComparison) *model.RunComparison {
	out := &model.RunComparison{Runs: toRuns(c.Runs), Params: []*model.ParamComparison{}, Metrics: []*model.MetricComparison{}}
	for _, p := range c.Params {
		out.Params = append(out.Params, &model.ParamComparison{Key: p.Key, Values: p.Values, Differs: p.Differs})
	}
	for _, m := range c.Metrics {
		mc := &model.MetricComparison{Key: m.Key, GoalGuessed: m.GoalGuessed, Summaries: make([]*model.MetricSummary, len(m.Summaries))}
		for i, sm := range m.Summaries {
			if sm != nil {
				mc.Summaries[i] = toMetricSummary(*sm)
			}
		}
		if m.Goal != "" {
			g := model.MetricGoal(m.Goal)
			mc.Goal = &g
		}
		if m.Best >= 0 {
			mc.BestRun = out.Runs[m.Best]
		}
		out.Metrics = append(out.Metrics, mc)
	}
	return out
}

// first returns the only node of a lookup that finds none or one, mapped, or nil.
func firstNode[T any](ns []store.Node, err error, mapping func(store.Node) T) (T, error) {
	var zero T
	if err != nil || len(ns) == 0 {
		return zero, err
	}
	return mapping(ns[0]), nil
}

func toStoreArtifact(a *model.ArtifactInput) store.ArtifactInput {
	return store.ArtifactInput{URI: a.URI, Digest: a.Digest, MediaType: a.MediaType, Name: a.Name}
}
