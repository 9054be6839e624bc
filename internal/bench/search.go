package main

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/provgraph/provgraph/internal/benchenv"
	"github.com/provgraph/provgraph/store"
)

// searchText is one kind of text a person types into the search box, drawn at random
// from the seeded graph, and whether its answers must include a node with wantID.
type searchText struct {
	name string
	text func(rng *rand.Rand, pipelines int) (text, wantID string)
}

// searchTexts are what the search benchmark types: from words that match a few hundred
// nodes to one letter or the prefix every seeded node shares.
var searchTexts = []searchText{
	{"a use case (`fraud`)", func(rng *rand.Rand, _ int) (string, string) {
		return store.SeedUseCases[rng.IntN(len(store.SeedUseCases))], ""
	}},
	{"a use case with a letter missing (`frad`)", func(rng *rand.Rand, _ int) (string, string) {
		w := store.SeedUseCases[rng.IntN(len(store.SeedUseCases))]
		i := 1 + rng.IntN(len(w)-2)
		return w[:i] + w[i+1:], ""
	}},
	{"a use case's first three letters (`fra`)", func(rng *rand.Rand, _ int) (string, string) {
		return store.SeedUseCases[rng.IntN(len(store.SeedUseCases))][:3], ""
	}},
	{"one letter seeded names start with (`f`)", func(rng *rand.Rand, _ int) (string, string) {
		const initials = "bfmprst" // bench-…, features-…, model.tar.gz, prepare-…, reference, source-…, train-…
		i := rng.IntN(len(initials))
		return initials[i : i+1], ""
	}},
	{"an endpoint's name (`" + prefix + "-endpoint-12-0`)", func(rng *rand.Rand, pipelines int) (string, string) {
		name := prefix + "-endpoint-" + strconv.Itoa(rng.IntN(pipelines)) + "-" + strconv.Itoa(rng.IntN(2))
		return name, store.EndpointKey(name)
	}},
	{"an endpoint's ID (`endpoint:" + prefix + "-endpoint-12-0`)", func(rng *rand.Rand, pipelines int) (string, string) {
		id := store.EndpointKey(prefix + "-endpoint-" + strconv.Itoa(rng.IntN(pipelines)) + "-" + strconv.Itoa(rng.IntN(2)))
		return id, id
	}},
	{"a model name with a typo (`" + prefix + "-modle-12-0`)", func(rng *rand.Rand, pipelines int) (string, string) {
		p, m := strconv.Itoa(rng.IntN(pipelines)), strconv.Itoa(rng.IntN(2))
		return prefix + "-modle-" + p + "-" + m, store.RegisteredModelKey(prefix + "-model-" + p + "-" + m)
	}},
	{"a raw data URI (`s3://" + prefix + "-raw-12/source-0`)", func(rng *rand.Rand, pipelines int) (string, string) {
		ns, name := "s3://"+prefix+"-raw-"+strconv.Itoa(rng.IntN(pipelines)), "source-"+strconv.Itoa(rng.IntN(2))
		return ns + "/" + name, store.DatasetKey(ns, name)
	}},
	{"the word every seeded node holds (`" + prefix + "`)", func(*rand.Rand, int) (string, string) {
		return prefix, ""
	}},
}

const searchGQL = `query($text: String!) { search(text: $text, first: 20) {
  edges { node { id kind name } score } pageInfo { hasNextPage } totalCount } }`

// searchBench measures search over HTTP on the seeded graph of the given size (pipelines
// of it), one text of each kind per round, and returns the report's section.
func searchBench(client *http.Client, url string, pipelines int, nodes int64, requests, warmup int) (string, error) {
	rng := rand.New(rand.NewPCG(12, 12))
	matches := make([]int, len(searchTexts))
	rows := make([]row, len(searchTexts))
	var all []time.Duration // every request's time, warm-up first, for the row of all texts
	for i, st := range searchTexts {
		rows[i] = row{st.name, func() error {
			start := time.Now()
			defer func() { all = append(all, time.Since(start)) }()
			text, want := st.text(rng, pipelines)
			var out struct {
				Search struct {
					Edges []struct {
						Node struct{ ID string }
					}
					TotalCount int
				}
			}
			if err := gql(client, url, searchGQL, map[string]any{"text": text}, &out); err != nil {
				return fmt.Errorf("search %q: %w", text, err)
			}
			matches[i] = max(matches[i], out.Search.TotalCount)
			if want == "" {
				if len(out.Search.Edges) == 0 {
					return fmt.Errorf("search %q found nothing", text)
				}
				return nil
			}
			for _, e := range out.Search.Edges {
				if e.Node.ID == want {
					return nil
				}
			}
			return fmt.Errorf("search %q did not find %s on its first page", text, want)
		}}
	}
	res, err := measure(rows, warmup/10, requests/10)
	if err != nil {
		return "", err
	}
	all = all[len(rows)*(warmup/10):]
	slices.Sort(all)
	res = append(res, result{name: "every text above, together", p50: all[len(all)/2], p99: all[len(all)*99/100], max: all[len(all)-1]})
	matches = append(matches, slices.Max(matches))
	var b strings.Builder
	b.WriteString("\n## Search\n\n")
	fmt.Fprintf(&b, "- Date: %s; machine: %s, %d cores, %s RAM; Neo4j: the local launcher, heap %s and page cache %s\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), benchenv.CPUModel(), runtime.NumCPU(), memTotal(),
		envOr("NEO4J_HEAP", "4g"), envOr("NEO4J_PAGECACHE", "4g"))
	fmt.Fprintf(&b, "- Data: the `provgraph seed` graph, %d nodes in the database; the seed describes and tags each pipeline's models and raw data with one of %d use cases (fraud, churn, …)\n",
		nodes, len(store.SeedUseCases))
	fmt.Fprintf(&b, "- Method: `search(text:, first: 20)` with `edges { node { id kind name } score }`, `pageInfo` and `totalCount`, "+
		"over HTTP through the real handler; texts drawn at random from the seeded graph, one of each kind per round "+
		"(rotating order), %d warm-up rounds then %d measured\n\n", warmup/10, requests/10)
	b.WriteString("| text | most matches (totalCount) | p50 | p99 | max |\n|---|---|---|---|---|\n")
	for i, x := range res {
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s |\n", x.name, matches[i], ms(x.p50), ms(x.p99), ms(x.max))
	}
	fmt.Fprintf(&b, "\nTarget: p50 ≤ 30 ms, p99 ≤ 100 ms. A search ranks at most Lucene's %d best matches (totalCount stops there, "+
		"besides exact ID and name matches). The slowest text is the word every one of the seeded nodes holds: Lucene scores each node "+
		"it is found in, in every property it is in.\n", store.MaxSearchHits)
	return b.String(), nil
}

// envOr is the environment variable name, or def when it is unset.
func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// writeSection puts section (which starts with its "## " heading) into file in place of
// the section with the same heading, or before the one headed before, or at the end.
func writeSection(file, section, before string) error {
	old, err := os.ReadFile(file)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	doc := string(old)
	heading, _, _ := strings.Cut(strings.TrimPrefix(section, "\n"), "\n")
	if i := strings.Index(doc, "\n"+heading+"\n"); i >= 0 {
		end := len(doc)
		if j := strings.Index(doc[i+1+len(heading):], "\n## "); j >= 0 {
			end = i + 1 + len(heading) + j
		}
		doc = doc[:i] + section + doc[end:]
	} else if i := strings.Index(doc, "\n"+before+"\n"); i >= 0 {
		doc = doc[:i] + section + doc[i:]
	} else {
		doc += section
	}
	return os.WriteFile(file, []byte(doc), 0o644)
}
