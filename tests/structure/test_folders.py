#!/usr/bin/env python3
"""Check the folder contract of src/README.md: which folder's files may
include which other folders' headers, and which files may include headers
beyond the C standard library. Exits 1 naming every include that breaks it.

    test_folders.py SRC_DIR
"""
import pathlib
import re
import sys

# Folder -> the other folders its files may include ("internal.h" at the
# root of src/ is open to every library folder). Keep in step with
# src/README.md.
ALLOWED = {
    'base': set(),
    'io': {'base'},
    'runtime': {'base'},
    'gemm': {'runtime', 'io', 'base'},
    'layers': {'gemm', 'runtime', 'base'},
    'net': {'layers', 'gemm', 'runtime', 'io', 'base'},
    'cli': set(),  # the public header only
}

# Includes that break the contract, each to be removed with the code that
# needs it (see src/README.md, "Known exceptions"). The test fails when one
# of them is gone, so the list cannot go stale. Empty: keep it so.
KNOWN_EXCEPTIONS = set()

C_STANDARD = {
    'assert', 'complex', 'ctype', 'errno', 'fenv', 'float', 'inttypes', 'iso646', 'limits',
    'locale', 'math', 'setjmp', 'signal', 'stdalign', 'stdarg', 'stdatomic', 'stdbool',
    'stddef', 'stdint', 'stdio', 'stdlib', 'stdnoreturn', 'string', 'tgmath', 'time',
    'uchar', 'wchar', 'wctype',
}

# The only files that may include headers beyond the C standard library:
# the platform layers (everything that differs between systems) and the
# one file of each optional or third-party library.
SYSTEM_HEADERS = {
    'base/platform.h': {'pthread.h'},
    'base/platform_posix.c': {'dlfcn.h', 'fcntl.h', 'sys/stat.h', 'unistd.h'},
    'base/platform_win32.c': {'windows.h', 'process.h'},
    'runtime/opencl.h': {'CL/cl.h'},
    'gemm/gemm_clblast.c': {'clblast_c.h'},
    'io/gunzip.c': {'zlib.h'},
    'io/st_checksum.c': {'zlib.h'},
    'cli/os.c': {'windows.h', 'io.h', 'unistd.h'},
    'cli/args.h': {'getopt.h'},
    'cli/mpi.c': {'mpi.h'},
    'cli/plot_draw.c': {'cairo.h', 'cairo-svg.h'},
}

PUBLIC = {'clnn.h', 'clnn_version.h'}
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)


def main():
    src = pathlib.Path(sys.argv[1])
    problems = []
    seen_exceptions = set()
    files = sorted(p for p in src.rglob('*') if p.suffix in ('.c', '.h'))
    for path in files:
        rel = path.relative_to(src).as_posix()
        folder = rel.split('/')[0] if '/' in rel else ''
        for kind, header in INCLUDE.findall(path.read_text(encoding='utf-8')):
            if kind == '<':
                if header[:-2] in C_STANDARD or header in SYSTEM_HEADERS.get(rel, ()):
                    continue
                problems.append(f'{rel}: <{header}> is not a C standard header; system '
                                f'calls belong in the platform layer (base/platform_*.c, '
                                f'cli/os.c)')
                continue
            if folder == 'cli':
                if header in PUBLIC or '/' not in header:
                    continue
                problems.append(f'{rel}: "{header}": the clnn tool uses the public header only')
                continue
            if '/' not in header:
                if header in PUBLIC or header == 'internal.h' or (src / folder / header).exists():
                    continue
                problems.append(f'{rel}: "{header}" is not found in {folder}/')
                continue
            target = header.split('/')[0]
            if target == folder or target in ALLOWED.get(folder, set()):
                continue
            if (rel, header) in KNOWN_EXCEPTIONS:
                seen_exceptions.add((rel, header))
                continue
            allowed = ', '.join(sorted(ALLOWED.get(folder, ()))) or 'no other folder'
            problems.append(f'{rel}: includes "{header}", but {folder}/ may include only '
                            f'{allowed} (src/README.md)')
    for rel, header in sorted(KNOWN_EXCEPTIONS - seen_exceptions):
        problems.append(f'{rel} no longer includes "{header}": remove it from '
                        f'KNOWN_EXCEPTIONS here and from src/README.md')
    for p in problems:
        print(p)
    print(f'{len(files)} files checked, {len(problems)} problem(s)')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
