#!/usr/bin/python3
# test-kill-boot.py: kill -9 `chronos-vm boot` or `chronos-vm verify` at random moments
#
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Usage: test-kill-boot.py boot|verify
#
# Read-only copies of bios-hello and bios-writer (which writes a sector) are
# the backups. At least 20 times (CHRONOS_TEST_KILLS, default 22) one of them
# is booted with `chronos-vm boot --display none --accel tcg` (or checked
# with `chronos-vm verify --accel tcg --timeout 20`) and the process is killed
# with SIGKILL at a random moment (seeded RNG, printed; CHRONOS_TEST_SEED
# replays a run): while it starts, while the guest runs, and for boot also
# during a graceful stop (SIGTERM first). Its children are taken from /proc
# until the kill. After every kill:
#  - both backups' SHA-256 are unchanged;
#  - within 2 s none of its children (QEMU, qemu-img) is alive, nor any
#    process naming the test's folder (one spawned after the last look);
#  - the run directories it left are counted; the next start that gets as far
#    as QEMU must have swept them: when its QEMU appears, the run root holds
#    its own run directory and nothing else.
# A run directory without an "owner" record (killed between creating the
# folder and writing the record) is kept by design for 120 s, since it may
# belong to a process being created right now; the test ages such a folder
# past that grace so the next start must sweep it too.
# Finally an uninterrupted run works, and afterwards the run root is empty.

import os
import re
import signal
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hardening as h  # noqa: E402

MODE = sys.argv[1] if len(sys.argv) > 1 else "boot"
if MODE not in ("boot", "verify"):
    sys.exit(f"usage: {sys.argv[0]} boot|verify")

GUEST_NAMES = ["bios-hello", "bios-writer"]
images = h.require_tools(*GUEST_NAMES)
KILLS = int(os.environ.get("CHRONOS_TEST_KILLS", "22"))
rng = h.seeded_rng(f", {KILLS} kills of chronos-vm {MODE}")
tap = h.Tap()
# Generous: two busy cores.
START_TIMEOUT = 120
UNOWNED_GRACE = 120
RUN_DIR_RE = re.compile(r"/chronos/(vm-[A-Za-z0-9]{6})/")


with tempfile.TemporaryDirectory(prefix=f"chronos-kill-{MODE}-") as tmp:
    env = h.private_env(tmp)
    run_root = os.path.join(env["XDG_RUNTIME_DIR"], "chronos")
    backups = {}
    digests = {}
    for name in GUEST_NAMES:
        backups[name] = os.path.join(tmp, f"{name}-backup.vhdx")
        digests[name] = h.copy_backup(images[name], backups[name])

    def argv_for(name, serial):
        if MODE == "boot":
            return ["boot", "--display", "none", "--accel", "tcg", "--serial", serial, backups[name]]
        return ["verify", "--accel", "tcg", "--timeout", "20", backups[name]]

    def backups_unchanged():
        return all(h.sha256(backups[n]) == digests[n] for n in GUEST_NAMES)

    stale_seen = set()
    swept = set()
    sweep_checks = 0

    def check_sweep(vm, qemu_pid, what):
        """When the QEMU of vm is up, the run root holds its run dir only.
        Returns False when QEMU's command line cannot be read (yet)."""
        global sweep_checks
        match = RUN_DIR_RE.search(" ".join(h.proc_cmdline(qemu_pid)))
        if match is None:
            return False
        own = match.group(1)
        dirs = h.run_dirs(run_root)
        others = [d for d in dirs if d != own]
        pending = stale_seen - swept
        sweep_checks += 1
        if pending:
            tap.check(others == [], f"{what}: its start swept the {len(pending)} stale run dirs of killed runs "
                                    f"(run root: {dirs})")
        elif others:
            tap.check(False, f"{what}: the run root holds only its own run dir (run root: {dirs})")
        swept.update(pending - set(others))
        return True

    sweep_done = set()

    def watch(vm, until, what, stop=None):
        """Poll /proc until the monotonic time `until`, the process's end or
        stop() is true: record vm's children and check the sweep once its
        QEMU is up. Returns {pid: start} of every child seen."""
        seen = {}
        while True:
            for pid, (start, comm) in h.children(vm.pid).items():
                seen[pid] = start
                if vm.pid not in sweep_done and comm.startswith("qemu-system"):
                    if check_sweep(vm, pid, what):
                        sweep_done.add(vm.pid)
            if time.monotonic() >= until or vm.proc.poll() is not None or (stop is not None and stop()):
                return seen
            time.sleep(0.02)

    def serial_has(path, text):
        try:
            with open(path, "rb") as f:
                return text.encode() in f.read()
        except FileNotFoundError:
            return False

    def full_run(what):
        """An uninterrupted run of bios-writer. Returns its duration and, for
        boot, when "running:" came."""
        serial = os.path.join(tmp, f"serial-{what.replace(' ', '-')}.txt")
        vm = h.ChronosVm(argv_for("bios-writer", serial), env)
        t_running = t_stop = None
        if MODE == "boot":
            seen = watch(vm, time.monotonic() + START_TIMEOUT * h.TIMEOUT_SCALE, what,
                         stop=lambda: vm.field("running") is not None)
            t_running = vm.times.get("running")
            if t_running is not None:
                seen.update(watch(vm, time.monotonic() + 60 * h.TIMEOUT_SCALE, what,
                                  stop=lambda: serial_has(serial, "wrote disk")))
                tap.check(serial_has(serial, "wrote disk"), f"{what}: the guest wrote its sector")
                vm.proc.send_signal(signal.SIGTERM)
                term_at = time.monotonic()
                seen.update(watch(vm, time.monotonic() + 90 * h.TIMEOUT_SCALE, what))
                t_stop = time.monotonic() - term_at
            rc = vm.wait(90)
            elapsed = time.monotonic() - vm.start_time
            tap.check(rc == 0 and (vm.field("exit") or "").startswith("guest-shutdown"),
                      f"{what}: boot runs ({t_running or 0:.2f} s to running:) and ends with a guest shutdown "
                      f"on SIGTERM, status {rc}" + ("" if rc == 0 else f"; {vm.describe()}"))
        else:
            seen = watch(vm, time.monotonic() + 120 * h.TIMEOUT_SCALE, what)
            rc = vm.wait(10)
            elapsed = time.monotonic() - vm.start_time
            out = "\n".join(vm.lines)
            tap.check(rc == 0 and re.search(r"^Verdict:\s+booted", out, re.M) is not None,
                      f"{what}: verify says booted in {elapsed:.2f} s, status {rc}" + ("" if rc == 0 else f"; {vm.describe()}"))
        left = h.wait_gone(list(seen.items()), tmp)
        tap.check(left == [], f"{what}: no QEMU is left ({left})")
        h.kill_leftovers(left)
        return elapsed, t_running, t_stop

    # The uninterrupted run measures how long the phases take; the kill
    # moments spread over them, the short start-up (and for boot the stop)
    # as often as the long middle.
    full, t_running, t_stop = full_run("the first run")
    if MODE == "boot":
        phases = {"starting": (0, (t_running or 0.1) * 1.3 + 0.02),
                  "running": ((t_running or 0.1), (t_running or 0.1) + 1.0),
                  "stopping": (0, (t_stop or 0.2) * 1.2)}
    else:
        phases = {"starting": (0, min(0.5, full)), "verifying": (0.01, full * 1.05)}
    tap.note(f"a whole run takes {full:.2f} s" + (f" ({t_running:.2f} s to running:, {t_stop:.2f} s from SIGTERM to the end)"
                                                  if t_running is not None and t_stop is not None else "")
             + "; kill windows: " + ", ".join(f"{k} {a:.2f}-{b:.2f} s" for k, (a, b) in phases.items()))

    after_end = 0
    for i in range(KILLS):
        name = rng.choice(GUEST_NAMES)
        serial = os.path.join(tmp, f"serial-{i}.txt")
        phase = rng.choice(sorted(phases))
        stopping = phase == "stopping"
        delay = rng.uniform(*phases[phase])
        vm = h.ChronosVm(argv_for(name, serial), env)
        when = f"{delay:.2f} s after SIGTERM" if stopping else f"{delay:.2f} s"
        what = f"kill {i + 1} ({name}, {phase}, at {when})"

        if stopping:
            seen = watch(vm, time.monotonic() + START_TIMEOUT * h.TIMEOUT_SCALE, what,
                         stop=lambda: vm.field("running") is not None)
            if vm.field("running") is not None:
                vm.proc.send_signal(signal.SIGTERM)
                seen.update(watch(vm, time.monotonic() + delay, what))
        else:
            seen = watch(vm, vm.start_time + delay, what)
        finished = vm.proc.poll() is not None
        vm.kill()
        if finished:
            after_end += 1
            what += " after it ended"

        left = h.wait_gone(list(seen.items()), tmp)
        tap.check(left == [], f"{what}: none of its {len(seen)} children nor anything naming the test folder "
                              f"is alive 2 s later ({left})")
        h.kill_leftovers(left)
        tap.check(backups_unchanged(), f"{what}: the backups' SHA-256 are unchanged")

        dirs = h.run_dirs(run_root)
        new = [d for d in dirs if d not in stale_seen]
        for d in new:
            stale_seen.add(d)
            path = os.path.join(run_root, d)
            if not os.path.exists(os.path.join(path, "owner")):
                old = time.time() - UNOWNED_GRACE - 60
                os.utime(path, (old, old))
                tap.note(f"{what}: {d} has no owner record yet (killed while creating it): "
                         f"aged past the {UNOWNED_GRACE} s grace")
        tap.note(f"{what}: it left {len(new)} run dir(s); {len(dirs)} in the run root")

    tap.note(f"{after_end} kills came after the process had ended; {len(stale_seen)} stale run dirs left by "
             f"the kills; {sweep_checks} starts reached QEMU and checked the sweep")
    full_run("the run after the kills")
    left_dirs = stale_seen - swept
    tap.check(not (stale_seen & set(h.run_dirs(run_root))),
              f"every stale run dir was swept by a later start ({len(stale_seen)} seen, "
              f"{len(left_dirs)} not seen swept at a QEMU start)")
    entries = os.listdir(run_root) if os.path.isdir(run_root) else []
    tap.check(entries == [], f"the run root is empty at the end ({entries})")
    tap.check(backups_unchanged(), "the backups' SHA-256 are unchanged at the end")

tap.finish()
