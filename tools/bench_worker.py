"""One side of tools/bench-frameworks, run in a child process by the Python
that has the framework (so a virtual environment's PyTorch or JAX can be
named while the driver runs elsewhere). Writes one JSON object to stdout.

    PYTHON tools/bench_worker.py describe torch|jax [--threads N]
    PYTHON tools/bench_worker.py init torch|jax --layers SPEC --data DIR
        --seed S --init FILE
    PYTHON tools/bench_worker.py train torch|jax-step|jax-scan --batch B
        --epochs N --data DIR --init FILE --seed S --threads N

"describe" imports the framework and tells its version, threads and (for
PyTorch) BLAS; the driver runs it first so that a missing framework is
reported before anything is timed. "init" writes the initial weights that
every side starts from (with numpy, which the driver's Python may lack)."""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

SIDES = ("torch", "jax-step", "jax-scan")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("action", choices=("describe", "init", "train"))
    p.add_argument("side", choices=SIDES + ("jax",))
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--data")
    p.add_argument("--init")
    p.add_argument("--layers")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    opts = p.parse_args()
    if opts.action == "train" and opts.side == "jax":
        p.error("train needs jax-step or jax-scan")
    if opts.action == "init":
        import clnn_torch
        features = clnn_torch.load_split(opts.data, "test")[0].shape[1]
        clnn_torch.write_safetensors(
            opts.init, clnn_torch.pytorch_init(opts.layers, features, opts.seed),
            {"format": "pt", "clnn.spec": opts.layers, "clnn.in_features": str(features)})
        out = {"init": opts.init, "features": features}
    elif opts.side == "torch":
        import bench_torch
        out = bench_torch.describe(opts.threads) if opts.action == "describe" \
            else bench_torch.train(opts)
    else:
        import bench_jax
        out = bench_jax.describe() if opts.action == "describe" \
            else bench_jax.train(opts, opts.side.split("-")[1])
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
