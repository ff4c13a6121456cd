#!/usr/bin/env bash
# Build clnn if needed, then run its test suite: tools/test.sh [meson test options...]
# e.g. tools/test.sh --suite torch
#
# Tests that need an OpenCL device are skipped when there is none, except
# under CI (CI set, as CI services do), where a missing device is a failure.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/tools/bootstrap.sh"
cd "$root"
if [[ -n "${CI:-}" ]]; then
    export CLNN_TEST_REQUIRE_DEVICE=1
fi
exec meson test -C build --print-errorlogs "$@"
