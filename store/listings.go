package store

import (
	"context"
	"fmt"
	"maps"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"

	"github.com/provgraph/provgraph/apperr"
)

// Listings: the endpoints, registered models, datasets and jobs there are, in ID (or
// name) order, a page at a time, with the filters a person browsing them reaches for.

// Listing narrows a list of nodes. Which filters apply depends on the list: Namespace
// to datasets and jobs, ServingNow to endpoints, Kinds to jobs; the others to all.
type Listing struct {
	// Namespace keeps only nodes of this namespace.
	Namespace *string
	// NamePrefix keeps only nodes whose name starts with it (case-sensitive).
	NamePrefix *string
	// RecordedSince keeps only nodes recorded at or after it.
	RecordedSince *time.Time
	// ServingNow keeps only endpoints with a deployment serving now (true) or only those
	// without (false).
	ServingNow *bool
	// Kinds keeps only jobs of these kinds (training or processing); all when empty.
	Kinds []Kind
	First int
	After string
	// CountTotal asks for TotalCount, which costs a count of every node listed.
	CountTotal bool
}

// NodePage is one page of a listing.
type NodePage struct {
	Nodes []Node
	// Cursors[i] points after Nodes[i].
	Cursors []string
	// EndCursor is where the next page starts; "" when none follows.
	EndCursor string
	// TotalCount is how many nodes the listing holds in all, when asked for.
	TotalCount int
}

// listFamily is what one listing lists: nodes of some kinds whose IDs start with a
// prefix, followed by the name (nameKeyed) or by the namespace, a colon and the name
// (namespaced); and the queries that list and count them by ID.
type listFamily struct {
	prefix      string
	kinds       []Kind
	nameKeyed   bool
	namespaced  bool
	list, count string
}

var (
	endpointFamily = listFamily{prefix: prefixEndpoint, kinds: []Kind{KindEndpoint}, nameKeyed: true,
		list: cypherListEndpoints, count: cypherCountEndpoints}
	registeredModelFamily = listFamily{prefix: prefixModel, kinds: []Kind{KindRegisteredModel}, nameKeyed: true,
		list: cypherListByID, count: cypherCountByID}
	datasetFamily = listFamily{prefix: prefixDataset, kinds: []Kind{KindDataset}, namespaced: true,
		list: cypherListByID, count: cypherCountByID}
	jobFamily = listFamily{prefix: prefixJob, kinds: []Kind{KindTrainingJob, KindProcessingJob}, namespaced: true,
		list: cypherListByID, count: cypherCountByID}
)

// Endpoints lists endpoints by ID.
func (s *Store) Endpoints(ctx context.Context, l Listing) (NodePage, error) {
	return s.list(ctx, endpointFamily, l)
}

// RegisteredModels lists registered models by ID.
func (s *Store) RegisteredModels(ctx context.Context, l Listing) (NodePage, error) {
	return s.list(ctx, registeredModelFamily, l)
}

// Datasets lists datasets by ID: by namespace, then name; asked for by a name prefix
// without a namespace, by name, then ID.
func (s *Store) Datasets(ctx context.Context, l Listing) (NodePage, error) {
	return s.list(ctx, datasetFamily, l)
}

// Jobs lists training and processing jobs by ID: by namespace, then name; asked for by a
// name prefix without a namespace, by name, then ID.
func (s *Store) Jobs(ctx context.Context, l Listing) (NodePage, error) {
	return s.list(ctx, jobFamily, l)
}

// listFilters are the filters every listing query applies to its nodes n.
const listFilters = `n.kind IN $kinds
  AND ($namespace IS NULL OR n.` + propNamespace + ` = $namespace)
  AND ($namePrefix IS NULL OR n.` + propName + ` STARTS WITH $namePrefix)
  AND ($since IS NULL OR n.` + propRecordedAt + `.epochSeconds * 1000000000 + n.` + propRecordedAt + `.nanosecond >= $since)`

// servingFilter keeps the endpoints serving now, or those not, as $serving says.
const servingFilter = `
  AND ($serving IS NULL OR EXISTS {
    MATCH (:` + LabelNode + `)-[d:` + RelDeployedTo + `]->(n) WHERE d.` + propTo + ` IS NULL
  } = $serving)`

// A listing reads its nodes in order from an index: the node IDs' (by ID, from the
// prefix of them the filters make), or, for datasets and jobs asked for by a name
// prefix alone, node_name_key (by name, then ID), so that a name prefix few of many
// nodes have is answered without reading the others. A page after a cursor starts
// after its position, compared as name NUL ID (names hold no control characters) so
// that the comparison is one filter on the index's order.
const (
	byIDWhere = `
MATCH (n:` + LabelNode + `)
WHERE n.key STARTS WITH $base AND n.key > $afterKey AND ` + listFilters

	byNameWhere = `
MATCH (n:` + LabelNode + `)
WHERE n.` + propName + ` STARTS WITH $namePrefix AND n.key IS NOT NULL
  AND n.` + propName + ` + '\u0000' + n.key > $afterNameKey AND ` + listFilters

	byIDOrder   = "\nWITH n ORDER BY n.key LIMIT $limit\nRETURN collect(n {.*}) AS nodes"
	byNameOrder = "\nWITH n ORDER BY n." + propName + ", n.key LIMIT $limit\nRETURN collect(n {.*}) AS nodes"
	countAll    = "\nRETURN count(n) AS total"

	cypherListByID       = byIDWhere + byIDOrder
	cypherCountByID      = byIDWhere + countAll
	cypherListEndpoints  = byIDWhere + servingFilter + byIDOrder
	cypherCountEndpoints = byIDWhere + servingFilter + countAll
	cypherListByName     = byNameWhere + byNameOrder
	cypherCountByName    = byNameWhere + countAll
)

// cypherCountKind[k] counts the nodes of kind k from Neo4j's count store, without
// reading them: the total of a list no filter narrows.
var cypherCountKind = func() map[Kind]string {
	m := map[Kind]string{}
	for _, k := range Kinds {
		m[k] = `MATCH (n:` + string(k) + `) RETURN count(n) AS total`
	}
	return m
}()

// listCursor continues a listing after the node with Key (and Name, in a listing by
// name), for the listing with the fingerprint Query.
type listCursor struct {
	Key   string `json:"k"`
	Name  string `json:"n,omitempty"`
	Query string `json:"q"`
}

func (s *Store) list(ctx context.Context, f listFamily, l Listing) (NodePage, error) {
	first, err := checkPage(&l.First)
	if err != nil {
		return NodePage{}, err
	}
	if err := checkOptText("namespace", l.Namespace, MaxNamespaceLength); err != nil {
		return NodePage{}, err
	}
	if l.Namespace != nil && *l.Namespace == "" {
		return NodePage{}, apperr.Invalid("namespace", "must not be empty")
	}
	if err := checkOptText("namePrefix", l.NamePrefix, MaxNameLength); err != nil {
		return NodePage{}, err
	}
	if l.NamePrefix != nil && *l.NamePrefix == "" {
		l.NamePrefix = nil
	}
	kinds, err := checkKinds("kinds", l.Kinds, f.kinds)
	if err != nil {
		return NodePage{}, err
	}
	if len(kinds) == 0 {
		kinds = f.kinds
	}
	// The ID prefix every listed node has, as long as the filters make it.
	base := f.prefix
	if f.namespaced && l.Namespace != nil {
		base += *l.Namespace + ":"
	}
	if l.NamePrefix != nil && (f.nameKeyed || (f.namespaced && l.Namespace != nil)) {
		base += *l.NamePrefix
	}
	byName := l.NamePrefix != nil && f.namespaced && l.Namespace == nil
	list, count := f.list, f.count
	if byName {
		list, count = cypherListByName, cypherCountByName
	}
	var since, serving any
	if l.RecordedSince != nil {
		since = l.RecordedSince.UnixNano()
	}
	if l.ServingNow != nil {
		serving = *l.ServingNow
	}
	params := map[string]any{
		"base": base, "afterKey": "", "afterNameKey": "", "kinds": kindStrings(kinds),
		"namespace": optValue(l.Namespace), "namePrefix": optValue(l.NamePrefix),
		"since": since, "serving": serving, "limit": first + 1,
	}
	fp := listFingerprint(f, l, kinds)
	if l.After != "" {
		var c listCursor
		if err := decodeOpaque("after", l.After, 8192, &c); err != nil || c.Key == "" || byName != (c.Name != "") {
			return NodePage{}, errNotCursor("after")
		}
		if c.Query != fp {
			return NodePage{}, apperr.Invalid("after", "belongs to a list with other arguments; ask for the next page with the same filters")
		}
		params["afterKey"], params["afterNameKey"] = c.Key, c.Name+"\x00"+c.Key
	}
	return read(ctx, s, func(tx neo4j.ManagedTransaction) (NodePage, error) {
		recs, err := collect(ctx, tx, list, params)
		if err != nil {
			return NodePage{}, fmt.Errorf("list %s: %w", f.prefix, err)
		}
		nodes, err := nodesAt(recs[0], "nodes")
		if err != nil {
			return NodePage{}, err
		}
		var page NodePage
		for i, n := range nodes {
			if i == first {
				page.EndCursor = page.Cursors[first-1]
				break
			}
			c := listCursor{Key: n.Key, Query: fp}
			if byName {
				c.Name = n.Name
			}
			page.Nodes = append(page.Nodes, n)
			page.Cursors = append(page.Cursors, encodeOpaque(c))
		}
		if !l.CountTotal {
			return page, nil
		}
		page.TotalCount, err = countListed(ctx, tx, l, kinds, count, params)
		return page, err
	})
}

// countListed counts every node a listing holds: from the count store when no filter
// narrows it, else by reading them all with the count query given.
func countListed(ctx context.Context, tx neo4j.ManagedTransaction, l Listing, kinds []Kind, count string, params map[string]any) (int, error) {
	queries := []string{count}
	if l.Namespace == nil && l.NamePrefix == nil && l.RecordedSince == nil && l.ServingNow == nil {
		queries = queries[:0]
		for _, k := range kinds {
			queries = append(queries, cypherCountKind[k])
		}
	}
	total := 0
	for _, q := range queries {
		recs, err := collect(ctx, tx, q, withParam(withParam(params, "afterKey", ""), "afterNameKey", ""))
		if err != nil {
			return 0, fmt.Errorf("count listed nodes: %w", err)
		}
		n, _, err := neo4j.GetRecordValue[int64](recs[0], "total")
		if err != nil {
			return 0, fmt.Errorf("count listed nodes: %w", err)
		}
		total += int(n)
	}
	return total, nil
}

// withParam returns a copy of params with name set to v (work functions may run again,
// so they never change the parameters they were given).
func withParam(params map[string]any, name string, v any) map[string]any {
	out := maps.Clone(params)
	out[name] = v
	return out
}

// listFingerprint identifies a listing apart from paging, for its cursors.
func listFingerprint(f listFamily, l Listing, kinds []Kind) string {
	var since string
	if l.RecordedSince != nil {
		since = l.RecordedSince.UTC().Format(time.RFC3339Nano)
	}
	return queryFingerprint(f.prefix, l.Namespace, l.NamePrefix, since, l.ServingNow, kinds)
}
