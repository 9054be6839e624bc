// Command provgraph runs the provgraph service and its operator tools.
//
//	provgraph serve     run the GraphQL service (see provgraph serve --help)
//	provgraph trace     print the provenance cone of nodes
//	provgraph export    the same as a PROV-JSON, DOT, Mermaid or SVG document
//	provgraph import    bring in OpenLineage NDJSON, a PROV-JSON export or an ML Metadata database
//	provgraph evidence  write the evidence package of an endpoint or model version
//	provgraph seed      build a synthetic graph for benchmarks
//	provgraph token     create, revoke and list API tokens
//	provgraph audit     verify the audit log's hash chain
//	provgraph version   print the version
package main

import (
	"fmt"
	"io"
	"os"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `provgraph — experiment tracking and model lineage on one provenance graph

Usage:
  provgraph <command> [flags]

Commands:
  serve     run the GraphQL service (the console at /, GraphiQL at /graphiql, POST /graphql, /healthz, /readyz, /metrics)
  trace     print the provenance cone of nodes (provgraph trace endpoint:fraud-prod)
  export    the same as W3C PROV-JSON, Graphviz DOT, Mermaid or SVG (--format)
  import    bring in lineage from elsewhere (provgraph import --format openlineage events.ndjson; also prov-json, mlmd)
  evidence  write an auditor's evidence package (provgraph evidence endpoint:fraud-prod --at 2026-03-14T09:30:00Z -o evidence.zip)
  seed      build a synthetic provenance graph (provgraph seed --nodes 1000000)
  token     create, revoke and list API tokens (provgraph token create --name ci --role writer)
  audit     verify the audit log's hash chain (provgraph audit verify)
  version   print the version

Run 'provgraph <command> --help' for a command's flags and environment variables.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return serve(args[1:], stdout, stderr)
	case "trace", "export":
		return trace(args[0], args[1:], stdout, stderr)
	case "import":
		return importCmd(args[1:], stdout, stderr)
	case "evidence":
		return evidenceCmd(args[1:], stdout, stderr)
	case "seed":
		return seed(args[1:], stdout, stderr)
	case "token":
		return token(args[1:], stdout, stderr)
	case "audit":
		return audit(args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "provgraph", version)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "provgraph: unknown command %q\n\n%s", args[0], usage)
	return 2
}
