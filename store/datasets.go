package store

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"

	"github.com/provgraph/provgraph/apperr"
)

// DatasetVersionInput describes one immutable version of a dataset. At least one of
// Digest and VersionID pins it; Namespace and Name default to what URI implies under
// OpenLineage's naming (namespace scheme://authority, name the path).
type DatasetVersionInput struct {
	URI         string
	Namespace   *string
	Name        *string
	Digest      *string
	VersionID   *string
	Description *string
	// URIIsLocation says URI is only where this report found the version, not part of
	// what the version is: its namespace, name and version (the digest) identify it. A
	// version registered again from another URI is then the same version, not a
	// CONFLICT, and keeps the URI it was first registered with. MLflow's datasets are
	// such versions: MLflow keys a dataset by its name and digest, and its source is
	// where a run read it.
	URIIsLocation bool
}

// The dataset-version properties beyond the common ones.
const (
	propNamespace   = "namespace"
	propURI         = "uri"
	propVersion     = "version"
	propDigest      = "digest"
	propVersionID   = "versionId"
	propDescription = "description"
)

// createdFlag is set on a node by MERGE ... ON CREATE and removed in the same
// statement, to tell a create from a match; it is never committed.
const createdFlag = "created__"

// mergeNodeQueries[kind] creates a node of that kind from $props (recording $actor and
// the time) unless one with $key exists, and returns it as n with created telling which.
var mergeNodeQueries = func() map[Kind]string {
	m := map[Kind]string{}
	for _, k := range Kinds {
		m[k] = `
MERGE (n:` + LabelNode + ` {key: $key})
  ON CREATE SET n:` + string(k) + `, n += $props,
    n.recordedAt = datetime.transaction(), n.recordedBy = $actor, n.` + createdFlag + ` = true
WITH n, coalesce(n.` + createdFlag + `, false) AS created
REMOVE n.` + createdFlag + `
RETURN n, created`
	}
	return m
}()

// mergeDatasetsOfRows merges the dataset of each of $rows (datasetKey, name,
// namespace, uri), the first step of recording its version.
const mergeDatasetsOfRows = `
UNWIND $rows AS row
MERGE (d:` + LabelNode + ` {key: row.datasetKey})
  ON CREATE SET d:` + string(KindDataset) + `, d.kind = '` + string(KindDataset) + `',
    d.name = row.name, d.namespace = row.namespace, d.uri = row.uri,
    d.recordedAt = datetime.transaction(), d.recordedBy = $actor
`

// mergeDatasetVersionRows merges datasets and dataset versions from $rows (datasetKey,
// key, name, namespace, uri, version, versionId; sorted by key so concurrent writers
// lock in one order) with the properties RegisterDatasetVersion gives them, write-locks
// each version, and leaves v and created for the caller's RETURN. The ingest
// surfaces, which record many versions per event, share it.
const mergeDatasetVersionRows = mergeDatasetsOfRows + `
MERGE (v:` + LabelNode + ` {key: row.key})
  ON CREATE SET v:` + string(KindDatasetVersion) + `, v.kind = '` + string(KindDatasetVersion) + `',
    v.name = row.name, v.namespace = row.namespace, v.uri = row.uri, v.version = row.version,
    v.versionId = row.versionId, v.` + propRecordedSeq + ` = row.seq, v.` + propRecordedAsOutput + ` = row.asOutput,
    v.recordedAt = datetime.transaction(), v.recordedBy = $actor, v.` + createdFlag + ` = true
WITH d, v, row, v.` + createdFlag + ` IS NOT NULL AS created
// Only a node created here is written to: touching an existing one would lock it.
FOREACH (_ IN CASE WHEN created THEN [1] ELSE [] END | REMOVE v.` + createdFlag + `)
FOREACH (_ IN CASE WHEN coalesce(row.lock, true) AND NOT created THEN [1] ELSE [] END | SET v._lock_ = true REMOVE v._lock_)
FOREACH (_ IN CASE WHEN created THEN [1] ELSE [] END | CREATE (v)-[:` + RelVersionOf + `]->(d))`

// datasetVersionRef is a dataset version as the surfaces that record many per report
// name it: its dataset (namespace and name), where it lives, and its version within
// the dataset. It is the one place such a version's IDs and its row for
// mergeDatasetVersionRows are made.
type datasetVersionRef struct {
	namespace, name, uri string
	version              string
	// versionID is the version id the source gave (stored as versionId), or "".
	versionID string
}

func (v datasetVersionRef) datasetKey() string { return DatasetKey(v.namespace, v.name) }
func (v datasetVersionRef) key() string        { return DatasetVersionKey(v.namespace, v.name, v.version) }

// row is the row mergeDatasetVersionRows records the version from. seq and asOutput,
// when the caller sets them, order the versions one transaction records.
func (v datasetVersionRef) row() map[string]any {
	var versionID any
	if v.versionID != "" {
		versionID = v.versionID
	}
	return map[string]any{
		"key": v.key(), "datasetKey": v.datasetKey(), "namespace": v.namespace, "name": v.name,
		"uri": v.uri, "version": v.version, "versionId": versionID,
	}
}

// cypherRegisterDatasetVersions merges the dataset versions of $rows (i, datasetKey,
// key, name, namespace, uri, props; sorted by key so concurrent writers lock in one
// order) and their datasets, and returns each version with created telling whether
// this statement made it.
const cypherRegisterDatasetVersions = mergeDatasetsOfRows + `
MERGE (v:` + LabelNode + ` {key: row.key})
  ON CREATE SET v:` + string(KindDatasetVersion) + `, v += row.props,
    v.recordedAt = datetime.transaction(), v.recordedBy = $actor, v.` + createdFlag + ` = true
WITH row, d, v, coalesce(v.` + createdFlag + `, false) AS created
REMOVE v.` + createdFlag + `
FOREACH (_ IN CASE WHEN created THEN [1] ELSE [] END | CREATE (v)-[:` + RelVersionOf + `]->(d))
RETURN row.i AS i, v, created`

// datasetVersionPlan is a checked DatasetVersionInput: what registering it writes and
// how a repeat is compared with what was recorded.
type datasetVersionPlan struct {
	in                            DatasetVersionInput
	key, datasetKey               string
	namespace, name, version, uri string
	props                         map[string]any
}

// planDatasetVersion checks every field of in, each error naming its field, and works
// out what registering it writes.
func planDatasetVersion(in DatasetVersionInput) (datasetVersionPlan, error) {
	namespace, name, err := datasetIdentity(in)
	if err != nil {
		return datasetVersionPlan{}, err
	}
	if err := checkOptText("digest", in.Digest, MaxDigestLength); err != nil {
		return datasetVersionPlan{}, err
	}
	if err := checkOptText("versionId", in.VersionID, MaxDigestLength); err != nil {
		return datasetVersionPlan{}, err
	}
	if err := checkDescription("description", in.Description); err != nil {
		return datasetVersionPlan{}, err
	}
	version, err := pinnedVersion(in)
	if err != nil {
		return datasetVersionPlan{}, err
	}
	key := DatasetVersionKey(namespace, name, version)
	if len(key) > MaxIDLength {
		return datasetVersionPlan{}, apperr.Invalid("name", "namespace, name and version make an ID of %d bytes; IDs may have at most %d", len(key), MaxIDLength)
	}
	return datasetVersionPlan{
		in: in, key: key, datasetKey: DatasetKey(namespace, name),
		namespace: namespace, name: name, version: version, uri: in.URI,
		props: map[string]any{
			propKey: key, propKind: string(KindDatasetVersion), propName: name,
			propNamespace: namespace, propURI: in.URI, propVersion: version,
			propDigest: optValue(in.Digest), propVersionID: optValue(in.VersionID),
			propDescription: optValue(in.Description),
		},
	}, nil
}

// row is the plan's row of cypherRegisterDatasetVersions, i its place in the call.
func (p datasetVersionPlan) row(i int) map[string]any {
	return map[string]any{
		"i": i, "datasetKey": p.datasetKey, "key": p.key, "name": p.name,
		"namespace": p.namespace, "uri": p.uri, "props": p.props,
	}
}

// conflict compares a version found recorded with the plan: a pinned version never
// changes (its URI too, unless in.URIIsLocation).
func (p datasetVersionPlan) conflict(existing Node) error {
	checks := []fieldCheck{
		{"namespace", propNamespace, p.namespace},
		{"name", propName, p.name},
		{"uri", propURI, p.in.URI},
		{"digest", propDigest, p.in.Digest},
		{"versionId", propVersionID, p.in.VersionID},
		{"description", propDescription, p.in.Description},
	}
	if p.in.URIIsLocation {
		checks = slices.DeleteFunc(checks, func(c fieldCheck) bool { return c.prop == propURI })
	}
	return firstConflict(existing, "dataset version", checks)
}

// registerDatasetVersions merges the planned versions in one statement and returns,
// in plan order, each version and whether it was created. A version recorded before
// with other content is a CONFLICT, its field prefixed by fieldOf(i).
func registerDatasetVersions(ctx context.Context, tx neo4j.ManagedTransaction, actor string, plans []datasetVersionPlan, fieldOf func(int) string) ([]Node, []bool, error) {
	if len(plans) == 0 {
		return nil, nil, nil
	}
	rows := make([]map[string]any, len(plans))
	for i, p := range plans {
		rows[i] = p.row(i)
	}
	slices.SortFunc(rows, func(a, b map[string]any) int { return strings.Compare(a["key"].(string), b["key"].(string)) })
	recs, err := collect(ctx, tx, cypherRegisterDatasetVersions, map[string]any{"rows": rows, "actor": actor})
	if err != nil {
		return nil, nil, fmt.Errorf("register dataset versions: %w", err)
	}
	if len(recs) != len(plans) {
		return nil, nil, fmt.Errorf("register dataset versions: %d records for %d versions", len(recs), len(plans))
	}
	nodes, created := make([]Node, len(plans)), make([]bool, len(plans))
	for _, rec := range recs {
		i, _ := rec.Get("i")
		idx := int(i.(int64))
		n, err := nodeAt(rec, "v")
		if err != nil {
			return nil, nil, err
		}
		c, _ := rec.Get("created")
		nodes[idx], created[idx] = n, c == true
		if c != true {
			if err := plans[idx].conflict(n); err != nil {
				return nil, nil, apperr.WithFieldPrefix(err, fieldOf(idx))
			}
		}
	}
	return nodes, created, nil
}

// RegisterDatasetVersion records a dataset version (and its dataset on first use).
// Registering an equal version again returns it with created=false; the same version
// with other content is a CONFLICT, because a pinned version never changes (another URI
// too, unless in.URIIsLocation).
func (s *Store) RegisterDatasetVersion(ctx context.Context, actor string, in DatasetVersionInput) (v Node, created bool, err error) {
	p, err := planDatasetVersion(in)
	if err != nil {
		return Node{}, false, err
	}
	type result struct {
		node    Node
		created bool
	}
	res, err := write(ctx, s, actor, ActionDatasetVersionRegister, func(tx neo4j.ManagedTransaction, au *audit) (result, error) {
		au.target(p.key, p.datasetKey)
		nodes, created, err := registerDatasetVersions(ctx, tx, actor, []datasetVersionPlan{p}, func(int) string { return "" })
		if err != nil {
			return result{}, err
		}
		return result{nodes[0], created[0]}, nil
	})
	return res.node, res.created, err
}

// pinnedVersion is the version that identifies in within its dataset: its versionId
// when given, else its digest.
func pinnedVersion(in DatasetVersionInput) (string, error) {
	var version string
	switch {
	case in.VersionID != nil && *in.VersionID != "":
		version = *in.VersionID
	case in.Digest != nil && *in.Digest != "":
		version = *in.Digest
	default:
		return "", apperr.Invalid("digest", "give a digest or a versionId (or both): a dataset version must be pinned")
	}
	if strings.Contains(version, "#") {
		field := "versionId"
		if in.VersionID == nil || *in.VersionID == "" {
			field = "digest"
		}
		return "", apperr.Invalid(field, "must not contain '#', which separates the version in IDs")
	}
	return version, nil
}

// datasetIdentity validates the URI and returns the dataset's namespace and name,
// given or derived from the URI.
func datasetIdentity(in DatasetVersionInput) (namespace, name string, err error) {
	u, err := checkURI("uri", in.URI)
	if err != nil {
		return "", "", err
	}
	if in.Namespace != nil {
		namespace = *in.Namespace
	} else {
		switch {
		case u.Scheme == "file":
			namespace = "file"
		case u.Host != "":
			namespace = u.Scheme + "://" + u.Host
		default:
			return "", "", apperr.Invalid("namespace", "cannot be derived from uri %q; give namespace and name", truncateForMessage(in.URI))
		}
	}
	if in.Name != nil {
		name = *in.Name
	} else {
		name = u.Path
		if u.Scheme != "file" {
			name = strings.TrimPrefix(name, "/")
		}
		if name == "" {
			return "", "", apperr.Invalid("name", "cannot be derived from uri %q, which has no path; give a name", truncateForMessage(in.URI))
		}
	}
	if err := checkText("namespace", namespace, MaxNamespaceLength); err != nil {
		return "", "", err
	}
	if err := checkText("name", name, MaxNameLength); err != nil {
		return "", "", err
	}
	return namespace, name, nil
}
