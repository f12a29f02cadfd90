#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# mingw-syntax-check.sh SOURCE_ROOT: compile-checks Chronos's Windows-only
# sources with the MinGW-w64 cross compiler (Debian: gcc-mingw-w64-x86-64).
#
# - every src/core/qemu/chronos-win32-*.c: plain C over <windows.h>, no GLib;
# - the GLib glue (chronos-accel-whpx.c, chronos-host-windows.c) against
#   the Linux GLib headers with a glibconfig.h for win64
#   (tests/win32/glibconfig-win64/), since Debian ships no GLib for Windows.
# Exit 77 when the cross compiler is missing.

set -u
root=${1:?usage: mingw-syntax-check.sh SOURCE_ROOT}
cc=${MINGW_CC:-x86_64-w64-mingw32-gcc}

if ! command -v "$cc" >/dev/null 2>&1; then
  echo "SKIP: $cc not found (apt-get install gcc-mingw-w64-x86-64)"
  exit 77
fi

qemu="$root/src/core/qemu"
here="$root/tests/win32"
warn="-std=gnu11 -Wall -Wextra -Werror -Wmissing-declarations -Wstrict-prototypes
      -Wshadow -Wundef -Wdeclaration-after-statement -Wformat=2 -Wno-format-nonliteral"
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

# The config.h meson writes for a Windows host: only what the sources use.
cat > "$tmp/config.h" <<'EOH'
#define GETTEXT_PACKAGE "chronos"
#define CHRONOS_OS_WINDOWS 1
EOH

status=0
checked=0
for f in "$qemu"/chronos-win32-*.c; do
  checked=$((checked + 1))
  # shellcheck disable=SC2086
  if $cc $warn -fsyntax-only -I"$qemu" "$f"; then
    echo "ok $checked - $(basename "$f")"
  else
    echo "not ok $checked - $(basename "$f")"
    status=1
  fi
done

glib_inc=/usr/include/glib-2.0
if [ ! -f "$glib_inc/glib.h" ]; then
  echo "SKIP: no GLib headers in $glib_inc for the GLib glue"
else
  for f in chronos-accel-whpx.c chronos-host-windows.c; do
    checked=$((checked + 1))
    # The same API pins as the project; -isystem keeps GLib's own headers
    # out of -Werror, -idirafter lets mingw's own headers win over Linux ones.
    # shellcheck disable=SC2086
    if $cc $warn -fsyntax-only \
        -DGLIB_VERSION_MIN_REQUIRED=GLIB_VERSION_2_74 \
        -DGLIB_VERSION_MAX_ALLOWED=GLIB_VERSION_2_74 \
        -I"$tmp" -I"$qemu" -isystem "$here/glibconfig-win64" -isystem "$glib_inc" \
        "$qemu/$f"; then
      echo "ok $checked - $f (with GLib for win64)"
    else
      echo "not ok $checked - $f (with GLib for win64)"
      status=1
    fi
  done
fi

echo "checked $checked files with $cc"
exit $status
