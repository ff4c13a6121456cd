#!/usr/bin/env bash
# Install the Debian packages clnn needs to build, test and run.
# Idempotent: when everything is already installed it only checks and exits.
#
#   tools/install-deps.sh            build, test and run (incl. Fashion-MNIST,
#                                    and Open MPI for clnn train under mpirun)
#   tools/install-deps.sh --torch    also PyTorch, NumPy and OpenBLAS
#                                    (tools/make-fixtures.py, comparisons)
#   tools/install-deps.sh --dev      also shellcheck and oclgrind
#   tools/install-deps.sh --windows  also MinGW-w64 with its zlib, and Wine
#                                    (the Windows build and tools/test-windows.sh)
#   tools/install-deps.sh --ci-tools also clang with its libFuzzer and sanitizer
#                                    runtimes, valgrind and oclgrind
#                                    (tools/fuzz.sh, tools/check-reliability.sh),
#                                    abigail-tools (tools/check-builds.sh abi),
#                                    and what --windows installs
#   tools/install-deps.sh --check    only report what is missing (exit 1 if any)
set -euo pipefail

packages=(
    build-essential pkg-config meson ninja-build python3
    opencl-headers ocl-icd-libopencl1 pocl-opencl-icd libclblast-dev
    check zlib1g-dev clinfo dataset-fashion-mnist
    libopenmpi-dev openmpi-bin
    libcairo2-dev doxygen
)
windows=(gcc-mingw-w64-x86-64 libz-mingw-w64-dev wine wine64)
check_only=0

usage() {
    sed -n '2,17s/^# \{0,1\}//p' "$0"
}

while (($#)); do
    case "$1" in
        --torch) packages+=(python3-torch python3-numpy libopenblas0-pthread) ;;
        --dev) packages+=(shellcheck oclgrind) ;;
        --windows) packages+=("${windows[@]}") ;;
        --ci-tools) packages+=(clang libclang-rt-dev valgrind oclgrind abigail-tools "${windows[@]}") ;;
        --check) check_only=1 ;;
        -h | --help) usage; exit 0 ;;
        *) echo "install-deps.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
    esac
    shift
done

# A package counts as present when dpkg has it fully installed ("ii").
missing=()
for p in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
    if [[ "$status" != ii* ]]; then
        missing+=("$p")
    fi
done

if ((${#missing[@]} == 0)); then
    exit 0
fi

echo "install-deps.sh: missing packages: ${missing[*]}" >&2
if ((check_only)); then
    exit 1
fi
if ((EUID != 0)); then
    echo "install-deps.sh: installing them needs root; rerun with sudo:" >&2
    echo "    sudo $0" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends "${missing[@]}"
