package auth

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
)

// The canonical query sorts by name, then by value, each encoded: a name that is a
// prefix of another comes first, whatever the characters after it.
func TestCanonicalQuerySortsByName(t *testing.T) {
	t.Parallel()
	q := url.Values{"a-b": {"2"}, "a": {"z", "1"}, "b c": {"x/y"}}
	assert.Equal(t, "a=1&a=z&a-b=2&b%20c=x%2Fy", canonicalQuery(q))
}
