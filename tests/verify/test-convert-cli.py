#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
#
# test-convert-cli.py: `chronos-vm convert` end to end with the real qemu-img:
# progress reaches 100, the copy equals the backup (qemu-img compare), an
# existing output is refused and left alone, a bad input fails with one
# line, Ctrl+C (SIGINT) mid-way leaves nothing behind, the backup's SHA-256
# never changes, and the converted bios-hello guest boots under bare QEMU.

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

CHRONOS_VM = os.environ.get('CHRONOS_VM')
GUESTS_DIR = os.environ.get('CHRONOS_GUESTS_DIR', '')
QEMU_IMG = shutil.which('qemu-img')
QEMU_IO = shutil.which('qemu-io')
QEMU = shutil.which('qemu-system-x86_64')

failures = 0


def check(condition, what):
    global failures
    print(('ok: ' if condition else 'FAIL: ') + what, flush=True)
    if not condition:
        failures += 1


def sha256(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


def make_vhdx(path, size, writes):
    subprocess.run([QEMU_IMG, 'create', '-q', '-f', 'vhdx', path, size], check=True)
    args = [QEMU_IO, '-f', 'vhdx']
    for w in writes:
        args += ['-c', w]
    subprocess.run(args + [path], check=True, stdout=subprocess.DEVNULL)


def convert(*args, **kwargs):
    return subprocess.run([CHRONOS_VM, 'convert'] + list(args), capture_output=True,
                          text=True, **kwargs)


def qemu_img_children(tmp):
    """qemu-img processes working on files in @tmp (there must be none left)."""
    found = []
    for pid in os.listdir('/proc'):
        if not pid.isdigit():
            continue
        try:
            with open('/proc/%s/cmdline' % pid, 'rb') as f:
                cmd = f.read().split(b'\0')
        except OSError:
            continue
        if cmd and cmd[0].endswith(b'qemu-img') and any(tmp.encode() in a for a in cmd):
            found.append(int(pid))
    return found


def test_convert(tmp):
    src = os.path.join(tmp, 'backup.vhdx')
    out = os.path.join(tmp, 'backup.qcow2')
    make_vhdx(src, '128M', ['write -P 0xa5 0 16M', 'write -P 0x3c 100M 3M'])
    before = sha256(src)

    r = convert('--progress', src, out)
    check(r.returncode == 0, 'convert exits 0 (stderr: %r)' % r.stderr)
    lines = [l for l in r.stdout.splitlines() if l.startswith('progress: ')]
    check(len(lines) >= 2, 'plain progress lines when stdout is no terminal')
    check(lines and lines[-1] == 'progress: 100%', 'progress reaches 100%')
    percents = [int(l[len('progress: '):-1]) for l in lines]
    check(percents == sorted(percents), 'progress never goes back')
    cmp = subprocess.run([QEMU_IMG, 'compare', '-f', 'vhdx', '-F', 'qcow2', src, out],
                         capture_output=True, text=True)
    check(cmp.returncode == 0, 'qemu-img compare: output equals the backup (%s)' % cmp.stdout.strip())
    check(sorted(os.listdir(tmp)) == ['backup.qcow2', 'backup.vhdx'], 'no temporary file left')

    # An existing output is refused and left untouched, with one line on stderr.
    with open(out, 'rb') as f:
        out_sha = hashlib.sha256(f.read()).hexdigest()
    r = convert(src, out)
    check(r.returncode == 1, 'an existing output is refused with exit 1')
    check(r.stderr.count('\n') == 1 and r.stderr.startswith('chronos-vm: %s: ' % out),
          'one error line naming the output: %r' % r.stderr)
    check(sha256(out) == out_sha, 'the existing output is untouched')

    r = convert('--force', src, out)
    check(r.returncode == 0, '--force replaces it')
    # Not even --force replaces the backup itself, by its name or a link.
    link = os.path.join(tmp, 'link.vhdx')
    os.link(src, link)
    for target in (src, link, os.path.join(tmp, '.', 'backup.vhdx')):
        r = convert('--force', src, target)
        check(r.returncode == 1 and 'the backup itself' in r.stderr,
              'the backup is never the output (%s): %r' % (target, r.stderr))
    os.unlink(link)
    check(sha256(src) == before, 'the backup is unchanged (SHA-256)')


def test_stale_parts(tmp):
    """A .part file left by a killed conversion is removed by the next one to
    the same name; one still locked (a conversion running) is not."""
    import fcntl
    src = os.path.join(tmp, 'backup.vhdx')
    out = os.path.join(tmp, 'out.qcow2')
    make_vhdx(src, '16M', ['write -P 0x42 0 1M'])
    stale = os.path.join(tmp, '.out.qcow2.part-AbC123')
    busy = os.path.join(tmp, '.out.qcow2.part-XyZ789')
    other = os.path.join(tmp, '.other.qcow2.part-AbC123')
    for path in (stale, busy, other):
        with open(path, 'w') as f:
            f.write('partial')
    holder = open(busy, 'r')
    fcntl.flock(holder, fcntl.LOCK_EX)
    try:
        r = convert(src, out)
    finally:
        holder.close()
    check(r.returncode == 0, 'converts next to stale parts (%r)' % r.stderr)
    check(not os.path.exists(stale), 'a killed conversion\'s .part file is removed')
    check(os.path.exists(busy), 'a .part file in use (locked) is kept')
    check(os.path.exists(other), 'a .part file of another output name is kept')


def test_bad_input(tmp):
    bad = os.path.join(tmp, 'notes.vhdx')
    out = os.path.join(tmp, 'bad.qcow2')
    with open(bad, 'w') as f:
        f.write('not a disk image\n' * 100)

    r = convert(bad, out)
    check(r.returncode == 1, 'a bad input exits 1')
    check(r.stderr.count('\n') == 1 and 'not a VHDX image' in r.stderr,
          'a bad input fails with one clear line: %r' % r.stderr)
    r = convert(os.path.join(tmp, 'missing.vhdx'), out)
    check(r.returncode == 1 and 'does not exist' in r.stderr, 'a missing input: %r' % r.stderr)
    r = convert(bad)
    check(r.returncode == 2, 'a missing OUTPUT argument is a usage error (exit 2)')
    check(not any(n.startswith('.bad.qcow2') or n == 'bad.qcow2' for n in os.listdir(tmp)),
          'nothing written for a bad input')


def test_no_space(tmp):
    """A target file system too small is refused before qemu-img runs. A
    private tmpfs needs a user namespace (unshare -rm); skipped without."""
    src = os.path.join(tmp, 'backup.vhdx')
    small = os.path.join(tmp, 'small')
    os.mkdir(small)
    make_vhdx(src, '64M', ['write -P 0x77 0 32M'])
    script = ('mount -t tmpfs -o size=4m tmpfs "$1" || exit 77; '
              '"$2" convert "$3" "$1/out.qcow2"; rc=$?; ls -A "$1"; exit $rc')
    r = subprocess.run(['unshare', '-rm', 'sh', '-c', script, 'sh', small, CHRONOS_VM, src],
                       capture_output=True, text=True)
    if r.returncode == 77 or 'unshare' in r.stderr and 'Operation not permitted' in r.stderr:
        print('skip: no user namespace for a small tmpfs (%s)' % r.stderr.strip(), flush=True)
        return
    check(r.returncode == 1, 'too little space: exit 1 (%s)' % r.returncode)
    check('Not enough free space' in r.stderr and r.stderr.count('\n') == 1,
          'too little space: one clear line: %r' % r.stderr)
    check(r.stdout.strip() == '', 'too little space: nothing written there (%r)' % r.stdout)


def test_cancel(tmp):
    src = os.path.join(tmp, 'big.vhdx')
    out = os.path.join(tmp, 'big.qcow2')
    # 2 GiB of written data: long enough to interrupt on this machine.
    make_vhdx(src, '2G', ['write -P 0x5a 0 2040M'])
    before = sha256(src)

    proc = subprocess.Popen([CHRONOS_VM, 'convert', '--progress', src, out],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = None
    for line in proc.stdout:
        if line.startswith('progress: ') and 0 < int(line[len('progress: '):-2]) < 100:
            seen = line.strip()
            break
    check(seen is not None, 'saw progress before interrupting (%s)' % seen)
    proc.send_signal(signal.SIGINT)
    try:
        proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
    check(proc.returncode == 1, 'Ctrl+C ends the conversion with exit 1 (got %s)' % proc.returncode)
    check(sorted(os.listdir(tmp)) == ['big.vhdx'], 'cancel leaves nothing behind: %s' % os.listdir(tmp))
    check(qemu_img_children(tmp) == [], 'no qemu-img left running')
    check(sha256(src) == before, 'the backup is unchanged after cancel (SHA-256)')
    os.unlink(src)


def test_converted_guest_boots(tmp):
    guest = os.path.join(GUESTS_DIR, 'bios-hello.vhdx')
    if not GUESTS_DIR or not os.path.exists(guest) or QEMU is None:
        print('skip: the bios-hello guest or qemu-system-x86_64 is missing', flush=True)
        return
    src = os.path.join(tmp, 'bios-hello.vhdx')
    shutil.copy(guest, src)
    before = sha256(src)
    out = os.path.join(tmp, 'bios-hello.qcow2')
    r = convert(src, out)
    check(r.returncode == 0, 'bios-hello converts (%r)' % r.stderr)

    serial = os.path.join(tmp, 'serial.txt')
    qemu = subprocess.Popen([QEMU, '-machine', 'q35', '-accel', 'tcg', '-m', '64',
                             '-display', 'none', '-nic', 'none', '-no-user-config',
                             '-drive', 'file=%s,format=qcow2,if=none,id=d0,snapshot=on' % out,
                             '-device', 'ide-hd,drive=d0', '-serial', 'file:' + serial],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    booted = False
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline and qemu.poll() is None:
            if os.path.exists(serial):
                with open(serial, 'rb') as f:
                    if b'CHRONOS-GUEST bios-hello: booted' in f.read():
                        booted = True
                        break
            time.sleep(0.2)
    finally:
        qemu.kill()
        qemu.wait()
    check(booted, 'the converted image boots (serial line seen)')
    check(sha256(src) == before, 'the guest backup is unchanged')


def main():
    if not CHRONOS_VM or not QEMU_IMG or not QEMU_IO:
        print('skip: chronos-vm, qemu-img or qemu-io is missing (Debian: qemu-utils)')
        return 77
    for test in (test_convert, test_stale_parts, test_bad_input, test_no_space, test_cancel, test_converted_guest_boots):
        with tempfile.TemporaryDirectory(prefix='chronos-convert-') as tmp:
            print('# ' + test.__name__, flush=True)
            test(tmp)
    print('%d failure(s)' % failures)
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
