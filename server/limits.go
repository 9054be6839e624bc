package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/99designs/gqlgen/complexity"
	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/validator/core"
	"github.com/vektah/gqlparser/v2/validator/rules"

	"github.com/provgraph/provgraph/apperr"
)

// Limits on one GraphQL request. All but the deadline are checked before anything
// runs; docs/limits.md lists them with the error each gives.
const (
	// MaxQueryTokens is the most lexical tokens (names, punctuation, values) a query
	// document may have; the parser stops at the next one. Large values belong in
	// variables, which do not count.
	MaxQueryTokens = 15000
	// MaxQueryDepth is how deeply fields may nest: `{ node(id: …) { id } }` is 2 deep.
	// Introspection below __schema and __type does not count; gqlparser bounds it.
	MaxQueryDepth = 15
	// MaxAliases is the most fields one request may select under a name of its own
	// (`a: lineage(…)`), counted once for every place a fragment is spread.
	MaxAliases = 30
	// MaxRootFields is the most top-level fields one operation may have.
	MaxRootFields = 20
	// MaxComplexity bounds what one request may ask for; see complexityRoot for how a
	// request is weighed.
	MaxComplexity = 200000
	// DefaultRequestTimeout is how long one GraphQL operation may run when
	// Options.RequestTimeout is not set.
	DefaultRequestTimeout = 30 * time.Second
)

// queryLimits refuses, before anything runs, a mutation sent over GET and an
// operation that breaks MaxRootFields, MaxAliases, MaxQueryDepth or MaxComplexity.
// It also enforces the introspection policy.
type queryLimits struct {
	es graphql.ExecutableSchema
	// introspection decides whether a request may introspect; nil allows every one.
	introspection func(context.Context) error
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = &queryLimits{}

func (*queryLimits) ExtensionName() string { return "QueryLimits" }

func (l *queryLimits) Validate(es graphql.ExecutableSchema) error {
	l.es = es
	return nil
}

func (l *queryLimits) MutateOperationContext(ctx context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	op := oc.Operation
	if g, ok := ctx.Value(getRequestKey{}).(*getRequest); ok && op.Operation != ast.Query {
		// SECURITY: a GET must not change anything — caches, prefetching and cross-site
		// links all assume so — and GraphQL over HTTP makes a mutation over GET a 405.
		g.refused = true
		return requestError(apperr.New(apperr.MethodNotAllowed, "", "%ss are accepted only over POST", op.Operation))
	}
	s := newShapeWalker().selectionSet(op.SelectionSet)
	switch {
	case s.top > MaxRootFields:
		return requestError(apperr.Invalid("query", "selects %d top-level fields; at most %d are allowed in one request",
			s.top, MaxRootFields))
	case s.aliases > MaxAliases:
		return requestError(apperr.Invalid("query", "uses %d aliases (fragments counted where spread); at most %d are allowed in one request",
			s.aliases, MaxAliases))
	case s.depth > MaxQueryDepth:
		return requestError(apperr.Invalid("query", "nests fields %d deep; at most %d levels are allowed", s.depth, MaxQueryDepth))
	case s.fields > MaxComplexity:
		// Each field (introspection aside) costs at least 1, so this request is over
		// the limit; saying so here spares weighing a document whose fragments
		// multiply out of all bounds.
		return complexityError(s.fields, "at least ")
	}
	if c := complexity.Calculate(ctx, l.es, op, oc.Variables); c > MaxComplexity {
		return complexityError(c, "")
	}
	if s.introspects && l.introspection != nil {
		// SECURITY: the schema is described only to the callers the policy admits.
		if err := l.introspection(ctx); err != nil {
			if _, ok := apperr.As(err); !ok {
				err = &apperr.Error{Code: apperr.Forbidden, Reason: "introspection is not allowed", Cause: err}
			}
			return gqlerror.WrapIfUnwrapped(err)
		}
	}
	// gqlgen answers __schema and __type only when this is cleared.
	oc.DisableIntrospection = false
	return nil
}

func complexityError(c int, qualifier string) *gqlerror.Error {
	return requestError(apperr.Invalid("query", "has complexity %s%d, above the limit of %d: a field costs 1 plus its "+
		"selection, and a list its page size (first, budget, maxPoints) times its selection; ask for smaller pages",
		qualifier, c, MaxComplexity))
}

// requestError reports a request refused before it ran. The client sees the domain
// error's code (the presenter takes it from the wrapped error); the HTTP status is
// that of a document that fails validation, which gqlgen chooses by the code it
// finds on the error before the presenter runs.
func requestError(err *apperr.Error) *gqlerror.Error {
	gqlErr := gqlerror.WrapIfUnwrapped(err)
	errcode.Set(gqlErr, errcode.ValidationFailed)
	return gqlErr
}

// shape is what the limits need to know of a selection set, with fragments expanded
// where they are spread.
type shape struct {
	top         int  // fields at this level
	depth       int  // the deepest nesting of fields below
	aliases     int  // fields selected under a name of the caller's
	fields      int  // field selections
	introspects bool // __schema or __type is selected
}

func (s *shape) add(o shape) {
	s.top = addSat(s.top, o.top)
	s.depth = max(s.depth, o.depth)
	s.aliases = addSat(s.aliases, o.aliases)
	s.fields = addSat(s.fields, o.fields)
	s.introspects = s.introspects || o.introspects
}

// shapeWalker walks an operation once, remembering each fragment's shape, so that a
// fragment spread twice in each of many nested fragments costs linear time (the counts
// themselves saturate instead of overflowing).
type shapeWalker struct {
	fragments map[string]*shape // nil while a fragment is being walked
}

func newShapeWalker() *shapeWalker { return &shapeWalker{fragments: map[string]*shape{}} }

func (w *shapeWalker) selectionSet(set ast.SelectionSet) shape {
	var s shape
	for _, sel := range set {
		switch sel := sel.(type) {
		case *ast.Field:
			child := w.selectionSet(sel.SelectionSet)
			f := shape{top: 1, depth: 1 + child.depth, aliases: child.aliases, fields: addSat(child.fields, 1), introspects: child.introspects}
			if sel.Alias != "" && sel.Alias != sel.Name {
				f.aliases = addSat(f.aliases, 1)
			}
			if sel.Name == "__schema" || sel.Name == "__type" {
				f.depth, f.introspects = 1, true
			}
			s.add(f)
		case *ast.InlineFragment:
			s.add(w.selectionSet(sel.SelectionSet))
		case *ast.FragmentSpread:
			s.add(w.fragment(sel))
		}
	}
	return s
}

func (w *shapeWalker) fragment(spread *ast.FragmentSpread) shape {
	if spread.Definition == nil {
		return shape{} // validation refuses unknown fragments before limits run
	}
	name := spread.Definition.Name
	if known, seen := w.fragments[name]; seen {
		if known == nil {
			return shape{} // a cycle; validation refuses those too
		}
		return *known
	}
	w.fragments[name] = nil
	s := w.selectionSet(spread.Definition.SelectionSet)
	w.fragments[name] = &s
	return s
}

// addSat adds non-negative counts, stopping at the largest int instead of wrapping.
func addSat(a, b int) int {
	if c := a + b; c >= a {
		return c
	}
	return int(^uint(0) >> 1)
}

// getRequest marks a GET request to the GraphQL endpoint, so that queryLimits can
// refuse a mutation in it and the response carry 405 Method Not Allowed.
type getRequest struct {
	http.ResponseWriter
	refused bool
}

type getRequestKey struct{}

// WriteHeader sends 405 with an Allow header instead of gqlgen's status when the
// operation was refused for coming over GET.
func (g *getRequest) WriteHeader(status int) {
	if g.refused {
		g.Header().Set("Allow", http.MethodPost)
		status = http.StatusMethodNotAllowed
	}
	g.ResponseWriter.WriteHeader(status)
}

// Unwrap gives http.ResponseController the writer underneath.
func (g *getRequest) Unwrap() http.ResponseWriter { return g.ResponseWriter }

// markGET lets the GraphQL handler tell a GET request from a POST.
func markGET(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			next.ServeHTTP(w, r)
			return
		}
		g := &getRequest{ResponseWriter: w}
		next.ServeHTTP(g, r.WithContext(context.WithValue(r.Context(), getRequestKey{}, g)))
	})
}

// deadline is the cause of a request's context ending at its time limit.
type deadline struct{ limit time.Duration }

func (d *deadline) Error() string { return "request deadline of " + d.limit.String() + " exceeded" }

// withDeadline runs each operation under a context that ends after limit. The store
// passes it to the driver and gives each transaction the time left, so Neo4j stops
// the work as well.
func withDeadline(limit time.Duration) graphql.ResponseMiddleware {
	return func(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
		ctx, cancel := underDeadline(ctx, limit)
		defer cancel()
		return next(ctx)
	}
}

// withRequestDeadline is withDeadline for the REST surfaces: the request's context
// ends after limit, and with it the Neo4j transactions it runs.
func withRequestDeadline(limit time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := underDeadline(r.Context(), limit)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// underDeadline is ctx ending after limit, with a deadline as its cause.
func underDeadline(ctx context.Context, limit time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeoutCause(ctx, limit, &deadline{limit: limit})
}

// explainDeadline turns the failure of a field whose request ran out of time into an
// UNAVAILABLE error that says so: without it the store would blame the database, or
// an error it could not classify would be reported as internal.
func explainDeadline(ctx context.Context, err error) error {
	var d *deadline
	if err == nil || !errors.As(context.Cause(ctx), &d) {
		return err
	}
	if code := apperr.CodeOf(err); code != apperr.Unavailable && code != apperr.Internal {
		return err // the field failed on its own account before time ran out
	}
	return &apperr.Error{Code: apperr.Unavailable, Cause: err, Reason: fmt.Sprintf(
		"the request did not finish within the server's limit of %s; ask for less (a smaller page, budget or depth) or retry later", d.limit)}
}

// withoutSuggestions is gqlparser's validation without the "Did you mean …?" hints
// that gqlgen's SetDisableSuggestion leaves in (unknown arguments, types and enum
// values): in production the schema is not spelt out to whoever guesses at it.
func withoutSuggestions() *rules.Rules {
	r := rules.NewDefaultRules()
	for _, swap := range [][2]core.Rule{
		{rules.KnownArgumentNamesRule, rules.KnownArgumentNamesRuleWithoutSuggestions},
		{rules.KnownTypeNamesRule, rules.KnownTypeNamesRuleWithoutSuggestions},
		{rules.ValuesOfCorrectTypeRule, rules.ValuesOfCorrectTypeRuleWithoutSuggestions},
	} {
		r.RemoveRule(swap[0].Name)
		r.AddRule(swap[1].Name, swap[1].RuleFunc)
	}
	return r
}
