#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bench-disk-reads.sh: does Chronos's protected chain slow the guest's disk
# reads down?
#
# Method: a VHDX of SIZE (1 GiB) filled with random data (qemu-img convert
# from /dev/urandom). Three ways to read it, as QEMU's block layer sees
# them, each through qemu-io (the block layer without a guest):
#   chronos   the chain Chronos builds: a qcow2 overlay (made with
#             `qemu-img create -f qcow2 -b IMAGE -F vhdx`) over the VHDX
#             opened as an explicitly read-only node (DESIGN.md rule 2);
#   snapshot  QEMU's snapshot=on on the same VHDX (qemu-io -s: a temporary
#             qcow2 overlay QEMU makes itself);
#   qcow2     the image converted to qcow2 (`chronos-vm convert`), read
#             directly: what a user who converts first would boot.
# Sequential: the whole image in 1 MiB reads, queue depth 1. Random: RANDOM
# (20000) 4 KiB reads at offsets from a fixed seed, queue depth 1. The page
# cache is warm (one untimed pass first), so the figures compare the format
# layers, not the disk. RUNS (5) timed runs each, medians printed, with the
# ratios chronos/snapshot and chronos/qcow2 (time; 1.00 = as fast).
# Goal: the protected chain within a few percent of snapshot=on.
#
# Usage: bench/bench-disk-reads.sh [BUILDDIR]   (default _build; SIZE=1G RUNS=5)

set -eu

BUILD=${1:-_build}
CHRONOS_VM=${CHRONOS_VM:-$BUILD/src/cli/chronos-vm}
SIZE=${SIZE:-1G}
RUNS=${RUNS:-5}
RANDOM_READS=${RANDOM_READS:-20000}
QEMU_IMG=$(command -v qemu-img || true)
QEMU_IO=$(command -v qemu-io || true)
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

if [ -z "$QEMU_IMG" ] || [ -z "$QEMU_IO" ]; then
  echo "bench-disk-reads: needs qemu-img and qemu-io" >&2
  exit 77
fi

work=$(mktemp -d "${TMPDIR:-/var/tmp}/chronos-bench-reads-XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

img=$work/backup.vhdx
ovl=$work/overlay.qcow2
conv=$work/converted.qcow2
bytes=$(numfmt --from=iec "$SIZE")

echo "bench-disk-reads: $SIZE of random data in a dynamic VHDX ($work)"
head -c "$bytes" /dev/urandom >"$work/random.raw"
"$QEMU_IMG" convert -f raw -O vhdx "$work/random.raw" "$img"
rm -f "$work/random.raw"
chmod 0444 "$img"
"$QEMU_IMG" create -q -f qcow2 -b "$img" -F vhdx "$ovl"
if [ -x "$CHRONOS_VM" ]; then
  "$CHRONOS_VM" convert "$img" "$conv" >/dev/null
else
  echo "  ($CHRONOS_VM is not built: converting with qemu-img)"
  "$QEMU_IMG" convert -f vhdx -O qcow2 "$img" "$conv"
fi

# The command files qemu-io reads on stdin.
"$PY" - "$bytes" "$RANDOM_READS" "$work" <<'PY'
import random, sys
size, n, work = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
mib = 1 << 20
with open(work + "/seq.cmds", "w") as f:
    for off in range(0, size, mib):
        f.write(f"read -q {off} {mib}\n")
rng = random.Random(8)
with open(work + "/rand.cmds", "w") as f:
    for _ in range(n):
        f.write(f"read -q {rng.randrange(size // 4096) * 4096} 4096\n")
PY

chronos_opts="driver=qcow2,file.driver=file,file.filename=$ovl,backing.driver=vhdx,backing.read-only=on,backing.file.driver=file,backing.file.filename=$img,backing.file.read-only=on"

# read_chain NAME CMDS: seconds for qemu-io to run CMDS on chain NAME.
read_chain() {
  case $1 in
    chronos) set -- "$2" --image-opts "$chronos_opts" ;;
    snapshot) set -- "$2" -s -f vhdx "$img" ;;
    qcow2) set -- "$2" -r -f qcow2 "$conv" ;;
  esac
  cmds=$1
  shift
  "$PY" - "$QEMU_IO" "$cmds" "$@" <<'PY'
import subprocess, sys, time
qemu_io, cmds, args = sys.argv[1], sys.argv[2], sys.argv[3:]
t = time.monotonic()
with open(cmds, "rb") as f:
    r = subprocess.run([qemu_io, *args], stdin=f, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
elapsed = time.monotonic() - t
if r.returncode != 0 or r.stderr:
    sys.exit("qemu-io failed: " + r.stderr.decode(errors="replace"))
print(f"{elapsed:.4f}")
PY
}

median() {
  tr ' ' '\n' | grep . | sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

for chain in chronos snapshot qcow2; do
  read_chain "$chain" "$work/seq.cmds" >/dev/null # warm the page cache and the binary
done

results=""
for kind in seq rand; do
  for chain in chronos snapshot qcow2; do
    eval "times_${kind}_$chain=''"
  done
  i=0
  while [ $i -lt "$RUNS" ]; do
    # Interleaved, so drift in the machine's load hits every chain alike.
    for chain in chronos snapshot qcow2; do
      t=$(read_chain "$chain" "$work/$kind.cmds")
      eval "times_${kind}_$chain=\"\$times_${kind}_$chain $t\""
    done
    i=$((i + 1))
  done
  for chain in chronos snapshot qcow2; do
    eval "m=\$(echo \$times_${kind}_$chain | median)"
    eval "med_${kind}_$chain=$m"
  done
done

"$PY" - "$bytes" "$RANDOM_READS" "$RUNS" "$med_seq_chronos" "$med_seq_snapshot" "$med_seq_qcow2" \
  "$med_rand_chronos" "$med_rand_snapshot" "$med_rand_qcow2" <<'PY'
import sys
size, n, runs = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
seq = dict(zip(["chronos", "snapshot", "qcow2"], map(float, sys.argv[4:7])))
rnd = dict(zip(["chronos", "snapshot", "qcow2"], map(float, sys.argv[7:10])))
print(f"medians of {runs} runs (warm page cache, queue depth 1):")
print(f"  {'chain':<10} {'sequential 1 MiB':>22} {'random 4 KiB':>22}")
for c in seq:
    print(f"  {c:<10} {size / seq[c] / 2**20:>12.0f} MiB/s {seq[c]:>6.2f} s"
          f" {n / rnd[c]:>12.0f} IOPS {rnd[c]:>6.2f} s")
for other in ("snapshot", "qcow2"):
    print(f"  time ratio chronos/{other}: sequential {seq['chronos'] / seq[other]:.3f},"
          f" random {rnd['chronos'] / rnd[other]:.3f}")
PY
