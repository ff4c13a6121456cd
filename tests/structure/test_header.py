#!/usr/bin/env python3
"""Checks of the public header, include/clnn.h, as its clients see it.

    test_header.py compile --std STD [-I DIR]... -- COMPILER [ARG]...
        Compile a file that includes clnn.h alone (with the generated
        clnn_version.h found through -I) as ISO C or C++ of standard STD
        (c89, c99, c11, c++98, c++11, ...) with -pedantic -Wall -Wextra
        -Werror: the header must stay usable by every client, not only by
        C11 code. No COMPILER: exit 77 (SKIP), saying so.

    test_header.py structs HEADER
        Every struct the header defines begins with `size_t struct_size;`
        (the library reads and writes only that many bytes of it), unless
        FROZEN names it.
"""
import re
import subprocess
import sys

# Structs whose layout never changes, so they carry no struct_size: the
# header says so next to each.
FROZEN = {'clnn_metadata'}

# Uses what a client uses: types, a status, CLNN_STATUS_COUNT, the version
# macros. Not static, so that -Wunused-function has nothing to say.
SOURCE = '''#include "clnn.h"

int clnn_header_check(clnn_status status);
int clnn_header_check(clnn_status status)
{
    clnn_device_info info;
    info.struct_size = sizeof info;
    return (int)status < (int)CLNN_STATUS_COUNT && info.struct_size > 0 &&
           CLNN_VERSION_NUMBER > 0;
}
'''


def compile_header(args):
    std, includes, compiler = None, [], []
    i = 0
    while i < len(args):
        if args[i] == '--std':
            std = args[i + 1]
            i += 2
        elif args[i] == '-I':
            includes += ['-I', args[i + 1]]
            i += 2
        elif args[i] == '--':
            compiler = args[i + 1:]
            break
        else:
            sys.exit(f'test_header.py: unknown argument {args[i]!r}')
    if not std:
        sys.exit('test_header.py: --std is required')
    if not compiler:
        print(f'no compiler for {std} on this build\'s host: not checked')
        return 77
    lang = 'c++' if std.startswith(('c++', 'gnu++')) else 'c'
    cmd = compiler + [f'-std={std}', '-pedantic', '-Wall', '-Wextra', '-Werror',
                      '-fsyntax-only', '-x', lang] + includes + ['-']
    print(' '.join(cmd))
    result = subprocess.run(cmd, input=SOURCE, text=True, capture_output=True)
    sys.stdout.write(result.stdout + result.stderr)
    if result.returncode != 0:
        print(f'clnn.h does not compile as {std} (-pedantic -Werror): the header is for every '
              f'client, C89 to C11 and C++98 on')
        return 1
    print(f'clnn.h compiles as {std}')
    return 0


def check_structs(header):
    text = re.sub(r'/\*.*?\*/', '', open(header, encoding='utf-8').read(), flags=re.S)
    problems, seen = [], 0
    for m in re.finditer(r'typedef\s+struct\s+(\w+)\s*\{([^;]*;)', text):
        name, first = m.group(1), ' '.join(m.group(2).split())
        seen += 1
        if name in FROZEN:
            continue
        if first != 'size_t struct_size;':
            problems.append(f'{name} begins with "{first}", not "size_t struct_size;": a struct '
                            f'the caller allocates is versioned by its size (or, frozen for '
                            f'good, listed in FROZEN here and said so in the header)')
    for p in problems:
        print(p)
    print(f'{seen} structs checked, {len(problems)} problem(s)')
    return 1 if problems or seen == 0 else 0


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == 'compile':
        return compile_header(sys.argv[2:])
    if len(sys.argv) == 3 and sys.argv[1] == 'structs':
        return check_structs(sys.argv[2])
    sys.exit(__doc__)


if __name__ == '__main__':
    sys.exit(main())
