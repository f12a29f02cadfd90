#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
#
# End to end: the real `chronos` binary on the demo library, under Xvfb and
# its own D-Bus session, driven through AT-SPI the way a screen reader (or a
# person) drives it. Screenshots of each step are saved as test artifacts.
#
#   test-app.py [--screen WxH] [--with-vm] ARTIFACT_DIR
#
# Prints TAP. Exits 77 when a tool it needs is missing.

import argparse
import hashlib
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def skip(reason):
    print('1..0 # SKIP ' + reason)
    sys.exit(77)


def parse_args():
    parser = argparse.ArgumentParser()
    parser.add_argument('--screen', default='1280x800')
    parser.add_argument('--with-vm', action='store_true')
    parser.add_argument('--inner', action='store_true')
    parser.add_argument('artifacts')
    return parser.parse_args()


def outer(args):
    """Re-run this script inside Xvfb and a private D-Bus session."""
    for tool in ('xvfb-run', 'dbus-run-session', 'import'):
        if shutil.which(tool) is None:
            skip(tool + ' is not installed (Debian: xvfb, dbus, imagemagick)')
    try:
        import gi
        gi.require_version('Atspi', '2.0')
        import pyatspi  # noqa: F401
    except (ImportError, ValueError) as e:
        skip('pyatspi is not available (Debian: python3-pyatspi gir1.2-atspi-2.0): %s' % e)

    env = dict(os.environ)
    # The accessibility bridge must be on for AT-SPI to see the app.
    env.pop('NO_AT_BRIDGE', None)
    env.pop('GTK_A11Y', None)
    # libatspi warns about objects that vanish while it walks the tree;
    # that is no failure of the app.
    env.pop('G_DEBUG', None)
    # Several test programs may start X servers at once: start looking for a
    # free display number at a random one rather than all at :99.
    cmd = ['xvfb-run', '-a', '-n', str(random.randint(100, 30000)), '-s', '-screen 0 %sx24' % args.screen,
           'dbus-run-session', '--', sys.executable, os.path.abspath(__file__), '--inner',
           '--screen', args.screen, args.artifacts]
    if args.with_vm:
        cmd.insert(-1, '--with-vm')
    # Daemons that D-Bus starts for the session (the AT-SPI registry) write
    # to the same stdout: pass TAP through and make the rest TAP comments.
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True)
    for line in proc.stdout:
        if not line.startswith(('ok ', 'not ok ', '1..', '#')):
            line = '# ' + line
        sys.stdout.write(line)
        sys.stdout.flush()
    sys.exit(proc.wait())


class Tap:
    def __init__(self, artifacts=None):
        self.artifacts = artifacts
        self.n = 0
        self.failed = 0

    def ok(self, cond, what):
        self.n += 1
        if cond:
            print('ok %d - %s' % (self.n, what))
        else:
            self.failed += 1
            print('not ok %d - %s' % (self.n, what))
        sys.stdout.flush()
        return cond

    def must(self, cond, what):
        if not self.ok(cond, what):
            # What the screen showed when it went wrong.
            if self.artifacts is not None:
                screenshot(self.artifacts, 'e2e-failure-%d.png' % self.n, settle=False)
            raise SystemExit(self.finish())

    def finish(self):
        print('1..%d' % self.n)
        return 1 if self.failed else 0


def sha256(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            h.update(block)
    return h.hexdigest()


def wait_for(predicate, timeout=30.0, step=0.2):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            value = predicate()
        except Exception:  # the tree changes under our feet
            value = None
        if value:
            return value
        time.sleep(step)
    return None


def descendants(node):
    import pyatspi
    stack = [node]
    while stack:
        n = stack.pop()
        if n is None:
            continue
        yield n
        try:
            stack.extend(reversed([c for c in n]))
        except Exception:
            pass


def showing(node):
    # GTK 4.8 sets VISIBLE but never SHOWING; a hidden widget is not VISIBLE
    # (a stack page that is merely not on top still is).
    import pyatspi
    try:
        return node.getState().contains(pyatspi.STATE_VISIBLE)
    except Exception:
        return False


def find(root, role=None, name=None, visible=True):
    for n in descendants(root):
        try:
            if role is not None and n.getRoleName() != role:
                continue
            if name is not None and n.name != name:
                continue
        except Exception:
            continue
        if visible and not showing(n):
            continue
        return n
    return None


def click(node):
    action = node.queryAction()
    for i in range(action.nActions):
        if action.getName(i) in ('click', 'activate', 'press', 'toggle'):
            return action.doAction(i)
    return action.doAction(0)


def button_near(app, text, name):
    """The button @name in the window (dialog) that shows a label with @text."""
    for window in app:
        if window is None:
            continue
        labels = [n for n in descendants(window) if n.getRoleName() == 'label' and text in (n.name or '')]
        if labels:
            button = find(window, 'push button', name)
            if button is not None:
                return button
    return None


def sensitive(node):
    import pyatspi
    return node.getState().contains(pyatspi.STATE_SENSITIVE)


def screenshot(artifacts, name, settle=True):
    """Saves the screen; with @settle, once two grabs in a row are the same
    (animations and pictures loading have ended), 5 s at most."""
    path = os.path.join(artifacts, name)
    previous = None
    end = time.monotonic() + 5
    while True:
        subprocess.call(['import', '-window', 'root', path])
        if not settle:
            return path
        # Compare pixels: the PNG holds a date.
        pixels = subprocess.run(['convert', path, 'RGB:-'], stdout=subprocess.PIPE).stdout
        if pixels == previous or time.monotonic() > end:
            return path
        previous = pixels
        time.sleep(0.3)


def qemu_children(pid):
    """qemu-system processes whose parent is @pid."""
    found = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % entry) as f:
                stat = f.read()
            ppid = int(stat.rsplit(')', 1)[1].split()[1])
            with open('/proc/%s/cmdline' % entry, 'rb') as f:
                argv0 = f.read().split(b'\0')[0].decode(errors='replace')
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid and 'qemu-system' in os.path.basename(argv0):
            found.append(int(entry))
    return found


def inner(args):
    import pyatspi

    tap = Tap(args.artifacts)
    build = os.environ['CHRONOS_BUILD_ROOT']
    source = os.environ['CHRONOS_SOURCE_ROOT']
    app_path = os.environ['CHRONOS_APP']
    os.makedirs(args.artifacts, exist_ok=True)
    narrow = int(args.screen.split('x')[0]) < 800
    suffix = '-narrow' if narrow else ''

    home = tempfile.mkdtemp(prefix='chronos-e2e-')
    demo = os.path.join(home, 'Backups')
    made = subprocess.run([os.path.join(source, 'build-aux', 'make-demo-library.sh'), build, demo],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if made.returncode != 0:
        print(made.stdout)
        tap.must(False, 'make the demo library')
    images = sorted(os.path.join(d, f) for d, _, files in os.walk(demo) for f in files if f.endswith('.vhdx'))
    tap.must(len(images) >= 5, 'demo library has %d backups' % len(images))
    hashes = {path: sha256(path) for path in images}

    # A private home; VMs run headless in tests (no QEMU window needed), set
    # the way a person would, through the default VM settings.
    env = dict(os.environ)
    for var, sub in (('XDG_CONFIG_HOME', 'config'), ('XDG_DATA_HOME', 'data'),
                     ('XDG_CACHE_HOME', 'cache'), ('XDG_STATE_HOME', 'state')):
        env[var] = os.path.join(home, sub)
        os.makedirs(env[var], exist_ok=True)
    keyfile_dir = os.path.join(env['XDG_CONFIG_HOME'], 'glib-2.0', 'settings')
    os.makedirs(keyfile_dir)
    with open(os.path.join(keyfile_dir, 'keyfile'), 'w') as f:
        f.write("[org/chronos/Chronos]\nvm-display='none'\nvm-memory-mib=512\nvm-cpus=1\nvm-network=false\n")
    env['GSETTINGS_BACKEND'] = 'keyfile'
    env['GSETTINGS_SCHEMA_DIR'] = os.path.join(build, 'data')
    env['ADW_DISABLE_PORTAL'] = '1'
    env.pop('G_DEBUG', None)  # an AT-SPI warning must not abort the app

    log = open(os.path.join(args.artifacts, 'chronos%s.log' % suffix), 'w')
    # On a machine shared with other test runs the X server is sometimes
    # not reachable for a moment ("cannot open display"): try again then,
    # and say so.
    for attempt in range(3):
        app_proc = subprocess.Popen([app_path, demo], env=env, stdout=log, stderr=subprocess.STDOUT)
        time.sleep(2)
        if app_proc.poll() is None:
            break
        print('# the app exited at once (status %s), attempt %d; DISPLAY=%s, sockets %s'
              % (app_proc.returncode, attempt + 1, os.environ.get('DISPLAY'), os.listdir('/tmp/.X11-unix')))
        time.sleep(3)
    try:
        app = wait_for(lambda: next((a for a in pyatspi.Registry.getDesktop(0)
                                     if a is not None and a.name == 'chronos'), None), 60)
        tap.must(app is not None, 'the app appears on the accessibility bus as "chronos"')

        backups = wait_for(lambda: (lambda l: l if l is not None and l.childCount >= len(images) else None)(
            find(app, 'list', 'Backups', visible=False)), 60)
        tap.must(backups is not None, 'the backup list shows every demo backup')
        names = [c.name for c in backups]
        tap.ok(all(os.path.basename(p) in names for p in images), 'each backup is listed by name')

        # Newest first within a folder.
        office = [n for n in names if n.startswith('Office-PC')]
        tap.ok(office == sorted(office, reverse=True), 'newest first: %s' % office)

        screenshot(args.artifacts, 'e2e-list%s.png' % suffix)

        def select_row(name):
            """Clicks the row of @name as a person would; TRUE once its
            details show. Without a window manager the window sits at 0,0,
            so window coordinates are screen coordinates (GTK 4.8 reports
            only those)."""
            row = find(backups, 'list item', name, visible=False)

            def click_it():
                extents = row.queryComponent().getExtents(pyatspi.DESKTOP_COORDS)
                pyatspi.Registry.generateMouseEvent(extents.x + extents.width // 2,
                                                    extents.y + extents.height // 2, 'b1c')
                return wait_for(lambda: row.getState().contains(pyatspi.STATE_SELECTED), 3)
            return (row is not None and wait_for(click_it, 30) is not None and
                    wait_for(lambda: find(app, 'label', name), 30) is not None)

        def enabled_button(name, timeout=30):
            return wait_for(lambda: (lambda b: b if b is not None and sensitive(b) else None)(
                find(app, 'push button', name)), timeout)

        def row_description(name):
            row = find(backups, 'list item', name, visible=False)
            return (row.description or '') if row is not None else ''

        target = 'Office-PC-2026-11-24.vhdx'
        index = names.index(target)
        # Click the row as a person would (select_row retries while the
        # list is still laid out).
        tap.must(select_row(target), 'clicking %s selects it and shows its details' % target)
        tap.ok(backups[index].getState().contains(pyatspi.STATE_SELECTED), 'the clicked row is selected')
        tap.ok(wait_for(lambda: find(app, 'label', 'MBR'), 10) is not None, 'details name the partition style')
        tap.ok(find(app, 'list item', 'Partition 1: NTFS') is not None, 'details list the partitions')
        boot = wait_for(lambda: find(app, 'push button', 'Boot as VM'), 10)
        tap.must(boot is not None, 'a "Boot as VM" button is there')
        screenshot(args.artifacts, 'e2e-details%s.png' % suffix)

        if args.with_vm and not narrow:
            image = next(p for p in images if os.path.basename(p) == target)
            tap.must(wait_for(lambda: sensitive(boot), 10), '"Boot as VM" is enabled')
            click(boot)
            dialog_boot = wait_for(lambda: find(app, 'push button', 'Boot'), 20)
            tap.must(dialog_boot is not None, 'the VM settings dialog opens with a Boot button')
            screenshot(args.artifacts, 'e2e-settings.png')
            click(dialog_boot)

            shut_down = wait_for(lambda: find(app, 'push button', 'Shut Down'), 60)
            tap.must(shut_down is not None, 'the running VM offers "Shut Down"')
            children = wait_for(lambda: qemu_children(app_proc.pid), 30)
            tap.ok(bool(children), 'a real QEMU child process runs (pid %s)' % children)
            tap.ok(find(app, 'push button', 'Force Stop') is not None, '"Force Stop" is offered too')
            accel = wait_for(lambda: find(app, 'label', None) and next(
                (n for n in descendants(app) if showing(n) and n.getRoleName() == 'label' and
                 ('acceleration' in n.name.lower() or 'emulation' in n.name.lower())), None), 30)
            tap.ok(accel is not None, 'the accelerator in use is shown: %s' % (accel.name if accel else None))
            screenshot(args.artifacts, 'e2e-running.png')

            click(shut_down)
            gone = wait_for(lambda: not qemu_children(app_proc.pid), 90)
            tap.ok(gone, 'QEMU ends after "Shut Down"')
            tap.ok(wait_for(lambda: find(app, 'push button', 'Shut Down') is None, 30),
                   'the running state goes away')
            tap.ok(sha256(image) == hashes[image], 'the backup is unchanged after booting it')
            screenshot(args.artifacts, 'e2e-stopped.png')

            # Two VMs at once, each from its own backup, each with its own
            # QEMU; stopping one leaves the other running.
            second = 'Office-PC-2026-11-17.vhdx'
            second_image = next(p for p in images if os.path.basename(p) == second)
            click(enabled_button('Boot as VM'))
            click(wait_for(lambda: find(app, 'push button', 'Boot'), 20))
            tap.must(wait_for(lambda: find(app, 'push button', 'Shut Down') is not None and
                              len(qemu_children(app_proc.pid)) == 1, 60), 'the first of two VMs runs')
            tap.must(select_row(second), 'selecting %s shows its details' % second)
            click(enabled_button('Boot as VM'))
            click(wait_for(lambda: find(app, 'push button', 'Boot'), 20))
            tap.ok(wait_for(lambda: len(qemu_children(app_proc.pid)) == 2, 60),
                   'a second QEMU runs beside the first')
            tap.ok(wait_for(lambda: find(app, 'label', 'Running'), 60) is not None,
                   'the second VM shows Running')
            tap.ok(wait_for(lambda: all('Running' in row_description(n) for n in (target, second)), 30),
                   'the list shows both backups running: %s / %s'
                   % (row_description(target), row_description(second)))
            screenshot(args.artifacts, 'e2e-two-vms.png')
            click(enabled_button('Force Stop'))
            tap.ok(wait_for(lambda: len(qemu_children(app_proc.pid)) == 1, 60),
                   'Force Stop ends the second VM\'s QEMU only')
            tap.must(select_row(target), 'back to %s' % target)
            tap.ok(wait_for(lambda: find(app, 'label', 'Running'), 30) is not None,
                   'the first VM still shows Running')
            click(enabled_button('Force Stop'))
            tap.ok(wait_for(lambda: not qemu_children(app_proc.pid), 60), 'no QEMU is left after stopping both')
            tap.ok(wait_for(lambda: not any('Running' in row_description(n) for n in (target, second)), 30),
                   'neither backup shows running any more')
            tap.ok(sha256(image) == hashes[image] and sha256(second_image) == hashes[second_image],
                   'both backups are unchanged after running side by side')

            # Verify Boot: a progress row with the live screen, then the
            # verdict with its reason, kept on the backup.
            verify = wait_for(lambda: (lambda b: b if b is not None and sensitive(b) else None)(
                find(app, 'push button', 'Verify Boot')), 30)
            tap.must(verify is not None, '"Verify Boot" is there and enabled')
            click(verify)
            tap.ok(wait_for(lambda: find(app, 'label', 'Verifying ' + target), 30) is not None,
                   'a progress row shows the verification')
            # The live screen changes while it boots: no waiting for it to settle.
            screenshot(args.artifacts, 'e2e-verifying.png', settle=False)
            verdict = wait_for(lambda: next((n for n in descendants(app)
                                             if n.getRoleName() == 'label' and n.name.startswith('Boots — ')), None), 240)
            tap.ok(verdict is not None, 'the verdict is shown: %s' % (verdict.name if verdict else None))
            row = find(backups, 'list item', target, visible=False)
            tap.ok(row is not None and 'Verified' in (row.description or ''),
                   'the list shows the backup as verified (%s)' % (row.description if row else None))
            screenshot(args.artifacts, 'e2e-verified.png')
            tap.ok(sha256(image) == hashes[image], 'the backup is unchanged after verifying it')

            # QEMU dies under the app: an alert names the cause and the log.
            click(wait_for(lambda: find(app, 'push button', 'Boot as VM'), 10))
            click(wait_for(lambda: find(app, 'push button', 'Boot'), 20))
            tap.must(wait_for(lambda: find(app, 'push button', 'Shut Down'), 60) is not None, 'booted again')
            # Wait until it has run a few seconds (past its start), then kill QEMU.
            def running_for(seconds):
                for n in descendants(app):
                    try:
                        if n.getRoleName() == 'label' and n.name.startswith('for '):
                            minutes, secs = n.name[4:].split(':')[-2:]
                            if int(minutes) * 60 + int(secs) >= seconds:
                                return n
                    except (ValueError, AttributeError):
                        pass
                return None
            tap.ok(wait_for(lambda: running_for(3), 60) is not None, 'the elapsed time counts up')
            children = wait_for(lambda: qemu_children(app_proc.pid), 30) or []
            for pid in children:
                os.kill(pid, 9)
            alert = wait_for(lambda: next((n for n in descendants(app) if n.getRoleName() == 'label' and
                                           'Stopped Unexpectedly' in n.name), None), 60)
            tap.ok(alert is not None, 'a killed QEMU gives an alert: %s' % (alert.name if alert else None))
            body = wait_for(lambda: next((n for n in descendants(app) if n.getRoleName() == 'label' and
                                          '/logs/' in n.name and '.log' in n.name and n is not alert), None), 10)
            tap.ok(body is not None, 'the alert names the log file: %s' % (body.name if body else None))
            tap.ok(find(app, 'push button', 'Open Log') is not None, 'the alert offers "Open Log"')
            screenshot(args.artifacts, 'e2e-crashed.png')
            # The alert's Close, not the window's.
            close_alert = button_near(app, 'Stopped Unexpectedly', 'Close')
            click(close_alert)
            tap.ok(sha256(image) == hashes[image], 'the backup is unchanged after QEMU was killed')

            # Closing the window with a VM running asks first.
            click(wait_for(lambda: (lambda b: b if b is not None and sensitive(b) else None)(
                find(app, 'push button', 'Boot as VM')), 30))
            click(wait_for(lambda: find(app, 'push button', 'Boot'), 20))
            tap.must(wait_for(lambda: find(app, 'push button', 'Shut Down') is not None and
                              qemu_children(app_proc.pid), 60), 'booted a third time')
            main_frame = next(c for c in app if c is not None and c.name == 'Chronos')
            click(find(main_frame, 'push button', 'Close'))
            question = wait_for(lambda: next((n for n in descendants(app) if n.getRoleName() == 'label' and
                                              n.name == 'Shut Down Running VMs?'), None), 20)
            tap.ok(question is not None, 'closing with a VM running asks whether to shut it down')
            screenshot(args.artifacts, 'e2e-close-question.png')
            # The question's Force Stop, not the details' one behind it.
            click(button_near(app, 'Shut Down Running VMs?', 'Force Stop'))
            try:
                app_proc.wait(60)
            except subprocess.TimeoutExpired:
                pass
            tap.ok(app_proc.poll() is not None, 'after "Force Stop" the window closes and the app quits')

        # Close the window: the app quits and leaves nothing behind.
        if app_proc.poll() is None:
            frame = find(app, 'frame', 'Chronos')
            close = find(frame, 'push button', 'Close') if frame is not None else None
            if close is not None:
                click(close)
            try:
                app_proc.wait(30)
            except subprocess.TimeoutExpired:
                pass
            tap.ok(app_proc.poll() is not None, 'closing the window quits the app')
    finally:
        if app_proc.poll() is None:
            app_proc.kill()
            app_proc.wait()
        log.close()

    tap.ok(not qemu_children(app_proc.pid), 'no QEMU is left behind')
    tap.ok(all(sha256(p) == h for p, h in hashes.items()), 'every demo backup is unchanged')
    shutil.rmtree(home, ignore_errors=True)
    return tap.finish()


def main():
    args = parse_args()
    if not args.inner:
        outer(args)
    sys.exit(inner(args))


if __name__ == '__main__':
    main()
