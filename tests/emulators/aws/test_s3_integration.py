"""Tests of the emulator's S3 and IAM section (what
privatelink_s3_storage_integration relies on), through boto3 as an
independent client against a server started from server.py.

Also pins the moto behaviour the resource depends on without an extension:
CORS rule IDs survive a round trip, a bucket policy comes back byte for
byte, more than 100 CORS rules are refused, and the admin hooks name S3
actions so that faults (OperationAborted) can be injected on PutBucketCors.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
import uuid

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import extension  # noqa: E402  (for IAM_PROPAGATION_SECONDS)

REGION = "us-east-1"
OWNER = "123456789012"
VENDOR = "185497759670"
NO_RETRIES = Config(retries={"total_max_attempts": 1, "mode": "standard"})
PATH_STYLE = Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1, "mode": "standard"})
KEYS = dict(aws_access_key_id="AKIAIOSFODNN7EXAMPLE", aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")


@pytest.fixture(scope="module")
def endpoint():
    proc = subprocess.Popen(
        [sys.executable, os.path.join(HERE, "server.py"), "--port", "0"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline().strip()
        assert line.startswith("READY http://127.0.0.1:"), line
        yield line.split(" ", 1)[1]
    finally:
        proc.stdin.close()
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def client(url: str, service: str, creds: dict | None = None):
    config = PATH_STYLE if service == "s3" else NO_RETRIES
    return boto3.client(service, endpoint_url=url, region_name=REGION, config=config, **(creds or KEYS))


def vendor_creds(url: str) -> dict:
    c = client(url, "sts").assume_role(RoleArn=f"arn:aws:iam::{VENDOR}:role/vendor", RoleSessionName="s3-test")[
        "Credentials"
    ]
    return dict(aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"], aws_session_token=c["SessionToken"])


def admin(url: str, method: str, path: str, payload=None):
    data = json.dumps(payload).encode() if payload is not None else None
    req = urllib.request.Request(
        f"{url}/_privatelink/{path}", data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def error(excinfo) -> tuple[str, str, int]:
    r = excinfo.value.response
    return r["Error"]["Code"], r["Error"]["Message"], r["ResponseMetadata"]["HTTPStatusCode"]


def trust(principal: str, external_id: str = "0000") -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": principal},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"sts:ExternalId": external_id}},
                }
            ],
        }
    )


def bucket_policy(bucket: str, principal: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "Integration",
                    "Effect": "Deny",
                    "Principal": {"AWS": principal},
                    "Action": "s3:*",
                    "Resource": f"arn:aws:s3:::{bucket}/exports/*",
                    "Condition": {"NotIpAddress": {"aws:SourceIp": ["203.0.113.0/24"]}},
                }
            ],
        }
    )


def new_bucket(url: str) -> str:
    name = f"b-{uuid.uuid4().hex[:12]}"
    client(url, "s3").create_bucket(Bucket=name)
    return name


def test_trust_policy_needs_an_existing_principal(endpoint):
    iam = client(endpoint, "iam")
    user_arn = f"arn:aws:iam::{VENDOR}:user/sigma-{uuid.uuid4().hex[:8]}"
    name = f"r-{uuid.uuid4().hex[:8]}"
    with pytest.raises(ClientError) as err:
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust(user_arn))
    assert error(err) == ("MalformedPolicyDocument", f'Invalid principal in policy: "AWS":"{user_arn}"', 400)
    with pytest.raises(ClientError):
        iam.get_role(RoleName=name)

    # The account itself (root ARN) is always a valid principal.
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust(f"arn:aws:iam::{OWNER}:root"))

    # The vendor creates its user; until IAM has propagated it, it is still
    # refused in an update, then accepted.
    client(endpoint, "iam", vendor_creds(endpoint)).create_user(UserName=user_arn.rsplit("/", 1)[1])
    with pytest.raises(ClientError) as err:
        iam.update_assume_role_policy(RoleName=name, PolicyDocument=trust(user_arn, "ext-1"))
    assert error(err)[0] == "MalformedPolicyDocument"
    time.sleep(extension.IAM_PROPAGATION_SECONDS + 0.2)
    iam.update_assume_role_policy(RoleName=name, PolicyDocument=trust(user_arn, "ext-1"))
    doc = iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"]
    assert doc["Statement"][0]["Principal"]["AWS"] == user_arn
    assert doc["Statement"][0]["Condition"]["StringEquals"]["sts:ExternalId"] == "ext-1"

    with pytest.raises(ClientError) as err:
        iam.update_assume_role_policy(RoleName="no-such-role", PolicyDocument=trust(user_arn))
    assert error(err)[0] == "NoSuchEntity"


def test_bucket_policy_principal_must_have_propagated(endpoint):
    iam, s3 = client(endpoint, "iam"), client(endpoint, "s3")
    bucket = new_bucket(endpoint)
    role = iam.create_role(
        RoleName=f"r-{uuid.uuid4().hex[:8]}", AssumeRolePolicyDocument=trust(f"arn:aws:iam::{OWNER}:root")
    )["Role"]["Arn"]
    text = bucket_policy(bucket, role)
    with pytest.raises(ClientError) as err:
        s3.put_bucket_policy(Bucket=bucket, Policy=text)
    assert error(err) == ("MalformedPolicy", "Invalid principal in policy", 400)
    with pytest.raises(ClientError) as err:
        s3.get_bucket_policy(Bucket=bucket)
    assert error(err)[0] == "NoSuchBucketPolicy"

    time.sleep(extension.IAM_PROPAGATION_SECONDS + 0.2)
    s3.put_bucket_policy(Bucket=bucket, Policy=text)
    assert s3.get_bucket_policy(Bucket=bucket)["Policy"] == text

    # A role that never existed is refused however long one waits.
    with pytest.raises(ClientError) as err:
        s3.put_bucket_policy(Bucket=bucket, Policy=bucket_policy(bucket, f"arn:aws:iam::{OWNER}:role/never"))
    assert error(err) == ("MalformedPolicy", "Invalid principal in policy", 400)
    assert s3.get_bucket_policy(Bucket=bucket)["Policy"] == text


def test_bucket_policy_round_trips_byte_for_byte_and_must_be_json(endpoint):
    s3 = client(endpoint, "s3")
    bucket = new_bucket(endpoint)
    # Odd spacing, key order and a star principal: all kept as sent.
    text = (
        '{ "Statement" : [ {"Sid":"Team",  "Principal":"*", "Effect":"Deny",'
        f'"Action":"s3:PutObject","Resource":"arn:aws:s3:::{bucket}/team/*",'
        '"Condition":{"Bool":{"aws:SecureTransport":"false"}}} ],\n  "Version":"2012-10-17" }'
    )
    s3.put_bucket_policy(Bucket=bucket, Policy=text)
    assert s3.get_bucket_policy(Bucket=bucket)["Policy"] == text
    for bad in ("not json", "[1, 2]"):
        with pytest.raises(ClientError) as err:
            s3.put_bucket_policy(Bucket=bucket, Policy=bad)
        assert error(err)[0] == "MalformedPolicy"
    with pytest.raises(ClientError) as err:
        s3.put_bucket_policy(Bucket="no-such-bucket-here", Policy=text)
    assert error(err)[0] == "NoSuchBucket"


def test_managed_policy_deletion_conflicts(endpoint):
    iam = client(endpoint, "iam")
    doc = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]})
    arn = iam.create_policy(PolicyName=f"p-{uuid.uuid4().hex[:8]}", PolicyDocument=doc)["Policy"]["Arn"]
    role = f"r-{uuid.uuid4().hex[:8]}"
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust(f"arn:aws:iam::{OWNER}:root"))
    iam.attach_role_policy(RoleName=role, PolicyArn=arn)
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=doc, SetAsDefault=True)

    with pytest.raises(ClientError) as err:
        iam.delete_policy(PolicyArn=arn)
    assert error(err) == ("DeleteConflict", "Cannot delete a policy attached to entities.", 409)
    iam.detach_role_policy(RoleName=role, PolicyArn=arn)
    with pytest.raises(ClientError) as err:
        iam.delete_policy(PolicyArn=arn)
    assert error(err)[0] == "DeleteConflict"
    assert "more than one version" in error(err)[1]
    iam.delete_policy_version(PolicyArn=arn, VersionId="v1")
    iam.delete_policy(PolicyArn=arn)
    with pytest.raises(ClientError) as err:
        iam.get_policy(PolicyArn=arn)
    assert error(err)[0] == "NoSuchEntity"
    iam.delete_role(RoleName=role)


def test_cors_rule_ids_and_the_100_rule_limit(endpoint):
    s3 = client(endpoint, "s3")
    bucket = new_bucket(endpoint)
    rules = [
        {"ID": "team-a", "AllowedMethods": ["GET"], "AllowedOrigins": ["https://a.example"]},
        {"AllowedMethods": ["PUT", "POST"], "AllowedOrigins": ["*"], "AllowedHeaders": ["*"], "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 60},
    ]
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": rules})
    assert s3.get_bucket_cors(Bucket=bucket)["CORSRules"] == [
        rules[0],
        {"AllowedHeaders": ["*"], "AllowedMethods": ["PUT", "POST"], "AllowedOrigins": ["*"], "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 60},
    ]
    many = [{"ID": f"r{i}", "AllowedMethods": ["GET"], "AllowedOrigins": ["*"]} for i in range(101)]
    with pytest.raises(ClientError) as err:
        s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": many})
    assert error(err)[0] == "MalformedXML"
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": many[:100]})
    assert len(s3.get_bucket_cors(Bucket=bucket)["CORSRules"]) == 100


def test_operation_aborted_can_be_injected_on_put_bucket_cors(endpoint):
    s3 = client(endpoint, "s3")
    bucket = new_bucket(endpoint)
    admin(
        endpoint,
        "POST",
        "faults",
        {
            "service": "s3",
            "action": "PutBucketCors",
            "code": "OperationAborted",
            "message": "A conflicting conditional operation is currently in progress against this resource. Please try again.",
            "status": 409,
            "count": 1,
        },
    )
    try:
        config = {"CORSRules": [{"AllowedMethods": ["GET"], "AllowedOrigins": ["*"]}]}
        with pytest.raises(ClientError) as err:
            s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=config)
        assert error(err)[0] == "OperationAborted"
        assert error(err)[2] == 409
        s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=config)
    finally:
        admin(endpoint, "DELETE", "faults")


def test_a_bucket_answers_only_in_its_own_region(endpoint):
    name = f"west-{uuid.uuid4().hex[:8]}"
    s3 = client(endpoint, "s3")
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    admin(endpoint, "DELETE", "requests")
    # botocore follows S3's redirect to the bucket's Region by itself: the
    # log shows the 301 answer to the call signed for us-east-1, then 200.
    assert s3.head_bucket(Bucket=name)["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert s3.get_bucket_location(Bucket=name)["LocationConstraint"] == "us-west-2"
    log = [(r["action"], r["status"]) for r in admin(endpoint, "GET", "requests")]
    assert log == [("HeadBucket", 301), ("HeadBucket", 200), ("GetBucketLocation", 200)], log
    west = boto3.client("s3", endpoint_url=endpoint, region_name="us-west-2", config=PATH_STYLE, **KEYS)
    admin(endpoint, "DELETE", "requests")
    west.head_bucket(Bucket=name)
    assert [(r["action"], r["status"]) for r in admin(endpoint, "GET", "requests")] == [("HeadBucket", 200)]
