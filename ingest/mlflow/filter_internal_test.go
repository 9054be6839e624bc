package mlflow

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestLikeMatch(t *testing.T) {
	for _, tt := range []struct {
		s, p string
		want bool
	}{
		{"fraud-model", "fraud-%", true},
		{"fraud-model", "%model", true},
		{"fraud-model", "%-m_del", true},
		{"fraud-model", "fraud", false},
		{"", "%", true},
		{"", "_", false},
		{"ünïcode", "_n_code", true},
		{"abc", "a%c%", true},
		{"abc", "a%d", false},
		{"a%c", "a%c", true},
	} {
		assert.Equal(t, tt.want, likeMatch(tt.s, tt.p), "%q LIKE %q", tt.s, tt.p)
	}
	// Many %s against a long string that almost matches: linear, not exponential.
	assert.False(t, likeMatch(strings.Repeat("a", 5000), strings.Repeat("%a", 30)+"b"))
}

func TestEntityFilterNamePrefix(t *testing.T) {
	for filter, want := range map[string]string{
		"name LIKE 'fraud-%' AND tags.team = 'risk'": "fraud-",
		"name = 'fraud' AND version_number > 1":      "fraud",
		"name ILIKE 'fraud%'":                        "",
		"tags.team = 'risk'":                         "",
		"name LIKE '%x'":                             "",
	} {
		f, err := parseEntityFilter(&filter, "test", versionAttrs)
		assert.NoError(t, err, filter)
		assert.Equal(t, want, f.namePrefix(), filter)
	}
}
