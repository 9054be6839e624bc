package store_test

import (
	"encoding/base64"
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/apperr"
	"github.com/provgraph/provgraph/auth"
	"github.com/provgraph/provgraph/internal/neo4jtest"
	"github.com/provgraph/provgraph/store"
)

const bookmarkField = "X-Test-Bookmark"

// replica is a store of its own on the test Neo4j, as another provgraph process has.
func replica(t *testing.T, wait time.Duration) *store.Store {
	t.Helper()
	cfg := neo4jtest.Config(t)
	cfg.BookmarkWait = wait
	return neo4jtest.OwnStore(t, cfg)
}

// A write through one replica records its bookmark in the request's Bookmarks (a read
// records none); another replica, given those bookmarks, waits for them and reads the
// write.
func TestBookmarksCarryAWriteToAnotherReplica(t *testing.T) {
	t.Parallel()
	a, b := replica(t, 0), replica(t, 0)
	name := neo4jtest.Token(t)

	wrote := store.NewBookmarks(bookmarkField, nil)
	ctx := store.WithBookmarks(t.Context(), wrote)
	_, err := a.APITokens(ctx, 1, "", false)
	require.NoError(t, err)
	assert.Empty(t, wrote.Committed(), "a read commits nothing a client needs")
	_, _, err = a.CreateAPIToken(ctx, "test", store.NewAPIToken{Name: name, Role: auth.RoleReader})
	require.NoError(t, err)
	first := wrote.Committed()
	require.NotEmpty(t, first, "the write's bookmark")
	_, _, err = a.CreateAPIToken(ctx, "test", store.NewAPIToken{Name: name + "-2", Role: auth.RoleReader})
	require.NoError(t, err)
	second := wrote.Committed()
	assert.Len(t, second, 1, "a later write's bookmark supersedes the earlier one")
	assert.NotEqual(t, first, second)

	sent := store.NewBookmarks(bookmarkField, second)
	ctx = store.WithBookmarks(t.Context(), sent)
	require.NoError(t, b.AwaitBookmarks(ctx, sent))
	for _, n := range []string{name, name + "-2"} {
		tok, err := b.APITokenByName(ctx, "name", n)
		require.NoError(t, err)
		assert.Equal(t, n, tok.Name)
	}
	assert.Empty(t, sent.Committed(), "reads through b committed nothing")
}

// A bookmark Neo4j cannot parse, and one naming a transaction the database never
// committed, are INVALID_ARGUMENT on the field they came from: the first at once, in
// AwaitBookmarks or in any transaction; the second after BookmarkWait.
func TestBookmarksNeo4jRefusesAreInvalidArguments(t *testing.T) {
	t.Parallel()
	const wait = time.Second
	st := replica(t, wait)

	for _, bad := range []string{"hello", "FB:abc"} {
		sent := store.NewBookmarks(bookmarkField, []string{bad})
		ctx := store.WithBookmarks(t.Context(), sent)
		err := st.AwaitBookmarks(ctx, sent)
		requireInvalidBookmark(t, err, "does not accept")
		_, err = st.APITokens(ctx, 1, "", false)
		requireInvalidBookmark(t, err, "does not accept")
		_, _, err = st.CreateAPIToken(ctx, "test", store.NewAPIToken{Name: neo4jtest.Token(t), Role: auth.RoleReader})
		requireInvalidBookmark(t, err, "does not accept")
	}

	// A real bookmark with its transaction id moved far ahead.
	wrote := store.NewBookmarks(bookmarkField, nil)
	_, _, err := st.CreateAPIToken(store.WithBookmarks(t.Context(), wrote), "test",
		store.NewAPIToken{Name: neo4jtest.Token(t), Role: auth.RoleReader})
	require.NoError(t, err)
	committed := wrote.Committed()
	require.Len(t, committed, 1)
	sent := store.NewBookmarks(bookmarkField, []string{futureBookmark(t, committed[0])})
	start := time.Now()
	err = st.AwaitBookmarks(store.WithBookmarks(t.Context(), sent), sent)
	took := time.Since(start)
	requireInvalidBookmark(t, err, "has not reached")
	assert.GreaterOrEqual(t, took, wait, "waited for the bookmark")
	assert.Less(t, took, wait+10*time.Second, "gave up soon after BookmarkWait")

	sent = store.NewBookmarks(bookmarkField, committed)
	require.NoError(t, st.AwaitBookmarks(store.WithBookmarks(t.Context(), sent), sent), "the real bookmark is reached")
	require.NoError(t, st.AwaitBookmarks(t.Context(), store.NewBookmarks(bookmarkField, nil)), "no bookmarks: nothing to wait for")
}

func requireInvalidBookmark(t *testing.T, err error, reason string) {
	t.Helper()
	require.Error(t, err)
	e, ok := apperr.As(err)
	require.True(t, ok, "a domain error: %v", err)
	assert.Equal(t, apperr.InvalidArgument, e.Code)
	assert.Equal(t, bookmarkField, e.Field)
	assert.Contains(t, e.Reason, reason)
}

// futureBookmark is bm, a Neo4j 5 bookmark, naming a transaction a million after its
// own. Bookmarks are opaque to provgraph; this test knows their form only to make one
// that names a transaction the database never committed: "FB:" and base64 of a
// PackStream list of [database UUID as 16 bytes, transaction id as an integer], …
func futureBookmark(t *testing.T, bm string) string {
	t.Helper()
	raw, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(strings.TrimPrefix(bm, "FB:"), "="))
	require.NoError(t, err, "a Neo4j 5 bookmark is FB:<base64>: %q", bm)
	require.True(t, strings.HasPrefix(bm, "FB:") && len(raw) > 19 && raw[1] == 0xCC && raw[2] == 16,
		"Neo4j's bookmark form changed: %q (%x)", bm, raw)
	rest := raw[19:]
	var id int64
	var size int
	switch m := rest[0]; {
	case m < 0x80:
		id, size = int64(m), 1
	case m == 0xC8:
		id, size = int64(int8(rest[1])), 2
	case m == 0xC9:
		id, size = int64(int16(binary.BigEndian.Uint16(rest[1:]))), 3
	case m == 0xCA:
		id, size = int64(int32(binary.BigEndian.Uint32(rest[1:]))), 5
	case m == 0xCB:
		id, size = int64(binary.BigEndian.Uint64(rest[1:])), 9
	default:
		t.Fatalf("Neo4j's bookmark form changed: no transaction id after the UUID in %x", raw)
	}
	future := append([]byte{}, raw[:19]...)
	future = append(future, 0xCB)
	future = binary.BigEndian.AppendUint64(future, uint64(id+1_000_000))
	future = append(future, rest[size:]...)
	return "FB:" + base64.StdEncoding.EncodeToString(future)
}
