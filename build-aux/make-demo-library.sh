#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Fill a folder with a demo backup library made of the test guests (tests/guests/):
#   build-aux/make-demo-library.sh BUILDDIR DEST
# Builds the guest images in BUILDDIR, copies them into DEST under friendly machine
# and date names, sets each file's modification time to its date (so "newest first"
# means something) and prints DEST.  Running it again refreshes the same files.
# Copies, never links: Chronos must treat these exactly like real backups.

set -eu

if [ $# -ne 2 ]; then
  echo "usage: $0 BUILDDIR DEST" >&2
  exit 2
fi
builddir=$1
dest=$2
guests="$builddir/tests/guests"

# folder/file.vhdx  guest  date (also the file's mtime)
library='
Office-PC/Office-PC-2026-11-24.vhdx       bios-hello       2026-11-24 09:00
Office-PC/Office-PC-2026-11-17.vhdx       bios-slow        2026-11-17 09:00
Laptop-UEFI/Laptop-2026-11-20.vhdx        uefi-hello       2026-11-20 18:30
Old-Server/Old-Server-2026-10-12.vhdx     bios-stopscreen  2026-10-12 02:00
Old-Server/Old-Server-2026-10-05.vhdx     bios-tripleflt   2026-10-05 02:00
Kiosk/Kiosk-2026-11-02.vhdx               bios-black       2026-11-02 07:15
Spare-Disk/Spare-Disk-2026-09-01.vhdx     blank            2026-09-01 12:00
'

needed=$(echo "$library" | awk 'NF { print $2 }' | sort -u)

if [ ! -f "$builddir/build.ninja" ]; then
  echo "$builddir is not a configured build directory (run meson setup first)." >&2
  exit 1
fi
targets=""
for g in $needed; do
  targets="$targets tests/guests/guest-$g"
done
# shellcheck disable=SC2086
if ! meson compile -C "$builddir" $targets >&2; then
  echo "Building the test guests failed. They need qemu-img, gcc or clang with" >&2
  echo "binutils or lld, and for the UEFI one clang, lld and mtools (see" >&2
  echo "tests/guests/README.md); the build must have -Dtests=true." >&2
  exit 1
fi

mkdir -p "$dest"
echo "$library" | while read -r path guest day time; do
  [ -n "$path" ] || continue
  src="$guests/$guest.vhdx"
  out="$dest/$path"
  if [ ! -f "$src" ]; then
    echo "$src was not built." >&2
    exit 1
  fi
  mkdir -p "$(dirname "$out")"
  if ! cmp -s "$src" "$out" 2>/dev/null; then
    tmp="$out.tmp.$$"
    cp --reflink=auto --sparse=always "$src" "$tmp"
    mv -f "$tmp" "$out"
  fi
  touch -d "$day $time" "$out"
done

(cd "$dest" && pwd)
