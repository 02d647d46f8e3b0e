#!/usr/bin/env bash
# Dependencies, build, then every test (unit + integration against the real QEMU); exits with
# meson test's status. The summary at the end lists each test.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh
bash scripts/build.sh
set +e
meson test -C build --print-errorlogs "$@"
status=$?
set -e
exit "$status"
