// Package server assembles provgraph's HTTP surface: authentication and the route
// table of roles, the GraphQL endpoint with its error presenter, panic recovery and
// operation logging, the console and GraphiQL, the ingest surfaces, the health endpoints load
// balancers poll, the Prometheus metrics, and the bookmarks that give clients
// read-your-writes across replicas (bookmarks.go).
package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/rs/xid"
	"github.com/rs/zerolog"
	"github.com/rs/zerolog/hlog"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/provgraph/provgraph/actor"
	"github.com/provgraph/provgraph/apperr"
	"github.com/provgraph/provgraph/auth"
	"github.com/provgraph/provgraph/graph"
	"github.com/provgraph/provgraph/ingest/mlflow"
	"github.com/provgraph/provgraph/ingest/openlineage"
	"github.com/provgraph/provgraph/ingest/sagemaker"
	"github.com/provgraph/provgraph/ingest/sagemakerapi"
	"github.com/provgraph/provgraph/metrics"
	"github.com/provgraph/provgraph/resolvers"
	"github.com/provgraph/provgraph/store"
	"github.com/provgraph/provgraph/web"
)

// Options configure the HTTP handler.
type Options struct {
	Store  *store.Store
	Logger zerolog.Logger
	// MaxBodyBytes caps a request body; larger requests are refused. 0 means
	// DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// ArtifactRoot is the directory the MLflow artifact proxy stores files in; empty
	// refuses artifact uploads.
	ArtifactRoot string
	// RequestTimeout bounds how long one GraphQL operation, MLflow call or single
	// OpenLineage event, its Neo4j transactions included, may run. 0 means
	// DefaultRequestTimeout.
	RequestTimeout time.Duration
	// Production leaves the "Did you mean …?" hints out of GraphQL validation errors.
	Production bool
	// AuthorizeIntrospection decides whether a request may introspect the schema
	// (__schema, __type): an error refuses it, with the error's code when it is an
	// *apperr.Error, else FORBIDDEN. nil lets authenticated callers introspect and
	// refuses anonymous ones.
	AuthorizeIntrospection func(context.Context) error
	// OIDC validates JWT bearer tokens; nil accepts provgraph API tokens only.
	OIDC *auth.OIDC
	// AnonymousReadLoopback lets requests without credentials that come from a loopback
	// address read (never write). Off by default; see docs/security.md.
	AnonymousReadLoopback bool
	// Version is provgraph's version, recorded in the evidence packages it makes.
	Version string
	// ConsoleOIDC, when set, lets the console sign people in with the OIDC issuer (whose
	// tokens OIDC validates); nil leaves the console's sign-in to tokens.
	ConsoleOIDC *ConsoleOIDC
	// AccessKeys opens the sealed secrets of access keys (provgraph token create --aws)
	// to verify SigV4 signatures; nil refuses signed requests, saying so.
	AccessKeys *auth.Sealer
	// AWS configures the SageMaker API (the account and region of its ARNs); the zero
	// value takes sagemakerapi's defaults.
	AWS sagemakerapi.Options
	// Metrics is the instrumentation /metrics serves, for a caller that also feeds it
	// from outside requests (provgraph serve: lock-wait samples, the audit sequencer);
	// nil makes one of the handler's own.
	Metrics *metrics.Metrics

	// lineage observes, or switches off, the writing of lineage answers without gqlgen's
	// executor (lineagedirect.go); tests set it.
	lineage lineageProbe
	// swappedVariables hears which variables of a request were checked without
	// gqlparser (fastvars.go); tests set it.
	swappedVariables func(names []string)
	// gqlgenPOST answers POST requests with gqlgen's own transport rather than
	// answerPOST (answerpost.go); tests set it.
	gqlgenPOST bool
}

// DefaultMaxBodyBytes is the request body limit when none is configured.
const DefaultMaxBodyBytes = 4 << 20

// GraphQLPath is where the GraphQL endpoint is served.
const GraphQLPath = "/graphql"

// RequestIDHeader carries the request id in responses (and is honoured on requests,
// so a caller's id is kept through the logs).
const RequestIDHeader = "X-Request-Id"

// New returns the complete HTTP handler. Every surface but the console's pages and
// assets, /healthz and /readyz needs credentials (see accessFor).
func New(opts Options) http.Handler {
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = DefaultRequestTimeout
	}
	if opts.AuthorizeIntrospection == nil {
		opts.AuthorizeIntrospection = authenticatedOnly
	}
	m := opts.Metrics
	if m == nil {
		m = metrics.New()
	}
	m.WatchNeo4j(func() bool { _, down := opts.Store.Outage(); return !down })
	mux := http.NewServeMux()
	// The console and GraphiQL, built from web/ into the binary.
	console := consoleHandler(web.Assets(), web.Built(), opts.ConsoleOIDC)
	handleGET(mux, consolePagePath+"{$}", console)
	handleGET(mux, graphiQLPagePath, console)
	handleGET(mux, consoleAssets, console)
	mux.Handle(GraphQLPath, limitBody(opts.MaxBodyBytes, newGraphQL(opts, m)))
	handleGET(mux, "/healthz", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"status": "ok"})
	}))
	handleGET(mux, "/readyz", readyz(opts.Store))
	// The metrics need the reader role, like every surface but the console's pages and the
	// health endpoints (accessFor).
	handleGET(mux, MetricsPath, m.Handler())
	// The MLflow tracking REST API and artifact proxy, for the stock mlflow client.
	// The MLflow calls and single OpenLineage events run under the request deadline,
	// like GraphQL operations. The artifact proxy streams files of any size, and the
	// OpenLineage batch and SageMaker endpoints take arrays whose transactions commit
	// one after another and are reported item by item, so those run without it.
	mlflowAPI := mlflow.NewHandler(opts.Store, mlflow.Options{ArtifactRoot: opts.ArtifactRoot, Count: m.Ingest(SurfaceMLflow)})
	mux.Handle(mlflow.ArtifactsPrefix, mlflowAPI)
	for _, prefix := range mlflow.APIPrefixes {
		mux.Handle(prefix, withRequestDeadline(opts.RequestTimeout, mlflowAPI))
	}
	// OpenLineage events (spec 2-0-2), single and batched.
	lineageAPI := openlineage.NewHandler(opts.Store, m.Ingest(SurfaceOpenLineage))
	mux.Handle(openlineage.Path, withRequestDeadline(opts.RequestTimeout, lineageAPI))
	mux.Handle(openlineage.BatchPath, lineageAPI)
	// SageMaker EventBridge events and forwarded Describe* responses.
	mux.Handle(sagemaker.Path, sagemaker.NewHandler(opts.Store, m.Ingest(SurfaceSageMaker)))
	// SageMaker's own API (AWS JSON 1.1) and SageMaker Metrics' BatchPutMetrics, for the
	// stock sagemaker SDK and boto3, under the request deadline like the MLflow calls.
	awsOpts := opts.AWS
	awsOpts.Count = m.Ingest(SurfaceSageMakerAPI)
	sagemakerAPI := withRequestDeadline(opts.RequestTimeout, sagemakerapi.New(opts.Store, awsOpts))
	mux.Handle(sagemakerapi.Path, sagemakerAPI)
	mux.Handle(sagemakerapi.Path+"/", sagemakerAPI)
	mux.Handle(sagemakerapi.MetricsPrefix, sagemakerAPI)
	// Evidence packages for the console's audit view: bounded reads, under the deadline.
	handleGET(mux, EvidencePath, withRequestDeadline(opts.RequestTimeout, evidenceHandler(opts)))

	var h http.Handler = mux
	h = withBookmarks(opts.Store, h)
	h = authenticate(opts, h)
	h = recoverHTTP(h)
	h = m.Instrument(classify, h)
	h = hlog.AccessHandler(func(r *http.Request, status, size int, d time.Duration) {
		hlog.FromRequest(r).Info().Str("method", r.Method).Str("path", r.URL.Path).
			Int("status", status).Int("bytes", size).Dur("duration", d).Msg("request")
	})(h)
	h = requestID(h)
	h = securityHeaders(ContentSecurityPolicy(opts.ConsoleOIDC), h)
	h = hlog.NewHandler(opts.Logger)(h)
	h = withoutFragment(h)
	return h
}

// withoutFragment serves a request whose target has a '#' as if it ended there. A URL's
// fragment stays in the browser — the console's sign-in link carries the admin token in
// it (/#token=…) — and '#' cannot stand unescaped in a request target, but Go reads one
// that does into the path or the query, from where it would reach the access log and the
// denial log. SECURITY: so that a client that sends the fragment anyway gets no token
// logged.
func withoutFragment(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		target, _, found := strings.Cut(r.RequestURI, "#")
		if !found {
			next.ServeHTTP(w, r)
			return
		}
		u, err := url.ParseRequestURI(target)
		if err != nil {
			http.Error(w, "malformed request target", http.StatusBadRequest)
			return
		}
		r = r.WithContext(r.Context()) // a shallow copy whose URL may change
		r.URL, r.RequestURI = u, target
		next.ServeHTTP(w, r)
	})
}

// authenticatedOnly lets callers with credentials introspect the schema, and refuses
// anonymous loopback readers (see Options.AnonymousReadLoopback).
func authenticatedOnly(ctx context.Context) error {
	if p, ok := auth.PrincipalFrom(ctx); ok && p.Via != auth.ViaAnonymous {
		return nil
	}
	return &apperr.Error{Code: apperr.Unauthenticated, Reason: "introspection needs credentials: send a bearer token"}
}

// newGraphQL builds the gqlgen handler explicitly, so every transport and extension
// in use is listed here (NewDefaultServer would add websockets and more).
func newGraphQL(opts Options, m *metrics.Metrics) http.Handler {
	es := graph.NewExecutableSchema(graph.Config{
		Resolvers:  &resolvers.Resolver{Store: opts.Store},
		Directives: graph.DirectiveRoot{HasRole: resolvers.HasRole},
		Complexity: complexityRoot(),
	})
	srv := handler.New(es)
	srv.AddTransport(transport.Options{AllowedMethods: graphQLMethods})
	srv.AddTransport(transport.GET{})
	if opts.gqlgenPOST {
		srv.AddTransport(transport.POST{})
	} else {
		srv.AddTransport(answerPOST{})
	}
	docs := lru.New[*ast.QueryDocument](1000)
	srv.SetQueryCache(docs)
	srv.SetParserTokenLimit(MaxQueryTokens)
	if opts.Production {
		srv.SetDisableSuggestion(true)
		srv.SetValidationRulesFn(withoutSuggestions)
	}
	srv.Use(extension.AutomaticPersistedQuery{Cache: lru.New[string](100)})
	// After the persisted query is looked up, before any other extension reads the
	// variables (see fastvars.go). No extension that changes the query or the
	// operation's name may come after it.
	srv.Use(&fastVariables{docs: docs, swapped: opts.swappedVariables})
	srv.Use(m.GraphQL())
	srv.Use(&queryLimits{introspection: opts.AuthorizeIntrospection})
	srv.AroundResponses(withDeadline(opts.RequestTimeout))
	srv.SetErrorPresenter(presentError)
	srv.SetRecoverFunc(recoverPanic)
	// A resolver error that is not a domain error is a bug or an outage we did not
	// classify: mark it internal here, where it is still told apart from the request
	// errors gqlgen raises itself (which the presenter shows to the client).
	srv.AroundFields(func(ctx context.Context, next graphql.Resolver) (any, error) {
		res, err := next(ctx)
		if err != nil {
			err = explainDeadline(ctx, err)
			if _, ok := apperr.As(err); !ok {
				err = &apperr.Error{Code: apperr.Internal, Reason: "internal error", Cause: err}
			}
		}
		return res, err
	})
	if !opts.lineage.gqlgenOnly {
		srv.AroundFields(lineageDirect(es.Schema(), opts.lineage.answered))
	}
	srv.AroundOperations(func(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
		oc := graphql.GetOperationContext(ctx)
		name := oc.OperationName
		if name == "" && oc.Operation != nil {
			name = oc.Operation.Name
		}
		zerolog.Ctx(ctx).UpdateContext(func(c zerolog.Context) zerolog.Context {
			if oc.Operation != nil {
				c = c.Str("operation_type", string(oc.Operation.Operation))
			}
			return c.Str("operation", name)
		})
		return next(ctx)
	})
	srv.AroundResponses(func(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
		resp := next(ctx)
		if resp != nil {
			ev := zerolog.Ctx(ctx).Info()
			if len(resp.Errors) > 0 {
				ev = zerolog.Ctx(ctx).Warn().Int("errors", len(resp.Errors))
			}
			if graphql.HasOperationContext(ctx) {
				ev = ev.Dur("duration", time.Since(graphql.GetOperationContext(ctx).Stats.OperationStart))
			}
			ev.Msg("graphql")
		}
		return resp
	})
	return onlyGraphQLMethods(markGET(srv))
}

// graphQLMethods are the methods the GraphQL endpoint serves: queries over GET and POST,
// mutations over POST only (queryLimits), and OPTIONS, which lists them.
var graphQLMethods = []string{http.MethodGet, http.MethodPost, http.MethodOptions}

// onlyGraphQLMethods answers any other method with 405 METHOD_NOT_ALLOWED, where gqlgen
// would say "transport not supported" with 400 (and HEAD 405 without an Allow header).
func onlyGraphQLMethods(next http.Handler) http.Handler {
	refuse := methodNotAllowed(shapeGraphQL, strings.Join(graphQLMethods, ", "))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !slices.Contains(graphQLMethods, r.Method) {
			refuse(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// handleGET serves h at path for GET (and HEAD) and answers other methods with 405
// METHOD_NOT_ALLOWED in the JSON error shape, as the ingest surfaces do, rather than
// the mux's plain-text 405.
func handleGET(mux *http.ServeMux, path string, h http.Handler) {
	mux.Handle(http.MethodGet+" "+path, h)
	mux.Handle(path, methodNotAllowed(shapeJSON, http.MethodGet+", "+http.MethodHead))
}

// methodNotAllowed answers a method a path does not serve: 405, an Allow header with
// the methods it does (allow), and METHOD_NOT_ALLOWED in the surface's error shape.
func methodNotAllowed(shape errorShape, allow string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		writeDenial(w, shape, http.StatusMethodNotAllowed, apperr.MethodNotAllowed, "",
			fmt.Sprintf("method %s is not allowed here; use %s", r.Method, allow))
	}
}

// readyz answers 200 when Neo4j answers and the schema is current, else 503.
func readyz(st *store.Store) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		if err := st.Ready(ctx, store.Schema); err != nil {
			hlog.FromRequest(r).Warn().Err(err).Msg("not ready")
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{
				"status": "unavailable",
				"reason": "the graph database is unreachable or its schema is not current; see the server log",
			})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"status": "ready", "schemaVersion": store.Schema.Latest()})
	}
}

// requestID gives every request an id — the caller's X-Request-Id when it sends a
// sane one, else a fresh one — puts it in the request logger and the context, and
// echoes it in the response.
func requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(RequestIDHeader)
		if id == "" || !validRequestID(id) {
			id = xid.New().String()
		}
		w.Header().Set(RequestIDHeader, id)
		ctx := actor.WithRequest(r.Context(), id)
		zerolog.Ctx(ctx).UpdateContext(func(c zerolog.Context) zerolog.Context { return c.Str("request_id", id) })
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// RequestIDFrom returns the id of the request ctx belongs to, or "".
func RequestIDFrom(ctx context.Context) string {
	return actor.RequestFrom(ctx)
}

// recoverHTTP turns a panic outside the GraphQL executor into a logged 500.
func recoverHTTP(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				hlog.FromRequest(r).Error().Interface("panic", v).Bytes("stack", debug.Stack()).Msg("panic in HTTP handler")
				writeJSON(w, http.StatusInternalServerError, map[string]any{"status": "error", "code": "INTERNAL"})
			}
		}()
		next.ServeHTTP(w, r)
	})
}

func limitBody(max int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > max {
			writeJSON(w, http.StatusRequestEntityTooLarge, map[string]any{
				"errors": []map[string]any{{
					"message":    "request body is larger than the limit of " + itoa(max) + " bytes",
					"extensions": map[string]any{"code": "INVALID_ARGUMENT"},
				}},
			})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, max)
		next.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// validRequestID accepts caller ids that are safe to log and echo: at most 128
// characters of letters, digits, '-', '_' and '.'.
func validRequestID(id string) bool {
	if len(id) > 128 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}
