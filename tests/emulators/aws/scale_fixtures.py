"""The estate of the scale benchmark (benches/scale.rs), made in one process
so hundreds of objects cost one interpreter start, not one each; prints one
JSON value on stdout (the same convention as fixtures.py).

    python scale_fixtures.py URL estate [--nlbs 0] [--accept-targets 0]
            [--clusters 0] [--buckets 0] [--consumer-vpcs 1]
            [--snowflake-account 889634178462]
        -> {"nlb_arns": [arn, ...],
            "accept_targets": [{"service_id","vpc_endpoint_id"}, ...],
            "clusters": [identifier, ...], "buckets": [name, ...],
            "snowflake_service": {"service_id","service_name","azs","az_ids","owner"},
            "consumers": [{"vpc_id","subnet_ids"}, ...]}
        In the default account: NLBS load balancers for endpoint services to
        publish; ACCEPT_TARGETS endpoint services (acceptance required) that
        allow Sigma, each with an endpoint Sigma's account created to it,
        waiting for acceptance; CLUSTERS RA3 clusters with relocation on;
        BUCKETS empty buckets. As the Snowflake account: its endpoint service
        (no acceptance), and in the default account CONSUMER_VPCS VPCs with
        one subnet in each zone that service serves (one endpoint to a
        service per VPC, as AWS users have it).
"""

import json
import sys
import uuid

import fixtures
import redshift_fixtures
from fixture_kit import as_account, client, options, usage_if_asked

SIGMA = "185497759670"


def load_balancers(url, count, prefix, creds=None):
    """COUNT NLBs on one VPC's two subnets: AWS allows that, and it keeps the
    emulator's VPC count (and so its per-call scans) small."""
    if count == 0:
        return []
    ec2 = client(url, "ec2", **(creds or {}))
    elb = client(url, "elbv2", **(creds or {}))
    vpc = ec2.create_vpc(CidrBlock="10.120.0.0/16")["Vpc"]["VpcId"]
    zones = fixtures.zones(ec2, 2)
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.120.{i}.0/24", AvailabilityZone=z["ZoneName"])["Subnet"]["SubnetId"]
        for i, z in enumerate(zones)
    ]
    tag = uuid.uuid4().hex[:6]
    return [
        elb.create_load_balancer(Name=f"{prefix}-{tag}-{i}", Subnets=subnets, Type="network", Scheme="internal")[
            "LoadBalancers"
        ][0]["LoadBalancerArn"]
        for i in range(count)
    ]


def accept_targets(url, count):
    """COUNT services allowing Sigma, each with a pending endpoint of Sigma's."""
    if count == 0:
        return []
    ec2 = client(url, "ec2")
    services = []
    for arn in load_balancers(url, count, "accept"):
        config = ec2.create_vpc_endpoint_service_configuration(NetworkLoadBalancerArns=[arn], AcceptanceRequired=True)[
            "ServiceConfiguration"
        ]
        ec2.modify_vpc_endpoint_service_permissions(
            ServiceId=config["ServiceId"], AddAllowedPrincipals=[f"arn:aws:iam::{SIGMA}:root"]
        )
        services.append(config)
    vendor = client(url, "ec2", **as_account(url, SIGMA))
    vpc = vendor.create_vpc(CidrBlock="10.130.0.0/16")["Vpc"]["VpcId"]
    zone = fixtures.zones(vendor, 1)[0]["ZoneName"]
    # A /20: each endpoint takes an address in it.
    subnet = vendor.create_subnet(VpcId=vpc, CidrBlock="10.130.0.0/20", AvailabilityZone=zone)["Subnet"]["SubnetId"]
    targets = []
    for config in services:
        ep = vendor.create_vpc_endpoint(
            VpcEndpointType="Interface", VpcId=vpc, ServiceName=config["ServiceName"], SubnetIds=[subnet]
        )["VpcEndpoint"]
        targets.append({"service_id": config["ServiceId"], "vpc_endpoint_id": ep["VpcEndpointId"]})
    return targets


def consumer_vpcs(url, count, zone_names):
    """COUNT VPCs (the same CIDR, as separate estates may have), each with
    one subnet in each of ZONE_NAMES."""
    ec2 = client(url, "ec2")
    found = []
    for _ in range(count):
        vpc = ec2.create_vpc(CidrBlock="10.140.0.0/16")["Vpc"]["VpcId"]
        subnets = [
            ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.140.{i}.0/24", AvailabilityZone=z)["Subnet"]["SubnetId"]
            for i, z in enumerate(zone_names)
        ]
        found.append({"vpc_id": vpc, "subnet_ids": subnets})
    return found


def buckets(url, count):
    s3 = client(url, "s3")
    tag = uuid.uuid4().hex[:8]
    names = [f"scale-{tag}-{i}" for i in range(count)]
    for name in names:
        s3.create_bucket(Bucket=name)
    return names


def estate(url, nlbs, targets, clusters, bucket_count, vpcs, snowflake_account):
    snowflake = fixtures.partner_service(url, snowflake_account, 2, False, "123456789012")
    return {
        "nlb_arns": load_balancers(url, nlbs, "publish"),
        "accept_targets": accept_targets(url, targets),
        "clusters": [redshift_fixtures.cluster(url)["cluster_identifier"] for _ in range(clusters)],
        "buckets": buckets(url, bucket_count),
        "snowflake_service": snowflake,
        "consumers": consumer_vpcs(url, vpcs, snowflake["azs"]),
    }


def main(argv):
    usage_if_asked(argv, __doc__)
    url, cmd, args = argv[1], argv[2], argv[3:]
    if cmd != "estate":
        raise SystemExit(f"unknown command {cmd}")
    _, opt = options(
        args, nlbs="0", accept_targets="0", clusters="0", buckets="0", consumer_vpcs="1", snowflake_account="889634178462"
    )
    result = estate(
        url,
        int(opt["nlbs"]),
        int(opt["accept_targets"]),
        int(opt["clusters"]),
        int(opt["buckets"]),
        int(opt["consumer_vpcs"]),
        opt["snowflake_account"],
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv)
