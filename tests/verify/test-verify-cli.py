#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
#
# test-verify-cli.py: `chronos-vm verify` end to end on the test guests
# (TCG): exit status 0 only for booted, --json with every DESIGN.md field,
# --screenshot writes a valid PNG of the screen's size, the human output
# names verdict, reason, timings, accelerator, screenshot and log, Ctrl+C
# stops the VM and leaves no run directory and no QEMU, usage errors exit 2,
# and the backups' SHA-256 never change.

import hashlib
import json
import os
import signal
import struct
import subprocess
import sys
import tempfile
import time
import zlib

CHRONOS_VM = os.environ.get('CHRONOS_VM')
GUESTS = os.environ.get('CHRONOS_GUESTS_DIR', '')
FIELDS = ['path', 'verdict', 'reason', 'accelerator', 'fell_back', 'firmware', 'seconds',
          'screenshot', 'log']

failures = 0


def check(condition, what):
    global failures
    print(('ok: ' if condition else 'FAIL: ') + what, flush=True)
    if not condition:
        failures += 1


def sha256(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def png_size(path):
    """Width and height of a PNG whose IHDR CRC is right, else None."""
    with open(path, 'rb') as f:
        data = f.read(33)
    if len(data) < 33 or data[:8] != b'\x89PNG\r\n\x1a\n' or data[12:16] != b'IHDR':
        return None
    if zlib.crc32(data[12:29]) != struct.unpack('>I', data[29:33])[0]:
        return None
    return struct.unpack('>II', data[16:24])


def qemus(needle):
    found = []
    for pid in os.listdir('/proc'):
        if not pid.isdigit():
            continue
        try:
            with open('/proc/%s/cmdline' % pid, 'rb') as f:
                cmd = f.read()
        except OSError:
            continue
        if b'qemu-system' in cmd and needle.encode() in cmd:
            found.append(int(pid))
    return found


def verify(env, *args):
    return subprocess.run([CHRONOS_VM, 'verify'] + list(args), capture_output=True, text=True,
                          env=env, timeout=300)


def main():
    if not CHRONOS_VM or not os.path.exists(os.path.join(GUESTS, 'bios-hello.vhdx')):
        print('skip: chronos-vm or the test guests are missing')
        return 77

    with tempfile.TemporaryDirectory(prefix='chronos-verify-cli-') as tmp:
        env = dict(os.environ)
        env['XDG_CACHE_HOME'] = os.path.join(tmp, 'cache')
        env['XDG_RUNTIME_DIR'] = os.path.join(tmp, 'run')
        env['XDG_DATA_HOME'] = os.path.join(tmp, 'data')
        env['XDG_CONFIG_HOME'] = os.path.join(tmp, 'config')
        os.makedirs(env['XDG_RUNTIME_DIR'], mode=0o700)
        run_root = os.path.join(env['XDG_RUNTIME_DIR'], 'chronos')
        hashes = {g: sha256(os.path.join(GUESTS, g + '.vhdx'))
                  for g in ('bios-hello', 'bios-stopscreen', 'bios-black')}

        # booted, JSON, --screenshot
        image = os.path.join(GUESTS, 'bios-hello.vhdx')
        shot = os.path.join(tmp, 'hello.png')
        r = verify(env, '--json', '--accel', 'tcg', '--screenshot', shot, image)
        check(r.returncode == 0, 'bios-hello: exit 0 (stderr %r)' % r.stderr)
        doc = json.loads(r.stdout)
        check(all(f in doc for f in FIELDS), 'JSON has every field: %s' % sorted(doc))
        check(doc['verdict'] == 'booted' and doc['accelerator'] == 'tcg' and doc['firmware'] == 'bios'
              and doc['fell_back'] is False, 'JSON values: %r' % doc)
        check(doc['path'] == os.path.realpath(image), 'JSON path is the absolute image path')
        check(doc['screenshot'] == shot and png_size(shot) == (720, 400),
              '--screenshot is a valid 720x400 PNG')
        check(doc['log'] and os.path.isfile(doc['log']), 'the QEMU log exists: %s' % doc['log'])
        check(isinstance(doc['seconds'], float) and 0 < doc['seconds'] < 30,
              'seconds: %s' % doc['seconds'])

        # failed, human output
        r = verify(env, '--accel', 'tcg', os.path.join(GUESTS, 'bios-stopscreen.vhdx'))
        check(r.returncode == 1, 'bios-stopscreen: exit 1')
        out = r.stdout
        for label in ('Verdict:', 'Reason:', 'Timings:', 'Accelerator:', 'Firmware:', 'Screenshot:', 'Log:'):
            check(label in out, 'human output has %s' % label)
        check('failed' in out and 'stop screen: blue screen held' in out, 'human verdict and reason: %r' % out)

        # Ctrl+C while the black guest runs: the VM is stopped and cleaned up.
        black = os.path.join(GUESTS, 'bios-black.vhdx')
        proc = subprocess.Popen([CHRONOS_VM, 'verify', '--accel', 'tcg', black], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        # QEMU processes are told apart by our private runtime directory:
        # other tests boot the same guests at the same time.
        mine = env['XDG_RUNTIME_DIR']
        while time.monotonic() < deadline and not qemus(mine):
            time.sleep(0.1)
        time.sleep(1.5)
        check(qemus(mine) != [], 'QEMU runs before Ctrl+C')
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        check(proc.returncode == 1, 'Ctrl+C: exit 1 (%s)' % proc.returncode)
        check('cancelled' in err, 'Ctrl+C: says it was cancelled: %r' % err)
        check(qemus(mine) == [], 'Ctrl+C: no QEMU left')
        check(not os.path.isdir(run_root) or os.listdir(run_root) == [],
              'Ctrl+C: no run directory left: %s' % (os.listdir(run_root) if os.path.isdir(run_root) else []))

        # Usage and input errors.
        r = verify(env)
        check(r.returncode == 2, 'no IMAGE: exit 2')
        r = verify(env, '--timeout', '0', image)
        check(r.returncode == 2, '--timeout 0: exit 2')
        r = verify(env, os.path.join(tmp, 'missing.vhdx'))
        check(r.returncode == 1 and r.stderr.count('\n') == 1 and r.stderr.startswith('chronos-vm: '),
              'a missing image: exit 1 with one line: %r' % r.stderr)

        check(not os.path.isdir(run_root) or os.listdir(run_root) == [], 'no run directory left')
        for guest, before in hashes.items():
            check(sha256(os.path.join(GUESTS, guest + '.vhdx')) == before, '%s unchanged (SHA-256)' % guest)

    print('%d failure(s)' % failures)
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
