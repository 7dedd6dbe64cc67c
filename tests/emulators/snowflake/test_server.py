"""Tests of the Snowflake SQL API v2 emulator, over HTTP with urllib, PyJWT and cryptography.

The server is started once per session from server.py as a subprocess on a
free port; its stdin is a pipe, so it also exits if this process dies.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

HERE = os.path.dirname(os.path.abspath(__file__))
CANARY = "CANARY-SECRET-7f3a9c"  # must never show up in any admin output
PAT = "pat-" + CANARY
AWS_ACCOUNT = "123456789012"
VPCE = "vpce-0a1b2c3d4e5f60718"


def new_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(key) -> str:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def fingerprint(key) -> str:
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "SHA256:" + base64.b64encode(hashlib.sha256(der).digest()).decode()


def make_jwt(key, account: str, user: str, *, fp: str | None = None, iat=None, lifetime=3540) -> str:
    now = int(time.time()) if iat is None else iat
    qualified = f"{account.upper()}.{user.upper()}"
    claims = {"iss": f"{qualified}.{fp or fingerprint(key)}", "sub": qualified, "iat": now, "exp": now + lifetime}
    return jwt.encode(claims, key, algorithm="RS256")


KEY1, KEY2, OTHER_KEY = new_key(), new_key(), new_key()


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


def http(url: str, method: str, path: str, payload=None, headers=None):
    data = json.dumps(payload).encode() if payload is not None else None
    req = urllib.request.Request(f"{url}{path}", data=data, method=method, headers=headers or {})
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, dict(resp.headers), json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), json.loads(err.read() or b"null")


def admin(url: str, method: str, what: str, payload=None):
    status, _, body = http(url, method, f"/_privatelink/{what}", payload)
    assert status == 200, body
    return body


@pytest.fixture()
def sf(endpoint):
    admin(endpoint, "POST", "reset")
    for name, locator, key in (("MYORG-ACCT1", "AB12345", KEY1), ("MYORG-ACCT2", "CD67890", KEY2)):
        admin(
            endpoint,
            "POST",
            "accounts",
            {
                "account": name,
                "locator": locator,
                "region": "us-east-1",
                "users": [
                    {
                        "name": "TERRAFORM",
                        "public_key_pem": public_pem(key),
                        "default_role": "ACCOUNTADMIN",
                        "roles": ["ACCOUNTADMIN", "PUBLIC"],
                        "tokens": [PAT] if name == "MYORG-ACCT1" else [],
                    },
                    {"name": "READER", "public_key_pem": public_pem(key), "default_role": "PUBLIC", "roles": ["PUBLIC"]},
                ],
            },
        )
    admin(
        endpoint,
        "POST",
        "accounts",
        {
            "account": "MYORG-ACCT3",
            "locator": "EF13579",
            "region": "us-east-1",
            "users": [{"name": "TERRAFORM", "public_key_pem": public_pem(KEY1), "roles": ["ACCOUNTADMIN"]}],
        },
    )
    return Client(endpoint)


class Client:
    def __init__(self, url: str):
        self.url = url

    def headers(self, account="MYORG-ACCT1", user="TERRAFORM", key=KEY1, token=None, kind="KEYPAIR_JWT"):
        tok = token or make_jwt(key, account, user)
        return {
            "Authorization": f"Bearer {tok}",
            "X-Snowflake-Authorization-Token-Type": kind,
            "User-Agent": "emulator-tests/1.0",
            "Accept": "application/json",
        }

    def sql(self, statement, *, bindings=None, role=None, query="", **auth):
        body = {"statement": statement, "timeout": 60}
        if bindings is not None:
            body["bindings"] = bindings
        if role is not None:
            body["role"] = role
        key = KEY2 if auth.get("account") in ("MYORG-ACCT2", "CD67890") else KEY1
        auth.setdefault("key", key)
        return http(self.url, "POST", f"/api/v2/statements{query}", body, self.headers(**auth))

    def get(self, handle, **auth):
        return http(self.url, "GET", f"/api/v2/statements/{handle}", None, self.headers(**auth))

    def cell(self, statement, **kw):
        status, _, body = self.sql(statement, **kw)
        assert status == 200, body
        return body["data"][0][0]


def fed_token(account=AWS_ACCOUNT, *, expires_in=timedelta(hours=12), drop=None, secret=CANARY) -> str:
    doc = {
        "Credentials": {
            "AccessKeyId": "ASIAEXAMPLEKEY",
            "SecretAccessKey": "secret-" + secret,
            "SessionToken": "session-" + secret,
            "Expiration": (datetime.now(timezone.utc) + expires_in).isoformat(),
        },
        "FederatedUser": {
            "FederatedUserId": f"{account}:snowflake",
            "Arn": f"arn:aws:sts::{account}:federated-user/snowflake",
        },
        "PackedPolicySize": 9,
    }
    if drop:
        section, _, field = drop.partition(".")
        if field:
            del doc[section][field]
        else:
            del doc[section]
    return json.dumps(doc)


def quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def register_sql(vpce=VPCE, account=AWS_ACCOUNT, token=None, delay=None) -> str:
    args = [quote(vpce), quote(account), quote(token or fed_token(account))]
    if delay is not None:
        args.append(str(delay))
    return f"SELECT SYSTEM$REGISTER_PRIVATELINK_ENDPOINT({', '.join(args)})"


def registrations(client, **auth) -> list:
    return json.loads(client.cell("select system$get_privatelink_endpoint_registrations()", **auth))


# --------------------------------------------------------------------------
# Authentication
# --------------------------------------------------------------------------


def test_keypair_jwt_accepted_and_result_set_shape(sf):
    status, _, body = sf.sql("select current_account(), current_role(), 1")
    assert status == 200, body
    assert body["code"] == "090001"
    assert body["sqlState"] == "00000"
    assert body["message"] == "Statement executed successfully."
    assert body["statementStatusUrl"] == f"/api/v2/statements/{body['statementHandle']}"
    uuid.UUID(body["statementHandle"])
    uuid.UUID(body["requestId"])
    assert isinstance(body["createdOn"], int)
    meta = body["resultSetMetaData"]
    assert meta["format"] == "jsonv2" and meta["numRows"] == 1
    assert meta["partitionInfo"][0]["rowCount"] == 1
    assert [c["name"] for c in meta["rowType"]] == ["CURRENT_ACCOUNT()", "CURRENT_ROLE()", "1"]
    assert [c["type"] for c in meta["rowType"]] == ["text", "text", "fixed"]
    assert body["data"] == [["AB12345", "ACCOUNTADMIN", "1"]]


def test_keypair_jwt_with_locator_as_account(sf):
    assert sf.cell("SELECT CURRENT_ACCOUNT()", account="AB12345") == "AB12345"


def test_token_type_header_optional_for_keypair_jwt(sf):
    headers = sf.headers()
    del headers["X-Snowflake-Authorization-Token-Type"]
    status, _, body = http(sf.url, "POST", "/api/v2/statements", {"statement": "select 1"}, headers)
    assert status == 200, body


@pytest.mark.parametrize(
    "case",
    ["wrong_key", "wrong_fingerprint", "expired", "too_long", "lower_case", "unknown_user", "garbage"],
)
def test_bad_jwt_refused_with_401(sf, case):
    now = int(time.time())
    token = {
        "wrong_key": make_jwt(OTHER_KEY, "MYORG-ACCT1", "TERRAFORM", fp=fingerprint(KEY1)),
        "wrong_fingerprint": make_jwt(KEY1, "MYORG-ACCT1", "TERRAFORM", fp=fingerprint(OTHER_KEY)),
        "expired": make_jwt(KEY1, "MYORG-ACCT1", "TERRAFORM", iat=now - 3600, lifetime=3000),
        "too_long": make_jwt(KEY1, "MYORG-ACCT1", "TERRAFORM", lifetime=3601),
        "lower_case": jwt.encode(
            {"iss": f"myorg-acct1.terraform.{fingerprint(KEY1)}", "sub": "myorg-acct1.terraform",
             "iat": now, "exp": now + 600},
            KEY1,
            algorithm="RS256",
        ),
        "unknown_user": make_jwt(KEY1, "MYORG-ACCT1", "NOBODY"),
        "garbage": "not.a.jwt",
    }[case]
    status, _, body = sf.sql("select 1", token=token)
    assert status == 401
    assert body["code"] == "390144"
    assert body["message"].startswith("JWT token is invalid. [")
    assert "statementHandle" not in body


def test_missing_user_agent_is_400(sf):
    headers = sf.headers()
    del headers["User-Agent"]
    req = urllib.request.Request(
        f"{sf.url}/api/v2/statements", data=b'{"statement":"select 1"}', method="POST", headers=headers
    )
    req.add_header("Content-Type", "application/json")
    # urllib adds its own User-Agent unless one is set to an empty value
    req.add_header("User-agent", "")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=10)
    assert err.value.code == 400


def test_pat_and_oauth_tokens_accepted(sf):
    for kind in ("PROGRAMMATIC_ACCESS_TOKEN", "OAUTH"):
        assert sf.cell("select current_user()", token=PAT, kind=kind) == "TERRAFORM"
    status, _, body = sf.sql("select 1", token="pat-wrong", kind="PROGRAMMATIC_ACCESS_TOKEN")
    assert status == 401 and body["code"] == "390303"


# --------------------------------------------------------------------------
# Roles and statements
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT SYSTEM$GET_PRIVATELINK_CONFIG()",
        "SELECT SYSTEM$GET_PRIVATELINK_ENDPOINT_REGISTRATIONS()",
        register_sql(),
    ],
)
def test_non_accountadmin_gets_insufficient_privileges(sf, statement):
    status, _, body = sf.sql(statement, role="PUBLIC")
    assert status == 422
    assert body["code"] == "003001" and body["sqlState"] == "42501"
    assert "Insufficient privileges" in body["message"]
    uuid.UUID(body["statementHandle"])
    status, _, body = sf.sql(statement, user="READER")  # default role PUBLIC
    assert status == 422 and "Insufficient privileges" in body["message"]


def test_role_not_granted_is_refused(sf):
    status, _, body = sf.sql("select 1", role="SYSADMIN")
    assert status == 422 and body["code"] == "390189"


def test_sql_errors_are_422(sf):
    status, _, body = sf.sql("selec 1")
    assert status == 422 and body["code"] == "001003" and body["sqlState"] == "42000"
    assert body["message"].startswith("SQL compilation error:")
    status, _, body = sf.sql("select system$nope()")
    assert status == 422 and "Unknown function SYSTEM$NOPE" in body["message"]
    status, _, body = sf.sql("select system$get_privatelink_config('x')")
    assert status == 422 and body["code"] == "001044"
    status, _, body = sf.sql("USE ROLE ACCOUNTADMIN")
    assert status == 422 and body["code"] == "391911"


def test_whitespace_case_comments_and_semicolon(sf):
    cell = sf.cell("  \n sElEcT   -- a comment\n  current_role ( ) ;  ")
    assert cell == "ACCOUNTADMIN"


# --------------------------------------------------------------------------
# Registration round trip
# --------------------------------------------------------------------------


def test_register_list_unregister_round_trip(sf):
    assert registrations(sf) == []
    message = sf.cell(register_sql(delay=0))
    assert VPCE in message and "registered" in message
    regs = registrations(sf)
    assert len(regs) == 1
    assert regs[0]["consumerEndpointId"] == AWS_ACCOUNT
    assert regs[0]["consumerEndpointType"] == "Aws Id"
    assert regs[0]["pinnedConsumerEndpointId"] == VPCE
    assert regs[0]["providerServiceEndpoint"].startswith("vpce-svc-")
    assert registrations(sf, account="MYORG-ACCT2") == []

    status, _, body = sf.sql(register_sql())
    assert status == 422 and "already registered" in body["message"]

    unregister = (
        f"select system$unregister_privatelink_endpoint({quote(VPCE)}, {quote(AWS_ACCOUNT)}, "
        f"{quote(fed_token())})"
    )
    assert "unregistered" in sf.cell(unregister)
    assert registrations(sf) == []
    status, _, body = sf.sql(unregister)
    assert status == 422 and "not registered" in body["message"]


def test_register_with_bindings_and_dollar_quoting(sf):
    status, _, body = sf.sql(
        "select system$register_privatelink_endpoint(?, ?, ?, ?)",
        bindings={
            "1": {"type": "TEXT", "value": VPCE},
            "2": {"type": "TEXT", "value": AWS_ACCOUNT},
            "3": {"type": "TEXT", "value": fed_token()},
            "4": {"type": "FIXED", "value": "30"},
        },
    )
    assert status == 200, body
    other = "vpce-0fedcba9876543210"
    sf.cell(f"SELECT SYSTEM$REGISTER_PRIVATELINK_ENDPOINT('{other}', '{AWS_ACCOUNT}', $${fed_token()}$$)")
    assert {r["pinnedConsumerEndpointId"] for r in registrations(sf)} == {VPCE, other}
    delays = {r["pinnedConsumerEndpointId"]: r["delay_minutes"] for r in admin(sf.url, "GET", "registrations")}
    assert delays == {VPCE: 30, other: 60}


def test_documented_example_token_with_trailing_comma_is_accepted(sf):
    token = fed_token()[:-1] + ",\n    }"
    sf.cell(register_sql(token=token))


def test_three_account_enforcement_example(sf):
    admin(sf.url, "POST", "clock", {"offset_seconds": 0})
    sf.cell(register_sql(delay=60), account="MYORG-ACCT1")  # 10:00 + 60 -> 11:00
    admin(sf.url, "POST", "clock", {"offset_seconds": 30 * 60})
    sf.cell(register_sql(delay=1440), account="MYORG-ACCT2")  # 10:30 -> still 11:00
    admin(sf.url, "POST", "clock", {"offset_seconds": 61 * 60})
    sf.cell(register_sql(delay=5), account="MYORG-ACCT3")  # 11:01 -> immediate
    clock = admin(sf.url, "GET", "clock")
    regs = {r["account"]: r for r in admin(sf.url, "GET", "registrations")}

    def ts(text):
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)

    first = ts(regs["MYORG-ACCT1"]["registered_at"])
    assert ts(regs["MYORG-ACCT1"]["enforcement_at"]) - first == timedelta(minutes=60)
    assert ts(regs["MYORG-ACCT2"]["registered_at"]) - first == timedelta(minutes=30)
    assert regs["MYORG-ACCT2"]["enforcement_at"] == regs["MYORG-ACCT1"]["enforcement_at"]
    assert ts(regs["MYORG-ACCT3"]["enforcement_at"]) == ts(regs["MYORG-ACCT3"]["registered_at"])
    assert ts(regs["MYORG-ACCT3"]["registered_at"]) - first == timedelta(minutes=61)
    assert abs(ts(clock["now"]) - ts(regs["MYORG-ACCT3"]["registered_at"])) < timedelta(seconds=5)
    assert all(r["enforced"] for r in regs.values())
    assert {r["endpoint_first_account"] for r in regs.values()} == {"MYORG-ACCT1"}
    admin(sf.url, "POST", "clock", {"offset_seconds": 0})


@pytest.mark.parametrize("delay", [1441, -1])
def test_delay_out_of_range_is_422(sf, delay):
    status, _, body = sf.sql(register_sql(delay=delay))
    assert status == 422 and "between 0 and 1440" in body["message"]
    assert registrations(sf) == []


@pytest.mark.parametrize(
    "token, expect",
    [
        ("not json at all", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        (fed_token(drop="Credentials.SessionToken"), "Credentials.SessionToken"),
        (fed_token(drop="FederatedUser"), "FederatedUser"),
        (fed_token(drop="Credentials.Expiration"), "Credentials.Expiration"),
        (fed_token(account="999999999999"), "999999999999"),
        (fed_token(expires_in=timedelta(minutes=-5)), "expired"),
    ],
)
def test_bad_federation_token_is_422(sf, token, expect):
    status, _, body = sf.sql(register_sql(token=token))
    assert status == 422, body
    assert expect in body["message"]
    assert CANARY not in body["message"]


def test_bad_vpce_and_account_ids_are_422(sf):
    status, _, body = sf.sql(register_sql(vpce="vpc-123"))
    assert status == 422 and "VPC endpoint ID" in body["message"]
    status, _, body = sf.sql(register_sql(account="12345"))
    assert status == 422 and "12 digits" in body["message"]


def test_token_expiration_uses_emulated_clock(sf):
    admin(sf.url, "POST", "clock", {"offset_seconds": 2 * 3600})
    try:
        status, _, body = sf.sql(register_sql(token=fed_token(expires_in=timedelta(hours=1))))
        assert status == 422 and "expired" in body["message"]
    finally:
        admin(sf.url, "POST", "clock", {"offset_seconds": 0})


# --------------------------------------------------------------------------
# GET_PRIVATELINK_CONFIG
# --------------------------------------------------------------------------


def test_privatelink_config_keys(sf):
    config = json.loads(sf.cell("SELECT SYSTEM$GET_PRIVATELINK_CONFIG()"))
    assert config["privatelink-account-name"] == "ab12345.us-east-1.privatelink"
    assert config["privatelink-account-url"] == "ab12345.us-east-1.privatelink.snowflakecomputing.com"
    assert config["regionless-privatelink-account-url"] == "myorg-acct1.privatelink.snowflakecomputing.com"
    assert config["privatelink_ocsp-url"] == "ocsp.ab12345.us-east-1.privatelink.snowflakecomputing.com"
    assert "privatelink-ocsp-url" not in config  # live accounts spell it with an underscore
    assert config["privatelink-vpce-id"].startswith("com.amazonaws.vpce.us-east-1.vpce-svc-")
    assert json.loads(config["privatelink-connection-urls"]) == []
    assert json.loads(config["privatelink-connection-ocsp-urls"]) == []
    assert config["regionless-snowsight-privatelink-url"] == "app-myorg-acct1.privatelink.snowflakecomputing.com"
    assert config["snowsight-privatelink-url"] == "app.us-east-1.privatelink.snowflakecomputing.com"
    assert config["privatelink-internal-stage"].endswith(".s3.us-east-1.amazonaws.com")
    regs_provider = None
    sf.cell(register_sql())
    regs_provider = registrations(sf)[0]["providerServiceEndpoint"]
    assert config["privatelink-vpce-id"].endswith(regs_provider)


def test_endpoint_service_can_be_set_per_account(sf):
    """An account given endpoint_service_id reports that service (e.g. one
    created in the AWS emulator) in its config, its pins and GET accounts;
    the others keep the one derived from the region."""
    service = "vpce-svc-0123456789abcdef0"
    admin(sf.url, "POST", "accounts", {
        "account": "MYORG-ACCT3", "locator": "EF13579", "region": "us-east-1", "endpoint_service_id": service,
        "users": [{"name": "TERRAFORM", "public_key_pem": public_pem(KEY1), "roles": ["ACCOUNTADMIN"]}],
    })
    config = json.loads(sf.cell("SELECT SYSTEM$GET_PRIVATELINK_CONFIG()", account="MYORG-ACCT3"))
    assert config["privatelink-vpce-id"] == f"com.amazonaws.vpce.us-east-1.{service}"
    sf.cell(register_sql(), account="MYORG-ACCT3")
    assert registrations(sf, account="MYORG-ACCT3")[0]["providerServiceEndpoint"] == service
    accounts = {a["account"]: a for a in admin(sf.url, "GET", "accounts")}
    assert accounts["MYORG-ACCT3"]["endpoint_service_id"] == service
    derived = accounts["MYORG-ACCT1"]["endpoint_service_id"]
    assert derived.startswith("vpce-svc-") and derived != service
    other = json.loads(sf.cell("SELECT SYSTEM$GET_PRIVATELINK_CONFIG()"))
    assert other["privatelink-vpce-id"] == f"com.amazonaws.vpce.us-east-1.{derived}"


@pytest.mark.parametrize("bad", ["vpce-0123456789abcdef0", "vpce-svc-XYZ", "vpce-svc-0123", "", 42])
def test_bad_endpoint_service_id_is_400(sf, bad):
    status, _, body = http(sf.url, "POST", "/_privatelink/accounts", {
        "account": "MYORG-ACCT4", "endpoint_service_id": bad,
        "users": [{"name": "TERRAFORM", "public_key_pem": public_pem(KEY1)}],
    })
    assert status == 400 and "endpoint_service_id" in body["error"]
    assert "MYORG-ACCT4" not in {a["account"] for a in admin(sf.url, "GET", "accounts")}


# --------------------------------------------------------------------------
# Async, faults, idempotency, cancel
# --------------------------------------------------------------------------


def test_async_then_poll(sf):
    admin(sf.url, "POST", "faults", {"async_count": 1, "async_polls": 2})
    status, _, body = sf.sql(register_sql())
    assert status == 202, body
    assert body["code"] == "333334"
    assert body["message"].startswith("Asynchronous execution in progress")
    handle = body["statementHandle"]
    assert body["statementStatusUrl"] == f"/api/v2/statements/{handle}"
    assert admin(sf.url, "GET", "registrations") == []  # not executed yet
    assert sf.get(handle)[0] == 202
    assert sf.get(handle)[0] == 202
    status, _, body = sf.get(handle)
    assert status == 200 and "registered" in body["data"][0][0]
    assert body["statementHandle"] == handle
    assert len(admin(sf.url, "GET", "registrations")) == 1
    assert sf.get(handle)[0] == 200  # a finished statement keeps answering
    status, _, body = sf.get(str(uuid.uuid4()))
    assert status == 422 and body["code"] == "000709"


def test_async_query_parameter_and_cancel(sf):
    status, _, body = sf.sql("select 1", query="?async=true")
    assert status == 202
    assert sf.get(body["statementHandle"])[2]["data"] == [["1"]]

    status, _, body = sf.sql(register_sql(), query="?async=true")
    assert status == 202
    handle = body["statementHandle"]
    status, _, cancel = http(sf.url, "POST", f"/api/v2/statements/{handle}/cancel", None, sf.headers())
    assert status == 200 and cancel["statementHandle"] == handle
    status, _, body = sf.get(handle)
    assert status == 422 and body["code"] == "000604"
    assert registrations(sf) == []


def test_429_injection(sf):
    admin(sf.url, "POST", "faults", {"status": 429, "count": 2})
    for _ in range(2):
        status, headers, _ = sf.sql("select 1")
        assert status == 429
        assert headers.get("Retry-After") == "1"
    assert sf.sql("select 1")[0] == 200
    log = admin(sf.url, "GET", "requests")
    assert [e["status"] for e in log[-3:]] == [429, 429, 200]


def test_request_id_retry_is_idempotent(sf):
    rid = str(uuid.uuid4())
    status, _, first = sf.sql(register_sql(), query=f"?requestId={rid}")
    assert status == 200
    status, _, again = sf.sql(register_sql(), query=f"?requestId={rid}&retry=true")
    assert status == 200
    assert again["statementHandle"] == first["statementHandle"]
    assert again["data"] == first["data"]
    assert again["requestId"] == rid
    assert len(registrations(sf)) == 1
    # without retry=true the same requestId executes again (and here fails: already registered)
    status, _, body = sf.sql(register_sql(), query=f"?requestId={rid}")
    assert status == 422 and "already registered" in body["message"]
    # a 429'd request was never executed, so its retry executes
    admin(sf.url, "POST", "faults", {"status": 429, "count": 1})
    rid2 = str(uuid.uuid4())
    stmt = register_sql(vpce="vpce-0123456789abcdef0")
    assert sf.sql(stmt, query=f"?requestId={rid2}")[0] == 429
    assert sf.sql(stmt, query=f"?requestId={rid2}&retry=true")[0] == 200
    assert len(registrations(sf)) == 2


# --------------------------------------------------------------------------
# Admin hooks: the log and token hygiene
# --------------------------------------------------------------------------


def test_request_log_shape_and_clear(sf):
    admin(sf.url, "DELETE", "requests")
    sf.cell(register_sql())
    sf.sql("select 1", token="bad", kind="OAUTH")
    log = admin(sf.url, "GET", "requests")
    assert log[0]["account"] == "MYORG-ACCT1" and log[0]["user"] == "TERRAFORM"
    assert log[0]["statement_kind"] == "REGISTER_PRIVATELINK_ENDPOINT" and log[0]["status"] == 200
    assert log[1]["status"] == 401 and log[1]["account"] is None
    assert admin(sf.url, "DELETE", "requests") == {"cleared": 2}


def test_no_token_material_in_any_admin_output(sf):
    sf.cell("select 1", token=PAT, kind="PROGRAMMATIC_ACCESS_TOKEN")
    sf.cell(register_sql())
    sf.sql(register_sql(token=fed_token(drop="FederatedUser")))
    sf.sql(register_sql(delay=5000))
    admin(sf.url, "POST", "faults", {"async_count": 1})
    handle = sf.sql(register_sql(vpce="vpce-0123456789abcdef0"))[2]["statementHandle"]
    sf.get(handle)
    for what in ("requests", "registrations", "accounts", "faults", "clock"):
        text = json.dumps(admin(sf.url, "GET", what))
        assert CANARY not in text, what
        assert "SecretAccessKey" not in text and "SessionToken" not in text, what


def test_faults_limited_to_statement_kinds(sf):
    admin(sf.url, "DELETE", "requests")
    faults = admin(
        sf.url, "POST", "faults",
        {"status": 429, "count": 1, "async_count": 1, "async_polls": 1, "kinds": ["register_privatelink_endpoint"]},
    )
    assert faults["async_kinds"] == ["REGISTER_PRIVATELINK_ENDPOINT"]
    assert faults["status_fault"]["kinds"] == ["REGISTER_PRIVATELINK_ENDPOINT"]
    # Other statements pass untouched while the faults wait for a register.
    assert registrations(sf) == []
    status, _, _ = sf.sql(register_sql())
    assert status == 429
    status, _, body = sf.sql(register_sql(), query=f"?requestId={uuid.uuid4()}&retry=true")
    assert status == 202, body
    handle = body["statementHandle"]
    assert sf.get(handle)[0] == 202  # async_polls=1: one poll still running
    status, _, body = sf.get(handle)
    assert status == 200, body
    log = admin(sf.url, "GET", "requests")
    assert [(e["statement_kind"], e["status"], e.get("retry", False)) for e in log] == [
        ("GET_PRIVATELINK_ENDPOINT_REGISTRATIONS", 200, False),
        ("REGISTER_PRIVATELINK_ENDPOINT", 429, False),
        ("REGISTER_PRIVATELINK_ENDPOINT", 202, True),
        ("GET_STATEMENT_STATUS", 202, False),
        ("GET_STATEMENT_STATUS", 200, False),
    ]
    assert admin(sf.url, "GET", "faults") == {
        "status_fault": None, "async_count": 0, "async_polls": 1, "async_kinds": ["REGISTER_PRIVATELINK_ENDPOINT"]
    }
    admin(sf.url, "DELETE", "faults")


def test_fraction_of_submits_and_polls_fail_as_snowflake_answers(sf):
    def run() -> list[int]:
        admin(sf.url, "POST", "faults", {"fraction": 0.4, "statuses": [429, 503, 500], "seed": 3, "retry_after": 2})
        seen = []
        try:
            for _ in range(40):
                status, headers, body = sf.sql("select 1")
                seen.append(status)
                if status in (429, 503):
                    assert headers.get("Retry-After") == "2"
                elif status == 500:
                    assert "Retry-After" not in headers
                if status != 200:
                    assert body["code"] == "000" + str(status) and body["message"], body
        finally:
            admin(sf.url, "DELETE", "faults")
        return seen

    first, second = run(), run()
    assert first == second, "a seed gives the same sequence"
    assert {200, 429, 503, 500} == set(first), first
    assert 6 <= sum(s != 200 for s in first) <= 28, first
    # Injected before running: a failed register leaves nothing behind,
    # and polls of a running statement are hit too.
    admin(sf.url, "POST", "faults", {"fraction": 1.0, "statuses": [503], "kinds": ["REGISTER_PRIVATELINK_ENDPOINT"]})
    assert sf.sql(register_sql())[0] == 503
    assert registrations(sf) == []
    assert sf.sql("select 1")[0] == 200
    admin(sf.url, "POST", "faults", {"fraction": 1.0, "statuses": [429], "kinds": ["GET_STATEMENT_STATUS"]})
    handle = sf.sql("select 1", query="?async=true")[2]["statementHandle"]
    assert sf.get(handle)[0] == 429
    assert admin(sf.url, "GET", "faults")["fraction_fault"]["kinds"] == ["GET_STATEMENT_STATUS"]
    admin(sf.url, "DELETE", "faults")
    assert sf.get(handle)[0] == 200
    assert "fraction_fault" not in admin(sf.url, "GET", "faults")
    status, _, _ = http(sf.url, "POST", "/_privatelink/faults", {"fraction": 2})
    assert status == 400


def test_status_fault_after_running_loses_only_the_answer(sf):
    admin(sf.url, "POST", "faults", {"status": 500, "count": 1, "after": True, "kinds": ["REGISTER_PRIVATELINK_ENDPOINT"]})
    rid = str(uuid.uuid4())
    status, headers, body = sf.sql(register_sql(), query=f"?requestId={rid}")
    assert status == 500 and "Retry-After" not in headers, body
    # It ran: the retry with the same requestId gets the first execution.
    assert len(registrations(sf)) == 1
    status, _, body = sf.sql(register_sql(), query=f"?requestId={rid}&retry=true")
    assert status == 200 and "registered" in body["data"][0][0], body
    assert len(registrations(sf)) == 1
    log = [e for e in admin(sf.url, "GET", "requests") if e["statement_kind"] == "REGISTER_PRIVATELINK_ENDPOINT"]
    assert [(e["status"], e.get("served"), e.get("replayed", False)) for e in log] == [(500, 200, False), (200, None, True)]


def test_hold_runs_the_statement_and_keeps_the_answer_back(sf):
    import threading

    admin(sf.url, "POST", "holds", {"kinds": ["register_privatelink_endpoint"], "max_seconds": 30})
    answered = {}
    t = threading.Thread(target=lambda: answered.setdefault("status", sf.sql(register_sql())[0]))
    t.start()
    try:
        deadline = time.monotonic() + 10
        while not admin(sf.url, "GET", "holds")["held"]:
            assert time.monotonic() < deadline, "the register was never held"
            time.sleep(0.05)
        assert admin(sf.url, "GET", "holds") == {
            "rules": [],
            "held": [{"statement_kind": "REGISTER_PRIVATELINK_ENDPOINT", "account": "MYORG-ACCT1", "status": 200}],
        }
        # Registered already, while its caller still waits.
        assert len(registrations(sf)) == 1 and "status" not in answered
        assert sf.sql("select 1")[0] == 200  # other statements pass
    finally:
        admin(sf.url, "DELETE", "holds")
        t.join(10)
    assert answered["status"] == 200
    assert admin(sf.url, "GET", "holds") == {"rules": [], "held": []}
    log = admin(sf.url, "GET", "requests")
    assert any(e["statement_kind"] == "REGISTER_PRIVATELINK_ENDPOINT" and e.get("held") for e in log)


def test_registrations_record_token_digests_not_tokens(sf):
    sf.cell(register_sql(token=fed_token(secret="digest-" + CANARY)))
    [row] = admin(sf.url, "GET", "registrations")
    assert row["token_digests"] == {
        "secret_access_key_sha256": hashlib.sha256(f"secret-digest-{CANARY}".encode()).hexdigest(),
        "session_token_sha256": hashlib.sha256(f"session-digest-{CANARY}".encode()).hexdigest(),
    }
    assert CANARY not in json.dumps(row)


def test_created_on_follows_the_emulated_clock(sf):
    admin(sf.url, "POST", "clock", {"offset_seconds": 7200})
    try:
        status, _, body = sf.sql("select 1")
        assert status == 200, body
        expected = (time.time() + 7200) * 1000
        assert abs(body["createdOn"] - expected) < 5000, body["createdOn"]
    finally:
        admin(sf.url, "POST", "clock", {"offset_seconds": 0})


def test_state_file_round_trip(tmp_path):
    state = tmp_path / "state.json"

    def start():
        proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "server.py"), "--port", "0", "--state", str(state)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        return proc, proc.stdout.readline().strip().split(" ", 1)[1]

    proc, url = start()
    try:
        admin(url, "POST", "accounts", {
            "account": "MYORG-ACCT1", "locator": "AB12345", "endpoint_service_id": "vpce-svc-0123456789abcdef0",
            "users": [{"name": "TERRAFORM", "public_key_pem": public_pem(KEY1), "tokens": [PAT]}],
        })
        Client(url).cell(register_sql())
    finally:
        proc.stdin.close()
        proc.wait(timeout=10)
    assert CANARY not in state.read_text()
    proc, url = start()
    try:
        client = Client(url)
        assert len(registrations(client)) == 1
        assert client.cell("select 1", token=PAT, kind="PROGRAMMATIC_ACCESS_TOKEN") == "1"
        [acct] = admin(url, "GET", "accounts")
        assert acct["endpoint_service_id"] == "vpce-svc-0123456789abcdef0"
    finally:
        proc.stdin.close()
        proc.wait(timeout=10)


def test_server_exits_when_stdin_closes():
    proc = subprocess.Popen(
        [sys.executable, os.path.join(HERE, "server.py"), "--port", "0"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().startswith("READY http://127.0.0.1:")
    proc.stdin.close()
    assert proc.wait(timeout=10) == 0
