#!/usr/bin/env bash
# run-oclgrind.sh OCLGRIND PROGRAM [ARGS...]
#
# Run PROGRAM on Oclgrind's simulated OpenCL device with its checks on:
# out-of-bounds and misaligned memory accesses (always checked), OpenCL API
# misuse (--check-api) and data races (--data-races). Oclgrind reports
# problems without changing the program's exit status, so its messages go to
# a log of their own and any message there fails the run.
#
# Not --uninitialized: in Oclgrind 21.10 that plugin crashes (SIGSEGV in
# Uninitialized::instructionExecuted) on the GEMM kernels, and flags the
# running maximum in softmax_xent although every value it is built from
# passes the plugin's own check; so it cannot tell real findings apart.
set -uo pipefail

oclgrind=$1
shift
log=$(mktemp "${TMPDIR:-/tmp}/clnn-oclgrind.XXXXXX")
trap 'rm -f "$log"' EXIT

"$oclgrind" --check-api --data-races --log "$log" "$@"
rc=$?
if [[ -s $log ]]; then
    echo "Oclgrind reported problems:" >&2
    cat "$log" >&2
    echo "run-oclgrind.sh: $(grep -c . "$log") line(s) of Oclgrind diagnostics" >&2
    exit 1
fi
if ((rc != 0)); then
    echo "run-oclgrind.sh: the program failed under Oclgrind (exit $rc)" >&2
    exit "$rc"
fi
echo "run-oclgrind.sh: no Oclgrind diagnostics"
