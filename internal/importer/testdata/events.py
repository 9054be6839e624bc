"""Writes OpenLineage events as NDJSON with the real openlineage-python client's FileTransport.

Each of N pipelines has job prep<i> reading raw<i> (version pinned by the version
facet) and writing clean<i>, then job train<i> reading clean<i> and writing
features<i>, with a child run (job train<i>.check) nested in train<i>'s run by a
parent facet. Every run sends START and COMPLETE: 6 events a pipeline, one a line.

Usage: events.py FILE TOKEN N   (TOKEN goes into every namespace, so test runs stay apart)
Prints the run ids as one JSON object: {"prep0": ..., "train0": ..., "check0": ...}.
"""

import json
import sys
from datetime import datetime, timedelta, timezone

from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import dataset_version_dataset, parent_run, schema_dataset
from openlineage.client.transport.file import FileConfig, FileTransport
from openlineage.client.uuid import generate_new_uuid

PRODUCER = "https://github.com/provgraph/provgraph/internal/importer/testdata/events.py"


def main() -> None:
    path, token, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    data_ns, job_ns = f"s3://lake-{token}", f"pipeline-{token}"
    client = OpenLineageClient(transport=FileTransport(FileConfig(log_file_path=path, append=True)))
    schema = {"schema": schema_dataset.SchemaDatasetFacet(fields=[schema_dataset.SchemaDatasetFacetFields(name="id", type="BIGINT")])}
    clock = [datetime(2026, 3, 14, 9, 0, tzinfo=timezone.utc)]

    def emit(state, run, job, inputs, outputs):
        clock[0] += timedelta(seconds=1)
        client.emit(RunEvent(eventType=state, eventTime=clock[0].isoformat(), run=run, job=job,
                             inputs=inputs, outputs=outputs, producer=PRODUCER))

    ids = {}
    for i in range(n):
        raw = InputDataset(namespace=data_ns, name=f"raw{i}", facets={
            **schema, "version": dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion="v1")})
        clean_out = OutputDataset(namespace=data_ns, name=f"clean{i}", facets=schema)
        clean_in = InputDataset(namespace=data_ns, name=f"clean{i}")
        features = OutputDataset(namespace=data_ns, name=f"features{i}", facets=schema)
        prep, train, check = (Run(runId=str(generate_new_uuid())) for _ in range(3))
        prep_job, train_job = Job(namespace=job_ns, name=f"prep{i}"), Job(namespace=job_ns, name=f"train{i}")
        check_job = Job(namespace=job_ns, name=f"train{i}.check")
        for state in (RunState.START, RunState.COMPLETE):
            emit(state, prep, prep_job, [raw], [clean_out])
        emit(RunState.START, train, train_job, [clean_in], [features])
        nested = Run(runId=check.runId, facets={"parent": parent_run.ParentRunFacet(
            run=parent_run.Run(runId=train.runId), job=parent_run.Job(namespace=job_ns, name=f"train{i}"))})
        for state in (RunState.START, RunState.COMPLETE):
            emit(state, nested, check_job, [clean_in], [])
        emit(RunState.COMPLETE, train, train_job, [clean_in], [features])
        ids[f"prep{i}"], ids[f"train{i}"], ids[f"check{i}"] = prep.runId, train.runId, check.runId
    print(json.dumps(ids))


if __name__ == "__main__":
    main()
