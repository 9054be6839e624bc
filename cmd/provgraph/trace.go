package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	"unicode"

	"github.com/provgraph/provgraph/export"
	"github.com/provgraph/provgraph/store"
)

// traceConfig is what `provgraph trace` and `provgraph export` are told.
type traceConfig struct {
	neo4j     store.Config
	neo4jWait time.Duration
	direction string
	depth     int
	asOf      string
	kinds     string
	format    string
	output    string
	budget    int
	after     string
}

const traceUsage = `Usage: provgraph %[1]s ID... [flags]

Prints the provenance cone of the given nodes, through the same store queries as the
GraphQL lineage field: %[1]s endpoint:fraud-prod prints what the endpoint's model came
from. IDs are node IDs such as endpoint:<name>, model:<name>/<version>,
datasetVersion:<namespace>:<name>#<version>. Flags may come before or after the IDs.

` + neo4jTarget + `
Flags:
`

// trace runs `provgraph trace` (default format text) and `provgraph export` (default
// format prov).
func trace(name string, args []string, stdout, stderr io.Writer) int {
	cfg := &traceConfig{}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	neo4jFlags(fs, &cfg.neo4j, &cfg.neo4jWait, cliNeo4jWait)
	fs.StringVar(&cfg.direction, "direction", "upstream", "upstream, downstream or both")
	fs.IntVar(&cfg.depth, "depth", store.DefaultLineageDepth, "provenance edges to follow (0 to 50)")
	fs.StringVar(&cfg.asOf, "as-of", "", "answer as the graph stood at this RFC 3339 `time`")
	fs.StringVar(&cfg.kinds, "kinds", "", "comma-separated node kinds to keep, e.g. DATASET_VERSION,MODEL_VERSION")
	defaultFormat := "text"
	if name == "export" {
		defaultFormat = "prov"
	}
	fs.StringVar(&cfg.format, "format", defaultFormat, "text, json, prov (W3C PROV-JSON), dot, mermaid or svg")
	fs.StringVar(&cfg.output, "output", "", "write to this `file` instead of standard output")
	fs.IntVar(&cfg.budget, "budget", store.MaxLineageNodes, "the most nodes to print (1 to 10000); a larger cone comes in pages")
	fs.StringVar(&cfg.after, "after", "", "print the page after this `cursor` (printed with the previous page)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), traceUsage, name)
		fs.PrintDefaults()
	}
	if err := parseArgs(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	resolvePassword(&cfg.neo4j)
	q, err := cfg.query(fs.Args())
	if err != nil {
		fmt.Fprintf(stderr, "provgraph %s: %v\n", name, err)
		return 2
	}
	out := stdout
	if cfg.output != "" {
		f, err := os.Create(cfg.output)
		if err != nil {
			fmt.Fprintf(stderr, "provgraph %s: %v\n", name, err)
			return 1
		}
		defer f.Close()
		out = f
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := runTrace(ctx, cfg, q, out); err != nil {
		fmt.Fprintf(stderr, "provgraph %s: %v\n", name, err)
		return 1
	}
	return 0
}

func (cfg *traceConfig) query(ids []string) (store.LineageQuery, error) {
	q := store.LineageQuery{Start: ids, Direction: store.Direction(strings.ToUpper(cfg.direction)), MaxDepth: cfg.depth,
		After: cfg.after}
	if cfg.budget < 1 || cfg.budget > store.MaxLineageNodes {
		return q, fmt.Errorf("--budget %d: must be between 1 and %d", cfg.budget, store.MaxLineageNodes)
	}
	q.Budget = cfg.budget
	if len(ids) == 0 {
		return q, errors.New("give at least one node ID")
	}
	if cfg.asOf != "" {
		t, err := time.Parse(time.RFC3339Nano, cfg.asOf)
		if err != nil {
			return q, fmt.Errorf("--as-of %q: not an RFC 3339 time like 2026-03-14T09:30:00Z", cfg.asOf)
		}
		q.AsOf = &t
	}
	for _, k := range strings.Split(cfg.kinds, ",") {
		if k = strings.TrimSpace(k); k == "" {
			continue
		}
		kind, ok := kindByEnumName(k)
		if !ok {
			return q, fmt.Errorf("--kinds: unknown kind %q", k)
		}
		q.Kinds = append(q.Kinds, kind)
	}
	switch cfg.format {
	case "text", "json", "prov", "dot", "mermaid", "svg":
	default:
		return q, fmt.Errorf("--format %q: must be text, json, prov, dot, mermaid or svg", cfg.format)
	}
	return q, nil
}

// kindByEnumName maps the GraphQL enum spelling (DATASET_VERSION) to a store kind.
func kindByEnumName(name string) (store.Kind, bool) {
	for _, k := range store.Kinds {
		if enumName(string(k)) == strings.ToUpper(name) {
			return k, true
		}
	}
	return "", false
}

func enumName(kind string) string {
	var b strings.Builder
	for i, r := range kind {
		if i > 0 && unicode.IsUpper(r) {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToUpper(r))
	}
	return b.String()
}

func runTrace(ctx context.Context, cfg *traceConfig, q store.LineageQuery, out io.Writer) (err error) {
	st, err := openStore(ctx, cfg.neo4j, cfg.neo4jWait)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, st.Close(context.Background())) }()
	l, err := st.Lineage(ctx, q)
	if err != nil {
		return err
	}
	switch cfg.format {
	case "text":
		return writeText(out, l)
	case "json":
		return writeJSON(out, l)
	case "prov":
		// Edge times make the export a backup `provgraph import` restores as of any time.
		times, err := st.EdgeTimes(ctx, l.Edges)
		if err != nil {
			return err
		}
		doc, err := export.ProvJSONWithEdgeTimes(l, times)
		if err != nil {
			return err
		}
		_, err = out.Write(doc)
		return err
	}
	doc, err := export.Render(l, map[string]export.Format{"prov": export.ProvJSON, "dot": export.DOT, "mermaid": export.Mermaid, "svg": export.SVG}[cfg.format])
	if err != nil {
		return err
	}
	_, err = out.Write(doc)
	return err
}

func writeText(out io.Writer, l store.Lineage) error {
	var b strings.Builder
	for _, n := range l.Nodes {
		fmt.Fprintf(&b, "%-16s %s\n", enumName(string(n.Kind)), n.Key)
	}
	if len(l.Edges) > 0 {
		b.WriteString("\n")
	}
	for _, e := range l.Edges {
		fmt.Fprintf(&b, "%s -[%s]-> %s\n", e.From, e.Type, e.To)
	}
	if l.Truncated {
		fmt.Fprintf(&b, "\n(truncated: more nodes follow; run again with --after %s)\n", l.EndCursor)
	}
	_, err := io.WriteString(out, b.String())
	return err
}

func writeJSON(out io.Writer, l store.Lineage) error {
	type node struct {
		ID   string `json:"id"`
		Kind string `json:"kind"`
		Name string `json:"name"`
	}
	type edge struct {
		From string `json:"from"`
		To   string `json:"to"`
		Type string `json:"type"`
	}
	doc := struct {
		Nodes     []node `json:"nodes"`
		Edges     []edge `json:"edges"`
		Truncated bool   `json:"truncated"`
		EndCursor string `json:"endCursor,omitempty"`
	}{Nodes: []node{}, Edges: []edge{}, Truncated: l.Truncated, EndCursor: l.EndCursor}
	for _, n := range l.Nodes {
		doc.Nodes = append(doc.Nodes, node{n.Key, enumName(string(n.Kind)), n.Name})
	}
	for _, e := range l.Edges {
		doc.Edges = append(doc.Edges, edge{e.From, e.To, e.Type})
	}
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}
