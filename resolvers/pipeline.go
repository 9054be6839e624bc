package resolvers

import (
	"github.com/provgraph/provgraph/apperr"
	"github.com/provgraph/provgraph/graph/model"
	"github.com/provgraph/provgraph/store"
)

// Mapping of the write inputs to the store's, shared by the single mutations and
// recordPipeline, and of recordPipeline's result.

func toStoreDatasetVersion(in *model.RegisterDatasetVersionInput) store.DatasetVersionInput {
	return store.DatasetVersionInput{
		URI: in.URI, Namespace: in.Namespace, Name: in.Name,
		Digest: in.Digest, VersionID: in.VersionID, Description: in.Description,
	}
}

func toStoreTrainingJob(input *model.RecordTrainingJobInput) store.TrainingJobInput {
	in := store.TrainingJobInput{
		Namespace: input.Namespace, Name: input.Name, Inputs: input.Inputs,
		Status:    store.JobStatus(deref(input.Status, model.JobStatusCompleted)),
		StartedAt: input.StartedAt, EndedAt: input.EndedAt,
		InstanceType: input.InstanceType, CodeVersion: input.CodeVersion,
	}
	if a := input.ModelArtifact; a != nil {
		in.ModelArtifact = toStoreArtifact(a)
	}
	for _, p := range input.HyperParameters {
		in.HyperParameters = append(in.HyperParameters, store.Param{Key: p.Key, Value: p.Value})
	}
	return in
}

func toStoreProcessingJob(input *model.RecordProcessingJobInput) store.ProcessingJobInput {
	in := store.ProcessingJobInput{
		Namespace: input.Namespace, Name: input.Name, Inputs: input.Inputs, Outputs: input.Outputs,
		Status:    store.JobStatus(deref(input.Status, model.JobStatusCompleted)),
		StartedAt: input.StartedAt, EndedAt: input.EndedAt,
		InstanceType: input.InstanceType, CodeVersion: input.CodeVersion,
	}
	for _, p := range input.Parameters {
		in.Parameters = append(in.Parameters, store.Param{Key: p.Key, Value: p.Value})
	}
	return in
}

func toStoreModelVersion(input *model.RegisterModelVersionInput) store.ModelVersionInput {
	return store.ModelVersionInput{
		Model: input.Model, Source: input.Source, ProducedBy: input.ProducedBy, Description: input.Description,
		Framework: input.Framework, Signature: input.Signature, Metrics: toStoreMetrics(input.Metrics), Tags: toStoreTags(input.Tags),
	}
}

func toStorePipeline(input model.RecordPipelineInput) store.PipelineInput {
	var in store.PipelineInput
	for _, v := range input.DatasetVersions {
		in.DatasetVersions = append(in.DatasetVersions, toStoreDatasetVersion(v))
	}
	for _, j := range input.ProcessingJobs {
		in.ProcessingJobs = append(in.ProcessingJobs, toStoreProcessingJob(j))
	}
	for _, j := range input.TrainingJobs {
		in.TrainingJobs = append(in.TrainingJobs, toStoreTrainingJob(j))
	}
	for _, v := range input.ModelVersions {
		in.ModelVersions = append(in.ModelVersions, toStoreModelVersion(v))
	}
	for _, d := range input.Deployments {
		in.Deployments = append(in.Deployments, store.PipelineDeployment{
			DeploymentInput: store.DeploymentInput{
				Endpoint: d.Endpoint, ModelVersion: deref(d.ModelVersion, ""),
				Variant: deref(d.Variant, store.DefaultVariant), TrafficShare: deref(d.TrafficShare, 1.0),
			},
			ModelVersionIndex: d.ModelVersionIndex,
		})
	}
	return in
}

func toDeployPayload(dep store.Deployment, replaced *store.Deployment, created bool) *model.DeployModelVersionPayload {
	out := &model.DeployModelVersionPayload{Deployment: toDeployment(dep), Created: created}
	if replaced != nil {
		out.Replaced = toDeployment(*replaced)
	}
	return out
}

func toPipelinePayload(rec store.PipelineRecord) *model.RecordPipelinePayload {
	out := &model.RecordPipelinePayload{
		DatasetVersions: make([]*model.RegisterDatasetVersionPayload, 0, len(rec.DatasetVersions)),
		ProcessingJobs:  make([]*model.RecordProcessingJobPayload, 0, len(rec.ProcessingJobs)),
		TrainingJobs:    make([]*model.RecordTrainingJobPayload, 0, len(rec.TrainingJobs)),
		ModelVersions:   make([]*model.PipelineModelVersion, 0, len(rec.ModelVersions)),
		Deployments:     make([]*model.DeployModelVersionPayload, 0, len(rec.Deployments)),
	}
	for _, v := range rec.DatasetVersions {
		out.DatasetVersions = append(out.DatasetVersions, &model.RegisterDatasetVersionPayload{DatasetVersion: toDatasetVersion(v.Node), Created: v.Created})
	}
	for _, j := range rec.ProcessingJobs {
		out.ProcessingJobs = append(out.ProcessingJobs, &model.RecordProcessingJobPayload{ProcessingJob: toProcessingJob(j.Node), Created: j.Created})
	}
	for _, j := range rec.TrainingJobs {
		out.TrainingJobs = append(out.TrainingJobs, &model.RecordTrainingJobPayload{TrainingJob: toTrainingJob(j.Job), ModelArtifact: toArtifact(j.Artifact), Created: j.Created})
	}
	for _, v := range rec.ModelVersions {
		out.ModelVersions = append(out.ModelVersions, &model.PipelineModelVersion{ModelVersion: toModelVersion(v.Node), Created: v.Created})
	}
	for _, d := range rec.Deployments {
		out.Deployments = append(out.Deployments, toDeployPayload(d.Deployment, d.Replaced, d.Created))
	}
	return out
}

// pipelineError names the input in err's field: "input.trainingJobs[3].inputs[0]", or
// "input" for a rule about the call as a whole.
func pipelineError(err error) error {
	return apperr.WithField(apperr.WithFieldPrefix(err, "input"), "", "input")
}
