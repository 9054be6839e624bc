package resolvers

import (
	"context"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/rs/zerolog"

	"github.com/provgraph/provgraph/apperr"
	"github.com/provgraph/provgraph/auth"
	"github.com/provgraph/provgraph/graph/model"
	"github.com/provgraph/provgraph/store"
)

// HasRole implements the @hasRole directive, the one place GraphQL fields are
// authorized: the field runs only when the request's principal (set by the server's
// authentication middleware) has a role that includes role.
//
// SECURITY: a request without a principal is refused (UNAUTHENTICATED): the middleware
// refuses those before GraphQL runs, so one reaching here is a wiring mistake, and it
// fails closed. A role that falls short is FORBIDDEN, logged with the reason.
func HasRole(ctx context.Context, _ any, next graphql.Resolver, role model.Role) (any, error) {
	need := roleOf(role)
	field := graphql.GetFieldContext(ctx).Field.Name
	p, ok := auth.PrincipalFrom(ctx)
	if !ok {
		zerolog.Ctx(ctx).Warn().Str("field", field).Str("need", string(need)).Str("reason", "no principal").Msg("field denied")
		return nil, apperr.New(apperr.Unauthenticated, "", "%s needs credentials: send Authorization: Bearer <token>", field)
	}
	if !p.Role.Allows(need) {
		zerolog.Ctx(ctx).Warn().Str("field", field).Str("actor", p.Actor).Str("role", string(p.Role)).
			Str("need", string(need)).Str("reason", "role too low").Msg("field denied")
		return nil, apperr.New(apperr.Forbidden, "", "%s needs the %s role; %s has the %s role", field, need, p.Actor, p.Role)
	}
	return next(ctx)
}

// roleOf maps the GraphQL enum to a role.
func roleOf(r model.Role) auth.Role { return auth.Role(strings.ToLower(string(r))) }

// toRole maps a role to the GraphQL enum.
func toRole(r auth.Role) model.Role { return model.Role(strings.ToUpper(string(r))) }

func toAPIToken(t store.APIToken) *model.APIToken {
	out := &model.APIToken{
		ID: t.ID, Name: t.Name, Role: toRole(t.Role), CreatedAt: t.CreatedAt, CreatedBy: t.CreatedBy,
		ExpiresAt: t.ExpiresAt, RevokedAt: t.RevokedAt,
	}
	if t.RevokedBy != "" {
		out.RevokedBy = &t.RevokedBy
	}
	if t.AccessKey {
		keyID := auth.AccessKeyID(t.ID)
		out.AccessKeyID = &keyID
	}
	return out
}

// tokenToRevoke finds the token a revokeApiToken input names by exactly one of id and
// name, and returns its id.
func (r *mutationResolver) tokenToRevoke(ctx context.Context, in model.RevokeAPITokenInput) (string, error) {
	switch {
	case (in.ID == nil) == (in.Name == nil):
		return "", apperr.Invalid("input", "give exactly one of id and name")
	case in.ID != nil:
		return *in.ID, nil
	}
	t, err := r.Store.APITokenByName(ctx, "input.name", *in.Name)
	return t.ID, err
}
