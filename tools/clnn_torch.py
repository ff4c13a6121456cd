"""PyTorch side of clnn's comparisons: layer specs as torch modules,
safetensors files without the safetensors package, and Fashion-MNIST from
its IDX files. Used by tools/compare-torch, tools/bench-frameworks (and
its JAX side, which needs only numpy from here) and tools/make-fixtures.py;
run with the Python that has torch (/usr/bin/python3 on Debian with
python3-torch, or a virtual environment's)."""

import collections
import gzip
import json
import math
import os
import struct

try:
    import numpy as np
except ImportError:  # tools/bench-frameworks's driver needs only the constants and parse_spec
    np = None

DEFAULT_DATA = "/usr/share/datasets/fashion-mnist"
REFERENCE_SPEC = "dense:256,bn,relu,dense:128,bn,relu,dense:10"
BN_EPS = 1e-5
BN_MOMENTUM = 0.1

_DTYPES = {"F32": "<f4", "F64": "<f8", "I64": "<i8", "I32": "<i4", "F16": "<f2", "U8": "u1"}


def write_safetensors(path, tensors, metadata):
    """tensors: list of (name, numpy array) in file order; metadata: str->str.
    Written to a temporary file and renamed, like clnn does."""
    header = {"__metadata__": dict(metadata)} if metadata else {}
    blobs, offset = [], 0
    for name, arr in tensors:
        if arr.dtype == np.float32:
            dtype, data = "F32", arr.astype("<f4").tobytes()
        elif arr.dtype == np.int64:
            dtype, data = "I64", arr.astype("<i8").tobytes()
        else:
            raise ValueError(f"{name}: unsupported dtype {arr.dtype}")
        header[name] = {"dtype": dtype, "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def read_safetensors(path):
    """Returns ({name: numpy array}, metadata dict)."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    base = 8 + n
    out = {}
    for name, e in header.items():
        begin, end = e["data_offsets"]
        arr = np.frombuffer(raw[base + begin:base + end], dtype=np.dtype(_DTYPES[e["dtype"]]))
        out[name] = arr.reshape(e["shape"]).copy()
    return out, meta


# Activations without options: spec name -> torch.nn class name.
ACTIVATIONS = {"relu": "ReLU", "gelu": "GELU", "tanh": "Tanh", "sigmoid": "Sigmoid", "silu": "SiLU",
               "softplus": "Softplus"}
LEAKYRELU_SLOPE = 0.01
# Every kind name and alias a spec may use, lower case: a piece after a
# comma that sets one of them starts a layer (_split_spec).
_KIND_NAMES = ("dense", "linear", "bn", "batchnorm1d", "batchnorm", "relu", "layernorm",
               "leakyrelu", "gelu", "tanh", "sigmoid", "silu", "dropout", "softplus")
BN_DEFAULTS = {"eps": BN_EPS, "momentum": BN_MOMENTUM, "affine": True,
               "track_running_stats": True}


def _split_spec(spec):
    """The layer tokens of a spec, as clnn splits them: options such as
    bn:eps=1e-3,momentum=0.05 go on after a comma with key=value pieces
    whose value names no kind ("fc=dense:10" starts a layer)."""
    items = []
    for piece in spec.split(","):
        head = items[-1] if items else ""
        options = head.partition(":")[2]
        value = piece.partition("=")[2].partition(":")[0].strip().lower()
        if "=" in options and "=" in piece and value not in _KIND_NAMES:
            items[-1] += "," + piece
        else:
            items.append(piece)
    return items


def _bn_options(text):
    """BatchNorm1d's keyword arguments from "eps=1e-3,momentum=none,..."."""
    opts = dict(BN_DEFAULTS)
    for pair in filter(None, (p.strip() for p in text.split(","))):
        key, _, value = (t.strip().lower() for t in pair.partition("="))
        if key == "eps":
            opts["eps"] = float(value)
        elif key == "momentum":
            opts["momentum"] = None if value == "none" else float(value)
        elif key in ("affine", "track_running_stats") and value in ("true", "false"):
            opts[key] = value == "true"
        else:
            raise ValueError(f"unknown BatchNorm option {pair!r}")
    return opts


def parse_spec(spec):
    """[(name, kind, outputs)] for a clnn layer spec: kind is "dense" (outputs
    its width), "bn" (outputs its nn.BatchNorm1d keyword arguments: eps,
    momentum, affine, track_running_stats), "leakyrelu" (outputs its negative
    slope), "dropout" (outputs its probability p, 0.5 when the spec gives
    none), "layernorm" or an activation of ACTIVATIONS (outputs None). Named
    layers keep their names and unnamed ones get their index, exactly as
    clnn names tensors."""
    layers = []
    for i, item in enumerate(_split_spec(spec)):
        item = item.strip()
        head, colon, options = item.partition(":")
        name, _, kind = head.rpartition("=")
        kind = kind.strip().lower()
        if kind in ("dense", "linear") and colon:
            layers.append((name or str(i), "dense", int(options)))
        elif kind in ("bn", "batchnorm1d", "batchnorm"):
            layers.append((name or str(i), "bn", _bn_options(options)))
        elif kind in ACTIVATIONS and not colon:
            layers.append((name or str(i), kind, None))
        elif kind == "leakyrelu":
            slope = float(options) if colon else LEAKYRELU_SLOPE
            layers.append((name or str(i), "leakyrelu", slope))
        elif kind == "layernorm" and not colon:
            layers.append((name or str(i), "layernorm", None))
        elif kind == "dropout":
            layers.append((name or str(i), "dropout", float(options) if colon else 0.5))
        else:
            raise ValueError(f"unknown layer {item!r}")
    return layers


def build_model(spec, in_features):
    """torch.nn.Sequential for a clnn layer spec, its modules named as
    parse_spec names them."""
    import torch.nn as nn
    layers = collections.OrderedDict()
    width = in_features
    for name, kind, outputs in parse_spec(spec):
        if kind == "dense":
            module = nn.Linear(width, outputs)
            width = outputs
        elif kind == "bn":
            module = nn.BatchNorm1d(width, **outputs)
        elif kind == "layernorm":
            module = nn.LayerNorm(width, eps=1e-5, elementwise_affine=True)
        elif kind == "leakyrelu":
            module = nn.LeakyReLU(negative_slope=outputs)
        elif kind == "dropout":
            module = nn.Dropout(outputs)  # same semantics; PyTorch's own masks
        else:
            module = getattr(nn, ACTIVATIONS[kind])()
        layers[name] = module
    return nn.Sequential(layers)


def pytorch_init(spec, in_features, seed):
    """Initial tensors for spec, drawn as PyTorch's nn.Linear, nn.BatchNorm1d
    and nn.LayerNorm initialise themselves, in state_dict order, without torch:
    weights and biases uniform in +-1/sqrt(fan_in) (kaiming_uniform_ with
    a=sqrt(5) comes to that bound), BatchNorm and LayerNorm scale 1, shift 0,
    running mean 0, running variance 1. Drawn with numpy from seed, so that every
    framework can start from the same file (write_safetensors)."""
    rng = np.random.default_rng(seed)
    tensors = []
    width = in_features
    for name, kind, outputs in parse_spec(spec):
        if kind == "dense":
            bound = 1.0 / np.sqrt(width)
            w = rng.uniform(-bound, bound, (outputs, width)).astype(np.float32)
            b = rng.uniform(-bound, bound, outputs).astype(np.float32)
            tensors += [(f"{name}.weight", w), (f"{name}.bias", b)]
            width = outputs
        elif kind == "bn":
            if outputs["affine"]:
                tensors += [(f"{name}.weight", np.ones(width, np.float32)),
                            (f"{name}.bias", np.zeros(width, np.float32))]
            if outputs["track_running_stats"]:
                tensors += [(f"{name}.running_mean", np.zeros(width, np.float32)),
                            (f"{name}.running_var", np.ones(width, np.float32)),
                            (f"{name}.num_batches_tracked", np.array(0, np.int64))]
        elif kind == "layernorm":
            tensors += [(f"{name}.weight", np.ones(width, np.float32)),
                        (f"{name}.bias", np.zeros(width, np.float32))]
    return tensors


_PHILOX_M = (0xD2511F53, 0xCD9E8D57)
_PHILOX_W = (0x9E3779B9, 0xBB67AE85)
_MASK32 = 0xFFFFFFFF


def philox4x32_10(counter, key):
    """Philox4x32-10 (Random123's constants) of four uint32 arrays (the
    counter words, broadcast together) under key (two ints): four uint32
    arrays. clnn's dropout kernel (kernels/dropout.cl) keeps an element
    where the first word is at least p * 2**32."""
    c = [np.asarray(w, dtype=np.uint64) & np.uint64(_MASK32) for w in counter]
    c = np.broadcast_arrays(*c)
    c = [w.copy() for w in c]
    k0, k1 = key[0] & _MASK32, key[1] & _MASK32
    for r in range(10):
        if r:
            k0, k1 = (k0 + _PHILOX_W[0]) & _MASK32, (k1 + _PHILOX_W[1]) & _MASK32
        p0 = c[0] * np.uint64(_PHILOX_M[0])
        p1 = c[2] * np.uint64(_PHILOX_M[1])
        hi0, lo0 = p0 >> np.uint64(32), p0 & np.uint64(_MASK32)
        hi1, lo1 = p1 >> np.uint64(32), p1 & np.uint64(_MASK32)
        c = [hi1 ^ c[1] ^ np.uint64(k0), lo1, hi0 ^ c[3] ^ np.uint64(k1), lo0]
    return [w.astype(np.uint32) for w in c]


def _mix64(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return z ^ (z >> 31)


def dropout_key(seed, index):
    """The key of the dropout layer at index of a network clnn_net_init made
    with seed (src/layers/dropout.c)."""
    return _mix64(seed ^ _mix64(0x64726F706F7574 + index))


def dropout_mask(p, key, step, rows, cols, first_row=0):
    """Which elements clnn's dropout layer keeps (bool [rows, cols]) in its
    training forward number step (from 0), for rows first_row.. of the
    global batch. These are clnn's masks, not PyTorch's: its generator
    draws others."""
    if p >= 1.0:
        return np.zeros((rows, cols), dtype=bool)
    threshold = int(math.floor(p * 4294967296.0))
    col = np.arange(cols, dtype=np.uint64)[None, :]
    row = (first_row + np.arange(rows, dtype=np.uint64))[:, None]
    word = philox4x32_10((col, row, step & _MASK32, step >> 32), (key & _MASK32, key >> 32))[0]
    return word.astype(np.uint64) >= threshold


def state_to_numpy(model):
    return [(k, v.detach().cpu().numpy().copy()) for k, v in model.state_dict().items()]


def save_model(model, path, spec, in_features):
    write_safetensors(path, state_to_numpy(model),
                      {"format": "pt", "clnn.spec": spec, "clnn.in_features": str(in_features)})


def load_model(path, spec=None, in_features=None):
    """A clnn model file as a torch module, loaded with strict=True."""
    import torch
    tensors, meta = read_safetensors(path)
    spec = spec or meta["clnn.spec"]
    in_features = in_features or int(meta["clnn.in_features"])
    model = build_model(spec, in_features)
    state = {k: torch.from_numpy(v) for k, v in tensors.items()
             if not k.startswith(("optimizer.", "clnn."))}
    model.load_state_dict(state, strict=True)
    return model


def _read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    return np.frombuffer(raw[4 + 4 * ndim:], dtype=np.uint8).reshape(dims)


def load_split(data_dir, split):
    """(images float32 [n, 784] in [0, 1], labels int64 [n]) as clnn loads them."""
    prefix = "train" if split == "train" else "t10k"
    def find(kind):
        for suffix in ("", ".gz"):
            p = os.path.join(data_dir, f"{prefix}-{kind}{suffix}")
            if os.path.exists(p):
                return p
        raise FileNotFoundError(f"{prefix}-{kind} not found in {data_dir}")
    x = _read_idx(find("images-idx3-ubyte")).reshape(-1, 784).astype(np.float32) / np.float32(255.0)
    y = _read_idx(find("labels-idx1-ubyte")).astype(np.int64)
    return x, y


def evaluate(model, x, y, batch=1000):
    """Mean cross-entropy and accuracy in eval mode."""
    import torch
    import torch.nn.functional as F
    model.eval()
    loss_sum, correct = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            xb, yb = torch.from_numpy(x[i:i + batch]), torch.from_numpy(y[i:i + batch])
            z = model(xb)
            loss_sum += F.cross_entropy(z, yb, reduction="sum").item()
            correct += (z.argmax(1) == yb).sum().item()
    return loss_sum / len(x), correct / len(x)
