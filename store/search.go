package store

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"

	"github.com/provgraph/provgraph/apperr"
	"github.com/provgraph/provgraph/runfilter"
)

// RunView chooses runs by lifecycle, as MLflow's run_view_type.
type RunView string

// The run views.
const (
	ViewActiveOnly  RunView = "ACTIVE_ONLY"
	ViewDeletedOnly RunView = "DELETED_ONLY"
	ViewAll         RunView = "ALL"
)

// Limits of run search.
const (
	MaxSearchExperiments = 100
	MaxOrderBy           = 10
	MaxSearchOffset      = 100000
)

// RunSearch asks for runs matching an MLflow filter string (with OR and parentheses),
// in some experiments (all when empty), ordered by order-by clauses.
type RunSearch struct {
	Filter      string
	OrderBy     []string
	Experiments []string // experiment node IDs
	// Group, when set, keeps the runs of one run group (a node ID).
	Group string
	View  RunView
	// First is the page size, 1 to MaxPageSize.
	First int
	After string
}

// RunPage is a page of runs.
type RunPage struct {
	Runs []Node
	// Cursors[i] points after Runs[i].
	Cursors   []string
	EndCursor string
}

// searchCursor is an offset into a search's ordered results, tied to the search.
type searchCursor struct {
	Offset int    `json:"o"`
	Query  string `json:"q"`
}

// compiled is a search turned into Cypher: the driving MATCH clauses, the WHERE
// predicate, the ORDER BY keys and their parameters. Every fragment is a constant of
// this file; user input reaches the query only as parameters.
type compiled struct {
	matches []string
	where   []string
	order   []string
	params  map[string]any
	// scoped: the search names its experiments ($experiments), so the driving lookups
	// use the indexes that start with the experiment.
	scoped bool
}

func (c *compiled) param(v any) string {
	name := "p" + strconv.Itoa(len(c.params))
	c.params[name] = v
	return "$" + name
}

// comparisonOps maps the filter's comparison operators to Cypher's.
var comparisonOps = map[runfilter.Op]string{
	runfilter.OpEq: "=", runfilter.OpNe: "<>", runfilter.OpLt: "<", runfilter.OpLe: "<=",
	runfilter.OpGt: ">", runfilter.OpGe: ">=",
}

// attributeProps maps string attributes to run properties.
var attributeProps = map[string]string{
	runfilter.AttrRunID: propRunID, runfilter.AttrRunName: propName, runfilter.AttrStatus: "status",
	runfilter.AttrUserID: propUser, runfilter.AttrArtifactURI: propArtifactURI,
}

// likeRegex turns a SQL LIKE pattern into a Java regular expression: % any run, _ any
// one character, a backslash makes the next character literal (so \% and \_ find
// them), everything else literal; ILIKE ignores case, Unicode included.
func likeRegex(pattern string, ignoreCase bool) string {
	var b strings.Builder
	if ignoreCase {
		b.WriteString("(?isu)")
	} else {
		b.WriteString("(?s)")
	}
	escaped := false
	for _, r := range pattern {
		switch {
		case escaped:
			b.WriteString(regexp.QuoteMeta(string(r)))
			escaped = false
		case r == '\\':
			escaped = true
		case r == '%':
			b.WriteString(".*")
		case r == '_':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	if escaped {
		b.WriteString(regexp.QuoteMeta("\\"))
	}
	return b.String()
}

// stringTest is the Cypher test of the string expression x against a comparison.
func (c *compiled) stringTest(x string, cmp *runfilter.Comparison) string {
	switch cmp.Op {
	case runfilter.OpEq, runfilter.OpNe:
		return x + " " + comparisonOps[cmp.Op] + " " + c.param(*cmp.Text)
	case runfilter.OpLike, runfilter.OpILike:
		return x + " =~ " + c.param(likeRegex(*cmp.Text, cmp.Op == runfilter.OpILike))
	case runfilter.OpIn:
		return x + " IN " + c.param(cmp.List)
	case runfilter.OpNotIn:
		return "NOT " + x + " IN " + c.param(cmp.List)
	}
	return "false"
}

// predicate compiles a filter expression about run r.
func (c *compiled) predicate(e runfilter.Expr) string {
	switch x := e.(type) {
	case *runfilter.And:
		parts := make([]string, len(x.Terms))
		for i, t := range x.Terms {
			parts[i] = c.predicate(t)
		}
		return "(" + strings.Join(parts, " AND ") + ")"
	case *runfilter.Or:
		parts := make([]string, len(x.Terms))
		for i, t := range x.Terms {
			parts[i] = c.predicate(t)
		}
		return "(" + strings.Join(parts, " OR ") + ")"
	case *runfilter.Comparison:
		return c.comparison(x)
	}
	return "false"
}

func (c *compiled) comparison(x *runfilter.Comparison) string {
	switch x.Prefix {
	case runfilter.PrefixMetrics:
		return "EXISTS { MATCH (r)-[:" + RelHasMetric + "]->(m:" + LabelMetricSeries + ") WHERE m.key = " +
			c.param(x.Key) + " AND m.last " + comparisonOps[x.Op] + " " + c.param(*x.Number) + " }"
	case runfilter.PrefixParams:
		switch x.Op {
		case runfilter.OpEq:
			return "EXISTS { MATCH (r)-[:" + RelHasParam + "]->(:" + LabelParam + " {pid: " + c.param(paramID(x.Key, *x.Text)) + "}) }"
		case runfilter.OpIsNull, runfilter.OpIsNotNull:
			q := "EXISTS { MATCH (r)-[:" + RelHasParam + "]->(p:" + LabelParam + ") WHERE p.key = " + c.param(x.Key) + " }"
			if x.Op == runfilter.OpIsNull {
				return "NOT " + q
			}
			return q
		}
		return "EXISTS { MATCH (r)-[:" + RelHasParam + "]->(p:" + LabelParam + ") WHERE p.key = " + c.param(x.Key) +
			" AND " + c.stringTest("p.value", x) + " }"
	case runfilter.PrefixTags:
		k := c.param(x.Key)
		switch x.Op {
		case runfilter.OpIsNull:
			return "NOT " + k + " IN coalesce(r.tagKeys, [])"
		case runfilter.OpIsNotNull:
			return k + " IN coalesce(r.tagKeys, [])"
		}
		return "any(i IN range(0, size(coalesce(r.tagKeys, [])) - 1) WHERE r.tagKeys[i] = " + k + " AND " +
			c.stringTest("r.tagValues[i]", x) + ")"
	case runfilter.PrefixAttributes:
		switch x.Key {
		case runfilter.AttrStartTime, runfilter.AttrEndTime:
			prop := map[string]string{runfilter.AttrStartTime: propStartTime, runfilter.AttrEndTime: propEndTime}[x.Key]
			return "r." + prop + ".epochMillis " + comparisonOps[x.Op] + " " + c.param(int64(*x.Number))
		}
		return c.stringTest("r."+attributeProps[x.Key], x)
	case runfilter.PrefixDatasets:
		prop := map[string]string{runfilter.DatasetName: "d.name", runfilter.DatasetDigest: "d.digest", runfilter.DatasetContext: "e.context"}[x.Key]
		return "EXISTS { MATCH (d:" + string(KindDatasetVersion) + ")-[e:" + RelInputTo + "]->(r) WHERE " + c.stringTest(prop, x) + " }"
	}
	return "false"
}

// driving picks, from the conjuncts of a filter, at most one parameter's exact value
// and one metric's range — the conditions an index answers — as the patterns the
// search starts from, and compiles the rest as predicates. With both, the planner is
// told to join the two sets of runs rather than expand every run of one set (a run
// has one value per parameter and one series per metric, so no run repeats). A search
// scoped to experiments looks both up within them only, so it does not slow down as
// other experiments grow.
func (c *compiled) driving(e runfilter.Expr) {
	terms := []runfilter.Expr{e}
	if and, ok := e.(*runfilter.And); ok {
		terms = and.Terms
	}
	var param, metric string
	for _, t := range terms {
		x, ok := t.(*runfilter.Comparison)
		switch {
		case ok && param == "" && x.Prefix == runfilter.PrefixParams && x.Op == runfilter.OpEq:
			pid := c.param(paramID(x.Key, *x.Text))
			if c.scoped {
				param = "MATCH (r)-[dp:" + RelHasParam + "]->()\nUSING INDEX dp:" + RelHasParam + "(exp, pid)\n" +
					"WHERE dp.exp IN $experiments AND dp.pid = " + pid
			} else {
				param = "MATCH (:" + LabelParam + " {pid: " + pid + "})<-[:" + RelHasParam + "]-(r)"
			}
		case ok && metric == "" && x.Prefix == runfilter.PrefixMetrics:
			cond := "dm.key = " + c.param(x.Key) + " AND dm.last " + comparisonOps[x.Op] + " " + c.param(*x.Number)
			if c.scoped {
				metric = "USING INDEX dm:" + LabelMetricSeries + "(exp, key, last)\nWHERE dm.exp IN $experiments AND " + cond
			} else {
				metric = "USING INDEX dm:" + LabelMetricSeries + "(key, last)\nWHERE " + cond
			}
		default:
			c.where = append(c.where, c.predicate(t))
		}
	}
	if param != "" {
		c.matches = append(c.matches, param)
	}
	if metric != "" {
		m := "MATCH (r)-[:" + RelHasMetric + "]->(dm:" + LabelMetricSeries + ")\n"
		if param != "" {
			m += "USING JOIN ON r\n"
		}
		c.matches = append(c.matches, m+metric)
	}
}

// orderKey compiles an order-by clause into a sort expression.
func (c *compiled) orderKey(ob runfilter.OrderBy) string {
	var x string
	switch ob.Prefix {
	case runfilter.PrefixMetrics:
		x = "head([(r)-[:" + RelHasMetric + "]->(om:" + LabelMetricSeries + ") WHERE om.key = " + c.param(ob.Key) + " | om.last])"
	case runfilter.PrefixParams:
		x = "head([(r)-[:" + RelHasParam + "]->(op:" + LabelParam + ") WHERE op.key = " + c.param(ob.Key) + " | op.value])"
	case runfilter.PrefixTags:
		x = "head([i IN range(0, size(coalesce(r.tagKeys, [])) - 1) WHERE r.tagKeys[i] = " + c.param(ob.Key) + " | r.tagValues[i]])"
	default:
		switch ob.Key {
		case runfilter.AttrStartTime, runfilter.AttrEndTime:
			x = "r." + map[string]string{runfilter.AttrStartTime: propStartTime, runfilter.AttrEndTime: propEndTime}[ob.Key]
		default:
			x = "r." + attributeProps[ob.Key]
		}
	}
	dir := ""
	if ob.Desc {
		dir = " DESC"
	}
	// Runs without the value come last either way, as in MLflow.
	return x + " IS NULL, " + x + dir
}

func compileSearch(q RunSearch) (*compiled, error) {
	c := &compiled{params: map[string]any{}, scoped: len(q.Experiments) > 0}
	expr, err := runfilter.Parse(q.Filter)
	if err != nil {
		var se *runfilter.SyntaxError
		if errors.As(err, &se) {
			return nil, apperr.Invalid("filter", "%s", strings.TrimPrefix(se.Error(), "filter: "))
		}
		return nil, err
	}
	if expr != nil {
		c.driving(expr)
	}
	if len(q.OrderBy) > MaxOrderBy {
		return nil, apperr.Invalid("orderBy", "must hold at most %d clauses (got %d)", MaxOrderBy, len(q.OrderBy))
	}
	for i, clause := range q.OrderBy {
		ob, err := runfilter.ParseOrderBy(clause)
		if err != nil {
			var se *runfilter.SyntaxError
			if errors.As(err, &se) {
				return nil, apperr.Invalid(fmt.Sprintf("orderBy[%d]", i), "position %d: %s", se.Pos, se.Msg)
			}
			return nil, err
		}
		c.order = append(c.order, c.orderKey(ob))
	}
	// MLflow's default order, and the tie-breaker that makes pages stable.
	c.order = append(c.order, "r."+propStartTime+" DESC", "r."+propRunID)
	return c, nil
}

// SearchRuns finds runs with an MLflow filter string, extended with OR and parentheses,
// across the given experiments or all of them. A bad filter is an INVALID_ARGUMENT
// error about "filter" that gives the position of the mistake.
func (s *Store) SearchRuns(ctx context.Context, q RunSearch) (RunPage, error) {
	first, err := checkPage(&q.First)
	if err != nil {
		return RunPage{}, err
	}
	if q.Group != "" {
		if err := RequireKind("group", q.Group, KindRunGroup, "runGroup:<experiment id>/<name>"); err != nil {
			return RunPage{}, err
		}
	}
	if len(q.Experiments) > MaxSearchExperiments {
		return RunPage{}, apperr.Invalid("experiments", "must list at most %d experiments (got %d)", MaxSearchExperiments, len(q.Experiments))
	}
	expIDs := make([]string, 0, len(q.Experiments))
	for i, e := range q.Experiments {
		if err := RequireKind(fmt.Sprintf("experiments[%d]", i), e, KindExperiment, "experiment:<id>"); err != nil {
			return RunPage{}, err
		}
		expIDs = append(expIDs, strings.TrimPrefix(e, prefixExperiment))
	}
	view := q.View
	if view == "" {
		view = ViewActiveOnly
	}
	lifecycles, err := viewLifecycles(view)
	if err != nil {
		return RunPage{}, err
	}
	c, err := compileSearch(q)
	if err != nil {
		return RunPage{}, err
	}
	fp := searchFingerprint(q, expIDs, view)
	offset := 0
	if q.After != "" {
		var cur searchCursor
		if err := decodeOpaque("after", q.After, 512, &cur); err != nil || cur.Offset < 1 || cur.Offset > MaxSearchOffset {
			return RunPage{}, errNotCursor("after")
		}
		if cur.Query != fp {
			return RunPage{}, apperr.Invalid("after", "belongs to a search with other arguments; ask for the next page with the same filter, orderBy, experiments and view")
		}
		offset = cur.Offset
	}
	where := []string{"r.lifecycle IN $lifecycles"}
	if len(expIDs) > 0 {
		where = append(where, "r.experimentId IN $experiments")
	}
	where = append(where, c.where...)
	if q.Group != "" {
		where = append(where, "EXISTS { MATCH (r)-[m:"+RelInGroup+"]->(:"+LabelNode+" {key: $group}) WHERE m.endedAt IS NULL }")
		c.params["group"] = q.Group
	}
	var b strings.Builder
	if len(c.matches) == 0 {
		b.WriteString("MATCH (r:" + string(KindRun) + ")\n")
	} else {
		// The candidates the indexes give, then every other condition on them alone:
		// the aggregation keeps the planner from checking the run's own properties on
		// each side of the join before it.
		for _, m := range c.matches {
			b.WriteString(m + "\n")
		}
		b.WriteString("WITH collect(r) AS candidates\nUNWIND candidates AS r\n")
		where = append([]string{"r:" + string(KindRun)}, where...)
	}
	b.WriteString("WITH r WHERE " + strings.Join(where, "\n  AND ") + "\n")
	b.WriteString("WITH r ORDER BY " + strings.Join(c.order, ", ") + "\n")
	b.WriteString("SKIP $offset LIMIT $limit\nRETURN collect(r {.*}) AS runs")
	c.params["lifecycles"], c.params["experiments"] = lifecycles, expIDs
	c.params["offset"], c.params["limit"] = offset, first+1
	return read(ctx, s, func(tx neo4j.ManagedTransaction) (RunPage, error) {
		recs, err := collect(ctx, tx, b.String(), c.params)
		if err != nil {
			return RunPage{}, fmt.Errorf("search runs: %w", err)
		}
		runs, err := nodesAt(recs[0], "runs")
		if err != nil {
			return RunPage{}, err
		}
		page := RunPage{Runs: runs}
		if len(runs) > first {
			page.Runs = runs[:first]
		}
		for i := range page.Runs {
			page.Cursors = append(page.Cursors, encodeOpaque(searchCursor{Offset: offset + i + 1, Query: fp}))
		}
		if len(runs) > first && offset+first <= MaxSearchOffset {
			page.EndCursor = page.Cursors[first-1]
		}
		return page, nil
	})
}

func searchFingerprint(q RunSearch, expIDs []string, view RunView) string {
	return queryFingerprint(q.Filter, q.OrderBy, expIDs, q.Group, view)
}
