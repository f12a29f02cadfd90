#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# run-fuzzer.sh TARGET SOURCE_ROOT BUILD_ROOT [SECONDS]
#
# Builds fuzz/fuzz-TARGET.c with clang's libFuzzer, ASan and UBSan straight
# from the image sources, makes a seed corpus (crafted VHDX files, and
# qemu-img ones when it is installed), and fuzzes for SECONDS (25). A crash
# leaves crash-* in BUILD_ROOT/fuzz/TARGET/ and fails the test; copy it into
# tests/image/fuzz-regressions/ once fixed. Exit 77 when clang or libFuzzer
# is missing.
set -eu

target=$1
src=$2
build=$3
seconds=${4:-25}
out=$build/fuzz/$target
python=/usr/bin/python3
[ -x "$python" ] || python=python3

if ! command -v clang >/dev/null 2>&1; then
  echo "SKIP: clang is not installed"
  exit 77
fi
mkdir -p "$out"
if ! echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n){return 0;}' |
     clang -x c -fsanitize=fuzzer -o "$out/probe" - >/dev/null 2>&1; then
  echo "SKIP: clang has no libFuzzer (-fsanitize=fuzzer)"
  exit 77
fi

img=$src/src/core/image
clang -g -O1 -std=gnu11 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
  -D_GNU_SOURCE -DGLIB_VERSION_MIN_REQUIRED=GLIB_VERSION_2_74 \
  -I"$build" -I"$build/src/core" -I"$src/src/core" -I"$img" \
  $(pkg-config --cflags glib-2.0 gio-2.0 json-glib-1.0) \
  "$src/fuzz/fuzz-$target.c" "$img/chronos-crc.c" "$img/chronos-image-error.c" \
  "$img/chronos-image-info.c" "$img/chronos-partition-probe.c" "$img/chronos-vhdx.c" \
  $(pkg-config --libs glib-2.0 gio-2.0 json-glib-1.0) -lm \
  -o "$out/fuzz-$target"

seeds=$out/seeds
corpus=$out/corpus
rm -rf "$seeds" "$corpus"
mkdir -p "$seeds" "$corpus"
craft=$src/tests/image/craft-vhdx.py
case $target in
  vhdx)
    "$python" "$craft" "$seeds/plain.vhdx" --size 4194304 --mbr
    "$python" "$craft" "$seeds/log.vhdx" --size 4194304 --log
    "$python" "$craft" "$seeds/child.vhdx" --size 4194304 --parent 'parent.vhdx'
    "$python" "$craft" "$seeds/4k.vhdx" --size 4194304 --sector 4096 --mbr
    if command -v qemu-img >/dev/null 2>&1; then
      qemu-img create -q -f vhdx -o subformat=dynamic,block_size=1M "$seeds/qemu.vhdx" 16M
    fi
    max_len=8388608
    ;;
  partition)
    # The first sectors of the crafted disks, plus a hand-made MBR and GPT.
    "$python" - "$seeds" <<'PY'
import os, struct, sys, uuid, zlib
d = sys.argv[1]
mbr = bytearray(4096)
struct.pack_into("<B3sB3sII", mbr, 446, 0x80, b"\0\0\0", 0x07, b"\0\0\0", 1, 4)
struct.pack_into("<B3sB3sII", mbr, 462, 0, b"\0\0\0", 0x0f, b"\0\0\0", 5, 3)
mbr[510:512] = b"\x55\xaa"
ebr = bytearray(512); struct.pack_into("<B3sB3sII", ebr, 446, 0, b"\0\0\0", 0x83, b"\0\0\0", 1, 1); ebr[510:512] = b"\x55\xaa"
mbr[5 * 512:6 * 512] = ebr
open(os.path.join(d, "mbr"), "wb").write(mbr)
n = 64
ents = bytearray(n * 128)
ents[0:16] = uuid.UUID("C12A7328-F81F-11D2-BA4B-00A0C93EC93B").bytes_le
struct.pack_into("<QQ", ents, 32, 34, 40)
ents[56:62] = "ESP".encode("utf-16-le")
disk = bytearray(512 * 64)
struct.pack_into("<B3sB3sII", disk, 446, 0, b"\0\0\0", 0xEE, b"\0\0\0", 1, 63)
disk[510:512] = b"\x55\xaa"
h = bytearray(92); h[0:8] = b"EFI PART"
struct.pack_into("<IIII", h, 8, 0x10000, 92, 0, 0)
struct.pack_into("<QQQQ", h, 24, 1, 63, 34, 60)
struct.pack_into("<QIII", h, 72, 2, n, 128, zlib.crc32(ents))
struct.pack_into("<I", h, 16, zlib.crc32(h))
disk[512:604] = h
disk[1024:1024 + len(ents)] = ents
open(os.path.join(d, "gpt"), "wb").write(disk)
PY
    max_len=65536
    ;;
  *)
    echo "unknown fuzz target $target" >&2
    exit 2
    ;;
esac

cd "$out"
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
nice "./fuzz-$target" -max_total_time="$seconds" -max_len=$max_len -timeout=20 -rss_limit_mb=2048 \
  -artifact_prefix="$out/" -print_final_stats=1 "$corpus" "$seeds"
