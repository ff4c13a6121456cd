#!/usr/bin/env python3
"""End-to-end checks of the clnn command-line tool: exit statuses and messages.

Usage: test_cli.py [--binary PATH] [--wrapper CMD] [--without-clblast] GROUP,
GROUP one of usage, no-platform, errors, train, resume, bench, metrics, plot
(plot-without-cairo in a build without cairo), eval-classes, tune, data,
regression. PATH
defaults to $CLNN_BINARY. The train group requires a test
accuracy of at least 0.8 after two short epochs on a separable pattern, and
that `clnn eval` of the saved model prints the same accuracy and loss. Groups that need an OpenCL
device exit 77 (skip) without one, or fail when CLNN_TEST_REQUIRE_DEVICE=1.
CMD runs the binary (e.g. wine for a Windows clnn.exe); --without-clblast
tells that the build has no CLBlast (meson -Dclblast=disabled, Windows), so
--gemm clblast must fail.
"""
import argparse
import gzip
import json
import math
import os
import random
import re
import shlex
import signal
import struct
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree

SKIP = 77
TIMEOUT = 300

failures = []
# Whether the build has CLBlast (see --without-clblast).
have_clblast = True


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
    """binary, as every group's: the command that runs clnn (its path, after
    the --wrapper words)."""
    full_env = dict(os.environ)
    full_env.pop('CLNN_VERBOSE', None)
    if env:
        full_env.update(env)
    proc = subprocess.run(binary + args, capture_output=True, text=True, env=full_env,
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


def local_path(path):
    """A path clnn printed, as this script opens it: a Windows clnn joins
    paths with backslashes, which this script's own paths never contain."""
    return path.replace('\\', '/')


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
    if not re.search(r'/nonexistent[/\\]\S*(train|t10k)', r.err):  # / or Windows's \
        fail('train --data /nonexistent', f'message does not name the missing file: {r.err!r}')
    missing = os.path.join(tmp, 'missing.safetensors')
    check(binary, ['eval', missing], 1, stderr=['clnn: error: ', missing])
    check(binary, ['train', '--save', os.path.join(tmp, 'no-such-dir', 'm.safetensors')], 1,
          stderr=['clnn: error: ', 'no-such-dir', '--save'])


def group_no_platform(binary, tmp):
    """ocl-icd reads OCL_ICD_VENDORS instead of /etc/OpenCL/vendors, so an
    empty folder makes the machine look like one without any OpenCL driver.
    Under Wine, WINEDLLOVERRIDES=opencl=d also takes away Wine's OpenCL.dll:
    a Windows machine without any OpenCL driver at all."""
    write_dataset(tmp)
    vendors = os.path.join(tmp, 'vendors')
    os.mkdir(vendors)
    cases = [('no OpenCL platform', {'OCL_ICD_VENDORS': vendors})]
    if os.path.basename(binary[0]) == 'wine':
        cases.append(('no OpenCL.dll', {'WINEDLLOVERRIDES': 'opencl=d'}))
    for what, env in cases:
        for args in (['devices'], ['train', '--data', tmp]):
            label = f"{' '.join(args)} ({what})"
            r = check(binary, args, 1, stderr=['clnn: error: '], env=env, name=label)
            low = r.err.lower()
            if 'install' not in low or not ('icd' in low or 'driver' in low):
                fail(label, f'message does not say to install an OpenCL driver/ICD: {r.err!r}')


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

    # The library names its calls; the tool adds its own options.
    check(binary, ['train', '--data', os.path.join(tmp, 'nowhere'), '--quiet'], 1,
          stderr=['clnn: error: ', 'give the folder', '(--data DIR names the folder)'])
    nospec = os.path.join(tmp, 'nospec.safetensors')
    header = json.dumps({'__metadata__': {'format': 'pt'},
                         'w': {'dtype': 'F32', 'shape': [1], 'data_offsets': [0, 4]}}).encode()
    with open(nospec, 'wb') as f:
        f.write(struct.pack('<Q', len(header)) + header + b'\0' * 4)
    check(binary, ['eval', '--data', tmp, nospec], 1,
          stderr=['clnn: error: ', 'no clnn.spec metadata', 'clnn.in_features'])
    small = base + ['--layers', 'dense:16,relu,dense:10', '--no-tune']
    model = os.path.join(tmp, 'small.safetensors')
    check(binary, small + ['--save', model, '--metadata', 'classes=a,b,c', '--metadata',
                           'note=x=y'], 0)
    raw = open(model, 'rb').read()
    meta = json.loads(raw[8:8 + struct.unpack('<Q', raw[:8])[0]])['__metadata__']
    if meta.get('classes') != 'a,b,c' or meta.get('note') != 'x=y':
        fail('train --metadata', f'the saved metadata is {meta}')
    check(binary, small + ['--resume', model], 1,
          stderr=['clnn: error: ', 'not a checkpoint', "give it to --init instead of --resume"])
    check(binary, small + ['--metadata', 'clnn.spec=x'], 1,
          stderr=['clnn: error: ', 'reserved', '(--metadata clnn.spec=x)'])
    check(binary, small + ['--metadata', 'novalue'], 2, stderr=['KEY=VALUE'])


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

    # The training set in device memory (the default) and batches sent from
    # the host train the same model, bit for bit.
    on_device = os.path.join(tmp, 'on-device.safetensors')
    from_host = os.path.join(tmp, 'from-host.safetensors')
    for path, extra in ((on_device, []), (from_host, ['--host-batches'])):
        check(binary, ['train', '--data', tmp, '--limit', '300', '--batch-size', '32',
                       '--epochs', '2', '--quiet', '--save', path] + extra, 0)
    if open(on_device, 'rb').read() != open(from_host, 'rb').read():
        fail('train --host-batches', 'the model differs from one trained on device-held data')
    # When the training set cannot be placed on the device, training goes on
    # from host batches and says so; any other failed allocation is an error
    # that names it. Each run fails the n-th device allocation.
    small = ['train', '--data', tmp, '--limit', '300', '--layers', 'dense:16,relu,dense:10',
             '--no-tune']
    fell_back = 0
    for n in range(1, 25):
        r = run(binary, small, env={'CLNN_FAULT_INJECT': f'clCreateBuffer:{n}'})
        if r.rc == 0:  # a note if it hit the data's buffers; else past the last one
            fell_back += 'note: training from host batches' in r.err
        elif r.rc != 1 or 'clCreateBuffer' not in r.err:
            fail('train, failed allocation', f'allocation {n}: {r.describe()}')
    if fell_back == 0:
        fail('train, failed allocation', 'no failed allocation made training use host batches')

    # A diverging run must stop with exit 1 and leave the earlier model alone.
    # Depending on how the numbers blow up, the tool sees a non-finite loss or
    # the library refuses to save non-finite weights; both must say why.
    before = open(model, 'rb').read()
    check(binary, ['train', '--data', tmp, '--limit', '200', '--lr', '1e20', '--momentum', '0',
                   '--epochs', '3', '--save', model], 1,
          stderr=['clnn: error: ', 'diverged', 'lower the learning rate', '--lr'])
    if open(model, 'rb').read() != before:
        fail('divergence', f'{model} was changed by a diverging run')


def tensor_bytes(path, name):
    """Raw bytes of one tensor of a safetensors file."""
    raw = open(path, 'rb').read()
    n = struct.unpack('<Q', raw[:8])[0]
    begin, end = json.loads(raw[8:8 + n])[name]['data_offsets']
    return raw[8 + n + begin:8 + n + end]


def killed_and_resumed(binary, tmp, common, label, rng_seed=11):
    """Run clnn train (common args) uninterrupted, then again with a
    checkpoint every 7 steps, SIGKILLed after new checkpoints and resumed
    (up to 6 times): the two must save the same model file, bit for bit.
    Returns the uninterrupted run's model."""
    full = os.path.join(tmp, f'{label}-full.safetensors')
    check(binary, common + ['--save', full], 0, stdout=['epoch 20/20'])
    part = os.path.join(tmp, f'{label}-part.safetensors')
    ckpt = part + '.ckpt'
    args = common + ['--save', part, '--checkpoint-every', '7']
    rng = random.Random(rng_seed)
    kills = 0
    for attempt in range(6):
        proc = subprocess.Popen(binary + args, stdout=subprocess.DEVNULL,
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
        fail(label, 'the run finished before it could be killed; nothing was tested')
    if open(part, 'rb').read() != open(full, 'rb').read():
        fail(label, f'after {kills} kills and resumes the model differs from an uninterrupted run')
    return full


def group_resume(binary, tmp):
    """A run killed at arbitrary points and resumed from its last checkpoint
    ends with the same model file, bit for bit, as an uninterrupted run; with
    dropout too, whose masks a resumed run must draw as the uninterrupted one
    did, and where one seed must give one model."""
    require_device(binary)
    write_dataset(tmp)
    # Long enough (750 steps) that a kill lands before the end on a fast device.
    common = ['train', '--data', tmp, '--batch-size', '16', '--epochs', '20', '--seed', '5',
              '--layers', 'dense:64,bn,relu,dense:10', '--quiet']
    full = killed_and_resumed(binary, tmp, common, 'resume')
    def dropout_run(seed):
        return ['train', '--data', tmp, '--batch-size', '16', '--epochs', '20', '--seed', seed,
                '--layers', 'dense:64,bn,relu,dropout:0.3,dense:32,dropout:0.2,dense:10', '--quiet']
    drop = dropout_run('6')
    drop_full = killed_and_resumed(binary, tmp, drop, 'resume dropout', rng_seed=12)
    again = os.path.join(tmp, 'dropout-again.safetensors')
    check(binary, drop + ['--save', again], 0)
    if open(again, 'rb').read() != open(drop_full, 'rb').read():
        fail('dropout seed', 'two runs with one seed saved different models')
    other = os.path.join(tmp, 'dropout-other.safetensors')
    check(binary, dropout_run('7') + ['--save', other], 0)
    if tensor_bytes(other, '4.weight') == tensor_bytes(drop_full, '4.weight'):
        fail('dropout seed', 'another seed saved the same model')

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
              'optimizer', 'data_rows_on_device', 'cold', 'startup', 'peak', 'batches']
BENCH_BATCH_KEYS = ['batch', 'steps', 'rounds', 'seconds', 'samples_per_s',
                    'samples_per_s_median', 'step_us', 'profiled_steps', 'device_us',
                    'overhead_us', 'overhead_pct', 'kernels', 'parts']
BENCH_KERNEL_KEYS = ['scope', 'kernel', 'kind', 'launches_per_step', 'us_per_step', 'gap_us',
                     'pct_step',
                     'gflops', 'gbps', 'pct_peak', 'copy_gbps', 'pct_copy', 'best_us',
                     'pct_copy_best', 'alone_us', 'pct_copy_alone']


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
        if not (doc['peak'] and all(doc['peak'].get(k, 0) > 0 for k in
                                    ('gflops', 'gbps', 'launch_us', 'launch_wait_us'))):
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
        for k in ('seconds', 'samples_per_s', 'samples_per_s_median', 'step_us', 'device_us'):
            if not b[k] > 0:
                problems.append(f"batch {b['batch']}: {k} = {b[k]!r}, not positive")
        # Three steps make three rounds of one; the best round is never
        # slower than the median.
        if b['rounds'] != 3 or b['samples_per_s'] < b['samples_per_s_median']:
            problems.append(f"batch {b['batch']}: {b['rounds']} rounds, best "
                            f"{b['samples_per_s']} below median {b['samples_per_s_median']}")
        for k in b['kernels']:
            problems += [f'kernel lacks {key!r}' for key in BENCH_KERNEL_KEYS if key not in k]
            if not (k['us_per_step'] > 0 and k['launches_per_step'] > 0 and k['gap_us'] >= 0):
                problems.append(f"{k['scope']}/{k['kernel']}: no time or launches, or a "
                                f"negative idle time")
            # The fastest launch is no slower than the average one.
            elif not 0 < k['best_us'] <= k['us_per_step'] / k['launches_per_step'] * (1 + 1e-9):
                problems.append(f"{k['scope']}/{k['kernel']}: fastest launch {k['best_us']} µs "
                                f"against {k['us_per_step']} µs per step")
        if not any(k['kind'] == 'compute' and k['gflops'] > 0 and k['scope'].startswith('layer 0 ')
                   for k in b['kernels']):
            problems.append(f"batch {b['batch']}: no GEMM with GFLOP/s in layer 0")
        # Which elementwise kernels run depends on what the layers fuse, so
        # any memory-bound kernel that moved bytes will do.
        memory = [k for k in b['kernels'] if k['kind'] == 'memory' and (k['gbps'] or 0) > 0]
        if not memory:
            problems.append(f"batch {b['batch']}: no memory-bound kernel with GB/s")
        for k in memory:
            if probe and not ((k['copy_gbps'] or 0) > 0 and
                              0 < (k['pct_copy'] or 0) <= (k['pct_copy_best'] or 0) and
                              (k['alone_us'] or 0) > 0 and (k['pct_copy_alone'] or 0) > 0):
                problems.append(f"{k['scope']}/{k['kernel']} lacks its same-size copy figures")
            elif not probe and any(k[key] is not None for key in
                                   ('pct_copy', 'pct_copy_best', 'alone_us', 'pct_copy_alone')):
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
                  '--rows', '--host-batches', '64,256,1024'])
    bad_values = [
        ['--batch-sizes', ''], ['--batch-sizes', '0'], ['--batch-sizes', '64,'],
        ['--batch-sizes', ',64'], ['--batch-sizes', '64,x'], ['--batch-sizes', '-8'],
        ['--batch-sizes', '99999999'], ['--batch-sizes', ','.join(['8'] * 17)],
        ['--steps', '0'], ['--steps', 'x'], ['--seconds', '0'], ['--seconds', '-1'],
        ['--seconds', 'nan'], ['--optimizer', 'rmsprop'], ['--gemm', 'fast'],
        ['--features', '0'], ['--seed', '-1'], ['--rows', '0'], ['--rows', 'x'],
    ]
    for opt, value in bad_values:
        check(binary, ['bench', opt, value], 2,
              stderr=[opt, f"'{value}'", "Try 'clnn bench --help'."])
    check(binary, ['bench', '--steps', '3', '--seconds', '1'], 2,
          stderr=['--steps', '--seconds'])
    check(binary, ['bench', '--frob'], 2, stderr=["'--frob'", "Try 'clnn bench --help'."])
    check(binary, ['bench', '--json=1'], 2, stderr=["'--json' does not take a value"])
    check(binary, ['bench', 'extra'], 2, stderr=["unexpected argument 'extra'"])
    check(binary, ['bench', '--rows', '100', '--batch-sizes', '64,256'], 2,
          stderr=['batch size 256 is larger than --rows 100'])

    require_device(binary)
    tiny = ['bench', '--batch-sizes', '8,16', '--steps', '3', '--layers',
            'dense:16,bn,relu,dense:4', '--rows', '100']
    r = check(binary, tiny + ['--json'], 0, name='bench --json')
    doc = bench_json('bench --json', r)
    if doc is not None:
        check_bench_report('bench --json', doc, probe=True)
        if doc['data_rows_on_device'] != 100:
            fail('bench --json', f"data_rows_on_device {doc['data_rows_on_device']!r}, not 100")
    r = check(binary, tiny + ['--json', '--no-probe', '--host-batches'], 0,
              name='bench --json --host-batches')
    doc = bench_json('bench --host-batches', r)
    if doc is not None:
        check_bench_report('bench --host-batches', doc, probe=False)
        if doc['data_rows_on_device'] != 0:
            fail('bench --host-batches',
                 f"data_rows_on_device {doc['data_rows_on_device']!r}, not 0")
    gemm = 'clblast' if have_clblast else 'own'
    r = check(binary, tiny + ['--json', '--no-probe', '--optimizer', 'adam', '--gemm', gemm],
              0, name='bench --json --no-probe (adam)')
    doc = bench_json('bench --no-probe', r)
    if doc is not None:
        check_bench_report('bench --no-probe', doc, probe=False)
        if doc['optimizer'] != 'adam' or doc['gemm'] != gemm:
            fail('bench --no-probe', f"optimizer {doc['optimizer']!r}, gemm {doc['gemm']!r}")
    if not have_clblast:
        check(binary, tiny + ['--no-probe', '--gemm', 'clblast'], 1,
              stderr=['clnn: error: ', 'CLBlast is not available', 'built without it'])
    check(binary, tiny, 0, name='bench (tables)',
          stdout=['device ', 'start-up ', 'first-step latency', 'peak ', 'GFLOP/s', 'batch 8: ',
                  'batch 16: ', 'samples/s', 'launch overhead',
                  'SCOPE', 'KERNEL', 'LAUNCHES', 'µs/STEP', '%STEP', 'GB/s', '%PEAK', '%COPY',
                  'layer 0 dense forward', 'PART', 'FORWARD µs', 'BACKWARD µs', 'optimizer'])
    # A batch BatchNorm cannot train on, and a layer spec the library rejects.
    check(binary, ['bench', '--batch-sizes', '1', '--steps', '1', '--no-probe', '--rows', '100'],
          1, stderr=['clnn: error: ', 'BatchNorm'])
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
    fresh = args
    while kills < 50:
        if os.path.exists(part):
            # A fast machine finished before 50 kills: check this run against
            # the uninterrupted one, then start another from scratch.
            if open(part, 'rb').read() != open(full, 'rb').read():
                fail('kill', 'a resumed model differs from the uninterrupted run')
                return
            os.remove(part)
            os.remove(ckpt)
            args = fresh
        err_path = os.path.join(tmp, 'run.err')
        with open(err_path, 'w') as err:
            proc = subprocess.Popen(binary + args, stdout=subprocess.DEVNULL, stderr=err)
        time.sleep(rng.uniform(0.1, 0.6))
        if proc.poll() is not None:
            if proc.returncode != 0:
                with open(err_path) as err:
                    fail('kill', f'a run exited with status {proc.returncode} by itself after '
                                 f'{kills} kills: $ clnn {" ".join(args)}\n{err.read()}')
                return
            continue  # finished by itself: compared at the top of the loop
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
    if open(part, 'rb').read() != open(full, 'rb').read():
        fail('kill', 'the resumed model differs from the uninterrupted run')


METRICS_FIELDS = ['kind', 'epoch', 'step', 'train_loss', 'train_acc', 'test_loss', 'test_acc',
                  'samples_per_s', 'lr', 'time_s']

# Learning rates PyTorch 1.13 gives epoch by epoch (the optimizer's lr before
# each scheduler.step()), from
#   opt = torch.optim.SGD([p], lr=BASE)
#   sched = torch.optim.lr_scheduler.StepLR(opt, 2, 0.5)          # step:2:0.5, BASE 0.05
#   sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, 4, 0.001)  # cosine:4:0.001, BASE 0.1
# The cosine's 7th value is PyTorch's recursive form, past T_MAX, rising again.
TORCH_STEP_LR = [0.05, 0.05, 0.025, 0.025, 0.0125]
TORCH_COSINE_LR = [0.1, 0.0855017856687341, 0.0505, 0.0154982143312659, 0.001,
                   0.015498214331265896, 0.05050000000000001]


def read_jsonl(label, path):
    records = []
    try:
        with open(path) as f:
            for line in f:
                records.append(json.loads(line))
    except (OSError, ValueError) as e:
        fail(label, f'{path} line {len(records) + 1}: {e}')
        return []
    return records


def check_lrs(label, records, expected):
    got = [r['lr'] for r in records if r['kind'] == 'epoch']
    if len(got) != len(expected) or not all(
            math.isclose(g, e, rel_tol=1e-12, abs_tol=0) for g, e in zip(got, expected)):
        fail(label, f'learning rates per epoch {got}, PyTorch gives {expected}')


def strip_timing(records):
    return [{k: v for k, v in r.items() if k not in ('time_s', 'samples_per_s')}
            for r in records]


def group_metrics(binary, tmp):
    """--metrics files (JSON Lines and CSV), --metrics-every, --lr-schedule
    against PyTorch's schedulers, and both continued by --resume."""
    check(binary, ['train', '--help'], 0,
          stdout=['--metrics FILE', '--metrics-every N', '--lr-schedule', 'step:STEP[:GAMMA]',
                  'cosine[:T_MAX[:ETA_MIN]]', '(default none)'])
    for value in ['', 'linear', 'step', 'step:0', 'step:x', 'step:2:', 'step:2:-1',
                  'step:2:0.5:1', 'cosine:0', 'cosine:1.5', 'cosine:4:nan', 'cosine:4:-1',
                  'cosine:4:0:1', 'none:1']:
        check(binary, ['train', '--lr-schedule', value], 2,
              stderr=['--lr-schedule', f"'{value}'", "Try 'clnn train --help'."])
    check(binary, ['train', '--metrics-every', '5'], 2, stderr=['--metrics-every', '--metrics'])
    check(binary, ['train', '--metrics', 'm.jsonl', '--metrics-every', 'x'], 2,
          stderr=['--metrics-every', "'x'"])

    require_device(binary)
    write_dataset(tmp)
    # 200 samples in batches of 20: 10 steps per epoch, none skipped.
    small = ['train', '--data', tmp, '--limit', '200', '--batch-size', '20', '--seed', '4',
             '--layers', 'dense:32,bn,relu,dense:10', '--quiet']
    check(binary, small + ['--metrics', os.path.join(tmp, 'no-such-dir', 'm.jsonl')], 1,
          stderr=['clnn: error: ', 'no-such-dir'])

    jsonl = os.path.join(tmp, 'm.jsonl')
    r = check(binary, small + ['--epochs', '5', '--lr', '0.05', '--lr-schedule', 'step:2:0.5',
                               '--metrics', jsonl, '--metrics-every', '4'], 0,
              stdout=['epoch 5/5', 'lr 0.0125'])
    records = read_jsonl('metrics jsonl', jsonl)
    epochs = [x for x in records if x.get('kind') == 'epoch']
    steps = [x for x in records if x.get('kind') == 'step']
    problems = [f'record {i + 1} has keys {sorted(x)}' for i, x in enumerate(records)
                if sorted(x) != sorted(METRICS_FIELDS)]
    if [x['epoch'] for x in epochs] != [1, 2, 3, 4, 5] or \
            [x['step'] for x in epochs] != [10, 20, 30, 40, 50]:
        problems.append(f'epoch records at {[(x["epoch"], x["step"]) for x in epochs]}')
    if [x['step'] for x in steps] != list(range(4, 51, 4)) or \
            [x['epoch'] for x in steps] != [(s - 1) // 10 + 1 for s in range(4, 51, 4)]:
        problems.append(f'step records at {[(x["epoch"], x["step"]) for x in steps]}')
    for x in epochs:
        if not (x['train_loss'] > 0 and x['test_loss'] > 0 and 0 <= x['test_acc'] <= 1 and
                0 <= x['train_acc'] <= 1 and x['samples_per_s'] > 0 and x['time_s'] > 0):
            problems.append(f'implausible epoch record {x}')
    for x in steps:
        if x['test_loss'] is not None or x['test_acc'] is not None or not x['train_loss'] > 0:
            problems.append(f'step record {x} should have training figures only')
    times = [x['time_s'] for x in records]
    if times != sorted(times):
        problems.append(f'time_s goes backwards: {times}')
    printed = [float(v) for v in re.findall(r'test acc ([0-9.]+)', r.out)]
    if [round(x['test_acc'], 4) for x in epochs] != printed:
        problems.append(f'test_acc {[x["test_acc"] for x in epochs]} but printed {printed}')
    if problems:
        fail('metrics jsonl', '; '.join(problems))
    check_lrs('lr-schedule step:2:0.5', records, TORCH_STEP_LR)
    if [x['lr'] for x in steps] != [TORCH_STEP_LR[x['epoch'] - 1] for x in steps]:
        fail('lr-schedule step:2:0.5', 'step records do not carry their epoch\'s learning rate')

    csv = os.path.join(tmp, 'm.csv')
    check(binary, small + ['--epochs', '7', '--lr', '0.1', '--lr-schedule', 'cosine:4:0.001',
                           '--metrics', csv], 0, stdout=['epoch 7/7'])
    lines = open(csv).read().splitlines()
    if lines[0] != ','.join(METRICS_FIELDS) or len(lines) != 8 or \
            any(len(line.split(',')) != len(METRICS_FIELDS) for line in lines):
        fail('metrics csv', f'expected the header and 7 rows of {len(METRICS_FIELDS)} fields, got '
                            f'{lines!r}')
    else:
        rows = [dict(zip(METRICS_FIELDS, line.split(','))) for line in lines[1:]]
        check_lrs('lr-schedule cosine:4:0.001',
                  [{'kind': x['kind'], 'lr': float(x['lr'])} for x in rows], TORCH_COSINE_LR)
        if [x['kind'] for x in rows] != ['epoch'] * 7:
            fail('metrics csv', f'kinds {[x["kind"] for x in rows]}')
    # A cosine's T_MAX defaults to --epochs: the last epoch ends at ETA_MIN's neighbour.
    check(binary, small + ['--epochs', '3', '--lr', '0.1', '--lr-schedule', 'cosine',
                           '--metrics', jsonl], 0)
    check_lrs('lr-schedule cosine', read_jsonl('metrics cosine', jsonl), [0.1, 0.075, 0.025])

    # --resume continues the schedule and the metrics file. An uninterrupted
    # run and one stopped after 2 of 4 epochs and resumed end with the same
    # model and the same records; records after the checkpoint (left by a
    # killed run, the last one torn) are replaced.
    sched = ['--lr', '0.05', '--lr-schedule', 'step:1:0.5', '--metrics-every', '3']
    full, part = os.path.join(tmp, 'full.safetensors'), os.path.join(tmp, 'part.safetensors')
    full_m, part_m = os.path.join(tmp, 'full.jsonl'), os.path.join(tmp, 'part.jsonl')
    ckpt = os.path.join(tmp, 'part.ckpt')
    check(binary, small + sched + ['--epochs', '4', '--metrics', full_m, '--save', full], 0)
    check(binary, small + sched + ['--epochs', '2', '--metrics', part_m, '--checkpoint', ckpt,
                                   '--checkpoint-every', '1000'], 0)
    with open(part_m, 'a') as f:
        f.write('{"kind":"step","epoch":3,"step":27,"train_loss":9,"train_acc":0,"test_loss":null,'
                '"test_acc":null,"samples_per_s":1,"lr":1,"time_s":1}\n{"kind":"step","ep')
    check(binary, small + ['--epochs', '4', '--metrics', part_m, '--metrics-every', '3',
                           '--save', part, '--resume', ckpt], 0, stdout=['epoch 4/4', 'lr 0.00625'])
    if open(part, 'rb').read() != open(full, 'rb').read():
        fail('resume schedule', 'the resumed model differs from the uninterrupted run')
    a, b = read_jsonl('resume metrics', full_m), read_jsonl('resume metrics', part_m)
    if strip_timing(a) != strip_timing(b):
        fail('resume metrics', f'records differ:\n{a}\n{b}')
    check_lrs('resume schedule', b, [0.05, 0.025, 0.0125, 0.00625])
    check(binary, small + ['--epochs', '4', '--lr-schedule', 'cosine', '--resume', ckpt], 1,
          stderr=['clnn: error: ', '--lr-schedule step:1:0.5', 'cosine:4:0'])


def png_size(data):
    """Width and height from a PNG's IHDR, or None when it is not a PNG."""
    if data[:8] != b'\x89PNG\r\n\x1a\n' or data[12:16] != b'IHDR':
        return None
    return struct.unpack('>II', data[16:24])


def group_plot(binary, tmp, have_cairo):
    """clnn plot on metrics files written here (no device needed): PNG and
    SVG pictures, and its errors."""
    check(binary, ['plot', '--help'], 0,
          stdout=['clnn plot FILE', '--output', '--title', '.png', '.svg', '(required)'])
    check(binary, ['plot'], 2, stderr=['missing FILE', "Try 'clnn plot --help'."])
    check(binary, ['plot', 'm.jsonl'], 2, stderr=['missing -o'])
    check(binary, ['plot', 'm.jsonl', '-o', 'curves.jpg'], 2, stderr=["'curves.jpg'", '.png'])
    check(binary, ['plot', 'm.jsonl', '-o', 'png'], 2, stderr=["'png'"])
    check(binary, ['plot', 'a', 'b', '-o', 'c.png'], 2, stderr=["unexpected argument 'b'"])
    check(binary, ['plot', '--frob'], 2, stderr=["'--frob'"])

    jsonl = os.path.join(tmp, 'm.jsonl')
    with open(jsonl, 'w') as f:
        for e in range(1, 6):
            for s in (3, 6, 9):
                f.write(json.dumps({'kind': 'step', 'epoch': e, 'step': (e - 1) * 10 + s,
                                    'train_loss': 2.0 / (e + s / 10), 'train_acc': 0.5,
                                    'test_loss': None, 'test_acc': None, 'samples_per_s': 100.0,
                                    'lr': 0.01, 'time_s': e + s / 10}) + '\n')
            f.write(json.dumps({'kind': 'epoch', 'epoch': e, 'step': e * 10,
                                'train_loss': 2.0 / (e + 1), 'train_acc': 0.5 + e / 20,
                                'test_loss': 2.2 / (e + 1), 'test_acc': 0.6 + e / 25,
                                'samples_per_s': 100.0, 'lr': 0.01, 'time_s': e + 1.0}) + '\n')
    csv = os.path.join(tmp, 'm.csv')
    with open(csv, 'w') as f:
        f.write(','.join(METRICS_FIELDS) + '\n')
        f.write('epoch,1,10,0.9,0.7,0.8,0.72,100.0,0.01,1.5\n')
        f.write('epoch,2,20,0.6,0.8,0.7,0.78,100.0,0.005,3.0\n')
    png, svg = os.path.join(tmp, 'curves.png'), os.path.join(tmp, 'curves.svg')
    if not have_cairo:
        check(binary, ['plot', jsonl, '-o', png], 1,
              stderr=['clnn: error: ', 'cairo', 'libcairo2-dev', '-Dplot=enabled'])
        return
    check(binary, ['plot', jsonl, '-o', png], 0, stdout=['wrote ', 'curves.png'])
    data = open(png, 'rb').read() if os.path.exists(png) else b''
    if png_size(data) != (960, 400):
        fail('plot png', f'not a 960x400 PNG: {data[:24]!r}')
    check(binary, ['plot', csv, '-o', svg, '--title', 'CSV & <title>'], 0)
    try:
        root = xml.etree.ElementTree.parse(svg).getroot()
        if root.tag != '{http://www.w3.org/2000/svg}svg' or root.get('viewBox') != '0 0 960 400':
            fail('plot svg', f'root element {root.tag} viewBox {root.get("viewBox")}')
    except (OSError, xml.etree.ElementTree.ParseError) as e:
        fail('plot svg', f'not well-formed XML: {e}')
    # Only step records so far (a run in its first epoch): steps on the x axis.
    steps_only = os.path.join(tmp, 'steps.jsonl')
    with open(steps_only, 'w') as f:
        f.write(open(jsonl).readline())
    check(binary, ['plot', steps_only, '-o', png], 0)
    # Errors: nothing written, the cause named.
    check(binary, ['plot', os.path.join(tmp, 'missing.jsonl'), '-o', png], 1,
          stderr=['clnn: error: ', 'missing.jsonl'])
    bad = os.path.join(tmp, 'bad.jsonl')
    with open(bad, 'w') as f:
        f.write(open(jsonl).readline() + '{"kind":"epoch","epoch":1,"step":"x"}\n')
    check(binary, ['plot', bad, '-o', png], 1, stderr=['clnn: error: ', 'bad.jsonl:2:', '"step"'])
    with open(bad, 'w') as f:
        f.write('not json\n')
    check(binary, ['plot', bad, '-o', png], 1, stderr=['bad.jsonl:1:'])
    bad_csv = os.path.join(tmp, 'bad.csv')
    with open(bad_csv, 'w') as f:
        f.write('a,b,c\n1,2,3\n')
    check(binary, ['plot', bad_csv, '-o', png], 1, stderr=['bad.csv:1:', 'header'])
    empty = os.path.join(tmp, 'empty.jsonl')
    open(empty, 'w').close()
    check(binary, ['plot', empty, '-o', png], 1, stderr=['no records'])
    check(binary, ['plot', jsonl, '-o', os.path.join(tmp, 'no-such-dir', 'c.png')], 1,
          stderr=['clnn: error: ', 'no-such-dir'])


def group_plot_with_cairo(binary, tmp):
    group_plot(binary, tmp, True)


def group_plot_without_cairo(binary, tmp):
    group_plot(binary, tmp, False)


FASHION_MNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt',
                         'Sneaker', 'Bag', 'Ankle boot']


def group_eval_classes(binary, tmp):
    """clnn eval's per-class accuracy and confusion matrix."""
    check(binary, ['eval', '--help'], 0, stdout=['--class-names', 'confusion matrix'])
    require_device(binary)
    write_dataset(tmp)
    model = os.path.join(tmp, 'model.safetensors')
    check(binary, ['train', '--data', tmp, '--epochs', '2', '--batch-size', '32', '--quiet',
                   '--save', model], 0)
    r = check(binary, ['eval', model, '--data', tmp], 0,
              stdout=['per-class accuracy', 'confusion matrix', 'true \\ predicted'])
    lines = r.out.splitlines()
    try:
        start = lines.index('confusion matrix (rows: true class, columns: predicted class):')
        header, rows = lines[start + 1], lines[start + 2:start + 12]
        if header.split()[3:] != ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat',
                                  'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle', 'boot']:
            fail('eval matrix', f'header {header!r}')
        counts = []
        for name, row in zip(FASHION_MNIST_CLASSES, rows):
            if not row.strip().startswith(name):
                fail('eval matrix', f'row {row!r} does not start with {name!r}')
            counts.append([int(v) for v in row.split()[len(name.split()):]])
        # The pattern test set holds 20 samples of each class.
        if [sum(c) for c in counts] != [20] * 10:
            fail('eval matrix', f'row sums {[sum(c) for c in counts]}, expected 20 each')
        correct = sum(counts[i][i] for i in range(10))
        acc = last_metric(r.out, 'test acc')
        if acc is None or abs(correct / 200 - float(acc)) > 1e-4:
            fail('eval matrix', f'diagonal {correct}/200 against test acc {acc}')
        for i, name in enumerate(FASHION_MNIST_CLASSES):
            if not re.search(rf'^  {re.escape(name)} +[0-9.]+  {counts[i][i]}/20$', r.out, re.M):
                fail('eval per-class', f'no line for {name} with {counts[i][i]}/20')
    except (ValueError, IndexError) as e:
        fail('eval matrix', f'cannot read the matrix ({e}):\n{r.out}')
    r = check(binary, ['eval', model, '--data', tmp, '--class-names', 'index'], 0)
    if not re.search(r'true \\ predicted +0 +1 +2 +3 +4 +5 +6 +7 +8 +9$', r.out, re.M):
        fail('eval --class-names index', f'no numbered header in {r.out!r}')
    names = ','.join(f'c{i}' for i in range(10))
    check(binary, ['eval', model, '--data', tmp, '--class-names', names], 0,
          stdout=['  c9 '])
    check(binary, ['eval', model, '--data', tmp, '--class-names', 'a,b'], 1,
          stderr=['clnn: error: ', '--class-names', '2 names', '10 classes'])


def tune_json(label, r):
    try:
        return json.loads(r.out)
    except ValueError as e:
        fail(label, f'stdout is not one JSON object: {e}\n{r.describe()}')
        return None


def group_tune(binary, tmp):
    """clnn tune: usage errors, --json output, the tuning file it writes into
    CLNN_CACHE_DIR, and clnn train's quick autotune of an untuned device."""
    check(binary, ['help'], 0, stdout=['tune'])
    check(binary, ['tune', '--help'], 0,
          stdout=['clnn tune', '--layers', '--features', '--batch-sizes', '--quick', '--device',
                  '--json', '64,256,1024', 'CLNN_CACHE_DIR', 'CLNN_TUNING'])
    check(binary, ['train', '--help'], 0, stdout=['--no-tune', 'CLNN_AUTOTUNE'])
    bad_values = [['--batch-sizes', ''], ['--batch-sizes', '0'], ['--batch-sizes', '8,'],
                  ['--batch-sizes', 'x'], ['--batch-sizes', ','.join(['8'] * 17)],
                  ['--features', '0'], ['--features', '-3']]
    for opt, value in bad_values:
        check(binary, ['tune', opt, value], 2,
              stderr=[opt, f"'{value}'", "Try 'clnn tune --help'."])
    check(binary, ['tune', '--frob'], 2, stderr=["'--frob'", "Try 'clnn tune --help'."])
    check(binary, ['tune', '--json=1'], 2, stderr=["'--json' does not take a value"])
    check(binary, ['tune', 'extra'], 2, stderr=["unexpected argument 'extra'"])

    require_device(binary)
    cache = os.path.join(tmp, 'cache')
    env = {'CLNN_CACHE_DIR': cache}
    tiny = ['tune', '--quick', '--layers', 'dense:16,relu,dense:4', '--features', '20',
            '--batch-sizes', '8,12']
    r = check(binary, tiny + ['--json'], 0, env=env, name='tune --quick --json')
    doc = tune_json('tune --json', r)
    if doc is not None:
        missing = [k for k in ('device', 'platform', 'driver', 'layers', 'features', 'batch_sizes',
                               'search', 'seconds', 'file', 'applied', 'clblast',
                               'default_backend', 'shapes') if k not in doc]
        # Per batch size: 2 forward, 2 weight-gradient and 1 input-gradient GEMM.
        if missing or len(doc['shapes']) != 10 or doc['search'] != 'quick':
            fail('tune --json', f'missing {missing}, {len(doc.get("shapes", []))} shapes, '
                                f'search {doc.get("search")!r}')
        for s in doc.get('shapes', []):
            if (s['chosen'] not in ('own', 'clblast') or not s['chosen_us'] or not s['gflops']
                    or s['candidates'] < 1 or s['m'] * s['n'] * s['k'] <= 0):
                fail('tune --json shape', repr(s))
        path = local_path(doc.get('file', ''))
        if not path.startswith(cache) or not os.path.exists(path):
            fail('tune file', f'{path!r} is not a file under {cache!r}')
        else:
            with open(path) as f:
                tuning = json.load(f)
            key = tuning.get('key', {})
            if (tuning.get('format') != 'clnn-tuning' or tuning.get('format_version') != 1
                    or key.get('device') != doc['device'] or 'driver' not in key
                    or 'clnn' not in key or len(tuning.get('shapes', [])) != 10):
                fail('tune file contents', json.dumps(tuning)[:2000])
    check(binary, tiny, 0, env=env, name='tune (table)',
          stdout=['device ', 'BATCH', 'DEFAULT', 'OWN', 'CLBLAST', 'CHOSEN', 'GFLOP/S', 'SPEEDUP',
                  'forward', 'grad_weight', 'grad_input', 'tuning file ' + cache])
    # Library failures: a bad layer spec, an unknown device, an unusable cache folder.
    check(binary, ['tune', '--quick', '--layers', 'dense:8,frob'], 1, env=env,
          stderr=['clnn: error: ', 'frob'])
    check(binary, ['tune', '--quick', '--device', 'zzz'], 1, env=env,
          stderr=['clnn: error: ', 'zzz'])
    not_a_dir = os.path.join(tmp, 'file')
    open(not_a_dir, 'w').close()
    check(binary, tiny, 1, env={'CLNN_CACHE_DIR': not_a_dir},
          stderr=['clnn: error: ', 'cache folder'])

    # clnn train tunes the shapes the device's file lacks, once; the test
    # environment sets CLNN_AUTOTUNE=0, so it is set to 1 here.
    write_dataset(tmp, n_train=64, n_test=20)
    train = ['train', '--data', tmp, '--layers', 'dense:16,relu,dense:10', '--batch-size', '16']
    auto = {'CLNN_CACHE_DIR': os.path.join(tmp, 'cache2'), 'CLNN_AUTOTUNE': '1'}
    r = check(binary, train, 0, env=auto, name='train autotunes',
              stdout=['tuned 5 matrix-multiply shapes', 'gemm tuned', 'epoch 1/1'])
    r = check(binary, train, 0, env=auto, name='train, tuned already',
              stdout=['gemm tuned', 'epoch 1/1'])
    if 'tuned 5' in r.out:
        fail('train, tuned already', 'tuned again\n' + r.describe())
    for extra, extra_env in ((['--no-tune'], {}), ([], {'CLNN_AUTOTUNE': '0'}),
                             (['--gemm', 'own'], {})):
        fresh = {'CLNN_CACHE_DIR': os.path.join(tmp, 'cache3'), 'CLNN_AUTOTUNE': '1'}
        fresh.update(extra_env)
        r = check(binary, train + extra, 0, env=fresh, name=f'train {extra} {extra_env}',
                  stdout=['epoch 1/1'])
        if 'matrix-multiply' in r.out or 'gemm tuned' in r.out:
            fail(f'train {extra} {extra_env}', 'autotuned\n' + r.describe())


# ------------------------------------------------------------ data files

TABLE_CLASSES = ['blue, dark', 'green', 'red']


def table_rows(n, seed):
    """n rows of 3 features on very different scales and a class name: the
    class decides which feature is large, so a small network separates
    them once the features are standardised."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        c = i % 3
        f = [rng.gauss(0, 1), rng.gauss(0, 1) * 1000, rng.gauss(0, 1) * 0.001]
        f[c] += 3.0 * (1 if c == 0 else 1000 if c == 1 else 0.001)
        rows.append((f, c))
    return rows


def write_table_csv(path, rows, columns=('x0', 'x1', 'x2'), label=True, crlf=False):
    order = {'x0': 0, 'x1': 1, 'x2': 2}
    end = '\r\n' if crlf else '\n'
    with open(path, 'w', newline='') as f:
        f.write(','.join(columns) + (',class' if label else '') + end)
        for x, c in rows:
            fields = ['%r' % x[order[col]] for col in columns]
            if label:
                fields.append('"%s"' % TABLE_CLASSES[c])
            f.write(','.join(fields) + end)


def npy_image(descr, shape, payload):
    header = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (
        descr, ', '.join(str(d) for d in shape) + (',' if len(shape) == 1 else ''))
    h = header.encode() + b' ' * ((-(10 + len(header) + 1)) % 64) + b'\n'
    return b'\x93NUMPY\x01\x00' + struct.pack('<H', len(h)) + h + payload


def write_table_npy(x_path, y_path, rows):
    with open(x_path, 'wb') as f:
        f.write(npy_image('>f8', [len(rows), 3],
                          b''.join(struct.pack('>3d', *x) for x, _ in rows)))
    with open(y_path, 'wb') as f:
        f.write(npy_image('<i8', [len(rows)], b''.join(struct.pack('<q', c) for _, c in rows)))


def read_npy_f4(path):
    with open(path, 'rb') as f:
        data = f.read()
    hlen = struct.unpack('<H', data[8:10])[0]
    header = data[10:10 + hlen].decode()
    shape = tuple(int(v) for v in re.search(r"'shape': \(([0-9, ]+)\)", header)[1].split(',')
                  if v.strip())
    if "'descr': '<f4'" not in header:
        return None, header
    values = struct.unpack('<%df' % (shape[0] * shape[1]), data[10 + hlen:])
    return shape, values


def model_metadata(path):
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        return json.loads(f.read(n))['__metadata__']


def group_data(binary, tmp):
    """clnn train, eval and predict on CSV, .npy and .npz files, with the
    preprocessing stored in the model."""
    check(binary, ['predict', '--help'], 0, stdout=['--input FILE', 'p_NAME'])
    check(binary, ['train', '--help'], 0, stdout=['--validation-split', '--standardize'])
    csv_path, test_path = os.path.join(tmp, 'train.csv'), os.path.join(tmp, 'test.csv')
    train_rows, test_rows = table_rows(300, 1), table_rows(90, 2)
    write_table_csv(csv_path, train_rows, crlf=True)
    write_table_csv(test_path, test_rows)
    model = os.path.join(tmp, 'table.safetensors')
    # Usage errors need no device.
    check(binary, ['train', '--data', csv_path], 2,
          stderr=['give the test split as --test-data FILE or hold one out with '
                  '--validation-split F'])
    check(binary, ['train', '--data', tmp, '--standardize'], 2,
          stderr=['--standardize applies to --data FILE'])
    check(binary, ['train', '--data', csv_path, '--validation-split', '1'], 2,
          stderr=['--validation-split takes a fraction below 1'])
    check(binary, ['predict', model], 2, stderr=['missing --input FILE'])
    require_device(binary)
    layers = ['--layers', 'dense:16,relu,dense:3', '--epochs', '20', '--batch-size', '16',
              '--lr', '0.05', '--no-tune']
    r = check(binary, ['train', '--data', csv_path, '--test-data', test_path, '--standardize',
                       '--save', model] + layers, 0, stdout=['train 300 samples  test 90 samples'])
    train_acc = last_metric(r.out, 'test acc')
    if train_acc is None or float(train_acc) < 0.9:
        fail('data train', f'test accuracy {train_acc} after 20 epochs of a separable table')

    # The description in the model's metadata, as PyTorch would read it.
    meta = model_metadata(model)
    if json.loads(meta.get('clnn.data.classes', 'null')) != TABLE_CLASSES or \
            json.loads(meta.get('clnn.data.features', 'null')) != ['x0', 'x1', 'x2'] or \
            meta.get('clnn.data.label') != 'class':
        fail('data metadata', f'{meta}')
    mean = json.loads(meta.get('clnn.data.mean', '[]'))
    std = json.loads(meta.get('clnn.data.std', '[]'))
    for j in range(3):
        col = [x[j] for x, _ in train_rows]
        m = sum(col) / len(col)
        sd = math.sqrt(sum((v - m) ** 2 for v in col) / len(col))
        if len(mean) != 3 or abs(mean[j] - m) > 1e-6 * max(1, abs(m)) or \
                abs(std[j] - sd) > 1e-6 * sd:
            fail('data metadata', f'feature {j}: stored {mean}, {std}; Python {m}, {sd}')

    # eval on the test file gives the last epoch's figures; predict agrees.
    r = check(binary, ['eval', model, '--data', test_path], 0,
              stdout=['per-class accuracy', 'blue, dark'])
    eval_acc = last_metric(r.out, 'test acc')
    if eval_acc != train_acc:
        fail('data eval', f'eval accuracy {eval_acc}, training reported {train_acc}')
    out_csv = os.path.join(tmp, 'pred.csv')
    r = check(binary, ['predict', model, '--input', test_path, '-o', out_csv], 0,
              stdout=['accuracy ' + str(eval_acc), 'wrote the predictions of 90 rows'])
    import csv as csv_module
    with open(out_csv, newline='') as f:
        table = list(csv_module.reader(f))
    if table[0] != ['predicted'] + ['p_' + c for c in TABLE_CLASSES] or len(table) != 91:
        fail('data predict', f'header {table[0]}, {len(table)} lines')
    else:
        correct = sum(row[0] == TABLE_CLASSES[c] for row, (_, c) in zip(table[1:], test_rows))
        if abs(correct / 90 - float(eval_acc)) > 1e-4:
            fail('data predict', f'{correct}/90 predicted classes right, eval says {eval_acc}')
        for row in table[1:]:
            p = [float(v) for v in row[1:]]
            if abs(sum(p) - 1) > 1e-5 or TABLE_CLASSES[p.index(max(p))] != row[0]:
                fail('data predict', f'row {row}')
                break
    # Columns in another order and no label column: the same predictions.
    shuffled = os.path.join(tmp, 'inputs.csv')
    write_table_csv(shuffled, test_rows, columns=('x2', 'x0', 'x1'), label=False)
    r = check(binary, ['predict', model, '--input', shuffled], 0)
    if list(csv_module.reader(r.out.splitlines())) != table:
        fail('data predict', 'other column order gave other predictions')
    # .npy of probabilities: the CSV's numbers.
    out_npy = os.path.join(tmp, 'pred.npy')
    check(binary, ['predict', model, '--input', test_path, '-o', out_npy, '-q'], 0)
    shape, values = read_npy_f4(out_npy)
    if shape != (90, 3) or any(abs(v - float(t)) > 1e-7
                               for v, t in zip(values, (x for row in table[1:] for x in row[1:]))):
        fail('data predict npy', f'shape {shape}')
    # A failing predict leaves an earlier output as it was, and no temporary file.
    bad = os.path.join(tmp, 'bad.csv')
    with open(bad, 'w') as f:
        f.write('x0,x1,x2\n1,2,3\n4,,6\n')
    before = open(out_csv, 'rb').read()
    check(binary, ['predict', model, '--input', bad, '-o', out_csv], 1,
          stderr=["bad.csv' line 3, column 2 ('x1'): the value is missing", '(--input '])
    if open(out_csv, 'rb').read() != before or os.path.exists(out_csv + '.tmp'):
        fail('data predict', 'a failed predict changed its -o file or left a .tmp')
    check(binary, ['predict', model, '--input', test_path, '-o',
                   os.path.join(tmp, 'no', 'such', 'p.csv')], 1, stderr=['cannot write'])
    check(binary, ['eval', model, '--data', shuffled], 1,
          stderr=["no column is named 'class' (the labels' column of like)"])

    # --validation-split: seeded, the same split and result twice.
    accs = []
    for _ in range(2):
        r = check(binary, ['train', '--data', csv_path, '--validation-split', '0.2',
                           '--standardize', '--seed', '5'] + layers, 0,
                  stdout=['train 240 samples  test 60 samples'])
        accs.append(last_metric(r.out, 'test acc'))
    if accs[0] != accs[1] or accs[0] is None:
        fail('data validation split', f'two seeded runs gave {accs}')

    # .npy features with --labels, the test split as .npy; .npz archives.
    x, y = os.path.join(tmp, 'x.npy'), os.path.join(tmp, 'y.npy')
    tx, ty = os.path.join(tmp, 'tx.npy'), os.path.join(tmp, 'ty.npy')
    write_table_npy(x, y, train_rows)
    write_table_npy(tx, ty, test_rows)
    npy_model = os.path.join(tmp, 'npy.safetensors')
    r = check(binary, ['train', '--data', x, '--labels', y, '--test-data', tx, '--test-labels', ty,
                       '--standardize', '--save', npy_model] + layers, 0)
    if last_metric(r.out, 'test acc') != train_acc:
        fail('data npy', f'.npy run: {last_metric(r.out, "test acc")}, CSV run {train_acc}')
    import zipfile
    for name, method in (('d.npz', zipfile.ZIP_DEFLATED), ('s.npz', zipfile.ZIP_STORED)):
        path = os.path.join(tmp, name)
        with zipfile.ZipFile(path, 'w', compression=method) as z:
            z.write(x, 'x.npy')
            z.write(y, 'y.npy')
        r = check(binary, ['train', '--data', path, '--test-data', path, '--standardize'] + layers,
                  0)
    check(binary, ['eval', npy_model, '--data', tx, '--labels', ty], 0,
          stdout=['test acc ' + str(train_acc)])
    check(binary, ['train', '--data', x, '--test-data', tx] + layers, 1,
          stderr=['holds features only: give the .npy file of their labels as labels_path',
                  '(--data '])
    check(binary, ['train', '--data', csv_path, '--test-data', test_path, '--layers', 'dense:2'],
          1, stderr=['the network ends with 2 outputs but the data has 3 classes'])


# ------------------------------------------------------------ regression

def regression_rows(n, seed):
    """n rows of (a, b) in [-1, 1]² and y = 2a − 3b + 0.5 + a·b: a known
    function a small network fits to a mean squared error far below y's
    variance (about 4.4)."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        a, b = rng.uniform(-1, 1), rng.uniform(-1, 1)
        rows.append((a, b, 2 * a - 3 * b + 0.5 + a * b))
    return rows


def write_regression_csv(path, rows):
    with open(path, 'w') as f:
        f.write('a,b,y\n')
        for a, b, y in rows:
            f.write('%r,%r,%r\n' % (a, b, y))


def model_outputs(path, inputs):
    """The saved model applied to inputs, by PyTorch (the model loaded with
    strict=True into its torch.nn.Sequential) where torch is installed, else
    by a float64 forward here of its dense and ReLU layers."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..',
                                    'tools'))
    try:
        import torch
        import clnn_torch
    except ImportError:
        torch = None
    if torch is not None:
        model = clnn_torch.load_model(path).eval()
        with torch.no_grad():
            out = model(torch.tensor(inputs, dtype=torch.float32))
        return [list(map(float, r)) for r in out], 'PyTorch'
    with open(path, 'rb') as f:
        raw = f.read()
    n = struct.unpack('<Q', raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    meta = header.pop('__metadata__')

    def tensor(name):
        e = header[name]
        lo, hi = e['data_offsets']
        return struct.unpack('<%df' % ((hi - lo) // 4), raw[8 + n + lo:8 + n + hi]), e['shape']
    rows = [list(r) for r in inputs]
    for i, layer in enumerate(meta['clnn.spec'].split(',')):
        if layer == 'relu':
            rows = [[max(v, 0.0) for v in r] for r in rows]
            continue
        (w, (out, inn)), (bias, _) = tensor('%d.weight' % i), tensor('%d.bias' % i)
        rows = [[bias[o] + sum(w[o * inn + k] * r[k] for k in range(inn)) for o in range(out)]
                for r in rows]
    return rows, 'a float64 forward'


def group_regression(binary, tmp):
    """clnn train --loss mse on a CSV of a known function: the loss falls
    well below the targets' variance, the epoch lines and metrics file carry
    losses and no accuracy, eval reports the same loss, and predict writes
    the values PyTorch computes with the saved model."""
    check(binary, ['train', '--help'], 0, stdout=['--loss NAME', 'mse: regression'])
    csv_path = os.path.join(tmp, 'reg.csv')
    test_path = os.path.join(tmp, 'reg-test.csv')
    write_regression_csv(csv_path, regression_rows(512, 1))
    test_rows = regression_rows(128, 2)
    write_regression_csv(test_path, test_rows)
    model = os.path.join(tmp, 'reg.safetensors')
    metrics = os.path.join(tmp, 'reg.jsonl')
    check(binary, ['train', '--data', csv_path, '--test-data', test_path, '--loss', 'mae'], 2,
          stderr=["--loss takes xent (classification) or mse (regression), not 'mae'"])
    require_device(binary)
    base = ['train', '--data', csv_path, '--test-data', test_path, '--loss', 'mse', '--no-tune',
            '--optimizer', 'adam', '--lr', '0.01', '--batch-size', '32']
    check(binary, base + ['--layers', 'dense:16,relu,dense:2'], 1,
          stderr=['the network ends with 2 outputs but the data has 1 target per row; end '
                  '--layers with dense:1'])
    check(binary, ['train', '--data', tmp, '--loss', 'mse', '--no-tune'], 1,
          stderr=['--loss mse needs float targets: give --data FILE'])
    r = check(binary, base + ['--layers', 'dense:32,relu,dense:1', '--epochs', '12', '--save',
                              model, '--metrics', metrics], 0, stdout=['epoch 12/12'])
    lines = [line for line in r.out.splitlines() if line.startswith('epoch ')]
    if any('acc' in line for line in lines):
        fail('train --loss mse', 'an epoch line reports an accuracy:\n' + '\n'.join(lines))
    test_loss = last_metric(r.out, 'test loss')
    if test_loss is None or not float(test_loss) < 0.2:
        fail('train --loss mse', f'test loss {test_loss}: expected below 0.2 (y has variance '
             f'about 4.4)\n{r.describe()}')
    if model_metadata(model).get('clnn.loss') != 'mse':
        fail('train --loss mse', 'the model does not record clnn.loss = mse')
    records = read_jsonl('metrics --loss mse', metrics) or []
    if len(records) != 12 or any(rec['train_acc'] is not None or rec['test_acc'] is not None or
                                 not rec['test_loss'] > 0 for rec in records):
        fail('metrics --loss mse', f'expected 12 records with losses and null accuracies, got '
             f'{records[:2]}')
    # eval: the same loss, no accuracy; misuse named.
    r = check(binary, ['eval', model, '--data', test_path], 0,
              stdout=['mean squared error, 128 samples'])
    if 'acc' in r.out or last_metric(r.out, 'test loss') != test_loss:
        fail('eval --loss mse', f'expected test loss {test_loss} and no accuracy\n{r.describe()}')
    check(binary, ['eval', model, '--data', tmp], 1,
          stderr=['is a regression model (--loss mse): give its data with float targets as '
                  '--data FILE'])
    check(binary, ['eval', model, '--data', test_path, '--class-names', 'a'], 1,
          stderr=['--class-names applies to classification'])
    # predict: the values PyTorch computes, and their mean squared error.
    out_csv = os.path.join(tmp, 'reg-pred.csv')
    r = check(binary, ['predict', model, '--input', test_path, '-o', out_csv], 0,
              stdout=['mse ', '(128 rows)'])
    with open(out_csv) as f:
        text = f.read().splitlines()
    if text[0] != 'predicted' or len(text) != 129:
        fail('predict --loss mse', f'expected a header "predicted" and 128 rows: {text[:3]}')
        return
    got = [float(v) for v in text[1:]]
    want, by = model_outputs(model, [(a, b) for a, b, _ in test_rows])
    worst = max(abs(g - w[0]) for g, w in zip(got, want))
    scale = max(abs(w[0]) for w in want)
    # float32 outputs of a 2→32→1 network: rounding leaves ~1e-6 of the scale.
    if not worst <= 1e-5 * scale:
        fail('predict --loss mse', f'values differ from {by} by up to {worst} (scale {scale})')
    else:
        print(f'ok   predict values match {by} (worst difference {worst:.2e})')
    mse = sum((g - y) ** 2 for g, (_, _, y) in zip(got, test_rows)) / len(got)
    reported = last_metric(r.out, 'mse')
    # Printed with 4 decimals.
    if reported is None or abs(float(reported) - mse) > 1e-4 + 1e-3 * mse:
        fail('predict --loss mse', f'reported mse {reported}, the values give {mse}')
    out_npy = os.path.join(tmp, 'reg-pred.npy')
    check(binary, ['predict', model, '--input', test_path, '-o', out_npy, '-q'], 0)
    shape, values = read_npy_f4(out_npy)
    if shape != (128, 1) or any(abs(v - g) > 1e-6 * max(1.0, abs(g))
                                for v, g in zip(values, got)):
        fail('predict --loss mse .npy', f'shape {shape}: expected (128, 1) holding the CSV values')
    # A checkpoint resumes with its loss, and refuses another.
    ckpt = os.path.join(tmp, 'reg.ckpt')
    check(binary, base + ['--layers', 'dense:8,relu,dense:1', '--epochs', '1', '--checkpoint',
                          ckpt, '--checkpoint-every', '4', '-q'], 0)
    check(binary, ['train', '--data', csv_path, '--test-data', test_path, '--resume', ckpt,
                   '--epochs', '2', '--loss', 'xent', '--no-tune'], 1,
          stderr=["was trained with --loss mse, not xent"])
    check(binary, ['train', '--data', csv_path, '--test-data', test_path, '--resume', ckpt,
                   '--epochs', '2', '--no-tune'], 0, stdout=['epoch 2/2  train loss'])
    # Text where a target belongs is named.
    bad = os.path.join(tmp, 'reg-bad.csv')
    with open(bad, 'w') as f:
        f.write('a,b,y\n0.1,0.2,0.3\n0.2,0.1,high\n')
    check(binary, ['train', '--data', bad, '--validation-split', '0.5', '--loss', 'mse',
                   '--no-tune'], 1,
          stderr=["line 3, column 3 ('y'): 'high' is not a number; regression targets must be "
                  "decimal numbers"])


GROUPS = {
    'kill': group_kill,
    'resume': group_resume,
    'usage': group_usage,
    'no-platform': group_no_platform,
    'errors': group_errors,
    'train': group_train,
    'bench': group_bench,
    'metrics': group_metrics,
    'plot': group_plot_with_cairo,
    'plot-without-cairo': group_plot_without_cairo,
    'eval-classes': group_eval_classes,
    'tune': group_tune,
    'data': group_data,
    'regression': group_regression,
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--binary', default=os.environ.get('CLNN_BINARY'))
    parser.add_argument('--wrapper', default='', help='command that runs the binary')
    parser.add_argument('--without-clblast', action='store_true',
                        help='the build has no CLBlast: --gemm clblast must fail')
    parser.add_argument('group', choices=sorted(GROUPS))
    args = parser.parse_args()
    if not args.binary:
        parser.error('give --binary or set CLNN_BINARY')
    binary = shlex.split(args.wrapper) + [os.path.abspath(args.binary)]
    global have_clblast
    have_clblast = not args.without_clblast
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
