package store

import (
	"context"
	"fmt"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"

	"github.com/provgraph/provgraph/apperr"
)

// Registered models beyond registering versions: creating one without versions, its
// versions, pages of models and versions, aliases ended, version labels changed.

const cypherCreateRegisteredModel = `
MERGE (m:` + LabelNode + ` {key: $key})
  ON CREATE SET m:` + string(KindRegisteredModel) + `, m.kind = '` + string(KindRegisteredModel) + `',
    m.name = $name, m.latestVersion = 0, m.description = $description,
    m.tagKeys = $tagKeys, m.tagValues = $tagValues,
    m.recordedAt = datetime.transaction(), m.recordedBy = $actor, m.` + createdFlag + ` = true
WITH m, coalesce(m.` + createdFlag + `, false) AS created
REMOVE m.` + createdFlag + `
RETURN m, created`

// CreateRegisteredModel creates a registered model with no versions yet. A name in use
// is a CONFLICT (MLflow's RESOURCE_ALREADY_EXISTS).
func (s *Store) CreateRegisteredModel(ctx context.Context, actor, name string, description *string, tags []Tag) (Node, error) {
	if err := checkText("name", name, MaxModelNameLength); err != nil {
		return Node{}, err
	}
	if modelVersionSuffix.MatchString(name) {
		return Node{}, apperr.Invalid("name", "must not end in '/<digits>', which would read as a version in IDs (got %q)", truncateForMessage(name))
	}
	if err := checkDescription("description", description); err != nil {
		return Node{}, err
	}
	keys, values, err := checkTags("tags", tags)
	if err != nil {
		return Node{}, err
	}
	return write(ctx, s, actor, ActionRegisteredModelCreate, func(tx neo4j.ManagedTransaction, au *audit) (Node, error) {
		au.target(RegisteredModelKey(name))
		recs, err := collect(ctx, tx, cypherCreateRegisteredModel, map[string]any{
			"key": RegisteredModelKey(name), "name": name, "description": optValue(description),
			"tagKeys": keys, "tagValues": values, "actor": actor,
		})
		if err != nil {
			return Node{}, fmt.Errorf("create registered model %q: %w", name, err)
		}
		if c, _ := recs[0].Get("created"); c != true {
			return Node{}, apperr.Conflicting("name", "registered model %q exists already", truncateForMessage(name))
		}
		return nodeAt(recs[0], "m")
	})
}

const cypherVersionsOfModel = `
MATCH (v:` + LabelNode + `)-[:` + RelVersionOf + `]->(:` + LabelNode + ` {key: $key})
WHERE v:` + string(KindModelVersion) + `
RETURN collect(v {.*}) AS versions`

// VersionsOfModel returns every version of a registered model.
func (s *Store) VersionsOfModel(ctx context.Context, model string) ([]Node, error) {
	return read(ctx, s, func(tx neo4j.ManagedTransaction) ([]Node, error) {
		recs, err := collect(ctx, tx, cypherVersionsOfModel, map[string]any{"key": model})
		if err != nil {
			return nil, fmt.Errorf("versions of %q: %w", model, err)
		}
		return nodesAt(recs[0], "versions")
	})
}

// KindPage is a page of nodes of one kind, in key order.
type KindPage struct {
	Nodes []Node
	// Cursors[i] points after Nodes[i].
	Cursors []string
	// EndCursor, when set, asks for the next page.
	EndCursor string
}

// Listable kinds: the Cypher that pages through each, by key. Labels come from these
// constants, never from a caller.
// KindFilter narrows ListKind: to model names that start with NamePrefix, and, for
// model versions, to those with this source or produced by this run.
type KindFilter struct {
	NamePrefix string
	Source     *string
	Run        *string // a run's node ID
}

// MaxKindPage is the largest page ListKind returns.
const MaxKindPage = 1000

// The keys are read in order from the node key index, starting at $after, within the
// keys that start with $prefix.
var cypherListKind = map[Kind]string{
	KindRegisteredModel: `MATCH (n:` + LabelNode + `) WHERE n.key STARTS WITH $prefix AND n.key > $after AND n:` + string(KindRegisteredModel) + `
WITH n ORDER BY n.key LIMIT $limit RETURN collect(n {.*}) AS nodes`,
	KindModelVersion: `MATCH (n:` + LabelNode + `) WHERE n.key STARTS WITH $prefix AND n.key > $after AND n:` + string(KindModelVersion) + `
  AND ($source IS NULL OR n.source = $source) AND ($run IS NULL OR n.producedByRun = $run)
WITH n ORDER BY n.key LIMIT $limit RETURN collect(n {.*}) AS nodes`,
}

// ListKind pages through the registered models or model versions that f lets through,
// in key order, first (1–MaxKindPage) at a time.
func (s *Store) ListKind(ctx context.Context, kind Kind, f KindFilter, first int, after string) (KindPage, error) {
	q, ok := cypherListKind[kind]
	if !ok {
		return KindPage{}, fmt.Errorf("list %s: not a listable kind", kind)
	}
	if first < 1 || first > MaxKindPage {
		return KindPage{}, apperr.Invalid("first", "must be between 1 and %d (got %d)", MaxKindPage, first)
	}
	from, err := decodeKeyCursor(after)
	if err != nil {
		return KindPage{}, err
	}
	return read(ctx, s, func(tx neo4j.ManagedTransaction) (KindPage, error) {
		recs, err := collect(ctx, tx, q, map[string]any{
			"prefix": prefixModel + f.NamePrefix, "after": from, "limit": first + 1, "source": optValue(f.Source), "run": optValue(f.Run)})
		if err != nil {
			return KindPage{}, fmt.Errorf("list %s: %w", kind, err)
		}
		nodes, err := nodesAt(recs[0], "nodes")
		if err != nil {
			return KindPage{}, err
		}
		return keyPage(nodes, first), nil
	})
}

// keyCursor is the cursor of a page in key order: the key of the node it follows.
type keyCursor struct {
	Key string `json:"k"`
}

// decodeKeyCursor reads the key an after cursor points after ("" for none).
func decodeKeyCursor(after string) (string, error) {
	if after == "" {
		return "", nil
	}
	var c keyCursor
	if err := decodeOpaque("after", after, MaxIDLength+64, &c); err != nil || c.Key == "" {
		return "", errNotCursor("after")
	}
	return c.Key, nil
}

// keyPage makes a page of the first nodes of nodes, read in key order with one more
// than first asked for to tell whether a next page exists.
func keyPage(nodes []Node, first int) KindPage {
	page := KindPage{Nodes: nodes}
	if len(nodes) > first {
		page.Nodes = nodes[:first]
	}
	for _, n := range page.Nodes {
		page.Cursors = append(page.Cursors, encodeOpaque(keyCursor{n.Key}))
	}
	if len(nodes) > first {
		page.EndCursor = page.Cursors[first-1]
	}
	return page
}

// DeleteAlias ends an alias of a registered model; its history keeps it. An alias not
// in force is NOT_FOUND.
func (s *Store) DeleteAlias(ctx context.Context, actor, model, alias string) error {
	if err := RequireKind("model", model, KindRegisteredModel, "model:<name>"); err != nil {
		return err
	}
	_, err := write(ctx, s, actor, ActionAliasDelete, func(tx neo4j.ManagedTransaction, au *audit) (struct{}, error) {
		au.target(model)
		current, err := aliasesOf(ctx, tx, model, &alias, true, nil)
		if err != nil {
			return struct{}{}, err
		}
		if len(current) == 0 {
			return struct{}{}, apperr.Missing("alias", "registered model %q has no alias %q", truncateForMessage(model), truncateForMessage(alias))
		}
		recs, err := collect(ctx, tx, cypherEndAlias, map[string]any{"model": model, "alias": alias, "actor": actor})
		au.changeValue(model, ChangeAliasPrefix+alias, aliasEndedAt(recs), nil)
		return struct{}{}, err
	})
	return err
}

const cypherUpdateVersionLabels = `
MATCH (v:` + LabelNode + ` {key: $key})
WITH v, v {.description, .tagKeys, .tagValues} AS old
SET v.description = CASE WHEN $setDescription THEN $description ELSE v.description END,
    v.tagKeys = $tagKeys, v.tagValues = $tagValues,
    v.updatedAt = datetime.transaction(), v.updatedBy = $actor
RETURN v, old`

// UpdateModelVersionLabels changes a model version's description and tags — labels,
// where the last write wins; what the version was registered from never changes.
func (s *Store) UpdateModelVersionLabels(ctx context.Context, actor, version string, description *string, set []Tag, del []string) (Node, error) {
	if err := RequireKind("version", version, KindModelVersion, "model:<name>/<version>"); err != nil {
		return Node{}, err
	}
	if err := checkDescription("description", description); err != nil {
		return Node{}, err
	}
	return write(ctx, s, actor, ActionModelVersionUpdate, func(tx neo4j.ManagedTransaction, au *audit) (Node, error) {
		au.target(version)
		if _, err := collect(ctx, tx, cypherLockNode, map[string]any{"key": version}); err != nil {
			return Node{}, fmt.Errorf("lock %q: %w", version, err)
		}
		v, err := nodeByKey(ctx, tx, "version", version)
		if err != nil {
			return Node{}, err
		}
		keys, values, err := mergeTags(v.Tags(), set, del)
		if err != nil {
			return Node{}, err
		}
		recs, err := collect(ctx, tx, cypherUpdateVersionLabels, map[string]any{
			"key": version, "setDescription": description != nil, "description": optValue(description),
			"tagKeys": keys, "tagValues": values, "actor": actor,
		})
		if err != nil {
			return Node{}, fmt.Errorf("update %q: %w", version, err)
		}
		old, v, err := changedNodeAt(recs[0], "v", "old")
		au.changeNode(old, v, true, propDescription)
		return v, err
	})
}
