#!/usr/bin/env python3
"""End-to-end checks of the clnn command-line tool: exit statuses and messages.

Usage: test_cli.py [--binary PATH] GROUP, GROUP one of usage, no-platform,
errors, train, resume, bench. PATH defaults to $CLNN_BINARY. The train group requires a test
accuracy of at least 0.8 after two short epochs on a separable pattern, and
that `clnn eval` of the saved model prints the same accuracy and loss. Groups that need an OpenCL
device exit 77 (skip) without one, or fail when CLNN_TEST_REQUIRE_DEVICE=1.
"""
import argparse
import gzip
import json
import os
import random
import re
import signal
import struct
import subprocess
import sys
import tempfile
import time

SKIP = 77
TIMEOUT = 300

failures = []


class Result:
    def __init__(self, args, proc):
        self.args = args
        self.rc = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr

    def describe(self):
        return (f"$ clnn {' '.join(self.args)}\n  exit {self.rc}\n"
                f"  stdout: {self.out.strip()[:2000]!r}\n  stderr: {self.err.strip()[:2000]!r}")


def run(binary, args, env=None):
    full_env = dict(os.environ)
    full_env.pop('CLNN_VERBOSE', None)
    if env:
        full_env.update(env)
    proc = subprocess.run([binary] + args, capture_output=True, text=True, env=full_env,
                          timeout=TIMEOUT, stdin=subprocess.DEVNULL)
    return Result(args, proc)


def check(binary, args, rc, stdout=(), stderr=(), env=None, name=None):
    """Run clnn and record a failure unless the exit status is rc and every
    substring appears in its stream (case-sensitive)."""
    r = run(binary, args, env)
    problems = []
    if r.rc != rc:
        problems.append(f'expected exit {rc}')
    problems += [f'stdout lacks {s!r}' for s in stdout if s not in r.out]
    problems += [f'stderr lacks {s!r}' for s in stderr if s not in r.err]
    label = name or ' '.join(args)
    if problems:
        failures.append(f"{label}: {'; '.join(problems)}\n{r.describe()}")
        print(f'FAIL {label}')
    else:
        print(f'ok   {label}')
    return r


def fail(label, message):
    failures.append(f'{label}: {message}')
    print(f'FAIL {label}')


# ------------------------------------------------------------------ data

def pattern_dataset(n, seed):
    """n 28×28 images whose class c (0..9) lights rows 2c+4..2c+6 over faint
    noise: linearly separable, so a short run must learn it."""
    rng = random.Random(seed)
    images, labels = bytearray(), bytearray()
    for i in range(n):
        c = i % 10
        img = bytearray(rng.randrange(0, 60) for _ in range(28 * 28))
        for r in range(2 * c + 4, 2 * c + 7):
            for col in range(4, 24):
                img[r * 28 + col] = rng.randrange(200, 256)
        images += img
        labels.append(c)
    return bytes(images), bytes(labels)


def idx_images(n, pixels):
    return struct.pack('>IIII', 0x00000803, n, 28, 28) + pixels


def idx_labels(n, labels):
    return struct.pack('>II', 0x00000801, n) + labels


def write_dataset(folder, n_train=600, n_test=200):
    """Training files plain and test files gzip-compressed, so both readers run."""
    x, y = pattern_dataset(n_train, 1)
    with open(os.path.join(folder, 'train-images-idx3-ubyte'), 'wb') as f:
        f.write(idx_images(n_train, x))
    with open(os.path.join(folder, 'train-labels-idx1-ubyte'), 'wb') as f:
        f.write(idx_labels(n_train, y))
    x, y = pattern_dataset(n_test, 2)
    with gzip.open(os.path.join(folder, 't10k-images-idx3-ubyte.gz'), 'wb') as f:
        f.write(idx_images(n_test, x))
    with gzip.open(os.path.join(folder, 't10k-labels-idx1-ubyte.gz'), 'wb') as f:
        f.write(idx_labels(n_test, y))


def require_device(binary):
    r = run(binary, ['devices'])
    if r.rc == 0:
        return
    print(f'no OpenCL device: {r.err.strip()}')
    sys.exit(1 if os.environ.get('CLNN_TEST_REQUIRE_DEVICE') == '1' else SKIP)


# ---------------------------------------------------------------- groups

def group_usage(binary, tmp):
    """Everything that must work without an OpenCL device."""
    check(binary, [], 2, stderr=['Usage: clnn'], name='(no arguments)')
    check(binary, ['frobnicate'], 2, stderr=["unknown command 'frobnicate'", "Try 'clnn help'"])
    check(binary, ['--bogus'], 2, stderr=["'--bogus'"])
    check(binary, ['help', 'nosuch'], 2, stderr=["unknown command 'nosuch'"])
    r = check(binary, ['--version'], 0, stdout=['clnn '])
    if not re.search(r'clnn \d+\.\d+\.\d+ \(library \d+\.\d+\.\d+\)', r.out):
        fail('--version', f'unexpected output {r.out!r}')
    for args in (['--help'], ['help'], ['-h']):
        check(binary, args, 0, stdout=['devices', 'train', 'eval', 'help'])

    train_opts = ['--layers', '--epochs', '--batch-size', '--optimizer', '--lr', '--momentum',
                  '--nesterov', '--weight-decay', '--seed', '--limit', '--data', '--device',
                  '--gemm', '--save', '--quiet', '--verbose', '--help']
    check(binary, ['train', '--help'], 0, stdout=train_opts + [
        'dense:256,bn,relu,dense:128,bn,relu,dense:10', '(default 1)', '(default 64)',
        '0.01', '0.001', '0.9', 'fashion-mnist'])
    check(binary, ['help', 'train'], 0, stdout=train_opts)
    check(binary, ['eval', '--help'], 0,
          stdout=['clnn eval MODEL', '--data', '--device', '--batch-size', '--gemm',
                  '(default 1000)'])
    check(binary, ['devices', '--help'], 0, stdout=['clnn devices', 'default'])

    bad_values = [
        ['--epochs', 'abc'], ['--epochs', '0'], ['--epochs', '-1'], ['--epochs', '1.5'],
        ['--epochs', ''], ['--epochs', ' 3'], ['--epochs', '99999999999999999999999'],
        ['--batch-size', '0'], ['--batch-size', '12x'], ['--lr', '-0.1'],
        ['--lr', 'nan'], ['--lr', 'inf'], ['--lr', '1e'], ['--lr', '1e999'], ['--momentum', '1.5'],
        ['--momentum', '-0.1'], ['--weight-decay', '-1'], ['--seed', '-1'], ['--seed', 'x'],
        ['--limit', '0'], ['--gemm', 'fast'], ['--optimizer', 'rmsprop'],
    ]
    for opt, value in bad_values:
        check(binary, ['train', opt, value], 2,
              stderr=[opt, f"'{value}'", "Try 'clnn train --help'."])
    check(binary, ['train', '--epochs=abc'], 2, stderr=['--epochs', "'abc'"])
    check(binary, ['train', '--frob'], 2, stderr=["'--frob'", "Try 'clnn train --help'."])
    check(binary, ['train', '-x'], 2, stderr=["'-x'"])
    check(binary, ['train', '--epochs'], 2, stderr=["'--epochs' requires a value"])
    check(binary, ['train', '--quiet=1'], 2, stderr=["'--quiet' does not take a value"])
    check(binary, ['train', 'extra'], 2, stderr=["unexpected argument 'extra'"])
    check(binary, ['train', '--optimizer', 'adam', '--momentum', '0.5'], 2,
          stderr=['--momentum', 'sgd'])
    check(binary, ['train', '--nesterov', '--momentum', '0'], 2, stderr=['--nesterov'])
    check(binary, ['eval'], 2, stderr=['missing MODEL', "Try 'clnn eval --help'."])
    check(binary, ['eval', 'a', 'b'], 2, stderr=["unexpected argument 'b'"])
    check(binary, ['eval', 'm', '--batch-size', 'x'], 2, stderr=['--batch-size', "'x'"])
    check(binary, ['devices', 'extra'], 2, stderr=["unexpected argument 'extra'",
                                                   "Try 'clnn devices --help'."])
    check(binary, ['devices', '--frob'], 2, stderr=["'--frob'"])

    # Runtime failures that are found before any device is needed.
    r = check(binary, ['train', '--data', '/nonexistent'], 1, stderr=['clnn: error: '])
    if not re.search(r'/nonexistent/\S*(train|t10k)', r.err):
        fail('train --data /nonexistent', f'message does not name the missing file: {r.err!r}')
    missing = os.path.join(tmp, 'missing.safetensors')
    check(binary, ['eval', missing], 1, stderr=['clnn: error: ', missing])
    check(binary, ['train', '--save', os.path.join(tmp, 'no-such-dir', 'm.safetensors')], 1,
          stderr=['clnn: error: ', 'no-such-dir', '--save'])


def group_no_platform(binary, tmp):
    """ocl-icd reads OCL_ICD_VENDORS instead of /etc/OpenCL/vendors, so an
    empty folder makes the machine look like one without any OpenCL driver."""
    write_dataset(tmp)
    vendors = os.path.join(tmp, 'vendors')
    os.mkdir(vendors)
    env = {'OCL_ICD_VENDORS': vendors}
    for args in (['devices'], ['train', '--data', tmp]):
        r = check(binary, args, 1, stderr=['clnn: error: '], env=env,
                  name=' '.join(args) + ' (no OpenCL platform)')
        low = r.err.lower()
        if 'install' not in low or not ('icd' in low or 'driver' in low):
            fail(' '.join(args) + ' (no OpenCL platform)',
                 f'message does not say to install an OpenCL driver/ICD: {r.err!r}')


def group_errors(binary, tmp):
    require_device(binary)
    write_dataset(tmp)
    base = ['train', '--data', tmp, '--limit', '100', '--quiet']
    check(binary, base + ['--layers', 'dense:64,relu,dense:abc'], 1,
          stderr=['clnn: error: ', 'abc'])
    check(binary, base + ['--layers', 'dense:64,frob,dense:10'], 1,
          stderr=['clnn: error: ', 'frob'])
    check(binary, base + ['--layers', 'dense:64,relu,dense:4'], 1,
          stderr=['clnn: error: ', 'dense:10'])
    check(binary, base + ['--device', 'zzz'], 1, stderr=['clnn: error: ', 'zzz'])
    check(binary, ['devices'], 0, stdout=['PLATFORM', 'NAME', 'GLOBAL MiB', '*'])
    garbage = os.path.join(tmp, 'garbage.safetensors')
    with open(garbage, 'wb') as f:
        f.write(b'\xff' * 8 + b'this is not a safetensors file' * 10)
    check(binary, ['eval', '--data', tmp, '--device', 'zzz', garbage], 1,
          stderr=['clnn: error: ', 'zzz'])
    check(binary, ['eval', '--data', tmp, garbage], 1,
          stderr=['clnn: error: ', 'garbage.safetensors'])
    empty = os.path.join(tmp, 'empty.safetensors')
    open(empty, 'wb').close()
    check(binary, ['eval', '--data', tmp, empty], 1, stderr=['clnn: error: '])


def last_metric(text, name):
    found = re.findall(name + r' ([0-9.]+|nan|inf|-inf)', text)
    return found[-1] if found else None


def group_train(binary, tmp):
    require_device(binary)
    write_dataset(tmp)
    model = os.path.join(tmp, 'model.safetensors')
    # 449 = 14 × 32 + 1: the final one-sample batch must be skipped, not fail in BatchNorm.
    r = check(binary, ['train', '--data', tmp, '--limit', '449', '--batch-size', '32',
                       '--epochs', '2', '--seed', '3', '--save', model], 0,
              stdout=['device ', 'gemm ', 'network dense:256,bn,relu,dense:128,bn,relu,dense:10',
                      'train 449 of 600 samples', 'test 200 samples', 'skipped',
                      'epoch 1/2  train loss ', 'epoch 2/2  train loss ', 'saved'])
    train_acc = last_metric(r.out, 'test acc')
    train_loss = last_metric(r.out, 'test loss')
    bound = 0.8
    if train_acc is None or float(train_acc) < bound:
        fail('train accuracy', f'test acc {train_acc} below {bound}\n{r.describe()}')
    if not os.path.exists(model):
        fail('train --save', f'{model} was not written')
        return
    r = check(binary, ['eval', model, '--data', tmp], 0, stdout=['test acc', '(200 samples)'])
    eval_acc = last_metric(r.out, 'test acc')
    if eval_acc != train_acc:
        fail('eval accuracy', f'eval printed {eval_acc}, train printed {train_acc}')
    eval_loss = last_metric(r.out, 'test loss')
    if train_loss is None or eval_loss is None or abs(float(train_loss) - float(eval_loss)) > 2e-4:
        fail('eval loss', f'eval printed {eval_loss}, train printed {train_loss}')

    # Adam with its own default learning rate, and SGD with Nesterov momentum.
    check(binary, ['train', '--data', tmp, '--limit', '200', '--optimizer', 'adam', '--quiet'], 0,
          stdout=['epoch 1/1'])
    check(binary, ['train', '--data', tmp, '--limit', '200', '--nesterov', '--weight-decay', '1e-4',
                   '--gemm', 'own', '--layers', 'fc1=dense:32,relu,fc2=dense:10', '--quiet'], 0,
          stdout=['epoch 1/1'])

    # A diverging run must stop with exit 1 and leave the earlier model alone.
    # Depending on how the numbers blow up, the tool sees a non-finite loss or
    # the library refuses to save non-finite weights; both must say why.
    before = open(model, 'rb').read()
    check(binary, ['train', '--data', tmp, '--limit', '200', '--lr', '1e20', '--momentum', '0',
                   '--epochs', '3', '--save', model], 1,
          stderr=['clnn: error: ', 'diverged', 'lower the learning rate'])
    if open(model, 'rb').read() != before:
        fail('divergence', f'{model} was changed by a diverging run')


def tensor_bytes(path, name):
    """Raw bytes of one tensor of a safetensors file."""
    raw = open(path, 'rb').read()
    n = struct.unpack('<Q', raw[:8])[0]
    begin, end = json.loads(raw[8:8 + n])[name]['data_offsets']
    return raw[8 + n + begin:8 + n + end]


def group_resume(binary, tmp):
    """A run killed at arbitrary points and resumed from its last checkpoint
    ends with the same model file, bit for bit, as an uninterrupted run."""
    require_device(binary)
    write_dataset(tmp)
    common = ['train', '--data', tmp, '--batch-size', '16', '--epochs', '3', '--seed', '5',
              '--layers', 'dense:64,bn,relu,dense:10', '--quiet']
    full = os.path.join(tmp, 'full.safetensors')
    check(binary, common + ['--save', full], 0, stdout=['epoch 3/3'])
    part = os.path.join(tmp, 'part.safetensors')
    ckpt = part + '.ckpt'
    args = common + ['--save', part, '--checkpoint-every', '7']
    rng = random.Random(11)
    kills = 0
    for attempt in range(6):
        proc = subprocess.Popen([binary] + args, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        # Wait until a (new) checkpoint exists, then a little more, then kill.
        start = time.monotonic()
        seen = os.path.getmtime(ckpt) if os.path.exists(ckpt) else None
        while proc.poll() is None and time.monotonic() - start < TIMEOUT:
            if os.path.exists(ckpt) and os.path.getmtime(ckpt) != seen:
                break
            time.sleep(0.005)
        time.sleep(rng.uniform(0.0, 0.15))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait()
        if os.path.exists(part):
            break
        args = common + ['--save', part, '--checkpoint-every', '7', '--resume', ckpt]
    if not os.path.exists(part):
        check(binary, args, 0)
    if kills == 0:
        fail('resume', 'the run finished before it could be killed; nothing was tested')
    if open(part, 'rb').read() != open(full, 'rb').read():
        fail('resume', f'after {kills} kills and resumes the model differs from an uninterrupted run')

    # --init starts from given weights: with lr 0 the weights stay as given.
    again = os.path.join(tmp, 'again.safetensors')
    check(binary, ['train', '--data', tmp, '--layers', 'dense:64,bn,relu,dense:10', '--init', full,
                   '--lr', '0.0', '--no-shuffle', '--quiet', '--save', again], 0)
    if tensor_bytes(again, '0.weight') != tensor_bytes(full, '0.weight'):
        fail('init', '--init with lr 0 changed 0.weight')
    # A model is not a checkpoint, and --init with another stack names the tensor.
    check(binary, ['train', '--data', tmp, '--resume', full], 1, stderr=['is not a checkpoint'])
    check(binary, ['train', '--data', tmp, '--init', full, '--layers', 'dense:32,relu,dense:10'], 1,
          stderr=["'0.weight'", 'shape'])


BENCH_KEYS = ['clnn_version', 'device', 'gemm', 'layers', 'features', 'classes', 'parameters',
              'optimizer', 'cold', 'startup', 'peak', 'batches']
BENCH_BATCH_KEYS = ['batch', 'steps', 'seconds', 'samples_per_s', 'step_us', 'profiled_steps',
                    'device_us', 'overhead_us', 'overhead_pct', 'kernels', 'parts']
BENCH_KERNEL_KEYS = ['scope', 'kernel', 'kind', 'launches_per_step', 'us_per_step', 'pct_step',
                     'gflops', 'gbps', 'pct_peak', 'copy_gbps', 'pct_copy']


def bench_json(label, r):
    try:
        return json.loads(r.out)
    except ValueError as e:
        fail(label, f'output is not one JSON object ({e})\n{r.describe()}')
        return None


def check_bench_report(label, doc, probe):
    """Keys present and figures positive; no timing bounds (machines differ)."""
    problems = [f'missing key {k!r}' for k in BENCH_KEYS if k not in doc]
    if problems:
        fail(label, '; '.join(problems))
        return
    if doc['layers'] != 'dense:16,bn,relu,dense:4' or doc['classes'] != 4 or \
            doc['parameters'] != 784 * 16 + 16 + 2 * 16 + 16 * 4 + 4:
        problems.append(f"network described as {doc['layers']!r}, {doc['classes']} classes, "
                        f"{doc['parameters']} parameters")
    for k in ('first_step_s', 'first_step_latency_s', 'context_s'):
        if not doc['startup'].get(k, 0) > 0:
            problems.append(f'startup.{k} not positive')
    if probe:
        if not (doc['peak'] and doc['peak']['gflops'] > 0 and doc['peak']['gbps'] > 0):
            problems.append(f"peak not positive: {doc['peak']!r}")
    elif doc['peak'] is not None:
        problems.append('--no-probe still reported a peak')
    if [b.get('batch') for b in doc['batches']] != [8, 16]:
        problems.append(f"batches {[b.get('batch') for b in doc['batches']]}, expected [8, 16]")
    for b in doc['batches']:
        problems += [f'batch lacks {k!r}' for k in BENCH_BATCH_KEYS if k not in b]
        if problems:
            break
        if b['steps'] != 3 or b['profiled_steps'] != 3:
            problems.append(f"batch {b['batch']}: steps {b['steps']}/{b['profiled_steps']}, not 3")
        for k in ('seconds', 'samples_per_s', 'step_us', 'device_us'):
            if not b[k] > 0:
                problems.append(f"batch {b['batch']}: {k} = {b[k]!r}, not positive")
        kernels = {(k.get('scope'), k.get('kernel')): k for k in b['kernels']}
        for k in b['kernels']:
            problems += [f'kernel lacks {key!r}' for key in BENCH_KERNEL_KEYS if key not in k]
            if not (k['us_per_step'] > 0 and k['launches_per_step'] > 0):
                problems.append(f"{k['scope']}/{k['kernel']}: no time or launches")
        if not any(k['kind'] == 'compute' and k['gflops'] > 0 and k['scope'].startswith('layer 0 ')
                   for k in b['kernels']):
            problems.append(f"batch {b['batch']}: no GEMM with GFLOP/s in layer 0")
        relu = kernels.get(('layer 2 relu forward', 'relu_forward'))
        if relu is None or relu['kind'] != 'memory' or not relu['gbps'] > 0:
            problems.append(f'relu_forward missing or without GB/s: {relu!r}')
        elif probe and not (relu['copy_gbps'] > 0 and relu['pct_copy'] > 0):
            problems.append(f'relu_forward lacks its same-size copy figures: {relu!r}')
        elif not probe and relu['pct_copy'] is not None:
            problems.append('--no-probe still compared with a copy')
        parts = [p['part'] for p in b['parts']]
        for want in ('layer 0 dense', 'layer 1 bn', 'layer 3 dense', 'optimizer'):
            if want not in parts:
                problems.append(f'parts lack {want!r}: {parts}')
        total = sum(p['total_us'] for p in b['parts'])
        if abs(total - b['device_us']) > 1e-3 * b['device_us'] + 0.01:
            problems.append(f"parts sum to {total} µs, device time is {b['device_us']} µs")
    if problems:
        fail(label, '; '.join(problems))


def group_bench(binary, tmp):
    # Usage first: none of it needs a device.
    check(binary, ['help'], 0, stdout=['bench'])
    check(binary, ['bench', '--help'], 0,
          stdout=['clnn bench', '--layers', '--batch-sizes', '--steps', '--seconds',
                  '--optimizer', '--device', '--gemm', '--json', '--no-probe', '--cold',
                  '64,256,1024'])
    bad_values = [
        ['--batch-sizes', ''], ['--batch-sizes', '0'], ['--batch-sizes', '64,'],
        ['--batch-sizes', ',64'], ['--batch-sizes', '64,x'], ['--batch-sizes', '-8'],
        ['--batch-sizes', '99999999'], ['--batch-sizes', ','.join(['8'] * 17)],
        ['--steps', '0'], ['--steps', 'x'], ['--seconds', '0'], ['--seconds', '-1'],
        ['--seconds', 'nan'], ['--optimizer', 'rmsprop'], ['--gemm', 'fast'],
        ['--features', '0'], ['--seed', '-1'],
    ]
    for opt, value in bad_values:
        check(binary, ['bench', opt, value], 2,
              stderr=[opt, f"'{value}'", "Try 'clnn bench --help'."])
    check(binary, ['bench', '--steps', '3', '--seconds', '1'], 2,
          stderr=['--steps', '--seconds'])
    check(binary, ['bench', '--frob'], 2, stderr=["'--frob'", "Try 'clnn bench --help'."])
    check(binary, ['bench', '--json=1'], 2, stderr=["'--json' does not take a value"])
    check(binary, ['bench', 'extra'], 2, stderr=["unexpected argument 'extra'"])

    require_device(binary)
    tiny = ['bench', '--batch-sizes', '8,16', '--steps', '3', '--layers', 'dense:16,bn,relu,dense:4']
    r = check(binary, tiny + ['--json'], 0, name='bench --json')
    doc = bench_json('bench --json', r)
    if doc is not None:
        check_bench_report('bench --json', doc, probe=True)
    r = check(binary, tiny + ['--json', '--no-probe', '--optimizer', 'adam', '--gemm', 'clblast'],
              0, name='bench --json --no-probe (adam)')
    doc = bench_json('bench --no-probe', r)
    if doc is not None:
        check_bench_report('bench --no-probe', doc, probe=False)
        if doc['optimizer'] != 'adam' or doc['gemm'] != 'clblast':
            fail('bench --no-probe', f"optimizer {doc['optimizer']!r}, gemm {doc['gemm']!r}")
    check(binary, tiny, 0, name='bench (tables)',
          stdout=['device ', 'start-up ', 'first-step latency', 'peak ', 'GFLOP/s', 'batch 8: ',
                  'batch 16: ', 'samples/s', 'launch overhead',
                  'SCOPE', 'KERNEL', 'LAUNCHES', 'µs/STEP', '%STEP', 'GB/s', '%PEAK', '%COPY',
                  'layer 0 dense forward', 'PART', 'FORWARD µs', 'BACKWARD µs', 'optimizer'])
    # A batch BatchNorm cannot train on, and a layer spec the library rejects.
    check(binary, ['bench', '--batch-sizes', '1', '--steps', '1', '--no-probe'], 1,
          stderr=['clnn: error: ', 'BatchNorm'])
    check(binary, ['bench', '--steps', '1', '--layers', 'dense:8,frob', '--no-probe'], 1,
          stderr=['clnn: error: ', 'frob'])
    check(binary, ['bench', '--steps', '1', '--device', 'zzz', '--no-probe'], 1,
          stderr=['clnn: error: ', 'zzz'])


def group_kill(binary, tmp):
    """SIGKILL a checkpointing run at 50 random moments: after every kill the
    last checkpoint loads (clnn eval), training resumes from it, and the end
    result is the model of an uninterrupted run, bit for bit."""
    require_device(binary)
    write_dataset(tmp, n_train=600, n_test=100)
    common = ['train', '--data', tmp, '--batch-size', '8', '--epochs', '80', '--seed', '9',
              '--layers', 'dense:96,bn,relu,dense:10', '--quiet']
    full = os.path.join(tmp, 'full.safetensors')
    check(binary, common + ['--save', full], 0)
    part = os.path.join(tmp, 'part.safetensors')
    ckpt = part + '.ckpt'
    rng = random.Random(2024)
    kills = loadable = 0
    args = common + ['--save', part, '--checkpoint-every', '25']
    while kills < 50 and not os.path.exists(part):
        proc = subprocess.Popen([binary] + args, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.1, 0.6))
        if proc.poll() is not None:
            continue  # finished (or failed) by itself: checked below
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kills += 1
        if not os.path.exists(ckpt):
            continue  # killed before the first checkpoint: nothing to resume yet
        r = run(binary, ['eval', ckpt, '--data', tmp])
        if r.rc != 0:
            fail('kill', f'after kill {kills} the checkpoint does not load:\n{r.describe()}')
            return
        loadable += 1
        args = common + ['--save', part, '--checkpoint-every', '25', '--resume', ckpt]
    if not os.path.exists(part):
        check(binary, args, 0)
    print(f'{kills}/{kills} killed runs resumable ({loadable} from a checkpoint that loaded, '
          f'{kills - loadable} before the first checkpoint), 0 corrupt checkpoints')
    if kills < 50:
        fail('kill', f'only {kills} kills happened before the run finished; make it longer')
    if open(part, 'rb').read() != open(full, 'rb').read():
        fail('kill', 'the resumed model differs from the uninterrupted run')


GROUPS = {
    'kill': group_kill,
    'resume': group_resume,
    'usage': group_usage,
    'no-platform': group_no_platform,
    'errors': group_errors,
    'train': group_train,
    'bench': group_bench,
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--binary', default=os.environ.get('CLNN_BINARY'))
    parser.add_argument('group', choices=sorted(GROUPS))
    args = parser.parse_args()
    if not args.binary:
        parser.error('give --binary or set CLNN_BINARY')
    binary = os.path.abspath(args.binary)
    with tempfile.TemporaryDirectory(prefix='clnn-cli-') as tmp:
        GROUPS[args.group](binary, tmp)
    if failures:
        print(f'\n{len(failures)} failure(s):', file=sys.stderr)
        for f in failures:
            print('\n' + f, file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
