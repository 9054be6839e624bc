package store

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"

	"github.com/provgraph/provgraph/apperr"
)

// Goal says which way a metric is better.
type Goal string

// The goals.
const (
	Minimize Goal = "MINIMIZE"
	Maximize Goal = "MAXIMIZE"
)

// MaxCompareRuns is the most runs one comparison holds.
const MaxCompareRuns = 100

// ParamRow is one parameter across the compared runs: Values[i] is run i's value, nil
// when it did not log the parameter. Differs is true when not all runs agree.
type ParamRow struct {
	Key     string
	Values  []*string
	Differs bool
}

// MetricRow is one metric across the compared runs: Summaries[i] is run i's, nil when
// it did not log the metric. Best is the index of the best run by last value, -1 when
// there is none (no goal known, or no run has a finite value). GoalGuessed says that
// Goal was guessed from the metric's name rather than given.
type MetricRow struct {
	Key         string
	Summaries   []*MetricSummary
	Goal        Goal
	GoalGuessed bool
	Best        int
}

// RunComparison is a table of runs side by side.
type RunComparison struct {
	Runs    []Node
	Params  []ParamRow
	Metrics []MetricRow
}

const (
	cypherCompareRuns = `
UNWIND range(0, size($runs) - 1) AS i
MATCH (r:` + LabelNode + ` {key: $runs[i]})
RETURN i, r {.*} AS run,
  [(r)-[:` + RelHasParam + `]->(p:` + LabelParam + `) WHERE $paramKeys IS NULL OR p.key IN $paramKeys | [p.key, p.value]] AS params,
  [(r)-[:` + RelHasMetric + `]->(m:` + LabelMetricSeries + `) WHERE $metricKeys IS NULL OR m.key IN $metricKeys |
     m {.key, .count, .finite, .mean, .m2, .min, .max, .last, .lastStep, .lastTimestamp}] AS metrics`
)

// CompareRuns lays runs side by side: every parameter (or those of paramKeys) with a
// flag where the runs differ, every metric's summary (or those of metricKeys), and the
// best run per metric — by the goal given in goals, else one guessed from the name
// (loss, error, … lower; accuracy, auc, … higher) and marked as guessed.
func (s *Store) CompareRuns(ctx context.Context, ids, metricKeys, paramKeys []string, goals map[string]Goal) (RunComparison, error) {
	if len(ids) < 1 || len(ids) > MaxCompareRuns {
		return RunComparison{}, apperr.Invalid("ids", "must list 1 to %d runs (got %d)", MaxCompareRuns, len(ids))
	}
	seen := map[string]bool{}
	for i, id := range ids {
		if err := RequireKind(fmt.Sprintf("ids[%d]", i), id, KindRun, "run:<run id>"); err != nil {
			return RunComparison{}, err
		}
		if seen[id] {
			return RunComparison{}, apperr.Invalid(fmt.Sprintf("ids[%d]", i), "run %q is listed twice", id)
		}
		seen[id] = true
	}
	var pk, mk any
	if paramKeys != nil {
		pk = paramKeys
	}
	if metricKeys != nil {
		mk = metricKeys
	}
	return read(ctx, s, func(tx neo4j.ManagedTransaction) (RunComparison, error) {
		recs, err := collect(ctx, tx, cypherCompareRuns, map[string]any{"runs": ids, "paramKeys": pk, "metricKeys": mk})
		if err != nil {
			return RunComparison{}, fmt.Errorf("compare runs: %w", err)
		}
		out := RunComparison{Runs: make([]Node, len(ids))}
		found := make([]bool, len(ids))
		params := map[string][]*string{}
		metrics := map[string][]*MetricSummary{}
		var paramOrder, metricOrder []string
		for _, rec := range recs {
			iv, _ := rec.Get("i")
			i := int(iv.(int64))
			found[i] = true
			run, _ := rec.Get("run")
			out.Runs[i] = nodeFromProps(run.(map[string]any))
			ps, _ := rec.Get("params")
			for _, p := range ps.([]any) {
				kv := p.([]any)
				k, _ := kv[0].(string)
				v, _ := kv[1].(string)
				if params[k] == nil {
					params[k] = make([]*string, len(ids))
					paramOrder = append(paramOrder, k)
				}
				params[k][i] = &v
			}
			ms, _ := rec.Get("metrics")
			for _, m := range ms.([]any) {
				sum := summaryFrom(m.(map[string]any))
				if metrics[sum.Key] == nil {
					metrics[sum.Key] = make([]*MetricSummary, len(ids))
					metricOrder = append(metricOrder, sum.Key)
				}
				metrics[sum.Key][i] = &sum
			}
		}
		for i, ok := range found {
			if !ok {
				return RunComparison{}, notFound(fmt.Sprintf("ids[%d]", i), ids[i])
			}
		}
		for _, k := range sortedKeys(paramOrder, paramKeys) {
			row := ParamRow{Key: k, Values: params[k]}
			if row.Values == nil {
				row.Values = make([]*string, len(ids))
			}
			for _, v := range row.Values[1:] {
				if (v == nil) != (row.Values[0] == nil) || v != nil && *v != *row.Values[0] {
					row.Differs = true
				}
			}
			out.Params = append(out.Params, row)
		}
		for _, k := range sortedKeys(metricOrder, metricKeys) {
			row := MetricRow{Key: k, Summaries: metrics[k], Best: -1}
			if row.Summaries == nil {
				row.Summaries = make([]*MetricSummary, len(ids))
			}
			if g, ok := goals[k]; ok {
				row.Goal = g
			} else if g, ok := GuessGoal(k); ok {
				row.Goal, row.GoalGuessed = g, true
			}
			for i, sm := range row.Summaries {
				if row.Goal == "" || sm == nil || math.IsNaN(sm.Last) || math.IsInf(sm.Last, 0) {
					continue
				}
				if row.Best < 0 || (row.Goal == Minimize && sm.Last < row.Summaries[row.Best].Last) ||
					(row.Goal == Maximize && sm.Last > row.Summaries[row.Best].Last) {
					row.Best = i
				}
			}
			out.Metrics = append(out.Metrics, row)
		}
		return out, nil
	})
}

// sortedKeys is the keys asked for in their order, or else the keys found, sorted.
func sortedKeys(found, asked []string) []string {
	if asked != nil {
		return asked
	}
	return slices.Sorted(slices.Values(found))
}

// Words in metric names that say which way is better.
var (
	lowerIsBetter  = []string{"loss", "error", "err", "mse", "rmse", "mae", "mape", "logloss", "perplexity", "latency", "wer", "cer", "fpr", "fnr"}
	higherIsBetter = []string{"accuracy", "acc", "auc", "roc", "f1", "precision", "recall", "r2", "score", "map", "ndcg", "iou", "bleu", "rouge", "tpr", "gain"}
)

// GuessGoal guesses from a metric's name whether lower or higher is better: a name with
// a word such as loss or error is minimized, one with accuracy or auc maximized. The
// last such word counts (val_accuracy_loss is a loss); no such word, no guess.
func GuessGoal(name string) (Goal, bool) {
	words := strings.FieldsFunc(strings.ToLower(name), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	for i := len(words) - 1; i >= 0; i-- {
		for _, w := range lowerIsBetter {
			if words[i] == w {
				return Minimize, true
			}
		}
		for _, w := range higherIsBetter {
			if words[i] == w {
				return Maximize, true
			}
		}
	}
	return "", false
}
