package server_test

import (
	"testing"

	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/auth"
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
	h, cred := newHandlerAs(t, auth.RoleAdmin)
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
	assert.Equal(t, cred.Actor, get(history[1], "actor"), "the approver's token is the actor")
	assert.NotEmpty(t, get(history[1], "at"))

	// As of the first change, the version was approved, and one change was recorded.
	d = mustDo(t, h, `query($id: ID!, $at: Time) { node(id: $id) { ... on ModelVersion {
  approvalStatus(asOf: $at) approvals(asOf: $at) { status } } } }`, map[string]any{"id": s.version, "at": get(history[0], "at")})
	assert.Equal(t, "APPROVED", get(d, "node", "approvalStatus"))
	assert.Equal(t, []any{map[string]any{"status": "APPROVED"}}, get(d, "node", "approvals"))

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

	// As of an instant between the two assignments, champion pointed at version 1.
	firstFrom, err := time.Parse(time.RFC3339Nano, get(history[0], "from").(string))
	require.NoError(t, err)
	moved, err := time.Parse(time.RFC3339Nano, movedAt.(string))
	require.NoError(t, err)
	const asOfQuery = `query($model: ID!, $v1: ID!, $at: Time) {
  model: node(id: $model) { ... on RegisteredModel { aliases(asOf: $at) { alias modelVersion { id } } } }
  v1: node(id: $v1) { ... on ModelVersion { aliases(asOf: $at) } } }`
	for _, tt := range []struct {
		at      time.Time
		model   []any
		v1Names []any
	}{
		{firstFrom.Add(-time.Nanosecond), []any{}, []any{}},
		{firstFrom.Add(moved.Sub(firstFrom) / 2), []any{map[string]any{"alias": "champion", "modelVersion": map[string]any{"id": s.version}}}, []any{"champion"}},
		{moved, []any{map[string]any{"alias": "champion", "modelVersion": map[string]any{"id": v2}}}, []any{}},
	} {
		d = mustDo(t, h, asOfQuery, map[string]any{"model": s.model, "v1": s.version, "at": tt.at.Format(time.RFC3339Nano)})
		assert.Equal(t, tt.model, get(d, "model", "aliases"), tt.at)
		assert.Equal(t, tt.v1Names, get(d, "v1", "aliases"), tt.at)
	}

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

// A version carries what users look for in a registry — framework, signature, the
// metrics it was registered on, tags — and a registered model a description and tags
// that can change; bad metadata is refused, naming the field, and writes nothing.
func TestRegistryMetadata(t *testing.T) {
	t.Parallel()
	h := newHandler(t)
	s := recordSlice(t, h)
	tk := s.token
	const register = `mutation($input: RegisterModelVersionInput!) { registerModelVersion(input: $input) {
  modelVersion { id framework signature metrics { key value } tags { key value } } } }`
	signature := map[string]any{"inputs": []any{map[string]any{"name": "amount", "type": "double"}}, "outputs": []any{map[string]any{"type": "long"}}}
	input := func(extra map[string]any) map[string]any {
		in := map[string]any{"model": "fraud-" + tk, "source": "s3://models-" + tk + "/fraud/model.tar.gz", "producedBy": s.job}
		for k, v := range extra {
			in[k] = v
		}
		return map[string]any{"input": in}
	}
	d := mustDo(t, h, register, input(map[string]any{
		"framework": "xgboost 1.7", "signature": signature,
		"metrics": []any{map[string]any{"key": "auc", "value": 0.93}, map[string]any{"key": "logloss", "value": 0.21}},
		"tags":    []any{map[string]any{"key": "team", "value": "risk"}, map[string]any{"key": "ab", "value": "b"}},
	}))
	v := get(d, "registerModelVersion", "modelVersion")
	assert.Equal(t, "xgboost 1.7", get(v, "framework"))
	assert.Equal(t, signature, get(v, "signature"))
	assert.Equal(t, []any{map[string]any{"key": "auc", "value": 0.93}, map[string]any{"key": "logloss", "value": 0.21}}, get(v, "metrics"))
	assert.Equal(t, []any{map[string]any{"key": "ab", "value": "b"}, map[string]any{"key": "team", "value": "risk"}}, get(v, "tags"), "by key")

	const update = `mutation($input: UpdateRegisteredModelInput!) { updateRegisteredModel(input: $input) {
  registeredModel { id description tags { key value } } } }`
	d = mustDo(t, h, update, map[string]any{"input": map[string]any{"name": "fraud-" + tk, "description": "card fraud scores",
		"setTags": []any{map[string]any{"key": "owner", "value": "risk"}, map[string]any{"key": "tier", "value": "1"}}}})
	assert.Equal(t, "card fraud scores", get(d, "updateRegisteredModel", "registeredModel", "description"))
	d = mustDo(t, h, update, map[string]any{"input": map[string]any{"name": "fraud-" + tk,
		"deleteTags": []string{"tier"}, "setTags": []any{map[string]any{"key": "owner", "value": "fraud-team"}}}})
	m := get(d, "updateRegisteredModel", "registeredModel")
	assert.Equal(t, "card fraud scores", get(m, "description"), "unchanged when omitted")
	assert.Equal(t, []any{map[string]any{"key": "owner", "value": "fraud-team"}}, get(m, "tags"))

	manyTags := make([]any, 101)
	for i := range manyTags {
		manyTags[i] = map[string]any{"key": "k" + string(rune('a'+i%26)) + string(rune('a'+i/26)), "value": "v"}
	}
	before := neo4jtest.Snapshot(t, tk)
	for _, tt := range []struct {
		query string
		vars  map[string]any
		code  string
		field string
	}{
		{register, input(map[string]any{"tags": []any{map[string]any{"key": "a", "value": "1"}, map[string]any{"key": "a", "value": "2"}}}), "INVALID_ARGUMENT", "input.tags[1].key"},
		{register, input(map[string]any{"tags": manyTags}), "INVALID_ARGUMENT", "input.tags"},
		{register, input(map[string]any{"tags": []any{map[string]any{"key": "", "value": "1"}}}), "INVALID_ARGUMENT", "input.tags[0].key"},
		{register, input(map[string]any{"metrics": []any{map[string]any{"key": "auc", "value": 1}, map[string]any{"key": "auc", "value": 2}}}), "INVALID_ARGUMENT", "input.metrics[1].key"},
		{register, input(map[string]any{"framework": string(make([]byte, 257))}), "INVALID_ARGUMENT", "input.framework"},
		{register, input(map[string]any{"signature": map[string]any{"blob": string(make([]rune, 70000))}}), "INVALID_ARGUMENT", "input.signature"},
		{update, map[string]any{"input": map[string]any{"name": "nowhere-" + tk, "description": "x"}}, "NOT_FOUND", "input.name"},
		{update, map[string]any{"input": map[string]any{"name": "fraud-" + tk, "setTags": manyTags}}, "INVALID_ARGUMENT", "input.setTags"},
	} {
		resp := do(t, h, tt.query, tt.vars)
		require.Len(t, resp.Errors, 1, tt.field)
		assert.Equal(t, tt.code, resp.Errors[0].Extensions["code"], tt.field)
		assert.Equal(t, tt.field, resp.Errors[0].Extensions["field"], resp.Errors[0].Message)
	}
	assert.Equal(t, before, neo4jtest.Snapshot(t, tk), "rejected requests write nothing")
}
