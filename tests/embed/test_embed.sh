#!/usr/bin/env bash
# Install clnn into a temporary folder (meson install --destdir), build the
# example programs against the installed header and library found through
# pkg-config, as README's "Using clnn from C" tells users to, and run each;
# every one checks its own results and exits non-zero on a fault.
#
#   test_embed.sh BUILD_DIR SANITIZE EXAMPLES CC [CC_ARGS...]
#
# EXAMPLES is a colon-separated list of example sources (examples/embed.c,
# examples/deploy.c).
# SANITIZE is the build's b_sanitize ("none" or e.g. "address,undefined"): a
# sanitized library needs a program built with the same runtime. Installing
# and compiling need no OpenCL device; running does, so without one the test
# exits 77 (skip) after compiling, or fails when CLNN_TEST_REQUIRE_DEVICE=1.
set -euo pipefail

build=$1 sanitize=$2
IFS=: read -r -a sources <<<"$3"
shift 3
compiler=("$@")

tmp=$(mktemp -d "${TMPDIR:-/tmp}/clnn-embed.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# --no-rebuild: meson test has built everything, and a nested ninja would
# contend for the build folder's lock.
meson install -C "$build" --no-rebuild --destdir "$tmp/root" --quiet >"$tmp/install.log" 2>&1 || {
    cat "$tmp/install.log" >&2
    echo "test_embed: meson install --destdir failed" >&2
    exit 1
}
pc=$(find "$tmp/root" -name clnn.pc -print -quit)
if [[ -z "$pc" ]]; then
    echo "test_embed: the installed tree has no clnn.pc" >&2
    exit 1
fi
# The .pc file names the configured prefix; point it at the staged copy.
prefix=$(pkg-config --variable=prefix "$pc")
export PKG_CONFIG_PATH="${pc%/*}${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
read -r -a flags <<<"$(pkg-config --define-variable=prefix="$tmp/root$prefix" --cflags --libs clnn)"
libdir=$(pkg-config --define-variable=prefix="$tmp/root$prefix" --variable=libdir clnn)
echo "pkg-config --cflags --libs clnn: ${flags[*]}"

extra=()
if [[ "$sanitize" != none ]]; then
    extra+=("-fsanitize=$sanitize")
fi
export LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
for source in "${sources[@]}"; do
    name=$(basename "$source" .c)
    "${compiler[@]}" -std=c11 -Wall -Wextra -Werror "${extra[@]}" "$source" "${flags[@]}" \
        -o "$tmp/$name"
    echo "compiled $source against $libdir"
    # The program must load the staged library, not one installed elsewhere.
    # (ldd's output is captured first: grep -q stopping early would make ldd
    # die of SIGPIPE, which pipefail reports as a failure.)
    resolved=$(ldd "$tmp/$name")
    if ! grep -q "$libdir/libclnn.so" <<<"$resolved"; then
        echo "$resolved" >&2
        echo "test_embed: $name does not resolve libclnn from $libdir" >&2
        exit 1
    fi
    # Nor does it need OpenCL to start: the library loads it at run time.
    if grep -qi 'opencl\|clblast' <<<"$resolved"; then
        echo "$resolved" >&2
        echo "test_embed: $name links OpenCL or CLBlast at start" >&2
        exit 1
    fi
done

# Without any OpenCL library (CLNN_OPENCL_LIBRARY names one that is not
# there), the tool and the programs start and report CLNN_ERR_NO_PLATFORM.
absent=(env CLNN_OPENCL_LIBRARY="$tmp/no-such-dir/libOpenCL.so.1")
for program in "$tmp/root$prefix/bin/clnn devices" "${sources[@]}"; do
    case "$program" in
        *.c) name=$(basename "$program" .c); run=("$tmp/$name") ;;
        *) name=clnn; run=($program) ;;
    esac
    rc=0
    "${absent[@]}" "${run[@]}" >"$tmp/absent.out" 2>&1 || rc=$?
    if ((rc == 0)) || ! grep -q "no OpenCL: .*cannot be loaded" "$tmp/absent.out" ||
        { [[ $name != clnn ]] && ! grep -q CLNN_ERR_NO_PLATFORM "$tmp/absent.out"; }; then
        cat "$tmp/absent.out" >&2
        echo "test_embed: $name without OpenCL exited $rc without the no-OpenCL message" >&2
        exit 1
    fi
    echo "$name without OpenCL: exit $rc, $(grep -o 'no OpenCL: [^(]*' "$tmp/absent.out" | head -1)"
done

if ! "$tmp/root$prefix/bin/clnn" devices >/dev/null 2>"$tmp/devices.err"; then
    echo "no OpenCL device: $(cat "$tmp/devices.err")"
    [[ "${CLNN_TEST_REQUIRE_DEVICE:-}" == 1 ]] && exit 1
    exit 77
fi
for source in "${sources[@]}"; do
    name=$(basename "$source" .c)
    echo "--- $name"
    "$tmp/$name" | tee "$tmp/$name.txt"
    grep -q '^test loss .* test acc ' "$tmp/$name.txt"
done
grep -q '^predicted' "$tmp/embed.txt"
grep -q '^sample 0: .* p = ' "$tmp/deploy.txt"
