"""The sagemaker SDK's file-backed logging (2.x): log_confusion_matrix and log_file upload
to S3 and then record lineage artifacts. provgraph records the artifacts and their
associations; the files go to an S3-compatible store, here moto's server, which the
script starts on a free port (AWS_ENDPOINT_URL_S3 and AWS_ENDPOINT_URL_STS point the SDK
at it). Prints one JSON line of what it saw, for the Go test to check against the graph."""
import json
import os
import socket
import tempfile

from moto.server import ThreadedMotoServer

with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
store = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
store.start()
os.environ["AWS_ENDPOINT_URL_S3"] = f"http://127.0.0.1:{port}"
os.environ["AWS_ENDPOINT_URL_STS"] = f"http://127.0.0.1:{port}"

import boto3  # noqa: E402  (after the endpoints are set)
from sagemaker.experiments.run import Run  # noqa: E402
from sagemaker.session import Session  # noqa: E402

tk = os.environ["PROVGRAPH_TEST_TOKEN"]
bucket = f"artifacts-{tk}".lower()[:63]
boto_session = boto3.Session()
boto_session.client("s3").create_bucket(Bucket=bucket)
sm = boto_session.client("sagemaker")
session = Session(boto_session=boto_session, sagemaker_client=sm,
                  sagemaker_metrics_client=boto_session.client("sagemaker-metrics"), default_bucket=bucket)

with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
    f.write("the model card\n")
    card = f.name

with Run(experiment_name=f"sdks3-{tk}", run_name="files", sagemaker_session=session,
         artifact_bucket=bucket, artifact_prefix="runs") as run:
    run.log_confusion_matrix(y_true=[0, 1, 1, 0, 1], y_pred=[0, 1, 0, 0, 1], title="confusion")
    run.log_file(card, name="card", is_output=True)
    tc = run._trial_component.trial_component_name

listed = [o["Key"] for o in boto_session.client("s3").list_objects_v2(Bucket=bucket).get("Contents", [])]
associations = sm.list_associations(DestinationArn=sm.describe_trial_component(TrialComponentName=tc)["TrialComponentArn"])
artifacts = []
for a in associations["AssociationSummaries"]:
    d = sm.describe_artifact(ArtifactArn=a["SourceArn"]) if ":artifact/" in a["SourceArn"] else None
    if d:
        artifacts.append({"uri": d["Source"]["SourceUri"], "type": d.get("ArtifactType"), "association": a.get("AssociationType")})
out_assoc = sm.list_associations(SourceArn=sm.describe_trial_component(TrialComponentName=tc)["TrialComponentArn"])
for a in out_assoc["AssociationSummaries"]:
    if ":artifact/" in a["DestinationArn"]:
        d = sm.describe_artifact(ArtifactArn=a["DestinationArn"])
        artifacts.append({"uri": d["Source"]["SourceUri"], "type": d.get("ArtifactType"), "association": a.get("AssociationType")})
store.stop()
print(json.dumps({"trialComponent": tc, "bucket": bucket, "objects": listed, "artifacts": artifacts}, default=str))
