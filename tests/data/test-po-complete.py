#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Checks that every language in po/LINGUAS translates every current string.

The template is made afresh from po/POTFILES.in with the same xgettext
arguments as meson's i18n 'glib' preset, each .po is merged with it in a
temporary directory (the source tree is not touched), and msgfmt --check
must report no fuzzy and no untranslated message. A string added to the
code without a translation therefore fails here; po/update-and-check.sh
brings the .po files up to date and lists what is left to translate.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile

try:
    from mesonbuild.modules.i18n import PRESET_ARGS
    GLIB_ARGS = PRESET_ARGS['glib']
except Exception:  # meson from somewhere else: the same list, as of meson 1.0
    GLIB_ARGS = [
        '--from-code=UTF-8', '--add-comments',
        '--keyword=_', '--keyword=N_', '--keyword=C_:1c,2', '--keyword=NC_:1c,2',
        '--keyword=g_dcgettext:2', '--keyword=g_dngettext:2,3',
        '--keyword=g_dpgettext2:2c,3',
        '--flag=N_:1:pass-c-format', '--flag=C_:2:pass-c-format',
        '--flag=NC_:2:pass-c-format', '--flag=g_dngettext:2:pass-c-format',
        '--flag=g_strdup_printf:1:c-format', '--flag=g_string_printf:2:c-format',
        '--flag=g_string_append_printf:2:c-format', '--flag=g_error_new:3:c-format',
        '--flag=g_set_error:4:c-format', '--flag=g_markup_printf_escaped:1:c-format',
        '--flag=g_log:3:c-format', '--flag=g_print:1:c-format',
        '--flag=g_printerr:1:c-format', '--flag=g_printf:1:c-format',
        '--flag=g_fprintf:2:c-format', '--flag=g_sprintf:2:c-format',
        '--flag=g_snprintf:3:c-format',
    ]

STATS = re.compile(r'(\d+) translated message|(\d+) fuzzy translation|(\d+) untranslated message')


def skip(why):
    print('SKIP: ' + why)
    sys.exit(77)


def statistics(msgfmt, po):
    out = subprocess.run([msgfmt, '--check', '--statistics', '-o', os.devnull, po],
                         capture_output=True, text=True)
    text = out.stdout + out.stderr
    counts = {'translated': 0, 'fuzzy': 0, 'untranslated': 0}
    for m in STATS.finditer(text):
        if m.group(1):
            counts['translated'] = int(m.group(1))
        elif m.group(2):
            counts['fuzzy'] = int(m.group(2))
        else:
            counts['untranslated'] = int(m.group(3))
    return out.returncode, text.strip(), counts


def main():
    tools = {t: shutil.which(t) for t in ('xgettext', 'msgmerge', 'msgfmt', 'msgattrib')}
    missing = [t for t, p in tools.items() if p is None]
    if missing:
        skip('gettext tools missing (' + ', '.join(missing) + '): apt-get install gettext')

    root = os.environ.get('CHRONOS_SOURCE_ROOT') or os.path.abspath(
        os.path.join(os.path.dirname(__file__), '..', '..'))
    po_dir = os.path.join(root, 'po')
    with open(os.path.join(po_dir, 'LINGUAS'), encoding='utf-8') as f:
        langs = [w for line in f for w in line.split('#')[0].split()]
    if not langs:
        print('po/LINGUAS names no language: at least one complete translation is required')
        return 1

    failed = False
    with tempfile.TemporaryDirectory(prefix='chronos-po-') as tmp:
        pot = os.path.join(tmp, 'chronos.pot')
        gen = subprocess.run([tools['xgettext'], '--package-name=chronos',
                              '--directory=' + root,
                              '--files-from=' + os.path.join(po_dir, 'POTFILES.in'),
                              '--output=' + pot] + GLIB_ARGS,
                             capture_output=True, text=True)
        if gen.returncode != 0:
            print('xgettext failed:\n' + gen.stderr)
            return 1
        if gen.stderr.strip():
            print('xgettext warnings (fix them in the source):\n' + gen.stderr.strip())
        for lang in langs:
            po = os.path.join(po_dir, lang + '.po')
            if not os.path.exists(po):
                print(f'{lang}: po/{lang}.po is missing')
                failed = True
                continue
            rc, text, _ = statistics(tools['msgfmt'], po)
            if rc != 0:
                print(f'{lang}: po/{lang}.po does not compile:\n{text}')
                failed = True
                continue
            merged = os.path.join(tmp, lang + '.po')
            subprocess.run([tools['msgmerge'], '--quiet', '--output-file=' + merged, po, pot],
                           check=True)
            rc, text, counts = statistics(tools['msgfmt'], merged)
            print(f'{lang}: {text}')
            if rc != 0 or counts['fuzzy'] or counts['untranslated']:
                failed = True
                todo = subprocess.run([tools['msgattrib'], '--no-obsolete', '--only-fuzzy',
                                       merged], capture_output=True, text=True).stdout
                todo += subprocess.run([tools['msgattrib'], '--no-obsolete', '--untranslated',
                                        merged], capture_output=True, text=True).stdout
                ids = re.findall(r'^msgid "(.+)"$', todo, flags=re.M)
                print(f'{lang}: {len(ids)} messages need a translation, for example:')
                for msgid in ids[:15]:
                    print('  ' + msgid)
    if failed:
        print('Fix: po/update-and-check.sh, translate what it lists, run it again')
        return 1
    print('every language translates every string')
    return 0


if __name__ == '__main__':
    sys.exit(main())
