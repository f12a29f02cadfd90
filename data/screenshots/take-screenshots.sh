#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Takes the metainfo screenshots from the real app under Xvfb:
#   data/screenshots/backups.png  the backup list with a backup selected
#   data/screenshots/verify.png   the same backup after a Verify Boot
# usage: data/screenshots/take-screenshots.sh [BUILDDIR]   (default: _build)
# Needs xvfb, dbus, at-spi2-core, python3-pyatspi, gir1.2-atspi-2.0,
# x11-utils and imagemagick (all in build-aux/debian-packages.txt), QEMU and a
# built app with its test guests (-Dtests=true).

set -eu

here=$(cd "$(dirname "$0")/../.." && pwd)
builddir=${1:-${CHRONOS_BUILDDIR:-$here/_build}}
builddir=$(cd "$builddir" && pwd)
app="$builddir/src/app/chronos"

if [ ! -x "$app" ]; then
  echo "take-screenshots.sh: $app is not built (meson compile -C $builddir)" >&2
  exit 1
fi
for tool in xvfb-run dbus-run-session xwininfo import convert; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "take-screenshots.sh: $tool is not installed" >&2
    exit 1
  fi
done

# A private home: no folders, settings or verifications of the person
# running this leak into the pictures, and the window has a fixed size.
# The library is in that home's ~/Backups, which the app shows as such.
tmp=$(mktemp -d "${TMPDIR:-/tmp}/chronos-screenshots-XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
home="$tmp/home"
demo="$home/Backups"
mkdir -p "$home"
"$here/build-aux/make-demo-library.sh" "$builddir" "$demo" >/dev/null

export HOME="$home"
export XDG_CONFIG_HOME="$home/.config" XDG_DATA_HOME="$home/.local/share"
export XDG_CACHE_HOME="$home/.cache" XDG_STATE_HOME="$home/.local/state"
mkdir -p "$XDG_CONFIG_HOME/glib-2.0/settings" "$XDG_DATA_HOME" "$XDG_CACHE_HOME" "$XDG_STATE_HOME"
# The window fills the 1280x800 screen exactly (no window manager places
# it: it sits at 0,0), so the pictures have no black margins.
cat > "$XDG_CONFIG_HOME/glib-2.0/settings/keyfile" <<EOF
[org/chronos/Chronos]
window-width=1280
window-height=800
vm-display='none'
vm-memory-mib=512
vm-cpus=1
vm-network=false
EOF
export GSETTINGS_BACKEND=keyfile
export GSETTINGS_SCHEMA_DIR="$builddir/data"
export GDK_BACKEND=x11 ADW_DISABLE_PORTAL=1
export LANG=C.UTF-8 LANGUAGE=en LC_ALL=C.UTF-8
# English screenshots with the default Adwaita look, whatever the host has;
# the accessibility bridge must be on for AT-SPI to drive the app.
unset GTK_THEME NO_AT_BRIDGE GTK_A11Y G_DEBUG

# Several X servers may run at once on a shared machine: do not all start
# looking for a free display at :99.
display=$(( ($$ % 30000) + 100 ))
xvfb-run -a -n "$display" -s "-screen 0 1280x800x24" \
  dbus-run-session -- /usr/bin/python3 "$here/data/screenshots/take-screenshots.py" \
  "$app" "$demo" "$here/data/screenshots"
