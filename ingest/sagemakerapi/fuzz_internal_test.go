package sagemakerapi

import (
	"encoding/json"
	"testing"
)

// A Search request of any shape is decoded, checked and, when it passes, matched against
// a trial component's document and sorted on without panicking; page tokens of any
// shape are read without panicking.
func FuzzSearchExpression(f *testing.F) {
	f.Add([]byte(`{"Resource":"ExperimentTrialComponent","SearchExpression":{"Filters":[{"Name":"Parents.ExperimentName","Operator":"Equals","Value":"churn"}],
		"NestedFilters":[{"NestedPropertyName":"Parents","Filters":[{"Name":"Parents.TrialName","Value":"t"}]}],
		"SubExpressions":[{"Operator":"Or","Filters":[{"Name":"Parameters.lr","Operator":"LessThan","Value":"0.1"},{"Name":"Metrics.loss.Max","Operator":"Exists"}]}]},
		"SortBy":"Metrics.loss.Last","NextToken":"eyJrIjoiIiwibiI6IngifQ"}`))
	f.Add([]byte(`{"Resource":"Experiment","SearchExpression":{"SubExpressions":[{"SubExpressions":[{}]}]}}`))
	f.Add([]byte(`{"SearchExpression":{"Filters":[{"Name":"CreationTime","Operator":"In","Value":"2026-01-01T00:00:00Z,1"}]}}`))
	doc := map[string]any{
		"TrialComponentName": "churn-run-1", "CreationTime": epochTime(1.7e9),
		"Parameters": map[string]any{"lr": parameterValue{NumberValue: new(float64)}, "opt": map[string]any{"StringValue": "adam"}},
		"Metrics":    []map[string]any{{"MetricName": "loss", "Max": 1.0, "Last": 0.1, "Count": 3}},
		"Parents":    []map[string]any{{"TrialName": "t", "ExperimentName": "churn"}},
		"Tags":       []tag{{Key: "team", Value: "ml"}},
	}
	view, err := filterView(doc)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var in searchRequest
		if decode(body, &in) != nil {
			return
		}
		if in.NextToken != nil {
			_, _ = decodeToken(*in.NextToken)
		}
		if in.SearchExpression == nil {
			return
		}
		var c checks
		in.SearchExpression.check(&c, "searchExpression", 1)
		if c.err() != nil {
			return
		}
		in.SearchExpression.matches(view)
		if in.SortBy != nil {
			_ = sortable(resolve(view, splitPath(*in.SortBy)))
		}
		if b, err := json.Marshal(in); err != nil || len(b) == 0 {
			t.Fatalf("the request does not encode again: %v", err)
		}
	})
}
