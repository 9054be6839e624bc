// Package benchenv is what the benchmark and load-test commands share: the store they
// open from the environment (NEO4J_URI, NEO4J_USER, NEO4J_PASSWORD, NEO4J_DATABASE; the
// local launcher's defaults otherwise), migrated and ready.
package benchenv

import (
	"context"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/provgraph/provgraph/store"
)

// Config is the Neo4j connection the environment names.
func Config() store.Config {
	return store.Config{
		URI: env("NEO4J_URI", "bolt://127.0.0.1:7687"), User: env("NEO4J_USER", "neo4j"),
		Password: env("NEO4J_PASSWORD", "provgraph-local"), Database: env("NEO4J_DATABASE", "neo4j"),
		TokenCacheTTL: store.DefaultTokenCacheTTL,
	}
}

// Open opens the store of Config, with a checkpoint key of its own, waits until Neo4j
// answers and migrates the schema. The caller closes the store.
func Open(ctx context.Context) (*store.Store, store.Config, error) {
	cfg := Config()
	skey, _, err := store.GenerateAuditKey("provgraph-bench")
	if err != nil {
		return nil, cfg, err
	}
	if cfg.AuditKey, err = store.ParseAuditKey(skey); err != nil {
		return nil, cfg, err
	}
	st, err := store.Open(cfg)
	if err != nil {
		return nil, cfg, err
	}
	if err := st.WaitReachable(ctx, time.Second); err != nil {
		st.Close(ctx)
		return nil, cfg, err
	}
	if _, _, err := st.Migrate(ctx, store.Schema); err != nil {
		st.Close(ctx)
		return nil, cfg, err
	}
	return st, cfg, nil
}

// OpenSequenced is Open for a process that serves writes itself: the store's audit
// sequencer runs beside them, as in provgraph serve, until the store closes.
func OpenSequenced(ctx context.Context) (*store.Store, store.Config, error) {
	st, cfg, err := Open(ctx)
	if err == nil {
		go func() { _ = st.RunAuditSequencer(context.WithoutCancel(ctx)) }()
	}
	return st, cfg, err
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// CPUModel names the machine's processor (its first "model name" in /proc/cpuinfo), or
// its architecture where that is not known: runs on different processors do not compare.
func CPUModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "model name") {
			if _, v, ok := strings.Cut(line, ":"); ok {
				return strings.TrimSpace(v)
			}
		}
	}
	return runtime.GOARCH
}
