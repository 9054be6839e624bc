package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
	"github.com/vektah/gqlparser/v2"

	"github.com/provgraph/provgraph/graph"
	"github.com/provgraph/provgraph/internal/benchenv"
	"github.com/provgraph/provgraph/store"
)

// breakdownHeading is the heading of the section the breakdown's numbers go under in
// BENCHMARKS.md. It is written by hand from `--only breakdown` runs (before and after a
// change), and a full `make bench` keeps it.
const breakdownHeading = "## Where a lineage request's time goes (issue 14)"

// The lineage request the breakdown takes apart: the one issue 14's targets are for.
const (
	breakdownLineageGQL = `query($e: ID!) { lineage(start: [$e], direction: UPSTREAM, maxDepth: 10) { nodes { id kind name } edges { from to type } } }`
	breakdownTypename   = `{ __typename }`
)

// Yardstick copies of the statements a lineage request sends to Neo4j, upstream and
// untimed (store/lineage.go holds the real ones): the starts and the cone in one
// statement and the edges among the answer's nodes in another, as the store sent them
// before issue 14, and the two folded into one, as it sends them since. Only their round trips and their
// PROFILE are measured here.
const (
	yardstickStartsAndCone = `MATCH (n:Node) WHERE n.key IN $start RETURN collect(n {.*}) AS nodes, 0 AS part
UNION ALL
MATCH (s:Node) WHERE s.key IN $start
MATCH (s)<-[rels:INPUT_TO|PRODUCED|REGISTERED_AS|DEPLOYED_TO*1..10]-(n:Node)
WITH DISTINCT n LIMIT $limit
RETURN collect(n {.*}) AS nodes, 1 AS part`
	yardstickFolded = `MATCH (s:Node) WHERE s.key IN $start
WITH collect(s) AS starts
CALL {
MATCH (s:Node) WHERE s.key IN $start
MATCH (s)<-[rels:INPUT_TO|PRODUCED|REGISTERED_AS|DEPLOYED_TO*1..10]-(n:Node)
WITH DISTINCT n LIMIT $limit
RETURN collect(n) AS c0
}
WITH starts, c0, starts + c0 AS kept
CALL {
WITH kept, c0
UNWIND CASE WHEN size(c0) < $limit THEN kept ELSE [] END AS b
MATCH (a:Node)-[r:INPUT_TO|PRODUCED|REGISTERED_AS|DEPLOYED_TO]->(b)
WHERE a IN kept
WITH DISTINCT a.key AS from, type(r) AS type, b.key AS to
RETURN collect([from, type, to]) AS edges
}
RETURN [n IN starts | n {.*}] AS starts, [n IN c0 | n {.*}] AS up, edges`
	yardstickEdgesAmong = `UNWIND $keys AS k
MATCH (a:Node {key: k})-[r:INPUT_TO|PRODUCED|REGISTERED_AS|DEPLOYED_TO]->(b:Node)
WHERE b.key IN $keys
WITH DISTINCT a.key AS from, type(r) AS type, b.key AS to
RETURN collect([from, type, to]) AS edges`
)

// breakdown is what one run of the breakdown needs.
type breakdown struct {
	st        *store.Store
	handler   http.Handler
	client    *http.Client
	url       string
	token     string
	driver    neo4j.DriverWithContext
	db        string
	pipelines int
	rng       *rand.Rand
}

func (b *breakdown) endpoint() string {
	return "endpoint:" + prefix + "-endpoint-" + strconv.Itoa(b.rng.IntN(b.pipelines)) + "-" + strconv.Itoa(b.rng.IntN(2))
}

// breakdownBench takes one lineage request apart: end to end over HTTP and in process,
// the store call with and without edges, each Bolt round trip alone and its PROFILE, the fixed costs (a transaction, authentication, parse and
// validation, gqlgen's concurrent list marshalling, JSON), and a CPU profile of many
// requests sorted into the phases of a request. It returns a markdown block.
func breakdownBench(ctx context.Context, b *breakdown, requests, warmup int) (string, error) {
	var out strings.Builder
	fmt.Fprintf(&out, "\n### Run of %s\n\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&out, "- %s, %d cores, %s; %d warm-up rounds, %d measured, rows interleaved (measure)\n\n",
		benchenv.CPUModel(), runtime.NumCPU(), runtime.Version(), warmup, requests)
	res, err := measure(b.rows(ctx), warmup, requests)
	if err != nil {
		return "", err
	}
	out.WriteString("| step | p50 | p99 |\n|---|---|---|\n")
	for _, r := range res {
		fmt.Fprintf(&out, "| %s | %s | %s |\n", r.name, ms(r.p50), ms(r.p99))
	}
	fixed, err := b.fixedCosts(ctx)
	if err != nil {
		return "", err
	}
	out.WriteString(fixed)
	prof, err := b.cpuBreakdown(ctx, requests)
	if err != nil {
		return "", err
	}
	out.WriteString(prof)
	return out.String(), nil
}

// rows are the timed steps, one request each.
func (b *breakdown) rows(ctx context.Context) []row {
	bolt := func(name, cypher string, params func() map[string]any) row {
		return row{name, func() error {
			_, err := neo4j.ExecuteQuery(ctx, b.driver, cypher, params(), neo4j.EagerResultTransformer,
				neo4j.ExecuteQueryWithDatabase(b.db), neo4j.ExecuteQueryWithReadersRouting())
			return err
		}}
	}
	// The edges statement's parameters are the keys of a cone: of 50 random endpoints,
	// looked up before the timing starts, taken in turn.
	var cones [][]string
	for range 50 {
		l, err := b.st.Lineage(ctx, store.LineageQuery{Start: []string{b.endpoint()}, Direction: store.Upstream, MaxDepth: 10, SkipEdges: true})
		if err != nil {
			continue // the row then fails on its first request, with the error
		}
		keys := make([]string, 0, len(l.Nodes))
		for _, n := range l.Nodes {
			keys = append(keys, n.Key)
		}
		cones = append(cones, keys)
	}
	turn := 0
	coneKeys := func() map[string]any {
		turn++
		if len(cones) == 0 {
			return map[string]any{"keys": nil}
		}
		return map[string]any{"keys": cones[turn%len(cones)]}
	}
	startParams := func() map[string]any {
		return map[string]any{"start": []string{b.endpoint()}, "limit": store.MaxLineageNodes + 1}
	}
	session := func() error {
		s := b.driver.NewSession(ctx, neo4j.SessionConfig{DatabaseName: b.db, AccessMode: neo4j.AccessModeRead,
			BookmarkManager: b.driver.ExecuteQueryBookmarkManager(), FetchSize: neo4j.FetchAll})
		defer s.Close(ctx)
		_, err := s.ExecuteRead(ctx, func(tx neo4j.ManagedTransaction) (any, error) {
			r, err := tx.Run(ctx, "RETURN 1", nil)
			if err != nil {
				return nil, err
			}
			return r.Collect(ctx)
		})
		return err
	}
	autoCommit := func() error {
		s := b.driver.NewSession(ctx, neo4j.SessionConfig{DatabaseName: b.db, AccessMode: neo4j.AccessModeRead,
			BookmarkManager: b.driver.ExecuteQueryBookmarkManager(), FetchSize: neo4j.FetchAll})
		defer s.Close(ctx)
		r, err := s.Run(ctx, "RETURN 1", nil)
		if err == nil {
			_, err = r.Collect(ctx)
		}
		return err
	}
	return []row{
		{"`{ __typename }` over HTTP", b.overHTTP(breakdownTypename, false)},
		{"`{ __typename }` in process (handler, no TCP)", b.inProcess(breakdownTypename, false)},
		{"lineage + edges over HTTP", b.overHTTP(breakdownLineageGQL, true)},
		{"lineage + edges in process (handler, no TCP)", b.inProcess(breakdownLineageGQL, true)},
		{"store.Lineage with edges", b.storeLineage(ctx, false)},
		{"store.Lineage without edges", b.storeLineage(ctx, true)},
		{"Bolt: session + read transaction `RETURN 1` (the store's fixed cost)", session},
		bolt("Bolt: `RETURN 1` with ExecuteQuery", "RETURN 1", func() map[string]any { return nil }),
		{"Bolt: `RETURN 1` as an auto-commit transaction (the store's single-statement reads)", autoCommit},
		bolt("Bolt: starts + cone statement (round trip 1 before issue 14)", yardstickStartsAndCone, startParams),
		bolt("Bolt: edges among the cone (round trip 2 before issue 14)", yardstickEdgesAmong, coneKeys),
		bolt("Bolt: starts, cone and edges in one statement (issue 14)", yardstickFolded, startParams),
	}
}

// overHTTP is a request to the loopback listener, as a client sends it.
func (b *breakdown) overHTTP(query string, lineage bool) func() error {
	return func() error {
		resp, err := b.client.Post(b.url, "application/json", bytes.NewReader(b.body(query, lineage)))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return checkGraphQL(resp.StatusCode, body, err)
	}
}

// inProcess is the same request handed to the handler directly: no TCP, no client.
func (b *breakdown) inProcess(query string, lineage bool) func() error {
	return func() error {
		req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(b.body(query, lineage)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+b.token)
		rec := httptest.NewRecorder()
		b.handler.ServeHTTP(rec, req)
		return checkGraphQL(rec.Code, rec.Body.Bytes(), nil)
	}
}

func (b *breakdown) body(query string, lineage bool) []byte {
	req := map[string]any{"query": query}
	if lineage {
		req["variables"] = map[string]any{"e": b.endpoint()}
	}
	body, _ := json.Marshal(req)
	return body
}

func checkGraphQL(status int, body []byte, err error) error {
	if err != nil {
		return err
	}
	if status != http.StatusOK || bytes.Contains(body, []byte(`"errors"`)) {
		return fmt.Errorf("bad response %d: %.300s", status, body)
	}
	return nil
}

func (b *breakdown) storeLineage(ctx context.Context, skipEdges bool) func() error {
	return func() error {
		_, err := b.st.Lineage(ctx, store.LineageQuery{Start: []string{b.endpoint()}, Direction: store.Upstream, MaxDepth: 10, SkipEdges: skipEdges})
		return err
	}
}

// fixedCosts times the steps that cost microseconds, each as the mean of many calls,
// and PROFILEs the Bolt statements once for a cone of typical size.
func (b *breakdown) fixedCosts(ctx context.Context) (string, error) {
	var out strings.Builder
	out.WriteString("\n| fixed cost | mean |\n|---|---|\n")
	mean := func(n int, f func() error) (time.Duration, error) {
		start := time.Now()
		for range n {
			if err := f(); err != nil {
				return 0, err
			}
		}
		return time.Since(start) / time.Duration(n), nil
	}
	row := func(name string, n int, f func() error) error {
		d, err := mean(n, f)
		fmt.Fprintf(&out, "| %s | %.1f µs |\n", name, float64(d.Nanoseconds())/1000)
		return err
	}
	if err := row("authenticate a known API token (store.AuthenticateAPIToken, cached)", 20000, func() error {
		_, err := b.st.AuthenticateAPIToken(ctx, b.token)
		return err
	}); err != nil {
		return "", err
	}
	schema := graph.NewExecutableSchema(graph.Config{}).Schema()
	if err := row("parse + validate the lineage query (gqlparser; the server caches parsed queries)", 2000, func() error {
		if _, errs := gqlparser.LoadQueryWithRules(schema, breakdownLineageGQL, nil); errs != nil {
			return errs
		}
		return nil
	}); err != nil {
		return "", err
	}
	// gqlgen marshals each element of a list of objects in a goroutine of its own
	// (graphql.MarshalSliceConcurrently); a plain loop is what that is measured against.
	const elems = 200
	trivial := func(context.Context, int) graphql.Marshaler { return graphql.MarshalString("x") }
	fctx := graphql.WithFieldContext(context.Background(), &graphql.FieldContext{})
	_ = row(fmt.Sprintf("gqlgen: %d list elements marshalled concurrently (a goroutine each)", elems), 2000, func() error {
		graphql.MarshalSliceConcurrently(fctx, elems, 0, false, trivial)
		return nil
	})
	// gqlgen.yml's exec.worker_limit, its one knob, bounds the goroutines with a
	// semaphore: each element still gets one.
	for _, limit := range []int64{1, 4} {
		_ = row(fmt.Sprintf("gqlgen: the same with worker_limit %d", limit), 2000, func() error {
			graphql.MarshalSliceConcurrently(fctx, elems, limit, false, trivial)
			return nil
		})
	}
	_ = row(fmt.Sprintf("the same %d elements in a loop", elems), 2000, func() error {
		arr := make(graphql.Array, elems)
		for i := range arr {
			arr[i] = trivial(fctx, i)
		}
		return nil
	})
	body, err := b.lineageBody()
	if err != nil {
		return "", err
	}
	var decoded any
	if err := json.Unmarshal(body, &decoded); err != nil {
		return "", err
	}
	_ = row(fmt.Sprintf("encoding/json: a lineage answer of %d bytes, from Go values", len(body)), 2000, func() error {
		_, err := json.Marshal(decoded)
		return err
	})
	plans, err := b.profiles(ctx)
	if err != nil {
		return "", err
	}
	out.WriteString(plans)
	return out.String(), nil
}

// lineageBody is one lineage answer's JSON.
func (b *breakdown) lineageBody() ([]byte, error) {
	req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(b.body(breakdownLineageGQL, true)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+b.token)
	rec := httptest.NewRecorder()
	b.handler.ServeHTTP(rec, req)
	return rec.Body.Bytes(), checkGraphQL(rec.Code, rec.Body.Bytes(), nil)
}

// profiles PROFILEs the yardstick statements for the median cone of 50 endpoints.
func (b *breakdown) profiles(ctx context.Context) (string, error) {
	type sized struct {
		key  string
		keys []string
	}
	var cones []sized
	for range 50 {
		e := b.endpoint()
		l, err := b.st.Lineage(ctx, store.LineageQuery{Start: []string{e}, Direction: store.Upstream, MaxDepth: 10, SkipEdges: true})
		if err != nil {
			return "", err
		}
		keys := make([]string, 0, len(l.Nodes))
		for _, n := range l.Nodes {
			keys = append(keys, n.Key)
		}
		cones = append(cones, sized{e, keys})
	}
	sort.Slice(cones, func(i, j int) bool { return len(cones[i].keys) < len(cones[j].keys) })
	med := cones[len(cones)/2]
	var out strings.Builder
	fmt.Fprintf(&out, "\nPROFILE for the median cone of 50 random endpoints (%d nodes, %s):\n\n", len(med.keys), med.key)
	out.WriteString("| statement | db hits | rows |\n|---|---|---|\n")
	for _, s := range []struct {
		name, cypher string
		params       map[string]any
	}{
		{"starts + cone", yardstickStartsAndCone, map[string]any{"start": []string{med.key}, "limit": store.MaxLineageNodes + 1}},
		{"edges among the cone", yardstickEdgesAmong, map[string]any{"keys": med.keys}},
		{"starts, cone and edges in one statement", yardstickFolded, map[string]any{"start": []string{med.key}, "limit": store.MaxLineageNodes + 1}},
	} {
		res, err := neo4j.ExecuteQuery(ctx, b.driver, "PROFILE "+s.cypher, s.params, neo4j.EagerResultTransformer,
			neo4j.ExecuteQueryWithDatabase(b.db), neo4j.ExecuteQueryWithReadersRouting())
		if err != nil {
			return "", err
		}
		hits, rows := planTotals(res.Summary.Profile())
		fmt.Fprintf(&out, "| %s | %d | %d |\n", s.name, hits, rows)
	}
	return out.String(), nil
}

// planTotals sums the db hits of a profiled plan and returns the rows of its root.
func planTotals(p neo4j.ProfiledPlan) (hits, rows int64) {
	if p == nil {
		return 0, 0
	}
	var sum func(neo4j.ProfiledPlan) int64
	sum = func(p neo4j.ProfiledPlan) int64 {
		h := p.DbHits()
		for _, c := range p.Children() {
			h += sum(c)
		}
		return h
	}
	return sum(p), p.Records()
}

// phases sort the samples of a CPU profile by what the request was doing: the first
// whose pattern matches a frame of the stack (searched leaf to root, in this order)
// takes the sample.
var phases = []struct {
	name string
	re   *regexp.Regexp
}{
	{"bench client (request, response reading)", regexp.MustCompile(`^main\.|^net/http\.\(\*persistConn\)|^net/http\.\(\*Client\)|^net/http\.\(\*Transport\)`)},
	{"authentication", regexp.MustCompile(`AuthenticateAPIToken|server\.principalOf`)},
	{"GraphQL parse + validation", regexp.MustCompile(`vektah/gqlparser`)},
	{"Neo4j driver: decoding records", regexp.MustCompile(`neo4j-go-driver.*(hydrat|packstream|unpack|Unpack)`)},
	{"Neo4j driver: Bolt I/O, sessions, transactions", regexp.MustCompile(`neo4j-go-driver`)},
	{"store: nodes from records, plan, answer", regexp.MustCompile(`provgraph/store\.`)},
	{"resolvers: mapping to GraphQL types", regexp.MustCompile(`provgraph/resolvers\.`)},
	{"gqlgen: marshalling the answer (JSON writing)", regexp.MustCompile(`MarshalGQL|graphql\.Array|graphql\.\(\*FieldSet\)\.MarshalGQL|encoding/json`)},
	{"gqlgen: executing fields (incl. concurrent list marshalling)", regexp.MustCompile(`99designs/gqlgen|provgraph/graph\.`)},
	{"middlewares: metrics, logging, request id, limits", regexp.MustCompile(`provgraph/server\.|provgraph/metrics|prometheus|zerolog|rs/xid`)},
	{"HTTP server and socket I/O", regexp.MustCompile(`^net/http\.|^net\.|^internal/poll|^syscall`)},
	{"garbage collection (background)", regexp.MustCompile(`gcBgMarkWorker`)},
	{"runtime: scheduler, allocation, other", regexp.MustCompile(`.`)},
}

// cpuBreakdown profiles n lineage + edges requests over HTTP and sorts the CPU time of
// the process (client and server) into phases. It needs `go tool pprof`.
func (b *breakdown) cpuBreakdown(ctx context.Context, n int) (string, error) {
	dir, err := os.MkdirTemp("", "provgraph-breakdown")
	if err != nil {
		return "", err
	}
	file := filepath.Join(dir, "lineage.pprof")
	f, err := os.Create(file)
	if err != nil {
		return "", err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return "", fmt.Errorf("CPU profile (is --cpuprofile set too?): %w", err)
	}
	req := b.overHTTP(breakdownLineageGQL, true)
	start := time.Now()
	for range n {
		if err := req(); err != nil {
			pprof.StopCPUProfile()
			f.Close()
			return "", err
		}
	}
	wall := time.Since(start)
	pprof.StopCPUProfile()
	if err := f.Close(); err != nil {
		return "", err
	}
	traces, err := exec.CommandContext(ctx, "go", "tool", "pprof", "-traces", file).Output()
	if err != nil {
		return "", fmt.Errorf("go tool pprof -traces %s: %w", file, err)
	}
	byPhase, total := sortSamples(traces)
	var out strings.Builder
	fmt.Fprintf(&out, "\nCPU profile of %d lineage + edges requests over HTTP (client and server in one process; profile kept at %s): "+
		"%.0f µs of CPU per request in this process, %.0f µs of wall time per request\n\n",
		n, file, float64(total.Microseconds())/float64(n), float64(wall.Microseconds())/float64(n))
	out.WriteString("| phase | CPU per request | share |\n|---|---|---|\n")
	for _, p := range phases {
		d := byPhase[p.name]
		fmt.Fprintf(&out, "| %s | %.0f µs | %.1f%% |\n", p.name, float64(d.Microseconds())/float64(n), 100*float64(d)/float64(max(total, 1)))
	}
	return out.String(), nil
}

// sortSamples reads `go tool pprof -traces` output: a header, then blocks each after a
// dashed line, of a sample's value and leaf function on the first line and its callers
// on the next ones, one a line (a function may be followed by "(inline)").
func sortSamples(traces []byte) (map[string]time.Duration, time.Duration) {
	byPhase := map[string]time.Duration{}
	var total, value time.Duration
	var stack []string
	inBlock := false
	flush := func() {
		if len(stack) > 0 {
			total += value
			byPhase[phaseOf(stack)] += value
		}
		stack, value = stack[:0], 0
	}
	sc := bufio.NewScanner(bytes.NewReader(traces))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "-----------+") {
			flush()
			inBlock = true
			continue
		}
		fields := strings.Fields(line)
		if !inBlock || len(fields) == 0 {
			continue
		}
		if len(stack) == 0 {
			d, err := time.ParseDuration(fields[0])
			if err != nil || len(fields) < 2 {
				continue
			}
			value, stack = d, append(stack, fields[1])
			continue
		}
		stack = append(stack, fields[0])
	}
	flush()
	return byPhase, total
}

func phaseOf(stack []string) string {
	for _, p := range phases {
		for _, fn := range stack {
			if p.re.MatchString(fn) {
				return p.name
			}
		}
	}
	return phases[len(phases)-1].name
}
