package sagemakerapi_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/auth"
	"github.com/provgraph/provgraph/ingest/sagemakerapi"
)

// The graph's deployments and approvals are ML Lineage's actions: listed by their
// source, described by name or ARN, and starting points of QueryLineage whose cone is
// that of what they are about.
func TestActionsAreDeploymentsAndApprovals(t *testing.T) {
	t.Parallel()
	e := newEnv(t, auth.RoleWriter)
	e.recordEvents(eventsChain...)
	endpointARN := "arn:aws:sagemaker:us-east-1:123456789012:endpoint/fraud-prod-" + e.tk
	packageARN := "arn:aws:sagemaker:us-east-1:123456789012:model-package/fraud-models-" + e.tk + "/1"

	deps := e.ok("ListActions", map[string]any{"SourceUri": endpointARN})["ActionSummaries"].([]any)
	require.Len(t, deps, 1)
	dep := deps[0].(map[string]any)
	assert.Equal(t, "ModelDeployment", dep["ActionType"])
	assert.Equal(t, "InProgress", dep["Status"], "the version still serves")
	assert.Equal(t, map[string]any{"SourceUri": endpointARN, "SourceType": "ARN"}, dep["Source"])
	assert.Equal(t, "fraud-prod-"+e.tk+"-1-aws-deployment", dep["ActionName"])

	for _, name := range []any{dep["ActionName"], dep["ActionArn"]} {
		d := e.ok("DescribeAction", map[string]any{"ActionName": name})
		assert.Equal(t, dep["ActionArn"], d["ActionArn"])
		props := d["Properties"].(map[string]any)
		assert.Equal(t, "model:fraud-models-"+e.tk+"/1", props["ModelVersion"])
		assert.Equal(t, "AllTraffic", props["Variant"])
		assert.NotEmpty(t, d["CreatedBy"])
	}

	approvals := e.ok("ListActions", map[string]any{"SourceUri": packageARN, "SortOrder": "Ascending"})["ActionSummaries"].([]any)
	require.Len(t, approvals, 1, "approved (a new version is pending without a change)")
	approval := approvals[0].(map[string]any)
	assert.Equal(t, "Approval", approval["ActionType"])
	assert.Equal(t, "fraud-models-"+e.tk+"-1-1-aws-model-package", approval["ActionName"])
	d := e.ok("DescribeAction", map[string]any{"ActionName": approval["ActionName"]})
	assert.Equal(t, "Approved", d["Properties"].(map[string]any)["ModelApprovalStatus"])
	none := e.ok("ListActions", map[string]any{"SourceUri": packageARN, "ActionType": "ModelDeployment"})
	assert.Empty(t, none["ActionSummaries"])

	// Upstream of the approval: the action, then the model version's upstream cone,
	// joined by the version's contribution to the approval.
	up := e.ok("QueryLineage", map[string]any{"StartArns": []string{approval["ActionArn"].(string)}, "Direction": "Ascendants", "IncludeEdges": true})
	vertices := up["Vertices"].([]any)
	require.NotEmpty(t, vertices)
	assert.Equal(t, map[string]any{"Arn": approval["ActionArn"], "Type": "Approval", "LineageType": "Action"}, vertices[0])
	var keys []string
	for _, v := range vertices[1:] {
		keys = append(keys, sagemakerapi.KeyOfARN(v.(map[string]any)["Arn"].(string)))
	}
	assert.ElementsMatch(t, e.graphQLCone("model:fraud-models-"+e.tk+"/1", "UPSTREAM"), keys)
	assert.Contains(t, up["Edges"], map[string]any{"SourceArn": arnOfKey(t, up, "model:fraud-models-"+e.tk+"/1"),
		"DestinationArn": approval["ActionArn"], "AssociationType": "ContributedTo"})

	// Both ways from the deployment: the model version's cone (which holds the endpoint).
	both := e.ok("QueryLineage", map[string]any{"StartArns": []string{dep["ActionArn"].(string)}, "MaxResults": 50})
	keys = nil
	for _, v := range both["Vertices"].([]any)[1:] {
		keys = append(keys, sagemakerapi.KeyOfARN(v.(map[string]any)["Arn"].(string)))
	}
	assert.ElementsMatch(t, e.graphQLCone("model:fraud-models-"+e.tk+"/1", "BOTH"), keys)

	// Downstream of the deployment: its endpoint.
	down := e.ok("QueryLineage", map[string]any{"StartArns": []string{dep["ActionArn"].(string)}, "Direction": "Descendants",
		"Filters": map[string]any{"LineageTypes": []string{"Context"}}})
	require.Len(t, down["Vertices"], 1, "the action is no context")
	assert.Equal(t, "Endpoint", down["Vertices"].([]any)[0].(map[string]any)["Type"])

	// Only the action passes: it alone, on the first page.
	only := e.ok("QueryLineage", map[string]any{"StartArns": []string{dep["ActionArn"].(string)},
		"Filters": map[string]any{"LineageTypes": []string{"Action"}}})
	assert.Equal(t, []any{map[string]any{"Arn": dep["ActionArn"], "Type": "ModelDeployment", "LineageType": "Action"}}, only["Vertices"])

	// Paging one vertex at a time answers the action once, then the cone.
	req := map[string]any{"StartArns": []string{dep["ActionArn"].(string)}, "Direction": "Ascendants", "MaxResults": 1}
	seen := map[string]bool{}
	for pages := 0; ; pages++ {
		require.Less(t, pages, 100)
		a := e.ok("QueryLineage", req)
		require.LessOrEqual(t, len(a["Vertices"].([]any)), 1)
		for _, v := range a["Vertices"].([]any) {
			arn := v.(map[string]any)["Arn"].(string)
			require.False(t, seen[arn], "%s answered twice", arn)
			seen[arn] = true
		}
		next, _ := a["NextToken"].(string)
		if next == "" {
			break
		}
		req["NextToken"] = next
	}
	assert.True(t, seen[dep["ActionArn"].(string)])
	assert.Len(t, seen, len(e.graphQLCone("model:fraud-models-"+e.tk+"/1", "UPSTREAM"))+1)

	// Actions are recorded where deployments and approvals happen, and keep no tags.
	again := e.call("CreateAction", map[string]any{"ActionName": dep["ActionName"], "ActionType": "ModelDeployment",
		"Source": map[string]any{"SourceUri": endpointARN}})
	assert.Equal(t, "ValidationException", again.code())
	assert.Contains(t, again.message(), "already exists")
	other := e.call("CreateAction", map[string]any{"ActionName": "hpo-" + e.tk, "ActionType": "HPO",
		"Source": map[string]any{"SourceUri": "s3://x"}})
	assert.Equal(t, "ValidationException", other.code())
	assert.Contains(t, other.message(), "nothing was created")
	for _, name := range []string{"fraud-prod-" + e.tk + "-9-aws-deployment", "nothing-" + e.tk, "fraud-models-" + e.tk + "-1-9-aws-model-package"} {
		missing := e.call("DescribeAction", map[string]any{"ActionName": name})
		assert.Equal(t, "ResourceNotFound", missing.code(), name)
	}
	assoc := e.call("ListAssociations", map[string]any{"SourceArn": dep["ActionArn"]})
	assert.Equal(t, "ValidationException", assoc.code())
	assert.Contains(t, assoc.message(), "QueryLineage")
	malformed := e.call("DescribeAction", map[string]any{"ActionName": "arn:nothing"})
	assert.Equal(t, "ValidationException", malformed.code())
	tags := e.call("AddTags", map[string]any{"ResourceArn": dep["ActionArn"], "Tags": []map[string]any{{"Key": "k", "Value": "v"}}})
	assert.Equal(t, "ValidationException", tags.code())
	assert.True(t, strings.Contains(tags.message(), "actions"), tags.message())
}

// arnOfKey is the ARN of the vertex of a QueryLineage answer whose node ID is key.
func arnOfKey(t *testing.T, answer map[string]any, key string) string {
	t.Helper()
	for _, v := range answer["Vertices"].([]any) {
		arn := v.(map[string]any)["Arn"].(string)
		if sagemakerapi.KeyOfARN(arn) == key {
			return arn
		}
	}
	t.Fatalf("no vertex of %s", key)
	return ""
}
