#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Takes the metainfo screenshots from the real app under Xvfb:
#   data/screenshots/backups.png  the backup list with the first backup selected
#   data/screenshots/verify.png   the same backup after a verification
# usage: data/screenshots/take-screenshots.sh [BUILDDIR]   (default: _build)
# Needs xvfb, dbus, at-spi2-core, python3-pyatspi, x11-utils and imagemagick
# (all in build-aux/debian-packages.txt) and a built app.

set -eu

here=$(cd "$(dirname "$0")/../.." && pwd)
builddir=${1:-${CHRONOS_BUILDDIR:-$here/_build}}
app="$builddir/src/app/chronos"

if [ ! -x "$app" ]; then
  echo "take-screenshots.sh: $app is not built (meson compile -C $builddir)" >&2
  exit 1
fi

demo="$builddir/demo-library"
"$here/build-aux/make-demo-library.sh" "$builddir" "$demo" >/dev/null

export GSETTINGS_SCHEMA_DIR="$builddir/data"
export GSETTINGS_BACKEND=memory
export GDK_BACKEND=x11
export LANG=C.UTF-8 LANGUAGE=en
# English screenshots with the default Adwaita look, whatever the host has.
unset GTK_THEME NO_AT_BRIDGE

exec xvfb-run -a -s "-screen 0 1600x1000x24" \
  dbus-run-session -- /usr/bin/python3 "$here/data/screenshots/take-screenshots.py" \
  "$app" "$demo" "$here/data/screenshots"
