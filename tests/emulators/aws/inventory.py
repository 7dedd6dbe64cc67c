"""Everything the vendor onboarding module can leave in the AWS emulator, as
one JSON value on stdout, so a test can count duplicates and orphans.

    python inventory.py URL BUCKET [CLUSTER_ID]
        -> {"endpoint_services": [{"id", "nlbs", "principals", "tags"}],
            "vpc_endpoints": [{"id", "vpc_id", "service_name", "state", "tags"}],
            "security_groups": [{"id", "name", "vpc_id"}],
            "redshift_grants": [{"cluster", "grantee", "vpcs", "status"}],
            "iam_roles": [name], "iam_policies": [name],
            "cors_rule_ids": [id or null], "bucket_policy_sids": [sid or null]}

All as the default account (the module's). Endpoints deleted or rejected are
left out; security groups are every group but the VPCs' default ones.
"""

import json
import sys

from botocore.exceptions import ClientError

from fixture_kit import client

GONE = {"deleted", "deleting", "rejected", "failed", "expired"}


def inventory(url, bucket, cluster=None):
    ec2 = client(url, "ec2")
    services = [
        {
            "id": s["ServiceId"],
            "nlbs": s.get("NetworkLoadBalancerArns", []),
            "principals": sorted(
                p["Principal"]
                for p in ec2.describe_vpc_endpoint_service_permissions(ServiceId=s["ServiceId"])["AllowedPrincipals"]
            ),
            "tags": {t["Key"]: t["Value"] for t in s.get("Tags", [])},
        }
        for s in ec2.describe_vpc_endpoint_service_configurations()["ServiceConfigurations"]
        if s.get("ServiceState", "").lower() not in GONE
    ]
    endpoints = [
        {
            "id": e["VpcEndpointId"],
            "vpc_id": e["VpcId"],
            "service_name": e["ServiceName"],
            "state": e["State"],
            "tags": {t["Key"]: t["Value"] for t in e.get("Tags", [])},
        }
        for e in ec2.describe_vpc_endpoints()["VpcEndpoints"]
        if e["State"].lower() not in GONE
    ]
    groups = [
        {"id": g["GroupId"], "name": g["GroupName"], "vpc_id": g.get("VpcId")}
        for g in ec2.describe_security_groups()["SecurityGroups"]
        if g["GroupName"] != "default"
    ]
    grants = []
    if cluster:
        rs = client(url, "redshift")
        for a in rs.describe_endpoint_authorization(ClusterIdentifier=cluster)["EndpointAuthorizationList"]:
            grants.append(
                {
                    "cluster": a["ClusterIdentifier"],
                    "grantee": a["Grantee"],
                    "vpcs": sorted(a.get("AllowedVPCs", [])),
                    "status": a.get("Status"),
                }
            )
    iam = client(url, "iam")
    roles = sorted(r["RoleName"] for r in iam.list_roles()["Roles"])
    policies = sorted(p["PolicyName"] for p in iam.list_policies(Scope="Local")["Policies"])
    s3 = client(url, "s3")
    try:
        cors = [r.get("ID") for r in s3.get_bucket_cors(Bucket=bucket)["CORSRules"]]
    except ClientError as err:
        if err.response["Error"]["Code"] != "NoSuchCORSConfiguration":
            raise
        cors = []
    try:
        policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
        sids = [s.get("Sid") for s in policy.get("Statement", [])]
    except ClientError as err:
        if err.response["Error"]["Code"] != "NoSuchBucketPolicy":
            raise
        sids = []
    return {
        "endpoint_services": services,
        "vpc_endpoints": endpoints,
        "security_groups": groups,
        "redshift_grants": grants,
        "iam_roles": roles,
        "iam_policies": policies,
        "cors_rule_ids": cors,
        "bucket_policy_sids": sids,
    }


def main(argv):
    url, bucket, rest = argv[1], argv[2], argv[3:]
    print(json.dumps(inventory(url, bucket, rest[0] if rest else None)))


if __name__ == "__main__":
    main(sys.argv)
