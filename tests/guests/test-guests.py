#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Boot every test guest under bare QEMU and check that it does what README.md says.

TAP-style output (meson runs it as an exit-code test, so that 77 means skipped). Needs
CHRONOS_GUESTS_DIR (the built NAME.vhdx files), qemu-system-x86_64 and qemu-img
(QEMU_SYSTEM_X86_64 / QEMU_IMG or PATH), OVMF for uefi-hello. Exits 77 when one of those
is missing. BIOS guests run under KVM when /dev/kvm works, else TCG
(CHRONOS_GUESTS_ACCEL=tcg forces TCG); uefi-hello always under TCG (OVMF stops under
this machine's nested KVM).

Every guest boots from a qcow2 overlay in a private temporary directory; the built
images are hashed (SHA-256) before and after and must not change.
"""

import concurrent.futures
import ctypes
import fcntl
import hashlib
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib

GUESTS_DIR = os.environ.get('CHRONOS_GUESTS_DIR', '')
QEMU = os.environ.get('QEMU_SYSTEM_X86_64') or shutil.which('qemu-system-x86_64')
QEMU_IMG = os.environ.get('QEMU_IMG') or shutil.which('qemu-img')
# Slow machines (valgrind setups, loaded CI) can stretch every wait.
SCALE = float(os.environ.get('CHRONOS_TEST_TIMEOUT_SCALE', '1'))
KVM = False  # set in main()
OVMF = None  # (code, vars template), set in main()

SECTOR = 512
DISK_SECTORS = 64 * 1024 * 1024 // SECTOR
VGA_TEXT = 0xb8000
# VGA colour 1, the stop-screen background: QEMU renders the 6-bit DAC value 0x2a as
# 0xa8; accept any strong blue so another VGA BIOS's palette passes too.
def is_blue(r, g, b):
    return b >= 0x80 and r < 0x40 and g < 0x40


def is_black(r, g, b):
    return r == g == b == 0


WRITER_LBA = 2048
WRITER_SECTOR = b'CHRONOS-GUEST bios-writer data\r\n' * 16

OVMF_PAIRS = [
    ('/usr/share/OVMF/OVMF_CODE_4M.fd', '/usr/share/OVMF/OVMF_VARS_4M.fd'),
    ('/usr/share/OVMF/OVMF_CODE.fd', '/usr/share/OVMF/OVMF_VARS.fd'),
    ('/usr/share/qemu/edk2-x86_64-code.fd', '/usr/share/qemu/edk2-i386-vars.fd'),
]


class Failure(Exception):
    pass


# Every QEMU still running, so that a SIGTERM (meson's timeout) kills them too.
LIVE = set()
LIVE_LOCK = threading.Lock()
TMPROOT = None


def die_with_parent():
    """In the child: get SIGKILL when the spawning thread's process goes away."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def on_sigterm(signum, frame):
    with LIVE_LOCK:
        for proc in LIVE:
            proc.kill()
            proc.wait()
    if TMPROOT:
        shutil.rmtree(TMPROOT, ignore_errors=True)
    os._exit(1)


def check(condition, message):
    if not condition:
        raise Failure(message)


def wait_until(predicate, timeout, what, interval=0.1):
    deadline = time.monotonic() + timeout * SCALE
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise Failure(f'timed out after {timeout * SCALE:.0f} s waiting for {what}')
        time.sleep(interval)


def kvm_works():
    try:
        fd = os.open('/dev/kvm', os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        return fcntl.ioctl(fd, 0xae00) == 12  # KVM_GET_API_VERSION
    except OSError:
        return False
    finally:
        os.close(fd)


def sha256(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            h.update(block)
    return h.hexdigest()


def read_sectors(image, fmt, first, count, tmpdir):
    """Sectors of a disk image through qemu-img, so VHDX and qcow2 read the same way."""
    out = os.path.join(tmpdir, f'sectors-{first}-{count}.raw')
    if os.path.exists(out):
        os.unlink(out)
    # qemu-img dd counts `count` from the start of the input, skipped blocks included.
    subprocess.run([QEMU_IMG, 'dd', '-f', fmt, '-O', 'raw', f'bs={SECTOR}',
                    f'skip={first}', f'count={first + count}', f'if={image}', f'of={out}'],
                   check=True, capture_output=True)
    with open(out, 'rb') as f:
        return f.read()


# ---------------------------------------------------------------- images

def parse_ppm(path):
    with open(path, 'rb') as f:
        data = f.read()
    # "P6\n<w> <h>\n255\n" as QEMU writes it.
    parts = data.split(b'\n', 3)
    check(parts[0] == b'P6' and parts[2] == b'255', 'the screendump is not a P6 PPM')
    width, height = (int(x) for x in parts[1].split())
    pixels = parts[3]
    check(len(pixels) == width * height * 3, 'the PPM screendump is truncated')
    return width, height, pixels


def colour_share(pixels, predicate):
    """Share of pixels whose (r, g, b) pass predicate (every 7th pixel is enough)."""
    total = len(pixels) // 3
    step = 7
    hits = sum(1 for i in range(0, total, step) if predicate(*pixels[i * 3:i * 3 + 3]))
    return hits / len(range(0, total, step))


def check_png(path):
    """A valid PNG (signature, chunk CRCs, IHDR first, IEND last); returns (w, h)."""
    with open(path, 'rb') as f:
        data = f.read()
    check(data[:8] == b'\x89PNG\r\n\x1a\n', 'the screendump has no PNG signature')
    pos, chunks, size = 8, [], None
    while pos < len(data):
        length, kind = struct.unpack('>I4s', data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        crc, = struct.unpack('>I', data[pos + 8 + length:pos + 12 + length])
        check(zlib.crc32(kind + body) == crc, f'PNG chunk {kind!r} has a bad CRC')
        if kind == b'IHDR':
            size = struct.unpack('>II', body[:8])
        chunks.append(kind)
        pos += 12 + length
    check(chunks[0] == b'IHDR' and chunks[-1] == b'IEND', 'the PNG chunks are out of order')
    return size


# ---------------------------------------------------------------- QMP and the VM

class Qmp:
    def __init__(self, path, proc):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        wait_until(lambda: self._connect(path, proc), 10, 'the QMP socket')
        self.file = self.sock.makefile('rb')
        self.lock = threading.Condition()
        self.events = []  # (monotonic time, event dict)
        self.replies = {}
        self.next_id = 0
        self.closed = False
        greeting = json.loads(self.file.readline())
        check('QMP' in greeting, 'QEMU did not greet on QMP')
        threading.Thread(target=self._reader, daemon=True).start()
        self.command('qmp_capabilities')

    def _connect(self, path, proc):
        if proc.poll() is not None:
            raise Failure(f'QEMU exited at start with status {proc.returncode}')
        try:
            self.sock.connect(path)
            return True
        except OSError:
            return False

    def _reader(self):
        try:
            for line in self.file:
                msg = json.loads(line)
                with self.lock:
                    if 'event' in msg:
                        self.events.append((time.monotonic(), msg))
                    elif 'id' in msg:
                        self.replies[msg['id']] = msg
                    self.lock.notify_all()
        except (OSError, ValueError):
            pass
        with self.lock:
            self.closed = True
            self.lock.notify_all()

    def command(self, name, **arguments):
        with self.lock:
            self.next_id += 1
            ident = self.next_id
        msg = {'execute': name, 'id': ident}
        if arguments:
            msg['arguments'] = arguments
        self.sock.sendall(json.dumps(msg).encode() + b'\n')
        with self.lock:
            ok = self.lock.wait_for(lambda: ident in self.replies or self.closed, 15 * SCALE)
            if ident not in self.replies:
                raise Failure(f'no QMP answer to {name}' + ('' if ok else ' (timeout)'))
            reply = self.replies.pop(ident)
        if 'error' in reply:
            raise Failure(f'QMP {name} failed: {reply["error"].get("desc")}')
        return reply['return']

    def events_named(self, name):
        with self.lock:
            return [e for _, e in self.events if e['event'] == name]

    def wait_event(self, name, timeout, predicate=lambda e: True):
        with self.lock:
            ok = self.lock.wait_for(
                lambda: any(e['event'] == name and predicate(e) for _, e in self.events),
                timeout * SCALE)
        check(ok, f'no {name} event within {timeout * SCALE:.0f} s')
        return [e for _, e in self.events if e['event'] == name and predicate(e)][0]

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class Vm:
    """One QEMU on a qcow2 overlay over a guest image, started paused."""

    def __init__(self, name, tmpdir, uefi=False, reboot=False):
        self.name = name
        self.dir = tmpdir
        self.image = os.path.join(GUESTS_DIR, name + '.vhdx')
        self.overlay = os.path.join(tmpdir, 'overlay.qcow2')
        self.serial_path = os.path.join(tmpdir, 'serial.txt')
        self.debugcon_path = os.path.join(tmpdir, 'debugcon.txt')
        self.log_path = os.path.join(tmpdir, 'qemu.log')
        subprocess.run([QEMU_IMG, 'create', '-q', '-f', 'qcow2', '-b', self.image,
                        '-F', 'vhdx', self.overlay], check=True)
        argv = [QEMU, '-machine', 'q35', '-m', '256' if uefi else '64',
                '-display', 'none', '-nic', 'none', '-no-user-config',
                '-serial', 'file:' + self.serial_path,
                '-chardev', 'file,id=dbg,path=' + self.debugcon_path,
                '-device', 'isa-debugcon,iobase=0x402,chardev=dbg',
                '-qmp', 'unix:' + os.path.join(tmpdir, 'qmp.sock') + ',server=on,wait=off',
                '-device', 'ahci,id=ahci0',
                '-drive', f'if=none,id=disk0,format=qcow2,file={self.overlay}',
                '-device', 'ide-hd,drive=disk0,bus=ahci0.0,bootindex=1',
                '-S']
        if uefi:
            code, vars_template = OVMF
            vars_copy = os.path.join(tmpdir, 'vars.fd')
            shutil.copyfile(vars_template, vars_copy)
            argv += ['-accel', 'tcg',
                     '-drive', f'if=pflash,unit=0,format=raw,readonly=on,file={code}',
                     '-drive', f'if=pflash,unit=1,format=raw,file={vars_copy}']
        else:
            argv += ['-accel', 'kvm', '-accel', 'tcg'] if KVM else ['-accel', 'tcg']
            if KVM:
                # KVM's in-kernel PIT re-injects the ticks a stalled vCPU missed, in a
                # burst: bios-slow (which counts BIOS ticks) then ends its 6 s early,
                # by as long as the stall (4.9 s and 1.3 s measured on a busy machine).
                # Dropping missed ticks makes a tick stand for real time again.
                argv += ['-global', 'kvm-pit.lost_tick_policy=discard']
        if not reboot:
            argv.append('-no-reboot')
        self.log = open(self.log_path, 'wb')
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT,
                                     preexec_fn=die_with_parent if sys.platform == 'linux'
                                     else None)
        with LIVE_LOCK:
            LIVE.add(self.proc)
        try:
            self.qmp = Qmp(os.path.join(tmpdir, 'qmp.sock'), self.proc)
            # Nothing the guest does can happen before this moment.
            self.cont_sent = time.monotonic()
            self.qmp.command('cont')
        except BaseException:
            self.stop()
            raise
        self.started = time.monotonic()

    def serial(self):
        try:
            with open(self.serial_path, 'rb') as f:
                return f.read().decode('latin-1')
        except FileNotFoundError:
            return ''

    def debugcon(self):
        try:
            with open(self.debugcon_path, 'rb') as f:
                return f.read().decode('latin-1')
        except FileNotFoundError:
            return ''

    def wait_serial(self, text, timeout):
        wait_until(lambda: text in self.serial(), timeout, f'"{text}" on serial')
        return time.monotonic()

    def bracket_serial(self, text, timeout, not_before):
        """When @text reached the serial file, as a window (earliest, latest) of
        monotonic times: earliest is when the last read that did not find it
        began (or @not_before, a moment known to precede it), latest is when
        the first read that found it ended. A test that was late to look (a
        busy machine, the other guest's thread) gets a wider window, never a
        wrong one."""
        earliest = not_before
        deadline = time.monotonic() + timeout * SCALE
        while True:
            began = time.monotonic()
            found = text in self.serial()
            if found:
                return earliest, time.monotonic()
            earliest = max(earliest, began)
            if began > deadline:
                raise Failure(f'timed out after {timeout * SCALE:.0f} s waiting for "{text}" on serial')
            time.sleep(0.05)

    def vga_text(self):
        """The 80x25 text screen as 25 strings, read from guest memory at 0xB8000."""
        path = os.path.join(self.dir, 'vga.bin')
        self.qmp.command('pmemsave', val=VGA_TEXT, size=80 * 25 * 2, filename=path)
        with open(path, 'rb') as f:
            cells = f.read()
        return [cells[r * 160:(r + 1) * 160:2].decode('cp437').rstrip() for r in range(25)]

    def screendump(self, fmt):
        path = os.path.join(self.dir, f'screen.{fmt}')
        if fmt == 'png':
            self.qmp.command('screendump', filename=path, format='png')
        else:
            self.qmp.command('screendump', filename=path)
        return path

    def pixels(self):
        return parse_ppm(self.screendump('ppm'))

    def status(self):
        return self.qmp.command('query-status')['status']

    def powerdown_expect_off(self):
        self.qmp.command('system_powerdown')
        event = self.qmp.wait_event('SHUTDOWN', 20)
        check(event['data'] == {'guest': True, 'reason': 'guest-shutdown'},
              f'the guest did not power itself off: {event["data"]}')
        self.wait_exit(10)
        check(self.proc.returncode == 0, f'QEMU exited with status {self.proc.returncode}')

    def quit(self):
        self.qmp.command('quit')
        self.wait_exit(10)

    def wait_exit(self, timeout):
        try:
            self.proc.wait(timeout * SCALE)
        except subprocess.TimeoutExpired:
            raise Failure(f'QEMU still runs {timeout * SCALE:.0f} s after it should stop')

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        with LIVE_LOCK:
            LIVE.discard(self.proc)
        if hasattr(self, 'qmp'):
            self.qmp.close()
        self.log.close()

    def diagnostics(self):
        lines = [f'serial: {self.serial()[-400:]!r}']
        with open(self.log_path, 'rb') as f:
            lines.append(f'qemu log: {f.read()[-400:].decode("latin-1")!r}')
        lines.append(f'debugcon tail: {self.debugcon()[-200:]!r}')
        return lines


# ---------------------------------------------------------------- the guests

def line(name, text):
    return f'CHRONOS-GUEST {name}: {text}'


def expect_text_screen(vm, first_row):
    text = vm.vga_text()
    check(text[0] == first_row, f'screen row 0 is {text[0]!r}, not {first_row!r}')
    png = vm.screendump('png')
    check(check_png(png) == (720, 400), 'the text-mode screendump is not 720x400')
    _, _, pixels = vm.pixels()
    check(colour_share(pixels, is_black) < 0.999, 'the screen is blank')


def guest_bios_hello(vm):
    vm.wait_serial(line('bios-hello', 'booted'), 20)
    expect_text_screen(vm, line('bios-hello', 'booted'))
    vm.powerdown_expect_off()
    check(line('bios-hello', 'power button') in vm.serial(), 'no power-button line')


def guest_bios_writer(vm):
    outcomes = [line('bios-writer', t) for t in
                ('wrote disk', 'disk write failed', 'disk read-back mismatch')]
    wait_until(lambda: any(o in vm.serial() for o in outcomes), 20, 'the write result')
    check(outcomes[0] in vm.serial(), f'the guest said {vm.serial().splitlines()[-1]!r}')
    expect_text_screen(vm, line('bios-writer', 'booted'))
    vm.powerdown_expect_off()
    written = read_sectors(vm.overlay, 'qcow2', WRITER_LBA, 1, vm.dir)
    check(written == WRITER_SECTOR, 'the overlay does not hold the written sector')
    base = read_sectors(vm.image, 'vhdx', WRITER_LBA, 1, vm.dir)
    check(base == bytes(SECTOR), 'the write reached the base image')


def guest_bios_ignore_powerdown(vm):
    vm.wait_serial(line('bios-ignore-powerdown', 'ignoring the power button'), 20)
    expect_text_screen(vm, line('bios-ignore-powerdown', 'booted'))
    vm.qmp.command('system_powerdown')
    vm.qmp.wait_event('POWERDOWN', 5)
    time.sleep(3)
    check(not vm.qmp.events_named('SHUTDOWN'), 'the guest powered off')
    check(vm.status() == 'running', 'the guest is not running after the power button')
    vm.quit()


def guest_bios_stopscreen(vm):
    vm.wait_serial(line('bios-stopscreen', 'stop screen'), 20)
    _, _, pixels = vm.pixels()
    blue = colour_share(pixels, is_blue)
    check(blue > 0.9, f'only {blue:.0%} of the screen is stop-screen blue')
    text = '\n'.join(vm.vga_text())
    check('Stop code: CHRONOS_TEST_STOP' in text and ':(' in text, 'no stop-screen text')
    check(vm.status() == 'running', 'the halted guest is not in the running state')
    vm.quit()


def guest_bios_tripleflt(vm):
    guest_reset = lambda e: e['data'].get('reason') == 'guest-reset'
    # Each round: boot, line, triple fault (RESET).  Under KVM SeaBIOS then takes its
    # resume path and does a second, "hard" reboot: two RESET events per round.
    wait_until(lambda: vm.serial().count(line('bios-tripleflt', 'triple fault')) >= 3,
               30, 'the guest to boot three times')
    resets = [e for e in vm.qmp.events_named('RESET') if guest_reset(e)]
    check(len(resets) >= 2, f'only {len(resets)} guest-reset events')
    check(not vm.qmp.events_named('SHUTDOWN'), 'QEMU shut down instead of resetting')
    vm.quit()
    return f'{len(resets)} resets'


def guest_bios_black(vm):
    vm.wait_serial(line('bios-black', 'black screen'), 20)
    for _ in range(2):
        _, _, pixels = vm.pixels()
        check(pixels.count(0) == len(pixels), 'the screen is not all black')
        time.sleep(1)
    check(vm.status() == 'running', 'the guest is not running')
    vm.quit()


def guest_bios_slow(vm):
    # The guest's delay (110 BIOS ticks, 6.04 s) is timed by when its two serial
    # lines appeared, and each appearance is known only as a window between two
    # reads of the serial file. The check fails only when no delay inside those
    # windows is about 6 s: a test thread that was late to look (a busy machine)
    # widens the windows instead of shortening the delay it reports.
    w_lo, w_hi = vm.bracket_serial(line('bios-slow', 'waiting'), 20, vm.cont_sent)
    time.sleep(1)
    screen = vm.vga_text()
    screen_read = time.monotonic()
    # The screen write comes 6 s after 'waiting': seeing it sooner than 5 s after the
    # earliest moment 'waiting' can have appeared is too early, whatever the load.
    check(screen_read - w_lo >= 5.0 or not any('CHRONOS-GUEST' in r for r in screen),
          'the guest wrote to the screen before its delay')
    b_lo, b_hi = vm.bracket_serial(line('bios-slow', 'booted'), 20, w_hi)
    shortest, longest = max(b_lo - w_hi, 0.0), b_hi - w_lo
    check(longest >= 5.0 and shortest <= 12.0 * SCALE,
          f'the delay was between {shortest:.1f} and {longest:.1f} s, not about 6 s')
    expect_text_screen(vm, line('bios-slow', 'booted'))
    vm.powerdown_expect_off()
    return f'delay {shortest:.1f}-{longest:.1f} s'


def guest_blank(vm):
    wait_until(lambda: any('No bootable device' in r for r in vm.vga_text()), 30,
               'SeaBIOS "No bootable device." on screen', interval=0.3)
    check('No bootable device' in vm.debugcon(), 'no "No bootable device" on the debug port')
    check('CHRONOS-GUEST' not in vm.serial(), 'the blank disk printed a guest line')
    vm.quit()


def guest_uefi_hello(vm):
    vm.wait_serial(line('uefi-hello', 'booted'), 90)
    time.sleep(0.5)  # the serial console runs slightly ahead of the frame buffer
    png = vm.screendump('png')
    width, height = check_png(png)
    check(width >= 640 and height >= 480, f'odd UEFI screen size {width}x{height}')
    _, _, pixels = vm.pixels()
    check(colour_share(pixels, is_black) < 0.999, 'the UEFI screen is blank')
    vm.powerdown_expect_off()
    check(line('uefi-hello', 'power button') in vm.serial(), 'no power-button line')


GUESTS = [
    # name, check, uefi, let QEMU reboot
    ('uefi-hello', guest_uefi_hello, True, False),
    ('bios-hello', guest_bios_hello, False, False),
    ('bios-writer', guest_bios_writer, False, False),
    ('bios-ignore-powerdown', guest_bios_ignore_powerdown, False, False),
    ('bios-stopscreen', guest_bios_stopscreen, False, False),
    ('bios-tripleflt', guest_bios_tripleflt, False, True),
    ('bios-black', guest_bios_black, False, False),
    ('bios-slow', guest_bios_slow, False, False),
    ('blank', guest_blank, False, False),
]


# ---------------------------------------------------------------- disk layouts

def check_mbr(name, tmpdir):
    mbr = read_sectors(os.path.join(GUESTS_DIR, name + '.vhdx'), 'vhdx', 0, 1, tmpdir)
    if name == 'blank':
        check(mbr == bytes(SECTOR), 'the blank disk has data in sector 0')
        return
    check(mbr[510:512] == b'\x55\xaa', 'no 55 AA boot signature')
    entries = [mbr[446 + 16 * i:462 + 16 * i] for i in range(4)]
    used = [e for e in entries if e[4] != 0]
    check(len(used) == 1, f'{len(used)} partitions instead of 1')
    start, count = struct.unpack('<II', used[0][8:16])
    check(used[0][0] == 0x80, 'the partition is not marked active')
    check(start == 2048 and start + count == DISK_SECTORS, 'the partition does not fill the disk')


def check_gpt(name, tmpdir):
    image = os.path.join(GUESTS_DIR, name + '.vhdx')
    head = read_sectors(image, 'vhdx', 0, 34, tmpdir)
    tail = read_sectors(image, 'vhdx', DISK_SECTORS - 33, 33, tmpdir)
    check(head[510:512] == b'\x55\xaa' and head[446 + 4] == 0xee, 'no protective MBR')

    def header(raw, lba, entries):
        check(raw[:8] == b'EFI PART', f'no GPT header at LBA {lba}')
        size, crc = struct.unpack('<II', raw[12:20])
        zeroed = raw[:16] + b'\0\0\0\0' + raw[20:size]
        check(zlib.crc32(zeroed) == crc, f'bad header CRC at LBA {lba}')
        current, = struct.unpack('<Q', raw[24:32])
        check(current == lba, f'the header at LBA {lba} says it is at {current}')
        count, entry_size, entries_crc = struct.unpack('<III', raw[80:92])
        check(zlib.crc32(entries[:count * entry_size]) == entries_crc,
              f'bad partition array CRC for the header at LBA {lba}')
        return entries[:entry_size]

    first = header(head[512:1024], 1, head[1024:])
    backup = header(tail[-512:], DISK_SECTORS - 1, tail[:-512])
    check(first == backup, 'the primary and backup partition arrays differ')
    check(first[:16] == bytes.fromhex('28732ac11ff8d211ba4b00a0c93ec93b'),
          'the first partition is not an EFI System Partition')


# ---------------------------------------------------------------- main

def run_guest(entry, tmproot):
    name, test, uefi, reboot = entry
    tmpdir = tempfile.mkdtemp(prefix=name + '-', dir=tmproot)
    vm = None
    try:
        start = time.monotonic()
        vm = Vm(name, tmpdir, uefi=uefi, reboot=reboot)
        note = test(vm)
        took = time.monotonic() - start
        return True, f'{took:.1f} s' + (f', {note}' if note else ''), []
    except Failure as e:
        return False, str(e), vm.diagnostics() if vm else []
    except (OSError, subprocess.SubprocessError) as e:
        return False, f'{type(e).__name__}: {e}', vm.diagnostics() if vm else []
    finally:
        if vm:
            vm.stop()


def main():
    global KVM, OVMF, TMPROOT
    signal.signal(signal.SIGTERM, on_sigterm)
    signal.signal(signal.SIGINT, on_sigterm)
    missing = []
    if not GUESTS_DIR or not os.path.isdir(GUESTS_DIR):
        missing.append('CHRONOS_GUESTS_DIR (the built guests)')
    if not QEMU:
        missing.append('qemu-system-x86_64')
    if not QEMU_IMG:
        missing.append('qemu-img')
    if missing:
        print(f'1..0 # SKIP missing: {", ".join(missing)}')
        return 77
    # CHRONOS_GUESTS_ACCEL=tcg checks the BIOS guests under TCG on a KVM machine too.
    KVM = os.environ.get('CHRONOS_GUESTS_ACCEL', 'auto') != 'tcg' and kvm_works()
    OVMF = next(((c, v) for c, v in OVMF_PAIRS if os.path.exists(c) and os.path.exists(v)),
                None)

    present = [g for g in GUESTS if os.path.exists(os.path.join(GUESTS_DIR, g[0] + '.vhdx'))]
    absent = [g[0] for g in GUESTS if g not in present]
    if not present:
        print('1..0 # SKIP no guest image was built (see tests/guests/meson.build messages)')
        return 77

    hashes = {g[0]: sha256(os.path.join(GUESTS_DIR, g[0] + '.vhdx')) for g in present}
    print(f'1..{len(GUESTS) * 2 + 1}')
    print(f'# accelerator for BIOS guests: {"kvm" if KVM else "tcg"}; UEFI: tcg')
    number = 0
    failed = 0

    def report(ok, description, detail=None, lines=()):
        nonlocal number, failed
        number += 1
        failed += 0 if ok else 1
        suffix = f': {detail}' if detail else ''
        print(f'{"ok" if ok else "not ok"} {number} - {description}{suffix}')
        for extra in lines:
            print(f'#   {extra}')
        sys.stdout.flush()

    with tempfile.TemporaryDirectory(prefix='chronos-guests-') as tmproot:
        os.chmod(tmproot, 0o700)
        TMPROOT = tmproot
        for name in absent:
            number += 1
            print(f'ok {number} - layout {name} # SKIP not built')
        for name, _, uefi, _ in present:
            try:
                (check_gpt if uefi else check_mbr)(name, tmproot)
                report(True, f'layout {name}')
            except (Failure, subprocess.CalledProcessError) as e:
                report(False, f'layout {name}', str(e))

        runnable = []
        for g in GUESTS:
            if g not in present:
                number += 1
                print(f'ok {number} - boot {g[0]} # SKIP not built')
            elif g[2] and not OVMF:
                number += 1
                print(f'ok {number} - boot {g[0]} # SKIP no OVMF firmware installed')
            else:
                runnable.append(g)
        # Two at a time: the slow ones (UEFI under TCG, the 6-second guest) overlap
        # with the rest.
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            futures = [(g[0], pool.submit(run_guest, g, tmproot)) for g in runnable]
            for name, future in futures:
                ok, detail, lines = future.result()
                report(ok, f'boot {name}', detail, lines)

    changed = [n for n, h in hashes.items()
               if sha256(os.path.join(GUESTS_DIR, n + '.vhdx')) != h]
    report(not changed, 'the built images are unchanged (SHA-256)',
           f'changed: {", ".join(changed)}' if changed else None)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
