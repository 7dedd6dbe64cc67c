"""Creates and inspects the Redshift objects around privatelink_redshift_endpoint_grant
in the AWS emulator, through boto3, and prints them as one JSON value on stdout
(the same convention as fixtures.py).

    python redshift_fixtures.py URL cluster [--node-type ra3.xlplus] [--relocation true|false]
            [--port 5439]               -> {"cluster_identifier","node_type","port","relocation",
                                            "availability_zone","availability_zone_id","account"}
        A single-node cluster in the default account (123456789012) with a
        fresh identifier; the AZ ID is looked up through EC2.
    python redshift_fixtures.py URL set-relocation CLUSTER true|false
                                        -> {"cluster_identifier","relocation"}
    python redshift_fixtures.py URL delete-cluster CLUSTER
                                        -> {"deleted": cluster}   (out-of-band deletion)
    python redshift_fixtures.py URL authorization CLUSTER ACCOUNT
                                        -> {"exists": false} or {"exists": true,"status","grantor",
                                            "allowed_all_vpcs","allowed_vpcs","endpoint_count"}
        The grantor's view of the grant (note: a Revoking grant counts towards
        the describes after which the emulator forgets it).
    python redshift_fixtures.py URL authorize CLUSTER ACCOUNT [VPC ...]
    python redshift_fixtures.py URL revoke CLUSTER ACCOUNT [VPC ...] [--force true]
                                        -> the grant as AWS answers (out-of-band changes)
    python redshift_fixtures.py URL grantee-vpc --account ACCOUNT [--cidr 10.60.0.0/16]
                                        -> {"vpc_id","subnet_ids","account"}
        As ACCOUNT: a VPC with one subnet in the Region's first zone.
    python redshift_fixtures.py URL grantee-endpoint CLUSTER VPC_ID --account ACCOUNT
            [--owner 123456789012]      -> {"endpoint_name","vpc_id","status"}
        As ACCOUNT: a cluster subnet group over the VPC's subnets and a
        Redshift-managed endpoint to OWNER's cluster in it.
    python redshift_fixtures.py URL grantee-endpoints CLUSTER --account ACCOUNT
                                        -> [endpoint name, ...]   (ACCOUNT's endpoints to CLUSTER)
"""

import json
import sys
import uuid

from botocore.exceptions import ClientError

from fixture_kit import OWNER, as_account, client, options, usage_if_asked


def cluster(url, node_type="ra3.xlplus", relocation=True, port=5439):
    rs = client(url, "redshift")
    cluster_id = f"c-{uuid.uuid4().hex[:10]}"
    rs.create_cluster(
        ClusterIdentifier=cluster_id,
        NodeType=node_type,
        MasterUsername="admin",
        MasterUserPassword="Password1",
        ClusterType="single-node",
        Port=port,
        AvailabilityZoneRelocation=relocation,
    )
    [c] = rs.describe_clusters(ClusterIdentifier=cluster_id)["Clusters"]
    [zone] = client(url, "ec2").describe_availability_zones(ZoneNames=[c["AvailabilityZone"]])["AvailabilityZones"]
    return {
        "cluster_identifier": cluster_id,
        "node_type": c["NodeType"],
        "port": c["Endpoint"]["Port"],
        "relocation": c["AvailabilityZoneRelocationStatus"],
        "availability_zone": c["AvailabilityZone"],
        "availability_zone_id": zone["ZoneId"],
        "account": OWNER,
    }


def set_relocation(url, cluster_id, on):
    rs = client(url, "redshift")
    rs.modify_cluster(ClusterIdentifier=cluster_id, AvailabilityZoneRelocation=on)
    [c] = rs.describe_clusters(ClusterIdentifier=cluster_id)["Clusters"]
    return {"cluster_identifier": cluster_id, "relocation": c["AvailabilityZoneRelocationStatus"]}


def delete_cluster(url, cluster_id):
    client(url, "redshift").delete_cluster(ClusterIdentifier=cluster_id, SkipFinalClusterSnapshot=True)
    return {"deleted": cluster_id}


def grant_dict(a):
    return {
        "exists": True,
        "status": a["Status"],
        "grantor": a["Grantor"],
        "grantee": a["Grantee"],
        "allowed_all_vpcs": a["AllowedAllVPCs"],
        "allowed_vpcs": sorted(a.get("AllowedVPCs", [])),
        "endpoint_count": a["EndpointCount"],
    }


def authorization(url, cluster_id, account):
    try:
        found = client(url, "redshift").describe_endpoint_authorization(ClusterIdentifier=cluster_id, Account=account)[
            "EndpointAuthorizationList"
        ]
    except ClientError as err:
        if err.response["Error"]["Code"] == "ClusterNotFound":
            return {"exists": False}
        raise
    return grant_dict(found[0]) if found else {"exists": False}


def authorize(url, cluster_id, account, vpcs):
    kwargs = {"VpcIds": vpcs} if vpcs else {}
    out = client(url, "redshift").authorize_endpoint_access(ClusterIdentifier=cluster_id, Account=account, **kwargs)
    return grant_dict(out)


def revoke(url, cluster_id, account, vpcs, force=False):
    kwargs = {"VpcIds": vpcs} if vpcs else {}
    out = client(url, "redshift").revoke_endpoint_access(
        ClusterIdentifier=cluster_id, Account=account, Force=force, **kwargs
    )
    return grant_dict(out)


def grantee_vpc(url, account, cidr="10.60.0.0/16"):
    ec2 = client(url, "ec2", **as_account(url, account))
    zone = sorted(z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"])[0]
    vpc = ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
    octets = cidr.split("/")[0].split(".")
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock=f"{octets[0]}.{octets[1]}.1.0/24", AvailabilityZone=zone)[
        "Subnet"
    ]["SubnetId"]
    return {"vpc_id": vpc, "subnet_ids": [subnet], "account": account}


def grantee_endpoint(url, cluster_id, vpc_id, account, owner=OWNER):
    creds = as_account(url, account)
    ec2 = client(url, "ec2", **creds)
    rs = client(url, "redshift", **creds)
    subnets = [s["SubnetId"] for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]]
    group = f"grantee-{uuid.uuid4().hex[:8]}"
    rs.create_cluster_subnet_group(ClusterSubnetGroupName=group, Description="grantee endpoint", SubnetIds=subnets)
    name = f"ep-{uuid.uuid4().hex[:8]}"
    out = rs.create_endpoint_access(
        ClusterIdentifier=cluster_id, ResourceOwner=owner, EndpointName=name, SubnetGroupName=group
    )
    return {"endpoint_name": out["EndpointName"], "vpc_id": out["VpcEndpoint"]["VpcId"], "status": out["EndpointStatus"]}


def grantee_endpoints(url, cluster_id, account):
    rs = client(url, "redshift", **as_account(url, account))
    found = rs.describe_endpoint_access(ClusterIdentifier=cluster_id)["EndpointAccessList"]
    return sorted(e["EndpointName"] for e in found)


def truth(text):
    if text.lower() not in ("true", "false"):
        raise SystemExit(f"expected true or false, not {text!r}")
    return text.lower() == "true"


def main(argv):
    usage_if_asked(argv, __doc__)
    url, cmd, args = argv[1], argv[2], argv[3:]
    if cmd == "cluster":
        _, opt = options(args, node_type="ra3.xlplus", relocation="true", port="5439")
        result = cluster(url, opt["node_type"], truth(opt["relocation"]), int(opt["port"]))
    elif cmd == "set-relocation":
        pos, _ = options(args)
        result = set_relocation(url, pos[0], truth(pos[1]))
    elif cmd == "delete-cluster":
        pos, _ = options(args)
        result = delete_cluster(url, pos[0])
    elif cmd == "authorization":
        pos, _ = options(args)
        result = authorization(url, pos[0], pos[1])
    elif cmd == "authorize":
        pos, _ = options(args)
        result = authorize(url, pos[0], pos[1], pos[2:])
    elif cmd == "revoke":
        pos, opt = options(args, force="false")
        result = revoke(url, pos[0], pos[1], pos[2:], truth(opt["force"]))
    elif cmd == "grantee-vpc":
        _, opt = options(args, account="", cidr="10.60.0.0/16")
        if not opt["account"]:
            raise SystemExit("usage: grantee-vpc --account ACCOUNT [--cidr CIDR]")
        result = grantee_vpc(url, opt["account"], opt["cidr"])
    elif cmd == "grantee-endpoint":
        pos, opt = options(args, account="", owner=OWNER)
        if len(pos) != 2 or not opt["account"]:
            raise SystemExit("usage: grantee-endpoint CLUSTER VPC_ID --account ACCOUNT [--owner OWNER]")
        result = grantee_endpoint(url, pos[0], pos[1], opt["account"], opt["owner"])
    elif cmd == "grantee-endpoints":
        pos, opt = options(args, account="")
        if len(pos) != 1 or not opt["account"]:
            raise SystemExit("usage: grantee-endpoints CLUSTER --account ACCOUNT")
        result = grantee_endpoints(url, pos[0], opt["account"])
    else:
        raise SystemExit(f"unknown command {cmd}")
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv)
