"""JAX side of tools/bench-frameworks: the network of an initial weights
file written out in jax.numpy (x @ W.T + b, BatchNorm1d as PyTorch computes
it in training and in eval mode, cross-entropy, SGD with PyTorch's momentum),
trained in one of two ways a JAX user would write:

- "step": one jitted training step per batch, called from Python;
- "scan": a whole epoch compiled into one call, the full batches in a
  lax.scan and the last, shorter one after it.

The training set lives in device (host) memory as one array; each step
gathers its rows through the epoch's permutation inside the compiled code,
as clnn's first layer does. Parameters, momentum and running statistics are
donated to each call so that XLA updates them in place."""

import os
import time

import numpy as np

import clnn_torch

LR = 0.01
MOMENTUM = 0.9


def describe():
    import jax
    return {"version": jax.__version__, "backend": jax.default_backend(),
            "devices": ", ".join(str(d) for d in jax.devices()),
            "threads": os.cpu_count()}


def _forward(layers, params, stats, x, training):
    """Logits and, in training, the updated running statistics."""
    import jax.numpy as jnp
    from jax import lax
    new_stats = {}
    for name, kind, _ in layers:
        if kind == "dense":
            x = x @ params[name + ".weight"].T + params[name + ".bias"]
        elif kind == "bn":
            if training:
                mean = x.mean(axis=0)
                var = jnp.square(x - mean).mean(axis=0)  # biased, to normalise
                m = clnn_torch.BN_MOMENTUM
                unbiased = var * (x.shape[0] / (x.shape[0] - 1))
                new_stats[name + ".running_mean"] = (1 - m) * stats[name + ".running_mean"] + m * mean
                new_stats[name + ".running_var"] = (1 - m) * stats[name + ".running_var"] + m * unbiased
            else:
                mean, var = stats[name + ".running_mean"], stats[name + ".running_var"]
            x = (x - mean) * lax.rsqrt(var + clnn_torch.BN_EPS) * params[name + ".weight"] \
                + params[name + ".bias"]
        else:
            x = jnp.maximum(x, 0.0)
    return x, new_stats


def _make_step(layers):
    """step(params, momentum, stats, X, Y, perm, start, size): one SGD step on
    rows perm[start:start+size] of X, Y."""
    import jax
    import jax.numpy as jnp
    from jax import lax

    def loss(params, stats, xb, yb):
        logits, new_stats = _forward(layers, params, stats, xb, True)
        logp = jax.nn.log_softmax(logits)
        return -jnp.take_along_axis(logp, yb[:, None], axis=1).mean(), new_stats

    def step(params, momentum, stats, X, Y, perm, start, size):
        idx = lax.dynamic_slice_in_dim(perm, start, size)
        grads, new_stats = jax.grad(loss, has_aux=True)(params, stats, X[idx], Y[idx])
        # PyTorch's SGD: buf = momentum * buf + grad (buf starts as grad), p -= lr * buf
        momentum = jax.tree_util.tree_map(lambda b, g: MOMENTUM * b + g, momentum, grads)
        params = jax.tree_util.tree_map(lambda p, b: p - LR * b, params, momentum)
        return params, momentum, new_stats

    return step


def _make_epoch(step, n, batch):
    """One call that trains a whole epoch: the full batches in a lax.scan,
    then the shorter last batch (skipped below 2 rows, as clnn skips it)."""
    import jax.numpy as jnp
    from jax import lax
    full = n // batch
    rest = n - full * batch

    def epoch(params, momentum, stats, X, Y, perm):
        def body(carry, start):
            return step(*carry, X, Y, perm, start, batch), None
        starts = jnp.arange(full, dtype=jnp.int32) * batch
        carry, _ = lax.scan(body, (params, momentum, stats), starts)
        if rest >= 2:
            carry = step(*carry, X, Y, perm, full * batch, rest)
        return carry

    return epoch


def train(opts, mode):
    """Trains opts.epochs epochs from opts.init in mode "step" or "scan";
    returns the last epoch's samples/s and the test accuracy after it."""
    import jax
    import jax.numpy as jnp
    tensors, meta = clnn_torch.read_safetensors(opts.init)
    layers = clnn_torch.parse_spec(meta["clnn.spec"])
    params = {k: jnp.asarray(v) for k, v in tensors.items() if k.endswith((".weight", ".bias"))}
    stats = {k: jnp.asarray(v) for k, v in tensors.items()
             if k.endswith((".running_mean", ".running_var"))}
    momentum = jax.tree_util.tree_map(jnp.zeros_like, params)
    x, y = clnn_torch.load_split(opts.data, "train")
    xt, yt = clnn_torch.load_split(opts.data, "test")
    X, Y = jnp.asarray(x), jnp.asarray(y.astype(np.int32))
    n, batch = len(x), opts.batch
    rng = np.random.default_rng(opts.seed)
    step = _make_step(layers)
    if mode == "scan":
        run = jax.jit(_make_epoch(step, n, batch), donate_argnums=(0, 1, 2))
    else:
        run = jax.jit(step, static_argnames="size", donate_argnums=(0, 1, 2))
    for _ in range(opts.epochs):  # the last epoch's time counts
        t0 = time.perf_counter()
        perm = jnp.asarray(rng.permutation(n).astype(np.int32))
        samples = 0
        if mode == "scan":
            params, momentum, stats = run(params, momentum, stats, X, Y, perm)
            samples = n if n % batch != 1 else n - 1
        else:
            for start in range(0, n, batch):
                size = min(batch, n - start)
                if size < 2:
                    continue
                params, momentum, stats = run(params, momentum, stats, X, Y, perm, start,
                                              size=size)
                samples += size
        jax.block_until_ready((params, momentum, stats))
        seconds = time.perf_counter() - t0
    logits, _ = jax.jit(lambda p, s, xs: _forward(layers, p, s, xs, False))(params, stats,
                                                                            jnp.asarray(xt))
    accuracy = float((np.asarray(logits).argmax(axis=1) == yt).mean())
    return {"samples_per_s": samples / seconds, "accuracy": accuracy}
