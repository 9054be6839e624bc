"""The sagemaker SDK's file-backed logging (2.x), as docs/ingest-sagemaker.md's "Files"
example writes it (the Go test hands over the example's file as PROVGRAPH_EXAMPLE):
log_confusion_matrix and log_file upload to S3 and then record lineage artifacts.
provgraph records the artifacts and their associations; the files go to an S3-compatible
store, here moto's server, which this script starts on a free port and puts in the
example's place. Prints one JSON line of what it saw, for the Go test to check against
the graph."""
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

tk = os.environ["PROVGRAPH_TEST_TOKEN"]
bucket = f"artifacts-{tk}".lower()[:63]
with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
    f.write("the model card\n")
    card = f.name
with open(os.environ["PROVGRAPH_EXAMPLE"]) as f:
    example = f.read()
for old, new in [("http://127.0.0.1:9000", f"http://127.0.0.1:{port}"), ('"ml-artifacts"', repr(bucket)),
                 ('"model-card.txt"', repr(card)), ('experiment_name="fraud"', f'experiment_name="sdks3-{tk}"')]:
    assert old in example, old
    example = example.replace(old, new)

import boto3  # noqa: E402

boto3.Session(region_name="us-east-1").client("s3", endpoint_url=f"http://127.0.0.1:{port}").create_bucket(Bucket=bucket)
scope = {}
exec(compile(example, "example.py", "exec"), scope)
tc = scope["run"]._trial_component.trial_component_name
boto_session = scope["boto_session"]
sm = boto_session.client("sagemaker")

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
