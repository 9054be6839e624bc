package mlflow

import (
	"fmt"

	"github.com/provgraph/provgraph/apperr"
	"github.com/provgraph/provgraph/store"
)

// experimentJSON is an experiment as MLflow describes it.
func (s *server) experimentJSON(e store.Node) map[string]any {
	id := e.String("experimentId")
	loc := e.String("artifactLocation")
	if loc == "" {
		loc = "mlflow-artifacts:/" + id
	}
	out := map[string]any{
		"experiment_id": id, "name": e.Name, "artifact_location": loc,
		"lifecycle_stage": lifecycleOf(e), "creation_time": millis(e.RecordedAt),
		"last_update_time": millis(e.RecordedAt), "tags": tagsJSON(e.Tags()),
	}
	if t := e.OptTime("updatedAt"); t != nil {
		out["last_update_time"] = millis(*t)
	}
	return out
}

func lifecycleOf(n store.Node) string {
	if n.String("lifecycle") == string(store.LifecycleDeleted) {
		return "deleted"
	}
	return "active"
}

func (q *request) experimentKey(field string) (string, error) {
	id, err := q.str(field)
	if err != nil {
		return "", err
	}
	key := store.ExperimentKey(id)
	if err := store.RequireKind(field, key, store.KindExperiment, "a number"); err != nil {
		return "", apperr.Missing(field, "no experiment has id %q", id)
	}
	return key, nil
}

func (s *server) createExperiment(q *request) (any, error) {
	name, err := q.str("name")
	if err != nil {
		return nil, err
	}
	loc, err := q.optStr("artifact_location")
	if err != nil {
		return nil, err
	}
	if loc != nil && *loc == "" {
		loc = nil
	}
	items, err := q.list("tags")
	if err != nil {
		return nil, err
	}
	tags, err := keyValues("tags", items)
	if err != nil {
		return nil, err
	}
	e, err := s.st.CreateExperiment(q.r.Context(), q.actor(), store.ExperimentInput{Name: name, Tags: tags, ArtifactLocation: loc})
	if err != nil {
		return nil, err
	}
	return map[string]any{"experiment_id": e.String("experimentId")}, nil
}

func (s *server) getExperiment(q *request) (any, error) {
	key, err := q.experimentKey("experiment_id")
	if err != nil {
		return nil, err
	}
	e, err := s.st.NodeByID(q.r.Context(), "experiment_id", key)
	if err != nil {
		return nil, err
	}
	return map[string]any{"experiment": s.experimentJSON(e)}, nil
}

func (s *server) getExperimentByName(q *request) (any, error) {
	name, err := q.str("experiment_name")
	if err != nil {
		return nil, err
	}
	e, err := s.st.ExperimentByName(q.r.Context(), "experiment_name", name)
	if err != nil {
		return nil, err
	}
	return map[string]any{"experiment": s.experimentJSON(e)}, nil
}

func (s *server) searchExperiments(q *request) (any, error) {
	view, err := viewType(q)
	if err != nil {
		return nil, err
	}
	first, after, err := q.page(store.MaxPageSize)
	if err != nil {
		return nil, err
	}
	filter, err := q.optStr("filter")
	if err != nil {
		return nil, err
	}
	cond, err := parseEntityFilter(filter, "experiments/search", experimentAttrs)
	if err != nil {
		return nil, err
	}
	var out []map[string]any
	next := ""
	// Filters are applied here, page by page, until a page is full.
	for {
		page, err := s.st.Experiments(q.r.Context(), store.MaxPageSize, after, view)
		if err != nil {
			return nil, apperr.WithField(err, "after", "page_token")
		}
		for i, e := range page.Experiments {
			j := s.experimentJSON(e)
			if cond.matches(entityValues{
				strs: map[string]string{"name": e.Name},
				nums: map[string]float64{"creation_time": float64(j["creation_time"].(int64)), "last_update_time": float64(j["last_update_time"].(int64))},
				tags: tagMap(e.Tags()),
			}) {
				out = append(out, j)
				if len(out) == first {
					if i < len(page.Experiments)-1 || page.EndCursor != "" {
						next = page.Cursors[i]
					}
					return map[string]any{"experiments": out, "next_page_token": next}, nil
				}
			}
		}
		if page.EndCursor == "" {
			break
		}
		after = page.EndCursor
	}
	if out == nil {
		out = []map[string]any{}
	}
	return map[string]any{"experiments": out}, nil
}

// likeMatch matches s against a SQL LIKE pattern (% any run, _ one character), in
// time linear in their lengths times the pattern's % count at worst (the usual
// wildcard matcher: on a mismatch, retry from the last %, one character further).
func likeMatch(s, p string) bool {
	str, pat := []rune(s), []rune(p)
	i, j := 0, 0
	star, mark := -1, 0
	for i < len(str) {
		switch {
		case j < len(pat) && (pat[j] == '_' || pat[j] == str[i]) && pat[j] != '%':
			i, j = i+1, j+1
		case j < len(pat) && pat[j] == '%':
			star, mark = j, i
			j++
		case star >= 0:
			mark++
			i, j = mark, star+1
		default:
			return false
		}
	}
	for j < len(pat) && pat[j] == '%' {
		j++
	}
	return j == len(pat)
}

func viewType(q *request) (store.RunView, error) {
	v, err := q.optStr("view_type")
	if err != nil {
		return "", err
	}
	if v == nil {
		if v, err = q.optStr("run_view_type"); err != nil {
			return "", err
		}
	}
	if v == nil {
		return store.ViewActiveOnly, nil
	}
	switch *v {
	case "ACTIVE_ONLY", "1":
		return store.ViewActiveOnly, nil
	case "DELETED_ONLY", "2":
		return store.ViewDeletedOnly, nil
	case "ALL", "3":
		return store.ViewAll, nil
	}
	return "", apperr.Invalid("view_type", "must be ACTIVE_ONLY, DELETED_ONLY or ALL (got %q)", *v)
}

func (s *server) updateExperiment(q *request) (any, error) {
	key, err := q.experimentKey("experiment_id")
	if err != nil {
		return nil, err
	}
	name, err := q.optStr("new_name")
	if err != nil {
		return nil, err
	}
	_, err = s.st.UpdateExperiment(q.r.Context(), q.actor(), store.ExperimentUpdate{ID: key, Name: name})
	return nil, apperr.WithField(err, "name", "new_name")
}

func (s *server) experimentLifecycle(to store.Lifecycle) func(*request) (any, error) {
	return func(q *request) (any, error) {
		key, err := q.experimentKey("experiment_id")
		if err != nil {
			return nil, err
		}
		_, err = s.st.SetLifecycle(q.r.Context(), q.actor(), "experiment_id", key, store.KindExperiment, to)
		return nil, err
	}
}

func (s *server) setExperimentTag(q *request) (any, error) {
	key, err := q.experimentKey("experiment_id")
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
	_, err = s.st.UpdateExperiment(q.r.Context(), q.actor(), store.ExperimentUpdate{ID: key, SetTags: []store.Tag{{Key: k, Value: v}}})
	if err != nil {
		return nil, apperr.WithField(err, "setTags", fmt.Sprintf("tags[%s]", k))
	}
	return nil, nil
}
