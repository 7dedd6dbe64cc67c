"""The AWS side of the Snowflake pinning tests, in the AWS emulator, through
boto3; prints one JSON value on stdout.

    python aws_consumer.py URL snowflake-service -> {"service_id", "service_name"}
        Snowflake's side (as account 889634178462, the principal the
        Snowflake emulator reports): a VPC, an NLB and an endpoint service
        that allows 123456789012 without acceptance. Give its service_id to
        the Snowflake emulator's accounts, so their PrivateLink config names it.
    python aws_consumer.py URL endpoint [--cidr 10.70.0.0/16] [--service SERVICE_NAME]
        -> {"vpc_endpoint_id", "service_name", "owner"}
        The consumer side as 123456789012 (the default test keys): a VPC, a
        subnet and the interface endpoint to SERVICE_NAME, the endpoint a pin
        names; without --service, to a new Snowflake-side service made first.
    python aws_consumer.py URL delete-endpoint VPCE_ID -> {"deleted": id}
    python aws_consumer.py URL mint
        -> {"secret_access_key", "session_token"}
        A federation token minted as the default test keys, the way the
        provider mints one (the emulator mints the same credentials every
        time), for tests that search outputs for it.
"""

import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "aws"))
from fixture_kit import OWNER as CONSUMER, as_account, client, options  # noqa: E402

SNOWFLAKE = "889634178462"
POLICY = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ec2:DescribeVpcEndpoints"],"Resource":["*"]}]}'


def snowflake_service(url):
    sf = as_account(url, SNOWFLAKE)
    ec2, elb = client(url, "ec2", **sf), client(url, "elbv2", **sf)
    zone = sorted(z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"])[0]
    vpc = ec2.create_vpc(CidrBlock="10.90.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.90.1.0/24", AvailabilityZone=zone)["Subnet"]["SubnetId"]
    # NLB names are unique per account: derive one from the (unique) VPC ID.
    lb = elb.create_load_balancer(Name=f"sf-{vpc[-12:]}", Subnets=[subnet], Type="network", Scheme="internal")
    svc = ec2.create_vpc_endpoint_service_configuration(
        NetworkLoadBalancerArns=[lb["LoadBalancers"][0]["LoadBalancerArn"]], AcceptanceRequired=False
    )["ServiceConfiguration"]
    ec2.modify_vpc_endpoint_service_permissions(
        ServiceId=svc["ServiceId"], AddAllowedPrincipals=[f"arn:aws:iam::{CONSUMER}:root"]
    )
    return {"service_id": svc["ServiceId"], "service_name": svc["ServiceName"]}


def endpoint(url, cidr="10.70.0.0/16", service_name=None):
    base = ".".join(cidr.split(".")[:2])
    service_name = service_name or snowflake_service(url)["service_name"]
    mine = client(url, "ec2")
    zone = sorted(z["ZoneName"] for z in mine.describe_availability_zones()["AvailabilityZones"])[0]
    vpc = mine.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
    subnet = mine.create_subnet(VpcId=vpc, CidrBlock=f"{base}.1.0/24", AvailabilityZone=zone)["Subnet"]["SubnetId"]
    ep = mine.create_vpc_endpoint(
        VpcEndpointType="Interface", VpcId=vpc, ServiceName=service_name, SubnetIds=[subnet]
    )["VpcEndpoint"]
    return {"vpc_endpoint_id": ep["VpcEndpointId"], "service_name": service_name, "owner": ep.get("OwnerId", CONSUMER)}


def delete_endpoint(url, vpce):
    out = client(url, "ec2").delete_vpc_endpoints(VpcEndpointIds=[vpce])
    if out.get("Unsuccessful"):
        raise SystemExit(json.dumps(out["Unsuccessful"]))
    return {"deleted": vpce}


def mint(url):
    c = client(url, "sts").get_federation_token(Name="snowflake", Policy=POLICY, DurationSeconds=900)["Credentials"]
    return {"secret_access_key": c["SecretAccessKey"], "session_token": c["SessionToken"]}


def main(argv):
    url, cmd, args = argv[1], argv[2], argv[3:]
    if cmd == "snowflake-service":
        result = snowflake_service(url)
    elif cmd == "endpoint":
        _, opt = options(args, cidr="10.70.0.0/16", service="")
        result = endpoint(url, opt["cidr"], opt["service"] or None)
    elif cmd == "delete-endpoint":
        result = delete_endpoint(url, args[0])
    elif cmd == "mint":
        result = mint(url)
    else:
        raise SystemExit(f"unknown command {cmd}")
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv)
