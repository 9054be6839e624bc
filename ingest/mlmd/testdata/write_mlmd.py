"""Writes a TFX-shaped and a Kubeflow-Pipelines-v2-shaped pipeline into an ML Metadata
database with ml-metadata itself, as the tests of ingest/mlmd read it.

usage: write_mlmd.py sqlite PATH
       write_mlmd.py mysql HOST PORT USER DATABASE

Prints, as JSON, each artifact's, execution's and context's create_time_since_epoch and
each event's time as ml-metadata reports them through its own API ("artifact 3": ms,
"event <artifact id> <execution id> <type>": ms, ...), so the Go test can check the
times it read with SQL against them.
"""
import json
import sys

from google.protobuf import struct_pb2
from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2 as pb

INT, DOUBLE, STRING = pb.INT, pb.DOUBLE, pb.STRING


def connect(argv):
    config = pb.ConnectionConfig()
    if argv[0] == "sqlite":
        config.sqlite.filename_uri = argv[1]
        config.sqlite.connection_mode = pb.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
    elif argv[0] == "mysql":
        config.mysql.host = argv[1]
        config.mysql.port = int(argv[2])
        config.mysql.user = argv[3]
        config.mysql.database = argv[4]
    else:
        sys.exit("first argument: sqlite or mysql")
    return metadata_store.MetadataStore(config)


class Writer:
    def __init__(self, store):
        self.store = store
        self.types = {}

    def artifact_type(self, name, props=None, base=None):
        t = pb.ArtifactType(name=name)
        for k, v in (props or {}).items():
            t.properties[k] = v
        if base is not None:
            t.base_type = base
        self.types[name] = self.store.put_artifact_type(t)
        return self.types[name]

    def execution_type(self, name, props=None):
        t = pb.ExecutionType(name=name)
        for k, v in (props or {}).items():
            t.properties[k] = v
        self.types[name] = self.store.put_execution_type(t)

    def context_type(self, name):
        self.types[name] = self.store.put_context_type(pb.ContextType(name=name))

    def context(self, type_name, name, parents=(), custom=None):
        c = pb.Context(type_id=self.types[type_name], name=name)
        set_values(c.custom_properties, custom)
        [cid] = self.store.put_contexts([c])
        if parents:
            self.store.put_parent_contexts([pb.ParentContext(child_id=cid, parent_id=p.id) for p in parents])
        c.id = cid
        return c

    def artifact(self, type_name, uri, props=None, custom=None, name=None, state=pb.Artifact.LIVE):
        a = pb.Artifact(type_id=self.types[type_name], uri=uri, state=state)
        if name:
            a.name = name
        set_values(a.properties, props)
        set_values(a.custom_properties, custom)
        return a

    def execute(self, type_name, contexts, inputs, outputs, props=None, custom=None,
                state=pb.Execution.COMPLETE, name=None):
        """Records one execution with its input and output artifacts (keyed like a TFX
        component's channels; inputs are artifacts an earlier call returned, which
        put_execution would otherwise overwrite) and returns the outputs, with their ids, by key."""
        e = pb.Execution(type_id=self.types[type_name], last_known_state=state)
        if name:
            e.name = name
        set_values(e.properties, props)
        set_values(e.custom_properties, custom)
        pairs = []
        for key, arts in inputs.items():
            for i, a in enumerate(arts):
                pairs.append((a, event(pb.Event.INPUT, key, i)))
        outs = []
        for key, arts in outputs.items():
            for i, a in enumerate(arts):
                pairs.append((a, event(pb.Event.OUTPUT, key, i)))
                outs.append((key, a))
        _, art_ids, _ = self.store.put_execution(e, pairs, list(contexts), reuse_context_if_already_exist=True)
        n_in = sum(len(v) for v in inputs.values())
        result = {}
        for (key, a), aid in zip(outs, art_ids[n_in:]):
            a.id = aid
            result.setdefault(key, []).append(a)
        return result


def event(kind, key, index):
    e = pb.Event(type=kind)
    e.path.steps.add().key = key
    e.path.steps.add().index = index
    return e


def set_values(target, values):
    for k, v in (values or {}).items():
        if isinstance(v, bool):
            target[k].bool_value = v
        elif isinstance(v, int):
            target[k].int_value = v
        elif isinstance(v, float):
            target[k].double_value = v
        elif isinstance(v, str):
            target[k].string_value = v
        elif isinstance(v, dict):
            s = struct_pb2.Struct()
            s.update(v)
            target[k].struct_value.CopyFrom(s)
        else:
            raise TypeError(f"{k}: {type(v)}")


TFX = "tfx.components."


def tfx_pipeline(w):
    """Two runs of a TFX pipeline, the way TFX's launcher records them: component types
    by class path, artifacts by TFX's standard types, contexts pipeline/pipeline_run/node."""
    w.artifact_type("Examples", {"span": INT, "version": INT, "split_names": STRING}, base=pb.ArtifactType.DATASET)
    for t in ["ExampleStatistics", "Schema", "TransformGraph", "Model", "ModelEvaluation",
              "ModelBlessing", "PushedModel"]:
        w.artifact_type(t)
    for t in ["example_gen.csv_example_gen.component.CsvExampleGen",
              "statistics_gen.component.StatisticsGen", "schema_gen.component.SchemaGen",
              "transform.component.Transform", "trainer.component.Trainer",
              "evaluator.component.Evaluator", "pusher.component.Pusher"]:
        w.execution_type(TFX + t, {"input_base": STRING} if "ExampleGen" in t else None)
    for t in ["pipeline", "pipeline_run", "node"]:
        w.context_type(t)
    root = "/pipelines/taxi"
    pipeline = w.context("pipeline", "taxi")
    nodes = {n: w.context("node", "taxi." + n, parents=[pipeline])
             for n in ["CsvExampleGen", "StatisticsGen", "SchemaGen", "Transform", "Trainer", "Evaluator", "Pusher"]}
    for run_no, run in enumerate(["20260101-000000.000000", "20260102-000000.000000"], start=1):
        run_ctx = w.context("pipeline_run", run, parents=[pipeline])

        def step(node, type_suffix, inputs, outputs, **kw):
            ctxs = [pipeline, run_ctx, nodes[node]]
            arts = {k: [w.artifact(t, f"{root}/{node}/{k}/{run_no}",
                                   custom={"tfx_version": "1.17.1", "producer_component": node},
                                   props=p)
                        for t, p in v] for k, v in outputs.items()}
            return w.execute(TFX + type_suffix, ctxs, inputs, arts, **kw)

        ex = step("CsvExampleGen", "example_gen.csv_example_gen.component.CsvExampleGen", {},
                  {"examples": [("Examples", {"span": run_no, "version": 0, "split_names": '["train", "eval"]'})]},
                  props={"input_base": "/data/taxi"})["examples"]
        stats = step("StatisticsGen", "statistics_gen.component.StatisticsGen", {"examples": ex},
                     {"statistics": [("ExampleStatistics", None)]})["statistics"]
        schema = step("SchemaGen", "schema_gen.component.SchemaGen", {"statistics": stats},
                      {"schema": [("Schema", None)]})["schema"]
        graph = step("Transform", "transform.component.Transform", {"examples": ex, "schema": schema},
                     {"transform_graph": [("TransformGraph", None)]})["transform_graph"]
        model = step("Trainer", "trainer.component.Trainer",
                     {"examples": ex, "schema": schema, "transform_graph": graph},
                     {"model": [("Model", None)]},
                     custom={"train_steps": 100, "learning_rate": 0.01, "warm_start": run_no == 2,
                             "hparams": {"layers": [16, 8], "optimizer": "adam"}})["model"]
        evaluation = step("Evaluator", "evaluator.component.Evaluator", {"examples": ex, "model": model},
                          {"evaluation": [("ModelEvaluation", None)], "blessing": [("ModelBlessing", None)]})
        step("Pusher", "pusher.component.Pusher", {"model": model, "model_blessing": evaluation["blessing"]},
             {"pushed_model": [("PushedModel", None)]},
             state=pb.Execution.COMPLETE if run_no == 1 else pb.Execution.FAILED)


def kfp_pipeline(w):
    """One run of a Kubeflow Pipelines v2 pipeline, with KFP's system types."""
    for t in ["system.Dataset", "system.Model", "system.Metrics", "system.ClassificationMetrics", "system.Artifact"]:
        w.artifact_type(t)
    for t in ["system.ContainerExecution", "system.DAGExecution"]:
        w.execution_type(t)
    for t in ["system.Pipeline", "system.PipelineRun"]:
        w.context_type(t)
    pipeline = w.context("system.Pipeline", "iris")
    run = w.context("system.PipelineRun", "run-7f3c", parents=[pipeline],
                    custom={"namespace": "kubeflow", "pipeline_root": "gs://bucket/iris"})
    ctxs = [pipeline, run]
    w.execute("system.DAGExecution", ctxs, {}, {}, custom={"display_name": "iris"}, state=pb.Execution.RUNNING)
    base = "gs://bucket/iris/run-7f3c"
    data = w.execute("system.ContainerExecution", ctxs, {},
                     {"dataset": [w.artifact("system.Dataset", f"{base}/load/dataset", custom={"display_name": "dataset"})]},
                     custom={"display_name": "load", "image": "python:3.11"})["dataset"]
    out = w.execute("system.ContainerExecution", ctxs, {"dataset": data},
                    {"model": [w.artifact("system.Model", f"{base}/train/model", custom={"framework": "sklearn"})],
                     "metrics": [w.artifact("system.Metrics", f"{base}/train/metrics", custom={"accuracy": 0.93})],
                     "report": [w.artifact("system.Artifact", f"{base}/train/report")]},
                    custom={"display_name": "train"})
    w.execute("system.ContainerExecution", ctxs, {"model": out["model"], "dataset": data},
              {"cm": [w.artifact("system.ClassificationMetrics", f"{base}/eval/cm",
                                 custom={"confusionMatrix": {"annotationSpecs": [{"displayName": "setosa"}]}})]},
              custom={"display_name": "eval"}, state=pb.Execution.CACHED)


def times(store):
    out = {}
    for a in store.get_artifacts():
        out[f"artifact {a.id}"] = a.create_time_since_epoch
    for e in store.get_executions():
        out[f"execution {e.id}"] = e.create_time_since_epoch
    for c in store.get_contexts():
        out[f"context {c.id}"] = c.create_time_since_epoch
    for e in store.get_events_by_execution_ids([x.id for x in store.get_executions()]):
        out[f"event {e.artifact_id} {e.execution_id} {e.type}"] = e.milliseconds_since_epoch
    return out


def main():
    store = connect(sys.argv[1:])
    w = Writer(store)
    tfx_pipeline(w)
    kfp_pipeline(w)
    json.dump(times(store), sys.stdout, sort_keys=True)


if __name__ == "__main__":
    main()
