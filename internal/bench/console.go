package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/google/uuid"

	"github.com/provgraph/provgraph/web"
)

// The console in headless Chromium (Debian's chromium): how long a lineage picture
// takes from the click to drawn, and how long the page's thread is ever blocked while
// a cone too large to draw node by node loads; and the size of its JavaScript.
const consoleRounds = 7

// consoleCone posts, as OpenLineage events, a pipeline whose sink dataset has an
// upstream cone of about width × (2 × layers + 1) nodes: layers of width jobs, each
// reading two outputs of the layer before (the first layer reads raw tables) and
// writing one, then gather jobs of at most 625 inputs, then one sink job. It returns
// the sink dataset's ID.
func consoleCone(client *http.Client, base, ns string, layers, width int) (string, error) {
	ds := func(name string) map[string]any { return map[string]any{"namespace": ns, "name": name} }
	var events []map[string]any
	event := func(job string, inputs []any, output string) {
		events = append(events, map[string]any{
			"eventType": "COMPLETE", "eventTime": time.Now().UTC().Format(time.RFC3339Nano),
			"run":    map[string]any{"runId": uuid.NewString()},
			"job":    map[string]any{"namespace": ns, "name": job},
			"inputs": inputs, "outputs": []any{ds(output)},
			"producer":  "https://github.com/provgraph/provgraph/internal/bench",
			"schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
		})
	}
	prev := func(l, j int) string {
		if l == 0 {
			return fmt.Sprintf("raw_%d", j%width)
		}
		return fmt.Sprintf("out_%d_%d", l, j%width)
	}
	for l := 1; l <= layers; l++ {
		for j := range width {
			event(fmt.Sprintf("job_%d_%d", l, j), []any{ds(prev(l-1, j)), ds(prev(l-1, j+1))}, prev(l, j))
		}
	}
	var gathered []any
	for g := 0; g*625 < width; g++ {
		var in []any
		for j := g * 625; j < min(width, (g+1)*625); j++ {
			in = append(in, ds(prev(layers, j)))
		}
		event(fmt.Sprintf("gather_%d", g), in, fmt.Sprintf("gathered_%d", g))
		gathered = append(gathered, ds(fmt.Sprintf("gathered_%d", g)))
	}
	event("sink_job", gathered, "sink")
	for start := 0; start < len(events); start += 500 {
		body, _ := json.Marshal(events[start:min(start+500, len(events))])
		resp, err := client.Post(base+"/api/v1/lineage/batch", "application/json", bytes.NewReader(body))
		if err != nil {
			return "", err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return "", fmt.Errorf("OpenLineage batch: HTTP %d", resp.StatusCode)
		}
	}
	return "dataset:" + ns + ":sink", nil
}

// drawScript opens a node page by changing the address, as a click on a link does, and
// resolves with the milliseconds until its picture is drawn with at least min nodes
// (and the next frame painted), and the longest task that blocked the page meanwhile.
const drawScript = `new Promise((resolve, reject) => {
  let longest = 0;
  const obs = new PerformanceObserver(list => { for (const e of list.getEntries()) longest = Math.max(longest, e.duration); });
  obs.observe({ type: 'longtask' });
  const t0 = performance.now();
  location.hash = %s;
  const check = () => {
    const svg = document.querySelector('svg.lineage[data-state="drawn"]');
    const rows = document.querySelector('.status');
    if (svg && Number(svg.dataset.nodes) > 0 && rows && !rows.innerText.startsWith('Loading')) {
      const drawnMs = performance.now() - t0;
      requestAnimationFrame(() => setTimeout(() => { obs.disconnect(); resolve({ ms: drawnMs, longest, drawn: Number(svg.dataset.nodes), status: rows.innerText }); }, 0));
    } else if (performance.now() - t0 > 60000) {
      reject(new Error('not drawn within 60 s'));
    } else {
      requestAnimationFrame(check);
    }
  };
  requestAnimationFrame(check);
})`

type drawResult struct {
	Ms      float64 `json:"ms"`
	Longest float64 `json:"longest"`
	Drawn   int     `json:"drawn"`
	Status  string  `json:"status"`
}

// consoleBench measures the console; chromium is Debian's (PROVGRAPH_CHROMIUM to use another).
func consoleBench(client *http.Client, base, token string) (string, error) {
	if !web.Built() {
		return "", fmt.Errorf("the console is not built into the benchmark: run make web")
	}
	chromium := os.Getenv("PROVGRAPH_CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := exec.LookPath(chromium); err != nil {
		return "", fmt.Errorf("no chromium at %s: apt-get install chromium", chromium)
	}
	ns := "bench-console-" + time.Now().UTC().Format("20060102-150405")
	fmt.Fprintln(os.Stderr, "console: recording the cones (OpenLineage)")
	small, err := consoleCone(client, base, ns+"-1k", 4, 125)
	if err != nil {
		return "", err
	}
	large, err := consoleCone(client, base, ns+"-10k", 4, 1250)
	if err != nil {
		return "", err
	}

	actx, cancel := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.WindowSize(1400, 1000),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"))
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	if err := chromedp.Run(ctx, chromedp.Navigate(base+"/#token="+token), chromedp.WaitVisible(`input[aria-label="Search"]`, chromedp.ByQuery)); err != nil {
		return "", err
	}
	open := func(id string) (drawResult, error) {
		var r drawResult
		href, _ := json.Marshal("#/node/" + url.PathEscape(id) + "?depth=50")
		// Leave the page first, so each round opens it anew.
		err := chromedp.Run(ctx, chromedp.Evaluate(`location.hash = '#/'`, nil), chromedp.Sleep(300*time.Millisecond),
			chromedp.Evaluate(fmt.Sprintf(drawScript, href), &r, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
		return r, err
	}
	var b strings.Builder
	b.WriteString("\n## Console\n\n")
	fmt.Fprintf(&b, "- Method: headless Chromium (%s), window 1400×1000, console served by the benchmark's server; "+
		"a node page is opened by changing the address as a link click does, and the time runs until its lineage picture is drawn "+
		"and the next frame painted; %d rounds per cone after one warm-up, the page left between rounds. "+
		"\"Longest task\" is the longest time the page's thread was blocked meanwhile (Long Tasks API; 0 when no task took over 50 ms).\n"+
		"- Data: OpenLineage pipelines recorded by the benchmark (layers of jobs each reading two outputs of the layer before, gathered into one sink dataset); "+
		"the picture is the sink's upstream cone at depth 50.\n\n", chromiumVersion(chromium), consoleRounds)
	b.WriteString("| cone | nodes drawn | first page | p50 to drawn | max to drawn | longest task (max) |\n|---|---|---|---|---|---|\n")
	for _, c := range []struct{ name, id string }{{"≈1,000 nodes", small}, {"≈11,000 nodes (collapsed groups)", large}} {
		if _, err := open(c.id); err != nil {
			return "", fmt.Errorf("console %s: %w", c.name, err)
		}
		var times, longest []float64
		var last drawResult
		for range consoleRounds {
			r, err := open(c.id)
			if err != nil {
				return "", fmt.Errorf("console %s: %w", c.name, err)
			}
			times = append(times, r.Ms)
			longest = append(longest, r.Longest)
			last = r
		}
		slices.Sort(times)
		fmt.Fprintf(&b, "| %s | %d | %s | %.0f ms | %.0f ms | %.0f ms |\n", c.name, last.Drawn, strings.TrimSpace(strings.Split(last.Status, ".")[0]),
			times[len(times)/2], times[len(times)-1], slices.Max(longest))
	}
	total, console, err := jsSizes()
	if err != nil {
		return "", err
	}
	fmt.Fprintf(&b, "\nJavaScript, gzipped: the console's own %.0f KB (its page loads this), with GraphiQL's page %.0f KB in all (target: ≤ 1 MB).\n",
		float64(console)/1024, float64(total)/1024)
	b.WriteString("Targets: a 1,000-node picture drawn ≤ 2 s after the click; a 10,000-node cone keeps the page responsive.\n")
	return b.String(), nil
}

// jsSizes returns the gzipped size of every built script, and of those the console's
// page loads (its entry and the chunks index.html names; GraphiQL's are apart).
func jsSizes() (total, console int, err error) {
	assets := web.Assets()
	index, err := fs.ReadFile(assets, "index.html")
	if err != nil {
		return 0, 0, err
	}
	err = fs.WalkDir(assets, "assets", func(path string, d fs.DirEntry, err error) error {
		if err != nil || !strings.HasSuffix(path, ".js") {
			return err
		}
		b, err := fs.ReadFile(assets, path)
		if err != nil {
			return err
		}
		var z bytes.Buffer
		w := gzip.NewWriter(&z)
		w.Write(b)
		w.Close()
		total += z.Len()
		if bytes.Contains(index, []byte(strings.TrimPrefix(path, "assets/"))) || strings.Contains(path, "layout.worker") {
			console += z.Len()
		}
		return nil
	})
	return total, console, err
}

func chromiumVersion(path string) string {
	out, err := exec.Command(path, "--version").Output()
	if err != nil {
		return "chromium"
	}
	return strings.TrimSpace(string(out))
}
