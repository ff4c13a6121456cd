#!/usr/bin/env bash
# Reliability checks beyond the test suite (CI runs them after tools/test.sh):
#
#   tools/check-reliability.sh [STEP...]     (default: all, in this order)
#
#   fuzz      libFuzzer on the safetensors, IDX, layer-spec, CSV and NumPy parsers
#             (tools/fuzz.sh; CLNN_FUZZ_SECONDS per parser, default 60)
#   asan      the whole test suite built with AddressSanitizer, LeakSanitizer
#             and UBSan in build-asan/ (meson test --setup asan)
#   valgrind  the host-side tests, and the malformed-model test on the OpenCL
#             device, under valgrind memcheck (meson test --setup valgrind)
#   oclgrind  every kernel on Oclgrind's simulated device, failing on any
#             out-of-bounds access, data race or API error (suite oclgrind)
#   tsan      the concurrency tests (two networks in two threads; replicas
#             joined by an allreduce; one context used by two threads; eight
#             threads making their contexts at first use, 100 runs) built
#             with ThreadSanitizer in build-tsan/
#   progcache the device tests with the on-disk program cache on (the default
#             on drivers other than PoCL) in an empty folder, twice: the first
#             pass compiles and stores every binary, the second loads them
#
# Every step runs even when an earlier one failed; the script then exits 1
# and lists the failed steps. Installs what it needs with
# tools/install-deps.sh --ci-tools and builds build/ first (tools/bootstrap.sh).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

steps=("$@")
if ((${#steps[@]} == 0)); then
    steps=(fuzz asan valgrind oclgrind tsan progcache)
fi
for s in "${steps[@]}"; do
    case "$s" in
        fuzz | asan | valgrind | oclgrind | tsan | progcache) ;;
        -h | --help) sed -n '2,24s/^# \{0,1\}//p' "$0"; exit 0 ;;
        *) echo "check-reliability.sh: unknown step '$s' (try --help)" >&2; exit 2 ;;
    esac
done

"$root/tools/install-deps.sh" --ci-tools
"$root/tools/bootstrap.sh"
if [[ -n "${CI:-}" ]]; then
    export CLNN_TEST_REQUIRE_DEVICE=1
fi

# Device-free tests of the default build; with model-bad-files (which loads
# malformed models into a network on the device) they run under valgrind.
host_tests=(core-reference core-spec core-status)

step_fuzz() {
    tools/fuzz.sh "${CLNN_FUZZ_SECONDS:-60}"
}

step_asan() {
    if [[ ! -f build-asan/build.ninja ]]; then
        meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false
    fi
    meson compile -C build-asan
    meson test -C build-asan --setup asan --print-errorlogs
}

step_valgrind() {
    local listed names=()
    listed=$(meson test -C build --list 2>/dev/null)
    for t in "${host_tests[@]}" model-bad-files; do
        if grep -q "/ $t\$" <<<"$listed"; then
            names+=("$t")
        fi
    done
    meson test -C build --setup valgrind --print-errorlogs --suite io
    meson test -C build --setup valgrind --print-errorlogs "${names[@]}"
}

step_oclgrind() {
    meson test -C build --setup oclgrind --print-errorlogs --suite oclgrind
}

step_tsan() {
    if [[ ! -f build-tsan/build.ninja ]]; then
        meson setup build-tsan -Db_sanitize=thread -Db_lundef=false
    fi
    meson compile -C build-tsan
    TSAN_OPTIONS="halt_on_error=1 ${TSAN_OPTIONS:-}" \
        meson test -C build-tsan --print-errorlogs reliability-threads parallel-replicas \
        core-embedding reliability-first-use
}

step_progcache() {
    # The tests' cache folder (tests/meson.build), emptied first.
    local dir=build/test-cache rc=0
    rm -rf "$dir"
    for pass in store load; do
        echo "-- $pass"
        CLNN_PROGRAM_CACHE=1 meson test -C build --print-errorlogs --suite core --suite torch || rc=1
    done
    if [[ ! -d $dir/programs ]]; then
        echo "progcache: no program binaries were stored in $dir" >&2
        rc=1
    fi
    rm -rf "$dir"
    return "$rc"
}

failed=()
summary=()
for s in "${steps[@]}"; do
    echo
    echo "=================================================================="
    case "$s" in
        fuzz) echo "== fuzz: libFuzzer on the parsers (${CLNN_FUZZ_SECONDS:-60} s each)" ;;
        asan) echo "== asan: whole test suite with AddressSanitizer + UBSan (build-asan)" ;;
        valgrind) echo "== valgrind: host-side tests under memcheck" ;;
        oclgrind) echo "== oclgrind: every kernel on Oclgrind's simulated device" ;;
        tsan) echo "== tsan: concurrent training under ThreadSanitizer (build-tsan)" ;;
        progcache) echo "== progcache: device tests storing, then loading program binaries" ;;
    esac
    echo "=================================================================="
    start=$SECONDS
    if "step_$s"; then
        result=ok
    else
        result=FAILED
        failed+=("$s")
    fi
    summary+=("$(printf '%-9s %-6s %4d s' "$s" "$result" $((SECONDS - start)))")
done

echo
echo "== reliability checks"
printf '%s\n' "${summary[@]}"
if ((${#failed[@]})); then
    echo "check-reliability.sh: failed: ${failed[*]}" >&2
    exit 1
fi
