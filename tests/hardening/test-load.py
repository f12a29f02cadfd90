#!/usr/bin/python3
# test-load.py: 8 small VMs started and stopped concurrently, round after round
#
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Each round starts 8 `chronos-vm boot --display none --accel tcg --memory 256`
# of the same read-only bios-hello backup at once (a few ms apart, in a random
# order: seeded RNG, printed; CHRONOS_TEST_SEED replays a run), all sharing
# one set of XDG directories and so one run root (every start sweeps it while
# the others run), and stops them with SIGTERM, a graceful shutdown, once
# each guest waits for the power button. 256 MiB is the smallest memory
# chronos-vm accepts. Checked in every round:
#  - every VM prints "running:" and its guest says "booted" on serial;
#  - every one then exits 0 after "exit: guest-shutdown";
# and after every round, for leaks that outlive the processes:
#  - no process names the test's folder (no QEMU, no helper) after 2 s;
#  - the run root is empty (no run dir, no socket file) and no unix socket
#    bound under it is still open (/proc/net/unix);
#  - no process holds a file under the test's folder open (/proc/*/fd);
#  - one QEMU log per VM started, no more (CHRONOS cache/logs);
#  - the backup's SHA-256 is unchanged.
# The issue asks for 20 rounds (CHRONOS_TEST_LOAD_ROUNDS); they stop early,
# saying how many ran, when the next would end after CHRONOS_TEST_LOAD_BUDGET
# seconds (default 90) of rounds.

import os
import signal
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hardening as h  # noqa: E402

images = h.require_tools("bios-hello")
VMS = int(os.environ.get("CHRONOS_TEST_LOAD_VMS", "8"))
ROUNDS = int(os.environ.get("CHRONOS_TEST_LOAD_ROUNDS", "20"))
BUDGET = float(os.environ.get("CHRONOS_TEST_LOAD_BUDGET", "90"))
rng = h.seeded_rng(f", {VMS} VMs a round, up to {ROUNDS} rounds in {BUDGET:.0f} s")
tap = h.Tap()
# Generous: 8 QEMUs on two busy cores.
ROUND_TIMEOUT = 120
# The guest clears a stale power-button status before it starts polling: a
# press that came before that would be lost. It prints "booted" just before;
# this is ample time for the few instructions in between.
POWER_BUTTON_READY = 0.3


def serial_has(path, text):
    try:
        with open(path, "rb") as f:
            return text.encode() in f.read()
    except FileNotFoundError:
        return False


def open_files_under(prefix):
    """{pid: [paths]} of processes (other than this one) holding a file under prefix open."""
    found = {}
    for pid in h.all_pids():
        if pid == os.getpid():
            continue
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith(prefix):
                found.setdefault(pid, []).append(target)
    return found


def unix_sockets_under(prefix):
    with open("/proc/net/unix") as f:
        next(f)
        return [line.split()[-1] for line in f if len(line.split()) >= 8 and line.split()[-1].startswith(prefix)]


def own_fd_count():
    return len(os.listdir("/proc/self/fd"))


with tempfile.TemporaryDirectory(prefix="chronos-load-") as tmp:
    tmp = os.path.realpath(tmp)
    env = h.private_env(tmp)
    run_root = os.path.join(env["XDG_RUNTIME_DIR"], "chronos")
    log_dir = os.path.join(env["XDG_CACHE_HOME"], "chronos", "logs")
    backup = os.path.join(tmp, "bios-hello-backup.vhdx")
    digest = h.copy_backup(images["bios-hello"], backup)
    fds_before = own_fd_count()

    started = 0
    rounds_done = 0
    round_times = []
    to_running = []
    t_begin = time.monotonic()
    for r in range(1, ROUNDS + 1):
        elapsed = time.monotonic() - t_begin
        if round_times and elapsed + max(round_times) > BUDGET:
            break
        t_round = time.monotonic()
        what = f"round {r}"
        vms = []
        for i in rng.sample(range(VMS), VMS):
            serial = os.path.join(tmp, f"serial-{r}-{i}.txt")
            vm = h.ChronosVm(["boot", "--display", "none", "--accel", "tcg", "--memory", "256",
                              "--serial", serial, backup], env)
            vm.serial = serial
            vm.booted_at = None
            vm.termed = False
            vms.append(vm)
            started += 1
            time.sleep(rng.uniform(0, 0.02))

        # Stop each one once it runs and its guest waits for the power
        # button; record every child seen on the way.
        # In the first round all 8 run together for a moment: the open-file
        # scan must see their QEMUs hold the backup, or it could not see a leak.
        hold = r == 1
        children = {}
        deadline = time.monotonic() + ROUND_TIMEOUT * h.TIMEOUT_SCALE
        while time.monotonic() < deadline:
            pending = False
            now = time.monotonic()
            for vm in vms:
                for pid, (start, _) in h.children(vm.pid).items():
                    children[pid] = start
                if vm.termed or vm.proc.poll() is not None:
                    continue
                pending = True
                if vm.booted_at is None and vm.field("running") is not None and serial_has(vm.serial, "booted"):
                    vm.booted_at = now
                if not hold and vm.booted_at is not None and now - vm.booted_at >= POWER_BUTTON_READY:
                    vm.proc.send_signal(signal.SIGTERM)
                    vm.termed = True
            if hold and all(vm.booted_at is not None or vm.proc.poll() is not None for vm in vms):
                holders = [pid for pid, paths in open_files_under(tmp + "/").items() if backup in paths]
                tap.check(len(holders) >= VMS, f"{what}: with all {VMS} running, the open-file scan sees "
                                               f"{len(holders)} processes holding the backup")
                hold = False
                time.sleep(POWER_BUTTON_READY)
            if not pending:
                break
            time.sleep(0.02)

        statuses = [vm.wait(60) for vm in vms]
        not_running = [vm.pid for vm in vms if vm.booted_at is None]
        tap.check(not not_running, f"{what}: all {VMS} VMs printed running: and their guests booted"
                  + ("" if not not_running else f"; not: {[vm.describe() for vm in vms if vm.booted_at is None]}"))
        bad = [(vm.pid, rc, vm.field("exit")) for vm, rc in zip(vms, statuses)
               if rc != 0 or not (vm.field("exit") or "").startswith("guest-shutdown")]
        tap.check(not bad, f"{what}: all {VMS} exited 0 after a guest shutdown on SIGTERM" + ("" if not bad else f"; not: {bad}"))
        for vm in vms:
            t = vm.times.get("running")
            if t is not None:
                to_running.append(t)

        left = h.wait_gone(list(children.items()), tmp)
        tap.check(not left, f"{what}: none of the {len(children)} children nor anything naming the test folder "
                            f"is alive 2 s later ({left})")
        h.kill_leftovers(left)
        entries = os.listdir(run_root) if os.path.isdir(run_root) else []
        sockets = unix_sockets_under(run_root)
        tap.check(not entries and not sockets, f"{what}: the run root is empty ({entries}), no socket under it is open ({sockets})")
        held = open_files_under(tmp + "/")
        tap.check(not held, f"{what}: no process holds a file under the test folder open ({held})")
        logs = os.listdir(log_dir) if os.path.isdir(log_dir) else []
        tap.check(len(logs) == started, f"{what}: {len(logs)} QEMU logs for {started} VMs started")
        tap.check(h.sha256(backup) == digest, f"{what}: the backup's SHA-256 is unchanged")
        rounds_done += 1
        round_times.append(time.monotonic() - t_round)
        tap.note(f"{what} took {round_times[-1]:.2f} s")

    total = time.monotonic() - t_begin
    tap.note(f"{rounds_done} rounds of {VMS} VMs ({started} boots) in {total:.1f} s; round median "
             f"{statistics.median(round_times):.2f} s, max {max(round_times):.2f} s; start to running: median "
             f"{statistics.median(to_running):.2f} s, max {max(to_running):.2f} s")
    if rounds_done < ROUNDS:
        tap.note(f"only {rounds_done} of {ROUNDS} rounds fit in {BUDGET:.0f} s on this machine")
    tap.check(rounds_done >= 1, f"{rounds_done} rounds ran")
    fds_after = own_fd_count()
    tap.check(fds_after <= fds_before, f"the test's own open files: {fds_before} before, {fds_after} after "
                                       f"(the pipes of {started} processes closed)")

tap.finish()
