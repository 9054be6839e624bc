package store

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"

	"github.com/provgraph/provgraph/apperr"
)

// ChartType is the kind of evaluation chart a run logs (SageMaker's log_* charts).
type ChartType string

// The chart types.
const (
	ChartConfusionMatrix ChartType = "CONFUSION_MATRIX"
	ChartROC             ChartType = "ROC"
	ChartPrecisionRecall ChartType = "PRECISION_RECALL"
	propChartType                  = "chartType"
	propBody                       = "body"
	chartMediaType                 = "application/json"
	chartURIScheme                 = "provgraph"
)

// Chart is a chart artifact: a JSON body, such as SageMaker's log_confusion_matrix,
// log_roc_curve and log_precision_recall produce.
type Chart struct {
	Name string
	Type ChartType
	Body any
}

// RunIO is what a run read and wrote. Inputs are recorded dataset versions or
// artifacts (by ID), or artifacts by URI; outputs are new artifacts (by URI), charts,
// or model versions (by ID). They become provenance edges, so runs appear in lineage
// like jobs: input -INPUT_TO-> run -PRODUCED-> output.
type RunIO struct {
	Run string
	// InputContext says how the run used this call's inputs ("training", "eval"), as
	// MLflow's dataset context; searchable as datasets.context.
	InputContext    *string
	Inputs          []string
	InputArtifacts  []ArtifactInput
	OutputArtifacts []ArtifactInput
	OutputModels    []string
	Charts          []Chart
}

const (
	cypherProducerOf = `
MATCH (p:` + LabelNode + `)-[:` + RelProduced + `]->(:` + LabelNode + ` {key: $key})
RETURN p.key AS producer`
)

// ChartURI is the URI a run's chart is recorded under.
func ChartURI(runKey, name string) string {
	return chartURIScheme + "://runs/" + url.PathEscape(runKey[len(prefixRun):]) + "/charts/" + url.PathEscape(name)
}

// checkRunIO validates a call's inputs and outputs before its transaction, and
// returns the properties of the input and output artifacts (charts among the outputs)
// it records.
func checkRunIO(io RunIO, maxIO int) (inProps, outProps []map[string]any, err error) {
	if err := RequireKind("run", io.Run, KindRun, "run:<run id>"); err != nil {
		return nil, nil, err
	}
	n := len(io.Inputs) + len(io.InputArtifacts) + len(io.OutputArtifacts) + len(io.OutputModels) + len(io.Charts)
	if n > maxIO {
		return nil, nil, apperr.Invalid("inputs", "a call records at most %d inputs and outputs together (got %d)", maxIO, n)
	}
	if err := checkProse("inputContext", io.InputContext, MaxShortTextLength); err != nil {
		return nil, nil, err
	}
	for i, id := range io.Inputs {
		kinds, err := KindsOfID(fmt.Sprintf("inputs[%d]", i), id)
		if err != nil {
			return nil, nil, err
		}
		if kinds[0] != KindDatasetVersion && kinds[0] != KindArtifact {
			return nil, nil, apperr.Invalid(fmt.Sprintf("inputs[%d]", i), "must be the ID of a dataset version or an artifact (got %q)", truncateForMessage(id))
		}
	}
	inProps = make([]map[string]any, len(io.InputArtifacts))
	for i, a := range io.InputArtifacts {
		p, err := artifactProps(a, fmt.Sprintf("inputArtifacts[%d]", i))
		if err != nil {
			return nil, nil, err
		}
		inProps[i] = p
	}
	outProps = make([]map[string]any, 0, len(io.OutputArtifacts)+len(io.Charts))
	for i, a := range io.OutputArtifacts {
		p, err := artifactProps(a, fmt.Sprintf("outputArtifacts[%d]", i))
		if err != nil {
			return nil, nil, err
		}
		outProps = append(outProps, p)
	}
	for i, c := range io.Charts {
		p, err := chartProps(io.Run, fmt.Sprintf("charts[%d]", i), c)
		if err != nil {
			return nil, nil, err
		}
		outProps = append(outProps, p)
	}
	for i, id := range io.OutputModels {
		if err := RequireKind(fmt.Sprintf("outputModels[%d]", i), id, KindModelVersion, "model:<name>/<version>"); err != nil {
			return nil, nil, err
		}
	}
	return inProps, outProps, nil
}

// LogRunIO records what a run read and wrote, in one transaction. Recording the same
// input or output again changes nothing; an artifact produced by something else is a
// CONFLICT (artifacts are pinned to one producer).
func (s *Store) LogRunIO(ctx context.Context, actor string, io RunIO) (Node, error) {
	inProps, outProps, err := checkRunIO(io, MaxRunIOPerCall)
	if err != nil {
		return Node{}, err
	}
	return write(ctx, s, actor, ActionRunIO, func(tx neo4j.ManagedTransaction, au *audit) (Node, error) {
		return logRunIO(ctx, tx, au, actor, io, inProps, outProps)
	})
}

// logRunIO records the checked io (with its artifacts' properties) in tx (LogRunIO, RecordRun).
func logRunIO(ctx context.Context, tx neo4j.ManagedTransaction, au *audit, actor string, io RunIO, inProps, outProps []map[string]any) (Node, error) {
	au.target(io.Run)
	au.target(io.Inputs...)
	for _, p := range append(append([]map[string]any{}, inProps...), outProps...) {
		key, _ := p[propKey].(string)
		au.target(key)
	}
	au.target(io.OutputModels...)
	if _, err := lockActiveRun(ctx, tx, "run", io.Run); err != nil {
		return Node{}, err
	}
	// The run is locked: its edges are added by the rule every job follows.
	var edges jobIO
	context := ""
	if io.InputContext != nil {
		context = *io.InputContext
	}
	for i, id := range io.Inputs {
		if _, err := nodeByKey(ctx, tx, fmt.Sprintf("inputs[%d]", i), id); err != nil {
			return Node{}, err
		}
		edges.read(io.Run, id, context)
	}
	for _, p := range inProps {
		if _, err := collect(ctx, tx, mergeNodeQueries[KindArtifact], map[string]any{"key": p[propKey], "props": p, "actor": actor}); err != nil {
			return Node{}, fmt.Errorf("record input artifact: %w", err)
		}
		edges.read(io.Run, p[propKey].(string), context)
	}
	for i, p := range outProps {
		field := fmt.Sprintf("outputArtifacts[%d]", i)
		if i >= len(io.OutputArtifacts) {
			field = fmt.Sprintf("charts[%d]", i-len(io.OutputArtifacts))
		}
		if err := producedOnce(ctx, tx, actor, io.Run, field, p); err != nil {
			return Node{}, err
		}
		edges.wrote(io.Run, p[propKey].(string))
	}
	for i, id := range io.OutputModels {
		field := fmt.Sprintf("outputModels[%d]", i)
		if _, err := nodeByKey(ctx, tx, field, id); err != nil {
			return Node{}, err
		}
		// A model version has one producing run, like an artifact.
		recs, err := collect(ctx, tx, cypherProducerOf, map[string]any{"key": id})
		if err != nil {
			return Node{}, fmt.Errorf("producer of %q: %w", id, err)
		}
		for _, rec := range recs {
			if p, _ := rec.Get("producer"); p != io.Run {
				return Node{}, apperr.Conflicting(field, "model version %q was produced by %v; a model version has one producer", id, p)
			}
		}
		edges.wrote(io.Run, id)
	}
	if err := linkJobIO(ctx, tx, actor, edges); err != nil {
		return Node{}, err
	}
	return nodeByKey(ctx, tx, "run", io.Run)
}

// producedOnce records an artifact the run produced: a new one, or one this run already
// produced with the same content; anything else is a CONFLICT.
func producedOnce(ctx context.Context, tx neo4j.ManagedTransaction, actor, run, field string, props map[string]any) error {
	recs, err := collect(ctx, tx, mergeNodeQueries[KindArtifact], map[string]any{"key": props[propKey], "props": props, "actor": actor})
	if err != nil {
		return fmt.Errorf("record artifact %q: %w", props[propKey], err)
	}
	if c, _ := recs[0].Get("created"); c == true {
		return nil
	}
	uriField, names := field+".uri", map[string]string{}
	if strings.HasPrefix(field, "charts[") {
		// A chart's URI comes from its name; its type is the chartType property.
		uriField, names = field+".name", map[string]string{propChartType: "type"}
	}
	a, err := nodeAt(recs[0], "n")
	if err != nil {
		return err
	}
	recs, err = collect(ctx, tx, cypherProducerOf, map[string]any{"key": a.Key})
	if err != nil {
		return fmt.Errorf("producer of %q: %w", a.Key, err)
	}
	if len(recs) != 1 {
		return apperr.Conflicting(uriField, "artifact %q was already recorded (by %s at %s) and not as this run's output; "+
			"write the run's output to a new URI", truncateForMessage(a.Key), a.RecordedBy, a.RecordedAt.Format(time.RFC3339))
	}
	if p, _ := recs[0].Get("producer"); p != run {
		return apperr.Conflicting(uriField, "artifact %q was produced by %v; an artifact has one producer", truncateForMessage(a.Key), p)
	}
	var checks []fieldCheck
	for _, prop := range []string{propDigest, propMediaType, propChartType, propBody} {
		if v, ok := props[prop]; ok {
			name := prop
			if n, ok := names[prop]; ok {
				name = n
			}
			checks = append(checks, fieldCheck{field + "." + name, prop, v})
		}
	}
	return firstConflict(a, "artifact", checks)
}

func chartProps(run, field string, c Chart) (map[string]any, error) {
	if err := checkText(field+".name", c.Name, MaxShortTextLength); err != nil {
		return nil, err
	}
	switch c.Type {
	case ChartConfusionMatrix, ChartROC, ChartPrecisionRecall:
	default:
		return nil, apperr.Invalid(field+".type", "must be CONFUSION_MATRIX, ROC or PRECISION_RECALL (got %q)", truncateForMessage(string(c.Type)))
	}
	if c.Body == nil {
		return nil, apperr.Invalid(field+".body", "must be a JSON value")
	}
	b, err := json.Marshal(c.Body)
	if err != nil {
		return nil, apperr.Invalid(field+".body", "must be JSON: %v", err)
	}
	if len(b) > MaxChartBytes {
		return nil, apperr.Invalid(field+".body", "must be at most %d bytes of JSON (got %d)", MaxChartBytes, len(b))
	}
	mt := chartMediaType
	p, err := artifactProps(ArtifactInput{URI: ChartURI(run, c.Name), MediaType: &mt}, field)
	if err != nil {
		return nil, err
	}
	p[propName], p[propChartType], p[propBody] = c.Name, string(c.Type), string(b)
	return p, nil
}

// Body returns the JSON body of a chart artifact, decoded, or nil.
func (n Node) Body() any {
	s, ok := n.Props[propBody].(string)
	if !ok {
		return nil
	}
	var v any
	if json.Unmarshal([]byte(s), &v) != nil {
		return nil
	}
	return v
}
