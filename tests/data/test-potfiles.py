#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Checks that po/POTFILES.in lists exactly the files with translatable strings.

A source file whose strings are marked (_(), N_(), C_(), NC_(), Q_(), ngettext)
but which is missing from POTFILES.in ships untranslated; a listed file that
no longer exists breaks `meson compile chronos-pot`. Both fail the test.
With --write the list is rewritten from the tree (po/update-and-check.sh).
"""

import os
import re
import sys

# A gettext marker followed by a string literal. The look-behind keeps
# identifiers such as `foo_ (` or `g_ (` from matching.
C_MARKER = re.compile(
    r'(?<![A-Za-z0-9_])(?:_|N_|C_|NC_|Q_|ngettext|g_dngettext|g_dpgettext2)\s*\(\s*"')
UI_MARKER = re.compile(r'translatable\s*=\s*"(?:yes|true|1)"')
SCHEMA_MARKER = re.compile(r'<(?:summary|description)\b')
# Folders whose files a user sees; tests, fuzzers and benchmarks are not translated.
SCANNED = ('src', 'data')


def has_marker(path):
    try:
        with open(path, encoding='utf-8') as f:
            text = f.read()
    except UnicodeDecodeError:
        return False
    name = os.path.basename(path)
    if name.endswith(('.c', '.h')):
        # Drop comments first: an example in a comment is not a string.
        text = re.sub(r'/\*.*?\*/', '', text, flags=re.S)
        text = re.sub(r'//[^\n]*', '', text)
        return C_MARKER.search(text) is not None
    if name.endswith(('.ui', '.ui.in')):
        return UI_MARKER.search(text) is not None
    if name.endswith(('.desktop.in', '.desktop.in.in', '.metainfo.xml.in',
                      '.metainfo.xml.in.in')):
        return True
    if name.endswith(('.gschema.xml', '.gschema.xml.in')):
        return SCHEMA_MARKER.search(text) is not None
    return False


def scan(root):
    found = set()
    for top in SCANNED:
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, top)):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith('.'))
            for name in filenames:
                path = os.path.join(dirpath, name)
                if has_marker(path):
                    found.add(os.path.relpath(path, root))
    return found


def read_potfiles(path):
    listed = []
    with open(path, encoding='utf-8') as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith('#'):
                listed.append(line)
    return listed


def main():
    root = os.environ.get('CHRONOS_SOURCE_ROOT') or os.path.abspath(
        os.path.join(os.path.dirname(__file__), '..', '..'))
    potfiles = os.path.join(root, 'po', 'POTFILES.in')
    found = scan(root)

    if '--write' in sys.argv[1:]:
        with open(potfiles, 'w', encoding='utf-8') as f:
            f.write('# List of source files containing translatable strings.\n')
            f.write('# Kept complete by tests/data/test-potfiles.py (--write rewrites it).\n')
            for path in sorted(found):
                f.write(path + '\n')
        print(f'wrote {len(found)} files to po/POTFILES.in')
        return 0

    listed = read_potfiles(potfiles)
    failed = False
    missing = sorted(found - set(listed))
    absent = sorted(p for p in listed if not os.path.exists(os.path.join(root, p)))
    unmarked = sorted(p for p in listed
                      if p not in found and p not in absent)
    dupes = sorted({p for p in listed if listed.count(p) > 1})
    if missing:
        failed = True
        print('Files with translatable strings missing from po/POTFILES.in:')
        for p in missing:
            print('  ' + p)
    if absent:
        failed = True
        print('Files listed in po/POTFILES.in that do not exist:')
        for p in absent:
            print('  ' + p)
    if dupes:
        failed = True
        print('Files listed twice in po/POTFILES.in: ' + ', '.join(dupes))
    if listed != sorted(listed):
        failed = True
        print('po/POTFILES.in is not sorted')
    if unmarked:
        # Harmless for xgettext, so only a note: the strings may be on their way.
        print('Note: listed files without translatable strings: ' + ', '.join(unmarked))
    if failed:
        print('Fix: po/update-and-check.sh (or tests/data/test-potfiles.py --write)')
        return 1
    print(f'po/POTFILES.in lists all {len(found)} files with translatable strings')
    return 0


if __name__ == '__main__':
    sys.exit(main())
