package mlmd

import (
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// Prefixes of the node properties MLMD properties become: a node property holds no
// maps, so "span" of an Examples artifact is "property.span" and a custom property
// "customProperty.<name>".
const (
	propertyPrefix       = "property."
	customPropertyPrefix = "customProperty."
)

// props are the node properties of an artifact or execution row: where it came from
// (importedFrom, mlmdId, mlmdType), its URI, state, name, external id and last update, its MLMD
// properties, its contexts ("<type>:<name>", by context id) and the experiment and run
// group they name.
func (r *reader) props(in rowInput, t mlmdType, states []string) map[string]any {
	x := in.row
	p := map[string]any{"importedFrom": "mlmd", "mlmdId": x.id, "mlmdType": t.name, "lastUpdatedAt": millis(x.updated)}
	if x.uri.String != "" {
		p["uri"] = x.uri.String
	}
	if x.name.String != "" {
		p["mlmdName"] = x.name.String
	}
	if x.extID.String != "" {
		p["externalId"] = x.extID.String
	}
	if x.state.Valid {
		if s := x.state.Int64; s >= 0 && int(s) < len(states) {
			p["state"] = states[s]
		} else {
			p["state"] = strconv.FormatInt(s, 10)
		}
	}
	for _, prop := range in.props {
		if prop.value == nil {
			continue
		}
		if prop.custom {
			p[customPropertyPrefix+prop.name] = prop.value
		} else {
			p[propertyPrefix+prop.name] = prop.value
		}
	}
	if len(in.contexts) > 0 {
		names := make([]string, 0, len(in.contexts))
		for _, id := range in.contexts {
			if c := r.contexts[id]; c != nil {
				names = append(names, r.types[c.typeID].name+":"+c.name)
			}
		}
		p["contexts"] = names
	}
	experiment, group := r.experimentAndRunGroup(in.contexts)
	if experiment != "" {
		p["experiment"] = experiment
	}
	if group != "" {
		p["runGroup"] = group
	}
	return p
}

// experimentAndRunGroup finds the names of the contexts in the experiment and run group
// roles among a row's contexts, lowest id first, and else among their ancestors, nearest
// first.
func (r *reader) experimentAndRunGroup(direct []int64) (experiment, group string) {
	level := append([]int64(nil), direct...)
	seen := map[int64]bool{}
	for depth := 0; depth <= maxContextDepth && len(level) > 0 && (experiment == "" || group == ""); depth++ {
		sort.Slice(level, func(i, j int) bool { return level[i] < level[j] })
		var next []int64
		for _, id := range level {
			c := r.contexts[id]
			if c == nil || seen[id] {
				continue
			}
			seen[id] = true
			role, _ := r.m.role(r.types[c.typeID])
			switch {
			case role == RoleExperiment && experiment == "":
				experiment = c.name
			case role == RoleRunGroup && group == "":
				group = c.name
			}
			next = append(next, c.parents...)
		}
		level = next
	}
	return experiment, group
}

// displayName is a node's name: the row's MLMD name, else its custom property
// display_name (what Kubeflow Pipelines sets), else <type>-<id>.
func displayName(x row, t mlmdType, props []property) string {
	if x.name.String != "" {
		return x.name.String
	}
	for _, p := range props {
		if s, ok := p.value.(string); ok && p.custom && p.name == "display_name" && s != "" {
			return s
		}
	}
	return shortName(t.name) + "-" + strconv.FormatInt(x.id, 10)
}

// shortName is a type name without the Python package path TFX puts before a
// component's class ("tfx.components.trainer.component.Trainer" is "Trainer"); Kubeflow
// Pipelines' "system." types keep their name.
func shortName(typeName string) string {
	if strings.HasPrefix(typeName, "system.") {
		return typeName
	}
	if i := strings.LastIndex(typeName, "."); i >= 0 && i < len(typeName)-1 {
		return typeName[i+1:]
	}
	return typeName
}

func nameOrID(x row) string {
	if x.name.String != "" {
		return x.name.String
	}
	return strconv.FormatInt(x.id, 10)
}

// datasetOf splits a URI into a dataset's namespace and name as provgraph's other
// surfaces do (OpenLineage's naming): scheme://authority and the path; a file URI or an
// absolute local path (TFX's local pipeline root) is in namespace "file". A URI of
// another form has no dataset (name "").
func datasetOf(uri string) (namespace, name string) {
	if strings.HasPrefix(uri, "/") {
		return "file", uri
	}
	u, err := url.Parse(uri)
	if err != nil || u.Scheme == "" {
		return "", ""
	}
	switch {
	case u.Scheme == "file" && u.Path != "":
		return "file", u.Path
	case u.Host != "":
		name = strings.TrimPrefix(u.Path, "/")
		if name == "" {
			name = "/"
		}
		return u.Scheme + "://" + u.Host, name
	}
	return "", ""
}
