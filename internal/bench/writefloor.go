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
// provgraph reads. The series are few (a MERGE finds its own among them by label scan).
const (
	labelWriteFloorSeries = "BenchWriteFloorSeries"
	labelWriteFloorEntry  = "BenchWriteFloorEntry"
)

// cypherWriteFloor is the least a call that waits for its points to be committed asks of
// Neo4j: one statement, in a transaction of its own, that appends the call's points to
// its series' lists (kept to the last 990, as a tail is at most 999 points) and creates
// one more node (the stand-in of an audit entry), with a counter updated.
const cypherWriteFloor = `
MERGE (n:` + labelWriteFloorSeries + ` {k: $k})
  ON CREATE SET n.steps = [], n.ts = [], n.values = [], n.count = 0
SET n.steps = n.steps[-990..] + $steps, n.ts = n.ts[-990..] + $ts, n.values = n.values[-990..] + $values,
    n.count = n.count + size($steps)
CREATE (:` + labelWriteFloorEntry + ` {at: datetime(), parts: $parts})`

// writeFloor measures the floor under BatchPutMetrics on this machine and database:
// clients each sending cypherWriteFloor with points values, one transaction after
// another (ExecuteQuery, whose BEGIN travels with the statement), with no HTTP, signing,
// validation or store code in the way. It returns the points a second and the
// transactions' latencies.
func writeFloor(ctx context.Context, driver neo4j.DriverWithContext, db string, clients, calls, points int) (float64, []time.Duration, error) {
	stamp := time.Now().UnixNano()
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
					"k": fmt.Sprintf("%d-%d", stamp, c), "steps": steps, "ts": ts, "values": values,
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
