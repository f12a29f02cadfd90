#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
#
# test-nbd.py: ChronosImageServer through `chronos-vm serve`, against real
# clients (qemu-img info/compare, nbdinfo) and a small NBD client of its own
# for what the real ones never send (writes, bad lengths, bad magic, many
# requests in flight). The images are crafted byte by byte (craft-vhdx.py):
# a differencing chain of three levels with partially present blocks and
# sector bitmaps (also across a 4 GiB sector-bitmap chunk boundary), an
# image with a pending log, one with 4096-byte sectors. Each export must be
# byte-equal to the disk computed here independently, layer by layer; a
# missing parent, a wrong parent, a loop, a too deep chain and hostile
# locators must give clear errors. Every image is hashed before and after.
#
# Environment: CHRONOS_VM (the CLI). Prints TAP.

import hashlib
import json
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
craft = __import__("craft-vhdx")

KiB, MiB, GiB = 1024, 1024 ** 2, 1024 ** 3
CHRONOS_VM = os.environ.get("CHRONOS_VM")
rng = random.Random(int(os.environ.get("TEST_SEED", "20240907")))
results = []
hashes = {}
servers = []


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


def rand(n):
    return rng.randbytes(n)


def run(*args, **kw):
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, **kw)


def uri(sock):
    return f"nbd+unix:///?socket={sock}"


# --- the server ----------------------------------------------------------

class Server:
    def __init__(self, image, sock, *extra):
        self.sock = sock
        self.proc = subprocess.Popen([CHRONOS_VM, "serve", image, "--socket", sock, *extra],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        servers.append(self)
        deadline = time.monotonic() + 60
        while not os.path.exists(sock) and self.proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        self.up = os.path.exists(sock) and self.proc.poll() is None

    def stop(self, sig=signal.SIGINT):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            out, err = self.proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
        return self.proc.returncode, out, err


# --- a small NBD client ----------------------------------------------------

NBD_OPT_EXPORT_NAME, NBD_OPT_ABORT, NBD_OPT_LIST, NBD_OPT_INFO, NBD_OPT_GO = 1, 2, 3, 6, 7
NBD_OPT_STRUCTURED_REPLY = 8
NBD_REP_ACK, NBD_REP_SERVER, NBD_REP_INFO = 1, 2, 3
NBD_REP_ERR_UNSUP, NBD_REP_ERR_INVALID, NBD_REP_ERR_UNKNOWN, NBD_REP_ERR_TOO_BIG = (
    2 ** 31 + 1, 2 ** 31 + 3, 2 ** 31 + 6, 2 ** 31 + 9)
CMD_READ, CMD_WRITE, CMD_DISC, CMD_FLUSH, CMD_TRIM, CMD_CACHE, CMD_WRITE_ZEROES = 0, 1, 2, 3, 4, 5, 6
EPERM, EINVAL = 1, 22


class Nbd:
    def __init__(self, path, flags=3):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(60)
        self.s.connect(path)
        magic, opt, self.hflags = struct.unpack(">QQH", self.recv(18))
        assert magic == 0x4E42444D41474943 and opt == 0x49484156454F5054
        self.s.sendall(struct.pack(">I", flags))
        self.size = None
        self.flags = None
        self.block = None

    def recv(self, n):
        out = b""
        while len(out) < n:
            got = self.s.recv(n - len(out))
            if not got:
                raise EOFError("server closed the connection")
            out += got
        return out

    def option(self, opt, data=b""):
        self.s.sendall(struct.pack(">QII", 0x49484156454F5054, opt, len(data)) + data)

    def replies(self):
        """Option replies up to the final one: [(type, data)]."""
        out = []
        while True:
            magic, opt, rtype, length = struct.unpack(">QIII", self.recv(20))
            assert magic == 0x3E889045565A9
            data = self.recv(length)
            out.append((rtype, data))
            if rtype != NBD_REP_INFO and rtype != NBD_REP_SERVER:
                return out

    def go(self, name=b"", requests=(3,), opt=NBD_OPT_GO):
        self.option(opt, struct.pack(">I", len(name)) + name + struct.pack(">H", len(requests)) +
                    b"".join(struct.pack(">H", r) for r in requests))
        reps = self.replies()
        for rtype, data in reps:
            if rtype == NBD_REP_INFO:
                itype = struct.unpack(">H", data[:2])[0]
                if itype == 0:
                    self.size, self.flags = struct.unpack(">QH", data[2:12])
                elif itype == 3:
                    self.block = struct.unpack(">III", data[2:14])
        return reps

    def request(self, cmd, offset, length, handle, flags=0, payload=b""):
        self.s.sendall(struct.pack(">IHHQQI", 0x25609513, flags, cmd, handle, offset, length) + payload)

    def reply(self, lengths):
        """One simple reply; @lengths maps handle -> read length."""
        magic, err, handle = struct.unpack(">IIQ", self.recv(16))
        assert magic == 0x67446698, hex(magic)
        data = self.recv(lengths.pop(handle)) if err == 0 else None
        lengths.pop(handle, None)
        return handle, err, data

    def read(self, offset, length, flags=0):
        self.request(CMD_READ, offset, length, 7, flags)
        return self.reply({7: length})

    def close(self):
        self.s.close()


# --- images -----------------------------------------------------------------

def partial_sets(sectors):
    """Sector sets for partially present blocks: single sectors, runs, the
    first and the last sector, alternating ones."""
    yield {0}
    yield {sectors - 1}
    yield set(range(3, 40)) | set(range(100, 101)) | set(range(sectors - 9, sectors))
    yield set(range(0, sectors, 2))
    yield set(rng.sample(range(sectors), sectors // 3))


def build_chain(tmp, size, block, sectors_at, label, force_partial=()):
    """base <- child1 <- child2; returns (paths, expected {block: bytes}),
    the parents in subfolders so that relative paths are really used."""
    ls = 512
    per_block = block // ls
    expected = {}

    base = craft.Vhdx(size, block)
    for b in sectors_at:
        if rng.random() < 0.8:
            data = rand(block)
            base.add_block(b, data)
            expected[b] = data
    os.makedirs(os.path.join(tmp, label, "full"), exist_ok=True)
    base_path = os.path.join(tmp, label, "full", "base.vhdx")

    def child_over(parent, parent_rel, parent_win):
        c = craft.Vhdx(size, block, parent={
            "parent_linkage": parent.linkage(), "relative_path": parent_rel,
            "volume_path": "\\\\?\\Volume{26a21bda-a627-11d7-9931-806e6f6e6963}\\x\\" + parent_win.split("\\")[-1],
            "absolute_win32_path": parent_win})
        sets = partial_sets(per_block)
        for b in sectors_at:
            r = rng.random()
            old = expected.get(b, bytes(block))
            if b in force_partial:
                r = 0.5
            if r < 0.25:
                data = rand(block)
                c.add_block(b, data)
                expected[b] = data
            elif r < 0.65:
                present = next(sets, None) or set(rng.sample(range(per_block), rng.randrange(1, per_block)))
                data = rand(block)
                c.add_partial_block(b, data, present)
                new = bytearray(old)
                for s in present:
                    new[s * ls:(s + 1) * ls] = data[s * ls:(s + 1) * ls]
                expected[b] = bytes(new)
            elif r < 0.72:
                c.set_bat(c.bat_index(b), craft.PAYLOAD_ZERO)
                expected[b] = bytes(block)
            # else: not present, the parent's bytes
        return c

    child1 = child_over(base, "..\\full\\base.vhdx", "E:\\Backups\\" + label + "\\full\\base.vhdx")
    os.makedirs(os.path.join(tmp, label, "incr"), exist_ok=True)
    child1_path = os.path.join(tmp, label, "incr", "child1.avhdx")
    # child2 names child1 only by an absolute Windows path: found through the
    # drive letter standing for an ancestor of the child's folder.
    child2 = child_over(child1, "Z:\\elsewhere\\child1.avhdx", "E:\\" + label + "\\incr\\child1.avhdx")
    child2_path = os.path.join(tmp, label, "incr", "child2.avhdx")
    base.write(base_path)
    child1.write(child1_path)
    child2.write(child2_path)
    for p in (base_path, child1_path, child2_path):
        remember(p)
    return (base_path, child1_path, child2_path), expected, (base, child1, child2)


def expected_bytes(expected, block, offset, length):
    out = bytearray()
    while length > 0:
        b, inb = divmod(offset, block)
        n = min(length, block - inb)
        out += expected.get(b, bytes(block))[inb:inb + n]
        offset += n
        length -= n
    return bytes(out)


def write_raw(path, expected, block, size):
    with open(path, "wb") as f:
        f.truncate(size)
        for b, data in expected.items():
            f.seek(b * block)
            f.write(data)


# --- tests ----------------------------------------------------------------

def test_small_chain(tmp):
    size, block = 48 * MiB, 1 * MiB
    paths, expected, _ = build_chain(tmp, size, block, range(0, 40), "small")
    name = "small chain"
    doc = json.loads(run(CHRONOS_VM, "info", "--json", paths[2]).stdout or "null")
    if check(f"{name}: info works", doc is not None):
        check(f"{name}: info shows the chain child -> parent -> base",
              [c["path"] for c in doc["chain"]] == [paths[2], paths[1], paths[0]] and doc["chain_error"] is None,
              doc["chain"])
        check(f"{name}: resolved_path is the parent", doc["parent"]["resolved_path"] == paths[1], doc["parent"])
    r = run(CHRONOS_VM, "info", paths[2])
    check(f"{name}: info text shows the chain", "child2.avhdx -> " in r.stdout and "base.vhdx" in r.stdout, r.stdout)

    raw = os.path.join(tmp, "small.raw")
    write_raw(raw, expected, block, size)
    sock = os.path.join(tmp, "small.sock")
    srv = Server(paths[2], sock)
    if not check(f"{name}: serve starts", srv.up, srv.proc.stderr.read() if srv.proc.poll() is not None else ""):
        return
    r = run("qemu-img", "info", "--output=json", uri(sock))
    check(f"{name}: qemu-img info", r.returncode == 0 and json.loads(r.stdout)["virtual-size"] == size, r.stderr)
    r = run("qemu-img", "compare", "-f", "raw", "-F", "raw", raw, uri(sock))
    check(f"{name}: qemu-img compare: export equals the expected disk", r.returncode == 0, r.stdout + r.stderr)
    # The inner levels are served on their own too.
    for path in paths[:2]:
        serve_level(tmp, path)

    # The protocol, with our own client.
    protocol(sock, size, 512, lambda o, n: expected_bytes(expected, block, o, n), name)
    code, out, err = srv.stop(signal.SIGINT)
    check(f"{name}: Ctrl+C stops the server", code == 0, err)
    check(f"{name}: the socket is removed", not os.path.exists(sock))
    check(f"{name}: serve prints the URI and examples",
          uri(sock) in out and "qemu-img info" in out and "nbdinfo" in out and "guestfish --ro" in out, out)


def serve_level(tmp, path):
    """Serves an inner level of the chain; SIGTERM stops it."""
    sock = os.path.join(tmp, "level.sock")
    srv = Server(path, sock)
    ok = check(f"level {os.path.basename(path)}: serves", srv.up)
    if ok:
        r = run("qemu-img", "info", "--output=json", uri(sock))
        check(f"level {os.path.basename(path)}: qemu-img info", r.returncode == 0, r.stderr)
    srv.stop(signal.SIGTERM)
    check(f"level {os.path.basename(path)}: SIGTERM stops and removes the socket", not os.path.exists(sock))


def test_big_chain(tmp):
    """A chain over two 4 GiB sector-bitmap chunks (1 MiB blocks: 4096 per
    chunk), with blocks on both sides of the boundary."""
    size, block = 4 * GiB + 16 * MiB, 1 * MiB
    at = list(range(0, 3)) + list(range(4090, 4102)) + [4111]
    paths, expected, (_, child1, child2) = build_chain(tmp, size, block, at, "big", force_partial={4095, 4096})
    name = "chain across a bitmap chunk"
    check(f"{name}: two sector bitmaps in each child", len(child1.bitmaps) == 2 and len(child2.bitmaps) == 2,
          (child1.bitmaps, child2.bitmaps))
    sock = os.path.join(tmp, "big.sock")
    srv = Server(paths[2], sock)
    if not check(f"{name}: serve starts", srv.up):
        return
    c = Nbd(sock)
    c.go()
    bad = []
    ranges = [(b * block, block) for b in at] + [(4095 * block + 512 * 3, 2 * block), (4096 * block - 512, 1024),
                                                  (size - 4 * MiB, 4 * MiB), (2 * GiB, 1 * MiB)]
    for _ in range(60):
        b = rng.choice(at)
        ranges.append((b * block + rng.randrange(0, block // 512) * 512, rng.randrange(1, 64) * 512))
    for off, n in ranges:
        n = min(n, size - off)
        _, err, data = c.read(off, n)
        if err != 0 or data != expected_bytes(expected, block, off, n):
            bad.append((off, n, err))
    check(f"{name}: {len(ranges)} reads equal the expected disk", not bad, bad[:5])
    c.close()
    srv.stop()


def protocol(sock, size, sector, expect, name):
    # Option haggling.
    c = Nbd(sock)
    check(f"{name}: fixed newstyle, no zeroes", c.hflags == 3, c.hflags)
    c.option(NBD_OPT_LIST)
    reps = c.replies()
    check(f"{name}: NBD_OPT_LIST gives the default export",
          reps[-1][0] == NBD_REP_ACK and reps[0][0] == NBD_REP_SERVER and reps[0][1][:4] == b"\0\0\0\0", reps)
    c.option(NBD_OPT_STRUCTURED_REPLY)
    check(f"{name}: structured replies are declined", c.replies()[-1][0] == NBD_REP_ERR_UNSUP)
    c.option(99, b"xyz")
    check(f"{name}: an unknown option is unsupported", c.replies()[-1][0] == NBD_REP_ERR_UNSUP)
    c.option(NBD_OPT_GO, b"\0\0\0\x10abc")
    check(f"{name}: a malformed NBD_OPT_GO is invalid", c.replies()[-1][0] == NBD_REP_ERR_INVALID)
    c.option(NBD_OPT_GO, struct.pack(">I", 0xFFFFFFF0) + b"\0\0")
    check(f"{name}: a name longer than the option is invalid", c.replies()[-1][0] == NBD_REP_ERR_INVALID)
    c.option(NBD_OPT_INFO, b"\0" * 40000)
    check(f"{name}: a too large option is refused", c.replies()[-1][0] == NBD_REP_ERR_TOO_BIG)
    reps = c.go(b"no-such-export")
    check(f"{name}: an unknown export name", reps[-1][0] == NBD_REP_ERR_UNKNOWN, reps)
    reps = c.go(opt=NBD_OPT_INFO)
    check(f"{name}: NBD_OPT_INFO: size, read-only, block sizes",
          reps[-1][0] == NBD_REP_ACK and c.size == size and c.flags & 3 == 3 and
          c.block == (sector, max(sector, 4096), 32 * MiB), (c.size, c.flags, c.block))
    reps = c.go()
    check(f"{name}: NBD_OPT_GO", reps[-1][0] == NBD_REP_ACK and c.size == size)
    _, err, data = c.read(0, 64 * KiB)
    check(f"{name}: read", err == 0 and data == expect(0, 64 * KiB))

    # Everything that is not a read is refused and changes nothing.
    c.request(CMD_WRITE, 0, 4096, 11, payload=b"\xAA" * 4096)
    check(f"{name}: write is refused with EPERM", c.reply({})[1] == EPERM)
    for cmd, want, label in ((CMD_TRIM, EPERM, "trim"), (CMD_WRITE_ZEROES, EPERM, "write zeroes"),
                             (CMD_FLUSH, EINVAL, "flush"), (CMD_CACHE, EINVAL, "cache"),
                             (77, EINVAL, "an unknown command")):
        c.request(cmd, 0, 4096, 12)
        check(f"{name}: {label} is refused", c.reply({})[1] == want)
    for off, n, label in ((size - sector, 2 * sector, "past the end"), (size + sector, sector, "beyond the end"),
                          (0, 0, "of length 0"), (0, 33 * MiB, "longer than 32 MiB"),
                          (sector // 2, sector, "unaligned"), (0, 2 ** 32 - 1, "of 4 GiB")):
        _, err, _ = c.read(off, n)
        check(f"{name}: a read {label} is EINVAL", err == EINVAL, err)
    _, err, _ = c.read(0, 4096, flags=1)
    check(f"{name}: a read with FUA (not offered) is EINVAL", err == EINVAL, err)
    _, err, data = c.read(size - 32 * MiB, 32 * MiB)
    check(f"{name}: a 32 MiB read at the end", err == 0 and data == expect(size - 32 * MiB, 32 * MiB))

    # Many requests in flight on one connection, answered in any order.
    lengths = {}
    want = {}
    for h in range(100, 180):
        off = rng.randrange(0, size // sector - 256) * sector
        n = rng.randrange(1, 256) * sector
        lengths[h] = n
        want[h] = expect(off, n)
        c.request(CMD_READ, off, n, h)
    got = {}
    while lengths:
        h, err, data = c.reply(lengths)
        got[h] = data
    check(f"{name}: 80 pipelined reads", all(got[h] == want[h] for h in want),
          [h for h in want if got.get(h) != want[h]][:5])
    c.request(CMD_DISC, 0, 0, 13)
    try:
        closed = c.s.recv(1) == b""
    except OSError:
        closed = True
    check(f"{name}: NBD_CMD_DISC closes the connection", closed)
    c.close()

    # Old clients: NBD_OPT_EXPORT_NAME, with and without the zero padding.
    for flags, pad in ((3, 0), (1, 124)):
        c = Nbd(sock, flags)
        c.option(NBD_OPT_EXPORT_NAME)
        sz, tflags = struct.unpack(">QH", c.recv(10))
        c.recv(pad)
        _, err, data = c.read(sector, 4 * sector)
        check(f"{name}: NBD_OPT_EXPORT_NAME (client flags {flags})",
              sz == size and tflags & 2 and err == 0 and data == expect(sector, 4 * sector))
        c.close()

    # Garbage and aborts end only their own connection.
    c = Nbd(sock)
    c.option(NBD_OPT_ABORT)
    check(f"{name}: NBD_OPT_ABORT is acknowledged", c.replies()[-1][0] == NBD_REP_ACK)
    c.close()
    c = Nbd(sock)
    c.s.sendall(b"\xde\xad" * 20)
    try:
        closed = c.s.recv(100) == b""
    except OSError:
        closed = True
    check(f"{name}: a client out of step is disconnected", closed)
    c.close()
    c = Nbd(sock, flags=0x80)
    try:
        closed = c.s.recv(1) == b""
    except OSError:
        closed = True
    check(f"{name}: unknown client flags are refused", closed)
    c.close()

    # Many clients at once.
    failures = []

    def reader(seed):
        r = random.Random(seed)
        try:
            cl = Nbd(sock)
            cl.go()
            for _ in range(30):
                off = r.randrange(0, size // sector - 2048) * sector
                n = r.randrange(1, 2048) * sector
                _, err, data = cl.read(off, n)
                if err != 0 or data != expect(off, n):
                    failures.append((seed, off, n, err))
            cl.close()
        except Exception as e:  # noqa: BLE001 - reported as a failure
            failures.append((seed, repr(e)))

    threads = [threading.Thread(target=reader, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    check(f"{name}: 12 concurrent clients read the right bytes", not failures, failures[:5])

    r = run("nbdinfo", "--json", uri(sock))
    if r.returncode == 127 or shutil.which("nbdinfo") is None:
        check(f"{name}: nbdinfo (libnbd-bin) is installed", False, "apt-get install libnbd-bin")
    else:
        doc = json.loads(r.stdout) if r.returncode == 0 else {}
        ex = (doc.get("exports") or [{}])[0]
        check(f"{name}: nbdinfo: size, read-only, block sizes",
              ex.get("export-size") == size and ex.get("is_read_only") is True and
              ex.get("block_size_minimum") == sector and ex.get("can_multi_conn") is True, r.stdout + r.stderr)
        r = run("nbdinfo", "--list", uri(sock))
        check(f"{name}: nbdinfo --list", r.returncode == 0 and "export-size: %d" % size in r.stdout, r.stdout + r.stderr)


def test_4k(tmp):
    name = "4096-byte sectors"
    size, block = 64 * MiB, 2 * MiB
    v = craft.Vhdx(size, block, logical_sector=4096, physical_sector=4096)
    expected = {}
    for b in range(0, size // block, 3):
        expected[b] = rand(block)
        v.add_block(b, expected[b])
    path = os.path.join(tmp, "4k.vhdx")
    v.write(path)
    remember(path)
    raw = os.path.join(tmp, "4k.raw")
    write_raw(raw, expected, block, size)
    sock = os.path.join(tmp, "4k.sock")
    srv = Server(path, sock)
    if not check(f"{name}: serve starts", srv.up):
        return
    r = run("qemu-img", "compare", "-f", "raw", "-F", "raw", raw, uri(sock))
    check(f"{name}: qemu-img compare", r.returncode == 0, r.stdout + r.stderr)
    c = Nbd(sock)
    c.go()
    check(f"{name}: minimum block size 4096", c.block and c.block[0] == 4096, c.block)
    _, err, _ = c.read(512, 512)
    check(f"{name}: a 512-byte read is refused after asking for block sizes", err == EINVAL)
    _, err, data = c.read(4096 * 5, 4096 * 3)
    check(f"{name}: aligned reads work", err == 0 and data == expected_bytes(expected, block, 4096 * 5, 4096 * 3))
    c.close()
    r = run("nbdinfo", "--json", uri(sock))
    if r.returncode == 0:
        check(f"{name}: nbdinfo block_size_minimum", json.loads(r.stdout)["exports"][0]["block_size_minimum"] == 4096,
              r.stdout)
    srv.stop()


def test_log(tmp):
    name = "pending log"
    size, block = 16 * MiB, 1 * MiB
    v = craft.Vhdx(size, block)
    a, b2, new_sector = rand(block), rand(block), rand(4096)
    v.add_block(0, a)
    off2 = len(v.buf)
    v.buf += b2  # block 2's data, named only by the log's BAT change
    v.set_bat(v.bat_index(2), craft.PAYLOAD_ZERO)
    bat_off, sector = v.bat_sector(v.bat_index(2))
    sector = bytearray(sector)
    struct.pack_into("<Q", sector, (v.bat_index(2) * 8) % 4096, off2 | craft.PAYLOAD_FULLY_PRESENT)
    v.add_log([v.log_entry(5, [("desc", bat_off, bytes(sector)), ("zero", v.blocks[0] + 4096, 4096)]),
               v.log_entry(6, [("desc", v.blocks[0] + 8192, new_sector)])])
    path = os.path.join(tmp, "log.vhdx")
    v.write(path)
    remember(path)
    want0 = bytearray(a)
    want0[4096:8192] = bytes(4096)
    want0[8192:12288] = new_sector
    expected = {0: bytes(want0), 2: b2}
    raw = os.path.join(tmp, "log.raw")
    write_raw(raw, expected, block, size)
    r = run("qemu-img", "info", "-f", "vhdx", path)
    check(f"{name}: QEMU itself refuses it read-only", r.returncode != 0, r.stdout)
    sock = os.path.join(tmp, "log.sock")
    srv = Server(path, sock, "--once")
    if not check(f"{name}: serve starts", srv.up):
        return
    r = run("qemu-img", "compare", "-f", "raw", "-F", "raw", raw, uri(sock))
    check(f"{name}: qemu-img compare: the log is replayed in the export", r.returncode == 0, r.stdout + r.stderr)
    try:
        code = srv.proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        code = None
    check(f"{name}: --once stops when the client disconnects", code == 0, code)
    srv.stop()
    check(f"{name}: --once removes the socket", not os.path.exists(sock))


def serve_error(path, sock):
    r = run(CHRONOS_VM, "serve", path, "--socket", sock, timeout=120)
    return r.returncode, r.stderr.strip()


def test_errors(tmp):
    d = os.path.join(tmp, "errors")
    os.makedirs(d)
    sock = os.path.join(d, "e.sock")
    size = 8 * MiB
    parent = craft.Vhdx(size, MiB)
    parent.add_block(0, rand(MiB))
    ppath = remember_write(parent, os.path.join(d, "parent.vhdx"))

    # Missing parent.
    c = craft.Vhdx(size, MiB, parent={"parent_linkage": parent.linkage(), "relative_path": ".\\gone.vhdx",
                                      "absolute_win32_path": "C:\\Backups\\gone.vhdx"})
    cpath = remember_write(c, os.path.join(d, "missing.avhdx"))
    code, err = serve_error(cpath, sock)
    check("missing parent: serve fails with a clear error",
          code == 1 and "gone.vhdx" in err and "not found" in err and err.count("\n") == 0, err)
    doc = json.loads(run(CHRONOS_VM, "info", "--json", cpath).stdout)
    check("missing parent: info shows the chain error", doc["chain_error"] and "not found" in doc["chain_error"] and
          [x["path"] for x in doc["chain"]] == [cpath], doc.get("chain_error"))

    # Wrong parent: the parent's identity is not the child's parent_linkage.
    c = craft.Vhdx(size, MiB, parent={"parent_linkage": "{" + str(uuid.uuid4()).upper() + "}",
                                      "relative_path": ".\\parent.vhdx"})
    cpath = remember_write(c, os.path.join(d, "wrong.avhdx"))
    code, err = serve_error(cpath, sock)
    check("wrong parent: refused with a clear error",
          code == 1 and "does not belong" in err and "parent.vhdx" in err, err)
    doc = json.loads(run(CHRONOS_VM, "info", "--json", cpath).stdout)
    check("wrong parent: info says so, resolved_path is null",
          "does not belong" in (doc["chain_error"] or "") and doc["parent"]["resolved_path"] is None, doc["parent"])

    # parent_linkage2 is accepted as well.
    c = craft.Vhdx(size, MiB, parent={"parent_linkage": "{" + str(uuid.uuid4()).upper() + "}",
                                      "parent_linkage2": parent.linkage(), "relative_path": ".\\parent.vhdx"})
    cpath = remember_write(c, os.path.join(d, "linkage2.avhdx"))
    doc = json.loads(run(CHRONOS_VM, "info", "--json", cpath).stdout)
    check("parent_linkage2 matches", doc["chain_error"] is None and len(doc["chain"]) == 2, doc["chain_error"])

    # A loop: a names b as its parent and b names a.
    ga, gb = uuid.uuid4(), uuid.uuid4()
    a = craft.Vhdx(size, MiB, parent={"parent_linkage": "{%s}" % gb, "relative_path": ".\\loop-b.avhdx"})
    b = craft.Vhdx(size, MiB, parent={"parent_linkage": "{%s}" % ga, "relative_path": ".\\loop-a.avhdx"})
    a.set_data_write_guid(ga)
    b.set_data_write_guid(gb)
    apath = remember_write(a, os.path.join(d, "loop-a.avhdx"))
    remember_write(b, os.path.join(d, "loop-b.avhdx"))
    code, err = serve_error(apath, sock)
    check("cyclic chain: refused", code == 1 and "loop" in err, err)

    # Deeper than 64.
    deep = os.path.join(d, "deep")
    os.makedirs(deep)
    prev = craft.Vhdx(size, MiB)
    remember_write(prev, os.path.join(deep, "d0.vhdx"))
    for i in range(1, 66):
        v = craft.Vhdx(size, MiB, parent={"parent_linkage": prev.linkage(), "relative_path": f".\\d{i - 1}.avhdx"
                                          if i > 1 else ".\\d0.vhdx"})
        remember_write(v, os.path.join(deep, f"d{i}.avhdx"))
        prev = v
    code, err = serve_error(os.path.join(deep, "d65.avhdx"), sock)
    check("a chain deeper than 64: refused", code == 1 and "64" in err and "deep" in err, err)
    # 64 images are fine: this fails only later, at its too long socket path.
    code, err = serve_error(os.path.join(deep, "d63.avhdx"), "/tmp/" + "s" * 120)
    check("a chain of 64 images: accepted", "images deep" not in err and "107" in err, err)

    # Hostile locators.
    c = craft.Vhdx(size, MiB, parent={"parent_linkage": parent.linkage(), "relative_path": "..\\" * 3000 + "p.vhdx"})
    cpath = remember_write(c, os.path.join(d, "long.avhdx"))
    code, err = serve_error(cpath, sock)
    check("hostile locator (9000-character path): clear error", code == 1 and "implausible" in err, err)
    c = craft.Vhdx(size, MiB, parent={"parent_linkage": parent.linkage(), "relative_path": ".\\a\nb.vhdx"})
    cpath = remember_write(c, os.path.join(d, "ctrl.avhdx"))
    code, err = serve_error(cpath, sock)
    check("hostile locator (control characters): clear error", code == 1 and "implausible" in err, err)
    loc = bytearray(craft.Vhdx._locator({"parent_linkage": parent.linkage(), "relative_path": ".\\parent.vhdx"}))
    struct.pack_into("<H", loc, 20 + 10, 7)  # odd UTF-16 length
    c = craft.Vhdx(size, MiB, locator=bytes(loc))
    cpath = remember_write(c, os.path.join(d, "odd.avhdx"))
    code, err = serve_error(cpath, sock)
    check("hostile locator (odd UTF-16 length): clear error", code == 1 and "locator is damaged" in err, err)
    loc = bytearray(craft.Vhdx._locator({"parent_linkage": parent.linkage(), "relative_path": ".\\parent.vhdx"}))
    struct.pack_into("<IIHH", loc, 20 + 12, 0xFFFFFF00, 0xFFFFFF00, 0xFFFE, 0xFFFE)
    c = craft.Vhdx(size, MiB, locator=bytes(loc))
    cpath = remember_write(c, os.path.join(d, "huge.avhdx"))
    code, err = serve_error(cpath, sock)
    check("hostile locator (entry past its end): clear error", code == 1 and "locator is damaged" in err, err)

    # The socket: a long path, an existing file, a live server.
    code, err = serve_error(ppath, "/tmp/" + "s" * 120)
    check("a socket path over 107 bytes: clear error", code == 1 and "107" in err, err)
    plain = os.path.join(d, "not-a-socket")
    with open(plain, "w") as f:
        f.write("keep me")
    code, err = serve_error(ppath, plain)
    check("an existing file is not replaced", code == 1 and "not a socket" in err and open(plain).read() == "keep me",
          err)
    srv = Server(ppath, sock)
    code, err = serve_error(ppath, sock)
    check("a socket in use is not taken over", code == 1 and "already listening" in err, err)
    srv.proc.kill()  # dies without removing its socket
    srv.proc.wait()
    srv2 = Server(ppath, sock)
    check("a stale socket is replaced", srv2.up)
    srv2.stop()


def remember_write(v, path):
    v.write(path)
    return remember(path)


def main():
    if not CHRONOS_VM:
        print("1..0 # SKIP CHRONOS_VM is not set")
        return 77
    if shutil.which("qemu-img") is None:
        print("1..0 # SKIP qemu-img is not installed (Debian: qemu-utils)")
        return 77
    tmp = tempfile.mkdtemp(prefix="chronos-nbd-")
    try:
        for t in (test_small_chain, test_big_chain, test_4k, test_log, test_errors):
            try:
                t(tmp)
            except Exception as e:  # noqa: BLE001 - a crash is a failure, the rest still runs
                import traceback
                traceback.print_exc(file=sys.stdout)
                check(f"{t.__name__} ran to the end", False, repr(e))
        for srv in servers:
            if srv.proc.poll() is None:
                srv.proc.kill()
                srv.proc.wait()
        for path, digest in sorted(hashes.items()):
            check(f"unchanged: {os.path.relpath(path, tmp)}", sha256(path) == digest)
    finally:
        for srv in servers:
            if srv.proc.poll() is None:
                srv.proc.kill()
                srv.proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"1..{len(results)}")
    for i, (name, ok, detail) in enumerate(results, 1):
        print(f"{'ok' if ok else 'not ok'} {i} - {name}")
    return 0 if all(ok for _, ok, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
