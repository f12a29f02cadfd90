#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
#
# test-image.py: the VHDX reader, partition probe and `chronos-vm info/list`
# against images made by qemu-img and qemu-io (checked against
# `qemu-img info` and against the raw bytes) and images crafted byte by byte
# (pending log, differencing, 4096-byte sectors, every kind of damage).
# Every image is hashed when made and again at the end: nothing may write.
#
# Environment: CHRONOS_VM (the CLI), VHDX_TOOL (tests/image/vhdx-tool).
# Prints TAP.

import hashlib
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
craft = __import__("craft-vhdx")

KiB, MiB, GiB, TiB = 1024, 1024 ** 2, 1024 ** 3, 1024 ** 4
CHRONOS_VM = os.environ.get("CHRONOS_VM")
VHDX_TOOL = os.environ.get("VHDX_TOOL")
FIELDS = {"path", "format", "file_size", "virtual_size", "block_size", "logical_sector_size",
          "physical_sector_size", "creator", "has_parent", "parent", "log_pending",
          "partition_style", "partitions", "firmware", "warnings",
          # issue 9: the chain child -> parent -> ..., and why it is incomplete
          "chain", "chain_error"}
PARTITION_FIELDS = {"number", "start", "size", "type", "name", "bootable"}

results = []
hashes = {}
rng = random.Random(int(os.environ.get("TEST_SEED", "20240611")))


def check(name, condition, detail=""):
    results.append((name, bool(condition), detail))
    if not condition:
        print(f"# FAILED {name}: {detail}", flush=True)
    return bool(condition)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def remember(path):
    hashes[path] = sha256(path)
    return path


def run(*args, **kw):
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, **kw)


def info(path):
    r = run(CHRONOS_VM, "info", "--json", path)
    if r.returncode != 0:
        return None, r
    return json.loads(r.stdout), r


# --- partition tables written into raw disks ------------------------------

GPT_TYPES = {
    "efi-system": "C12A7328-F81F-11D2-BA4B-00A0C93EC93B",
    "microsoft-reserved": "E3C9E316-0B5C-4DB8-817D-F92DF00215AE",
    "microsoft-basic-data": "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7",
    "windows-recovery": "DE94BBA4-06D1-4D40-A16A-BFD50179D6AC",
    "linux": "0FC63DAF-8483-4772-8E79-3D69D8477DE4",
}


def gpt_layout(disk_size, sector):
    """Partitions as (type, start, size, name, bootable) for a Windows-like GPT disk."""
    parts = [("efi-system", 1 * MiB, 100 * MiB, "EFI system partition", True),
             ("microsoft-reserved", 101 * MiB, 16 * MiB, "Microsoft reserved partition", False)]
    end = disk_size - 2 * MiB
    rec = 300 * MiB if disk_size >= 2 * GiB else 50 * MiB
    parts.append(("microsoft-basic-data", 117 * MiB, end - rec - 117 * MiB, "Basic data partition", False))
    parts.append(("windows-recovery", end - rec, rec, "Wiederherstellung ✓", False))
    return parts


def write_gpt(f, disk_size, sector, parts, n_entries=128, entry_size=128):
    lbas = disk_size // sector
    entries = bytearray(n_entries * entry_size)
    for i, (t, start, size, name, _boot) in enumerate(parts):
        e = i * entry_size
        entries[e:e + 16] = uuid.UUID(GPT_TYPES[t]).bytes_le
        entries[e + 16:e + 32] = uuid.uuid4().bytes_le
        struct.pack_into("<QQQ", entries, e + 32, start // sector, (start + size) // sector - 1, 0)
        n = name.encode("utf-16-le")[:72]
        entries[e + 56:e + 56 + len(n)] = n
    entries_crc = craft.crc32(entries)
    entry_lbas = -(-len(entries) // sector)

    def header(current, backup, entries_lba):
        h = bytearray(sector)
        h[0:8] = b"EFI PART"
        struct.pack_into("<IIII", h, 8, 0x10000, 92, 0, 0)
        struct.pack_into("<QQQQ", h, 24, current, backup, 2 + entry_lbas, lbas - 2 - entry_lbas)
        h[56:72] = uuid.uuid4().bytes_le
        struct.pack_into("<QIII", h, 72, entries_lba, n_entries, entry_size, entries_crc)
        struct.pack_into("<I", h, 16, craft.crc32(h[:92]))
        return h

    mbr = bytearray(sector)
    struct.pack_into("<B3sB3sII", mbr, 446, 0, b"\0\x02\0", 0xEE, b"\xff\xff\xff", 1, min(lbas - 1, 0xFFFFFFFF))
    mbr[510:512] = b"\x55\xaa"
    f.seek(0)
    f.write(mbr)
    f.write(header(1, lbas - 1, 2))
    f.write(entries)
    f.seek((lbas - 1 - entry_lbas) * sector)
    f.write(entries)
    f.seek((lbas - 1) * sector)
    f.write(header(lbas - 1, 1, lbas - 1 - entry_lbas))


def mbr_layout(disk_size, sector):
    """(type name, start, size, bootable, number) including two logical partitions."""
    s = sector
    ext_start = 600 * MiB // s if disk_size > GiB else 300 * MiB // s
    return [("ntfs", 1 * MiB, 100 * MiB, True, 1),
            ("linux", 101 * MiB, 150 * MiB, False, 2),
            ("extended", ext_start * s, 100 * MiB, False, 3),
            ("linux-swap", ext_start * s + 1 * MiB, 20 * MiB, False, 5),
            ("fat32", ext_start * s + 22 * MiB, 30 * MiB, False, 6)]


def write_mbr(f, disk_size, sector):
    layout = mbr_layout(disk_size, sector)
    codes = {"ntfs": 0x07, "linux": 0x83, "extended": 0x0F, "linux-swap": 0x82, "fat32": 0x0C}
    mbr = bytearray(sector)
    mbr[0:3] = b"\xeb\x63\x90"
    for i, (t, start, size, boot, _n) in enumerate(layout[:3]):
        struct.pack_into("<B3sB3sII", mbr, 446 + 16 * i, 0x80 if boot else 0, b"\0\0\0", codes[t],
                         b"\0\0\0", start // sector, size // sector)
    mbr[510:512] = b"\x55\xaa"
    f.seek(0)
    f.write(mbr)
    ext = layout[2][1] // sector
    # First EBR at the start of the extended partition, second 21 MiB later.
    ebr2 = ext + 21 * MiB // sector
    for ebr, (t, start, size, boot, _n), link in ((ext, layout[3], ebr2 - ext), (ebr2, layout[4], 0)):
        b = bytearray(sector)
        struct.pack_into("<B3sB3sII", b, 446, 0, b"\0\0\0", codes[t], b"\0\0\0", start // sector - ebr, size // sector)
        if link:
            struct.pack_into("<B3sB3sII", b, 462, 0, b"\0\0\0", 0x05, b"\0\0\0", link, 30 * MiB // sector)
        b[510:512] = b"\x55\xaa"
        f.seek(ebr * sector)
        f.write(b)
    return layout


def expected_partitions(style, disk_size, sector):
    if style == "gpt":
        return [{"number": i + 1, "start": st, "size": sz, "type": t, "name": n, "bootable": b}
                for i, (t, st, sz, n, b) in enumerate(gpt_layout(disk_size, sector))]
    if style == "mbr":
        return [{"number": n, "start": st, "size": sz, "type": t, "name": None, "bootable": b}
                for (t, st, sz, b, n) in mbr_layout(disk_size, sector)]
    return []


# --- checks shared by every good image ------------------------------------

def check_common(name, path, doc, style, virtual_size, block_size, sector=512):
    check(f"{name}: fields are exactly DESIGN.md's", set(doc) == FIELDS, sorted(set(doc) ^ FIELDS))
    check(f"{name}: path and format", doc["path"] == path and doc["format"] == "vhdx")
    check(f"{name}: file_size", doc["file_size"] == os.stat(path).st_size, doc["file_size"])
    check(f"{name}: virtual_size", doc["virtual_size"] == virtual_size, doc["virtual_size"])
    check(f"{name}: block_size", doc["block_size"] == block_size, doc["block_size"])
    check(f"{name}: logical sector", doc["logical_sector_size"] == sector)
    check(f"{name}: physical sector", doc["physical_sector_size"] in (512, 4096))
    check(f"{name}: partition_style", doc["partition_style"] == style, doc["partition_style"])
    exp = expected_partitions(style, virtual_size, sector)
    check(f"{name}: partitions", doc["partitions"] == exp, json.dumps(doc["partitions"])[:400])
    for p in doc["partitions"]:
        check(f"{name}: partition fields", set(p) == PARTITION_FIELDS, sorted(p))
    check(f"{name}: firmware", doc["firmware"] == ("uefi" if style == "gpt" else "bios"))
    check(f"{name}: warnings are sentences",
          all(isinstance(w, str) and w.endswith(".") for w in doc["warnings"]), doc["warnings"])


def compare(name, vhdx, raw, ranges):
    r = run(VHDX_TOOL, "compare", vhdx, raw, rng.randrange(1 << 30),
            *[f"{o}:{n}" for o, n in ranges], timeout=600)
    check(f"{name}: reads through the BAT equal the raw image", r.returncode == 0, r.stderr[-500:])


# --- images made by qemu-img / qemu-io ------------------------------------

def qemu_cases(tmp):
    cases = [("dynamic", 1 * MiB, 512 * MiB, "mbr"),
             ("dynamic", 8 * MiB, 4 * GiB, "gpt"),
             ("dynamic", 32 * MiB, 64 * GiB, "gpt"),
             ("dynamic", 256 * MiB, 2 * TiB, "gpt"),
             ("dynamic", 32 * MiB, 1 * GiB, "none"),
             ("fixed", 1 * MiB, 512 * MiB, "gpt"),
             ("fixed", 8 * MiB, 512 * MiB, "mbr")]
    for sub, bs, size, style in cases:
        name = f"qemu {sub} bs={bs // MiB}M size={size // MiB}M {style}"
        raw = os.path.join(tmp, f"q-{sub}-{bs}-{size}.raw")
        vhdx = os.path.join(tmp, f"q-{sub}-{bs}-{size}.vhdx")
        ranges = [(0, 64 * KiB)]
        with open(raw, "wb") as f:
            f.truncate(size)
            if style == "gpt":
                write_gpt(f, size, 512, gpt_layout(size, 512))
                ranges.append((size - 64 * KiB, 64 * KiB))
            elif style == "mbr":
                write_mbr(f, size, 512)
            for _ in range(6):
                n = rng.randrange(1, 300 * KiB)
                o = rng.randrange(200 * MiB, size - n)
                f.seek(o)
                f.write(os.urandom(n))
                ranges.append((o, n))
        r = run("qemu-img", "convert", "-f", "raw", "-O", "vhdx", "-o",
                f"subformat={sub},block_size={bs}", raw, vhdx, timeout=600)
        if not check(f"{name}: qemu-img convert", r.returncode == 0, r.stderr):
            continue
        # Random writes through QEMU's own VHDX driver (BAT updates go
        # through its log), mirrored into the raw image.
        with open(raw, "r+b") as f:
            for _ in range(3):
                n = rng.randrange(1, 64) * 512
                o = rng.randrange(0, size - n) // 512 * 512
                pat = rng.randrange(1, 255)
                r = run("qemu-io", "-f", "vhdx", "-c", f"write -P {pat} {o} {n}", vhdx)
                check(f"{name}: qemu-io write", r.returncode == 0, r.stderr)
                f.seek(o)
                f.write(bytes([pat]) * n)
                ranges.append((o, n))
        remember(vhdx)

        q = json.loads(run("qemu-img", "info", "--output=json", vhdx).stdout)
        doc, r = info(vhdx)
        if not check(f"{name}: chronos-vm info", doc is not None, r.stderr):
            continue
        check(f"{name}: virtual size as qemu-img", doc["virtual_size"] == q["virtual-size"])
        check(f"{name}: block size as qemu-img", doc["block_size"] == q["cluster-size"])
        check(f"{name}: creator is QEMU", doc["creator"].startswith("QEMU"), doc["creator"])
        check(f"{name}: no parent, no log", doc["has_parent"] is False and doc["parent"] is None
              and doc["log_pending"] is False)
        check_common(name, vhdx, doc, style, size, bs)
        compare(name, vhdx, raw, ranges)
        if size > 64 * GiB:
            os.unlink(raw)  # sparse, but keep the folder small


# --- crafted images ----------------------------------------------------------

def crafted_log(tmp):
    name = "pending log"
    v = craft.Vhdx(16 * MiB, 1 * MiB)
    blocks = {0: os.urandom(MiB), 2: os.urandom(MiB), 3: os.urandom(MiB), 5: os.urandom(MiB)}
    for b in (0, 2, 3, 5):
        v.add_block(b, blocks[b])
    # On disk, block 5 is not present: only the log's BAT update makes it so.
    bat_off, bat_after = v.bat_sector(v.bat_index(5))
    v.set_bat(v.bat_index(5), craft.PAYLOAD_NOT_PRESENT)
    new_sector = os.urandom(4096)
    e1 = v.log_entry(20, [("desc", bat_off, bat_after), ("desc", v.blocks[2] + 8192, new_sector)], tail=0)
    e2 = v.log_entry(21, [("zero", v.blocks[3], 8192)], tail=0)
    torn = bytearray(v.log_entry(22, [("zero", v.blocks[0], 4096)], tail=0))
    torn[100] ^= 0xFF  # a torn write: bad checksum, must be ignored
    v.add_log([e1, e2, bytes(torn)])
    path = os.path.join(tmp, "log.vhdx")
    v.write(path)
    remember(path)

    expect = bytearray(craft.expected_content(v, blocks))
    expect[2 * MiB + 8192:2 * MiB + 12288] = new_sector
    expect[3 * MiB:3 * MiB + 8192] = bytes(8192)
    raw = os.path.join(tmp, "log.expected.raw")
    with open(raw, "wb") as f:
        f.write(expect)

    doc, r = info(path)
    if check(f"{name}: info works", doc is not None, r.stderr):
        check(f"{name}: log_pending", doc["log_pending"] is True)
        check(f"{name}: warning names the log", any("log" in w for w in doc["warnings"]), doc["warnings"])
        check_common(name, path, doc, "none", 16 * MiB, MiB)
    compare(name, path, raw, [(0, 16 * MiB)])

    # QEMU refuses it read-only, as Chronos reports ...
    r = run("qemu-img", "info", "--output=json", "--force-share", "-U", path)
    r = run("qemu-io", "-r", "-f", "vhdx", "-c", "read 0 512", path)
    check(f"{name}: QEMU refuses it read-only", r.returncode != 0 or "log" in (r.stdout + r.stderr),
          r.stdout + r.stderr)
    # ... and when QEMU replays the log (on a copy), it sees what we read.
    copy = os.path.join(tmp, "log-copy.vhdx")
    shutil.copy(path, copy)
    run("qemu-img", "check", "-r", "all", "-f", "vhdx", copy)
    out = os.path.join(tmp, "log-qemu.raw")
    r = run("qemu-img", "convert", "-f", "vhdx", "-O", "raw", copy, out)
    if check(f"{name}: QEMU replays the copy", r.returncode == 0, r.stderr):
        with open(out, "rb") as f:
            check(f"{name}: QEMU's replay equals Chronos's", f.read() == bytes(expect))


def crafted_parent(tmp):
    # Parent: a GPT disk; child: only block 1 changed.
    size = 512 * MiB
    pdir = os.path.join(tmp, "chain")
    os.makedirs(os.path.join(pdir, "kids"), exist_ok=True)
    parent = craft.Vhdx(size, 1 * MiB, physical_sector=4096, creator="Microsoft Windows 10.0.19045.0")
    raw = os.path.join(tmp, "parent.raw")
    with open(raw, "wb") as f:
        f.truncate(size)
        write_gpt(f, size, 512, gpt_layout(size, 512))
    with open(raw, "rb") as f:
        data = f.read()
    for b in range(size // MiB):
        chunk = data[b * MiB:(b + 1) * MiB]
        if any(chunk):
            parent.add_block(b, chunk)
    ppath = os.path.join(pdir, "parent.vhdx")
    parent.write(ppath)
    remember(ppath)

    linkage = "{" + str(parent.data_write_guid).upper() + "}"
    for label, where, rel, found in (("next to it", pdir, ".\\parent.vhdx", True),
                                     ("in the folder above", os.path.join(pdir, "kids"), "..\\parent.vhdx", True),
                                     ("missing", tmp, ".\\parent.vhdx", False)):
        name = f"differencing, parent {label}"
        child = craft.Vhdx(size, 1 * MiB, parent={
            "parent_linkage": linkage, "relative_path": rel,
            "volume_path": "\\\\?\\Volume{26a21bda-a627-11d7-9931-806e6f6e6963}\\Backups\\parent.vhdx",
            "absolute_win32_path": "D:\\Backups\\WindowsImageBackup\\parent.vhdx"})
        child.add_block(1, os.urandom(MiB))
        path = os.path.join(where, f"child-{label.replace(' ', '-')}.avhdx")
        child.write(path)
        remember(path)
        doc, r = info(path)
        if not check(f"{name}: info works", doc is not None, r.stderr):
            continue
        check(f"{name}: has_parent", doc["has_parent"] is True)
        check(f"{name}: parent paths", doc["parent"]["relative_path"] == rel and
              doc["parent"]["absolute_win32_path"] == "D:\\Backups\\WindowsImageBackup\\parent.vhdx",
              doc["parent"])
        if found:
            check(f"{name}: resolved_path", doc["parent"]["resolved_path"] == os.path.realpath(ppath),
                  doc["parent"])
            check(f"{name}: partition table read through the parent",
                  doc["partition_style"] == "gpt" and doc["firmware"] == "uefi", doc["partition_style"])
            check(f"{name}: partitions", doc["partitions"] == expected_partitions("gpt", size, 512))
            r = run(CHRONOS_VM, "info", "--json", os.path.basename(path), cwd=where)
            check(f"{name}: resolved from a relative child path",
                  r.returncode == 0 and r.stderr == "" and
                  json.loads(r.stdout)["parent"]["resolved_path"] == os.path.realpath(ppath), r.stderr)
        else:
            check(f"{name}: resolved_path is null", doc["parent"]["resolved_path"] is None)
            check(f"{name}: warning names the missing parent",
                  any("parent" in w and "parent.vhdx" in w for w in doc["warnings"]), doc["warnings"])
            r = run(VHDX_TOOL, "read", path, 0, 512)
            check(f"{name}: a block in the parent needs it", r.stdout.startswith("NEEDS_PARENT"), r.stdout)
            r = run(VHDX_TOOL, "read", path, MiB, 4096)
            check(f"{name}: a block in the child reads", r.stdout.strip() == "ok", r.stdout)


def crafted_4k(tmp):
    name = "4096-byte logical sectors"
    size = 256 * MiB
    v = craft.Vhdx(size, 2 * MiB, logical_sector=4096, physical_sector=4096)
    raw = os.path.join(tmp, "4k.raw")
    with open(raw, "wb") as f:
        f.truncate(size)
        write_gpt(f, size, 4096, gpt_layout(size, 4096))
        f.seek(77 * MiB + 4096)
        f.write(os.urandom(3 * MiB))
    with open(raw, "rb") as f:
        data = f.read()
    for b in range(size // (2 * MiB)):
        chunk = data[b * 2 * MiB:(b + 1) * 2 * MiB]
        if any(chunk):
            v.add_block(b, chunk)
        elif b % 3 == 0:
            v.set_bat(v.bat_index(b), craft.PAYLOAD_ZERO)
    path = os.path.join(tmp, "4k.vhdx")
    v.write(path)
    remember(path)
    doc, r = info(path)
    if check(f"{name}: info works", doc is not None, r.stderr):
        check_common(name, path, doc, "gpt", size, 2 * MiB, 4096)
        check(f"{name}: warning for QEMU", any("4096" in w for w in doc["warnings"]), doc["warnings"])
    compare(name, path, raw, [(0, 64 * KiB), (77 * MiB, 3 * MiB + 8192), (size - 64 * KiB, 64 * KiB)])


def base_image():
    v = craft.Vhdx(32 * MiB, 1 * MiB)
    v.add_block(0, os.urandom(MiB))
    v.add_block(7, os.urandom(MiB))
    return v


def recrc_region_tables(buf):
    for off in (192 * KiB, 256 * KiB):
        struct.pack_into("<I", buf, off + 4, 0)
        struct.pack_into("<I", buf, off + 4, craft.crc32c(buf[off:off + 64 * KiB]))


def bad_inputs(tmp):
    """(name, bytes, expected code, words the message must contain)."""
    good = bytes(base_image().buf)
    cases = [("zero-length file", b"", "NOT_VHDX", "empty"),
             ("random bytes", os.urandom(MiB), "NOT_VHDX", "vhdxfile"),
             ("signature then random bytes", b"vhdxfile" + os.urandom(MiB), "CORRUPT", "both damaged")]
    for cut in (1, 7, 8, KiB, 64 * KiB, 66 * KiB, 130 * KiB, 200 * KiB, 300 * KiB, MiB, 2 * MiB + 100,
                3 * MiB, len(good) - MiB):
        code = "NOT_VHDX" if cut < 8 else ("TRUNCATED" if cut < len(good) - MiB else "CORRUPT")
        cases.append((f"truncated at {cut} bytes", good[:cut], code, "truncated" if code == "TRUNCATED" else ""))

    b = bytearray(good)
    b[64 * KiB + 200] ^= 1
    b[128 * KiB + 200] ^= 1
    cases.append(("both headers damaged", bytes(b), "CORRUPT", "64 KiB and its copy at 128 KiB are both damaged"))
    b = bytearray(good)
    b[192 * KiB + 100] ^= 1
    b[256 * KiB + 100] ^= 1
    cases.append(("both region tables damaged", bytes(b), "CORRUPT", "region table"))
    b = bytearray(good)
    struct.pack_into("<Q", b, craft.BAT_OFFSET + 8 * 7, (TiB & ~0xFFFFF) | 6)
    cases.append(("BAT pointing past the end", bytes(b), "CORRUPT", "outside the file"))
    b = bytearray(good)
    struct.pack_into("<Q", b, craft.BAT_OFFSET + 8 * 3, 5)
    cases.append(("BAT entry with an invalid state", bytes(b), "CORRUPT", "invalid state"))
    b = bytearray(good)
    struct.pack_into("<I", b, 192 * KiB + 8, 5000)
    struct.pack_into("<I", b, 256 * KiB + 8, 5000)
    recrc_region_tables(b)
    cases.append(("region table entry count 5000", bytes(b), "CORRUPT", "2047"))
    b = bytearray(good)
    struct.pack_into("<H", b, craft.METADATA_OFFSET + 10, 60000)
    cases.append(("metadata entry count 60000", bytes(b), "CORRUPT", "2047"))
    b = bytearray(good)
    # A virtual size the BAT is far too small for.
    off = struct.unpack_from("<I", b, craft.METADATA_OFFSET + 32 + 32 + 16)[0]
    struct.pack_into("<Q", b, craft.METADATA_OFFSET + off, 64 * TiB)
    cases.append(("virtual size larger than the BAT", bytes(b), "CORRUPT", "entries"))
    b = bytearray(good)
    struct.pack_into("<Q", b, craft.METADATA_OFFSET + off, 65 * TiB)
    cases.append(("virtual size over 64 TiB", bytes(b), "CORRUPT", "64 TiB"))
    b = bytearray(good)
    struct.pack_into("<I", b, craft.METADATA_OFFSET + 64 * KiB, 3 * MiB)
    cases.append(("block size not a power of two", bytes(b), "CORRUPT", "block size"))
    b = bytearray(good)
    struct.pack_into("<I", b, 192 * KiB + 32 + 8, 8 * MiB)
    struct.pack_into("<I", b, 256 * KiB + 32 + 8, 8 * MiB)
    recrc_region_tables(b)
    cases.append(("BAT region past the end", bytes(b), "TRUNCATED", "past the end"))
    cases.append(("unknown required region",
                  bytes(craft.Vhdx(8 * MiB, required_region="11111111-2222-3333-4444-555555555555").buf),
                  "UNSUPPORTED", "11111111-2222-3333-4444-555555555555"))
    cases.append(("unknown required metadata",
                  bytes(craft.Vhdx(8 * MiB, required_metadata="11111111-2222-3333-4444-555555555555").buf),
                  "UNSUPPORTED", "11111111-2222-3333-4444-555555555555"))
    v = base_image()
    v.add_log([v.log_entry(5, [("desc", craft.BAT_OFFSET, bytes(4096))], flushed=len(v.buf) * 4)])
    cases.append(("log says the file was longer", bytes(v.buf), "TRUNCATED", "log"))
    return cases


def crafted_bad(tmp):
    bad_dir = os.path.join(tmp, "bad")
    os.makedirs(bad_dir)
    for i, (name, data, code, words) in enumerate(bad_inputs(tmp)):
        path = os.path.join(bad_dir, f"bad-{i:02d}.vhdx")
        with open(path, "wb") as f:
            f.write(data)
        remember(path)
        r = run(CHRONOS_VM, "info", path)
        lines = r.stderr.splitlines()
        check(f"{name}: exit 1", r.returncode == 1, r.returncode)
        check(f"{name}: one error line", len(lines) == 1 and lines[0].startswith(f"chronos-vm: {path}: ")
              and r.stdout == "", r.stderr)
        check(f"{name}: message names the problem", words.lower() in r.stderr.lower(), r.stderr)
        r = run(VHDX_TOOL, "error", path)
        check(f"{name}: GError {code}", r.returncode == 0 and r.stdout.startswith(code + ":"), r.stdout)


def crafted_damaged_but_usable(tmp):
    for name, mutate, words in (
            ("newer header damaged", lambda b: b.__setitem__(128 * KiB + 300, b[128 * KiB + 300] ^ 1), "128 KiB"),
            ("older header damaged", lambda b: b.__setitem__(64 * KiB + 300, b[64 * KiB + 300] ^ 1), "64 KiB"),
            ("one region table damaged", lambda b: b.__setitem__(192 * KiB + 300, b[192 * KiB + 300] ^ 1), "192 KiB")):
        v = base_image()
        mutate(v.buf)
        path = os.path.join(tmp, name.replace(" ", "-") + ".vhdx")
        v.write(path)
        remember(path)
        doc, r = info(path)
        if check(f"{name}: still opens", doc is not None, r.stderr):
            check(f"{name}: warning", any(words in w and "damaged" in w for w in doc["warnings"]), doc["warnings"])
    # A GPT whose entry count is absurd is no GPT at all, not a crash.
    v = craft.Vhdx(64 * MiB, 1 * MiB)
    disk = bytearray(MiB)
    mbr = bytearray(512)
    struct.pack_into("<B3sB3sII", mbr, 446, 0, b"\0\0\0", 0xEE, b"\0\0\0", 1, 131071)
    mbr[510:512] = b"\x55\xaa"
    disk[0:512] = mbr
    h = bytearray(512)
    h[0:8] = b"EFI PART"
    struct.pack_into("<IIII", h, 8, 0x10000, 92, 0, 0)
    struct.pack_into("<QQQQ", h, 24, 1, 131071, 34, 131000)
    struct.pack_into("<QIII", h, 72, 2, 1000000000, 128, 0)
    struct.pack_into("<I", h, 16, craft.crc32(h[:92]))
    disk[512:1024] = h
    v.add_block(0, bytes(disk))
    path = os.path.join(tmp, "gpt-huge-count.vhdx")
    v.write(path)
    remember(path)
    doc, r = info(path)
    check("GPT with a billion entries: opens, style none",
          doc is not None and doc["partition_style"] == "none", r.stderr)


def cli(tmp):
    r = run(CHRONOS_VM, "info")
    check("info without IMAGE: exit 2", r.returncode == 2, r.returncode)
    r = run(CHRONOS_VM, "info", "--bogus", "x")
    check("info with an unknown option: exit 2", r.returncode == 2, r.returncode)
    r = run(CHRONOS_VM, "info", "--help")
    check("info --help", r.returncode == 0 and "IMAGE" in r.stdout and "--json" in r.stdout, r.stdout)
    r = run(CHRONOS_VM, "list", "--help")
    check("list --help", r.returncode == 0 and "FOLDER" in r.stdout, r.stdout)
    r = run(CHRONOS_VM, "list")
    check("list without FOLDER: exit 2", r.returncode == 2, r.returncode)
    r = run(CHRONOS_VM, "info", os.path.join(tmp, "does-not-exist.vhdx"))
    check("info on a missing file: exit 1, one line", r.returncode == 1 and len(r.stderr.splitlines()) == 1, r.stderr)
    r = run(CHRONOS_VM, "info", tmp)
    check("info on a folder: exit 1, one line", r.returncode == 1 and len(r.stderr.splitlines()) == 1, r.stderr)

    folder = os.path.join(tmp, "library")
    os.makedirs(os.path.join(folder, "sub.vhdx"))
    for n in ("b.vhdx", "a.VHDX", "c.avhdx"):
        base_image().write(os.path.join(folder, n))
    with open(os.path.join(folder, "broken.vhdx"), "wb") as f:
        f.write(b"not an image")
    with open(os.path.join(folder, "notes.txt"), "w") as f:
        f.write("ignored")
    for n in os.listdir(folder):
        if os.path.isfile(os.path.join(folder, n)):
            remember(os.path.join(folder, n))
    missing = os.path.join(tmp, "no-such-folder")
    r = run(CHRONOS_VM, "list", "--json", folder, missing)
    check("list: exit 1 when a folder cannot be read", r.returncode == 1, r.returncode)
    check("list: one line for the missing folder",
          r.stderr.splitlines() == [l for l in r.stderr.splitlines() if l.startswith(f"chronos-vm: {missing}: ")]
          and len(r.stderr.splitlines()) == 1, r.stderr)
    try:
        docs = json.loads(r.stdout)
    except ValueError:
        docs = []
    names = [os.path.basename(d["path"]) for d in docs]
    check("list: images only, sorted", names == ["a.VHDX", "b.vhdx", "broken.vhdx", "c.avhdx"], names)
    if len(docs) == 4:
        check("list: a bad file is {path, error}", set(docs[2]) == {"path", "error"} and docs[2]["error"], docs[2])
        check("list: good files have every field", all(set(d) == FIELDS for i, d in enumerate(docs) if i != 2))
    r = run(CHRONOS_VM, "list", folder)
    lines = r.stdout.splitlines()
    check("list text: header and a row per image", r.returncode == 0 and len(lines) == 5, r.stdout)
    check("list text: error row", any("broken.vhdx" in l and "error" in l for l in lines), r.stdout)
    r = run(CHRONOS_VM, "info", os.path.join(folder, "b.vhdx"))
    check("info text: a readable table", r.returncode == 0 and "Virtual size:" in r.stdout, r.stdout)


def fuzz_regressions():
    folder = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fuzz-regressions")
    if not os.path.isdir(folder):
        return
    for n in sorted(os.listdir(folder)):
        path = os.path.join(folder, n)
        r = run(VHDX_TOOL, "error", path)
        check(f"fuzz regression {n}: no crash", r.returncode in (0, 1), r.returncode)
        r = run(CHRONOS_VM, "info", "--json", path)
        check(f"fuzz regression {n}: CLI exits 0 or 1", r.returncode in (0, 1), r.returncode)


def main():
    if not CHRONOS_VM or not VHDX_TOOL:
        print("1..0 # SKIP CHRONOS_VM or VHDX_TOOL not set")
        return 77
    for tool in ("qemu-img", "qemu-io"):
        if shutil.which(tool) is None:
            print(f"1..0 # SKIP {tool} is not installed")
            return 77
    with tempfile.TemporaryDirectory(prefix="chronos-image-") as tmp:
        for step in (cli, crafted_bad, crafted_damaged_but_usable, crafted_log, crafted_parent,
                     crafted_4k, qemu_cases):
            step(tmp)
        fuzz_regressions()
        for path, digest in sorted(hashes.items()):
            check(f"unchanged: {os.path.relpath(path, tmp)}", sha256(path) == digest)
    print(f"1..{len(results)}")
    for i, (name, ok, detail) in enumerate(results, 1):
        print(f"{'ok' if ok else 'not ok'} {i} - {name}")
    return 0 if all(ok for _n, ok, _d in results) else 1


if __name__ == "__main__":
    sys.exit(main())
