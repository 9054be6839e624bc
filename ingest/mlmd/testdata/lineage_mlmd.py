"""Answers what ML Metadata itself says is upstream of each artifact of a type, in a
SQLite MLMD database, with ml-metadata's own get_lineage_subgraph.

usage: lineage_mlmd.py PATH TYPE HOPS

Prints, as JSON, for each artifact of TYPE by id: the ids of the artifacts and
executions upstream of it (itself included) within HOPS hops, and the events among
them as [artifact id, execution id, "INPUT" or "OUTPUT"].
"""
import json
import sys

from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2 as pb

INPUTS = {pb.Event.INPUT, pb.Event.DECLARED_INPUT, pb.Event.INTERNAL_INPUT}
OUTPUTS = {pb.Event.OUTPUT, pb.Event.DECLARED_OUTPUT, pb.Event.INTERNAL_OUTPUT}


def main():
    path, type_name, hops = sys.argv[1], sys.argv[2], int(sys.argv[3])
    config = pb.ConnectionConfig()
    config.sqlite.filename_uri = path
    config.sqlite.connection_mode = pb.SqliteMetadataSourceConfig.READONLY
    store = metadata_store.MetadataStore(config)
    out = {}
    for a in store.get_artifacts_by_type(type_name):
        opts = pb.LineageSubgraphQueryOptions(max_num_hops=hops, direction=pb.LineageSubgraphQueryOptions.UPSTREAM)
        opts.starting_artifacts.filter_query = "id = %d" % a.id
        sub = store.get_lineage_subgraph(opts)
        events = set()
        for e in sub.events:
            if e.type in INPUTS:
                events.add((e.artifact_id, e.execution_id, "INPUT"))
            elif e.type in OUTPUTS:
                events.add((e.artifact_id, e.execution_id, "OUTPUT"))
        out[str(a.id)] = {
            "artifacts": sorted(x.id for x in sub.artifacts),
            "executions": sorted(x.id for x in sub.executions),
            "events": sorted(list(e) for e in events),
        }
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
