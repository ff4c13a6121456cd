#!/usr/bin/env bash
# Read a CSV of floats with clnn and with NumPy (and pandas, when installed)
# in the same run: wall time, throughput and peak memory (/usr/bin/time -v).
#
#   tools/bench-csv.sh [MEGABYTES]        (default 1024: a 1 GB file)
#
# The file (in a temporary folder under $TMPDIR, deleted at the end) holds
# 100 float columns written with 7 significant digits and a class column of
# 0..9; its first 10 MB of rows are drawn at random and repeated to the size.
# clnn reads it with clnn_dataset_load (build/tools/bench-csv-load), NumPy
# with np.loadtxt(..., dtype=np.float32), pandas with
# pd.read_csv(..., dtype=np.float32), each in a process of its own.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
megabytes=${1:-1024}
loader=$root/build/tools/bench-csv-load
[[ -x $loader ]] || meson compile -C "$root/build" tools/bench-csv-load
work=$(mktemp -d "${TMPDIR:-/tmp}/clnn-bench-csv.XXXXXX")
trap 'rm -rf "$work"' EXIT
csv=$work/floats.csv

/usr/bin/python3 - "$csv" "$megabytes" <<'PY'
import sys
import numpy as np
path, mb = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(0)
rows = []
x = rng.standard_normal((20000, 100)).astype(np.float32)
block = "".join(",".join("%.7g" % v for v in r) + ",%d\n" % (i % 10) for i, r in enumerate(x))
header = ",".join("f%d" % j for j in range(100)) + ",class\n"
with open(path, "w") as f:
    f.write(header)
    need = mb << 20
    while f.tell() < need:
        f.write(block)
PY
size=$(stat -c %s "$csv")
echo "file: $((size >> 20)) MiB, $(($(wc -l <"$csv") - 1)) rows of 100 floats and a class"

measure() { # NAME COMMAND...: prints seconds (the program's own or wall), MB/s, peak RSS
    local name=$1 log=$work/$1.time
    shift
    local out
    out=$(/usr/bin/time -v "$@" 2>"$log")
    local rss wall
    rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$log")
    wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$log")
    local secs
    secs=$(awk -v w="$wall" 'BEGIN { n = split(w, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }')
    printf '%-28s %8.1f s  %7.1f MB/s  peak RSS %6d MiB  (%s)\n' "$name" "$secs" \
        "$(awk -v b="$size" -v s="$secs" 'BEGIN { print b / 1e6 / s }')" $((rss >> 10)) "$out"
}

echo "float32 data: $(( ($(wc -l <"$csv") - 1) * 100 * 4 >> 20 )) MiB"
measure clnn_dataset_load "$loader" "$csv"
measure numpy.loadtxt /usr/bin/python3 -c "import sys, numpy as np; a = np.loadtxt(sys.argv[1], delimiter=',', skiprows=1, dtype=np.float32); print(a.shape)" "$csv"
if /usr/bin/python3 -c 'import pandas' 2>/dev/null; then
    measure pandas.read_csv /usr/bin/python3 -c "import sys, numpy as np, pandas as pd; a = pd.read_csv(sys.argv[1], dtype=np.float32).to_numpy(); print(a.shape)" "$csv"
fi
