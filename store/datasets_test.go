package store

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/apperr"
)

// Namespaces and names default to OpenLineage's naming of the URI.
func TestDatasetIdentityFollowsOpenLineageNaming(t *testing.T) {
	t.Parallel()
	str := func(s string) *string { return &s }
	tests := []struct {
		name          string
		in            DatasetVersionInput
		wantNamespace string
		wantName      string
		wantField     string // non-empty: an INVALID_ARGUMENT about this field
	}{
		{"s3 object prefix", DatasetVersionInput{URI: "s3://lake/customers/2026-01"}, "s3://lake", "customers/2026-01", ""},
		{"postgres table", DatasetVersionInput{URI: "postgres://db:5432/shop.public.orders"}, "postgres://db:5432", "shop.public.orders", ""},
		{"local file keeps its absolute path", DatasetVersionInput{URI: "file:///data/train.csv"}, "file", "/data/train.csv", ""},
		{"explicit namespace and name win", DatasetVersionInput{URI: "s3://lake/x", Namespace: str("warehouse"), Name: str("sales")}, "warehouse", "sales", ""},
		{"opaque URI needs a namespace", DatasetVersionInput{URI: "bigquery:project.dataset.table"}, "", "", "namespace"},
		{"bucket without a path needs a name", DatasetVersionInput{URI: "s3://lake"}, "", "", "name"},
		{"no scheme", DatasetVersionInput{URI: "/data/train.csv"}, "", "", "uri"},
		{"user without password is fine", DatasetVersionInput{URI: "postgres://etl@db:5432/shop.orders"}, "postgres://db:5432", "shop.orders", ""},
		{"password in the URI", DatasetVersionInput{URI: "postgres://etl:secret@db:5432/shop.orders"}, "", "", "uri"},
		{"control character in name", DatasetVersionInput{URI: "s3://lake/x", Name: str("a\nb")}, "", "", "name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns, name, err := datasetIdentity(tt.in)
			if tt.wantField != "" {
				e, ok := apperr.As(err)
				require.True(t, ok, "error %v", err)
				assert.Equal(t, apperr.InvalidArgument, e.Code)
				assert.Equal(t, tt.wantField, e.Field)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantNamespace, ns)
			assert.Equal(t, tt.wantName, name)
		})
	}
}
