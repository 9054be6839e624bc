package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/auth"
	"github.com/provgraph/provgraph/internal/authtest"
	"github.com/provgraph/provgraph/internal/neo4jtest"
	"github.com/provgraph/provgraph/server"
	"github.com/provgraph/provgraph/web"
)

// chromiumPath is Debian's chromium (apt-get install chromium), or PROVGRAPH_CHROMIUM.
// Nothing here downloads a browser.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("PROVGRAPH_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	t.Fatal("no chromium: the console's browser tests need Debian's chromium (apt-get install chromium; " +
		".ci/run installs it) or PROVGRAPH_CHROMIUM set to a Chromium binary")
	return ""
}

// console is a provgraph server on 127.0.0.1 (the real handler on the test Neo4j) and
// a headless Chromium that fails the test on any console error, uncaught exception,
// JavaScript dialog (what an injected alert(1) would open) or request that leaves
// 127.0.0.1.
type console struct {
	t     *testing.T
	url   string
	admin authtest.Credential
	ctx   context.Context
	dir   string // downloads

	mu        sync.Mutex
	problems  []string
	downloads map[string]string // guid → suggested file name, once complete
	// failedLoads are URLs a test expects to answer with an error status.
	failedLoads map[string]bool
}

func newConsole(t *testing.T) *console {
	t.Helper()
	return newConsoleWith(t, nil)
}

// newConsoleWith is newConsole with the server's options changed by configure.
func newConsoleWith(t *testing.T, configure func(*server.Options)) *console {
	t.Helper()
	if !web.Built() {
		t.Fatal("the console is not built into this test binary: run `make web` (make test does)")
	}
	st := neo4jtest.Store(t)
	admin := authtest.NewToken(t, st, auth.RoleAdmin)
	opts := server.Options{Store: st, Logger: zerolog.New(zerolog.NewTestWriter(t))}
	if configure != nil {
		configure(&opts)
	}
	srv := httptest.NewServer(server.New(opts))
	t.Cleanup(srv.Close)

	c := &console{t: t, url: srv.URL, admin: admin, dir: t.TempDir(), downloads: map[string]string{}, failedLoads: map[string]bool{}}
	profile, err := os.MkdirTemp("", "provgraph-chromium-")
	require.NoError(t, err)
	allocOpts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1400, 1000),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		// Any name but 127.0.0.1 fails to resolve: nothing can leave the machine.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), allocOpts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
		// Chromium's helper processes may still write to the profile for a moment after
		// the browser is gone (t.TempDir would fail the test on that); try a few times.
		for range 20 {
			if os.RemoveAll(profile) == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	c.ctx = ctx
	chromedp.ListenTarget(ctx, c.watch)
	require.NoError(t, chromedp.Run(ctx,
		network.Enable(),
		cdplog.Enable(),
		runtime.Enable(),
		browser.SetDownloadBehavior(browser.SetDownloadBehaviorBehaviorAllowAndName).
			WithDownloadPath(c.dir).WithEventsEnabled(true),
	))
	t.Cleanup(c.checkClean)
	return c
}

// watch records everything a page must never do.
func (c *console) watch(ev any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch e := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if e.Type == runtime.APITypeError || e.Type == runtime.APITypeAssert {
			c.problems = append(c.problems, "console."+string(e.Type)+": "+argsText(e.Args))
		}
	case *runtime.EventExceptionThrown:
		msg := e.ExceptionDetails.Text
		if e.ExceptionDetails.Exception != nil {
			msg += " " + e.ExceptionDetails.Exception.Description
		}
		c.problems = append(c.problems, "uncaught exception: "+msg)
	case *cdplog.EventEntryAdded:
		// Content-Security-Policy violations and failed loads are reported here.
		if e.Entry.Level == cdplog.LevelError && !(e.Entry.Source == cdplog.SourceNetwork && c.failedLoads[e.Entry.URL]) {
			c.problems = append(c.problems, "browser log ("+string(e.Entry.Source)+"): "+e.Entry.Text+" "+e.Entry.URL)
		}
	case *page.EventJavascriptDialogOpening:
		c.problems = append(c.problems, "a JavaScript dialog opened (injected script ran?): "+e.Message)
		go func() { _ = chromedp.Run(c.ctx, page.HandleJavaScriptDialog(false)) }()
	case *network.EventRequestWillBeSent:
		if !local(e.Request.URL) {
			c.problems = append(c.problems, "request leaving 127.0.0.1: "+e.Request.URL)
		}
	case *browser.EventDownloadWillBegin:
		c.downloads[e.GUID] = ""
		c.downloads[e.GUID+".name"] = e.SuggestedFilename
	case *browser.EventDownloadProgress:
		if e.State == browser.DownloadProgressStateCompleted {
			c.downloads[e.GUID] = c.downloads[e.GUID+".name"]
		}
	}
}

// expectFailedLoad lets url answer with an error status without failing the test:
// the browser reports such answers as errors, and some tests provoke them.
func (c *console) expectFailedLoad(url string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failedLoads[url] = true
}

// local accepts the test server's own URLs and in-page ones (data:, blob:, about:).
func local(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	switch u.Scheme {
	case "data", "blob", "about":
		return true
	case "http", "https", "ws", "wss":
		return u.Hostname() == "127.0.0.1"
	}
	return false
}

func argsText(args []*runtime.RemoteObject) string {
	var b strings.Builder
	for _, a := range args {
		if a.Value != nil {
			b.Write(a.Value)
		} else {
			b.WriteString(a.Description)
		}
		b.WriteByte(' ')
	}
	return b.String()
}

// checkClean fails the test on anything watch recorded.
func (c *console) checkClean() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.problems {
		c.t.Error(p)
	}
}

// run runs browser actions, failing the test with a screenshot's worth of context.
func (c *console) run(what string, actions ...chromedp.Action) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Run(ctx, actions...); err != nil {
		var body string
		_ = chromedp.Run(c.ctx, chromedp.Text("body", &body, chromedp.ByQuery))
		c.t.Fatalf("%s: %v\npage text: %.2000s", what, err, body)
	}
}

// text returns the visible text of the first element matching sel.
func (c *console) text(sel string) string {
	c.t.Helper()
	var s string
	c.run("read "+sel, chromedp.WaitVisible(sel, chromedp.ByQuery), chromedp.Text(sel, &s, chromedp.ByQuery))
	return s
}

// waitText waits until the element matching sel shows want.
func (c *console) waitText(sel, want string) {
	c.t.Helper()
	c.run("wait for "+sel+" to show "+want, chromedp.Poll(
		`(() => { const e = document.querySelector(`+jsString(sel)+`); return !!e && e.innerText.includes(`+jsString(want)+`); })()`,
		nil, chromedp.WithPollingTimeout(20*time.Second)))
}

// waitDrawn waits for a lineage picture holding the node with this ID.
func (c *console) waitDrawn(id string) {
	c.t.Helper()
	c.run("wait for the picture to draw "+id, chromedp.WaitVisible(`svg.lineage[data-state="drawn"] g.node[data-id=`+jsString(id)+`]`, chromedp.ByQuery))
}

// drawnIDs returns the IDs of the nodes the first lineage picture draws.
func (c *console) drawnIDs() []string {
	c.t.Helper()
	var ids []string
	c.run("read the picture", chromedp.Evaluate(`[...document.querySelectorAll('svg.lineage g.node')].map(g => g.dataset.id)`, &ids))
	return ids
}

// download waits for a download to complete and returns its bytes and name.
func (c *console) download() ([]byte, string) {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		for guid, name := range c.downloads {
			if strings.HasSuffix(guid, ".name") || name == "" {
				continue
			}
			delete(c.downloads, guid)
			delete(c.downloads, guid+".name")
			c.mu.Unlock()
			b, err := os.ReadFile(c.dir + "/" + guid)
			require.NoError(c.t, err)
			return b, name
		}
		c.mu.Unlock()
		time.Sleep(100 * time.Millisecond)
	}
	c.t.Fatal("no download completed within 30 s")
	return nil, ""
}

// graphiQL opens GraphiQL with the tab's sign-in, runs query there, waits for the
// response to show want and returns the response's text.
func (c *console) graphiQL(query, want string) string {
	c.t.Helper()
	c.run("open GraphiQL", chromedp.Navigate(c.url+"/graphiql"), chromedp.WaitVisible(`.graphiql-container .CodeMirror`, chromedp.ByQuery))
	c.run("type a query", chromedp.Evaluate(`document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.setValue(`+jsString(query)+`)`, nil),
		// GraphiQL reads the operation's name from the editor a moment after a change.
		chromedp.Sleep(700*time.Millisecond))
	c.run("run it", chromedp.Click(`.graphiql-execute-button`, chromedp.ByQuery))
	c.waitText(".graphiql-response", want)
	return c.text(".graphiql-response")
}

// graphql runs an operation as the test's admin, for setting data up.
func (c *console) graphql(query string, vars map[string]any) map[string]any {
	c.t.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	require.NoError(c.t, err)
	req, err := http.NewRequest(http.MethodPost, c.url+"/graphql", bytes.NewReader(body))
	require.NoError(c.t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", c.admin.Header())
	resp, err := http.DefaultClient.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	var out struct {
		Data   map[string]any `json:"data"`
		Errors []any          `json:"errors"`
	}
	require.NoError(c.t, json.NewDecoder(resp.Body).Decode(&out))
	require.Empty(c.t, out.Errors, "setting up: %s", query)
	return out.Data
}

// screenshot saves the page as docs/screenshots/<name>.png when PROVGRAPH_SCREENSHOTS
// names that folder (make screenshots).
func (c *console) screenshot(name string) {
	c.t.Helper()
	dir := os.Getenv("PROVGRAPH_SCREENSHOTS")
	if dir == "" {
		return
	}
	var png []byte
	c.run("screenshot "+name, chromedp.Sleep(300*time.Millisecond), chromedp.FullScreenshot(&png, 100))
	require.NoError(c.t, os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644))
}

// urlEscape escapes an ID for a console route (#/node/<id>).
func urlEscape(id string) string { return url.PathEscape(id) }

// jsString quotes s for JavaScript source and CSS selectors (no \u003c escapes,
// which CSS does not read).
func jsString(s string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}
