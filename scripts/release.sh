#!/usr/bin/env bash
# Packages a provider binary the way the Terraform registry takes it:
#   terraform-provider-privatelink_VERSION_OS_ARCH.zip   holding terraform-provider-privatelink_vVERSION
#   terraform-provider-privatelink_VERSION_manifest.json (protocol versions)
#   terraform-provider-privatelink_VERSION_SHA256SUMS    covering the zips and the manifest
# The registry also wants the SHA256SUMS signed with the publisher's GPG
# key; that key lives with whoever publishes, not here.
#
#   scripts/release.sh BINARY OUT_DIR [OS ARCH]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:?usage: release.sh BINARY OUT_DIR [OS ARCH]}
out=${2:?usage: release.sh BINARY OUT_DIR [OS ARCH]}
os=${3:-linux}
arch=${4:-amd64}
name=terraform-provider-privatelink
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$root/Cargo.toml" | head -1)

mkdir -p "$out"
zip="$out/${name}_${version}_${os}_${arch}.zip"
manifest="$out/${name}_${version}_manifest.json"
sums="$out/${name}_${version}_SHA256SUMS"

# A fixed timestamp keeps the zip (and so its hash) reproducible.
python3 - "$bin" "$zip" "${name}_v${version}" <<'PY'
import sys, zipfile
binary, archive, member = sys.argv[1:4]
info = zipfile.ZipInfo(member, date_time=(1980, 1, 1, 0, 0, 0))
info.external_attr = 0o100755 << 16  # a regular, executable file
info.compress_type = zipfile.ZIP_DEFLATED
with open(binary, "rb") as f, zipfile.ZipFile(archive, "w") as z:
    z.writestr(info, f.read())
PY
cp "$root/terraform-registry-manifest.json" "$manifest"
(cd "$out" && sha256sum "$(basename "$zip")" "$(basename "$manifest")" > "$(basename "$sums")")
echo "release: $(basename "$zip") ($(stat -c %s "$zip") bytes; binary $(stat -c %s "$bin") bytes)"
cat "$sums"
