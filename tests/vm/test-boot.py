#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
#
# test-boot.py: `chronos-vm boot` on the real test guests with real QEMU.
#
# Usage: test-boot.py GROUP   (GROUP: basic, uefi, safety, shutdown, errors)
# Each group is its own meson test so they can run side by side. Every case
# uses its own XDG directories, hashes each backup it boots before and
# after, and checks that no QEMU and no run directory is left behind.
# Exit 77 (with the reason) when QEMU, the guests or chronos-vm are missing.
#
# CHRONOS_VM_WRAPPER, when set, is a command line (split as a shell would,
# without expansions) that every chronos-vm here runs under; each process gets
# its own CHRONOS_VM_WRAPPER_LOG path in its environment. build-aux/hardening.sh
# sets it to valgrind with --log-file=%q{CHRONOS_VM_WRAPPER_LOG}: a case fails
# when valgrind reports an error (a definite leak counts) or, for a process
# that exited by itself, no report at all. QEMU runs natively: valgrind does
# not follow exec.

import hashlib
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

CHRONOS_VM = os.environ.get('CHRONOS_VM', '')
GUESTS = os.environ.get('CHRONOS_GUESTS_DIR', '')
QEMU = shutil.which('qemu-system-x86_64')
QEMU_IMG = shutil.which('qemu-img')
QEMU_IO = shutil.which('qemu-io')
WRAPPER = shlex.split(os.environ.get('CHRONOS_VM_WRAPPER', ''))

# Generous: this runs on a busy two-core machine.
BOOT_TIMEOUT = 120


def skip(reason):
    print(f'SKIP: {reason}')
    sys.exit(77)


def guest(name):
    path = os.path.join(GUESTS, f'{name}.vhdx')
    if not os.path.exists(path):
        skip(f'the test guest {path} was not built (see tests/guests/README.md)')
    return path


def sha256(path):
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def kvm_usable():
    """/dev/kvm opens: Chronos will plan KVM (it may still fail)."""
    try:
        fd = os.open('/dev/kvm', os.O_RDWR)
        os.close(fd)
        return True
    except OSError:
        return False


_kvm_runs_guests = None


def kvm_runs_guests():
    """KVM really runs a guest here (tests/kvm-runs-guests.sh, shared with
    the C tests): on a nested AMD host QEMU aborts while it sets up the vCPU
    although /dev/kvm opens."""
    global _kvm_runs_guests
    if _kvm_runs_guests is None:
        script = os.path.join(os.environ.get('CHRONOS_SOURCE_ROOT', '.'), 'tests', 'kvm-runs-guests.sh')
        _kvm_runs_guests = kvm_usable() and subprocess.run(
            ['/bin/sh', script], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0
        print(f'# KVM {"runs" if _kvm_runs_guests else "does not run"} guests here')
    return _kvm_runs_guests


def process_alive(pid):
    """True while pid runs (a zombie counts as gone)."""
    try:
        with open(f'/proc/{pid}/stat') as f:
            state = f.read().rsplit(')', 1)[1].split()[0]
        return state != 'Z'
    except (FileNotFoundError, ProcessLookupError):
        return False


def wait_until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f'timed out after {timeout} s waiting for {what}')


class ChronosVmCommand:
    """The argv and environment of one chronos-vm process, under
    CHRONOS_VM_WRAPPER when set, and the check of the wrapper's log."""

    def __init__(self, env, args, outer=()):
        self.log = os.path.join(env.base, f'wrapper-{time.monotonic_ns()}.log')
        self.what = [CHRONOS_VM] + list(args)
        self.argv = list(outer) + WRAPPER + self.what
        self.vars = dict(env.vars, CHRONOS_VM_WRAPPER_LOG=self.log) if WRAPPER else env.vars

    def check(self, rc):
        """Raise AssertionError with the log when valgrind reported errors,
        or did not report at all for a process that exited by itself (one
        killed by a signal ends before the report)."""
        if not WRAPPER:
            return
        try:
            with open(self.log, errors='replace') as f:
                log = f.read()
        except FileNotFoundError:
            log = ''
        summary = re.search(r'ERROR SUMMARY: (\d+) errors', log)
        if summary is None and rc is not None and rc < 0:
            return
        if summary is None or int(summary.group(1)) != 0:
            raise AssertionError(f'{WRAPPER[0]} on {self.what} (exit status {rc}) '
                                 f'reported:\n{log or "nothing: no log at " + self.log}')


def run_chronos_vm(env, *args):
    """Run chronos-vm to its end; its wrapper's report is checked."""
    command = ChronosVmCommand(env, args)
    r = subprocess.run(command.argv, env=command.vars, capture_output=True, text=True)
    command.check(r.returncode)
    return r


class Env:
    """Private XDG directories for one case."""

    def __init__(self, base):
        self.base = base
        self.runtime = os.path.join(base, 'run')
        os.makedirs(self.runtime, mode=0o700)
        self.vars = dict(os.environ)
        self.vars.update({
            'XDG_RUNTIME_DIR': self.runtime,
            'XDG_CACHE_HOME': os.path.join(base, 'cache'),
            'XDG_DATA_HOME': os.path.join(base, 'data'),
            'XDG_CONFIG_HOME': os.path.join(base, 'config'),
            'XDG_STATE_HOME': os.path.join(base, 'state'),
            'HOME': base,
        })
        self.vars.pop('DISPLAY', None)
        self.vars.pop('WAYLAND_DISPLAY', None)

    def run_dirs(self):
        root = os.path.join(self.runtime, 'chronos')
        if not os.path.isdir(root):
            return []
        return [os.path.join(root, n) for n in os.listdir(root) if n.startswith('vm-')]


class Boot:
    """One `chronos-vm boot` process, its stdout parsed as it comes."""

    def __init__(self, env, image, *options, wrapper=(), serial=None):
        self.serial = serial or os.path.join(env.base, f'serial-{time.monotonic_ns()}.txt')
        self.command = ChronosVmCommand(env, ['boot', '--display', 'none', '--memory', '256',
                                              '--serial', self.serial] + list(options) + [image],
                                        outer=wrapper)
        self.start_time = time.monotonic()
        self.proc = subprocess.Popen(self.command.argv, env=self.command.vars, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.lines = []
        self.fields = {}
        self.stderr = ''
        self._lock = threading.Lock()
        self._out = threading.Thread(target=self._read_stdout, daemon=True)
        self._out.start()
        self._err = threading.Thread(target=self._read_stderr, daemon=True)
        self._err.start()

    def _read_stdout(self):
        for line in self.proc.stdout:
            line = line.rstrip('\n')
            with self._lock:
                self.lines.append(line)
                key, _, value = line.partition(': ')
                self.fields.setdefault(key, value)

    def _read_stderr(self):
        self.stderr = self.proc.stderr.read()

    def field(self, key):
        with self._lock:
            return self.fields.get(key)

    def wait_field(self, key, timeout=BOOT_TIMEOUT):
        def ready():
            return self.field(key) is not None or self.proc.poll() is not None
        wait_until(ready, timeout, f'"{key}:" from chronos-vm')
        value = self.field(key)
        if value is None:
            self.finish(10)
            raise AssertionError(f'chronos-vm ended without "{key}:"; stdout={self.lines} '
                                 f'stderr={self.stderr}')
        return value

    def serial_text(self):
        try:
            with open(self.serial, 'rb') as f:
                return f.read().decode('latin-1')
        except FileNotFoundError:
            return ''

    def wait_serial(self, text, timeout=BOOT_TIMEOUT):
        wait_until(lambda: text in self.serial_text() or self.proc.poll() is not None,
                   timeout, f'serial "{text}"')
        if text not in self.serial_text():
            self.finish(10)
            raise AssertionError(f'no "{text}" on serial; stdout={self.lines} stderr={self.stderr}')

    def finish(self, timeout=BOOT_TIMEOUT):
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise
        self._out.join(5)
        self._err.join(5)
        self.command.check(rc)
        return rc

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class BootTestCase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix='chronos-boot-')
        self.env = Env(self.tmp)
        self.boots = []
        self.hashes = {}

    def tearDown(self):
        for boot in self.boots:
            boot.kill()
            pid = boot.field('qemu-pid')
            if pid and process_alive(int(pid)):
                os.kill(int(pid), signal.SIGKILL)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def image(self, name, copy=False):
        path = guest(name)
        if copy:
            dest = os.path.join(self.tmp, f'{name} copy, with comma.vhdx')
            shutil.copyfile(path, dest)
            path = dest
        if path not in self.hashes:
            self.hashes[path] = sha256(path)
        return path

    def boot(self, image, *options, **kwargs):
        boot = Boot(self.env, image, *options, **kwargs)
        self.boots.append(boot)
        return boot

    def assert_unchanged(self):
        for path, digest in self.hashes.items():
            self.assertEqual(sha256(path), digest, f'{path} changed')

    def assert_clean_end(self, boot):
        """After chronos-vm ended: no QEMU, no run directory, log kept."""
        pid = int(boot.field('qemu-pid'))
        wait_until(lambda: not process_alive(pid), 10, f'QEMU {pid} to end')
        run_dir = boot.field('run-dir')
        self.assertFalse(os.path.exists(run_dir), f'{run_dir} left behind')
        self.assertTrue(os.path.isfile(boot.field('log')))
        self.assert_unchanged()

    def boot_and_power_off(self, image, *options, serial_line, stop=signal.SIGINT):
        boot = self.boot(image, *options)
        boot.wait_field('running')
        boot.wait_serial(serial_line)
        boot.proc.send_signal(stop)
        rc = boot.finish()
        self.assertEqual(rc, 0, f'stdout={boot.lines} stderr={boot.stderr}')
        self.assertTrue(boot.field('exit').startswith('guest-shutdown:'), boot.lines)
        self.assertIn('power button', boot.serial_text())
        self.assert_clean_end(boot)
        return boot


class Basic(BootTestCase):
    def test_bios_tcg(self):
        boot = self.boot_and_power_off(self.image('bios-hello'), '--accel', 'tcg',
                                       serial_line='CHRONOS-GUEST bios-hello: booted')
        self.assertEqual(boot.field('accelerator'), 'tcg')
        self.assertEqual(boot.field('firmware'), 'bios')
        self.assertIsNone(boot.field('fell-back'))
        with open(boot.field('log')) as f:
            log = f.read()
        # The log names the command line: the backup is a read-only node.
        self.assertIn('"read-only":true', log)

    def test_bios_kvm(self):
        if not kvm_usable():
            self.skipTest('/dev/kvm is not usable here')
        if not kvm_runs_guests():
            self.skipTest('KVM does not run guests here: test_bios_kvm_fails_at_start covers it')
        boot = self.boot_and_power_off(self.image('bios-hello'),
                                       serial_line='CHRONOS-GUEST bios-hello: booted',
                                       stop=signal.SIGTERM)
        self.assertEqual(boot.field('accelerator'), 'kvm')
        self.assertIsNone(boot.field('fell-back'))

    def test_bios_kvm_fails_at_start(self):
        # /dev/kvm opens but QEMU dies while KVM sets up the vCPU (a nested
        # AMD host: "failed to set MSR 0x10a", then an abort). QEMU's own
        # "-accel kvm -accel tcg" does not cover that; Chronos starts again
        # on TCG, says why, and remembers it for the next boot.
        if not kvm_usable() or kvm_runs_guests():
            self.skipTest('needs a /dev/kvm that opens but does not run guests')
        image = self.image('bios-hello')
        first = self.boot_and_power_off(image, serial_line='CHRONOS-GUEST bios-hello: booted',
                                        stop=signal.SIGTERM)
        self.assertEqual(first.field('accelerator'), 'tcg', first.lines)
        self.assertIn('KVM failed', first.field('fell-back') or '', first.lines)
        with open(first.field('log')) as f:
            self.assertIn('restarting on TCG', f.read())

        second = self.boot_and_power_off(image, serial_line='CHRONOS-GUEST bios-hello: booted',
                                         stop=signal.SIGTERM)
        self.assertEqual(second.field('accelerator'), 'tcg', second.lines)
        self.assertIsNone(second.field('fell-back'), second.lines)
        self.assertIn('before', second.field('note') or '', second.lines)

    def test_writer_goes_to_overlay(self):
        if QEMU_IO is None:
            self.skipTest('qemu-io is not installed')
        image = self.image('bios-writer', copy=True)
        boot = self.boot(image, '--accel', 'tcg')
        boot.wait_field('running')
        boot.wait_serial('CHRONOS-GUEST bios-writer: wrote disk')

        def read_sector(path, fmt):
            # The ASCII column of `read -v` shows the sector's text.
            return subprocess.run([QEMU_IO, '-r', '-U', '-f', fmt, '-c', 'read -v 1048576 64', path],
                                  capture_output=True, text=True, check=True).stdout

        # While it runs, the backup does not have the write (the guest read
        # it back, so it went somewhere: test-vm checks it is the overlay,
        # through QEMU's own view; QEMU caches the overlay's metadata, so
        # another process cannot see it there yet).
        self.assertNotIn('CHRONOS', read_sector(image, 'vhdx'))
        boot.proc.send_signal(signal.SIGINT)
        self.assertEqual(boot.finish(), 0, boot.lines)
        self.assertNotIn('CHRONOS', read_sector(image, 'vhdx'))
        self.assert_clean_end(boot)

    def test_writable_changes_the_image(self):
        # Only on request, with a warning: then the guest writes into the
        # image itself (a copy here), and there is no overlay.
        image = self.image('bios-writer', copy=True)
        boot = self.boot(image, '--accel', 'tcg', '--writable')
        boot.wait_field('running')
        boot.wait_serial('wrote disk')
        self.assertFalse(os.path.exists(os.path.join(boot.field('run-dir'), 'overlay.qcow2')))
        boot.proc.send_signal(signal.SIGINT)
        self.assertEqual(boot.finish(), 0, boot.lines)
        self.assertIn('WARNING', boot.stderr)
        self.assertIn('Writable', boot.field('note'))
        self.assertNotEqual(sha256(image), self.hashes.pop(image))
        self.assert_clean_end(boot)

    def test_long_runtime_dir(self):
        # A runtime dir whose path leaves no room for a socket name: the run
        # directory goes to a short private place instead.
        deep = os.path.join(self.env.runtime, 'x' * 90)
        os.makedirs(deep, mode=0o700)
        self.env.vars['XDG_RUNTIME_DIR'] = deep
        boot = self.boot(self.image('bios-hello'), '--accel', 'tcg')
        boot.wait_field('running')
        run_dir = boot.field('run-dir')
        self.assertFalse(run_dir.startswith(deep), run_dir)
        self.assertLess(len(os.path.join(run_dir, 'qmp.sock')), 108)
        self.assertEqual(os.stat(run_dir).st_mode & 0o777, 0o700)
        boot.wait_serial('booted')
        boot.proc.send_signal(signal.SIGINT)
        self.assertEqual(boot.finish(), 0, boot.lines)
        self.assert_clean_end(boot)


class Uefi(BootTestCase):
    def test_uefi_fallback_then_remembered(self):
        image = self.image('uefi-hello')
        first = self.boot(image)
        first.wait_field('running')
        first.wait_serial('CHRONOS-GUEST uefi-hello: ')
        self.assertEqual(first.field('firmware'), 'uefi')
        accel = first.field('accelerator')
        fell_back = first.field('fell-back')
        first.proc.send_signal(signal.SIGINT)
        self.assertEqual(first.finish(), 0, first.lines)
        self.assert_clean_end(first)

        if not kvm_usable():
            self.assertEqual(accel, 'tcg')
            return
        if accel == 'kvm' and fell_back is None:
            print('# KVM runs OVMF on this host: the fallback is not needed here')
            return

        self.assertEqual(accel, 'tcg', first.lines)
        with open(first.field('log')) as f:
            log = f.read()
        if kvm_runs_guests():
            # Nested KVM on Intel stops OVMF with an internal error.
            self.assertIn('internal error', fell_back)
            self.assertIn('KVM internal error', log)
        else:
            # Nested KVM on AMD fails before any firmware runs.
            self.assertIn('KVM failed', fell_back)
            self.assertIn('restarting on TCG', log)

        # The second boot goes to TCG directly and says why.
        second = self.boot(image)
        second.wait_field('running')
        self.assertEqual(second.field('accelerator'), 'tcg')
        self.assertIsNone(second.field('fell-back'))
        self.assertIn('before', second.field('note') or '', second.lines)
        second.wait_serial('CHRONOS-GUEST uefi-hello: ')
        with open(second.field('log')) as f:
            self.assertNotIn('KVM internal error', f.read())
        second.proc.send_signal(signal.SIGTERM)
        self.assertEqual(second.finish(), 0, second.lines)
        self.assert_clean_end(second)

    def test_uefi_tcg(self):
        boot = self.boot_and_power_off(self.image('uefi-hello'), '--accel', 'tcg',
                                       serial_line='CHRONOS-GUEST uefi-hello: ')
        self.assertEqual(boot.field('accelerator'), 'tcg')
        self.assertTrue(boot.field('firmware-path'))


class Safety(BootTestCase):
    def test_kill_qemu(self):
        boot = self.boot(self.image('bios-writer'), '--accel', 'tcg')
        boot.wait_field('running')
        boot.wait_serial('wrote disk')
        os.kill(int(boot.field('qemu-pid')), signal.SIGKILL)
        self.assertEqual(boot.finish(), 1, boot.lines)
        self.assertTrue(boot.field('exit').startswith('crashed:'), boot.lines)
        self.assertIn('signal 9', boot.field('exit'))
        self.assertIn(boot.field('log'), boot.stderr)
        self.assert_clean_end(boot)

    def test_kill_chronos_vm(self):
        image = self.image('bios-writer')
        boot = self.boot(image, '--accel', 'tcg')
        boot.wait_field('running')
        boot.wait_serial('wrote disk')
        qemu_pid = int(boot.field('qemu-pid'))
        stale = boot.field('run-dir')
        boot.proc.kill()
        killed = time.monotonic()
        boot.finish()
        # PR_SET_PDEATHSIG: QEMU goes with its parent.
        wait_until(lambda: not process_alive(qemu_pid), 2, f'QEMU {qemu_pid} to die with chronos-vm')
        self.assertLess(time.monotonic() - killed, 2.5)
        self.assertTrue(os.path.isdir(stale), 'the run directory of a killed chronos-vm stays until the next start')
        self.assert_unchanged()

        # The next start sweeps it.
        again = self.boot(image, '--accel', 'tcg')
        again.wait_field('running')
        self.assertFalse(os.path.exists(stale), f'{stale} was not swept')
        self.assertEqual(self.env.run_dirs(), [again.field('run-dir')])
        again.wait_serial('wrote disk')
        again.proc.send_signal(signal.SIGINT)
        self.assertEqual(again.finish(), 0, again.lines)
        self.assert_clean_end(again)

    def test_several_at_once(self):
        image = self.image('bios-hello')
        boots = [self.boot(image, '--accel', 'tcg') for _ in range(3)]
        for boot in boots:
            boot.wait_field('running')
            boot.wait_serial('booted')
        self.assertEqual(len(set(b.field('run-dir') for b in boots)), 3)
        self.assertEqual(len(set(b.field('log') for b in boots)), 3)
        for boot in boots:
            boot.proc.send_signal(signal.SIGINT)
        for boot in boots:
            self.assertEqual(boot.finish(), 0, boot.lines)
            self.assert_clean_end(boot)


class Shutdown(BootTestCase):
    def test_ignore_powerdown(self):
        boot = self.boot(self.image('bios-ignore-powerdown'), '--accel', 'tcg',
                         '--shutdown-timeout', '2')
        boot.wait_field('running')
        boot.wait_serial('ignoring the power button')
        asked = time.monotonic()
        boot.proc.send_signal(signal.SIGINT)
        self.assertEqual(boot.finish(), 0, boot.lines)
        took = time.monotonic() - asked
        self.assertTrue(boot.field('exit').startswith('host-quit:'), boot.lines)
        self.assertGreaterEqual(took, 1.9)
        self.assertLess(took, 30)
        self.assertNotIn('power button\r', boot.serial_text().replace('ignoring the power button', ''))
        self.assert_clean_end(boot)

    def test_ctrl_c_twice(self):
        boot = self.boot(self.image('bios-ignore-powerdown'), '--accel', 'tcg')
        boot.wait_field('running')
        boot.wait_serial('ignoring the power button')
        qemu_pid = int(boot.field('qemu-pid'))
        boot.proc.send_signal(signal.SIGINT)
        boot.wait_field('stopping')
        boot.proc.send_signal(signal.SIGINT)
        self.assertEqual(boot.finish(), 130)
        wait_until(lambda: not process_alive(qemu_pid), 2, 'QEMU to die with chronos-vm')
        self.assert_unchanged()


class Errors(BootTestCase):
    def test_image_in_use(self):
        image = self.image('bios-hello', copy=True)
        holder = subprocess.Popen([QEMU, '-nodefaults', '-display', 'none', '-S', '-machine', 'q35',
                                   '-drive', f'file={image.replace(",", ",,")},format=vhdx,if=none,id=d0'],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            def locked():
                r = subprocess.run([QEMU_IMG, 'info', image], capture_output=True, text=True)
                return r.returncode != 0 and 'lock' in r.stderr
            wait_until(locked, 60, 'the other QEMU to lock the image')
            self.hashes[image] = sha256(image)
            boot = self.boot(image, '--accel', 'tcg')
            self.assertEqual(boot.finish(), 1, boot.lines)
            self.assertIn('in use by another program', boot.stderr)
            self.assertIn('Unmount it', boot.stderr)
            self.assertTrue(boot.stderr.startswith(f'chronos-vm: {image}: '), boot.stderr)
            self.assertEqual(self.env.run_dirs(), [])
        finally:
            holder.kill()
            holder.wait()

    def test_missing_firmware(self):
        hide = ['/usr/share/OVMF', '/usr/share/qemu/firmware', '/etc/qemu/firmware',
                '/usr/share/edk2', '/usr/share/edk2-ovmf']
        hide = [d for d in hide if os.path.isdir(d)]
        bwrap = shutil.which('bwrap')
        wrapper = None
        if bwrap and subprocess.run([bwrap, '--dev-bind', '/', '/', 'true'],
                                    capture_output=True).returncode == 0:
            wrapper = [bwrap, '--dev-bind', '/', '/']
            for d in hide:
                wrapper += ['--tmpfs', d]
        elif shutil.which('unshare') and os.geteuid() == 0:
            mounts = '; '.join(f'mount -t tmpfs none {d}' for d in hide)
            wrapper = ['unshare', '-m', 'sh', '-c', f'{mounts}; exec "$@"', 'sh']
        if wrapper is None:
            self.skipTest('neither bwrap nor unshare can hide the system firmware here')
        boot = self.boot(self.image('uefi-hello'), '--accel', 'tcg', wrapper=wrapper)
        self.assertEqual(boot.finish(), 1, boot.lines)
        self.assertIn('firmware', boot.stderr.lower())
        self.assertIn('install', boot.stderr.lower(), boot.stderr)
        self.assertEqual(self.env.run_dirs(), [])
        self.assert_unchanged()

    def test_missing_image(self):
        boot = self.boot(os.path.join(self.tmp, 'nope.vhdx'))
        self.assertEqual(boot.finish(), 1)
        self.assertIn('does not exist', boot.stderr)

    def test_not_an_image(self):
        path = os.path.join(self.tmp, 'text.vhdx')
        with open(path, 'w') as f:
            f.write('hello\n' * 1000)
        boot = self.boot(path)
        self.assertEqual(boot.finish(), 1)
        self.assertTrue(boot.stderr.startswith(f'chronos-vm: {path}: '), boot.stderr)
        self.assertEqual(self.env.run_dirs(), [])

    def test_usage(self):
        for args in (['--memory', '12'], ['--accel', 'fast'], ['--display', 'tv'], []):
            r = run_chronos_vm(self.env, 'boot', *args, *([guest('bios-hello')] if args else []))
            self.assertEqual(r.returncode, 2, (args, r.stderr))


GROUPS = {
    'basic': Basic,
    'uefi': Uefi,
    'safety': Safety,
    'shutdown': Shutdown,
    'errors': Errors,
}


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in GROUPS:
        print(f'usage: {sys.argv[0]} {"|".join(GROUPS)}', file=sys.stderr)
        return 2
    if not CHRONOS_VM or not os.access(CHRONOS_VM, os.X_OK):
        skip('CHRONOS_VM does not name the chronos-vm binary')
    if QEMU is None or QEMU_IMG is None:
        skip('qemu-system-x86_64 or qemu-img is not installed')
    if not GUESTS or not os.path.isdir(GUESTS):
        skip('CHRONOS_GUESTS_DIR does not name the built test guests')
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(GROUPS[sys.argv[1]])
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    return 0 if result.wasSuccessful() else 1


if __name__ == '__main__':
    sys.exit(main())
