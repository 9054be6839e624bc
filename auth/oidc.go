package auth

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"

	"github.com/provgraph/provgraph/apperr"
)

// OIDCConfig configures the validation of JWT bearer tokens issued by an OpenID Connect
// provider (or any issuer of signed JWTs with a JWKS).
type OIDCConfig struct {
	// Issuer must equal the tokens' "iss" claim. Required.
	Issuer string
	// Audience must be among the tokens' "aud" values. Required: without it a token the
	// issuer minted for any other application would be accepted.
	Audience string
	// JWKSURL is where the signing keys are fetched (and fetched again when a token names
	// a key not seen before). When JWKSURL and JWKSFile are empty, it is discovered from
	// the issuer's /.well-known/openid-configuration at start-up.
	JWKSURL string
	// JWKSFile is a local file with the signing keys: a JWKS document, or PEM public keys
	// or certificates. It replaces fetching them.
	JWKSFile string
	// Algorithms are the signature algorithms accepted; DefaultOIDCAlgorithms when empty.
	// Only public-key algorithms can be allowed: "none" and the HS* shared-secret
	// algorithms never are.
	Algorithms []string
	// RoleClaim names the claim holding the roles: a string (several separated by spaces
	// or commas) or a list of strings. A dotted name reaches into objects
	// ("realm_access.roles"). DefaultRoleClaim when empty.
	RoleClaim string
	// RoleMap maps claim values (compared in any case) to roles; the highest role mapped
	// wins. When empty the values reader, writer and admin map to themselves.
	RoleMap map[string]Role
	// Now is the clock expiry is checked against; time.Now when nil.
	Now func() time.Time
	// DiscoverEndpoints reads the issuer's discovery document even when the keys are
	// given (JWKSURL, JWKSFile), for the endpoints the console's sign-in needs
	// (Endpoints). Discovery that fails, or a document without them, fails NewOIDC.
	DiscoverEndpoints bool
}

// Endpoints are where an OpenID provider signs people in and hands out tokens, as its
// discovery document names them.
type Endpoints struct {
	// Authorization is the authorization_endpoint, where the browser is sent to sign in.
	Authorization string
	// Token is the token_endpoint, where an authorization code is exchanged for tokens.
	Token string
	// CodeChallengeMethods are the PKCE methods the provider says it supports
	// (code_challenge_methods_supported); empty when it does not say.
	CodeChallengeMethods []string
}

// DefaultOIDCAlgorithms are the signature algorithms accepted unless configured.
var DefaultOIDCAlgorithms = []string{"RS256", "ES256"}

// DefaultRoleClaim is the claim roles are read from unless configured.
const DefaultRoleClaim = "roles"

// publicKeyAlgorithms are the algorithms that may be allowed.
var publicKeyAlgorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

// OIDC validates JWT bearer tokens and maps them to principals.
type OIDC struct {
	issuer    string
	verifier  *oidc.IDTokenVerifier
	roleClaim []string
	roleMap   map[string]Role
	// endpoints are the discovered endpoints; nil when discovery was not done.
	endpoints *Endpoints
}

// NewOIDC checks cfg and prepares the validation. ctx bounds the discovery request
// (when the keys' location must be discovered) and carries the HTTP client the key
// fetches use (oidc.ClientContext), if not the default one.
func NewOIDC(ctx context.Context, cfg OIDCConfig) (*OIDC, error) {
	if cfg.Issuer == "" {
		return nil, errors.New("oidc: the issuer is required")
	}
	if cfg.Audience == "" {
		return nil, errors.New("oidc: the audience is required (the tokens' aud claim must name provgraph)")
	}
	if cfg.JWKSURL != "" && cfg.JWKSFile != "" {
		return nil, errors.New("oidc: give a JWKS URL or a JWKS file, not both")
	}
	algs := cfg.Algorithms
	if len(algs) == 0 {
		algs = DefaultOIDCAlgorithms
	}
	for _, a := range algs {
		if !slices.Contains(publicKeyAlgorithms, a) {
			return nil, fmt.Errorf("oidc: algorithm %q is not accepted; allow only public-key algorithms (%s)",
				a, strings.Join(publicKeyAlgorithms, ", "))
		}
	}
	vcfg := &oidc.Config{ClientID: cfg.Audience, SupportedSigningAlgs: algs, Now: cfg.Now}
	// One discovery request serves both needs: the keys' location and the endpoints.
	var provider *oidc.Provider
	var endpoints *Endpoints
	if cfg.DiscoverEndpoints || (cfg.JWKSURL == "" && cfg.JWKSFile == "") {
		var err error
		if provider, err = oidc.NewProvider(ctx, cfg.Issuer); err != nil {
			return nil, fmt.Errorf("oidc: discover issuer %s (or give a JWKS URL or file): %w", cfg.Issuer, err)
		}
		if cfg.DiscoverEndpoints {
			if endpoints, err = discoveredEndpoints(provider); err != nil {
				return nil, fmt.Errorf("oidc: issuer %s: %w", cfg.Issuer, err)
			}
		}
	}
	var verifier *oidc.IDTokenVerifier
	switch {
	case cfg.JWKSFile != "":
		keys, err := readPublicKeys(cfg.JWKSFile)
		if err != nil {
			return nil, fmt.Errorf("oidc: read the keys in %s: %w", cfg.JWKSFile, err)
		}
		verifier = oidc.NewVerifier(cfg.Issuer, &oidc.StaticKeySet{PublicKeys: keys}, vcfg)
	case cfg.JWKSURL != "":
		verifier = oidc.NewVerifier(cfg.Issuer, oidc.NewRemoteKeySet(ctx, cfg.JWKSURL), vcfg)
	default:
		verifier = provider.VerifierContext(ctx, vcfg)
	}
	claim := cfg.RoleClaim
	if claim == "" {
		claim = DefaultRoleClaim
	}
	roleMap := map[string]Role{}
	for v, r := range cfg.RoleMap {
		if !r.Valid() {
			return nil, fmt.Errorf("oidc: claim value %q maps to %q, which is not a role (reader, writer or admin)", v, r)
		}
		roleMap[strings.ToLower(v)] = r
	}
	if len(roleMap) == 0 {
		for _, r := range Roles {
			roleMap[string(r)] = r
		}
	}
	return &OIDC{issuer: cfg.Issuer, verifier: verifier, roleClaim: strings.Split(claim, "."), roleMap: roleMap, endpoints: endpoints}, nil
}

// discoveredEndpoints reads the authorization and token endpoints from a discovery
// document.
func discoveredEndpoints(p *oidc.Provider) (*Endpoints, error) {
	var doc struct {
		Authorization string   `json:"authorization_endpoint"`
		Token         string   `json:"token_endpoint"`
		Methods       []string `json:"code_challenge_methods_supported"`
	}
	if err := p.Claims(&doc); err != nil {
		return nil, fmt.Errorf("read the discovery document: %w", err)
	}
	if doc.Authorization == "" || doc.Token == "" {
		return nil, errors.New("the discovery document names no authorization_endpoint or no token_endpoint")
	}
	return &Endpoints{Authorization: doc.Authorization, Token: doc.Token, CodeChallengeMethods: doc.Methods}, nil
}

// Issuer is the issuer tokens must come from.
func (o *OIDC) Issuer() string { return o.issuer }

// Endpoints returns the issuer's authorization and token endpoints, discovered when
// OIDCConfig.DiscoverEndpoints was set; false otherwise.
func (o *OIDC) Endpoints() (Endpoints, bool) {
	if o.endpoints == nil {
		return Endpoints{}, false
	}
	return *o.endpoints, true
}

// Authenticate validates a JWT — signature by a key of the issuer with an allowed
// algorithm, issuer, audience, an exp claim in the future, nbf — and returns its
// principal: actor "oidc:<sub>", with the highest role its role claim maps to. A token
// that fails is an UNAUTHENTICATED error saying why; a valid token without a role is
// FORBIDDEN.
func (o *OIDC) Authenticate(ctx context.Context, raw string) (Principal, error) {
	tok, err := o.verifier.Verify(ctx, raw)
	if err != nil {
		var expired *oidc.TokenExpiredError
		if errors.As(err, &expired) {
			if expired.Expiry.IsZero() {
				return Principal{}, unauthenticated(err, "the JWT has no exp claim; provgraph accepts only tokens that expire")
			}
			return Principal{}, unauthenticated(err, "the JWT expired at %s", expired.Expiry.UTC().Format(time.RFC3339))
		}
		return Principal{}, unauthenticated(err, "the JWT is not valid: %s", strings.TrimPrefix(err.Error(), "oidc: "))
	}
	if tok.Subject == "" {
		return Principal{}, unauthenticated(nil, "the JWT has no sub claim")
	}
	var claims map[string]any
	if err := tok.Claims(&claims); err != nil {
		return Principal{}, unauthenticated(err, "the JWT's claims are not a JSON object")
	}
	p := Principal{Actor: OIDCActor(tok.Subject), Via: ViaOIDC}
	for _, v := range claimValues(claims, o.roleClaim) {
		if r := o.roleMap[strings.ToLower(v)]; r.rank() > p.Role.rank() {
			p.Role = r
		}
	}
	if !p.Role.Valid() {
		return p, apperr.New(apperr.Forbidden, "", "the JWT of %s carries no provgraph role in its %s claim", p.Actor, strings.Join(o.roleClaim, "."))
	}
	return p, nil
}

// claimValues returns the strings at path in claims: a string's words (split at
// spaces and commas) or a list's strings.
func claimValues(claims map[string]any, path []string) []string {
	var v any = claims
	for _, name := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[name]
	}
	switch x := v.(type) {
	case string:
		return strings.FieldsFunc(x, func(r rune) bool { return r == ' ' || r == ',' })
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func unauthenticated(cause error, format string, args ...any) error {
	return &apperr.Error{Code: apperr.Unauthenticated, Reason: fmt.Sprintf(format, args...), Cause: cause}
}

// readPublicKeys reads a JWKS document, or PEM blocks of public keys or certificates.
func readPublicKeys(file string) ([]crypto.PublicKey, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var keys []crypto.PublicKey
	if trimmed := strings.TrimSpace(string(b)); strings.HasPrefix(trimmed, "{") {
		var set jose.JSONWebKeySet
		if err := json.Unmarshal(b, &set); err != nil {
			return nil, fmt.Errorf("not a JWKS document: %w", err)
		}
		for i, k := range set.Keys {
			pub := k.Public()
			if !pub.Valid() {
				return nil, fmt.Errorf("key %d (kid %q) is not a public key", i, k.KeyID)
			}
			keys = append(keys, pub.Key)
		}
	} else {
		for rest := b; ; {
			var block *pem.Block
			block, rest = pem.Decode(rest)
			if block == nil {
				break
			}
			switch block.Type {
			case "PUBLIC KEY":
				k, err := x509.ParsePKIXPublicKey(block.Bytes)
				if err != nil {
					return nil, err
				}
				keys = append(keys, k)
			case "CERTIFICATE":
				c, err := x509.ParseCertificate(block.Bytes)
				if err != nil {
					return nil, err
				}
				keys = append(keys, c.PublicKey)
			default:
				return nil, fmt.Errorf("a PEM block of type %q; give PUBLIC KEY or CERTIFICATE blocks", block.Type)
			}
		}
	}
	if len(keys) == 0 {
		return nil, errors.New("no keys found")
	}
	return keys, nil
}
