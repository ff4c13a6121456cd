#!/usr/bin/env bash
# Make sure clnn is built: install missing packages (tools/install-deps.sh),
# configure build/ with meson if it is not configured yet, then compile.
# Works from any directory; tools/train.sh and tools/test.sh run it first.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

"$root/tools/install-deps.sh"
if [[ ! -f build/build.ninja ]]; then
    meson setup build
fi
meson compile -C build
