package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/neo4j/neo4j-go-driver/v5/neo4j"

	"github.com/provgraph/provgraph/store"
)

// OpenLineage batch ingest: RunEvents with 2 inputs and 1 output each, posted in
// batches to /api/v1/lineage/batch by one or more concurrent clients; an event counts
// once the answer says it was recorded (its transaction has committed by then).
const (
	olEvents    = 20000
	olWarmup    = 2000
	olBatchSize = 500
)

// olBatches makes the request bodies: events of 50 jobs per client, each reading two
// of 200 tables every client shares and writing a table of its own.
func olBatches(ns string, client, events int) [][]byte {
	var batches [][]byte
	for start := 0; start < events; start += olBatchSize {
		list := make([]map[string]any, 0, olBatchSize)
		for i := start; i < min(start+olBatchSize, events); i++ {
			ds := func(name string) map[string]any { return map[string]any{"namespace": ns, "name": name} }
			list = append(list, map[string]any{
				"eventType": "COMPLETE", "eventTime": time.Now().UTC().Format(time.RFC3339Nano),
				"run":       map[string]any{"runId": uuid.NewString()},
				"job":       map[string]any{"namespace": ns, "name": fmt.Sprintf("client_%d.job_%d", client, i%50)},
				"inputs":    []any{ds(fmt.Sprintf("table_%d", i%200)), ds(fmt.Sprintf("table_%d", (i+1)%200))},
				"outputs":   []any{ds(fmt.Sprintf("client_%d.out_%d", client, i))},
				"producer":  "https://github.com/provgraph/provgraph/internal/bench",
				"schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
			})
		}
		b, _ := json.Marshal(list)
		batches = append(batches, b)
	}
	return batches
}

// olIngest posts every client's batches, the clients concurrently, and returns the
// events recorded and the time taken.
func olIngest(client *http.Client, base string, perClient [][][]byte) (int, time.Duration, error) {
	start := time.Now()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		recorded int
		firstErr error
	)
	for _, batches := range perClient {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, b := range batches {
				resp, err := client.Post(base+"/api/v1/lineage/batch", "application/json", bytes.NewReader(b))
				if err != nil {
					mu.Lock()
					firstErr = cmp.Or(firstErr, err)
					mu.Unlock()
					return
				}
				var out struct {
					Successful int `json:"successful"`
					Failed     int `json:"failed"`
				}
				err = json.NewDecoder(resp.Body).Decode(&out)
				resp.Body.Close()
				mu.Lock()
				recorded += out.Successful
				if err == nil && out.Failed > 0 {
					err = fmt.Errorf("%d events failed", out.Failed)
				}
				if err != nil {
					firstErr = cmp.Or(firstErr, fmt.Errorf("openlineage batch: %w", err))
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return recorded, time.Since(start), firstErr
}

// openLineageBench returns the report's section on OpenLineage ingest: provgraph's
// rate, and beside it, right after it with as many clients, the floor's (olfloor.go).
func openLineageBench(ctx context.Context, client *http.Client, base string, driver neo4j.DriverWithContext, db string) (string, error) {
	ns := fmt.Sprintf("bench-ol-%d", time.Now().UnixNano())
	if _, _, err := olIngest(client, base, [][][]byte{olBatches(ns+"-warmup", 0, olWarmup)}); err != nil {
		return "", err
	}
	floorNS := "bench-ol-floor-" + strings.TrimPrefix(ns, "bench-ol-")
	for _, label := range olFloorLabels {
		warm := floorNS + "-warmup-" + label
		if _, err := olFloor(ctx, driver, db, label, warm, [][][]map[string]any{olFloorBatches(warm, 0, olWarmup)}); err != nil {
			return "", err
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n## OpenLineage ingest\n\n"+
		"RunEvents (COMPLETE, 2 inputs and 1 output each, new runs) posted in batches of %d to `/api/v1/lineage/batch`; "+
		"each client sends %d events of 50 jobs of its own, reading 2 of 200 tables all clients share and writing one table each. "+
		"An event is counted when the answer reports it recorded, after its transaction committed. "+
		"%d events went first to warm up. Target (issue 15): ≥ 10,000 events/s with 4 clients, and more clients never slower than fewer.\n\n"+
		"The floor is Neo4j's own rate for the same writes on this machine and database: what provgraph's graph holds after each event "+
		"(the run in its experiment, executed by its job; the output's dataset and version, produced by the job; the job linked to its inputs; one audit node a batch: "+
		"`internal/bench/olfloor.go`), written with one UNWIND statement per batch of %d straight over Bolt from the benchmark's process, "+
		"each batch a transaction, with as many clients, right after provgraph's row (%d events of its own went first). "+
		"Each row starts once Neo4j's full-text index has caught up with what the rows before it wrote, so that none is timed while that work goes on. "+
		"Its nodes carry labels of their own, indexed as provgraph indexes its nodes; those of the last column have no full-text index. "+
		"provgraph ÷ floor is the share of Neo4j's rate for these writes that provgraph gets.\n\n"+
		"| clients | events | time | events/s | floor, events/s | provgraph ÷ floor | floor without the full-text index, events/s |\n|---|---|---|---|---|---|---|\n",
		olBatchSize, olEvents, olWarmup, olBatchSize, olWarmup)
	for _, clients := range []int{1, 2, 4} {
		perClient := make([][][]byte, clients)
		floorBatches := [2][][][]map[string]any{make([][][]map[string]any, clients), make([][][]map[string]any, clients)}
		for c := range clients {
			perClient[c] = olBatches(fmt.Sprintf("%s-%d", ns, clients), c, olEvents)
			for i := range floorBatches {
				floorBatches[i][c] = olFloorBatches(fmt.Sprintf("%s-%d-%d", floorNS, i, clients), c, olEvents)
			}
		}
		if _, err := indexCatchUp(ctx, driver, db); err != nil {
			return "", err
		}
		recorded, elapsed, err := olIngest(client, base, perClient)
		if err != nil {
			return "", err
		}
		var floor [2]float64
		for i, label := range olFloorLabels {
			if _, err := indexCatchUp(ctx, driver, db); err != nil {
				return "", err
			}
			if floor[i], err = olFloor(ctx, driver, db, label, fmt.Sprintf("%s-%d-%d", floorNS, i, clients), floorBatches[i]); err != nil {
				return "", err
			}
		}
		rate := float64(recorded) / elapsed.Seconds()
		fmt.Fprintf(os.Stderr, "openlineage (%d clients): %d events in %s = %.0f events/s; floor %.0f events/s, without the full-text index %.0f\n",
			clients, recorded, elapsed.Round(time.Millisecond), rate, floor[0], floor[1])
		fmt.Fprintf(&b, "| %d | %d | %s | %.0f | %.0f | %.2f | %.0f |\n", clients, recorded, elapsed.Round(time.Millisecond), rate, floor[0], rate/floor[0], floor[1])
	}
	fmt.Fprintf(&b, "\nA batch is recorded in chunks of up to %d consecutive events, each chunk one transaction of about ten "+
		"statements whatever its size (see `store/lineagereports_batch.go`).\n", store.LineageReportsPerTransaction)
	return b.String(), nil
}
