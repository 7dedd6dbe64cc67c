"""Creates the objects a test needs around the provider's resources (VPCs,
subnets, Network Load Balancers, a vendor-side endpoint, a partner's endpoint
service) in the AWS emulator, through boto3, and prints them as one JSON value
on stdout.

    python fixtures.py URL nlb [--name NAME] [--zones 0,1]
                                                    -> {"vpc_id","subnet_ids","nlb_arn","azs"}
        An internal NLB on one subnet in each of the Region's zones with
        those indexes (default the first two).
    python fixtures.py URL vendor-endpoint SERVICE_NAME VPC_ACCOUNT
                                                    -> {"vpc_endpoint_id","owner"}
    python fixtures.py URL state-of-endpoints SERVICE_ID -> [{"id","state","owner"}]
    python fixtures.py URL service-exists SERVICE_ID  -> {"exists": bool}
    python fixtures.py URL service-dns SERVICE_ID     -> {"private_dns_name","private_dns_name_configuration"}
        As the owner sees it (each null when the service has no such name).
    python fixtures.py URL delete-service SERVICE_ID  -> {"deleted": id}
    python fixtures.py URL partner-service [--account ACCOUNT] [--azs N]
            [--acceptance-required true|false] [--allow ACCOUNT] [--private-dns-name NAME]
            [--dns-verified true|false]
                                                    -> {"service_id","service_name","azs","az_ids","owner"}
        As ACCOUNT (default 999988887777): a VPC, N subnets (default 2) in the
        Region's first N zones, an NLB on them and an endpoint service
        (acceptance required by default) that allows arn:aws:iam::ALLOW:root
        (default 123456789012, the default test keys' account), with the
        private DNS name NAME if given, its domain verified (the owner's TXT
        record published and StartVpcEndpointServicePrivateDnsVerification
        called) unless --dns-verified false.
    python fixtures.py URL vpc-dns VPC_ID --support true|false --hostnames true|false
                                                    -> {"vpc_id","support","hostnames"}
        Sets the VPC's two DNS attributes by hand.
    python fixtures.py URL consumer-vpc [--cidr 10.40.0.0/16]
                                                    -> {"vpc_id","cidrs","subnets":[{"id","az","az_id"}]}
        In the default account: a VPC with DNS support and hostnames on, a
        second CIDR block associated (the next /16), and one /24 subnet in
        each of the Region's first 3 zones.
    python fixtures.py URL endpoint VPCE_ID         -> {"id","state","subnet_ids","network_interface_ids",
                                                        "security_group_ids","private_dns_enabled","policy"}
                                                       or {"exists": false}
    python fixtures.py URL delete-endpoint VPCE_ID  -> {"deleted": id}   (out-of-band deletion)
    python fixtures.py URL endpoints-in VPC_ID      -> [vpce id, ...]    (live endpoints in the VPC)
    python fixtures.py URL security-groups VPC_ID   -> [{"id","name","tags":{k: v},
                                                         "ingress":[{"protocol","from","to","cidrs"}]}]
                                                       (all but the VPC's default group)
    python fixtures.py URL reject-connection SERVICE_ID VPCE_ID -> {"rejected": vpce id}
        The service's owner (the default account) rejects it by hand.
    python fixtures.py URL open-group SG_ID CIDR PORT -> {"opened": sg id}
        Adds a TCP rule by hand (out-of-band drift).
    python fixtures.py URL accept-as-owner SERVICE_ID VPCE_ID --account ACCOUNT [--wait true|false]
                                                    -> {"accepted": vpce id, "state"}
        The service's owner (ACCOUNT) accepts the endpoint's connection and,
        unless --wait false, waits while AWS shows it "pending".
    python fixtures.py URL attach-open-group VPCE_ID -> {"attached": sg id}
        A new group open to 0.0.0.0/0 on 443, attached by hand beside the endpoint's.
    python fixtures.py URL tag RESOURCE_ID KEY VALUE -> {"tagged": id}   (out-of-band CreateTags)
    python fixtures.py URL tags RESOURCE_ID         -> {k: v}   (the EC2 object's tags, all of them)
    python fixtures.py URL credentials-of ACCOUNT   -> {"aws_access_key_id","aws_secret_access_key","aws_session_token"}
        Temporary credentials that act as ACCOUNT (an assumed role).
"""

import json
import sys
import time

from botocore.exceptions import ClientError

from fixture_kit import as_account, client, options, usage_if_asked


def nlb(url, name="test-nlb", creds=None, zones=(0, 1)):
    ec2 = client(url, "ec2", **(creds or {}))
    elb = client(url, "elbv2", **(creds or {}))
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    every = [z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"]]
    azs = [every[i] for i in zones]
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


def service_dns(url, service_id):
    [config] = client(url, "ec2").describe_vpc_endpoint_service_configurations(ServiceIds=[service_id])[
        "ServiceConfigurations"
    ]
    return {
        "private_dns_name": config.get("PrivateDnsName"),
        "private_dns_name_configuration": config.get("PrivateDnsNameConfiguration") or None,
    }


def delete_service(url, service_id):
    client(url, "ec2").delete_vpc_endpoint_service_configurations(ServiceIds=[service_id])
    return {"deleted": service_id}


def zones(ec2, count: int) -> list[dict]:
    """The Region's first COUNT zones, by name."""
    found = sorted(ec2.describe_availability_zones()["AvailabilityZones"], key=lambda z: z["ZoneName"])
    if count > len(found):
        raise SystemExit(f"the Region has only {len(found)} zones")
    return found[:count]


def partner_service(
    url: str,
    account: str = "999988887777",
    azs: int = 2,
    acceptance_required: bool = True,
    allow: str = "123456789012",
    private_dns_name: str = "",
    dns_verified: bool = True,
) -> dict:
    creds = as_account(url, account)
    ec2 = client(url, "ec2", **creds)
    elb = client(url, "elbv2", **creds)
    picked = zones(ec2, azs)
    vpc = ec2.create_vpc(CidrBlock="10.50.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.50.{i}.0/24", AvailabilityZone=z["ZoneName"])["Subnet"]["SubnetId"]
        for i, z in enumerate(picked)
    ]
    # NLB names are unique per account: derive one from the (unique) VPC ID.
    lb = elb.create_load_balancer(Name=f"partner-{vpc[-12:]}", Subnets=subnets, Type="network", Scheme="internal")
    config = ec2.create_vpc_endpoint_service_configuration(
        NetworkLoadBalancerArns=[lb["LoadBalancers"][0]["LoadBalancerArn"]],
        AcceptanceRequired=acceptance_required,
        **({"PrivateDnsName": private_dns_name} if private_dns_name else {}),
    )["ServiceConfiguration"]
    ec2.modify_vpc_endpoint_service_permissions(
        ServiceId=config["ServiceId"], AddAllowedPrincipals=[f"arn:aws:iam::{allow}:root"]
    )
    if private_dns_name and dns_verified:
        ec2.start_vpc_endpoint_service_private_dns_verification(ServiceId=config["ServiceId"])
    return {
        "service_id": config["ServiceId"],
        "service_name": config["ServiceName"],
        "azs": [z["ZoneName"] for z in picked],
        "az_ids": [z["ZoneId"] for z in picked],
        "owner": account,
    }


def vpc_dns(url: str, vpc_id: str, support: bool, hostnames: bool) -> dict:
    ec2 = client(url, "ec2")
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsSupport={"Value": support})
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": hostnames})
    return {"vpc_id": vpc_id, "support": support, "hostnames": hostnames}


def consumer_vpc(url: str, cidr: str = "10.40.0.0/16") -> dict:
    ec2 = client(url, "ec2")
    octets = cidr.split("/")[0].split(".")
    second = f"{octets[0]}.{int(octets[1]) + 1}.0.0/16"
    vpc = ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
    # Private DNS for an endpoint needs both VPC attributes on (AWS).
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsSupport={"Value": True})
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    ec2.associate_vpc_cidr_block(VpcId=vpc, CidrBlock=second)
    subnets = []
    for i, z in enumerate(zones(ec2, 3)):
        subnet = ec2.create_subnet(
            VpcId=vpc, CidrBlock=f"{octets[0]}.{octets[1]}.{i}.0/24", AvailabilityZone=z["ZoneName"]
        )["Subnet"]
        subnets.append({"id": subnet["SubnetId"], "az": z["ZoneName"], "az_id": z["ZoneId"]})
    return {"vpc_id": vpc, "cidrs": [cidr, second], "subnets": subnets}


def endpoint(url: str, vpce_id: str) -> dict:
    try:
        [ep] = client(url, "ec2").describe_vpc_endpoints(VpcEndpointIds=[vpce_id])["VpcEndpoints"]
    except ClientError as err:
        if err.response["Error"]["Code"] in ("InvalidVpcEndpointId.NotFound", "InvalidVpcEndpoint.NotFound"):
            return {"exists": False}
        raise
    return {
        "id": ep["VpcEndpointId"],
        "state": ep["State"],
        "subnet_ids": ep.get("SubnetIds", []),
        "network_interface_ids": ep.get("NetworkInterfaceIds", []),
        "security_group_ids": [g["GroupId"] for g in ep.get("Groups", [])],
        "private_dns_enabled": ep.get("PrivateDnsEnabled", False),
        "policy": ep.get("PolicyDocument"),
    }


def delete_endpoint(url: str, vpce_id: str) -> dict:
    out = client(url, "ec2").delete_vpc_endpoints(VpcEndpointIds=[vpce_id])
    if out.get("Unsuccessful"):
        raise SystemExit(json.dumps(out["Unsuccessful"]))
    return {"deleted": vpce_id}


def endpoints_in(url: str, vpc_id: str) -> list[str]:
    ec2 = client(url, "ec2")
    out = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["VpcEndpoints"]
    return sorted(e["VpcEndpointId"] for e in out if e["State"] not in ("deleting", "deleted"))


def security_groups(url: str, vpc_id: str) -> list[dict]:
    ec2 = client(url, "ec2")
    groups = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["SecurityGroups"]
    return [
        {
            "id": g["GroupId"],
            "name": g["GroupName"],
            "tags": {t["Key"]: t["Value"] for t in g.get("Tags", [])},
            "ingress": [
                {
                    "protocol": p["IpProtocol"],
                    "from": p.get("FromPort"),
                    "to": p.get("ToPort"),
                    "cidrs": sorted(r["CidrIp"] for r in p.get("IpRanges", [])),
                }
                for p in g.get("IpPermissions", [])
            ],
        }
        for g in sorted(groups, key=lambda g: g["GroupName"])
        if g["GroupName"] != "default"
    ]


def reject_connection(url: str, service_id: str, vpce_id: str) -> dict:
    """The service's owner rejects a connection by hand (out of band)."""
    client(url, "ec2").reject_vpc_endpoint_connections(ServiceId=service_id, VpcEndpointIds=[vpce_id])
    return {"rejected": vpce_id}


def open_group(url: str, group_id: str, cidr: str, port: int) -> dict:
    """A rule added by hand, out of band: the drift an owned group must show."""
    client(url, "ec2").authorize_security_group_ingress(
        GroupId=group_id,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "IpRanges": [{"CidrIp": cidr}]}],
    )
    return {"opened": group_id}


def attach_open_group(url: str, vpce_id: str) -> dict:
    """A group open to the world attached to the endpoint by hand, beside
    its own: the drift an endpoint with an owned group must show."""
    ec2 = client(url, "ec2")
    [ep] = ec2.describe_vpc_endpoints(VpcEndpointIds=[vpce_id])["VpcEndpoints"]
    group = ec2.create_security_group(GroupName=f"wide-open-{vpce_id}", Description="by hand", VpcId=ep["VpcId"])["GroupId"]
    open_group(url, group, "0.0.0.0/0", 443)
    ec2.modify_vpc_endpoint(VpcEndpointId=vpce_id, AddSecurityGroupIds=[group])
    return {"attached": group}


def accept_as_owner(url: str, service_id: str, vpce_id: str, account: str, wait: bool = True) -> dict:
    ec2 = client(url, "ec2", **as_account(url, account))
    out = ec2.accept_vpc_endpoint_connections(ServiceId=service_id, VpcEndpointIds=[vpce_id])
    if out.get("Unsuccessful"):
        raise SystemExit(json.dumps(out["Unsuccessful"]))
    deadline = time.monotonic() + 30
    while True:
        [conn] = ec2.describe_vpc_endpoint_connections(
            Filters=[
                {"Name": "service-id", "Values": [service_id]},
                {"Name": "vpc-endpoint-id", "Values": [vpce_id]},
            ]
        )["VpcEndpointConnections"]
        if not wait or conn["VpcEndpointState"] != "pending" or time.monotonic() > deadline:
            return {"accepted": vpce_id, "state": conn["VpcEndpointState"]}
        time.sleep(0.1)


def main(argv):
    usage_if_asked(argv, __doc__)
    url, cmd, args = argv[1], argv[2], argv[3:]
    if cmd == "nlb":
        _, opt = options(args, name="test-nlb", zones="0,1")
        result = nlb(url, opt["name"], zones=[int(i) for i in opt["zones"].split(",")])
    elif cmd == "vendor-endpoint":
        result = vendor_endpoint(url, args[0], args[1])
    elif cmd == "state-of-endpoints":
        result = state_of_endpoints(url, args[0])
    elif cmd == "delete-service":
        result = delete_service(url, args[0])
    elif cmd == "tag":
        client(url, "ec2").create_tags(Resources=[args[0]], Tags=[{"Key": args[1], "Value": args[2]}])
        result = {"tagged": args[0]}
    elif cmd == "tags":
        found = client(url, "ec2").describe_tags(Filters=[{"Name": "resource-id", "Values": [args[0]]}])["Tags"]
        result = {t["Key"]: t["Value"] for t in found}
    elif cmd == "service-exists":
        result = service_exists(url, args[0])
    elif cmd == "service-dns":
        result = service_dns(url, args[0])
    elif cmd == "partner-service":
        _, opt = options(
            args,
            account="999988887777",
            azs="2",
            acceptance_required="true",
            allow="123456789012",
            private_dns_name="",
            dns_verified="true",
        )
        result = partner_service(
            url,
            opt["account"],
            int(opt["azs"]),
            opt["acceptance_required"].lower() == "true",
            opt["allow"],
            opt["private_dns_name"],
            opt["dns_verified"].lower() == "true",
        )
    elif cmd == "vpc-dns":
        pos, opt = options(args, support="true", hostnames="true")
        result = vpc_dns(url, pos[0], opt["support"].lower() == "true", opt["hostnames"].lower() == "true")
    elif cmd == "consumer-vpc":
        _, opt = options(args, cidr="10.40.0.0/16")
        result = consumer_vpc(url, opt["cidr"])
    elif cmd == "endpoint":
        result = endpoint(url, args[0])
    elif cmd == "delete-endpoint":
        result = delete_endpoint(url, args[0])
    elif cmd == "endpoints-in":
        result = endpoints_in(url, args[0])
    elif cmd == "security-groups":
        result = security_groups(url, args[0])
    elif cmd == "reject-connection":
        result = reject_connection(url, args[0], args[1])
    elif cmd == "open-group":
        result = open_group(url, args[0], args[1], int(args[2]))
    elif cmd == "accept-as-owner":
        pos, opt = options(args, account="", wait="true")
        if len(pos) != 2 or not opt["account"]:
            raise SystemExit("usage: accept-as-owner SERVICE_ID VPCE_ID --account ACCOUNT [--wait true|false]")
        result = accept_as_owner(url, pos[0], pos[1], opt["account"], opt["wait"] == "true")
    elif cmd == "attach-open-group":
        result = attach_open_group(url, args[0])
    elif cmd == "credentials-of":
        result = as_account(url, args[0])
    else:
        raise SystemExit(f"unknown command {cmd}")
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv)
