"""PyTorch side of tools/bench-frameworks: trains the network of an initial
weights file with SGD as a PyTorch user would (eager mode, the whole
training set in memory as tensors, a new permutation each epoch, every batch
gathered by index), and tells which BLAS the process runs on."""

import os
import time

import clnn_torch

LR = 0.01
MOMENTUM = 0.9
# The reference BLAS reaches a few GFLOP/s on a large SGEMM, OpenBLAS, MKL
# and oneDNN tens to hundreds.
SLOW_BLAS_GFLOPS = 20.0


def describe(threads):
    """Version, threads and BLAS of this PyTorch. PyPI's wheels link MKL in,
    and the build configuration says so; Debian's python3-torch calls
    whichever libblas.so.3 is selected (the configuration only says
    "generic"), so the mapped files tell. A 1024^3 SGEMM's rate shows a slow
    one."""
    import torch
    torch.set_num_threads(threads)
    n = 1024
    a, b = torch.rand(n, n), torch.rand(n, n)
    torch.mm(a, b)
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - t0)
    config = torch.__config__.show()
    info = [part.split("=", 1)[1] for line in config.splitlines()
            for part in line.replace(",", " ").split() if part.startswith("BLAS_INFO=")]
    blas = info[0] if info else "unknown"
    if blas == "generic":
        blas = ", ".join(mapped_blas()) or "generic (no BLAS library found mapped)"
    if "USE_MKLDNN=ON" in config.replace(" ", ""):
        blas += " + oneDNN"
    return {"version": torch.__version__, "threads": torch.get_num_threads(),
            "blas": blas, "blas_gflops": 2.0 * n ** 3 / best * 1e-9}


def mapped_blas():
    """The BLAS libraries this process has mapped, less CUDA's."""
    libs = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                fields = line.split()
                name = os.path.basename(fields[-1]).lower() if len(fields) >= 6 else ""
                if "blas" in name and "cublas" not in name:
                    libs.add(fields[-1])
    except OSError:
        pass
    return sorted(libs)


def slow_blas_warning(info):
    """A loud warning when this PyTorch's matrix products are too slow to
    compare with, or None."""
    if info["blas_gflops"] >= SLOW_BLAS_GFLOPS:
        return None
    return "\n".join([
        "!" * 78,
        "WARNING: PyTorch's BLAS is far too slow to compare with, so its numbers below",
        f"mean little: {info['blas']}; a 1024^3 SGEMM ran at {info['blas_gflops']:.1f} GFLOP/s.",
        "For Debian's python3-torch install libopenblas0-pthread (tools/install-deps.sh",
        "--torch) or select it with update-alternatives for libblas.so.3; or name a",
        "PyTorch from PyPI with --torch-python (see README.md, Speed).",
        "!" * 78,
    ])


def train(opts):
    """Trains opts.epochs epochs from opts.init; returns the last epoch's
    samples/s and the test accuracy after it."""
    import torch
    import torch.nn.functional as F
    torch.set_num_threads(opts.threads)
    torch.manual_seed(opts.seed)
    x, y = clnn_torch.load_split(opts.data, "train")
    xt, yt = clnn_torch.load_split(opts.data, "test")
    model = clnn_torch.load_model(opts.init)  # strict=True
    sgd = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    xs, ys = torch.from_numpy(x), torch.from_numpy(y)
    for _ in range(opts.epochs):  # the last epoch's time counts
        model.train()
        samples = 0
        t0 = time.perf_counter()
        perm = torch.randperm(len(xs))
        for i in range(0, len(xs), opts.batch):
            idx = perm[i:i + opts.batch]
            if len(idx) < 2:  # BatchNorm cannot train on one sample; clnn skips it too
                continue
            sgd.zero_grad()
            loss = F.cross_entropy(model(xs[idx]), ys[idx])
            loss.backward()
            sgd.step()
            samples += len(idx)
        seconds = time.perf_counter() - t0
    _, accuracy = clnn_torch.evaluate(model, xt, yt)
    return {"samples_per_s": samples / seconds, "accuracy": accuracy}
