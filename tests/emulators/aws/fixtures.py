"""Creates the objects a test needs around the provider's resources (VPCs,
subnets, Network Load Balancers, a vendor-side endpoint) in the AWS emulator,
through boto3, and prints them as one JSON object on stdout.

    python fixtures.py URL nlb [--name NAME]        -> {"vpc_id","subnet_ids","nlb_arn","azs"}
    python fixtures.py URL vendor-endpoint SERVICE_NAME VPC_ACCOUNT
                                                    -> {"vpc_endpoint_id","owner"}
    python fixtures.py URL state-of-endpoints SERVICE_ID -> [{"id","state","owner"}]
    python fixtures.py URL service-exists SERVICE_ID  -> {"exists": bool}
    python fixtures.py URL delete-service SERVICE_ID  -> {"deleted": id}
"""

import json
import sys

import boto3
from botocore.config import Config

REGION = "us-east-1"
KEYS = dict(aws_access_key_id="AKIAIOSFODNN7EXAMPLE", aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")


def client(url, service, **creds):
    return boto3.client(
        service,
        endpoint_url=url,
        region_name=REGION,
        config=Config(retries={"max_attempts": 1}),
        **(creds or KEYS),
    )


def as_account(url, account):
    sts = client(url, "sts")
    c = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/vendor", RoleSessionName="fixture")["Credentials"]
    return dict(aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"], aws_session_token=c["SessionToken"])


def nlb(url, name="test-nlb", creds=None):
    ec2 = client(url, "ec2", **(creds or {}))
    elb = client(url, "elbv2", **(creds or {}))
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    azs = [z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"]][:2]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.20.{i}.0/24", AvailabilityZone=az)["Subnet"]["SubnetId"]
        for i, az in enumerate(azs)
    ]
    lb = elb.create_load_balancer(Name=name, Subnets=subnets, Type="network", Scheme="internal")
    return {"vpc_id": vpc, "subnet_ids": subnets, "nlb_arn": lb["LoadBalancers"][0]["LoadBalancerArn"], "azs": azs}


def vendor_endpoint(url, service_name, account):
    creds = as_account(url, account)
    ec2 = client(url, "ec2", **creds)
    vpc = ec2.create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]
    az = ec2.describe_availability_zones()["AvailabilityZones"][0]["ZoneName"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.30.1.0/24", AvailabilityZone=az)["Subnet"]["SubnetId"]
    ep = ec2.create_vpc_endpoint(VpcEndpointType="Interface", VpcId=vpc, ServiceName=service_name, SubnetIds=[subnet])
    return {"vpc_endpoint_id": ep["VpcEndpoint"]["VpcEndpointId"], "owner": account}


def state_of_endpoints(url, service_id):
    ec2 = client(url, "ec2")
    conns = ec2.describe_vpc_endpoint_connections(Filters=[{"Name": "service-id", "Values": [service_id]}])
    return [
        {"id": c["VpcEndpointId"], "state": c["VpcEndpointState"], "owner": c["VpcEndpointOwner"]}
        for c in conns["VpcEndpointConnections"]
    ]


def service_exists(url, service_id):
    ec2 = client(url, "ec2")
    try:
        out = ec2.describe_vpc_endpoint_service_configurations(ServiceIds=[service_id])
    except Exception:  # InvalidVpcEndpointServiceId.NotFound
        return {"exists": False}
    live = [c for c in out["ServiceConfigurations"] if c.get("ServiceState") not in ("Deleted", "Deleting")]
    return {"exists": bool(live)}


def delete_service(url, service_id):
    client(url, "ec2").delete_vpc_endpoint_service_configurations(ServiceIds=[service_id])
    return {"deleted": service_id}


def main(argv):
    url, cmd, args = argv[1], argv[2], argv[3:]
    if cmd == "nlb":
        result = nlb(url, *(args[1:2] if args[:1] == ["--name"] else []))
    elif cmd == "vendor-endpoint":
        result = vendor_endpoint(url, args[0], args[1])
    elif cmd == "state-of-endpoints":
        result = state_of_endpoints(url, args[0])
    elif cmd == "delete-service":
        result = delete_service(url, args[0])
    elif cmd == "service-exists":
        result = service_exists(url, args[0])
    else:
        raise SystemExit(f"unknown command {cmd}")
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv)
