#!/usr/bin/env bash
# Fuzz clnn's parsers of untrusted input with libFuzzer (clang, ASan, UBSan):
#
#   tools/fuzz.sh [SECONDS] [NAME...]     (default: 60 seconds each, all harnesses)
#
# Harnesses (tests/fuzz/fuzz_NAME.c): safetensors, idx, spec, csv, npy. Each runs for
# SECONDS on a fresh copy of its seed corpus (tests/fuzz/corpus/NAME) in a
# temporary directory; new corpus entries are thrown away afterwards. Builds
# build-fuzz/ with CC=clang -Dfuzzing=true when needed. Any crash, leak,
# timeout or out-of-memory input fails the run; the inputs are kept in
# build-fuzz/fuzz-artifacts/NAME/. Add such an input, once fixed, to the seed
# corpus: every test run replays the corpora (tests fuzz-corpus-*).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

seconds=60
if [[ $# -gt 0 && "$1" =~ ^[0-9]+$ ]]; then
    seconds=$1
    shift
fi
names=("$@")
if ((${#names[@]} == 0)); then
    names=(safetensors idx spec csv npy)
fi

"$root/tools/install-deps.sh" --ci-tools

build="build-fuzz"
if [[ ! -f $build/build.ninja ]]; then
    CC=clang meson setup "$build" -Dfuzzing=true
elif ! meson introspect --buildoptions "$build" | python3 -c \
    'import json,sys; sys.exit(0 if any(o["name"]=="fuzzing" and o["value"] for o in json.load(sys.stdin)) else 1)'; then
    meson configure "$build" -Dfuzzing=true
fi
targets=()
for n in "${names[@]}"; do
    [[ -d tests/fuzz/corpus/$n ]] || { echo "fuzz.sh: no harness '$n' (tests/fuzz/corpus/$n)" >&2; exit 2; }
    targets+=("tests/fuzz/fuzz_$n")
done
meson compile -C "$build" "${targets[@]}"

work=$(mktemp -d "${TMPDIR:-/tmp}/clnn-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT

failed=0
summary=()
for n in "${names[@]}"; do
    echo "=== fuzz_$n: ${seconds} s"
    corpus=$work/$n/corpus
    artifacts=$work/$n/artifacts
    mkdir -p "$corpus" "$artifacts"
    cp tests/fuzz/corpus/"$n"/* "$corpus"/
    log=$work/$n/log.txt
    rc=0
    # -timeout: one input may take 10 s at most; -rss_limit_mb also caps a
    # single allocation (malloc_limit_mb defaults to it). Leaks are reported
    # by LeakSanitizer after each input (-detect_leaks=1, the default).
    "$build/tests/fuzz/fuzz_$n" "$corpus" \
        -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
        -print_final_stats=1 -artifact_prefix="$artifacts/" >"$log" 2>&1 || rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    crashes=$(find "$artifacts" -type f | wc -l)
    if ((rc != 0)) && ((crashes == 0)); then
        crashes=1 # died without writing an input (e.g. a broken build)
    fi
    if ((rc != 0 || crashes != 0)); then
        failed=1
        keep=$build/fuzz-artifacts/$n
        mkdir -p "$keep"
        cp "$artifacts"/* "$keep"/ 2>/dev/null || true
        echo "--- fuzz_$n failed (exit $rc); the end of its log:"
        grep -v '^#[0-9]' "$log" | tail -n 60
        echo "--- inputs kept in $keep; reproduce with: $build/tests/fuzz/fuzz_$n FILE"
    else
        grep -E '^(INFO: Seed|Done [0-9]+ runs)' "$log" || true
    fi
    summary+=("$(printf 'fuzz_%-12s %12s executions, %d crashes' "$n" "${execs:-0}" "$crashes")")
done

echo "=== fuzzing summary (${seconds} s each)"
printf '%s\n' "${summary[@]}"
exit "$failed"
