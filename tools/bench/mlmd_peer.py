"""Google's ML Metadata as the peer in provgraph's benchmark (internal/bench/mlmd.go).

Run from the bench venv (ml-metadata, pinned in tools/clients/bench-requirements.txt):

    python tools/bench/mlmd_peer.py --db /tmp/x/mlmd.sqlite

It opens a fresh SQLite store in-process and answers one JSON command per stdin line
with one JSON line on stdout, timing each call to ML Metadata itself (time.perf_counter
around the call, nothing else):

    {"op": "load", "graph": "<file>"}          -> {"seconds": s, "artifacts": n, "executions": n, "events": n}
    {"op": "lineage", "start": "<id>", "hops": h} -> {"seconds": s, "nodes": ["<id>", ...]}

The graph file is {"nodes": [[id, kind], ...], "edges": [[from, to, type], ...]} in
provgraph's terms (edges by node index). ML Metadata links only artifacts and
executions, through events, so the graph maps onto it edge for edge, hop for hop:
dataset versions, model artifacts and endpoints are artifacts; processing jobs,
training jobs and model versions are executions; INPUT_TO and REGISTERED_AS (an
artifact into an execution) are INPUT events, PRODUCED and DEPLOYED_TO (an execution
out to an artifact) OUTPUT events. Every artifact and execution is named by its
provgraph ID, so answers map back one to one.
"""

import argparse
import json
import sys
import time

import ml_metadata
from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2 as pb

ARTIFACT_KINDS = ("DatasetVersion", "Artifact", "Endpoint")
EXECUTION_KINDS = ("ProcessingJob", "TrainingJob", "ModelVersion")
EVENT_TYPES = {
    "INPUT_TO": pb.Event.INPUT,
    "REGISTERED_AS": pb.Event.INPUT,
    "PRODUCED": pb.Event.OUTPUT,
    "DEPLOYED_TO": pb.Event.OUTPUT,
}


class Peer:
    def __init__(self, db):
        config = pb.ConnectionConfig()
        config.sqlite.filename_uri = db
        config.sqlite.connection_mode = pb.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
        self.store = metadata_store.MetadataStore(config)
        self.artifact_ids = {}
        self.execution_ids = {}

    def load(self, graph):
        with open(graph) as f:
            g = json.load(f)
        nodes, edges = g["nodes"], g["edges"]
        start = time.perf_counter()
        types = {}
        for kind in ARTIFACT_KINDS:
            types[kind] = self.store.put_artifact_type(pb.ArtifactType(name=kind))
        for kind in EXECUTION_KINDS:
            types[kind] = self.store.put_execution_type(pb.ExecutionType(name=kind))
        artifacts = [(i, pb.Artifact(type_id=types[k], name=n)) for i, (n, k) in enumerate(nodes) if k in ARTIFACT_KINDS]
        executions = [(i, pb.Execution(type_id=types[k], name=n)) for i, (n, k) in enumerate(nodes) if k in EXECUTION_KINDS]
        if len(artifacts) + len(executions) != len(nodes):
            raise ValueError("the graph has nodes of kinds ML Metadata has no place for")
        ids = {}
        for (i, _), aid in zip(artifacts, self.store.put_artifacts([a for _, a in artifacts])):
            ids[i] = aid
            self.artifact_ids[nodes[i][0]] = aid
        for (i, _), eid in zip(executions, self.store.put_executions([e for _, e in executions])):
            ids[i] = eid
            self.execution_ids[nodes[i][0]] = eid
        events = []
        for src, dst, typ in edges:
            kind = EVENT_TYPES[typ]
            artifact, execution = (src, dst) if kind == pb.Event.INPUT else (dst, src)
            events.append(pb.Event(artifact_id=ids[artifact], execution_id=ids[execution], type=kind))
        self.store.put_events(events)
        seconds = time.perf_counter() - start
        return {"seconds": seconds, "artifacts": len(artifacts), "executions": len(executions), "events": len(events)}

    def lineage(self, start, hops):
        opts = pb.LineageSubgraphQueryOptions(max_num_hops=hops, direction=pb.LineageSubgraphQueryOptions.UPSTREAM)
        if start in self.artifact_ids:
            opts.starting_artifacts.filter_query = "id = %d" % self.artifact_ids[start]
        elif start in self.execution_ids:
            opts.starting_executions.filter_query = "id = %d" % self.execution_ids[start]
        else:
            raise KeyError("no artifact or execution is named %r" % start)
        t = time.perf_counter()
        sub = self.store.get_lineage_subgraph(opts)
        seconds = time.perf_counter() - t
        names = [a.name for a in sub.artifacts] + [e.name for e in sub.executions]
        return {"seconds": seconds, "nodes": names, "events": len(sub.events)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", required=True, help="the SQLite file to create")
    args = parser.parse_args()
    peer = Peer(args.db)
    out = sys.stdout
    out.write(json.dumps({"ready": True, "version": ml_metadata.__version__}) + "\n")
    out.flush()
    for line in sys.stdin:
        cmd = json.loads(line)
        try:
            if cmd["op"] == "load":
                reply = peer.load(cmd["graph"])
            elif cmd["op"] == "lineage":
                reply = peer.lineage(cmd["start"], int(cmd["hops"]))
            else:
                raise ValueError("unknown op %r" % cmd["op"])
        except Exception as e:  # the benchmark reports it and stops
            reply = {"error": "%s: %s" % (type(e).__name__, e)}
        out.write(json.dumps(reply) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
