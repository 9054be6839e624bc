package store_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/apperr"
	"github.com/provgraph/provgraph/auth"
	"github.com/provgraph/provgraph/internal/neo4jtest"
	"github.com/provgraph/provgraph/store"
)

// Requests racing to create tokens of one name, or to revoke one token: exactly one
// wins, the others get a CONFLICT.
func TestTokenRacesHaveOneWinner(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	name := "race-" + neo4jtest.Token(t)
	const n = 6
	var wg sync.WaitGroup
	errs := make([]error, n)
	ids := make([]string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok, _, err := st.CreateAPIToken(t.Context(), "test", store.NewAPIToken{Name: name, Role: auth.RoleReader})
			ids[i], errs[i] = tok.ID, err
		}()
	}
	wg.Wait()
	var id string
	for i, err := range errs {
		if err == nil {
			require.Empty(t, id, "two creations of %q succeeded", name)
			id = ids[i]
			continue
		}
		assert.Equal(t, apperr.Conflict, apperr.CodeOf(err), err.Error())
	}
	require.NotEmpty(t, id, "one creation succeeded")

	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = st.RevokeAPIToken(t.Context(), "test", "id", id)
		}()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		if err == nil {
			won++
			continue
		}
		assert.Equal(t, apperr.Conflict, apperr.CodeOf(err), err.Error())
	}
	assert.Equal(t, 1, won, "one revocation recorded itself")
	tok, err := st.APITokenByID(t.Context(), "id", id)
	require.NoError(t, err)
	assert.Equal(t, "test", tok.RevokedBy)
}

// Tokens list by name, a page at a time.
func TestTokensListInPages(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	// "a-" sorts these before most tokens other tests leave in the database.
	prefix := "a-page-" + neo4jtest.Token(t) + "-"
	for _, n := range []string{"b", "a", "c"} {
		_, _, err := st.CreateAPIToken(t.Context(), "test", store.NewAPIToken{Name: prefix + n, Role: auth.RoleReader})
		require.NoError(t, err)
	}
	var names []string
	pages, after := 0, ""
	for len(names) < 3 {
		page, err := st.APITokens(t.Context(), 2, after, false)
		require.NoError(t, err)
		require.LessOrEqual(t, len(page.Tokens), 2)
		pages++
		for _, tok := range page.Tokens {
			if strings.HasPrefix(tok.Name, prefix) {
				names = append(names, tok.Name)
			}
		}
		if len(names) < 3 {
			require.NotEmpty(t, page.EndCursor, "more pages follow until all three are seen")
		}
		after = page.EndCursor
	}
	assert.Equal(t, []string{prefix + "a", prefix + "b", prefix + "c"}, names)
	assert.GreaterOrEqual(t, pages, 2)
	_, err := st.APITokens(t.Context(), 1, "not-a-cursor", false)
	assert.Equal(t, apperr.InvalidArgument, apperr.CodeOf(err))
	_, err = st.APITokens(t.Context(), 101, "", false)
	assert.Equal(t, apperr.InvalidArgument, apperr.CodeOf(err))
}
