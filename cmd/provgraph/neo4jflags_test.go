package main

import (
	"bytes"
	"flag"
	"io"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Flags are taken before, between and after positional arguments; "--" ends them.
func TestParseArgsTakesFlagsAnywhere(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name       string
		args       []string
		format     string
		all        bool
		depth      int
		positional []string
		err        string
	}{
		{"flags first", []string{"--format", "json", "a"}, "json", false, 10, []string{"a"}, ""},
		{"flags after", []string{"a", "--format", "json"}, "json", false, 10, []string{"a"}, ""},
		{"flags between", []string{"a", "-format=json", "b", "--depth", "-1", "c"}, "json", false, -1, []string{"a", "b", "c"}, ""},
		{"a boolean flag takes no value", []string{"a", "--all", "b"}, "text", true, 10, []string{"a", "b"}, ""},
		{"a boolean flag with =", []string{"--all=false", "a"}, "text", false, 10, []string{"a"}, ""},
		{"-- ends the flags", []string{"a", "--", "--format", "json"}, "text", false, 10, []string{"a", "--format", "json"}, ""},
		{"- alone is positional", []string{"-", "--all"}, "text", true, 10, []string{"-"}, ""},
		{"no arguments", nil, "text", false, 10, []string{}, ""},
		{"a missing value", []string{"a", "--format"}, "", false, 0, nil, "flag needs an argument: -format"},
		{"an unknown flag", []string{"a", "--nope", "b"}, "", false, 0, nil, "flag provided but not defined: -nope"},
		{"an unknown flag last", []string{"a", "--nope"}, "", false, 0, nil, "flag provided but not defined: -nope"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			format := fs.String("format", "text", "")
			all := fs.Bool("all", false, "")
			depth := fs.Int("depth", 10, "")
			err := parseArgs(fs, tt.args)
			if tt.err != "" {
				require.Error(t, err)
				assert.Equal(t, tt.err, err.Error())
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.format, *format)
			assert.Equal(t, tt.all, *all)
			assert.Equal(t, tt.depth, *depth)
			assert.Equal(t, tt.positional, fs.Args())
		})
	}
}

// Without NEO4J_URI every command reaches the Neo4j make run and make test use,
// bolt://$NEO4J_BOLT_ADDR; NEO4J_URI wins when set, and --neo4j-uri over both.
func TestNeo4jURIFollowsMakeRun(t *testing.T) {
	t.Setenv("NEO4J_URI", "")
	t.Setenv("NEO4J_BOLT_ADDR", "")
	assert.Equal(t, "bolt://127.0.0.1:7687", defaultNeo4jURI())
	t.Setenv("NEO4J_BOLT_ADDR", "127.0.0.1:7699")
	assert.Equal(t, "bolt://127.0.0.1:7699", defaultNeo4jURI())
	t.Setenv("NEO4J_URI", "neo4j://cluster.example:7687")
	assert.Equal(t, "neo4j://cluster.example:7687", defaultNeo4jURI())
}

// Every command that talks to Neo4j says which address it could not reach and how to
// choose another, and never prints the password.
func TestCommandsNameTheNeo4jTheyCannotReach(t *testing.T) {
	closed := closedAddr(t)
	other := closedAddr(t)
	const password = "pw-never-printed"
	t.Setenv("NEO4J_URI", "")
	t.Setenv("NEO4J_BOLT_ADDR", closed)
	t.Setenv("NEO4J_PASSWORD", password)
	t.Setenv("PROVGRAPH_NEO4J_WAIT", "2s")
	for _, tt := range []struct {
		args []string
		addr string
	}{
		{[]string{"trace", "endpoint:x"}, closed},
		{[]string{"trace", "endpoint:x", "--format", "json"}, closed},
		{[]string{"export", "--format", "dot", "endpoint:x"}, closed},
		{[]string{"token", "list"}, closed},
		{[]string{"token", "create", "--name", "x", "--role", "reader"}, closed},
		{[]string{"audit", "verify"}, closed},
		{[]string{"seed", "--nodes", "98"}, closed},
		{[]string{"trace", "endpoint:x", "--neo4j-uri", "bolt://" + other}, other},
		{[]string{"token", "list", "--neo4j-uri", "bolt://neo4j:" + password + "@" + other}, "neo4j:xxxxx@" + other},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Parallel()
			var out, errOut bytes.Buffer
			start := time.Now()
			code := run(tt.args, &out, &errOut)
			assert.Equal(t, 1, code)
			// Refused at once; on a loaded machine the first attempt may not finish in time.
			assert.Regexp(t, `^provgraph `+regexp.QuoteMeta(commandName(tt.args))+`: cannot reach Neo4j at `+
				regexp.QuoteMeta("bolt://"+tt.addr)+`: (connection refused|no answer in time) \(set NEO4J_URI or NEO4J_BOLT_ADDR\)\n$`,
				errOut.String())
			assert.NotContains(t, errOut.String()+out.String(), password)
			assert.Less(t, time.Since(start), 10*time.Second, "PROVGRAPH_NEO4J_WAIT bounds the wait")
		})
	}
	t.Run("NEO4J_URI wins over NEO4J_BOLT_ADDR", func(t *testing.T) {
		// Not parallel: it changes the environment its siblings read.
		t.Setenv("NEO4J_URI", "bolt://"+other)
		var out, errOut bytes.Buffer
		assert.Equal(t, 1, run([]string{"audit", "verify", "--neo4j-wait", "1s"}, &out, &errOut))
		assert.Contains(t, errOut.String(), "cannot reach Neo4j at bolt://"+other+": ")
	})
}

// commandName is how a command names itself in its errors: "token list", "trace".
func commandName(args []string) string {
	switch args[0] {
	case "token", "audit":
		return args[0] + " " + args[1]
	}
	return args[0]
}

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// Every command's --help says which Neo4j it uses when NEO4J_URI is unset.
func TestHelpSaysWhichNeo4j(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"serve", "--help"}, {"trace", "--help"}, {"export", "--help"}, {"seed", "--help"},
		{"token", "create", "--help"}, {"token", "list", "--help"}, {"token", "revoke", "--help"}, {"token", "help"},
		{"audit", "verify", "--help"}, {"audit", "help"},
	} {
		var out, errOut bytes.Buffer
		assert.Equal(t, 0, run(args, &out, &errOut), args)
		help := out.String() + errOut.String()
		for _, want := range []string{"NEO4J_URI", "NEO4J_BOLT_ADDR", "127.0.0.1:7687"} {
			assert.Contains(t, help, want, args)
		}
		if args[len(args)-1] == "--help" {
			assert.Contains(t, help, "PROVGRAPH_NEO4J_WAIT", args)
		}
	}
}
