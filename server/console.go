package server

import (
	"html"
	"io/fs"
	"net/http"
	"path"
	"strings"
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
// no page may be framed.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; worker-src 'self'; " +
	"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// securityHeaders sets the policy headers on every response, the API's included.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}

// isConsolePath tells the console's public paths from the API's.
func isConsolePath(p string) bool {
	return p == consolePagePath || p == graphiQLPagePath || strings.HasPrefix(p, consoleAssets)
}

// consoleHandler serves the built console: index.html at /, graphiql.html at /graphiql
// and the content-hashed files under /assets/. A binary built without the console
// answers its pages with how to build it.
func consoleHandler(assets fs.FS, built bool) http.Handler {
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
