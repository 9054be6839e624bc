package mlflow

import (
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/provgraph/provgraph/apperr"
	"github.com/provgraph/provgraph/store"
)

// MLflow's system tags that provgraph reads into run fields.
const (
	tagRunName    = "mlflow.runName"
	tagParentRun  = "mlflow.parentRunId"
	tagGitCommit  = "mlflow.source.git.commit"
	tagSourceName = "mlflow.source.name"
	tagUser       = "mlflow.user"
	tagContext    = "mlflow.data.context"
)

// MaxSearchRuns is the most runs one runs/search page holds; clients follow
// next_page_token for more.
const MaxSearchRuns = 100

// jsonFloat writes NaN and infinities as the strings "NaN", "Infinity" and
// "-Infinity", protobuf's JSON mapping, which MLflow's client parses its answers with.
type jsonFloat float64

func (f jsonFloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	switch {
	case math.IsNaN(v):
		return []byte(`"NaN"`), nil
	case math.IsInf(v, 1):
		return []byte(`"Infinity"`), nil
	case math.IsInf(v, -1):
		return []byte(`"-Infinity"`), nil
	}
	return []byte(strconv.FormatFloat(v, 'g', -1, 64)), nil
}

func runIDOf(key string) string { return key[len("run:"):] }

func (q *request) runKey(field string) (string, error) {
	id, err := q.str(field)
	if err != nil {
		if _, ok := q.params["run_uuid"]; ok && field == "run_id" {
			return q.runKey("run_uuid")
		}
		return "", err
	}
	key := store.RunKey(id)
	if err := store.RequireKind(field, key, store.KindRun, "32 hex digits"); err != nil {
		return "", apperr.Missing(field, "no run has id %q", id)
	}
	return key, nil
}

// runInfo is a run's info as MLflow describes it.
func (s *server) runInfo(r store.Node) map[string]any {
	info := map[string]any{
		"run_id": r.String("runId"), "run_uuid": r.String("runId"), "run_name": r.Name,
		"experiment_id": r.String("experimentId"), "user_id": r.String("user"), "status": r.String("status"),
		"lifecycle_stage": lifecycleOf(r), "artifact_uri": r.String("artifactUri"),
	}
	if t := r.OptTime("startTime"); t != nil {
		info["start_time"] = millis(*t)
	}
	if t := r.OptTime("endTime"); t != nil {
		info["end_time"] = millis(*t)
	}
	return info
}

// runJSON is a run with its data: latest metric values, parameters, tags and inputs.
func (s *server) runJSON(q *request, r store.Node) (map[string]any, error) {
	data, err := s.st.RunsData(q.r.Context(), []string{r.Key})
	if err != nil {
		return nil, err
	}
	return s.runWithData(r, data[r.Key]), nil
}

// runWithData renders a run and what it logged.
func (s *server) runWithData(r store.Node, data store.RunData) map[string]any {
	params, metrics, inputs := data.Params, data.Metrics, data.Datasets
	ms := make([]map[string]any, 0, len(metrics))
	for _, m := range metrics {
		ms = append(ms, map[string]any{"key": m.Key, "value": jsonFloat(m.Last), "timestamp": millis(m.LastTimestamp), "step": m.LastStep})
	}
	ps := make([]map[string]any, 0, len(params))
	for _, p := range params {
		ps = append(ps, map[string]any{"key": p.Key, "value": p.Value})
	}
	// mlflow.runName is the run's name, whatever renamed it last (runs/update, a tag).
	tags := slices.DeleteFunc(r.Tags(), func(t store.Tag) bool { return t.Key == tagRunName })
	tags = append(tags, store.Tag{Key: tagRunName, Value: r.Name})
	var datasets []map[string]any
	for _, in := range inputs {
		if in.Kind != store.KindDatasetVersion {
			continue
		}
		datasets = append(datasets, map[string]any{
			"dataset": map[string]any{"name": in.Name, "digest": in.String("version"), "source_type": "provgraph",
				"source": fmt.Sprintf(`{"uri": %q}`, in.String("uri"))},
			"tags": []map[string]any{},
		})
	}
	return map[string]any{
		"info":   s.runInfo(r),
		"data":   map[string]any{"metrics": ms, "params": ps, "tags": tagsJSON(tags)},
		"inputs": map[string]any{"dataset_inputs": orEmpty(datasets)},
	}
}

func orEmpty(l []map[string]any) []map[string]any {
	if l == nil {
		return []map[string]any{}
	}
	return l
}

func (s *server) createRun(q *request) (any, error) {
	expID, err := q.optStr("experiment_id")
	if err != nil {
		return nil, err
	}
	exp := store.ExperimentKey(store.DefaultExperimentID)
	if expID != nil && *expID != "" {
		exp = store.ExperimentKey(*expID)
		if store.RequireKind("experiment_id", exp, store.KindExperiment, "a number") != nil {
			return nil, apperr.Missing("experiment_id", "no experiment has id %q", *expID)
		}
	}
	items, err := q.list("tags")
	if err != nil {
		return nil, err
	}
	tags, err := keyValues("tags", items)
	if err != nil {
		return nil, err
	}
	in := store.RunInput{Experiment: exp}
	if in.Name, err = q.optStr("run_name"); err != nil {
		return nil, err
	}
	if in.User, err = q.optStr("user_id"); err != nil {
		return nil, err
	}
	start, err := q.optInt("start_time")
	if err != nil {
		return nil, err
	}
	if start != nil {
		t := time.UnixMilli(*start).UTC()
		in.StartTime = &t
	}
	for _, t := range tags {
		switch t.Key {
		case tagParentRun:
			parent := store.RunKey(t.Value)
			in.Parent = &parent
		case tagRunName:
			if in.Name == nil {
				name := t.Value
				in.Name = &name
			}
		case tagGitCommit:
			v := t.Value
			in.CodeVersion = &v
		case tagSourceName:
			v := t.Value
			in.EntryPoint = &v
		case tagUser:
			if in.User == nil {
				v := t.Value
				in.User = &v
			}
		}
	}
	if in.Name != nil && *in.Name == "" {
		in.Name = nil
	}
	in.Tags = tags
	runID := store.NewRunID()
	in.RunID = &runID
	e, err := s.st.NodeByID(q.r.Context(), "experiment_id", exp)
	if err != nil {
		return nil, err
	}
	artifacts := "mlflow-artifacts:/" + e.String("experimentId") + "/" + runID + "/artifacts"
	if loc := e.String("artifactLocation"); loc != "" {
		artifacts = loc + "/" + runID + "/artifacts"
	}
	in.ArtifactURI = &artifacts
	r, err := s.st.StartRun(q.r.Context(), q.actor(), in)
	if err != nil {
		return nil, apperr.WithField(err, "parent", "tags["+tagParentRun+"]")
	}
	run, err := s.runJSON(q, r)
	if err != nil {
		return nil, err
	}
	return map[string]any{"run": run}, nil
}

func (s *server) getRun(q *request) (any, error) {
	key, err := q.runKey("run_id")
	if err != nil {
		return nil, err
	}
	r, err := s.st.NodeByID(q.r.Context(), "run_id", key)
	if err != nil {
		return nil, err
	}
	run, err := s.runJSON(q, r)
	if err != nil {
		return nil, err
	}
	return map[string]any{"run": run}, nil
}

func (s *server) updateRun(q *request) (any, error) {
	key, err := q.runKey("run_id")
	if err != nil {
		return nil, err
	}
	u := store.RunUpdate{Run: key}
	status, err := q.optStr("status")
	if err != nil {
		return nil, err
	}
	if status != nil {
		st := store.RunStatus(*status)
		u.Status = &st
	}
	end, err := q.optInt("end_time")
	if err != nil {
		return nil, err
	}
	if end != nil {
		t := time.UnixMilli(*end).UTC()
		u.EndTime = &t
	}
	if u.Name, err = q.optStr("run_name"); err != nil {
		return nil, err
	}
	if u.Name != nil && *u.Name == "" {
		u.Name = nil
	}
	r, err := s.st.UpdateRun(q.r.Context(), q.actor(), u)
	if err != nil {
		return nil, apperr.WithField(err, "endTime", "end_time")
	}
	return map[string]any{"run_info": s.runInfo(r)}, nil
}

func (s *server) runLifecycle(to store.Lifecycle) func(*request) (any, error) {
	return func(q *request) (any, error) {
		key, err := q.runKey("run_id")
		if err != nil {
			return nil, err
		}
		_, err = s.st.SetLifecycle(q.r.Context(), q.actor(), "run_id", key, store.KindRun, to)
		return nil, err
	}
}

// metricPoint reads one metric as MLflow sends it: key, value, timestamp (ms), step.
func metricPoint(field string, m map[string]any) (store.MetricPoint, error) {
	var p store.MetricPoint
	p.Key, _ = m["key"].(string)
	v, err := num(field+".value", m["value"])
	if err != nil {
		return p, err
	}
	p.Value = v
	p.Timestamp = time.Now().UTC()
	if ts, ok := m["timestamp"]; ok && ts != nil {
		ms, err := int64Of(field+".timestamp", ts)
		if err != nil {
			return p, err
		}
		p.Timestamp = time.UnixMilli(ms).UTC()
	}
	if st, ok := m["step"]; ok && st != nil {
		if p.Step, err = int64Of(field+".step", st); err != nil {
			return p, err
		}
	}
	return p, nil
}

func (s *server) log(q *request, l store.RunLog) (any, error) {
	_, err := s.st.LogRun(q.r.Context(), q.actor(), l)
	return nil, err
}

func (s *server) logMetric(q *request) (any, error) {
	key, err := q.runKey("run_id")
	if err != nil {
		return nil, err
	}
	p, err := metricPoint("metric", q.params)
	if err != nil {
		return nil, err
	}
	return s.log(q, store.RunLog{Run: key, Metrics: []store.MetricPoint{p}})
}

func (s *server) logParameter(q *request) (any, error) {
	key, err := q.runKey("run_id")
	if err != nil {
		return nil, err
	}
	k, err := q.str("key")
	if err != nil {
		return nil, err
	}
	v, err := q.str("value")
	if err != nil {
		return nil, err
	}
	return s.log(q, store.RunLog{Run: key, Params: []store.Param{{Key: k, Value: v}}})
}

func (s *server) setTag(q *request) (any, error) {
	key, err := q.runKey("run_id")
	if err != nil {
		return nil, err
	}
	k, err := q.str("key")
	if err != nil {
		return nil, err
	}
	v, err := q.str("value")
	if err != nil {
		return nil, err
	}
	// The tag first: it refuses a deleted run before anything is written.
	if _, err := s.log(q, store.RunLog{Run: key, Tags: []store.Tag{{Key: k, Value: v}}}); err != nil || k != tagRunName {
		return nil, err
	}
	_, err = s.st.UpdateRun(q.r.Context(), q.actor(), store.RunUpdate{Run: key, Name: &v})
	return nil, err
}

func (s *server) deleteTag(q *request) (any, error) {
	key, err := q.runKey("run_id")
	if err != nil {
		return nil, err
	}
	k, err := q.str("key")
	if err != nil {
		return nil, err
	}
	return s.log(q, store.RunLog{Run: key, DeleteTags: []string{k}})
}

func (s *server) logBatch(q *request) (any, error) {
	key, err := q.runKey("run_id")
	if err != nil {
		return nil, err
	}
	l := store.RunLog{Run: key}
	metrics, err := q.list("metrics")
	if err != nil {
		return nil, err
	}
	for i, m := range metrics {
		obj, ok := m.(map[string]any)
		if !ok {
			return nil, apperr.Invalid(fmt.Sprintf("metrics[%d]", i), "must be an object")
		}
		p, err := metricPoint(fmt.Sprintf("metrics[%d]", i), obj)
		if err != nil {
			return nil, err
		}
		l.Metrics = append(l.Metrics, p)
	}
	for _, field := range []string{"params", "tags"} {
		items, err := q.list(field)
		if err != nil {
			return nil, err
		}
		kvs, err := keyValues(field, items)
		if err != nil {
			return nil, err
		}
		for _, kv := range kvs {
			if field == "params" {
				l.Params = append(l.Params, store.Param(kv))
			} else {
				l.Tags = append(l.Tags, kv)
			}
		}
	}
	res, err := s.log(q, l)
	if err != nil {
		return nil, err
	}
	// An mlflow.runName tag renames the run, as set-tag's does (the last one wins).
	var name *string
	for _, t := range l.Tags {
		if t.Key == tagRunName {
			name = &t.Value
		}
	}
	if name != nil {
		if _, err := s.st.UpdateRun(q.r.Context(), q.actor(), store.RunUpdate{Run: l.Run, Name: name}); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// logInputs records the datasets a run read as dataset versions (pinned by digest)
// that are INPUT_TO the run, so MLflow-logged data is in lineage.
func (s *server) logInputs(q *request) (any, error) {
	key, err := q.runKey("run_id")
	if err != nil {
		return nil, err
	}
	items, err := q.list("datasets")
	if err != nil {
		return nil, err
	}
	if len(items) > store.MaxRunIOPerCall {
		return nil, apperr.Invalid("datasets", "must hold at most %d datasets per call (got %d)", store.MaxRunIOPerCall, len(items))
	}
	ctx := q.r.Context()
	// Check the run before registering its datasets, so a call for a missing or deleted
	// run writes nothing.
	run, err := s.st.NodeByID(ctx, "run_id", key)
	if err != nil {
		return nil, err
	}
	if run.String("lifecycle") == string(store.LifecycleDeleted) {
		return nil, apperr.Invalid("run_id", "run %q is deleted; restore it before logging to it", runIDOf(key))
	}
	byContext := map[string][]string{}
	var order []string
	for i, it := range items {
		field := fmt.Sprintf("datasets[%d]", i)
		obj, _ := it.(map[string]any)
		ds, _ := obj["dataset"].(map[string]any)
		if ds == nil {
			return nil, apperr.Invalid(field+".dataset", "is required")
		}
		name, _ := ds["name"].(string)
		digest, _ := ds["digest"].(string)
		source, _ := ds["source"].(string)
		if name == "" || digest == "" {
			return nil, apperr.Invalid(field+".dataset", "needs a name and a digest")
		}
		// MLflow keys a dataset by its name and digest; its source is where this run
		// read it, so the same name and digest from another source is the same version.
		uri := datasetURI(source, name)
		ns, dsName := "mlflow", name
		dv, _, err := s.st.RegisterDatasetVersion(ctx, q.actor(), store.DatasetVersionInput{
			URI: uri, Namespace: &ns, Name: &dsName, Digest: &digest, URIIsLocation: true})
		if err != nil {
			return nil, apperr.WithFieldPrefix(err, field+".dataset")
		}
		context := ""
		tags, _ := obj["tags"].([]any)
		kvs, _ := keyValues(field+".tags", tags)
		for _, kv := range kvs {
			if kv.Key == tagContext {
				context = kv.Value
			}
		}
		if _, ok := byContext[context]; !ok {
			order = append(order, context)
		}
		byContext[context] = append(byContext[context], dv.Key)
	}
	for _, c := range order {
		io := store.RunIO{Run: key, Inputs: byContext[c]}
		if c != "" {
			cc := c
			io.InputContext = &cc
		}
		if _, err := s.st.LogRunIO(ctx, q.actor(), io); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// datasetURI is where an MLflow dataset's source says it lives, else an mlflow-dataset
// URI of its name.
func datasetURI(source, name string) string {
	var src map[string]any
	if json.Unmarshal([]byte(source), &src) == nil {
		for _, k := range []string{"uri", "url", "path"} {
			if u, ok := src[k].(string); ok {
				if p, err := url.Parse(u); err == nil && p.Scheme != "" {
					return u
				}
			}
		}
	}
	return "mlflow-dataset:/" + url.PathEscape(name)
}

func (s *server) searchRuns(q *request) (any, error) {
	ids, err := q.list("experiment_ids")
	if err != nil {
		return nil, err
	}
	search := store.RunSearch{First: MaxSearchRuns}
	for i, id := range ids {
		sid, ok := id.(string)
		if !ok {
			return nil, apperr.Invalid(fmt.Sprintf("experiment_ids[%d]", i), "must be a string")
		}
		search.Experiments = append(search.Experiments, store.ExperimentKey(sid))
	}
	if f, err := q.optStr("filter"); err != nil {
		return nil, err
	} else if f != nil {
		search.Filter = *f
	}
	if search.View, err = viewType(q); err != nil {
		return nil, err
	}
	orders, err := q.list("order_by")
	if err != nil {
		return nil, err
	}
	for i, o := range orders {
		so, ok := o.(string)
		if !ok {
			return nil, apperr.Invalid(fmt.Sprintf("order_by[%d]", i), "must be a string")
		}
		search.OrderBy = append(search.OrderBy, so)
	}
	if max, err := q.optInt("max_results"); err != nil {
		return nil, err
	} else if max != nil && *max > 0 && *max < MaxSearchRuns {
		search.First = int(*max)
	}
	if t, err := q.optStr("page_token"); err != nil {
		return nil, err
	} else if t != nil {
		search.After = *t
	}
	page, err := s.st.SearchRuns(q.r.Context(), search)
	if err != nil {
		return nil, apperr.WithField(apperr.WithField(err, "after", "page_token"), "view", "run_view_type")
	}
	keys := make([]string, len(page.Runs))
	for i, r := range page.Runs {
		keys[i] = r.Key
	}
	data, err := s.st.RunsData(q.r.Context(), keys)
	if err != nil {
		return nil, err
	}
	runs := make([]map[string]any, 0, len(page.Runs))
	for _, r := range page.Runs {
		runs = append(runs, s.runWithData(r, data[r.Key]))
	}
	out := map[string]any{"runs": runs}
	if page.EndCursor != "" {
		out["next_page_token"] = page.EndCursor
	}
	return out, nil
}

func (s *server) getMetricHistory(q *request) (any, error) {
	key, err := q.runKey("run_id")
	if err != nil {
		return nil, err
	}
	metric, err := q.str("metric_key")
	if err != nil {
		return nil, err
	}
	first, after, err := q.page(store.MaxHistoryPage)
	if err != nil {
		return nil, err
	}
	page, err := s.st.MetricHistory(q.r.Context(), key, metric, store.StepRange{}, first, after)
	if err != nil {
		return nil, apperr.WithField(apperr.WithField(err, "after", "page_token"), "key", "metric_key")
	}
	ms := make([]map[string]any, 0, len(page.Points))
	for _, p := range page.Points {
		ms = append(ms, map[string]any{"key": p.Key, "value": jsonFloat(p.Value), "timestamp": millis(p.Timestamp), "step": p.Step})
	}
	out := map[string]any{"metrics": ms}
	if page.EndCursor != "" {
		out["next_page_token"] = page.EndCursor
	}
	return out, nil
}
