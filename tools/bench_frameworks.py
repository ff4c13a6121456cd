"""Driver of tools/bench-frameworks and tools/bench-vs-torch: trains the same
network from the same initial weights in clnn and in the other frameworks,
alternating them, and tabulates samples/s, test accuracy and the ratio of
clnn to the fastest other framework at each batch size."""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

import clnn_torch
import bench_torch

TOOLS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(TOOLS)
WORKER = os.path.join(TOOLS, "bench_worker.py")
FRAMEWORKS = ("torch", "jax-step", "jax-scan")
TITLES = {"clnn": "clnn", "torch": "PyTorch", "jax-step": "JAX step", "jax-scan": "JAX scan"}
EPOCH_LINE = r"epoch\s+{0}/{0}\s.*?test acc\s+([0-9.]+)\s+samples/s\s+([0-9.]+)"
DEVICE_LINE = re.compile(r"^device (.*?)  gemm (\S+)  network", re.M)
# Variables that must not reach the other frameworks' BLAS: a forced
# OpenBLAS core type can halve its speed. clnn runs with the environment as
# it is.
OPENBLAS_UNSET = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
# Share of the CPUs that other processes may keep busy during a run before
# its figure is called disturbed.
BUSY_SHARE = 0.10


def fail(prog, message):
    sys.exit(f"{prog}: error: {message}")


def framework_env():
    return {k: v for k, v in os.environ.items() if k not in OPENBLAS_UNSET}


def python_of(args, side):
    return args.torch_python if side == "torch" else args.jax_python


def run_worker(args, side, action, extra):
    python = python_of(args, side)
    cmd = [python, WORKER, action, side, "--threads", str(args.threads)] + extra
    try:
        proc = subprocess.run(cmd, env=framework_env(), capture_output=True, text=True)
    except OSError as e:
        fail(args.prog, f"cannot run {python} ({e.strerror}): give the Python that has the "
                        f"framework with --{'torch' if side == 'torch' else 'jax'}-python")
    if proc.returncode != 0:
        return None, proc
    return json.loads(proc.stdout), proc


def describe(args, module):
    """The version and setup of module ("torch" or "jax") from the
    interpreter that will run it; stops with the fix when that interpreter
    cannot import it."""
    info, proc = run_worker(args, module, "describe", [])
    if info is None:
        sides = "torch" if module == "torch" else "jax-step,jax-scan"
        fail(args.prog, f"{python_of(args, module)} cannot run {module} "
                        f"({(proc.stderr.strip().splitlines() or ['no message'])[-1]}); "
                        f"install it into a virtual environment (python3 -m venv .venv-bench && "
                        f".venv-bench/bin/pip install {module}) and give --{module}-python "
                        f".venv-bench/bin/python, or leave {sides} out of --frameworks")
    return info


def run_framework(args, side, batch):
    extra = ["--batch", str(batch), "--epochs", str(args.epochs), "--data", args.data,
             "--init", args.init, "--seed", str(args.seed)]
    res, proc = run_worker(args, side, "train", extra)
    if res is None:
        fail(args.prog, f"{' '.join(proc.args)} failed (exit {proc.returncode}):\n"
                        f"{proc.stdout}{proc.stderr}")
    return res


def run_clnn(args, batch):
    cmd = [args.clnn, "train", "--epochs", str(args.epochs), "--batch-size", str(batch),
           "--layers", args.layers, "--data", args.data, "--init", args.init,
           "--seed", str(args.seed), "--optimizer", "sgd", "--lr", "0.01", "--momentum", "0.9"]
    if args.device:
        cmd += ["--device", args.device]
    if args.gemm:
        cmd += ["--gemm", args.gemm]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    m = re.search(EPOCH_LINE.format(args.epochs), proc.stdout)
    if proc.returncode != 0 or not m:
        fail(args.prog, f"{' '.join(cmd)} failed (exit {proc.returncode}):\n"
                        f"{proc.stdout}{proc.stderr}")
    d = DEVICE_LINE.search(proc.stdout)
    return {"samples_per_s": float(m[2]), "accuracy": float(m[1]),
            "device": d[1] if d else "?", "gemm": d[2] if d else "?"}


def write_file(prog, path, text):
    """Written to a temporary file beside path and renamed, so that a failed
    write leaves no half-written file."""
    tmp = f"{path}.tmp"
    try:
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except OSError as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        fail(prog, f"cannot write --json {path}: {e.strerror}; name a file in a folder you "
                   f"can write to")


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform
    return platform.processor() or "unknown"


def busy_cpu_seconds():
    """CPU seconds that all processes (and the hypervisor's other guests,
    as steal time) have kept this machine's CPUs busy since boot, from
    Linux's /proc/stat; None elsewhere."""
    try:
        with open("/proc/stat") as f:
            ticks = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    # user nice system idle iowait irq softirq steal [guest guest_nice, already in user and nice]
    busy = sum(ticks[:8]) - ticks[3] - ticks[4]
    return busy / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds():
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def measured(run):
    """run()'s result with "others_cpu": the share of the machine's CPUs that
    other processes kept busy meanwhile (None where that cannot be read).
    On a shared machine this tells which figures were disturbed: two
    threads that must meet at every operation, as OpenMP's do, slow down by
    far more than the share another process takes."""
    busy0, own0, t0 = busy_cpu_seconds(), own_cpu_seconds(), time.perf_counter()
    res = run()
    busy1, own1, t1 = busy_cpu_seconds(), own_cpu_seconds(), time.perf_counter()
    res["others_cpu"] = None
    if busy0 is not None and t1 > t0:
        others = (busy1 - busy0) - (own1 - own0)
        res["others_cpu"] = round(max(0.0, others) / ((t1 - t0) * os.cpu_count()), 3)
    return res


def summarise(args, sides, runs):
    """Per batch size: best, median and accuracy of each side, and clnn's
    ratio to the fastest other side (by best, and by median)."""
    rows = []
    for b in args.batch_sizes:
        row = {"batch": b, "sides": {}}
        for side in sides:
            rates = [r["samples_per_s"] for r in runs[b][side]]
            row["sides"][side] = {
                "best": max(rates), "median": statistics.median(rates),
                "accuracy": statistics.median(r["accuracy"] for r in runs[b][side]),
                "runs": runs[b][side]}
        others = [s for s in sides if s != "clnn"]
        if others:
            c = row["sides"]["clnn"]
            fastest = max(others, key=lambda s: row["sides"][s]["best"])
            row["fastest_other"] = fastest
            row["clnn_vs_fastest_best"] = c["best"] / row["sides"][fastest]["best"]
            row["clnn_vs_fastest_median"] = c["median"] / max(
                row["sides"][s]["median"] for s in others)
        rows.append(row)
    return rows


def others_shares(rows, sides):
    shares = [r["others_cpu"] for row in rows for s in sides for r in row["sides"][s]["runs"]]
    return None if None in shares else shares


def others_line(rows, sides):
    shares = others_shares(rows, sides)
    if shares is None:
        return "how busy other processes kept it is unknown"
    return (f"other processes kept {100 * statistics.median(shares):.0f}% of its CPUs busy "
            f"during the median run, {100 * max(shares):.0f}% at most")


def busy_warning(rows, sides):
    """A warning naming the figures that other processes disturbed, or None."""
    shares = others_shares(rows, sides)
    if shares is None or max(shares) <= BUSY_SHARE:
        return None
    hit = dict.fromkeys(f"{TITLES[s]} at {row['batch']}" for row in rows for s in sides
                        for r in row["sides"][s]["runs"] if r["others_cpu"] > BUSY_SHARE)
    return (f"WARNING: other processes kept more than {100 * BUSY_SHARE:.0f}% of the CPUs busy "
            f"during runs of {', '.join(hit)}: those figures are low by an unknown amount "
            f"(see --json for each run); rerun on a quiet machine to compare.")


def print_table(args, sides, infos, rows):
    timed = "1 epoch" if args.epochs == 1 else f"{args.epochs} epochs, the last timed,"
    print(f"network {args.layers}; {timed} of {args.data} per run, SGD lr 0.01 momentum 0.9, "
          f"initial weights from {args.init_source}; {args.repeats} repeat(s), alternating")
    print(f"machine: {infos['machine']['cpu']}, {infos['machine']['cpus']} CPUs; "
          f"{others_line(rows, sides)}")
    clnn = infos["clnn"]
    print(f"{'clnn':<9} {clnn['device']}, gemm {clnn['gemm']} ({args.clnn})")
    unset = ", ".join(OPENBLAS_UNSET)
    if "torch" in infos:
        t = infos["torch"]
        print(f"{'PyTorch':<9} {t['version']} ({args.torch_python}), {t['threads']} threads, "
              f"BLAS {t['blas']} (1024^3 SGEMM {t['blas_gflops']:.0f} GFLOP/s; {unset} unset)")
    if "jax" in infos:
        j = infos["jax"]
        print(f"{'JAX':<9} {j['version']} ({args.jax_python}), backend {j['backend']}, "
              f"{j['devices']}, XLA's default threads ({unset} unset)")
    if "torch" in infos:
        warning = bench_torch.slow_blas_warning(infos["torch"])
        if warning:
            print(warning)
    warning = busy_warning(rows, sides)
    if warning:
        print(warning)
    print()
    print(f"{'batch':>5}  {'':<9} {'best':>8} {'median':>8}  {'test acc':>8}")
    for row in rows:
        for i, side in enumerate(sides):
            s = row["sides"][side]
            print(f"{row['batch'] if i == 0 else '':>5}  {TITLES[side]:<9} {s['best']:>8.0f} "
                  f"{s['median']:>8.0f}  {s['accuracy']:>8.4f}")
        if "fastest_other" in row:
            print(f"{'':>5}  clnn / fastest other ({TITLES[row['fastest_other']]}): best "
                  f"{row['clnn_vs_fastest_best']:.2f}, median {row['clnn_vs_fastest_median']:.2f}")
    print("\nsamples/s over the whole (last) epoch, best and median of the repeats; test "
          "accuracy after it, median of the repeats. The median ratio divides by the "
          "fastest median.")


def parse_batches(text):
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        values = []
    if not values or any(v < 2 for v in values):
        raise argparse.ArgumentTypeError(f"expected comma-separated batch sizes of at least 2, "
                                         f"not {text!r}")
    return values


def parse_frameworks(text):
    names = [v.strip() for v in text.split(",") if v.strip()]
    bad = [n for n in names if n not in FRAMEWORKS]
    if not names:
        raise argparse.ArgumentTypeError(f"name at least one of {','.join(FRAMEWORKS)}")
    if bad:
        raise argparse.ArgumentTypeError(f"unknown framework {bad[0]!r}: choose from "
                                         f"{','.join(FRAMEWORKS)} (clnn always runs)")
    return list(dict.fromkeys(names))


def parser(prog, description, frameworks):
    p = argparse.ArgumentParser(prog=prog, description=description,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--frameworks", type=parse_frameworks, default=list(frameworks),
                   help=f"which to run besides clnn, from {','.join(FRAMEWORKS)} "
                        f"(default {','.join(frameworks)})")
    p.add_argument("--torch-python", default=sys.executable,
                   help="the Python that has PyTorch (default: the one running this)")
    p.add_argument("--jax-python", default=sys.executable,
                   help="the Python that has JAX (default: the one running this)")
    p.add_argument("--clnn", default=os.path.join(ROOT, "build", "src", "cli", "clnn"))
    p.add_argument("--batch-sizes", type=parse_batches, default=[64, 256, 1024])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--epochs", type=int, default=2,
                   help="epochs per run; the last one is timed (default 2)")
    p.add_argument("--layers", default=clnn_torch.REFERENCE_SPEC)
    p.add_argument("--data", default=clnn_torch.DEFAULT_DATA,
                   help="a folder of Fashion-MNIST-style IDX files")
    p.add_argument("--init", default=None,
                   help="initial weights for every side (safetensors, PyTorch's tensor "
                        "names); default: drawn with PyTorch's initialisation from --seed")
    p.add_argument("--seed", type=int, default=1, help="initial weights and shuffling")
    p.add_argument("--threads", type=int, default=os.cpu_count(), help="PyTorch's threads")
    p.add_argument("--device", default=None, help="clnn --device")
    p.add_argument("--gemm", default=None, help="clnn --gemm")
    p.add_argument("--json", nargs="?", const="-", metavar="FILE",
                   help="print one JSON object instead of the table, or with FILE write it "
                        "there as well as printing the table")
    return p


def main(prog, description, frameworks=FRAMEWORKS):
    p = parser(prog, description, frameworks)
    args = p.parse_args()
    args.prog = prog
    if args.repeats < 1:
        p.error("--repeats must be at least 1")
    if args.epochs < 1:
        p.error("--epochs must be at least 1")
    if not os.access(args.clnn, os.X_OK):
        p.error(f"no clnn executable at {args.clnn}: build it (tools/bootstrap.sh) or give --clnn")
    if args.json not in (None, "-") and not os.access(
            os.path.dirname(os.path.abspath(args.json)), os.W_OK):
        p.error(f"--json {args.json}: cannot write into its folder; name a file in a folder "
                f"you can write to")
    if args.init is not None and not os.path.isfile(args.init):
        p.error(f"--init {args.init}: no such file")
    for opt in ("torch_python", "jax_python"):
        setattr(args, opt, os.path.abspath(getattr(args, opt))
                if os.sep in getattr(args, opt) else getattr(args, opt))
    sides = ["clnn"] + args.frameworks
    infos = {"machine": {"cpu": cpu_model(), "cpus": os.cpu_count()}}
    if "torch" in sides:
        infos["torch"] = describe(args, "torch")
        warning = bench_torch.slow_blas_warning(infos["torch"])
        if warning:
            print(warning, file=sys.stderr, flush=True)
    if any(s.startswith("jax") for s in sides):
        infos["jax"] = describe(args, "jax")
    with tempfile.TemporaryDirectory(prefix="bench-frameworks-") as tmp:
        if args.init is None:
            args.init = os.path.join(tmp, "init.safetensors")
            args.init_source = f"PyTorch's initialisation, seed {args.seed}"
            module = "torch" if "torch" in sides else "jax"
            _, proc = run_worker(args, module, "init",
                                 ["--layers", args.layers, "--data", args.data,
                                  "--seed", str(args.seed), "--init", args.init])
            if proc.returncode != 0:
                fail(args.prog, f"{' '.join(proc.args)} failed (exit {proc.returncode}):\n"
                                f"{proc.stdout}{proc.stderr}")
        else:
            args.init_source = args.init
        runs = {b: {s: [] for s in sides} for b in args.batch_sizes}
        total = args.repeats * len(args.batch_sizes)
        done = 0
        for _ in range(args.repeats):
            for b in args.batch_sizes:
                # Rotate which side goes first, so that a machine that slows
                # down or speeds up during a run favours none of them.
                k = done % len(sides)
                for side in sides[k:] + sides[:k]:
                    res = measured(lambda: run_clnn(args, b) if side == "clnn"
                                   else run_framework(args, side, b))
                    runs[b][side].append(res)
                    if side == "clnn":
                        infos.setdefault("clnn", {"device": res["device"], "gemm": res["gemm"]})
                done += 1
                rates = ", ".join(f"{TITLES[s]} {runs[b][s][-1]['samples_per_s']:.0f}"
                                  for s in sides)
                others = [runs[b][s][-1]["others_cpu"] for s in sides]
                busy = "" if None in others else \
                    f" (other processes: {', '.join(f'{100 * o:.0f}%' for o in others)})"
                print(f"[{done}/{total}] batch {b}: {rates} samples/s{busy}", file=sys.stderr,
                      flush=True)
    rows = summarise(args, sides, runs)
    if args.json:
        record = {"network": args.layers, "data": args.data, "epochs": args.epochs,
                  "repeats": args.repeats, "seed": args.seed, "init": args.init_source,
                  "openblas_unset_for_frameworks": list(OPENBLAS_UNSET),
                  "setup": infos,
                  "pythons": {m: python_of(args, m) for m in ("torch", "jax") if m in infos},
                  "clnn_path": args.clnn, "batches": rows}
        text = json.dumps(record, indent=1) + "\n"
        if args.json == "-":
            sys.stdout.write(text)
            return 0
        write_file(args.prog, args.json, text)
    print_table(args, sides, infos, rows)
    return 0
