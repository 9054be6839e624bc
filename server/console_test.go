package server

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
)

func get(t *testing.T, h http.Handler, path string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	securityHeaders(h).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec
}

// The console's pages and hashed assets come from the embedded build, every answer
// with the Content-Security-Policy; a missing asset is 404, never a page.
func TestConsoleServesTheBuild(t *testing.T) {
	t.Parallel()
	assets := fstest.MapFS{
		"index.html":           {Data: []byte("<!doctype html><title>provgraph</title>")},
		"graphiql.html":        {Data: []byte("<!doctype html><title>provgraph · GraphiQL</title>")},
		"assets/index-abc.js":  {Data: []byte("console.log(1)")},
		"assets/index-abc.css": {Data: []byte("body{}")},
	}
	h := consoleHandler(fs.FS(assets), true)
	for path, want := range map[string]string{
		"/":                    "<title>provgraph</title>",
		"/graphiql":            "GraphiQL",
		"/assets/index-abc.js": "console.log(1)",
	} {
		rec := get(t, h, path)
		assert.Equal(t, http.StatusOK, rec.Code, path)
		assert.Contains(t, rec.Body.String(), want, path)
		csp := rec.Header().Get("Content-Security-Policy")
		for _, directive := range []string{"script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "object-src 'none'"} {
			assert.Contains(t, csp, directive, path)
		}
		assert.NotContains(t, csp, "unsafe-inline", path)
		assert.NotContains(t, csp, "unsafe-eval", path)
		assert.Equal(t, "nosniff", rec.Header().Get("X-Content-Type-Options"), path)
	}
	assert.Equal(t, "no-cache", get(t, h, "/").Header().Get("Cache-Control"))
	assert.Contains(t, get(t, h, "/assets/index-abc.js").Header().Get("Cache-Control"), "immutable")
	assert.Equal(t, http.StatusNotFound, get(t, h, "/assets/missing.js").Code)
	assert.Equal(t, http.StatusNotFound, get(t, h, "/assets/").Code, "no directory listing")
}

// A binary built without the console says how to build it.
func TestConsoleNotBuilt(t *testing.T) {
	t.Parallel()
	h := consoleHandler(fstest.MapFS{}, false)
	for _, path := range []string{"/", "/graphiql"} {
		rec := get(t, h, path)
		assert.Equal(t, http.StatusOK, rec.Code)
		assert.True(t, strings.Contains(rec.Body.String(), "make web"), rec.Body.String())
		assert.Contains(t, rec.Header().Get("Content-Security-Policy"), "script-src 'self'")
	}
}
