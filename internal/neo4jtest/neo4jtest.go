// Package neo4jtest gives integration tests a real Neo4j: the one NEO4J_URI names
// (make test starts the project's local launcher and sets it), else a throw-away
// container through testcontainers-go when a Docker engine is present. With neither,
// tests fail; they never skip, in CI or anywhere else, because a lineage service whose
// graph tests did not run has not been tested.
package neo4jtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
	tcneo4j "github.com/testcontainers/testcontainers-go/modules/neo4j"

	"github.com/provgraph/provgraph/store"
)

// ContainerImage is the Neo4j image used when tests start their own container.
const ContainerImage = "neo4j:5.26-community"

const containerPassword = "provgraph-test"

var (
	once     sync.Once
	shared   *store.Store
	sharedCf store.Config
	openErr  error
)

// Config returns how to reach the test Neo4j, starting a container when needed.
func Config(t testing.TB) store.Config {
	t.Helper()
	once.Do(func() { sharedCf, openErr = connect() })
	if openErr != nil {
		t.Fatalf("no Neo4j for integration tests: %v", openErr)
	}
	return sharedCf
}

// Store returns a store on the test Neo4j with provgraph's schema applied, shared by
// all tests of the package. Tests keep apart by using Token in every key they write.
func Store(t testing.TB) *store.Store {
	t.Helper()
	cfg := Config(t)
	storeOnce.Do(func() { shared, storeErr = openStore(cfg) })
	if storeErr != nil {
		t.Fatalf("neo4j at %s: %v", cfg.URI, storeErr)
	}
	return shared
}

var (
	storeOnce sync.Once
	storeErr  error
)

func openStore(cfg store.Config) (*store.Store, error) {
	st, err := store.Open(cfg)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := st.WaitReachable(ctx, 500*time.Millisecond); err != nil {
		return nil, err
	}
	if _, _, err := st.Migrate(ctx, store.Schema); err != nil {
		return nil, err
	}
	indexKeysForSnapshots(cfg)
	return st, nil
}

// snapshotKeyIndex names the text index on node IDs that the tests give their database,
// so that Snapshot's CONTAINS on IDs reads the index rather than every node (the
// schema has none since version 15: its upkeep slowed every write). Only its speed
// depends on it; a snapshot holds the same nodes without it.
const snapshotKeyIndex = "neo4jtest_node_key_text"

// indexKeysForSnapshots makes sure a text index on node IDs serves Snapshot: one
// exists already (snapshotKeyIndex, or the schema's node_key_text on a database not
// yet at version 15), else it creates snapshotKeyIndex and waits until it is online.
// Neo4j creates nothing for CREATE ... IF NOT EXISTS while an equivalent index exists
// under another name: node_key_text, which a test process still migrating its way up
// (packages start side by side on a fresh database) can create at step 7 and drop at
// step 15. So it looks again, for up to a minute. Only the snapshots' speed depends on
// the index: a failure is told on stderr and the tests go on without it.
func indexKeysForSnapshots(cfg store.Config) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := ensureSnapshotIndex(ctx, cfg); err != nil {
		fmt.Fprintf(os.Stderr, "neo4jtest: no text index on node IDs for snapshots (they read every node instead): %v\n", err)
	}
}

func ensureSnapshotIndex(ctx context.Context, cfg store.Config) (err error) {
	driver, err := neo4j.NewDriverWithContext(cfg.URI, neo4j.BasicAuth(cfg.User, cfg.Password, ""))
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, driver.Close(context.Background())) }()
	exec := func(q string) (*neo4j.EagerResult, error) {
		return neo4j.ExecuteQuery(ctx, driver, q, map[string]any{"name": snapshotKeyIndex, "label": store.LabelNode},
			neo4j.EagerResultTransformer, neo4j.ExecuteQueryWithDatabase(cfg.Database))
	}
	for {
		res, err := exec(`SHOW INDEXES YIELD name, type, labelsOrTypes, properties, state
WHERE type = 'TEXT' AND labelsOrTypes = [$label] AND properties = ['key']
RETURN name, state`)
		if err != nil {
			return err
		}
		for _, r := range res.Records {
			name, _ := r.Get("name")
			if name == snapshotKeyIndex {
				_, err := exec(`CALL db.awaitIndex($name, 300)`)
				return err
			}
		}
		if len(res.Records) == 0 {
			_, err := exec(`CREATE TEXT INDEX ` + snapshotKeyIndex + ` IF NOT EXISTS FOR (n:` + store.LabelNode + `) ON (n.key)`)
			var nerr *neo4j.Neo4jError
			if err != nil && !(errors.As(err, &nerr) && nerr.Code == "Neo.ClientError.Schema.EquivalentSchemaRuleAlreadyExists") {
				return err
			}
			continue
		}
		// Another name (node_key_text): it is dropped when that process reaches step 15.
		select {
		case <-ctx.Done():
			return nil // it serves until then
		case <-time.After(time.Second):
		}
	}
}

// Token returns a short random string for a test to put in every key it writes, so
// tests can share one database and run in parallel.
func Token(t testing.TB) string {
	t.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return "t" + hex.EncodeToString(b[:])
}

// AuditKey is the key test stores sign audit checkpoints with, the same in every test
// process so that checkpoints of the shared chain verify whichever test published them.
// It signs nothing outside tests.
const AuditKey = "PRIVATE+KEY+provgraph-test+550ca0c9+AdFPSlB27IB/f0bX+7o82YHZX5sSKgBzDGaFHNZxt2xT"

// AuditVerifierKey is AuditKey's verifier key.
const AuditVerifierKey = "provgraph-test+550ca0c9+AUKsa578Tuuiqqa4sDvk4xDqZCy5T61OCMojWCsBg0NZ"

func connect() (store.Config, error) {
	key, err := store.ParseAuditKey(AuditKey)
	if err != nil {
		return store.Config{}, err
	}
	if uri := os.Getenv("NEO4J_URI"); uri != "" {
		return store.Config{
			URI:      uri,
			User:     getenv("NEO4J_USER", "neo4j"),
			Password: getenv("NEO4J_PASSWORD", "provgraph-local"),
			Database: getenv("NEO4J_DATABASE", "neo4j"),
			AuditKey: key,
		}, nil
	}
	if !dockerAvailable() {
		return store.Config{}, errNoNeo4j
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c, err := tcneo4j.Run(ctx, ContainerImage, tcneo4j.WithAdminPassword(containerPassword))
	if err != nil {
		return store.Config{}, err
	}
	uri, err := c.BoltUrl(ctx)
	if err != nil {
		return store.Config{}, err
	}
	return store.Config{URI: uri, User: "neo4j", Password: containerPassword, Database: "neo4j", AuditKey: key}, nil
}

type noNeo4j struct{}

func (noNeo4j) Error() string {
	return "NEO4J_URI is unset and no Docker engine was found; run the tests with `make test`, " +
		"which starts the project's local Neo4j, or set NEO4J_URI (and NEO4J_USER, NEO4J_PASSWORD)"
}

var errNoNeo4j error = noNeo4j{}

func dockerAvailable() bool {
	if os.Getenv("DOCKER_HOST") != "" {
		return true
	}
	_, err := os.Stat("/var/run/docker.sock")
	return err == nil
}

func getenv(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// StoreWithOwnAuditChain returns a store on the test Neo4j (schema applied) whose
// writes append to an audit chain of the test's own, named as returned. Its entries
// are the test's alone, numbered from 1, so the test can verify or even tamper with
// the chain without disturbing the shared one other tests verify.
func StoreWithOwnAuditChain(t testing.TB) (*store.Store, string) {
	t.Helper()
	chain := "test-" + Token(t)
	return StoreOnAuditChain(t, chain), chain
}

// StoreOnAuditChain returns another store (a driver of its own, as another replica
// has) on the test Neo4j whose writes append to the audit chain named chain.
func StoreOnAuditChain(t testing.TB, chain string) *store.Store {
	t.Helper()
	cfg := Config(t)
	cfg.AuditChain = chain
	return OwnStore(t, cfg)
}

// OwnStore opens a store of the test's own with cfg (Config(t), changed as the test
// needs) on the migrated test Neo4j, closed when the test ends. It has its own driver,
// connection pool and bookmark manager, as another provgraph process would.
func OwnStore(t testing.TB, cfg store.Config) *store.Store {
	t.Helper()
	Store(t) // migrated
	st, err := store.Open(cfg)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = st.Close(context.Background()) })
	// Connect once before the test does: the driver sets up its connector lazily, on
	// the first connection, racily when that happens in several goroutines at once.
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := st.WaitReachable(ctx, 500*time.Millisecond); err != nil {
		t.Fatalf("neo4j at %s: %v", cfg.URI, err)
	}
	return st
}
