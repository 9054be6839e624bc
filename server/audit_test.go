package server_test

import (
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
