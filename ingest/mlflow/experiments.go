package mlflow

import (
	"fmt"
	"strings"

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
	max, err := q.optInt("max_results")
	if err != nil {
		return nil, err
	}
	first := store.MaxPageSize
	if max != nil && *max > 0 && *max < int64(first) {
		first = int(*max)
	}
	token, err := q.optStr("page_token")
	if err != nil {
		return nil, err
	}
	filter, err := q.optStr("filter")
	if err != nil {
		return nil, err
	}
	name, like, err := experimentNameFilter(filter)
	if err != nil {
		return nil, err
	}
	after := ""
	if token != nil {
		after = *token
	}
	var out []map[string]any
	next := ""
	// Name filters are applied here, page by page, until a page is full.
	for {
		page, err := s.st.Experiments(q.r.Context(), store.MaxPageSize, after, view)
		if err != nil {
			return nil, apperr.WithField(err, "after", "page_token")
		}
		for i, e := range page.Experiments {
			if matchName(e.Name, name, like) {
				out = append(out, s.experimentJSON(e))
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

// experimentNameFilter reads the filters MLflow clients send to experiments/search:
// `name = '...'` or `name LIKE '...'` (attribute.name too); none is all.
func experimentNameFilter(filter *string) (name string, like bool, err error) {
	if filter == nil || strings.TrimSpace(*filter) == "" {
		return "", false, nil
	}
	f := strings.TrimSpace(*filter)
	for _, prefix := range []string{"attribute.name", "attributes.name", "name"} {
		if rest, ok := strings.CutPrefix(f, prefix); ok {
			rest = strings.TrimSpace(rest)
			op := ""
			switch {
			case strings.HasPrefix(rest, "="):
				op, rest = "=", rest[1:]
			case strings.HasPrefix(strings.ToUpper(rest), "ILIKE"), strings.HasPrefix(strings.ToUpper(rest), "LIKE"):
				op = "LIKE"
				rest = rest[strings.Index(strings.ToUpper(rest), "LIKE")+4:]
			}
			rest = strings.TrimSpace(rest)
			if op != "" && len(rest) >= 2 && (rest[0] == '\'' || rest[0] == '"') && rest[len(rest)-1] == rest[0] {
				return rest[1 : len(rest)-1], op == "LIKE", nil
			}
		}
	}
	return "", false, apperr.Invalid("filter", "provgraph's experiments/search takes `name = '...'` or `name LIKE '...'` (got %q)", f)
}

func matchName(name, want string, like bool) bool {
	switch {
	case want == "":
		return true
	case !like:
		return name == want
	}
	return likeMatch(strings.ToLower(name), strings.ToLower(want))
}

// likeMatch matches s against a SQL LIKE pattern (% any run, _ one character).
func likeMatch(s, p string) bool {
	if p == "" {
		return s == ""
	}
	switch p[0] {
	case '%':
		for i := 0; i <= len(s); i++ {
			if likeMatch(s[i:], p[1:]) {
				return true
			}
		}
		return false
	case '_':
		return s != "" && likeMatch(s[1:], p[1:])
	}
	return s != "" && s[0] == p[0] && likeMatch(s[1:], p[1:])
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
