#!/usr/bin/env bash
# Creates <repo>/.tools/venv and installs the emulator's pinned Python packages
# (tests/emulators/requirements.txt, every transitive one held to
# constraints.txt). Idempotent: a stamp file holding the hash
# of the requirements and of the venv's pyvenv.cfg makes a warm run a no-op.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="$repo/.tools/venv"
req="$here/requirements.txt"
constraints="$here/constraints.txt"
stamp="$venv/.emulator-requirements.sha256"
python="${PYTHON:-python3}"

# The stamp covers the pins and the venv's interpreter (pyvenv.cfg records its
# version), so the warm path runs no Python at all.
stamp_of() { cat "$req" "$constraints" "$venv/pyvenv.cfg" 2>/dev/null | sha256sum | cut -d' ' -f1; }

if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$(stamp_of)" ]]; then
    exit 0
fi

if [[ ! -x "$venv/bin/python" ]]; then
    echo "emulators/setup.sh: creating $venv" >&2
    mkdir -p "$repo/.tools"
    "$python" -m venv "$venv"
fi

echo "emulators/setup.sh: installing $(grep -v '^#' "$req" | tr '\n' ' ')" >&2
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req" -c "$constraints"
# Sanity check that the pins are what got installed.
"$venv/bin/python" - "$req" <<'PY'
import sys, re
from importlib.metadata import version
for line in open(sys.argv[1]):
    line = line.split("#", 1)[0].strip()
    if not line:
        continue
    name, pin = re.match(r"([A-Za-z0-9_.-]+)(?:\[[^]]*\])?==(\S+)", line).groups()
    got = version(name)
    if got != pin:
        sys.exit(f"emulators/setup.sh: {name} is {got}, wanted {pin}")
PY
printf '%s\n' "$(stamp_of)" > "$stamp"
