package sagemakerapi

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/provgraph/provgraph/apperr"
	"github.com/provgraph/provgraph/store"
)

// QueryLineage's limits, as SageMaker's API model states them (docs/limits.md).
const (
	MaxQueryStartArns  = 1
	MaxQueryDepth      = 10
	DefaultQueryDepth  = 10
	MaxQueryResults    = 50
	MaxQueryTypes      = 5
	MaxQueryTypeLength = 40
	MaxQueryProperties = 5
	MaxQueryPropLength = 256
	// MaxLineageARNLength is longer than AWS's 256: an ARN provgraph mints for a node
	// ID of up to store.MaxIDLength bytes (its base32 form) must come back in.
	MaxLineageARNLength = 8192
)

// DefaultQueryResults is how many vertices QueryLineage answers when MaxResults is not
// sent: the most it may, since the SDK's LineageQuery never asks for the next page.
const DefaultQueryResults = MaxQueryResults

type queryFilters struct {
	Types          []string          `json:"Types"`
	LineageTypes   []string          `json:"LineageTypes"`
	CreatedBefore  *epochTime        `json:"CreatedBefore"`
	CreatedAfter   *epochTime        `json:"CreatedAfter"`
	ModifiedBefore *epochTime        `json:"ModifiedBefore"`
	ModifiedAfter  *epochTime        `json:"ModifiedAfter"`
	Properties     map[string]string `json:"Properties"`
}

type queryLineageRequest struct {
	StartArns    []string      `json:"StartArns"`
	Direction    *string       `json:"Direction"`
	IncludeEdges *bool         `json:"IncludeEdges"`
	Filters      *queryFilters `json:"Filters"`
	MaxDepth     *int          `json:"MaxDepth"`
	MaxResults   *int          `json:"MaxResults"`
	NextToken    *string       `json:"NextToken"`
}

type lineageEdge struct {
	SourceArn       string `json:"SourceArn"`
	DestinationArn  string `json:"DestinationArn"`
	AssociationType string `json:"AssociationType"`
}

// directions maps SageMaker's Direction to the store's. Both is the union of the
// upstream and the downstream cone (provgraph's BOTH), not SageMaker's expansion from
// every vertex reached.
var directions = map[string]store.Direction{
	"Ascendants": store.Upstream, "Descendants": store.Downstream, "Both": store.Both,
}

// associationTypes names the graph's edges as SageMaker's AssociationType: data read
// contributed to a job, a job produced its outputs, a model artifact contributed to
// the model version registered from it, a model version is associated with the
// endpoint it was deployed to, and a version with its dataset or registered model.
var associationTypes = map[string]string{
	store.RelInputTo: "ContributedTo", store.RelProduced: "Produced", store.RelRegisteredAs: "ContributedTo",
	store.RelDeployedTo: "AssociatedWith", store.RelVersionOf: "AssociatedWith",
}

// checkQuery checks a QueryLineage request in SageMaker's words and returns its
// direction, depth and page size.
func checkQuery(in *queryLineageRequest) (store.Direction, int, int, error) {
	var c checks
	c.listLength("startArns", len(in.StartArns), 1, MaxQueryStartArns)
	for i, a := range in.StartArns {
		c.length(fmt.Sprintf("startArns.%d.member", i+1), a, 1, MaxLineageARNLength)
	}
	dir := store.Both
	if in.Direction != nil {
		d, ok := directions[*in.Direction]
		if !ok {
			c.fail("direction", *in.Direction, "Member must satisfy enum value set: [Both, Ascendants, Descendants]")
		}
		dir = d
	}
	depth := DefaultQueryDepth
	if in.MaxDepth != nil {
		depth = *in.MaxDepth
		if depth < 0 || depth > MaxQueryDepth {
			c.fail("maxDepth", depth, fmt.Sprintf("Member must have value less than or equal to %d and greater than or equal to 0", MaxQueryDepth))
		}
	}
	size := c.maxResults(in.MaxResults, MaxQueryResults, DefaultQueryResults)
	if in.NextToken != nil {
		c.length("nextToken", *in.NextToken, 0, MaxNextTokenLength)
	}
	if f := in.Filters; f != nil {
		c.listLength("filters.types", len(f.Types), 0, MaxQueryTypes)
		for i, t := range f.Types {
			c.length(fmt.Sprintf("filters.types.%d.member", i+1), t, 0, MaxQueryTypeLength)
		}
		c.listLength("filters.lineageTypes", len(f.LineageTypes), 0, len(lineageTypes))
		for i, t := range f.LineageTypes {
			if !slices.Contains(lineageTypes, t) {
				c.fail(fmt.Sprintf("filters.lineageTypes.%d.member", i+1), t, "Member must satisfy enum value set: [TrialComponent, Artifact, Context, Action]")
			}
		}
		c.listLength("filters.properties", len(f.Properties), 0, MaxQueryProperties)
		for k, v := range f.Properties {
			c.length("filters.properties.key", k, 0, MaxQueryPropLength)
			c.length("filters.properties.value", v, 0, MaxQueryPropLength)
		}
	}
	return dir, depth, size, c.err()
}

// kindsFor are the node kinds whose vertices filters f can let through, all when f
// does not narrow them. An empty non-nil answer means none can.
func kindsFor(f *queryFilters) []store.Kind {
	if f == nil || (len(f.Types) == 0 && len(f.LineageTypes) == 0) {
		return nil
	}
	out := []store.Kind{}
	for _, k := range store.Kinds {
		lt, types := kindVertices(k)
		if len(f.LineageTypes) > 0 && !slices.Contains(f.LineageTypes, lt) {
			continue
		}
		if len(f.Types) > 0 && types != nil && !slices.ContainsFunc(f.Types, func(t string) bool { return slices.Contains(types, t) }) {
			continue
		}
		out = append(out, k)
	}
	return out
}

// kindVertices is the lineage type of a kind's vertices and the types they can have
// (nil: any, for artifacts recorded with a type of their own).
func kindVertices(k store.Kind) (string, []string) {
	switch k {
	case store.KindEndpoint:
		return lineageContext, []string{typeEndpoint}
	case store.KindRegisteredModel:
		return lineageContext, []string{typeModelGroup}
	case store.KindExperiment:
		return lineageContext, []string{typeExperiment}
	case store.KindRunGroup:
		return lineageContext, []string{typeTrial}
	case store.KindTrainingJob:
		return lineageTrialComponent, []string{typeTrainingJob}
	case store.KindProcessingJob:
		return lineageTrialComponent, []string{typeProcessingJob, typeTransformJob}
	case store.KindRun:
		return lineageTrialComponent, []string{typeRun}
	case store.KindDataset, store.KindDatasetVersion:
		return lineageArtifact, []string{typeDataSet}
	case store.KindModelVersion:
		return lineageArtifact, []string{typeModel}
	}
	return lineageArtifact, nil
}

// passes tells whether node n, as vertex v, passes the filters f.
func passes(f *queryFilters, n store.Node, v vertex) bool {
	if f == nil {
		return true
	}
	if len(f.Types) > 0 && !slices.Contains(f.Types, v.Type) {
		return false
	}
	if len(f.LineageTypes) > 0 && !slices.Contains(f.LineageTypes, v.LineageType) {
		return false
	}
	if !inWindow(n.RecordedAt, f.CreatedAfter, f.CreatedBefore) || !inWindow(modifiedAt(n), f.ModifiedAfter, f.ModifiedBefore) {
		return false
	}
	for k, want := range f.Properties {
		if propertyOf(n, k) != want {
			return false
		}
	}
	return true
}

// propertyOf is the property k of a lineage entity: one it was recorded with, else a
// stored text property of that name.
func propertyOf(n store.Node, k string) string {
	for _, p := range n.EntityProperties() {
		if p.Key == k {
			return p.Value
		}
	}
	return n.String(k)
}

// wholeCone is the most nodes a cone may have to be answered from one traversal: the
// store's most (tests lower it to reach the store's paging).
var wholeCone = func() *atomic.Int64 {
	var n atomic.Int64
	n.Store(store.MaxLineageNodes)
	return &n
}()

// queryLineage answers QueryLineage from the store's lineage traversal, the one
// GraphQL's lineage makes, so both see the same cone. The first page traverses the
// whole cone, as GraphQL's lineage does, and answers the first MaxResults vertices
// that pass the filters, by ARN; the cone is kept (conecache.go) and each later page
// answers the next vertices after the NextToken's ARN, from the kept cone or, when this
// process no longer keeps it, from a new traversal: the graph only grows and a node
// never leaves a cone, so paging neither repeats nor skips a vertex. A cone too large
// for one traversal (store.MaxLineageNodes) is paged by the store's cursor instead, as
// GraphQL's lineage pages it.
func queryLineage(ctx context.Context, api *API, body []byte) (any, error) {
	var in queryLineageRequest
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	dir, depth, size, err := checkQuery(&in)
	if err != nil {
		return nil, err
	}
	question := queryFingerprint(in)
	tok, err := decodeQueryToken(in.NextToken, question)
	if err != nil {
		return nil, err
	}
	// The traversal looks the start nodes up itself: an unknown one is NOT_FOUND.
	starts, act, err := api.queryStarts(ctx, in.StartArns[0], dir)
	if err != nil {
		return nil, err
	}
	ap, tok := actionPageOf(act, in.Filters, tok)
	kinds := kindsFor(in.Filters)
	if kinds != nil && len(kinds) == 0 {
		// No node's vertex can pass the filters; the start must still exist.
		if _, err := api.st.NodeByID(ctx, "StartArns", starts[0]); apperr.CodeOf(err) == apperr.NotFound {
			return nil, resourceNotFound("StartArns '%s' does not exist", shorten(in.StartArns[0]))
		} else if err != nil {
			return nil, err
		}
		return ap.add(api, map[string]any{"Vertices": []vertex{}, "Edges": []lineageEdge{}}, &in, lineagePage{}), nil
	}
	if ap.vertex {
		// The action is the first page's first vertex.
		if size == 1 {
			out := ap.add(api, map[string]any{"Vertices": []vertex{}, "Edges": []lineageEdge{}}, &in, lineagePage{})
			out["NextToken"] = encodeQueryToken(queryToken{After: afterAction}, question)
			return out, nil
		}
		size--
	}
	q := store.LineageQuery{
		Start: starts, Direction: dir, MaxDepth: depth, Kinds: kinds,
		SkipEdges: in.IncludeEdges == nil || !*in.IncludeEdges, After: tok.Cursor,
	}
	ask := pageAsk{start: in.StartArns[0], question: question, filters: in.Filters, size: size}
	c, endCursor, storePaged, err := api.traverse(ctx, ask, q, &tok)
	if err != nil {
		return nil, err
	}
	page := c.page(tok.After, size, storePaged)
	out := map[string]any{"Vertices": page.vertices, "Edges": []lineageEdge{}}
	if !q.SkipEdges {
		if out["Edges"], err = api.lineageEdges(ctx, c.edges, page); err != nil {
			return nil, err
		}
	}
	ap.add(api, out, &in, page)
	switch {
	case storePaged && endCursor != "":
		out["NextToken"] = encodeQueryToken(queryToken{Cursor: endCursor}, question)
	case !storePaged && page.more:
		if tok.Cone == "" {
			tok.Cone = api.cones.keep(question, c)
		}
		out["NextToken"] = encodeQueryToken(queryToken{After: page.vertices[len(page.vertices)-1].Arn, Cone: tok.Cone}, question)
	case tok.Cone != "":
		api.cones.drop(tok.Cone) // the last page
	}
	return out, nil
}

// pageAsk is what a QueryLineage page asks of the traversal: from the ARN start, for
// the question (its fingerprint) with filters, pages of size vertices.
type pageAsk struct {
	start, question string
	filters         *queryFilters
	size            int
}

// traverse answers the cone of q for the page tok asks for: from the cone cache when
// the first page kept it there (tok.Cone, cleared when it is no longer kept), else
// from the store, whole when it fits in one traversal (storePaged false), else the
// store's page, with the cursor of the next (endCursor).
func (api *API) traverse(ctx context.Context, ask pageAsk, q store.LineageQuery, tok *queryToken) (c cone, endCursor string, storePaged bool, err error) {
	if tok.Cone != "" {
		if c, ok := api.cones.get(tok.Cone, ask.question); ok {
			return c, "", false, nil
		}
		tok.Cone = "" // no longer kept: the cone traversed now is kept for the next page
	}
	q.Budget = int(wholeCone.Load())
	if tok.Cursor != "" {
		q.Budget = ask.size
	}
	l, err := api.st.Lineage(ctx, q)
	if e, ok := apperr.As(err); ok && e.Code == apperr.InvalidArgument && e.Field == "after" {
		return c, "", false, badQueryToken
	}
	if apperr.CodeOf(err) == apperr.NotFound {
		return c, "", false, resourceNotFound("StartArns '%s' does not exist", shorten(ask.start))
	}
	if err != nil {
		return c, "", false, err
	}
	storePaged = tok.Cursor != ""
	if l.Truncated && tok.After != "" {
		return c, "", false, validation("the lineage grew past %d nodes since the first page; ask again from the first page (without NextToken), which pages it another way", q.Budget)
	}
	if l.Truncated && !storePaged {
		// Too large to answer from one traversal: the store pages it.
		q.Budget, storePaged = ask.size, true
		if l, err = api.st.Lineage(ctx, q); err != nil {
			return c, "", false, err
		}
	}
	if l.Truncated && l.EndCursor == "" {
		// The store cut the answer where it cannot page it (a dataset's or model's versions
		// past the budget): say so rather than answer part of it as the whole.
		return c, "", false, resourceLimit("the lineage of StartArns '%s' is larger than one answer can hold and cannot be paged from there; start from a node nearer what you look for, or lower MaxDepth", shorten(ask.start))
	}
	return api.coneOf(ask.filters, l, !storePaged), l.EndCursor, storePaged, nil
}

// cone is a traversal's answer as QueryLineage pages it, and as the cone cache keeps
// it: the vertices (the nodes that pass the question's filters), by ARN unless the
// store paged them, every node's ARN, and the edges. It holds no node properties.
type cone struct {
	vertices []keyedVertex
	arnOf    map[string]string
	isVertex map[string]bool
	edges    []store.Edge
}

type keyedVertex struct {
	key string
	v   vertex
}

// coneOf is l as QueryLineage pages it, its vertices sorted by ARN when byARN.
func (api *API) coneOf(f *queryFilters, l store.Lineage, byARN bool) cone {
	c := cone{arnOf: make(map[string]string, len(l.Nodes)), isVertex: map[string]bool{}, edges: l.Edges}
	for _, n := range l.Nodes {
		v := api.arns.vertexOf(n)
		c.arnOf[n.Key] = v.Arn
		if passes(f, n, v) {
			c.isVertex[n.Key] = true
			c.vertices = append(c.vertices, keyedVertex{n.Key, v})
		}
	}
	if byARN {
		slices.SortFunc(c.vertices, func(a, b keyedVertex) int { return strings.Compare(a.v.Arn, b.v.Arn) })
	}
	return c
}

// bytes is about how much memory c holds: its strings and their bookkeeping.
func (c cone) bytes() int {
	const entry = 64 // a map entry's or slice element's own bookkeeping, roughly
	n := 0
	for _, v := range c.vertices {
		n += len(v.key) + len(v.v.Arn) + len(v.v.Type) + len(v.v.LineageType) + entry
	}
	for k, arn := range c.arnOf {
		n += len(k) + len(arn) + 2*entry // arnOf's entry and isVertex's
	}
	for _, e := range c.edges {
		n += len(e.From) + len(e.To) + len(e.Type) + entry
	}
	return n
}

// lineagePage is one page of a QueryLineage answer: its vertices, the ARNs of the
// nodes the traversal answered, which of them are vertices (pass the filters) and
// which are on this page, and whether more pages follow.
type lineagePage struct {
	vertices   []vertex
	arnOf      map[string]string
	isVertex   map[string]bool
	onPage     map[string]bool
	storePaged bool
	more       bool
}

// page picks the page of c after the ARN after, size vertices at most (all of c,
// when the store paged it).
func (c cone) page(after string, size int, storePaged bool) lineagePage {
	p := lineagePage{arnOf: c.arnOf, isVertex: c.isVertex, onPage: map[string]bool{}, storePaged: storePaged}
	vs := c.vertices
	if !storePaged {
		vs = vs[sort.Search(len(vs), func(i int) bool { return vs[i].v.Arn > after }):]
		if len(vs) > size {
			vs, p.more = vs[:size], true
		}
	}
	p.vertices = make([]vertex, 0, len(vs))
	for _, e := range vs {
		p.vertices = append(p.vertices, e.v)
		p.onPage[e.key] = true
	}
	return p
}

// onThisPage tells whether the page answers edge e. Paged by ARN, an edge is answered
// once, on the page of its end that is a vertex, the later one by ARN when both are.
// Paged by the store, the store gave the edges of this page: those among its nodes and
// to earlier pages' nodes.
func (p lineagePage) onThisPage(e store.Edge) bool {
	if p.storePaged {
		return true
	}
	owner := ""
	for _, k := range []string{e.From, e.To} {
		if p.isVertex[k] && (owner == "" || p.arnOf[k] > p.arnOf[owner]) {
			owner = k
		}
	}
	return owner != "" && p.onPage[owner]
}

// lineageEdges writes the page's edges as associations. When the store paged the
// cone, an edge may join a node of this page to one of an earlier page, whose ARN is
// looked up.
func (api *API) lineageEdges(ctx context.Context, edges []store.Edge, p lineagePage) ([]lineageEdge, error) {
	var missing []string
	for _, e := range edges {
		for _, k := range []string{e.From, e.To} {
			if _, ok := p.arnOf[k]; !ok && p.storePaged && !slices.Contains(missing, k) {
				missing = append(missing, k)
			}
		}
	}
	if len(missing) > 0 {
		nodes, err := api.st.NodesByID(ctx, missing)
		if err != nil {
			return nil, err
		}
		for k, n := range nodes {
			p.arnOf[k] = api.arns.vertexOf(n).Arn
		}
	}
	out := make([]lineageEdge, 0, len(edges))
	for _, e := range edges {
		from, to := p.arnOf[e.From], p.arnOf[e.To]
		if from == "" || to == "" || !p.onThisPage(e) {
			continue
		}
		out = append(out, lineageEdge{SourceArn: from, DestinationArn: to, AssociationType: associationTypes[e.Type]})
	}
	return out, nil
}

// queryToken is where the next page of a QueryLineage answer starts: after the vertex
// with ARN After, or at the store's Cursor. Question is the fingerprint of the request
// it was given for; Cone, with After, the cone cache's ID of the cone paged.
type queryToken struct {
	After    string `json:"a,omitempty"`
	Cursor   string `json:"c,omitempty"`
	Cone     string `json:"k,omitempty"`
	Question string `json:"q"`
}

var badQueryToken = validation("the NextToken is not one provgraph gave for this query: pass the NextToken of the previous answer unchanged, with the same StartArns, Direction, IncludeEdges, MaxDepth and Filters")

// queryFingerprint identifies a QueryLineage question: its request as decoded (so that
// members spelled in another case, which decode as the same member, fingerprint as
// they decode), without the members that may change between pages.
func queryFingerprint(in queryLineageRequest) string {
	in.NextToken, in.MaxResults = nil, nil
	b, _ := json.Marshal(in) // members in a fixed order, map keys sorted
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

func encodeQueryToken(t queryToken, question string) string {
	t.Question = question
	b, _ := json.Marshal(t)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeQueryToken(s *string, question string) (queryToken, error) {
	var t queryToken
	if s == nil || *s == "" {
		return t, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(*s)
	if err == nil {
		err = json.Unmarshal(b, &t)
	}
	if err != nil || t.Question != question || (t.After == "") == (t.Cursor == "") || t.Cone != "" && t.After == "" {
		return queryToken{}, badQueryToken
	}
	return t, nil
}
