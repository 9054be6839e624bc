package sagemakerapi

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/provgraph/provgraph/store"
)

// Every action's name reads back to its ID, and no two actions share a name: plain
// names for the endpoints' numbered deployments and the versions' approval changes of
// names an ARN keeps, encoded IDs for the rest (upper case, '/' in a model's name, an
// imported deployment).
func TestActionNamesReadBack(t *testing.T) {
	t.Parallel()
	endpoint := func(name string) store.Node {
		return store.Node{Key: store.EndpointKey(name), Name: name, Kind: store.KindEndpoint}
	}
	mv := store.Node{Key: "model:m/1", Kind: store.KindModelVersion}
	deployment := func(ep store.Node, id string) action {
		return deploymentAction(store.Deployment{ID: id, Endpoint: ep, ModelVersion: mv, From: time.Unix(0, 0)})
	}
	approval := func(key string, seq int64) action {
		return approvalAction(store.Node{Key: key, Kind: store.KindModelVersion}, store.Approval{Status: store.Approved, Seq: seq})
	}
	names := map[string]bool{}
	for _, tc := range []struct {
		a    action
		name string // "": the ID encoded
	}{
		{deployment(endpoint("a-1"), "endpoint:a-1#2"), "a-1-2-aws-deployment"},
		{deployment(endpoint("a"), "endpoint:a#12"), "a-12-aws-deployment"},
		{approval("model:fraud-2/10", 3), "fraud-2-10-3-aws-model-package"},
		{deployment(endpoint("Fraud-Prod"), "endpoint:Fraud-Prod#1"), ""},
		{deployment(endpoint("x"), "endpoint:x#import:model:m/1"), ""},
		{deployment(endpoint("x"), "endpoint:x#import:model:n/1"), ""},
		{approval("model:team/fraud/3", 2), ""},
		{approval("model:Fraud/3", 2), ""},
	} {
		if tc.name != "" {
			assert.Equal(t, tc.name, tc.a.name)
		} else {
			assert.Regexp(t, `^pg-[a-z2-7]+$`, tc.a.name, "encoded: %s", tc.a.id)
		}
		assert.False(t, names[tc.a.name], "%s named twice", tc.a.name)
		names[tc.a.name] = true
		id, ok := actionIDOfName(tc.a.name)
		assert.True(t, ok, tc.a.name)
		assert.Equal(t, tc.a.id, id, tc.a.name)
	}
	_, ok := actionIDOfName("a--aws-deployment")
	assert.False(t, ok)
	_, ok = actionIDOfName("m-1-x-aws-model-package")
	assert.False(t, ok)
}
