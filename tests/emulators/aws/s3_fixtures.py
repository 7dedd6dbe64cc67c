"""Creates and inspects the S3 and IAM objects around
privatelink_s3_storage_integration in the AWS emulator, through boto3, and
prints them as one JSON value on stdout (the same convention as fixtures.py).

    python s3_fixtures.py URL bucket [--name NAME] [--foreign true|false] [--fill-cors N]
            -> {"bucket","foreign_statement","foreign_cors_rules":[xml fragment, ...]}
        A bucket in the default account. With --foreign true (default): two
        CORS rules owned by another team (one with an ID, one without) and a
        bucket policy, pretty-printed, with one statement of theirs;
        foreign_statement is that statement's exact text and
        foreign_cors_rules the rules' <CORSRule> fragments as S3 returns them.
        --fill-cors N instead puts N foreign rules (N <= 100).
    python s3_fixtures.py URL cors-raw BUCKET
            -> {"xml": body or null, "rules": [<CORSRule> fragment, ...]}
    python s3_fixtures.py URL cors BUCKET  -> [rule as boto3 parses it, ...] ([] when none)
    python s3_fixtures.py URL policy-raw BUCKET -> {"policy": text or null}
    python s3_fixtures.py URL put-policy-raw BUCKET TEXT -> {"put": bucket}
        (the bucket policy set to TEXT as given, e.g. in the form S3 returns)
    python s3_fixtures.py URL edit-cors BUCKET ID_OR_#INDEX MAX_AGE
            -> {"edited": selector}   (out-of-band change of one rule's MaxAgeSeconds;
                                        MAX_AGE none takes the setting out of the rule)
    python s3_fixtures.py URL role ROLE_NAME
            -> {"exists": false} or {"exists": true,"arn","trust","attached":[arn],"tags":{k: v},"description"}
    python s3_fixtures.py URL policy-document POLICY_ARN -> the default version's document, or null
    python s3_fixtures.py URL policy-tags POLICY_ARN -> {k: v}
    python s3_fixtures.py URL untag-policy POLICY_ARN KEY -> {"untagged": key}   (out-of-band change)
    python s3_fixtures.py URL tag-role ROLE_NAME KEY VALUE -> {"tagged": role}   (out-of-band change)
    python s3_fixtures.py URL tag-policy POLICY_ARN KEY VALUE -> {"tagged": arn}   (out-of-band change)
    python s3_fixtures.py URL iam-objects NAME_PREFIX
            -> {"roles":[name], "policies":[name]}   (customer-managed, names starting with NAME_PREFIX)
    python s3_fixtures.py URL edit-trust ROLE_NAME EXTERNAL_ID
            -> {"edited": role}   (out-of-band change of the trust's sts:ExternalId)
    python s3_fixtures.py URL vendor-user [--account 185497759670] [--name NAME]
            -> {"arn"}   (an IAM user in the vendor's account, as the vendor's side)
    python s3_fixtures.py URL runbook BUCKET PREFIX ROLE_NAME --vendor-user ARN
            --external-id ID [--policy-name NAME] [--cidr CIDR] [--cors true|false]
            -> {"role_arn","policy_arn","statement"}
        Sigma's storage-integration runbook done by hand: the policy from its
        template, the role trusting the vendor's user with the external ID,
        its CORS rule appended as given (no ID; none with --cors false, as for
        a vendor with no browser app) and, with --cidr, an IP
        allowlist statement (Sid RunbookAllowlist) appended to the policy.
"""

import json
import re
import sys
import time
import uuid

from botocore.exceptions import ClientError

from fixture_kit import OWNER, as_account, client, options, usage_if_asked


def raw_body(s3, operation, **params):
    """The HTTP body S3 answered, exactly (boto3 would parse it)."""
    seen = {}

    def keep(http_response, **_kwargs):
        seen["body"] = http_response.content

    event = f"after-call.s3.{operation}"
    s3.meta.events.register(event, keep)
    try:
        getattr(s3, re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower())(**params)
    finally:
        s3.meta.events.unregister(event, keep)
    return seen["body"].decode()


def cors_raw(url, bucket):
    s3 = client(url, "s3")
    try:
        xml = raw_body(s3, "GetBucketCors", Bucket=bucket)
    except ClientError as err:
        if err.response["Error"]["Code"] == "NoSuchCORSConfiguration":
            return {"xml": None, "rules": []}
        raise
    return {"xml": xml, "rules": re.findall(r"<CORSRule>.*?</CORSRule>", xml, re.S)}


def cors(url, bucket):
    try:
        return client(url, "s3").get_bucket_cors(Bucket=bucket)["CORSRules"]
    except ClientError as err:
        if err.response["Error"]["Code"] == "NoSuchCORSConfiguration":
            return []
        raise


def policy_raw(url, bucket):
    try:
        return {"policy": client(url, "s3").get_bucket_policy(Bucket=bucket)["Policy"]}
    except ClientError as err:
        if err.response["Error"]["Code"] == "NoSuchBucketPolicy":
            return {"policy": None}
        raise


def bucket(url, name, foreign, fill, region="us-east-1"):
    s3 = client(url, "s3")
    name = name or f"warehouse-{uuid.uuid4().hex[:10]}"
    if region == "us-east-1":
        s3.create_bucket(Bucket=name)
    else:
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
        s3 = client(url, "s3", region=region)
    result = {"bucket": name, "foreign_statement": None, "foreign_cors_rules": []}
    if fill:
        rules = [{"ID": f"team-{i}", "AllowedMethods": ["GET"], "AllowedOrigins": [f"https://t{i}.example"]} for i in range(fill)]
        s3.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": rules})
        result["foreign_cors_rules"] = cors_raw(url, name)["rules"]
    elif foreign:
        rules = [
            {"ID": "analytics-team", "AllowedMethods": ["GET", "HEAD"], "AllowedOrigins": ["https://dash.example.com"], "MaxAgeSeconds": 600},
            {"AllowedMethods": ["PUT"], "AllowedOrigins": ["https://upload.example.com"], "AllowedHeaders": ["Content-Type"], "ExposeHeaders": ["x-amz-request-id"]},
        ]
        s3.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": rules})
        # Key order, spacing and a string (not list) Action as a team wrote them.
        statement = (
            '{\n      "Sid": "AnalyticsTeamRead",\n      "Effect": "Allow",\n'
            f'      "Principal": {{ "AWS": "arn:aws:iam::{OWNER}:root" }},\n'
            '      "Action": "s3:GetObject",\n'
            f'      "Resource": "arn:aws:s3:::{name}/public/*"\n    }}'
        )
        policy = '{\n  "Version": "2012-10-17",\n  "Id": "team-policy",\n  "Statement": [\n    ' + statement + "\n  ]\n}"
        s3.put_bucket_policy(Bucket=name, Policy=policy)
        result["foreign_statement"] = statement
        result["foreign_cors_rules"] = cors_raw(url, name)["rules"]
    return result


def edit_cors(url, bucket, selector, max_age):
    s3 = client(url, "s3")
    rules = s3.get_bucket_cors(Bucket=bucket)["CORSRules"]
    if selector.startswith("#"):
        index = int(selector[1:])
    else:
        index = next(i for i, r in enumerate(rules) if r.get("ID") == selector)
    if max_age is None:
        rules[index].pop("MaxAgeSeconds", None)
    else:
        rules[index]["MaxAgeSeconds"] = max_age
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": rules})
    return {"edited": selector}


def role(url, name):
    iam = client(url, "iam")
    try:
        r = iam.get_role(RoleName=name)["Role"]
    except ClientError as err:
        if err.response["Error"]["Code"] == "NoSuchEntity":
            return {"exists": False}
        raise
    attached = [p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]]
    return {
        "exists": True,
        "arn": r["Arn"],
        "trust": r["AssumeRolePolicyDocument"],
        "attached": attached,
        "tags": {t["Key"]: t["Value"] for t in r.get("Tags", [])},
        "description": r.get("Description"),
    }


def policy_document(url, arn):
    iam = client(url, "iam")
    try:
        version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    except ClientError as err:
        if err.response["Error"]["Code"] == "NoSuchEntity":
            return None
        raise
    return iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]


def iam_objects(url, prefix):
    iam = client(url, "iam")
    roles = [r["RoleName"] for r in iam.list_roles()["Roles"] if r["RoleName"].startswith(prefix)]
    policies = [p["PolicyName"] for p in iam.list_policies(Scope="Local")["Policies"] if p["PolicyName"].startswith(prefix)]
    return {"roles": roles, "policies": policies}


def edit_trust(url, name, external_id):
    iam = client(url, "iam")
    doc = iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"]
    doc["Statement"][0]["Condition"]["StringEquals"]["sts:ExternalId"] = external_id
    iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(doc))
    return {"edited": name}


def vendor_user(url, account, name):
    iam = client(url, "iam", **as_account(url, account))
    return {"arn": iam.create_user(UserName=name or f"sigma-{uuid.uuid4().hex[:8]}")["User"]["Arn"]}


def until_propagated(call, attempts=30):
    """CALL, tried again while IAM refuses a principal made moments ago
    (Invalid principal in policy), as a person following a runbook would."""
    for attempt in range(attempts):
        try:
            return call()
        except ClientError as err:
            if err.response["Error"]["Code"] not in ("MalformedPolicyDocument", "MalformedPolicy") or attempt == attempts - 1:
                raise
            time.sleep(0.5)


def runbook(url, bucket, prefix, role_name, vendor_user_arn, external_id, policy_name, cidr, with_cors=True):
    iam, s3 = client(url, "iam"), client(url, "s3")
    template = {
        "Version": "2012-10-17",
        "Statement": [
            {"Action": ["s3:ListBucket"], "Effect": "Allow", "Resource": f"arn:aws:s3:::{bucket}"},
            {
                "Action": ["s3:PutObject", "s3:GetObject", "s3:PutObjectTagging"],
                "Effect": "Allow",
                "Resource": f"arn:aws:s3:::{bucket}/{prefix}/*",
            },
        ],
    }
    policy_arn = iam.create_policy(PolicyName=policy_name, PolicyDocument=json.dumps(template))["Policy"]["Arn"]
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": vendor_user_arn},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": external_id}},
            }
        ],
    }
    role_arn = until_propagated(
        lambda: iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    )
    iam.attach_role_policy(RoleName=role_name, PolicyArn=policy_arn)
    rule = {
        "AllowedHeaders": ["*"],
        "AllowedMethods": ["GET", "PUT", "POST"],
        "AllowedOrigins": ["https://app.sigmacomputing.com"],
        "ExposeHeaders": ["Access-Control-Allow-Origin", "ETag"],
        "MaxAgeSeconds": 3600,
    }
    if with_cors:
        s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": cors(url, bucket) + [rule]})
    statement = None
    if cidr:
        statement = {
            "Sid": "RunbookAllowlist",
            "Effect": "Deny",
            "Principal": {"AWS": role_arn},
            "Action": "s3:*",
            "Resource": f"arn:aws:s3:::{bucket}/{prefix}/*",
            "Condition": {"NotIpAddress": {"aws:SourceIp": [cidr]}},
        }
        current = policy_raw(url, bucket)["policy"]
        policy = json.loads(current) if current else {"Version": "2012-10-17", "Statement": []}
        policy["Statement"].append(statement)
        until_propagated(lambda: s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy, indent=2)))
    return {"role_arn": role_arn, "policy_arn": policy_arn, "statement": statement}


def main(argv):
    usage_if_asked(argv, __doc__)
    url, cmd, args = argv[1], argv[2], argv[3:]
    if cmd == "bucket":
        _, opt = options(args, name="", foreign="true", fill_cors="0", region="us-east-1")
        result = bucket(url, opt["name"], opt["foreign"].lower() == "true", int(opt["fill_cors"]), opt["region"])
    elif cmd == "cors-raw":
        result = cors_raw(url, args[0])
    elif cmd == "cors":
        result = cors(url, args[0])
    elif cmd == "policy-raw":
        result = policy_raw(url, args[0])
    elif cmd == "put-policy-raw":
        until_propagated(lambda: client(url, "s3").put_bucket_policy(Bucket=args[0], Policy=args[1]))
        result = {"put": args[0]}
    elif cmd == "edit-cors":
        result = edit_cors(url, args[0], args[1], None if args[2] == "none" else int(args[2]))
    elif cmd == "role":
        result = role(url, args[0])
    elif cmd == "policy-document":
        result = policy_document(url, args[0])
    elif cmd == "policy-tags":
        tags = client(url, "iam").list_policy_tags(PolicyArn=args[0])["Tags"]
        result = {t["Key"]: t["Value"] for t in tags}
    elif cmd == "tag-policy":
        client(url, "iam").tag_policy(PolicyArn=args[0], Tags=[{"Key": args[1], "Value": args[2]}])
        result = {"tagged": args[0]}
    elif cmd == "tag-role":
        client(url, "iam").tag_role(RoleName=args[0], Tags=[{"Key": args[1], "Value": args[2]}])
        result = {"tagged": args[0]}
    elif cmd == "untag-policy":
        client(url, "iam").untag_policy(PolicyArn=args[0], TagKeys=[args[1]])
        result = {"untagged": args[1]}
    elif cmd == "iam-objects":
        result = iam_objects(url, args[0])
    elif cmd == "edit-trust":
        result = edit_trust(url, args[0], args[1])
    elif cmd == "runbook":
        pos, opt = options(args, vendor_user="", external_id="", policy_name="", cidr="", cors="true")
        if len(pos) != 3 or not opt["vendor_user"] or not opt["external_id"]:
            raise SystemExit("usage: runbook BUCKET PREFIX ROLE_NAME --vendor-user ARN --external-id ID [--policy-name NAME] [--cidr CIDR]")
        policy_name = opt["policy_name"] or f"{pos[2]}-policy"
        result = runbook(
            url, *pos, opt["vendor_user"], opt["external_id"], policy_name, opt["cidr"], opt["cors"].lower() == "true"
        )
    elif cmd == "vendor-user":
        _, opt = options(args, account="185497759670", name="")
        result = vendor_user(url, opt["account"], opt["name"])
    else:
        raise SystemExit(f"unknown command {cmd}")
    print(json.dumps(result, default=str))


if __name__ == "__main__":
    main(sys.argv)
