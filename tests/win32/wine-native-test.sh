#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# wine-native-test.sh SOURCE_ROOT: builds tests/win32/win32-native-test.c with
# the chronos-win32-*.c platform files as a Windows program (MinGW-w64) and
# runs it under Wine: Job Objects, sharing violations, the process snapshot
# and the WHPX probe against a real Win32 implementation rather than only a
# compiler. Wine is not Windows (it has no WinHvPlatform.dll, for one), so
# this complements, never replaces, the windows.yml CI run.
#
# Exit 77 when the cross compiler or Wine (Debian: wine64) is missing.

set -u
root=${1:?usage: wine-native-test.sh SOURCE_ROOT}
cc=${MINGW_CC:-x86_64-w64-mingw32-gcc}

if ! command -v "$cc" >/dev/null 2>&1; then
  echo "SKIP: $cc not found (apt-get install gcc-mingw-w64-x86-64)"
  exit 77
fi
wine=
for candidate in wine64 wine /usr/lib/wine/wine64; do
  if command -v "$candidate" >/dev/null 2>&1; then
    wine=$(command -v "$candidate")
    break
  fi
done
if [ -z "$wine" ]; then
  echo "SKIP: Wine not found (apt-get install wine64)"
  exit 77
fi
wineserver=
for candidate in wineserver64 wineserver /usr/lib/wine/wineserver64 /usr/lib/wine/wineserver; do
  if command -v "$candidate" >/dev/null 2>&1; then
    wineserver=$(command -v "$candidate")
    break
  fi
done

qemu="$root/src/core/qemu"
tmp=$(mktemp -d) || exit 1

# A prefix of our own, kept in the build tree: creating one takes a while.
export WINEPREFIX="${CHRONOS_BUILD_ROOT:-$tmp}/tests/win32/wineprefix"
export WINEDEBUG=-all
export WINEDLLOVERRIDES="mscoree,mshtml="
export WINEARCH=win64
mkdir -p "$WINEPREFIX"

cleanup() {
  # Only this prefix's wineserver, which would otherwise linger a few seconds.
  if [ -n "$wineserver" ]; then
    "$wineserver" -k >/dev/null 2>&1 || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

exe="$tmp/win32-native-test.exe"
if ! "$cc" -std=gnu11 -O1 -Wall -Wextra -Werror -static -I"$qemu" \
    -o "$exe" "$root/tests/win32/win32-native-test.c" \
    "$qemu"/chronos-win32-*.c; then
  echo "FAIL: could not build the Windows test program"
  exit 1
fi

# The program works in a folder of its own, passed as a Windows path.
work="$tmp/work"
mkdir -p "$work"
"$wine" "$exe" "Z:$(echo "$work" | tr '/' '\\')" 2>&1 | tr -d '\r'
# POSIX sh has no pipefail: the program leaves a file named "passed" in its
# folder when every check passed.
status=0
if [ ! -f "$work/passed" ]; then
  status=1
fi
exit $status
