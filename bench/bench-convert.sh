#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bench-convert.sh: does `chronos-vm convert` cost anything over running
# `qemu-img convert -p` by hand?
#
# Method: a 1 GiB dynamic VHDX with ~1000 MiB of written data (qemu-io), then
# alternately `qemu-img convert -f vhdx -O qcow2 -p` (its progress going to a
# pipe, as ours does) and `chronos-vm convert --progress` (plain progress
# lines), each into a fresh output, RUNS times; prints the medians and the
# ratio. The page cache is warm for both (the source is read once first),
# and each timing ends with `sync`: a conversion is done when the copy is on
# disk, and without it the figure is a memcpy into the page cache (0.4 s
# here) where the ~25 ms of checks Chronos runs first (QEMU discovery,
# `qemu-img info`, free space) would look like 6 %.
# Goal: within 2 %.
#
# Usage: bench/bench-convert.sh [BUILDDIR]   (default _build; RUNS=3)

set -eu

BUILD=${1:-_build}
CHRONOS_VM=${CHRONOS_VM:-$BUILD/src/cli/chronos-vm}
RUNS=${RUNS:-3}
QEMU_IMG=$(command -v qemu-img)
QEMU_IO=$(command -v qemu-io)

if [ ! -x "$CHRONOS_VM" ] || [ -z "$QEMU_IMG" ] || [ -z "$QEMU_IO" ]; then
  echo "bench-convert: needs $CHRONOS_VM, qemu-img and qemu-io" >&2
  exit 77
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/chronos-bench-convert.XXXXXX")
trap 'rm -rf "$TMP"' EXIT INT TERM

"$QEMU_IMG" create -q -f vhdx "$TMP/src.vhdx" 1G
"$QEMU_IO" -f vhdx -c 'write -P 0x5a 0 1000M' "$TMP/src.vhdx" >/dev/null
cat "$TMP/src.vhdx" >/dev/null

now() { date +%s.%N; }
median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

: >"$TMP/bare"
: >"$TMP/chronos"
i=0
while [ "$i" -lt "$RUNS" ]; do
  rm -f "$TMP/out.qcow2"
  sync
  t0=$(now)
  "$QEMU_IMG" convert -f vhdx -O qcow2 -p "$TMP/src.vhdx" "$TMP/out.qcow2" | cat >/dev/null
  sync
  t1=$(now)
  echo "$t1 - $t0" | bc -l >>"$TMP/bare"

  rm -f "$TMP/out.qcow2"
  sync
  t0=$(now)
  "$CHRONOS_VM" convert --progress "$TMP/src.vhdx" "$TMP/out.qcow2" >/dev/null
  sync
  t1=$(now)
  echo "$t1 - $t0" | bc -l >>"$TMP/chronos"
  i=$((i + 1))
done

"$QEMU_IMG" compare -q -f vhdx -F qcow2 "$TMP/src.vhdx" "$TMP/out.qcow2"

bare=$(median <"$TMP/bare")
chronos=$(median <"$TMP/chronos")
printf 'qemu-img convert -p      median of %d: %.2f s  (runs: %s)\n' "$RUNS" "$bare" "$(tr '\n' ' ' <"$TMP/bare")"
printf 'chronos-vm convert       median of %d: %.2f s  (runs: %s)\n' "$RUNS" "$chronos" "$(tr '\n' ' ' <"$TMP/chronos")"
printf 'ratio chronos/qemu-img: %.3f (goal: <= 1.02)\n' "$(echo "$chronos / $bare" | bc -l)"
