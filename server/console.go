package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/provgraph/provgraph/auth"
)

// Paths of the console. Its pages and assets are public (accessFor): they are the same
// for everyone, and every request they make to the API carries the signed-in token.
const (
	consolePagePath  = "/"
	graphiQLPagePath = "/graphiql"
	consoleAssets    = "/assets/"
)

// ContentSecurityPolicy is sent with every response. Scripts, styles, fonts and API
// calls come from the service itself only; no inline script or style runs, so text
// from ingested data that slipped into markup could not execute; images may also be
// data: and blob: URLs (the lineage picture's PNG export draws the SVG through one);
// no page may be framed. With the console's OIDC sign-in (signIn not nil), the page may
// also call the issuer's token endpoint — its origin, nothing else; the authorization
// endpoint is a top-level navigation, which no directive governs, so form-action and
// the rest stay 'self'.
func ContentSecurityPolicy(signIn *ConsoleOIDC) string {
	connect := "connect-src 'self'"
	if signIn != nil {
		// SECURITY: one more place the console may send requests to: the issuer's token
		// endpoint, whose origin NewConsoleOIDC checked to be a plain scheme://host[:port].
		connect += " " + signIn.tokenOrigin
	}
	return "default-src 'self'; script-src 'self'; style-src 'self'; " +
		"img-src 'self' data: blob:; font-src 'self' data:; " + connect + "; worker-src 'self'; " +
		"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
}

// securityHeaders sets the policy headers on every response, the API's included.
func securityHeaders(csp string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}

// ConsoleOIDC is the console's sign-in with the OIDC issuer: the Authorization Code flow
// with PKCE (S256), run in the browser as a public client (no secret). The console reads
// it from a <meta name="provgraph-oidc"> in its page (no inline script, no endpoint of
// its own). Build it with NewConsoleOIDC.
type ConsoleOIDC struct {
	Issuer                string `json:"issuer"`
	ClientID              string `json:"clientId"`
	Scope                 string `json:"scope"`
	AuthorizationEndpoint string `json:"authorizationEndpoint"`
	TokenEndpoint         string `json:"tokenEndpoint"`
	// tokenOrigin is TokenEndpoint's origin, for the Content-Security-Policy.
	tokenOrigin string
}

// ConsoleOIDCMeta names the <meta> the console's page carries its sign-in in.
const ConsoleOIDCMeta = "provgraph-oidc"

// scopeToken is one OAuth scope (RFC 6749 section 3.3).
var scopeToken = regexp.MustCompile(`^[\x21\x23-\x5B\x5D-\x7E]+$`)

// cspHost is a host[:port] that can be written into a Content-Security-Policy as is.
var cspHost = regexp.MustCompile(`^([A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?$`)

// NewConsoleOIDC checks the console's sign-in: a client ID, scopes, and the issuer's
// endpoints (auth.OIDC.Endpoints), which must offer PKCE with S256 when they say what
// they offer.
func NewConsoleOIDC(issuer, clientID string, scopes []string, ep auth.Endpoints) (*ConsoleOIDC, error) {
	if clientID == "" {
		return nil, errors.New("console sign-in: the client ID is empty")
	}
	for _, s := range scopes {
		if !scopeToken.MatchString(s) {
			return nil, fmt.Errorf("console sign-in: %q is not a scope", s)
		}
	}
	if len(ep.CodeChallengeMethods) > 0 && !slices.Contains(ep.CodeChallengeMethods, "S256") {
		return nil, fmt.Errorf("console sign-in: issuer %s does not offer PKCE with S256 (code_challenge_methods_supported: %s)",
			issuer, strings.Join(ep.CodeChallengeMethods, ", "))
	}
	if _, err := endpointOrigin("authorization_endpoint", ep.Authorization); err != nil {
		return nil, err
	}
	origin, err := endpointOrigin("token_endpoint", ep.Token)
	if err != nil {
		return nil, err
	}
	return &ConsoleOIDC{Issuer: issuer, ClientID: clientID, Scope: strings.Join(scopes, " "),
		AuthorizationEndpoint: ep.Authorization, TokenEndpoint: ep.Token, tokenOrigin: origin}, nil
}

// endpointOrigin checks an endpoint of the issuer and returns its origin.
func endpointOrigin(name, raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.User != nil || u.Fragment != "" || !cspHost.MatchString(u.Host) {
		return "", fmt.Errorf("console sign-in: the issuer's %s %q is not an absolute http(s) URL", name, raw)
	}
	// SECURITY: the authorization code, the PKCE verifier and the tokens travel to and
	// from these endpoints: HTTPS, or plain HTTP only where it cannot leave the machine.
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopbackHost(u.Hostname()):
	default:
		return "", fmt.Errorf("console sign-in: the issuer's %s %q must be https (http only on a loopback address)", name, raw)
	}
	return u.Scheme + "://" + u.Host, nil
}

func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// withSignInMeta inserts the console's sign-in into page as a <meta> at the end of its
// head. The JSON is HTML-escaped into the attribute, so no value can end it.
func withSignInMeta(page []byte, signIn *ConsoleOIDC) ([]byte, error) {
	before, after, ok := bytes.Cut(page, []byte("</head>"))
	if !ok {
		return nil, errors.New("the console page has no </head>")
	}
	doc, err := json.Marshal(signIn)
	if err != nil {
		return nil, err
	}
	meta := `<meta name="` + ConsoleOIDCMeta + `" content="` + html.EscapeString(string(doc)) + `">`
	return slices.Concat(before, []byte(meta), []byte("</head>"), after), nil
}

// isConsolePath tells the console's public paths from the API's.
func isConsolePath(p string) bool {
	return p == consolePagePath || p == graphiQLPagePath || strings.HasPrefix(p, consoleAssets)
}

// consoleHandler serves the built console: index.html at /, graphiql.html at /graphiql
// and the content-hashed files under /assets/. With signIn, index.html carries it in
// its head. A binary built without the console answers its pages with how to build it.
func consoleHandler(assets fs.FS, built bool, signIn *ConsoleOIDC) http.Handler {
	mux := http.NewServeMux()
	page := func(name string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if !built {
				notBuilt(w)
				return
			}
			body, err := fs.ReadFile(assets, name)
			if err != nil {
				http.Error(w, "console page missing from the build", http.StatusInternalServerError)
				return
			}
			if signIn != nil && name == "index.html" {
				if body, err = withSignInMeta(body, signIn); err != nil {
					http.Error(w, "console page: "+err.Error(), http.StatusInternalServerError)
					return
				}
			}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			// Pages name the current asset hashes: always ask again.
			w.Header().Set("Cache-Control", "no-cache")
			_, _ = w.Write(body)
		}
	}
	mux.HandleFunc("GET "+consolePagePath+"{$}", page("index.html"))
	mux.HandleFunc("GET "+graphiQLPagePath, page("graphiql.html"))
	files := http.FileServerFS(assets)
	mux.HandleFunc("GET "+consoleAssets, func(w http.ResponseWriter, r *http.Request) {
		// Files only: no directory listings.
		if info, err := fs.Stat(assets, path.Clean(strings.TrimPrefix(r.URL.Path, "/"))); err != nil || info.IsDir() {
			http.NotFound(w, r)
			return
		}
		// Asset names carry a content hash: they never change.
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		files.ServeHTTP(w, r)
	})
	return mux
}

// notBuilt is the page of a binary built without the console.
func notBuilt(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>provgraph</title></head><body>" +
		"<h1>provgraph</h1><p>This binary was built without the web console.</p>" +
		"<p>Build it with <code>make web</code> and rebuild the binary (<code>make build</code>; <code>make run</code> does both), " +
		"or use the API directly: <code>POST " + html.EscapeString(GraphQLPath) + "</code>.</p></body></html>"))
}
