package store_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/internal/neo4jtest"
	"github.com/provgraph/provgraph/store"
)

// Listing an experiment's logged models reads them from the experiment's own index
// range, not by going through every logged model, and pages in key order as before.
func TestListLoggedModelsOfExperiments(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	tk := neo4jtest.Token(t)
	ctx := t.Context()

	var exps []string
	byExp := map[string][]string{}
	for i := range 3 {
		e, err := st.CreateExperiment(ctx, "test", store.ExperimentInput{Name: "lm-" + tk + "-" + string(rune('a'+i))})
		require.NoError(t, err)
		id := strings.TrimPrefix(e.Key, "experiment:")
		exps = append(exps, id)
		for range 4 {
			m, err := st.CreateLoggedModel(ctx, "test", store.LoggedModelInput{
				ModelID: store.NewLoggedModelID(), Experiment: e.Key, Name: "model", ArtifactLocation: "s3://bucket/" + tk,
			})
			require.NoError(t, err)
			byExp[id] = append(byExp[id], m.Key)
		}
	}
	deleted := byExp[exps[0]][0]
	_, err := st.UpdateLoggedModel(ctx, "test", store.LoggedModelUpdate{ModelID: store.LoggedModelIDOf(deleted), Delete: true})
	require.NoError(t, err)
	byExp[exps[0]] = byExp[exps[0]][1:]

	list := func(ids []string, first int) []string {
		var keys []string
		after := ""
		for {
			page, err := st.ListLoggedModels(ctx, ids, first, after)
			require.NoError(t, err)
			for _, n := range page.Nodes {
				keys = append(keys, n.Key)
			}
			if page.EndCursor == "" {
				return keys
			}
			after = page.EndCursor
		}
	}
	for name, ids := range map[string][]string{
		"one":       {exps[1]},
		"two":       {exps[2], exps[0]},
		"repeated":  {exps[0], exps[0], exps[2]},
		"unknown":   {"no-such-" + tk},
		"all three": exps,
		"every":     nil,
	} {
		t.Run(name, func(t *testing.T) {
			var want []string
			for _, id := range ids {
				want = append(want, byExp[id]...)
			}
			if ids == nil {
				for _, keys := range byExp {
					want = append(want, keys...)
				}
			}
			slices.Sort(want)
			want = slices.Compact(want)
			for _, first := range []int{1, 3, 100} {
				got := list(ids, first)
				if ids == nil { // other tests' models too
					got = slices.DeleteFunc(got, func(k string) bool { return !slices.Contains(want, k) })
				}
				assert.Equal(t, want, got, "pages of %d", first)
			}
		})
	}

	// Each experiment's models come from the index in key order, so its branch reads no
	// more than a page (a Limit over the seek, no sort of all its models); only the
	// merge of the experiments' pages sorts.
	plan, err := store.ListLoggedModelsPlan(ctx, st, exps[:2])
	require.NoError(t, err)
	joined := strings.Join(plan, "\n")
	assert.Contains(t, joined, "NodeIndexSeek RANGE INDEX n:Artifact(experimentId, key) WHERE experimentId = experiment AND key > $after", joined)
	assert.Equal(t, 1, strings.Count(joined, "Top "), "one sort, of the merged pages:\n%s", joined)
	assert.Regexp(t, `Limit \$limit\n\s+Filter [^\n]*\n\s+NodeIndexSeek`, joined)
	for _, op := range []string{"Sort ", "LabelScan", "AllNodesScan"} {
		assert.NotContains(t, joined, op, joined)
	}
	t.Logf("plan for two experiments:\n%s", joined)

	// Every experiment: a seek on the node keys' common prefix from the cursor, in key
	// order.
	plan, err = store.ListLoggedModelsPlan(ctx, st, nil)
	require.NoError(t, err)
	joined = strings.Join(plan, "\n")
	assert.Contains(t, joined, "NodeUniqueIndexSeekByRange UNIQUE n:Node(key) WHERE key > $after AND key < $before", joined)
	for _, op := range []string{"Sort ", "Top ", "LabelScan", "AllNodesScan"} {
		assert.NotContains(t, joined, op, joined)
	}
	t.Logf("plan for every experiment:\n%s", joined)
}
