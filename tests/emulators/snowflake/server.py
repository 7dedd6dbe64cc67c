"""Start the Snowflake emulator: the SQL API v2 subset the private-endpoint pinning needs.

    python server.py [--port 0] [--host 127.0.0.1] [--state FILE] [--verbose] [--no-stdin-watch]

Prints exactly one line ``READY http://127.0.0.1:<port>`` on stdout once the
socket is listening, then serves until SIGTERM/SIGINT, or until its standard
input reaches end of file when stdin is a pipe (so a test harness that dies
never leaves it running). With --state FILE the accounts, registrations and
clock offset are loaded from FILE at start and written back after each change.

Only the standard library's http.server plus PyJWT/cryptography (for key-pair
JWTs) are used, so start-up is fast. See README.md for the API and admin hooks.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import random
import re
import sys
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import serving  # noqa: E402  (tests/emulators/serving.py, shared with the AWS emulator)

# --------------------------------------------------------------------------
# Constants: codes and messages seen in Snowflake's documentation and in
# public reports of live responses. Where Snowflake documents nothing the
# choice is marked "chosen".
# --------------------------------------------------------------------------

OK_CODE = "090001"
OK_MESSAGE = "Statement executed successfully."
ASYNC_CODE = "333334"
ASYNC_MESSAGE = (
    "Asynchronous execution in progress. Use provided query id to perform query "
    "monitoring and management."
)
JWT_INVALID = "390144"  # "JWT token is invalid. [<uuid>]" (live 401 body)
OAUTH_INVALID = "390303"  # "Invalid OAuth access token. [<uuid>]"
ROLE_NOT_AUTHORIZED = "390189"
SYNTAX_ERROR = ("001003", "42000")
UNKNOWN_FUNCTION = ("002140", "42601")
BAD_ARG_COUNT = ("001044", "42P13")
PRIVILEGES = ("003001", "42501")
UNSUPPORTED = ("391911", "0A000")  # chosen sqlState; code as seen for USE over the SQL API
INVALID_ARG = ("100069", "22023")  # chosen: runtime argument validation failures
NOT_FOUND = ("000709", "02000")
CANCELED = ("000604", "57014")

MAX_JWT_LIFETIME = 3600
JWT_CLOCK_SKEW = 60
SNOWFLAKE_AWS_ACCOUNT = "889634178462"  # chosen: principal in privatelink-account-principal
VARCHAR_MAX = 16777216

VPCE_RE = re.compile(r"^vpce-[0-9a-f]{8,17}$")
AWS_ACCOUNT_RE = re.compile(r"^\d{12}$")
ENDPOINT_SERVICE_RE = re.compile(r"^vpce-svc-[0-9a-f]{8,17}$")
FEDERATED_ARN_RE = re.compile(r"^arn:aws(?:-[a-z]+)*:sts::(\d{12}):federated-user/([\w+=,.@-]+)$")

SYSTEM_FUNCTIONS = {
    "SYSTEM$REGISTER_PRIVATELINK_ENDPOINT": "REGISTER_PRIVATELINK_ENDPOINT",
    "SYSTEM$UNREGISTER_PRIVATELINK_ENDPOINT": "UNREGISTER_PRIVATELINK_ENDPOINT",
    "SYSTEM$GET_PRIVATELINK_ENDPOINT_REGISTRATIONS": "GET_PRIVATELINK_ENDPOINT_REGISTRATIONS",
    "SYSTEM$GET_PRIVATELINK_CONFIG": "GET_PRIVATELINK_CONFIG",
}
CONTEXT_FUNCTIONS = {
    "CURRENT_ACCOUNT",
    "CURRENT_ACCOUNT_NAME",
    "CURRENT_ORGANIZATION_NAME",
    "CURRENT_REGION",
    "CURRENT_ROLE",
    "CURRENT_USER",
}


class SqlError(Exception):
    """A statement failure: answered 422 with a QueryFailureStatus."""

    def __init__(self, code_state: tuple[str, str], message: str):
        super().__init__(message)
        self.code, self.sql_state = code_state
        self.message = message


class AuthError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


# --------------------------------------------------------------------------
# Time helpers
# --------------------------------------------------------------------------


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def human(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def parse_expiration(value: str) -> float:
    text = value.strip()
    if text.endswith("Z") or text.endswith("z"):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)  # accepts "T" or " " between date and time
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def fingerprint_of(public_key) -> str:
    from cryptography.hazmat.primitives import serialization

    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "SHA256:" + base64.b64encode(hashlib.sha256(der).digest()).decode()


# --------------------------------------------------------------------------
# SQL: tokenizer and a parser for the few statements the emulator knows
# --------------------------------------------------------------------------

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "0": "\0"}


class Tok:
    __slots__ = ("kind", "value", "start", "end")

    def __init__(self, kind: str, value, start: int, end: int):
        self.kind, self.value, self.start, self.end = kind, value, start, end

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"Tok({self.kind},{self.value!r})"


def tokenize(sql: str) -> list[Tok]:
    toks: list[Tok] = []
    i, n = 0, len(sql)
    binds = 0
    while i < n:
        c = sql[i]
        if c.isspace():
            i += 1
        elif sql.startswith("--", i) or sql.startswith("//", i):
            j = sql.find("\n", i)
            i = n if j < 0 else j + 1
        elif sql.startswith("/*", i):
            j = sql.find("*/", i + 2)
            if j < 0:
                raise SqlError(SYNTAX_ERROR, _syntax_message(sql, i, "unterminated comment"))
            i = j + 2
        elif c == "'":
            j, out = i + 1, []
            while True:
                if j >= n:
                    raise SqlError(SYNTAX_ERROR, _syntax_message(sql, i, "unterminated string"))
                ch = sql[j]
                if ch == "'":
                    if j + 1 < n and sql[j + 1] == "'":
                        out.append("'")
                        j += 2
                        continue
                    break
                if ch == "\\" and j + 1 < n:
                    nxt = sql[j + 1]
                    out.append(_ESCAPES.get(nxt, nxt))
                    j += 2
                    continue
                out.append(ch)
                j += 1
            toks.append(Tok("str", "".join(out), i, j + 1))
            i = j + 1
        elif sql.startswith("$$", i):
            j = sql.find("$$", i + 2)
            if j < 0:
                raise SqlError(SYNTAX_ERROR, _syntax_message(sql, i, "unterminated $$ string"))
            toks.append(Tok("str", sql[i + 2 : j], i, j + 2))
            i = j + 2
        elif c == '"':
            j = i + 1
            out = []
            while True:
                if j >= n:
                    raise SqlError(SYNTAX_ERROR, _syntax_message(sql, i, "unterminated identifier"))
                if sql[j] == '"':
                    if j + 1 < n and sql[j + 1] == '"':
                        out.append('"')
                        j += 2
                        continue
                    break
                out.append(sql[j])
                j += 1
            toks.append(Tok("qident", "".join(out), i, j + 1))
            i = j + 1
        elif c.isdigit() or (c == "." and i + 1 < n and sql[i + 1].isdigit()):
            m = re.match(r"\d*\.?\d+(?:[eE][+-]?\d+)?|\d+\.", sql[i:])
            toks.append(Tok("num", m.group(0), i, i + m.end()))
            i += m.end()
        elif c.isalpha() or c == "_":
            m = re.match(r"[A-Za-z_][A-Za-z0-9_$]*", sql[i:])
            toks.append(Tok("ident", m.group(0), i, i + m.end()))
            i += m.end()
        elif c == "?":
            binds += 1
            toks.append(Tok("bind", str(binds), i, i + 1))
            i += 1
        elif c == ":" and i + 1 < n and (sql[i + 1].isalnum() or sql[i + 1] == "_"):
            m = re.match(r":([A-Za-z0-9_]+)", sql[i:])
            toks.append(Tok("bind", m.group(1), i, i + m.end()))
            i += m.end()
        elif c in "(),;-+*":
            toks.append(Tok("punct", c, i, i + 1))
            i += 1
        else:
            raise SqlError(SYNTAX_ERROR, _syntax_message(sql, i, repr(c)))
    return toks


def _line_pos(sql: str, pos: int) -> tuple[int, int]:
    line = sql.count("\n", 0, pos) + 1
    col = pos - (sql.rfind("\n", 0, pos) + 1)
    return line, col


def _syntax_message(sql: str, pos: int, what: str) -> str:
    line, col = _line_pos(sql, pos)
    return f"SQL compilation error:\nsyntax error line {line} at position {col} unexpected {what}."


class Call:
    def __init__(self, name: str, args: list, start: int, end: int, paren: int):
        self.name, self.args, self.start, self.end, self.paren = name, args, start, end, paren


class Lit:
    def __init__(self, value, kind: str, start: int, end: int):
        self.value, self.kind, self.start, self.end = value, kind, start, end


class Parser:
    def __init__(self, sql: str, bindings: dict | None):
        self.sql = sql
        self.toks = tokenize(sql)
        self.i = 0
        self.bindings = bindings or {}

    def peek(self) -> Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> Tok:
        tok = self.peek()
        if tok is None:
            raise SqlError(SYNTAX_ERROR, _syntax_message(self.sql, len(self.sql), "end of input"))
        self.i += 1
        return tok

    def fail(self, tok: Tok | None):
        if tok is None:
            raise SqlError(SYNTAX_ERROR, _syntax_message(self.sql, len(self.sql), "end of input"))
        raise SqlError(SYNTAX_ERROR, _syntax_message(self.sql, tok.start, f"'{self.sql[tok.start:tok.end][:40]}'"))

    def is_word(self, tok: Tok | None, word: str) -> bool:
        return tok is not None and tok.kind == "ident" and tok.value.upper() == word

    def statement(self):
        tok = self.peek()
        if tok is None:
            raise SqlError(SYNTAX_ERROR, "SQL compilation error:\nEmpty SQL statement.")
        if self.is_word(tok, "SELECT"):
            self.take()
            items = [self.item()]
            while self.peek() is not None and self.peek().kind == "punct" and self.peek().value == ",":
                self.take()
                items.append(self.item())
            self.end()
            return ("SELECT", items)
        if self.is_word(tok, "USE"):
            self.take()
            nxt = self.take()
            if self.is_word(nxt, "ROLE"):
                self.take()
            self.end()
            return ("USE", None)
        self.fail(tok)

    def end(self):
        tok = self.peek()
        if tok is not None and tok.kind == "punct" and tok.value == ";":
            self.take()
            tok = self.peek()
            if tok is not None:
                raise SqlError(
                    ("000008", "0A000"),
                    "Actual statement count 2 did not match the desired statement count 1.",
                )
        if tok is not None:
            self.fail(tok)

    def item(self):
        expr = self.expr()
        alias = None
        tok = self.peek()
        if self.is_word(tok, "AS"):
            self.take()
            tok = self.take()
            if tok.kind not in ("ident", "qident"):
                self.fail(tok)
            alias = tok.value.upper() if tok.kind == "ident" else tok.value
        elif tok is not None and tok.kind in ("ident", "qident") and not self.is_word(tok, "FROM"):
            self.take()
            alias = tok.value.upper() if tok.kind == "ident" else tok.value
        elif self.is_word(tok, "FROM"):
            self.fail(tok)
        return expr, alias

    def expr(self):
        tok = self.take()
        if tok.kind == "punct" and tok.value == "-":
            inner = self.take()
            if inner.kind != "num":
                self.fail(inner)
            return Lit("-" + inner.value, "num", tok.start, inner.end)
        if tok.kind == "num":
            return Lit(tok.value, "num", tok.start, tok.end)
        if tok.kind == "str":
            return Lit(tok.value, "str", tok.start, tok.end)
        if tok.kind == "bind":
            binding = self.bindings.get(tok.value)
            if not isinstance(binding, dict) or "value" not in binding:
                raise SqlError(
                    ("002049", "42601"),
                    f"SQL compilation error: error line 1 at position {_line_pos(self.sql, tok.start)[1]}\n"
                    f"Bind variable {self.sql[tok.start:tok.end]} not set.",
                )
            btype = str(binding.get("type", "TEXT")).upper()
            value = binding["value"]
            if value is None:
                return Lit(None, "null", tok.start, tok.end)
            kind = "num" if btype in ("FIXED", "REAL") else "str"
            return Lit(str(value), kind, tok.start, tok.end)
        if tok.kind == "ident":
            word = tok.value.upper()
            if word == "NULL":
                return Lit(None, "null", tok.start, tok.end)
            if word in ("TRUE", "FALSE"):
                return Lit(word.lower(), "bool", tok.start, tok.end)
            nxt = self.peek()
            if nxt is not None and nxt.kind == "punct" and nxt.value == "(":
                paren = self.take()
                args = []
                close = self.peek()
                if close is not None and close.kind == "punct" and close.value == ")":
                    self.take()
                    return Call(word, args, tok.start, close.end, paren.start)
                while True:
                    args.append(self.expr())
                    sep = self.take()
                    if sep.kind == "punct" and sep.value == ",":
                        continue
                    if sep.kind == "punct" and sep.value == ")":
                        return Call(word, args, tok.start, sep.end, paren.start)
                    self.fail(sep)
            raise SqlError(
                ("000904", "42000"),
                f"SQL compilation error: error line 1 at position {_line_pos(self.sql, tok.start)[1]}\n"
                f"invalid identifier '{word}'",
            )
        self.fail(tok)


def column_name(sql: str, expr, alias: str | None) -> str:
    if alias:
        return alias
    if isinstance(expr, Call):
        if not expr.args:
            return expr.name + "()"
        return expr.name + re.sub(r"\s+", " ", sql[expr.paren : expr.end])
    text = sql[expr.start : expr.end]
    return text.upper() if expr.kind != "str" else text


def statement_kind(sql: str) -> str:
    """A coarse label for the request log; never the statement text."""
    upper = sql.upper()
    for name, kind in SYSTEM_FUNCTIONS.items():
        if name + "(" in re.sub(r"\s+", "", upper):
            return kind
    m = re.match(r"\s*(\w+)", upper)
    if not m:
        return "UNKNOWN"
    word = m.group(1)
    if word == "SELECT":
        for fn in sorted(CONTEXT_FUNCTIONS, key=len, reverse=True):
            if fn in upper:
                return fn
        return "SELECT"
    return word if word in ("USE", "SHOW", "CREATE", "ALTER", "DROP", "INSERT") else "UNKNOWN"


# --------------------------------------------------------------------------
# State
# --------------------------------------------------------------------------


class State:
    def __init__(self, path: str | None):
        self.lock = threading.RLock()
        self.path = path
        self.reset()
        if path and os.path.exists(path):
            self.load()

    def reset(self) -> None:
        self.accounts: dict[str, dict] = {}
        self.registrations: list[dict] = []
        self.endpoints: dict[str, dict] = {}  # vpce -> first registration of that endpoint
        self.offset = 0.0
        self.statements: dict[str, dict] = {}
        self.request_ids: dict[tuple, str] = {}
        self.log: list[dict] = []
        self.fault_status = None  # {"status", "count", "retry_after"}
        self.async_count = 0
        self.async_polls = 1
        self.async_kinds = None  # statement kinds the async fault applies to; None: all
        # A seeded fraction of submits and polls answered 429/503 (with
        # Retry-After) or 500 before anything runs: {"fraction", "statuses",
        # "retry_after", "kinds", "seed"}.
        self.fraction_fault = None
        self.rng = random.Random(0)
        # Holds: a matching statement runs, then its answer waits until the
        # holds are released (or max_seconds), so a test can kill the client
        # while the call is in flight.
        self.hold_rules: list[dict] = []
        self.held: list[dict] = []
        self.release = threading.Event()

    # -- persistence (accounts hold token hashes and public keys, never tokens)
    def load(self) -> None:
        with open(self.path) as fh:
            data = json.load(fh)
        for spec in data.get("accounts", []):
            self.accounts[spec["account"]] = self._account_from_saved(spec)
        self.registrations = data.get("registrations", [])
        self.endpoints = data.get("endpoints", {})
        self.offset = float(data.get("offset_seconds", 0))

    def save(self) -> None:
        if not self.path:
            return
        data = {
            "accounts": [self._account_to_saved(a) for a in self.accounts.values()],
            "registrations": self.registrations,
            "endpoints": self.endpoints,
            "offset_seconds": self.offset,
        }
        tmp = self.path + ".tmp"
        with open(tmp, "w") as fh:
            json.dump(data, fh, indent=1)
        os.replace(tmp, self.path)

    @staticmethod
    def _account_to_saved(acct: dict) -> dict:
        return {
            **{k: acct[k] for k in ("account", "locator", "region", "organization", "account_name")},
            "endpoint_service_id": acct.get("endpoint_service_id"),
            "users": [
                {
                    "name": u["name"],
                    "public_keys_pem": u["public_keys_pem"],
                    "default_role": u["default_role"],
                    "roles": u["roles"],
                    "token_hashes": u["token_hashes"],
                }
                for u in acct["users"].values()
            ],
        }

    def _account_from_saved(self, spec: dict) -> dict:
        acct = {k: spec[k] for k in ("account", "locator", "region", "organization", "account_name")}
        acct["endpoint_service_id"] = spec.get("endpoint_service_id")
        acct["users"] = {}
        for u in spec["users"]:
            acct["users"][u["name"]] = self._user(
                u["name"], u["public_keys_pem"], u["default_role"], u["roles"], [], u["token_hashes"]
            )
        return acct

    @staticmethod
    def _user(name, pems, default_role, roles, tokens, hashes=()) -> dict:
        from cryptography.hazmat.primitives.serialization import load_pem_public_key

        keys = {}
        for pem in pems:
            key = load_pem_public_key(pem.encode())
            keys[fingerprint_of(key)] = key
        return {
            "name": name,
            "public_keys_pem": list(pems),
            "keys": keys,
            "default_role": default_role,
            "roles": list(roles),
            "token_hashes": sorted(set(hashes) | {token_hash(t) for t in tokens}),
        }

    # -- admin: accounts
    def put_account(self, spec: dict) -> dict:
        name = str(spec.get("account", "")).strip().upper()
        if not re.match(r"^[A-Z0-9_]+(-[A-Z0-9_]+)?$", name):
            raise ValueError("account must be ORGNAME-ACCOUNTNAME (or a single name)")
        org, _, acct_name = name.partition("-")
        if not acct_name:
            org, acct_name = "", name
        locator = str(spec.get("locator") or acct_name).strip().upper()
        region = str(spec.get("region") or "us-east-1").strip().lower()
        service = spec.get("endpoint_service_id")
        if service is not None:
            service = str(service).strip()
            if not ENDPOINT_SERVICE_RE.match(service):
                raise ValueError("endpoint_service_id must be vpce-svc- followed by 8 to 17 hex digits")
        users = {}
        for u in spec.get("users", []):
            uname = str(u["name"]).strip().upper()
            pems = [p for p in (u.get("public_key_pem"), u.get("public_key_pem_2")) if p]
            pems += list(u.get("public_keys_pem", []))
            roles = [str(r) for r in u.get("roles", ["ACCOUNTADMIN", "PUBLIC"])]
            default_role = str(u.get("default_role") or (roles[0] if roles else "PUBLIC"))
            if default_role not in roles:
                roles.append(default_role)
            if "PUBLIC" not in roles:
                roles.append("PUBLIC")
            users[uname] = self._user(uname, pems, default_role, roles, u.get("tokens", []))
        acct = {
            "account": name,
            "locator": locator,
            "region": region,
            "organization": org,
            "account_name": acct_name,
            "endpoint_service_id": service,
            "users": users,
        }
        with self.lock:
            # create or replace: a replaced account starts without registrations
            if name in self.accounts:
                self._drop_registrations(name)
            self.accounts[name] = acct
            self.save()
        return self.describe_account(acct)

    @staticmethod
    def describe_account(acct: dict) -> dict:
        return {
            "account": acct["account"],
            "locator": acct["locator"],
            "region": acct["region"],
            "endpoint_service_id": provider_service(acct),
            "users": [
                {
                    "name": u["name"],
                    "default_role": u["default_role"],
                    "roles": u["roles"],
                    "public_key_fingerprints": sorted(u["keys"]),
                    "token_count": len(u["token_hashes"]),
                }
                for u in acct["users"].values()
            ],
        }

    def find_account(self, ident: str) -> dict | None:
        for acct in self.accounts.values():
            if ident in (acct["account"], acct["locator"]):
                return acct
        return None

    def _drop_registrations(self, account: str) -> None:
        self.registrations = [r for r in self.registrations if r["account"] != account]
        self._forget_unused_endpoints()

    def _forget_unused_endpoints(self) -> None:
        used = {r["pinnedConsumerEndpointId"] for r in self.registrations}
        for vpce in list(self.endpoints):
            if vpce not in used:
                del self.endpoints[vpce]

    # -- clock
    def now(self) -> float:
        return time.time() + self.offset


# --------------------------------------------------------------------------
# Authentication
# --------------------------------------------------------------------------


def authenticate(state: State, headers) -> tuple[dict, dict]:
    auth = headers.get("Authorization", "")
    if not auth.startswith("Bearer ") or not auth[7:].strip():
        # chosen: Snowflake documents a 401 for a missing token, not its body
        raise AuthError(OAUTH_INVALID, "Authorization header is missing or is not a Bearer token.")
    token = auth[7:].strip()
    kind = headers.get("X-Snowflake-Authorization-Token-Type", "").strip().upper()
    if not kind:
        # Documented: without the header Snowflake examines the token itself.
        kind = "KEYPAIR_JWT" if _looks_like_keypair_jwt(token) else "OAUTH"
    if kind == "KEYPAIR_JWT":
        return _keypair(state, token)
    if kind in ("OAUTH", "PROGRAMMATIC_ACCESS_TOKEN"):
        digest = token_hash(token)
        with state.lock:
            for acct in state.accounts.values():
                for user in acct["users"].values():
                    if digest in user["token_hashes"]:
                        return acct, user
        raise AuthError(OAUTH_INVALID, "Invalid OAuth access token.")
    raise AuthError(OAUTH_INVALID, f"Unsupported authorization token type {kind!r}.")


def _looks_like_keypair_jwt(token: str) -> bool:
    import jwt

    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except Exception:
        return False
    return ".SHA256:" in str(claims.get("iss", ""))


def _keypair(state: State, token: str) -> tuple[dict, dict]:
    import jwt

    invalid = AuthError(JWT_INVALID, "JWT token is invalid.")
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except Exception:
        raise invalid from None
    if header.get("alg") != "RS256":
        raise invalid
    iss, sub = claims.get("iss"), claims.get("sub")
    if not isinstance(iss, str) or not isinstance(sub, str) or ".SHA256:" not in iss:
        raise invalid
    qualified, _, fp = iss.partition(".SHA256:")
    if "." not in qualified or qualified != sub:
        raise invalid
    account_id, _, user_name = qualified.partition(".")
    if account_id != account_id.upper() or user_name != user_name.upper():
        raise invalid  # documented: account and user in upper case
    with state.lock:
        acct = state.find_account(account_id)
        user = acct["users"].get(user_name) if acct else None
        key = user["keys"].get("SHA256:" + fp) if user else None
    if key is None:
        raise invalid
    try:
        jwt.decode(
            token,
            key=key,
            algorithms=["RS256"],
            options={"verify_exp": False, "verify_iat": False, "verify_nbf": False, "verify_aud": False},
        )
    except Exception:
        raise invalid from None
    iat, exp = claims.get("iat"), claims.get("exp")
    if not isinstance(iat, (int, float)) or not isinstance(exp, (int, float)):
        raise invalid
    now = time.time()  # transport auth uses the real clock, not the emulated one
    if exp <= now or iat > now + JWT_CLOCK_SKEW or exp - iat > MAX_JWT_LIFETIME or exp <= iat:
        raise invalid
    return acct, user


# --------------------------------------------------------------------------
# Statement execution
# --------------------------------------------------------------------------


def text_column(name: str) -> dict:
    return {
        "name": name,
        "database": "",
        "schema": "",
        "table": "",
        "nullable": True,
        "byteLength": VARCHAR_MAX,
        "length": VARCHAR_MAX,
        "type": "text",
        "scale": None,
        "precision": None,
        "collation": None,
    }


def fixed_column(name: str, value: str) -> dict:
    digits = len(value.lstrip("-").split(".")[0])
    scale = len(value.split(".")[1]) if "." in value else 0
    return {
        "name": name,
        "database": "",
        "schema": "",
        "table": "",
        "nullable": False,
        "byteLength": None,
        "length": None,
        "type": "fixed",
        "scale": scale,
        "precision": digits + scale,
        "collation": None,
    }


class Session:
    def __init__(self, state: State, acct: dict, user: dict, role: str):
        self.state, self.acct, self.user, self.role = state, acct, user, role


def execute(session: Session, sql: str, bindings: dict | None) -> tuple[list[dict], list[list]]:
    kind, items = Parser(sql, bindings).statement()
    if kind == "USE":
        raise SqlError(
            UNSUPPORTED,
            "Unsupported feature 'USE'. Commands that change the session context are supported "
            "only in a request that specifies multiple statements.",
        )
    columns, row = [], []
    for expr, alias in items:
        name = column_name(sql, expr, alias)
        value, typ = evaluate(session, expr)
        columns.append(fixed_column(name, value) if typ == "fixed" else text_column(name))
        row.append(value)
    return columns, [row]


def evaluate(session: Session, expr) -> tuple[str | None, str]:
    if isinstance(expr, Lit):
        if expr.kind == "num":
            return expr.value, "fixed"
        return expr.value, "text"
    name = expr.name
    if name in CONTEXT_FUNCTIONS:
        if expr.args:
            _arg_count(name, expr.args, 0, 0)
        acct = session.acct
        return {
            "CURRENT_ACCOUNT": acct["locator"],
            "CURRENT_ACCOUNT_NAME": acct["account_name"],
            "CURRENT_ORGANIZATION_NAME": acct["organization"],
            "CURRENT_REGION": "AWS_" + acct["region"].upper().replace("-", "_"),
            "CURRENT_ROLE": session.role,
            "CURRENT_USER": session.user["name"],
        }[name], "text"
    if name in SYSTEM_FUNCTIONS:
        args = [evaluate(session, a)[0] for a in expr.args]
        return SYSTEM_IMPL[name](session, name, args), "text"
    raise SqlError(
        UNKNOWN_FUNCTION,
        f"SQL compilation error:\nUnknown function {name}",
    )


def _arg_count(name: str, args: list, low: int, high: int) -> None:
    if not low <= len(args) <= high:
        expected = str(low) if low == high else f"{low} to {high}"
        raise SqlError(
            BAD_ARG_COUNT,
            f"SQL compilation error:\nInvalid number of arguments for function {name}: "
            f"expected {expected}, got {len(args)}",
        )


def _require_accountadmin(session: Session) -> None:
    if session.role != "ACCOUNTADMIN":
        raise SqlError(
            PRIVILEGES,
            "SQL access control error:\nInsufficient privileges to operate on account "
            f"'{session.acct['account_name']}'",
        )


def _strip_trailing_commas(text: str) -> str:
    """Snowflake's own documented example token has a trailing comma; tolerate those."""
    out, in_str, esc = [], False, False
    for i, ch in enumerate(text):
        if in_str:
            out.append(ch)
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
            continue
        if ch == '"':
            in_str = True
        elif ch == ",":
            rest = text[i + 1 :].lstrip()
            if rest[:1] in ("}", "]"):
                continue
        out.append(ch)
    return "".join(out)


def validate_federation_token(session: Session, fn: str, aws_account: str, token: str | None) -> None:
    if token is None or not str(token).strip():
        raise SqlError(INVALID_ARG, f"{fn}: the token argument is empty.")
    try:
        doc = json.loads(_strip_trailing_commas(str(token)))
    except ValueError:
        raise SqlError(
            INVALID_ARG,
            f"{fn}: the token is not valid JSON; pass the output of 'aws sts get-federation-token'.",
        ) from None
    if not isinstance(doc, dict):
        raise SqlError(INVALID_ARG, f"{fn}: the token must be a JSON object.")
    creds, fed = doc.get("Credentials"), doc.get("FederatedUser")
    missing = []
    if not isinstance(creds, dict):
        missing.append("Credentials")
    else:
        for key in ("AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration"):
            if not isinstance(creds.get(key), str) or not creds[key]:
                missing.append(f"Credentials.{key}")
    if not isinstance(fed, dict):
        missing.append("FederatedUser")
    else:
        for key in ("FederatedUserId", "Arn"):
            if not isinstance(fed.get(key), str) or not fed[key]:
                missing.append(f"FederatedUser.{key}")
    if missing:
        raise SqlError(INVALID_ARG, f"{fn}: the token is missing {', '.join(missing)}.")
    try:
        expires = parse_expiration(creds["Expiration"])
    except ValueError:
        raise SqlError(INVALID_ARG, f"{fn}: Credentials.Expiration is not a timestamp.") from None
    if expires <= session.state.now():
        raise SqlError(INVALID_ARG, f"{fn}: the token has expired (Credentials.Expiration is in the past).")
    m = FEDERATED_ARN_RE.match(fed["Arn"])
    if not m:
        raise SqlError(INVALID_ARG, f"{fn}: FederatedUser.Arn is not a federated-user ARN.")
    if m.group(1) != aws_account:
        raise SqlError(
            INVALID_ARG,
            f"{fn}: the token belongs to AWS account {m.group(1)}, not {aws_account}.",
        )
    if fed["FederatedUserId"].split(":", 1)[0] != aws_account:
        raise SqlError(INVALID_ARG, f"{fn}: FederatedUser.FederatedUserId does not match AWS account {aws_account}.")


def _fault_matches(kinds: list | None, kind: str) -> bool:
    """A fault limited to some statement kinds (e.g. only REGISTER_PRIVATELINK_ENDPOINT)
    leaves the others alone."""
    return not kinds or kind in kinds


def token_digests(token: str) -> dict:
    """SHA-256 of the token's secret fields, so a test can prove which token
    a client sent (and search its own logs for it) without the emulator ever
    keeping the secret itself."""
    creds = json.loads(_strip_trailing_commas(str(token)))["Credentials"]
    return {
        "secret_access_key_sha256": hashlib.sha256(creds["SecretAccessKey"].encode()).hexdigest(),
        "session_token_sha256": hashlib.sha256(creds["SessionToken"].encode()).hexdigest(),
    }


def _endpoint_args(fn: str, vpce, aws_account) -> tuple[str, str]:
    vpce = "" if vpce is None else str(vpce).strip()
    aws_account = "" if aws_account is None else str(aws_account).strip()
    if not VPCE_RE.match(vpce):
        raise SqlError(INVALID_ARG, f"{fn}: '{vpce}' is not a valid AWS VPC endpoint ID (vpce-...).")
    if not AWS_ACCOUNT_RE.match(aws_account):
        raise SqlError(INVALID_ARG, f"{fn}: the AWS account ID must be 12 digits, got '{aws_account}'.")
    return vpce, aws_account


def provider_service(acct: dict) -> str:
    """Snowflake's endpoint service in the account's region: the one set with
    the account (``endpoint_service_id``), else one derived from the region."""
    if acct.get("endpoint_service_id"):
        return acct["endpoint_service_id"]
    digest = hashlib.sha256(("svc:" + acct["region"]).encode()).hexdigest()
    return "vpce-svc-" + digest[:17]


def sys_register(session: Session, fn: str, args: list) -> str:
    _arg_count(fn, args, 3, 4)
    _require_accountadmin(session)
    vpce, aws_account = _endpoint_args(fn, args[0], args[1])
    delay = 60
    if len(args) == 4:
        raw = args[3]
        try:
            delay_f = float(str(raw).strip())
        except (TypeError, ValueError):
            raise SqlError(INVALID_ARG, f"{fn}: delay time must be a number of minutes.") from None
        if delay_f != int(delay_f):
            raise SqlError(INVALID_ARG, f"{fn}: delay time must be a whole number of minutes.")
        delay = int(delay_f)
        if not 0 <= delay <= 1440:
            raise SqlError(
                INVALID_ARG,
                f"{fn}: delay time {delay} is out of range; it must be between 0 and 1440 minutes.",
            )
    validate_federation_token(session, fn, aws_account, args[2])
    digests = token_digests(args[2])
    state, acct = session.state, session.acct
    with state.lock:
        for reg in state.registrations:
            if reg["account"] == acct["account"] and reg["pinnedConsumerEndpointId"] == vpce:
                raise SqlError(
                    INVALID_ARG,
                    f"{fn}: private endpoint {vpce} is already registered for this account.",
                )
        now = state.now()
        first = state.endpoints.get(vpce)
        if first is None:
            first = {
                "first_account": acct["account"],
                "first_registered_at": now,
                "enforcement_at": now + delay * 60,
                "delay_minutes": delay,
            }
            state.endpoints[vpce] = first
        enforcement = max(first["enforcement_at"], now)
        state.registrations.append(
            {
                "account": acct["account"],
                "consumerEndpointId": aws_account,
                "consumerEndpointType": "Aws Id",
                "pinnedConsumerEndpointId": vpce,
                "providerServiceEndpoint": provider_service(acct),
                "registered_at": now,
                "enforcement_at": enforcement,
                "delay_minutes": delay,
                "token_digests": digests,
            }
        )
        state.save()
    when = "immediately" if enforcement <= now else f"at {human(enforcement)}"
    return (
        f"Private endpoint {vpce} registered. The registration will be enforced {when}. "
        "When the same private endpoint is pinned to multiple accounts, enforcement is based "
        f"on the earliest registration ({human(first['first_registered_at'])} plus "
        f"{first['delay_minutes']} minutes)."
    )


def sys_unregister(session: Session, fn: str, args: list) -> str:
    _arg_count(fn, args, 3, 3)
    _require_accountadmin(session)
    vpce, aws_account = _endpoint_args(fn, args[0], args[1])
    validate_federation_token(session, fn, aws_account, args[2])
    state, acct = session.state, session.acct
    with state.lock:
        match = [
            r
            for r in state.registrations
            if r["account"] == acct["account"] and r["pinnedConsumerEndpointId"] == vpce
        ]
        if not match:
            raise SqlError(INVALID_ARG, f"{fn}: private endpoint {vpce} is not registered for this account.")
        if match[0]["consumerEndpointId"] != aws_account:
            raise SqlError(
                INVALID_ARG,
                f"{fn}: private endpoint {vpce} is registered for AWS account "
                f"{match[0]['consumerEndpointId']}, not {aws_account}.",
            )
        state.registrations.remove(match[0])
        state._forget_unused_endpoints()
        state.save()
    return f"Private endpoint {vpce} unregistered."


def sys_get_registrations(session: Session, fn: str, args: list) -> str:
    _arg_count(fn, args, 0, 0)
    _require_accountadmin(session)
    with session.state.lock:
        rows = [
            {
                "consumerEndpointId": r["consumerEndpointId"],
                "consumerEndpointType": r["consumerEndpointType"],
                "pinnedConsumerEndpointId": r["pinnedConsumerEndpointId"],
                "providerServiceEndpoint": r["providerServiceEndpoint"],
            }
            for r in session.state.registrations
            if r["account"] == session.acct["account"]
        ]
    return json.dumps(rows)


def privatelink_config(acct: dict) -> dict:
    loc, region = acct["locator"].lower(), acct["region"]
    regionless = (
        f"{acct['organization']}-{acct['account_name']}".lower()
        if acct["organization"]
        else acct["account_name"].lower()
    )
    host = f"{loc}.{region}.privatelink.snowflakecomputing.com"
    stage_id = hashlib.sha256(("stage:" + region).encode()).hexdigest()[:6]
    return {
        "regionless-snowsight-privatelink-url": f"app-{regionless}.privatelink.snowflakecomputing.com",
        "privatelink-account-name": f"{loc}.{region}.privatelink",
        "privatelink-connection-ocsp-urls": "[]",
        "snowsight-privatelink-url": f"app.{region}.privatelink.snowflakecomputing.com",
        "privatelink-internal-stage": f"sfc-{stage_id}-customer-stage.s3.{region}.amazonaws.com",
        "privatelink-account-url": host,
        "privatelink-connection-urls": "[]",
        "regionless-privatelink-account-url": f"{regionless}.privatelink.snowflakecomputing.com",
        "privatelink_ocsp-url": f"ocsp.{host}",
        "privatelink-vpce-id": f"com.amazonaws.vpce.{region}.{provider_service(acct)}",
        "privatelink-account-principal": f"arn:aws:iam::{SNOWFLAKE_AWS_ACCOUNT}:root",
        "regionless-privatelink-ocsp-url": f"ocsp.{regionless}.privatelink.snowflakecomputing.com",
        "app-service-privatelink-url": f"*.{region}.privatelink.snowflake.app",
        "privatelink-dashed-urls-for-duo": json.dumps([f"{loc}-{region}.privatelink.snowflakecomputing.com"]),
    }


def sys_get_config(session: Session, fn: str, args: list) -> str:
    _arg_count(fn, args, 0, 0)
    _require_accountadmin(session)
    return json.dumps(privatelink_config(session.acct))


SYSTEM_IMPL = {
    "SYSTEM$REGISTER_PRIVATELINK_ENDPOINT": sys_register,
    "SYSTEM$UNREGISTER_PRIVATELINK_ENDPOINT": sys_unregister,
    "SYSTEM$GET_PRIVATELINK_ENDPOINT_REGISTRATIONS": sys_get_registrations,
    "SYSTEM$GET_PRIVATELINK_CONFIG": sys_get_config,
}


# --------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------


def status_url(handle: str) -> str:
    return f"/api/v2/statements/{handle}"


def result_body(stmt: dict) -> tuple[int, dict]:
    """The response for a finished statement (200 ResultSet or 422 failure)."""
    base = {
        "code": OK_CODE,
        "statementStatusUrl": status_url(stmt["handle"]),
        "requestId": stmt["request_id"],
        "sqlState": "00000",
        "statementHandle": stmt["handle"],
        "message": OK_MESSAGE,
        "createdOn": stmt["created_on"],
    }
    if stmt["error"] is not None:
        code, sql_state, message = stmt["error"]
        return 422, {
            "code": code,
            "message": message,
            "sqlState": sql_state,
            "statementHandle": stmt["handle"],
            "statementStatusUrl": status_url(stmt["handle"]),
            "createdOn": stmt["created_on"],
        }
    columns, data = stmt["columns"], stmt["data"]
    size = len(json.dumps(data))
    base["resultSetMetaData"] = {
        "numRows": len(data),
        "format": "jsonv2",
        "partitionInfo": [{"rowCount": len(data), "uncompressedSize": size}],
        "rowType": columns,
    }
    base["data"] = data
    return 200, base


def pending_body(stmt: dict) -> dict:
    return {
        "code": ASYNC_CODE,
        "message": ASYNC_MESSAGE,
        "statementHandle": stmt["handle"],
        "statementStatusUrl": status_url(stmt["handle"]),
    }


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "SnowflakeEmulator/1.0"
    state: State = None  # set by main
    verbose = False

    def log_request(self, *args, **kwargs) -> None:
        if self.verbose:
            super().log_request(*args, **kwargs)

    def log_message(self, fmt, *args) -> None:
        if self.verbose:
            super().log_message(fmt, *args)

    # -- plumbing
    def send_json(self, status: int, body, headers: dict | None = None) -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(raw)

    def read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def record(self, **entry) -> None:
        entry.setdefault("time", iso(time.time()))
        with self.state.lock:
            self.state.log.append(entry)

    def do_GET(self) -> None:
        self.dispatch("GET")

    def do_POST(self) -> None:
        self.dispatch("POST")

    def do_DELETE(self) -> None:
        self.dispatch("DELETE")

    def dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        path = url.path.rstrip("/") or "/"
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        body = self.read_body()
        try:
            if path.startswith("/_privatelink/"):
                return self.admin(method, path[len("/_privatelink/") :], body)
            if path == "/api/v2/statements" and method == "POST":
                return self.submit(query, body)
            m = re.match(r"^/api/v2/statements/([^/]+)(/cancel)?$", path)
            if m and method == "GET" and not m.group(2):
                return self.poll(m.group(1))
            if m and method == "POST" and m.group(2):
                return self.cancel(m.group(1))
            self.send_json(404, {"code": "000404", "message": f"Unknown endpoint {method} {path}"})
        except Exception as exc:  # pragma: no cover - keep the server up
            self.send_json(500, {"code": "000603", "message": f"Internal emulator error: {type(exc).__name__}"})
            if self.verbose:
                raise

    # -- SQL API
    def auth(self, kind: str) -> tuple[dict, dict] | None:
        try:
            return authenticate(self.state, self.headers)
        except AuthError as err:
            self.record(account=None, user=None, statement_kind=kind, status=401)
            self.send_json(401, {"code": err.code, "message": f"{err.message} [{uuid.uuid4()}]"})
            return None

    def submit(self, query: dict, raw: bytes) -> None:
        ctype = self.headers.get("Content-Type", "")
        if ctype and not ctype.lower().startswith("application/json"):
            return self.send_json(415, {"code": "391902", "message": f"Unsupported media type {ctype}."})
        authed = self.auth("UNKNOWN")
        if authed is None:
            return
        acct, user = authed
        if not self.headers.get("User-Agent"):
            # documented as required for every SQL API request
            self.record(account=acct["account"], user=user["name"], statement_kind="UNKNOWN", status=400)
            return self.send_json(400, {"code": "391903", "message": "The User-Agent header is required."})
        try:
            body = json.loads(raw or b"{}")
            if not isinstance(body, dict):
                raise ValueError
        except ValueError:
            self.record(account=acct["account"], user=user["name"], statement_kind="UNKNOWN", status=400)
            return self.send_json(400, {"code": "390142", "message": "The request body is not a JSON object."})
        sql = body.get("statement")
        if not isinstance(sql, str) or not sql.strip():
            self.record(account=acct["account"], user=user["name"], statement_kind="UNKNOWN", status=400)
            return self.send_json(400, {"code": "390142", "message": "The request body has no statement."})
        kind = statement_kind(sql)
        who = {"account": acct["account"], "user": user["name"], "statement_kind": kind}
        request_id = query.get("requestId") or str(uuid.uuid4())
        retry = query.get("retry", "").lower() == "true"
        if retry:
            who["retry"] = True
        want_async = query.get("async", "").lower() == "true"
        state = self.state
        key = (acct["account"], user["name"], request_id)

        with state.lock:
            if retry and key in state.request_ids:
                stmt = state.statements[state.request_ids[key]]
                status, payload = self.statement_response(stmt, first=True)
                self.record(**who, status=status, statement_handle=stmt["handle"], replayed=True)
                return self.send_json(status, payload)
            fault = state.fault_status
            lost = None
            if fault and fault["count"] > 0 and _fault_matches(fault.get("kinds"), kind):
                fault["count"] -= 1
                if fault["count"] == 0:
                    state.fault_status = None
                if not fault.get("after"):
                    return self.send_injected(who, fault["status"], fault["retry_after"])
                # Runs, then the answer is lost: only a retry=true with the
                # same requestId learns the result.
                lost = fault
            injected = self.fraction_status(kind) if lost is None else None
            if injected is not None:
                return self.send_injected(who, *injected)
            polls = 0
            if state.async_count > 0 and _fault_matches(state.async_kinds, kind):
                state.async_count -= 1
                polls = max(1, state.async_polls)
                want_async = True

        role = body.get("role") or user["default_role"]
        handle = str(uuid.uuid4())
        stmt = {
            "handle": handle,
            "request_id": request_id,
            "account": acct["account"],
            "user": user["name"],
            "kind": kind,
            # The emulated clock, like registration times: a client may take
            # a registration's time from its statement's createdOn.
            "created_on": int(state.now() * 1000),
            "sql": sql,
            "bindings": body.get("bindings"),
            "role": role,
            "done": False,
            "polls_left": polls,
            "columns": None,
            "data": None,
            "error": None,
        }
        with state.lock:
            state.statements[handle] = stmt
            # "forget": the run is not tied to its requestId, so a
            # resubmission runs the statement again (Snowflake promises not
            # to rerun only a statement that had succeeded).
            if not (lost is not None and lost.get("forget")):
                state.request_ids[key] = handle
            if not want_async:
                self.run(stmt, acct, user)
            status, payload = self.statement_response(stmt, first=True)
        if lost is not None:
            return self.send_injected({**who, "statement_handle": handle, "served": status},
                                      lost["status"], lost["retry_after"])
        hold = self.hold_for(kind)
        if hold is not None:
            self.wait_held(who, status, hold)
        self.record(
            **who,
            status=status,
            statement_handle=handle,
            **({"async": True} if want_async else {}),
            **({"held": True} if hold is not None else {}),
        )
        if hold is None:
            return self.send_json(status, payload)
        try:
            self.send_json(status, payload)
        except (BrokenPipeError, ConnectionResetError):
            # The client died while its answer was held: what holds are for.
            self.close_connection = True

    def send_injected(self, who: dict, status: int, retry_after: int) -> None:
        """An injected failure before the statement runs, in the shape
        Snowflake answers: 429/503 with Retry-After, 500 without."""
        self.record(**who, status=status, injected=True)
        headers = {"Retry-After": str(retry_after)} if status in (429, 503) else {}
        message = {
            429: "Too many requests. Retry later.",
            503: "Service unavailable (injected).",
        }.get(status, "Internal server error (injected).")
        self.send_json(status, {"code": "000" + str(status), "message": message}, headers)

    def fraction_status(self, kind: str) -> tuple[int, int] | None:
        """(status, Retry-After) when the seeded fraction picks this call."""
        with self.state.lock:
            spec = self.state.fraction_fault
            if not spec or not _fault_matches(spec.get("kinds"), kind):
                return None
            if self.state.rng.random() >= spec["fraction"]:
                return None
            statuses = spec["statuses"]
            return statuses[int(self.state.rng.random() * len(statuses)) % len(statuses)], spec["retry_after"]

    def hold_for(self, kind: str) -> dict | None:
        with self.state.lock:
            for rule in self.state.hold_rules:
                if rule["count"] > 0 and _fault_matches(rule.get("kinds"), kind):
                    rule["count"] -= 1
                    return rule
        return None

    def wait_held(self, who: dict, status: int, rule: dict) -> None:
        item = {"statement_kind": who["statement_kind"], "account": who["account"], "status": status}
        with self.state.lock:
            release = self.state.release
            self.state.held.append(item)
        try:
            release.wait(rule["max_seconds"])
        finally:
            with self.state.lock:
                self.state.held.remove(item)

    def run(self, stmt: dict, acct: dict, user: dict) -> None:
        """Execute a statement (under the state lock); the SQL text is dropped afterwards."""
        try:
            role = stmt["role"]
            if role not in user["roles"]:
                raise SqlError(
                    (ROLE_NOT_AUTHORIZED, "08004"),
                    f"Role '{role}' specified in the connect string does not exist or not authorized. "
                    "Contact your local system administrator, or attempt to login with another role, "
                    "e.g. PUBLIC.",
                )
            session = Session(self.state, acct, user, role)
            stmt["columns"], stmt["data"] = execute(session, stmt["sql"], stmt["bindings"])
        except SqlError as err:
            stmt["error"] = (err.code, err.sql_state, err.message)
        stmt["done"] = True
        stmt["sql"] = stmt["bindings"] = None

    def statement_response(self, stmt: dict, first: bool) -> tuple[int, dict]:
        if stmt.get("canceled"):
            return 422, {
                "code": CANCELED[0],
                "message": "SQL execution canceled",
                "sqlState": CANCELED[1],
                "statementHandle": stmt["handle"],
                "statementStatusUrl": status_url(stmt["handle"]),
                "createdOn": stmt["created_on"],
            }
        if not stmt["done"]:
            return 202, pending_body(stmt)
        return result_body(stmt)

    def poll(self, handle: str) -> None:
        authed = self.auth("GET_STATEMENT_STATUS")
        if authed is None:
            return
        acct, user = authed
        who = {"account": acct["account"], "user": user["name"], "statement_kind": "GET_STATEMENT_STATUS"}
        injected = self.fraction_status("GET_STATEMENT_STATUS")
        if injected is not None:
            return self.send_injected({**who, "statement_handle": handle}, *injected)
        with self.state.lock:
            stmt = self.state.statements.get(handle)
            if stmt is None or stmt["account"] != acct["account"]:
                self.record(**who, status=422, statement_handle=handle)
                return self.send_json(
                    422,
                    {
                        "code": NOT_FOUND[0],
                        "message": f"Statement {handle} not found",
                        "sqlState": NOT_FOUND[1],
                        "statementHandle": handle,
                    },
                )
            if not stmt["done"] and not stmt.get("canceled"):
                if stmt["polls_left"] > 0:
                    stmt["polls_left"] -= 1
                else:
                    owner = self.state.accounts.get(stmt["account"])
                    owner_user = owner["users"].get(stmt["user"]) if owner else None
                    if owner_user is None:
                        stmt["error"] = ("390144", "08004", "The statement's user no longer exists.")
                        stmt["done"] = True
                    else:
                        self.run(stmt, owner, owner_user)
            status, payload = self.statement_response(stmt, first=False)
        self.record(**who, status=status, statement_handle=handle)
        self.send_json(status, payload)

    def cancel(self, handle: str) -> None:
        authed = self.auth("CANCEL_STATEMENT")
        if authed is None:
            return
        acct, user = authed
        who = {"account": acct["account"], "user": user["name"], "statement_kind": "CANCEL_STATEMENT"}
        with self.state.lock:
            stmt = self.state.statements.get(handle)
            if stmt is None or stmt["account"] != acct["account"]:
                self.record(**who, status=422, statement_handle=handle)
                return self.send_json(
                    422,
                    {"code": NOT_FOUND[0], "message": f"Statement {handle} not found",
                     "sqlState": NOT_FOUND[1], "statementHandle": handle},
                )
            if not stmt["done"]:
                stmt["canceled"] = True
                stmt["sql"] = stmt["bindings"] = None
            body = {
                "code": "000000" if not stmt["done"] else "000605",
                "sqlState": "00000" if not stmt["done"] else "01000",
                "message": "successfully canceled" if not stmt["done"] else "Statement already completed.",
                "statementHandle": handle,
                "statementStatusUrl": status_url(handle),
            }
        self.record(**who, status=200, statement_handle=handle)
        self.send_json(200, body)

    # -- admin hooks
    def admin(self, method: str, what: str, raw: bytes) -> None:
        state = self.state
        try:
            payload = json.loads(raw) if raw else None
        except ValueError:
            return self.send_json(400, {"error": "body is not JSON"})
        if what == "accounts" and method == "POST":
            try:
                return self.send_json(200, state.put_account(payload or {}))
            except (ValueError, KeyError, TypeError) as err:
                return self.send_json(400, {"error": f"bad account: {err}"})
        if what == "accounts" and method == "GET":
            with state.lock:
                return self.send_json(200, [state.describe_account(a) for a in state.accounts.values()])
        if what == "requests" and method == "GET":
            with state.lock:
                return self.send_json(200, list(state.log))
        if what == "requests" and method == "DELETE":
            with state.lock:
                n = len(state.log)
                state.log.clear()
            return self.send_json(200, {"cleared": n})
        if what == "faults" and method in ("POST", "DELETE"):
            with state.lock:
                if method == "DELETE":
                    state.fault_status, state.async_count, state.async_polls = None, 0, 1
                    state.async_kinds = None
                    state.fraction_fault = None
                else:
                    spec = payload or {}
                    kinds = [str(k).upper() for k in spec["kinds"]] if spec.get("kinds") else None
                    if "fraction" in spec:
                        try:
                            fraction = float(spec["fraction"])
                            statuses = [int(x) for x in spec.get("statuses") or [429, 503, 500]]
                        except (TypeError, ValueError):
                            return self.send_json(400, {"error": "fraction must be a number, statuses numbers"})
                        if not 0.0 <= fraction <= 1.0 or not statuses or any(x < 400 for x in statuses):
                            return self.send_json(
                                400, {"error": "fraction must be within [0, 1] and statuses error statuses"}
                            )
                        state.fraction_fault = {
                            "fraction": fraction,
                            "statuses": statuses,
                            "retry_after": int(spec.get("retry_after", 1)),
                            "kinds": kinds,
                            "seed": spec.get("seed", 0),
                        }
                        state.rng = random.Random(spec.get("seed", 0))
                    if "status" in spec:
                        state.fault_status = {
                            "status": int(spec["status"]),
                            "count": int(spec.get("count", 1)),
                            "retry_after": int(spec.get("retry_after", 1)),
                            "kinds": kinds,
                            "after": bool(spec.get("after", False)),
                            "forget": bool(spec.get("forget", False)),
                        }
                    if "async_count" in spec:
                        state.async_count = int(spec["async_count"])
                        state.async_polls = int(spec.get("async_polls", 1))
                        state.async_kinds = kinds
            return self.send_json(200, self.faults())
        if what == "faults" and method == "GET":
            return self.send_json(200, self.faults())
        if what == "holds":
            if method == "POST":
                items = payload if isinstance(payload, list) else [payload or {}]
                with state.lock:
                    for item in items:
                        kinds = [str(k).upper() for k in item["kinds"]] if item.get("kinds") else None
                        state.hold_rules.append(
                            {"kinds": kinds, "count": int(item.get("count", 1)),
                             "max_seconds": float(item.get("max_seconds", 60))}
                        )
                    state.release = threading.Event()
            elif method == "DELETE":
                self.release_holds()
            with state.lock:
                return self.send_json(
                    200,
                    {"rules": [dict(r) for r in state.hold_rules if r["count"] > 0],
                     "held": [dict(h) for h in state.held]},
                )
        if what == "registrations" and method == "GET":
            with state.lock:
                now = state.now()
                rows = []
                for r in state.registrations:
                    first = state.endpoints.get(r["pinnedConsumerEndpointId"], {})
                    rows.append(
                        {
                            **{k: v for k, v in r.items() if k not in ("registered_at", "enforcement_at")},
                            "registered_at": iso(r["registered_at"]),
                            "enforcement_at": iso(r["enforcement_at"]),
                            "enforced": now >= r["enforcement_at"],
                            "endpoint_first_account": first.get("first_account"),
                            "endpoint_first_registered_at": iso(first["first_registered_at"]) if first else None,
                        }
                    )
            return self.send_json(200, rows)
        if what == "clock" and method in ("POST", "GET"):
            with state.lock:
                if method == "POST":
                    spec = payload or {}
                    if "offset_seconds" in spec:
                        state.offset = float(spec["offset_seconds"])
                    if "advance_seconds" in spec:
                        state.offset += float(spec["advance_seconds"])
                    state.save()
                return self.send_json(200, {"offset_seconds": state.offset, "now": iso(state.now())})
        if what == "reset" and method == "POST":
            self.release_holds()
            with state.lock:
                state.reset()
                state.save()
            return self.send_json(200, {"reset": True})
        self.send_json(404, {"error": f"unknown admin hook {method} /_privatelink/{what}"})

    def release_holds(self) -> None:
        with self.state.lock:
            self.state.hold_rules.clear()
            self.state.release.set()

    def faults(self) -> dict:
        with self.state.lock:
            extra = {"fraction_fault": dict(self.state.fraction_fault)} if self.state.fraction_fault else {}
            return {
                **extra,
                "status_fault": dict(self.state.fault_status) if self.state.fault_status else None,
                "async_count": self.state.async_count,
                "async_polls": self.state.async_polls,
                "async_kinds": self.state.async_kinds,
            }


# --------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        # A client that went away (e.g. a provider killed by a test) is not
        # the emulator's fault; anything else is still printed.
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--state", default=None, help="JSON file to load and save state in")
    parser.add_argument("--no-stdin-watch", action="store_true")
    parser.add_argument("--verbose", action="store_true", help="log each request to stderr")
    args = parser.parse_args(argv)

    Handler.state = State(args.state)
    Handler.verbose = args.verbose
    server = QuietServer((args.host, args.port), Handler)
    return serving.serve_until_stopped(server, args.host, watch_stdin=not args.no_stdin_watch)


if __name__ == "__main__":
    sys.exit(main())
