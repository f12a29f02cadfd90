#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Drives the running app through AT-SPI and saves its window as PNG files.

Run by take-screenshots.sh inside Xvfb and a D-Bus session:
  take-screenshots.py APP DEMO_LIBRARY OUTPUT_DIR
"""

import os
import re
import subprocess
import sys
import time

import pyatspi  # Debian: python3-pyatspi

APP, DEMO, OUT = sys.argv[1:4]


def wait_for(what, predicate, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        found = predicate()
        if found:
            return found
        time.sleep(0.25)
    raise SystemExit(f'take-screenshots: timed out waiting for {what}')


def app_node():
    desktop = pyatspi.Registry.getDesktop(0)
    for i in range(desktop.childCount):
        child = desktop.getChildAtIndex(i)
        if child is not None and child.name in ('chronos', 'Chronos'):
            return child
    return None


def walk(node):
    yield node
    for i in range(node.childCount):
        child = node.getChildAtIndex(i)
        if child is not None:
            yield from walk(child)


def find(root, role, name_re):
    for node in walk(root):
        if node.getRole() == role and re.search(name_re, node.name or ''):
            return node
    return None


def click(node):
    action = node.queryAction()
    for i in range(action.nActions):
        if action.getName(i) in ('click', 'activate', 'press'):
            action.doAction(i)
            return
    raise SystemExit(f'take-screenshots: “{node.name}” has no click action')


def x_window_id():
    tree = subprocess.run(['xwininfo', '-root', '-tree'], capture_output=True,
                          text=True, check=True).stdout
    ids = re.findall(r'^\s+(0x[0-9a-f]+) "Chronos": .* (\d+)x(\d+)\+', tree, flags=re.M)
    ids = [(w, int(x) * int(y)) for w, x, y in ids]
    return max(ids, key=lambda t: t[1])[0] if ids else None


def shoot(name):
    time.sleep(1.5)  # let animations and spinners settle
    window = wait_for('the app window', x_window_id, 20)
    path = os.path.join(OUT, name)
    subprocess.run(['import', '-window', window, path], check=True)
    print('wrote', path)


def main():
    proc = subprocess.Popen([APP, DEMO])
    try:
        app = wait_for('the app on the accessibility bus', app_node, 30)
        frame = wait_for('the main window',
                         lambda: find(app, pyatspi.ROLE_FRAME, r'.'), 30)
        # The newest backup of the first machine: a BIOS guest that boots.
        row = wait_for('the demo backups',
                       lambda: find(frame, pyatspi.ROLE_LIST_ITEM, r'Office-PC-2026-11-24')
                       or find(frame, pyatspi.ROLE_TABLE_CELL, r'Office-PC-2026-11-24'), 60)
        try:
            click(row)
        except (NotImplementedError, SystemExit):
            # A row without a click action is selected by focusing it.
            row.queryComponent().grabFocus()
        shoot('backups.png')

        verify = wait_for('a Verify button',
                          lambda: find(frame, pyatspi.ROLE_PUSH_BUTTON, r'^Verify'), 20)
        click(verify)
        wait_for('the verdict',
                 lambda: find(frame, pyatspi.ROLE_LABEL, r'^(Boots|Verified)'), 180)
        shoot('verify.png')
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == '__main__':
    main()
