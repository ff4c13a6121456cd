#!/usr/bin/env bash
# The ABI baseline of libclnn (abi/libclnn.abi, written by abidw from
# abigail-tools) and the check against it.
#
#   tools/abi-baseline.sh --check    build build-abi/ and compare its
#                                    libclnn.so with the baseline (abidiff):
#                                    any difference in the exported
#                                    functions, variables and the types they
#                                    use fails, naming it
#   tools/abi-baseline.sh --update   write the baseline from build-abi/;
#                                    refuses a change that breaks programs
#                                    built against the old baseline unless
#                                    the SONAME changed too (src/meson.build)
#
# Policy (README, "ABI"): adding to the API updates the baseline in the same
# change; an incompatible change also bumps the SONAME.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
baseline=abi/libclnn.abi
mode=${1:-}
case "$mode" in
    --check | --update) ;;
    *) sed -n '2,17s/^# \{0,1\}//p' "$0"; exit 2 ;;
esac
for tool in abidw abidiff; do
    command -v "$tool" >/dev/null || {
        echo "abi-baseline.sh: $tool is missing: tools/install-deps.sh --ci-tools" >&2
        exit 1
    }
done

# The ABI of a default build (shared, with debug information for abidw).
[[ -f build-abi/build.ninja ]] ||
    meson setup build-abi -Dtests=disabled -Dmpi=disabled -Dplot=disabled >/dev/null
meson compile -C build-abi clnn:shared_library >/dev/null
lib=$(find build-abi/src -maxdepth 1 -name 'libclnn.so.*.*' -type f | head -n 1)
current=build-abi/libclnn.abi
# Only what the public headers declare counts; no build paths in the file.
abidw --no-corpus-path --headers-dir include --headers-dir build-abi \
    --drop-private-types --out-file "$current" "$lib"
soname() { sed -n 's/.*soname=.\([^'"'"'"]*\).*/\1/p' "$1" | head -n 1; }

if [[ $mode == --update ]]; then
    if [[ -f $baseline ]]; then
        rc=0
        abidiff --no-added-syms "$baseline" "$current" >/dev/null || rc=$?
        # abidiff's exit status: bit 8 means an incompatible change.
        if ((rc & 8)) && [[ $(soname "$baseline") == $(soname "$current") ]]; then
            abidiff "$baseline" "$current" || true
            echo "abi-baseline.sh: the change above breaks programs built against" \
                "$(soname "$baseline"); bump soversion in src/meson.build first" >&2
            exit 1
        fi
    fi
    mkdir -p abi
    cp "$current" "$baseline"
    echo "abi-baseline.sh: wrote $baseline ($(soname "$baseline"))"
    exit 0
fi

if [[ ! -f $baseline ]]; then
    echo "abi-baseline.sh: no baseline $baseline: tools/abi-baseline.sh --update" >&2
    exit 1
fi
rc=0
abidiff "$baseline" "$current" || rc=$?
if ((rc != 0)); then
    echo "abi-baseline.sh: libclnn's ABI differs from $baseline (abidiff status $rc)." >&2
    echo "  If the change is intended: tools/abi-baseline.sh --update (and, for a change" >&2
    echo "  that breaks existing programs, bump soversion in src/meson.build)." >&2
    exit 1
fi
echo "abi-baseline.sh: libclnn ($(soname "$current")) matches $baseline"
