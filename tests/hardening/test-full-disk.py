#!/usr/bin/python3
# test-full-disk.py: the disk under a VM's overlay fills up while the guest writes
#
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The run root (XDG_RUNTIME_DIR/chronos, where the qcow2 overlay that takes
# the guest's writes lives) is put on an 8 MiB tmpfs that this test mounts
# (as root; exit 77 with the reason when mounting fails), and the bios-filler
# guest writes its 63 MiB partition sequentially. Expected:
#  - QEMU pauses the guest at ENOSPC (its default werror=enospc for the disk:
#    the guest never sees a failed write), Chronos ends the VM by itself,
#    `chronos-vm boot` prints "exit: crashed: No space left for the virtual
#    machine's changes..." and the same on stderr, and exits 1;
#  - the guest had written several MiB (its serial progress) and never got
#    a write error nor reached the end;
#  - no QEMU is left, the run root is empty, the backup's SHA-256 is
#    unchanged, and the tmpfs is unmounted afterwards.
# A control run first boots the same guest with the run root on the test's
# ordinary temporary folder: there it writes the whole disk (so it does write
# more than 8 MiB) and powers off on SIGTERM.

import os
import re
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hardening as h  # noqa: E402

images = h.require_tools("bios-filler")
TMPFS_SIZE = "8m"
tap = h.Tap()
# Generous: two busy cores. The guest fills 8 MiB in well under a second.
TIMEOUT = 90


def serial_text(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("latin-1")
    except FileNotFoundError:
        return ""


def mounted(path):
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == path for line in f)


def watch(vm, until, stop):
    """Children of vm ({pid: start}) until stop(), its end or the deadline."""
    seen = {}
    while True:
        for pid, (start, _) in h.children(vm.pid).items():
            seen[pid] = start
        if stop() or vm.proc.poll() is not None or time.monotonic() >= until:
            return seen
        time.sleep(0.02)


def boot(env, backup, serial):
    return h.ChronosVm(["boot", "--display", "none", "--accel", "tcg", "--serial", serial, backup], env)


def control(tmp, backup):
    """With room, the guest writes all of its disk and powers off on SIGTERM."""
    env = h.private_env(os.path.join(tmp, "control"))
    serial = os.path.join(tmp, "control-serial.txt")
    vm = boot(env, backup, serial)
    seen = watch(vm, time.monotonic() + TIMEOUT * h.TIMEOUT_SCALE,
                 lambda: "filled the disk" in serial_text(serial))
    text = serial_text(serial)
    mib = [int(n) for n in re.findall(r"wrote (\d+) MiB", text)]
    tap.check("filled the disk" in text and mib and max(mib) > 32,
              f"control: with room the guest writes its whole disk ({max(mib) if mib else 0} MiB)"
              + ("" if "filled the disk" in text else f"; serial {text[-200:]!r}; {vm.describe()}"))
    vm.proc.send_signal(signal.SIGTERM)
    rc = vm.wait(TIMEOUT)
    tap.check(rc == 0 and (vm.field("exit") or "").startswith("guest-shutdown"),
              f"control: it powers off on SIGTERM, status {rc}" + ("" if rc == 0 else f"; {vm.describe()}"))
    h.kill_leftovers(h.wait_gone(list(seen.items()), tmp))


def full_disk(tmp, backup, runtime):
    st = os.statvfs(runtime)
    tap.note(f"run root on a tmpfs of {st.f_blocks * st.f_frsize // 1024} KiB at {runtime}")
    env = h.private_env(os.path.join(tmp, "full"), runtime=runtime)
    serial = os.path.join(tmp, "full-serial.txt")
    vm = boot(env, backup, serial)
    t0 = time.monotonic()
    seen = watch(vm, t0 + TIMEOUT * h.TIMEOUT_SCALE, lambda: False)
    rc = vm.wait(10)
    elapsed = time.monotonic() - t0
    exit_line = vm.field("exit") or ""
    tap.check(vm.field("running") is not None,
              "the VM started (running:)" + ("" if vm.field("running") else f"; {vm.describe()}"))
    tap.check(rc == 1, f"chronos-vm boot ended by itself with status 1 after {elapsed:.2f} s (got {rc})"
              + ("" if rc == 1 else f"; {vm.describe()}"))
    tap.check(exit_line.startswith("crashed: No space left for the virtual machine’s changes"),
              f"it says why on stdout: exit: {exit_line}")
    tap.check(os.path.join(runtime, "chronos") in exit_line, "and names the folder that is full")
    tap.check("No space left for the virtual machine’s changes" in vm.stderr,
              f"and on stderr: {vm.stderr.strip()!r}")
    text = serial_text(serial)
    mib = [int(n) for n in re.findall(r"wrote (\d+) MiB", text)]
    written = max(mib) if mib else 0
    tap.check(written >= 4, f"the guest had written {written} MiB before the disk was full")
    tap.check("disk write failed" not in text and "filled the disk" not in text,
              "QEMU paused the guest at ENOSPC: it saw no failed write and did not reach its end")

    left = h.wait_gone(list(seen.items()), tmp)
    tap.check(left == [], f"no QEMU is left 2 s later ({left}; it had {len(seen)} children)")
    h.kill_leftovers(left)
    run_root = os.path.join(runtime, "chronos")
    entries = os.listdir(run_root) if os.path.isdir(run_root) else []
    tap.check(entries == [], f"the run root is empty ({entries})")
    st = os.statvfs(runtime)
    tap.note(f"{(st.f_blocks - st.f_bfree) * st.f_frsize // 1024} KiB used on the tmpfs afterwards")


with tempfile.TemporaryDirectory(prefix="chronos-full-disk-") as tmp:
    # Mount first: without it there is nothing to test.
    runtime = os.path.join(tmp, "small-run")
    os.makedirs(runtime, mode=0o700)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE},mode=0700", "tmpfs", runtime],
                       capture_output=True, text=True)
    if r.returncode != 0:
        h.skip(f"cannot mount a {TMPFS_SIZE} tmpfs (needs root): "
               + (r.stderr.strip() or f"mount exited with status {r.returncode}").replace("\n", " "))
    try:
        backup = os.path.join(tmp, "bios-filler-backup.vhdx")
        digest = h.copy_backup(images["bios-filler"], backup)
        control(tmp, backup)
        full_disk(tmp, backup, runtime)
    finally:
        r = subprocess.run(["umount", runtime], capture_output=True, text=True)
        if r.returncode != 0:
            subprocess.run(["umount", "-l", runtime])
    tap.check(r.returncode == 0 and not mounted(runtime),
              "the tmpfs unmounts afterwards (nothing holds it)" + ("" if r.returncode == 0 else f": {r.stderr.strip()}"))
    tap.check(h.sha256(backup) == digest, "the backup's SHA-256 is unchanged")

tap.finish()
