#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bench-verify.sh: how soon does `chronos-vm verify` give its verdict,
# compared with the moment the guest is really up and with the fixed waits
# backup products use ("boot, wait N minutes, take a screenshot")?
#
# Method: RUNS times (default 5) `chronos-vm verify --json --accel tcg
# --serial FILE` on the bios-hello and bios-slow test guests, while a poller
# notes (every 20 ms) when the guest's "booted" line reaches its serial
# port. Prints the medians of: the serial line's time, the verdict's wall
# time, their difference, and the ratio of the verdict's time to fixed waits
# of 120 s and 300 s (plus the same boot), which is what a fixed-wait policy
# would take for the same answer.
#
# Usage: bench/bench-verify.sh [BUILDDIR]   (default _build; RUNS=5)

set -eu

BUILD=${1:-_build}
CHRONOS_VM=${CHRONOS_VM:-$BUILD/src/cli/chronos-vm}
GUESTS=${CHRONOS_GUESTS_DIR:-$BUILD/tests/guests}
RUNS=${RUNS:-5}

for guest in bios-hello bios-slow; do
  if [ ! -f "$GUESTS/$guest.vhdx" ]; then
    ninja -C "$BUILD" "tests/guests/$guest.vhdx" >/dev/null
  fi
done
if [ ! -x "$CHRONOS_VM" ]; then
  echo "bench-verify: $CHRONOS_VM is missing" >&2
  exit 77
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/chronos-bench-verify.XXXXXX")
trap 'rm -rf "$TMP"' EXIT INT TERM
export XDG_CACHE_HOME="$TMP/cache"

median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

for guest in bios-hello bios-slow; do
  : >"$TMP/serial-times"
  : >"$TMP/verdict-times"
  : >"$TMP/gaps"
  i=0
  while [ "$i" -lt "$RUNS" ]; do
    rm -f "$TMP/serial.txt"
    /usr/bin/python3 - "$CHRONOS_VM" "$GUESTS/$guest.vhdx" "$TMP/serial.txt" "$guest" >>"$TMP/runs" <<'PY'
import json, os, subprocess, sys, time
vm, image, serial, guest = sys.argv[1:]
start = time.monotonic()
proc = subprocess.Popen([vm, 'verify', '--json', '--accel', 'tcg', '--serial', serial, image],
                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
seen = None
while proc.poll() is None:
    if seen is None and os.path.exists(serial):
        with open(serial, 'rb') as f:
            if (b'CHRONOS-GUEST %s: booted' % guest.encode()) in f.read():
                seen = time.monotonic() - start
    time.sleep(0.02)
out = proc.stdout.read()
total = time.monotonic() - start
verdict = json.loads(out)['verdict'] if out.strip() else 'none'
if verdict != 'booted' or seen is None:
    sys.exit('bench-verify: %s gave %s (serial line at %s)' % (guest, verdict, seen))
print('%.3f %.3f' % (seen, total))
PY
    tail -n 1 "$TMP/runs" | awk '{ print $1 }' >>"$TMP/serial-times"
    tail -n 1 "$TMP/runs" | awk '{ print $2 }' >>"$TMP/verdict-times"
    tail -n 1 "$TMP/runs" | awk '{ print $2 - $1 }' >>"$TMP/gaps"
    i=$((i + 1))
  done
  serial=$(median <"$TMP/serial-times")
  verdict=$(median <"$TMP/verdict-times")
  gap=$(median <"$TMP/gaps")
  printf '%s (TCG, median of %d): serial "booted" at %.2f s, verdict at %.2f s (%.2f s later; settle 3 s)\n' \
    "$guest" "$RUNS" "$serial" "$verdict" "$gap"
  printf '  vs a fixed 120 s wait: %.1fx faster; vs 300 s: %.1fx faster\n' \
    "$(echo "(120 + $serial) / $verdict" | bc -l)" "$(echo "(300 + $serial) / $verdict" | bc -l)"
done
