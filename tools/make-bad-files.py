#!/usr/bin/env python3
"""Regenerate the malformed-file suite and the fuzzing seed corpora.

    python3 tools/make-bad-files.py [--root DIR]

Writes, under the repository root (or DIR):
  tests/data/bad/*            hand-made malformed safetensors, model, IDX, CSV,
                              .npy and .npz files (plus a few valid control
                              files)
  tests/data/bad/MANIFEST.tsv one line per file: file, loader, expected status
                              and a substring the error message must contain
  tests/fuzz/corpus/<name>/   small valid and near-valid seeds for the
                              libFuzzer harnesses in tests/fuzz

Loaders (see tests/io/test_bad_files.c):
  safetensors  the safetensors reader alone (no OpenCL device needed)
  idx          the IDX reader, plain or gzip (no device needed)
  model        clnn_net_load_weights into the network MODEL_SPEC with
               MODEL_IN inputs (needs an OpenCL device)
  csv, npy, npz  clnn_dataset_load with default options, labels optional
               for .npy (no device needed)

Only the Python standard library is used. Output is deterministic (gzip
members carry mtime 0), so rerunning it on a clean tree changes nothing
unless the generator or zlib changed.
"""

import argparse
import gzip
import json
import math
import os
import shutil
import struct
import sys
import zlib

# The network the "model" entries are loaded into; tests/io/test_bad_files.c
# builds the same one.
MODEL_IN = 5
MODEL_SPEC = "fc1=dense:3,bn1=bn,relu,fc2=dense:2"

DTYPE_SIZE = {"BOOL": 1, "U8": 1, "I8": 1, "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
              "I32": 4, "U32": 4, "F32": 4, "F64": 8, "I64": 8, "U64": 8}
PACK = {"F32": "<f", "F64": "<d", "I64": "<q", "U8": "<B", "F16": "<e", "I32": "<i"}


def pack(dtype, values):
    return b"".join(struct.pack(PACK[dtype], v) for v in values)


def numel(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def tensor(name, dtype, shape, values=None):
    """(name, dtype, shape, data bytes); values default to a simple ramp."""
    if values is None:
        values = [((i * 7) % 11 - 5) / 8 for i in range(numel(shape))]
        if dtype in ("I64", "I32", "U8"):
            values = [i % 3 for i in range(numel(shape))]
    return (name, dtype, list(shape), pack(dtype, values))


def raw_file(header_text, data=b"", pad=True):
    """8-byte little-endian length, the header bytes as given, then data."""
    h = header_text.encode("utf-8") if isinstance(header_text, str) else header_text
    if pad:
        h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + data


def safetensors(tensors, metadata=None):
    """A well-formed file, laid out as the safetensors package does."""
    header = {}
    if metadata:
        header["__metadata__"] = metadata
    offset = 0
    data = b""
    for name, dtype, shape, blob in tensors:
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        data += blob
    return raw_file(json.dumps(header, separators=(",", ":")), data)


def model_tensors():
    """The state dict of MODEL_SPEC with MODEL_IN inputs, as clnn saves it."""
    return [
        tensor("bn1.num_batches_tracked", "I64", [], [4]),
        tensor("bn1.bias", "F32", [3]),
        tensor("bn1.running_mean", "F32", [3]),
        tensor("bn1.running_var", "F32", [3], [0.5, 1.0, 2.0]),
        tensor("bn1.weight", "F32", [3]),
        tensor("fc1.bias", "F32", [3]),
        tensor("fc1.weight", "F32", [3, MODEL_IN]),
        tensor("fc2.bias", "F32", [2]),
        tensor("fc2.weight", "F32", [2, 3]),
    ]


# As clnn_net_save writes it; clnn.version marks the file as clnn's, which
# makes the reader insist on clnn.checksum (src/io/st_checksum.c).
CHECKSUM_PLACEHOLDER = "crc32:00000000"
MODEL_META = {"format": "pt", "clnn.spec": MODEL_SPEC, "clnn.in_features": str(MODEL_IN),
              "clnn.version": "0.1.0", "clnn.checksum": CHECKSUM_PLACEHOLDER}


def fill_checksum(data):
    """Replace the placeholder digits by the CRC-32 of the whole file, taken
    with those digits as zeros, as clnn's writer does."""
    at = data.find(CHECKSUM_PLACEHOLDER.encode())
    if at < 0:
        return data
    digits = "%08x" % (zlib.crc32(data) & 0xFFFFFFFF)
    at += len("crc32:")
    return data[:at] + digits.encode() + data[at + 8:]


def model(replace=None, drop=(), extra=(), meta=None):
    """The model file with tensors replaced, dropped or added."""
    out = []
    for t in model_tensors():
        if t[0] in drop:
            continue
        out.append(replace[t[0]] if replace and t[0] in replace else t)
    out.extend(extra)
    return fill_checksum(safetensors(out, MODEL_META if meta is None else meta))


def header(entries):
    """JSON text of a header from (name, dtype, shape, offsets) tuples."""
    return json.dumps({n: {"dtype": d, "shape": s, "data_offsets": o} for n, d, s, o in entries},
                      separators=(",", ":"))


def idx(dims, payload=None, type_byte=0x08):
    if payload is None:
        payload = bytes((i * 37) % 256 for i in range(numel(dims)))
    return bytes([0, 0, type_byte, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + payload


def gz(data):
    return gzip.compress(data, compresslevel=9, mtime=0)


def bad_files():
    """(file name, loader, expected status, message substring, bytes)."""
    good = model()
    two = [tensor("a", "F32", [2]), tensor("b", "F32", [3])]
    two_file = safetensors(two)
    hlen = struct.unpack("<Q", two_file[:8])[0]
    files = []

    def st(name, status, msg, data):
        files.append((name, "safetensors", status, msg, data))

    BAD = "CLNN_ERR_BAD_FILE"
    # -- truncated at every section boundary, and inside each section
    st("st-empty.safetensors", BAD, "too short for the 8-byte header length", b"")
    st("st-trunc-in-length.safetensors", BAD, "too short for the 8-byte header length", good[:5])
    st("st-trunc-after-length.safetensors", BAD, "after the length field (truncated?)", good[:8])
    st("st-trunc-in-header.safetensors", BAD, "after the length field (truncated?)",
       good[:8 + 40])
    st("st-trunc-after-header.safetensors", BAD, "run past the end of the 0-byte data section",
       two_file[:8 + hlen])
    st("st-trunc-in-data.safetensors", BAD, "run past the end of the 12-byte data section",
       two_file[:8 + hlen + 12])
    st("st-trunc-last-byte.safetensors", BAD, "(file truncated?)", two_file[:-1])
    # -- header length
    st("st-huge-header-length.safetensors", BAD, "exceeds the limit of 100000000 bytes",
       struct.pack("<Q", 1 << 63) + two_file[8:])
    st("st-header-length-beyond-file.safetensors", BAD, "header length 4096 exceeds the",
       struct.pack("<Q", 4096) + two_file[8:])
    st("st-header-length-zero.safetensors", BAD, "header must start with '{'",
       struct.pack("<Q", 0) + two_file[8:])
    st("st-header-not-object.safetensors", BAD, "header must start with '{'", raw_file("[1,2]"))
    # -- JSON syntax and encoding
    st("st-json-trailing-comma.safetensors", BAD, "(trailing comma?)",
       raw_file('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},}', pack("F32", [1])))
    st("st-json-unterminated.safetensors", BAD, "unterminated string", raw_file('{"a'))
    st("st-json-garbage-after.safetensors", BAD, "after the end of the JSON value",
       raw_file('{}}', pad=False))
    st("st-json-leading-zero.safetensors", BAD, "numbers must not have leading zeros",
       raw_file('{"a":{"dtype":"F32","shape":[01],"data_offsets":[0,4]}}', pack("F32", [1])))
    st("st-json-control-char.safetensors", BAD, "control character 0x01 inside a string",
       raw_file('{"a\x01":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', pack("F32", [1])))
    st("st-json-too-deep.safetensors", BAD, "nesting deeper than 32 levels",
       raw_file('{"__metadata__":' + "[" * 40 + "]" * 40 + "}"))
    st("st-non-utf8-name.safetensors", BAD, "invalid UTF-8 byte 0xFF in a string",
       raw_file(b'{"w\xff":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', pack("F32", [1])))
    st("st-overlong-utf8.safetensors", BAD, "invalid UTF-8 byte 0xC0 in a string",
       raw_file(b'{"w\xc0\xaf":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}',
                pack("F32", [1])))
    st("st-lone-surrogate.safetensors", BAD, "unpaired low surrogate",
       raw_file('{"w\\udc00":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}',
                pack("F32", [1])))
    st("st-nul-in-name.safetensors", BAD, "contains a NUL character",
       raw_file('{"w\\u0000x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}',
                pack("F32", [1])))
    # -- tensor entries
    st("st-unknown-dtype.safetensors", BAD, "dtype 'F8' is not supported",
       raw_file(header([("a", "F8", [4], [0, 4])]), bytes(4)))
    st("st-dtype-not-string.safetensors", BAD, "dtype must be a string, not a non-negative integer",
       raw_file('{"a":{"dtype":4,"shape":[1],"data_offsets":[0,4]}}', bytes(4)))
    st("st-missing-field.safetensors", BAD, "missing field 'data_offsets'",
       raw_file('{"a":{"dtype":"F32","shape":[1]}}', bytes(4)))
    st("st-unexpected-field.safetensors", BAD, "unexpected field 'strides'",
       raw_file('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"strides":[1]}}', bytes(4)))
    st("st-negative-dim.safetensors", BAD, "dimension 0 (-1) is not an integer in [0, 2^53]",
       raw_file(header([("a", "F32", [-1], [0, 4])]), bytes(4)))
    st("st-too-many-dims.safetensors", BAD, "at most 8 are supported",
       raw_file(header([("a", "U8", [1] * 9, [0, 1])]), bytes(1)))
    st("st-shape-overflow.safetensors", BAD, "overflows the element count",
       raw_file(header([("a", "U8", [1 << 40, 1 << 40], [0, 1])]), bytes(1)))
    st("st-shape-byte-mismatch.safetensors", BAD, "needs 12 bytes but data_offsets [0, 16] span 16",
       raw_file(header([("a", "F32", [3], [0, 16])]), bytes(16)))
    st("st-offsets-negative.safetensors", BAD, "data_offsets [-4, 4]: -4 is not an integer",
       raw_file(header([("a", "F32", [2], [-4, 4])]), bytes(8)))
    st("st-offsets-overflow-u64.safetensors", BAD, "18446744073709551616 is not an integer in [0, 2^53]",
       raw_file('{"a":{"dtype":"F32","shape":[1],"data_offsets":[18446744073709551616,'
                '18446744073709551620]}}', bytes(4)))
    st("st-offsets-above-2-53.safetensors", BAD, "is not an integer in [0, 2^53]",
       raw_file(header([("a", "U8", [1], [1 << 60, (1 << 60) + 1])]), bytes(1)))
    st("st-offsets-reversed.safetensors", BAD, "end before they begin",
       raw_file(header([("a", "U8", [0], [4, 0])]), bytes(4)))
    st("st-offsets-three.safetensors", BAD, "must have exactly 2 entries",
       raw_file(header([("a", "U8", [4], [0, 4, 8])]), bytes(4)))
    st("st-offsets-overlap.safetensors", BAD, "overlap tensor 'a' [0, 8]",
       raw_file(header([("a", "F32", [2], [0, 8]), ("b", "F32", [2], [4, 12])]), bytes(12)))
    st("st-offsets-beyond-file.safetensors", BAD, "run past the end of the 8-byte data section",
       raw_file(header([("a", "F32", [2], [0, 8]), ("b", "F32", [2], [8, 16])]), bytes(8)))
    st("st-offsets-hole.safetensors", BAD, "leave a hole of 4 bytes after tensor 'a'",
       raw_file(header([("a", "F32", [2], [0, 8]), ("b", "F32", [2], [12, 20])]), bytes(20)))
    st("st-trailing-data.safetensors", BAD, "4 unexplained trailing bytes",
       raw_file(header([("a", "F32", [2], [0, 8])]), bytes(12)))
    st("st-duplicate-name.safetensors", BAD, "tensor name 'a' appears more than once",
       raw_file('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},'
                '"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', bytes(8)))
    st("st-duplicate-field.safetensors", BAD, "field 'dtype' appears more than once",
       raw_file('{"a":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}}', bytes(4)))
    st("st-metadata-not-string.safetensors", BAD, "__metadata__ value of 'epoch' must be a string",
       raw_file('{"__metadata__":{"epoch":3}}'))
    st("st-metadata-twice.safetensors", BAD, "__metadata__ appears more than once",
       raw_file('{"__metadata__":{},"__metadata__":{}}'))
    # -- integrity of clnn's own files (clnn.checksum, CRC-32 of the file)
    flipped = bytearray(good)
    flipped[-5] ^= 0x04
    st("st-checksum-mismatch.safetensors", BAD, "checksum mismatch (stored crc32", bytes(flipped))
    no_sum = {k: v for k, v in MODEL_META.items() if k != "clnn.checksum"}
    st("st-checksum-missing.safetensors", BAD,
       "written by clnn but has no clnn.checksum", model(meta=no_sum))
    st("st-checksum-malformed.safetensors", BAD, "clnn.checksum 'crc32:0000000G' is malformed",
       model(meta=dict(MODEL_META, **{"clnn.checksum": "crc32:0000000G"})))

    def mdl(name, status, msg, data):
        files.append((name, "model", status, msg, data))

    SHAPE = "CLNN_ERR_SHAPE"
    nan = float("nan")
    mdl("model-ok.safetensors", "CLNN_OK", "", good)
    mdl("model-nan.safetensors", "CLNN_ERR_NONFINITE",
        "tensor 'fc1.weight' holds a non-finite value at element 0",
        model({"fc1.weight": tensor("fc1.weight", "F32", [3, MODEL_IN], [nan] * 15)}))
    mdl("model-inf-running-var.safetensors", "CLNN_ERR_NONFINITE",
        "tensor 'bn1.running_var' holds a non-finite value at element 2",
        model({"bn1.running_var": tensor("bn1.running_var", "F32", [3], [1, 1, math.inf])}))
    mdl("model-f64-weight.safetensors", SHAPE, "tensor 'fc1.weight' is F64, expected F32",
        model({"fc1.weight": tensor("fc1.weight", "F64", [3, MODEL_IN])}))
    mdl("model-f32-counter.safetensors", SHAPE,
        "tensor 'bn1.num_batches_tracked' is F32, expected I64",
        model({"bn1.num_batches_tracked": tensor("bn1.num_batches_tracked", "F32", [], [4])}))
    mdl("model-wrong-shape.safetensors", SHAPE,
        "tensor 'fc1.weight' has shape [5, 3], the network needs [3, 5]",
        model({"fc1.weight": tensor("fc1.weight", "F32", [MODEL_IN, 3])}))
    mdl("model-wrong-rank.safetensors", SHAPE,
        "tensor 'fc2.bias' has shape [1, 2], the network needs [2]",
        model({"fc2.bias": tensor("fc2.bias", "F32", [1, 2])}))
    mdl("model-missing-tensor.safetensors", SHAPE, "has no tensor 'fc2.bias' (F32 [2])",
        model(drop=("fc2.bias",)))
    mdl("model-extra-tensor.safetensors", SHAPE,
        "has a tensor 'fc3.weight' that the network does not have",
        model(extra=(tensor("fc3.weight", "F32", [2, 2]),)))
    mdl("model-truncated.safetensors", BAD, "is not a valid safetensors file", good[:-3])

    def ix(name, status, msg, data):
        files.append((name, "idx", status, msg, data))

    images = idx([3, 4, 5])
    labels = idx([3], bytes([1, 0, 2]))
    ix("idx-ok-images.idx3-ubyte", "CLNN_OK", "", images)
    ix("idx-ok-labels.idx1-ubyte.gz", "CLNN_OK", "", gz(labels))
    ix("idx-empty.idx", BAD, "0 bytes is too short for an IDX file", b"")
    ix("idx-wrong-magic.idx", BAD, "not an IDX file: it starts with 0x1F 0x8C",
       b"\x1f\x8c" + images[2:])
    ix("idx-wrong-type.idx", BAD, "element type 0x0D (32-bit float) is not supported",
       idx([3, 4, 5], type_byte=0x0D))
    ix("idx-unknown-type.idx", BAD, "element type 0x07 (unknown type) is not supported",
       idx([2], type_byte=0x07))
    ix("idx-zero-dims.idx", BAD, "IDX file has 0 dimensions; 1 to 4 are supported",
       bytes([0, 0, 8, 0]))
    ix("idx-five-dims.idx", BAD, "IDX file has 5 dimensions", idx([1, 1, 1, 1, 1]))
    ix("idx-trunc-header.idx", BAD, "needs 16 bytes but the file has 10 (truncated?)", images[:10])
    ix("idx-trunc-payload.idx", BAD, "need 60 bytes of data but the file has 59 (truncated?)",
       images[:-1])
    ix("idx-trailing-bytes.idx", BAD, "(3 trailing bytes); the header does not match the data",
       images + b"\0\0\0")
    ix("idx-dims-overflow.idx", BAD, "overflow the element count",
       idx([0xFFFFFFFF] * 4, payload=b""))
    ix("idx-labels-as-dims-zero.idx", BAD, "(1 trailing bytes)", idx([0], payload=b"\x05"))
    gimg = gz(images)
    corrupt = bytearray(gimg)
    corrupt[12] ^= 0xFF
    ix("idx-gzip-corrupted.idx.gz", BAD, "corrupted gzip data", bytes(corrupt))
    crc = bytearray(gimg)
    crc[-8] ^= 0x01
    ix("idx-gzip-bad-crc.idx.gz", BAD, "corrupted gzip data (incorrect data check)", bytes(crc))
    ix("idx-gzip-truncated.idx.gz", BAD, "gzip data is truncated", gimg[:len(gimg) // 2])
    ix("idx-gzip-no-trailer.idx.gz", BAD, "gzip data is truncated", gimg[:-8])
    ix("idx-gzip-garbage-after.idx.gz", BAD, "5 bytes of garbage after the end of the gzip data",
       gimg + b"junk\n")
    ix("idx-gzip-bad-payload.idx.gz", BAD, "(truncated?); re-download the file", gz(images[:-7]))
    ix("idx-gzip-header-only.idx.gz", BAD, "gzip data is truncated", gimg[:10])
    csv_files(files)
    npy_files(files)
    return files


def csv_files(files):
    def cv(name, status, msg, text):
        files.append((name, "csv", status, msg, text.encode("utf-8") if isinstance(text, str)
                      else text))

    BAD = "CLNN_ERR_BAD_FILE"
    cv("csv-ok.csv", "CLNN_OK", "", "\ufeffa,\"b, quoted\",class\r\n1,2e-3,x\r\n-4.5,.5,\"y\"\r\n")
    cv("csv-empty.csv", BAD, "is empty", "")
    cv("csv-header-only.csv", BAD, "holds no rows of data, only its header", "a,b,c\n")
    cv("csv-missing-value.csv", BAD, "line 3, column 2 ('b'): the value is missing",
       "a,b,c\n1,2,x\n3,,y\n")
    cv("csv-not-a-number.csv", BAD, "line 2, column 1 ('a'): 'abc' is not a number",
       "a,b,c\nabc,2,x\n")
    cv("csv-nan.csv", BAD, "line 2, column 2 ('b'): 'NaN' is not a finite number",
       "a,b,c\n1,NaN,x\n")
    cv("csv-float-overflow.csv", BAD, "line 2, column 1 ('a'): 1e39 is beyond the range of float32",
       "a,b,c\n1e39,2,x\n")
    cv("csv-short-row.csv", BAD, "line 3 has 2 fields, but the header has 3",
       "a,b,c\n1,2,x\n1,2\n")
    cv("csv-long-row.csv", BAD, "line 2 has 4 fields, but the header has 3",
       "a,b,c\n1,2,x,9\n")
    cv("csv-quote-in-field.csv", BAD, "line 2, column 1: a quote inside an unquoted field",
       "a,b,c\n1\"2,3,x\n")
    cv("csv-text-after-quote.csv", BAD, "line 2, column 3: text after the closing quote",
       "a,b,c\n1,2,\"x\"y\n")
    cv("csv-unclosed-quote.csv", BAD, "line 2, column 3: the quoted field is not closed",
       "a,b,c\n1,2,\"x\n3,4,y\n")
    cv("csv-lone-cr.csv", BAD, "line 2: a carriage return not followed by a line feed",
       "a,b,c\n1,2,x\r3,4,y\n")
    cv("csv-blank-line.csv", BAD, "line 3 is blank, and rows follow it",
       "a,b,c\n1,2,x\n\n3,4,y\n")
    cv("csv-duplicate-column.csv", BAD, "columns 1 and 3 are both named 'a'", "a,b,a\n1,2,x\n")
    cv("csv-empty-column-name.csv", BAD, "line 1, column 2: the column name is empty",
       "a,,c\n1,2,x\n")
    cv("csv-bad-utf8.csv", BAD, "line 2, column 3 ('c'): the label is not valid UTF-8",
       b"a,b,c\n1,2,\xff\n")
    cv("csv-empty-label.csv", BAD, "line 2, column 3 ('c'): the label is empty", "a,b,c\n1,2,\n")
    cv("csv-labels-only.csv", BAD, "has no feature columns", "c\nx\n")
    cv("csv-class-number-too-large.csv", BAD, "class number 70000 is beyond the 65536 classes",
       "a,c\n1,70000\n")


def npy_bytes(descr, shape, payload, fortran=False, version=1, header=None):
    """An .npy image as NumPy writes it (header padded to 64 bytes)."""
    if header is None:
        header = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (
            descr, "True" if fortran else "False",
            "(%s)" % (", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "")))
    pre = 10 if version == 1 else 12
    h = header.encode("latin-1")
    h += b" " * ((-(pre + len(h) + 1)) % 64) + b"\n"
    size = struct.pack("<H", len(h)) if version == 1 else struct.pack("<I", len(h))
    return b"\x93NUMPY" + bytes([version, 0]) + size + h + payload


def zip_archive(members, method=8, damage=None):
    """A ZIP archive of (name, bytes) members, as np.savez(_compressed) writes."""
    out, central = b"", b""
    for name, data in members:
        crc = zlib.crc32(data) & 0xFFFFFFFF
        if method == 8:
            c = zlib.compressobj(6, zlib.DEFLATED, -15)
            body = c.compress(data) + c.flush()
        else:
            body = data
        if damage == "crc":
            crc ^= 1
        n = name.encode()
        local = struct.pack("<IHHHHHIIIHH", 0x04034b50, 20, 0, method, 0, 0x21, crc, len(body),
                            len(data), len(n), 0) + n
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014b50, 20, 20, 0, method, 0, 0x21,
                               crc, len(body), len(data), len(n), 0, 0, 0, 0, 0,
                               len(out)) + n
        out += local + body
    end = struct.pack("<IHHHHIIH", 0x06054b50, 0, 0, len(members), len(members), len(central),
                      len(out), 0)
    return out + central + end


def npy_files(files):
    def ny(name, status, msg, data, loader="npy"):
        files.append((name, loader, status, msg, data))

    BAD = "CLNN_ERR_BAD_FILE"
    f4 = struct.pack("<6f", 1, 2, 3, 4, 5, 6)
    ok = npy_bytes("<f4", [2, 3], f4)
    ny("npy-ok.npy", "CLNN_OK", "", ok)
    ny("npy-ok-big-endian-f8-fortran.npy", "CLNN_OK", "",
       npy_bytes(">f8", [2, 3], struct.pack(">6d", 1, 4, 2, 5, 3, 6), fortran=True))
    ny("npy-ok-v2.npy", "CLNN_OK", "", npy_bytes("|u1", [2, 2], bytes([1, 2, 3, 4]), version=2))
    ny("npy-wrong-magic.npy", BAD, "not an .npy file", b"\x93NUMPX" + ok[6:])
    ny("npy-version.npy", BAD, ".npy format version 4.0 is not supported", ok[:6] + b"\x04" + ok[7:])
    ny("npy-truncated-header.npy", BAD, "runs past the end of the", ok[:40])
    ny("npy-truncated-data.npy", BAD, "declares 24 bytes of data but the file holds 20 (truncated?)",
       ok[:-4])
    ny("npy-trailing-bytes.npy", BAD, "declares 24 bytes of data but the file holds 28 (trailing",
       ok + bytes(4))
    ny("npy-object.npy", BAD, "holds Python objects (pickled)", npy_bytes("|O", [2], bytes(16)))
    ny("npy-structured.npy", BAD, "structured arrays",
       npy_bytes("", [1], bytes(8), header="{'descr': [('a', '<f4'), ('b', '<f4')], "
                                             "'fortran_order': False, 'shape': (1,), }"))
    ny("npy-half.npy", BAD, "dtype '<f2' is not supported", npy_bytes("<f2", [1, 2], bytes(4)))
    ny("npy-unknown-key.npy", BAD, "unexpected key 'strides'",
       npy_bytes("", [], b"", header="{'descr': '<f4', 'strides': 4, 'shape': (), }"))
    ny("npy-missing-shape.npy", BAD, "the header has no 'shape'",
       npy_bytes("", [], b"", header="{'descr': '<f4', 'fortran_order': False, }"))
    ny("npy-one-tuple.npy", BAD, "a 1-D shape is written (N,), with a comma",
       npy_bytes("", [], bytes(12), header="{'descr': '<f4', 'fortran_order': False, 'shape': (3), }"))
    ny("npy-shape-overflow.npy", BAD, "the .npy shape overflows the element count",
       npy_bytes("<f8", [1 << 40, 1 << 40], b""))
    ny("npy-one-d-features.npy", BAD, "features must be a 2-D array (rows x features), but its "
       "shape is (3,); for a single feature, save x.reshape(-1, 1)",
       npy_bytes("<f4", [3], struct.pack("<3f", 1, 2, 3)))
    ny("npy-nan-feature.npy", BAD, "row 1, column 0 (from 0) is not a finite number",
       npy_bytes("<f4", [2, 1], struct.pack("<2f", 1, float("nan"))))
    ny("npy-no-newline.npy", BAD, "the .npy header does not end with a newline",
       b"\x93NUMPY\x01\x00" + struct.pack("<H", 4) + b"{}  ")
    x = npy_bytes("<f4", [2, 3], f4)
    y = npy_bytes("<i8", [2], struct.pack("<2q", 0, 1))
    ny("npz-ok.npz", "CLNN_OK", "", zip_archive([("x.npy", x), ("y.npy", y)]), "npz")
    ny("npz-ok-stored.npz", "CLNN_OK", "", zip_archive([("x.npy", x), ("y.npy", y)], method=0),
       "npz")
    ny("npz-no-x.npz", BAD, "holds no array 'x' (it holds features, y)",
       zip_archive([("features.npy", x), ("y.npy", y)]), "npz")
    ny("npz-bad-crc.npz", BAD, "member 'x.npy': CRC-32 mismatch",
       zip_archive([("x.npy", x), ("y.npy", y)], damage="crc"), "npz")
    good = zip_archive([("x.npy", x), ("y.npy", y)])
    ny("npz-truncated.npz", BAD, "no end-of-central-directory record", good[:-30], "npz")
    bad_deflate = bytearray(good)
    bad_deflate[40] ^= 0xFF
    ny("npz-corrupt-deflate.npz", BAD, "member 'x.npy'", bytes(bad_deflate), "npz")
    ny("npz-negative-label.npz", BAD, "label 1 (from 0) is -1, not a class number",
       zip_archive([("x.npy", x), ("y.npy", npy_bytes("<i4", [2], struct.pack("<2i", 0, -1)))]),
       "npz")
    ny("npz-fraction-label.npz", BAD, "(regression targets are read as floats with options.target CLNN_TARGET_VALUES",
       zip_archive([("x.npy", x), ("y.npy", npy_bytes("<f8", [2], struct.pack("<2d", 0, 0.5)))]),
       "npz")
    ny("npz-label-count.npz", BAD, "holds 3 labels, but the features have 2 rows",
       zip_archive([("x.npy", x), ("y.npy", npy_bytes("|u1", [3], bytes([0, 1, 0])))]), "npz")


def seeds():
    """Fuzzing seeds: {corpus name: [(file name, bytes)]}."""
    mixed = safetensors([
        tensor("counter", "I64", [], [7]),
        tensor("half", "F16", [2, 2], [0.5, -1.0, 2.0, 0.0]),
        tensor("empty", "F32", [0, 3], []),
        tensor("bytes", "U8", [3], [1, 2, 3]),
        tensor("we\"ird/\u00e9", "I32", [1], [-1]),
    ], {"format": "pt", "note": "line\nbreak \u2603"})
    images = idx([2, 3, 3])
    labels = idx([2], bytes([3, 1]))
    specs = ["dense:256,bn,relu,dense:10", "fc1=dense:256,bn1=bn,relu,fc2=dense:10",
             "linear:3", "Dense:4 , BatchNorm1d , ReLU , linear:2", "a=relu,b=relu,_c=bn",
             "dense:1000000", "dense:0", "x=dense:5,x=relu", "optimizer=bn", "dense:", "relu:3",
             "dense:12a", ",", " ", "conv:3"]
    return {
        "safetensors": [
            ("model.safetensors", model()),
            ("mixed-dtypes.safetensors", mixed),
            ("empty-header.safetensors", raw_file("{}")),
            ("metadata-only.safetensors", raw_file('{"__metadata__":{"format":"pt"}}')),
            ("near-trailing-comma.safetensors",
             raw_file('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},}', bytes(4))),
            ("near-overlap.safetensors",
             raw_file(header([("a", "F32", [2], [0, 8]), ("b", "F32", [2], [4, 12])]),
                      bytes(12))),
            ("near-surrogates.safetensors",
             raw_file('{"\\ud83d\\ude00":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}',
                      bytes(1))),
        ],
        "idx": [
            ("images.idx3-ubyte", images),
            ("labels.idx1-ubyte", labels),
            ("images.idx3-ubyte.gz", gz(images)),
            ("labels.idx1-ubyte.gz", gz(labels)),
            ("two-members.idx.gz", gz(images[:9]) + gz(images[9:])),
            ("four-dims.idx", idx([1, 2, 1, 3])),
            ("empty-dim.idx", idx([0, 28, 28])),
            ("near-truncated.idx", images[:-1]),
            ("near-trailing.idx", labels + b"\0"),
        ],
        "spec": [("spec-%02d.txt" % i, s.encode()) for i, s in enumerate(specs)],
        "csv": [
            ("names.csv", b"\xef\xbb\xbfsepal,petal,species\r\n5.1,1.4,setosa\r\n"
                          b"6.2,4.5,\"versi,color\"\r\n"),
            ("numbers.csv", b"a,b,c\n1e-3,-2.5,0\n.5,7.,1\n1234567890123456789,3,2\n"),
            ("quoted.csv", b'a,"b ""x""",c\n"1","2\n",z\n'),
            ("near-short-row.csv", b"a,b,c\n1,2,x\n1,2\n"),
            ("near-blank.csv", b"a,b,c\n1,2,x\n\n\n"),
        ],
        "npy": [
            ("f4.npy", npy_bytes("<f4", [2, 3], struct.pack("<6f", 1, 2, 3, 4, 5, 6))),
            ("f8-fortran.npy", npy_bytes(">f8", [2, 2], struct.pack(">4d", 1, 2, 3, 4),
                                         fortran=True)),
            ("u1-v3.npy", npy_bytes("|u1", [1, 3], bytes([7, 8, 9]), version=3)),
            ("labels.npy", npy_bytes("<i8", [2], struct.pack("<2q", 1, 0))),
            ("data.npz", zip_archive([
                ("x.npy", npy_bytes("<f4", [2, 1], struct.pack("<2f", 1, 2))),
                ("y.npy", npy_bytes("|u1", [2], bytes([1, 0])))])),
            ("stored.npz", zip_archive([
                ("x.npy", npy_bytes("<f8", [1, 2], struct.pack("<2d", 1, 2)))], method=0)),
        ],
    }


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=os.path.dirname(here), help="repository root")
    args = ap.parse_args()

    bad_dir = os.path.join(args.root, "tests", "data", "bad")
    if os.path.isdir(bad_dir):
        shutil.rmtree(bad_dir)
    os.makedirs(bad_dir)
    files = bad_files()
    names = [f[0] for f in files]
    if len(set(names)) != len(names):
        sys.exit("make-bad-files.py: duplicate file names")
    lines = ["# file\tloader\texpected status\tmessage substring (see tools/make-bad-files.py)"]
    for name, loader, status, msg, data in files:
        if "\t" in msg or "\n" in msg:
            sys.exit("make-bad-files.py: %s: message substring holds a tab or newline" % name)
        write(os.path.join(bad_dir, name), data)
        lines.append("\t".join([name, loader, status, msg]))
    write(os.path.join(bad_dir, "MANIFEST.tsv"), ("\n".join(lines) + "\n").encode())

    corpus_root = os.path.join(args.root, "tests", "fuzz", "corpus")
    for corpus, entries in seeds().items():
        # Inputs added by hand (fuzzer finds kept as regressions) stay; the
        # generated ones are rewritten.
        d = os.path.join(corpus_root, corpus)
        os.makedirs(d, exist_ok=True)
        for name, data in entries:
            write(os.path.join(d, name), data)
    bad = sum(1 for f in files if f[2] != "CLNN_OK")
    print("wrote %d files (%d malformed, %d controls) to %s and %d seeds to %s" % (
        len(files), bad, len(files) - bad, os.path.relpath(bad_dir),
        sum(len(e) for e in seeds().values()), os.path.relpath(corpus_root)))


if __name__ == "__main__":
    main()
