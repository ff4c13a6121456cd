#!/usr/bin/env bash
# Run clnn's test suite and benchmark on a machine with a GPU and its vendor's
# OpenCL driver, and no network, from a build made on this machine and
# carried there.
#
#   tools/device-check.sh prepare        here: build build-device/ and fetch
#                                        the run-time packages into .device/
#   tools/device-check.sh run OUT [SEL]  there: the device's check; every
#                                        result goes to the folder OUT
#
# prepare builds what the check runs (the library, the clnn tool, the test
# programs on the bundled Check-compatible runner, so the machine needs no
# Check), release-optimised with the developer hooks the tests use, and
# downloads the Debian packages the machine may lack: the OpenCL ICD loader,
# clinfo and CLBlast. Carry build-device and .device (both git-ignored).
#
# run unpacks those packages into .device/root (never into the system),
# points the ICD loader at the machine's vendor drivers, adding the NVIDIA
# driver when /etc/OpenCL/vendors does not list it, and picks the device:
# SEL (an index or name part, as clnn --device takes), else the first GPU.
# Then, each step's output in OUT:
#   system.txt       the machine, the driver, clinfo -l, clnn devices
#   tests.txt/.log   the test suite on that device (tools/run-tests.py: no
#                    meson needed), CLNN_TEST_REQUIRE_DEVICE=1
#   bench.json       clnn bench --json, untuned (OUT/cache starts empty)
#   tune.json        clnn tune --json (quick search) in a fresh cache folder
#   bench-tuned.json clnn bench --json with that tuning
#   summary.txt      one line per step: its exit status and time
# and exits non-zero when a step failed. A step that fails does not stop
# the next.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
bundle=.device
packages=(ocl-icd-libopencl1 clinfo libclblast1)

prepare() {
    set -e
    "$root/tools/install-deps.sh"
    if [[ ! -f build-device/build.ninja ]]; then
        meson setup build-device -Dbuildtype=release -Ddebug_hooks=enabled -Dcheck_compat=true \
            -Dmpi=disabled -Dplot=disabled
    fi
    meson compile -C build-device
    rm -rf "$bundle/debs"
    mkdir -p "$bundle/debs"
    (cd "$bundle/debs" && apt-get download "${packages[@]}")
    du -sh build-device "$bundle"
    echo "device-check.sh: carry build-device and $bundle; run: tools/device-check.sh run OUT"
}

# dpkg -x where there is dpkg, else the package's data archive by hand.
unpack() {
    local deb=$1 into=$2
    if command -v dpkg >/dev/null; then
        dpkg -x "$deb" "$into"
        return
    fi
    local tmp
    tmp=$(mktemp -d)
    (cd "$tmp" && ar x "$root/$deb")
    tar -xf "$tmp"/data.tar.* -C "$into"
    rm -rf "$tmp"
}

# The machine's NVIDIA OpenCL driver, when it has one and the ICD loader's
# folder does not name it.
nvidia_icd() {
    local vendors=$1 lib
    grep -qsi nvidia /etc/OpenCL/vendors/*.icd && return 0
    lib=$(ldconfig -p 2>/dev/null | awk '/libnvidia-opencl\.so\.1/ {print $NF; exit}')
    for d in /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/local/nvidia/lib64 /usr/local/nvidia/lib; do
        [[ -z $lib && -e $d/libnvidia-opencl.so.1 ]] && lib=$d/libnvidia-opencl.so.1
    done
    [[ -n $lib ]] && echo "$lib" >"$vendors/nvidia.icd"
}

step() { # NAME COMMAND...: run, record status and time in the summary
    local name=$1 start=$SECONDS rc=0
    shift
    "$@" || rc=$?
    printf '%-12s exit %-3d %5d s\n' "$name" "$rc" $((SECONDS - start)) | tee -a "$out/summary.txt"
    ((rc == 0)) || failed=1
}

run() {
    out=$1
    local selector=${2:-}
    mkdir -p "$out"
    : >"$out/summary.txt"
    failed=0
    [[ -f build-device/meson-info/intro-tests.json ]] || {
        echo "device-check.sh: no build-device here: run 'tools/device-check.sh prepare' on the" \
            "build machine and carry build-device and $bundle" >&2
        exit 1
    }
    # The build names its source and build folders by absolute path: where
    # this copy lives elsewhere, the old path is made to lead here.
    local source
    source=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["directories"]["source"])' \
        build-device/meson-info/meson-info.json)
    if [[ $source != "$root" && ! -e $source ]]; then
        mkdir -p "$(dirname "$source")"
        ln -s "$root" "$source"
    fi

    local lib="$root/$bundle/root/usr/lib/x86_64-linux-gnu"
    rm -rf "$bundle/root" "$bundle/vendors"
    mkdir -p "$bundle/root" "$bundle/vendors"
    for deb in "$bundle"/debs/*.deb; do
        [[ -e $deb ]] && unpack "$deb" "$bundle/root"
    done
    cp /etc/OpenCL/vendors/*.icd "$bundle/vendors/" 2>/dev/null
    nvidia_icd "$bundle/vendors"
    export OCL_ICD_VENDORS="$root/$bundle/vendors"
    export LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    [[ -e $lib/libOpenCL.so.1 ]] && export CLNN_OPENCL_LIBRARY="$lib/libOpenCL.so.1"
    [[ -e $lib/libclblast.so.1 ]] && export CLNN_CLBLAST_LIBRARY="$lib/libclblast.so.1"
    export CLNN_CACHE_DIR="$root/$out/cache"
    local clnn=build-device/src/cli/clnn clinfo="$bundle/root/usr/bin/clinfo"

    {
        uname -a
        nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1
        echo "--- ICDs in $OCL_ICD_VENDORS"
        cat "$bundle"/vendors/*.icd 2>&1
        echo "--- clinfo -l"
        "$clinfo" -l 2>&1
        echo "--- clnn devices"
        "$clnn" devices 2>&1
    } >"$out/system.txt"
    cat "$out/system.txt"
    if [[ -z $selector ]]; then
        selector=$("$clnn" devices 2>/dev/null | awk '$1 == "*" && $0 ~ / GPU / {print $2; exit}')
        selector=${selector:-$("$clnn" devices 2>/dev/null | awk '/ GPU / {print $1; exit}')}
    fi
    export CLNN_DEVICE=${selector:-0}
    echo "device-check.sh: device $CLNN_DEVICE" | tee -a "$out/summary.txt"

    step tests python3 tools/run-tests.py build-device --exclude-suite oclgrind \
        --exclude-suite docs --exclude-suite mpi --exclude-suite embed \
        --env CLNN_TEST_REQUIRE_DEVICE=1 --log "$out/tests.log" --jobs 4 \
        > >(tee "$out/tests.txt") 2>&1
    # The cache folder starts empty, so this bench runs untuned.
    step bench sh -c "'$clnn' bench --json >'$out/bench.json' 2>'$out/bench.err'"
    step tune sh -c "'$clnn' tune --quick --json >'$out/tune.json' 2>'$out/tune.err'"
    step bench-tuned sh -c "'$clnn' bench --json >'$out/bench-tuned.json' 2>'$out/bench-tuned.err'"
    cat "$out/summary.txt"
    return "$failed"
}

case "${1:-}" in
    prepare) prepare ;;
    run)
        [[ $# -ge 2 ]] || { sed -n '2,30s/^# \{0,1\}//p' "$0"; exit 2; }
        run "$2" "${3:-}"
        ;;
    *) sed -n '2,30s/^# \{0,1\}//p' "$0"; exit 2 ;;
esac
