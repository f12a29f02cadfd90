#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
#
# craft-vhdx.py: writes VHDX files byte by byte, for what qemu-img cannot make
# (pending logs, differencing children, 4096-byte sectors) and for damage
# (broken headers, region tables, BATs, counts). Follows MS-VHDX.
#
# Used as a module by test-image.py; as a command it writes one example:
#   craft-vhdx.py OUT.vhdx [--size BYTES] [--block-size BYTES] [--sector 512|4096]

import os
import struct
import sys
import uuid

KiB = 1024
MiB = 1024 * KiB

GUID_BAT = "2DC27766-F623-4200-9D64-115E9BFD4A08"
GUID_METADATA = "8B7CA206-4790-4B9A-B8FE-575F050F886E"
GUID_FILE_PARAMETERS = "CAA16737-FA36-4D43-B3B6-33F0AA44E76B"
GUID_VIRTUAL_SIZE = "2FA54224-CD1B-4876-B211-5DBED83BF4B8"
GUID_PAGE83 = "BECA12AB-B2E6-4523-93EF-C309E000C746"
GUID_LOGICAL_SECTOR = "8141BF1D-A96F-4709-BA47-F233A8FAAB5F"
GUID_PHYSICAL_SECTOR = "CDA348C7-445D-4471-9CC9-E9885251C556"
GUID_PARENT_LOCATOR = "A8D35F2D-B30B-454D-ABF7-D3D84834AB0C"
GUID_VHDX_LOCATOR = "B04AEFB7-D19E-4A81-B789-25B8E9445913"

LOG_OFFSET = 1 * MiB
LOG_LENGTH = 1 * MiB
METADATA_OFFSET = 2 * MiB
METADATA_LENGTH = 1 * MiB
BAT_OFFSET = 3 * MiB

PAYLOAD_NOT_PRESENT = 0
PAYLOAD_ZERO = 2
PAYLOAD_FULLY_PRESENT = 6
PAYLOAD_PARTIALLY_PRESENT = 7
SB_PRESENT = 6


def _table(poly):
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        table.append(c)
    return table


_CRC32C = _table(0x82F63B78)
_CRC32 = _table(0xEDB88320)


def _crc(table, data, crc=0):
    crc ^= 0xFFFFFFFF
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def crc32c(data):
    return _crc(_CRC32C, data)


def crc32(data):
    return _crc(_CRC32, data)


def guid(text):
    return uuid.UUID(text).bytes_le


def utf16(text):
    return text.encode("utf-16-le")


class Vhdx:
    """A VHDX in memory: a bytearray plus the layout, so tests can damage it."""

    def __init__(self, virtual_size, block_size=1 * MiB, logical_sector=512,
                 physical_sector=4096, parent=None, creator="craft-vhdx.py",
                 required_region=None, required_metadata=None, locator=None):
        self.virtual_size = virtual_size
        self.block_size = block_size
        self.logical_sector = logical_sector
        self.physical_sector = physical_sector
        self.parent = parent  # dict of locator keys, or None
        self.locator = locator  # raw parent locator bytes (damaged ones), or None
        self.chunk_ratio = (2 ** 23 * logical_sector) // block_size
        self.data_blocks = -(-virtual_size // block_size)
        if parent is not None or locator is not None:
            bitmaps = -(-self.data_blocks // self.chunk_ratio)
            self.bat_entries = bitmaps * (self.chunk_ratio + 1)
        else:
            self.bat_entries = self.data_blocks + (self.data_blocks - 1) // self.chunk_ratio
        self.bat_length = max(MiB, -(-self.bat_entries * 8 // MiB) * MiB)
        self.data_offset = BAT_OFFSET + self.bat_length
        self.buf = bytearray(self.data_offset)
        self.blocks = {}  # block index -> file offset
        self.bitmaps = {}  # chunk -> file offset of its sector bitmap
        self.data_write_guid = uuid.uuid4()
        self.log_guid = None

        self.buf[0:8] = b"vhdxfile"
        c = utf16(creator)
        self.buf[8:8 + len(c)] = c
        self._regions(required_region)
        self._metadata(required_metadata)
        self.write_headers()

    # --- structures --------------------------------------------------------
    def header_bytes(self, sequence, log_guid=None):
        h = bytearray(4 * KiB)
        h[0:4] = b"head"
        struct.pack_into("<Q", h, 8, sequence)
        h[16:32] = uuid.uuid4().bytes_le
        h[32:48] = self.data_write_guid.bytes_le
        if log_guid is not None:
            h[48:64] = log_guid.bytes_le
        struct.pack_into("<HHIQ", h, 64, 0, 1, LOG_LENGTH, LOG_OFFSET)
        struct.pack_into("<I", h, 4, crc32c(h))
        return h

    def write_headers(self, seq1=1, seq2=2, log_guid=None):
        self.buf[64 * KiB:68 * KiB] = self.header_bytes(seq1, log_guid)
        self.buf[128 * KiB:132 * KiB] = self.header_bytes(seq2, log_guid)

    def _regions(self, required_region):
        t = bytearray(64 * KiB)
        t[0:4] = b"regi"
        entries = [(GUID_BAT, BAT_OFFSET, self.bat_length, 1),
                   (GUID_METADATA, METADATA_OFFSET, METADATA_LENGTH, 1)]
        if required_region:
            entries.append((required_region, self.data_offset, MiB, 1))
        struct.pack_into("<I", t, 8, len(entries))
        for i, (g, off, length, req) in enumerate(entries):
            t[16 + 32 * i:32 + 32 * i] = guid(g)
            struct.pack_into("<QII", t, 32 + 32 * i, off, length, req)
        struct.pack_into("<I", t, 4, crc32c(t))
        self.buf[192 * KiB:256 * KiB] = t
        self.buf[256 * KiB:320 * KiB] = t

    def _metadata(self, required_metadata):
        m = bytearray(METADATA_LENGTH)
        m[0:8] = b"metadata"
        items = [
            (GUID_FILE_PARAMETERS, struct.pack("<II", self.block_size,
                                               2 if self.parent is not None or self.locator else 0), 4 | 0),
            (GUID_VIRTUAL_SIZE, struct.pack("<Q", self.virtual_size), 4 | 2),
            (GUID_PAGE83, uuid.uuid4().bytes_le, 4 | 2),
            (GUID_LOGICAL_SECTOR, struct.pack("<I", self.logical_sector), 4 | 2),
            (GUID_PHYSICAL_SECTOR, struct.pack("<I", self.physical_sector), 4 | 2),
        ]
        if self.locator is not None:
            items.append((GUID_PARENT_LOCATOR, self.locator, 4))
        elif self.parent is not None:
            items.append((GUID_PARENT_LOCATOR, self._locator(self.parent), 4))
        if required_metadata:
            items.append((required_metadata, b"\0" * 8, 4))
        struct.pack_into("<H", m, 10, len(items))
        offset = 64 * KiB
        for i, (g, data, flags) in enumerate(items):
            e = 32 + 32 * i
            m[e:e + 16] = guid(g)
            struct.pack_into("<III", m, e + 16, offset, len(data), flags)
            m[offset:offset + len(data)] = data
            offset += -(-len(data) // 4096) * 4096 or 4096
        self.buf[METADATA_OFFSET:METADATA_OFFSET + METADATA_LENGTH] = m

    @staticmethod
    def _locator(pairs):
        header = bytearray(20)
        header[0:16] = guid(GUID_VHDX_LOCATOR)
        struct.pack_into("<H", header, 18, len(pairs))
        entries = bytearray()
        strings = bytearray()
        base = 20 + 12 * len(pairs)
        for key, value in pairs.items():
            k, v = utf16(key), utf16(value)
            ko = base + len(strings)
            strings += k
            vo = base + len(strings)
            strings += v
            entries += struct.pack("<IIHH", ko, vo, len(k), len(v))
        return bytes(header + entries + strings)

    # --- content -------------------------------------------------------------
    def bat_index(self, block):
        return block + block // self.chunk_ratio

    def set_bat(self, index, state, offset=0):
        struct.pack_into("<Q", self.buf, BAT_OFFSET + 8 * index, (offset & ~0xFFFFF) | state)

    def add_block(self, block, data, state=PAYLOAD_FULLY_PRESENT):
        """Stores a block at the end of the file; returns its file offset."""
        assert len(data) <= self.block_size
        offset = len(self.buf)
        self.buf += data + bytes(self.block_size - len(data))
        self.set_bat(self.bat_index(block), state, offset)
        self.blocks[block] = offset
        return offset

    def set_data_write_guid(self, value):
        """Gives the image a known identity (what a child's parent_linkage names)."""
        self.data_write_guid = value
        self.write_headers()

    def linkage(self):
        return "{" + str(self.data_write_guid).upper() + "}"

    def add_partial_block(self, block, data, present):
        """A "partially present" block of a differencing image: only the
        logical sectors in @present (indexes within the block) are stored
        here, marked in the sector bitmap of the block's chunk; the others
        come from the parent. They are filled with 0xEE in the file, so a
        reader that ignores the bitmap reads garbage."""
        ls = self.logical_sector
        stored = bytearray(b"\xEE" * self.block_size)
        for s in present:
            stored[s * ls:(s + 1) * ls] = data[s * ls:(s + 1) * ls]
        self.add_block(block, bytes(stored), PAYLOAD_PARTIALLY_PRESENT)
        chunk = block // self.chunk_ratio
        if chunk not in self.bitmaps:
            self.bitmaps[chunk] = len(self.buf)
            self.buf += bytes(MiB)
            self.set_bat(chunk * (self.chunk_ratio + 1) + self.chunk_ratio, SB_PRESENT, self.bitmaps[chunk])
        first = (block % self.chunk_ratio) * (self.block_size // ls)
        for s in present:
            bit = first + s
            self.buf[self.bitmaps[chunk] + bit // 8] |= 1 << (bit % 8)

    def add_log(self, entries, seq1=10, seq2=11):
        """Writes log entries (from log_entry()) at the start of the log and
        names the log in both headers."""
        log = bytearray(LOG_LENGTH)
        pos = 0
        for e in entries:
            log[pos:pos + len(e)] = e
            pos += len(e)
        self.buf[LOG_OFFSET:LOG_OFFSET + LOG_LENGTH] = log
        self.write_headers(seq1, seq2, self.log_guid)

    def log_entry(self, sequence, descriptors, tail=0, flushed=None, last=None):
        """descriptors: ("desc", file_offset, 4096 bytes) or ("zero", file_offset, length)."""
        if self.log_guid is None:
            self.log_guid = uuid.uuid4()
        n = len(descriptors)
        desc_sectors = -(-(64 + 32 * n) // 4096)
        data = [d for d in descriptors if d[0] == "desc"]
        length = (desc_sectors + len(data)) * 4096
        e = bytearray(length)
        e[0:4] = b"loge"
        struct.pack_into("<IIQII", e, 8, length, tail, sequence, n, 0)
        e[32:48] = self.log_guid.bytes_le
        struct.pack_into("<QQ", e, 48, flushed if flushed is not None else len(self.buf),
                         last if last is not None else len(self.buf))
        di = 0
        for i, d in enumerate(descriptors):
            o = 64 + 32 * i
            if d[0] == "desc":
                payload = d[2]
                assert len(payload) == 4096
                e[o:o + 4] = b"desc"
                e[o + 4:o + 8] = payload[4092:4096]
                e[o + 8:o + 16] = payload[0:8]
                struct.pack_into("<QQ", e, o + 16, d[1], sequence)
                s = (desc_sectors + di) * 4096
                e[s:s + 4] = b"data"
                struct.pack_into("<I", e, s + 4, sequence >> 32)
                e[s + 8:s + 4092] = payload[8:4092]
                struct.pack_into("<I", e, s + 4092, sequence & 0xFFFFFFFF)
                di += 1
            else:
                e[o:o + 4] = b"zero"
                struct.pack_into("<QQQ", e, o + 8, d[2], d[1], sequence)
        struct.pack_into("<I", e, 4, crc32c(e))
        return bytes(e)

    def bat_sector(self, index):
        """(file offset, current 4 KiB) of the BAT sector holding entry @index."""
        off = BAT_OFFSET + (index * 8) // 4096 * 4096
        return off, bytes(self.buf[off:off + 4096])

    def write(self, path):
        """Writes the file sparsely: runs of zeros become holes."""
        piece = 64 * KiB
        zero = bytes(piece)
        with open(path, "wb") as f:
            for off in range(0, len(self.buf), piece):
                chunk = self.buf[off:off + piece]
                if chunk != zero[:len(chunk)]:
                    f.seek(off)
                    f.write(chunk)
            f.truncate(len(self.buf))


def expected_content(vhdx, blocks):
    """The virtual disk as bytes, from {block: data} (small disks only)."""
    out = bytearray(vhdx.virtual_size)
    for b, data in blocks.items():
        out[b * vhdx.block_size:b * vhdx.block_size + len(data)] = data
    return out


if __name__ == "__main__":
    import argparse
    p = argparse.ArgumentParser(description="Write a small valid VHDX (a fuzzing seed or an example).")
    p.add_argument("output")
    p.add_argument("--size", type=int, default=8 * MiB)
    p.add_argument("--block-size", type=int, default=1 * MiB)
    p.add_argument("--sector", type=int, default=512)
    p.add_argument("--log", action="store_true", help="add a pending log that changes the BAT and data")
    p.add_argument("--parent", help="make a differencing image whose relative_path is PARENT")
    p.add_argument("--mbr", action="store_true", help="put an MBR with one NTFS partition in block 0")
    a = p.parse_args()
    v = Vhdx(a.size, a.block_size, a.sector,
             parent={"parent_linkage": "{" + str(uuid.uuid4()) + "}", "relative_path": a.parent,
                     "absolute_win32_path": "C:\\Backups\\" + a.parent} if a.parent else None)
    first = bytearray(os.urandom(4096))
    if a.mbr:
        first[446:462] = struct.pack("<B3sB3sII", 0x80, b"\0\0\0", 0x07, b"\0\0\0", 2048, 4096)
        first[462:510] = bytes(48)
        first[510:512] = b"\x55\xaa"
    v.add_block(0, bytes(first))
    if a.log:
        v.add_block(1, os.urandom(4096))
        off, sector = v.bat_sector(v.bat_index(1))
        v.set_bat(v.bat_index(1), PAYLOAD_NOT_PRESENT)
        v.add_log([v.log_entry(7, [("desc", off, sector), ("zero", v.blocks[0] + 4096, 4096)]),
                   v.log_entry(8, [("desc", v.blocks[1], os.urandom(4096))])])
    v.write(a.output)
    sys.exit(0)
