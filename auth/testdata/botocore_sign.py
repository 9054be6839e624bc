"""Signs the requests of sigv4_botocore.json with botocore's own SigV4 signer, at a
fixed time, so that auth's verifier is tested against the signatures real clients make.
Run with a python that has botocore (make venv-sagemaker's): it rewrites the file."""
import datetime
import json
import sys
from unittest import mock

import botocore.auth
import botocore.awsrequest
import botocore.credentials

AT = datetime.datetime(2026, 3, 1, 12, 30, 0)
CREDS = botocore.credentials.Credentials("PGAK0123456789ABCDEF", "provgraph-test-secret")
REQUESTS = [
    # What a sagemaker client sends (AWS JSON 1.1).
    {"method": "POST", "url": "http://127.0.0.1:8080/aws/sagemaker/",
     "headers": {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "SageMaker.DescribeExperiment"},
     "body": '{"ExperimentName": "churn"}'},
    # What the sagemaker-metrics client sends (rest-json).
    {"method": "PUT", "url": "http://localhost:9999/aws/sagemaker-metrics/BatchPutMetrics",
     "headers": {"Content-Type": "application/json"},
     "body": '{"TrialComponentName": "churn-run", "MetricData": [{"MetricName": "loss", "Timestamp": 1772368200.0, "Step": 1, "Value": 0.5}]}'},
    # A query string and a path that needs encoding.
    {"method": "GET", "url": "http://example.com/aws/sagemaker/a%20b/?z=1&a=x%2Fy&a=b", "headers": {}, "body": ""},
]
out = []
with mock.patch.object(botocore.auth, "get_current_datetime", return_value=AT):
    for r in REQUESTS:
        req = botocore.awsrequest.AWSRequest(method=r["method"], url=r["url"], headers=dict(r["headers"]), data=r["body"].encode())
        botocore.auth.SigV4Auth(CREDS, "sagemaker", "us-east-1").add_auth(req)
        out.append({**r, "signedHeaders": {k: v for k, v in req.headers.items()}})
json.dump({"secret": CREDS.secret_key, "at": AT.strftime("%Y%m%dT%H%M%SZ"), "requests": out}, sys.stdout, indent=1)
print()
