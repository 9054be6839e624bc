package mlflow

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/provgraph/provgraph/apperr"
	"github.com/provgraph/provgraph/store"
)

// MLflow 3's logged models (log_model's models:/m-… models). Their calls carry the
// model id in the path, so they are routed by method and pattern (loggedModelCalls)
// rather than by a fixed path like the other calls. See store/loggedmodels.go for what
// a logged model becomes in the graph.

// loggedModelCall is one logged-model call: its method and path pattern (after an API
// prefix), its name for metrics, and whether it only reads.
type loggedModelCall struct {
	method, pattern, name string
	read                  bool
}

// loggedModelCalls lists the logged-model calls provgraph serves. The names are the
// metric labels (Endpoint), a fixed set whatever the ids in the paths.
var loggedModelCalls = []loggedModelCall{
	{http.MethodPost, "logged-models", "logged-models/create", false},
	{http.MethodPost, "logged-models/search", "logged-models/search", true},
	{http.MethodGet, "logged-models/search", "logged-models/search", true},
	{http.MethodGet, "logged-models/{model_id}", "logged-models/get", true},
	{http.MethodPatch, "logged-models/{model_id}", "logged-models/finalize", false},
	{http.MethodDelete, "logged-models/{model_id}", "logged-models/delete", false},
	{http.MethodPatch, "logged-models/{model_id}/tags", "logged-models/set-tags", false},
	{http.MethodDelete, "logged-models/{model_id}/tags/{tag_key}", "logged-models/delete-tag", false},
	{http.MethodPost, "logged-models/{model_id}/params", "logged-models/log-params", false},
}

// loggedModelHandlers maps each logged-model call's name to its implementation.
func (s *server) loggedModelHandlers() map[string]func(*request) (any, error) {
	return map[string]func(*request) (any, error){
		"logged-models/create":     s.createLoggedModel,
		"logged-models/search":     s.searchLoggedModels,
		"logged-models/get":        s.getLoggedModel,
		"logged-models/finalize":   s.finalizeLoggedModel,
		"logged-models/delete":     s.deleteLoggedModel,
		"logged-models/set-tags":   s.setLoggedModelTags,
		"logged-models/delete-tag": s.deleteLoggedModelTag,
		"logged-models/log-params": s.logLoggedModelParams,
	}
}

// callName is a handler that only names a call: loggedModelNames answers which
// logged-model call a request is for with the same patterns the API routes by.
type callName string

func (callName) ServeHTTP(http.ResponseWriter, *http.Request) {}

var loggedModelNames = func() *http.ServeMux {
	mux := http.NewServeMux()
	for _, c := range loggedModelCalls {
		for _, prefix := range apiPrefixes {
			mux.Handle(c.method+" "+prefix+c.pattern, callName(c.name))
		}
	}
	return mux
}()

// loggedModelCallOf returns the logged-model call r is for, if any.
func loggedModelCallOf(r *http.Request) (loggedModelCall, bool) {
	h, _ := loggedModelNames.Handler(r)
	name, ok := h.(callName)
	if !ok {
		return loggedModelCall{}, false
	}
	for _, c := range loggedModelCalls {
		if c.name == string(name) && c.method == r.Method {
			return c, true
		}
	}
	return loggedModelCall{}, false
}

// MLflow's names of the logged-model statuses (LoggedModelStatus), with their numbers.
var loggedModelStatuses = map[string]store.LoggedModelStatus{
	"LOGGED_MODEL_PENDING": store.LoggedModelPending, "1": store.LoggedModelPending,
	"LOGGED_MODEL_READY": store.LoggedModelReady, "2": store.LoggedModelReady,
	"LOGGED_MODEL_UPLOAD_FAILED": store.LoggedModelFailed, "3": store.LoggedModelFailed,
}

func statusName(s string) string {
	switch store.LoggedModelStatus(s) {
	case store.LoggedModelReady:
		return "LOGGED_MODEL_READY"
	case store.LoggedModelFailed:
		return "LOGGED_MODEL_UPLOAD_FAILED"
	}
	return "LOGGED_MODEL_PENDING"
}

// loggedModelJSON is a logged model as MLflow describes it, with the model versions
// registered from it.
func (s *server) loggedModelJSON(q *request, m store.Node) (map[string]any, error) {
	regs, err := s.st.RegistrationsOf(q.r.Context(), m.Key)
	if err != nil {
		return nil, err
	}
	registrations := make([]map[string]any, 0, len(regs))
	for _, r := range regs {
		registrations = append(registrations, map[string]any{"name": r.Model, "version": strconv.FormatInt(r.Version, 10)})
	}
	lm, _ := m.LoggedModel()
	info := map[string]any{
		"model_id": lm.ModelID, "experiment_id": lm.ExperimentID, "name": m.Name,
		"creation_timestamp_ms": millis(m.RecordedAt), "last_updated_timestamp_ms": millis(lm.UpdatedAt),
		"artifact_uri": lm.ArtifactLocation, "status": statusName(string(lm.Status)),
		"model_type": lm.ModelType, "tags": tagsJSON(lm.Tags), "registrations": registrations,
	}
	if lm.SourceRun != nil {
		info["source_run_id"] = runIDOf(*lm.SourceRun)
	}
	params := make([]map[string]any, 0)
	for _, p := range lm.Params {
		params = append(params, map[string]any{"key": p.Key, "value": p.Value})
	}
	return map[string]any{"info": info, "data": map[string]any{"params": params, "metrics": []any{}}}, nil
}

func (s *server) answerLoggedModel(q *request, m store.Node, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	out, err := s.loggedModelJSON(q, m)
	if err != nil {
		return nil, err
	}
	return map[string]any{"model": out}, nil
}

// params reads a list of {key, value} parameters.
func (q *request) paramList(field string) ([]store.Param, error) {
	items, err := q.list(field)
	if err != nil {
		return nil, err
	}
	kvs, err := keyValues(field, items)
	if err != nil {
		return nil, err
	}
	out := make([]store.Param, len(kvs))
	for i, kv := range kvs {
		out[i] = store.Param(kv)
	}
	return out, nil
}

func (q *request) tagList(field string) ([]store.Tag, error) {
	items, err := q.list(field)
	if err != nil {
		return nil, err
	}
	return keyValues(field, items)
}

// createLoggedModel records a new logged model, PENDING, with its files to be uploaded
// under <experiment's artifact location>/models/<model id>/artifacts, as MLflow's
// server places them.
func (s *server) createLoggedModel(q *request) (any, error) {
	exp, err := q.experimentKey("experiment_id")
	if err != nil {
		return nil, err
	}
	in := store.LoggedModelInput{ModelID: store.NewLoggedModelID(), Experiment: exp}
	name, err := q.optStr("name")
	if err != nil {
		return nil, err
	}
	in.Name = in.ModelID
	if name != nil && *name != "" {
		in.Name = *name
	}
	if in.ModelType, err = q.optStr("model_type"); err != nil {
		return nil, err
	}
	if in.ModelType != nil && *in.ModelType == "" {
		in.ModelType = nil
	}
	if runID, err := q.optStr("source_run_id"); err != nil {
		return nil, err
	} else if runID != nil && *runID != "" {
		key, err := q.runKey("source_run_id")
		if err != nil {
			return nil, err
		}
		in.SourceRun = &key
	}
	if in.Tags, err = q.tagList("tags"); err != nil {
		return nil, err
	}
	if in.Params, err = q.paramList("params"); err != nil {
		return nil, err
	}
	e, err := s.st.NodeByID(q.r.Context(), "experiment_id", exp)
	if err != nil {
		return nil, err
	}
	loc := e.String("artifactLocation")
	if loc == "" {
		loc = "mlflow-artifacts:/" + e.String("experimentId")
	}
	in.ArtifactLocation = strings.TrimSuffix(loc, "/") + "/models/" + in.ModelID + "/artifacts"
	m, err := s.st.CreateLoggedModel(q.r.Context(), q.actor(), in)
	return s.answerLoggedModel(q, m, err)
}

// getLoggedModel answers a logged model; a deleted one only with allow_deleted=true.
func (s *server) getLoggedModel(q *request) (any, error) {
	id, err := q.str("model_id")
	if err != nil {
		return nil, err
	}
	deleted, err := q.optStr("allow_deleted")
	if err != nil {
		return nil, err
	}
	m, err := s.st.LoggedModel(q.r.Context(), id, deleted != nil && strings.EqualFold(*deleted, "true"))
	return s.answerLoggedModel(q, m, err)
}

// finalizeLoggedModel sets a PENDING logged model's status to READY or UPLOAD_FAILED.
func (s *server) finalizeLoggedModel(q *request) (any, error) {
	id, err := q.str("model_id")
	if err != nil {
		return nil, err
	}
	raw, ok := q.params["status"]
	if !ok || raw == nil {
		return nil, apperr.Invalid("status", "is required")
	}
	// MLflow's client sends the enum's name; protobuf's JSON also allows its number.
	status, ok := loggedModelStatuses[fmt.Sprint(raw)]
	if !ok || status == store.LoggedModelPending {
		return nil, apperr.Invalid("status", "must be LOGGED_MODEL_READY or LOGGED_MODEL_UPLOAD_FAILED (got %v)", raw)
	}
	m, err := s.st.UpdateLoggedModel(q.r.Context(), q.actor(), store.LoggedModelUpdate{ModelID: id, Status: &status})
	return s.answerLoggedModel(q, m, err)
}

// deleteLoggedModel marks a logged model deleted: get and search leave it out (get
// finds it with allow_deleted=true), lineage keeps it.
func (s *server) deleteLoggedModel(q *request) (any, error) {
	id, err := q.str("model_id")
	if err != nil {
		return nil, err
	}
	_, err = s.st.UpdateLoggedModel(q.r.Context(), q.actor(), store.LoggedModelUpdate{ModelID: id, Delete: true})
	return nil, err
}

func (s *server) setLoggedModelTags(q *request) (any, error) {
	id, err := q.str("model_id")
	if err != nil {
		return nil, err
	}
	tags, err := q.tagList("tags")
	if err != nil {
		return nil, err
	}
	m, err := s.st.UpdateLoggedModel(q.r.Context(), q.actor(), store.LoggedModelUpdate{ModelID: id, SetTags: tags})
	return s.answerLoggedModel(q, m, err)
}

func (s *server) deleteLoggedModelTag(q *request) (any, error) {
	id, err := q.str("model_id")
	if err != nil {
		return nil, err
	}
	key, err := q.str("tag_key")
	if err != nil {
		return nil, err
	}
	_, err = s.st.UpdateLoggedModel(q.r.Context(), q.actor(), store.LoggedModelUpdate{ModelID: id, DeleteTags: []string{key}})
	return nil, apperr.WithField(err, "tag_key[0]", "tag_key")
}

func (s *server) logLoggedModelParams(q *request) (any, error) {
	id, err := q.str("model_id")
	if err != nil {
		return nil, err
	}
	params, err := q.paramList("params")
	if err != nil {
		return nil, err
	}
	_, err = s.st.UpdateLoggedModel(q.r.Context(), q.actor(), store.LoggedModelUpdate{ModelID: id, AddParams: params})
	return nil, err
}

// searchLoggedModels lists the active logged models of the given experiments (all when
// none is given) that a filter (name, model_id, model_type, status, source_run_id,
// creation and update times, tags) matches, in model id order, max_results (at most
// 100) at a time. Ordering by other fields and filters on metrics, parameters or
// datasets are not supported.
func (s *server) searchLoggedModels(q *request) (any, error) {
	exps, err := q.list("experiment_ids")
	if err != nil {
		return nil, err
	}
	var ids []string
	for i, e := range exps {
		id, ok := e.(string)
		if !ok {
			return nil, apperr.Invalid("experiment_ids["+strconv.Itoa(i)+"]", "must be a string (got %T)", e)
		}
		ids = append(ids, id)
	}
	for _, field := range []string{"order_by", "datasets"} {
		if l, err := q.list(field); err != nil {
			return nil, err
		} else if len(l) > 0 {
			return nil, apperr.Invalid(field, "is not supported by provgraph's logged-models/search: results come in model id order, "+
				"and filters compare attributes and tags")
		}
	}
	filter, err := q.optStr("filter")
	if err != nil {
		return nil, err
	}
	cond, err := parseEntityFilter(filter, "logged-models/search", loggedModelAttrs)
	if err != nil {
		return nil, err
	}
	first, after, err := q.page(store.MaxPageSize)
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for {
		page, err := s.st.ListLoggedModels(q.r.Context(), ids, store.MaxKindPage, after)
		if err != nil {
			return nil, apperr.WithField(err, "after", "page_token")
		}
		for i, m := range page.Nodes {
			if !cond.matches(loggedModelValues(m)) {
				continue
			}
			j, err := s.loggedModelJSON(q, m)
			if err != nil {
				return nil, err
			}
			out = append(out, j)
			if len(out) == first {
				res := map[string]any{"models": out}
				if i < len(page.Nodes)-1 || page.EndCursor != "" {
					res["next_page_token"] = page.Cursors[i]
				}
				return res, nil
			}
		}
		if page.EndCursor == "" {
			return map[string]any{"models": out}, nil
		}
		after = page.EndCursor
	}
}

func loggedModelValues(m store.Node) entityValues {
	lm, _ := m.LoggedModel()
	runID := ""
	if lm.SourceRun != nil {
		runID = runIDOf(*lm.SourceRun)
	}
	created := float64(millis(m.RecordedAt))
	updated := float64(millis(lm.UpdatedAt))
	return entityValues{
		strs: map[string]string{
			"name": m.Name, "model_id": lm.ModelID, "model_type": lm.ModelType,
			"status": string(lm.Status), "source_run_id": runID,
		},
		nums: map[string]float64{
			"creation_timestamp": created, "creation_time": created,
			"last_updated_timestamp": updated, "last_updated_time": updated,
		},
		tags: tagMap(lm.Tags),
	}
}

// logOutputs records logged models as outputs of a run (runs/outputs); the step each
// came with is not kept.
func (s *server) logOutputs(q *request) (any, error) {
	run, err := q.runKey("run_id")
	if err != nil {
		return nil, err
	}
	items, err := q.list("models")
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(items))
	for i, it := range items {
		m, _ := it.(map[string]any)
		id, ok := m["model_id"].(string)
		if !ok {
			return nil, apperr.Invalid("models["+strconv.Itoa(i)+"].model_id", "is required")
		}
		ids = append(ids, id)
	}
	_, err = s.st.LogRunOutputs(q.r.Context(), q.actor(), run, ids)
	return nil, err
}
