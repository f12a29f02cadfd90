#!/bin/sh
# bench-download.sh: chronos-vm qemu install against curl + sha256sum + bsdtar
#
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Serves a 200 MiB QEMU-like bundle (tar.zst, incompressible payload, one
# top folder) on 127.0.0.1 with python3 -m http.server, then installs it
# RUNS times with each method, alternating, and prints the median times
# and the ratio:
#
#   chronos-vm qemu install --manifest http://127.0.0.1:PORT/manifest.json --dest D --yes
#     (download with a streaming SHA-256 that is the verification of size
#     and hash, safe extraction into a temporary folder, fsync of the new
#     install, atomic swap, the download removed)
#   curl -o F URL && sha256sum F && bsdtar -x --strip-components 1 -f F -C D
#     (what a person would otherwise type: no fsync, the download kept)
#
# Both start alike: the bundle is in the page cache (the server reads it
# from there), the previous run's output is removed and `sync` has written
# out every dirty page before the clock starts, so neither side pays for
# the other's writeback. Only chronos-vm syncs its own output, inside its
# time.
#
# Usage: bench/bench-download.sh [CHRONOS_VM] [SIZE_MIB] [RUNS]
# CHRONOS_VM defaults to $CHRONOS_VM, then ./_build/src/cli/chronos-vm.

set -eu

CHRONOS_VM=${1:-${CHRONOS_VM:-./_build/src/cli/chronos-vm}}
SIZE_MIB=${2:-200}
RUNS=${3:-5}
PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || PYTHON=python3

for tool in curl sha256sum bsdtar zstd "$CHRONOS_VM"; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "bench-download: $tool is missing" >&2
    exit 77
  fi
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/chronos-bench-download-XXXXXX")
SERVER_PID=
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

# The bundle: real QEMU binaries where present, plus random bytes up to SIZE_MIB.
STAGE="$WORK/stage/qemu-bench"
mkdir -p "$STAGE/bin" "$STAGE/share/qemu" "$WORK/www"
for b in qemu-system-x86_64 qemu-img; do
  if [ -x "/usr/bin/$b" ]; then cp "/usr/bin/$b" "$STAGE/bin/$b"; else printf '#!/bin/sh\n' >"$STAGE/bin/$b"; chmod +x "$STAGE/bin/$b"; fi
done
# The binaries compress; the random payload does not: fill up to SIZE_MIB.
USED=$(bsdtar -c --zstd -f - -C "$WORK/stage" qemu-bench | wc -c)
head -c $(( SIZE_MIB * 1024 * 1024 - USED )) /dev/urandom >"$STAGE/share/qemu/payload.bin"
BUNDLE="$WORK/www/qemu-bench.tar.zst"
bsdtar -c --zstd -f "$BUNDLE" -C "$WORK/stage" qemu-bench
rm -rf "$WORK/stage"
SIZE=$(stat -c %s "$BUNDLE")
SHA=$(sha256sum "$BUNDLE" | cut -d' ' -f1)

PORT=$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
URL="http://127.0.0.1:$PORT/qemu-bench.tar.zst"
cat >"$WORK/www/manifest.json" <<JSON
{ "schema": 1, "components": [ {
  "id": "qemu", "version": "0.0-bench", "os": "linux", "arch": "$(uname -m)",
  "url": "$URL", "mirrors": [], "size": $SIZE, "sha256": "$SHA", "format": "tar.zst",
  "strip_components": 1,
  "files": { "system": "bin/qemu-system-x86_64", "img": "bin/qemu-img", "firmware_dir": "share/qemu" } } ] }
JSON

"$PYTHON" -m http.server "$PORT" --bind 127.0.0.1 --directory "$WORK/www" >/dev/null 2>&1 &
SERVER_PID=$!
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$PORT/manifest.json" && break; sleep 0.1; done

now() { date +%s.%N; }
median() { sort -n | sed -n "$(( (RUNS + 1) / 2 ))p"; }
# The bundle is read once before timing, so that both sides find it cached.
cat "$BUNDLE" >/dev/null

chronos_run() {
  rm -rf "$WORK/chronos"; mkdir -p "$WORK/chronos"
  sync
  t0=$(now)
  "$CHRONOS_VM" qemu install --manifest "http://127.0.0.1:$PORT/manifest.json" \
    --dest "$WORK/chronos/qemu" --yes >/dev/null 2>"$WORK/chronos.err" \
    || { cat "$WORK/chronos.err" >&2; exit 1; }
  t1=$(now)
  [ -f "$WORK/chronos/qemu/share/qemu/payload.bin" ] || { echo "bench-download: chronos-vm did not install" >&2; exit 1; }
  [ -z "$(ls -A "$WORK/chronos" | grep -v '^qemu$')" ] || { echo "bench-download: chronos-vm left $(ls -A "$WORK/chronos")" >&2; exit 1; }
  echo "$t1 - $t0" | bc
}

curl_run() {
  rm -rf "$WORK/curl"; mkdir -p "$WORK/curl/qemu"
  sync
  t0=$(now)
  curl -s -o "$WORK/curl/bundle.tar.zst" "$URL"
  echo "$SHA  $WORK/curl/bundle.tar.zst" | sha256sum -c --status
  bsdtar -x --strip-components 1 -f "$WORK/curl/bundle.tar.zst" -C "$WORK/curl/qemu"
  t1=$(now)
  echo "$t1 - $t0" | bc
}

echo "bundle: $(( SIZE / 1024 / 1024 )) MiB tar.zst on 127.0.0.1 (python3 -m http.server), median of $RUNS"
# Builds without Nettle hash with GChecksum, about 3x slower where the CPU has SHA instructions.
# (libarchive loads libnettle either way: look for the hash function itself.)
if nm -D --undefined-only "$(command -v "$CHRONOS_VM")" 2>/dev/null | grep -q nettle_sha256_update; then
  echo "chronos-vm's SHA-256: Nettle"
else
  echo "chronos-vm's SHA-256: GChecksum (no Nettle in this build)"
fi
: >"$WORK/t-chronos"; : >"$WORK/t-curl"
for i in $(seq $RUNS); do
  c=$(curl_run); echo "$c" >>"$WORK/t-curl"
  v=$(chronos_run); echo "$v" >>"$WORK/t-chronos"
  printf '  run %d: chronos-vm %.2f s, curl+sha256sum+bsdtar %.2f s\n' "$i" "$v" "$c"
done
TC=$(median <"$WORK/t-chronos")
TU=$(median <"$WORK/t-curl")
printf 'chronos-vm qemu install:          %.2f s (%.0f MiB/s)\n' "$TC" "$(echo "$SIZE / 1048576 / $TC" | bc -l)"
printf 'curl -o + sha256sum + bsdtar -x:  %.2f s (%.0f MiB/s)\n' "$TU" "$(echo "$SIZE / 1048576 / $TU" | bc -l)"
printf 'ratio chronos-vm / curl pipeline: %.2f\n' "$(echo "$TC / $TU" | bc -l)"
