package auth_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/auth"
)

func TestRolesAreHierarchical(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		have, need auth.Role
		allowed    bool
	}{
		{auth.RoleReader, auth.RoleReader, true},
		{auth.RoleReader, auth.RoleWriter, false},
		{auth.RoleReader, auth.RoleAdmin, false},
		{auth.RoleWriter, auth.RoleReader, true},
		{auth.RoleWriter, auth.RoleWriter, true},
		{auth.RoleWriter, auth.RoleAdmin, false},
		{auth.RoleAdmin, auth.RoleReader, true},
		{auth.RoleAdmin, auth.RoleWriter, true},
		{auth.RoleAdmin, auth.RoleAdmin, true},
		{"", auth.RoleReader, false},
		{auth.RoleAdmin, "", false},
		{auth.RoleAdmin, "root", false},
	} {
		assert.Equal(t, tt.allowed, tt.have.Allows(tt.need), "%q allows %q", tt.have, tt.need)
	}
	r, err := auth.ParseRole("role", " Writer ")
	require.NoError(t, err)
	assert.Equal(t, auth.RoleWriter, r)
	_, err = auth.ParseRole("--role", "root")
	require.Error(t, err)
	assert.Equal(t, `--role: must be reader, writer or admin (got "root")`, err.Error())
}

// A token reads pgt_<16 hex>_<52 base32>; its id and secret come back out of it, and
// only its own secret matches the stored hash.
func TestTokenFormat(t *testing.T) {
	t.Parallel()
	id, token, hash, err := auth.NewToken()
	require.NoError(t, err)
	assert.Regexp(t, `^pgt_[0-9a-f]{16}_[a-z2-7]{52}$`, token)
	gotID, secret, ok := auth.ParseToken(token)
	require.True(t, ok)
	assert.Equal(t, id, gotID)
	assert.True(t, auth.SecretMatches(secret, hash))
	assert.Len(t, hash, 64, "a hex SHA-256")
	assert.NotContains(t, hash, secret)
	// Another first character (never the same one, which would leave the secret as it was).
	wrong := "x" + secret[1:]
	if secret[0] == 'x' {
		wrong = "y" + secret[1:]
	}
	assert.False(t, auth.SecretMatches(wrong, hash))

	_, other, _, err := auth.NewToken()
	require.NoError(t, err)
	assert.NotEqual(t, token, other, "tokens are random")

	for _, bad := range []string{
		"", "pgt_", "pgt_" + id, "pgt_" + id + "_", "pgt_" + id + "_short",
		"pgt_" + strings.ToUpper(id) + "_" + secret, "pgt_" + id[:15] + "_" + secret, "pgx_" + id + "_" + secret,
		"pgt_" + id + "_" + strings.Repeat("1", 52), token + "a", "Bearer " + token,
	} {
		_, _, ok := auth.ParseToken(bad)
		assert.False(t, ok, "%q is not a token", bad)
	}
}

// ParseToken never panics; what it accepts has a 16-hex-digit id and a secret, and a
// token NewToken made parses back to its id.
func FuzzParseToken(f *testing.F) {
	_, tok, _, err := auth.NewToken()
	require.NoError(f, err)
	for _, s := range []string{tok, "pgt_", "pgt__", "pgt_0123456789abcdef_", "pgt_0123456789abcdef_x_y", "Bearer pgt_x", "", "pgt_ZZZZZZZZZZZZZZZZ_secret"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, secret, ok := auth.ParseToken(s)
		if !ok {
			return
		}
		if len(id) != 16 || strings.Trim(id, "0123456789abcdef") != "" || secret == "" {
			t.Fatalf("ParseToken(%q) accepted id %q, secret %q", s, id, secret)
		}
		if s != auth.TokenPrefix+id+"_"+secret {
			t.Fatalf("ParseToken(%q) = %q, %q, which do not make the token", s, id, secret)
		}
	})
}
