package sagemakerapi_test

import (
	"bytes"
	"encoding/base32"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/auth"
	"github.com/provgraph/provgraph/internal/authtest"
	"github.com/provgraph/provgraph/store"
)

// putMetrics sends BatchPutMetrics.
func (e *env) putMetrics(body any) answer {
	e.t.Helper()
	b, err := json.Marshal(body)
	require.NoError(e.t, err)
	req := httptest.NewRequest(http.MethodPut, "/aws/sagemaker-metrics/BatchPutMetrics", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	return e.send(req)
}

// bearer sends a request to another surface with a bearer token of role.
func (e *env) bearer(role auth.Role, req *http.Request) map[string]any {
	e.t.Helper()
	c := authtest.NewToken(e.t, e.st, role)
	req.Header.Set("Authorization", c.Header())
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	require.Equal(e.t, http.StatusOK, rec.Code, rec.Body.String())
	var out map[string]any
	require.NoError(e.t, json.Unmarshal(rec.Body.Bytes(), &out))
	return out
}

// The calls the sagemaker SDK's Run makes, in its order: an experiment, its default
// trial, a trial component associated with it, metrics, parameters, status and
// artifacts; the run is then the same run in GraphQL and MLflow.
func TestARunAsTheSDKRecordsIt(t *testing.T) {
	t.Parallel()
	e := newEnv(t, auth.RoleWriter)
	exp, trial, tc := "sdk-"+e.tk, "Default-Run-Group-sdk-"+e.tk, "sdk-"+e.tk+"-run-1"

	e.ok("CreateExperiment", map[string]any{"ExperimentName": exp})
	e.ok("CreateTrial", map[string]any{"TrialName": trial, "ExperimentName": exp})
	a := e.call("CreateTrial", map[string]any{"TrialName": trial, "ExperimentName": exp})
	assert.Contains(t, a.message(), "already exists")
	d := e.ok("DescribeTrial", map[string]any{"TrialName": trial})
	assert.Equal(t, exp, d["ExperimentName"])

	e.ok("CreateTrialComponent", map[string]any{"TrialComponentName": tc, "DisplayName": "run-1",
		"Tags": []map[string]string{{"Key": "sagemaker:trial-component-source", "Value": "run"}}})
	a = e.call("CreateTrialComponent", map[string]any{"TrialComponentName": tc})
	assert.Equal(t, "ValidationException", a.code())
	assert.Contains(t, a.message(), "already exists")

	search := map[string]any{"Resource": "ExperimentTrialComponent", "SearchExpression": map[string]any{"Filters": []map[string]any{
		{"Name": "TrialComponentName", "Operator": "Equals", "Value": tc},
		{"Name": "Parents.TrialName", "Operator": "Equals", "Value": trial}}}}
	assert.Empty(t, e.ok("Search", search)["Results"], "not associated yet")
	e.ok("AssociateTrialComponent", map[string]any{"TrialComponentName": tc, "TrialName": trial})
	e.ok("AssociateTrialComponent", map[string]any{"TrialComponentName": tc, "TrialName": trial}) // again: nothing changes
	require.Len(t, e.ok("Search", search)["Results"], 1)

	start := time.Now().Add(-time.Minute)
	e.ok("UpdateTrialComponent", map[string]any{"TrialComponentName": tc, "StartTime": float64(start.UnixMilli()) / 1000,
		"Status": map[string]any{"PrimaryStatus": "InProgress", "Message": "Within a run context"}})
	for step := range 25 {
		data := []map[string]any{{"MetricName": "loss", "Timestamp": float64(time.Now().UnixMilli()) / 1000, "Step": step, "Value": 1.0 / float64(step+1)}}
		a := e.putMetrics(map[string]any{"TrialComponentName": tc, "MetricData": data})
		require.Equal(t, http.StatusOK, a.Status, a.Body)
		assert.Nil(t, a.Body["Errors"])
	}
	e.ok("UpdateTrialComponent", map[string]any{"TrialComponentName": tc, "EndTime": float64(time.Now().UnixMilli()) / 1000,
		"Status":          map[string]any{"PrimaryStatus": "Completed"},
		"Parameters":      map[string]any{"lr": map[string]any{"NumberValue": 0.01}, "optimizer": map[string]any{"StringValue": "adam"}},
		"InputArtifacts":  map[string]any{"train": map[string]any{"Value": "s3://bucket/" + e.tk + "/train.csv", "MediaType": "text/csv"}},
		"OutputArtifacts": map[string]any{"model": map[string]any{"Value": "s3://bucket/" + e.tk + "/model.tar.gz"}}})

	d = e.ok("DescribeTrialComponent", map[string]any{"TrialComponentName": tc})
	assert.Equal(t, tc, d["TrialComponentName"])
	assert.Equal(t, "run-1", d["DisplayName"])
	assert.Equal(t, "Completed", d["Status"].(map[string]any)["PrimaryStatus"])
	assert.InDelta(t, float64(start.UnixMilli())/1000, d["StartTime"], 0.01)
	assert.Equal(t, map[string]any{"lr": map[string]any{"NumberValue": 0.01}, "optimizer": map[string]any{"StringValue": "adam"}}, d["Parameters"])
	assert.Equal(t, map[string]any{"train": map[string]any{"Value": "s3://bucket/" + e.tk + "/train.csv", "MediaType": "text/csv"}}, d["InputArtifacts"])
	metrics := d["Metrics"].([]any)
	require.Len(t, metrics, 1)
	m := metrics[0].(map[string]any)
	assert.Equal(t, "loss", m["MetricName"])
	assert.EqualValues(t, 25, m["Count"])
	assert.InDelta(t, 1.0, m["Max"], 1e-9)
	assert.InDelta(t, 1.0/25, m["Min"], 1e-9)
	assert.InDelta(t, 1.0/25, m["Last"], 1e-9)
	assert.Contains(t, m, "Avg")
	assert.Contains(t, m, "StdDev")

	t.Run("a changed parameter", func(t *testing.T) {
		a := e.call("UpdateTrialComponent", map[string]any{"TrialComponentName": tc, "Parameters": map[string]any{"lr": map[string]any{"NumberValue": 0.1}}})
		assert.Equal(t, "ValidationException", a.code())
		assert.Contains(t, a.message(), "append-only")
		a = e.call("UpdateTrialComponent", map[string]any{"TrialComponentName": tc, "ParametersToRemove": []string{"lr"}})
		assert.Contains(t, a.message(), "append-only")
	})
	t.Run("lists", func(t *testing.T) {
		l := e.ok("ListTrialComponents", map[string]any{"ExperimentName": exp})
		require.Len(t, l["TrialComponentSummaries"], 1)
		assert.Equal(t, tc, l["TrialComponentSummaries"].([]any)[0].(map[string]any)["TrialComponentName"])
		l = e.ok("ListTrials", map[string]any{"TrialComponentName": tc})
		require.Len(t, l["TrialSummaries"], 1)
		l = e.ok("ListTrials", map[string]any{"ExperimentName": exp})
		require.Len(t, l["TrialSummaries"], 1)
	})
	t.Run("ExperimentAnalytics' search", func(t *testing.T) {
		s := e.ok("Search", map[string]any{"Resource": "ExperimentTrialComponent", "SearchExpression": map[string]any{
			"Filters": []map[string]any{{"Name": "Parents.ExperimentName", "Operator": "Equals", "Value": exp}}},
			"SortBy": "Metrics.loss.Last", "SortOrder": "Ascending"})
		res := s["Results"].([]any)
		require.Len(t, res, 1)
		doc := res[0].(map[string]any)["TrialComponent"].(map[string]any)
		assert.Equal(t, []any{map[string]any{"TrialName": trial, "ExperimentName": exp}}, doc["Parents"])
		assert.Contains(t, doc["OutputArtifacts"], "model")
	})
	t.Run("the same run in GraphQL and MLflow", func(t *testing.T) {
		q := `{"query":"{ searchRuns(filter: \"params.optimizer = 'adam'\", experiments: [\"` + expKey(t, e, exp) + `\"]) { edges { node { id name group { name } experiment { name } } } } }"}`
		req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader([]byte(q)))
		req.Header.Set("Content-Type", "application/json")
		out := e.bearer(auth.RoleReader, req)
		edges := out["data"].(map[string]any)["searchRuns"].(map[string]any)["edges"].([]any)
		require.Len(t, edges, 1, out)
		node := edges[0].(map[string]any)["node"].(map[string]any)
		assert.Equal(t, "run-1", node["name"])
		assert.Equal(t, exp, node["experiment"].(map[string]any)["name"])
		assert.Equal(t, trial, node["group"].(map[string]any)["name"])
		runID := node["id"].(string)[len("run:"):]
		req = httptest.NewRequest(http.MethodGet, "/api/2.0/mlflow/runs/get?run_id="+runID, nil)
		mlf := e.bearer(auth.RoleReader, req)
		info := mlf["run"].(map[string]any)["info"].(map[string]any)
		assert.Equal(t, "FINISHED", info["status"])
		assert.Equal(t, "run-1", info["run_name"])
	})
}

func expKey(t *testing.T, e *env, name string) string {
	t.Helper()
	n, err := e.st.ExperimentByName(t.Context(), "name", name)
	require.NoError(t, err)
	return n.Key
}

// BatchPutMetrics: 1 to 10 points, per-point errors for points that break a rule.
func TestBatchPutMetrics(t *testing.T) {
	t.Parallel()
	e := newEnv(t, auth.RoleWriter)
	tc := "metrics-" + e.tk
	e.ok("CreateTrialComponent", map[string]any{"TrialComponentName": tc})
	now := float64(time.Now().Unix())
	point := func(name string, v any) map[string]any {
		return map[string]any{"MetricName": name, "Timestamp": now, "Step": 1, "Value": v}
	}
	a := e.putMetrics(map[string]any{"TrialComponentName": tc, "MetricData": []any{point("acc", 0.5), point("", 1), point("nan", "NaN"), point("bad", "x")}})
	require.Equal(t, http.StatusOK, a.Status, a.Body)
	errs := a.Body["Errors"].([]any)
	require.Len(t, errs, 2)
	assert.Equal(t, map[string]any{"Code": "VALIDATION_ERROR", "MetricIndex": 1.0, "Message": "MetricName must have 1 to 255 characters"}, errs[0])
	assert.EqualValues(t, 3, errs[1].(map[string]any)["MetricIndex"])
	d := e.ok("DescribeTrialComponent", map[string]any{"TrialComponentName": tc})
	assert.Len(t, d["Metrics"], 2, "acc and nan were recorded")

	eleven := make([]any, 11)
	for i := range eleven {
		eleven[i] = point("acc", i)
	}
	a = e.putMetrics(map[string]any{"TrialComponentName": tc, "MetricData": eleven})
	assert.Equal(t, "ValidationException", a.code())
	assert.Contains(t, a.message(), "at 'metricData' failed to satisfy constraint: Member must have length less than or equal to 10")
	a = e.putMetrics(map[string]any{"TrialComponentName": tc, "MetricData": []any{}})
	assert.Contains(t, a.message(), "Member must have length greater than or equal to 1")
	a = e.putMetrics(map[string]any{"TrialComponentName": "none-" + e.tk, "MetricData": []any{point("acc", 1)}})
	assert.Equal(t, "ResourceNotFound", a.code())
	req := httptest.NewRequest(http.MethodPost, "/aws/sagemaker-metrics/BatchPutMetrics", bytes.NewReader([]byte("{}")))
	assert.Equal(t, http.StatusMethodNotAllowed, e.send(req).Status)
}

// Search's grammar: Filters, NestedFilters, SubExpressions with Or, and the operators.
func TestSearchGrammar(t *testing.T) {
	t.Parallel()
	e := newEnv(t, auth.RoleWriter)
	exp := "grammar-" + e.tk
	e.ok("CreateExperiment", map[string]any{"ExperimentName": exp})
	e.ok("CreateTrial", map[string]any{"TrialName": "t-" + e.tk, "ExperimentName": exp})
	for i, lr := range []float64{0.1, 0.01, 0.001} {
		tc := fmt.Sprintf("g-%s-%d", e.tk, i)
		e.ok("CreateTrialComponent", map[string]any{"TrialComponentName": tc,
			"Parameters": map[string]any{"lr": map[string]any{"NumberValue": lr}, "opt": map[string]any{"StringValue": []string{"adam", "sgd", "adam"}[i]}}})
		e.ok("AssociateTrialComponent", map[string]any{"TrialComponentName": tc, "TrialName": "t-" + e.tk})
	}
	names := func(expr map[string]any) []string {
		t.Helper()
		s := e.ok("Search", map[string]any{"Resource": "ExperimentTrialComponent", "SearchExpression": expr, "SortBy": "Parameters.lr", "SortOrder": "Ascending"})
		var out []string
		for _, r := range s["Results"].([]any) {
			out = append(out, r.(map[string]any)["TrialComponent"].(map[string]any)["TrialComponentName"].(string))
		}
		return out
	}
	inExp := map[string]any{"Name": "Parents.ExperimentName", "Operator": "Equals", "Value": exp}
	g := func(i int) string { return fmt.Sprintf("g-%s-%d", e.tk, i) }
	assert.Equal(t, []string{g(2), g(1), g(0)}, names(map[string]any{"Filters": []any{inExp}}))
	assert.Equal(t, []string{g(1), g(0)}, names(map[string]any{"Filters": []any{inExp, map[string]any{"Name": "Parameters.lr", "Operator": "GreaterThan", "Value": "0.005"}}}))
	assert.Equal(t, []string{g(2), g(0)}, names(map[string]any{"Filters": []any{inExp, map[string]any{"Name": "Parameters.opt", "Value": "adam"}}}))
	assert.Equal(t, []string{g(2), g(1)}, names(map[string]any{"Filters": []any{inExp}, "SubExpressions": []any{
		map[string]any{"Operator": "Or", "Filters": []any{
			map[string]any{"Name": "Parameters.opt", "Operator": "Equals", "Value": "sgd"},
			map[string]any{"Name": "Parameters.lr", "Operator": "LessThan", "Value": "0.005"}}}}}))
	assert.Equal(t, []string{g(2), g(1), g(0)}, names(map[string]any{"Filters": []any{inExp}, "NestedFilters": []any{
		map[string]any{"NestedPropertyName": "Parents", "Filters": []any{
			map[string]any{"Name": "Parents.TrialName", "Operator": "Equals", "Value": "t-" + e.tk},
			map[string]any{"Name": "Parents.ExperimentName", "Operator": "Equals", "Value": exp}}}}}))
	assert.Empty(t, names(map[string]any{"Filters": []any{inExp, map[string]any{"Name": "Parameters.nope", "Operator": "Exists"}}}))
	assert.Equal(t, []string{g(1)}, names(map[string]any{"Filters": []any{inExp, map[string]any{"Name": "TrialComponentName", "Operator": "In", "Value": g(1) + ",other"}}}))

	// Experiments and trials too.
	s := e.ok("Search", map[string]any{"Resource": "Experiment", "SearchExpression": map[string]any{"Filters": []any{
		map[string]any{"Name": "ExperimentName", "Operator": "Contains", "Value": "grammar-" + e.tk}}}})
	require.Len(t, s["Results"], 1)
	s = e.ok("Search", map[string]any{"Resource": "ExperimentTrial", "SearchExpression": map[string]any{"Filters": []any{
		map[string]any{"Name": "ExperimentName", "Value": exp}}}})
	require.Len(t, s["Results"], 1)

	// Limits and paging.
	a := e.call("Search", map[string]any{"Resource": "TrainingJob"})
	assert.Equal(t, "ValidationException", a.code())
	a = e.call("Search", map[string]any{"Resource": "ExperimentTrialComponent", "SearchExpression": map[string]any{"Filters": []any{map[string]any{"Name": "x", "Operator": "Like", "Value": "y"}}}})
	assert.Contains(t, a.message(), "Member must satisfy enum value set")
	deep := map[string]any{"Filters": []any{inExp}}
	for range 6 {
		deep = map[string]any{"SubExpressions": []any{deep}}
	}
	a = e.call("Search", map[string]any{"Resource": "ExperimentTrialComponent", "SearchExpression": deep})
	assert.Contains(t, a.message(), "nested at most 5 deep")
	p1 := e.ok("Search", map[string]any{"Resource": "ExperimentTrialComponent", "MaxResults": 2,
		"SearchExpression": map[string]any{"Filters": []any{inExp}}, "SortBy": "Parameters.lr", "SortOrder": "Ascending"})
	require.Len(t, p1["Results"], 2)
	p2 := e.ok("Search", map[string]any{"Resource": "ExperimentTrialComponent", "MaxResults": 2, "NextToken": p1["NextToken"],
		"SearchExpression": map[string]any{"Filters": []any{inExp}}, "SortBy": "Parameters.lr", "SortOrder": "Ascending"})
	require.Len(t, p2["Results"], 1)
	assert.Nil(t, p2["NextToken"])
}

// A trial component is found by its name in any case and by its ARN; every run, MLflow's
// too, is a trial component named by its run id.
func TestTrialComponentNames(t *testing.T) {
	t.Parallel()
	e := newEnv(t, auth.RoleWriter)
	arn := e.ok("CreateTrialComponent", map[string]any{"TrialComponentName": "Mixed-" + e.tk})["TrialComponentArn"].(string)
	assert.Equal(t, "arn:aws:sagemaker:us-east-1:000000000000:experiment-trial-component/mixed-"+e.tk, arn)
	for _, ref := range []string{"Mixed-" + e.tk, "mixed-" + e.tk, arn} {
		d := e.ok("DescribeTrialComponent", map[string]any{"TrialComponentName": ref})
		assert.Equal(t, "Mixed-"+e.tk, d["TrialComponentName"], ref)
	}
	a := e.call("CreateTrialComponent", map[string]any{"TrialComponentName": "MIXED-" + e.tk})
	assert.Contains(t, a.message(), "already exists")

	exp, err := e.st.CreateExperiment(t.Context(), "mlflow", store.ExperimentInput{Name: "mlflow-" + e.tk})
	require.NoError(t, err)
	run, err := e.st.StartRun(t.Context(), "mlflow", store.RunInput{Experiment: exp.Key})
	require.NoError(t, err)
	d := e.ok("DescribeTrialComponent", map[string]any{"TrialComponentName": run.String("runId")})
	assert.Equal(t, run.String("runId"), d["TrialComponentName"])
	l := e.ok("ListTrialComponents", map[string]any{"ExperimentName": "mlflow-" + e.tk})
	require.Len(t, l["TrialComponentSummaries"], 1)

	// A job of another scheduler, named by its node's ID, is described without a SageMaker
	// job as its source (the SDK would read it as a job ARN).
	digest := "sha256:" + e.tk
	out, _, err := e.st.RegisterDatasetVersion(t.Context(), "airflow", store.DatasetVersionInput{URI: "s3://" + e.tk + "-etl/out", Digest: &digest})
	require.NoError(t, err)
	job, _, err := e.st.RecordProcessingJob(t.Context(), "airflow", store.ProcessingJobInput{Namespace: "airflow", Name: "etl-" + e.tk,
		Outputs: []string{out.Key}})
	require.NoError(t, err)
	d = e.ok("DescribeTrialComponent", map[string]any{"TrialComponentName": "pg-" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString([]byte(job.Key)))})
	assert.NotContains(t, d, "Source", "%v", d)

	// The names ARNs give to SageMaker jobs and graph nodes are not a run's to take.
	for _, name := range []string{"churn-" + e.tk + "-aws-training-job", "x-" + e.tk + "-aws-transform-job",
		"pg-" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString([]byte("endpoint:x-"+e.tk)))} {
		r := e.call("CreateTrialComponent", map[string]any{"TrialComponentName": name})
		assert.Equal(t, "ValidationException", r.code(), name)
		assert.Contains(t, r.message(), "must name a run of its own", name)
	}
}

// Concurrent BatchPutMetrics calls, which the API records in shared transactions: every
// point is recorded once, also when a call is sent again, and a call for a trial
// component that does not exist is ResourceNotFound while the calls beside it succeed.
func TestConcurrentBatchPutMetrics(t *testing.T) {
	t.Parallel()
	e := newEnv(t, auth.RoleWriter)
	const clients, calls = 8, 12
	tcs := make([]string, clients)
	for i := range tcs {
		tcs[i] = fmt.Sprintf("concurrent-%d-%s", i, e.tk)
		e.ok("CreateTrialComponent", map[string]any{"TrialComponentName": tcs[i]})
	}
	missing := "concurrent-missing-" + e.tk
	t0 := float64(time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC).Unix())
	body := func(tc string, call int) []byte {
		data := make([]map[string]any, 10)
		for k := range data {
			step := call*10 + k
			data[k] = map[string]any{"MetricName": "loss", "Timestamp": t0 + float64(step), "Step": step, "Value": float64(step)}
		}
		b, _ := json.Marshal(map[string]any{"TrialComponentName": tc, "MetricData": data})
		return b
	}
	// The last client sends every other call to the missing trial component; each
	// client sends its first call again at the end, as a client that retries would.
	target := func(client, call int) string {
		if client == clients-1 && call%2 == 0 && call < calls {
			return missing
		}
		return tcs[client]
	}
	answers := make([][]answer, clients)
	var wg sync.WaitGroup
	for client := range clients {
		wg.Go(func() {
			for call := range calls + 1 {
				tc, c := target(client, call), call
				if call == calls {
					c = 1 // sent again
				}
				answers[client] = append(answers[client], e.sendConcurrently(body(tc, c)))
			}
		})
	}
	wg.Wait()

	for client, as := range answers {
		for call, a := range as {
			if target(client, call) == missing {
				assert.Equal(t, http.StatusBadRequest, a.Status, "client %d call %d", client, call)
				assert.Equal(t, "ResourceNotFound", a.code(), "client %d call %d", client, call)
				continue
			}
			assert.Equal(t, http.StatusOK, a.Status, "client %d call %d: %v", client, call, a.Body)
			assert.NotContains(t, a.Body, "Errors", "client %d call %d", client, call)
		}
	}
	for client, tc := range tcs {
		d := e.ok("DescribeTrialComponent", map[string]any{"TrialComponentName": tc})
		ms, _ := d["Metrics"].([]any)
		require.Len(t, ms, 1, tc)
		m := ms[0].(map[string]any)
		want := calls * 10
		if client == clients-1 {
			want = calls / 2 * 10
		}
		assert.EqualValues(t, want, m["Count"], "%s: every point once", tc)
		assert.EqualValues(t, (calls-1)*10+9, m["Max"], tc)
	}
}

// sendConcurrently sends a signed BatchPutMetrics call with body; unlike send, it may
// run on any goroutine (it makes no assertions).
func (e *env) sendConcurrently(body []byte) answer {
	req := httptest.NewRequest(http.MethodPut, "/aws/sagemaker-metrics/BatchPutMetrics", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	e.key.Sign(req, body, "us-east-1", time.Now())
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	a := answer{Status: rec.Code, Header: rec.Header()}
	if err := json.Unmarshal(rec.Body.Bytes(), &a.Body); err != nil {
		a.Body = map[string]any{"undecodable": rec.Body.String()}
	}
	return a
}
