"""A realistic MLflow client session against provgraph (run by client_test.go).

It uses only the stock mlflow client. Everything it asserts is what the client reads
back; the Go test then checks through provgraph's store and GraphQL that the runs,
their dataset, the logged model and the model versions are connected in lineage. It
prints one JSON line with the IDs.
"""

import json
import math
import os
import sys
import tempfile

import mlflow
from mlflow import MlflowClient
from mlflow.data.http_dataset_source import HTTPDatasetSource
from mlflow.data.meta_dataset import MetaDataset
from mlflow.entities import LoggedModelOutput, LoggedModelStatus

token = os.environ["PROVGRAPH_TEST_TOKEN"]
# provgraph needs credentials: the client sends MLFLOW_TRACKING_TOKEN (a writer's API
# token) as "Authorization: Bearer <token>" with every call, artifact uploads included.
assert os.environ.get("MLFLOW_TRACKING_TOKEN", "").startswith("pgt_"), "set MLFLOW_TRACKING_TOKEN to a provgraph API token"
mlflow.set_tracking_uri(os.environ["MLFLOW_TRACKING_URI"])
client = MlflowClient()

experiment = mlflow.set_experiment(f"fraud-{token}")
assert experiment.name == f"fraud-{token}", experiment

dataset = MetaDataset(
    HTTPDatasetSource(url=f"https://data.example.com/{token}/customers.csv"),
    name=f"customers-{token}",
    digest="9f2c1a7e",
)

with mlflow.start_run(run_name="sweep") as parent:
    for lr in (0.01, 0.1):
        with mlflow.start_run(run_name=f"lr-{lr}", nested=True) as child:
            mlflow.log_params({"lr": lr, "optimizer": "adam"})
            for step in range(5):
                mlflow.log_metrics({"loss": 1.0 / (step + 1) + lr, "auc": 0.8 + step * 0.02 - lr}, step=step)
            mlflow.log_metric("grad_norm", float("nan"), step=5)
            mlflow.set_tags({"team": "risk", "lr_bucket": "low" if lr < 0.05 else "high"})
            mlflow.log_input(dataset, context="training")
            mlflow.log_text(f"lr={lr}\n", "notes/params.txt")
            if lr == 0.01:
                best = child.info.run_id

# Read back what was logged.
run = client.get_run(best)
assert run.data.params == {"lr": "0.01", "optimizer": "adam"}, run.data.params
assert math.isclose(run.data.metrics["auc"], 0.8 + 4 * 0.02 - 0.01), run.data.metrics
assert math.isnan(run.data.metrics["grad_norm"]), run.data.metrics
assert run.data.tags["team"] == "risk", run.data.tags
assert run.data.tags["mlflow.parentRunId"] == parent.info.run_id, run.data.tags
assert run.info.status == "FINISHED", run.info
assert run.info.run_name == "lr-0.01", run.info
assert [d.dataset.digest for d in run.inputs.dataset_inputs] == ["9f2c1a7e"], run.inputs

history = client.get_metric_history(best, "loss")
assert [m.step for m in history] == [0, 1, 2, 3, 4], history
assert math.isclose(history[0].value, 1.01), history

with tempfile.TemporaryDirectory() as d:
    path = mlflow.artifacts.download_artifacts(run_id=best, artifact_path="notes/params.txt", dst_path=d)
    assert open(path).read() == "lr=0.01\n"
names = [f.path for f in client.list_artifacts(best, "notes")]
assert names == ["notes/params.txt"], names

found = mlflow.search_runs(
    experiment_ids=[experiment.experiment_id],
    filter_string="params.lr = '0.01' and metrics.auc > 0.8",
    order_by=["metrics.auc DESC"],
    output_format="list",
)
assert [r.info.run_id for r in found] == [best], [r.info.run_id for r in found]
either = mlflow.search_runs(
    experiment_ids=[experiment.experiment_id],
    filter_string="tags.lr_bucket = 'high' OR params.lr = '0.01'",
    output_format="list",
)
assert len(either) == 2, either

model = f"fraud-model-{token}"
client.create_registered_model(model, description="card fraud")
version = client.create_model_version(model, f"runs:/{best}/model", run_id=best)
assert version.version == "1", version
client.set_registered_model_alias(model, "champion", "1")
champion = client.get_model_version_by_alias(model, "champion")
assert champion.version == "1" and champion.run_id == best, champion
assert client.get_registered_model(model).aliases == {"champion": "1"}
client.update_registered_model(model, description="card fraud, v2")
client.set_registered_model_tag(model, "owner", "risk")
client.set_model_version_tag(model, "1", "validated", "yes")
client.update_model_version(model, "1", description="first")
registered = client.get_registered_model(model)
assert registered.description == "card fraud, v2" and registered.tags == {"owner": "risk"}, registered
v1 = client.get_model_version(model, "1")
assert v1.tags == {"validated": "yes"} and v1.description == "first", v1
assert [v.version for v in client.get_latest_versions(model)] == ["1"]
assert client.get_latest_versions(model, stages=["Production"]) == []
uri = client.get_model_version_download_uri(model, "1")
assert uri.endswith(f"/{best}/artifacts/model"), uri
client.delete_registered_model_alias(model, "champion")
assert client.get_registered_model(model).aliases == {}
client.set_registered_model_alias(model, "champion", "1")

# The searches MLflow users run over experiments, models and versions.
found = client.search_registered_models(filter_string=f"name LIKE 'fraud-model-{token[:6]}%' AND tags.owner = 'risk'")
assert [m.name for m in found] == [model], found
assert 1 <= len(client.search_registered_models(max_results=5)) <= 5  # no filter: all, a page at a time
assert client.search_registered_models(filter_string=f"name = '{model}' AND tags.owner = 'nobody'") == []
versions = client.search_model_versions(f"run_id = '{best}'")
assert [(v.name, v.version) for v in versions] == [(model, "1")], versions
assert [v.version for v in client.search_model_versions(f"name = '{model}' AND version_number >= 1")] == ["1"]
client.set_experiment_tag(experiment.experiment_id, "stage", "qa")
exps = client.search_experiments(filter_string=f"name ILIKE 'FRAUD-{token}' AND tags.stage = 'qa'")
assert [e.experiment_id for e in exps] == [experiment.experiment_id], exps

# MLflow 3's log_model: a logged model (models:/m-...) the run produced, registered
# from models:/ both ways, found by search, and downloaded back through the artifact
# proxy. These are the calls Model.log (what every flavor's log_model runs) makes, in
# its order; Model.log itself (and Model.load) needs pandas, which mlflow-skinny does
# not install.
with mlflow.start_run(run_name="logged-model") as lm_run:
    mlflow.log_param("alpha", "0.5")
    mlflow.log_input(dataset, context="training")
    created = mlflow.initialize_logged_model(
        name="model", source_run_id=lm_run.info.run_id, model_type="text", params={"alpha": "0.5"}
    )
    client.log_outputs(lm_run.info.run_id, [LoggedModelOutput(created.model_id, step=0)])
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "MLmodel"), "w") as f:
            f.write(f"model_id: {created.model_id}\nflavors:\n  text:\n    data: weights.txt\n")
        with open(os.path.join(d, "weights.txt"), "w") as f:
            f.write("w=1\n")
        client.log_model_artifacts(created.model_id, d)
    mlflow.finalize_logged_model(created.model_id, LoggedModelStatus.READY)
model_id, model_uri = created.model_id, f"models:/{created.model_id}"
assert model_id.startswith("m-"), model_id
logged = mlflow.get_logged_model(model_id)
assert logged.status == "READY", logged.status
assert logged.name == "model" and logged.source_run_id == lm_run.info.run_id, logged
assert logged.params.get("alpha") == "0.5", logged.params
assert logged.artifact_location.endswith(f"/models/{model_id}/artifacts"), logged.artifact_location
found = mlflow.search_logged_models(
    experiment_ids=[experiment.experiment_id], filter_string="name = 'model'", output_format="list"
)
assert [m.model_id for m in found] == [model_id], found

logged_name = f"logged-{token}"
mv = mlflow.register_model(f"models:/{model_id}", logged_name)
assert mv.version == "1" and mv.run_id == lm_run.info.run_id, mv
mv2 = client.create_model_version(logged_name, source=model_uri, run_id=lm_run.info.run_id, model_id=model_id)
assert mv2.version == "2", mv2
# register_model notes the version on the logged model, as a tag.
versions_tag = mlflow.get_logged_model(model_id).tags["mlflow.modelVersions"]
assert json.loads(versions_tag) == [{"name": logged_name, "version": "1"}], versions_tag
with tempfile.TemporaryDirectory() as d:
    path = mlflow.artifacts.download_artifacts(model_uri, dst_path=d)
    assert open(os.path.join(path, "weights.txt")).read() == "w=1\n"
    assert open(os.path.join(path, "MLmodel")).read().startswith(f"model_id: {model_id}\n")
with tempfile.TemporaryDirectory() as d:
    path = mlflow.artifacts.download_artifacts(f"models:/{logged_name}/1", dst_path=d)
    assert open(os.path.join(path, "weights.txt")).read() == "w=1\n"

try:
    mlflow.get_logged_model("m-" + "0" * 32)
    sys.exit("get_logged_model of an unknown model did not fail")
except mlflow.exceptions.MlflowException as e:
    assert e.error_code == "RESOURCE_DOES_NOT_EXIST", e.error_code

try:
    client.get_run("0" * 32)
    sys.exit("get_run of an unknown run did not fail")
except mlflow.exceptions.MlflowException as e:
    assert e.error_code == "RESOURCE_DOES_NOT_EXIST", e.error_code

print(json.dumps({
    "run": best, "parent": parent.info.run_id, "experiment": experiment.experiment_id, "model": model,
    "loggedModel": model_id, "loggedRun": lm_run.info.run_id, "loggedName": logged_name,
}))
