package store

import (
	"context"
	"fmt"
	"maps"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"

	"github.com/provgraph/provgraph/apperr"
)

// Listings: the endpoints, registered models, datasets and jobs there are, by ID, a page
// at a time, with the filters a person browsing them reaches for.

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
// (namespaced).
type listFamily struct {
	prefix     string
	kinds      []Kind
	nameKeyed  bool
	namespaced bool
}

var (
	endpointFamily        = listFamily{prefix: prefixEndpoint, kinds: []Kind{KindEndpoint}, nameKeyed: true}
	registeredModelFamily = listFamily{prefix: prefixModel, kinds: []Kind{KindRegisteredModel}, nameKeyed: true}
	datasetFamily         = listFamily{prefix: prefixDataset, kinds: []Kind{KindDataset}, namespaced: true}
	jobFamily             = listFamily{prefix: prefixJob, kinds: []Kind{KindTrainingJob, KindProcessingJob}, namespaced: true}
)

// Endpoints lists endpoints by ID.
func (s *Store) Endpoints(ctx context.Context, l Listing) (NodePage, error) {
	return s.list(ctx, endpointFamily, l)
}

// RegisteredModels lists registered models by ID.
func (s *Store) RegisteredModels(ctx context.Context, l Listing) (NodePage, error) {
	return s.list(ctx, registeredModelFamily, l)
}

// Datasets lists datasets by ID: by namespace, then name.
func (s *Store) Datasets(ctx context.Context, l Listing) (NodePage, error) {
	return s.list(ctx, datasetFamily, l)
}

// Jobs lists training and processing jobs by ID: by namespace, then name.
func (s *Store) Jobs(ctx context.Context, l Listing) (NodePage, error) {
	return s.list(ctx, jobFamily, l)
}

// listWhere selects a listing's nodes: those whose ID starts with $base (read from the
// node ID index, in its order) after $after, of the kinds, passing the filters.
const listWhere = `
MATCH (n:` + LabelNode + `)
WHERE n.key STARTS WITH $base AND n.key > $after AND n.kind IN $kinds
  AND ($namespace IS NULL OR n.` + propNamespace + ` = $namespace)
  AND ($namePrefix IS NULL OR n.` + propName + ` STARTS WITH $namePrefix)
  AND ($since IS NULL OR n.` + propRecordedAt + `.epochSeconds * 1000000000 + n.` + propRecordedAt + `.nanosecond >= $since)
  AND ($serving IS NULL OR EXISTS {
    MATCH (:` + LabelNode + `)-[d:` + RelDeployedTo + `]->(n) WHERE d.` + propTo + ` IS NULL
  } = $serving)`

const (
	cypherListNodes = listWhere + `
WITH n ORDER BY n.key LIMIT $limit
RETURN collect(n {.*}) AS nodes`

	cypherCountNodes = listWhere + `
RETURN count(n) AS total`
)

// listCursor continues a listing after the node with Key, for the listing with the
// fingerprint Query.
type listCursor struct {
	Key   string `json:"k"`
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
	kinds, err := checkKinds("kinds", l.Kinds, f.kinds)
	if err != nil {
		return NodePage{}, err
	}
	if len(kinds) == 0 {
		kinds = f.kinds
	}
	// The ID prefix every listed node has, as long as the filters make it: the index
	// seek then reads only them.
	base := f.prefix
	if f.namespaced && l.Namespace != nil {
		base += *l.Namespace + ":"
	}
	if l.NamePrefix != nil && (f.nameKeyed || (f.namespaced && l.Namespace != nil)) {
		base += *l.NamePrefix
	}
	var since, serving any
	if l.RecordedSince != nil {
		since = l.RecordedSince.UnixNano()
	}
	if l.ServingNow != nil {
		serving = *l.ServingNow
	}
	params := map[string]any{
		"base": base, "after": "", "kinds": kindStrings(kinds),
		"namespace": optValue(l.Namespace), "namePrefix": optValue(l.NamePrefix),
		"since": since, "serving": serving, "limit": first + 1,
	}
	fp := listFingerprint(f, l, kinds)
	if l.After != "" {
		var c listCursor
		if err := decodeOpaque("after", l.After, 8192, &c); err != nil || c.Key == "" {
			return NodePage{}, errNotCursor("after")
		}
		if c.Query != fp {
			return NodePage{}, apperr.Invalid("after", "belongs to a list with other arguments; ask for the next page with the same filters")
		}
		params["after"] = c.Key
	}
	return read(ctx, s, func(tx neo4j.ManagedTransaction) (NodePage, error) {
		recs, err := collect(ctx, tx, cypherListNodes, params)
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
			page.Nodes = append(page.Nodes, n)
			page.Cursors = append(page.Cursors, encodeOpaque(listCursor{Key: n.Key, Query: fp}))
		}
		if !l.CountTotal {
			return page, nil
		}
		recs, err = collect(ctx, tx, cypherCountNodes, withParam(params, "after", ""))
		if err != nil {
			return NodePage{}, fmt.Errorf("count %s: %w", f.prefix, err)
		}
		total, _, err := neo4j.GetRecordValue[int64](recs[0], "total")
		if err != nil {
			return NodePage{}, fmt.Errorf("count %s: %w", f.prefix, err)
		}
		page.TotalCount = int(total)
		return page, nil
	})
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
