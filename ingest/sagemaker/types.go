package sagemaker

import (
	"time"

	"github.com/provgraph/provgraph/store"
)

// The shapes SageMaker reports, as Decode reads them from events and Describe*
// responses; Translate turns them into the store's domain commands.

// JobType is the kind of SageMaker job a report is about.
type JobType string

// The SageMaker job types. Processing and transform jobs are ProcessingJob nodes.
const (
	Training   JobType = "training"
	Processing JobType = "processing"
	Transform  JobType = "transform"
)

// Channel is an S3 location a job reads or writes, with the name SageMaker gives it
// (channel, input or output name).
type Channel struct {
	Name string
	URI  string
}

// ExperimentConfig is a job's ExperimentConfig.
type ExperimentConfig struct {
	ExperimentName            string
	TrialName                 string
	TrialComponentDisplayName string
	RunName                   string
}

// Job is one report of a SageMaker job (an event or a Describe response). Fields a
// report lacks are nil or empty.
type Job struct {
	Type JobType
	Name string
	ARN  *string
	// Status is SageMaker's: InProgress, Stopping, Completed, Failed or Stopped.
	Status          string
	FailureReason   *string
	StartedAt       *time.Time
	EndedAt         *time.Time
	InstanceType    *string
	InstanceCount   *int64
	Image           *string
	HyperParameters []store.Param
	Inputs          []Channel
	Outputs         []Channel
	// ModelArtifact is a training job's ModelArtifacts.S3ModelArtifacts.
	ModelArtifact *string
	// ModelName is the SageMaker model a transform job ran.
	ModelName         *string
	Experiment        *ExperimentConfig
	PipelineExecution *string
	PipelineStep      *string
}

// ModelPackage is one report of a model package version.
type ModelPackage struct {
	Group   string
	Version int64
	ARN     *string
	// Status is the ModelPackageStatus (Pending, InProgress, Completed, Failed, Deleting).
	Status *string
	// Approval is the ModelApprovalStatus: PendingManualApproval, Approved or Rejected.
	Approval            *string
	ApprovalDescription *string
	// ApprovedBy names who changed the approval in SageMaker (LastModifiedBy), if known.
	ApprovedBy    *string
	ModelDataURLs []string
	Description   *string
	Framework     *string
	// ModifiedAt is the package's LastModifiedTime (or the event's time).
	ModifiedAt *time.Time
}

// Model is a DescribeModel response: the containers of a SageMaker model.
type Model struct {
	Name string
	ARN  *string
	// ModelDataURLs and PackageNames come from the primary container first, then the
	// others, in order.
	ModelDataURLs []string
	PackageNames  []string
}

// Variant is a production variant of an endpoint configuration or endpoint.
type Variant struct {
	Name      string
	ModelName string
	// Weight is the variant's weight; nil when the report does not give it.
	Weight *float64
}

// EndpointConfig is a DescribeEndpointConfig response.
type EndpointConfig struct {
	Name     string
	ARN      *string
	Variants []Variant
}

// Endpoint is one report of an endpoint (an event or a DescribeEndpoint response).
type Endpoint struct {
	Name   string
	ARN    *string
	Config *string
	// Status is SageMaker's EndpointStatus, in any of its spellings (InService,
	// IN_SERVICE).
	Status *string
	// Variants carry the endpoint's current weights by variant name, when reported.
	Variants []Variant
	// ModifiedAt is the report's LastModifiedTime (or event time).
	ModifiedAt *time.Time
}
