"""Tests of the AWS emulator's extension, through boto3 as an independent client.

The server is started once per session from server.py as a subprocess on a
free port; its stdin is a pipe, so it also exits if this process dies.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

HERE = os.path.dirname(os.path.abspath(__file__))
REGION = "us-east-1"
OWNER = "123456789012"  # what moto maps the default test keys to
VENDOR = "185497759670"  # Sigma's vendor account
NO_RETRIES = Config(retries={"total_max_attempts": 1, "mode": "standard"})


@pytest.fixture(scope="session")
def endpoint():
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, os.path.join(HERE, "server.py"), "--port", "0"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline().strip()
        assert line.startswith("READY http://127.0.0.1:"), line
        url = line.split(" ", 1)[1]
        print(f"\nemulator {url} ready in {time.monotonic() - started:.2f}s")
        yield url
    finally:
        proc.stdin.close()
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert proc.returncode is not None


def admin(url: str, method: str, path: str, payload=None, timeout: float = 10):
    data = json.dumps(payload).encode() if payload is not None else None
    req = urllib.request.Request(
        f"{url}/_privatelink/{path}",
        data=data,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read())


def make_session(**creds) -> boto3.Session:
    return boto3.Session(
        aws_access_key_id=creds.get("key", "AKIAIOSFODNN7EXAMPLE"),
        aws_secret_access_key=creds.get("secret", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        aws_session_token=creds.get("token"),
        region_name=REGION,
    )


class Account:
    def __init__(self, url: str, session: boto3.Session):
        self.url = url
        self.session = session

    def client(self, name: str, config: Config = NO_RETRIES):
        return self.session.client(name, endpoint_url=self.url, config=config)


@pytest.fixture(scope="session")
def owner(endpoint) -> Account:
    account = Account(endpoint, make_session())
    assert account.client("sts").get_caller_identity()["Account"] == OWNER
    return account


@pytest.fixture(scope="session")
def vendor(endpoint, owner) -> Account:
    creds = owner.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{VENDOR}:role/vendor", RoleSessionName="e2e"
    )["Credentials"]
    account = Account(
        endpoint,
        make_session(
            key=creds["AccessKeyId"], secret=creds["SecretAccessKey"], token=creds["SessionToken"]
        ),
    )
    assert account.client("sts").get_caller_identity()["Account"] == VENDOR
    return account


def error_code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


# --------------------------------------------------------------------------
# EC2: endpoint services, connections, acceptance
# --------------------------------------------------------------------------


def make_vpc(ec2, cidr="10.0.0.0/16", azs=("us-east-1a", "us-east-1b")):
    vpc_id = ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
    base = cidr.split(".")
    subnets = [
        ec2.create_subnet(
            VpcId=vpc_id, CidrBlock=f"{base[0]}.{base[1]}.{i}.0/24", AvailabilityZone=az
        )["Subnet"]["SubnetId"]
        for i, az in enumerate(azs)
    ]
    return vpc_id, subnets


def make_nlb(account: Account) -> str:
    _, subnets = make_vpc(account.client("ec2"))
    return account.client("elbv2").create_load_balancer(
        Name=f"nlb-{uuid.uuid4().hex[:8]}", Subnets=subnets, Type="network", Scheme="internal"
    )["LoadBalancers"][0]["LoadBalancerArn"]


def make_service(account: Account, acceptance_required=True):
    ec2 = account.client("ec2")
    nlb = make_nlb(account)
    config = ec2.create_vpc_endpoint_service_configuration(
        NetworkLoadBalancerArns=[nlb], AcceptanceRequired=acceptance_required
    )["ServiceConfiguration"]
    ec2.modify_vpc_endpoint_service_permissions(
        ServiceId=config["ServiceId"], AddAllowedPrincipals=[f"arn:aws:iam::{VENDOR}:root"]
    )
    return config, nlb


def make_endpoint(account: Account, service_name: str, vpc=None) -> str:
    ec2 = account.client("ec2")
    vpc_id, subnets = vpc or make_vpc(ec2, cidr="10.1.0.0/16")
    return ec2.create_vpc_endpoint(
        VpcEndpointType="Interface", VpcId=vpc_id, ServiceName=service_name, SubnetIds=subnets[:1]
    )["VpcEndpoint"]["VpcEndpointId"]


def connections(account: Account, service_id: str, **filters):
    flt = [{"Name": "service-id", "Values": [service_id]}]
    flt += [{"Name": k.replace("_", "-"), "Values": [v]} for k, v in filters.items()]
    return account.client("ec2").describe_vpc_endpoint_connections(Filters=flt)[
        "VpcEndpointConnections"
    ]


def endpoint_state(account: Account, endpoint_id: str) -> str:
    return account.client("ec2").describe_vpc_endpoints(VpcEndpointIds=[endpoint_id])[
        "VpcEndpoints"
    ][0]["State"]


def test_acceptance_required_endpoint_is_pending_then_accepted(owner, vendor):
    config, nlb = make_service(owner)
    endpoint_id = make_endpoint(vendor, config["ServiceName"])
    assert endpoint_state(vendor, endpoint_id) == "pendingAcceptance"

    [conn] = connections(owner, config["ServiceId"])
    assert conn["VpcEndpointId"] == endpoint_id
    assert conn["ServiceId"] == config["ServiceId"]
    assert conn["VpcEndpointOwner"] == VENDOR
    assert conn["VpcEndpointState"] == "pendingAcceptance"
    assert conn["NetworkLoadBalancerArns"] == [nlb]
    assert conn["IpAddressType"] == "ipv4"
    assert conn["VpcEndpointConnectionId"].startswith("vpce-con-")
    assert conn["DnsEntries"] and conn["DnsEntries"][0]["DnsName"]
    assert conn["CreationTimestamp"]

    out = owner.client("ec2").accept_vpc_endpoint_connections(
        ServiceId=config["ServiceId"], VpcEndpointIds=[endpoint_id]
    )
    assert out["Unsuccessful"] == []
    # Accepted: "pending" for a moment, as AWS shows it, then "available".
    assert endpoint_state(vendor, endpoint_id) == "pending"
    assert connections(owner, config["ServiceId"])[0]["VpcEndpointState"] == "pending"
    time.sleep(0.4)
    assert endpoint_state(vendor, endpoint_id) == "available"
    assert connections(owner, config["ServiceId"])[0]["VpcEndpointState"] == "available"

    # Accepting again: not pending any more -> unsuccessful item, not a fault.
    again = owner.client("ec2").accept_vpc_endpoint_connections(
        ServiceId=config["ServiceId"], VpcEndpointIds=[endpoint_id, "vpce-0123456789abcdef0"]
    )["Unsuccessful"]
    codes = {u["ResourceId"]: u["Error"]["Code"] for u in again}
    assert codes == {endpoint_id: "InvalidState", "vpce-0123456789abcdef0": "InvalidVpcEndpointId.NotFound"}


def test_reject_path(owner, vendor):
    config, _ = make_service(owner)
    endpoint_id = make_endpoint(vendor, config["ServiceName"])
    out = owner.client("ec2").reject_vpc_endpoint_connections(
        ServiceId=config["ServiceId"], VpcEndpointIds=[endpoint_id]
    )
    assert out["Unsuccessful"] == []
    assert endpoint_state(vendor, endpoint_id) == "rejected"
    assert connections(owner, config["ServiceId"], vpc_endpoint_state="rejected")[0][
        "VpcEndpointId"
    ] == endpoint_id
    assert connections(owner, config["ServiceId"], vpc_endpoint_state="pendingAcceptance") == []
    # Rejected is final for accept; an available connection can still be rejected.
    again = owner.client("ec2").accept_vpc_endpoint_connections(
        ServiceId=config["ServiceId"], VpcEndpointIds=[endpoint_id]
    )["Unsuccessful"]
    assert [u["Error"]["Code"] for u in again] == ["InvalidState"]
    second = make_endpoint(vendor, config["ServiceName"])
    ec2 = owner.client("ec2")
    ec2.accept_vpc_endpoint_connections(ServiceId=config["ServiceId"], VpcEndpointIds=[second])
    assert ec2.reject_vpc_endpoint_connections(
        ServiceId=config["ServiceId"], VpcEndpointIds=[second]
    )["Unsuccessful"] == []
    assert endpoint_state(vendor, second) == "rejected"


def test_a_service_with_live_connections_is_not_deleted_until_they_are_rejected(owner, vendor):
    config, _ = make_service(owner)
    service_id = config["ServiceId"]
    pending = make_endpoint(vendor, config["ServiceName"])
    ec2 = owner.client("ec2")
    refused = ec2.delete_vpc_endpoint_service_configurations(ServiceIds=[service_id])["Unsuccessful"]
    assert [(u["ResourceId"], u["Error"]["Code"]) for u in refused] == [
        (service_id, "ExistingVpcEndpointConnections")
    ]
    assert ec2.describe_vpc_endpoint_service_configurations(ServiceIds=[service_id])[
        "ServiceConfigurations"
    ]
    ec2.reject_vpc_endpoint_connections(ServiceId=service_id, VpcEndpointIds=[pending])
    assert ec2.delete_vpc_endpoint_service_configurations(ServiceIds=[service_id])["Unsuccessful"] == []
    gone = ec2.delete_vpc_endpoint_service_configurations(ServiceIds=[service_id])["Unsuccessful"]
    assert [u["Error"]["Code"] for u in gone] == ["InvalidVpcEndpointService.NotFound"]


def test_vendor_cannot_accept_or_list(owner, vendor):
    config, _ = make_service(owner)
    endpoint_id = make_endpoint(vendor, config["ServiceName"])
    with pytest.raises(ClientError) as err:
        vendor.client("ec2").accept_vpc_endpoint_connections(
            ServiceId=config["ServiceId"], VpcEndpointIds=[endpoint_id]
        )
    assert error_code(err) == "InvalidVpcEndpointServiceId.NotFound"
    with pytest.raises(ClientError) as err:
        vendor.client("ec2").reject_vpc_endpoint_connections(
            ServiceId=config["ServiceId"], VpcEndpointIds=[endpoint_id]
        )
    assert error_code(err) == "InvalidVpcEndpointServiceId.NotFound"
    assert connections(vendor, config["ServiceId"]) == []
    assert endpoint_state(vendor, endpoint_id) == "pendingAcceptance"


def test_no_acceptance_required_endpoint_is_available(owner, vendor):
    config, _ = make_service(owner, acceptance_required=False)
    endpoint_id = make_endpoint(vendor, config["ServiceName"])
    assert endpoint_state(vendor, endpoint_id) == "available"
    assert connections(owner, config["ServiceId"])[0]["VpcEndpointState"] == "available"


def test_at_most_200_filter_values_in_one_ec2_call(owner):
    ec2 = owner.client("ec2")
    ids = [f"vpce-svc-{i:017x}" for i in range(150)]
    vpces = [f"vpce-{i:017x}" for i in range(51)]
    with pytest.raises(ClientError) as err:
        ec2.describe_vpc_endpoint_connections(
            Filters=[{"Name": "service-id", "Values": ids}, {"Name": "vpc-endpoint-id", "Values": vpces}]
        )
    assert error_code(err) == "FilterLimitExceeded"
    ec2.describe_vpc_endpoint_connections(
        Filters=[{"Name": "service-id", "Values": ids}, {"Name": "vpc-endpoint-id", "Values": vpces[:50]}]
    )


def test_connection_filters_and_paging(owner, vendor):
    config, _ = make_service(owner)
    vpc = make_vpc(vendor.client("ec2"), cidr="10.2.0.0/16")
    ids = [make_endpoint(vendor, config["ServiceName"], vpc=vpc) for _ in range(7)]
    own_vpc = make_vpc(owner.client("ec2"), cidr="10.3.0.0/16")
    own_id = make_endpoint(owner, config["ServiceName"], vpc=own_vpc)

    ec2 = owner.client("ec2")
    flt = [{"Name": "service-id", "Values": [config["ServiceId"]]}]
    seen, token, pages = [], None, 0
    while True:
        kwargs = {"Filters": flt, "MaxResults": 5}
        if token:
            kwargs["NextToken"] = token
        out = ec2.describe_vpc_endpoint_connections(**kwargs)
        pages += 1
        seen += [c["VpcEndpointId"] for c in out["VpcEndpointConnections"]]
        token = out.get("NextToken")
        if not token:
            break
    assert pages == 2 and sorted(seen) == sorted(ids + [own_id])

    # boto3's paginator agrees.
    paged = [
        c["VpcEndpointId"]
        for page in ec2.get_paginator("describe_vpc_endpoint_connections").paginate(
            Filters=flt, PaginationConfig={"PageSize": 5}
        )
        for c in page["VpcEndpointConnections"]
    ]
    assert sorted(paged) == sorted(seen)

    assert [c["VpcEndpointId"] for c in connections(owner, config["ServiceId"], vpc_endpoint_id=ids[3])] == [ids[3]]
    by_owner = connections(owner, config["ServiceId"], vpc_endpoint_owner=OWNER)
    # The owner's own endpoint to its own service is accepted at once.
    assert [(c["VpcEndpointId"], c["VpcEndpointState"]) for c in by_owner] == [(own_id, "available")]
    assert len(connections(owner, config["ServiceId"], vpc_endpoint_owner=VENDOR)) == 7

    with pytest.raises(ClientError) as err:
        ec2.describe_vpc_endpoint_connections(Filters=[{"Name": "bogus", "Values": ["x"]}])
    assert error_code(err) == "InvalidParameterValue"


def test_availability_zone_ids_filled(owner):
    ec2 = owner.client("ec2")
    zone_ids = {
        z["ZoneName"]: z["ZoneId"] for z in ec2.describe_availability_zones()["AvailabilityZones"]
    }
    config, _ = make_service(owner)
    assert sorted(config["AvailabilityZones"]) == ["us-east-1a", "us-east-1b"]
    expected = sorted(zone_ids[z] for z in config["AvailabilityZones"])
    assert sorted(config["AvailabilityZoneIds"]) == expected

    described = ec2.describe_vpc_endpoint_service_configurations(
        ServiceIds=[config["ServiceId"]]
    )["ServiceConfigurations"][0]
    assert sorted(described["AvailabilityZoneIds"]) == expected

    detail = ec2.describe_vpc_endpoint_services(ServiceNames=[config["ServiceName"]])[
        "ServiceDetails"
    ][0]
    assert sorted(detail["AvailabilityZoneIds"]) == expected


def test_a_load_balancer_backs_one_service_at_a_time(owner):
    ec2 = owner.client("ec2")
    config, nlb = make_service(owner)
    with pytest.raises(ClientError) as refused:
        ec2.create_vpc_endpoint_service_configuration(NetworkLoadBalancerArns=[nlb])
    assert error_code(refused) == "InvalidParameter"
    assert nlb in str(refused.value) and config["ServiceId"] in str(refused.value)
    other, other_nlb = make_service(owner)
    with pytest.raises(ClientError) as refused:
        ec2.modify_vpc_endpoint_service_configuration(
            ServiceId=other["ServiceId"], AddNetworkLoadBalancerArns=[nlb]
        )
    assert error_code(refused) == "InvalidParameter"
    # Its own load balancer again is no change; a deleted service frees one.
    ec2.modify_vpc_endpoint_service_configuration(
        ServiceId=other["ServiceId"], AddNetworkLoadBalancerArns=[other_nlb]
    )
    ec2.delete_vpc_endpoint_service_configurations(ServiceIds=[config["ServiceId"]])
    again = ec2.create_vpc_endpoint_service_configuration(NetworkLoadBalancerArns=[nlb])
    assert again["ServiceConfiguration"]["ServiceId"] != config["ServiceId"]


# --------------------------------------------------------------------------
# EC2: the consumer side (interface endpoints to a partner's service)
# --------------------------------------------------------------------------

PARTNER = "999988887777"  # a partner account offering an endpoint service
FULL_ACCESS = {
    "Version": "2008-10-17",
    "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}],
}
DNS_NAME = re.compile(
    r"^(vpce-[0-9a-f]+)-([a-z0-9]{8})(-us-east-1[a-f])?\.(vpce-svc-[0-9a-f]+)\.us-east-1\.vpce\.amazonaws\.com$"
)


@pytest.fixture(scope="session")
def partner(endpoint, owner) -> Account:
    creds = owner.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{PARTNER}:role/partner", RoleSessionName="e2e"
    )["Credentials"]
    return Account(
        endpoint,
        make_session(
            key=creds["AccessKeyId"], secret=creds["SecretAccessKey"], token=creds["SessionToken"]
        ),
    )


def partner_service(
    partner: Account,
    azs=("us-east-1a", "us-east-1b"),
    acceptance_required=False,
    allow=(OWNER,),
    **extra,
) -> dict:
    ec2 = partner.client("ec2")
    _, subnets = make_vpc(ec2, cidr="10.50.0.0/16", azs=azs)
    nlb = partner.client("elbv2").create_load_balancer(
        Name=f"nlb-{uuid.uuid4().hex[:8]}", Subnets=subnets, Type="network", Scheme="internal"
    )["LoadBalancers"][0]["LoadBalancerArn"]
    config = ec2.create_vpc_endpoint_service_configuration(
        NetworkLoadBalancerArns=[nlb], AcceptanceRequired=acceptance_required, **extra
    )["ServiceConfiguration"]
    if allow:
        ec2.modify_vpc_endpoint_service_permissions(
            ServiceId=config["ServiceId"],
            AddAllowedPrincipals=[f"arn:aws:iam::{a}:root" for a in allow],
        )
    return config


def consumer_vpc(account: Account, cidr="10.40.0.0/16"):
    """A VPC with one subnet in each of us-east-1a, b and c."""
    return make_vpc(account.client("ec2"), cidr=cidr, azs=("us-east-1a", "us-east-1b", "us-east-1c"))


def describe_endpoint(account: Account, endpoint_id: str) -> dict:
    return account.client("ec2").describe_vpc_endpoints(VpcEndpointIds=[endpoint_id])[
        "VpcEndpoints"
    ][0]


def enis_of(account: Account, vpc_id: str) -> list[dict]:
    return account.client("ec2").describe_network_interfaces(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}]
    )["NetworkInterfaces"]


def endpoints_in(account: Account, vpc_id: str) -> list[str]:
    return [
        e["VpcEndpointId"]
        for e in account.client("ec2").describe_vpc_endpoints(
            Filters=[{"Name": "vpc-id", "Values": [vpc_id]}]
        )["VpcEndpoints"]
    ]


def default_group(account: Account, vpc_id: str) -> str:
    return account.client("ec2").describe_security_groups(
        Filters=[
            {"Name": "vpc-id", "Values": [vpc_id]},
            {"Name": "group-name", "Values": ["default"]},
        ]
    )["SecurityGroups"][0]["GroupId"]


def test_interface_endpoint_shape(owner, partner):
    config = partner_service(partner)
    vpc_id, subnets = consumer_vpc(owner)
    ec2 = owner.client("ec2")
    ep = ec2.create_vpc_endpoint(
        VpcEndpointType="Interface",
        VpcId=vpc_id,
        ServiceName=config["ServiceName"],
        SubnetIds=subnets[:2],
        PrivateDnsEnabled=False,
    )["VpcEndpoint"]
    described = describe_endpoint(owner, ep["VpcEndpointId"])
    assert described["State"] == "available"
    assert described["VpcEndpointType"] == "Interface"
    assert described["ServiceName"] == config["ServiceName"]
    assert described["SubnetIds"] == subnets[:2]
    assert described["PrivateDnsEnabled"] is False
    assert described["OwnerId"] == OWNER
    assert described["IpAddressType"] == "ipv4"
    # No policy given: AWS stores the full-access policy.
    assert json.loads(described["PolicyDocument"]) == FULL_ACCESS
    # No groups given: the VPC's default group.
    sg = default_group(owner, vpc_id)
    assert [g["GroupId"] for g in described["Groups"]] == [sg]

    # One requester-managed ENI per subnet, in that subnet, with the groups.
    assert len(described["NetworkInterfaceIds"]) == 2
    enis = {
        e["NetworkInterfaceId"]: e
        for e in ec2.describe_network_interfaces(
            NetworkInterfaceIds=described["NetworkInterfaceIds"]
        )["NetworkInterfaces"]
    }
    for eni_id, subnet_id in zip(described["NetworkInterfaceIds"], subnets[:2]):
        eni = enis[eni_id]
        assert eni["SubnetId"] == subnet_id and eni["VpcId"] == vpc_id
        assert [g["GroupId"] for g in eni["Groups"]] == [sg]
        assert eni["InterfaceType"] == "vpc_endpoint"
        assert eni["RequesterManaged"] is True
        assert eni["Description"] == f"VPC Endpoint Interface {ep['VpcEndpointId']}"

    # DNS: the regional name, then one per zone, in the vpce.amazonaws.com zone.
    entries = described["DnsEntries"]
    assert len(entries) == 3
    assert {e["HostedZoneId"] for e in entries} == {"Z7HUB22UULQXV"}
    parsed = [DNS_NAME.match(e["DnsName"]) for e in entries]
    assert all(parsed), entries
    assert {m.group(1) for m in parsed} == {ep["VpcEndpointId"]}
    assert {m.group(4) for m in parsed} == {config["ServiceId"]}
    assert [m.group(3) for m in parsed] == [None, "-us-east-1a", "-us-east-1b"]

    # DescribeVpcEndpoints' documented filters.
    for name, value in (
        ("vpc-endpoint-id", ep["VpcEndpointId"]),
        ("service-name", config["ServiceName"]),
        ("service-region", REGION),
        ("ip-address-type", "ipv4"),
        ("vpc-endpoint-state", "available"),
        ("vpc-endpoint-type", "Interface"),
    ):
        found = ec2.describe_vpc_endpoints(
            Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": name, "Values": [value]}]
        )["VpcEndpoints"]
        assert [e["VpcEndpointId"] for e in found] == [ep["VpcEndpointId"]], name
    with pytest.raises(ClientError) as err:
        ec2.describe_vpc_endpoints(Filters=[{"Name": "bogus", "Values": ["x"]}])
    assert error_code(err) == "InvalidParameterValue"


def test_client_token_idempotency(owner, partner):
    config = partner_service(partner)
    vpc_id, subnets = consumer_vpc(owner, cidr="10.41.0.0/16")
    ec2 = owner.client("ec2")
    kwargs = dict(
        VpcEndpointType="Interface",
        VpcId=vpc_id,
        ServiceName=config["ServiceName"],
        SubnetIds=subnets[:1],
        ClientToken="token-1",
    )
    first = ec2.create_vpc_endpoint(**kwargs)
    again = ec2.create_vpc_endpoint(**kwargs)
    assert first["ClientToken"] == again["ClientToken"] == "token-1"
    assert again["VpcEndpoint"]["VpcEndpointId"] == first["VpcEndpoint"]["VpcEndpointId"]
    assert endpoints_in(owner, vpc_id) == [first["VpcEndpoint"]["VpcEndpointId"]]
    assert len(enis_of(owner, vpc_id)) == 1

    with pytest.raises(ClientError) as err:
        ec2.create_vpc_endpoint(**dict(kwargs, SubnetIds=subnets[1:2]))
    assert error_code(err) == "IdempotentParameterMismatch"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert endpoints_in(owner, vpc_id) == [first["VpcEndpoint"]["VpcEndpointId"]]

    # The same for endpoint service configurations.
    p_ec2 = partner.client("ec2")
    nlb = make_nlb(partner)
    svc = p_ec2.create_vpc_endpoint_service_configuration(
        NetworkLoadBalancerArns=[nlb], AcceptanceRequired=True, ClientToken="svc-token"
    )
    svc_again = p_ec2.create_vpc_endpoint_service_configuration(
        NetworkLoadBalancerArns=[nlb], AcceptanceRequired=True, ClientToken="svc-token"
    )
    assert svc_again["ClientToken"] == "svc-token"
    assert svc_again["ServiceConfiguration"]["ServiceId"] == svc["ServiceConfiguration"]["ServiceId"]
    ids = [
        c["ServiceId"]
        for c in p_ec2.describe_vpc_endpoint_service_configurations()["ServiceConfigurations"]
    ]
    assert ids.count(svc["ServiceConfiguration"]["ServiceId"]) == 1
    with pytest.raises(ClientError) as err:
        p_ec2.create_vpc_endpoint_service_configuration(
            NetworkLoadBalancerArns=[nlb], AcceptanceRequired=False, ClientToken="svc-token"
        )
    assert error_code(err) == "IdempotentParameterMismatch"


def test_refused_subnets_create_nothing(owner, partner):
    config = partner_service(partner, azs=("us-east-1a", "us-east-1b"))
    vpc_id, subnets = consumer_vpc(owner, cidr="10.42.0.0/16")
    ec2 = owner.client("ec2")
    # us-east-1c is not one of the service's zones.
    with pytest.raises(ClientError) as err:
        ec2.create_vpc_endpoint(
            VpcEndpointType="Interface",
            VpcId=vpc_id,
            ServiceName=config["ServiceName"],
            SubnetIds=subnets,
        )
    assert error_code(err) == "InvalidParameter"
    assert err.value.response["Error"]["Message"] == (
        f"The VPC endpoint service {config['ServiceName']} does not support the "
        f"availability zone of the subnet: {subnets[2]}."
    )
    # Two subnets in one zone.
    extra = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.42.9.0/24", AvailabilityZone="us-east-1a")[
        "Subnet"
    ]["SubnetId"]
    with pytest.raises(ClientError) as err:
        ec2.create_vpc_endpoint(
            VpcEndpointType="Interface",
            VpcId=vpc_id,
            ServiceName=config["ServiceName"],
            SubnetIds=[subnets[0], extra],
        )
    assert error_code(err) == "DuplicateSubnetsInSameZone"
    assert extra in err.value.response["Error"]["Message"]
    # An unknown security group.
    with pytest.raises(ClientError) as err:
        ec2.create_vpc_endpoint(
            VpcEndpointType="Interface",
            VpcId=vpc_id,
            ServiceName=config["ServiceName"],
            SubnetIds=subnets[:1],
            SecurityGroupIds=["sg-0123456789abcdef0"],
        )
    assert error_code(err) == "InvalidGroup.NotFound"
    assert endpoints_in(owner, vpc_id) == []
    assert enis_of(owner, vpc_id) == []


def test_acceptance_then_owner_accepts(owner, partner):
    config = partner_service(partner, acceptance_required=True)
    vpc_id, subnets = consumer_vpc(owner, cidr="10.43.0.0/16")
    ep_id = owner.client("ec2").create_vpc_endpoint(
        VpcEndpointType="Interface", VpcId=vpc_id, ServiceName=config["ServiceName"], SubnetIds=subnets[:1]
    )["VpcEndpoint"]["VpcEndpointId"]
    assert describe_endpoint(owner, ep_id)["State"] == "pendingAcceptance"
    out = partner.client("ec2").accept_vpc_endpoint_connections(
        ServiceId=config["ServiceId"], VpcEndpointIds=[ep_id]
    )
    assert out["Unsuccessful"] == []
    assert describe_endpoint(owner, ep_id)["State"] == "pending"
    time.sleep(0.4)
    assert describe_endpoint(owner, ep_id)["State"] == "available"


def test_accepted_pending_time_is_set_by_the_faults_hook_and_reset(endpoint, owner, partner):
    try:
        assert admin(endpoint, "POST", "faults", {"accepted_pending_seconds": 30})["accepted_pending_seconds"] == 30
        config = partner_service(partner, acceptance_required=True)
        vpc_id, subnets = consumer_vpc(owner, cidr="10.49.0.0/16")
        ep_id = owner.client("ec2").create_vpc_endpoint(
            VpcEndpointType="Interface", VpcId=vpc_id, ServiceName=config["ServiceName"], SubnetIds=subnets[:1]
        )["VpcEndpoint"]["VpcEndpointId"]
        partner.client("ec2").accept_vpc_endpoint_connections(ServiceId=config["ServiceId"], VpcEndpointIds=[ep_id])
        time.sleep(0.5)
        assert describe_endpoint(owner, ep_id)["State"] == "pending"
        # Accepting a pending connection again is refused; rejecting it is not.
        again = partner.client("ec2").accept_vpc_endpoint_connections(
            ServiceId=config["ServiceId"], VpcEndpointIds=[ep_id]
        )["Unsuccessful"]
        assert [u["ResourceId"] for u in again] == [ep_id]
        with pytest.raises(urllib.error.HTTPError):
            admin(endpoint, "POST", "faults", {"accepted_pending_seconds": -1})
    finally:
        admin(endpoint, "DELETE", "faults")
    assert admin(endpoint, "GET", "faults")["accepted_pending_seconds"] == 0.3


def test_an_endpoint_failure_queued_by_the_faults_hook_fails_the_next_endpoint_only(endpoint, owner, partner):
    reason = "Insufficient free IP addresses in subnet."
    try:
        state = admin(endpoint, "POST", "faults", {"endpoint_failure": reason})
        assert state["endpoint_failures"] == [reason]
        config = partner_service(partner, acceptance_required=False)
        vpc_id, subnets = consumer_vpc(owner, cidr="10.52.0.0/16")
        ec2 = owner.client("ec2")

        def create() -> str:
            return ec2.create_vpc_endpoint(
                VpcEndpointType="Interface", VpcId=vpc_id, ServiceName=config["ServiceName"], SubnetIds=subnets[:1]
            )["VpcEndpoint"]["VpcEndpointId"]

        failed, fine = create(), create()
        assert describe_endpoint(owner, failed)["State"] == "failed"
        assert describe_endpoint(owner, failed)["FailureReason"] == reason
        assert describe_endpoint(owner, fine)["State"] == "available"
        assert "FailureReason" not in describe_endpoint(owner, fine)
        with pytest.raises(urllib.error.HTTPError):
            admin(endpoint, "POST", "faults", {"endpoint_failure": reason, "count": 0})
        admin(endpoint, "POST", "faults", {"endpoint_failure": reason})
    finally:
        admin(endpoint, "DELETE", "faults")
    assert admin(endpoint, "GET", "faults")["endpoint_failures"] == []


def test_a_rejection_still_stops_a_deletion_for_the_time_the_faults_hook_sets(endpoint, owner, partner):
    try:
        admin(endpoint, "POST", "faults", {"rejected_counted_seconds": 0.5})
        config = partner_service(partner, acceptance_required=True)
        vpc_id, subnets = consumer_vpc(owner, cidr="10.48.0.0/16")
        ep_id = owner.client("ec2").create_vpc_endpoint(
            VpcEndpointType="Interface", VpcId=vpc_id, ServiceName=config["ServiceName"], SubnetIds=subnets[:1]
        )["VpcEndpoint"]["VpcEndpointId"]
        ec2 = partner.client("ec2")
        ec2.reject_vpc_endpoint_connections(ServiceId=config["ServiceId"], VpcEndpointIds=[ep_id])
        refused = ec2.delete_vpc_endpoint_service_configurations(ServiceIds=[config["ServiceId"]])["Unsuccessful"]
        assert [u["Error"]["Code"] for u in refused] == ["ExistingVpcEndpointConnections"]
        time.sleep(0.6)
        assert ec2.delete_vpc_endpoint_service_configurations(ServiceIds=[config["ServiceId"]])["Unsuccessful"] == []
        with pytest.raises(urllib.error.HTTPError):
            admin(endpoint, "POST", "faults", {"rejected_counted_seconds": -1})
    finally:
        admin(endpoint, "DELETE", "faults")
    assert admin(endpoint, "GET", "faults")["rejected_counted_seconds"] == 0.0


def test_service_visibility_and_detail(owner, partner, vendor):
    ec2 = owner.client("ec2")
    shared = partner_service(
        partner,
        acceptance_required=True,
        TagSpecifications=[
            {"ResourceType": "vpc-endpoint-service", "Tags": [{"Key": "team", "Value": "data"}]}
        ],
    )
    private = partner_service(partner, allow=())
    partner.client("ec2").modify_vpc_endpoint_service_configuration(
        ServiceId=shared["ServiceId"], PrivateDnsName="api.partner.example"
    )

    [detail] = ec2.describe_vpc_endpoint_services(ServiceNames=[shared["ServiceName"]])[
        "ServiceDetails"
    ]
    assert detail["ServiceId"] == shared["ServiceId"]
    assert detail["ServiceName"] == shared["ServiceName"]
    assert detail["ServiceType"] == [{"ServiceType": "Interface"}]
    assert detail["Owner"] == PARTNER
    assert detail["ServiceRegion"] == REGION
    assert detail["AvailabilityZones"] == ["us-east-1a", "us-east-1b"]
    zone_ids = {
        z["ZoneName"]: z["ZoneId"] for z in ec2.describe_availability_zones()["AvailabilityZones"]
    }
    assert detail["AvailabilityZoneIds"] == [zone_ids["us-east-1a"], zone_ids["us-east-1b"]]
    assert detail["BaseEndpointDnsNames"] == [f"{shared['ServiceId']}.{REGION}.vpce.amazonaws.com"]
    assert detail["PrivateDnsName"] == "api.partner.example"
    assert detail["PrivateDnsNames"] == [{"PrivateDnsName": "api.partner.example"}]
    assert detail["AcceptanceRequired"] is True
    assert detail["ManagesVpcEndpoints"] is False
    assert detail["VpcEndpointPolicySupported"] is False  # a customer's service
    assert detail["SupportedIpAddressTypes"] == ["ipv4"]
    assert detail["Tags"] == [{"Key": "team", "Value": "data"}]

    # A private service is invisible to accounts it does not allow.
    for name in (private["ServiceName"], "com.amazonaws.vpce.us-east-1.vpce-svc-0000000000000000"):
        with pytest.raises(ClientError) as err:
            ec2.describe_vpc_endpoint_services(ServiceNames=[name])
        assert error_code(err) == "InvalidServiceName"
        assert err.value.response["Error"]["Message"] == f"The Vpc Endpoint Service '{name}' does not exist"
    with pytest.raises(ClientError) as err:
        vendor.client("ec2").describe_vpc_endpoint_services(ServiceNames=[shared["ServiceName"]])
    assert error_code(err) == "InvalidServiceName"
    vpc_id, subnets = consumer_vpc(owner, cidr="10.44.0.0/16")
    with pytest.raises(ClientError) as err:
        ec2.create_vpc_endpoint(
            VpcEndpointType="Interface", VpcId=vpc_id, ServiceName=private["ServiceName"], SubnetIds=subnets[:1]
        )
    assert error_code(err) == "InvalidServiceName"
    assert endpoints_in(owner, vpc_id) == []
    # ... its owner sees it, and so does everyone once "*" is allowed.
    assert partner.client("ec2").describe_vpc_endpoint_services(ServiceNames=[private["ServiceName"]])[
        "ServiceDetails"
    ][0]["Owner"] == PARTNER
    partner.client("ec2").modify_vpc_endpoint_service_permissions(
        ServiceId=private["ServiceId"], AddAllowedPrincipals=["*"]
    )
    assert vendor.client("ec2").describe_vpc_endpoint_services(ServiceNames=[private["ServiceName"]])[
        "ServiceNames"
    ] == [private["ServiceName"]]

    # Filters: the documented ones; a filter matching nothing is no error.
    by_name = ec2.describe_vpc_endpoint_services(
        Filters=[{"Name": "service-name", "Values": [shared["ServiceName"]]}]
    )["ServiceDetails"]
    assert [d["ServiceId"] for d in by_name] == [shared["ServiceId"]]
    assert ec2.describe_vpc_endpoint_services(
        Filters=[
            {"Name": "service-name", "Values": [shared["ServiceName"]]},
            {"Name": "owner", "Values": [OWNER]},
        ]
    )["ServiceDetails"] == []
    tagged = ec2.describe_vpc_endpoint_services(
        Filters=[{"Name": "tag:team", "Values": ["data"]}, {"Name": "owner", "Values": [PARTNER]}]
    )["ServiceNames"]
    assert shared["ServiceName"] in tagged and private["ServiceName"] not in tagged
    with pytest.raises(ClientError) as err:
        ec2.describe_vpc_endpoint_services(
            Filters=[{"Name": "service-id", "Values": [shared["ServiceId"]]}]
        )
    assert error_code(err) == "InvalidParameterValue"

    # AWS's own services are still listed, and paging works.
    page = ec2.describe_vpc_endpoint_services(MaxResults=5)
    assert len(page["ServiceDetails"]) == 5 and page["NextToken"]
    names = [
        n
        for p in ec2.get_paginator("describe_vpc_endpoint_services").paginate(
            PaginationConfig={"PageSize": 100}
        )
        for n in p["ServiceNames"]
    ]
    assert "com.amazonaws.us-east-1.s3" in names and shared["ServiceName"] in names
    # Sorted by name; S3 is there twice (its Gateway and Interface services).
    assert names == sorted(names) and names.count(shared["ServiceName"]) == 1


def test_modify_endpoint(owner, partner):
    config = partner_service(partner, azs=("us-east-1a", "us-east-1b"))
    partner.client("ec2").modify_vpc_endpoint_service_configuration(
        ServiceId=config["ServiceId"], PrivateDnsName="db.partner.example"
    )
    vpc_id, subnets = consumer_vpc(owner, cidr="10.45.0.0/16")
    ec2 = owner.client("ec2")
    ep_id = ec2.create_vpc_endpoint(
        VpcEndpointType="Interface",
        VpcId=vpc_id,
        ServiceName=config["ServiceName"],
        SubnetIds=subnets[:1],
        PrivateDnsEnabled=False,
    )["VpcEndpoint"]["VpcEndpointId"]
    first_eni = describe_endpoint(owner, ep_id)["NetworkInterfaceIds"][0]

    # Adding a subnet adds its ENI.
    assert ec2.modify_vpc_endpoint(VpcEndpointId=ep_id, AddSubnetIds=[subnets[1]])["Return"] is True
    ep = describe_endpoint(owner, ep_id)
    assert ep["SubnetIds"] == subnets[:2]
    assert len(ep["NetworkInterfaceIds"]) == 2 and ep["NetworkInterfaceIds"][0] == first_eni
    assert sorted(e["SubnetId"] for e in enis_of(owner, vpc_id)) == sorted(subnets[:2])
    assert len(ep["DnsEntries"]) == 3

    # Refused changes change nothing.
    with pytest.raises(ClientError) as err:
        ec2.modify_vpc_endpoint(VpcEndpointId=ep_id, AddSubnetIds=[subnets[2]])
    assert error_code(err) == "InvalidParameter"
    extra = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.45.9.0/24", AvailabilityZone="us-east-1b")[
        "Subnet"
    ]["SubnetId"]
    with pytest.raises(ClientError) as err:
        ec2.modify_vpc_endpoint(VpcEndpointId=ep_id, AddSubnetIds=[extra])
    assert error_code(err) == "DuplicateSubnetsInSameZone"
    assert describe_endpoint(owner, ep_id)["SubnetIds"] == subnets[:2]
    assert len(enis_of(owner, vpc_id)) == 2

    # Swapping a subnet for another in the same zone in one call is fine;
    # removing a subnet removes its ENI.
    ec2.modify_vpc_endpoint(VpcEndpointId=ep_id, AddSubnetIds=[extra], RemoveSubnetIds=[subnets[1]])
    ec2.modify_vpc_endpoint(VpcEndpointId=ep_id, RemoveSubnetIds=[subnets[0]])
    ep = describe_endpoint(owner, ep_id)
    assert ep["SubnetIds"] == [extra] and len(ep["NetworkInterfaceIds"]) == 1
    assert [e["SubnetId"] for e in enis_of(owner, vpc_id)] == [extra]
    with pytest.raises(ClientError) as err:
        ec2.describe_network_interfaces(NetworkInterfaceIds=[first_eni])
    assert error_code(err) == "InvalidNetworkInterfaceID.NotFound"

    # Security groups, on the endpoint and on its ENIs.
    sg = ec2.create_security_group(GroupName="endpoint", Description="e2e", VpcId=vpc_id)["GroupId"]
    ec2.modify_vpc_endpoint(
        VpcEndpointId=ep_id, AddSecurityGroupIds=[sg], RemoveSecurityGroupIds=[default_group(owner, vpc_id)]
    )
    ep = describe_endpoint(owner, ep_id)
    assert [g["GroupId"] for g in ep["Groups"]] == [sg]
    assert [g["GroupId"] for g in enis_of(owner, vpc_id)[0]["Groups"]] == [sg]

    # Policy (a partner's service takes only full access), then back to the
    # default.
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}],
    }
    ec2.modify_vpc_endpoint(VpcEndpointId=ep_id, PolicyDocument=json.dumps(policy))
    assert json.loads(describe_endpoint(owner, ep_id)["PolicyDocument"]) == policy
    ec2.modify_vpc_endpoint(VpcEndpointId=ep_id, ResetPolicy=True)
    assert json.loads(describe_endpoint(owner, ep_id)["PolicyDocument"]) == FULL_ACCESS

    # Private DNS needs both of the VPC's DNS attributes on (a new VPC has
    # hostnames off); refused, it changes nothing.
    with pytest.raises(ClientError) as err:
        ec2.modify_vpc_endpoint(VpcEndpointId=ep_id, PrivateDnsEnabled=True)
    assert error_code(err) == "InvalidParameter"
    assert "enableDnsHostnames" in str(err.value) and vpc_id in str(err.value)
    assert describe_endpoint(owner, ep_id)["PrivateDnsEnabled"] is False
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": True})

    # Private DNS adds the service's private name to the DNS entries.
    ec2.modify_vpc_endpoint(VpcEndpointId=ep_id, PrivateDnsEnabled=True)
    ep = describe_endpoint(owner, ep_id)
    assert ep["PrivateDnsEnabled"] is True
    assert ep["DnsEntries"][-1]["DnsName"] == "db.partner.example"
    ec2.modify_vpc_endpoint(VpcEndpointId=ep_id, PrivateDnsEnabled=False)
    assert "db.partner.example" not in [e["DnsName"] for e in describe_endpoint(owner, ep_id)["DnsEntries"]]

    with pytest.raises(ClientError) as err:
        ec2.modify_vpc_endpoint(VpcEndpointId="vpce-0123456789abcdef0", PrivateDnsEnabled=True)
    assert error_code(err) == "InvalidVpcEndpointId.NotFound"

    # A service without a private DNS name cannot have private DNS, at
    # create or later; the refused create makes nothing.
    nameless = partner_service(partner, azs=("us-east-1a", "us-east-1b"))

    def to_nameless(private_dns: bool) -> str:
        return ec2.create_vpc_endpoint(
            VpcEndpointType="Interface",
            VpcId=vpc_id,
            ServiceName=nameless["ServiceName"],
            SubnetIds=subnets[:1],
            PrivateDnsEnabled=private_dns,
        )["VpcEndpoint"]["VpcEndpointId"]

    before = endpoints_in(owner, vpc_id)
    with pytest.raises(ClientError) as err:
        to_nameless(True)
    assert error_code(err) == "InvalidParameter"
    assert "does not provide a private DNS name" in str(err.value)
    assert endpoints_in(owner, vpc_id) == before
    plain = to_nameless(False)
    with pytest.raises(ClientError) as err:
        ec2.modify_vpc_endpoint(VpcEndpointId=plain, PrivateDnsEnabled=True)
    assert error_code(err) == "InvalidParameter"
    assert describe_endpoint(owner, plain)["PrivateDnsEnabled"] is False


def test_private_dns_waits_for_the_owner_to_accept(owner, partner):
    """AWS turns private DNS on only for an accepted connection: refused at
    create and while pendingAcceptance, allowed once accepted."""
    service = partner_service(
        partner, acceptance_required=True, PrivateDnsName="accepted.partner.example"
    )
    vpc_id, subnets = consumer_vpc(owner, cidr="10.47.0.0/16")
    ec2 = owner.client("ec2")
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": True})

    def create(private_dns: bool) -> str:
        return ec2.create_vpc_endpoint(
            VpcEndpointType="Interface",
            VpcId=vpc_id,
            ServiceName=service["ServiceName"],
            SubnetIds=subnets[:1],
            PrivateDnsEnabled=private_dns,
        )["VpcEndpoint"]["VpcEndpointId"]

    with pytest.raises(ClientError) as err:
        create(True)
    assert error_code(err) == "InvalidParameter"
    assert "only be enabled after the endpoint connection is accepted" in str(err.value)
    assert endpoints_in(owner, vpc_id) == []
    ep_id = create(False)
    assert describe_endpoint(owner, ep_id)["State"] == "pendingAcceptance"
    with pytest.raises(ClientError) as err:
        ec2.modify_vpc_endpoint(VpcEndpointId=ep_id, PrivateDnsEnabled=True)
    assert error_code(err) == "InvalidParameter"
    assert describe_endpoint(owner, ep_id)["PrivateDnsEnabled"] is False

    partner.client("ec2").accept_vpc_endpoint_connections(
        ServiceId=service["ServiceId"], VpcEndpointIds=[ep_id]
    )
    ec2.modify_vpc_endpoint(VpcEndpointId=ep_id, PrivateDnsEnabled=True)
    ep = describe_endpoint(owner, ep_id)
    assert ep["PrivateDnsEnabled"] is True
    assert ep["DnsEntries"][-1]["DnsName"] == "accepted.partner.example"


def test_delete_endpoints_and_groups_in_use(owner, partner):
    config = partner_service(partner)
    vpc_id, subnets = consumer_vpc(owner, cidr="10.46.0.0/16")
    ec2 = owner.client("ec2")
    sg = ec2.create_security_group(GroupName="owned", Description="e2e", VpcId=vpc_id)["GroupId"]
    with pytest.raises(ClientError) as err:
        ec2.create_security_group(GroupName="owned", Description="again", VpcId=vpc_id)
    assert error_code(err) == "InvalidGroup.Duplicate"
    ep_id = ec2.create_vpc_endpoint(
        VpcEndpointType="Interface",
        VpcId=vpc_id,
        ServiceName=config["ServiceName"],
        SubnetIds=subnets[:2],
        SecurityGroupIds=[sg],
    )["VpcEndpoint"]["VpcEndpointId"]

    # The endpoint's ENIs still use the group.
    with pytest.raises(ClientError) as err:
        ec2.delete_security_group(GroupId=sg)
    assert error_code(err) == "DependencyViolation"

    missing = "vpce-0123456789abcdef0"
    out = ec2.delete_vpc_endpoints(VpcEndpointIds=[ep_id, missing])
    assert [(u["ResourceId"], u["Error"]["Code"]) for u in out["Unsuccessful"]] == [
        (missing, "InvalidVpcEndpoint.NotFound")
    ]
    assert enis_of(owner, vpc_id) == []
    assert endpoints_in(owner, vpc_id) == []
    with pytest.raises(ClientError) as err:
        describe_endpoint(owner, ep_id)
    assert error_code(err) == "InvalidVpcEndpointId.NotFound"
    # Deleting again: unsuccessful, not a fault.
    again = ec2.delete_vpc_endpoints(VpcEndpointIds=[ep_id])["Unsuccessful"]
    assert [u["Error"]["Code"] for u in again] == ["InvalidVpcEndpoint.NotFound"]
    # The partner no longer sees the connection.
    assert [c["VpcEndpointId"] for c in connections(partner, config["ServiceId"])] == []
    ec2.delete_security_group(GroupId=sg)


def test_partner_services_take_only_the_full_access_policy(owner, partner):
    config = partner_service(partner, acceptance_required=False)
    vpc_id, subnets = consumer_vpc(owner, cidr="10.48.0.0/16")
    ec2 = owner.client("ec2")
    narrow = json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}]}
    )
    full = json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "*", "Resource": "*"}]}
    )
    args = dict(VpcEndpointType="Interface", VpcId=vpc_id, ServiceName=config["ServiceName"], SubnetIds=subnets[:1])
    with pytest.raises(ClientError) as err:
        ec2.create_vpc_endpoint(PolicyDocument=narrow, **args)
    assert "only supports the full-access endpoint policy" in str(err.value)
    assert endpoints_in(owner, vpc_id) == []
    ep_id = ec2.create_vpc_endpoint(PolicyDocument=full, **args)["VpcEndpoint"]["VpcEndpointId"]
    conditioned = json.dumps(
        {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*",
                        "Condition": {"StringEquals": {"aws:PrincipalAccount": "111122223333"}}}]}
    )
    for narrower in (narrow, conditioned):
        with pytest.raises(ClientError) as err:
            ec2.modify_vpc_endpoint(VpcEndpointId=ep_id, PolicyDocument=narrower)
        assert "only supports the full-access endpoint policy" in str(err.value)
    assert json.loads(describe_endpoint(owner, ep_id)["PolicyDocument"]) == json.loads(full)
    ec2.modify_vpc_endpoint(VpcEndpointId=ep_id, ResetPolicy=True)


def test_security_group_names_and_descriptions_in_ec2s_character_set(owner):
    vpc_id, _ = consumer_vpc(owner, cidr="10.47.0.0/16")
    ec2 = owner.client("ec2")
    refused = [
        ("owned", "Admits only the VPC's CIDR blocks"),  # an apostrophe
        ("owned", "caf\u00e9"),
        ("owned", ""),
        ("owned", "x" * 256),
        ("bad name?", "fine"),
        ("sg-lookalike", "fine"),
    ]
    for name, description in refused:
        with pytest.raises(ClientError) as err:
            ec2.create_security_group(GroupName=name, Description=description, VpcId=vpc_id)
        assert error_code(err) == "InvalidParameterValue", (name, description)
    groups = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["SecurityGroups"]
    assert [g["GroupName"] for g in groups] == ["default"]
    ok = "privatelink-vpc-0a1-vpce-svc-0b2 ._-:/()#,@[]+=&;{}!$*"
    ec2.create_security_group(GroupName="privatelink-vpc-0a1", Description=ok, VpcId=vpc_id)


def test_supported_regions(partner):
    ec2 = partner.client("ec2")
    home_only = partner_service(partner, allow=())
    assert home_only["SupportedRegions"] == [{"Region": REGION, "ServiceState": "Available"}]

    config = partner_service(partner, allow=(), SupportedRegions=["us-west-2", REGION])
    assert [r["Region"] for r in config["SupportedRegions"]] == [REGION, "us-west-2"]
    assert {r["ServiceState"] for r in config["SupportedRegions"]} == {"Available"}

    def regions() -> list[str]:
        [c] = ec2.describe_vpc_endpoint_service_configurations(ServiceIds=[config["ServiceId"]])[
            "ServiceConfigurations"
        ]
        return [r["Region"] for r in c["SupportedRegions"]]

    ec2.modify_vpc_endpoint_service_configuration(
        ServiceId=config["ServiceId"], AddSupportedRegions=["eu-west-1"], RemoveSupportedRegions=["us-west-2"]
    )
    assert regions() == [REGION, "eu-west-1"]

    with pytest.raises(ClientError) as err:
        ec2.modify_vpc_endpoint_service_configuration(
            ServiceId=config["ServiceId"], RemoveSupportedRegions=[REGION]
        )
    assert error_code(err) == "InvalidParameter"
    with pytest.raises(ClientError) as err:
        ec2.modify_vpc_endpoint_service_configuration(
            ServiceId=config["ServiceId"], AddSupportedRegions=["mars-north-1"]
        )
    assert error_code(err) == "InvalidParameterValue"
    assert regions() == [REGION, "eu-west-1"]
    with pytest.raises(ClientError) as err:
        partner_service(partner, allow=(), SupportedRegions=["us-nowhere-9"])
    assert error_code(err) == "InvalidParameterValue"


def run_fixture(url: str, *args: str):
    """fixtures.py's command line, run in this process (a subprocess per call
    would cost a second each in imports)."""
    spec = importlib.util.spec_from_file_location("pl_fixtures", os.path.join(HERE, "fixtures.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        module.main(["fixtures.py", url, *args])
    return json.loads(out.getvalue())


def test_private_dns_name_set_renamed_and_removed(owner, partner):
    ec2 = partner.client("ec2")
    service = partner_service(partner, allow=(OWNER,), PrivateDnsName="api.partner.example")

    def configuration() -> dict:
        [c] = ec2.describe_vpc_endpoint_service_configurations(ServiceIds=[service["ServiceId"]])[
            "ServiceConfigurations"
        ]
        return c

    def consumer_view() -> dict:
        [d] = owner.client("ec2").describe_vpc_endpoint_services(
            ServiceNames=[service["ServiceName"]]
        )["ServiceDetails"]
        return d

    assert configuration()["PrivateDnsName"] == "api.partner.example"
    first = configuration()["PrivateDnsNameConfiguration"]
    assert first["Type"] == "TXT"
    assert first["Name"].startswith("_") and first["Value"].startswith("vpce:"), first
    # Unverified until the owner has published the record and asked AWS to
    # check it; consumers see the same state.
    assert first["State"] == "pendingVerification"
    assert consumer_view()["PrivateDnsNameVerificationState"] == "pendingVerification"
    assert ec2.start_vpc_endpoint_service_private_dns_verification(
        ServiceId=service["ServiceId"]
    )["ReturnValue"] is True
    assert configuration()["PrivateDnsNameConfiguration"] == {**first, "State": "verified"}
    assert consumer_view()["PrivateDnsNameVerificationState"] == "verified"
    # Only the owner can ask.
    with pytest.raises(ClientError) as err:
        owner.client("ec2").start_vpc_endpoint_service_private_dns_verification(
            ServiceId=service["ServiceId"]
        )
    assert err.value.response["Error"]["Code"] == "InvalidVpcEndpointServiceId.NotFound"

    # A new name needs verifying again, with a new record.
    ec2.modify_vpc_endpoint_service_configuration(
        ServiceId=service["ServiceId"], PrivateDnsName="data.partner.example"
    )
    assert configuration()["PrivateDnsName"] == "data.partner.example"
    assert consumer_view()["PrivateDnsNames"] == [{"PrivateDnsName": "data.partner.example"}]
    renamed = configuration()["PrivateDnsNameConfiguration"]
    assert renamed["State"] == "pendingVerification"
    assert renamed["Value"] != first["Value"]

    # Removing the name drops its verification record too, for the owner
    # and for consumers.
    ec2.modify_vpc_endpoint_service_configuration(
        ServiceId=service["ServiceId"], RemovePrivateDnsName=True
    )
    removed = configuration()
    assert "PrivateDnsName" not in removed, removed
    assert not removed.get("PrivateDnsNameConfiguration"), removed
    assert "PrivateDnsName" not in consumer_view()
    assert consumer_view()["PrivateDnsNames"] == []

    # False leaves it alone, as does a call about something else.
    ec2.modify_vpc_endpoint_service_configuration(
        ServiceId=service["ServiceId"], PrivateDnsName="api.partner.example"
    )
    ec2.modify_vpc_endpoint_service_configuration(
        ServiceId=service["ServiceId"], RemovePrivateDnsName=False, AcceptanceRequired=True
    )
    assert configuration()["PrivateDnsName"] == "api.partner.example"
    assert configuration()["AcceptanceRequired"] is True


def test_consumer_fixtures(endpoint, owner):
    svc = run_fixture(endpoint, "partner-service", "--azs", "2", "--acceptance-required", "true")
    assert svc["owner"] == "999988887777"
    assert svc["azs"] == ["us-east-1a", "us-east-1b"] and len(svc["az_ids"]) == 2
    assert svc["service_name"] == f"com.amazonaws.vpce.{REGION}.{svc['service_id']}"

    vpc = run_fixture(endpoint, "consumer-vpc", "--cidr", "10.47.0.0/16")
    assert vpc["cidrs"] == ["10.47.0.0/16", "10.48.0.0/16"]
    assert [s["az"] for s in vpc["subnets"]] == ["us-east-1a", "us-east-1b", "us-east-1c"]
    described = owner.client("ec2").describe_vpcs(VpcIds=[vpc["vpc_id"]])["Vpcs"][0]
    assert sorted(a["CidrBlock"] for a in described["CidrBlockAssociationSet"]) == vpc["cidrs"]

    ec2 = owner.client("ec2")
    sg = ec2.create_security_group(
        GroupName="fixture",
        Description="e2e",
        VpcId=vpc["vpc_id"],
        TagSpecifications=[{"ResourceType": "security-group", "Tags": [{"Key": "k", "Value": "v"}]}],
    )["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=sg,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": c} for c in vpc["cidrs"]]}
        ],
    )
    ep_id = ec2.create_vpc_endpoint(
        VpcEndpointType="Interface",
        VpcId=vpc["vpc_id"],
        ServiceName=svc["service_name"],
        SubnetIds=[s["id"] for s in vpc["subnets"][:2]],
        SecurityGroupIds=[sg],
    )["VpcEndpoint"]["VpcEndpointId"]

    ep = run_fixture(endpoint, "endpoint", ep_id)
    assert ep["state"] == "pendingAcceptance" and ep["security_group_ids"] == [sg]
    assert len(ep["network_interface_ids"]) == 2 and json.loads(ep["policy"]) == FULL_ACCESS
    assert run_fixture(endpoint, "endpoints-in", vpc["vpc_id"]) == [ep_id]
    assert run_fixture(endpoint, "security-groups", vpc["vpc_id"]) == [
        {
            "id": sg,
            "name": "fixture",
            "tags": {"k": "v"},
            "ingress": [{"protocol": "tcp", "from": 443, "to": 443, "cidrs": vpc["cidrs"]}],
        }
    ]
    assert run_fixture(
        endpoint, "accept-as-owner", svc["service_id"], ep_id, "--account", svc["owner"]
    ) == {"accepted": ep_id, "state": "available"}
    assert run_fixture(endpoint, "delete-endpoint", ep_id) == {"deleted": ep_id}
    assert run_fixture(endpoint, "endpoint", ep_id) == {"exists": False}
    # The script itself, as the end-to-end tests run it.
    out = subprocess.run(
        [sys.executable, os.path.join(HERE, "fixtures.py"), endpoint, "endpoints-in", vpc["vpc_id"]],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == []


# --------------------------------------------------------------------------
# Redshift
# --------------------------------------------------------------------------


def make_cluster(account: Account, node_type="ra3.xlplus", relocation=True, port=5439) -> str:
    cluster_id = f"c-{uuid.uuid4().hex[:10]}"
    kwargs = dict(
        ClusterIdentifier=cluster_id,
        NodeType=node_type,
        MasterUsername="admin",
        MasterUserPassword="Password1",
        ClusterType="single-node",
        Port=port,
    )
    if relocation is not None:
        kwargs["AvailabilityZoneRelocation"] = relocation
    account.client("redshift").create_cluster(**kwargs)
    return cluster_id


def grantee_endpoint(vendor: Account, cluster_id: str, vpc_id: str, subnets) -> str:
    rs = vendor.client("redshift")
    group = f"sg-{uuid.uuid4().hex[:8]}"
    rs.create_cluster_subnet_group(
        ClusterSubnetGroupName=group, Description="e2e", SubnetIds=subnets
    )
    name = f"ep-{uuid.uuid4().hex[:8]}"
    out = rs.create_endpoint_access(
        ClusterIdentifier=cluster_id, ResourceOwner=OWNER, EndpointName=name, SubnetGroupName=group
    )
    assert out["EndpointName"] == name and out["VpcEndpoint"]["VpcId"] == vpc_id
    return name


def test_cluster_relocation_node_type_and_port(owner):
    rs = owner.client("redshift")
    on = make_cluster(owner, relocation=True, port=5439)
    off = make_cluster(owner, relocation=False, port=5440)
    unset = make_cluster(owner, relocation=None)
    by_id = {c["ClusterIdentifier"]: c for c in rs.describe_clusters()["Clusters"]}
    assert by_id[on]["AvailabilityZoneRelocationStatus"] == "enabled"
    assert by_id[on]["NodeType"] == "ra3.xlplus"
    assert by_id[on]["Endpoint"]["Port"] == 5439
    assert by_id[off]["AvailabilityZoneRelocationStatus"] == "disabled"
    assert by_id[off]["Endpoint"]["Port"] == 5440
    assert by_id[unset]["AvailabilityZoneRelocationStatus"] == "disabled"
    rs.modify_cluster(ClusterIdentifier=off, AvailabilityZoneRelocation=True)
    assert (
        rs.describe_clusters(ClusterIdentifier=off)["Clusters"][0]["AvailabilityZoneRelocationStatus"]
        == "enabled"
    )


def test_authorize_all_and_specific_vpcs_and_reauthorize_adds(owner):
    rs = owner.client("redshift")
    cluster_id = make_cluster(owner)
    grantee_all, grantee_some = "111111111111", "222222222222"

    auth = rs.authorize_endpoint_access(ClusterIdentifier=cluster_id, Account=grantee_all)
    assert auth["Grantor"] == OWNER and auth["Grantee"] == grantee_all
    assert auth["ClusterIdentifier"] == cluster_id
    assert auth["Status"] == "Authorized" and auth["AllowedAllVPCs"] is True
    assert auth.get("AllowedVPCs", []) == [] and auth["EndpointCount"] == 0
    assert auth["ClusterStatus"] == "available" and auth["AuthorizeTime"]

    auth = rs.authorize_endpoint_access(
        ClusterIdentifier=cluster_id, Account=grantee_some, VpcIds=["vpc-aaaa1111"]
    )
    assert auth["AllowedAllVPCs"] is False and auth["AllowedVPCs"] == ["vpc-aaaa1111"]

    auth = rs.authorize_endpoint_access(
        ClusterIdentifier=cluster_id, Account=grantee_some, VpcIds=["vpc-bbbb2222", "vpc-aaaa1111"]
    )
    assert auth["AllowedVPCs"] == ["vpc-aaaa1111", "vpc-bbbb2222"]

    for kwargs in (
        {"Account": grantee_all},
        {"Account": grantee_all, "VpcIds": ["vpc-cccc3333"]},
        {"Account": grantee_some, "VpcIds": ["vpc-aaaa1111"]},
        {"Account": grantee_some},
    ):
        with pytest.raises(ClientError) as err:
            rs.authorize_endpoint_access(ClusterIdentifier=cluster_id, **kwargs)
        assert error_code(err) == "EndpointAuthorizationAlreadyExists", kwargs

    [described] = rs.describe_endpoint_authorization(
        ClusterIdentifier=cluster_id, Account=grantee_some
    )["EndpointAuthorizationList"]
    assert described["AllowedVPCs"] == ["vpc-aaaa1111", "vpc-bbbb2222"]


def test_authorize_faults(owner):
    rs = owner.client("redshift")
    with pytest.raises(ClientError) as err:
        rs.authorize_endpoint_access(ClusterIdentifier="no-such-cluster", Account=VENDOR)
    assert error_code(err) == "ClusterNotFound"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404

    dc2 = make_cluster(owner, node_type="dc2.large")
    with pytest.raises(ClientError) as err:
        rs.authorize_endpoint_access(ClusterIdentifier=dc2, Account=VENDOR)
    assert error_code(err) == "UnsupportedOperation"

    no_relocation = make_cluster(owner, relocation=False)
    with pytest.raises(ClientError) as err:
        rs.authorize_endpoint_access(ClusterIdentifier=no_relocation, Account=VENDOR)
    assert error_code(err) == "UnsupportedOperation"

    paused = make_cluster(owner)
    rs.pause_cluster(ClusterIdentifier=paused)
    with pytest.raises(ClientError) as err:
        rs.authorize_endpoint_access(ClusterIdentifier=paused, Account=VENDOR)
    assert error_code(err) == "InvalidClusterState"

    with pytest.raises(ClientError) as err:
        rs.describe_endpoint_authorization(ClusterIdentifier="no-such-cluster")
    assert error_code(err) == "ClusterNotFound"


def test_describe_grantor_and_grantee_views_with_paging(owner, vendor):
    rs = owner.client("redshift")
    cluster_id = make_cluster(owner)
    grantees = [f"3000000000{i:02d}" for i in range(24)] + [VENDOR]
    for g in grantees:
        rs.authorize_endpoint_access(ClusterIdentifier=cluster_id, Account=g)

    seen, marker, pages = [], None, 0
    while True:
        kwargs = {"ClusterIdentifier": cluster_id, "MaxRecords": 20}
        if marker:
            kwargs["Marker"] = marker
        out = rs.describe_endpoint_authorization(**kwargs)
        pages += 1
        seen += [a["Grantee"] for a in out["EndpointAuthorizationList"]]
        marker = out.get("Marker")
        if not marker:
            break
    assert pages == 2 and sorted(seen) == sorted(grantees)

    paged = [
        a["Grantee"]
        for page in rs.get_paginator("describe_endpoint_authorization").paginate(
            ClusterIdentifier=cluster_id, PaginationConfig={"PageSize": 20}
        )
        for a in page["EndpointAuthorizationList"]
    ]
    assert sorted(paged) == sorted(grantees)

    with pytest.raises(ClientError) as err:
        rs.describe_endpoint_authorization(ClusterIdentifier=cluster_id, MaxRecords=5)
    assert error_code(err) == "InvalidParameterValue"

    # Grantee view: the vendor sees what it has been granted, by grantor.
    mine = vendor.client("redshift").describe_endpoint_authorization(
        Account=OWNER, Grantee=True
    )["EndpointAuthorizationList"]
    assert cluster_id in [a["ClusterIdentifier"] for a in mine]
    assert all(a["Grantee"] == VENDOR and a["Grantor"] == OWNER for a in mine)
    # Grantor view from the vendor's account shows nothing of the owner's.
    assert vendor.client("redshift").describe_endpoint_authorization(
        Account=VENDOR
    )["EndpointAuthorizationList"] == []


def test_revoke_vpcs_endpoints_force_and_revoking_state(owner, vendor):
    rs = owner.client("redshift")
    cluster_id = make_cluster(owner)
    v_ec2 = vendor.client("ec2")
    vpc_a, subnets_a = make_vpc(v_ec2, cidr="10.10.0.0/16")
    vpc_b, subnets_b = make_vpc(v_ec2, cidr="10.11.0.0/16")
    rs.authorize_endpoint_access(
        ClusterIdentifier=cluster_id, Account=VENDOR, VpcIds=[vpc_a, vpc_b, "vpc-ffff0000"]
    )

    # Revoking some VPCs removes only those.
    auth = rs.revoke_endpoint_access(
        ClusterIdentifier=cluster_id, Account=VENDOR, VpcIds=["vpc-ffff0000"]
    )
    assert auth["Status"] == "Authorized" and auth["AllowedVPCs"] == [vpc_a, vpc_b]

    # The grantee creates endpoints; EndpointCount counts them.
    name_a = grantee_endpoint(vendor, cluster_id, vpc_a, subnets_a)
    name_b = grantee_endpoint(vendor, cluster_id, vpc_b, subnets_b)
    [auth] = rs.describe_endpoint_authorization(ClusterIdentifier=cluster_id, Account=VENDOR)[
        "EndpointAuthorizationList"
    ]
    assert auth["EndpointCount"] == 2
    listed = vendor.client("redshift").describe_endpoint_access(ClusterIdentifier=cluster_id)[
        "EndpointAccessList"
    ]
    assert sorted(e["EndpointName"] for e in listed) == sorted([name_a, name_b])
    assert all(e["Port"] == 5439 and e["EndpointStatus"] == "active" for e in listed)

    # A VPC outside the authorization cannot get an endpoint.
    vpc_c, subnets_c = make_vpc(v_ec2, cidr="10.12.0.0/16")
    with pytest.raises(ClientError) as err:
        grantee_endpoint(vendor, cluster_id, vpc_c, subnets_c)
    assert error_code(err) == "AccessToClusterDenied"

    # Revoking a VPC that has an endpoint needs Force.
    with pytest.raises(ClientError) as err:
        rs.revoke_endpoint_access(ClusterIdentifier=cluster_id, Account=VENDOR, VpcIds=[vpc_b])
    assert error_code(err) == "InvalidEndpointState"
    auth = rs.revoke_endpoint_access(
        ClusterIdentifier=cluster_id, Account=VENDOR, VpcIds=[vpc_b], Force=True
    )
    assert auth["AllowedVPCs"] == [vpc_a] and auth["EndpointCount"] == 1

    # Revoking the whole authorization while an endpoint exists needs Force too.
    with pytest.raises(ClientError) as err:
        rs.revoke_endpoint_access(ClusterIdentifier=cluster_id, Account=VENDOR)
    assert error_code(err) == "InvalidEndpointState"

    # The grantee deletes its endpoint; then a plain revoke works.
    deleted = vendor.client("redshift").delete_endpoint_access(EndpointName=name_a)
    assert deleted["EndpointStatus"] == "deleting"
    with pytest.raises(ClientError) as err:
        vendor.client("redshift").describe_endpoint_access(EndpointName=name_a)
    assert error_code(err) == "EndpointNotFound"
    auth = rs.revoke_endpoint_access(ClusterIdentifier=cluster_id, Account=VENDOR)
    assert auth["Status"] == "Revoking"

    # Revoking is visible to the next describe(s), then the authorization is gone.
    statuses = []
    for _ in range(5):
        found = rs.describe_endpoint_authorization(ClusterIdentifier=cluster_id, Account=VENDOR)[
            "EndpointAuthorizationList"
        ]
        statuses.append(found[0]["Status"] if found else None)
    assert statuses[0] == "Revoking" and statuses[-1] is None
    assert set(statuses) == {"Revoking", None}

    with pytest.raises(ClientError) as err:
        rs.revoke_endpoint_access(ClusterIdentifier=cluster_id, Account=VENDOR)
    assert error_code(err) == "EndpointAuthorizationNotFound"


def test_force_revoke_deletes_grantee_endpoints(owner, vendor):
    rs = owner.client("redshift")
    cluster_id = make_cluster(owner)
    vpc, subnets = make_vpc(vendor.client("ec2"), cidr="10.20.0.0/16")
    rs.authorize_endpoint_access(ClusterIdentifier=cluster_id, Account=VENDOR)
    name = grantee_endpoint(vendor, cluster_id, vpc, subnets)
    auth = rs.revoke_endpoint_access(ClusterIdentifier=cluster_id, Account=VENDOR, Force=True)
    assert auth["Status"] == "Revoking" and auth["EndpointCount"] == 0
    with pytest.raises(ClientError) as err:
        rs.revoke_endpoint_access(ClusterIdentifier=cluster_id, Account=VENDOR)
    assert error_code(err) == "InvalidAuthorizationState"
    remaining = vendor.client("redshift").describe_endpoint_access(ClusterIdentifier=cluster_id)[
        "EndpointAccessList"
    ]
    assert name not in [e["EndpointName"] for e in remaining]


# --------------------------------------------------------------------------
# Wire shapes
# --------------------------------------------------------------------------


def raw_bodies(client) -> list[tuple[int, str]]:
    seen: list[tuple[int, str]] = []
    client.meta.events.register(
        "after-call",
        lambda http_response, **_: seen.append(
            (http_response.status_code, http_response.content.decode())
        ),
    )
    return seen


def test_wire_envelopes(endpoint, owner):
    ec2 = owner.client("ec2")
    ec2_seen = raw_bodies(ec2)
    ec2.describe_vpc_endpoint_connections()
    status, body = ec2_seen[-1]
    assert status == 200
    assert '<DescribeVpcEndpointConnectionsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">' in body
    assert "<requestId>" in body and "<requestId>request-id<" not in body

    with pytest.raises(ClientError) as err:
        ec2.accept_vpc_endpoint_connections(ServiceId="vpce-svc-0000", VpcEndpointIds=["vpce-1"])
    status, raw = ec2_seen[-1]
    assert status == 400
    assert "<Response><Errors><Error><Code>InvalidVpcEndpointServiceId.NotFound</Code>" in raw
    assert "<RequestID>" in raw

    rs = owner.client("redshift")
    rs_seen = raw_bodies(rs)
    cluster_id = make_cluster(owner)
    rs.authorize_endpoint_access(ClusterIdentifier=cluster_id, Account="444455556666")
    status, raw = rs_seen[-1]
    assert raw.startswith(
        '<AuthorizeEndpointAccessResponse xmlns="http://redshift.amazonaws.com/doc/2012-12-01/">'
        "<AuthorizeEndpointAccessResult><Grantor>"
    )
    assert "<RequestId>" in raw
    with pytest.raises(ClientError):
        rs.revoke_endpoint_access(ClusterIdentifier=cluster_id, Account="999999999999")
    status, raw = rs_seen[-1]
    assert status == 404
    assert "<ErrorResponse" in raw and "<Type>Sender</Type><Code>EndpointAuthorizationNotFound</Code>" in raw

    # Injected faults use the same formats.
    admin(endpoint, "POST", "faults", [
        {"service": "ec2", "action": "DescribeVpcs", "code": "RequestLimitExceeded", "status": 503},
        {"service": "redshift", "action": "DescribeClusters", "code": "Throttling", "status": 400},
    ])
    try:
        with pytest.raises(ClientError):
            ec2.describe_vpcs()
        assert ec2_seen[-1][0] == 503
        assert ec2_seen[-1][1].endswith("</RequestID></Response>")
        assert "<Response><Errors><Error><Code>RequestLimitExceeded</Code>" in ec2_seen[-1][1]
        with pytest.raises(ClientError):
            rs.describe_clusters()
        assert "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>" in rs_seen[-1][1]
    finally:
        admin(endpoint, "DELETE", "faults")


# --------------------------------------------------------------------------
# Admin hooks
# --------------------------------------------------------------------------


def test_fault_injection_count(endpoint, owner):
    ec2 = owner.client("ec2")
    _, subnets = make_vpc(ec2, cidr="10.30.0.0/16")
    nlb = owner.client("elbv2").create_load_balancer(
        Name=f"nlb-{uuid.uuid4().hex[:8]}", Subnets=subnets, Type="network"
    )["LoadBalancers"][0]["LoadBalancerArn"]
    admin(
        endpoint,
        "POST",
        "faults",
        {
            "service": "ec2",
            "action": "CreateVpcEndpointServiceConfiguration",
            "code": "RequestLimitExceeded",
            "status": 503,
            "count": 2,
        },
    )
    try:
        for _ in range(2):
            with pytest.raises(ClientError) as err:
                ec2.create_vpc_endpoint_service_configuration(NetworkLoadBalancerArns=[nlb])
            assert error_code(err) == "RequestLimitExceeded"
            assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
        ec2.create_vpc_endpoint_service_configuration(NetworkLoadBalancerArns=[nlb])
    finally:
        admin(endpoint, "DELETE", "faults")

    # Redshift faults come back in Redshift's (query protocol) error format.
    admin(
        endpoint,
        "POST",
        "faults",
        {"service": "redshift", "action": "DescribeClusters", "code": "InvalidClusterState", "count": 1},
    )
    try:
        with pytest.raises(ClientError) as err:
            owner.client("redshift").describe_clusters()
        assert error_code(err) == "InvalidClusterState"
        owner.client("redshift").describe_clusters()
    finally:
        admin(endpoint, "DELETE", "faults")


def test_throttle_fraction_is_deterministic(endpoint, owner):
    ec2 = owner.client("ec2")

    def run() -> list[bool]:
        admin(endpoint, "POST", "faults", {"throttle_fraction": 0.3, "actions": ["DescribeVpcs"], "seed": 1})
        outcome = []
        try:
            for _ in range(40):
                try:
                    ec2.describe_vpcs()
                    outcome.append(True)
                except ClientError as err:
                    assert error_code_of(err) == "RequestLimitExceeded"
                    outcome.append(False)
            # Other actions are not throttled.
            for _ in range(10):
                ec2.describe_availability_zones()
        finally:
            admin(endpoint, "DELETE", "faults")
        return outcome

    first, second = run(), run()
    assert first == second
    failures = first.count(False)
    assert 4 <= failures <= 20, failures

    admin(endpoint, "POST", "faults", {"throttle_fraction": 1.0, "seed": 3})
    try:
        with pytest.raises(ClientError) as err:
            owner.client("redshift").describe_clusters()
        assert error_code(err) == "Throttling"
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    finally:
        admin(endpoint, "DELETE", "faults")


def error_code_of(err: ClientError) -> str:
    return err.response["Error"]["Code"]


def test_request_log(endpoint, owner):
    admin(endpoint, "DELETE", "requests")
    owner.client("ec2").describe_vpcs()
    with pytest.raises(ClientError):
        owner.client("redshift").describe_endpoint_authorization(ClusterIdentifier="missing")
    s3 = owner.session.client(
        "s3", endpoint_url=endpoint, config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1})
    )
    bucket = f"b-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_cors(
        Bucket=bucket,
        CORSConfiguration={"CORSRules": [{"AllowedMethods": ["GET"], "AllowedOrigins": ["*"]}]},
    )
    s3.get_bucket_cors(Bucket=bucket)
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": []}))
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    log = admin(endpoint, "GET", "requests")
    assert [(e["service"], e["action"], e["status"], e["account"]) for e in log] == [
        ("ec2", "DescribeVpcs", 200, OWNER),
        ("redshift", "DescribeEndpointAuthorization", 404, OWNER),
        ("s3", "CreateBucket", 200, OWNER),
        ("s3", "PutBucketCors", 200, OWNER),
        ("s3", "GetBucketCors", 200, OWNER),
        ("s3", "PutBucketPolicy", 200, OWNER),
        ("s3", "PutObject", 200, OWNER),
    ]
    assert admin(endpoint, "DELETE", "requests")["cleared"] == len(log)
    assert admin(endpoint, "GET", "requests") == []


def test_request_log_tells_vendor_account(endpoint, vendor):
    admin(endpoint, "DELETE", "requests")
    vendor.client("ec2").describe_vpc_endpoints()
    [entry] = admin(endpoint, "GET", "requests")
    assert entry.pop("user_agent").startswith("Boto3/"), "the caller's user agent is kept"
    assert entry.pop("request_id"), "the answer's request ID is kept"
    assert entry == {"service": "ec2", "action": "DescribeVpcEndpoints", "status": 200, "account": VENDOR}


def test_server_error_fraction_uses_each_services_documented_codes(endpoint, owner):
    def codes(service: str, call) -> set[tuple[str, int]]:
        admin(endpoint, "POST", "faults", {"server_error_fraction": 1.0, "services": [service], "seed": 4})
        seen = set()
        try:
            for _ in range(12):
                with pytest.raises(ClientError) as err:
                    call()
                seen.add((error_code(err), err.value.response["ResponseMetadata"]["HTTPStatusCode"]))
        finally:
            admin(endpoint, "DELETE", "faults")
        return seen

    no_retry = dict(config=NO_RETRIES)
    assert codes("ec2", owner.session.client("ec2", endpoint_url=endpoint, **no_retry).describe_vpcs) == {
        ("InternalError", 500),
        ("Unavailable", 503),
    }
    s3 = owner.session.client(
        "s3", endpoint_url=endpoint, config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1})
    )
    assert codes("s3", s3.list_buckets) == {("InternalError", 500), ("ServiceUnavailable", 503)}
    iam = owner.session.client("iam", endpoint_url=endpoint, **no_retry)
    assert codes("iam", iam.list_roles) == {("ServiceFailure", 500), ("ServiceUnavailable", 503)}
    rs = owner.session.client("redshift", endpoint_url=endpoint, **no_retry)
    assert codes("redshift", rs.describe_clusters) == {("InternalFailure", 500), ("ServiceUnavailable", 503)}


def test_throttle_and_server_error_fractions_together(endpoint, owner):
    ec2 = owner.session.client("ec2", endpoint_url=endpoint, config=NO_RETRIES)
    s3 = owner.session.client(
        "s3", endpoint_url=endpoint, config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1})
    )

    def run() -> list[str]:
        admin(endpoint, "POST", "faults", {"throttle_fraction": 0.25, "server_error_fraction": 0.25, "seed": 9})
        outcome = []
        try:
            for i in range(60):
                try:
                    (ec2.describe_vpcs if i % 2 else s3.list_buckets)()
                    outcome.append("ok")
                except ClientError as err:
                    outcome.append(error_code_of(err))
        finally:
            admin(endpoint, "DELETE", "faults")
        return outcome

    first, second = run(), run()
    assert first == second, "a seed gives the same sequence"
    kinds = set(first)
    # S3 throttles with SlowDown (503), EC2 with RequestLimitExceeded.
    assert {"ok", "RequestLimitExceeded", "SlowDown"} <= kinds, kinds
    assert kinds & {"InternalError", "Unavailable", "ServiceUnavailable"}, kinds
    assert 10 <= sum(k != "ok" for k in first) <= 50, first
    # Injected answers are marked in the request log.
    log = admin(endpoint, "GET", "requests")
    assert any(e.get("injected") == "SlowDown" and e["status"] == 503 for e in log)
    with pytest.raises(urllib.error.HTTPError):
        admin(endpoint, "POST", "faults", {"throttle_fraction": 0.7, "server_error_fraction": 0.7})


def test_hold_serves_the_call_and_keeps_its_answer_back(endpoint, owner):
    import threading

    iam = owner.session.client("iam", endpoint_url=endpoint, config=NO_RETRIES)
    name = f"held-{uuid.uuid4().hex[:8]}"
    admin(endpoint, "POST", "holds", {"service": "iam", "action": "CreateRole", "max_seconds": 30})
    answered: dict = {}

    def create() -> None:
        answered["role"] = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{OWNER}:root"}, "Action": "sts:AssumeRole"}]}
        ))["Role"]["RoleName"]

    t = threading.Thread(target=create)
    t.start()
    try:
        deadline = time.monotonic() + 10
        while not admin(endpoint, "GET", "holds")["held"]:
            assert time.monotonic() < deadline, "the call was never held"
            time.sleep(0.05)
        assert admin(endpoint, "GET", "holds")["held"] == [{"service": "iam", "action": "CreateRole", "status": 200}]
        # Held, yet done: the role exists before its creator hears of it.
        assert "role" not in answered
        assert iam.get_role(RoleName=name)["Role"]["RoleName"] == name
        # The rule was used up: other calls pass.
        assert admin(endpoint, "GET", "holds")["rules"] == []
    finally:
        admin(endpoint, "DELETE", "holds")
        t.join(10)
    assert answered["role"] == name
    assert admin(endpoint, "GET", "holds") == {"rules": [], "held": []}
    log = admin(endpoint, "GET", "requests")
    assert any(e["action"] == "CreateRole" and e.get("held") is True for e in log)


def test_attaching_an_attached_policy_again_changes_nothing(endpoint, owner):
    iam = owner.session.client("iam", endpoint_url=endpoint, config=NO_RETRIES)
    name = f"twice-{uuid.uuid4().hex[:8]}"
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{OWNER}:root"}, "Action": "sts:AssumeRole"}]}
    ))
    arn = iam.create_policy(PolicyName=name, PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]}
    ))["Policy"]["Arn"]
    for _ in range(2):
        iam.attach_role_policy(RoleName=name, PolicyArn=arn)
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 1
    # One detach frees it, as in AWS.
    iam.detach_role_policy(RoleName=name, PolicyArn=arn)
    iam.delete_policy(PolicyArn=arn)
    iam.delete_role(RoleName=name)


def test_fault_after_the_call_keeps_its_effect(endpoint, owner):
    iam = owner.session.client("iam", endpoint_url=endpoint, config=NO_RETRIES)
    name = f"after-{uuid.uuid4().hex[:8]}"
    trust = json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{OWNER}:root"}, "Action": "sts:AssumeRole"}]}
    )
    admin(endpoint, "DELETE", "requests")
    admin(endpoint, "POST", "faults", {"service": "iam", "action": "CreateRole", "code": "ServiceFailure", "status": 500, "after": True})
    try:
        with pytest.raises(ClientError) as err:
            iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)
        assert error_code(err) == "ServiceFailure"
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    finally:
        admin(endpoint, "DELETE", "faults")
    # The role was made all the same: a retry meets EntityAlreadyExists.
    assert iam.get_role(RoleName=name)["Role"]["RoleName"] == name
    with pytest.raises(ClientError) as err:
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)
    assert error_code(err) == "EntityAlreadyExists"
    log = admin(endpoint, "GET", "requests")
    assert log[0]["action"] == "CreateRole" and log[0]["status"] == 500
    assert log[0]["injected"] == "ServiceFailure" and log[0]["served"] == 200
    iam.delete_role(RoleName=name)


def test_zz_reset(endpoint, owner):
    """Runs last in this file: wipes moto's state, the log and the faults."""
    owner.client("ec2").create_vpc(CidrBlock="10.99.0.0/16")
    admin(endpoint, "POST", "faults", {"service": "s3", "action": "ListBuckets", "code": "SlowDown", "count": 5})
    # moto's own reset rebuilds every service's backends: seconds, and many
    # more on a loaded machine.
    assert admin(endpoint, "POST", "reset", timeout=120) == {"reset": True}
    assert admin(endpoint, "GET", "requests") == []
    assert admin(endpoint, "GET", "faults") == {
        "faults": [],
        "throttle": None,
        "accepted_pending_seconds": 0.3,
        "rejected_counted_seconds": 0.0,
        "endpoint_failures": [],
    }
    cidrs = [v["CidrBlock"] for v in owner.client("ec2").describe_vpcs()["Vpcs"]]
    assert "10.99.0.0/16" not in cidrs


def test_server_exits_when_its_parent_dies():
    """A harness killed with SIGKILL closes the server's stdin pipe: it exits."""
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import subprocess, sys, time\n"
            f"p = subprocess.Popen([sys.executable, {os.path.join(HERE, 'server.py')!r}],"
            " stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)\n"
            "print(p.stdout.readline().strip(), p.pid, flush=True)\n"
            "time.sleep(600)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    line = parent.stdout.readline().split()
    assert line[0] == "READY", line
    server_pid = int(line[2])
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(server_pid, 0)
        except ProcessLookupError:
            break
        # Reap it if it is our grandchild turned zombie under a subreaper.
        try:
            os.waitpid(server_pid, os.WNOHANG)
        except ChildProcessError:
            pass
        time.sleep(0.1)
    else:
        os.kill(server_pid, 9)
        pytest.fail("the emulator outlived its parent")


def test_the_request_log_keeps_the_request_id_each_answer_carried(endpoint, owner):
    """What lets a test match the ID a provider's error quotes to the call
    that failed: moto's own errors and injected faults alike."""
    ec2 = owner.client("ec2")
    admin(endpoint, "DELETE", "requests")
    with pytest.raises(ClientError) as missing:
        ec2.describe_vpc_endpoints(VpcEndpointIds=["vpce-0123456789abcdef0"])
    admin(
        endpoint,
        "POST",
        "faults",
        {"service": "ec2", "action": "DescribeVpcs", "code": "UnauthorizedOperation", "count": 1},
    )
    try:
        with pytest.raises(ClientError) as refused:
            ec2.describe_vpcs()
    finally:
        admin(endpoint, "DELETE", "faults")
    logged = {e["action"]: e.get("request_id") for e in admin(endpoint, "GET", "requests")}
    for action, err in (("DescribeVpcEndpoints", missing), ("DescribeVpcs", refused)):
        sent = err.value.response["ResponseMetadata"]["RequestId"]
        assert sent, action
        assert logged[action] == sent, (action, logged)
