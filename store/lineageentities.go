package store

import (
	"cmp"
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"

	"github.com/provgraph/provgraph/apperr"
)

// Lineage entities: what an API that names the graph's nodes by where their data lies
// (a source URI) or by the ID a deployment system gave them asks of the store. A
// location holds one entity: a dataset version of the location's dataset, or an
// artifact (a model, an image, code); recording a location twice finds what is there.

// Audit actions of the writes below.
const (
	ActionLocationRecord = "location.record"
	ActionNodeRetag      = "node.retag"
	ActionAssociationAdd = "association.add"
	ActionEntityUpdate   = "entity.update"
)

// ChangePropertyPrefix starts the field of an audited change of an entity's property.
const ChangePropertyPrefix = "properties."

// Properties of an entity recorded at a location, beyond the common ones.
const (
	propEntityType     = "entityType"
	propPropertyKeys   = "propertyKeys"
	propPropertyValues = "propertyValues"
)

// MaxEntityProperties is how many properties an entity recorded at a location may have.
const MaxEntityProperties = 30

// MaxEntityPropertyValue is the longest property value of such an entity, in bytes.
const MaxEntityPropertyValue = 4096

// EntityType is the type an entity was recorded with (a dataset, a model, an image),
// or "" when it was recorded without one.
func (n Node) EntityType() string { return n.String(propEntityType) }

// EntityProperties are the properties an entity was recorded with, in the order given.
func (n Node) EntityProperties() []Tag { return n.pairs(propPropertyKeys, propPropertyValues) }

// NormalizeLocation returns the form under which provgraph records a location: scheme
// s3 (s3a and s3n too) in lower case, the bucket in lower case, repeated slashes
// collapsed and no trailing slash, so that s3://Bucket/a//b/ and s3://bucket/a/b are
// one location. Other URIs only lose trailing slashes. A URI without a scheme, or
// with a password, is refused naming field.
func NormalizeLocation(field, raw string) (string, error) {
	uri := strings.TrimSpace(raw)
	lower := strings.ToLower(uri)
	for _, scheme := range []string{"s3://", "s3a://", "s3n://"} {
		if !strings.HasPrefix(lower, scheme) {
			continue
		}
		bucket, key, _ := strings.Cut(uri[len(scheme):], "/")
		parts := strings.FieldsFunc(key, func(r rune) bool { return r == '/' })
		uri = "s3://" + strings.ToLower(bucket)
		if len(parts) > 0 {
			uri += "/" + strings.Join(parts, "/")
		}
		if bucket == "" {
			return "", apperr.Invalid(field, "S3 URI %q names no bucket", truncateForMessage(raw))
		}
		break
	}
	for strings.HasSuffix(uri, "/") && !strings.HasSuffix(uri, "://") {
		uri = strings.TrimSuffix(uri, "/")
	}
	u, err := url.Parse(uri)
	if err != nil || u.Scheme == "" {
		return "", apperr.Invalid(field, "must be an absolute URI with a scheme, like s3://bucket/path or file:///data/x (got %q)", truncateForMessage(raw))
	}
	if _, hasPassword := u.User.Password(); hasPassword {
		return "", apperr.Invalid(field, "must not contain a password; record the location without credentials")
	}
	return uri, nil
}

// cypherNodesAtLocation finds the artifact recorded at $uri (by its key $artifact) and
// the versions of the location's dataset ($dataset) that live at $uri.
const cypherNodesAtLocation = `
MATCH (n:` + LabelNode + ` {key: $artifact}) RETURN n {.*} AS n
UNION
MATCH (:` + LabelNode + ` {key: $dataset})<-[:` + RelVersionOf + `]-(n:` + string(KindDatasetVersion) + `)
WHERE n.uri = $uri
RETURN n {.*} AS n`

// NodesAtLocation returns what is recorded at the location uri (normalized as
// NormalizeLocation does): the artifact there and the dataset versions that live
// there, the first recorded first. A malformed uri is an INVALID_ARGUMENT error about
// field.
func (s *Store) NodesAtLocation(ctx context.Context, field, uri string) ([]Node, error) {
	l, err := locate(field, uri, LocationVersions{})
	if err != nil {
		return nil, err
	}
	return read(ctx, s, func(tx neo4j.ManagedTransaction) ([]Node, error) {
		return nodesAtLocation(ctx, tx, l)
	})
}

func nodesAtLocation(ctx context.Context, tx neo4j.ManagedTransaction, l jobLocation) ([]Node, error) {
	recs, err := collect(ctx, tx, cypherNodesAtLocation, map[string]any{
		"artifact": ArtifactKey(l.uri), "dataset": l.datasetKey(), "uri": l.uri,
	})
	if err != nil {
		return nil, fmt.Errorf("look up what is recorded at %q: %w", l.uri, err)
	}
	out := make([]Node, 0, len(recs))
	for _, r := range recs {
		props, _, err := neo4j.GetRecordValue[map[string]any](r, "n")
		if err != nil {
			return nil, fmt.Errorf("read node at %q: %w", l.uri, err)
		}
		out = append(out, nodeFromProps(props))
	}
	slices.SortFunc(out, func(a, b Node) int {
		return cmp.Or(a.RecordedAt.Compare(b.RecordedAt), cmp.Compare(a.Key, b.Key))
	})
	return out, nil
}

// LocationEntity says what a location holds.
type LocationEntity int

// What a location can hold.
const (
	// LocationDataset: a version of the location's dataset, as jobs read and write them.
	LocationDataset LocationEntity = iota
	// LocationArtifact: an artifact (a model, an image, code) with the location's URI.
	LocationArtifact
)

// LocationRecord asks to record what lies at a location.
type LocationRecord struct {
	URI    string
	Entity LocationEntity
	// Version is the version of a dataset location, the one its first reader or writer
	// would pin it at (see LocationVersions.Pinned).
	Version string
	// Name names the entity; by default a dataset version is named after its dataset
	// and an artifact after the last part of its path.
	Name *string
	// Type is the entity's type as its source calls it ("DataSet", "Model", "Image").
	Type       string
	Properties []Tag
	Tags       []Tag
}

// planLocation checks a record and returns its location and the properties its node
// gets beyond what any dataset version or artifact has.
func planLocation(in LocationRecord) (jobLocation, map[string]any, error) {
	versions := LocationVersions{Pinned: in.Version}
	if in.Entity == LocationDataset {
		if err := checkText("version", in.Version, MaxShortTextLength); err != nil {
			return jobLocation{}, nil, err
		}
	}
	l, err := locate("uri", in.URI, versions)
	if err != nil {
		return l, nil, err
	}
	if err := checkText("type", in.Type, MaxShortTextLength); err != nil {
		return l, nil, err
	}
	if err := checkOptText("name", in.Name, MaxShortTextLength); err != nil {
		return l, nil, err
	}
	if len(in.Properties) > MaxEntityProperties {
		return l, nil, apperr.Invalid("properties", "must hold at most %d properties (got %d)", MaxEntityProperties, len(in.Properties))
	}
	propKeys, propValues := make([]string, 0, len(in.Properties)), make([]string, 0, len(in.Properties))
	for i, p := range in.Properties {
		if err := checkText(fmt.Sprintf("properties[%d].key", i), p.Key, MaxShortTextLength); err != nil {
			return l, nil, err
		}
		if len(p.Value) > MaxEntityPropertyValue {
			return l, nil, apperr.Invalid(fmt.Sprintf("properties[%d].value", i), "must be at most %d bytes (got %d)", MaxEntityPropertyValue, len(p.Value))
		}
		propKeys, propValues = append(propKeys, p.Key), append(propValues, p.Value)
	}
	tagKeys, tagValues, err := checkTags("tags", in.Tags)
	if err != nil {
		return l, nil, err
	}
	extra := map[string]any{
		propEntityType: in.Type, propPropertyKeys: propKeys, propPropertyValues: propValues,
		propTagKeys: tagKeys, propTagValues: tagValues,
	}
	if in.Name != nil {
		extra[propName] = *in.Name
	}
	return l, extra, nil
}

// cypherRecordLocationVersion merges the dataset version of $rows (one row) and sets
// $extra on it when this statement created it.
const cypherRecordLocationVersion = mergeDatasetVersionRows + `
FOREACH (_ IN CASE WHEN created THEN [1] ELSE [] END | SET v += $extra)
RETURN v AS n, created`

// RecordLocation records the entity at a location, unless one is recorded there: then
// it returns the first recorded there, with created false, and changes nothing. A
// location holds one entity, so a dataset version asked for where an artifact lies
// (or the other way round) is that artifact.
func (s *Store) RecordLocation(ctx context.Context, actor string, in LocationRecord) (n Node, created bool, err error) {
	l, extra, err := planLocation(in)
	if err != nil {
		return Node{}, false, err
	}
	type result struct {
		n       Node
		created bool
	}
	r, err := write(ctx, s, actor, ActionLocationRecord, func(tx neo4j.ManagedTransaction, au *audit) (result, error) {
		there, err := nodesAtLocation(ctx, tx, l)
		if err != nil || len(there) > 0 {
			return result{n: firstOf(there)}, err
		}
		var recs []*neo4j.Record
		if in.Entity == LocationDataset {
			recs, err = collect(ctx, tx, cypherRecordLocationVersion, map[string]any{
				"rows": []map[string]any{l.row(l.versionKey(in.Version))}, "extra": extra, "actor": actor,
			})
		} else {
			props := artifactAt(l.uri, extra)
			recs, err = collect(ctx, tx, mergeNodeQueries[KindArtifact], map[string]any{"key": props[propKey], "props": props, "actor": actor})
		}
		if err != nil {
			return result{}, fmt.Errorf("record %q: %w", l.uri, err)
		}
		n, err := nodeAt(recs[0], "n")
		if err != nil {
			return result{}, err
		}
		c, _ := recs[0].Get("created")
		if c == true {
			au.target(n.Key)
		}
		return result{n, c == true}, nil
	})
	return r.n, r.created, err
}

// artifactAt is the properties of a new artifact at uri, with extra.
func artifactAt(uri string, extra map[string]any) map[string]any {
	name := uri
	if i := strings.LastIndex(strings.TrimSuffix(uri, "/"), "/"); i >= 0 && i < len(uri)-1 && !strings.HasSuffix(uri[:i], ":/") {
		name = uri[i+1:]
	}
	props := map[string]any{propKey: ArtifactKey(uri), propKind: string(KindArtifact), propName: name, propURI: uri}
	for k, v := range extra {
		props[k] = v
	}
	return props
}

func firstOf(nodes []Node) Node {
	if len(nodes) == 0 {
		return Node{}
	}
	return nodes[0]
}

// cypherNodesByExternalID finds the nodes of one kind with an external ID (for the
// kinds that have one, a small number: endpoints, jobs, model versions).
var cypherNodesByExternalID = func() map[Kind]string {
	m := map[Kind]string{}
	for _, k := range []Kind{KindEndpoint, KindTrainingJob, KindProcessingJob, KindModelVersion} {
		m[k] = `MATCH (n:` + string(k) + `) WHERE n.` + propExternalID + ` = $id RETURN n ORDER BY n.key`
	}
	return m
}()

// NodeByExternalID returns the node of kind whose ID in the system that ran or
// registered it (an ARN) is id, comparing IDs without case, or a NOT_FOUND error
// about field.
func (s *Store) NodeByExternalID(ctx context.Context, field string, kind Kind, id string) (Node, error) {
	q, ok := cypherNodesByExternalID[kind]
	if !ok {
		return Node{}, apperr.Invalid(field, "%s nodes carry no external ID", kind)
	}
	return read(ctx, s, func(tx neo4j.ManagedTransaction) (Node, error) {
		recs, err := collect(ctx, tx, q, map[string]any{"id": id})
		if err != nil {
			return Node{}, fmt.Errorf("look up %s %q: %w", kind, id, err)
		}
		if len(recs) == 0 {
			return Node{}, notFound(field, id)
		}
		return nodeAt(recs[0], "n")
	})
}

// cypherRelabelNode sets one of a node's key/value lists (tags or properties: their
// property names come from Go constants) and returns it with its old lists.
var cypherRelabelNode = func() map[string]string {
	m := map[string]string{}
	for _, p := range [][2]string{{propTagKeys, propTagValues}, {propPropertyKeys, propPropertyValues}} {
		m[p[0]] = `
MATCH (n:` + LabelNode + ` {key: $key})
WITH n, n {.` + p[0] + `, .` + p[1] + `} AS old
SET n.` + p[0] + ` = $keys, n.` + p[1] + ` = $values, n.updatedAt = datetime.transaction(), n.updatedBy = $actor
RETURN n, old`
	}
	return m
}()

// RetagNode sets the tags set on the node with ID key and removes those named in del
// — labels, where the last write wins; the audit entry keeps each old value, so what a
// tag said is never lost.
func (s *Store) RetagNode(ctx context.Context, actor, field, key string, set []Tag, del []string) (Node, error) {
	return s.relabel(ctx, actor, ActionNodeRetag, field, key, propTagKeys, func(n Node) ([]string, []string, error) {
		return mergeTags(n.Tags(), set, del)
	})
}

// UpdateEntityProperties sets the properties set of the entity with ID key and
// removes those named in del: properties describe an entity, like its tags, and the
// audit entry keeps each old value. At most MaxEntityProperties remain.
func (s *Store) UpdateEntityProperties(ctx context.Context, actor, field, key string, set []Tag, del []string) (Node, error) {
	return s.relabel(ctx, actor, ActionEntityUpdate, field, key, propPropertyKeys, func(n Node) ([]string, []string, error) {
		m := map[string]string{}
		var order []string
		for _, p := range n.EntityProperties() {
			m[p.Key], order = p.Value, append(order, p.Key)
		}
		for _, k := range del {
			delete(m, k)
		}
		for i, p := range set {
			if err := checkText(fmt.Sprintf("properties[%d].key", i), p.Key, MaxShortTextLength); err != nil {
				return nil, nil, err
			}
			if len(p.Value) > MaxEntityPropertyValue {
				return nil, nil, apperr.Invalid(fmt.Sprintf("properties[%d].value", i), "must be at most %d bytes (got %d)", MaxEntityPropertyValue, len(p.Value))
			}
			if _, had := m[p.Key]; !had {
				order = append(order, p.Key)
			}
			m[p.Key] = p.Value
		}
		var keys, values []string
		for _, k := range order {
			if v, ok := m[k]; ok {
				keys, values = append(keys, k), append(values, v)
				delete(m, k)
			}
		}
		if len(keys) > MaxEntityProperties {
			return nil, nil, apperr.Invalid("properties", "an entity may have at most %d properties (would have %d)", MaxEntityProperties, len(keys))
		}
		return keys, values, nil
	})
}

// relabel replaces the key/value list keysProp names (tags or properties) of the node
// with ID key by what merge makes of the node, recording each change with its old value.
func (s *Store) relabel(ctx context.Context, actor, action, field, key, keysProp string, merge func(Node) ([]string, []string, error)) (Node, error) {
	if _, err := KindsOfID(field, key); err != nil {
		return Node{}, err
	}
	return write(ctx, s, actor, action, func(tx neo4j.ManagedTransaction, au *audit) (Node, error) {
		au.target(key)
		if _, err := collect(ctx, tx, cypherLockNode, map[string]any{"key": key}); err != nil {
			return Node{}, fmt.Errorf("lock %q: %w", key, err)
		}
		n, err := nodeByKey(ctx, tx, field, key)
		if err != nil {
			return Node{}, err
		}
		keys, values, err := merge(n)
		if err != nil {
			return Node{}, err
		}
		recs, err := collect(ctx, tx, cypherRelabelNode[keysProp], map[string]any{"key": key, "keys": keys, "values": values, "actor": actor})
		if err != nil {
			return Node{}, fmt.Errorf("relabel %q: %w", key, err)
		}
		old, n, err := changedNodeAt(recs[0], "n", "old")
		if keysProp == propTagKeys {
			au.changeNode(old, n, true)
		} else {
			au.changePairs(key, ChangePropertyPrefix, old.EntityProperties(), n.EntityProperties())
		}
		return n, err
	})
}

// Association is a provenance edge asked for between two nodes: From flows into To.
type Association struct {
	From, To string
}

// AddAssociation records that data flowed from one node into another, as the rule of
// what jobs and runs read and wrote has it (jobio.go): a dataset version, artifact or
// model version that flows into a job or run was read by it; one that a job or run
// flows into was produced by it, and a dataset version or artifact has one producer.
// Other pairs are INVALID_ARGUMENT errors naming them. An edge already recorded is
// kept; created says whether this call added it.
func (s *Store) AddAssociation(ctx context.Context, actor string, a Association) (created bool, err error) {
	from, err := KindsOfID("source", a.From)
	if err != nil {
		return false, err
	}
	to, err := KindsOfID("destination", a.To)
	if err != nil {
		return false, err
	}
	read, ok := associationDirection(from, to)
	if !ok {
		return false, apperr.Invalid("destination", "provenance joins what was read or written (a dataset version, artifact or model version) and a job or run; %s → %s is not such a pair", from[0], to[0])
	}
	job, node := a.To, a.From
	if !read {
		job, node = a.From, a.To
	}
	return write(ctx, s, actor, ActionAssociationAdd, func(tx neo4j.ManagedTransaction, au *audit) (bool, error) {
		return addAssociationTx(ctx, tx, actor, au, job, node, read)
	})
}

// associationDirection says whether an edge from a node of kinds from to one of kinds
// to is a read (true) or a write (false), or neither (ok false).
func associationDirection(from, to []Kind) (read, ok bool) {
	isData := func(k []Kind) bool {
		return slices.ContainsFunc(k, func(k Kind) bool {
			return k == KindDatasetVersion || k == KindArtifact || k == KindModelVersion
		})
	}
	isJob := func(k []Kind) bool {
		return slices.ContainsFunc(k, func(k Kind) bool {
			return k == KindTrainingJob || k == KindProcessingJob || k == KindRun
		})
	}
	switch {
	case isData(from) && isJob(to):
		return true, true
	case isJob(from) && isData(to):
		return false, true
	}
	return false, false
}

const cypherAssociationState = `
MATCH (j:` + LabelNode + ` {key: $job})
SET j._lock_ = true REMOVE j._lock_
WITH j
MATCH (v:` + LabelNode + ` {key: $node})
OPTIONAL MATCH (p:` + LabelNode + `)-[:` + RelProduced + `]->(v)
RETURN EXISTS { (v)-[:` + RelInputTo + `]->(j) } AS reads, EXISTS { (j)-[:` + RelProduced + `]->(v) } AS wrote,
  collect(p.key) AS producers`

func addAssociationTx(ctx context.Context, tx neo4j.ManagedTransaction, actor string, au *audit, job, node string, read bool) (bool, error) {
	recs, err := collect(ctx, tx, cypherAssociationState, map[string]any{"job": job, "node": node})
	if err != nil {
		return false, fmt.Errorf("look up %q and %q: %w", job, node, err)
	}
	if len(recs) == 0 {
		for field, key := range map[string]string{"source": job, "destination": node} {
			if _, err := nodeByKey(ctx, tx, field, key); err != nil {
				return false, err
			}
		}
		return false, fmt.Errorf("%q and %q exist but were not found together", job, node)
	}
	reads, _ := recs[0].Get("reads")
	wrote, _ := recs[0].Get("wrote")
	producers, _ := recs[0].Get("producers")
	if (read && reads == true) || (!read && wrote == true) {
		return false, nil
	}
	if p := stringsOf(producers); !read && len(p) > 0 {
		return false, apperr.Conflicting("destination", "%q was already produced by %q; a dataset version or artifact has one producer", node, p[0])
	}
	var io jobIO
	if read {
		io.read(job, node, "")
	} else {
		io.wrote(job, node)
	}
	au.target(job, node)
	return true, linkJobIO(ctx, tx, actor, io)
}

// ExternalID is the node's ID in the system that ran or registered it (an ARN), or ""
// when it has none.
func (n Node) ExternalID() string { return n.String(propExternalID) }

// JobSubtype is what kind of job a job node is in the system that ran it
// ("training", "processing", "transform"), or "" when it did not say.
func (n Node) JobSubtype() string { return n.String(propJobSubtype) }

const cypherNodesByID = `UNWIND $keys AS k MATCH (n:` + LabelNode + ` {key: k}) RETURN collect(n {.*}) AS nodes`

// MaxNodesByID is how many IDs NodesByID looks up at once.
const MaxNodesByID = MaxLineageNodes

// NodesByID returns the nodes of the IDs keys that exist, by ID (unknown IDs are
// left out).
func (s *Store) NodesByID(ctx context.Context, keys []string) (map[string]Node, error) {
	if err := CheckSize("keys", len(keys), MaxNodesByID); err != nil && len(keys) > 0 {
		return nil, err
	}
	return read(ctx, s, func(tx neo4j.ManagedTransaction) (map[string]Node, error) {
		recs, err := collect(ctx, tx, cypherNodesByID, map[string]any{"keys": keys})
		if err != nil {
			return nil, fmt.Errorf("look up %d nodes: %w", len(keys), err)
		}
		nodes, err := nodesAt(recs[0], "nodes")
		if err != nil {
			return nil, err
		}
		out := make(map[string]Node, len(nodes))
		for _, n := range nodes {
			out[n.Key] = n
		}
		return out, nil
	})
}
