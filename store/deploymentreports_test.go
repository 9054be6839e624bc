package store_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/internal/neo4jtest"
	"github.com/provgraph/provgraph/store"
)

// Deployments begun and ended by endpoint reports take the reports' times, not the
// server's: an endpoint in service at T1 on one configuration and at T2 on another
// (both in the past) served the first model version between them, and asking what
// served at an instant between them answers it.
func TestEndpointReportsDeployAtTheirTime(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	tk := neo4jtest.Token(t)
	ctx := t.Context()
	model := "fraud-" + tk
	for v := int64(1); v <= 2; v++ {
		_, err := st.ReportModelVersion(ctx, "tester", store.ModelVersionReport{Model: model, Version: v,
			Approval: store.Approved, ArtifactURIs: []string{"s3://" + tk + "/model-" + string(rune('0'+v)) + ".tar.gz"}})
		require.NoError(t, err)
		_, err = st.RecordServingModel(ctx, "tester", store.ServingModel{Name: "m" + string(rune('0'+v)) + "-" + tk,
			ModelVersions: []string{store.ModelVersionKey(model, v)}})
		require.NoError(t, err)
		_, err = st.RecordDeploymentConfig(ctx, "tester", store.DeploymentConfig{Name: "c" + string(rune('0'+v)) + "-" + tk,
			Variants: []store.ConfiguredVariant{{Name: store.DefaultVariant, ServingModel: "m" + string(rune('0'+v)) + "-" + tk, Weight: 1}}})
		require.NoError(t, err)
	}
	t1 := time.Date(2026, 1, 10, 10, 0, 0, 0, time.UTC)
	t2 := time.Date(2026, 1, 20, 10, 0, 0, 0, time.UTC)
	name := "prod-" + tk
	for _, r := range []struct {
		config string
		at     time.Time
	}{{"c1-" + tk, t1}, {"c2-" + tk, t2}} {
		out, err := st.ReportEndpoint(ctx, "tester", store.EndpointReport{Name: name, Config: &r.config,
			State: store.EndpointInService, StateWord: "InService", At: &r.at})
		require.NoError(t, err)
		require.Empty(t, out.Notes)
	}
	key := store.EndpointKey(name)
	page, err := st.DeploymentHistory(ctx, key, nil, nil)
	require.NoError(t, err)
	require.Len(t, page.Deployments, 2)
	byVersion := map[string]store.Deployment{}
	for _, d := range page.Deployments {
		byVersion[d.ModelVersion.Key] = d
	}
	first, second := byVersion[store.ModelVersionKey(model, 1)], byVersion[store.ModelVersionKey(model, 2)]
	assert.True(t, first.From.Equal(t1), "first from %s", first.From)
	if assert.NotNil(t, first.To) {
		assert.True(t, first.To.Equal(t2), "first to %s", first.To)
	}
	assert.True(t, second.From.Equal(t2), "second from %s", second.From)
	assert.Nil(t, second.To)

	for _, c := range []struct {
		at   time.Time
		want []string
	}{
		{t1.Add(-time.Hour), nil},
		{t1.Add(5 * 24 * time.Hour), []string{store.ModelVersionKey(model, 1)}},
		{t2.Add(time.Hour), []string{store.ModelVersionKey(model, 2)}},
	} {
		_, deps, err := st.DeploymentsAt(ctx, "endpoint", key, c.at)
		require.NoError(t, err)
		var got []string
		for _, d := range deps {
			got = append(got, d.ModelVersion.Key)
		}
		assert.Equal(t, c.want, got, "as of %s", c.at)
	}

	// A report older than the one recorded changes nothing.
	old := t1.Add(time.Hour)
	c1 := "c1-" + tk
	out, err := st.ReportEndpoint(ctx, "tester", store.EndpointReport{Name: name, Config: &c1, State: store.EndpointInService, At: &old})
	require.NoError(t, err)
	assert.NotEmpty(t, out.Notes)
	active, err := st.ActiveDeployments(ctx, key)
	require.NoError(t, err)
	require.Len(t, active, 1)
	assert.Equal(t, store.ModelVersionKey(model, 2), active[0].ModelVersion.Key)
}

// What another report changes about an endpoint (a newer version registered from the
// model data its serving model names) changes when that report arrives: the history
// up to then is not rewritten, so "what served at T" keeps its answer.
func TestLaterReportsDoNotRewriteDeploymentHistory(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	tk := neo4jtest.Token(t)
	ctx := t.Context()
	model, data := "churn-"+tk, "s3://"+tk+"/model.tar.gz"
	_, err := st.ReportModelVersion(ctx, "tester", store.ModelVersionReport{Model: model, Version: 1, Approval: store.Approved, ArtifactURIs: []string{data}})
	require.NoError(t, err)
	_, err = st.RecordServingModel(ctx, "tester", store.ServingModel{Name: "m-" + tk, ArtifactURIs: []string{data}})
	require.NoError(t, err)
	_, err = st.RecordDeploymentConfig(ctx, "tester", store.DeploymentConfig{Name: "c-" + tk,
		Variants: []store.ConfiguredVariant{{Name: store.DefaultVariant, ServingModel: "m-" + tk, Weight: 1}}})
	require.NoError(t, err)
	t1 := time.Date(2026, 2, 1, 9, 0, 0, 0, time.UTC)
	config := "c-" + tk
	_, err = st.ReportEndpoint(ctx, "tester", store.EndpointReport{Name: "ep-" + tk, Config: &config,
		State: store.EndpointInService, StateWord: "InService", At: &t1})
	require.NoError(t, err)

	// Neo4j's clock, which stamps the change, counts whole milliseconds.
	before := time.Now().Truncate(time.Millisecond)
	_, err = st.ReportModelVersion(ctx, "tester", store.ModelVersionReport{Model: model, Version: 2, Approval: store.Approved, ArtifactURIs: []string{data}})
	require.NoError(t, err)

	key := store.EndpointKey("ep-" + tk)
	page, err := st.DeploymentHistory(ctx, key, nil, nil)
	require.NoError(t, err)
	require.Len(t, page.Deployments, 2)
	byVersion := map[string]store.Deployment{}
	for _, d := range page.Deployments {
		byVersion[d.ModelVersion.Key] = d
	}
	first, second := byVersion[store.ModelVersionKey(model, 1)], byVersion[store.ModelVersionKey(model, 2)]
	assert.True(t, first.From.Equal(t1), "v1 from %s", first.From)
	if assert.NotNil(t, first.To) {
		assert.False(t, first.To.Before(before), "v1 ended at %s, before version 2 was reported (%s)", first.To, before)
	}
	assert.False(t, second.From.Before(before), "v2 began at %s, before it was reported (%s)", second.From, before)
	_, deps, err := st.DeploymentsAt(ctx, "endpoint", key, t1.Add(24*time.Hour))
	require.NoError(t, err)
	require.Len(t, deps, 1)
	assert.Equal(t, store.ModelVersionKey(model, 1), deps[0].ModelVersion.Key, "what served the day after T1")
}

// A configuration described after its endpoint went into service lets the variants
// resolve for the first time: the deployments begin when the endpoint's event says it
// went into service, not when the description arrived.
func TestLateConfigurationDeploysFromTheEndpointsReport(t *testing.T) {
	t.Parallel()
	st := neo4jtest.Store(t)
	tk := neo4jtest.Token(t)
	ctx := t.Context()
	model := "late-" + tk
	_, err := st.ReportModelVersion(ctx, "tester", store.ModelVersionReport{Model: model, Version: 1, Approval: store.Approved,
		ArtifactURIs: []string{"s3://" + tk + "/model.tar.gz"}})
	require.NoError(t, err)
	_, err = st.RecordServingModel(ctx, "tester", store.ServingModel{Name: "m-" + tk, ModelVersions: []string{store.ModelVersionKey(model, 1)}})
	require.NoError(t, err)
	t1 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	config := "c-" + tk
	out, err := st.ReportEndpoint(ctx, "tester", store.EndpointReport{Name: "ep-" + tk, Config: &config,
		State: store.EndpointInService, StateWord: "InService", At: &t1})
	require.NoError(t, err)
	require.NotEmpty(t, out.Notes, "the configuration is not known yet")
	_, err = st.RecordDeploymentConfig(ctx, "tester", store.DeploymentConfig{Name: config,
		Variants: []store.ConfiguredVariant{{Name: store.DefaultVariant, ServingModel: "m-" + tk, Weight: 1}}})
	require.NoError(t, err)
	active, err := st.ActiveDeployments(ctx, store.EndpointKey("ep-"+tk))
	require.NoError(t, err)
	require.Len(t, active, 1)
	assert.Equal(t, store.ModelVersionKey(model, 1), active[0].ModelVersion.Key)
	assert.True(t, active[0].From.Equal(t1), "from %s, want %s", active[0].From, t1)
}
