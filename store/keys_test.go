package store

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/apperr"
)

func TestKindsOfID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		id   string
		want Kind // "" means malformed
	}{
		{"dataset:s3://lake:customers/2026-01", KindDataset},
		{"dataset:postgres://db:5432:shop.public.orders", KindDataset},
		{"datasetVersion:s3://lake:customers/2026-01#sha256:abc", KindDatasetVersion},
		{"job:sagemaker:fraud-train-1", KindTrainingJob},
		{"artifact:s3://models/fraud/model.tar.gz", KindArtifact},
		{"model:fraud", KindRegisteredModel},
		{"model:fraud/3", KindModelVersion},
		{"model:team/fraud", KindRegisteredModel},
		{"model:team/fraud/12", KindModelVersion},
		{"endpoint:fraud-prod", KindEndpoint},
		{"", ""},
		{"nonsense", ""},
		{"endpoint:", ""},
		{"dataset:nocolon", ""},
		{"dataset::name", ""},
		{"dataset:ns:", ""},
		{"datasetVersion:s3://lake:customers", ""},
		{"datasetVersion:s3://lake:customers#", ""},
		{"job:onlyname", ""},
		{"unknown:thing", ""},
		{"endpoint:bad\x00name", ""},
		{"endpoint:" + strings.Repeat("x", MaxIDLength), ""},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			kinds, err := KindsOfID("id", tt.id)
			if tt.want == "" {
				require.Error(t, err)
				e, ok := apperr.As(err)
				require.True(t, ok)
				assert.Equal(t, apperr.InvalidArgument, e.Code)
				assert.Equal(t, "id", e.Field)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, kinds[0])
		})
	}
}

// The keys the store builds are IDs of the kind they name.
func TestBuiltKeysParseAsTheirKind(t *testing.T) {
	t.Parallel()
	for key, kind := range map[string]Kind{
		DatasetKey("s3://lake", "customers"):              KindDataset,
		DatasetVersionKey("s3://lake", "customers", "v1"): KindDatasetVersion,
		JobKey("airflow", "etl.daily"):                    KindTrainingJob,
		ArtifactKey("file:///tmp/model.pkl"):              KindArtifact,
		RegisteredModelKey("fraud"):                       KindRegisteredModel,
		ModelVersionKey("fraud", 12):                      KindModelVersion,
		EndpointKey("fraud-prod"):                         KindEndpoint,
	} {
		kinds, err := KindsOfID("id", key)
		require.NoError(t, err, key)
		assert.Contains(t, kinds, kind, key)
	}
}

// FuzzKindsOfID: any input is either an ID of some kind or an
// INVALID_ARGUMENT error naming the field; nothing panics.
func FuzzKindsOfID(f *testing.F) {
	for _, seed := range []string{"dataset:a:b", "datasetVersion:a:b#c", "model:x/1", "job:a:b", "endpoint:e", "artifact:s3://x", "", ":", "model:/1", "dataset:::", "datasetVersion:#"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, id string) {
		kinds, err := KindsOfID("f", id)
		if err != nil {
			e, ok := apperr.As(err)
			if !ok || e.Code != apperr.InvalidArgument || e.Field != "f" {
				t.Fatalf("KindsOfID(%q) error %v is not INVALID_ARGUMENT about f", id, err)
			}
			return
		}
		if len(kinds) == 0 {
			t.Fatalf("KindsOfID(%q) = no kinds and no error", id)
		}
	})
}

// A model version's ID reads back to its model and version; other IDs do not.
func TestModelVersionOfKey(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		model   string
		version int64
	}{{"fraud", 1}, {"team/fraud", 12}, {"a-b", 3}} {
		model, version, ok := ModelVersionOfKey(ModelVersionKey(tc.model, tc.version))
		assert.True(t, ok)
		assert.Equal(t, tc.model, model)
		assert.Equal(t, tc.version, version)
	}
	for _, key := range []string{"model:fraud", "model:/1", "model:m/0", "model:m/01", "model:m/x", "endpoint:m/1", "model:m/-1"} {
		_, _, ok := ModelVersionOfKey(key)
		assert.False(t, ok, key)
	}
}
