#!/usr/bin/env bash
# Runs every cargo-fuzz target under fuzz/ for a bounded time each.
#   FUZZ_SECONDS  seconds per target (default 30)
# Works on the stable toolchain: `-s none` turns off the sanitizer (which
# would need nightly's -Zsanitizer); coverage-guided fuzzing still works, and
# Rust code panics are what we are hunting.
set -euo pipefail

cd "$(dirname "$0")/.."
FUZZ_SECONDS="${FUZZ_SECONDS:-30}"

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

for target in $(cargo fuzz list); do
    echo "== fuzzing ${target} for ${FUZZ_SECONDS}s"
    cargo fuzz run -s none "${target}" -- -max_total_time="${FUZZ_SECONDS}"
done
