#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Brings the translations up to date with the code, then says what is left:
#   1. rewrites po/POTFILES.in from the files that have translatable strings,
#   2. regenerates po/chronos.pot and merges it into every po/LANG.po
#      (meson targets chronos-pot and chronos-update-po),
#   3. runs the data suite's completeness check, which lists every message
#      still untranslated or fuzzy.
# Translate what step 3 lists in po/LANG.po (remove the "fuzzy" flags after
# checking them), then run this again until it ends with exit status 0.
#
# usage: po/update-and-check.sh [BUILDDIR]    (default: $CHRONOS_BUILDDIR or _build)

set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
builddir=${1:-${CHRONOS_BUILDDIR:-$root/_build}}

/usr/bin/python3 "$root/tests/data/test-potfiles.py" --write

if [ ! -f "$builddir/build.ninja" ]; then
  meson setup "$builddir" "$root"
else
  # POTFILES.in may have changed: let meson see it.
  meson setup --reconfigure "$builddir" "$root" >/dev/null
fi
meson compile -C "$builddir" chronos-pot chronos-update-po

CHRONOS_SOURCE_ROOT=$root /usr/bin/python3 "$root/tests/data/test-potfiles.py"
CHRONOS_SOURCE_ROOT=$root /usr/bin/python3 "$root/tests/data/test-po-complete.py"
