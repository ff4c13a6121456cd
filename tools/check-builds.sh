#!/usr/bin/env bash
# Build checks beyond the default build (CI runs them after the test suite):
#
#   tools/check-builds.sh [STEP...]     (default: all, in this order)
#
#   posix   the library and the clnn tool compiled with only
#           -D_POSIX_C_SOURCE=200809L (no _GNU_SOURCE), every implicit
#           declaration an error: a GNU-only call, which macOS and MinGW
#           lack, fails here (build-posix/)
#   static  the static library (-Ddefault_library=static, build-static/):
#           installed to a scratch folder, examples/embed.c linked with
#           `pkg-config --static --cflags --libs clnn` alone, and run
#   both    -Ddefault_library=both builds, and both libraries install
#   abi     the shared library's ABI against the committed baseline
#           abi/libclnn.abi (abidiff): a change fails, unless the SONAME and
#           the baseline were changed with it (tools/abi-baseline.sh)
#
# Every step runs even when an earlier one failed; the script then exits 1
# and lists the failed steps.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

steps=("$@")
if ((${#steps[@]} == 0)); then
    steps=(posix static both abi)
fi
for s in "${steps[@]}"; do
    case "$s" in
        posix | static | both | abi) ;;
        -h | --help) sed -n '2,19s/^# \{0,1\}//p' "$0"; exit 0 ;;
        *) echo "check-builds.sh: unknown step '$s' (try --help)" >&2; exit 2 ;;
    esac
done
"$root/tools/install-deps.sh" --ci-tools
if [[ -n "${CI:-}" ]]; then
    export CLNN_TEST_REQUIRE_DEVICE=1
fi

# What these builds leave out: the tests (the default build runs them) and
# the tool's optional parts.
lean=(-Dtests=disabled -Dmpi=disabled -Dplot=disabled)

setup() { # DIR ARGS...: configure DIR once
    local dir=$1
    shift
    [[ -f $dir/build.ninja ]] || meson setup "$dir" "$@" >/dev/null
}

step_posix() {
    setup build-posix "${lean[@]}" \
        -Dc_args="-D_POSIX_C_SOURCE=200809L -Werror=implicit-function-declaration"
    meson compile -C build-posix clnn:shared_library clnn:executable
}

step_static() {
    setup build-static "${lean[@]}" -Ddefault_library=static
    meson compile -C build-static
    local tmp rc=0
    tmp=$(mktemp -d)
    meson install -C build-static --destdir "$tmp/root" --quiet
    local pc prefix
    pc=$(find "$tmp/root" -name clnn.pc -print -quit)
    prefix=$(pkg-config --variable=prefix "$pc")
    local -a flags
    read -r -a flags <<<"$(PKG_CONFIG_PATH="${pc%/*}" pkg-config --static \
        --define-variable=prefix="$tmp/root$prefix" --cflags --libs clnn)"
    echo "pkg-config --static --cflags --libs clnn: ${flags[*]}"
    cc -std=c11 -Wall -Wextra -Werror examples/embed.c "${flags[@]}" -o "$tmp/embed" || rc=1
    if ((rc == 0)) && ldd "$tmp/embed" | grep -q libclnn; then
        echo "check-builds.sh: the static embed loads a shared libclnn" >&2
        rc=1
    fi
    ((rc == 0)) && { "$tmp/embed" | tail -n 3 || rc=1; }
    rm -rf "$tmp"
    return "$rc"
}

step_both() {
    setup build-both "${lean[@]}" -Ddefault_library=both
    meson compile -C build-both
    local tmp rc=0
    tmp=$(mktemp -d)
    meson install -C build-both --destdir "$tmp/root" --quiet
    find "$tmp/root" -name 'libclnn.a' | grep -q . || rc=1
    find "$tmp/root" -name 'libclnn.so.*' | grep -q . || rc=1
    ((rc == 0)) || echo "check-builds.sh: -Ddefault_library=both did not install both" >&2
    rm -rf "$tmp"
    return "$rc"
}

step_abi() {
    tools/abi-baseline.sh --check
}

failed=()
summary=()
for s in "${steps[@]}"; do
    echo
    echo "=================================================================="
    echo "== $s"
    echo "=================================================================="
    start=$SECONDS
    if "step_$s"; then
        result=ok
    else
        result=FAILED
        failed+=("$s")
    fi
    summary+=("$(printf '%-7s %-6s %4d s' "$s" "$result" $((SECONDS - start)))")
done

echo
echo "== build checks"
printf '%s\n' "${summary[@]}"
if ((${#failed[@]})); then
    echo "check-builds.sh: failed: ${failed[*]}" >&2
    exit 1
fi
