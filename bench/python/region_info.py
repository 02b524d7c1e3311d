"""Seed 000's region-info handler, restated for the benchmark baseline: a JSON
body with the service name and the Region, nothing else. Run by awslambdaric."""
import json
import os


def handler(event, context):
    body = {"service": "stop-demo", "region": os.environ["AWS_REGION"]}
    return {"statusCode": 200, "body": json.dumps(body)}
