// Package auth says who may do what in provgraph: the roles, the principal a request
// acts as, the format of provgraph's API tokens and the validation of OIDC / JWT
// bearer tokens. It decides nothing about HTTP routes (package server does) and keeps
// no state (tokens are stored by package store).
//
// Roles are hierarchical: admin includes writer, writer includes reader.
package auth

import (
	"context"
	"strings"

	"github.com/provgraph/provgraph/apperr"
)

// Role is what a token or identity may do.
type Role string

// The roles, least first.
const (
	// RoleReader may query and export: the auditor.
	RoleReader Role = "reader"
	// RoleWriter may also record: tracking writes and ingest.
	RoleWriter Role = "writer"
	// RoleAdmin may also manage API tokens and approve model versions.
	RoleAdmin Role = "admin"
)

// Roles lists the roles, least first.
var Roles = []Role{RoleReader, RoleWriter, RoleAdmin}

// rank orders the roles; 0 is no role.
func (r Role) rank() int {
	switch r {
	case RoleReader:
		return 1
	case RoleWriter:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

// Valid tells whether r is one of Roles.
func (r Role) Valid() bool { return r.rank() > 0 }

// Allows tells whether a holder of r may do what needs the role need (admin ⊇ writer ⊇
// reader). No role allows anything when need is not a valid role.
func (r Role) Allows(need Role) bool {
	return need.Valid() && r.rank() >= need.rank()
}

// ParseRole reads a role name (reader, writer or admin, in any case); anything else
// is an INVALID_ARGUMENT error about field.
func ParseRole(field, s string) (Role, error) {
	r := Role(strings.ToLower(strings.TrimSpace(s)))
	if !r.Valid() {
		return "", apperr.Invalid(field, "must be reader, writer or admin (got %q)", s)
	}
	return r, nil
}

// How a principal was authenticated.
const (
	ViaToken     = "token"
	ViaAccessKey = "accessKey"
	ViaOIDC      = "oidc"
	ViaAnonymous = "anonymous"
)

// Principal is who a request acts as and what it may do.
type Principal struct {
	// Actor is recorded on every write the request makes: "token:<name>" for an API
	// token, "oidc:<subject>" for a JWT, "anonymous" for an anonymous read.
	Actor string
	Role  Role
	// Via is ViaToken, ViaOIDC or ViaAnonymous.
	Via string
	// TokenID is the API token's ID (never its secret), for the log; empty otherwise.
	TokenID string
}

// TokenActor is the actor of requests made with the API token named name.
func TokenActor(name string) string { return "token:" + name }

// OIDCActor is the actor of requests made with a JWT whose subject is sub.
func OIDCActor(sub string) string { return "oidc:" + sub }

type principalKey struct{}

// WithPrincipal returns ctx carrying p. Only the authentication middleware calls it.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal ctx carries, if any.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}
