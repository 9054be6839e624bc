package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
)

// The labels of the nodes the write-floor measurement writes: a series per client and an
// entry per call, nodes of the benchmark's database of their own that nothing in
// provgraph reads.
const (
	labelWriteFloorSeries = "BenchWriteFloorSeries"
	labelWriteFloorEntry  = "BenchWriteFloorEntry"
)

// cypherWriteFloorSeries creates a client's series before the clock starts.
const cypherWriteFloorSeries = `
CREATE (n:` + labelWriteFloorSeries + ` {steps: [], ts: [], values: [], count: 0})
RETURN elementId(n) AS id`

// cypherWriteFloor is a write of the shape of provgraph's for a BatchPutMetrics call,
// with nothing else: one statement, in a transaction of its own, that appends the
// call's points to its series' lists (kept to the last 90, so that they hold at most
// 100 points, as the last segment of a series' open tail does), updates a counter and
// creates one more node (the stand-in of an audit entry).
const cypherWriteFloor = `
MATCH (n:` + labelWriteFloorSeries + `) WHERE elementId(n) = $id
SET n.steps = n.steps[-90..] + $steps, n.ts = n.ts[-90..] + $ts, n.values = n.values[-90..] + $values,
    n.count = n.count + size($steps)
CREATE (:` + labelWriteFloorEntry + ` {at: datetime(), parts: $parts})`

// writeFloor measures a reference point for BatchPutMetrics on this machine and
// database: clients each sending cypherWriteFloor with points values, one transaction
// after another (ExecuteQuery, whose BEGIN travels with the statement), with no HTTP,
// signing, validation or store code in the way. It returns the points a second and the
// transactions' latencies.
func writeFloor(ctx context.Context, driver neo4j.DriverWithContext, db string, clients, calls, points int) (float64, []time.Duration, error) {
	ids := make([]string, clients)
	for c := range ids {
		res, err := neo4j.ExecuteQuery(ctx, driver, cypherWriteFloorSeries, nil, neo4j.EagerResultTransformer, neo4j.ExecuteQueryWithDatabase(db))
		if err != nil {
			return 0, nil, fmt.Errorf("write floor series: %w", err)
		}
		id, _ := res.Records[0].Get("id")
		ids[c], _ = id.(string)
	}
	lat := make([][]time.Duration, clients)
	errs := make([]error, clients)
	var wg sync.WaitGroup
	t0 := time.Now()
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			steps, ts, values := make([]int64, points), make([]int64, points), make([]float64, points)
			for i := range calls {
				for k := range points {
					steps[k], ts[k], values[k] = int64(i*points+k), time.Now().UnixMilli(), 1/float64(i*points+k+1)
				}
				start := time.Now()
				_, err := neo4j.ExecuteQuery(ctx, driver, cypherWriteFloor, map[string]any{
					"id": ids[c], "steps": steps, "ts": ts, "values": values,
					"parts": `[{"action":"run.log","targets":["run:bench-write-floor"],"targetCount":1}]`,
				}, neo4j.EagerResultTransformer, neo4j.ExecuteQueryWithDatabase(db))
				if err != nil {
					errs[c] = fmt.Errorf("write floor: %w", err)
					return
				}
				lat[c] = append(lat[c], time.Since(start))
			}
		}()
	}
	wg.Wait()
	return clientRate(clients*calls*points, time.Since(t0), lat, errs)
}
