package server

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/rs/zerolog"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/provgraph/provgraph/apperr"
)

// presentError is the one place where errors become what GraphQL clients see. Domain
// errors keep their code, field and reason. Errors gqlgen raises while reading the
// request (parse, validation, argument coercion) are the client's and keep gqlgen's
// message, with INVALID_ARGUMENT unless gqlgen gave a code; the parser's token limit
// is reported like the other request limits (INVALID_ARGUMENT on "query"; see
// limits.go), and a body that is not a request in JSON is quoted only in part
// (quoteBodyShort). Everything else is an
// internal error: its text goes to the log and the client gets the request id. That
// includes a non-null field that resolved to null, which gqlgen also reports as a
// gqlerror but which means the stored graph does not fit the schema.
func presentError(ctx context.Context, err error) *gqlerror.Error {
	gqlErr := graphql.DefaultErrorPresenter(ctx, err)
	if gqlErr.Extensions == nil {
		gqlErr.Extensions = map[string]any{}
	}
	if ae, ok := apperr.As(err); ok {
		gqlErr.Message = ae.Error()
		gqlErr.Extensions["code"] = string(ae.Code)
		if ae.Field != "" {
			gqlErr.Extensions["field"] = ae.Field
		}
		switch ae.Code {
		case apperr.Internal, apperr.Unavailable:
			zerolog.Ctx(ctx).Error().Err(err).AnErr("cause", ae.Cause).
				Str("code", string(ae.Code)).Msg("request failed")
			if ae.Code == apperr.Internal {
				gqlErr.Message = internalMessage(ctx)
			}
		}
		return gqlErr
	}
	var fromGQL *gqlerror.Error
	if errors.As(err, &fromGQL) && !errors.Is(err, graphql.ErrInvalidNull) {
		if gqlErr.Extensions["code"] == errcode.ParseFailed && gqlErr.Message == tokenLimitMessage {
			// The parser gave up at MaxQueryTokens: a limit, reported like the others.
			gqlErr.Message = fmt.Sprintf("query: has more than %d tokens, the limit; send large values as variables", MaxQueryTokens)
			gqlErr.Extensions["code"] = string(apperr.InvalidArgument)
			gqlErr.Extensions["field"] = "query"
			return gqlErr
		}
		gqlErr.Message = quoteBodyShort(gqlErr.Message)
		if isVariablePath(gqlErr.Path) {
			// A variable that does not fit its type: name the input inside it.
			if field := argumentPath(gqlErr.Path); field != "" {
				gqlErr.Extensions["field"] = field
				gqlErr.Message = field + ": " + gqlErr.Message
			}
		}
		if _, has := gqlErr.Extensions["code"]; !has {
			// An argument gqlgen could not coerce (a malformed Time, say): its path is
			// the root field followed by the argument path. Name the argument.
			gqlErr.Extensions["code"] = string(apperr.InvalidArgument)
			if field := argumentPath(gqlErr.Path); field != "" {
				gqlErr.Extensions["field"] = field
				gqlErr.Message = field + ": " + gqlErr.Message
			}
		}
		return gqlErr
	}
	zerolog.Ctx(ctx).Error().Err(err).Msg("internal error")
	gqlErr.Message = internalMessage(ctx)
	gqlErr.Extensions["code"] = string(apperr.Internal)
	return gqlErr
}

// isVariablePath tells whether a request error's path points into a variable
// (gqlparser reports those as ["variable", name, ...]).
func isVariablePath(p ast.Path) bool {
	if len(p) == 0 {
		return false
	}
	name, ok := p[0].(ast.PathName)
	return ok && name == "variable"
}

// argumentPath renders an error path without its first (field) element, as
// "input.hyperParameters[2].key".
func argumentPath(p ast.Path) string {
	if len(p) < 2 {
		return ""
	}
	var b strings.Builder
	for _, el := range p[1:] {
		switch v := el.(type) {
		case ast.PathName:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(string(v))
		case ast.PathIndex:
			b.WriteString("[" + strconv.Itoa(int(v)) + "]")
		}
	}
	return b.String()
}

// undecodableBody and quotedBody are how gqlgen's POST transport words its error for a
// body it cannot decode as a GraphQL request: undecodableBody, the decoder's error,
// quotedBody and then the whole body, megabytes of it when that is what was sent
// (TestUndecodableBodyIsQuotedShort fails if a new version words it otherwise).
const (
	undecodableBody = "json request body could not be decoded: "
	quotedBody      = " body:"
)

// MaxQuotedBody is how many bytes of an undecodable GraphQL request body its error
// quotes back: enough to recognise what was sent, not an echo of all of it.
const MaxQuotedBody = 64

// quoteBodyShort cuts the body gqlgen quotes in an undecodable-body error to its first
// MaxQuotedBody bytes (fewer rather than split a character) and "…"; other messages
// are returned unchanged.
func quoteBodyShort(msg string) string {
	if !strings.HasPrefix(msg, undecodableBody) {
		return msg
	}
	i := strings.Index(msg, quotedBody)
	if i < 0 {
		return msg
	}
	body := msg[i+len(quotedBody):]
	if len(body) <= MaxQuotedBody {
		return msg
	}
	cut := MaxQuotedBody
	for cut > 0 && !utf8.RuneStart(body[cut]) {
		cut--
	}
	return msg[:i+len(quotedBody)] + body[:cut] + "…"
}

// tokenLimitMessage is how gqlparser reports a document longer than MaxQueryTokens
// (TestRequestLimits fails if a new version words it otherwise).
var tokenLimitMessage = fmt.Sprintf("exceeded token limit of %d", MaxQueryTokens)

func internalMessage(ctx context.Context) string {
	msg := "internal error"
	if id := RequestIDFrom(ctx); id != "" {
		msg += " (request id " + id + ")"
	}
	return msg + "; the details are in the server log"
}

// recoverPanic logs a resolver panic with its stack and reports an internal error;
// the process keeps serving.
func recoverPanic(ctx context.Context, v any) error {
	zerolog.Ctx(ctx).Error().Interface("panic", v).Bytes("stack", debug.Stack()).Msg("panic in resolver")
	return &apperr.Error{Code: apperr.Internal, Reason: "internal error"}
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
