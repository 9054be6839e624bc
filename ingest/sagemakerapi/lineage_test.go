package sagemakerapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/auth"
	"github.com/provgraph/provgraph/ingest/sagemakerapi"
	"github.com/provgraph/provgraph/internal/neo4jtest"
	"github.com/provgraph/provgraph/store"
)

// eventsChain is the pipeline of the SageMaker events ingest's real payloads:
// processing job → training job → model package → model → endpoint.
var eventsChain = []string{"describe_processing_job.json", "pipeline_step_processing.json",
	"training_inprogress.json", "training_completed.json",
	"model_package_pending.json", "model_package_approved.json",
	"describe_model.json", "describe_endpoint_config.json", "endpoint_in_service.json"}

// bearerPost posts body to path with a writer's bearer token and returns the answer.
func (e *env) bearerPost(path string, body []byte) map[string]any {
	e.t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	return e.bearer(auth.RoleWriter, req)
}

// recordEvents records the events ingest's payloads, named after the env's token.
func (e *env) recordEvents(names ...string) {
	e.t.Helper()
	var parts []string
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join("..", "sagemaker", "testdata", n))
		require.NoError(e.t, err)
		parts = append(parts, strings.ReplaceAll(string(b), "{{TK}}", e.tk))
	}
	out := e.bearerPost("/api/v1/sagemaker/events", []byte("["+strings.Join(parts, ",")+"]"))
	require.Equal(e.t, 0.0, out["failed"], "%v", out)
}

// graphQLCone is GraphQL's lineage of start: its node IDs.
func (e *env) graphQLCone(start, direction string) []string {
	e.t.Helper()
	body, err := json.Marshal(map[string]any{
		"query":     `query($s: [ID!]!, $d: LineageDirection!) { lineage(start: $s, direction: $d, maxDepth: 10) { nodes { id } truncated } }`,
		"variables": map[string]any{"s": []string{start}, "d": direction},
	})
	require.NoError(e.t, err)
	var res struct {
		Data struct {
			Lineage struct {
				Nodes     []struct{ ID string }
				Truncated bool
			}
		}
		Errors []any
	}
	b, err := json.Marshal(e.bearerPost("/graphql", body))
	require.NoError(e.t, err)
	require.NoError(e.t, json.Unmarshal(b, &res))
	require.Empty(e.t, res.Errors)
	require.False(e.t, res.Data.Lineage.Truncated)
	out := make([]string, 0, len(res.Data.Lineage.Nodes))
	for _, n := range res.Data.Lineage.Nodes {
		out = append(out, n.ID)
	}
	slices.Sort(out)
	return out
}

// listAll pages through a List operation by NextToken and returns every element of
// member.
func (e *env) listAll(op, member string, req map[string]any) []any {
	e.t.Helper()
	req["MaxResults"] = 100
	var out []any
	for range 1000 {
		a := e.ok(op, req)
		out = append(out, a[member].([]any)...)
		next, _ := a["NextToken"].(string)
		if next == "" {
			return out
		}
		req["NextToken"] = next
	}
	e.t.Fatalf("%s does not stop paging", op)
	return nil
}

// listAllContexts lists every context of a type (req) and returns them, when the
// database holds at most MaxContextsListed nodes of kind (the type's): a database used
// by many test runs (make test's, kept between runs) may hold more, and then the
// listing must be refused as too large, which is checked instead (listed is false).
func (e *env) listAllContexts(req map[string]any, kind store.Kind) (all []any, listed bool) {
	e.t.Helper()
	res := neo4jtest.Exec(e.t, `MATCH (n:`+string(kind)+`) RETURN count(n) AS n`, nil)
	n, _ := res.Records[0].Get("n")
	if n.(int64) <= sagemakerapi.MaxContextsListed {
		return e.listAll("ListContexts", "ContextSummaries", req), true
	}
	a := e.call("ListContexts", req)
	assert.Equal(e.t, "ResourceLimitExceeded", a.code(), "%d %s nodes: %v", n, kind, a.Body)
	return nil, false
}

// queryAll pages through QueryLineage with NextToken by hand, pageSize vertices at a
// time, and returns the node IDs of the vertices and the edges seen.
func (e *env) queryAll(req map[string]any, pageSize int) (keys []string, edges []map[string]any, pages int) {
	e.t.Helper()
	req["MaxResults"] = pageSize
	seen := map[string]bool{}
	for {
		a := e.ok("QueryLineage", req)
		pages++
		for _, v := range a["Vertices"].([]any) {
			arn := v.(map[string]any)["Arn"].(string)
			key := sagemakerapi.KeyOfARN(arn)
			require.NotEmpty(e.t, key, "vertex ARN %s names no node", arn)
			require.False(e.t, seen[key], "vertex %s answered twice", key)
			seen[key] = true
			keys = append(keys, key)
		}
		require.LessOrEqual(e.t, len(a["Vertices"].([]any)), pageSize)
		for _, ed := range a["Edges"].([]any) {
			edges = append(edges, ed.(map[string]any))
		}
		next, _ := a["NextToken"].(string)
		if next == "" {
			break
		}
		req["NextToken"] = next
		require.Less(e.t, pages, 100, "paging does not end")
	}
	slices.Sort(keys)
	return keys, edges, pages
}

// QueryLineage from an endpoint the SageMaker events recorded answers GraphQL's
// lineage cone of that endpoint, page by page or at once.
func TestQueryLineageIsGraphQLCone(t *testing.T) {
	t.Parallel()
	e := newEnv(t, auth.RoleWriter)
	e.recordEvents(eventsChain...)
	endpoint := "endpoint:fraud-prod-" + e.tk

	ctxs := e.ok("ListContexts", map[string]any{"SourceUri": "arn:aws:sagemaker:us-east-1:123456789012:endpoint/fraud-prod-" + e.tk})
	require.Len(t, ctxs["ContextSummaries"], 1)
	c := ctxs["ContextSummaries"].([]any)[0].(map[string]any)
	assert.Equal(t, "Endpoint", c["ContextType"])
	start := c["ContextArn"].(string)
	assert.Equal(t, "arn:aws:sagemaker:us-east-1:000000000000:context/fraud-prod-"+e.tk+"-aws-endpoint", start)
	d := e.ok("DescribeContext", map[string]any{"ContextName": c["ContextName"]})
	assert.Equal(t, start, d["ContextArn"])
	if all, listed := e.listAllContexts(map[string]any{"ContextType": "Endpoint", "SortBy": "Name"}, store.KindEndpoint); listed {
		assert.Contains(t, all, c, "listed among all endpoints' contexts")
	}
	if all, listed := e.listAllContexts(map[string]any{"ContextType": "ModelGroup"}, store.KindRegisteredModel); listed {
		var names []any
		for _, g := range all {
			names = append(names, g.(map[string]any)["ContextName"])
		}
		assert.Contains(t, names, "fraud-models-"+e.tk+"-aws-model-group")
	}
	for name, tc := range map[string]struct {
		typ, uri, says string
	}{
		"a recorded endpoint":      {"Endpoint", "arn:aws:sagemaker:us-east-1:123456789012:endpoint/fraud-prod-" + e.tk, "already exists: " + start},
		"an endpoint not recorded": {"Endpoint", "arn:aws:sagemaker:us-east-1:123456789012:endpoint/none-" + e.tk, "no endpoint is recorded"},
		"another type":             {"Approval", "s3://x/y", "Endpoint and ModelGroup"},
	} {
		a := e.call("CreateContext", map[string]any{"ContextName": "ctx-" + e.tk, "ContextType": tc.typ, "Source": map[string]any{"SourceUri": tc.uri}})
		assert.Equal(t, "ValidationException", a.code(), name)
		assert.Contains(t, a.message(), tc.says, name)
	}
	none := e.ok("ListContexts", map[string]any{"ContextType": "Other"})
	assert.Empty(t, none["ContextSummaries"])

	for _, dir := range []struct{ aws, gql string }{{"Ascendants", "UPSTREAM"}, {"Descendants", "DOWNSTREAM"}, {"Both", "BOTH"}} {
		t.Run(dir.aws, func(t *testing.T) {
			want := e.graphQLCone(endpoint, dir.gql)
			all, _, pages := e.queryAll(map[string]any{"StartArns": []string{start}, "Direction": dir.aws, "MaxDepth": 10}, 50)
			assert.Equal(t, want, all)
			assert.Equal(t, 1, pages)
			paged, _, pages := e.queryAll(map[string]any{"StartArns": []string{start}, "Direction": dir.aws, "MaxDepth": 10}, 2)
			assert.Equal(t, want, paged, "paging lost or repeated vertices")
			if len(want) > 2 {
				assert.Greater(t, pages, 1)
			}
		})
	}
	up := e.graphQLCone(endpoint, "UPSTREAM")
	require.Greater(t, len(up), 5, "the chain reaches the raw data: %v", up)

	t.Run("edges join the vertices, each answered once", func(t *testing.T) {
		req := func() map[string]any {
			return map[string]any{"StartArns": []string{start}, "Direction": "Ascendants", "IncludeEdges": true}
		}
		keys, edges, _ := e.queryAll(req(), 3)
		_, all, _ := e.queryAll(req(), 50)
		require.NotEmpty(t, edges)
		assert.ElementsMatch(t, all, edges, "paged edges are the edges of the whole answer, each once")
		for _, ed := range edges {
			assert.Contains(t, keys, sagemakerapi.KeyOfARN(ed["SourceArn"].(string)))
			assert.Contains(t, keys, sagemakerapi.KeyOfARN(ed["DestinationArn"].(string)))
			assert.Contains(t, []string{"ContributedTo", "Produced", "AssociatedWith"}, ed["AssociationType"])
		}
	})
	t.Run("a NextToken of another question", func(t *testing.T) {
		a := e.ok("QueryLineage", map[string]any{"StartArns": []string{start}, "Direction": "Ascendants", "MaxResults": 1})
		require.NotEmpty(t, a["NextToken"])
		bad := e.call("QueryLineage", map[string]any{"StartArns": []string{start}, "Direction": "Descendants", "NextToken": a["NextToken"]})
		assert.Equal(t, "ValidationException", bad.code())
		assert.Contains(t, bad.message(), "NextToken")
	})
	t.Run("datasets only", func(t *testing.T) {
		keys, _, _ := e.queryAll(map[string]any{"StartArns": []string{start}, "Direction": "Ascendants",
			"Filters": map[string]any{"LineageTypes": []string{"Artifact"}, "Types": []string{"DataSet"}}}, 50)
		var want []string
		for _, k := range up {
			if strings.HasPrefix(k, "datasetVersion:") {
				want = append(want, k)
			}
		}
		require.NotEmpty(t, want)
		assert.Equal(t, want, keys)
	})
	t.Run("jobs as trial components", func(t *testing.T) {
		a := e.ok("QueryLineage", map[string]any{"StartArns": []string{start}, "Direction": "Ascendants",
			"Filters": map[string]any{"LineageTypes": []string{"TrialComponent"}}})
		var arns []string
		for _, v := range a["Vertices"].([]any) {
			arns = append(arns, v.(map[string]any)["Arn"].(string))
		}
		assert.Contains(t, arns, "arn:aws:sagemaker:us-east-1:000000000000:experiment-trial-component/fraud-xgb-"+e.tk+"-aws-training-job")
	})
}

func TestQueryLineageLimits(t *testing.T) {
	t.Parallel()
	e := newEnv(t, auth.RoleReader)
	for name, tc := range map[string]struct {
		req  map[string]any
		code string
		says string
	}{
		"two start ARNs": {map[string]any{"StartArns": []string{"a", "b"}}, "ValidationException", "length less than or equal to 1"},
		"no start ARN":   {map[string]any{}, "ValidationException", "startArns"},
		"depth 11":       {map[string]any{"StartArns": []string{"x"}, "MaxDepth": 11}, "ValidationException", "maxDepth"},
		"51 results":     {map[string]any{"StartArns": []string{"x"}, "MaxResults": 51}, "ValidationException", "less than or equal to 50"},
		"a direction":    {map[string]any{"StartArns": []string{"x"}, "Direction": "Up"}, "ValidationException", "Ascendants"},
		"a lineage type": {map[string]any{"StartArns": []string{"x"}, "Filters": map[string]any{"LineageTypes": []string{"Job"}}}, "ValidationException", "TrialComponent"},
		"six types":      {map[string]any{"StartArns": []string{"x"}, "Filters": map[string]any{"Types": []string{"a", "b", "c", "d", "e", "f"}}}, "ValidationException", "filters.types"},
		"not an ARN":     {map[string]any{"StartArns": []string{"fraud-prod-aws-endpoint"}}, "ValidationException", "regular expression pattern"},
		"another account": {map[string]any{"StartArns": []string{"arn:aws:sagemaker:us-east-1:123456789012:context/x-aws-endpoint"}},
			"ResourceNotFound", "account 000000000000"},
		"an unknown endpoint": {map[string]any{"StartArns": []string{"arn:aws:sagemaker:us-east-1:000000000000:context/none-" + e.tk + "-aws-endpoint"}},
			"ResourceNotFound", "does not exist"},
		"an unknown endpoint, filtered to Actions": {map[string]any{"StartArns": []string{"arn:aws:sagemaker:us-east-1:000000000000:context/none-" + e.tk + "-aws-endpoint"},
			"Filters": map[string]any{"LineageTypes": []string{"Action"}}}, "ResourceNotFound", "does not exist"},
	} {
		t.Run(name, func(t *testing.T) {
			a := e.call("QueryLineage", tc.req)
			assert.Equal(t, tc.code, a.code(), a.message())
			assert.Contains(t, a.message(), tc.says)
		})
	}
}

// Artifacts by source URI are the graph's dataset versions and artifacts: one per
// location, the one a SageMaker job read.
func TestArtifactsAtSourceURI(t *testing.T) {
	t.Parallel()
	e := newEnv(t, auth.RoleWriter)
	e.recordEvents("describe_processing_job.json")
	var job map[string]any
	b, err := os.ReadFile(filepath.Join("..", "sagemaker", "testdata", "describe_processing_job.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal([]byte(strings.ReplaceAll(string(b), "{{TK}}", e.tk)), &job))
	input := job["ProcessingInputs"].([]any)[0].(map[string]any)["S3Input"].(map[string]any)["S3Uri"].(string)

	listed := e.ok("ListArtifacts", map[string]any{"SourceUri": input})
	require.Len(t, listed["ArtifactSummaries"], 1)
	s := listed["ArtifactSummaries"].([]any)[0].(map[string]any)
	assert.Equal(t, "DataSet", s["ArtifactType"])
	arn := s["ArtifactArn"].(string)
	assert.True(t, strings.HasPrefix(sagemakerapi.KeyOfARN(arn), "datasetVersion:"), arn)

	again := e.call("CreateArtifact", map[string]any{"Source": map[string]any{"SourceUri": input + "/"}, "ArtifactType": "DataSet"})
	assert.Equal(t, "ValidationException", again.code())
	assert.Contains(t, again.message(), "already exists")
	assert.Contains(t, again.message(), arn, "the existing artifact is named")

	d := e.ok("DescribeArtifact", map[string]any{"ArtifactArn": arn})
	assert.Equal(t, arn, d["ArtifactArn"])
	assert.Equal(t, "DataSet", d["ArtifactType"])

	model := "s3://" + e.tk + "-models/churn/model.tar.gz"
	created := e.ok("CreateArtifact", map[string]any{"ArtifactName": "churn-model", "Source": map[string]any{"SourceUri": model},
		"ArtifactType": "Model", "Properties": map[string]string{"framework": "xgboost"}})
	marn := created["ArtifactArn"].(string)
	d = e.ok("DescribeArtifact", map[string]any{"ArtifactArn": marn})
	assert.Equal(t, "churn-model", d["ArtifactName"])
	assert.Equal(t, model, d["Source"].(map[string]any)["SourceUri"])
	assert.Equal(t, map[string]any{"framework": "xgboost"}, d["Properties"])
	n, err := e.st.NodeByID(t.Context(), "id", "artifact:"+model)
	require.NoError(t, err)
	assert.Equal(t, e.key.Actor, n.RecordedBy)

	t.Run("properties change, name and provenance do not", func(t *testing.T) {
		e.ok("UpdateArtifact", map[string]any{"ArtifactArn": marn, "Properties": map[string]string{"auc": "0.91"}, "PropertiesToRemove": []string{"framework"}})
		d := e.ok("DescribeArtifact", map[string]any{"ArtifactArn": marn})
		assert.Equal(t, map[string]any{"auc": "0.91"}, d["Properties"])
		renamed := e.call("UpdateArtifact", map[string]any{"ArtifactArn": marn, "ArtifactName": "other"})
		assert.Equal(t, "ValidationException", renamed.code())
		assert.Contains(t, renamed.message(), "append-only")
		deleted := e.call("DeleteArtifact", map[string]any{"ArtifactArn": marn})
		assert.Equal(t, "ValidationException", deleted.code())
		assert.Contains(t, deleted.message(), "append-only")
	})
	t.Run("associations are provenance edges", func(t *testing.T) {
		jobARN := "arn:aws:sagemaker:us-east-1:000000000000:experiment-trial-component/" + strings.ToLower(job["ProcessingJobName"].(string)) + "-aws-processing-job"
		e.ok("AddAssociation", map[string]any{"SourceArn": jobARN, "DestinationArn": marn, "AssociationType": "Produced"})
		l := e.ok("ListAssociations", map[string]any{"DestinationArn": marn})
		require.Len(t, l["AssociationSummaries"], 1)
		assert.Equal(t, jobARN, l["AssociationSummaries"].([]any)[0].(map[string]any)["SourceArn"])
		del := e.call("DeleteAssociation", map[string]any{"SourceArn": jobARN, "DestinationArn": marn})
		assert.Equal(t, "ValidationException", del.code())
		assert.Contains(t, del.message(), "append-only")
		bad := e.call("AddAssociation", map[string]any{"SourceArn": marn, "DestinationArn": arn})
		assert.Equal(t, "ValidationException", bad.code())
	})
	t.Run("tags change with their old values audited", func(t *testing.T) {
		e.ok("AddTags", map[string]any{"ResourceArn": marn, "Tags": []map[string]string{{"Key": "stage", "Value": "dev"}}})
		e.ok("AddTags", map[string]any{"ResourceArn": marn, "Tags": []map[string]string{{"Key": "stage", "Value": "prod"}}})
		l := e.ok("ListTags", map[string]any{"ResourceArn": marn})
		assert.Equal(t, []any{map[string]any{"Key": "stage", "Value": "prod"}}, l["Tags"])
		e.ok("DeleteTags", map[string]any{"ResourceArn": marn, "TagKeys": []string{"stage"}})
		l = e.ok("ListTags", map[string]any{"ResourceArn": marn})
		assert.Empty(t, l["Tags"])
		// The keys provgraph keeps for the API itself are not the client's to set or remove.
		for op, body := range map[string]map[string]any{
			"AddTags":    {"ResourceArn": marn, "Tags": []map[string]string{{"Key": "sagemaker.trialComponentName", "Value": "x"}}},
			"DeleteTags": {"ResourceArn": marn, "TagKeys": []string{"sagemaker.displayName"}},
		} {
			r := e.call(op, body)
			assert.Equal(t, "ValidationException", r.code(), op)
			assert.Contains(t, r.message(), "must not start with 'sagemaker.'", op)
		}
	})
	t.Run("an artifact of a long ID comes back by its ARN", func(t *testing.T) {
		// A SageMaker Pipelines model path: its ARN is longer than AWS's 256 characters.
		long := "s3://" + e.tk + "-pipelines/fraud-pipeline/abcdef123456/TrainModel/pipelines-0a1b2c3d4e5f-TrainModel-AbCdEfGhIj/output/model.tar.gz"
		created := e.ok("CreateArtifact", map[string]any{"Source": map[string]any{"SourceUri": long}, "ArtifactType": "Model"})
		arn := created["ArtifactArn"].(string)
		require.Greater(t, len(arn), 256, arn)
		d := e.ok("DescribeArtifact", map[string]any{"ArtifactArn": arn})
		assert.Equal(t, long, d["Source"].(map[string]any)["SourceUri"])
		e.ok("AddTags", map[string]any{"ResourceArn": arn, "Tags": []map[string]string{{"Key": "stage", "Value": "dev"}}})
		q := e.ok("QueryLineage", map[string]any{"StartArns": []string{arn}, "Direction": "Ascendants"})
		assert.Contains(t, fmt.Sprint(q["Vertices"]), arn, "the start is a vertex of its own query")
	})
}

// A cone too large for one traversal is paged by the store's cursor: the pages still
// hold every vertex of GraphQL's cone once. (Not parallel: it lowers the limit for the
// package.)
func TestQueryLineagePagedByTheStore(t *testing.T) {
	e := newEnv(t, auth.RoleWriter)
	e.recordEvents(eventsChain...)
	restore := sagemakerapi.SetWholeCone(3)
	t.Cleanup(restore)
	start := "arn:aws:sagemaker:us-east-1:000000000000:context/fraud-prod-" + e.tk + "-aws-endpoint"
	want := e.graphQLCone("endpoint:fraud-prod-"+e.tk, "UPSTREAM")
	require.Greater(t, len(want), 3)
	keys, edges, pages := e.queryAll(map[string]any{"StartArns": []string{start}, "Direction": "Ascendants", "IncludeEdges": true}, 2)
	assert.Equal(t, want, keys)
	assert.Greater(t, pages, 2)
	assert.NotEmpty(t, edges)

	// A cone that outgrows one traversal between pages is answered from the cone the
	// first page kept; a process that did not keep it asks to start again.
	restore()
	first := e.ok("QueryLineage", map[string]any{"StartArns": []string{start}, "Direction": "Ascendants", "MaxResults": 2})
	require.NotEmpty(t, first["NextToken"])
	sagemakerapi.SetWholeCone(3)
	kept := e.ok("QueryLineage", map[string]any{"StartArns": []string{start}, "Direction": "Ascendants", "MaxResults": 2, "NextToken": first["NextToken"]})
	assert.Len(t, kept["Vertices"], 2, "the second page, from the kept cone")

	restore()
	t.Cleanup(sagemakerapi.SetConeCaching(false))
	first = e.ok("QueryLineage", map[string]any{"StartArns": []string{start}, "Direction": "Ascendants", "MaxResults": 2})
	require.NotEmpty(t, first["NextToken"])
	sagemakerapi.SetWholeCone(3)
	grown := e.call("QueryLineage", map[string]any{"StartArns": []string{start}, "Direction": "Ascendants", "MaxResults": 2, "NextToken": first["NextToken"]})
	assert.Equal(t, "ValidationException", grown.code())
	assert.Contains(t, grown.message(), "ask again from the first page")
}

// Pages after the first answer the same vertices and edges whether the process kept the
// first page's cone or traverses it again. (Not parallel: it turns the cone cache off
// for the package.)
func TestQueryLineagePagesWithoutTheKeptCone(t *testing.T) {
	e := newEnv(t, auth.RoleWriter)
	e.recordEvents(eventsChain...)
	start := "arn:aws:sagemaker:us-east-1:000000000000:context/fraud-prod-" + e.tk + "-aws-endpoint"
	req := func() map[string]any {
		return map[string]any{"StartArns": []string{start}, "Direction": "Ascendants", "IncludeEdges": true}
	}
	keptKeys, keptEdges, keptPages := e.queryAll(req(), 2)
	restore := sagemakerapi.SetConeCaching(false)
	t.Cleanup(restore)
	keys, edges, pages := e.queryAll(req(), 2)
	restore()
	assert.Equal(t, e.graphQLCone("endpoint:fraud-prod-"+e.tk, "UPSTREAM"), keys)
	assert.Equal(t, keys, keptKeys)
	assert.ElementsMatch(t, edges, keptEdges)
	assert.Equal(t, pages, keptPages)
	assert.Greater(t, pages, 2)

	// A page whose kept cone is gone traverses again and keeps the cone it traversed: the
	// page after it is answered from that cone even when a traversal would now be refused
	// (the cone grown past what one traversal answers).
	req2 := req()
	req2["MaxResults"] = 2
	first := e.ok("QueryLineage", req2)
	require.NotEmpty(t, first["NextToken"])
	sagemakerapi.ForgetKeptCones()
	req2["NextToken"] = first["NextToken"]
	second := e.ok("QueryLineage", req2)
	require.NotEmpty(t, second["NextToken"], "a cone of more than 4 vertices has a third page")
	t.Cleanup(sagemakerapi.SetWholeCone(3))
	req2["NextToken"] = second["NextToken"]
	third := e.ok("QueryLineage", req2)
	var mixed []string
	for _, a := range []map[string]any{first, second, third} {
		for _, v := range a["Vertices"].([]any) {
			mixed = append(mixed, sagemakerapi.KeyOfARN(v.(map[string]any)["Arn"].(string)))
		}
	}
	assert.Len(t, mixed, min(6, len(keys)))
	assert.Subset(t, keys, mixed)
}

// Tags work on the Experiments half's entities too.
func TestTagsOnExperimentsAndTrials(t *testing.T) {
	t.Parallel()
	e := newEnv(t, auth.RoleWriter)
	exp := e.ok("CreateExperiment", map[string]any{"ExperimentName": "tags-" + e.tk})["ExperimentArn"].(string)
	trial := e.ok("CreateTrial", map[string]any{"TrialName": "tags-trial-" + e.tk, "ExperimentName": "tags-" + e.tk})["TrialArn"].(string)
	for _, arn := range []string{exp, trial} {
		e.ok("AddTags", map[string]any{"ResourceArn": arn, "Tags": []map[string]string{{"Key": "team", "Value": "risk"}}})
		l := e.ok("ListTags", map[string]any{"ResourceArn": arn})
		assert.Contains(t, l["Tags"], map[string]any{"Key": "team", "Value": "risk"}, arn)
		e.ok("DeleteTags", map[string]any{"ResourceArn": arn, "TagKeys": []string{"team"}})
		l = e.ok("ListTags", map[string]any{"ResourceArn": arn})
		assert.NotContains(t, l["Tags"], map[string]any{"Key": "team", "Value": "risk"}, arn)
	}
	a := e.call("ListTags", map[string]any{"ResourceArn": "arn:aws:sagemaker:us-east-1:000000000000:experiment-trial/none-" + e.tk})
	assert.Equal(t, "ResourceNotFound", a.code())
}
