package store

import (
	"context"
	"fmt"

	"github.com/provgraph/provgraph/apperr"
	"github.com/provgraph/provgraph/auth"
)

// Access keys are API tokens that sign requests (AWS SigV4) instead of being sent: an
// access key id (auth.AccessKeyID of the token id) and a secret. Verifying a signature
// needs the secret itself, so it is stored sealed by the caller's key-encryption key
// (auth.Sealer), beside its hash; it is named, listed, revoked and expires like every
// token, and writes made with it record the token's actor.

// CreateAccessKey records a new access key, its secret sealed with seal, and returns it
// with its access key id and secret, shown to its user this once.
func (s *Store) CreateAccessKey(ctx context.Context, actor string, in NewAPIToken, seal func(id, secret string) (string, error)) (tok APIToken, keyID, secret string, err error) {
	expiresAt, err := checkNewToken(in)
	if err != nil {
		return APIToken{}, "", "", err
	}
	id, keyID, secret, hash, err := auth.NewAccessKey()
	if err != nil {
		return APIToken{}, "", "", fmt.Errorf("create access key: %w", err)
	}
	sealed, err := seal(id, secret)
	if err != nil {
		return APIToken{}, "", "", fmt.Errorf("seal the access key's secret: %w", err)
	}
	tok, err = s.createToken(ctx, actor, in.Name, in.Role, expiresAt, id, hash, sealed)
	if err != nil {
		return APIToken{}, "", "", err
	}
	return tok, keyID, secret, nil
}

// AccessKeySecret returns the usable access key of keyID and its secret, opened with
// open. An unknown key, a bearer token's id, a revoked or expired key is UNAUTHENTICATED.
// Looked-up keys are cached like tokens (AuthenticateAPIToken).
func (s *Store) AccessKeySecret(ctx context.Context, keyID string, open func(id, sealed string) (string, error)) (APIToken, string, error) {
	unknown := &apperr.Error{Code: apperr.Unauthenticated, Reason: "unknown access key",
		Cause: fmt.Errorf("no access key has id %q", keyID)}
	id, ok := auth.TokenIDOfAccessKey(keyID)
	if !ok {
		return APIToken{}, "", unknown
	}
	tok, cached := s.tokens.get(id)
	if !cached {
		var err error
		tok, err = s.APITokenByID(ctx, "accessKeyId", id)
		if apperr.CodeOf(err) == apperr.NotFound {
			return APIToken{}, "", unknown
		}
		if err != nil {
			return APIToken{}, "", err
		}
		s.tokens.put(tok)
	}
	if !tok.AccessKey {
		return APIToken{}, "", unknown
	}
	if err := tok.usable(); err != nil {
		return tok, "", err
	}
	secret, err := open(id, tok.sealed)
	if err != nil {
		return APIToken{}, "", fmt.Errorf("access key %s (%s): %w", keyID, tok.Name, err)
	}
	return tok, secret, nil
}
