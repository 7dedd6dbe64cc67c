#!/usr/bin/env bash
# The demo: loads the freshly built provider into a real Terraform through a
# filesystem mirror (as `terraform init` finds a released provider), starts
# the AWS emulator, and walks examples/demo, a thin caller of the reusable
# module examples/vendor-onboarding, through what a platform team does with
# Sigma: publish the warehouse's load balancer as an endpoint service, grant
# Sigma's VPC on a Redshift cluster and set up the storage integration on an
# exports bucket, printing the module's vendor_handoff; then let "Sigma"
# (another account in the emulator) connect and answer, accept the
# connection and trust Sigma's IAM user, check that a second plan is empty,
# and destroy everything. Alongside, the Snowflake flow of the guide
# (examples/guides/snowflake-endpoint-pinning.md) against the Snowflake SQL
# API emulator: the account's PrivateLink config names Snowflake's endpoint
# service (made in the AWS emulator as Snowflake's AWS account), an interface
# endpoint from the analytics VPC connects to it and is pinned to the
# account; destroy unregisters the pin before the endpoint is deleted.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
bin="$target/debug/terraform-provider-privatelink"
terraform="$root/.tools/bin/terraform"
python="$root/.tools/venv/bin/python"
fixtures="$root/tests/emulators/aws/fixtures.py"
redshift_fixtures="$root/tests/emulators/aws/redshift_fixtures.py"
s3_fixtures="$root/tests/emulators/aws/s3_fixtures.py"
version=0.1.0
# Snowflake's AWS account (the principal its emulator reports) and ours.
snowflake_aws_account=889634178462
our_aws_account=123456789012

work=$(mktemp -d -t privatelink-demo-XXXXXX)
emulator_pid=
snowflake_pid=
cleanup() {
  for pid in $snowflake_pid $emulator_pid; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

# The AWS emulator on a free loopback port; it prints its URL when ready.
coproc EMULATOR { exec "$python" "$root/tests/emulators/aws/server.py" --port 0 --no-stdin-watch; }
emulator_pid=$EMULATOR_PID
read -r ready <&"${EMULATOR[0]}"
url=${ready#READY }
echo "demo: AWS emulator at $url"

# The Snowflake SQL API emulator, likewise; read its READY line through a
# process substitution (bash keeps one coprocess at a time).
exec {snowflake_out}< <(exec "$python" "$root/tests/emulators/snowflake/server.py" --port 0 --no-stdin-watch)
snowflake_pid=$!
read -r -t 30 ready <&"$snowflake_out"
snowflake_url=${ready#READY }
echo "demo: Snowflake emulator at $snowflake_url"

pkg="$work/mirror/registry.terraform.io/privatelink/privatelink/$version/linux_amd64"
mkdir -p "$pkg"
cp "$bin" "$pkg/terraform-provider-privatelink_v$version"
cp -r "$root/examples/demo" "$work/demo"
# Beside it, so the demo's `source = "../vendor-onboarding"` resolves.
cp -r "$root/examples/vendor-onboarding" "$work/vendor-onboarding"
cat > "$work/cli.tfrc" <<CFG
provider_installation {
  filesystem_mirror {
    path    = "$work/mirror"
    include = ["registry.terraform.io/privatelink/privatelink"]
  }
  direct {
    exclude = ["registry.terraform.io/privatelink/privatelink"]
  }
}
CFG
export TF_CLI_CONFIG_FILE="$work/cli.tfrc" TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1
# The module is the one a user runs against AWS; only the environment points
# the provider at the emulator.
export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
export AWS_EC2_METADATA_DISABLED=true
for svc in EC2 IAM REDSHIFT S3 STS; do export "AWS_ENDPOINT_URL_$svc=$url"; done
# The Snowflake account and key-pair user the provider block's snowflake {}
# reads; SNOWFLAKE_HOST replaces https://<account>.snowflakecomputing.com.
export SNOWFLAKE_ACCOUNT=ACME-ANALYTICS SNOWFLAKE_USER=TERRAFORM
export SNOWFLAKE_PRIVATE_KEY_PATH="$work/snowflake/terraform_key.p8" SNOWFLAKE_HOST="$snowflake_url"
cd "$work/demo"

field() { "$python" -c 'import json,sys; v=json.load(sys.stdin)
for k in sys.argv[1:]: v=v[k]
print(v)' "$@"; }
note() { printf '\n\033[1;34m# %s\033[0m\n' "$*"; }
step() { printf '\n\033[1m$ terraform %s\033[0m\n' "$*"; "$terraform" "$@"; }

note "The data estate (made in the emulator): an NLB, an RA3 cluster, a bucket"
export TF_VAR_nlb_arn=$("$python" "$fixtures" "$url" nlb --name warehouse | field nlb_arn)
export TF_VAR_redshift_cluster_identifier=$("$python" "$redshift_fixtures" "$url" cluster | field cluster_identifier)
export TF_VAR_exports_bucket=$("$python" "$s3_fixtures" "$url" bucket --name acme-analytics-exports | field bucket)
printf '%s\n' "$TF_VAR_nlb_arn" "$TF_VAR_redshift_cluster_identifier" "$TF_VAR_exports_bucket"

note "Snowflake's side: its endpoint service (as AWS account $snowflake_aws_account), the account and a key-pair user"
snowflake_service=$("$python" "$fixtures" "$url" partner-service --account "$snowflake_aws_account" \
  --azs 2 --acceptance-required false --allow "$our_aws_account")
echo "$snowflake_service"
# The account, with the user's public key registered (ALTER USER ... SET
# RSA_PUBLIC_KEY in Snowflake) and its endpoint service the one just made,
# so SYSTEM$GET_PRIVATELINK_CONFIG names a service that exists.
mkdir -m 700 "$work/snowflake"
"$python" - "$snowflake_url" "$SNOWFLAKE_PRIVATE_KEY_PATH" "$(field service_id <<<"$snowflake_service")" <<'PY'
import json, os, sys, urllib.request
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
url, key_path, service = sys.argv[1:]
key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
with os.fdopen(os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as fh:
    fh.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
account = {
    "account": os.environ["SNOWFLAKE_ACCOUNT"], "locator": "AC12345", "region": "us-east-1", "endpoint_service_id": service,
    "users": [{"name": os.environ["SNOWFLAKE_USER"], "public_key_pem": public, "roles": ["ACCOUNTADMIN"]}],
}
req = urllib.request.Request(f"{url}/_privatelink/accounts", json.dumps(account).encode(), {"Content-Type": "application/json"})
with urllib.request.urlopen(req) as resp:
    print(json.dumps(json.load(resp)))
PY

note "The analytics VPC: the Snowflake endpoint goes in the subnets of the zones Snowflake's service is in"
analytics_vpc=$("$python" "$fixtures" "$url" consumer-vpc)
export TF_VAR_analytics_vpc_id=$(field vpc_id <<<"$analytics_vpc")
export TF_VAR_snowflake_subnet_ids=$("$python" -c 'import json,sys
vpc, service = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(json.dumps([s["id"] for s in vpc["subnets"] if s["az"] in service["azs"]]))' "$analytics_vpc" "$snowflake_service")
printf '%s\n' "$TF_VAR_analytics_vpc_id" "$TF_VAR_snowflake_subnet_ids"

step version
step init -input=false
note "Publish the warehouse, grant Redshift, set up the storage integration; connect to Snowflake and pin the endpoint"
step apply -input=false -auto-approve
service_name=$("$terraform" output -json vendor_handoff | field privatelink service_name)
snowflake_endpoint=$("$terraform" output -json snowflake | field endpoint_id)

note "Sigma connects from its own account and answers the storage form"
endpoint=$("$python" "$fixtures" "$url" vendor-endpoint "$service_name" 185497759670 | field vpc_endpoint_id)
echo "Sigma's endpoint: $endpoint (pendingAcceptance)"
export TF_VAR_sigma_endpoint_id="$endpoint"
export TF_VAR_sigma_iam_user_arn=$("$python" "$s3_fixtures" "$url" vendor-user | field arn)
export TF_VAR_sigma_external_id="SIGMA_demo_SFCRole=3_abcdefghijklmnop="
echo "Sigma's IAM user: $TF_VAR_sigma_iam_user_arn"

note "Accept Sigma's connection and trust Sigma's IAM user"
step apply -input=false -auto-approve
note "The hand-off, complete: what Sigma's forms ask for"
step output vendor_handoff
set +e
step plan -input=false -detailed-exitcode
code=$?
set -e
if [ "$code" -ne 0 ]; then
  echo "demo: the second plan was not empty (exit $code)" >&2
  exit 1
fi
step destroy -input=false -auto-approve | tee "$work/destroy.log"

note "Snowflake was unregistered before its endpoint was deleted"
# Terraform's log: the pin's destruction completes before the endpoint's starts.
if ! awk '/module\.sigma\.privatelink_snowflake_endpoint_pin\.snowflake\[0\]: Destruction complete/ && !p { p = NR }
          /module\.sigma\.privatelink_vpc_endpoint\.snowflake\[0\]: Destroying/ && !e { e = NR }
          END { exit !(p && e && p < e) }' "$work/destroy.log"; then
  echo "demo: the endpoint was not destroyed after its pin" >&2
  exit 1
fi
pins=$("$python" -c 'import json,sys,urllib.request
print(json.dumps(json.load(urllib.request.urlopen(sys.argv[1] + "/_privatelink/registrations"))))' "$snowflake_url")
gone=$("$python" "$fixtures" "$url" endpoint "$snowflake_endpoint")
echo "Snowflake's registrations: $pins; endpoint $snowflake_endpoint: $gone"
if [ "$pins" != "[]" ] || [ "$(field exists <<<"$gone")" != "False" ]; then
  echo "demo: a pin or the endpoint outlived destroy" >&2
  exit 1
fi
echo
echo "demo: done. Terraform $("$terraform" version -json | field terraform_version) loaded the provider, published the service, granted Redshift, set up the storage integration, connected to Snowflake and pinned the endpoint, accepted Sigma's connection, planned clean and destroyed it all, unpinning before deleting the endpoint."
