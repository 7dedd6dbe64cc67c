#!/usr/bin/env bash
# The demo: loads the freshly built provider into a real Terraform through a
# filesystem mirror (as `terraform init` finds a released provider), starts
# the AWS emulator, and walks examples/demo through what a platform team does
# with Sigma: publish the warehouse's load balancer as an endpoint service,
# grant Sigma's VPC on a Redshift cluster and set up the storage integration
# on an exports bucket, printing the hand-off; then let "Sigma" (another
# account in the emulator) connect and answer, accept the connection and
# trust Sigma's IAM user, check that a second plan is empty, and destroy
# everything.
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

work=$(mktemp -d -t privatelink-demo-XXXXXX)
emulator_pid=
cleanup() {
  [ -n "$emulator_pid" ] && kill "$emulator_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# The AWS emulator on a free loopback port; it prints its URL when ready.
coproc EMULATOR { exec "$python" "$root/tests/emulators/aws/server.py" --port 0 --no-stdin-watch; }
emulator_pid=$EMULATOR_PID
read -r ready <&"${EMULATOR[0]}"
url=${ready#READY }
echo "demo: AWS emulator at $url"

pkg="$work/mirror/registry.terraform.io/privatelink/privatelink/$version/linux_amd64"
mkdir -p "$pkg"
cp "$bin" "$pkg/terraform-provider-privatelink_v$version"
cp -r "$root/examples/demo" "$work/demo"
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
for svc in EC2 ELASTIC_LOAD_BALANCING_V2 IAM REDSHIFT S3 STS; do export "AWS_ENDPOINT_URL_$svc=$url"; done
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

step version
step init -input=false
note "Publish the warehouse, grant Redshift, set up the storage integration"
step apply -input=false -auto-approve
service_name=$("$terraform" output -json send_to_sigma | field privatelink service_name)

note "Sigma connects from its own account and answers the storage form"
endpoint=$("$python" "$fixtures" "$url" vendor-endpoint "$service_name" 185497759670 | field vpc_endpoint_id)
echo "Sigma's endpoint: $endpoint (pendingAcceptance)"
export TF_VAR_sigma_endpoint_id="$endpoint"
export TF_VAR_sigma_iam_user_arn=$("$python" "$s3_fixtures" "$url" vendor-user | field arn)
export TF_VAR_sigma_external_id="SIGMA_demo_SFCRole=3_abcdefghijklmnop="
echo "Sigma's IAM user: $TF_VAR_sigma_iam_user_arn"

note "Accept Sigma's connection and trust Sigma's IAM user"
step apply -input=false -auto-approve
set +e
step plan -input=false -detailed-exitcode
code=$?
set -e
if [ "$code" -ne 0 ]; then
  echo "demo: the second plan was not empty (exit $code)" >&2
  exit 1
fi
step destroy -input=false -auto-approve
echo
echo "demo: done. Terraform $("$terraform" version -json | field terraform_version) loaded the provider, published the service, granted Redshift, set up the storage integration, accepted Sigma's connection, planned clean and destroyed it all."
