"""The stock sagemaker SDK (2.x: sagemaker.experiments; 3.x: sagemaker.core.experiments)
and boto3, pointed at provgraph with AWS_ENDPOINT_URL_SAGEMAKER and
AWS_ENDPOINT_URL_SAGEMAKER_METRICS and signing with a provgraph access key
(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY): a Run with parameters, a metric over 1,000
steps and artifacts; load_run re-entering it; ExperimentAnalytics' search; boto3's own
calls and errors. Prints one JSON line of what it saw, for the Go test to check against
the graph."""
import json
import os
import sys

import boto3
from botocore.exceptions import ClientError

try:  # sagemaker 3.x (sagemaker-core)
    from sagemaker.core.analytics import ExperimentAnalytics
    from sagemaker.core.experiments.run import Run, load_run
    from sagemaker.core.helper.session_helper import Session

    GENERATION = 3
except ImportError:  # sagemaker 2.x
    from sagemaker.analytics import ExperimentAnalytics
    from sagemaker.experiments.run import Run, load_run
    from sagemaker.session import Session

    GENERATION = 2

tk = os.environ["PROVGRAPH_TEST_TOKEN"]
experiment = f"sdk{GENERATION}-{tk}"
boto_session = boto3.Session()
sm = boto_session.client("sagemaker")
session = Session(boto_session=boto_session, sagemaker_client=sm,
                  sagemaker_metrics_client=boto_session.client("sagemaker-metrics"))

with Run(experiment_name=experiment, run_name="run-1", sagemaker_session=session) as run:
    run.log_parameters({"lr": 0.01, "optimizer": "adam", "epochs": 10})
    run.log_parameter("batch_size", 32)
    for step in range(1000):
        run.log_metric(name="loss", value=1.0 / (step + 1), step=step)
    run.log_artifact(name="train", value=f"s3://datasets-{tk}/train.csv", media_type="text/csv", is_output=False)
    run.log_artifact(name="model", value=f"s3://models-{tk}/model.tar.gz")
    tc_name = run._trial_component.trial_component_name

# load_run re-enters the run: the same trial component, more to it.
with load_run(experiment_name=experiment, run_name="run-1", sagemaker_session=session) as run:
    assert run._trial_component.trial_component_name == tc_name
    assert run._trial_component.parameters["optimizer"] == "adam", run._trial_component.parameters
    run.log_metric(name="accuracy", value=0.93, step=0)

# A second run of the experiment, to search among.
with Run(experiment_name=experiment, run_name="run-2", sagemaker_session=session) as run:
    run.log_parameters({"lr": 0.1, "optimizer": "sgd"})
    run.log_metric(name="loss", value=0.5, step=0)

# ExperimentAnalytics: Search over the experiment's trial components, as a table.
frame = ExperimentAnalytics(experiment_name=experiment, sagemaker_session=session,
                            sort_by="CreationTime", sort_order="Ascending").dataframe()
rows = frame.to_dict(orient="records")
def plain(v):  # pandas fills a column a row lacks with NaN
    return None if isinstance(v, float) and v != v else v


table = [{k: plain(rows[i].get(k)) for k in ("TrialComponentName", "DisplayName", "lr", "optimizer", "loss - Count",
                                       "loss - Min", "loss - Max", "loss - Last", "train - Value", "model - Value")}
         for i in range(len(rows))]

# boto3's own calls: a Describe, a filtered Search with paging, and the errors AWS gives.
described = sm.describe_trial_component(TrialComponentName=tc_name)
found = []
kwargs = {"Resource": "ExperimentTrialComponent", "MaxResults": 1,
          "SearchExpression": {"Filters": [{"Name": "Parents.ExperimentName", "Operator": "Equals", "Value": experiment},
                                           {"Name": "Parameters.lr", "Operator": "LessThan", "Value": "0.05"}]}}
while True:
    page = sm.search(**kwargs)
    found += [r["TrialComponent"]["TrialComponentName"] for r in page["Results"]]
    if "NextToken" not in page:
        break
    kwargs["NextToken"] = page["NextToken"]
errors = {}
for call, args in [("create_experiment", {"ExperimentName": experiment}),
                   ("delete_experiment", {"ExperimentName": experiment}),
                   ("describe_experiment", {"ExperimentName": "no-such-" + tk}),
                   ("create_experiment", {"ExperimentName": "not a valid name"})]:
    try:
        getattr(sm, call)(**args)
        errors[call] = None
    except ClientError as e:
        errors[call + ":" + args["ExperimentName"][:8]] = {"code": e.response["Error"]["Code"], "message": e.response["Error"]["Message"],
                                                           "requestId": e.response["ResponseMetadata"].get("RequestId")}

print(json.dumps({
    "generation": GENERATION, "experiment": experiment, "trialComponent": tc_name, "table": table,
    "described": {"DisplayName": described["DisplayName"], "Status": described["Status"]["PrimaryStatus"],
                  "Parameters": described["Parameters"], "Metrics": {m["MetricName"]: m["Count"] for m in described["Metrics"]},
                  "InputArtifacts": described["InputArtifacts"], "OutputArtifacts": described["OutputArtifacts"]},
    "found": found, "errors": errors,
}, default=str))
