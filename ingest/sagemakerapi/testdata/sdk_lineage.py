"""The stock sagemaker SDK's lineage classes (2.x: sagemaker.lineage; 3.x:
sagemaker.core.lineage), pointed at provgraph like sdk_run.py: from the context of an
endpoint the SageMaker events recorded, LineageQuery to its datasets, the EndpointContext's
dataset_artifacts and training_job_arns, each dataset loaded as its lineage object, the
artifacts at an S3 URI, the endpoint's deployment as an action, and the model package's
approval as a ModelPackageApprovalAction with its datasets and endpoints. Prints one JSON line of what it saw, for the Go test to check against the graph."""
import json
import os

import boto3

try:  # sagemaker 3.x (sagemaker-core)
    from sagemaker.core.helper.session_helper import Session
    from sagemaker.core.lineage.action import Action, ModelPackageApprovalAction
    from sagemaker.core.lineage.artifact import Artifact
    from sagemaker.core.lineage.context import Context, EndpointContext
    from sagemaker.core.lineage.query import (LineageEntityEnum, LineageFilter, LineageQuery,
                                              LineageQueryDirectionEnum, LineageSourceEnum)

    GENERATION = 3
except ImportError:  # sagemaker 2.x
    from sagemaker.lineage.action import Action, ModelPackageApprovalAction
    from sagemaker.lineage.artifact import Artifact
    from sagemaker.lineage.context import Context, EndpointContext
    from sagemaker.lineage.query import (LineageEntityEnum, LineageFilter, LineageQuery,
                                         LineageQueryDirectionEnum, LineageSourceEnum)
    from sagemaker.session import Session

    GENERATION = 2

tk = os.environ["PROVGRAPH_TEST_TOKEN"]
boto_session = boto3.Session()
session = Session(boto_session=boto_session, sagemaker_client=boto_session.client("sagemaker"))

endpoint_arn = f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/fraud-prod-{tk}"
context = next(iter(Context.list(source_uri=endpoint_arn, sagemaker_session=session)))

# Everything upstream of the endpoint, as the SDK asks for it (one page, no NextToken).
everything = LineageQuery(session).query(start_arns=[context.context_arn],
                                         direction=LineageQueryDirectionEnum.ASCENDANTS,
                                         include_edges=True, max_depth=10)

# Its datasets, by a filter, each loaded as the SDK's DatasetArtifact.
datasets = LineageQuery(session).query(
    start_arns=[context.context_arn], direction=LineageQueryDirectionEnum.ASCENDANTS,
    query_filter=LineageFilter(entities=[LineageEntityEnum.ARTIFACT], sources=[LineageSourceEnum.DATASET]),
    include_edges=False)
loaded = [v.to_lineage_object() for v in datasets.vertices]

endpoint = EndpointContext.load(context_name=context.context_name, sagemaker_session=session)
from_endpoint = endpoint.dataset_artifacts()

# The training jobs upstream, by their trial components' sources.
training_jobs = endpoint.training_job_arns()

train = f"s3://{tk}-lake/features/fraud/train"
at_uri = list(Artifact.list(source_uri=train, sagemaker_session=session))

# The endpoint's deployment and the model package's approval, as actions.
deployments = list(Action.list(source_uri=endpoint_arn, sagemaker_session=session))
package_arn = f"arn:aws:sagemaker:us-east-1:123456789012:model-package/fraud-models-{tk}/1"
approvals = list(Action.list(source_uri=package_arn, action_type="Approval", sagemaker_session=session))
approval = ModelPackageApprovalAction.load(action_name=approvals[-1].action_name, sagemaker_session=session)

print(json.dumps({
    "generation": GENERATION,
    "context": context.context_arn,
    "vertices": [v.arn for v in everything.vertices],
    "edges": len(everything.edges),
    "datasets": [v.arn for v in datasets.vertices],
    "loaded": [{"arn": a.artifact_arn, "type": a.artifact_type, "uri": a.source.source_uri} for a in loaded],
    "fromEndpoint": sorted(a.artifact_arn for a in from_endpoint),
    "atUri": [a.artifact_arn for a in at_uri],
    "trainingJobs": training_jobs,
    "deployments": [{"type": a.action_type, "status": a.status, "uri": a.source.source_uri} for a in deployments],
    "approval": {"arn": approval.action_arn, "status": approval.properties.get("ModelApprovalStatus"),
                 "uri": approval.source.source_uri},
    "approvalDatasets": sorted(a.artifact_arn for a in approval.datasets()),
    "approvalEndpoints": [c.context_arn for c in approval.endpoints()],
}))
