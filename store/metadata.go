package store

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"

	"github.com/provgraph/provgraph/apperr"
)

// Tag is a key–value label on a registered model or model version.
type Tag struct {
	Key   string
	Value string
}

// ModelMetric is a metric value recorded with a model version at registration (the
// evaluation it was registered on).
type ModelMetric struct {
	Key   string
	Value float64
}

// Limits on registry metadata, at least as generous as MLflow's.
const (
	MaxTags            = 100
	MaxTagKeyLength    = 250
	MaxTagValueLength  = 8000
	MaxModelMetrics    = 100
	MaxSignatureBytes  = 64 << 10
	MaxFrameworkLength = MaxShortTextLength
	propTagKeys        = "tagKeys"
	propTagValues      = "tagValues"
	propMetricKeys     = "metricKeys"
	propMetricValues   = "metricValues"
	propFramework      = "framework"
	propSignature      = "signature"
)

// checkTags validates tags and returns them as two parallel lists sorted by key, the
// way nodes store them. A key given twice is an error, not a silent overwrite.
func checkTags(field string, tags []Tag) (keys, values []string, err error) {
	if len(tags) > MaxTags {
		return nil, nil, apperr.Invalid(field, "must hold at most %d tags (got %d)", MaxTags, len(tags))
	}
	seen := make(map[string]bool, len(tags))
	for i, t := range tags {
		f := fmt.Sprintf("%s[%d]", field, i)
		if err := checkText(f+".key", t.Key, MaxTagKeyLength); err != nil {
			return nil, nil, err
		}
		if err := checkProse(f+".value", &t.Value, MaxTagValueLength); err != nil {
			return nil, nil, err
		}
		if seen[t.Key] {
			return nil, nil, apperr.Invalid(f+".key", "tag %q is given twice", truncateForMessage(t.Key))
		}
		seen[t.Key] = true
	}
	sorted := slices.SortedFunc(slices.Values(tags), func(a, b Tag) int { return strings.Compare(a.Key, b.Key) })
	for _, t := range sorted {
		keys, values = append(keys, t.Key), append(values, t.Value)
	}
	return keys, values, nil
}

// checkModelMetrics validates metrics recorded at registration: finite values, each
// key once.
func checkModelMetrics(field string, ms []ModelMetric) (keys []string, values []float64, err error) {
	if len(ms) > MaxModelMetrics {
		return nil, nil, apperr.Invalid(field, "must hold at most %d metrics (got %d)", MaxModelMetrics, len(ms))
	}
	seen := make(map[string]bool, len(ms))
	for i, m := range ms {
		f := fmt.Sprintf("%s[%d]", field, i)
		if err := checkText(f+".key", m.Key, MaxParamKeyLength); err != nil {
			return nil, nil, err
		}
		if math.IsNaN(m.Value) || math.IsInf(m.Value, 0) {
			return nil, nil, apperr.Invalid(f+".value", "must be a finite number")
		}
		if seen[m.Key] {
			return nil, nil, apperr.Invalid(f+".key", "metric %q is given twice", truncateForMessage(m.Key))
		}
		seen[m.Key] = true
		keys, values = append(keys, m.Key), append(values, m.Value)
	}
	return keys, values, nil
}

// checkSignature validates a model signature (any JSON value) and returns it as the
// JSON text nodes store, or nil.
func checkSignature(field string, sig any) (any, error) {
	if sig == nil {
		return nil, nil
	}
	b, err := json.Marshal(sig)
	if err != nil {
		return nil, apperr.Invalid(field, "must be JSON: %v", err)
	}
	if len(b) > MaxSignatureBytes {
		return nil, apperr.Invalid(field, "must be at most %d bytes of JSON (got %d)", MaxSignatureBytes, len(b))
	}
	return string(b), nil
}

// Tags returns the tags stored on n, by key.
func (n Node) Tags() []Tag { return n.pairs(propTagKeys, propTagValues) }

// pairs reads the key/value pairs a node keeps as two parallel list properties.
func (n Node) pairs(keysProp, valuesProp string) []Tag {
	keys, _ := n.Props[keysProp].([]any)
	values, _ := n.Props[valuesProp].([]any)
	out := make([]Tag, 0, len(keys))
	for i := range min(len(keys), len(values)) {
		k, _ := keys[i].(string)
		v, _ := values[i].(string)
		out = append(out, Tag{Key: k, Value: v})
	}
	return out
}

// ModelMetrics returns the metrics a model version was registered with, in the order given.
func (n Node) ModelMetrics() []ModelMetric {
	keys, _ := n.Props[propMetricKeys].([]any)
	values, _ := n.Props[propMetricValues].([]any)
	out := make([]ModelMetric, 0, len(keys))
	for i := range min(len(keys), len(values)) {
		k, _ := keys[i].(string)
		v, _ := values[i].(float64)
		out = append(out, ModelMetric{Key: k, Value: v})
	}
	return out
}

// Signature returns the model signature a version was registered with, decoded, or nil.
func (n Node) Signature() any {
	s, ok := n.Props[propSignature].(string)
	if !ok {
		return nil
	}
	var v any
	if json.Unmarshal([]byte(s), &v) != nil {
		return nil
	}
	return v
}

// RegisteredModelUpdate changes a registered model's description and tags. Tags are
// labels, not provenance: the last write wins (the audit log keeps every write).
type RegisteredModelUpdate struct {
	Name        string
	Description *string
	// SetTags adds tags or replaces their values; DeleteTags removes tags by key.
	SetTags    []Tag
	DeleteTags []string
}

const cypherUpdateRegisteredModel = `
MATCH (m:` + LabelNode + ` {key: $key})
WITH m, m {.description, .tagKeys, .tagValues} AS old
SET m.description = CASE WHEN $setDescription THEN $description ELSE m.description END,
    m.tagKeys = $tagKeys, m.tagValues = $tagValues,
    m.updatedAt = datetime.transaction(), m.updatedBy = $actor
RETURN m, old`

// UpdateRegisteredModel applies u to an existing registered model and returns it.
func (s *Store) UpdateRegisteredModel(ctx context.Context, actor string, u RegisteredModelUpdate) (Node, error) {
	if err := checkText("name", u.Name, MaxModelNameLength); err != nil {
		return Node{}, err
	}
	if err := checkDescription("description", u.Description); err != nil {
		return Node{}, err
	}
	key := RegisteredModelKey(u.Name)
	return write(ctx, s, actor, ActionRegisteredModelUpdate, func(tx neo4j.ManagedTransaction, au *audit) (Node, error) {
		au.target(key)
		if _, err := collect(ctx, tx, cypherLockNode, map[string]any{"key": key}); err != nil {
			return Node{}, fmt.Errorf("lock %q: %w", key, err)
		}
		m, err := nodeByKey(ctx, tx, "name", key)
		if err != nil {
			return Node{}, err
		}
		keys, values, err := mergeTags(m.Tags(), u.SetTags, u.DeleteTags)
		if err != nil {
			return Node{}, err
		}
		recs, err := collect(ctx, tx, cypherUpdateRegisteredModel, map[string]any{
			"key": key, "setDescription": u.Description != nil, "description": optValue(u.Description),
			"tagKeys": keys, "tagValues": values, "actor": actor,
		})
		if err != nil {
			return Node{}, fmt.Errorf("update registered model %q: %w", u.Name, err)
		}
		old, m, err := changedNodeAt(recs[0], "m", "old")
		au.changeNode(old, m, true, propDescription)
		return m, err
	})
}
