package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/provgraph/provgraph/store"
)

// defaultLocalPassword is the password scripts/neo4j.sh gives the local Neo4j.
const defaultLocalPassword = "provgraph-local"

// defaultLocalBoltAddr is where scripts/neo4j.sh starts the local Neo4j's Bolt
// connector when NEO4J_BOLT_ADDR is unset.
const defaultLocalBoltAddr = "127.0.0.1:7687"

// cliNeo4jWait is how long the operator commands (trace, export, token, audit) wait
// for Neo4j to answer: long enough for one that is finishing its start, short enough
// that a wrong address is reported soon.
const cliNeo4jWait = 10 * time.Second

// neo4jFlags declares the Neo4j connection flags every subcommand that reads or writes
// the graph shares; each falls back to its environment variable. wait is how long the
// command waits for Neo4j to answer, defaultWait unless told.
func neo4jFlags(fs *flag.FlagSet, cfg *store.Config, wait *time.Duration, defaultWait time.Duration) {
	fs.StringVar(&cfg.URI, "neo4j-uri", defaultNeo4jURI(),
		"Neo4j `URI`: bolt:// for one server, neo4j:// for a cluster or Aura (env NEO4J_URI; when unset, bolt://$NEO4J_BOLT_ADDR)")
	fs.StringVar(&cfg.User, "neo4j-user", env("NEO4J_USER", "neo4j"),
		"Neo4j user (env NEO4J_USER)")
	fs.StringVar(&cfg.Password, "neo4j-password", "",
		"Neo4j password (env NEO4J_PASSWORD; when neither is set, the local launcher's default password)")
	fs.StringVar(&cfg.Database, "neo4j-database", env("NEO4J_DATABASE", "neo4j"),
		"Neo4j database `name` (env NEO4J_DATABASE)")
	fs.DurationVar(wait, "neo4j-wait", envDuration("PROVGRAPH_NEO4J_WAIT", defaultWait),
		"how long to wait for Neo4j to answer before giving up (env PROVGRAPH_NEO4J_WAIT)")
}

// defaultNeo4jURI is the rule make run and make test follow, so that every command
// reaches the same Neo4j: NEO4J_URI when it is set, else the local Neo4j at
// NEO4J_BOLT_ADDR (scripts/neo4j.sh's default address when that is unset too).
func defaultNeo4jURI() string {
	return env("NEO4J_URI", "bolt://"+env("NEO4J_BOLT_ADDR", defaultLocalBoltAddr))
}

// resolvePassword applies the password's fallbacks after flags are parsed, so that
// --help never prints a password taken from the environment.
func resolvePassword(cfg *store.Config) {
	if cfg.Password == "" {
		cfg.Password = env("NEO4J_PASSWORD", defaultLocalPassword)
	}
}

// openStore opens the store cfg describes and waits up to wait for Neo4j to answer. Its
// errors name the address tried and say which settings choose another, never the
// password.
func openStore(ctx context.Context, cfg store.Config, wait time.Duration) (*store.Store, error) {
	st, err := store.Open(cfg)
	if err != nil {
		return nil, err
	}
	waitCtx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	if err := st.WaitReachable(waitCtx, 500*time.Millisecond); err != nil {
		var unreachable *store.UnreachableError
		switch {
		case errors.As(err, &unreachable):
			err = fmt.Errorf("%w (set NEO4J_URI or NEO4J_BOLT_ADDR)", err)
		case errors.Is(err, store.ErrCredentialsRejected):
			err = fmt.Errorf("%w (set NEO4J_USER and NEO4J_PASSWORD)", err)
		}
		return nil, errors.Join(err, st.Close(context.Background()))
	}
	return st, nil
}

// parseArgs parses args with fs, taking flags wherever they stand among the positional
// arguments — `provgraph trace ID --format json` as well as `--format json ID` — which
// Go's flag package alone does not (it stops at the first positional argument). "--"
// still ends the flags: everything after it is positional. fs.Args() holds the
// positional arguments, in their order.
func parseArgs(fs *flag.FlagSet, args []string) error {
	var flags, positional []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			positional = append(positional, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			positional = append(positional, a)
			continue
		}
		flags = append(flags, a)
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !hasValue && !isBoolFlag(fs, name) {
			if i+1 == len(args) {
				return fs.Parse(flags) // reports the missing value (or the unknown flag)
			}
			// The flag's value is the next argument, whatever it looks like.
			i++
			flags = append(flags, args[i])
		}
	}
	return fs.Parse(append(append(flags, "--"), positional...))
}

// isBoolFlag tells whether the flag named takes no value (-all rather than -all true).
// An unknown name counts as not boolean; fs.Parse reports it.
func isBoolFlag(fs *flag.FlagSet, name string) bool {
	f := fs.Lookup(name)
	if f == nil {
		return false
	}
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// neo4jTarget says, in each command's --help, which Neo4j the command uses.
const neo4jTarget = `Neo4j: the one NEO4J_URI (or --neo4j-uri) names; when it is unset, the local one at
bolt://$NEO4J_BOLT_ADDR, the address scripts/neo4j.sh and make run use (default
127.0.0.1:7687).
`
