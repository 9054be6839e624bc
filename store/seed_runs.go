package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"

	"github.com/provgraph/provgraph/apperr"
)

// RunSeedPlan sizes a synthetic experiment for search benchmarks.
type RunSeedPlan struct {
	// Experiment names the experiment to create; seeding is refused when it exists.
	Experiment string
	Runs       int
	Seed       uint64
}

// Each seeded run has SeedRunParams parameters and SeedRunMetrics metrics. Parameter
// p0 is the learning rate "lr", one of SeedLearningRates; metric m0 is "auc", uniform
// in [0.5, 1).
const (
	SeedRunParams  = 10
	SeedRunMetrics = 10
	seedRunBatch   = 2000
)

// SeedLearningRates are the values of the seeded runs' "lr" parameter.
var SeedLearningRates = []string{"0.0001", "0.0003", "0.001", "0.003", "0.01", "0.03", "0.1", "0.3", "1", "3"}

const (
	cypherSeedRuns = `
MATCH (e:` + LabelNode + ` {key: $experiment})
UNWIND $rows AS row
CREATE (r:` + LabelNode + `:` + string(KindRun) + `)
SET r = row.props
CREATE (r)-[:` + RelInExperiment + `]->(e)
WITH r, row
UNWIND row.params AS p
MERGE (pn:` + LabelParam + ` {pid: p.pid})
  ON CREATE SET pn.key = p.key, pn.value = p.value
CREATE (r)-[:` + RelHasParam + ` {recordedAt: row.props.recordedAt, recordedBy: 'seed', exp: r.experimentId, pid: p.pid}]->(pn)`

	cypherSeedRunMetrics = `
UNWIND $rows AS row
MATCH (r:` + LabelNode + ` {key: row.key})
UNWIND row.metrics AS m
CREATE (s:` + LabelMetricSeries + `)
SET s = m, s.exp = r.experimentId
CREATE (r)-[:` + RelHasMetric + `]->(s)`
)

// SeedRuns creates an experiment of plan.Runs finished runs with parameters and metric
// summaries, in batched UNWIND writes, and returns the experiment. Runs look like what
// logRun records, so searchRuns and compareRuns work on them.
func (s *Store) SeedRuns(ctx context.Context, plan RunSeedPlan, progress func(runs int)) (Node, error) {
	if plan.Runs < 1 {
		return Node{}, apperr.Invalid("runs", "must be at least 1")
	}
	exp, err := s.CreateExperiment(ctx, "seed", ExperimentInput{Name: plan.Experiment})
	if err != nil {
		return Node{}, err
	}
	rng := rand.New(rand.NewPCG(plan.Seed, plan.Seed^0x5eed))
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	expID := exp.String(propExperimentID)
	expNum, _ := strconv.ParseUint(expID, 10, 64)
	for done := 0; done < plan.Runs; {
		n := min(seedRunBatch, plan.Runs-done)
		rows := make([]map[string]any, 0, n)
		for i := range n {
			runID := fmt.Sprintf("%016x%016x", expNum, done+i) // unique: the experiment is new
			key := RunKey(runID)
			start := base.Add(time.Duration(done+i) * time.Minute)
			params := make([]map[string]any, 0, SeedRunParams)
			for p := range SeedRunParams {
				k, v := "p"+strconv.Itoa(p), strconv.Itoa(rng.IntN(2+p*10))
				if p == 0 {
					k, v = "lr", SeedLearningRates[rng.IntN(len(SeedLearningRates))]
				}
				params = append(params, map[string]any{"pid": paramID(k, v), "key": k, "value": v})
			}
			metrics := make([]map[string]any, 0, SeedRunMetrics)
			for m := range SeedRunMetrics {
				k, v := "m"+strconv.Itoa(m), rng.Float64()
				if m == 0 {
					k, v = "auc", 0.5+rng.Float64()/2
				}
				metrics = append(metrics, map[string]any{
					"sid": seriesID(key, k), "run": key, "key": k, "count": int64(1), "finite": int64(1),
					"mean": v, "m2": 0.0, "min": v, "max": v, "last": v, "lastStep": int64(0),
					"lastTimestamp": start.UnixMilli(), "chunks": int64(0),
					"tailSteps": []int64{0}, "tailTimestamps": []int64{start.UnixMilli()}, "tailValues": []float64{v},
				})
			}
			rows = append(rows, map[string]any{
				"key": key, "params": params, "metrics": metrics,
				"props": map[string]any{
					propKey: key, propKind: string(KindRun), propName: "run-" + strconv.Itoa(done+i), propRunID: runID,
					propExperimentID: expID, "status": string(RunFinished), propStartTime: start,
					propEndTime: start.Add(time.Minute), propLifecycle: string(LifecycleActive),
					propRecordedAt: start, propRecordedBy: "seed",
				},
			})
		}
		if _, err := write(ctx, s, SystemActor, ActionSeed, func(tx neo4j.ManagedTransaction, au *audit) (struct{}, error) {
			au.target(exp.Key)
			if _, err := collect(ctx, tx, cypherSeedRuns, map[string]any{"experiment": exp.Key, "rows": rows}); err != nil {
				return struct{}{}, err
			}
			_, err := collect(ctx, tx, cypherSeedRunMetrics, map[string]any{"rows": rows})
			return struct{}{}, err
		}); err != nil {
			return exp, fmt.Errorf("seed runs: %w", err)
		}
		done += n
		if progress != nil {
			progress(done)
		}
	}
	return exp, nil
}
