"""Fills a moto server that checks credentials (INITIAL_NO_AUTH_ACTION_COUNT) for the
denied-object test: a bucket with the given objects, and a user `reader` who may do
anything except get `denied.jsonl` and put under `reports/mrivera/`. Prints the reader's
access key id and secret. Uses exactly 4 + len(objects) requests, all before checks start.

Usage: guarded.py ENDPOINT BUCKET KEY=FILE...
"""

import json
import sys

import boto3

endpoint, bucket, *objects = sys.argv[1:]
anyone = dict(
    endpoint_url=endpoint,
    aws_access_key_id="test",
    aws_secret_access_key="test",
    region_name="us-east-1",
)
s3 = boto3.client("s3", **anyone)
iam = boto3.client("iam", **anyone)
s3.create_bucket(Bucket=bucket)
for spec in objects:
    key, path = spec.split("=", 1)
    with open(path, "rb") as f:
        s3.put_object(Bucket=bucket, Key=key, Body=f.read())
iam.create_user(UserName="reader")
key = iam.create_access_key(UserName="reader")["AccessKey"]
policy = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
        {
            "Effect": "Deny",
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{bucket}/denied.jsonl",
        },
        {
            "Effect": "Deny",
            "Action": "s3:PutObject",
            "Resource": f"arn:aws:s3:::{bucket}/reports/mrivera/*",
        },
    ],
}
iam.put_user_policy(UserName="reader", PolicyName="audit", PolicyDocument=json.dumps(policy))
print(key["AccessKeyId"], key["SecretAccessKey"])
