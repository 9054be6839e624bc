package server_test

import (
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/auth"
	"github.com/provgraph/provgraph/internal/neo4jtest"
	"github.com/provgraph/provgraph/store"
)

// Every write that changes a recorded value lists the value it replaced in its audit
// entry (docs/audit.md, "Changes"). Each test changes fields twice through the public
// surfaces and reads the changes back through GraphQL's auditLogEntries, on an audit
// chain of its own.

const (
	updateExperiment  = `mutation($input: UpdateExperimentInput!) { updateExperiment(input: $input) { experiment { id } } }`
	deleteExperiment  = `mutation($input: ExperimentRefInput!) { deleteExperiment(input: $input) { experiment { id } } }`
	restoreExperiment = `mutation($input: ExperimentRefInput!) { restoreExperiment(input: $input) { experiment { id } } }`
	updateRun         = `mutation($input: UpdateRunInput!) { updateRun(input: $input) { run { id } } }`
	deleteRun         = `mutation($input: RunRefInput!) { deleteRun(input: $input) { run { id } } }`
	restoreRun        = `mutation($input: RunRefInput!) { restoreRun(input: $input) { run { id } } }`
	updateModel       = `mutation($input: UpdateRegisteredModelInput!) { updateRegisteredModel(input: $input) { registeredModel { id } } }`
	auditChangesQuery = `query($about: [ID!]!) { auditLogEntries(about: $about) { edges { node {
  action targets changes { target field old new } } } } }`
)

// changesOf returns the changes the audit log records on id, oldest first, each as
// "<action> <field>: <old> → <new>" (null for none).
func changesOf(t *testing.T, h http.Handler, id string) []string {
	t.Helper()
	d := mustDo(t, h, auditChangesQuery, map[string]any{"about": []string{id}})
	var out []string
	for _, e := range get(d, "auditLogEntries", "edges").([]any) {
		for _, c := range get(e, "node", "changes").([]any) {
			if get(c, "target") != id {
				continue
			}
			text := func(v any) string {
				if v == nil {
					return "null"
				}
				return v.(string)
			}
			out = append(out, fmt.Sprintf("%s %s: %s → %s", get(e, "node", "action"), get(c, "field"), text(get(c, "old")), text(get(c, "new"))))
		}
	}
	return out
}

// ownChainHandler is the real handler on a store with an audit chain of its own,
// sending an admin's token.
func ownChainHandler(t *testing.T) http.Handler {
	t.Helper()
	st, _ := neo4jtest.StoreWithOwnAuditChain(t)
	return newHandlerWith(t, st, auth.RoleAdmin)
}

func TestAuditChangesOfExperimentsAndRuns(t *testing.T) {
	t.Parallel()
	h := ownChainHandler(t)
	tk := neo4jtest.Token(t)

	exp := get(mustDo(t, h, createExperiment, map[string]any{"input": map[string]any{
		"name": "chg-" + tk, "description": "d1", "tags": []any{map[string]any{"key": "team", "value": "a"}},
	}}), "createExperiment", "experiment", "id").(string)
	mustDo(t, h, updateExperiment, map[string]any{"input": map[string]any{
		"id": exp, "name": "chg2-" + tk, "description": "d2",
		"setTags": []any{map[string]any{"key": "team", "value": "b"}, map[string]any{"key": "stage", "value": "x"}},
	}})
	// The same description again is no change; the deleted tag is.
	mustDo(t, h, updateExperiment, map[string]any{"input": map[string]any{"id": exp, "description": "d2", "deleteTags": []any{"team"}}})
	mustDo(t, h, deleteExperiment, map[string]any{"input": map[string]any{"id": exp}})
	mustDo(t, h, restoreExperiment, map[string]any{"input": map[string]any{"id": exp}})
	assert.Equal(t, []string{
		"experiment.update name: chg-" + tk + " → chg2-" + tk,
		"experiment.update description: d1 → d2",
		"experiment.update tags.stage: null → x",
		"experiment.update tags.team: a → b",
		"experiment.update tags.team: b → null",
		"lifecycle.set lifecycle: active → deleted",
		"lifecycle.set lifecycle: deleted → active",
	}, changesOf(t, h, exp))

	run := get(mustDo(t, h, startRun, map[string]any{"input": map[string]any{
		"experiment": exp, "startTime": "2026-03-14T09:00:00Z", "tags": []any{map[string]any{"key": "k", "value": "v1"}},
	}}), "startRun", "run", "id").(string)
	short := strings.TrimPrefix(run, "run:")[:8]
	tag := func(v string) map[string]any {
		return map[string]any{"input": map[string]any{"run": run, "tags": []any{map[string]any{"key": "k", "value": v}}}}
	}
	mustDo(t, h, logRun, tag("v2"))
	mustDo(t, h, logRun, tag("v2")) // the value it has: no change
	mustDo(t, h, logRun, map[string]any{"input": map[string]any{"run": run, "deleteTags": []any{"k"}}})
	mustDo(t, h, updateRun, map[string]any{"input": map[string]any{"run": run, "status": "FINISHED", "endTime": "2026-03-14T10:00:00Z"}})
	mustDo(t, h, updateRun, map[string]any{"input": map[string]any{"run": run, "status": "KILLED", "endTime": "2026-03-14T11:00:00.25Z", "name": "renamed"}})
	mustDo(t, h, deleteRun, map[string]any{"input": map[string]any{"run": run}})
	mustDo(t, h, restoreRun, map[string]any{"input": map[string]any{"run": run}})
	assert.Equal(t, []string{
		"run.log tags.k: v1 → v2",
		"run.log tags.k: v2 → null",
		"run.update status: RUNNING → FINISHED",
		"run.update endTime: null → 2026-03-14T10:00:00.000000000Z",
		"run.update status: FINISHED → KILLED",
		"run.update endTime: 2026-03-14T10:00:00.000000000Z → 2026-03-14T11:00:00.250000000Z",
		"run.update name: " + short + " → renamed",
		"lifecycle.set lifecycle: active → deleted",
		"lifecycle.set lifecycle: deleted → active",
	}, changesOf(t, h, run))
}

func TestAuditChangesOfTheRegistry(t *testing.T) {
	t.Parallel()
	h := ownChainHandler(t)
	tk := neo4jtest.Token(t)
	name := "chg-" + tk
	var versions []string
	for i := range 2 {
		d := mustDo(t, h, registerModelVersion, map[string]any{"input": map[string]any{
			"model": name, "source": fmt.Sprintf("s3://chg-%s/model-%d.tar.gz", tk, i),
		}})
		versions = append(versions, get(d, "registerModelVersion", "modelVersion", "id").(string))
	}
	model := store.RegisteredModelKey(name)

	// Description and tags of the registered model (GraphQL).
	mustDo(t, h, updateModel, map[string]any{"input": map[string]any{"name": name, "description": "m1"}})
	mustDo(t, h, updateModel, map[string]any{"input": map[string]any{"name": name, "description": "m2",
		"setTags": []any{map[string]any{"key": "owner", "value": "a"}}}})
	// Aliases: set, moved, deleted (MLflow).
	mustDo(t, h, setAlias, map[string]any{"input": map[string]any{"model": model, "alias": "champion", "modelVersion": versions[0]}})
	mustDo(t, h, setAlias, map[string]any{"input": map[string]any{"model": model, "alias": "champion", "modelVersion": versions[1]}})
	a := call(t, h, "DELETE", "/api/2.0/mlflow/registered-models/alias", `{"name": "`+name+`", "alias": "champion"}`, nil)
	require.Equal(t, http.StatusOK, a.status, a.body)
	assert.Equal(t, []string{
		"registeredModel.update description: null → m1",
		"registeredModel.update description: m1 → m2",
		"registeredModel.update tags.owner: null → a",
		"alias.set alias.champion: null → " + versions[0],
		"alias.set alias.champion: " + versions[0] + " → " + versions[1],
		"alias.delete alias.champion: " + versions[1] + " → null",
	}, changesOf(t, h, model))

	// A version's description and tags (MLflow) and its approval (GraphQL).
	for _, body := range []string{
		`{"name": "` + name + `", "version": "1", "description": "v-d1"}`,
		`{"name": "` + name + `", "version": "1", "description": "v-d2"}`,
	} {
		a := call(t, h, "PATCH", "/api/2.0/mlflow/model-versions/update", body, nil)
		require.Equal(t, http.StatusOK, a.status, a.body)
	}
	for _, v := range []string{"x", "y"} {
		a := call(t, h, "POST", "/api/2.0/mlflow/model-versions/set-tag", `{"name": "`+name+`", "version": "1", "key": "k", "value": "`+v+`"}`, nil)
		require.Equal(t, http.StatusOK, a.status, a.body)
	}
	for _, status := range []string{"APPROVED", "REJECTED"} {
		mustDo(t, h, setApproval, map[string]any{"input": map[string]any{"modelVersion": versions[0], "status": status}})
	}
	assert.Equal(t, []string{
		"modelVersion.update description: null → v-d1",
		"modelVersion.update description: v-d1 → v-d2",
		"modelVersion.update tags.k: null → x",
		"modelVersion.update tags.k: x → y",
		"modelVersion.setApproval approval: PENDING_MANUAL_APPROVAL → APPROVED",
		"modelVersion.setApproval approval: APPROVED → REJECTED",
	}, changesOf(t, h, versions[0]))

	// Deployments: the version a variant serves and its share.
	endpoint := "chg-" + tk
	mustDo(t, h, deployModelVersion, map[string]any{"input": map[string]any{"endpoint": endpoint, "modelVersion": versions[0]}})
	mustDo(t, h, deployModelVersion, map[string]any{"input": map[string]any{"endpoint": endpoint, "modelVersion": versions[1], "trafficShare": 0.5}})
	mustDo(t, h, deployModelVersion, map[string]any{"input": map[string]any{"endpoint": endpoint, "modelVersion": versions[1], "trafficShare": 0.5}})
	assert.Equal(t, []string{
		"modelVersion.deploy deployment.AllTraffic: null → " + versions[0],
		"modelVersion.deploy trafficShare.AllTraffic: null → 1",
		"modelVersion.deploy deployment.AllTraffic: " + versions[0] + " → " + versions[1],
		"modelVersion.deploy trafficShare.AllTraffic: 1 → 0.5",
	}, changesOf(t, h, store.EndpointKey(endpoint)))
}

func TestAuditChangesOfTokensAndLoggedModels(t *testing.T) {
	t.Parallel()
	h := ownChainHandler(t)
	tk := neo4jtest.Token(t)

	mustDo(t, h, createToken, map[string]any{"input": map[string]any{"name": "chg-" + tk, "role": "READER"}})
	d := mustDo(t, h, revokeToken, map[string]any{"input": map[string]any{"name": "chg-" + tk}})
	revokedAt := get(d, "revokeApiToken", "apiToken", "revokedAt").(string)
	got := changesOf(t, h, auth.TokenActor("chg-"+tk))
	require.Len(t, got, 1)
	assert.Regexp(t, `^token\.revoke revokedAt: null → 20\d\d-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$`, got[0])
	assert.Contains(t, got[0], revokedAt[:19], "the time the token shows")

	id := createLoggedModel(t, h, `{"experiment_id": "0", "name": "chg-`+tk+`", "tags": [{"key": "team", "value": "risk"}]}`)
	for _, step := range []struct{ method, path, body string }{
		{"PATCH", id, `{"status": "LOGGED_MODEL_READY"}`},
		{"PATCH", id + "/tags", `{"tags": [{"key": "team", "value": "ops"}]}`},
		{"PATCH", id + "/tags", `{"tags": [{"key": "team", "value": "ops"}]}`},
		{"DELETE", id + "/tags/team", ``},
		{"DELETE", id, ``},
	} {
		a := call(t, h, step.method, "/api/2.0/mlflow/logged-models/"+step.path, step.body, nil)
		require.Equal(t, http.StatusOK, a.status, "%s %s: %s", step.method, step.path, a.body)
	}
	assert.Equal(t, []string{
		"loggedModel.update status: PENDING → READY",
		"loggedModel.update tags.team: risk → ops",
		"loggedModel.update tags.team: ops → null",
		"loggedModel.update lifecycle: active → deleted",
	}, changesOf(t, h, store.LoggedModelKey(id)))
}

// Reports change what they report on: an OpenLineage run moves from RUNNING to
// FINISHED; a SageMaker job's status moves forward; a model package's approval changes.
func TestAuditChangesOfReports(t *testing.T) {
	t.Parallel()
	h := ownChainHandler(t)
	tk := neo4jtest.Token(t)

	ns, runID := "chg-"+tk, uuid.NewString()
	event := func(eventType, at string) map[string]any {
		return map[string]any{
			"eventType": eventType, "eventTime": at,
			"run":      map[string]any{"runId": runID},
			"job":      map[string]any{"namespace": ns, "name": "train"},
			"producer": "https://example.com/provgraph-audit-test", "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
		}
	}
	for _, ev := range []map[string]any{event("START", "2026-03-14T09:00:00Z"), event("COMPLETE", "2026-03-14T09:30:00Z")} {
		a := call(t, h, "POST", "/api/v1/lineage/batch", mustJSON(t, []any{ev}), nil)
		require.Equal(t, http.StatusOK, a.status, a.body)
	}
	assert.Equal(t, []string{
		"openlineage.batch status: RUNNING → FINISHED",
		"openlineage.batch endTime: null → 2026-03-14T09:30:00.000000000Z",
	}, changesOf(t, h, store.RunKey(strings.ReplaceAll(runID, "-", ""))))

	sagemaker := func(file string) {
		t.Helper()
		golden, err := os.ReadFile("../ingest/sagemaker/testdata/" + file)
		require.NoError(t, err)
		a := call(t, h, "POST", "/api/v1/sagemaker/events", strings.ReplaceAll(string(golden), "{{TK}}", tk), nil)
		require.Equal(t, http.StatusOK, a.status, a.body)
		require.Contains(t, a.body, `"accepted":1`)
	}
	sagemaker("training_inprogress.json")
	sagemaker("training_completed.json")
	job := changesOf(t, h, store.JobKey("sagemaker", "fraud-xgb-"+tk))
	assert.Contains(t, job, "sagemaker.trainingJob status: IN_PROGRESS → COMPLETED")
	assert.Contains(t, job, "sagemaker.trainingJob sagemakerStatus: InProgress → Completed", "as reported")
	assert.Contains(t, job, "sagemaker.trainingJob endedAt: null → 2026-03-02T10:41:07.410000000Z")
	for _, c := range job {
		assert.NotRegexp(t, regexp.MustCompile(`^\S+ (inputs|outputs):`), c, "the input and output lists only grow")
	}

	sagemaker("model_package_pending.json")
	sagemaker("model_package_approved.json")
	v1, v2 := store.ModelVersionKey("fraud-models-"+tk, 1), store.ModelVersionKey("fraud-models-"+tk, 2)
	assert.Contains(t, changesOf(t, h, v1), "sagemaker.modelPackage approval: PENDING_MANUAL_APPROVAL → APPROVED")

	// The endpoint serves version 1, then a new configuration serves version 2 beside it.
	for _, f := range []string{"describe_model.json", "describe_endpoint_config.json", "endpoint_in_service.json",
		"describe_training_job.json", "describe_model_package_2.json", "describe_model_2.json", "describe_endpoint_config_2.json", "describe_endpoint.json"} {
		sagemaker(f)
	}
	endpoint := changesOf(t, h, store.EndpointKey("fraud-prod-"+tk))
	for _, want := range []string{
		"sagemaker.endpoint deployment.AllTraffic: null → " + v1,
		"sagemaker.endpoint trafficShare.AllTraffic: null → 1",
		"sagemaker.endpoint sagemakerEndpointConfig: fraud-prod-config-1-" + tk + " → fraud-prod-config-2-" + tk,
		"sagemaker.endpoint deployment.AllTraffic: " + v1 + " → " + v2,
		"sagemaker.endpoint trafficShare.AllTraffic: 1 → 0.75",
		"sagemaker.endpoint deployment.Previous: null → " + v1,
		"sagemaker.endpoint trafficShare.Previous: null → 0.25",
	} {
		assert.Contains(t, endpoint, want)
	}
}
