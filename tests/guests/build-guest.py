#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Build one Chronos test guest from source into a dynamic VHDX disk image.

    build-guest.py [options] NAME OUTPUT.vhdx

The BIOS guests are variants of bios-guest.S (real-mode MBR boot code), linked at
0x7C00 and written to an MBR disk with one active partition.  uefi-hello is an EFI
application (uefi-hello.c, freestanding, clang + lld-link) on the EFI System Partition
of a GPT disk whose headers this script writes.  `blank` is a disk of zeros.  Every
disk is built as a sparse raw file first and then converted with
`qemu-img convert -O vhdx -o subformat=dynamic`.  See README.md.

Tools come from the options or the environment (CC, LD, QEMU_IMG, CLANG, LLD_LINK,
MFORMAT, MMD, MCOPY), else from PATH.
"""

import argparse
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import uuid
import zlib

SECTOR = 512
DISK_SIZE = 64 * 1024 * 1024
DISK_SECTORS = DISK_SIZE // SECTOR
PARTITION_START = 2048  # 1 MiB: the usual alignment; stage 2 lives in the gap before it

# name -> (kind, feature macros for bios-guest.S)
GUESTS = {
    'bios-hello': ('bios', ['GUEST_POWER']),
    'bios-writer': ('bios', ['GUEST_WRITER', 'GUEST_POWER']),
    'bios-filler': ('bios', ['GUEST_FILLER', 'GUEST_POWER']),
    'bios-ignore-powerdown': ('bios', ['GUEST_IGNORE']),
    'bios-stopscreen': ('bios', ['GUEST_STOPSCREEN']),
    'bios-tripleflt': ('bios', ['GUEST_TRIPLEFAULT']),
    'bios-black': ('bios', ['GUEST_BLACK']),
    'bios-slow': ('bios', ['GUEST_SLOW', 'GUEST_POWER']),
    'blank': ('blank', []),
    'uefi-hello': ('uefi', []),
}

# Fixed GUIDs so that two builds of the same source give the same disk.
ESP_TYPE_GUID = uuid.UUID('c12a7328-f81f-11d2-ba4b-00a0c93ec93b')
UEFI_DISK_GUID = uuid.UUID('6368726f-6e6f-7300-8000-756566692d68')
UEFI_ESP_GUID = uuid.UUID('6368726f-6e6f-7300-8000-6573702d3031')


def run(argv, **kwargs):
    try:
        subprocess.run(argv, check=True, **kwargs)
    except FileNotFoundError:
        sys.exit(f'build-guest: {argv[0]} is not installed')
    except subprocess.CalledProcessError as e:
        sys.exit(f'build-guest: {" ".join(argv)} failed with status {e.returncode}')


def tool(args_value, env_name, *candidates):
    """The first of an explicit path, $ENV_NAME, or a candidate found on PATH."""
    if args_value:
        return args_value
    if os.environ.get(env_name):
        return os.environ[env_name]
    for c in candidates:
        found = shutil.which(c)
        if found:
            return found
    sys.exit(f'build-guest: none of {", ".join(candidates)} is installed')


def chs(lba):
    """CHS triple for an MBR entry with 255 heads x 63 sectors, capped at 1023/254/63."""
    cyl, rest = divmod(lba, 255 * 63)
    head, sector = divmod(rest, 63)
    if cyl > 1023:
        cyl, head, sector = 1023, 254, 62
    sector += 1
    return bytes([head, ((cyl >> 2) & 0xc0) | sector, cyl & 0xff])


def mbr_entry(bootable, ptype, start, count):
    return (bytes([0x80 if bootable else 0]) + chs(start) + bytes([ptype]) +
            chs(start + count - 1) + struct.pack('<II', start, count))


def build_bios(name, features, srcdir, tmp, args):
    cc = tool(args.cc, 'CC', 'gcc', 'clang', 'cc')
    ld = tool(args.ld, 'LD', 'ld', 'ld.bfd', 'ld.lld')
    obj = os.path.join(tmp, 'guest.o')
    binary = os.path.join(tmp, 'guest.bin')
    cflags = ['-c', '-x', 'assembler-with-cpp', f'-DGUEST_NAME="{name}"']
    cflags += [f'-D{f}' for f in features]
    if 'clang' in os.path.basename(cc):
        cflags += ['--target=i386-unknown-none-elf']
    else:
        cflags += ['-m32']
    run([cc] + cflags + ['-o', obj, os.path.join(srcdir, 'bios-guest.S')])
    run([ld, '-m', 'elf_i386', '-T', os.path.join(srcdir, 'bios-guest.ld'),
         '--oformat', 'binary', '-o', binary, obj])

    with open(binary, 'rb') as f:
        code = f.read()
    if len(code) < SECTOR or code[510:512] != b'\x55\xaa':
        sys.exit('build-guest: the boot sector does not end in 55 AA')
    if len(code) > (PARTITION_START - 1) * SECTOR:
        sys.exit('build-guest: stage 2 does not fit before the partition')

    mbr = bytearray(code[:SECTOR])
    # Disk signature: stable per guest name, never zero.
    mbr[440:444] = struct.pack('<I', (zlib.crc32(name.encode()) | 1) & 0xffffffff)
    mbr[444:446] = b'\0\0'
    # One active partition from 1 MiB to the end, type 0x07 (NTFS/IFS) like the
    # Windows system disks Chronos is made for.  It is not formatted.
    mbr[446:510] = (mbr_entry(True, 0x07, PARTITION_START, DISK_SECTORS - PARTITION_START)
                    + bytes(48))
    return bytes(mbr) + code[SECTOR:]


def gpt_entry(type_guid, part_guid, first, last, name):
    return (type_guid.bytes_le + part_guid.bytes_le + struct.pack('<QQQ', first, last, 0)
            + name.encode('utf-16-le').ljust(72, b'\0'))


def gpt_header(current, backup, first_usable, last_usable, entries_lba, entries_crc):
    fields = [b'EFI PART', 0x00010000, 92, 0, 0, current, backup, first_usable,
              last_usable, UEFI_DISK_GUID.bytes_le, entries_lba, 128, 128, entries_crc]
    fmt = '<8sIIIIQQQQ16sQIII'
    header = struct.pack(fmt, *fields)
    fields[3] = zlib.crc32(header)
    return struct.pack(fmt, *fields).ljust(SECTOR, b'\0')


def build_uefi(srcdir, tmp, raw, args):
    clang = tool(args.clang, 'CLANG', 'clang')
    lld_link = tool(args.lld_link, 'LLD_LINK', 'lld-link')
    mformat = tool(None, 'MFORMAT', 'mformat')
    mmd = tool(None, 'MMD', 'mmd')
    mcopy = tool(None, 'MCOPY', 'mcopy')

    obj = os.path.join(tmp, 'uefi-hello.obj')
    efi = os.path.join(tmp, 'BOOTX64.EFI')
    run([clang, '--target=x86_64-unknown-windows', '-ffreestanding', '-fshort-wchar',
         '-fno-stack-protector', '-fno-stack-check', '-mno-red-zone', '-fno-builtin',
         '-O2', '-Wall', '-Wextra', '-Werror', '-c', '-o', obj,
         os.path.join(srcdir, 'uefi-hello.c')])
    run([lld_link, '/nologo', '/subsystem:efi_application', '/entry:efi_main',
         '/nodefaultlib', '/machine:x64', '/out:' + efi, obj])

    # GPT: 128 entries of 128 bytes = 32 sectors, at LBA 2 and before the backup header.
    entry_sectors = 128 * 128 // SECTOR
    last_lba = DISK_SECTORS - 1
    backup_entries_lba = last_lba - entry_sectors
    first_usable = 2 + entry_sectors
    last_usable = backup_entries_lba - 1
    esp_first = PARTITION_START
    esp_last = last_usable - (last_usable + 1) % 2048  # end on a 1 MiB boundary
    entries = gpt_entry(ESP_TYPE_GUID, UEFI_ESP_GUID, esp_first, esp_last,
                        'EFI system partition').ljust(128 * 128, b'\0')
    entries_crc = zlib.crc32(entries)

    # Protective MBR: one entry of type 0xEE from LBA 1 over the whole disk (64 MiB
    # fits in the 32-bit size field, so no 0xFFFFFFFF cap is needed).
    protective = bytearray(SECTOR)
    protective[446:462] = (bytes([0]) + chs(1) + bytes([0xee]) + chs(DISK_SECTORS - 1)
                           + struct.pack('<II', 1, DISK_SECTORS - 1))
    protective[510:512] = b'\x55\xaa'

    with open(raw, 'r+b') as f:
        f.seek(0)
        f.write(protective)
        f.write(gpt_header(1, last_lba, first_usable, last_usable, 2, entries_crc))
        f.write(entries)
        f.seek(backup_entries_lba * SECTOR)
        f.write(entries)
        f.write(gpt_header(last_lba, 1, first_usable, last_usable, backup_entries_lba,
                           entries_crc))

    # FAT file system on the ESP, written through mtools' image@@offset syntax.
    image = f'{raw}@@{esp_first * SECTOR}'
    env = dict(os.environ, MTOOLS_SKIP_CHECK='1', MTOOLSRC='/dev/null')
    size = esp_last - esp_first + 1
    run([mformat, '-i', image, '-T', str(size), '-h', '64', '-s', '32',
         '-H', str(esp_first), '-v', 'CHRONOS-ESP', '-N', '43485253', '::'], env=env)
    run([mmd, '-i', image, '::/EFI', '::/EFI/BOOT'], env=env)
    run([mcopy, '-i', image, efi, '::/EFI/BOOT/BOOTX64.EFI'], env=env)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('name', choices=sorted(GUESTS))
    parser.add_argument('output', help='the .vhdx to write')
    parser.add_argument('--raw', help='also keep the raw disk here')
    parser.add_argument('--source-dir', default=os.path.dirname(os.path.abspath(__file__)))
    parser.add_argument('--qemu-img')
    parser.add_argument('--cc')
    parser.add_argument('--ld')
    parser.add_argument('--clang')
    parser.add_argument('--lld-link')
    args = parser.parse_args()

    kind, features = GUESTS[args.name]
    qemu_img = tool(args.qemu_img, 'QEMU_IMG', 'qemu-img')
    outdir = os.path.dirname(os.path.abspath(args.output))
    os.makedirs(outdir, exist_ok=True)

    with tempfile.TemporaryDirectory(prefix=f'.{args.name}-', dir=outdir) as tmp:
        raw = os.path.join(tmp, 'disk.raw')
        with open(raw, 'wb') as f:
            f.truncate(DISK_SIZE)
        if kind == 'bios':
            boot = build_bios(args.name, features, args.source_dir, tmp, args)
            with open(raw, 'r+b') as f:
                f.write(boot)
        elif kind == 'uefi':
            build_uefi(args.source_dir, tmp, raw, args)
        # blank: all zeros, no 55 AA: the firmware finds nothing to boot.

        vhdx = os.path.join(tmp, 'disk.vhdx')
        run([qemu_img, 'convert', '-q', '-f', 'raw', '-O', 'vhdx',
             '-o', 'subformat=dynamic', raw, vhdx])
        os.replace(vhdx, args.output)
        if args.raw:
            os.replace(raw, args.raw)


if __name__ == '__main__':
    main()
