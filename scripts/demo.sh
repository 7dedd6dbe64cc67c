#!/usr/bin/env bash
# The demo: loads the freshly built provider into a real Terraform through a
# filesystem mirror (as `terraform init` finds a released provider) and runs
# init, apply, a second plan (which must be empty) and destroy on
# examples/demo, printing what a user would see.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
bin="$target/debug/terraform-provider-privatelink"
terraform="$root/.tools/bin/terraform"
version=0.1.0

work=$(mktemp -d -t privatelink-demo-XXXXXX)
trap 'rm -rf "$work"' EXIT
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
cd "$work/demo"

step() { printf '\n\033[1m$ terraform %s\033[0m\n' "$*"; "$terraform" "$@"; }
step version
step init -input=false
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
echo "demo: done. The provider was loaded by Terraform $("$terraform" version -json | python3 -c 'import json,sys; print(json.load(sys.stdin)["terraform_version"])'), applied, planned clean and destroyed."
