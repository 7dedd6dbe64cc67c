"""The project's extension to moto 5.2.5 for the PrivateLink end-to-end tests.

Everything the emulator adds on top of moto lives here, in one place:

* EC2: DescribeVpcEndpointConnections, AcceptVpcEndpointConnections,
  RejectVpcEndpointConnections; interface endpoints to a service with
  AcceptanceRequired=true start ``pendingAcceptance``; AvailabilityZoneIds on
  ServiceConfiguration and ServiceDetail.
* Redshift: AvailabilityZoneRelocation on CreateCluster/ModifyCluster and
  AvailabilityZoneRelocationStatus on the cluster; AuthorizeEndpointAccess,
  RevokeEndpointAccess, DescribeEndpointAuthorization and a minimal
  CreateEndpointAccess / DescribeEndpointAccess / DeleteEndpointAccess.
* Admin hooks under ``/_privatelink/`` (request log, fault injection, reset),
  implemented by wrapping moto's WSGI app.

The AWS handlers are added as methods on moto's own response classes (moto
dispatches ``Action=Foo`` to ``foo``) and return ``ActionResult`` objects, so
moto serialises them with botocore's service model, i.e. in AWS's documented
XML shapes and envelopes, and errors in each service's error format. State
lives on moto's per-account, per-region backends, so moto's reset clears it.

Call :func:`apply` once before serving, then wrap the WSGI app with
:func:`wrap_app`.
"""

from __future__ import annotations

import base64
import json
import random
import threading
import time
import uuid
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Iterator
from urllib.parse import parse_qs

from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult

ADMIN_PREFIX = "/_privatelink/"

# A fully revoked Redshift endpoint authorization stays visible with Status
# "Revoking" for this many DescribeEndpointAuthorization answers that show it,
# or this many seconds, whichever comes first, then disappears.
REVOKING_DESCRIBES = 2
REVOKING_SECONDS = 5.0

_applied = False


class AwsError(ServiceException):
    """An AWS error with a code; moto serialises it in the service's format."""

    def __init__(self, code: str, message: str):
        super().__init__(code, message)


def _utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode()


def _decode_token(token: str | None, code: str) -> int:
    if not token:
        return 0
    try:
        offset = int(json.loads(base64.urlsafe_b64decode(token.encode()))["o"])
        if offset < 0:
            raise ValueError
        return offset
    except Exception:
        raise AwsError(code, f"Invalid pagination token: {token}")


def _page(items: list, offset: int, limit: int) -> tuple[list, str | None]:
    page = items[offset : offset + limit]
    nxt = _encode_token(offset + limit) if offset + limit < len(items) else None
    return page, nxt


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def _backends(backend_dict: Any) -> Iterator[tuple[str, str, Any]]:
    """(account, region, backend) for every backend moto has created so far."""
    for account_id, per_account in list(backend_dict.items()):
        for region, backend in list(per_account.items()):
            yield account_id, region, backend


# --------------------------------------------------------------------------
# EC2
# --------------------------------------------------------------------------


def _ec2_backends() -> Iterator[tuple[str, str, Any]]:
    from moto.ec2.models import ec2_backends

    return _backends(ec2_backends)


def _az_ids_for(ec2_backend: Any, zone_names: Iterable[str]) -> list[str]:
    """Map AZ names to IDs as moto's DescribeAvailabilityZones reports them."""
    mapping = {z.name: z.zone_id for z in ec2_backend.describe_availability_zones()}
    ids: list[str] = []
    for name in zone_names:
        zone_id = mapping.get(name)
        if zone_id and zone_id not in ids:
            ids.append(zone_id)
    return ids


def _service_by_name(service_name: str) -> tuple[Any, Any] | None:
    for _, _, backend in _ec2_backends():
        for config in list(getattr(backend, "configurations", {}).values()):
            if config.service_name == service_name:
                return backend, config
    return None


def _connections_of(config: Any, region: str) -> list[Any]:
    """Endpoints in any account of the emulator that target this service."""
    found = []
    for _, ep_region, backend in _ec2_backends():
        if ep_region != region:
            continue
        for endpoint in list(getattr(backend, "vpc_end_points", {}).values()):
            if endpoint.service_name == config.service_name:
                found.append(endpoint)
    found.sort(key=lambda e: (e.creation_timestamp, e.id))
    return found


def _connection_id(endpoint: Any) -> str:
    if not getattr(endpoint, "_pl_connection_id", None):
        endpoint._pl_connection_id = f"vpce-con-{uuid.uuid4().hex[:17]}"
    return endpoint._pl_connection_id


def _connection_dict(config: Any, endpoint: Any) -> dict[str, Any]:
    return {
        "ServiceId": config.id,
        "VpcEndpointId": endpoint.id,
        "VpcEndpointOwner": endpoint.ec2_backend.account_id,
        "VpcEndpointState": endpoint.state,
        "CreationTimestamp": endpoint.creation_timestamp,
        "DnsEntries": list(endpoint.dns_entries or []),
        "NetworkLoadBalancerArns": list(config.network_load_balancer_arns),
        "GatewayLoadBalancerArns": list(config.gateway_load_balancer_arns),
        "IpAddressType": "ipv4",
        "VpcEndpointConnectionId": _connection_id(endpoint),
        "VpcEndpointRegion": endpoint.ec2_backend.region_name,
    }


_CONNECTION_FILTERS = {
    "service-id": "ServiceId",
    "vpc-endpoint-id": "VpcEndpointId",
    "vpc-endpoint-owner": "VpcEndpointOwner",
    "vpc-endpoint-state": "VpcEndpointState",
    "ip-address-type": "IpAddressType",
    "vpc-endpoint-region": "VpcEndpointRegion",
}


def _describe_vpc_endpoint_connections(self: Any) -> ActionResult:
    filters = self._filters_from_querystring()
    for name in filters:
        if name not in _CONNECTION_FILTERS:
            raise AwsError("InvalidParameterValue", f"The filter '{name}' is invalid")
    max_results = self._get_int_param("MaxResults")
    if max_results is not None and not 5 <= max_results <= 1000:
        raise AwsError(
            "InvalidParameterValue",
            f"Value ( {max_results} ) for parameter maxResults is invalid. "
            "Expecting a value between 5 and 1000.",
        )
    offset = _decode_token(self._get_param("NextToken"), "InvalidPaginationToken")
    items = []
    for config in list(self.ec2_backend.configurations.values()):
        for endpoint in _connections_of(config, self.region):
            item = _connection_dict(config, endpoint)
            if all(str(item[_CONNECTION_FILTERS[n]]) in v for n, v in filters.items()):
                items.append(item)
    page, next_token = _page(items, offset, max_results or 1000)
    result: dict[str, Any] = {"VpcEndpointConnections": page}
    if next_token:
        result["NextToken"] = next_token
    return ActionResult(result)


def _decide_connections(self: Any, new_state: str, allowed_from: tuple[str, ...]) -> ActionResult:
    service_id = self._get_param("ServiceId")
    config = self.ec2_backend.configurations.get(service_id)
    if config is None:
        # Only the service owner's account can see or act on its connections.
        raise AwsError(
            "InvalidVpcEndpointServiceId.NotFound",
            f"The Vpc Endpoint Service Id '{service_id}' does not exist",
        )
    endpoint_ids = self._get_param("VpcEndpointIds", [])
    connections = {e.id: e for e in _connections_of(config, self.region)}
    unsuccessful = []
    for endpoint_id in endpoint_ids:
        endpoint = connections.get(endpoint_id)
        if endpoint is None:
            unsuccessful.append(
                {
                    "ResourceId": endpoint_id,
                    "Error": {
                        "Code": "InvalidVpcEndpointId.NotFound",
                        "Message": f"The Vpc Endpoint Id '{endpoint_id}' does not exist",
                    },
                }
            )
        elif endpoint.state not in allowed_from:
            unsuccessful.append(
                {
                    "ResourceId": endpoint_id,
                    "Error": {
                        "Code": "InvalidState",
                        "Message": f"Endpoint {endpoint_id} is in state "
                        f"'{endpoint.state}', not in {', '.join(allowed_from)}",
                    },
                }
            )
        else:
            endpoint.state = new_state
    return ActionResult({"Unsuccessful": unsuccessful})


def _accept_vpc_endpoint_connections(self: Any) -> ActionResult:
    return _decide_connections(self, "available", ("pendingAcceptance",))


def _reject_vpc_endpoint_connections(self: Any) -> ActionResult:
    # AWS: a connection can also be rejected once it is available.
    return _decide_connections(self, "rejected", ("pendingAcceptance", "available"))


def _patch_ec2() -> None:
    from moto.ec2.models.vpc_service_configuration import VPCServiceConfiguration
    from moto.ec2.models.vpcs import VPCBackend
    from moto.ec2.responses import EC2Response

    # AvailabilityZoneIds, from the region's name -> ID mapping.
    def availability_zone_ids(config: Any) -> list[str]:
        return _az_ids_for(config.ec2_backend, config.availability_zones)

    VPCServiceConfiguration.availability_zone_ids = property(availability_zone_ids)

    original_to_dict = VPCServiceConfiguration.to_dict

    def to_dict(config: Any) -> dict[str, Any]:
        detail = original_to_dict(config)
        detail.setdefault("AvailabilityZoneIds", availability_zone_ids(config))
        return detail

    VPCServiceConfiguration.to_dict = to_dict

    # AcceptanceRequired=true: interface endpoints start pendingAcceptance.
    original_create = VPCBackend.create_vpc_endpoint

    def create_vpc_endpoint(backend: Any, *args: Any, **kwargs: Any) -> Any:
        endpoint = original_create(backend, *args, **kwargs)
        if (endpoint.vpc_endpoint_type or "").lower() == "interface":
            found = _service_by_name(endpoint.service_name)
            if found and _truthy(found[1].acceptance_required):
                owner_backend, _ = found
                # The owner's own endpoints are accepted automatically (AWS).
                if owner_backend.account_id != backend.account_id:
                    endpoint.state = "pendingAcceptance"
        return endpoint

    VPCBackend.create_vpc_endpoint = create_vpc_endpoint

    EC2Response.describe_vpc_endpoint_connections = _describe_vpc_endpoint_connections
    EC2Response.accept_vpc_endpoint_connections = _accept_vpc_endpoint_connections
    EC2Response.reject_vpc_endpoint_connections = _reject_vpc_endpoint_connections


# --------------------------------------------------------------------------
# Redshift
# --------------------------------------------------------------------------


class _Authorization:
    def __init__(self, grantor: str, grantee: str, cluster_id: str, vpcs: list[str]):
        self.grantor = grantor
        self.grantee = grantee
        self.cluster_identifier = cluster_id
        self.authorize_time = _utcnow()
        self.status = "Authorized"
        self.allowed_vpcs = list(vpcs)
        self.revoked_at: float | None = None
        self.revoking_shown = 0

    @property
    def allowed_all_vpcs(self) -> bool:
        return not self.allowed_vpcs


def _redshift_backends() -> Iterator[tuple[str, str, Any]]:
    from moto.redshift.models import redshift_backends

    return _backends(redshift_backends)


def _redshift_backend(account_id: str, region: str) -> Any:
    from moto.redshift.models import redshift_backends

    return redshift_backends[account_id][region]


def _auths(backend: Any) -> dict[tuple[str, str], _Authorization]:
    if not hasattr(backend, "_pl_authorizations"):
        backend._pl_authorizations = {}
    return backend._pl_authorizations


def _endpoint_accesses(backend: Any) -> dict[str, dict[str, Any]]:
    if not hasattr(backend, "_pl_endpoint_accesses"):
        backend._pl_endpoint_accesses = {}
    return backend._pl_endpoint_accesses


def _sweep_revoking(backend: Any) -> None:
    now = time.monotonic()
    auths = _auths(backend)
    for key, auth in list(auths.items()):
        if auth.status == "Revoking" and (
            auth.revoking_shown >= REVOKING_DESCRIBES
            or now - (auth.revoked_at or now) >= REVOKING_SECONDS
        ):
            del auths[key]


def _endpoints_for(auth: _Authorization, region: str, vpcs: list[str] | None = None) -> list[dict[str, Any]]:
    """The grantee's Redshift-managed endpoints to the authorised cluster."""
    grantee_backend = _redshift_backend(auth.grantee, region)
    return [
        ep
        for ep in _endpoint_accesses(grantee_backend).values()
        if ep["ResourceOwner"] == auth.grantor
        and ep["ClusterIdentifier"] == auth.cluster_identifier
        and (vpcs is None or ep["VpcEndpoint"]["VpcId"] in vpcs)
    ]


def _auth_dict(auth: _Authorization, region: str) -> dict[str, Any]:
    grantor_backend = _redshift_backend(auth.grantor, region)
    cluster = grantor_backend.clusters.get(auth.cluster_identifier)
    return {
        "Grantor": auth.grantor,
        "Grantee": auth.grantee,
        "ClusterIdentifier": auth.cluster_identifier,
        "AuthorizeTime": auth.authorize_time,
        "ClusterStatus": cluster.status if cluster else "deleting",
        "Status": auth.status,
        "AllowedAllVPCs": auth.allowed_all_vpcs,
        "AllowedVPCs": list(auth.allowed_vpcs),
        "EndpointCount": len(_endpoints_for(auth, region)),
    }


def _cluster_or_fault(backend: Any, cluster_id: str | None) -> Any:
    cluster = backend.clusters.get(cluster_id or "")
    if cluster is None:
        raise AwsError("ClusterNotFound", f"Cluster {cluster_id} not found.")
    return cluster


def _max_records(self: Any) -> int:
    max_records = self._get_param("MaxRecords")
    if max_records is None:
        return 100
    max_records = int(max_records)
    if not 20 <= max_records <= 100:
        raise AwsError(
            "InvalidParameterValue",
            "MaxRecords must be between 20 and 100.",
        )
    return max_records


def _authorize_endpoint_access(self: Any) -> ActionResult:
    backend = self.redshift_backend
    grantee = self._get_param("Account")
    cluster_id = self._get_param("ClusterIdentifier")
    vpc_ids = list(dict.fromkeys(self._get_param("VpcIds") or []))
    cluster = _cluster_or_fault(backend, cluster_id)
    if not str(cluster.node_type or "").startswith("ra3."):
        raise AwsError(
            "UnsupportedOperation",
            "Redshift-managed VPC endpoints are supported only for RA3 node types.",
        )
    if getattr(cluster, "availability_zone_relocation_status", "disabled") != "enabled":
        raise AwsError(
            "UnsupportedOperation",
            "Redshift-managed VPC endpoints require cluster relocation to be enabled.",
        )
    if cluster.status != "available":
        raise AwsError(
            "InvalidClusterState",
            f"The cluster {cluster_id} is in state {cluster.status}, not available.",
        )
    _sweep_revoking(backend)
    auths = _auths(backend)
    key = (cluster.cluster_identifier, grantee)
    auth = auths.get(key)
    if auth is None:
        auth = _Authorization(backend.account_id, grantee, cluster.cluster_identifier, vpc_ids)
        auths[key] = auth
    elif auth.status != "Authorized":
        raise AwsError(
            "InvalidAuthorizationState",
            f"The authorization for account {grantee} is in state {auth.status}.",
        )
    else:
        # A second call for the same grantee adds the given VPCs to it.
        new = [v for v in vpc_ids if v not in auth.allowed_vpcs]
        if auth.allowed_all_vpcs or not new:
            raise AwsError(
                "EndpointAuthorizationAlreadyExists",
                f"Account {grantee} is already authorized to access cluster "
                f"{cluster.cluster_identifier}"
                + ("" if auth.allowed_all_vpcs or not vpc_ids else " from these VPCs")
                + ".",
            )
        auth.allowed_vpcs.extend(new)
    return ActionResult(_auth_dict(auth, self.region))


def _revoke_endpoint_access(self: Any) -> ActionResult:
    backend = self.redshift_backend
    grantee = self._get_param("Account")
    cluster_id = self._get_param("ClusterIdentifier")
    vpc_ids = list(dict.fromkeys(self._get_param("VpcIds") or []))
    force = _truthy(self._get_param("Force") or False)
    _sweep_revoking(backend)
    auths = _auths(backend)
    if cluster_id:
        _cluster_or_fault(backend, cluster_id)
        auth = auths.get((cluster_id, grantee))
    else:
        matches = [a for (_, g), a in auths.items() if g == grantee]
        auth = matches[0] if len(matches) == 1 else None
    if auth is None:
        raise AwsError(
            "EndpointAuthorizationNotFound",
            f"No endpoint authorization found for account {grantee}"
            + (f" on cluster {cluster_id}." if cluster_id else "."),
        )
    if auth.status != "Authorized":
        raise AwsError(
            "InvalidAuthorizationState",
            f"The authorization for account {grantee} is in state {auth.status}.",
        )
    if vpc_ids:
        if auth.allowed_all_vpcs:
            raise AwsError(
                "InvalidAuthorizationState",
                f"Account {grantee} is authorized for all VPCs; revoke the whole "
                "authorization instead of single VPCs.",
            )
        missing = [v for v in vpc_ids if v not in auth.allowed_vpcs]
        if missing:
            raise AwsError(
                "EndpointAuthorizationNotFound",
                f"VPCs {', '.join(missing)} are not authorized for account {grantee}.",
            )
    full = not vpc_ids or set(vpc_ids) >= set(auth.allowed_vpcs)
    endpoints = _endpoints_for(auth, self.region, None if full else vpc_ids)
    if endpoints and not force:
        raise AwsError(
            "InvalidEndpointState",
            f"Account {grantee} has {len(endpoints)} Redshift-managed VPC "
            "endpoint(s) using this authorization; delete them first or revoke "
            "with Force.",
        )
    grantee_endpoints = _endpoint_accesses(_redshift_backend(auth.grantee, self.region))
    for endpoint in endpoints:
        grantee_endpoints.pop(endpoint["EndpointName"], None)
    if full:
        auth.status = "Revoking"
        auth.revoked_at = time.monotonic()
    else:
        auth.allowed_vpcs = [v for v in auth.allowed_vpcs if v not in vpc_ids]
    return ActionResult(_auth_dict(auth, self.region))


def _describe_endpoint_authorization(self: Any) -> ActionResult:
    account = self._get_param("Account")
    cluster_id = self._get_param("ClusterIdentifier")
    as_grantee = _truthy(self._get_param("Grantee") or False)
    limit = _max_records(self)
    offset = _decode_token(self._get_param("Marker"), "InvalidParameterValue")
    if as_grantee:
        found = []
        for grantor, region, backend in _redshift_backends():
            if region != self.region or (account and grantor != account):
                continue
            _sweep_revoking(backend)
            found.extend(
                a
                for a in _auths(backend).values()
                if a.grantee == self.current_account
                and (not cluster_id or a.cluster_identifier == cluster_id)
            )
    else:
        backend = self.redshift_backend
        if cluster_id:
            _cluster_or_fault(backend, cluster_id)
        _sweep_revoking(backend)
        found = [
            a
            for a in _auths(backend).values()
            if (not account or a.grantee == account)
            and (not cluster_id or a.cluster_identifier == cluster_id)
        ]
    found.sort(key=lambda a: (a.authorize_time, a.grantor, a.cluster_identifier, a.grantee))
    page, marker = _page(found, offset, limit)
    for auth in page:
        if auth.status == "Revoking":
            auth.revoking_shown += 1
    result: dict[str, Any] = {
        "EndpointAuthorizationList": [_auth_dict(a, self.region) for a in page]
    }
    if marker:
        result["Marker"] = marker
    return ActionResult(result)


def _create_endpoint_access(self: Any) -> ActionResult:
    caller = self.current_account
    owner = self._get_param("ResourceOwner") or caller
    cluster_id = self._get_param("ClusterIdentifier")
    name = self._get_param("EndpointName")
    subnet_group_name = self._get_param("SubnetGroupName")
    sg_ids = self._get_param("VpcSecurityGroupIds") or []
    owner_backend = _redshift_backend(owner, self.region)
    cluster = _cluster_or_fault(owner_backend, cluster_id)
    mine = _endpoint_accesses(self.redshift_backend)
    if name in mine:
        raise AwsError("EndpointAlreadyExists", f"Endpoint {name} already exists.")
    subnet_group = self.redshift_backend.subnet_groups.get(subnet_group_name)
    if subnet_group is None:
        raise AwsError(
            "ClusterSubnetGroupNotFoundFault",
            f"Subnet group {subnet_group_name} not found.",
        )
    subnets = list(subnet_group.subnets)
    vpc_id = subnets[0].vpc_id if subnets else None
    if owner != caller:
        _sweep_revoking(owner_backend)
        auth = _auths(owner_backend).get((cluster.cluster_identifier, caller))
        if (
            auth is None
            or auth.status != "Authorized"
            or (not auth.allowed_all_vpcs and vpc_id not in auth.allowed_vpcs)
        ):
            raise AwsError(
                "AccessToClusterDenied",
                f"Account {caller} is not authorized to access cluster "
                f"{cluster_id} from VPC {vpc_id}.",
            )
    endpoint = {
        "ClusterIdentifier": cluster.cluster_identifier,
        "ResourceOwner": owner,
        "SubnetGroupName": subnet_group_name,
        "EndpointStatus": "active",
        "EndpointName": name,
        "EndpointCreateTime": _utcnow(),
        "Port": cluster.port,
        "Address": f"{name}-endpoint-{uuid.uuid4().hex[:16]}.{cluster.unique_cluster_id}."
        f"{self.region}.redshift.amazonaws.com",
        "VpcSecurityGroups": [
            {"VpcSecurityGroupId": sg, "Status": "active"} for sg in sg_ids
        ],
        "VpcEndpoint": {
            "VpcEndpointId": f"vpce-{uuid.uuid4().hex[:17]}",
            "VpcId": vpc_id,
            "NetworkInterfaces": [
                {
                    "NetworkInterfaceId": f"eni-{uuid.uuid4().hex[:17]}",
                    "SubnetId": s.id,
                    "PrivateIpAddress": f"10.0.{i}.{10 + i}",
                    "AvailabilityZone": s.availability_zone,
                }
                for i, s in enumerate(subnets[:1])
            ],
        },
    }
    mine[name] = endpoint
    return ActionResult(endpoint)


def _describe_endpoint_access(self: Any) -> ActionResult:
    cluster_id = self._get_param("ClusterIdentifier")
    owner = self._get_param("ResourceOwner")
    name = self._get_param("EndpointName")
    vpc_id = self._get_param("VpcId")
    limit = _max_records(self)
    offset = _decode_token(self._get_param("Marker"), "InvalidParameterValue")
    mine = _endpoint_accesses(self.redshift_backend)
    if name and name not in mine:
        raise AwsError("EndpointNotFound", f"Endpoint {name} not found.")
    found = [
        ep
        for ep in mine.values()
        if (not cluster_id or ep["ClusterIdentifier"] == cluster_id)
        and (not owner or ep["ResourceOwner"] == owner)
        and (not name or ep["EndpointName"] == name)
        and (not vpc_id or ep["VpcEndpoint"]["VpcId"] == vpc_id)
    ]
    page, marker = _page(found, offset, limit)
    result: dict[str, Any] = {"EndpointAccessList": page}
    if marker:
        result["Marker"] = marker
    return ActionResult(result)


def _delete_endpoint_access(self: Any) -> ActionResult:
    name = self._get_param("EndpointName")
    endpoint = _endpoint_accesses(self.redshift_backend).pop(name, None)
    if endpoint is None:
        raise AwsError("EndpointNotFound", f"Endpoint {name} not found.")
    return ActionResult(dict(endpoint, EndpointStatus="deleting"))


def _patch_redshift() -> None:
    from moto.redshift.models import Cluster
    from moto.redshift.responses import RedshiftResponse

    Cluster.availability_zone_relocation_status = "disabled"

    def relocation_wrapper(original: Callable[[Any], ActionResult]) -> Callable[[Any], ActionResult]:
        def handler(self: Any) -> ActionResult:
            result = original(self)
            value = self._get_param("AvailabilityZoneRelocation")
            cluster = result.result.get("Cluster") if isinstance(result.result, dict) else None
            if cluster is not None and value is not None:
                cluster.availability_zone_relocation_status = (
                    "enabled" if _truthy(value) else "disabled"
                )
            return result

        handler.__name__ = original.__name__
        return handler

    RedshiftResponse.create_cluster = relocation_wrapper(RedshiftResponse.create_cluster)
    RedshiftResponse.modify_cluster = relocation_wrapper(RedshiftResponse.modify_cluster)
    RedshiftResponse.authorize_endpoint_access = _authorize_endpoint_access
    RedshiftResponse.revoke_endpoint_access = _revoke_endpoint_access
    RedshiftResponse.describe_endpoint_authorization = _describe_endpoint_authorization
    RedshiftResponse.create_endpoint_access = _create_endpoint_access
    RedshiftResponse.describe_endpoint_access = _describe_endpoint_access
    RedshiftResponse.delete_endpoint_access = _delete_endpoint_access


def _patch_elbv2() -> None:
    """moto names every load balancer `loadbalancer/app/...`; AWS names
    Network Load Balancers `loadbalancer/net/...`, and the provider checks
    for that form."""
    from moto.elbv2.models import ELBv2Backend

    original = ELBv2Backend.create_load_balancer

    def create_load_balancer(self, *args, **kwargs):
        lb = original(self, *args, **kwargs)
        if getattr(lb, "type", None) == "network" or kwargs.get("loadbalancer_type") == "network":
            old = lb.arn
            new = old.replace(":loadbalancer/app/", ":loadbalancer/net/", 1)
            if new != old:
                self.load_balancers.pop(old, None)
                lb.arn = new
                self.load_balancers[new] = lb
                tags = self.tagging_service.list_tags_for_resource(old).get("Tags", [])
                self.tagging_service.delete_all_tags_for_resource(old)
                if tags:
                    self.tagging_service.tag_resource(new, tags)
        return lb

    ELBv2Backend.create_load_balancer = create_load_balancer


def apply() -> None:
    """Install the extension into moto's classes (idempotent)."""
    global _applied
    if _applied:
        return
    _patch_ec2()
    _patch_redshift()
    _patch_elbv2()
    _applied = True


# --------------------------------------------------------------------------
# Admin hooks: request log, fault injection, reset (WSGI middleware)
# --------------------------------------------------------------------------

_S3_SUBRESOURCES = {
    "cors": "BucketCors",
    "policy": "BucketPolicy",
    "tagging": "BucketTagging",
    "versioning": "BucketVersioning",
    "acl": "BucketAcl",
    "lifecycle": "BucketLifecycleConfiguration",
    "encryption": "BucketEncryption",
    "website": "BucketWebsite",
    "logging": "BucketLogging",
    "notification": "BucketNotificationConfiguration",
    "ownershipControls": "BucketOwnershipControls",
    "publicAccessBlock": "PublicAccessBlock",
    "replication": "BucketReplication",
    "policyStatus": "BucketPolicyStatus",
    "location": "BucketLocation",
    "object-lock": "ObjectLockConfiguration",
    "accelerate": "BucketAccelerateConfiguration",
    "requestPayment": "BucketRequestPayment",
}
_S3_VERB = {"GET": "Get", "PUT": "Put", "DELETE": "Delete", "HEAD": "Head", "POST": "Post"}


def _s3_operation(
    method: str, path: str, query: dict[str, list[str]], host: str, copy: bool = False
) -> str:
    """A coarse S3 REST operation name from method, path and query keys."""
    parts = [p for p in path.split("/") if p]
    # Virtual-hosted style: bucket.s3.<...>
    if ".s3." in host or host.split(":")[0].endswith(".s3.amazonaws.com"):
        parts = [host.split(".s3.")[0]] + parts
    verb = _S3_VERB.get(method, method.title())
    if not parts:
        return "ListBuckets" if method == "GET" else f"{verb}Service"
    on_object = len(parts) > 1
    if method == "POST" and "delete" in query:
        return "DeleteObjects"
    if "uploads" in query:
        return "CreateMultipartUpload" if method == "POST" else "ListMultipartUploads"
    if "uploadId" in query:
        return {
            "PUT": "UploadPart",
            "POST": "CompleteMultipartUpload",
            "DELETE": "AbortMultipartUpload",
            "GET": "ListParts",
        }.get(method, f"{verb}MultipartUpload")
    for key in query:
        if key == "tagging" and on_object:
            return f"{verb}ObjectTagging"
        if key == "acl" and on_object:
            return f"{verb}ObjectAcl"
        if key in _S3_SUBRESOURCES:
            return f"{verb}{_S3_SUBRESOURCES[key]}"
    if on_object:
        if method == "PUT" and copy:
            return "CopyObject"
        return f"{verb}Object"
    if method == "GET":
        return "ListObjectsV2" if query.get("list-type") == ["2"] else "ListObjects"
    return {"PUT": "CreateBucket", "DELETE": "DeleteBucket", "HEAD": "HeadBucket"}.get(
        method, f"{verb}Bucket"
    )


def _error_body(style: str, code: str, message: str, status: int, request_id: str) -> tuple[str, bytes]:
    from xml.sax.saxutils import escape

    code_x, msg_x = escape(code), escape(message)
    if style == "ec2":
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Response><Errors><Error><Code>{code_x}</Code><Message>{msg_x}</Message>"
            f"</Error></Errors><RequestID>{request_id}</RequestID></Response>"
        )
        return "text/xml;charset=UTF-8", body.encode()
    if style == "s3":
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{code_x}</Code><Message>{msg_x}</Message>"
            f"<RequestId>{request_id}</RequestId></Error>"
        )
        return "application/xml", body.encode()
    if style == "json":
        return "application/x-amz-json-1.1", json.dumps(
            {"__type": code, "message": message}
        ).encode()
    kind = "Receiver" if status >= 500 else "Sender"
    body = (
        f"<ErrorResponse><Error><Type>{kind}</Type><Code>{code_x}</Code>"
        f"<Message>{msg_x}</Message></Error><RequestId>{request_id}</RequestId>"
        "</ErrorResponse>"
    )
    return "text/xml", body.encode()


class AdminMiddleware:
    """Wraps moto's WSGI app: request log, fault injection and reset hooks."""

    def __init__(self, app: Callable[..., Any]):
        self.app = app
        self.lock = threading.Lock()
        self.log: list[dict[str, Any]] = []
        self.faults: list[dict[str, Any]] = []
        self.throttle: dict[str, Any] | None = None
        self.rng = random.Random(0)

    # -- request classification -------------------------------------------

    @staticmethod
    def _read_body(environ: dict[str, Any]) -> bytes:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        body = environ["wsgi.input"].read(length) if length > 0 else b""
        import io

        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        return body

    def classify(self, environ: dict[str, Any], body: bytes) -> tuple[str, str, str, str]:
        """(service, action, account, error style) of an AWS request."""
        auth = environ.get("HTTP_AUTHORIZATION", "")
        service, access_key = "unknown", ""
        if "Credential=" in auth:
            credential = auth.split("Credential=", 1)[1].split(",", 1)[0].strip()
            fields = credential.split("/")
            access_key = fields[0]
            if len(fields) >= 4:
                service = fields[3].lower()
        query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        form: dict[str, list[str]] = {}
        content_type = environ.get("CONTENT_TYPE", "")
        if "x-www-form-urlencoded" in content_type and body:
            form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        if service == "unknown":
            service = "sts" if (form.get("Action") or query.get("Action") or [""])[0] in (
                "AssumeRoleWithWebIdentity",
                "AssumeRoleWithSAML",
            ) else service
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        action = (form.get("Action") or query.get("Action") or [""])[0]
        if not action and target:
            action = target.split(".")[-1]
        if not action and service == "s3":
            action = _s3_operation(
                environ.get("REQUEST_METHOD", "GET"),
                environ.get("PATH_INFO", "/"),
                query,
                environ.get("HTTP_HOST", ""),
                "HTTP_X_AMZ_COPY_SOURCE" in environ,
            )
        if not action:
            action = f"{environ.get('REQUEST_METHOD')} {environ.get('PATH_INFO')}"
        account = environ.get("HTTP_X_MOTO_ACCOUNT_ID", "")
        if not account:
            try:
                from moto.iam.models import get_account_id_from

                account = get_account_id_from(access_key or "AKIAEXAMPLE")
            except Exception:
                account = ""
        if service == "ec2":
            style = "ec2"
        elif service == "s3":
            style = "s3"
        elif target or "amz-json" in content_type:
            style = "json"
        else:
            style = "query"
        return service, action, account, style

    # -- faults ------------------------------------------------------------

    def _fault_for(self, service: str, action: str) -> tuple[str, str, int] | None:
        with self.lock:
            for fault in self.faults:
                if fault["count"] <= 0:
                    continue
                if fault.get("service") not in (None, "*", service):
                    continue
                if fault.get("action") not in (None, "*", action):
                    continue
                fault["count"] -= 1
                return (
                    fault["code"],
                    fault.get("message") or f"Injected fault: {fault['code']}",
                    int(fault.get("status", 400)),
                )
            throttle = self.throttle
            if throttle and (not throttle["actions"] or action in throttle["actions"]):
                if throttle["services"] and service not in throttle["services"]:
                    return None
                if self.rng.random() < throttle["fraction"]:
                    if service == "ec2":
                        return "RequestLimitExceeded", "Request limit exceeded.", 503
                    return "Throttling", "Rate exceeded", 400
        return None

    # -- admin API ------------------------------------------------------------

    def _json(self, start_response: Callable[..., Any], status: int, payload: Any) -> list[bytes]:
        body = json.dumps(payload).encode()
        reason = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed"}
        start_response(
            f"{status} {reason.get(status, 'OK')}",
            [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
        )
        return [body]

    def _faults_state(self) -> dict[str, Any]:
        return {
            "faults": [dict(f) for f in self.faults if f["count"] > 0],
            "throttle": dict(self.throttle) if self.throttle else None,
        }

    def _set_faults(self, payload: Any) -> None:
        items = payload if isinstance(payload, list) else [payload]
        for item in items:
            if not isinstance(item, dict):
                raise ValueError("each fault must be a JSON object")
            if "throttle_fraction" in item:
                fraction = float(item["throttle_fraction"])
                if not 0.0 <= fraction <= 1.0:
                    raise ValueError("throttle_fraction must be within [0, 1]")
                self.throttle = {
                    "fraction": fraction,
                    "actions": list(item.get("actions") or []),
                    "services": list(item.get("services") or []),
                    "seed": item.get("seed", 0),
                }
                self.rng = random.Random(item.get("seed", 0))
                continue
            if "code" not in item:
                raise ValueError("a fault needs 'code' (or 'throttle_fraction')")
            self.faults.append(
                {
                    "service": item.get("service"),
                    "action": item.get("action"),
                    "code": str(item["code"]),
                    "message": item.get("message"),
                    "status": int(item.get("status", 400)),
                    "count": int(item.get("count", 1)),
                }
            )

    def _reset_moto(self, environ: dict[str, Any]) -> None:
        import io

        inner = {
            key: value
            for key, value in environ.items()
            if not key.startswith("HTTP_") and key not in ("CONTENT_TYPE", "CONTENT_LENGTH")
        }
        inner.update(
            {
                "REQUEST_METHOD": "POST",
                "PATH_INFO": "/moto-api/reset",
                "QUERY_STRING": "",
                "HTTP_HOST": environ.get("HTTP_HOST", "localhost"),
                "CONTENT_LENGTH": "0",
                "wsgi.input": io.BytesIO(b""),
            }
        )
        seen: dict[str, str] = {}

        def start(status: str, headers: list, exc_info: Any = None) -> Callable[[bytes], None]:
            seen["status"] = status
            return lambda _data: None

        for _ in self.app(inner, start):
            pass
        if not seen.get("status", "").startswith("200"):
            raise RuntimeError(f"moto reset answered {seen.get('status')}")

    def admin(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "")[len(ADMIN_PREFIX) :].strip("/")
        body = self._read_body(environ)
        try:
            payload = json.loads(body) if body.strip() else {}
        except ValueError:
            return self._json(start_response, 400, {"error": "body is not JSON"})
        if path == "requests":
            with self.lock:
                if method == "GET":
                    return self._json(start_response, 200, list(self.log))
                if method == "DELETE":
                    cleared = len(self.log)
                    self.log.clear()
                    return self._json(start_response, 200, {"cleared": cleared})
        elif path == "faults":
            with self.lock:
                if method == "GET":
                    return self._json(start_response, 200, self._faults_state())
                if method == "POST":
                    try:
                        self._set_faults(payload)
                    except (ValueError, TypeError) as err:
                        return self._json(start_response, 400, {"error": str(err)})
                    return self._json(start_response, 200, self._faults_state())
                if method == "DELETE":
                    self.faults.clear()
                    self.throttle = None
                    return self._json(start_response, 200, self._faults_state())
        elif path == "reset":
            if method == "POST":
                self._reset_moto(environ)
                with self.lock:
                    self.log.clear()
                    self.faults.clear()
                    self.throttle = None
                return self._json(start_response, 200, {"reset": True})
        else:
            return self._json(start_response, 404, {"error": f"no admin hook {path!r}"})
        return self._json(start_response, 405, {"error": f"{method} not allowed on {path}"})

    # -- WSGI ------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith(ADMIN_PREFIX):
            return self.admin(environ, start_response)
        if path.startswith("/moto-api"):
            return self.app(environ, start_response)
        body = self._read_body(environ)
        service, action, account, style = self.classify(environ, body)
        entry = {"service": service, "action": action, "status": 0, "account": account}
        fault = self._fault_for(service, action)
        if fault is not None:
            code, message, status = fault
            request_id = str(uuid.uuid4())
            content_type, err = _error_body(style, code, message, status, request_id)
            entry["status"] = status
            with self.lock:
                self.log.append(entry)
            headers = [
                ("Content-Type", content_type),
                ("Content-Length", str(len(err))),
                ("x-amzn-RequestId", request_id),
            ]
            if style == "json":
                headers.append(("x-amzn-ErrorType", code))
            start_response(f"{status} Injected", headers)
            return [err]

        def recording_start(status: str, headers: list, exc_info: Any = None) -> Any:
            try:
                entry["status"] = int(status.split(" ", 1)[0])
            except ValueError:
                entry["status"] = 0
            return start_response(status, headers, exc_info)

        try:
            if style == "ec2":
                return self._call_ec2(environ, start_response, entry)
            return self.app(environ, recording_start)
        finally:
            with self.lock:
                self.log.append(entry)

    def _call_ec2(
        self, environ: dict[str, Any], start_response: Callable[..., Any], entry: dict[str, Any]
    ) -> list[bytes]:
        """Calls moto for an EC2 request and fixes its envelope the way AWS
        sends it: the namespace ends in a slash, requestId is a UUID, and the
        error document has no namespace."""
        captured: dict[str, Any] = {}
        chunks: list[bytes] = []

        def capture(status: str, headers: list, exc_info: Any = None) -> Callable[[bytes], None]:
            captured["status"], captured["headers"] = status, headers
            return chunks.append

        result = self.app(environ, capture)
        try:
            for chunk in result:
                chunks.append(chunk)
        finally:
            if hasattr(result, "close"):
                result.close()
        body = b"".join(chunks)
        request_id = str(uuid.uuid4())
        body = body.replace(
            b'xmlns="http://ec2.amazonaws.com/doc/2016-11-15"',
            b'xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"',
        )
        body = body.replace(
            b'<Response xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><Errors>',
            b"<Response><Errors>",
        )
        for tag in (b"requestId", b"RequestID"):
            body = body.replace(
                b"<%s>request-id</%s>" % (tag, tag), b"<%s>%s</%s>" % (tag, request_id.encode(), tag)
            )
        status = captured.get("status", "500 Internal Server Error")
        try:
            entry["status"] = int(status.split(" ", 1)[0])
        except ValueError:
            entry["status"] = 0
        headers = [(k, v) for k, v in captured.get("headers", []) if k.lower() != "content-length"]
        headers.append(("Content-Length", str(len(body))))
        start_response(status, headers)
        return [body]


def wrap_app(app: Callable[..., Any]) -> AdminMiddleware:
    return AdminMiddleware(app)
