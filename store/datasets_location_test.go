package store_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/apperr"
	"github.com/provgraph/provgraph/internal/neo4jtest"
	"github.com/provgraph/provgraph/store"
)

// A version pinned by namespace, name and digest whose URI is only where it was found
// (URIIsLocation, MLflow's datasets) is the same version from another URI and keeps its
// first; otherwise another URI is a CONFLICT naming uri.
func TestDatasetVersionFromAnotherURI(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	tk := neo4jtest.Token(t)
	ns, digest := "mlflow", "9f2c1a7e"
	for _, tt := range []struct {
		name     string
		location bool
	}{{"uri is a location", true}, {"uri is part of the version", false}} {
		t.Run(tt.name, func(t *testing.T) {
			name := "customers-" + tk + "-" + map[bool]string{true: "loc", false: "fact"}[tt.location]
			in := func(uri string) store.DatasetVersionInput {
				return store.DatasetVersionInput{URI: uri, Namespace: &ns, Name: &name, Digest: &digest, URIIsLocation: tt.location}
			}
			first, created, err := st.RegisterDatasetVersion(t.Context(), "test", in("https://data.example.com/"+tk+"/customers.csv"))
			require.NoError(t, err)
			require.True(t, created)
			again, created, err := st.RegisterDatasetVersion(t.Context(), "test", in("https://data.example.com/"+tk+"/customers.csv"))
			require.NoError(t, err, "an exact repeat")
			assert.False(t, created)
			assert.Equal(t, first, again)

			other, created, err := st.RegisterDatasetVersion(t.Context(), "test", in("s3://mirror-"+tk+"/customers.csv"))
			if !tt.location {
				e, ok := apperr.As(err)
				require.True(t, ok, "error %v", err)
				assert.Equal(t, apperr.Conflict, e.Code)
				assert.Equal(t, "uri", e.Field)
				return
			}
			require.NoError(t, err)
			assert.False(t, created)
			assert.Equal(t, first, other, "the same version, with its first URI")
		})
	}
}
