package server_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/auth"
	"github.com/provgraph/provgraph/internal/authtest"
	"github.com/provgraph/provgraph/internal/neo4jtest"
	"github.com/provgraph/provgraph/server"
	"github.com/provgraph/provgraph/store"
)

// replicaHandler is provgraph's handler on a store of its own — its own driver and
// process-wide bookmark manager, as another `provgraph serve` has — on the test Neo4j.
func replicaHandler(t *testing.T, wait time.Duration) http.Handler {
	t.Helper()
	cfg := neo4jtest.Config(t)
	cfg.BookmarkWait = wait
	return newBareHandler(t, server.Options{Store: neo4jtest.OwnStore(t, cfg)})
}

// bookmarksIn decodes a bookmark header value as a client never needs to: to check it.
func bookmarksIn(t *testing.T, value string) []string {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(value)
	require.NoError(t, err, "base64url, unpadded: %q", value)
	var bms []string
	require.NoError(t, json.Unmarshal(raw, &bms), "a JSON array of strings: %s", raw)
	return bms
}

func bookmarkValue(t *testing.T, bookmarks ...string) string {
	t.Helper()
	raw, err := json.Marshal(bookmarks)
	require.NoError(t, err)
	return base64.RawURLEncoding.EncodeToString(raw)
}

// A write through any surface — a GraphQL mutation (a token's creation too), an MLflow
// call, an OpenLineage event or batch, a SageMaker event — answers with the bookmark
// header; another replica, sent it back, reads the write; a request that only reads
// answers without one; and several values sent together work.
func TestEveryWriteAnswersWithItsBookmark(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	tk := neo4jtest.Token(t)
	admin := authtest.NewToken(t, st, auth.RoleAdmin)
	a := newBareHandler(t, server.Options{Store: st})
	b := replicaHandler(t, 0)
	with := func(header string) map[string]string {
		h := map[string]string{"Authorization": admin.Header()}
		if header != "" {
			h[server.BookmarkHeader] = header
		}
		return h
	}
	wrote := func(t *testing.T, got answer, status int) string {
		t.Helper()
		require.Equal(t, status, got.status, got.body)
		header := got.header.Get(server.BookmarkHeader)
		require.NotEmpty(t, header, "the write's answer carries its bookmark")
		assert.Len(t, bookmarksIn(t, header), 1, "one bookmark: the request wrote one database")
		return header
	}
	// readNode reads id through replica b, after the write that answered header.
	readNode := func(t *testing.T, header, id string) {
		t.Helper()
		resp := doWithHeader(t, b, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": id}, with(header))
		require.Empty(t, resp.Errors)
		assert.Equal(t, id, get(resp.Data, "node", "id"), "replica b reads the write")
		assert.Empty(t, resp.Header.Get(server.BookmarkHeader), "a read answers without a bookmark")
	}
	var headers []string

	t.Run("GraphQL mutation", func(t *testing.T) {
		resp := doWithHeader(t, a, createExperiment, map[string]any{"input": map[string]any{"name": "bm-" + tk}}, with(""))
		require.Empty(t, resp.Errors)
		header := wrote(t, answer{resp.Status, resp.Header, "GraphQL"}, http.StatusOK)
		readNode(t, header, get(resp.Data, "createExperiment", "experiment", "id").(string))
		headers = append(headers, header)
	})
	t.Run("GraphQL token creation", func(t *testing.T) {
		resp := doWithHeader(t, a, createToken, map[string]any{"input": map[string]any{"name": "bm-" + tk, "role": "READER"}}, with(""))
		require.Empty(t, resp.Errors)
		header := wrote(t, answer{resp.Status, resp.Header, "GraphQL"}, http.StatusOK)
		got := doWithHeader(t, b, listTokens, map[string]any{"first": 100, "all": true}, with(header))
		require.Empty(t, got.Errors)
		assert.Contains(t, fmt.Sprint(get(got.Data, "apiTokens", "edges")), "bm-"+tk)
	})
	t.Run("MLflow", func(t *testing.T) {
		got := call(t, a, "POST", "/api/2.0/mlflow/experiments/create", `{"name": "bm-mlflow-`+tk+`"}`, with(""))
		header := wrote(t, got, http.StatusOK)
		read := call(t, b, "GET", "/api/2.0/mlflow/experiments/get-by-name?experiment_name=bm-mlflow-"+tk, "", with(header))
		require.Equal(t, http.StatusOK, read.status, read.body)
		assert.Empty(t, read.header.Get(server.BookmarkHeader))
		headers = append(headers, header)
	})
	t.Run("OpenLineage event", func(t *testing.T) {
		got := call(t, a, "POST", "/api/v1/lineage", mustJSON(t, olRunEvent(t, "bm-"+tk, "single")), with(""))
		readNode(t, wrote(t, got, http.StatusCreated), store.JobKey("bm-"+tk, "single"))
	})
	t.Run("OpenLineage batch", func(t *testing.T) {
		got := call(t, a, "POST", "/api/v1/lineage/batch", mustJSON(t, []any{olRunEvent(t, "bm-"+tk, "first"), olRunEvent(t, "bm-"+tk, "second")}), with(""))
		header := wrote(t, got, http.StatusOK)
		readNode(t, header, store.JobKey("bm-"+tk, "first"))
		readNode(t, header, store.JobKey("bm-"+tk, "second"))
	})
	t.Run("SageMaker event", func(t *testing.T) {
		golden, err := os.ReadFile("../ingest/sagemaker/testdata/training_completed.json")
		require.NoError(t, err)
		got := call(t, a, "POST", "/api/v1/sagemaker/events", strings.ReplaceAll(string(golden), "{{TK}}", tk), with(""))
		require.Contains(t, got.body, `"accepted":1`)
		readNode(t, wrote(t, got, http.StatusOK), store.JobKey("sagemaker", "fraud-xgb-"+tk))
	})
	t.Run("several values", func(t *testing.T) {
		require.Len(t, headers, 2)
		got := call(t, b, "GET", "/api/2.0/mlflow/experiments/get-by-name?experiment_name=bm-"+tk, "", with(strings.Join(headers, ", ")))
		require.Equal(t, http.StatusOK, got.status, got.body)
	})
	t.Run("a failed write", func(t *testing.T) {
		resp := doWithHeader(t, a, createExperiment, map[string]any{"input": map[string]any{"name": "bm-" + tk}}, with(""))
		require.Len(t, resp.Errors, 1)
		assert.Equal(t, "CONFLICT", resp.Errors[0].Extensions["code"])
		assert.Empty(t, resp.Header.Get(server.BookmarkHeader), "nothing committed, no bookmark")
	})
}

// A malformed bookmark header, one over the limits, and bookmarks Neo4j refuses are
// INVALID_ARGUMENT naming the header, in each surface's error shape, and the request
// writes nothing.
func TestMalformedBookmarksAreInvalidArguments(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	tk := neo4jtest.Token(t)
	writer := authtest.NewToken(t, st, auth.RoleWriter)
	h := replicaHandler(t, time.Second)

	many := make([]string, server.MaxBookmarks+1)
	for i := range many {
		many[i] = fmt.Sprintf("FB:bookmark%d", i)
	}
	cases := []struct{ name, value, reason string }{
		{"not base64url", "not base64!", "base64url of a JSON array"},
		{"not a JSON array", base64.RawURLEncoding.EncodeToString([]byte(`{"a": 1}`)), "base64url of a JSON array"},
		{"padded base64 of an array of numbers", base64.URLEncoding.EncodeToString([]byte(`[1]`)), "base64url of a JSON array"},
		{"an empty bookmark", bookmarkValue(t, ""), "printable ASCII"},
		{"a bookmark with a space", bookmarkValue(t, "FB:a b"), "printable ASCII"},
		{"too many bookmarks", bookmarkValue(t, many...), fmt.Sprintf("holds %d bookmarks; at most %d", len(many), server.MaxBookmarks)},
		{"too large", strings.Repeat("A", server.MaxBookmarkHeaderBytes+1), fmt.Sprintf("at most %d are allowed", server.MaxBookmarkHeaderBytes)},
		{"refused by Neo4j", bookmarkValue(t, "hello"), "does not accept"},
	}
	for _, s := range []struct{ name, path, body, shape, code string }{
		{"GraphQL", "/graphql", mustJSON(t, map[string]any{"query": createExperiment, "variables": map[string]any{"input": map[string]any{"name": "bad-" + tk}}}), "graphql", "INVALID_ARGUMENT"},
		{"MLflow", "/api/2.0/mlflow/experiments/create", `{"name": "bad-` + tk + `"}`, "mlflow", "INVALID_PARAMETER_VALUE"},
		{"OpenLineage", "/api/v1/lineage", mustJSON(t, olRunEvent(t, "bad-"+tk, "job")), "json", "INVALID_ARGUMENT"},
		{"SageMaker", "/api/v1/sagemaker/events", `[]`, "json", "INVALID_ARGUMENT"},
	} {
		t.Run(s.name, func(t *testing.T) {
			for _, c := range cases {
				got := call(t, h, "POST", s.path, s.body, map[string]string{"Authorization": writer.Header(), server.BookmarkHeader: c.value})
				assert.Equal(t, http.StatusBadRequest, got.status, "%s: %s", c.name, got.body)
				assert.Equal(t, s.code, errorCode(t, s.shape, got.body), c.name)
				assert.Contains(t, got.body, server.BookmarkHeader+": ", c.name)
				assert.Contains(t, got.body, c.reason, c.name)
				assert.Empty(t, got.header.Get(server.BookmarkHeader), c.name)
				var v map[string]any
				require.NoError(t, json.Unmarshal([]byte(got.body), &v))
				switch s.shape {
				case "graphql":
					assert.Equal(t, server.BookmarkHeader, get(v, "errors", 0, "extensions", "field"), c.name)
				case "json":
					assert.Equal(t, server.BookmarkHeader, v["field"], c.name)
				}
			}
		})
	}
	// Nothing was written: the names are free.
	resp := doWithHeader(t, h, createExperiment, map[string]any{"input": map[string]any{"name": "bad-" + tk}}, map[string]string{"Authorization": writer.Header()})
	require.Empty(t, resp.Errors)
	got := call(t, h, "POST", "/api/2.0/mlflow/experiments/create", `{"name": "bad-mlflow-`+tk+`"}`, map[string]string{"Authorization": writer.Header()})
	require.Equal(t, http.StatusOK, got.status, got.body)
	_, err := st.NodeByID(t.Context(), "id", store.JobKey("bad-"+tk, "job"))
	assert.Error(t, err, "the OpenLineage event was not recorded")
}

// docs/limits.md and docs/operations.md state the bookmark header's limits as the code
// has them.
func TestBookmarkLimitsAreDocumented(t *testing.T) {
	t.Parallel()
	for _, file := range []string{"../docs/limits.md", "../docs/operations.md"} {
		page, err := os.ReadFile(file)
		require.NoError(t, err)
		text := string(page)
		assert.Contains(t, text, fmt.Sprintf("%d KiB", server.MaxBookmarkHeaderBytes>>10), file)
		assert.Contains(t, text, fmt.Sprintf("%d bookmarks", server.MaxBookmarks), file)
		assert.Contains(t, text, fmt.Sprintf("within %d s", int(store.DefaultBookmarkWait.Seconds())), file)
	}
}
