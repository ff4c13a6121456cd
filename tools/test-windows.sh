#!/usr/bin/env bash
# The Windows build, tested under Wine: tools/test-windows.sh [meson test options...]
#
#   build   cross-compile the library, clnn.exe and the test programs with
#           MinGW-w64 into build-win/ (tools/cross/x86_64-w64-mingw32.ini)
#   tests   the test suite under Wine (meson test -C build-win): the Check
#           programs, built on tests/common/check_compat, and the CLI tests
#           driving `wine clnn.exe`; OpenCL is the machine's driver seen
#           through Wine's opencl.dll (PoCL here)
#   linux   clnn.exe against the Linux clnn of build/ (built first):
#           tests/cli/test_windows_build.py
#
# Wine runs in a prefix of its own, build-win/wine-prefix, made on the first
# run, with one wineserver kept for the whole run. Every step runs even when
# an earlier one failed (but nothing runs without a build); the script then
# exits 1 and lists the failed steps. Installs what it needs with
# tools/install-deps.sh --windows.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
case "${1:-}" in
    -h | --help) sed -n '2,19s/^# \{0,1\}//p' "$0"; exit 0 ;;
esac

"$root/tools/install-deps.sh" --windows
"$root/tools/bootstrap.sh"
if [[ -n "${CI:-}" ]]; then
    export CLNN_TEST_REQUIRE_DEVICE=1
fi

export WINEPREFIX="$root/build-win/wine-prefix"
export WINEDEBUG=-all
failed=()
heading() {
    printf '\n==== %s\n' "$1"
}

heading "Wine prefix $WINEPREFIX"
if [[ ! -f "$WINEPREFIX/system.reg" ]]; then
    mkdir -p "$WINEPREFIX"
    # No Mono or Gecko: nothing here needs .NET or HTML, and their installers
    # would ask for a download.
    WINEDLLOVERRIDES='mscoree,mshtml=' wineboot --init
fi
# One wineserver for the whole run: a program starting while the previous
# one's server shuts down can fail with "wine client error ... Connection
# reset by peer". (A server still running, as after wineboot, must end
# first: it cannot be made persistent.)
wineserver --wait
wineserver --persistent
trap 'wineserver --kill || true' EXIT
# Wine's own services (services.exe, winedevice.exe, ...) start with the
# first program and stay with the server, holding that program's standard
# output: started by a test, they would keep meson (or the CLI tests) waiting
# for the end of its output until the timeout. Started here, they hold
# /dev/null.
wineboot </dev/null >/dev/null 2>&1

heading build
if [[ ! -f build-win/build.ninja ]]; then
    meson setup build-win --cross-file tools/cross/x86_64-w64-mingw32.ini
fi
meson compile -C build-win

heading tests
meson test -C build-win --print-errorlogs "$@" || failed+=(tests)

heading linux
python3 tests/cli/test_windows_build.py --exe build-win/src/cli/clnn.exe \
    --linux build/src/cli/clnn || failed+=(linux)

if ((${#failed[@]})); then
    printf '\ntest-windows.sh: failed: %s\n' "${failed[*]}" >&2
    exit 1
fi
printf '\ntest-windows.sh: all passed\n'
