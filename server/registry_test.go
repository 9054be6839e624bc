package server_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/internal/neo4jtest"
)

const (
	setApproval = `mutation($input: SetApprovalStatusInput!) {
  setApprovalStatus(input: $input) { modelVersion { id approvalStatus } approvals { status comment actor at } }
}`
	setAlias = `mutation($input: SetModelAliasInput!) {
  setModelAlias(input: $input) { alias { alias from to recordedBy modelVersion { id aliases } } }
}`
	modelQuery = `query($id: ID!) { node(id: $id) { ... on RegisteredModel {
  aliases { alias modelVersion { id } }
  aliasHistory { alias from to modelVersion { id } }
} } }`
)

func TestApprovalsKeepEveryTransition(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	s := recordSlice(t, h)

	d := mustDo(t, h, `query($id: ID!) { node(id: $id) { ... on ModelVersion { approvalStatus approvals { status } } } }`, map[string]any{"id": s.version})
	assert.Equal(t, "PENDING_MANUAL_APPROVAL", get(d, "node", "approvalStatus"))
	assert.Empty(t, get(d, "node", "approvals"))

	d = mustDo(t, h, setApproval, map[string]any{"input": map[string]any{"modelVersion": s.version, "status": "APPROVED", "comment": "validated on holdout 2026-02"}})
	assert.Equal(t, "APPROVED", get(d, "setApprovalStatus", "modelVersion", "approvalStatus"))
	d = mustDo(t, h, setApproval, map[string]any{"input": map[string]any{"modelVersion": s.version, "status": "REJECTED", "comment": "bias found"}})
	history := get(d, "setApprovalStatus", "approvals").([]any)
	require.Len(t, history, 2)
	assert.Equal(t, "APPROVED", get(history[0], "status"))
	assert.Equal(t, "validated on holdout 2026-02", get(history[0], "comment"))
	assert.Equal(t, "REJECTED", get(history[1], "status"))
	assert.Equal(t, "anonymous", get(history[1], "actor"))
	assert.NotEmpty(t, get(history[1], "at"))

	before := neo4jtest.Snapshot(t, s.token)
	for _, tt := range []struct {
		name, code, field string
		input             map[string]any
	}{
		{"the status it has", "CONFLICT", "input.status", map[string]any{"modelVersion": s.version, "status": "REJECTED"}},
		{"unknown version", "NOT_FOUND", "input.modelVersion", map[string]any{"modelVersion": s.model + "/99", "status": "APPROVED"}},
		{"not a version", "INVALID_ARGUMENT", "input.modelVersion", map[string]any{"modelVersion": s.model, "status": "APPROVED"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp := do(t, h, setApproval, map[string]any{"input": tt.input})
			require.Len(t, resp.Errors, 1)
			assert.Equal(t, tt.code, resp.Errors[0].Extensions["code"], resp.Errors[0].Message)
			assert.Equal(t, tt.field, resp.Errors[0].Extensions["field"])
		})
	}
	assert.Equal(t, before, neo4jtest.Snapshot(t, s.token))
}

func TestAliasMovesAreRecorded(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	s := recordSlice(t, h)
	d := mustDo(t, h, registerModelVersion, map[string]any{"input": map[string]any{
		"model": "fraud-" + s.token, "source": "s3://models-" + s.token + "/fraud/model.tar.gz",
	}})
	v2 := get(d, "registerModelVersion", "modelVersion", "id").(string)

	d = mustDo(t, h, setAlias, map[string]any{"input": map[string]any{"model": s.model, "alias": "champion", "modelVersion": s.version}})
	assert.Equal(t, []any{"champion"}, get(d, "setModelAlias", "alias", "modelVersion", "aliases"))
	d = mustDo(t, h, setAlias, map[string]any{"input": map[string]any{"model": s.model, "alias": "champion", "modelVersion": v2}})
	movedAt := get(d, "setModelAlias", "alias", "from")
	// Setting it where it points changes nothing.
	d = mustDo(t, h, setAlias, map[string]any{"input": map[string]any{"model": s.model, "alias": "champion", "modelVersion": v2}})
	assert.Equal(t, movedAt, get(d, "setModelAlias", "alias", "from"))

	d = mustDo(t, h, modelQuery, map[string]any{"id": s.model})
	assert.Equal(t, []any{map[string]any{"alias": "champion", "modelVersion": map[string]any{"id": v2}}}, get(d, "node", "aliases"))
	history := get(d, "node", "aliasHistory").([]any)
	require.Len(t, history, 2)
	assert.Equal(t, s.version, get(history[0], "modelVersion", "id"))
	assert.Equal(t, movedAt, get(history[0], "to"), "the first assignment ended when the alias moved")
	assert.Nil(t, get(history[1], "to"))

	d = mustDo(t, h, registerModelVersion, map[string]any{"input": map[string]any{"model": "other-" + s.token, "source": "s3://models-" + s.token + "/other.tar.gz"}})
	other := get(d, "registerModelVersion", "modelVersion", "id").(string)
	before := neo4jtest.Snapshot(t, s.token)
	for _, tt := range []struct {
		name, code, field string
		input             map[string]any
	}{
		{"version of another model", "INVALID_ARGUMENT", "input.modelVersion", map[string]any{"model": s.model, "alias": "champion", "modelVersion": other}},
		{"version-like alias", "INVALID_ARGUMENT", "input.alias", map[string]any{"model": s.model, "alias": "v2", "modelVersion": v2}},
		{"latest", "INVALID_ARGUMENT", "input.alias", map[string]any{"model": s.model, "alias": "Latest", "modelVersion": v2}},
		{"empty alias", "INVALID_ARGUMENT", "input.alias", map[string]any{"model": s.model, "alias": "", "modelVersion": v2}},
		{"unknown model", "NOT_FOUND", "input.model", map[string]any{"model": "model:none-" + s.token, "alias": "champion", "modelVersion": v2}},
		{"unknown version", "NOT_FOUND", "input.modelVersion", map[string]any{"model": s.model, "alias": "champion", "modelVersion": s.model + "/99"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp := do(t, h, setAlias, map[string]any{"input": tt.input})
			require.Len(t, resp.Errors, 1)
			assert.Equal(t, tt.code, resp.Errors[0].Extensions["code"], resp.Errors[0].Message)
			assert.Equal(t, tt.field, resp.Errors[0].Extensions["field"])
		})
	}
	assert.Equal(t, before, neo4jtest.Snapshot(t, s.token))
}
