#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bench-list.sh [CHRONOS_VM] [COUNT]
#
# How long does listing a folder of backups take? Makes COUNT (1000) small
# VHDX files (copies of a few qemu-img made images: dynamic and fixed, with
# and without data), then times `chronos-vm list --json DIR` against a loop
# of `qemu-img info --output=json` over the same files, which is what a
# script would otherwise run. Prints the median of 5 runs of each and the
# ratio.
set -eu

chronos_vm=${1:-${CHRONOS_VM:-./_build/src/cli/chronos-vm}}
count=${2:-1000}
runs=5

command -v qemu-img >/dev/null || { echo "qemu-img is not installed" >&2; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/chronos-bench-list.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

mkdir "$tmp/src" "$tmp/lib"
qemu-img create -q -f vhdx -o subformat=dynamic "$tmp/src/0.vhdx" 64G
qemu-img create -q -f vhdx -o subformat=dynamic,block_size=1M "$tmp/src/1.vhdx" 2G
qemu-img create -q -f vhdx -o subformat=fixed,block_size=1M "$tmp/src/2.vhdx" 8M
qemu-img create -q -f vhdx -o subformat=dynamic,block_size=32M "$tmp/src/3.vhdx" 1T
qemu-io -f vhdx -c "write -P 0x55 0 1M" -c "write -P 0xaa 500M 64k" "$tmp/src/1.vhdx" >/dev/null
i=0
while [ $i -lt "$count" ]; do
  cp "$tmp/src/$((i % 4)).vhdx" "$tmp/lib/backup-$i.vhdx"
  i=$((i + 1))
done

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

# Bash's clock ($EPOCHREALTIME, read without starting a process): a `date`
# in each interval would add ~1 ms of process start, 3 % of the Chronos side.
time_chronos() {
  start=$EPOCHREALTIME
  "$chronos_vm" list --json "$tmp/lib" >"$tmp/chronos.json"
  end=$EPOCHREALTIME
  echo "${end/,/.} - ${start/,/.}" | bc -l
}

time_qemu() {
  start=$EPOCHREALTIME
  for f in "$tmp"/lib/*.vhdx; do
    qemu-img info --output=json "$f"
  done >"$tmp/qemu.json"
  end=$EPOCHREALTIME
  echo "${end/,/.} - ${start/,/.}" | bc -l
}

# Warm the page cache once so both sides read from memory.
time_chronos >/dev/null
n=$(grep -c '"format" : "vhdx"' "$tmp/chronos.json" || true)
if [ "$n" -ne "$count" ]; then
  echo "chronos-vm listed $n of $count images" >&2
  exit 1
fi

c=$(for r in $(seq $runs); do time_chronos; done | median)
q=$(for r in $(seq $runs); do time_qemu; done | median)

printf 'files:                          %d\n' "$count"
printf 'chronos-vm list --json:         %.3f s (median of %d)\n' "$c" $runs
printf 'qemu-img info --output=json x%d: %.3f s (median of %d)\n' "$count" "$q" $runs
printf 'ratio:                          %.0fx\n' "$(echo "$q / $c" | bc -l)"
