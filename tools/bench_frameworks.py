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


def load_average():
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


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


def print_table(args, sides, infos, rows, loads):
    timed = "1 epoch" if args.epochs == 1 else f"{args.epochs} epochs, the last timed,"
    print(f"network {args.layers}; {timed} of {args.data} per run, SGD lr 0.01 momentum 0.9, "
          f"initial weights from {args.init_source}; {args.repeats} repeat(s), alternating")
    print(f"machine: {infos['machine']['cpu']}, {infos['machine']['cpus']} CPUs; load average "
          f"{loads[0]} at the start, {loads[1]} at the end")
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
        loads = [load_average(), None]
        runs = {b: {s: [] for s in sides} for b in args.batch_sizes}
        total = args.repeats * len(args.batch_sizes)
        done = 0
        for _ in range(args.repeats):
            for b in args.batch_sizes:
                # Rotate which side goes first, so that a machine that slows
                # down or speeds up during a run favours none of them.
                k = done % len(sides)
                for side in sides[k:] + sides[:k]:
                    res = run_clnn(args, b) if side == "clnn" else run_framework(args, side, b)
                    runs[b][side].append(res)
                    if side == "clnn":
                        infos.setdefault("clnn", {"device": res["device"], "gemm": res["gemm"]})
                done += 1
                rates = ", ".join(f"{TITLES[s]} {runs[b][s][-1]['samples_per_s']:.0f}"
                                  for s in sides)
                print(f"[{done}/{total}] batch {b}: {rates} samples/s", file=sys.stderr,
                      flush=True)
        loads[1] = load_average()
    rows = summarise(args, sides, runs)
    if args.json:
        record = {"network": args.layers, "data": args.data, "epochs": args.epochs,
                  "repeats": args.repeats, "seed": args.seed, "init": args.init_source,
                  "openblas_unset_for_frameworks": list(OPENBLAS_UNSET),
                  "load_average": {"start": loads[0], "end": loads[1]},
                  "setup": infos,
                  "pythons": {m: python_of(args, m) for m in ("torch", "jax") if m in infos},
                  "clnn_path": args.clnn, "batches": rows}
        text = json.dumps(record, indent=1) + "\n"
        if args.json == "-":
            sys.stdout.write(text)
            return 0
        write_file(args.prog, args.json, text)
    print_table(args, sides, infos, rows, loads)
    return 0
