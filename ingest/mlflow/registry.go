package mlflow

import (
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/provgraph/provgraph/apperr"
	"github.com/provgraph/provgraph/store"
)

func (s *server) registeredModelJSON(q *request, m store.Node) (map[string]any, error) {
	aliases, err := s.st.AliasesOf(q.r.Context(), m.Key, nil)
	if err != nil {
		return nil, err
	}
	versions, err := s.st.VersionsOfModel(q.r.Context(), m.Key)
	if err != nil {
		return nil, err
	}
	out := map[string]any{
		"name": m.Name, "creation_timestamp": millis(m.RecordedAt), "last_updated_timestamp": millis(m.RecordedAt),
		"description": m.String("description"), "tags": tagsJSON(m.Tags()), "aliases": aliasesJSON(aliases),
	}
	if latest := latestVersion(versions); latest != nil {
		v, err := s.modelVersionJSON(q, *latest)
		if err != nil {
			return nil, err
		}
		out["latest_versions"] = []any{v}
	}
	return out, nil
}

func aliasesJSON(moves []store.AliasMove) []map[string]any {
	out := make([]map[string]any, 0, len(moves))
	for _, m := range moves {
		out = append(out, map[string]any{"alias": m.Alias, "version": strconv.FormatInt(m.Version.Int("version"), 10)})
	}
	return out
}

func latestVersion(vs []store.Node) *store.Node {
	var best *store.Node
	for i := range vs {
		if best == nil || vs[i].Int("version") > best.Int("version") {
			best = &vs[i]
		}
	}
	return best
}

func (s *server) modelVersionJSON(q *request, v store.Node) (map[string]any, error) {
	model := v.String("model")
	aliases, err := s.st.AliasesOf(q.r.Context(), store.RegisteredModelKey(model), nil)
	if err != nil {
		return nil, err
	}
	var mine []string
	for _, a := range aliases {
		if a.Version.Key == v.Key {
			mine = append(mine, a.Alias)
		}
	}
	runID := ""
	if run := v.OptString("producedByRun"); run != nil {
		runID = runIDOf(*run)
	}
	if mine == nil {
		mine = []string{}
	}
	out := map[string]any{
		"name": model, "version": strconv.FormatInt(v.Int("version"), 10),
		"creation_timestamp": millis(v.RecordedAt), "last_updated_timestamp": millis(v.RecordedAt),
		"current_stage": "None", "description": v.String("description"), "source": v.String("source"),
		"run_id": runID, "status": "READY", "tags": tagsJSON(v.Tags()), "aliases": mine,
	}
	if id := v.LoggedModelOfVersion(); id != "" {
		out["model_id"] = id
	}
	return out, nil
}

func (s *server) createRegisteredModel(q *request) (any, error) {
	name, err := q.str("name")
	if err != nil {
		return nil, err
	}
	desc, err := q.optStr("description")
	if err != nil {
		return nil, err
	}
	items, err := q.list("tags")
	if err != nil {
		return nil, err
	}
	tags, err := keyValues("tags", items)
	if err != nil {
		return nil, err
	}
	m, err := s.st.CreateRegisteredModel(q.r.Context(), q.actor(), name, desc, tags)
	if err != nil {
		return nil, err
	}
	out, err := s.registeredModelJSON(q, m)
	return map[string]any{"registered_model": out}, err
}

func (s *server) modelNode(q *request, field string) (store.Node, error) {
	name, err := q.str(field)
	if err != nil {
		return store.Node{}, err
	}
	key := store.RegisteredModelKey(name)
	if err := store.RequireKind(field, key, store.KindRegisteredModel, "a model name"); err != nil {
		return store.Node{}, err
	}
	m, err := s.st.NodeByID(q.r.Context(), field, key)
	if apperr.CodeOf(err) == apperr.NotFound {
		return store.Node{}, apperr.Missing(field, "registered model %q not found", name)
	}
	return m, err
}

func (s *server) getRegisteredModel(q *request) (any, error) {
	m, err := s.modelNode(q, "name")
	if err != nil {
		return nil, err
	}
	out, err := s.registeredModelJSON(q, m)
	return map[string]any{"registered_model": out}, err
}

// searchRegisteredModels lists the registered models a filter (name, tags) matches, by
// name, max_results (at most 100) at a time.
func (s *server) searchRegisteredModels(q *request) (any, error) {
	filter, err := q.optStr("filter")
	if err != nil {
		return nil, err
	}
	cond, err := parseEntityFilter(filter, "registered-models/search", modelAttrs)
	if err != nil {
		return nil, err
	}
	out, next, err := s.searchKind(q, store.KindRegisteredModel, cond, func(m store.Node) (map[string]any, error) {
		if !cond.matches(entityValues{strs: map[string]string{"name": m.Name}, tags: tagMap(m.Tags())}) {
			return nil, nil
		}
		return s.registeredModelJSON(q, m)
	})
	if err != nil {
		return nil, err
	}
	res := map[string]any{"registered_models": out}
	if next != "" {
		res["next_page_token"] = next
	}
	return res, nil
}

// searchKind pages through the nodes of a kind in key order, keeping what keep
// returns for each (nil leaves a node out), until max_results are kept; the page
// token continues after the last kept node.
func (s *server) searchKind(q *request, kind store.Kind, cond entityFilter, keep func(store.Node) (map[string]any, error)) ([]map[string]any, string, error) {
	first, after, err := q.page(store.MaxPageSize)
	if err != nil {
		return nil, "", err
	}
	out := []map[string]any{}
	for {
		page, err := s.st.ListKind(q.r.Context(), kind, cond.kindFilter(), store.MaxKindPage, after)
		if err != nil {
			return nil, "", apperr.WithField(err, "after", "page_token")
		}
		for i, n := range page.Nodes {
			j, err := keep(n)
			if err != nil {
				return nil, "", err
			}
			if j == nil {
				continue
			}
			out = append(out, j)
			if len(out) == first {
				next := ""
				if i < len(page.Nodes)-1 || page.EndCursor != "" {
					next = page.Cursors[i]
				}
				return out, next, nil
			}
		}
		if page.EndCursor == "" {
			return out, "", nil
		}
		after = page.EndCursor
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func (s *server) getLatestVersions(q *request) (any, error) {
	m, err := s.modelNode(q, "name")
	if err != nil {
		return nil, err
	}
	versions, err := s.st.VersionsOfModel(q.r.Context(), m.Key)
	if err != nil {
		return nil, err
	}
	// Stages are not kept (MLflow deprecated them): every version is in stage "None",
	// so asking for other stages finds nothing.
	stages, err := q.list("stages")
	if err != nil {
		return nil, err
	}
	wantNone := len(stages) == 0
	for _, st := range stages {
		if name, _ := st.(string); strings.EqualFold(name, "None") {
			wantNone = true
		}
	}
	out := []any{}
	if latest := latestVersion(versions); latest != nil && wantNone {
		v, err := s.modelVersionJSON(q, *latest)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return map[string]any{"model_versions": out}, nil
}

func (s *server) createModelVersion(q *request) (any, error) {
	name, err := q.str("name")
	if err != nil {
		return nil, err
	}
	source, err := q.str("source")
	if err != nil {
		return nil, err
	}
	in := store.ModelVersionInput{Model: name, Source: source}
	if in.Description, err = q.optStr("description"); err != nil {
		return nil, err
	}
	if runID, err := q.optStr("run_id"); err != nil {
		return nil, err
	} else if runID != nil && *runID != "" {
		run := store.RunKey(*runID)
		in.ProducedByRun = &run
	}
	// A version of an MLflow 3 logged model (model_id, or a models:/<model id> source)
	// is registered from it, and comes from the run that logged it unless run_id says
	// otherwise, as MLflow's server has it.
	modelID, err := q.optStr("model_id")
	if err != nil {
		return nil, err
	}
	if modelID == nil || *modelID == "" {
		if id := store.LoggedModelIDOf(source); id != "" {
			modelID = &id
		}
	}
	if modelID != nil && *modelID != "" {
		m, err := s.st.LoggedModel(q.r.Context(), *modelID, false)
		if err != nil {
			return nil, err
		}
		in.LoggedModel = modelID
		if lm, _ := m.LoggedModel(); lm.SourceRun != nil && in.ProducedByRun == nil {
			in.ProducedByRun = lm.SourceRun
		}
	}
	items, err := q.list("tags")
	if err != nil {
		return nil, err
	}
	if in.Tags, err = keyValues("tags", items); err != nil {
		return nil, err
	}
	if _, err := s.modelNode(q, "name"); err != nil {
		return nil, err
	}
	v, err := s.st.RegisterModelVersion(q.r.Context(), q.actor(), in)
	if err != nil {
		return nil, apperr.WithField(err, "runId", "run_id")
	}
	out, err := s.modelVersionJSON(q, v)
	return map[string]any{"model_version": out}, err
}

func (s *server) versionNode(q *request) (store.Node, error) {
	m, err := s.modelNode(q, "name")
	if err != nil {
		return store.Node{}, err
	}
	n, err := q.optInt("version")
	if err != nil {
		return store.Node{}, err
	}
	if n == nil {
		return store.Node{}, apperr.Invalid("version", "is required")
	}
	v, err := s.st.NodeByID(q.r.Context(), "version", store.ModelVersionKey(m.Name, *n))
	if apperr.CodeOf(err) == apperr.NotFound {
		return store.Node{}, apperr.Missing("version", "model version (name=%s, version=%d) not found", m.Name, *n)
	}
	return v, err
}

func (s *server) getModelVersion(q *request) (any, error) {
	v, err := s.versionNode(q)
	if err != nil {
		return nil, err
	}
	out, err := s.modelVersionJSON(q, v)
	return map[string]any{"model_version": out}, err
}

// searchModelVersions lists the model versions a filter (name, run_id, source_path,
// version_number, tags) matches: of one model, newest first, when the filter names it
// with name = '...', else of every model by model name and version.
func (s *server) searchModelVersions(q *request) (any, error) {
	filter, err := q.optStr("filter")
	if err != nil {
		return nil, err
	}
	cond, err := parseEntityFilter(filter, "model-versions/search", versionAttrs)
	if err != nil {
		return nil, err
	}
	keep := func(v store.Node) (map[string]any, error) {
		runID := ""
		if run := v.OptString("producedByRun"); run != nil {
			runID = runIDOf(*run)
		}
		if !cond.matches(entityValues{
			strs: map[string]string{"name": v.String("model"), "run_id": runID, "source_path": v.String("source")},
			nums: map[string]float64{"version_number": float64(v.Int("version"))},
			tags: tagMap(v.Tags()),
		}) {
			return nil, nil
		}
		return s.modelVersionJSON(q, v)
	}
	for _, c := range cond {
		if c.attr == "name" && !c.tag && c.op == "=" {
			versions, err := s.st.VersionsOfModel(q.r.Context(), store.RegisteredModelKey(c.str))
			if err != nil {
				return nil, err
			}
			sort.Slice(versions, func(i, j int) bool { return versions[i].Int("version") > versions[j].Int("version") })
			out := []any{}
			for _, v := range versions {
				j, err := keep(v)
				if err != nil {
					return nil, err
				}
				if j != nil {
					out = append(out, j)
				}
			}
			return map[string]any{"model_versions": out}, nil
		}
	}
	out, next, err := s.searchKind(q, store.KindModelVersion, cond, keep)
	if err != nil {
		return nil, err
	}
	res := map[string]any{"model_versions": out}
	if next != "" {
		res["next_page_token"] = next
	}
	return res, nil
}

// alias sets (POST), reads (GET) or deletes (DELETE) a registered model's alias.
func (s *server) alias(q *request) (any, error) {
	m, err := s.modelNode(q, "name")
	if err != nil {
		return nil, err
	}
	alias, err := q.str("alias")
	if err != nil {
		return nil, err
	}
	switch q.r.Method {
	case http.MethodGet:
		return s.getByAlias(q)
	case http.MethodDelete:
		return nil, s.st.DeleteAlias(q.r.Context(), q.actor(), m.Key, alias)
	}
	n, err := q.optInt("version")
	if err != nil {
		return nil, err
	}
	if n == nil {
		return nil, apperr.Invalid("version", "is required")
	}
	_, err = s.st.SetAlias(q.r.Context(), q.actor(), m.Key, alias, store.ModelVersionKey(m.Name, *n))
	return nil, apperr.WithField(err, "modelVersion", "version")
}

func (s *server) getByAlias(q *request) (any, error) {
	m, err := s.modelNode(q, "name")
	if err != nil {
		return nil, err
	}
	alias, err := q.str("alias")
	if err != nil {
		return nil, err
	}
	aliases, err := s.st.AliasesOf(q.r.Context(), m.Key, nil)
	if err != nil {
		return nil, err
	}
	for _, a := range aliases {
		if a.Alias == alias {
			out, err := s.modelVersionJSON(q, a.Version)
			return map[string]any{"model_version": out}, err
		}
	}
	return nil, apperr.Missing("alias", "registered model %q has no alias %q", m.Name, alias)
}

// updateRegisteredModel changes a registered model's description.
func (s *server) updateRegisteredModel(q *request) (any, error) {
	m, err := s.modelNode(q, "name")
	if err != nil {
		return nil, err
	}
	desc, err := q.optStr("description")
	if err != nil {
		return nil, err
	}
	m, err = s.st.UpdateRegisteredModel(q.r.Context(), q.actor(), store.RegisteredModelUpdate{Name: m.Name, Description: desc})
	if err != nil {
		return nil, err
	}
	out, err := s.registeredModelJSON(q, m)
	return map[string]any{"registered_model": out}, err
}

// modelTag sets (or, with del, deletes) a tag of a registered model.
func (s *server) modelTag(del bool) func(*request) (any, error) {
	return func(q *request) (any, error) {
		m, err := s.modelNode(q, "name")
		if err != nil {
			return nil, err
		}
		k, err := q.str("key")
		if err != nil {
			return nil, err
		}
		u := store.RegisteredModelUpdate{Name: m.Name, DeleteTags: []string{k}}
		if !del {
			v, err := q.str("value")
			if err != nil {
				return nil, err
			}
			u = store.RegisteredModelUpdate{Name: m.Name, SetTags: []store.Tag{{Key: k, Value: v}}}
		}
		_, err = s.st.UpdateRegisteredModel(q.r.Context(), q.actor(), u)
		return nil, apperr.WithField(err, "setTags", "key")
	}
}

// updateModelVersion changes a model version's description.
func (s *server) updateModelVersion(q *request) (any, error) {
	v, err := s.versionNode(q)
	if err != nil {
		return nil, err
	}
	desc, err := q.optStr("description")
	if err != nil {
		return nil, err
	}
	if v, err = s.st.UpdateModelVersionLabels(q.r.Context(), q.actor(), v.Key, desc, nil, nil); err != nil {
		return nil, err
	}
	out, err := s.modelVersionJSON(q, v)
	return map[string]any{"model_version": out}, err
}

// versionTag sets (or, with del, deletes) a tag of a model version.
func (s *server) versionTag(del bool) func(*request) (any, error) {
	return func(q *request) (any, error) {
		v, err := s.versionNode(q)
		if err != nil {
			return nil, err
		}
		k, err := q.str("key")
		if err != nil {
			return nil, err
		}
		var set []store.Tag
		var rm []string
		if del {
			rm = []string{k}
		} else {
			val, err := q.str("value")
			if err != nil {
				return nil, err
			}
			set = []store.Tag{{Key: k, Value: val}}
		}
		_, err = s.st.UpdateModelVersionLabels(q.r.Context(), q.actor(), v.Key, nil, set, rm)
		return nil, apperr.WithField(err, "setTags", "key")
	}
}

// refuseDelete answers deletes of registry records: provenance is never erased, and a
// model or version that served an endpoint must stay answerable for an audit.
func refuseDelete(q *request) (any, error) {
	return nil, apperr.Invalid("name", "provgraph keeps registered models and model versions: they are provenance "+
		"that audits of past deployments depend on; move aliases instead (DELETE registered-models/alias)")
}

// getDownloadURI tells where a model version's files are: for a version of a logged
// model, the logged model's artifact location; for a runs:/<run id>/<path> source, that
// path under the run's artifact URI; else the source itself.
func (s *server) getDownloadURI(q *request) (any, error) {
	v, err := s.versionNode(q)
	if err != nil {
		return nil, err
	}
	source := v.String("source")
	if id := v.LoggedModelOfVersion(); id != "" {
		m, err := s.st.LoggedModel(q.r.Context(), id, true)
		if err != nil {
			return nil, err
		}
		return map[string]any{"artifact_uri": m.String("artifactLocation")}, nil
	}
	if rest, ok := strings.CutPrefix(source, "runs:/"); ok {
		runID, path, _ := strings.Cut(rest, "/")
		if run, err := s.st.NodeByID(q.r.Context(), "source", store.RunKey(runID)); err == nil {
			return map[string]any{"artifact_uri": strings.TrimSuffix(run.String("artifactUri"), "/") + "/" + path}, nil
		}
	}
	return map[string]any{"artifact_uri": source}, nil
}
