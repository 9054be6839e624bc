package metrics

import (
	"context"
	"regexp"
	"sync"

	"github.com/99designs/gqlgen/graphql"
)

// MaxOperationNames caps the GraphQL operation names that get series of their own.
const MaxOperationNames = 100

// MaxOperationNameLength is the longest GraphQL operation name that gets a series of
// its own.
const MaxOperationNameLength = 64

// OperationNames turns GraphQL operation names, which clients choose, into label
// values of bounded number. The rule: an operation's name is used only once the
// operation was parsed and validated against the schema and is about to run (so it is
// a GraphQL name, [_A-Za-z][_0-9A-Za-z]*); an operation without a name is
// OperationAnonymous; the first max distinct names of at most MaxOperationNameLength
// characters keep their names, and every other name is OperationOther. A client that
// invents names can therefore use up the cap (after which new names of legitimate
// clients also count as OperationOther until a restart) but never add more series.
type OperationNames struct {
	mu   sync.Mutex
	max  int
	seen map[string]bool
}

// NewOperationNames returns the label policy for at most max distinct names.
func NewOperationNames(max int) *OperationNames {
	return &OperationNames{max: max, seen: map[string]bool{}}
}

// Label returns the label value for an operation named name.
func (o *OperationNames) Label(name string) string {
	switch {
	case name == "":
		return OperationAnonymous
	case len(name) > MaxOperationNameLength:
		return OperationOther
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.seen[name] {
		return name
	}
	if len(o.seen) >= o.max {
		return OperationOther
	}
	o.seen[name] = true
	return name
}

// GraphQL returns the gqlgen extension that names a request's operation in its
// request metrics and counts the errors of GraphQL responses by extensions.code.
func (m *Metrics) GraphQL() graphql.HandlerExtension {
	return graphQLExtension{m}
}

type graphQLExtension struct{ m *Metrics }

var (
	_ graphql.OperationInterceptor = graphQLExtension{}
	_ graphql.ResponseInterceptor  = graphQLExtension{}
)

func (graphQLExtension) ExtensionName() string                   { return "Metrics" }
func (graphQLExtension) Validate(graphql.ExecutableSchema) error { return nil }

// InterceptOperation runs only for an operation that parsed, validated and is about
// to run; requests refused before keep OperationNone.
func (e graphQLExtension) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	if labels, ok := ctx.Value(requestLabelsKey{}).(*requestLabels); ok {
		name := ""
		if oc := graphql.GetOperationContext(ctx); oc.Operation != nil {
			name = oc.Operation.Name
		}
		labels.operation = e.m.operations.Label(name)
	}
	return next(ctx)
}

// InterceptResponse also sees the responses of requests refused before an operation
// ran (parse and validation errors).
func (e graphQLExtension) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	resp := next(ctx)
	if resp == nil || len(resp.Errors) == 0 {
		return resp
	}
	operation := OperationNone
	if labels, ok := ctx.Value(requestLabelsKey{}).(*requestLabels); ok {
		operation = labels.operation
	}
	for _, err := range resp.Errors {
		code, _ := err.Extensions["code"].(string)
		e.m.graphqlErrors.WithLabelValues(operation, errorCode(code)).Inc()
	}
	return resp
}

// errorCode bounds extensions.code, which the server sets from its own fixed codes
// and gqlgen's: anything else (which would be a bug) counts as OTHER.
func errorCode(code string) string {
	if !codePattern.MatchString(code) {
		return "OTHER"
	}
	return code
}

var codePattern = regexp.MustCompile(`^[A-Z][A-Z_]{0,39}$`)
