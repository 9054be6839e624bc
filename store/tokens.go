package store

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"

	"github.com/provgraph/provgraph/apperr"
	"github.com/provgraph/provgraph/auth"
)

// LabelAPIToken marks an API token. Tokens are not provenance: they do not carry
// LabelNode, so no lineage query, node lookup or export ever sees them.
const LabelAPIToken = "ApiToken"

// Properties of an API token node. Only the SHA-256 of the secret is stored.
const (
	propTokenID        = "id"
	propTokenName      = "name"
	propTokenRole      = "role"
	propTokenHash      = "hash"
	propTokenCreatedAt = "createdAt"
	propTokenCreatedBy = "createdBy"
	propTokenExpiresAt = "expiresAt"
	propTokenRevokedAt = "revokedAt"
	propTokenRevokedBy = "revokedBy"
	// propTokenSealed is an access key's secret, sealed (accesskeys.go); absent on
	// bearer tokens.
	propTokenSealed = "sealedSecret"
)

// apiTokenMigration adds the API tokens' constraints: a token is found by its id, and a
// name is never reused — writes record "token:<name>" as their actor, which must name
// one token for as long as the graph exists, revoked tokens included.
var apiTokenMigration = Migration{
	Version:     5,
	Description: "API tokens: unique ids and names",
	Statements: []string{
		`CREATE CONSTRAINT api_token_id IF NOT EXISTS
		 FOR (t:` + LabelAPIToken + `) REQUIRE t.` + propTokenID + ` IS UNIQUE`,
		`CREATE CONSTRAINT api_token_name IF NOT EXISTS
		 FOR (t:` + LabelAPIToken + `) REQUIRE t.` + propTokenName + ` IS UNIQUE`,
	},
	Indexes: []string{"api_token_id", "api_token_name"},
}

// tokenNameForm is what a token name may be: it becomes the actor "token:<name>" on
// every write, so it is short, without spaces, and readable in a log.
var tokenNameForm = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// DefaultTokenCacheTTL is how long a looked-up API token is trusted before it is looked
// up again, unless configured (Config.TokenCacheTTL).
const DefaultTokenCacheTTL = 5 * time.Second

// APIToken is a stored API token, without its secret.
type APIToken struct {
	// ID is the public part of the token (pgt_<id>_<secret>).
	ID        string
	Name      string
	Role      auth.Role
	CreatedAt time.Time
	// CreatedBy is the actor that created the token.
	CreatedBy string
	// ExpiresAt is when the token stops working; nil when it does not expire.
	ExpiresAt *time.Time
	// RevokedAt is when the token was revoked; nil while it is not.
	RevokedAt *time.Time
	RevokedBy string
	// AccessKey tells an access key (signing requests with SigV4) from a bearer token.
	AccessKey bool
	// hash is the SHA-256 of the secret; it never leaves the store.
	hash string
	// sealed is an access key's sealed secret; it never leaves the store unopened.
	sealed string
}

// Actor is what writes made with the token record as their actor.
func (t APIToken) Actor() string { return auth.TokenActor(t.Name) }

// NewAPIToken describes a token to create.
type NewAPIToken struct {
	Name string
	Role auth.Role
	// ExpiresAt, when set, must be in the future.
	ExpiresAt *time.Time
}

const (
	cypherCreateAPIToken = `
OPTIONAL MATCH (old:` + LabelAPIToken + ` {` + propTokenName + `: $name})
WITH old WHERE old IS NULL
CREATE (t:` + LabelAPIToken + ` {` + propTokenID + `: $id, ` + propTokenName + `: $name, ` + propTokenRole + `: $role,
  ` + propTokenHash + `: $hash, ` + propTokenCreatedAt + `: datetime.transaction(), ` + propTokenCreatedBy + `: $actor,
  ` + propTokenExpiresAt + `: $expiresAt, ` + propTokenSealed + `: $sealed})
RETURN t {.*} AS token`

	cypherAPITokenByID = `
MATCH (t:` + LabelAPIToken + ` {` + propTokenID + `: $id})
RETURN t {.*} AS token`

	cypherAPITokenByName = `
MATCH (t:` + LabelAPIToken + ` {` + propTokenName + `: $name})
RETURN t {.*} AS token`

	// The token is locked by the SET before revokedAt is read again, so of two
	// concurrent revocations one records itself and the other finds it revoked.
	cypherRevokeAPIToken = `
MATCH (t:` + LabelAPIToken + ` {` + propTokenID + `: $id})
SET t._lock_ = true
REMOVE t._lock_
WITH t, t.` + propTokenRevokedAt + ` IS NULL AS fresh
SET t.` + propTokenRevokedAt + ` = coalesce(t.` + propTokenRevokedAt + `, datetime.transaction()),
    t.` + propTokenRevokedBy + ` = coalesce(t.` + propTokenRevokedBy + `, $actor)
RETURN t {.*} AS token, fresh`

	cypherAPITokens = `
MATCH (t:` + LabelAPIToken + `)
WHERE t.` + propTokenName + ` > $after AND ($includeRevoked OR t.` + propTokenRevokedAt + ` IS NULL)
WITH t ORDER BY t.` + propTokenName + ` LIMIT $limit
RETURN collect(t {.*}) AS tokens`
)

// CreateAPIToken records a new API token and returns it with the whole token, which is
// shown to its user this once: only a hash of its secret is stored. A name that any
// token ever had, revoked ones included, is a CONFLICT.
func (s *Store) CreateAPIToken(ctx context.Context, actor string, in NewAPIToken) (tok APIToken, token string, err error) {
	expiresAt, err := checkNewToken(in)
	if err != nil {
		return APIToken{}, "", err
	}
	id, token, hash, err := auth.NewToken()
	if err != nil {
		return APIToken{}, "", fmt.Errorf("create API token: %w", err)
	}
	tok, err = s.createToken(ctx, actor, in.Name, in.Role, expiresAt, id, hash, nil)
	if err != nil {
		return APIToken{}, "", err
	}
	return tok, token, nil
}

// checkNewToken checks a token to create and returns its expiry as the driver sends it.
func checkNewToken(in NewAPIToken) (expiresAt any, err error) {
	if err := checkTokenName("name", in.Name); err != nil {
		return nil, err
	}
	if !in.Role.Valid() {
		return nil, apperr.Invalid("role", "must be reader, writer or admin (got %q)", in.Role)
	}
	if in.ExpiresAt != nil {
		if !in.ExpiresAt.After(time.Now()) {
			return nil, apperr.Invalid("expiresAt", "must be in the future (got %s)", in.ExpiresAt.UTC().Format(time.RFC3339))
		}
		expiresAt = in.ExpiresAt.UTC()
	}
	return expiresAt, nil
}

// createToken records a token (sealed nil) or an access key.
func (s *Store) createToken(ctx context.Context, actor, name string, role auth.Role, expiresAt any, id, hash string, sealed any) (APIToken, error) {
	tok, err := write(ctx, s, actor, ActionTokenCreate, func(tx neo4j.ManagedTransaction, au *audit) (APIToken, error) {
		au.target(auth.TokenActor(name))
		recs, err := collect(ctx, tx, cypherCreateAPIToken, map[string]any{
			"id": id, "name": name, "role": string(role), "hash": hash, "actor": actor, "expiresAt": expiresAt, "sealed": sealed,
		})
		if err != nil {
			return APIToken{}, fmt.Errorf("create API token %q: %w", name, err)
		}
		if len(recs) == 0 {
			return APIToken{}, nameTaken(name)
		}
		return tokenAt(recs[0])
	})
	if isConstraintViolation(err) {
		// Another request created a token of this name at the same moment.
		return APIToken{}, nameTaken(name)
	}
	return tok, err
}

func nameTaken(name string) error {
	return apperr.Conflicting("name", "an API token named %q exists already (names are never reused, "+
		"so the actor they record stays unambiguous); choose another name", name)
}

func checkTokenName(field, name string) error {
	if name == "" {
		return apperr.Invalid(field, "must not be empty")
	}
	if len(name) > MaxTokenNameLength {
		return apperr.Invalid(field, "must be at most %d characters (got %d)", MaxTokenNameLength, len(name))
	}
	if !tokenNameForm.MatchString(name) {
		return apperr.Invalid(field, "must start with a letter or digit and hold only letters, digits, '.', '_' and '-' (got %q)",
			truncateForMessage(name))
	}
	return nil
}

// APITokenByID returns the token with this id, revoked or not; an unknown id is
// NOT_FOUND.
func (s *Store) APITokenByID(ctx context.Context, field, id string) (APIToken, error) {
	return s.apiToken(ctx, cypherAPITokenByID, map[string]any{"id": id}, field, id)
}

// APITokenByName returns the token with this name, revoked or not; an unknown name is
// NOT_FOUND.
func (s *Store) APITokenByName(ctx context.Context, field, name string) (APIToken, error) {
	return s.apiToken(ctx, cypherAPITokenByName, map[string]any{"name": name}, field, name)
}

func (s *Store) apiToken(ctx context.Context, cypher string, params map[string]any, field, ref string) (APIToken, error) {
	return read(ctx, s, func(tx neo4j.ManagedTransaction) (APIToken, error) {
		recs, err := collect(ctx, tx, cypher, params)
		if err != nil {
			return APIToken{}, fmt.Errorf("read API token: %w", err)
		}
		if len(recs) == 0 {
			return APIToken{}, apperr.Missing(field, "no API token is %q", truncateForMessage(ref))
		}
		return tokenAt(recs[0])
	})
}

// RevokeAPIToken revokes the token with this id: it stops working at once on this
// instance and within the token cache's TTL on the others. The token is kept, with who
// revoked it and when. An unknown id is NOT_FOUND; a token revoked already is a
// CONFLICT naming when and by whom.
func (s *Store) RevokeAPIToken(ctx context.Context, actor, field, id string) (APIToken, error) {
	type result struct {
		tok   APIToken
		fresh bool
	}
	res, err := write(ctx, s, actor, ActionTokenRevoke, func(tx neo4j.ManagedTransaction, au *audit) (result, error) {
		recs, err := collect(ctx, tx, cypherRevokeAPIToken, map[string]any{"id": id, "actor": actor})
		if err != nil {
			return result{}, fmt.Errorf("revoke API token %q: %w", id, err)
		}
		if len(recs) == 0 {
			return result{}, apperr.Missing(field, "no API token is %q", truncateForMessage(id))
		}
		tok, err := tokenAt(recs[0])
		if err != nil {
			return result{}, err
		}
		au.target(auth.TokenActor(tok.Name))
		fresh, _ := recs[0].Get("fresh")
		if fresh == true {
			// fresh: the statement read no revokedAt before it set one.
			au.changeValue(auth.TokenActor(tok.Name), propTokenRevokedAt, nil, timeValue(tok.RevokedAt))
		}
		if fresh != true {
			// Refused inside the transaction, so that it appends no audit entry.
			return result{}, apperr.Conflicting(field, "the API token %q was revoked already, at %s by %s",
				tok.Name, tok.RevokedAt.UTC().Format(time.RFC3339), tok.RevokedBy)
		}
		return result{tok, true}, nil
	})
	s.tokens.forget(id)
	if err != nil {
		return APIToken{}, err
	}
	return res.tok, nil
}

// APITokenPage is a page of API tokens, by name.
type APITokenPage struct {
	Tokens []APIToken
	// Cursors[i] points after Tokens[i].
	Cursors   []string
	EndCursor string
}

// APITokens lists API tokens by name, a page at a time; revoked ones only when asked.
func (s *Store) APITokens(ctx context.Context, first int, after string, includeRevoked bool) (APITokenPage, error) {
	if _, err := checkPage(&first); err != nil {
		return APITokenPage{}, err
	}
	type position struct {
		Name string `json:"n"`
	}
	var from position
	if after != "" {
		if err := decodeOpaque("after", after, 512, &from); err != nil || from.Name == "" {
			return APITokenPage{}, errNotCursor("after")
		}
	}
	return read(ctx, s, func(tx neo4j.ManagedTransaction) (APITokenPage, error) {
		recs, err := collect(ctx, tx, cypherAPITokens, map[string]any{"after": from.Name, "includeRevoked": includeRevoked, "limit": first + 1})
		if err != nil {
			return APITokenPage{}, fmt.Errorf("list API tokens: %w", err)
		}
		list, _ := recs[0].Get("tokens")
		var page APITokenPage
		for i, v := range list.([]any) {
			if i == first {
				page.EndCursor = page.Cursors[first-1]
				break
			}
			tok := tokenFrom(v.(map[string]any))
			page.Tokens = append(page.Tokens, tok)
			page.Cursors = append(page.Cursors, encodeOpaque(position{tok.Name}))
		}
		return page, nil
	})
}

// AuthenticateAPIToken checks a presented API token (pgt_<id>_<secret>) and returns
// the stored token. A malformed, unknown, revoked or expired token, or a wrong secret,
// is UNAUTHENTICATED with a reason for the client (an unknown id and a wrong secret
// read alike; the cause, for the log, tells them apart).
//
// Looked-up tokens are kept for Config.TokenCacheTTL, so a request does not cost a
// database round trip; expiry is checked on every request, and a revocation made
// through this store takes effect at once (through another instance, within the TTL).
func (s *Store) AuthenticateAPIToken(ctx context.Context, presented string) (APIToken, error) {
	id, secret, ok := auth.ParseToken(presented)
	if !ok {
		return APIToken{}, &apperr.Error{Code: apperr.Unauthenticated,
			Reason: "the bearer token is not a provgraph API token (pgt_<id>_<secret>)", Cause: errors.New("malformed API token")}
	}
	tok, cached := s.tokens.get(id)
	if !cached {
		var err error
		tok, err = s.APITokenByID(ctx, "token", id)
		if apperr.CodeOf(err) == apperr.NotFound {
			return APIToken{}, &apperr.Error{Code: apperr.Unauthenticated, Reason: "unknown API token",
				Cause: fmt.Errorf("no API token has id %s", id)}
		}
		if err != nil {
			return APIToken{}, err
		}
		s.tokens.put(tok)
	}
	// SECURITY: the secret is compared with the stored hash in constant time. An access
	// key's secret signs requests; it is never sent as a bearer token.
	if !auth.SecretMatches(secret, tok.hash) || tok.AccessKey {
		return APIToken{}, &apperr.Error{Code: apperr.Unauthenticated, Reason: "unknown API token",
			Cause: fmt.Errorf("wrong secret for API token %s (%s)", id, tok.Name)}
	}
	return tok, tok.usable()
}

// usable refuses a revoked or expired token.
func (t APIToken) usable() error {
	if t.RevokedAt != nil {
		return apperr.New(apperr.Unauthenticated, "", "the API token %q was revoked at %s", t.Name, t.RevokedAt.UTC().Format(time.RFC3339))
	}
	if t.ExpiresAt != nil && !time.Now().Before(*t.ExpiresAt) {
		return apperr.New(apperr.Unauthenticated, "", "the API token %q expired at %s", t.Name, t.ExpiresAt.UTC().Format(time.RFC3339))
	}
	return nil
}

func tokenAt(rec *neo4j.Record) (APIToken, error) {
	v, ok := rec.Get("token")
	props, isMap := v.(map[string]any)
	if !ok || !isMap {
		return APIToken{}, errors.New("read API token: no token in the record")
	}
	return tokenFrom(props), nil
}

func tokenFrom(props map[string]any) APIToken {
	n := Node{Props: props}
	t := APIToken{
		ID: n.String(propTokenID), Name: n.String(propTokenName), Role: auth.Role(n.String(propTokenRole)),
		CreatedBy: n.String(propTokenCreatedBy), ExpiresAt: n.OptTime(propTokenExpiresAt),
		RevokedAt: n.OptTime(propTokenRevokedAt), RevokedBy: n.String(propTokenRevokedBy), hash: n.String(propTokenHash),
		sealed: n.String(propTokenSealed),
	}
	t.AccessKey = t.sealed != ""
	if at := n.OptTime(propTokenCreatedAt); at != nil {
		t.CreatedAt = *at
	}
	return t
}

// maxCachedTokens bounds the token cache; when it is full, expired entries go, and if
// none had, all of them.
const maxCachedTokens = 10000

// tokenCache keeps looked-up API tokens for a short time (ttl; 0 keeps none).
type tokenCache struct {
	ttl     time.Duration
	mu      sync.Mutex
	entries map[string]cachedToken
}

type cachedToken struct {
	tok     APIToken
	expires time.Time
}

func (c *tokenCache) get(id string) (APIToken, bool) {
	if c.ttl <= 0 {
		return APIToken{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[id]
	if !ok || !time.Now().Before(e.expires) {
		return APIToken{}, false
	}
	return e.tok, true
}

func (c *tokenCache) put(tok APIToken) {
	if c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if c.entries == nil {
		c.entries = map[string]cachedToken{}
	}
	if len(c.entries) >= maxCachedTokens {
		for id, e := range c.entries {
			if !now.Before(e.expires) {
				delete(c.entries, id)
			}
		}
		if len(c.entries) >= maxCachedTokens {
			clear(c.entries)
		}
	}
	c.entries[tok.ID] = cachedToken{tok: tok, expires: now.Add(c.ttl)}
}

func (c *tokenCache) forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, id)
}
