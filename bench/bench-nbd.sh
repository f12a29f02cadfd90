#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bench-nbd.sh: is a VHDX served by Chronos's own reader over NBD as fast
# as QEMU's native vhdx driver reading the same file?
#
# Method: a 1 GiB dynamic VHDX (qemu-img, 1 MiB blocks, ~1000 MiB written
# with qemu-io), page cache warm. The same client reads it both ways:
#  - sequential: `qemu-img bench -c 256 -s 4M -d 16` (1 GiB in 4 MiB reads,
#    16 in flight), `-f vhdx IMAGE` vs `-f raw nbd+unix:///?socket=...`
#    (`chronos-vm serve`);
#  - random: `qemu-io` with 3000 reads of 4 KiB and 1000 of 64 KiB at random
#    4 KiB-aligned offsets (one at a time, the same list both ways).
# Each RUNS times (default 5), alternating the two; prints the medians in
# MiB/s and the ratio NBD/native. Goal: >= 0.8. Times come from bash's
# $EPOCHREALTIME: a `date` process in each interval would add ~1 ms to both.
#
# Usage: bench/bench-nbd.sh [BUILDDIR]   (default _build; RUNS=5)

set -eu

BUILD=${1:-_build}
CHRONOS_VM=${CHRONOS_VM:-$BUILD/src/cli/chronos-vm}
RUNS=${RUNS:-5}
QEMU_IMG=$(command -v qemu-img || true)
QEMU_IO=$(command -v qemu-io || true)

if [ ! -x "$CHRONOS_VM" ] || [ -z "$QEMU_IMG" ] || [ -z "$QEMU_IO" ]; then
  echo "bench-nbd: needs $CHRONOS_VM, qemu-img and qemu-io" >&2
  exit 77
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/chronos-bench-nbd.XXXXXX")
SERVER=
cleanup() {
  if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi
  rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

IMAGE=$TMP/src.vhdx
SOCK=$TMP/nbd.sock
URI="nbd+unix:///?socket=$SOCK"

"$QEMU_IMG" create -q -f vhdx -o block_size=1M "$IMAGE" 1G
"$QEMU_IO" -f vhdx -c 'write -P 0x5a 0 1000M' "$IMAGE" >/dev/null
cat "$IMAGE" >/dev/null

"$CHRONOS_VM" serve "$IMAGE" --socket "$SOCK" >/dev/null 2>&1 &
SERVER=$!
i=0
while [ ! -S "$SOCK" ] && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -S "$SOCK" ] || { echo "bench-nbd: chronos-vm serve did not start" >&2; exit 1; }

# The random read list, the same for both.
awk 'BEGIN { srand(20240907); for (i = 0; i < 3000; i++) printf "-c\nread -q %d 4k\n", int(rand() * 262143) * 4096;
             for (i = 0; i < 1000; i++) printf "-c\nread -q %d 64k\n", int(rand() * 262128) * 4096 }' >"$TMP/random.args"
RANDOM_BYTES=$((3000 * 4096 + 1000 * 65536))

median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
mibs() { echo "$1 / 1048576 / $2" | bc -l; }

seq_read() { "$QEMU_IMG" bench -c 256 -s 4M -d 16 "$@" >/dev/null; }
random_read() {
  # One qemu-io, many -c: the argument list comes from the file, one per line.
  (IFS='
'; set -f; exec "$QEMU_IO" -r $(cat "$TMP/random.args") "$@" >/dev/null)
}

for kind in seq_native seq_nbd rnd_native rnd_nbd; do : >"$TMP/$kind"; done
i=0
while [ "$i" -lt "$RUNS" ]; do
  t0=${EPOCHREALTIME/,/.}; seq_read -f vhdx "$IMAGE"; t1=${EPOCHREALTIME/,/.}
  echo "$t1 - $t0" | bc -l >>"$TMP/seq_native"
  t0=${EPOCHREALTIME/,/.}; seq_read -f raw "$URI"; t1=${EPOCHREALTIME/,/.}
  echo "$t1 - $t0" | bc -l >>"$TMP/seq_nbd"
  t0=${EPOCHREALTIME/,/.}; random_read -f vhdx "$IMAGE"; t1=${EPOCHREALTIME/,/.}
  echo "$t1 - $t0" | bc -l >>"$TMP/rnd_native"
  t0=${EPOCHREALTIME/,/.}; random_read -f raw "$URI"; t1=${EPOCHREALTIME/,/.}
  echo "$t1 - $t0" | bc -l >>"$TMP/rnd_nbd"
  i=$((i + 1))
done

SEQ_BYTES=$((256 * 4 * 1048576))
sn=$(median <"$TMP/seq_native"); sb=$(median <"$TMP/seq_nbd")
rn=$(median <"$TMP/rnd_native"); rb=$(median <"$TMP/rnd_nbd")
printf 'sequential 4 MiB x16:  native vhdx %7.1f MiB/s   NBD (chronos-vm serve) %7.1f MiB/s   ratio %.2f\n' \
  "$(mibs $SEQ_BYTES "$sn")" "$(mibs $SEQ_BYTES "$sb")" "$(echo "$sn / $sb" | bc -l)"
printf 'random 4k/64k x1:      native vhdx %7.1f MiB/s   NBD (chronos-vm serve) %7.1f MiB/s   ratio %.2f\n' \
  "$(mibs $RANDOM_BYTES "$rn")" "$(mibs $RANDOM_BYTES "$rb")" "$(echo "$rn / $rb" | bc -l)"
echo "(median of $RUNS runs; goal: ratio >= 0.80)"
