package sagemakerapi

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/provgraph/provgraph/store"
)

// Search over trial components (runs), experiments and trials, with SageMaker's
// grammar: a SearchExpression holds Filters (Name, Operator, Value), NestedFilters
// (filters that one element of a list property must match together) and
// SubExpressions, joined by its Operator (And, the default, or Or). The candidates are
// narrowed through the store (the experiment or trial a top-level Equals names), then
// each is matched as the document Search answers with, so any property it shows can be
// filtered and sorted on: Parameters.<name>, Metrics.<name>.<Min|Max|Avg|StdDev|Last|Count>,
// Tags.<key>, Parents.ExperimentName, Status.PrimaryStatus, InputArtifacts.<name>.Value, …

// Limits of a SearchExpression (SageMaker's, and a nesting depth of provgraph's).
const (
	MaxSearchFilters        = 20
	MaxSearchSubExpressions = 20
	MaxSearchDepth          = 5
	MaxFilterValueLength    = 1024
	MaxPropertyNameLength   = 255
)

// The resources Search answers for.
const (
	searchTrialComponents = "ExperimentTrialComponent"
	searchExperiments     = "Experiment"
	searchTrials          = "ExperimentTrial"
)

type searchFilter struct {
	Name     *string `json:"Name"`
	Operator *string `json:"Operator"`
	Value    *string `json:"Value"`
}

type nestedFilters struct {
	NestedPropertyName *string        `json:"NestedPropertyName"`
	Filters            []searchFilter `json:"Filters"`
}

type searchExpression struct {
	Filters        []searchFilter     `json:"Filters"`
	NestedFilters  []nestedFilters    `json:"NestedFilters"`
	SubExpressions []searchExpression `json:"SubExpressions"`
	Operator       *string            `json:"Operator"`
}

type searchRequest struct {
	Resource         *string           `json:"Resource"`
	SearchExpression *searchExpression `json:"SearchExpression"`
	SortBy           *string           `json:"SortBy"`
	SortOrder        *string           `json:"SortOrder"`
	NextToken        *string           `json:"NextToken"`
	MaxResults       *int              `json:"MaxResults"`
}

var filterOperators = map[string]bool{"Equals": true, "NotEquals": true, "GreaterThan": true, "GreaterThanOrEqualTo": true,
	"LessThan": true, "LessThanOrEqualTo": true, "Contains": true, "Exists": true, "NotExists": true, "In": true}

func (f searchFilter) check(c *checks, member string) {
	if c.required(member+".name", f.Name) {
		c.length(member+".name", *f.Name, 1, MaxPropertyNameLength)
	}
	op := f.op()
	if !filterOperators[op] {
		c.fail(member+".operator", op, "Member must satisfy enum value set: [Equals, NotEquals, GreaterThan, GreaterThanOrEqualTo, LessThan, LessThanOrEqualTo, Contains, Exists, NotExists, In]")
	}
	if op != "Exists" && op != "NotExists" && c.required(member+".value", f.Value) {
		c.length(member+".value", *f.Value, 1, MaxFilterValueLength)
	}
}

func (f searchFilter) op() string {
	if f.Operator == nil {
		return "Equals"
	}
	return *f.Operator
}

func (e searchExpression) check(c *checks, member string, depth int) {
	if depth > MaxSearchDepth {
		c.fail(member, "[…]", fmt.Sprintf("SubExpressions may be nested at most %d deep", MaxSearchDepth))
		return
	}
	if e.Operator != nil && *e.Operator != "And" && *e.Operator != "Or" {
		c.fail(member+".operator", *e.Operator, "Member must satisfy enum value set: [And, Or]")
	}
	if e.Filters != nil {
		c.listLength(member+".filters", len(e.Filters), 1, MaxSearchFilters)
	}
	for i, f := range e.Filters {
		f.check(c, fmt.Sprintf("%s.filters.%d.member", member, i+1))
	}
	if e.NestedFilters != nil {
		c.listLength(member+".nestedFilters", len(e.NestedFilters), 1, MaxSearchFilters)
	}
	for i, n := range e.NestedFilters {
		m := fmt.Sprintf("%s.nestedFilters.%d.member", member, i+1)
		if c.required(m+".nestedPropertyName", n.NestedPropertyName) {
			c.length(m+".nestedPropertyName", *n.NestedPropertyName, 1, MaxPropertyNameLength)
		}
		c.listLength(m+".filters", len(n.Filters), 1, MaxSearchFilters)
		for j, f := range n.Filters {
			f.check(c, fmt.Sprintf("%s.filters.%d.member", m, j+1))
		}
	}
	if e.SubExpressions != nil {
		c.listLength(member+".subExpressions", len(e.SubExpressions), 1, MaxSearchSubExpressions)
	}
	for i, s := range e.SubExpressions {
		s.check(c, fmt.Sprintf("%s.subExpressions.%d.member", member, i+1), depth+1)
	}
}

// matches tells whether doc (a document as JSON decodes it, with Metrics and Tags
// keyed by name) satisfies e.
func (e searchExpression) matches(doc map[string]any) bool {
	or := e.Operator != nil && *e.Operator == "Or"
	var results []bool
	for _, f := range e.Filters {
		results = append(results, f.matches(doc))
	}
	for _, n := range e.NestedFilters {
		results = append(results, n.matches(doc))
	}
	for _, s := range e.SubExpressions {
		results = append(results, s.matches(doc))
	}
	for _, r := range results {
		if r == or {
			return or
		}
	}
	return !or || len(results) == 0
}

// matches tells whether one element of the nested property satisfies every filter,
// whose names start with the property's.
func (n nestedFilters) matches(doc map[string]any) bool {
	prop := *n.NestedPropertyName
	for _, el := range resolve(doc, splitPath(prop)) {
		m, ok := el.(map[string]any)
		if !ok {
			continue
		}
		all := true
		for _, f := range n.Filters {
			name := strings.TrimPrefix(strings.TrimPrefix(*f.Name, prop), ".")
			inner := f
			inner.Name = &name
			if !inner.matches(m) {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

func (f searchFilter) matches(doc map[string]any) bool {
	values := resolve(doc, splitPath(*f.Name))
	switch f.op() {
	case "Exists":
		return len(values) > 0
	case "NotExists":
		return len(values) == 0
	case "NotEquals":
		for _, v := range values {
			if compare(v, *f.Value) == 0 {
				return false
			}
		}
		return true
	}
	for _, v := range values {
		if f.matchesValue(v) {
			return true
		}
	}
	return false
}

func (f searchFilter) matchesValue(v any) bool {
	switch f.op() {
	case "Equals":
		return compare(v, *f.Value) == 0
	case "In":
		for _, want := range strings.Split(*f.Value, ",") {
			if compare(v, strings.TrimSpace(want)) == 0 {
				return true
			}
		}
		return false
	case "Contains":
		s, ok := v.(string)
		return ok && strings.Contains(s, *f.Value)
	case "GreaterThan":
		return compare(v, *f.Value) > 0
	case "GreaterThanOrEqualTo":
		c := compare(v, *f.Value)
		return c > 0 || c == 0
	case "LessThan":
		c := compare(v, *f.Value)
		return c < 0 && c != incomparable
	case "LessThanOrEqualTo":
		c := compare(v, *f.Value)
		return c <= 0 && c != incomparable
	}
	return false
}

const incomparable = math.MinInt

// compare compares a document's value with a filter's: numbers (and times, which
// documents hold as epoch seconds and filters may give in RFC 3339) as numbers, strings
// as strings; incomparable when they cannot be.
func compare(v any, want string) int {
	switch x := v.(type) {
	case float64:
		w, err := strconv.ParseFloat(want, 64)
		if err != nil {
			t, terr := time.Parse(time.RFC3339Nano, want)
			if terr != nil {
				return incomparable
			}
			w = float64(t.UnixNano()) / 1e9
		}
		switch {
		case x < w:
			return -1
		case x > w:
			return 1
		case x == w:
			return 0
		}
		return incomparable
	case string:
		return strings.Compare(x, want)
	case bool:
		return strings.Compare(strconv.FormatBool(x), strings.ToLower(want))
	}
	return incomparable
}

// resolve returns the values at a property path in doc: map keys may hold dots (a
// metric "train.loss"), so the longest key that matches is taken first; a list yields
// the values of each element (a list at the end of the path, its elements); a
// parameter's {StringValue|NumberValue} its value.
func resolve(v any, parts []string) []any {
	if len(parts) == 0 {
		if list, ok := v.([]any); ok {
			return list
		}
		if m, ok := v.(map[string]any); ok && len(m) == 1 {
			for k, inner := range m {
				if k == "StringValue" || k == "NumberValue" {
					return []any{inner}
				}
			}
		}
		if v == nil {
			return nil
		}
		return []any{v}
	}
	switch x := v.(type) {
	case map[string]any:
		for j := len(parts); j >= 1; j-- {
			if child, ok := x[strings.Join(parts[:j], ".")]; ok {
				if out := resolve(child, parts[j:]); len(out) > 0 {
					return out
				}
			}
		}
	case []any:
		var out []any
		for _, el := range x {
			out = append(out, resolve(el, parts)...)
		}
		return out
	}
	return nil
}

// splitPath splits a property name at its dots (resolve joins them again where a key
// holds one).
func splitPath(name string) []string { return strings.Split(name, ".") }

// sortable writes a value so that strings compare like the values: numbers before
// strings, numbers in order.
func sortable(vs []any) string {
	if len(vs) == 0 {
		return ""
	}
	switch x := vs[0].(type) {
	case float64:
		bits := math.Float64bits(x)
		if x < 0 {
			bits = ^bits
		} else {
			bits |= 1 << 63
		}
		return fmt.Sprintf("n%016x", bits)
	case string:
		return "s" + x
	}
	return "x" + fmt.Sprint(vs[0])
}

// filterView is doc as filters see it: JSON-decoded, Metrics keyed by MetricName and
// Tags by Key.
func filterView(doc map[string]any) (map[string]any, error) {
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	var view map[string]any
	if err := json.Unmarshal(b, &view); err != nil {
		return nil, err
	}
	keyBy := func(prop, key string, value func(map[string]any) any) {
		list, _ := view[prop].([]any)
		m := map[string]any{}
		for _, el := range list {
			if e, ok := el.(map[string]any); ok {
				if k, ok := e[key].(string); ok {
					m[k] = value(e)
				}
			}
		}
		view[prop] = m
	}
	keyBy("Metrics", "MetricName", func(e map[string]any) any { return e })
	keyBy("Tags", "Key", func(e map[string]any) any { return e["Value"] })
	return view, nil
}

func search(ctx context.Context, api *API, body []byte) (any, error) {
	var in searchRequest
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var c checks
	if c.required("resource", in.Resource) {
		switch *in.Resource {
		case searchTrialComponents, searchExperiments, searchTrials:
		default:
			c.fail("resource", *in.Resource, "provgraph searches ExperimentTrialComponent, Experiment and ExperimentTrial")
		}
	}
	expr := searchExpression{}
	if in.SearchExpression != nil {
		expr = *in.SearchExpression
		expr.check(&c, "searchExpression", 1)
	}
	sortBy := "CreationTime"
	if in.SortBy != nil {
		c.length("sortBy", *in.SortBy, 1, MaxPropertyNameLength)
		sortBy = *in.SortBy
	}
	desc := true
	if in.SortOrder != nil {
		switch *in.SortOrder {
		case "Ascending":
			desc = false
		case "Descending":
		default:
			c.fail("sortOrder", *in.SortOrder, "Member must satisfy enum value set: [Ascending, Descending]")
		}
	}
	max := c.maxResults(in.MaxResults, MaxSearchResults, defaultListResults)
	if err := c.err(); err != nil {
		return nil, err
	}
	docs, err := api.searchDocs(ctx, *in.Resource, expr, sortBy)
	if err != nil {
		return nil, err
	}
	var items []listed
	runs := map[string]*store.Node{} // by trial component ARN
	for _, d := range docs {
		view, err := filterView(d.doc)
		if err != nil {
			return nil, err
		}
		if !expr.matches(view) {
			continue
		}
		if d.run != nil {
			runs[d.doc["TrialComponentArn"].(string)] = d.run
		}
		items = append(items, listed{sortKey: sortable(resolve(view, splitPath(sortBy))), name: d.id,
			summary: map[string]any{d.wrapper: d.doc}})
	}
	results, next, err := pageOf(items, desc, in.NextToken, max)
	if err != nil {
		return nil, err
	}
	// The artifacts of the trial components answered, when the filters did not need
	// them for all.
	for _, res := range results {
		doc, _ := res.(map[string]any)["TrialComponent"].(map[string]any)
		if doc == nil || doc["InputArtifacts"] != nil {
			continue
		}
		if r := runs[doc["TrialComponentArn"].(string)]; r != nil {
			if err := api.addArtifacts(ctx, *r, doc); err != nil {
				return nil, err
			}
		}
	}
	out := map[string]any{"Results": results}
	if next != "" {
		out["NextToken"] = next
	}
	return out, nil
}

// searchDoc is a candidate of a Search: its document, the member of a result that holds
// it (TrialComponent, Experiment, Trial) and a stable id.
type searchDoc struct {
	doc     map[string]any
	wrapper string
	id      string
	// run is a trial component's run, whose artifacts an answer adds.
	run *store.Node
}

func (api *API) searchDocs(ctx context.Context, resource string, expr searchExpression, sortBy string) ([]searchDoc, error) {
	switch resource {
	case searchExperiments:
		return api.experimentDocs(ctx)
	case searchTrials:
		return api.trialDocs(ctx)
	}
	return api.trialComponentDocs(ctx, expr, sortBy)
}

// userTags are a node's tags but those provgraph keeps for the SageMaker API itself.
func userTags(n store.Node) []tag {
	out := []tag{}
	for _, t := range n.Tags() {
		if t.Key != tcNameTag && t.Key != displayNameTag {
			out = append(out, tag{Key: t.Key, Value: t.Value})
		}
	}
	return out
}

func (api *API) experimentDocs(ctx context.Context) ([]searchDoc, error) {
	var out []searchDoc
	err := api.forEachExperiment(ctx, store.ViewActiveOnly, func(e store.Node) error {
		doc := api.experimentDoc(e)
		doc["Tags"] = userTags(e)
		out = append(out, searchDoc{doc: doc, wrapper: "Experiment", id: e.Key})
		return nil
	})
	return out, err
}

func (api *API) trialDocs(ctx context.Context) ([]searchDoc, error) {
	groups, err := api.allTrials(ctx)
	if err != nil {
		return nil, err
	}
	names, err := api.experimentNames(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]searchDoc, 0, len(groups))
	for _, g := range groups {
		doc := api.trialSummary(g)
		doc["ExperimentName"] = names[g.String("experimentId")]
		doc["CreatedBy"], doc["LastModifiedBy"], doc["Tags"] = userOf(g.RecordedBy), userOf(modifiedBy(g)), []tag{}
		out = append(out, searchDoc{doc: doc, wrapper: "Trial", id: g.Key})
	}
	return out, nil
}

// experimentNames maps experiment ids to names.
func (api *API) experimentNames(ctx context.Context) (map[string]string, error) {
	out := map[string]string{}
	err := api.forEachExperiment(ctx, store.ViewAll, func(e store.Node) error {
		out[e.String("experimentId")] = e.Name
		return nil
	})
	return out, err
}

// scopeOf reads the experiment or trial a top-level And expression pins with Equals.
func scopeOf(expr searchExpression) (experiment, trial *string) {
	if expr.Operator != nil && *expr.Operator == "Or" {
		return nil, nil
	}
	for _, f := range expr.Filters {
		if f.op() != "Equals" || f.Value == nil {
			continue
		}
		switch *f.Name {
		case "Parents.ExperimentName":
			experiment = f.Value
		case "Parents.TrialName":
			trial = f.Value
		}
	}
	return experiment, trial
}

// runDataChunk is how many runs' data one read fetches.
const runDataChunk = 1000

func (api *API) trialComponentDocs(ctx context.Context, expr searchExpression, sortBy string) ([]searchDoc, error) {
	exp, trial := scopeOf(expr)
	runs, err := api.runsOf(ctx, exp, trial)
	if err != nil {
		if e, ok := awsErrorOf(err); ok && e.Code == codeResourceNotFound {
			return nil, nil // a search for what does not exist finds nothing
		}
		return nil, err
	}
	names, err := api.experimentNames(ctx)
	if err != nil {
		return nil, err
	}
	wantArtifacts := strings.Contains(sortBy, "Artifacts")
	if b, err := json.Marshal(expr); err == nil && strings.Contains(string(b), "Artifacts") {
		wantArtifacts = true
	}
	out := make([]searchDoc, 0, len(runs))
	for start := 0; start < len(runs); start += runDataChunk {
		chunk := runs[start:min(start+runDataChunk, len(runs))]
		keys := make([]string, len(chunk))
		for i, r := range chunk {
			keys[i] = r.Key
		}
		data, err := api.st.RunsData(ctx, keys)
		if err != nil {
			return nil, err
		}
		for _, r := range chunk {
			doc := api.trialComponentDoc(r, data[r.Key])
			expName := names[r.String("experimentId")]
			parents := []map[string]any{}
			for _, g := range data[r.Key].Groups {
				parents = append(parents, map[string]any{"TrialName": g, "ExperimentName": expName})
			}
			doc["Parents"], doc["Tags"] = parents, userTags(r)
			if wantArtifacts {
				if err := api.addArtifacts(ctx, r, doc); err != nil {
					return nil, err
				}
			}
			out = append(out, searchDoc{doc: doc, wrapper: "TrialComponent", id: r.Key, run: &r})
		}
	}
	return out, nil
}
