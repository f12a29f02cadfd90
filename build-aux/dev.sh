#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The two set-up commands of README.md:
#   build-aux/dev.sh demo   install what is missing, build, make the demo
#                           backup library and open Chronos on it
#   build-aux/dev.sh test   install what is missing, build, run every suite
#
# Debian/Ubuntu packages are installed with apt-get when run as root;
# otherwise the one command to run is printed.

set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
builddir=${CHRONOS_BUILDDIR:-$here/_build}
mode=${1:-}

case "$mode" in
  demo|test) ;;
  *) echo "usage: $0 demo|test" >&2; exit 2 ;;
esac

packages=$(sed -e 's/#.*//' "$here/build-aux/debian-packages.txt" | tr -s ' \n' ' ')

missing=""
for pkg in $packages; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $pkg"
  fi
done

if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "Installing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing
  else
    echo "These packages are missing. Install them with:" >&2
    echo "  sudo apt-get install$missing" >&2
    exit 1
  fi
fi

if [ ! -f "$builddir/build.ninja" ]; then
  meson setup "$builddir" "$here" -Ddevelopment=true
fi
meson compile -C "$builddir"

if [ "$mode" = demo ]; then
  demo="$builddir/demo-library"
  "$here/build-aux/make-demo-library.sh" "$builddir" "$demo"
  if [ -x "$builddir/src/app/chronos" ] && [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
    GSETTINGS_SCHEMA_DIR="$builddir/data" exec "$builddir/src/app/chronos" "$demo"
  fi
  echo "No display (or no GTK app built): listing the demo library instead."
  exec "$builddir/src/cli/chronos-vm" list "$demo"/*/
fi

status=0
meson test -C "$builddir" --print-errorlogs --num-processes 2 || status=$?
logs="$builddir/meson-logs/testlog.json"

# The same suites again under AddressSanitizer/UBSan and valgrind
# (CHRONOS_QUICK=1 leaves them out for a faster local run).
if [ -z "${CHRONOS_QUICK:-}" ]; then
  "$here/build-aux/hardening.sh" "$builddir" || status=$?
  logs="$logs ${builddir}-asan/meson-logs/testlog.json $builddir/meson-logs/testlog-valgrind.json"
fi

# shellcheck disable=SC2086
/usr/bin/python3 "$here/build-aux/test-summary.py" $logs
exit $status
