#!/usr/bin/env python3
"""Run a meson build's tests without meson: the list, commands, environment
and timeouts come from BUILD/meson-info/intro-tests.json. For a build made
on one machine and run on another that has no meson, or another version of
it (tools/device-check.sh).

    run-tests.py BUILD [--exclude-suite S ...] [--env NAME=VALUE ...] [--jobs N]
                 [--log FILE]

Prints a line per test and a summary ("N passed, N failed, N skipped");
exits 1 when a test failed. Exit 77 is a skip, as in meson.
"""
import argparse
import concurrent.futures
import json
import os
import pathlib
import subprocess
import sys
import time


def run_one(test, extra_env, build):
    env = dict(os.environ)
    env.update(test.get('env') or {})
    env.update(extra_env)
    timeout = test.get('timeout') or 600
    start = time.monotonic()
    try:
        # As meson runs them: in the build folder unless the test names another.
        p = subprocess.run(test['cmd'], cwd=test.get('workdir') or build, env=env,
                           capture_output=True, text=True, errors='replace',
                           timeout=timeout)
        code, out = p.returncode, p.stdout + p.stderr
    except subprocess.TimeoutExpired as e:
        code = 'timeout'
        out = (e.stdout or b'').decode(errors='replace') if isinstance(e.stdout, bytes) else ''
    except OSError as e:
        code, out = 'cannot run', str(e)
    return test, code, out, time.monotonic() - start


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('build')
    ap.add_argument('--exclude-suite', action='append', default=[])
    ap.add_argument('--env', action='append', default=[], help='NAME=VALUE for every test')
    ap.add_argument('--jobs', type=int, default=os.cpu_count() or 1)
    ap.add_argument('--log', help='write every test\'s output here')
    args = ap.parse_args()

    info = pathlib.Path(args.build) / 'meson-info' / 'intro-tests.json'
    tests = json.loads(info.read_text())
    excluded = set(args.exclude_suite)
    chosen = [t for t in tests
              if not any(s.split(':')[-1] in excluded for s in t.get('suite', []))]
    extra_env = dict(e.split('=', 1) for e in args.env)
    serial = [t for t in chosen if not t.get('is_parallel', True)]
    parallel = [t for t in chosen if t.get('is_parallel', True)]

    results = []
    log = open(args.log, 'w') if args.log else None

    def report(r):
        test, code, out, seconds = r
        verdict = 'OK' if code == 0 else 'SKIP' if code == 77 else 'FAIL'
        print(f'{verdict:5} {seconds:7.1f}s  {test["name"]}' +
              ('' if verdict != 'FAIL' else f'  (exit {code})'), flush=True)
        if log:
            log.write(f'==== {test["name"]}: {verdict} (exit {code}, {seconds:.1f} s)\n{out}\n')
        if verdict == 'FAIL':
            sys.stdout.write(out[-4000:] + '\n')
        results.append(verdict)

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for r in pool.map(lambda t: run_one(t, extra_env, args.build), parallel):
            report(r)
    for t in serial:
        report(run_one(t, extra_env, args.build))
    if log:
        log.close()
    passed, failed, skipped = (results.count(v) for v in ('OK', 'FAIL', 'SKIP'))
    print(f'{passed} passed, {failed} failed, {skipped} skipped')
    return 1 if failed or not results else 0


if __name__ == '__main__':
    sys.exit(main())
