package openlineage_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/apperr"
	"github.com/provgraph/provgraph/ingest/openlineage"
)

// The decoder never panics, refuses with INVALID_ARGUMENT only, and a decoded event is
// of exactly the kind it says. Seeds: the golden events and some odd shapes.
func FuzzDecode(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	require.NoError(f, err)
	for _, name := range files {
		b, err := os.ReadFile(name)
		require.NoError(f, err)
		s := strings.NewReplacer("{{TOKEN}}", "t0", "{{RUN_ID}}", "0176a8c2-fe01-7439-87e6-56a1a1b4029f",
			"{{PARENT_RUN_ID}}", "0176a8c2-fe01-7439-87e6-56a1a1b40300").Replace(string(b))
		f.Add([]byte(s))
	}
	for _, s := range []string{
		`{}`, `[]`, `null`, `"x"`, `{"run": null, "job": {}}`, `{"dataset": 1}`,
		`{"eventTime": "2026-01-01T00:00:00Z", "job": {"namespace": "a", "name": "b"}, "inputs": [null]}`,
		`{"eventTime": "2026-01-01T00:00:00Z", "run": {"runId": "0176a8c2fe01743987e656a1a1b4029f", "facets": {"parentRun": {}}}, "job": {"namespace": "a", "name": "b"}}`,
		`{"schemaURL": "#", "eventTime": "2026-01-01T00:00:00Z", "dataset": {"namespace": "a", "name": "b", "facets": {"version": []}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var v any
		if dec.Decode(&v) != nil {
			return
		}
		ev, err := openlineage.Decode(v)
		if err != nil {
			e, ok := apperr.As(err)
			require.True(t, ok, "not a domain error: %v", err)
			assert.Equal(t, apperr.InvalidArgument, e.Code)
			return
		}
		set := 0
		for _, p := range []bool{ev.Run != nil, ev.Dataset != nil, ev.Job != nil} {
			if p {
				set++
			}
		}
		require.Equal(t, 1, set, "kind %s", ev.Kind)
		switch ev.Kind {
		case openlineage.KindRunEvent:
			require.NotNil(t, ev.Run)
			assert.False(t, ev.Run.EventTime.IsZero())
		case openlineage.KindDatasetEvent:
			require.NotNil(t, ev.Dataset)
		case openlineage.KindJobEvent:
			require.NotNil(t, ev.Job)
		default:
			t.Fatalf("unknown kind %q", ev.Kind)
		}
	})
}
