package server_test

import (
	"fmt"
	"maps"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const auditQuery = `query($endpoint: ID, $modelVersion: ID, $at: Time) {
  auditTrail(endpoint: $endpoint, modelVersion: $modelVersion, at: $at) {
    at
    endpoint { id }
    entries {
      deployment { variant trafficShare }
      modelVersion { id }
      approvalStatus
      approvals { status comment actor }
      producedBy { id ... on TrainingJob { codeVersion instanceType hyperParameters { key value } } }
      trainingData { id ... on DatasetVersion { digest } }
      upstream { nodes { id } truncated }
    }
  }
}`

// "What was fraud-prod serving then, who approved it, what produced it, from which data?"
func TestAuditTrailAnswersTheAuditorInOneRequest(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	s := recordSlice(t, h)
	mustDo(t, h, setApproval, map[string]any{"input": map[string]any{"modelVersion": s.version, "status": "APPROVED", "comment": "model risk review #12"}})
	d := mustDo(t, h, auditQuery, map[string]any{"endpoint": s.endpoint})
	approvedAt := get(d, "auditTrail", "at").(string)

	// Later: version 2 replaces version 1, and is still pending.
	d = mustDo(t, h, registerModelVersion, map[string]any{"input": map[string]any{
		"model": "fraud-" + s.token, "source": "s3://models-" + s.token + "/fraud/model.tar.gz", "producedBy": s.job,
	}})
	v2 := get(d, "registerModelVersion", "modelVersion", "id").(string)
	mustDo(t, h, deployModelVersion, map[string]any{"input": map[string]any{"endpoint": "fraud-prod-" + s.token, "modelVersion": v2}})

	d = mustDo(t, h, auditQuery, map[string]any{"endpoint": s.endpoint, "at": approvedAt})
	trail := get(d, "auditTrail")
	assert.Equal(t, s.endpoint, get(trail, "endpoint", "id"))
	require.Len(t, get(trail, "entries"), 1)
	e := get(trail, "entries", 0)
	assert.Equal(t, s.version, get(e, "modelVersion", "id"))
	assert.Equal(t, "AllTraffic", get(e, "deployment", "variant"))
	assert.Equal(t, "APPROVED", get(e, "approvalStatus"))
	assert.Equal(t, "model risk review #12", get(e, "approvals", 0, "comment"))
	assert.Equal(t, s.job, get(e, "producedBy", 0, "id"))
	assert.Equal(t, "ml.m5.xlarge", get(e, "producedBy", 0, "instanceType"))
	assert.Len(t, get(e, "producedBy", 0, "hyperParameters"), 2)
	assert.Equal(t, s.dataset, get(e, "trainingData", 0, "id"))
	assert.Equal(t, "sha256:c0ffee", get(e, "trainingData", 0, "digest"))
	assert.ElementsMatch(t, []string{s.version, s.artifact, s.job, s.dataset}, ids(get(e, "upstream", "nodes")))

	d = mustDo(t, h, auditQuery, map[string]any{"endpoint": s.endpoint})
	assert.Equal(t, v2, get(d, "auditTrail", "entries", 0, "modelVersion", "id"))
	assert.Equal(t, "PENDING_MANUAL_APPROVAL", get(d, "auditTrail", "entries", 0, "approvalStatus"))

	d = mustDo(t, h, auditQuery, map[string]any{"modelVersion": s.version})
	assert.Nil(t, get(d, "auditTrail", "endpoint"))
	assert.Nil(t, get(d, "auditTrail", "entries", 0, "deployment"))
	assert.Equal(t, "APPROVED", get(d, "auditTrail", "entries", 0, "approvalStatus"))

	for _, tt := range []struct {
		name        string
		vars        map[string]any
		code, field string
	}{
		{"neither endpoint nor version", map[string]any{}, "INVALID_ARGUMENT", "endpoint"},
		{"both", map[string]any{"endpoint": s.endpoint, "modelVersion": s.version}, "INVALID_ARGUMENT", "endpoint"},
		{"unknown endpoint", map[string]any{"endpoint": "endpoint:none-" + s.token}, "NOT_FOUND", "endpoint"},
		{"version registered after the instant", map[string]any{"modelVersion": v2, "at": approvedAt}, "NOT_FOUND", "modelVersion"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp := do(t, h, auditQuery, tt.vars)
			require.Len(t, resp.Errors, 1)
			assert.Equal(t, tt.code, resp.Errors[0].Extensions["code"], resp.Errors[0].Message)
			assert.Equal(t, tt.field, resp.Errors[0].Extensions["field"])
		})
	}
}

// An audit trail that does not read the entries' upstream cones, or reads only their
// nodes' IDs and kinds (the store then skips the cones, or fetches less of them),
// holds the same answer for every field it reads.
func TestAuditTrailFetchesWhatItsSelectionReads(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	s := recordSlice(t, h)
	mustDo(t, h, setApproval, map[string]any{"input": map[string]any{"modelVersion": s.version, "status": "APPROVED"}})
	const trail = `query($e: ID!%s) { auditTrail(endpoint: $e) { entries {
  modelVersion { id } approvalStatus approvals { status } producedBy { id } trainingData { id } %s } } }`
	entries := func(t *testing.T, upstream string) []map[string]any {
		t.Helper()
		vars, decl := map[string]any{"e": s.endpoint}, ""
		if strings.Contains(upstream, "$v") {
			vars["v"], decl = false, ", $v: Boolean!"
		}
		var out []map[string]any
		for _, e := range get(mustDo(t, h, fmt.Sprintf(trail, decl, upstream), vars), "auditTrail", "entries").([]any) {
			out = append(out, e.(map[string]any))
		}
		return out
	}
	all := entries(t, `upstream { nodes { id kind name recordedAt } truncated }`)
	require.Len(t, all, 1)
	require.Len(t, get(all[0], "upstream", "nodes"), 4)
	without := func(e map[string]any) map[string]any {
		out := maps.Clone(e)
		delete(out, "upstream")
		return out
	}
	for _, tc := range []struct{ name, upstream string }{
		{"no upstream", ``},
		{"an upstream left out by @include", `upstream @include(if: $v) { nodes { id } }`},
		{"the upstream's IDs and kinds", `upstream { nodes { id kind __typename } truncated }`},
		{"the upstream's core fields", `upstream { nodes { id name recordedAt } }`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := entries(t, tc.upstream)
			require.Len(t, got, len(all))
			for i, e := range got {
				assert.Equal(t, without(all[i]), without(e))
				up, ok := e["upstream"]
				assert.Equal(t, strings.HasPrefix(tc.upstream, "upstream {"), ok, "upstream in the answer")
				if !ok {
					continue
				}
				nodes := get(up, "nodes").([]any)
				require.Len(t, nodes, 4)
				for j, n := range nodes {
					for k, v := range n.(map[string]any) {
						if k != "__typename" {
							assert.Equal(t, get(all[i], "upstream", "nodes", j, k), v, "node %d's %s", j, k)
						}
					}
				}
			}
		})
	}
}
