package main

import (
	"flag"

	"github.com/provgraph/provgraph/store"
)

// defaultLocalPassword is the password scripts/neo4j.sh gives the local Neo4j.
const defaultLocalPassword = "provgraph-local"

// neo4jFlags declares the Neo4j connection flags every subcommand that reads or writes
// the graph shares; each falls back to its environment variable.
func neo4jFlags(fs *flag.FlagSet, cfg *store.Config) {
	fs.StringVar(&cfg.URI, "neo4j-uri", env("NEO4J_URI", "bolt://127.0.0.1:7687"),
		"Neo4j `URI`: bolt:// for one server, neo4j:// for a cluster or Aura (env NEO4J_URI)")
	fs.StringVar(&cfg.User, "neo4j-user", env("NEO4J_USER", "neo4j"),
		"Neo4j user (env NEO4J_USER)")
	fs.StringVar(&cfg.Password, "neo4j-password", "",
		"Neo4j password (env NEO4J_PASSWORD; when neither is set, the local launcher's default password)")
	fs.StringVar(&cfg.Database, "neo4j-database", env("NEO4J_DATABASE", "neo4j"),
		"Neo4j database `name` (env NEO4J_DATABASE)")
}

// resolvePassword applies the password's fallbacks after flags are parsed, so that
// --help never prints a password taken from the environment.
func resolvePassword(cfg *store.Config) {
	if cfg.Password == "" {
		cfg.Password = env("NEO4J_PASSWORD", defaultLocalPassword)
	}
}
