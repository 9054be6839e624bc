// Package export renders lineage results for people and for other tools: W3C
// PROV-JSON for provenance tooling and archives, Graphviz DOT and Mermaid for pictures,
// and an SVG picture laid out here (LayOut), which the evidence report draws too.
// GraphQL, the CLI and the evidence package render through it from the same store
// results.
package export

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/provgraph/provgraph/store"
)

// Format is an export format.
type Format string

// The formats.
const (
	ProvJSON Format = "PROV_JSON"
	DOT      Format = "DOT"
	Mermaid  Format = "MERMAID"
	SVG      Format = "SVG"
)

// Render writes l in format f.
func Render(l store.Lineage, f Format) ([]byte, error) {
	switch f {
	case ProvJSON:
		return provJSON(l)
	case DOT:
		return dot(l), nil
	case Mermaid:
		return mermaid(l), nil
	case SVG:
		return svg(l), nil
	}
	return nil, fmt.Errorf("unknown export format %q", f)
}

// provNamespace is the namespace of provgraph's qualified names in PROV documents.
const provNamespace = "urn:provgraph:"

// qname is a node's qualified name: the pg prefix and its escaped ID.
func qname(key string) string { return "pg:" + url.PathEscape(key) }

// NodeIDOf returns the node ID a qualified name pg:<escaped ID> stands for.
func NodeIDOf(qn string) (string, error) {
	rest, ok := strings.CutPrefix(qn, "pg:")
	if !ok {
		return "", fmt.Errorf("%q is not a provgraph qualified name (pg:<ID>)", qn)
	}
	return url.PathUnescape(rest)
}

// isActivity tells PROV activities (jobs and runs) from entities (everything else);
// the actors who recorded activities are their agents.
func isActivity(k store.Kind) bool {
	return k == store.KindTrainingJob || k == store.KindProcessingJob || k == store.KindRun
}

// ProvProps are the node properties a PROV-JSON export carries as pg:<name>
// attributes, besides the ID, kind, name, times and recorder every node gets.
var ProvProps = []string{"uri", "digest", "versionId", "version", "source", "instanceType", "codeVersion", "status"}

// PROV-JSON attributes provgraph adds to the standard ones (see docs/import.md).
const (
	// ProvAttrID is a node's ID.
	ProvAttrID = "pg:id"
	// ProvAttrRecordedAt and ProvAttrRecordedBy say when and by whom a node (or, for
	// ProvAttrRecordedAt, an edge) was first recorded.
	ProvAttrRecordedAt = "pg:recordedAt"
	ProvAttrRecordedBy = "pg:recordedBy"
	// ProvKindPrefix starts the prov:type of nodes: pgkind:<Kind>.
	ProvKindPrefix = "pgkind:"
	// ProvRegistration and ProvDeployment are the prov:type of the wasDerivedFrom
	// relations that stand for REGISTERED_AS and DEPLOYED_TO edges.
	ProvRegistration = "pgkind:Registration"
	ProvDeployment   = "pgkind:Deployment"
)

func provJSON(l store.Lineage) ([]byte, error) { return ProvJSONWithEdgeTimes(l, nil) }

// ProvJSONWithEdgeTimes renders l as PROV-JSON, with each edge's recordedAt from
// edgeTimes when it is there (store.EdgeTimes), so that importing the document keeps
// the times lineage as of a time depends on.
func ProvJSONWithEdgeTimes(l store.Lineage, edgeTimes map[store.Edge]time.Time) ([]byte, error) {
	doc := map[string]any{
		"prefix": map[string]string{"pg": provNamespace, "pgkind": provNamespace + "kind:", "pgagent": provNamespace + "agent:"},
	}
	sections := map[string]map[string]any{}
	add := func(section, id string, v any) {
		if sections[section] == nil {
			sections[section] = map[string]any{}
		}
		sections[section][id] = v
	}
	agents := map[string]bool{}
	for _, n := range l.Nodes {
		attrs := map[string]any{
			"prov:type":  ProvKindPrefix + string(n.Kind),
			"prov:label": n.Name,
			ProvAttrID:   n.Key,
		}
		if !n.RecordedAt.IsZero() {
			attrs[ProvAttrRecordedAt] = n.RecordedAt.UTC().Format(time.RFC3339Nano)
		}
		if n.RecordedBy != "" {
			attrs[ProvAttrRecordedBy] = n.RecordedBy
		}
		for _, p := range ProvProps {
			if v, ok := n.Props[p]; ok && v != nil {
				attrs["pg:"+p] = v
			}
		}
		if isActivity(n.Kind) {
			if t := n.OptTime("startedAt"); t != nil {
				attrs["prov:startTime"] = t.UTC().Format(time.RFC3339Nano)
			}
			if t := n.OptTime("endedAt"); t != nil {
				attrs["prov:endTime"] = t.UTC().Format(time.RFC3339Nano)
			}
			add("activity", qname(n.Key), attrs)
			if n.RecordedBy != "" {
				agent := "pgagent:" + url.PathEscape(n.RecordedBy)
				agents[agent] = true
				add("wasAssociatedWith", "_:assoc"+url.PathEscape(n.Key), map[string]any{"prov:activity": qname(n.Key), "prov:agent": agent})
			}
		} else {
			add("entity", qname(n.Key), attrs)
		}
	}
	for a := range agents {
		name, _ := url.PathUnescape(strings.TrimPrefix(a, "pgagent:"))
		add("agent", a, map[string]any{"prov:label": name})
	}
	for i, e := range l.Edges {
		section, attrs := provRelation(e)
		if section == "" {
			continue
		}
		if t, ok := edgeTimes[e]; ok {
			attrs[ProvAttrRecordedAt] = t.UTC().Format(time.RFC3339Nano)
		}
		add(section, fmt.Sprintf("_:e%d", i+1), attrs)
	}
	for k, v := range sections {
		doc[k] = v
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil { // encoding/json sorts map keys: stable output
		return nil, fmt.Errorf("encode PROV-JSON: %w", err)
	}
	return buf.Bytes(), nil
}

// provRelation is the PROV relation an edge stands for: its section and attributes.
func provRelation(e store.Edge) (string, map[string]any) {
	switch e.Type {
	case store.RelInputTo:
		return "used", map[string]any{"prov:activity": qname(e.To), "prov:entity": qname(e.From)}
	case store.RelProduced:
		return "wasGeneratedBy", map[string]any{"prov:entity": qname(e.To), "prov:activity": qname(e.From)}
	case store.RelRegisteredAs:
		return "wasDerivedFrom", map[string]any{"prov:generatedEntity": qname(e.To), "prov:usedEntity": qname(e.From), "prov:type": ProvRegistration}
	case store.RelDeployedTo:
		return "wasDerivedFrom", map[string]any{"prov:generatedEntity": qname(e.To), "prov:usedEntity": qname(e.From), "prov:type": ProvDeployment}
	case store.RelVersionOf:
		return "specializationOf", map[string]any{"prov:specificEntity": qname(e.From), "prov:generalEntity": qname(e.To)}
	}
	return "", nil
}

// shapes gives each kind a recognisable DOT shape.
var shapes = map[store.Kind]string{
	store.KindDataset: "folder", store.KindDatasetVersion: "note", store.KindTrainingJob: "box",
	store.KindProcessingJob: "box", store.KindArtifact: "component", store.KindRegisteredModel: "tab",
	store.KindModelVersion: "box3d", store.KindEndpoint: "doubleoctagon", store.KindRun: "box",
	store.KindExperiment: "folder", store.KindRunGroup: "folder",
}

func dot(l store.Lineage) []byte {
	var b strings.Builder
	b.WriteString("digraph lineage {\n  rankdir=LR;\n  node [fontname=\"Helvetica\"];\n")
	for _, n := range l.Nodes {
		shape := shapes[n.Kind]
		if shape == "" {
			shape = "ellipse"
		}
		fmt.Fprintf(&b, "  %s [label=%s, shape=%s];\n", dotQuote(n.Key), dotQuote(string(n.Kind)+"\n"+n.Name), shape)
	}
	for _, e := range l.Edges {
		style := ""
		if e.Type == store.RelVersionOf {
			style = ", style=dashed"
		}
		fmt.Fprintf(&b, "  %s -> %s [label=%s%s];\n", dotQuote(e.From), dotQuote(e.To), dotQuote(e.Type), style)
	}
	b.WriteString("}\n")
	return []byte(b.String())
}

// dotQuote makes s a DOT double-quoted string.
func dotQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

func mermaid(l store.Lineage) []byte {
	ids := make(map[string]string, len(l.Nodes))
	keys := make([]string, 0, len(l.Nodes))
	for _, n := range l.Nodes {
		keys = append(keys, n.Key)
	}
	sort.Strings(keys)
	for i, k := range keys {
		ids[k] = fmt.Sprintf("n%d", i)
	}
	var b strings.Builder
	b.WriteString("flowchart LR\n")
	for _, n := range l.Nodes {
		fmt.Fprintf(&b, "  %s[\"%s\"]\n", ids[n.Key], mermaidText(string(n.Kind)+": "+n.Name))
	}
	for _, e := range l.Edges {
		arrow := "-->"
		if e.Type == store.RelVersionOf {
			arrow = "-.->"
		}
		fmt.Fprintf(&b, "  %s %s|%s| %s\n", ids[e.From], arrow, e.Type, ids[e.To])
	}
	return []byte(b.String())
}

// mermaidText escapes text for a quoted Mermaid label.
func mermaidText(s string) string {
	return strings.NewReplacer(`"`, "#quot;", "\n", " ").Replace(s)
}
