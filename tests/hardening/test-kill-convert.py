#!/usr/bin/python3
# test-kill-convert.py: kill -9 `chronos-vm convert` at random moments
#
# SPDX-License-Identifier: GPL-2.0-or-later
#
# A VHDX backup with a few hundred MiB of data is converted, and at least 20
# times `chronos-vm convert BACKUP OUT.qcow2` is killed with SIGKILL at a
# random moment (seeded RNG, printed; CHRONOS_TEST_SEED replays a run).
# After every kill:
#  - the backup's SHA-256 is unchanged;
#  - OUT.qcow2 either does not exist or is the whole conversion (qemu-img
#    compare says identical): never a partial image under the asked name;
#  - no qemu-img of that run is left after 2 s (PR_SET_PDEATHSIG);
#  - nothing but OUT.qcow2 and hidden .OUT.qcow2.part-* files is in the
#    output folder.
# Then an uninterrupted conversion succeeds and removes the .part files the
# killed runs left (no one else holds them).

import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

CHRONOS_VM = os.environ.get("CHRONOS_VM")
QEMU_IMG = shutil.which("qemu-img")
QEMU_IO = shutil.which("qemu-io")
if not CHRONOS_VM or not os.path.exists(CHRONOS_VM):
    print("1..0 # SKIP CHRONOS_VM is not set to the chronos-vm executable")
    sys.exit(77)
if not QEMU_IMG or not QEMU_IO:
    print("1..0 # SKIP qemu-img or qemu-io is not installed")
    sys.exit(77)

KILLS = int(os.environ.get("CHRONOS_TEST_KILLS", "22"))
SEED = int(os.environ.get("CHRONOS_TEST_SEED", str(random.SystemRandom().randrange(1 << 31))))
print(f"# seed {SEED} (CHRONOS_TEST_SEED={SEED} replays this run), {KILLS} kills")
rng = random.Random(SEED)
failures = 0
count = 0


def check(cond, what):
    global failures, count
    count += 1
    print(f"{'ok' if cond else 'not ok'} {count} - {what}", flush=True)
    if not cond:
        failures += 1
    return cond


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def qemu_imgs_naming(text):
    """qemu-img processes whose command line contains @text."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if argv and os.path.basename(argv[0]) == b"qemu-img" and any(text.encode() in a for a in argv):
            found.append(int(entry))
    return found


with tempfile.TemporaryDirectory(prefix="chronos-kill-convert-") as tmp:
    env = dict(os.environ, LC_ALL="C.UTF-8", XDG_CACHE_HOME=os.path.join(tmp, "cache"),
               XDG_DATA_HOME=os.path.join(tmp, "data"), XDG_CONFIG_HOME=os.path.join(tmp, "config"))
    backup = os.path.join(tmp, "backup.vhdx")
    subprocess.run([QEMU_IMG, "create", "-q", "-f", "vhdx", backup, "1G"], check=True)
    writes = []
    for i in range(12):
        writes += ["-c", f"write -P {rng.randrange(1, 255)} {i * 80}M 24M"]
    subprocess.run([QEMU_IO, "-f", "vhdx", *writes, backup], check=True, stdout=subprocess.DEVNULL)
    os.chmod(backup, 0o444)
    digest = sha256(backup)

    outdir = os.path.join(tmp, "out")
    os.makedirs(outdir)
    out = os.path.join(outdir, "converted.qcow2")
    part_prefix = ".converted.qcow2.part-"

    def convert():
        return subprocess.run([CHRONOS_VM, "convert", backup, out], capture_output=True,
                              text=True, env=env, timeout=600, stdin=subprocess.DEVNULL)

    t0 = time.monotonic()
    r = convert()
    full = time.monotonic() - t0
    check(r.returncode == 0, f"a whole conversion takes {full:.2f} s" + ("" if r.returncode == 0 else f": {r.stderr.strip()}"))
    os.unlink(out)

    finished_runs = 0
    for i in range(KILLS):
        delay = rng.uniform(0.01, full * 1.05)
        proc = subprocess.Popen([CHRONOS_VM, "convert", backup, out], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, env=env, stdin=subprocess.DEVNULL)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        finished = proc.returncode == 0
        what = f"kill {i + 1} at {delay:.2f} s ({'after it finished' if finished else 'mid-way'})"

        deadline = time.monotonic() + 2
        while qemu_imgs_naming(outdir) and time.monotonic() < deadline:
            time.sleep(0.05)
        left = qemu_imgs_naming(outdir)
        check(left == [], f"{what}: no qemu-img is left after 2 s ({left})")
        for pid in left:
            os.kill(pid, signal.SIGKILL)

        check(sha256(backup) == digest, f"{what}: the backup's SHA-256 is unchanged")
        if os.path.exists(out):
            finished_runs += 1
            cmp = subprocess.run([QEMU_IMG, "compare", "-q", "-f", "vhdx", "-F", "qcow2", backup, out])
            check(cmp.returncode == 0, f"{what}: the output that exists is the whole conversion")
            os.unlink(out)
        stray = [e for e in os.listdir(outdir) if not e.startswith(part_prefix)]
        check(stray == [], f"{what}: nothing but hidden .part files in the output folder ({stray})")

    parts = [e for e in os.listdir(outdir) if e.startswith(part_prefix)]
    print(f"# {finished_runs} kills came after the conversion finished; {len(parts)} .part files left by the kills")

    r = convert()
    check(r.returncode == 0, "the next conversion succeeds" + ("" if r.returncode == 0 else f": {r.stderr.strip()}"))
    cmp = subprocess.run([QEMU_IMG, "compare", "-q", "-f", "vhdx", "-F", "qcow2", backup, out])
    check(cmp.returncode == 0, "and its output equals the backup")
    left = [e for e in os.listdir(outdir) if e.startswith(part_prefix)]
    check(left == [], f"the next conversion removed the stale .part files of killed runs ({len(left)} left)")
    check(sha256(backup) == digest, "the backup's SHA-256 is unchanged at the end")

print(f"1..{count}")
sys.exit(1 if failures else 0)
