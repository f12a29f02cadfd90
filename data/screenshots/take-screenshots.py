#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Drives the real app through AT-SPI and saves its window as PNG files.

Run by take-screenshots.sh inside Xvfb and a D-Bus session:
  take-screenshots.py APP DEMO_LIBRARY OUTPUT_DIR

It drives the app the way tests/e2e/test-app.py does (and that test is what
keeps these ways working): the backup list is the list named "Backups", a
row is clicked with a real pointer event at its centre, buttons are pressed
through their AT-SPI action and found by their accessible names.
"""

import os
import re
import subprocess
import sys
import tempfile
import time

import pyatspi  # Debian: python3-pyatspi gir1.2-atspi-2.0

APP, DEMO, OUT = sys.argv[1:4]
TARGET = 'Office-PC-2026-11-24.vhdx'  # the bios-hello guest: it boots


def wait_for(what, predicate, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            found = predicate()
        except Exception:  # the tree changes under our feet
            found = None
        if found:
            return found
        time.sleep(0.25)
    raise SystemExit(f'take-screenshots: timed out waiting for {what}')


def descendants(node):
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


def visible(node):
    # GTK 4.8 sets VISIBLE but never SHOWING.
    try:
        return node.getState().contains(pyatspi.STATE_VISIBLE)
    except Exception:
        return False


def find(root, role, name=None, name_re=None, must_be_visible=True):
    for n in descendants(root):
        try:
            if n.getRoleName() != role:
                continue
            if name is not None and n.name != name:
                continue
            if name_re is not None and not re.search(name_re, n.name or ''):
                continue
        except Exception:
            continue
        if must_be_visible and not visible(n):
            continue
        return n
    return None


def sensitive(node):
    return node.getState().contains(pyatspi.STATE_SENSITIVE)


def click(node):
    action = node.queryAction()
    for i in range(action.nActions):
        if action.getName(i) in ('click', 'activate', 'press'):
            return action.doAction(i)
    return action.doAction(0)


def app_node():
    return next((a for a in pyatspi.Registry.getDesktop(0) if a is not None and a.name == 'chronos'), None)


def window_id():
    """The X window of the main window, the largest one titled Chronos."""
    tree = subprocess.run(['xwininfo', '-root', '-tree'], capture_output=True, text=True, check=True).stdout
    found = [(wid, int(w) * int(h)) for wid, w, h in
             re.findall(r'^\s+(0x[0-9a-f]+) "Chronos": .*?\s(\d+)x(\d+)\+', tree, flags=re.M)]
    return max(found, key=lambda t: t[1])[0] if found else None


def stable_frame(wid, timeout=20):
    """Grabs the window until two grabs in a row are the same: animations,
    spinners and pictures loading have settled. Returns a PNG path."""
    tmp = tempfile.mkdtemp(prefix='chronos-shot-')
    previous = None
    end = time.monotonic() + timeout
    n = 0
    while True:
        path = os.path.join(tmp, '%d.png' % n)
        subprocess.run(['import', '-window', wid, path], check=True)
        # Compare the pixels, not the files: PNG metadata holds a date.
        pixels = subprocess.run(['convert', path, 'RGB:-'], capture_output=True, check=True).stdout
        if pixels == previous or time.monotonic() > end:
            return path
        previous = pixels
        n += 1
        time.sleep(0.5)


def shoot(name):
    wid = wait_for('the app window', window_id, 20)
    raw = stable_frame(wid)
    path = os.path.join(OUT, name)
    # A palette of 256 colours: the UI is flat colours, so this halves the
    # size and shows no banding; no metadata (dates) so the file is stable.
    subprocess.run(['convert', raw, '-strip', '-dither', 'None', '-colors', '256',
                    '-define', 'png:compression-level=9', 'PNG8:' + path], check=True)
    size = subprocess.run(['identify', '-format', '%wx%h', path], capture_output=True, text=True).stdout
    print('wrote %s (%s, %d KiB)' % (path, size, os.path.getsize(path) // 1024))


def main():
    # On a busy machine the X server is sometimes not reachable for a
    # moment ("cannot open display"): start again then.
    for attempt in range(3):
        proc = subprocess.Popen([APP, DEMO])
        try:
            proc.wait(3)
        except subprocess.TimeoutExpired:
            break
        print('take-screenshots: the app exited at once (status %s), attempt %d'
              % (proc.returncode, attempt + 1), file=sys.stderr)
        time.sleep(2)
    if proc.poll() is not None:
        raise SystemExit('take-screenshots: the app does not start')
    try:
        app = wait_for('the app on the accessibility bus', app_node, 60)
        backups = wait_for('the demo backups in the list',
                           lambda: (lambda l: l if l is not None and
                                    any(c.name == TARGET for c in l) else None)(
                               find(app, 'list', 'Backups', must_be_visible=False)), 60)
        row = next(c for c in backups if c.name == TARGET)
        # Click the row as a person would. Without a window manager the
        # window sits at 0,0, so window coordinates are screen coordinates.
        def clicked():
            e = row.queryComponent().getExtents(pyatspi.DESKTOP_COORDS)
            if e.width <= 0 or e.height <= 0:
                return False
            pyatspi.Registry.generateMouseEvent(e.x + e.width // 2, e.y + e.height // 2, 'b1c')
            return wait_for_quick(lambda: row.getState().contains(pyatspi.STATE_SELECTED))
        wait_for('the row to be selected', clicked, 30)
        wait_for('its details', lambda: find(app, 'label', TARGET), 30)
        wait_for('the partitions in the details', lambda: find(app, 'label', 'MBR'), 30)
        shoot('backups.png')

        verify = wait_for('an enabled "Verify Boot" button',
                          lambda: (lambda b: b if b is not None and sensitive(b) else None)(
                              find(app, 'push button', 'Verify Boot')), 30)
        click(verify)
        # The verdict row ("Boots — Today 17:40"), then the final screen
        # under it; the live screen of the job is gone by then.
        wait_for('the verdict', lambda: find(app, 'label', name_re=r'^Boots — '), 300)
        # The job has ended when Verify Boot is enabled again.
        wait_for('the verification to end',
                 lambda: (lambda b: b is not None and sensitive(b))(find(app, 'push button', 'Verify Boot')), 60)
        # The toast that says so would cover the details: let it time out.
        wait_for('the toast to go', lambda: find(app, 'label', name_re=r'^“.*” boots$') is None, 30)
        shoot('verify.png')
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_for_quick(predicate, timeout=3):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.2)
    return False


if __name__ == '__main__':
    main()
