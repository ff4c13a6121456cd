#!/usr/bin/env python3
"""The Windows clnn.exe, run by Wine, against the Linux clnn of the same tree.

Usage: test_windows_build.py --exe CLNN_EXE --linux CLNN [--data DIR]

tools/test-windows.sh runs this after both builds. DIR (default
/usr/share/datasets/fashion-mnist) holds Fashion-MNIST. With no extra
environment (no CLNN_ or OCL_ICD_ variables: the program as built, on Wine's
own opencl.dll, as an installed Windows application would start):

1. `clnn.exe devices` lists every OpenCL platform the Linux clnn lists;
2. with Wine's opencl.dll disabled (WINEDLLOVERRIDES=opencl=d) it exits 1
   with the no-platform message, which says to install a driver;
3. `clnn.exe train --epochs 1 --data Z:\\...\\fashion-mnist --save
   m.safetensors` trains and saves, and the Linux `clnn eval` of that file
   prints the test accuracy the Windows run printed (and its loss within
   2e-4, as tests/cli's train group allows between train and eval);
4. trained with the same seed and options, clnn's own GEMM kernels and no
   tuning file (--no-tune, each run in an empty cache folder), the two
   builds print the same accuracy and write the same model file, bit for bit.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

TIMEOUT = 600
failures = []


def clean_env(extra=None):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(('CLNN_', 'OCL_ICD_')) and k != 'WINEDLLOVERRIDES'}
    env.update(extra or {})
    return env


def run(cmd, cwd, env=None):
    proc = subprocess.run(cmd, cwd=cwd, env=clean_env(env), capture_output=True, text=True,
                          timeout=TIMEOUT, stdin=subprocess.DEVNULL)
    print(f"$ {' '.join(cmd)}\n  exit {proc.returncode}")
    for line in (proc.stdout + proc.stderr).strip().splitlines()[-6:]:
        print(f'  | {line}')
    return proc


def fail(label, message):
    failures.append(f'{label}: {message}')
    print(f'FAIL {label}: {message}')


def metric(text, name):
    found = re.findall(name + r' ([0-9.]+|nan|inf)', text)
    return found[-1] if found else None


def windows_path(path):
    """Wine shows the Linux file system as drive Z:."""
    return 'Z:' + os.path.abspath(path).replace('/', '\\')


def check_devices(exe, linux, tmp):
    lin = run(linux + ['devices'], tmp)
    win = run(exe + ['devices'], tmp)
    if lin.returncode != 0:
        fail('devices', 'the Linux clnn lists no device: nothing to compare with')
        return
    platforms = re.findall(r'^\*?\s*\d+\s+(.+?)\s{2,}', lin.stdout, re.M)
    if win.returncode != 0 or not platforms or any(p not in win.stdout for p in platforms):
        fail('devices', f'clnn.exe lists {win.stdout!r}, exit {win.returncode}; '
                        f'the Linux clnn lists platforms {platforms}')


def check_without_opencl(exe, tmp):
    r = run(exe + ['devices'], tmp, {'WINEDLLOVERRIDES': 'opencl=d'})
    low = r.stderr.lower()
    if r.returncode != 1 or 'clnn: error: ' not in r.stderr or 'opencl.dll' not in low \
            or 'install' not in low:
        fail('devices without opencl.dll', f'exit {r.returncode}, stderr {r.stderr!r}')


def check_model_crosses_over(exe, linux, data, tmp):
    """The issue's command as given, then the Linux evaluation of its file."""
    win = run(exe + ['train', '--epochs', '1', '--data', windows_path(data),
                     '--save', 'm.safetensors'], tmp)
    model = os.path.join(tmp, 'm.safetensors')
    if win.returncode != 0 or not os.path.exists(model):
        fail('train on Windows', f'exit {win.returncode}, no {model}')
        return
    lin = run(linux + ['eval', model, '--data', data], tmp)
    acc_w, acc_l = metric(win.stdout, 'test acc'), metric(lin.stdout, 'test acc')
    loss_w, loss_l = metric(win.stdout, 'test loss'), metric(lin.stdout, 'test loss')
    if lin.returncode != 0 or acc_w is None or acc_w != acc_l or loss_l is None or \
            abs(float(loss_w) - float(loss_l)) > 2e-4:
        fail('Linux eval of the Windows model',
             f'Windows printed test acc {acc_w} loss {loss_w}, Linux eval {acc_l} {loss_l}')
    else:
        print(f'ok   the Windows model (test acc {acc_w}) evaluates to {acc_l} on Linux')


def check_same_training(exe, linux, data, tmp):
    models, accs = [], []
    for name, cmd, data_arg in (('windows', exe, windows_path(data)), ('linux', linux, data)):
        cache = os.path.join(tmp, 'cache-' + name)
        os.mkdir(cache)
        model = os.path.join(tmp, name + '.safetensors')
        r = run(cmd + ['train', '--epochs', '1', '--seed', '5', '--no-tune', '--data', data_arg,
                       '--save', name + '.safetensors'], tmp, {'CLNN_CACHE_DIR': cache})
        if r.returncode != 0 or not os.path.exists(model):
            fail(f'train on {name}', f'exit {r.returncode}, no {model}')
            return
        models.append(open(model, 'rb').read())
        accs.append(metric(r.stdout, 'test acc'))
    if accs[0] is None or accs[0] != accs[1] or models[0] != models[1]:
        fail('same training', f'Windows test acc {accs[0]}, Linux {accs[1]}; model files '
                              f'{"equal" if models[0] == models[1] else "differ"}')
    else:
        print(f'ok   Windows and Linux train the same model, bit for bit (test acc {accs[0]})')


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--exe', required=True, help='the Windows clnn.exe')
    parser.add_argument('--linux', required=True, help='the Linux clnn')
    parser.add_argument('--data', default='/usr/share/datasets/fashion-mnist')
    args = parser.parse_args()
    exe = ['wine', os.path.abspath(args.exe)]
    linux = [os.path.abspath(args.linux)]
    data = os.path.abspath(args.data)
    with tempfile.TemporaryDirectory(prefix='clnn-windows-') as tmp:
        check_devices(exe, linux, tmp)
        check_without_opencl(exe, tmp)
        check_model_crosses_over(exe, linux, data, tmp)
        check_same_training(exe, linux, data, tmp)
    if failures:
        print(f'\n{len(failures)} failure(s):\n' + '\n'.join(failures), file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
