package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"github.com/rs/zerolog/hlog"

	"github.com/provgraph/provgraph/actor"
	"github.com/provgraph/provgraph/apperr"
	"github.com/provgraph/provgraph/auth"
	"github.com/provgraph/provgraph/ingest/mlflow"
	"github.com/provgraph/provgraph/ingest/openlineage"
	"github.com/provgraph/provgraph/ingest/sagemaker"
	"github.com/provgraph/provgraph/ingest/sagemakerapi"
)

// errorShape is the form a surface's clients expect errors in.
type errorShape int

const (
	// shapeJSON: {"error": reason, "code": CODE}, as the OpenLineage and SageMaker
	// endpoints answer.
	shapeJSON errorShape = iota
	// shapeGraphQL: {"errors": [{"message": reason, "extensions": {"code": CODE}}]}.
	shapeGraphQL
	// shapeMLflow: {"error_code": MLFLOW_CODE, "message": reason}, which the mlflow
	// client turns into an MlflowException with that code.
	shapeMLflow
	// shapeAWS: {"__type": AwsCode, "message": reason} with x-amzn-RequestId, which
	// botocore raises as a ClientError with that code (the SageMaker API).
	shapeAWS
)

// access is what a request needs: nothing (public), or a role; and how its clients
// expect to be told no.
type access struct {
	public bool
	need   auth.Role
	shape  errorShape
}

// accessFor is the route table of authorization: what each surface needs. GraphQL
// needs a reader to be let in; its fields then ask for more with @hasRole.
//
// SECURITY: a path not listed here needs the reader role, so a surface added without
// an entry is never open.
func accessFor(r *http.Request) access {
	p := r.URL.Path
	switch {
	case isConsolePath(p) && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		// SECURITY: the console's pages and assets are static and the same for everyone;
		// the API requests they make carry the signed-in user's token.
		return access{public: true}
	case p == "/healthz", p == "/readyz":
		return access{public: true}
	case p == GraphQLPath:
		return access{need: auth.RoleReader, shape: shapeGraphQL}
	case p == MetricsPath:
		return access{need: auth.RoleReader, shape: shapeJSON}
	case strings.HasPrefix(p, mlflow.ArtifactsPrefix) || hasAnyPrefix(p, mlflow.APIPrefixes):
		if mlflow.ReadOnly(r) {
			return access{need: auth.RoleReader, shape: shapeMLflow}
		}
		return access{need: auth.RoleWriter, shape: shapeMLflow}
	case p == openlineage.Path || strings.HasPrefix(p, openlineage.Path+"/"):
		return access{need: auth.RoleWriter, shape: shapeJSON}
	case p == sagemaker.Path:
		return access{need: auth.RoleWriter, shape: shapeJSON}
	case sagemakerapi.IsAPIPath(p):
		// SECURITY: SageMaker operations that describe, list, search or query read;
		// every other one, and BatchPutMetrics, writes.
		if sagemakerapi.ReadOnly(r) {
			return access{need: auth.RoleReader, shape: shapeAWS}
		}
		return access{need: auth.RoleWriter, shape: shapeAWS}
	case p == EvidencePath:
		// SECURITY: an evidence package holds what queries answer (the audit trail,
		// lineage, the audit log's entries): the reader role, like them.
		return access{need: auth.RoleReader, shape: shapeJSON}
	}
	return access{need: auth.RoleReader, shape: shapeJSON}
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// authenticate is the one place requests are authenticated and let in by role. A
// request that may pass carries its principal (auth.PrincipalFrom) and its actor
// (actor.From) on; every other is answered here — 401 with WWW-Authenticate for
// missing or bad credentials, 403 for a role that falls short — in its surface's error
// shape, and logged with the reason (never with the secret).
func authenticate(opts Options, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		acc := accessFor(r)
		if acc.public {
			next.ServeHTTP(w, r)
			return
		}
		p, err := principalOf(r, opts)
		// SECURITY: the one role check of the HTTP surfaces; GraphQL fields check again,
		// for more, with @hasRole.
		if err == nil && !p.Role.Allows(acc.need) {
			if p.Via == auth.ViaAnonymous {
				err = apperr.New(apperr.Unauthenticated, "", "this needs the %s role: send Authorization: Bearer <token> "+
					"(requests without credentials may only read)", acc.need)
			} else {
				err = apperr.New(apperr.Forbidden, "", "this needs the %s role; %s has the %s role", acc.need, p.Actor, p.Role)
			}
		}
		if err != nil {
			deny(w, r, acc, p, err)
			return
		}
		ctx := auth.WithPrincipal(r.Context(), p)
		ctx = actor.With(ctx, p.Actor)
		zerolog.Ctx(ctx).UpdateContext(func(c zerolog.Context) zerolog.Context {
			return c.Str("actor", p.Actor).Str("role", string(p.Role))
		})
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// principalOf authenticates r: a provgraph API token (pgt_…), else a JWT when OIDC is
// configured; with neither header, an anonymous reader when anonymous reads from
// loopback are allowed and r comes from there.
func principalOf(r *http.Request, opts Options) (auth.Principal, error) {
	header := r.Header.Get("Authorization")
	if header == "" {
		// SECURITY: only reads, only without credentials (a bad token is never
		// downgraded to anonymous), only from this machine, only when enabled.
		if opts.AnonymousReadLoopback && fromLoopback(r) {
			return auth.Principal{Actor: actor.Anonymous, Role: auth.RoleReader, Via: auth.ViaAnonymous}, nil
		}
		if accessFor(r).shape == shapeAWS {
			return auth.Principal{}, &apperr.Error{Code: apperr.Unauthenticated, Reason: "Missing Authentication Token",
				Cause: &auth.SigV4Error{Code: auth.CodeMissingAuthenticationToken, Message: "Missing Authentication Token"}}
		}
		return auth.Principal{}, apperr.New(apperr.Unauthenticated, "", "no credentials: send Authorization: Bearer <token>")
	}
	if auth.IsSigV4(header) {
		if accessFor(r).shape != shapeAWS {
			// SECURITY: access keys sign the SageMaker API's requests only.
			return auth.Principal{}, apperr.New(apperr.Unauthenticated, "", "SigV4 signatures are verified on the SageMaker API only (%s, %s); send Authorization: Bearer <token> here",
				sagemakerapi.Path, sagemakerapi.MetricsPrefix)
		}
		return sigV4Principal(r, opts)
	}
	scheme, token, _ := strings.Cut(header, " ")
	token = strings.TrimSpace(token)
	if !strings.EqualFold(scheme, "Bearer") || token == "" {
		return auth.Principal{}, apperr.New(apperr.Unauthenticated, "", "the Authorization header must be Bearer <token> (%s given)", schemeName(scheme))
	}
	if strings.HasPrefix(token, auth.TokenPrefix) {
		tok, err := opts.Store.AuthenticateAPIToken(r.Context(), token)
		p := auth.Principal{Actor: tok.Actor(), Role: tok.Role, Via: auth.ViaToken, TokenID: tok.ID}
		if tok.ID == "" {
			p = auth.Principal{}
		}
		return p, err
	}
	if opts.OIDC != nil {
		return opts.OIDC.Authenticate(r.Context(), token)
	}
	return auth.Principal{}, apperr.New(apperr.Unauthenticated, "", "the bearer token is not a provgraph API token (pgt_…), and no OIDC issuer is configured")
}

// schemeName names an Authorization scheme for a message without echoing a secret
// sent without one.
func schemeName(scheme string) string {
	switch s := strings.ToLower(scheme); s {
	case "basic", "bearer", "digest", "negotiate", "token":
		return s
	}
	return "no scheme"
}

// fromLoopback tells whether r came over a loopback connection. Behind a proxy on the
// same machine every request does: see docs/security.md.
func fromLoopback(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// deny answers a refused request in its surface's shape and logs why: one that lacks
// credentials or a role, and one whose request-level headers break a rule.
func deny(w http.ResponseWriter, r *http.Request, acc access, p auth.Principal, err error) {
	code := apperr.CodeOf(err)
	status := http.StatusInternalServerError
	reason := "internal error; see the server log"
	if e, ok := apperr.As(err); ok {
		reason = e.Error()
	}
	switch code {
	case apperr.Unauthenticated:
		status = http.StatusUnauthorized
		challenge := `Bearer realm="provgraph"`
		if r.Header.Get("Authorization") != "" {
			challenge += `, error="invalid_token"`
		}
		w.Header().Set("WWW-Authenticate", challenge)
	case apperr.Forbidden:
		status = http.StatusForbidden
	case apperr.InvalidArgument:
		// A request-level header this service reads (BookmarkHeader) breaks its rule.
		status = http.StatusBadRequest
	case apperr.Unavailable:
		// The token could not be looked up: retry later, as the ingest endpoints say.
		status = http.StatusServiceUnavailable
		w.Header().Set("Retry-After", "5")
	default:
		code = apperr.Internal
	}
	ev := hlog.FromRequest(r).Warn()
	if code == apperr.Internal || code == apperr.Unavailable {
		ev = hlog.FromRequest(r).Error()
	}
	ev = ev.Str("method", r.Method).Str("path", r.URL.Path).Int("status", status).Str("code", string(code)).
		Str("need", string(acc.need)).Str("reason", reason)
	if cause := errorsCause(err); cause != nil {
		ev = ev.AnErr("cause", cause)
	}
	if p.Actor != "" {
		ev = ev.Str("actor", p.Actor).Str("role", string(p.Role))
	}
	if p.TokenID != "" {
		ev = ev.Str("token_id", p.TokenID)
	}
	ev.Msg("request denied")
	if acc.shape == shapeAWS {
		awsCode, awsStatus := awsCodeOf(err, code, status)
		sagemakerapi.WriteError(w, r, awsStatus, awsCode, reason)
		return
	}
	var field string
	if e, ok := apperr.As(err); ok {
		field = e.Field
	}
	writeDenial(w, acc.shape, status, code, field, reason)
}

func errorsCause(err error) error {
	if e, ok := apperr.As(err); ok {
		return e.Cause
	}
	return err
}

// mlflowCodes are MLflow's error codes for provgraph's (MLflow's protocol defines
// UNAUTHENTICATED and PERMISSION_DENIED, which its client maps to 401 and 403; it has
// no code for a wrong method, and ENDPOINT_NOT_FOUND, no such call, is what the
// MLflow surface answers it with too).
var mlflowCodes = map[apperr.Code]string{
	apperr.Unauthenticated:  "UNAUTHENTICATED",
	apperr.Forbidden:        "PERMISSION_DENIED",
	apperr.InvalidArgument:  "INVALID_PARAMETER_VALUE",
	apperr.MethodNotAllowed: "ENDPOINT_NOT_FOUND",
	apperr.Unavailable:      "TEMPORARILY_UNAVAILABLE",
	apperr.Internal:         "INTERNAL_ERROR",
}

// writeDenial answers in shape with code and reason and, in the shapes that have one,
// the field (an input, or a request header) the refusal is about; "" for none.
func writeDenial(w http.ResponseWriter, shape errorShape, status int, code apperr.Code, field, reason string) {
	switch shape {
	case shapeGraphQL:
		ext := map[string]any{"code": string(code)}
		if field != "" {
			ext["field"] = field // as GraphQL's own errors about an input (api.md#errors)
		}
		writeJSON(w, status, map[string]any{"errors": []map[string]any{{"message": reason, "extensions": ext}}})
	case shapeMLflow:
		writeJSON(w, status, map[string]any{"error_code": mlflowCodes[code], "message": reason})
	case shapeAWS:
		awsCode, awsStatus := awsCodeOf(nil, code, status)
		w.Header().Set(sagemakerapi.RequestIDHeader, w.Header().Get(RequestIDHeader))
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(awsStatus)
		_ = json.NewEncoder(w).Encode(sagemakerapi.WireError{Type: awsCode, Message: reason})
	default:
		body := map[string]any{"error": reason, "code": string(code)}
		if field != "" {
			body["field"] = field // as the OpenLineage endpoint's own errors
		}
		writeJSON(w, status, body)
	}
}

// awsCodeOf is the AWS error code (the signature's refusal, when err is one) and status a refusal of code is answered with on the
// SageMaker API: AWS's front end answers credentials it does not know, and a role that
// falls short, with 400 and these codes.
func awsCodeOf(err error, code apperr.Code, status int) (string, int) {
	var sig *auth.SigV4Error
	if errors.As(err, &sig) {
		return sig.Code, http.StatusBadRequest
	}
	if errors.Is(err, errBodyTooLarge) {
		return "ValidationException", http.StatusRequestEntityTooLarge
	}
	switch code {
	case apperr.Unauthenticated:
		return "UnrecognizedClientException", http.StatusBadRequest
	case apperr.Forbidden:
		return "AccessDeniedException", http.StatusBadRequest
	case apperr.InvalidArgument:
		return "ValidationException", http.StatusBadRequest
	case apperr.MethodNotAllowed:
		return "UnknownOperationException", status
	case apperr.Unavailable:
		return "ServiceUnavailable", http.StatusServiceUnavailable
	}
	return "InternalFailure", http.StatusInternalServerError
}

// errBodyTooLarge marks a signed request whose body is over the SageMaker API's limit.
var errBodyTooLarge = errors.New("request body too large")

// sigV4Principal authenticates a request signed with an access key (AWS SigV4): the
// scope (service, region, date within 15 minutes), then the key, then the signature over
// the request and its body, which is read here (bounded) and handed on unchanged.
// SECURITY: the secret is opened only to compute the expected signature; it is never
// logged, and a refusal names the key id, never the secret.
func sigV4Principal(r *http.Request, opts Options) (auth.Principal, error) {
	refuse := func(err error) (auth.Principal, error) {
		var sig *auth.SigV4Error
		if errors.As(err, &sig) {
			return auth.Principal{}, &apperr.Error{Code: apperr.Unauthenticated, Reason: sig.Message, Cause: sig}
		}
		return auth.Principal{}, err
	}
	sig, err := auth.ParseSigV4(r.Header.Get("Authorization"))
	if err != nil {
		return refuse(err)
	}
	if opts.AccessKeys == nil {
		return refuse(&auth.SigV4Error{Code: auth.CodeUnrecognizedClient,
			Message: "this provgraph verifies no access keys: it was started without --key-encryption-key"})
	}
	at, err := sig.CheckScope(r, opts.AWS.SigningRegion(), sagemakerapi.SigningName, time.Now())
	if err != nil {
		return refuse(err)
	}
	tok, secret, err := opts.Store.AccessKeySecret(r.Context(), sig.AccessKeyID, opts.AccessKeys.Open)
	if e, ok := apperr.As(err); ok && e.Code == apperr.Unauthenticated {
		return refuse(&auth.SigV4Error{Code: auth.CodeUnrecognizedClient, Message: "The security token included in the request is invalid: " + e.Reason})
	}
	if err != nil {
		return refuse(err)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, sagemakerapi.MaxBodyBytes+1))
	if err != nil {
		return refuse(apperr.New(apperr.InvalidArgument, "", "the request body could not be read: %v", err))
	}
	if int64(len(body)) > sagemakerapi.MaxBodyBytes {
		return refuse(&apperr.Error{Code: apperr.InvalidArgument, Cause: errBodyTooLarge,
			Reason: fmt.Sprintf("the request body is larger than the limit of %d bytes", sagemakerapi.MaxBodyBytes)})
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err := sig.Verify(r, body, secret, at); err != nil {
		return refuse(err)
	}
	return auth.Principal{Actor: tok.Actor(), Role: tok.Role, Via: auth.ViaAccessKey, TokenID: tok.ID}, nil
}
