#!/usr/bin/env python3
"""Generate the PyTorch reference fixtures in tests/data/torch/.

    python3 tools/make-fixtures.py [OUTPUT_DIR]

Needs PyTorch and NumPy (tools/install-deps.sh --torch); writes safetensors
files itself (no safetensors package needed). Deterministic: the same PyTorch
version writes the same bytes. tests/data/torch/README.md describes every
tensor; tests/torch/test_torch_fixtures.c checks clnn against them.

Besides writing the fixtures, the script checks that the test's tolerances
are meaningful, and stops with an error otherwise:
  * noise: the same run in float64 differs from the float32 fixture by far
    less than each tolerance (clnn, also float32 but summing in another
    order, is expected to differ by about as much);
  * sensitivity: plausible implementation mistakes (biased running_var, the
    BatchNorm momentum rule reversed, weight decay ignored or decoupled,
    dampened or non-Nesterov momentum, no Adam bias correction, LeakyReLU's
    slope ignored, GELU's tanh approximation, ...),
    replayed in float64, exceed the tolerance of at least one check by a
    wide factor.
"""

import copy
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clnn_torch  # noqa: E402
from clnn_torch import dropout_key, dropout_mask, write_safetensors  # noqa: E402

IN_FEATURES = 37
SPEC = "dense:19,bn,relu,dense:13,bn,relu,dense:7"
CLASSES = 7
STEPS = 10
BN_EPS = 1e-5
BN_MOMENTUM = 0.1
# num_batches_tracked starts here (not 0) so that a test which failed to
# write the I64 buffer cannot pass by accident: after 10 steps it must be 13.
NBT_INIT = 3
# The Linear layer before a LayerNorm starts scaled by this (make_model).
LN_INPUT_SCALE = 0.05

# Tolerances, mirrored in tests/torch/test_torch_fixtures.c; the norm of each
# is err = max|a - b| / max(floor, max|r|) with r the reference quantity.
#   kind      r                 floor  tolerance
TOL = {
    "out": ("b", 1.0, 1e-5),          # train-mode layer outputs and loss
    "grad": ("b", 0.1, 1e-4),         # gradients after backward on batch 0
    "state": ("b-init", 1e-2, 1e-3),  # state dict after 1 and 10 steps
    "eval": ("b", 1.0, 1e-4),         # eval-mode outputs and loss at the end
}
# Noise (float64 vs float32) must stay below tolerance / NOISE_MARGIN and
# every mutation must exceed tolerance * MUTATION_MARGIN on some check.
NOISE_MARGIN = 5.0
MUTATION_MARGIN = 10.0
# (Leaky)ReLU inputs and top-two logit gaps closer than this to a tie would make the
# comparison depend on rounding; seeds are chosen to stay clear of it.
MIN_MARGIN = 1e-4

# The activations: each scenario's own spec ("spec"; SPEC otherwise).
ACTIVATIONS_SPEC = "dense:19,leakyrelu:0.2,dense:13,bn,gelu,dense:11,tanh,dense:9,sigmoid,dense:8,silu,dense:7"

SCENARIOS = [
    dict(name="sgd_momentum", seed=101, batch=8,
         opt=dict(kind="sgd", lr=0.1, momentum=0.9, dampening=0.0, weight_decay=5e-4, nesterov=False)),
    dict(name="sgd_nesterov", seed=202, batch=8,
         opt=dict(kind="sgd", lr=0.1, momentum=0.9, dampening=0.0, weight_decay=0.0, nesterov=True)),
    dict(name="sgd_plain", seed=303, batch=5,
         opt=dict(kind="sgd", lr=0.1, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False)),
    dict(name="adam", seed=405, batch=8,
         opt=dict(kind="adam", lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2)),
    dict(name="activations", seed=506, batch=8, spec=ACTIVATIONS_SPEC,
         opt=dict(kind="sgd", lr=0.1, momentum=0.9, dampening=0.0, weight_decay=5e-4, nesterov=False)),
    # LayerNorm, and BatchNorm's options (a scenario's own spec).
    dict(name="norm_layernorm", seed=511, batch=8,
         spec="dense:19,layernorm,relu,dense:13,bn:eps=1e-3,momentum=none,relu,dense:7",
         opt=dict(kind="sgd", lr=0.1, momentum=0.9, dampening=0.0, weight_decay=5e-4, nesterov=False)),
    dict(name="norm_bn_options", seed=523, batch=8,
         spec=("dense:19,bn:momentum=0.05,affine=false,relu,dense:13,bn:track_running_stats=false,"
               "relu,dense:11,layernorm,dense:7"),
         opt=dict(kind="sgd", lr=0.1, momentum=0.9, dampening=0.0, weight_decay=5e-4, nesterov=False)),
    # Dropout after a ReLU and before the logits, with clnn's masks (see
    # ClnnDropout): the seed the C test gives clnn_net_init draws them.
    dict(name="dropout_sgd", seed=506, batch=8,
         spec="dense:19,bn,relu,dropout:0.3,dense:13,relu,dense:11,dropout:0.5,dense:7",
         opt=dict(kind="sgd", lr=0.1, momentum=0.9, dampening=0.0, weight_decay=5e-4, nesterov=False)),
    # Regression: nn.MSELoss (mean over rows x outputs) against float targets,
    # one per output; the fixture's metadata says clnn.loss=mse.
    # Softplus after Linear layers.
    dict(name="softplus", seed=541, batch=8, spec="dense:19,softplus,dense:13,softplus,dense:7",
         opt=dict(kind="sgd", lr=0.1, momentum=0.9, dampening=0.0, weight_decay=5e-4, nesterov=False)),
    dict(name="sgd_mse", seed=506, batch=8, loss="mse",
         opt=dict(kind="sgd", lr=0.05, momentum=0.9, dampening=0.0, weight_decay=5e-4, nesterov=False)),
]
# The seed tests/torch/test_torch_fixtures.c initialises every net with; a
# dropout layer's masks follow from it and the layer's index.
CLNN_INIT_SEED = 1


def loss_fn(loss, h, y, reduction="mean"):
    """The scenario's loss: cross-entropy against class labels (the default)
    or the mean squared error against float targets."""
    if loss == "mse":
        return F.mse_loss(h, y, reduction=reduction)
    return F.cross_entropy(h, y, reduction=reduction)


# ------------------------------------------------------------ safetensors

# ------------------------------------------------------------ the network

class ClnnDropout(nn.Module):
    """nn.Dropout(p) with clnn's masks instead of PyTorch's generator: in
    training, forward number n multiplies x by mask.div_(1 - p) as
    F.dropout does (x * 0 for p = 1), the mask being clnn's for its key
    and n (clnn_torch.dropout_mask); the identity in evaluation."""

    def __init__(self, p, index):
        super().__init__()
        self.p = p
        self.key = dropout_key(CLNN_INIT_SEED, index)
        self.step = 0

    def noise(self, shape, dtype):
        """The factors of the next training forward, and its step."""
        rows, cols = shape
        mask = torch.from_numpy(dropout_mask(self.p, self.key, self.step, rows, cols))
        self.step += 1
        if self.p >= 1.0:
            return torch.zeros(shape, dtype=dtype)
        return mask.to(dtype).div_(1 - self.p)

    def forward(self, x):
        return x * self.noise(tuple(x.shape), x.dtype) if self.training else x


def build_model(spec):
    """The Sequential that spec describes (indices = clnn layer indices),
    its dropout layers drawing clnn's masks (ClnnDropout)."""
    model = clnn_torch.build_model(spec, IN_FEATURES)
    for i, m in enumerate(model):
        if isinstance(m, nn.Dropout):
            model[i] = ClnnDropout(m.p, i)
    return model


def make_model(spec):
    """PyTorch's default Linear init; BatchNorm and LayerNorm parameters and
    running statistics (those the options give) perturbed away from
    1/0/0/1 so that mixing them up shows."""
    model = build_model(spec)
    with torch.no_grad():
        for layer, after in zip(model, list(model)[1:]):
            # A LayerNorm's rows then vary by ~1e-4, so that where eps goes
            # (inside the square root, 1e-5) shows in its output.
            if isinstance(layer, nn.Linear) and isinstance(after, nn.LayerNorm):
                layer.weight.mul_(LN_INPUT_SCALE)
                layer.bias.mul_(LN_INPUT_SCALE)
        for layer in model:
            if isinstance(layer, nn.BatchNorm1d):
                if layer.affine:
                    layer.weight.uniform_(0.5, 1.5)
                    layer.bias.uniform_(-0.5, 0.5)
                if layer.track_running_stats:
                    layer.running_mean.uniform_(-0.5, 0.5)
                    layer.running_var.uniform_(0.5, 2.0)
                    layer.num_batches_tracked.fill_(NBT_INIT)
            elif isinstance(layer, nn.LayerNorm):
                layer.weight.uniform_(0.5, 1.5)
                layer.bias.uniform_(-0.5, 0.5)
    return model


def make_optimizer(params, o):
    if o["kind"] == "sgd":
        return torch.optim.SGD(params, lr=o["lr"], momentum=o["momentum"], dampening=o["dampening"],
                               weight_decay=o["weight_decay"], nesterov=o["nesterov"])
    return torch.optim.Adam(params, lr=o["lr"], betas=(o["beta1"], o["beta2"]), eps=o["eps"],
                            weight_decay=o["weight_decay"])


def describe_optimizer(o):
    if o["kind"] == "sgd":
        return (f"sgd lr={o['lr']!r} momentum={o['momentum']!r} dampening={o['dampening']!r} "
                f"weight_decay={o['weight_decay']!r} nesterov={int(o['nesterov'])}")
    return (f"adam lr={o['lr']!r} beta1={o['beta1']!r} beta2={o['beta2']!r} eps={o['eps']!r} "
            f"weight_decay={o['weight_decay']!r}")


def state(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def run_torch(model0, o, xs, ys, dtype, loss_kind="xent"):
    """The reference: nn.Sequential + torch.optim, in the order the C test
    calls clnn (forward, backward, step; 10 times; then eval forward)."""
    model = copy.deepcopy(model0).to(dtype)
    opt = make_optimizer(model.parameters(), o)
    rec = {"init": state(model)}
    model.train()
    relu_in = []
    for k in range(STEPS):
        h = xs[k].to(dtype)
        outs = []
        for layer in model:
            if isinstance(layer, (nn.ReLU, nn.LeakyReLU)):
                relu_in.append(h.detach().abs().min().item())
            h = layer(h)
            outs.append(h.detach().clone())
        y = ys[k].to(dtype) if loss_kind == "mse" else ys[k]
        loss = loss_fn(loss_kind, h, y)
        opt.zero_grad()
        loss.backward()
        if k == 0:
            rec["train.out"] = outs
            rec["train.loss"] = loss.detach().clone()
            rec["grad"] = {n: p.grad.detach().clone() for n, p in model.named_parameters()}
        opt.step()
        if k == 0:
            rec["step1"] = state(model)
    rec["step10"] = state(model)
    model.eval()
    with torch.no_grad():
        h = xs[0].to(dtype)
        outs = []
        for layer in model:
            if isinstance(layer, (nn.ReLU, nn.LeakyReLU)):
                relu_in.append(h.abs().min().item())
            h = layer(h)
            outs.append(h.clone())
        rec["eval.out"] = outs
        rec["eval.loss"] = loss_fn(loss_kind, h, ys[0].to(dtype) if loss_kind == "mse" else ys[0])
    top2 = torch.topk(rec["eval.out"][-1], 2, dim=1).values
    # Regression picks no class: only the ReLU inputs can tie.
    gap = math.inf if loss_kind == "mse" else (top2[:, 0] - top2[:, 1]).min().item()
    rec["margin"] = min(relu_in + [gap])
    return rec


# -------------------------------------- a replay with deliberate mistakes

def activation(module, h, mut):
    """An activation module's function written out, or a mistaken one."""
    if isinstance(module, nn.ReLU):
        return torch.relu(h)
    if isinstance(module, nn.LeakyReLU):
        slope = 0.01 if mut == "leakyrelu_slope_ignored" else module.negative_slope
        return torch.where(h > 0, h, slope * h)
    if isinstance(module, nn.GELU):
        if mut == "gelu_tanh":
            return 0.5 * h * (1 + torch.tanh(math.sqrt(2 / math.pi) * (h + 0.044715 * h ** 3)))
        return 0.5 * h * (1 + torch.erf(h / math.sqrt(2)))
    if isinstance(module, nn.Tanh):
        return torch.sigmoid(h) if mut == "tanh_as_sigmoid" else torch.tanh(h)
    if isinstance(module, nn.Sigmoid):
        return 1 / (1 + torch.exp(-h))
    if isinstance(module, nn.SiLU):
        return torch.sigmoid(h) if mut == "silu_as_sigmoid" else h * torch.sigmoid(h)
    if isinstance(module, nn.Softplus):
        if mut == "softplus_as_relu":
            return torch.relu(h)
        return torch.where(h > 20, h, torch.log1p(torch.exp(h)))
    raise ValueError(module)


def run_manual(model0, o, xs, ys, mutation=None, loss_kind="xent"):
    """The same computation written out by hand in float64, with an optional
    deliberate mistake. Without one it must match run_torch (checked)."""
    mut = mutation or ""
    sd = {k: v.to(torch.float64).clone() for k, v in model0.state_dict().items()}
    modules = list(model0)
    drop_step = {i: 0 for i, m in enumerate(modules) if isinstance(m, ClnnDropout)}
    pnames = [n for n, _ in model0.named_parameters()]
    params = {n: sd[n].clone().requires_grad_(True) for n in pnames}
    rec = {"init": {k: v.clone() for k, v in sd.items()}}

    def layernorm(h, i, m):
        n = h.shape[1]
        mean = h.mean(1, keepdim=True)
        var = ((h - mean) ** 2).mean(1, keepdim=True)
        if mut == "ln_unbiased_var":
            var = var * n / (n - 1)
        if mut == "ln_eps_outside_sqrt":
            xhat = (h - mean) / (torch.sqrt(var) + m.eps)
        else:
            xhat = (h - mean) / torch.sqrt(var + m.eps)
        return xhat * params[f"{i}.weight"] + params[f"{i}.bias"]

    def batchnorm(h, i, m, training):
        eps = m.eps
        if mut == "bn_eps_1e-3" and m.eps == BN_EPS:
            eps = 1e-3
        if mut == "bn_eps_option_ignored":
            eps = BN_EPS
        if m.affine:
            w, b = params[f"{i}.weight"], params[f"{i}.bias"]
        else:
            w, b = torch.ones(h.shape[1], dtype=h.dtype), torch.zeros(h.shape[1], dtype=h.dtype)
        if not training and m.track_running_stats:
            rm, rv = sd[f"{i}.running_mean"], sd[f"{i}.running_var"]
            return (h - rm) / torch.sqrt(rv + eps) * w + b
        if not training and mut == "bn_eval_running_stats":
            # the running statistics a layer without them would start from
            return h / math.sqrt(1.0 + eps) * w + b
        n = h.shape[0]
        mean = h.mean(0)
        var_b = ((h - mean) ** 2).mean(0)
        var_norm = var_b * n / (n - 1) if mut == "bn_normalize_unbiased" else var_b
        h_new = (h - mean) / torch.sqrt(var_norm + eps) * w + b
        if training and m.track_running_stats:
            rm, rv = sd[f"{i}.running_mean"], sd[f"{i}.running_var"]
            nbt = sd[f"{i}.num_batches_tracked"] + 1
            if m.momentum is None:
                f = (0.1 if mut == "bn_momentum_none_as_default"
                     else 1.0 / (float(nbt) - 1) if mut == "bn_momentum_none_before_count"
                     else 1.0 / float(nbt))
            else:
                f = BN_MOMENTUM if mut == "bn_momentum_option_ignored" else m.momentum
            if mut == "bn_momentum_reversed":
                f = 1.0 - f
            var_run = var_b if mut == "bn_running_var_biased" else var_b.detach() * n / (n - 1)
            sd[f"{i}.running_mean"] = (1 - f) * rm + f * mean.detach()
            sd[f"{i}.running_var"] = (1 - f) * rv + f * var_run.detach()
            sd[f"{i}.num_batches_tracked"] = nbt
        return h_new

    def forward(x, training):
        h = x
        outs = []
        for i, m in enumerate(modules):
            if isinstance(m, nn.Linear):
                h = h @ params[f"{i}.weight"].t() + params[f"{i}.bias"]
            elif isinstance(m, (nn.ReLU, nn.LeakyReLU, nn.GELU, nn.Tanh, nn.Sigmoid, nn.SiLU,
                                nn.Softplus)):
                h = activation(m, h, mut)
            elif isinstance(m, nn.LayerNorm):
                h = layernorm(h, i, m)
            elif isinstance(m, ClnnDropout):
                if training or mut == "dropout_in_eval":
                    step = drop_step[i] + (1 if mut == "dropout_other_step" else 0)
                    keep = torch.from_numpy(dropout_mask(m.p, m.key, step, *h.shape))
                    drop_step[i] += training
                    noise = keep.to(h.dtype) / (1.0 if mut == "dropout_unscaled" else 1 - m.p)
                    if mut == "dropout_grad_unmasked":  # forward masked, gradient passed whole
                        h = h.detach() * noise + (h - h.detach())
                    else:
                        h = h * noise
            else:
                h = batchnorm(h, i, m, training)
            outs.append(h)
        return outs

    def snapshot():
        s = dict(sd)
        s.update({n: p.detach().clone() for n, p in params.items()})
        return {k: v.clone() for k, v in s.items()}

    buf = {}
    exp_avg = {n: torch.zeros_like(p) for n, p in params.items()}
    exp_avg_sq = {n: torch.zeros_like(p) for n, p in params.items()}
    for k in range(STEPS):
        outs = forward(xs[k].to(torch.float64), True)
        if mut == "mse_mean_over_rows":  # summed over outputs, averaged over rows only
            loss = ((outs[-1] - ys[k].to(torch.float64)) ** 2).sum(1).mean()
        else:
            y = ys[k].to(torch.float64) if loss_kind == "mse" else ys[k]
            loss = loss_fn(loss_kind, outs[-1], y, "sum" if mut == "loss_sum" else "mean")
        grads = torch.autograd.grad(loss, [params[n] for n in pnames])
        if k == 0:
            rec["train.out"] = [h.detach() for h in outs]
            rec["train.loss"] = loss.detach()
            rec["grad"] = {n: g.clone() for n, g in zip(pnames, grads)}
        t = k + 1
        with torch.no_grad():
            for n, g in zip(pnames, grads):
                p = params[n]
                wd = o["weight_decay"]
                decoupled = mut in ("wd_decoupled",)
                if mut == "wd_ignored":
                    wd = 0.0
                d = g + wd * p if not decoupled else g.clone()
                if o["kind"] == "sgd":
                    mom = o["momentum"]
                    if mom != 0:
                        if n not in buf:
                            buf[n] = d.clone()
                        elif mut == "sgd_dampened":
                            buf[n] = mom * buf[n] + (1 - mom) * d
                        else:
                            buf[n] = mom * buf[n] + (1 - o["dampening"]) * d
                        nest = o["nesterov"] != (mut == "sgd_nesterov_flipped")
                        d = d + mom * buf[n] if nest else buf[n]
                    p -= o["lr"] * d
                    if decoupled:
                        p -= o["lr"] * wd * p
                else:
                    b1, b2 = o["beta1"], o["beta2"]
                    exp_avg[n] = b1 * exp_avg[n] + (1 - b1) * d
                    exp_avg_sq[n] = b2 * exp_avg_sq[n] + (1 - b2) * d * d
                    bc1 = 1 - b1 ** t if mut != "adam_no_bias_correction" else 1.0
                    bc2 = 1 - b2 ** t if mut != "adam_no_bias_correction" else 1.0
                    if mut == "adam_eps_inside_sqrt":
                        denom = torch.sqrt(exp_avg_sq[n] / bc2 + o["eps"])
                    else:
                        denom = torch.sqrt(exp_avg_sq[n]) / math.sqrt(bc2) + o["eps"]
                    if decoupled:
                        p -= o["lr"] * wd * p
                    p -= (o["lr"] / bc1) * exp_avg[n] / denom
        if k == 0:
            rec["step1"] = snapshot()
    rec["step10"] = snapshot()
    with torch.no_grad():
        outs = forward(xs[0].to(torch.float64), False)
    rec["eval.out"] = outs
    rec["eval.loss"] = loss_fn(loss_kind, outs[-1],
                               ys[0].to(torch.float64) if loss_kind == "mse" else ys[0])
    return rec


# Mistakes in the normalisation layers' options, tried where the
# scenario's layers have them (applicable).
NORM_MUTATIONS = ["ln_unbiased_var", "ln_eps_outside_sqrt", "bn_eps_option_ignored",
                  "bn_momentum_none_as_default", "bn_momentum_none_before_count",
                  "bn_momentum_option_ignored", "bn_eval_running_stats"]

# Mistakes only a network with dropout can make: no 1/(1 - p) scaling, the
# mask of the next step, dropout in eval mode, the gradient not masked.
DROPOUT_MUTATIONS = ["dropout_unscaled", "dropout_other_step", "dropout_in_eval",
                     "dropout_grad_unmasked"]

MUTATIONS = {
    "sgd": ["bn_running_var_biased", "bn_momentum_reversed", "bn_normalize_unbiased", "bn_eps_1e-3",
            "loss_sum", "wd_ignored", "wd_decoupled", "sgd_dampened", "sgd_nesterov_flipped"]
    + NORM_MUTATIONS,
    "adam": ["bn_running_var_biased", "bn_momentum_reversed", "bn_normalize_unbiased", "bn_eps_1e-3",
             "loss_sum", "wd_ignored", "wd_decoupled", "adam_no_bias_correction", "adam_eps_inside_sqrt"]
    + NORM_MUTATIONS,
}
# Mistakes in a kind, applicable where the scenario's spec has that kind.
KIND_MUTATIONS = {
    "batchnorm1d": ["bn_running_var_biased", "bn_momentum_reversed", "bn_normalize_unbiased",
                    "bn_eps_1e-3"],
    "leakyrelu": ["leakyrelu_slope_ignored"],
    "gelu": ["gelu_tanh"],
    "tanh": ["tanh_as_sigmoid"],
    "silu": ["silu_as_sigmoid"],
    "clnndropout": DROPOUT_MUTATIONS,
    "softplus": ["softplus_as_relu"],
}


# Mistakes of the mean squared error, replayed in its scenarios besides those
# of its optimizer.
MSE_MUTATIONS = ["mse_mean_over_rows"]


def applicable(mutation, o, model):
    """Mutations that change nothing for this optimizer or these layers are
    not applicable."""
    kinds = {type(m).__name__.lower() for m in model}
    for kind, mutations in KIND_MUTATIONS.items():
        if mutation in mutations and kind not in kinds:
            return False
    if mutation in ("wd_ignored", "wd_decoupled"):
        return o["weight_decay"] != 0
    if mutation in ("sgd_dampened", "sgd_nesterov_flipped"):
        return o["momentum"] != 0
    bns = [m for m in model if isinstance(m, nn.BatchNorm1d)]
    tracking = [m for m in bns if m.track_running_stats]
    if mutation.startswith("ln_"):
        return any(isinstance(m, nn.LayerNorm) for m in model)
    if mutation in ("bn_running_var_biased", "bn_momentum_reversed"):
        return bool(tracking)
    if mutation == "bn_normalize_unbiased":
        return bool(bns)
    if mutation == "bn_eps_1e-3":
        return any(m.eps == BN_EPS for m in bns)
    if mutation == "bn_eps_option_ignored":
        return any(m.eps != BN_EPS for m in bns)
    if mutation.startswith("bn_momentum_none_"):
        return any(m.momentum is None for m in tracking)
    if mutation == "bn_momentum_option_ignored":
        return any(m.momentum not in (None, BN_MOMENTUM) for m in tracking)
    if mutation == "bn_eval_running_stats":
        return any(not m.track_running_stats for m in bns)
    return True


# ------------------------------------------------------- the test's norms

def err(a, b, kind, init=None):
    """The C test's error measure for one tensor (see TOL)."""
    ref, floor, _ = TOL[kind]
    a = a.to(torch.float64)
    b = b.to(torch.float64)
    r = b - init.to(torch.float64) if ref == "b-init" else b
    return (a - b).abs().max().item() / max(floor, r.abs().max().item())


def compare(cand, ref):
    """Worst error of every check the C test makes: {check: (error, tolerance)}."""
    out = {}
    for i, (a, b) in enumerate(zip(cand["train.out"], ref["train.out"])):
        out[f"train.out.{i}"] = (err(a, b, "out"), TOL["out"][2])
    out["train.loss"] = (err(cand["train.loss"], ref["train.loss"], "out"), TOL["out"][2])
    for n in ref["grad"]:
        out[f"grad.{n}"] = (err(cand["grad"][n], ref["grad"][n], "grad"), TOL["grad"][2])
    for s in ("step1", "step10"):
        for n, b in ref[s].items():
            if n.endswith("num_batches_tracked"):
                out[f"{s}.{n}"] = (0.0 if int(cand[s][n]) == int(b) else math.inf, 0.5)
            else:
                out[f"{s}.{n}"] = (err(cand[s][n], b, "state", ref["init"][n]), TOL["state"][2])
    for i, (a, b) in enumerate(zip(cand["eval.out"], ref["eval.out"])):
        out[f"eval.out.{i}"] = (err(a, b, "eval"), TOL["eval"][2])
    out["eval.loss"] = (err(cand["eval.loss"], ref["eval.loss"], "eval"), TOL["eval"][2])
    return out


def worst(checks):
    """(check name, error / tolerance) of the check closest to or over its tolerance."""
    name = max(checks, key=lambda c: checks[c][0] / checks[c][1])
    return name, checks[name][0] / checks[name][1]


# ------------------------------------------------------------------ main

def generate(sc, outdir, report):
    spec = sc.get("spec", SPEC)
    torch.manual_seed(sc["seed"])
    model = make_model(spec)
    b = sc["batch"]
    loss_kind = sc.get("loss", "xent")
    xs = [torch.rand(b, IN_FEATURES) for _ in range(STEPS)]
    if loss_kind == "mse":
        ys = [torch.randn(b, CLASSES) for _ in range(STEPS)]
    else:
        ys = [torch.randint(0, CLASSES, (b,)) for _ in range(STEPS)]
    o = sc["opt"]

    ref = run_torch(model, o, xs, ys, torch.float32, loss_kind)
    if ref["margin"] < MIN_MARGIN:
        raise SystemExit(f"{sc['name']}: seed {sc['seed']} gives a near-tie ({ref['margin']:.2e}); pick another")

    # Noise: the same in float64 must sit well inside every tolerance.
    f64 = run_torch(model, o, xs, ys, torch.float64, loss_kind)
    checks = compare(f64, ref)
    name, ratio = worst(checks)
    report.append(f"{sc['name']}: float64 vs float32 fixture: worst {name} at {ratio:.3f} x tolerance")
    for kind, prefix in (("out", "train."), ("grad", "grad."), ("state", "step"), ("eval", "eval.")):
        kname, _ = worst({c: v for c, v in checks.items() if c.startswith(prefix)})
        report.append(f"{sc['name']}:   noise in {kind} checks: at most {checks[kname][0]:.2g} ({kname})")
    if ratio > 1.0 / NOISE_MARGIN:
        raise SystemExit(f"{sc['name']}: rounding noise too close to tolerance ({name}: {ratio:.3f})")

    # The hand-written replay must agree with torch (float64 both).
    man = run_manual(model, o, xs, ys, loss_kind=loss_kind)
    name, ratio = worst(compare(man, f64))
    if ratio > 1e-3:
        raise SystemExit(f"{sc['name']}: manual replay disagrees with torch ({name}: {ratio:.3g})")

    # Sensitivity: every applicable mistake must fail the test clearly.
    kind_mutations = [m for ms in KIND_MUTATIONS.values() for m in ms if m not in MUTATIONS[o["kind"]]]
    loss_mutations = MSE_MUTATIONS if loss_kind == "mse" else []
    for mutation in MUTATIONS[o["kind"]] + kind_mutations + loss_mutations:
        if not applicable(mutation, o, model):
            continue
        checks = compare(run_manual(model, o, xs, ys, mutation, loss_kind), ref)
        name, ratio = worst(checks)
        sname, sratio = worst({c: v for c, v in checks.items() if c.startswith("step")})
        report.append(f"{sc['name']}: {mutation}: worst {name} at {ratio:.3g} x tolerance"
                      f" (of the state checks: {sname} at {sratio:.3g})")
        if ratio < MUTATION_MARGIN:
            raise SystemExit(f"{sc['name']}: the test would not clearly catch {mutation} ({name}: {ratio:.3g})")

    def f32(t):
        return t.detach().to(torch.float32).contiguous().numpy()

    def i64(t):
        return t.detach().to(torch.int64).contiguous().numpy()

    def sd_entries(prefix, sd):
        return [(f"{prefix}.{n}", i64(v) if v.dtype == torch.int64 else f32(v)) for n, v in sd.items()]

    tensors = sd_entries("init", ref["init"])
    for k in range(STEPS):
        tensors.append((f"x.{k}", f32(xs[k])))
        tensors.append((f"y.{k}", f32(ys[k]) if loss_kind == "mse" else i64(ys[k])))
    tensors += [(f"train.out.{i}", f32(h)) for i, h in enumerate(ref["train.out"])]
    tensors.append(("train.loss", f32(ref["train.loss"])))
    tensors += [(f"grad.{n}", f32(g)) for n, g in ref["grad"].items()]
    tensors += sd_entries("step1", ref["step1"])
    tensors += sd_entries("step10", ref["step10"])
    tensors += [(f"eval.out.{i}", f32(h)) for i, h in enumerate(ref["eval.out"])]
    tensors.append(("eval.loss", f32(ref["eval.loss"])))

    meta = {
        "clnn.spec": spec,
        "optimizer": describe_optimizer(o),
        "in_features": str(IN_FEATURES),
        "batch": str(b),
        "steps": str(STEPS),
        "seed": str(sc["seed"]),
        "generator": "tools/make-fixtures.py",
        "torch": torch.__version__,
    }
    if loss_kind == "mse":
        meta["clnn.loss"] = "mse"  # absent: cross-entropy, as in the first fixtures
    path = os.path.join(outdir, sc["name"] + ".safetensors")
    write_safetensors(path, tensors, meta)
    report.append(f"{sc['name']}: wrote {path} ({os.path.getsize(path)} bytes)")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.relpath(os.path.join(here, "..", "tests", "data", "torch"))
    os.makedirs(outdir, exist_ok=True)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    for sc in SCENARIOS:
        report = []
        try:
            generate(sc, outdir, report)
        finally:
            print("\n".join(report), flush=True)


if __name__ == "__main__":
    main()
