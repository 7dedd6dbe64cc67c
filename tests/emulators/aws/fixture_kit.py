"""What every fixture script shares: boto3 clients on the emulator, the
credentials of another account, and the scripts' `--name VALUE` options."""

import sys
import boto3
from botocore.config import Config

REGION = "us-east-1"
OWNER = "123456789012"  # what moto maps the default test keys to
KEYS = dict(aws_access_key_id="AKIAIOSFODNN7EXAMPLE", aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")


def client(url, service, region=REGION, **creds):
    """A client that fails at once (no retries), as the default account
    unless credentials are given; S3 with path-style addresses."""
    config = Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"})
    return boto3.client(service, endpoint_url=url, region_name=region, config=config, **(creds or KEYS))


def as_account(url, account):
    """Credentials of ACCOUNT, through an assumed role (moto maps them)."""
    if account == OWNER:
        return {}
    c = client(url, "sts").assume_role(RoleArn=f"arn:aws:iam::{account}:role/vendor", RoleSessionName="fixture")[
        "Credentials"
    ]
    return dict(
        aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"], aws_session_token=c["SessionToken"]
    )


def usage_if_asked(argv: list[str], doc: str | None) -> None:
    """Prints the script's usage (its docstring) and exits for --help, -h,
    or too few arguments to name a URL and a command."""
    asked = any(a in ("-h", "--help") for a in argv[1:3])
    if asked or len(argv) < 3:
        print((doc or "").strip(), file=sys.stdout if asked else sys.stderr)
        raise SystemExit(0 if asked else 2)


def options(args: list[str], **defaults: str) -> tuple[list[str], dict[str, str]]:
    """Positional arguments and --name VALUE options (names as in DEFAULTS,
    with dashes for underscores)."""
    found = dict(defaults)
    positional: list[str] = []
    i = 0
    while i < len(args):
        if args[i].startswith("--"):
            name = args[i][2:].replace("-", "_")
            if name not in defaults or i + 1 >= len(args):
                raise SystemExit(f"unknown or incomplete option {args[i]}")
            found[name] = args[i + 1]
            i += 2
        else:
            positional.append(args[i])
            i += 1
    return positional, found
