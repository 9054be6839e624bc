package mlflow

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/provgraph/provgraph/apperr"
)

// The MLflow JSON decoding never panics and refuses only with INVALID_ARGUMENT naming a
// field: a body decoded as the handler does, its metrics, params and tags read as
// log-batch reads them, and its filter parsed as the entity searches parse it.
func FuzzRequestBody(f *testing.F) {
	for _, s := range []string{
		`{"run_id": "0123", "metrics": [{"key": "auc", "value": 0.9, "timestamp": 1, "step": 2}], "params": [{"key": "lr", "value": "0.01"}], "tags": [{"key": "t", "value": "v"}]}`,
		`{"metrics": [{"key": "m", "value": "NaN", "timestamp": 1e19, "step": -1}]}`,
		`{"metrics": [null, 1, "x", {"value": {}}], "params": [{"key": 1}], "tags": "x"}`,
		`{"filter": "name LIKE 'fraud-%' AND tags.team = 'risk'"}`,
		`{"filter": "tags.` + "`my key`" + ` != 'x' and version_number >= 3 AND run_id IN ('a', 'b')"}`,
		`{"filter": "name = 'unclosed"}`, `{"filter": 7}`, `{}`, `[]`, `null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d := json.NewDecoder(strings.NewReader(string(data)))
		d.UseNumber()
		var params map[string]any
		if d.Decode(&params) != nil {
			return
		}
		q := &request{r: httptest.NewRequest(http.MethodPost, "/api/2.0/mlflow/runs/log-batch", nil), params: params}
		check := func(what string, err error) {
			if err == nil {
				return
			}
			e, ok := apperr.As(err)
			if !ok || e.Code != apperr.InvalidArgument || e.Field == "" {
				t.Fatalf("%s: want INVALID_ARGUMENT naming a field, got %v", what, err)
			}
		}
		if items, err := q.list("metrics"); err != nil {
			check("metrics", err)
		} else {
			for i, m := range items {
				if obj, ok := m.(map[string]any); ok {
					_, err := metricPoint(fmt.Sprintf("metrics[%d]", i), obj)
					check("metric", err)
				}
			}
		}
		for _, field := range []string{"params", "tags"} {
			items, err := q.list(field)
			if err != nil {
				check(field, err)
				continue
			}
			_, err = keyValues(field, items)
			check(field, err)
		}
		filter, err := q.optStr("filter")
		if err != nil {
			check("filter", err)
			return
		}
		for _, attrs := range []map[string]attrKind{experimentAttrs, modelAttrs, versionAttrs} {
			cond, err := parseEntityFilter(filter, "search", attrs)
			check("filter", err)
			// A parsed filter can be applied to anything without failing.
			cond.matches(entityValues{strs: map[string]string{"name": "x"}, nums: map[string]float64{"version_number": 1}})
			_ = cond.kindFilter()
		}
	})
}
