"""The project's extension to moto 5.2.5 for the PrivateLink end-to-end tests.

Everything the emulator adds on top of moto lives here, in one place:

* EC2, provider side: DescribeVpcEndpointConnections,
  AcceptVpcEndpointConnections (an accepted connection is ``pending``
  for a moment, then ``available``), RejectVpcEndpointConnections;
  AvailabilityZones/AvailabilityZoneIds that follow the service's NLBs;
  SupportedRegions that always list the home Region, with Region names
  checked and the home Region not removable; SupportedIpAddressTypes;
  RemovePrivateDnsName on ModifyVpcEndpointServiceConfiguration; a private
  DNS name starts ``pendingVerification`` with its own TXT record, and
  StartVpcEndpointServicePrivateDnsVerification marks it ``verified`` (no
  DNS lookup); ClientToken idempotency of
  CreateVpcEndpointServiceConfiguration.
* EC2, consumer side: DescribeVpcEndpointServices shows the partner services
  of every emulated account that the caller owns or is allowed (else
  InvalidServiceName), as full ServiceDetails, with the documented filters
  and paging. Interface endpoints (CreateVpcEndpoint, ModifyVpcEndpoint,
  DeleteVpcEndpoints) check the service's visibility, its zones
  (InvalidParameter), one subnet per zone (DuplicateSubnetsInSameZone) and
  the security groups, and for private DNS the service's private DNS name
  and the VPC's DNS attributes, before creating anything; keep one requester-managed
  ENI per subnet carrying the endpoint's groups (the VPC's default group when
  none is given); answer AWS's DNS entries, the full-access default policy,
  ``pendingAcceptance`` when the service requires acceptance, and ClientToken
  idempotency (IdempotentParameterMismatch). Deleted endpoints are gone
  (InvalidVpcEndpointId.NotFound; InvalidVpcEndpoint.NotFound in
  DeleteVpcEndpoints' Unsuccessful list). DescribeVpcEndpoints accepts its
  documented filters. Services of customers and partners report
  VpcEndpointPolicySupported false and take only the full-access policy.
  CreateSecurityGroup takes names and descriptions only in EC2's character
  set; DeleteSecurityGroup refuses a group that network interfaces use
  (DependencyViolation). Any EC2 call with over 200 filter values is
  refused (FilterLimitExceeded).
* Redshift: AvailabilityZoneRelocation on CreateCluster/ModifyCluster and
  AvailabilityZoneRelocationStatus on the cluster; AuthorizeEndpointAccess,
  RevokeEndpointAccess, DescribeEndpointAuthorization and a minimal
  CreateEndpointAccess / DescribeEndpointAccess / DeleteEndpointAccess.
* S3 and IAM: principals in trust and bucket policies must exist and have
  propagated (Invalid principal in policy); S3 refuses non-JSON bucket
  policies; IAM DeletePolicy refuses attached or multi-version policies;
  attaching an already attached policy changes nothing. An S3 call signed
  for another Region than its bucket's is redirected (301
  PermanentRedirect with x-amz-bucket-region).
* Admin hooks under ``/_privatelink/`` (request log, fault injection with
  count-based faults and a seeded fraction of throttling and 5xx answers,
  how long an accepted connection stays pending and a rejected one still
  stops its service's deletion, holds that keep a served
  call's answer back, reset), implemented by
  wrapping moto's WSGI app.

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
import functools
import json
import random
import re
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

# An accepted connection is "pending" for this long before "available", as
# AWS moves it (the admin hook `faults` sets it with
# {"accepted_pending_seconds": N}; reset brings this default back).
ACCEPTED_PENDING_SECONDS_DEFAULT = 0.3
_accepted_pending_seconds = ACCEPTED_PENDING_SECONDS_DEFAULT

# EC2 is eventually consistent: for this long after a rejection, a rejected
# connection still stops its service's deletion as a live one does. None by
# default; the admin hook `faults` sets it with {"rejected_counted_seconds": N}.
_rejected_counted_seconds = 0.0

# Interface endpoints AWS could not set up (no free address in a subnet,
# say) end "failed" with a FailureReason. The admin hook `faults` queues
# such reasons with {"endpoint_failure": REASON, "count": N}: the next N
# interface endpoints created come up failed with it.
_endpoint_failures: list[str] = []

_applied = False


def _bucket_elsewhere(environ: dict[str, Any], account: str, action: str) -> str | None:
    """The Region of the bucket an S3 call names, when the call is signed
    for another Region."""
    # GetBucketLocation is how a client finds the Region: served anywhere.
    if action in ("ListBuckets", "CreateBucket", "GetBucketLocation") or not account:
        return None
    auth = environ.get("HTTP_AUTHORIZATION", "")
    if "Credential=" not in auth:
        return None
    scope = auth.split("Credential=", 1)[1].split(",", 1)[0].strip().split("/")
    if len(scope) < 3:
        return None
    host = environ.get("HTTP_HOST", "")
    parts = [p for p in environ.get("PATH_INFO", "/").split("/") if p]
    name = host.split(".s3.")[0] if ".s3." in host else (parts[0] if parts else None)
    if not name:
        return None
    from moto.s3.models import s3_backends

    bucket = s3_backends[account]["aws"].buckets.get(name)
    if bucket is None or bucket.region_name == scope[2]:
        return None
    return bucket.region_name


# EC2 takes at most this many filter values in one call, across all filters.
EC2_FILTER_VALUES = 200
_FILTER_VALUE = re.compile(r"Filter\.\d+\.Value\.\d+")


def _filter_values(body: bytes) -> int:
    try:
        params = parse_qs(body.decode("utf-8"))
    except UnicodeDecodeError:
        return 0
    return sum(1 for key in params if _FILTER_VALUE.fullmatch(key))


_SECURITY_GROUP_TEXT = re.compile(r"[A-Za-z0-9 ._\-:/()#,@\[\]+=&;{}!$*]{1,255}")


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


def _owned_service(self: Any, service_id: str) -> Any:
    """The caller's own service configuration: only its owner's account can
    see or act on a service's connections and settings."""
    config = self.ec2_backend.configurations.get(service_id)
    if config is None:
        raise AwsError(
            "InvalidVpcEndpointServiceId.NotFound",
            f"The Vpc Endpoint Service Id '{service_id}' does not exist",
        )
    return config


def _decide_connections(self: Any, new_state: str, allowed_from: tuple[str, ...]) -> ActionResult:
    service_id = self._get_param("ServiceId")
    config = _owned_service(self, service_id)
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
        elif new_state == "available":
            # Accepted: "pending" first, as AWS shows it.
            endpoint.state = "pending"
            endpoint._pl_available_at = time.monotonic() + _accepted_pending_seconds
        else:
            endpoint.state = new_state
            endpoint._pl_rejected_at = time.monotonic()
    return ActionResult({"Unsuccessful": unsuccessful})


def _accept_vpc_endpoint_connections(self: Any) -> ActionResult:
    return _decide_connections(self, "available", ("pendingAcceptance",))


def _reject_vpc_endpoint_connections(self: Any) -> ActionResult:
    # AWS: a connection can also be rejected once it is accepted.
    return _decide_connections(self, "rejected", ("pendingAcceptance", "pending", "available"))


# AWS: "Before you delete the endpoint service configuration, you must reject
# any Available or PendingAcceptance interface endpoint connections that are
# attached to the service" (DeleteVpcEndpointServiceConfigurations). A
# service that still has one stays, named in Unsuccessful with the code
# ExistingVpcEndpointConnections; moto deletes it.
_CONNECTION_STATES_BLOCKING_DELETE = ("available", "pendingAcceptance")


def _delete_vpc_endpoint_service_configurations(self: Any) -> ActionResult:
    service_ids = list(dict.fromkeys(self._get_param("ServiceIds", []) or []))
    unsuccessful = []
    deletable = []
    for service_id in service_ids:
        config = self.ec2_backend.configurations.get(service_id)
        connected = config is not None and any(_still_counted(e) for e in _connections_of(config, self.region))
        if connected:
            unsuccessful.append(
                {
                    "ResourceId": service_id,
                    "Error": {
                        "Code": "ExistingVpcEndpointConnections",
                        "Message": f"Service {service_id} has existing active VPC Endpoint connections",
                    },
                }
            )
        else:
            deletable.append(service_id)
    for missing in self.ec2_backend.delete_vpc_endpoint_service_configurations(deletable):
        unsuccessful.append(
            {
                "ResourceId": missing,
                "Error": {
                    "Code": "InvalidVpcEndpointService.NotFound",
                    "Message": f"The VpcEndpointService Id '{missing}' does not exist",
                },
            }
        )
    return ActionResult({"Unsuccessful": unsuccessful})


def _reset_lifecycles() -> None:
    global _accepted_pending_seconds, _rejected_counted_seconds
    _accepted_pending_seconds = ACCEPTED_PENDING_SECONDS_DEFAULT
    _rejected_counted_seconds = 0.0
    _endpoint_failures.clear()


def _lifecycle_seconds(item: dict[str, Any], name: str) -> float:
    """A lifecycle knob of the faults hook: seconds within [0, 600]."""
    seconds = float(item[name])
    if not 0.0 <= seconds <= 600.0:
        raise ValueError(f"{name} must be within [0, 600]")
    return seconds


def _still_counted(endpoint: Any) -> bool:
    """Whether a connection stops its service's deletion."""
    if endpoint.state in _CONNECTION_STATES_BLOCKING_DELETE:
        return True
    rejected_at = getattr(endpoint, "_pl_rejected_at", None)
    return (
        endpoint.state == "rejected"
        and rejected_at is not None
        and time.monotonic() - rejected_at < _rejected_counted_seconds
    )


def _endpoint_state(endpoint: Any) -> str | None:
    state = endpoint.__dict__.get("_pl_state")
    if state == "pending" and time.monotonic() >= endpoint.__dict__.get("_pl_available_at", 0.0):
        state = endpoint.__dict__["_pl_state"] = "available"
    return state


def _set_endpoint_state(endpoint: Any, state: str) -> None:
    endpoint.__dict__["_pl_state"] = state


# -- Endpoint services as consumers see them --------------------------------

# Route 53 hosted zone that holds the vpce.amazonaws.com names of a Region
# (AWS answers this ID in every DnsEntry of an interface endpoint there).
_VPCE_HOSTED_ZONES = {"us-east-1": "Z7HUB22UULQXV"}

# What AWS stores when an endpoint is created (or its policy reset) without
# a policy document: full access.
_FULL_ACCESS_POLICY = json.dumps(
    {
        "Version": "2008-10-17",
        "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}],
    }
)

_IDEMPOTENCY_MISMATCH = (
    "Arguments on this idempotent request are inconsistent with arguments used "
    "in previous request(s)."
)


def _random_label(length: int, alphabet: str = "abcdefghijklmnopqrstuvwxyz0123456789") -> str:
    return "".join(random.choice(alphabet) for _ in range(length))


def _is_partner_service_name(service_name: str) -> bool:
    """Endpoint services created by an account (not AWS's own services)."""
    return service_name.startswith("com.amazonaws.vpce.")


def _service_zones(config: Any) -> list[str]:
    """The zones of the service's load balancers as they are now (AWS serves
    an endpoint service in the zones its NLBs are enabled in)."""
    from moto.elbv2.models import elbv2_backends

    stored: list[str] = config.__dict__.setdefault("_pl_zones", [])
    backend = getattr(config, "ec2_backend", None)
    if backend is None:
        # Still in moto's constructor, which fills the list from the NLBs.
        return stored
    elbv2 = elbv2_backends[backend.account_id][backend.region_name]
    zones: list[str] = []
    found_any = False
    for arn in list(config.network_load_balancer_arns) + list(config.gateway_load_balancer_arns):
        lb = elbv2.load_balancers.get(arn)
        if lb is None:
            continue
        found_any = True
        for subnet in lb.subnets:
            if subnet.availability_zone not in zones:
                zones.append(subnet.availability_zone)
    # Load balancers deleted behind moto's back: keep the zones seen at creation.
    return zones if found_any else list(stored)


def _principal_allows(principal: str, account: str) -> bool:
    # "*" or any ARN in the account (its root, a role or a user). A role- or
    # user-scoped principal is taken for the whole account: the emulator does
    # not track which principal signed a request.
    return principal == "*" or principal.startswith(f"arn:aws:iam::{account}:")


def _visible_to(config: Any, account: str) -> bool:
    """AWS lists a private endpoint service only to its owner and to the
    principals it allows."""
    if config.ec2_backend.account_id == account:
        return True
    return any(_principal_allows(p, account) for p in config.principals)


def _visible_services(account: str, region: str) -> list[Any]:
    """Endpoint services of every emulated account in the Region that the
    caller may see."""
    found = []
    for _, svc_region, backend in _ec2_backends():
        if svc_region != region:
            continue
        for config in list(getattr(backend, "configurations", {}).values()):
            if _visible_to(config, account):
                found.append(config)
    return found


def _invalid_service_name(service_name: str) -> AwsError:
    # AWS's answer both for a name that does not exist and for a private
    # service the caller is not allowed to see.
    return AwsError("InvalidServiceName", f"The Vpc Endpoint Service '{service_name}' does not exist")


def _consumable_service(backend: Any, service_name: str) -> Any | None:
    """The partner service an endpoint in this backend may connect to; None
    for AWS's own services (left to moto); InvalidServiceName otherwise."""
    if not _is_partner_service_name(service_name):
        return None
    found = _service_by_name(service_name)
    if found is None:
        raise _invalid_service_name(service_name)
    owner_backend, config = found
    if owner_backend.region_name != backend.region_name or not _visible_to(
        config, backend.account_id
    ):
        raise _invalid_service_name(service_name)
    return config


def _tag_list(resource: Any) -> list[dict[str, str]]:
    return [{"Key": t["key"], "Value": t["value"]} for t in resource.get_tags()]


def _service_detail(config: Any) -> dict[str, Any]:
    """A ServiceDetail as DescribeVpcEndpointServices answers it."""
    backend = config.ec2_backend
    zones = _service_zones(config)
    detail: dict[str, Any] = {
        "ServiceName": config.service_name,
        "ServiceId": config.id,
        "ServiceType": [{"ServiceType": config._service_type_name}],
        "ServiceRegion": backend.region_name,
        "AvailabilityZoneIds": _az_ids_for(backend, zones),
        "AvailabilityZones": zones,
        "Owner": backend.account_id,
        "BaseEndpointDnsNames": [config.endpoint_dns_name],
        "PrivateDnsNames": [],
        # Endpoint services of customers and partners (vpce-svc-...) take
        # only the full-access policy; AWS's own services answer true.
        "VpcEndpointPolicySupported": False,
        "AcceptanceRequired": _truthy(config.acceptance_required),
        "ManagesVpcEndpoints": bool(config.manages_vpc_endpoints),
        "Tags": _tag_list(config),
        "SupportedIpAddressTypes": ["ipv4"],
    }
    if config.private_dns_name:
        detail["PrivateDnsName"] = config.private_dns_name
        detail["PrivateDnsNames"] = [{"PrivateDnsName": config.private_dns_name}]
        # As its owner sees it in PrivateDnsNameConfiguration.
        detail["PrivateDnsNameVerificationState"] = _private_dns_name_configuration(config).get("State")
    return detail


_SERVICE_FILTERS = (
    "owner",
    "service-name",
    "service-region",
    "service-type",
    "supported-ip-address-types",
    "tag-key",
)


def _service_matches(detail: dict[str, Any], filters: dict[str, list[str]]) -> bool:
    tags = {t["Key"]: t["Value"] for t in detail.get("Tags") or []}
    for name, values in filters.items():
        if name == "owner":
            have = [detail.get("Owner", "")]
        elif name == "service-name":
            have = [detail.get("ServiceName", "")]
        elif name == "service-region":
            have = [detail.get("ServiceRegion", "")]
        elif name == "service-type":
            have = [t.get("ServiceType", "") for t in detail.get("ServiceType") or []]
        elif name == "supported-ip-address-types":
            have = list(detail.get("SupportedIpAddressTypes") or [])
        elif name == "tag-key":
            have = list(tags)
        else:  # tag:<key>
            key = name[len("tag:") :]
            have = [tags[key]] if key in tags else []
        if not any(h in values for h in have):
            return False
    return True


def _describe_vpc_endpoint_services(self: Any) -> ActionResult:
    """AWS's services plus every visible partner service of any emulated
    account, filtered with the documented filters and paged."""
    from moto.ec2.models.vpcs import VPCBackend

    names = list(dict.fromkeys(self._get_param("ServiceNames", []) or []))
    filters = self._filters_from_querystring()
    for name in filters:
        if name not in _SERVICE_FILTERS and not name.startswith("tag:"):
            # Only the filters in the API reference exist (no "service-id").
            raise AwsError("InvalidParameterValue", f"The filter '{name}' is invalid")
    max_results = self._get_int_param("MaxResults")
    offset = _decode_token(self._get_param("NextToken"), "InvalidNextToken")

    details: list[dict[str, Any]] = []
    for default in VPCBackend._collect_default_endpoint_services(self.current_account, self.region):
        item = dict(default)
        item.setdefault("ServiceRegion", self.region)
        details.append(item)
    details += [_service_detail(c) for c in _visible_services(self.current_account, self.region)]

    known = {d["ServiceName"] for d in details}
    for name in names:
        if name not in known:
            raise _invalid_service_name(name)
    details = [
        d
        for d in details
        if (not names or d["ServiceName"] in names) and _service_matches(d, filters)
    ]
    details.sort(key=lambda d: d["ServiceName"])
    # AWS returns at most 1,000 items a page, whatever MaxResults says.
    limit = min(max_results or 1000, 1000)
    page, next_token = _page(details, offset, limit)
    result: dict[str, Any] = {
        "ServiceNames": [d["ServiceName"] for d in page],
        "ServiceDetails": page,
    }
    if next_token:
        result["NextToken"] = next_token
    return ActionResult(result)


# -- Interface endpoints -----------------------------------------------------


def _subnets_for_endpoint(
    backend: Any, vpc_id: str, service_name: str, config: Any | None, subnet_ids: list[str]
) -> list[Any]:
    """The subnets, checked the way AWS checks them before creating anything:
    each exists and is in the endpoint's VPC, its zone is one the service
    serves, and no two share a zone."""
    subnets = [backend.get_subnet(s) for s in subnet_ids]  # InvalidSubnetID.NotFound
    for subnet in subnets:
        if subnet.vpc_id != vpc_id:
            raise AwsError(
                "InvalidParameter",
                f"The subnet '{subnet.id}' does not belong to the VPC '{vpc_id}'.",
            )
    if config is not None:
        zones = _service_zones(config)
        for subnet in subnets:
            if subnet.availability_zone not in zones:
                raise AwsError(
                    "InvalidParameter",
                    f"The VPC endpoint service {service_name} does not support the "
                    f"availability zone of the subnet: {subnet.id}.",
                )
    seen: dict[str, str] = {}
    for subnet in subnets:
        if subnet.availability_zone in seen:
            raise AwsError(
                "DuplicateSubnetsInSameZone",
                f"Found another VPC endpoint subnet in the availability zone of {subnet.id}. "
                "VPC endpoint subnets should be in different availability zones supported "
                "by the VPC endpoint service.",
            )
        seen[subnet.availability_zone] = subnet.id
    return subnets


def _groups_for_endpoint(backend: Any, vpc_id: str, group_ids: list[str]) -> list[str]:
    """The security groups, checked; with none given, the VPC's default group
    (AWS's documented default)."""
    for group_id in group_ids:
        group = backend.get_security_group_from_id(group_id)
        if group is None:
            raise AwsError("InvalidGroup.NotFound", f"The security group '{group_id}' does not exist")
        if group.vpc_id != vpc_id:
            raise AwsError(
                "InvalidGroup.NotFound",
                f"The security group '{group_id}' does not exist in VPC '{vpc_id}'",
            )
    if group_ids:
        return group_ids
    default = backend.get_default_security_group(vpc_id)
    return [default.id] if default else []


def _endpoint_dns_entries(endpoint: Any, config: Any | None) -> list[dict[str, str]]:
    """The regional name, one name per zone, and the service's private DNS
    name when private DNS is on, in AWS's vpce.amazonaws.com forms."""
    backend = endpoint.ec2_backend
    region = backend.region_name
    if config is not None:
        base = f"{config.id}.{region}.vpce.amazonaws.com"
    else:
        # AWS services: com.amazonaws.<region>.<service> -> <service>.<region>.vpce...
        short = endpoint.service_name.split(f".{region}.", 1)[-1]
        base = f"{short}.{region}.vpce.amazonaws.com"
    zone_id = _VPCE_HOSTED_ZONES.get(region) or "Z" + uuid.uuid5(
        uuid.NAMESPACE_DNS, f"vpce.{region}"
    ).hex[:12].upper()
    prefix = f"{endpoint.id}-{endpoint._pl_dns_label}"
    entries = [{"DnsName": f"{prefix}.{base}", "HostedZoneId": zone_id}]
    for subnet_id in endpoint.subnet_ids or []:
        zone = backend.get_subnet(subnet_id).availability_zone
        entries.append({"DnsName": f"{prefix}-{zone}.{base}", "HostedZoneId": zone_id})
    if endpoint.private_dns_enabled and config is not None and config.private_dns_name:
        entries.append(
            {"DnsName": config.private_dns_name, "HostedZoneId": endpoint._pl_private_zone}
        )
    return entries


def _sync_endpoint_enis(backend: Any, endpoint: Any) -> None:
    """One requester-managed network interface per subnet, carrying the
    endpoint's security groups; interfaces of removed subnets go away."""
    enis: dict[str, str] = endpoint._pl_enis
    for subnet_id in list(enis):
        if subnet_id not in endpoint.subnet_ids:
            backend.enis.pop(enis.pop(subnet_id), None)
    groups = [backend.get_security_group_from_id(g) for g in endpoint.security_group_ids]
    for subnet_id in endpoint.subnet_ids:
        eni = backend.enis.get(enis.get(subnet_id, ""))
        if eni is None:
            # No address given: moto picks one inside the subnet's CIDR.
            eni = backend.create_network_interface(
                subnet_id,
                None,
                group_ids=list(endpoint.security_group_ids),
                description=f"VPC Endpoint Interface {endpoint.id}",
            )
            eni.interface_type = "vpc_endpoint"
            eni.requester_managed = True
            enis[subnet_id] = eni.id
        eni._group_set = [g for g in groups if g is not None]
    endpoint.network_interface_ids = [enis[s] for s in endpoint.subnet_ids]


def _refresh_endpoint(backend: Any, endpoint: Any) -> None:
    config = _consumable_service_quiet(endpoint.service_name)
    _sync_endpoint_enis(backend, endpoint)
    endpoint.dns_entries = _endpoint_dns_entries(endpoint, config)


def _consumable_service_quiet(service_name: str) -> Any | None:
    found = _service_by_name(service_name) if _is_partner_service_name(service_name) else None
    return found[1] if found else None


def _check_private_dns(backend: Any, vpc_id: str, service_name: str, config: Any | None) -> None:
    """AWS refuses private DNS for a partner service without a private DNS
    name, and in a VPC without both DNS support and DNS hostnames on."""
    if config is not None and not config.private_dns_name:
        raise AwsError(
            "InvalidParameter",
            f"Private DNS can't be enabled because the service {service_name} "
            "does not provide a private DNS name.",
        )
    vpc = backend.get_vpc(vpc_id)
    if not (_truthy(vpc.enable_dns_support) and _truthy(vpc.enable_dns_hostnames)):
        raise AwsError(
            "InvalidParameter",
            "Enabling private DNS requires both enableDnsSupport and enableDnsHostnames "
            f"VPC attributes set to true for {vpc_id}",
        )


def _refuse_private_dns_before_acceptance(service_name: str) -> None:
    raise AwsError(
        "InvalidParameter",
        "Private DNS can only be enabled after the endpoint connection is accepted "
        f"by the owner of {service_name}.",
    )


def _will_await_acceptance(backend: Any, config: Any | None) -> bool:
    """An endpoint to this service starts pendingAcceptance: the service
    accepts by hand and belongs to another account (AWS accepts the
    owner's own endpoints at once)."""
    return (
        config is not None
        and _truthy(config.acceptance_required)
        and config.ec2_backend.account_id != backend.account_id
    )


def _private_dns_checked(original: _Handler) -> _Handler:
    """CreateVpcEndpoint asking for private DNS outright is checked first.
    (moto also turns private DNS on when the parameter is left out, AWS's
    documented default; that case is left as moto has it.)"""

    def create(self: Any) -> ActionResult:
        interface = (self._get_param("VpcEndpointType") or "").lower() == "interface"
        if interface and _truthy(self._get_param("PrivateDnsEnabled") or False):
            backend = self.ec2_backend
            service_name = self._get_param("ServiceName")
            vpc_id = self._get_param("VpcId")
            backend.get_vpc(vpc_id)  # InvalidVpcID.NotFound
            config = _consumable_service(backend, service_name)
            _check_private_dns(backend, vpc_id, service_name, config)
            # AWS turns private DNS on only for an accepted connection.
            if _will_await_acceptance(backend, config):
                _refuse_private_dns_before_acceptance(service_name)
        return original(self)

    return create


def _is_full_access(policy: str) -> bool:
    """One statement allowing every principal every action on everything."""
    try:
        doc = json.loads(policy)
    except ValueError:
        return False
    statements = doc.get("Statement") if isinstance(doc, dict) else None
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list) or len(statements) != 1:
        return False
    [st] = statements
    if not isinstance(st, dict) or not set(st) <= {"Sid", "Effect", "Principal", "Action", "Resource"}:
        return False  # a Condition, NotAction or NotResource narrows it
    anything = lambda v: v == "*" or v == ["*"]  # noqa: E731
    principal = st.get("Principal")
    everyone = anything(principal) or (isinstance(principal, dict) and anything(principal.get("AWS")))
    return st.get("Effect") == "Allow" and everyone and anything(st.get("Action")) and anything(st.get("Resource"))


def _check_full_access_only(service_name: str, policy: str | None) -> None:
    """An endpoint to a customer's or partner's service takes no other policy."""
    if policy and not _is_full_access(policy):
        raise AwsError(
            "InvalidParameter", f"Service {service_name} only supports the full-access endpoint policy."
        )


def _create_interface_endpoint(
    backend: Any,
    vpc_id: str,
    service_name: str,
    endpoint_type: str,
    policy_document: str | None,
    route_table_ids: list[str],
    subnet_ids: list[str],
    client_token: str | None,
    security_group_ids: list[str],
    tags: dict[str, str] | None,
    private_dns_enabled: bool | None,
) -> Any:
    from moto.ec2.models.vpcs import VPCEndPoint
    from moto.ec2.utils import random_vpc_ep_id

    backend.get_vpc(vpc_id)  # InvalidVpcID.NotFound
    # Every check first: a refused request creates nothing (no ENIs either).
    config = _consumable_service(backend, service_name)
    subnet_ids = list(dict.fromkeys(subnet_ids))
    _subnets_for_endpoint(backend, vpc_id, service_name, config, subnet_ids)
    groups = _groups_for_endpoint(backend, vpc_id, list(dict.fromkeys(security_group_ids)))
    _check_full_access_only(service_name, policy_document)

    endpoint = VPCEndPoint(
        backend,
        random_vpc_ep_id(),
        vpc_id,
        service_name,
        endpoint_type,
        policy_document or _FULL_ACCESS_POLICY,
        list(route_table_ids or []),
        subnet_ids,
        [],
        dns_entries=[],
        client_token=client_token,
        security_group_ids=groups,
        tags=tags,
        private_dns_enabled=private_dns_enabled,
    )
    endpoint._pl_enis = {}
    endpoint._pl_dns_label = _random_label(8)
    endpoint._pl_private_zone = "Z" + _random_label(20, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
    endpoint.ip_address_type = "ipv4"
    endpoint.dns_options = {"DnsRecordIpType": "ipv4"}
    endpoint.service_region = backend.region_name
    endpoint.requester_managed = False
    backend.vpc_end_points[endpoint.id] = endpoint
    _refresh_endpoint(backend, endpoint)
    if config is not None and _truthy(config.acceptance_required):
        # The owner's own endpoints are accepted automatically (AWS).
        if config.ec2_backend.account_id != backend.account_id:
            endpoint.state = "pendingAcceptance"
    if _endpoint_failures:
        endpoint.state = "failed"
        endpoint.failure_reason = _endpoint_failures.pop(0)
    return endpoint


def _client_tokens(backend: Any) -> dict[tuple[str, str], tuple[str, Any]]:
    if not hasattr(backend, "_pl_client_tokens"):
        backend._pl_client_tokens = {}
    return backend._pl_client_tokens


def _request_fingerprint(self: Any) -> str:
    """The request's parameters apart from the token itself, for comparing a
    retry with the call that first used the token."""
    skip = {"Action", "Version", "ClientToken", "DryRun"}
    params = {k: v for k, v in self.querystring.items() if k not in skip}
    return json.dumps(params, sort_keys=True)


_Handler = Callable[[Any], ActionResult]


def _idempotent(action: str, result_key: str) -> Callable[[_Handler], _Handler]:
    """ClientToken idempotency (per account and Region, as in AWS): the same
    token with the same parameters answers the first call's resource again;
    with other parameters, IdempotentParameterMismatch."""

    def wrap(original: _Handler) -> _Handler:
        def handler(self: Any) -> ActionResult:
            token = self._get_param("ClientToken")
            if not token:
                return original(self)
            tokens = _client_tokens(self.ec2_backend)
            fingerprint = _request_fingerprint(self)
            seen = tokens.get((action, token))
            if seen is not None:
                if seen[0] != fingerprint:
                    raise AwsError("IdempotentParameterMismatch", _IDEMPOTENCY_MISMATCH)
                return ActionResult({result_key: seen[1], "ClientToken": token})
            result = original(self)
            resource = result.result[result_key]
            tokens[(action, token)] = (fingerprint, resource)
            return ActionResult({result_key: resource, "ClientToken": token})

        handler.__name__ = original.__name__
        return handler

    return wrap


# DescribeVpcEndpoints' documented filters (moto knows only some and answers
# a 500 for the others, e.g. vpc-endpoint-id).
_ENDPOINT_FILTERS = {
    "ip-address-type": "ip_address_type",
    "service-name": "service_name",
    "service-region": "service_region",
    "vpc-id": "vpc_id",
    "vpc-endpoint-id": "id",
    "vpc-endpoint-state": "state",
    "vpc-endpoint-type": "vpc_endpoint_type",
}


def _take_matching(rules: list[dict[str, Any]], service: str, action: str) -> dict[str, Any] | None:
    """The first rule with uses left that names this call (or any), used up
    by one; the caller holds the lock."""
    for rule in rules:
        if rule["count"] <= 0:
            continue
        if rule.get("service") not in (None, "*", service):
            continue
        if rule.get("action") not in (None, "*", action):
            continue
        rule["count"] -= 1
        return rule
    return None


def _endpoint_filter_value(endpoint: Any, name: str, method_name: str | None = None) -> Any:
    from moto.ec2.models.core import TaggedEC2Resource

    if name.startswith("tag:") or name in ("tag-key", "tag-value"):
        return TaggedEC2Resource.get_filter_value(endpoint, name, method_name)
    attr = _ENDPOINT_FILTERS.get(name)
    if attr is None:
        raise AwsError("InvalidParameterValue", f"The filter '{name}' is invalid")
    if attr == "service_region":
        return getattr(endpoint, attr, None) or endpoint.ec2_backend.region_name
    return getattr(endpoint, attr, None)


def _endpoint_or_not_found(backend: Any, endpoint_id: str) -> Any:
    from moto.ec2.exceptions import InvalidVpcEndPointIdError

    endpoint = backend.vpc_end_points.get(endpoint_id)
    if endpoint is None or endpoint.state == "deleted":
        raise InvalidVpcEndPointIdError(endpoint_id)
    return endpoint


def _modify_vpc_endpoint(self: Any, original: _Handler) -> ActionResult:
    backend = self.ec2_backend
    endpoint = _endpoint_or_not_found(backend, self._get_param("VpcEndpointId"))
    if not hasattr(endpoint, "_pl_enis"):
        return original(self)  # gateway endpoints: moto's own handling
    add_subnets = self._get_param("AddSubnetIds", []) or []
    remove_subnets = self._get_param("RemoveSubnetIds", []) or []
    add_groups = self._get_param("AddSecurityGroupIds", []) or []
    remove_groups = self._get_param("RemoveSecurityGroupIds", []) or []
    policy = self._get_param("PolicyDocument")
    reset_policy = _truthy(self._get_param("ResetPolicy") or False)
    private_dns = self._get_param("PrivateDnsEnabled")

    # Validate the endpoint as it would be, before changing anything.
    subnets = [s for s in endpoint.subnet_ids if s not in remove_subnets]
    subnets += [s for s in dict.fromkeys(add_subnets) if s not in subnets]
    config = _consumable_service_quiet(endpoint.service_name)
    new_subnets = [s for s in subnets if s not in endpoint.subnet_ids]
    _subnets_for_endpoint(backend, endpoint.vpc_id, endpoint.service_name, config, new_subnets)
    _subnets_for_endpoint(backend, endpoint.vpc_id, endpoint.service_name, None, subnets)
    groups = [g for g in endpoint.security_group_ids if g not in remove_groups]
    groups += [g for g in dict.fromkeys(add_groups) if g not in groups]
    _groups_for_endpoint(backend, endpoint.vpc_id, [g for g in add_groups if g])
    if private_dns is not None and _truthy(private_dns):
        _check_private_dns(backend, endpoint.vpc_id, endpoint.service_name, config)
        if endpoint.state == "pendingAcceptance":
            _refuse_private_dns_before_acceptance(endpoint.service_name)
    if policy and not reset_policy:
        _check_full_access_only(endpoint.service_name, policy)

    endpoint.subnet_ids = subnets
    endpoint.security_group_ids = groups
    if reset_policy:
        endpoint.policy_document = _FULL_ACCESS_POLICY
    elif policy:
        endpoint.policy_document = policy
    if private_dns is not None:
        endpoint.private_dns_enabled = _truthy(private_dns)
    _refresh_endpoint(backend, endpoint)
    return ActionResult({"Return": True})


def _delete_endpoint(backend: Any, endpoint: Any) -> None:
    if hasattr(endpoint, "_pl_enis"):
        for eni_id in list(endpoint._pl_enis.values()):
            backend.enis.pop(eni_id, None)
        endpoint._pl_enis = {}
        endpoint.network_interface_ids = []
    else:
        # Gateway endpoints: moto removes the routes it added.
        backend.__class__._pl_moto_delete_vpc_endpoints(backend, [endpoint.id])
    endpoint.state = "deleted"
    # Gone from DescribeVpcEndpoints (InvalidVpcEndpointId.NotFound), as AWS
    # answers once the deletion has finished.
    backend.vpc_end_points.pop(endpoint.id, None)


def _delete_vpc_endpoints(self: Any) -> ActionResult:
    unsuccessful = []
    for endpoint_id in list(dict.fromkeys(self._get_param("VpcEndpointIds", []) or [])):
        endpoint = self.ec2_backend.vpc_end_points.get(endpoint_id)
        if endpoint is None or endpoint.state == "deleted":
            unsuccessful.append(
                {
                    "ResourceId": endpoint_id,
                    "Error": {
                        "Code": "InvalidVpcEndpoint.NotFound",
                        "Message": f"The VpcEndpoint Id '{endpoint_id}' does not exist",
                    },
                }
            )
            continue
        _delete_endpoint(self.ec2_backend, endpoint)
    return ActionResult({"Unsuccessful": unsuccessful})


# -- Endpoint service configurations: supported Regions ----------------------


@functools.lru_cache(maxsize=None)
def _region_names(home: str) -> frozenset[str]:
    """The Regions of the home Region's partition, from botocore's endpoint
    data (loaded once: it is large)."""
    import botocore.session
    from moto.utilities.utils import get_partition

    session = botocore.session.get_session()
    return frozenset(session.get_available_regions("ec2", partition_name=get_partition(home))) | {home}


def _check_load_balancers_free(backend: Any, arns: Iterable[str], service_id: str | None = None) -> None:
    """A load balancer backs one endpoint service at a time (the PrivateLink
    guide's considerations for creating an endpoint service). EC2 documents
    no error code for this: InvalidParameter, naming the load balancer."""
    for config in backend.configurations.values():
        if config.id == service_id:
            continue
        for arn in arns:
            if arn in config.network_load_balancer_arns:
                raise AwsError(
                    "InvalidParameter",
                    f"The load balancer {arn} is already associated with another VPC endpoint service ({config.id}).",
                )


def _check_regions(regions: Iterable[str], home: str) -> None:
    valid = _region_names(home)
    for region in regions:
        if region not in valid:
            raise AwsError("InvalidParameterValue", f"The Region '{region}' is not valid.")


def _supported_regions(config: Any) -> list[dict[str, str]]:
    # AWS always lists the service's own Region first among the supported
    # ones, whether or not the request named it.
    home = config.ec2_backend.region_name
    names = [home] + [r for r in config._supported_region_names if r != home]
    return [{"Region": r, "ServiceState": "Available"} for r in names]


def _remove_private_dns_name_too(original: _Handler) -> _Handler:
    """moto reads every ModifyVpcEndpointServiceConfiguration parameter but
    RemovePrivateDnsName; AWS then drops the service's private DNS name, and
    with it the name's domain-verification record."""

    def modify(self: Any) -> ActionResult:
        result = original(self)
        if _truthy(self._get_param("RemovePrivateDnsName")):
            [config] = self.ec2_backend.describe_vpc_endpoint_service_configurations(
                [self._get_param("ServiceId")]
            )
            config.private_dns_name = None
        return result

    return modify


def _private_dns_name(config: Any) -> str | None:
    return config.__dict__.get("_pl_dns_name")


def _set_private_dns_name(config: Any, name: str | None) -> None:
    """A new private DNS name starts unverified, with a fresh TXT record for
    its owner to publish, as AWS gives it; removing it drops both."""
    if name != config.__dict__.get("_pl_dns_name"):
        config.__dict__["_pl_dns_record"] = (
            {"Name": f"_{_random_label(20)}", "Value": f"vpce:{_random_label(20)}"} if name else None
        )
        config.__dict__["_pl_dns_state"] = "pendingVerification" if name else None
    config.__dict__["_pl_dns_name"] = name


def _private_dns_name_configuration(config: Any) -> dict[str, str]:
    record = config.__dict__.get("_pl_dns_record")
    if not config.private_dns_name or not record:
        return {}
    return {"State": config.__dict__["_pl_dns_state"], "Type": "TXT", **record}


def _start_private_dns_verification(self: Any) -> ActionResult:
    """StartVpcEndpointServicePrivateDnsVerification, by the service's owner.
    The emulator has no DNS to look the TXT record up in: it takes the record
    as published and marks the name verified."""
    service_id = self._get_param("ServiceId")
    config = _owned_service(self, service_id)
    if not config.private_dns_name:
        raise AwsError("InvalidParameter", f"The service {service_id} has no private DNS name to verify.")
    config.__dict__["_pl_dns_state"] = "verified"
    return ActionResult({"ReturnValue": True})


def _patch_ec2() -> None:
    from moto.ec2.models.security_groups import SecurityGroupBackend
    from moto.ec2.models.vpc_service_configuration import (
        VPCServiceConfiguration,
        VPCServiceConfigurationBackend,
    )
    from moto.ec2.models.vpcs import VPCBackend, VPCEndPoint
    from moto.ec2.responses import EC2Response

    # Zones follow the service's NLBs; AvailabilityZoneIds from the Region's
    # name -> ID mapping.
    def set_zones(config: Any, zones: list[str]) -> None:
        # moto's constructor assigns [] then appends to it: keep that list.
        config.__dict__["_pl_zones"] = zones

    VPCServiceConfiguration.availability_zones = property(_service_zones, set_zones)
    VPCServiceConfiguration.availability_zone_ids = property(
        lambda config: _az_ids_for(config.ec2_backend, _service_zones(config))
    )
    VPCServiceConfiguration.supported_regions = property(_supported_regions)
    VPCServiceConfiguration.supported_ip_address_types = property(lambda config: ["ipv4"])
    VPCServiceConfiguration.to_dict = _service_detail
    VPCServiceConfiguration.private_dns_name = property(_private_dns_name, _set_private_dns_name)
    VPCServiceConfiguration.private_dns_name_configuration = property(_private_dns_name_configuration)
    # An accepted connection turns "available" once its pending time is up.
    VPCEndPoint.state = property(_endpoint_state, _set_endpoint_state)

    original_create_config = VPCServiceConfigurationBackend.create_vpc_endpoint_service_configuration

    def create_configuration(backend: Any, *args: Any, **kwargs: Any) -> Any:
        regions = list(dict.fromkeys(kwargs.get("supported_regions") or []))
        _check_regions(regions, backend.region_name)
        _check_load_balancers_free(backend, kwargs.get("lb_arns", args[0] if args else []) or [])
        kwargs["supported_regions"] = [r for r in regions if r != backend.region_name]
        return original_create_config(backend, *args, **kwargs)

    VPCServiceConfigurationBackend.create_vpc_endpoint_service_configuration = create_configuration

    original_modify_config = VPCServiceConfigurationBackend.modify_vpc_endpoint_service_configuration

    def modify_configuration(backend: Any, service_id: str, **kwargs: Any) -> None:
        config = backend.describe_vpc_endpoint_service_configurations([service_id])[0]
        home = backend.region_name
        add = list(dict.fromkeys(kwargs.get("add_supported_regions") or []))
        remove = list(dict.fromkeys(kwargs.get("remove_supported_regions") or []))
        _check_regions(add + remove, home)
        if home in remove:
            raise AwsError(
                "InvalidParameter",
                f"The Region '{home}' is the service's own Region and cannot be removed "
                "from its supported Regions.",
            )
        current = config._supported_region_names
        kwargs["add_supported_regions"] = [r for r in add if r != home and r not in current]
        # Removing a Region that is not supported is a no-op, not a crash.
        kwargs["remove_supported_regions"] = [r for r in remove if r in current]
        for key, have in (
            ("remove_network_lbs", config.network_load_balancer_arns),
            ("remove_gateway_lbs", config.gateway_load_balancer_arns),
        ):
            kwargs[key] = [a for a in kwargs.get(key) or [] if a in have]
        for key, have in (
            ("add_network_lbs", config.network_load_balancer_arns),
            ("add_gateway_lbs", config.gateway_load_balancer_arns),
        ):
            kwargs[key] = [a for a in dict.fromkeys(kwargs.get(key) or []) if a not in have]
        _check_load_balancers_free(backend, kwargs["add_network_lbs"], service_id)
        original_modify_config(backend, service_id, **kwargs)

    VPCServiceConfigurationBackend.modify_vpc_endpoint_service_configuration = modify_configuration

    # Interface endpoints: checks, ENIs, groups, DNS names, acceptance.
    original_create = VPCBackend.create_vpc_endpoint

    def create_vpc_endpoint(
        backend: Any,
        vpc_id: str,
        service_name: str,
        endpoint_type: str | None,
        policy_document: str | None,
        route_table_ids: list[str],
        subnet_ids: list[str] | None = None,
        network_interface_ids: list[str] | None = None,
        dns_entries: Any = None,
        client_token: str | None = None,
        security_group_ids: list[str] | None = None,
        tags: dict[str, str] | None = None,
        private_dns_enabled: bool | None = None,
    ) -> Any:
        if (endpoint_type or "").lower() != "interface":
            return original_create(
                backend,
                vpc_id,
                service_name,
                endpoint_type,
                policy_document,
                route_table_ids,
                subnet_ids,
                network_interface_ids,
                dns_entries,
                client_token,
                security_group_ids,
                tags,
                private_dns_enabled,
            )
        return _create_interface_endpoint(
            backend,
            vpc_id,
            service_name,
            endpoint_type or "Interface",
            policy_document,
            route_table_ids,
            subnet_ids or [],
            client_token,
            security_group_ids or [],
            tags,
            private_dns_enabled,
        )

    VPCBackend.create_vpc_endpoint = create_vpc_endpoint
    VPCEndPoint.get_filter_value = _endpoint_filter_value

    # moto's Groups fails (a 500) once a listed group is gone.
    def endpoint_groups(endpoint: Any) -> list[dict[str, str]]:
        groups = [endpoint.ec2_backend.get_security_group_from_id(g) for g in endpoint.security_group_ids]
        return [{"GroupId": g.id, "GroupName": g.name} for g in groups if g is not None]

    VPCEndPoint.groups = property(endpoint_groups)
    VPCBackend._pl_moto_delete_vpc_endpoints = VPCBackend.delete_vpc_endpoints

    def delete_vpc_endpoints(backend: Any, vpce_ids: list[str] | None = None) -> None:
        for endpoint_id in vpce_ids or []:
            endpoint = backend.vpc_end_points.get(endpoint_id)
            if endpoint is not None:
                _delete_endpoint(backend, endpoint)

    VPCBackend.delete_vpc_endpoints = delete_vpc_endpoints

    # AWS refuses to delete a group that network interfaces still use.
    original_delete_group = SecurityGroupBackend.delete_security_group

    def delete_security_group(backend: Any, name: str | None = None, group_id: str | None = None) -> None:
        group = (
            backend.get_security_group_from_id(group_id)
            if group_id
            else backend.get_security_group_by_name_or_id(name)
        )
        if group is not None:
            for eni in list(backend.enis.values()):
                if any(g.id == group.id for g in eni.group_set):
                    raise AwsError(
                        "DependencyViolation", f"resource {group.id} has a dependent object"
                    )
        original_delete_group(backend, name=name, group_id=group_id)

    SecurityGroupBackend.delete_security_group = delete_security_group

    # EC2 takes a VPC security group's name and description only in a narrow
    # ASCII set (CreateSecurityGroup's documented constraints); moto takes any.
    original_create_group = SecurityGroupBackend.create_security_group

    def create_security_group(backend: Any, name: str, description: str, *args: Any, **kwargs: Any) -> Any:
        if not (kwargs.get("force") or kwargs.get("is_default")):
            for parameter, value in (("GroupName", name), ("GroupDescription", description)):
                if not _SECURITY_GROUP_TEXT.fullmatch(value or ""):
                    raise AwsError(
                        "InvalidParameterValue",
                        f"Value ({value}) for parameter {parameter} is invalid. Up to 255 characters: "
                        "a-z, A-Z, 0-9, spaces, and ._-:/()#,@[]+=&;{}!$*",
                    )
            if name.lower().startswith("sg-"):
                raise AwsError(
                    "InvalidParameterValue", f"Value ({name}) for parameter GroupName is invalid. Group names may not be in the format sg-*."
                )
        return original_create_group(backend, name, description, *args, **kwargs)

    SecurityGroupBackend.create_security_group = create_security_group

    original_modify = EC2Response.modify_vpc_endpoint

    def modify_vpc_endpoint(self: Any) -> ActionResult:
        return _modify_vpc_endpoint(self, original_modify)

    EC2Response.create_vpc_endpoint = _idempotent("CreateVpcEndpoint", "VpcEndpoint")(
        _private_dns_checked(EC2Response.create_vpc_endpoint)
    )
    EC2Response.create_vpc_endpoint_service_configuration = _idempotent(
        "CreateVpcEndpointServiceConfiguration", "ServiceConfiguration"
    )(EC2Response.create_vpc_endpoint_service_configuration)
    EC2Response.modify_vpc_endpoint = modify_vpc_endpoint
    EC2Response.modify_vpc_endpoint_service_configuration = _remove_private_dns_name_too(
        EC2Response.modify_vpc_endpoint_service_configuration
    )
    EC2Response.delete_vpc_endpoints = _delete_vpc_endpoints
    EC2Response.describe_vpc_endpoint_services = _describe_vpc_endpoint_services
    EC2Response.describe_vpc_endpoint_connections = _describe_vpc_endpoint_connections
    EC2Response.accept_vpc_endpoint_connections = _accept_vpc_endpoint_connections
    EC2Response.reject_vpc_endpoint_connections = _reject_vpc_endpoint_connections
    EC2Response.delete_vpc_endpoint_service_configurations = _delete_vpc_endpoint_service_configurations
    EC2Response.start_vpc_endpoint_service_private_dns_verification = _start_private_dns_verification


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


# --------------------------------------------------------------------------
# S3 and IAM (privatelink_s3_storage_integration)
# --------------------------------------------------------------------------
#
# moto stores any principal in a trust policy or a bucket policy, and deletes
# a managed policy that is still attached or still has other versions. AWS
# does neither, and the provider must cope with what AWS does:
#
# * IAM CreateRole and UpdateAssumeRolePolicy answer MalformedPolicyDocument
#   `Invalid principal in policy: "AWS":"<arn>"`, and S3 PutBucketPolicy
#   answers MalformedPolicy `Invalid principal in policy`, when an AWS
#   principal is an IAM user or role ARN that does not exist, or that was
#   created so recently that IAM has not propagated it yet (here: for
#   IAM_PROPAGATION_SECONDS after its creation).
# * S3 PutBucketPolicy refuses a document that is not a JSON object
#   (MalformedPolicy).
# * IAM DeletePolicy answers DeleteConflict while the policy is attached to
#   an entity or has versions besides the default one.
#
# moto already keeps CORS rule IDs, returns a bucket policy byte for byte as
# it was put, and refuses more than 100 CORS rules (MalformedXML). S3's
# OperationAborted (409) comes from the admin hooks' fault injection.

# How long a new IAM user or role stays unknown to policies naming it.
IAM_PROPAGATION_SECONDS = 2.0


def _aws_principals(document: Any) -> list[str]:
    """The "AWS" principals (Principal and NotPrincipal) of a policy."""
    statements = document.get("Statement", []) if isinstance(document, dict) else []
    if isinstance(statements, dict):
        statements = [statements]
    found: list[str] = []
    for statement in statements if isinstance(statements, list) else []:
        if not isinstance(statement, dict):
            continue
        for key in ("Principal", "NotPrincipal"):
            principal = statement.get(key)
            if not isinstance(principal, dict):
                continue
            aws = principal.get("AWS", [])
            found.extend([aws] if isinstance(aws, str) else [a for a in aws if isinstance(a, str)])
    return found


def _principal_ready(arn: str) -> bool:
    """Whether IAM would accept `arn` as a principal now. Only IAM user and
    role ARNs are checked: `*`, account IDs, account root ARNs and unique IDs
    are accepted as AWS accepts them."""
    fields = arn.split(":", 5)
    if len(fields) != 6 or fields[0] != "arn" or fields[2] != "iam":
        return True
    account, resource = fields[4], fields[5]
    kind = resource.split("/", 1)[0]
    if kind not in ("user", "role"):
        return True
    from moto.iam.models import iam_backends

    backend = iam_backends[account][fields[1]]
    entities = backend.get_roles() if kind == "role" else backend.users.values()
    for entity in list(entities):
        if entity.arn == arn:
            born = getattr(entity, "_privatelink_born", None)
            return born is None or time.monotonic() - born >= IAM_PROPAGATION_SECONDS
    return False


def _patch_s3_iam() -> None:
    from moto.iam.exceptions import DeleteConflictException, MalformedPolicyDocument
    from moto.iam.models import IAMBackend
    from moto.s3.exceptions import S3ClientError
    from moto.s3.models import S3Backend

    def check_trust(document: str) -> None:
        try:
            parsed = json.loads(document)
        except ValueError:
            return  # moto's own validator reports the syntax
        for arn in _aws_principals(parsed):
            if not _principal_ready(arn):
                raise MalformedPolicyDocument(f'Invalid principal in policy: "AWS":"{arn}"')

    create_role = IAMBackend.create_role

    @functools.wraps(create_role)
    def create_role_checked(self: Any, role_name: str, assume_role_policy_document: str, *args: Any, **kwargs: Any) -> Any:
        check_trust(assume_role_policy_document)
        role = create_role(self, role_name, assume_role_policy_document, *args, **kwargs)
        role._privatelink_born = time.monotonic()
        return role

    create_user = IAMBackend.create_user

    @functools.wraps(create_user)
    def create_user_stamped(self: Any, *args: Any, **kwargs: Any) -> Any:
        user = create_user(self, *args, **kwargs)
        user._privatelink_born = time.monotonic()
        return user

    update_trust = IAMBackend.update_assume_role_policy

    @functools.wraps(update_trust)
    def update_trust_checked(self: Any, role_name: str, policy_document: str) -> None:
        self.get_role(role_name)  # NoSuchEntity first, as AWS
        check_trust(policy_document)
        update_trust(self, role_name, policy_document)

    delete_policy = IAMBackend.delete_policy

    @functools.wraps(delete_policy)
    def delete_policy_checked(self: Any, policy_arn: str) -> None:
        policy = self.get_policy(policy_arn)
        if policy.attachment_count > 0:
            raise DeleteConflictException("Cannot delete a policy attached to entities.")
        if len(policy.versions) > 1:
            raise DeleteConflictException(
                "This policy has more than one version. Before you delete a policy, you must delete "
                "the policy's versions. The default version is deleted with the policy."
            )
        delete_policy(self, policy_arn)

    put_bucket_policy = S3Backend.put_bucket_policy

    @functools.wraps(put_bucket_policy)
    def put_bucket_policy_checked(self: Any, bucket_name: str, policy: bytes) -> None:
        self.get_bucket(bucket_name)  # NoSuchBucket first, as AWS
        text = policy.decode("utf-8", "replace") if isinstance(policy, bytes) else str(policy)
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            raise S3ClientError("MalformedPolicy", "Policies must be valid JSON and the first byte must be '{'")
        if not all(_principal_ready(arn) for arn in _aws_principals(parsed)):
            raise S3ClientError("MalformedPolicy", "Invalid principal in policy")
        put_bucket_policy(self, bucket_name, policy)

    from moto.iam.models import ManagedPolicy

    attach_to = ManagedPolicy.attach_to

    @functools.wraps(attach_to)
    def attach_once(policy: Any, obj: Any) -> None:
        # AWS: attaching a policy that is already attached succeeds and
        # changes nothing. moto counted it again, and DeletePolicy then
        # refused the policy (DeleteConflict) after a single detach.
        if policy.arn in obj.managed_policies:
            return
        attach_to(policy, obj)

    ManagedPolicy.attach_to = attach_once
    IAMBackend.create_role = create_role_checked
    IAMBackend.create_user = create_user_stamped
    IAMBackend.update_assume_role_policy = update_trust_checked
    IAMBackend.delete_policy = delete_policy_checked
    S3Backend.put_bucket_policy = put_bucket_policy_checked


def apply() -> None:
    """Install the extension into moto's classes (idempotent)."""
    global _applied
    if _applied:
        return
    _patch_ec2()
    _patch_redshift()
    _patch_elbv2()
    _patch_s3_iam()
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


# What a throttled or failing call answers, per service, in each service's
# documented codes: EC2's RequestLimitExceeded / InternalError / Unavailable,
# S3's SlowDown / InternalError / ServiceUnavailable, IAM's ServiceFailure,
# and the query APIs' common Throttling / InternalFailure /
# ServiceUnavailable.
_THROTTLE_ERRORS = {
    "ec2": ("RequestLimitExceeded", "Request limit exceeded.", 503),
    "s3": ("SlowDown", "Please reduce your request rate.", 503),
}
_DEFAULT_THROTTLE = ("Throttling", "Rate exceeded", 400)
_SERVER_ERRORS = {
    "ec2": [
        ("InternalError", "An internal error has occurred.", 500),
        ("Unavailable", "The server is overloaded and can't handle the request.", 503),
    ],
    "s3": [
        ("InternalError", "We encountered an internal error. Please try again.", 500),
        ("ServiceUnavailable", "Service is unable to handle request.", 503),
    ],
    "iam": [
        ("ServiceFailure", "The request processing has failed because of an unknown error, exception or failure.", 500),
        ("ServiceUnavailable", "The request has failed due to a temporary failure of the server.", 503),
    ],
}
_DEFAULT_SERVER_ERRORS = [
    ("InternalFailure", "The request processing has failed because of an unknown error, exception or failure.", 500),
    ("ServiceUnavailable", "The request has failed due to a temporary failure of the server.", 503),
]


def _request_id(headers: list[tuple[str, str]]) -> str | None:
    """The request ID an answer carries in its headers, as AWS sends it
    (x-amzn-RequestId, or x-amz-request-id for S3)."""
    for name, value in headers:
        if name.lower() in ("x-amzn-requestid", "x-amz-request-id"):
            return value
    return None


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
        # Holds: a matching call is served by moto (its effect is real), then
        # its answer waits until released, so a test can kill the client
        # while the call is in flight.
        self.hold_rules: list[dict[str, Any]] = []
        self.held: list[dict[str, Any]] = []
        self.release = threading.Event()

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

    def _fault_for(self, service: str, action: str) -> tuple[str, str, int, bool] | None:
        """(code, message, status, after) of the fault a call meets: `after`
        when moto serves the call first and only its answer is lost."""
        with self.lock:
            fault = _take_matching(self.faults, service, action)
            if fault is not None:
                return (
                    fault["code"],
                    fault.get("message") or f"Injected fault: {fault['code']}",
                    int(fault.get("status", 400)),
                    bool(fault.get("after")),
                )
            throttle = self.throttle
            if throttle and (not throttle["actions"] or action in throttle["actions"]):
                if throttle["services"] and service not in throttle["services"]:
                    return None
                # One draw per call decides; a second picks the 5xx kind, so
                # a throttle-only sequence is the same as before 5xx existed.
                draw = self.rng.random()
                if draw < throttle["fraction"]:
                    return (*_THROTTLE_ERRORS.get(service, _DEFAULT_THROTTLE), False)
                if draw < throttle["fraction"] + throttle.get("server_error_fraction", 0.0):
                    kinds = _SERVER_ERRORS.get(service, _DEFAULT_SERVER_ERRORS)
                    return (*kinds[int(self.rng.random() * len(kinds)) % len(kinds)], False)
        return None

    def _hold_for(self, service: str, action: str) -> dict[str, Any] | None:
        """The hold rule a call matches (and uses up), if any."""
        with self.lock:
            return _take_matching(self.hold_rules, service, action)

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
            "accepted_pending_seconds": _accepted_pending_seconds,
            "rejected_counted_seconds": _rejected_counted_seconds,
            "endpoint_failures": list(_endpoint_failures),
        }

    def _set_faults(self, payload: Any) -> None:
        items = payload if isinstance(payload, list) else [payload]
        for item in items:
            if not isinstance(item, dict):
                raise ValueError("each fault must be a JSON object")
            if "accepted_pending_seconds" in item:
                global _accepted_pending_seconds
                _accepted_pending_seconds = _lifecycle_seconds(item, "accepted_pending_seconds")
                continue
            if "rejected_counted_seconds" in item:
                global _rejected_counted_seconds
                _rejected_counted_seconds = _lifecycle_seconds(item, "rejected_counted_seconds")
                continue
            if "endpoint_failure" in item:
                count = int(item.get("count", 1))
                if not 1 <= count <= 100:
                    raise ValueError("count must be within [1, 100]")
                _endpoint_failures.extend([str(item["endpoint_failure"])] * count)
                continue
            if "throttle_fraction" in item or "server_error_fraction" in item:
                fraction = float(item.get("throttle_fraction", 0.0))
                server = float(item.get("server_error_fraction", 0.0))
                if not (0.0 <= fraction <= 1.0 and 0.0 <= server <= 1.0 and fraction + server <= 1.0):
                    raise ValueError(
                        "throttle_fraction and server_error_fraction must be within [0, 1], and so their sum"
                    )
                self.throttle = {
                    "fraction": fraction,
                    "server_error_fraction": server,
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
                    "after": bool(item.get("after", False)),
                }
            )

    def _holds_state(self) -> dict[str, Any]:
        with self.lock:
            return {
                "rules": [dict(r) for r in self.hold_rules if r["count"] > 0],
                "held": [dict(h) for h in self.held],
            }

    def _release_holds(self) -> None:
        with self.lock:
            self.hold_rules.clear()
            self.release.set()

    def _held_call(
        self,
        environ: dict[str, Any],
        start_response: Callable[..., Any],
        entry: dict[str, Any],
        style: str,
        rule: dict[str, Any],
    ) -> list[bytes]:
        """Serves the call through moto, then keeps its answer until the
        holds are released or the rule's max_seconds pass."""
        code, status, headers, chunks = self._serve_buffered(environ, style, entry)
        entry["status"] = code
        entry["held"] = True
        item = {"service": entry["service"], "action": entry["action"], "status": entry["status"]}
        with self.lock:
            release = self.release
            self.held.append(item)
        try:
            release.wait(rule["max_seconds"])
        finally:
            with self.lock:
                self.held.remove(item)
        start_response(status, headers)
        return chunks

    def _serve_buffered(
        self, environ: dict[str, Any], style: str, entry: dict[str, Any]
    ) -> tuple[int, str, list, list[bytes]]:
        """Serves a call through moto and keeps its answer: (status code,
        status line, headers, body chunks)."""
        captured: dict[str, Any] = {}
        chunks: list[bytes] = []

        def capture(status: str, headers: list, exc_info: Any = None) -> Callable[[bytes], None]:
            captured["status"], captured["headers"] = status, headers
            return chunks.append

        result = self._call_ec2(environ, capture, entry) if style == "ec2" else self.app(environ, capture)
        try:
            for chunk in result:
                chunks.append(chunk)
        finally:
            if hasattr(result, "close"):
                result.close()
        status = captured.get("status", "500 Internal Server Error")
        try:
            code = int(status.split(" ", 1)[0])
        except ValueError:
            code = 0
        return code, status, captured.get("headers", []), chunks

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
                    _reset_lifecycles()
                    return self._json(start_response, 200, self._faults_state())
        elif path == "holds":
            if method == "GET":
                return self._json(start_response, 200, self._holds_state())
            if method == "POST":
                items = payload if isinstance(payload, list) else [payload]
                with self.lock:
                    for item in items:
                        if not isinstance(item, dict):
                            return self._json(start_response, 400, {"error": "each hold must be a JSON object"})
                        self.hold_rules.append(
                            {
                                "service": item.get("service"),
                                "action": item.get("action"),
                                "count": int(item.get("count", 1)),
                                "max_seconds": float(item.get("max_seconds", 60)),
                            }
                        )
                    self.release = threading.Event()
                return self._json(start_response, 200, self._holds_state())
            if method == "DELETE":
                self._release_holds()
                return self._json(start_response, 200, self._holds_state())
        elif path == "reset":
            if method == "POST":
                self._release_holds()
                self._reset_moto(environ)
                with self.lock:
                    self.log.clear()
                    self.faults.clear()
                    self.throttle = None
                    _reset_lifecycles()
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
        entry = {
            "service": service,
            "action": action,
            "status": 0,
            "account": account,
            "user_agent": environ.get("HTTP_USER_AGENT", ""),
        }
        fault = self._fault_for(service, action)
        if fault is not None:
            code, message, status, after = fault
            if after:
                # The call takes effect; its answer is replaced by the error.
                served, _, _, _ = self._serve_buffered(environ, style, entry)
                entry["served"] = served
            entry["injected"] = code
            return self._refuse(start_response, style, entry, code, message, status, "Injected")
        elsewhere = _bucket_elsewhere(environ, account, action) if style == "s3" else None
        if elsewhere is not None:
            # S3 serves a bucket only in its own Region: calls signed for
            # another are redirected, and say where.
            return self._refuse(
                start_response,
                style,
                entry,
                "PermanentRedirect",
                "The bucket you are attempting to access must be addressed using the specified endpoint. "
                "Please send all future requests to this endpoint.",
                301,
                "Moved Permanently",
                headers=[("x-amz-bucket-region", elsewhere)],
                body=environ.get("REQUEST_METHOD") != "HEAD",
            )
        if style == "ec2" and _filter_values(body) > EC2_FILTER_VALUES:
            return self._refuse(
                start_response,
                style,
                entry,
                "FilterLimitExceeded",
                f"The maximum number of filter values specified on a single call is {EC2_FILTER_VALUES}",
                400,
                "Bad Request",
            )

        def recording_start(status: str, headers: list, exc_info: Any = None) -> Any:
            try:
                entry["status"] = int(status.split(" ", 1)[0])
            except ValueError:
                entry["status"] = 0
            request_id = _request_id(headers)
            if request_id:
                entry["request_id"] = request_id
            return start_response(status, headers, exc_info)

        hold = self._hold_for(service, action)
        try:
            if hold is not None:
                return self._held_call(environ, start_response, entry, style, hold)
            if style == "ec2":
                return self._call_ec2(environ, start_response, entry)
            return self.app(environ, recording_start)
        finally:
            with self.lock:
                self.log.append(entry)

    def _refuse(
        self,
        start_response: Callable[..., Any],
        style: str,
        entry: dict[str, Any],
        code: str,
        message: str | None,
        status: int,
        reason: str,
        headers: list[tuple[str, str]] | None = None,
        body: bool = True,
    ) -> list[bytes]:
        """Answers the call with an error in its service's format (no body
        for a HEAD request), logged."""
        request_id = str(uuid.uuid4())
        content_type, err = _error_body(style, code, message, status, request_id)
        if not body:
            err = b""
        entry["status"] = status
        entry["request_id"] = request_id
        with self.lock:
            self.log.append(entry)
        all_headers = [
            ("Content-Type", content_type),
            ("Content-Length", str(len(err))),
            # S3 names it differently from the other services.
            ("x-amz-request-id" if style == "s3" else "x-amzn-RequestId", request_id),
            *(headers or []),
        ]
        if style == "json":
            all_headers.append(("x-amzn-ErrorType", code))
        start_response(f"{status} {reason}", all_headers)
        return [err]

    def _call_ec2(
        self, environ: dict[str, Any], start_response: Callable[..., Any], entry: dict[str, Any]
    ) -> list[bytes]:
        """Calls moto for an EC2 request and fixes its envelope the way AWS
        sends it: the namespace ends in a slash, requestId is a UUID (also
        in x-amzn-RequestId), and the error document has no namespace."""
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
        # AWS sends the ID in a header as well as in the body, and the
        # header is where the SDKs read it from.
        dropped = ("content-length", "x-amzn-requestid")
        headers = [(k, v) for k, v in captured.get("headers", []) if k.lower() not in dropped]
        headers.append(("Content-Length", str(len(body))))
        headers.append(("x-amzn-RequestId", request_id))
        entry["request_id"] = request_id
        start_response(status, headers)
        return [body]


def wrap_app(app: Callable[..., Any]) -> AdminMiddleware:
    return AdminMiddleware(app)
