package store

import (
	"context"
	"fmt"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"

	"github.com/provgraph/provgraph/apperr"
)

// KindProcessingJob is a job that turned dataset versions into other dataset versions
// (cleaning, joining, feature engineering): the processing chain between raw sources
// and training data.
const KindProcessingJob Kind = "ProcessingJob"

// ProcessingJobInput describes a processing job and the recorded dataset versions (or
// artifacts) it read and wrote.
type ProcessingJobInput struct {
	Namespace    string
	Name         string
	Inputs       []string
	Outputs      []string
	Status       JobStatus
	StartedAt    *time.Time
	EndedAt      *time.Time
	InstanceType *string
	CodeVersion  *string
	Parameters   []Param
}

const propParameters = "parameters"

const (
	// An output may have one producer: the job that made it.
	cypherProducersOf = `
UNWIND range(0, size($keys) - 1) AS i
MATCH (p:` + LabelNode + `)-[:` + RelProduced + `]->(:` + LabelNode + ` {key: $keys[i]})
RETURN i, p.key AS producer ORDER BY i LIMIT 1`
)

// processingJobPlan is a checked ProcessingJobInput: what recording it writes and how
// a repeat is compared with what was recorded.
type processingJobPlan struct {
	in              ProcessingJobInput
	key             string
	inputs, outputs []string // sorted
	props           map[string]any
	params          any
}

// planProcessingJob checks every field of in, each error naming its field, and works
// out what recording it writes.
func planProcessingJob(in ProcessingJobInput) (processingJobPlan, error) {
	if err := checkJobFields(in.Namespace, in.Name, &in.Status, in.StartedAt, in.EndedAt, in.InstanceType, in.CodeVersion); err != nil {
		return processingJobPlan{}, err
	}
	inputs, err := checkInputs(in.Inputs)
	if err != nil {
		return processingJobPlan{}, err
	}
	outputs, err := checkIDList("outputs", in.Outputs)
	if err != nil {
		return processingJobPlan{}, err
	}
	if len(in.Outputs) == 0 {
		return processingJobPlan{}, apperr.Invalid("outputs", "must list at least one dataset version or artifact the job wrote")
	}
	for i, o := range in.Outputs {
		for j, k := range in.Inputs {
			if o == k {
				return processingJobPlan{}, apperr.Invalid(fmt.Sprintf("outputs[%d]", i), "is also inputs[%d]; a job cannot read what it produces", j)
			}
		}
	}
	params, err := encodeParams("parameters", in.Parameters)
	if err != nil {
		return processingJobPlan{}, err
	}
	key := JobKey(in.Namespace, in.Name)
	return processingJobPlan{
		in: in, key: key, inputs: inputs, outputs: outputs, params: params,
		props: map[string]any{
			propKey: key, propKind: string(KindProcessingJob), propName: in.Name,
			propNamespace: in.Namespace, propStatus: string(in.Status),
			propStartedAt: timeValue(in.StartedAt), propEndedAt: timeValue(in.EndedAt),
			propInstanceType: optValue(in.InstanceType), propCodeVersion: optValue(in.CodeVersion),
			propParameters: params, propInputs: inputs, propOutputs: outputs,
		},
	}, nil
}

// conflict compares a job found recorded with the plan.
func (p processingJobPlan) conflict(j Node) error {
	return firstConflict(j, "job", []fieldCheck{
		{"name", propKind, string(KindProcessingJob)},
		{"namespace", propNamespace, p.in.Namespace},
		{"name", propName, p.in.Name},
		{"inputs", propInputs, p.inputs},
		{"outputs", propOutputs, p.outputs},
		{"status", propStatus, string(p.in.Status)},
		{"startedAt", propStartedAt, p.in.StartedAt},
		{"endedAt", propEndedAt, p.in.EndedAt},
		{"instanceType", propInstanceType, p.in.InstanceType},
		{"codeVersion", propCodeVersion, p.in.CodeVersion},
		{"parameters", propParameters, p.params},
	})
}

// producedElsewhere is the CONFLICT of a job output that another job produced: a
// dataset version or artifact has one producer.
func producedElsewhere(field, output, producer string) error {
	return apperr.Conflicting(field, "%q was already produced by %q; a dataset version or artifact has one producer",
		truncateForMessage(output), truncateForMessage(producer))
}

// RecordProcessingJob records a processing job with the dataset versions (or
// artifacts) it read and wrote, all of which must be recorded already. Outputs are
// pinned: one already produced by another job is a CONFLICT. A repeat with equal
// content is a no-op (created=false), other content under the same ID a CONFLICT.
func (s *Store) RecordProcessingJob(ctx context.Context, actor string, in ProcessingJobInput) (Node, bool, error) {
	p, err := planProcessingJob(in)
	if err != nil {
		return Node{}, false, err
	}
	in, key := p.in, p.key
	type result struct {
		job     Node
		created bool
	}
	res, err := write(ctx, s, actor, ActionProcessingJobRecord, func(tx neo4j.ManagedTransaction, au *audit) (result, error) {
		au.target(key)
		au.target(in.Inputs...)
		au.target(in.Outputs...)
		if err := checkInputsExist(ctx, tx, "inputs", in.Inputs); err != nil {
			return result{}, err
		}
		if err := checkInputsExist(ctx, tx, "outputs", in.Outputs); err != nil {
			return result{}, err
		}
		recs, err := collect(ctx, tx, mergeNodeQueries[KindProcessingJob], map[string]any{"key": key, "props": p.props, "actor": actor})
		if err != nil {
			return result{}, fmt.Errorf("record processing job %q: %w", key, err)
		}
		j, err := nodeAt(recs[0], "n")
		if err != nil {
			return result{}, err
		}
		if c, _ := recs[0].Get("created"); c != true {
			return result{j, false}, p.conflict(j)
		}
		recs, err = collect(ctx, tx, cypherProducersOf, map[string]any{"keys": in.Outputs})
		if err != nil {
			return result{}, fmt.Errorf("producers of outputs of %q: %w", key, err)
		}
		if len(recs) > 0 {
			i, _ := recs[0].Get("i")
			prod, _ := recs[0].Get("producer")
			return result{}, producedElsewhere(fmt.Sprintf("outputs[%d]", i.(int64)), in.Outputs[i.(int64)], prod.(string))
		}
		var io jobIO // the job was created here: the transaction holds its lock
		io.readAll(key, p.inputs)
		io.wroteAll(key, p.outputs)
		if err := linkJobIO(ctx, tx, actor, io); err != nil {
			return result{}, err
		}
		return result{j, true}, nil
	})
	return res.job, res.created, err
}
