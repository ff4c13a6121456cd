#!/usr/bin/env python3
"""Run first_use (8 threads making their contexts at once, first thing in
the process) RUNS times; every run must succeed. A race at first use shows
as a crash or a false 'no device' in some runs only, hence the repeats.

    run_first_use.py PROGRAM RUNS
"""
import os
import shlex
import subprocess
import sys


def main():
    program, runs = sys.argv[1], int(sys.argv[2])
    # A cross build's program runs through meson's wrapper (Wine).
    command = shlex.split(os.environ.get('MESON_EXE_WRAPPER', '')) + [program]
    failures = 0
    for i in range(runs):
        p = subprocess.run(command, capture_output=True, text=True, timeout=600)
        if p.returncode == 77:
            print(p.stderr, end='')
            return 77
        if p.returncode != 0:
            failures += 1
            print(f'run {i + 1}: exit {p.returncode}\n{p.stdout}{p.stderr}', end='')
    print(f'{runs - failures} of {runs} runs succeeded')
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
