#!/usr/bin/env python3
"""Check that layer kinds stay modules (src/layers/README.md): every kind of
the table in src/layers/kinds.h has its module, src/layers/<file>.c, which
defines its interface struct; and no file outside src/layers/ names an
individual kind (its enum constant, its interface struct or its header),
and src/net/ switches over no kind, so the driver stays kind-agnostic.
Exits 1 naming every place that breaks it.

    test_kinds.py SRC_DIR
"""
import pathlib
import re
import sys

KIND_LINE = re.compile(r'^\s*X\(\s*(\w+)\s*,\s*(\w+)\s*\)', re.M)
SWITCH_ON_KIND = re.compile(r'\bswitch\s*\([^)]*kind[^)]*\)')


def main():
    src = pathlib.Path(sys.argv[1])
    kinds = KIND_LINE.findall((src / 'layers' / 'kinds.h').read_text(encoding='utf-8'))
    problems = []
    if not kinds:
        problems.append('layers/kinds.h: no X(ID, file) lines found')
    for ident, file in kinds:
        module = src / 'layers' / f'{file}.c'
        if not module.exists():
            problems.append(f'layers/kinds.h lists {ident}, but layers/{file}.c is missing')
        elif not re.search(rf'\bconst clnn__layer_class clnn__layer_class_{file}\s*=',
                           module.read_text(encoding='utf-8')):
            problems.append(f'layers/{file}.c does not define clnn__layer_class_{file}')
    names = []
    for ident, file in kinds:
        names.append((re.compile(rf'\bCLNN__LAYER_{ident}\b'), f'CLNN__LAYER_{ident}'))
        names.append((re.compile(rf'\bclnn__layer_class_{file}\b'), f'clnn__layer_class_{file}'))
        names.append((re.compile(rf'#\s*include\s*"layers/{file}\.h"'), f'layers/{file}.h'))
    files = sorted(p for p in src.rglob('*') if p.suffix in ('.c', '.h'))
    for path in files:
        rel = path.relative_to(src).as_posix()
        if rel.startswith('layers/'):
            continue
        text = path.read_text(encoding='utf-8')
        for pattern, name in names:
            if pattern.search(text):
                problems.append(f'{rel}: names the layer kind {name}; ask the kind through its '
                                f'interface (layers/layer.h) instead')
        if rel.startswith('net/'):
            for m in SWITCH_ON_KIND.finditer(text):
                problems.append(f'{rel}: "{m.group(0)}": the driver switches over no kind')
    for p in problems:
        print(p)
    print(f'{len(kinds)} kinds, {len(files)} files checked, {len(problems)} problem(s)')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
