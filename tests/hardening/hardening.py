# hardening.py: shared helpers of the hardening tests that run chronos-vm on guests
#
# SPDX-License-Identifier: GPL-2.0-or-later
#
# TAP-ish checks, the seeded RNG (CHRONOS_TEST_SEED replays a run), SHA-256,
# private XDG directories, `chronos-vm` processes whose stdout is parsed as it
# comes, and what /proc says about processes (children, command lines, open
# files). Linux only, like the tests that use it.

import hashlib
import os
import random
import shutil
import subprocess
import sys
import threading
import time

CHRONOS_VM = os.environ.get("CHRONOS_VM", "")
GUESTS_DIR = os.environ.get("CHRONOS_GUESTS_DIR", "")
# Waits stretch on a slow machine, as in the other suites.
TIMEOUT_SCALE = float(os.environ.get("CHRONOS_TEST_TIMEOUT_SCALE", "1"))


def skip(reason):
    print(f"1..0 # SKIP {reason}", flush=True)
    sys.exit(77)


def require_tools(*guests):
    """Exit 77 unless chronos-vm, QEMU and the named guest images exist."""
    if not CHRONOS_VM or not os.path.exists(CHRONOS_VM):
        skip("CHRONOS_VM is not set to the chronos-vm executable")
    if not shutil.which("qemu-system-x86_64") or not shutil.which("qemu-img"):
        skip("qemu-system-x86_64 or qemu-img is not installed")
    if not sys.platform.startswith("linux"):
        skip("these checks read /proc")
    paths = {}
    for name in guests:
        path = os.path.join(GUESTS_DIR, f"{name}.vhdx")
        if not GUESTS_DIR or not os.path.exists(path):
            skip(f"the test guest {path} was not built (see tests/guests/README.md)")
        paths[name] = path
    return paths


class Tap:
    """ok / not ok lines as they happen; the plan at the end."""

    def __init__(self):
        self.count = 0
        self.failures = 0

    def check(self, cond, what):
        self.count += 1
        print(f"{'ok' if cond else 'not ok'} {self.count} - {what}", flush=True)
        if not cond:
            self.failures += 1
        return cond

    def note(self, text):
        print(f"# {text}", flush=True)

    def finish(self):
        print(f"1..{self.count}", flush=True)
        sys.exit(1 if self.failures else 0)


def seeded_rng(what):
    seed = int(os.environ.get("CHRONOS_TEST_SEED", str(random.SystemRandom().randrange(1 << 31))))
    print(f"# seed {seed} (CHRONOS_TEST_SEED={seed} replays this run){what}", flush=True)
    return random.Random(seed)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def private_env(base, runtime=None):
    """Environment with XDG directories under base; the runtime one (the run
    root's parent) may be elsewhere, e.g. on a small tmpfs."""
    if runtime is None:
        runtime = os.path.join(base, "run")
        os.makedirs(runtime, mode=0o700, exist_ok=True)
    env = dict(os.environ, LC_ALL="C.UTF-8", HOME=base, XDG_RUNTIME_DIR=runtime,
               XDG_CACHE_HOME=os.path.join(base, "cache"), XDG_DATA_HOME=os.path.join(base, "data"),
               XDG_CONFIG_HOME=os.path.join(base, "config"), XDG_STATE_HOME=os.path.join(base, "state"))
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    return env


def copy_backup(src, dest):
    """A read-only copy of a guest image: the 'backup' a test hashes."""
    shutil.copyfile(src, dest)
    os.chmod(dest, 0o444)
    return sha256(dest)


# /proc


def proc_stat(pid):
    """(state, ppid, start time in ticks) of pid, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return fields[0], int(fields[1]), int(fields[19])


def proc_comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


def proc_cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
    except OSError:
        return []


def all_pids():
    return [int(e) for e in os.listdir("/proc") if e.isdigit()]


def alive(pid, start):
    """True while the process pid that started at `start` runs (zombies are gone)."""
    st = proc_stat(pid)
    return st is not None and st[0] != "Z" and st[2] == start


def children(ppid):
    """{pid: (start, comm)} of the live children of ppid."""
    found = {}
    for pid in all_pids():
        st = proc_stat(pid)
        if st is not None and st[1] == ppid and st[0] != "Z":
            found[pid] = (st[2], proc_comm(pid))
    return found


def processes_naming(text):
    """Live processes other than this one whose command line contains text."""
    found = []
    for pid in all_pids():
        if pid == os.getpid():
            continue
        st = proc_stat(pid)
        if st is None or st[0] == "Z":
            continue
        if any(text in a for a in proc_cmdline(pid)):
            found.append(pid)
    return found


def wait_gone(pids_starts, text, timeout=2.0):
    """Wait up to timeout for the given (pid, start) processes and every
    process naming text to end. Returns what is still alive."""
    deadline = time.monotonic() + timeout
    while True:
        left = [p for p, s in pids_starts if alive(p, s)]
        left += [p for p in processes_naming(text) if p not in left]
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(0.02)


def kill_leftovers(pids):
    for pid in pids:
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass


def run_dirs(run_root):
    if not os.path.isdir(run_root):
        return []
    return sorted(e for e in os.listdir(run_root) if e.startswith("vm-"))


class ChronosVm:
    """One `chronos-vm` process; stdout "key: value" lines parsed as they come."""

    def __init__(self, argv, env):
        self.start_time = time.monotonic()
        self.proc = subprocess.Popen([CHRONOS_VM] + argv, env=env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.pid = self.proc.pid
        self.lines = []
        self.fields = {}
        self.times = {}
        self.stderr = ""
        self._lock = threading.Lock()
        self._out = threading.Thread(target=self._read_stdout, daemon=True)
        self._err = threading.Thread(target=self._read_stderr, daemon=True)
        self._out.start()
        self._err.start()

    def _read_stdout(self):
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            with self._lock:
                self.lines.append(line)
                key, _, value = line.partition(": ")
                if key not in self.fields:
                    self.fields[key] = value
                    self.times[key] = time.monotonic() - self.start_time

    def _read_stderr(self):
        self.stderr = self.proc.stderr.read()

    def field(self, key):
        with self._lock:
            return self.fields.get(key)

    def wait_field(self, key, timeout):
        """The value of the first "key:" line, or None if the process ended
        or timeout passed without it."""
        deadline = time.monotonic() + timeout * TIMEOUT_SCALE
        while time.monotonic() < deadline:
            value = self.field(key)
            if value is not None:
                return value
            if self.proc.poll() is not None:
                self._out.join(5)
                return self.field(key)
            time.sleep(0.02)
        return None

    def _close(self):
        self._out.join(5)
        self._err.join(5)
        # The readers are done: close our ends of the pipes now, not when the
        # object is collected.
        for stream in (self.proc.stdout, self.proc.stderr):
            if not self._out.is_alive() and not self._err.is_alive():
                stream.close()

    def wait(self, timeout):
        """Exit status, or None after timeout (the process is then killed)."""
        try:
            rc = self.proc.wait(timeout * TIMEOUT_SCALE)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            rc = None
        self._close()
        return rc

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self._close()

    def describe(self):
        return f"stdout={self.lines} stderr={self.stderr.strip()!r}"
