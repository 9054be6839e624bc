"""boto3's sagemaker-metrics client sending BatchPutMetrics as fast as it can, for
provgraph's benchmark (internal/bench/sagemakermetrics.go). Run with the sagemaker venv's
python (make venv-sagemaker):

    python tools/bench/boto3_metrics.py --threads 4 --calls 200 --trial-component-prefix bench-c

Each thread has its own client (as each SDK process has) and sends --calls calls of 10
points (the SDK's batch) to <prefix><thread>, after 20 calls of warm-up. The endpoint,
region and key come from the environment (AWS_ENDPOINT_URL_SAGEMAKER_METRICS, …). Prints
one JSON line: {"points": n, "seconds": s} for the timed calls of all threads together.
"""
import argparse
import datetime
import json
import threading
import time

import boto3

WARMUP = 20
BATCH = 10

parser = argparse.ArgumentParser()
parser.add_argument("--threads", type=int, default=4)
parser.add_argument("--calls", type=int, default=200)
parser.add_argument("--trial-component-prefix", required=True)
args = parser.parse_args()

session = boto3.Session()
clients = [session.client("sagemaker-metrics") for _ in range(args.threads)]
start = threading.Barrier(args.threads + 1)
done = threading.Barrier(args.threads + 1)


def send(i):
    client, name, step = clients[i], f"{args.trial_component_prefix}{i}", 0

    def call():
        nonlocal step
        now = datetime.datetime.now(datetime.timezone.utc)
        data = [{"MetricName": "loss", "Timestamp": now, "Step": step + k, "Value": 1.0 / (step + k + 1)} for k in range(BATCH)]
        step += BATCH
        resp = client.batch_put_metrics(TrialComponentName=name, MetricData=data)
        if resp.get("Errors"):
            raise RuntimeError(resp["Errors"])

    for _ in range(WARMUP):
        call()
    start.wait()
    for _ in range(args.calls):
        call()
    done.wait()


threads = [threading.Thread(target=send, args=(i,)) for i in range(args.threads)]
for t in threads:
    t.start()
start.wait()
t0 = time.perf_counter()
done.wait()
seconds = time.perf_counter() - t0
for t in threads:
    t.join()
print(json.dumps({"points": args.threads * args.calls * BATCH, "seconds": seconds}))
