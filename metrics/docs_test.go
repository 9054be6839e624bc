package metrics

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/ingest"
	"github.com/provgraph/provgraph/store"
)

// docs/operations.md lists every provgraph series a server exposes: each is fed here
// once, so that it exists, and its name must stand in the docs as `name`.
func TestOperationsDocListsEverySeries(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../docs/operations.md")
	require.NoError(t, err)
	m := New()
	m.WatchNeo4j(func() bool { return true })
	m.Ingest("openlineage")(ingest.Accepted, 1)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	m.SampleLockWaits(ctx, time.Second, nil) // registers the lock-wait series, samples nothing
	h := m.Instrument(func(*http.Request) (string, string) { return "test", "op" },
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			obs := txObserver{m}
			obs.WriteSlotAsked()
			obs.WriteSlotWaited(time.Millisecond)
			obs.TxStarted(store.TxWrite)
			obs.TxBegun(store.TxWrite, time.Millisecond)
			obs.TxRetried(store.TxWrite, nil)
			obs.TxDone(store.TxWrite, time.Millisecond, nil)
		}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	m.graphqlErrors.WithLabelValues("op", "NOT_FOUND").Inc()
	m.Audit().EntriesSequenced(time.Millisecond, []time.Duration{time.Millisecond})
	m.Audit().CheckpointPublished(1, time.Now())

	families, err := m.reg.Gather()
	require.NoError(t, err)
	listed := 0
	for _, f := range families {
		name := f.GetName()
		if !strings.HasPrefix(name, Namespace+"_") {
			continue // the Go runtime's and the process's, documented as such
		}
		listed++
		if !strings.Contains(string(doc), "`"+name+"`") {
			t.Errorf("docs/operations.md does not list %s", name)
		}
	}
	require.GreaterOrEqual(t, listed, 21, "the series fed above exist")
}
