"""Emits a small pipeline's OpenLineage events with the real openlineage-python client.

Job A reads raw1 and raw2 and writes clean; job B reads clean and writes features, with a
child run (job B.validate, also reading clean) nested in B's run by a parent facet; job
C reads features and writes model_input. Each run sends START and COMPLETE, in the order
a scheduler would.

Environment:
  OPENLINEAGE_TEST_URL   the server's base URL (events go to <url>/api/v1/lineage)
  OPENLINEAGE_API_KEY    the provgraph API token (a writer's), sent as the client's api_key
  OPENLINEAGE_TEST_TOKEN a token to put in every namespace, so test runs stay apart

Prints the run ids as one JSON object: {"A": ..., "B": ..., "B.validate": ..., "C": ...}.
"""

import json
import os
import sys
from datetime import datetime, timedelta, timezone

from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    datasource_dataset,
    dataset_version_dataset,
    job_type_job,
    parent_run,
    schema_dataset,
    sql_job,
)
from openlineage.client.transport.http import ApiKeyTokenProvider, HttpCompression, HttpConfig, HttpTransport
from openlineage.client.uuid import generate_new_uuid

PRODUCER = "https://github.com/provgraph/provgraph/ingest/openlineage/testdata/pipeline.py"


def main() -> None:
    url = os.environ["OPENLINEAGE_TEST_URL"]
    token = os.environ["OPENLINEAGE_TEST_TOKEN"]
    data_ns = f"s3://lake-{token}"
    job_ns = f"pipeline-{token}"

    client = OpenLineageClient(
        transport=HttpTransport(
            HttpConfig(
                url=url,
                endpoint="api/v1/lineage",
                timeout=30,
                # The client sends its API key as "Authorization: Bearer <key>".
                auth=ApiKeyTokenProvider({"apiKey": os.environ["OPENLINEAGE_API_KEY"]}),
                compression=HttpCompression.GZIP,
            )
        )
    )

    def dataset(cls, name, **extra):
        facets = {
            "schema": schema_dataset.SchemaDatasetFacet(
                fields=[
                    schema_dataset.SchemaDatasetFacetFields(name="id", type="BIGINT"),
                    schema_dataset.SchemaDatasetFacetFields(name="value", type="DOUBLE"),
                ]
            ),
            "dataSource": datasource_dataset.DatasourceDatasetFacet(name=data_ns, uri=data_ns),
        }
        facets.update(extra)
        return cls(namespace=data_ns, name=name, facets=facets)

    clock = [datetime(2026, 3, 14, 9, 0, tzinfo=timezone.utc)]

    def emit(state, run, job, inputs, outputs):
        clock[0] += timedelta(minutes=1)
        client.emit(
            RunEvent(
                eventType=state,
                eventTime=clock[0].isoformat(),
                run=run,
                job=job,
                inputs=inputs,
                outputs=outputs,
                producer=PRODUCER,
            )
        )

    def job(name):
        return Job(
            namespace=job_ns,
            name=name,
            facets={
                "jobType": job_type_job.JobTypeJobFacet(processingType="BATCH", integration="PYTHON", jobType="TASK"),
                "sql": sql_job.SQLJobFacet(query=f"-- {name}"),
            },
        )

    ids = {name: str(generate_new_uuid()) for name in ("A", "B", "B.validate", "C")}

    # Job A: raw1 (a pinned version) and raw2 (unversioned) -> clean.
    run_a = Run(runId=ids["A"])
    a_in = [
        dataset(InputDataset, "raw1", version=dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion="2026-03-01")),
        dataset(InputDataset, "raw2"),
    ]
    a_out = [dataset(OutputDataset, "clean")]
    emit(RunState.START, run_a, job("A"), a_in, a_out)
    emit(RunState.COMPLETE, run_a, job("A"), a_in, a_out)

    # Job B: clean -> features, with a nested validation run.
    run_b = Run(runId=ids["B"])
    b_in, b_out = [dataset(InputDataset, "clean")], [dataset(OutputDataset, "features")]
    emit(RunState.START, run_b, job("B"), b_in, b_out)
    child = Run(
        runId=ids["B.validate"],
        facets={
            "parent": parent_run.ParentRunFacet(
                run=parent_run.Run(runId=ids["B"]),
                job=parent_run.Job(namespace=job_ns, name="B"),
            )
        },
    )
    emit(RunState.START, child, job("B.validate"), [dataset(InputDataset, "clean")], [])
    emit(RunState.COMPLETE, child, job("B.validate"), [dataset(InputDataset, "clean")], [])
    emit(RunState.COMPLETE, run_b, job("B"), b_in, b_out)

    # Job C: features -> model_input.
    run_c = Run(runId=ids["C"])
    c_in, c_out = [dataset(InputDataset, "features")], [dataset(OutputDataset, "model_input")]
    emit(RunState.START, run_c, job("C"), c_in, c_out)
    emit(RunState.COMPLETE, run_c, job("C"), c_in, c_out)

    client.close()
    json.dump(ids, sys.stdout)


if __name__ == "__main__":
    main()
