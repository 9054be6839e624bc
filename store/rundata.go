package store

import (
	"context"
	"fmt"
	"sort"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
)

// RunData is what a run logged: its parameters, its metrics' summaries and the
// dataset versions it read; and the names of the run groups it is in.
type RunData struct {
	Params   []Param
	Metrics  []MetricSummary
	Datasets []Node
	Groups   []string
}

const cypherRunsData = `
UNWIND $keys AS k
MATCH (r:` + LabelNode + ` {key: k})
RETURN k AS key,
  [(r)-[:` + RelHasParam + `]->(p:` + LabelParam + `) | [p.key, p.value]] AS params,
  [(r)-[:` + RelHasMetric + `]->(m:` + LabelMetricSeries + `) |
     m {.key, .count, .finite, .mean, .m2, .min, .max, .last, .lastStep, .lastTimestamp}] AS metrics,
  [(d:` + string(KindDatasetVersion) + `)-[:` + RelInputTo + `]->(r) | d {.*}] AS datasets,
  [(r)-[:` + RelInGroup + `]->(g:` + LabelNode + `) | g.name] AS groups`

// RunsData returns what each of many runs logged, in one query (a page of search
// results, say), by run ID.
func (s *Store) RunsData(ctx context.Context, keys []string) (map[string]RunData, error) {
	return read(ctx, s, func(tx neo4j.ManagedTransaction) (map[string]RunData, error) {
		recs, err := collect(ctx, tx, cypherRunsData, map[string]any{"keys": keys})
		if err != nil {
			return nil, fmt.Errorf("data of runs: %w", err)
		}
		out := make(map[string]RunData, len(recs))
		for _, rec := range recs {
			k, _ := rec.Get("key")
			var d RunData
			ps, _ := rec.Get("params")
			for _, p := range ps.([]any) {
				kv := p.([]any)
				key, _ := kv[0].(string)
				value, _ := kv[1].(string)
				d.Params = append(d.Params, Param{Key: key, Value: value})
			}
			sort.Slice(d.Params, func(i, j int) bool { return d.Params[i].Key < d.Params[j].Key })
			ms, _ := rec.Get("metrics")
			for _, m := range ms.([]any) {
				d.Metrics = append(d.Metrics, summaryFrom(m.(map[string]any)))
			}
			sort.Slice(d.Metrics, func(i, j int) bool { return d.Metrics[i].Key < d.Metrics[j].Key })
			ds, _ := rec.Get("datasets")
			for _, v := range ds.([]any) {
				d.Datasets = append(d.Datasets, nodeFromProps(v.(map[string]any)))
			}
			gs, _ := rec.Get("groups")
			for _, g := range gs.([]any) {
				name, _ := g.(string)
				d.Groups = append(d.Groups, name)
			}
			sort.Strings(d.Groups)
			out[k.(string)] = d
		}
		return out, nil
	})
}
