#!/usr/bin/python3
# test-kill-install.py: kill -9 `chronos-vm qemu install` at random moments
#
# SPDX-License-Identifier: GPL-2.0-or-later
#
# A loopback HTTP server (with Range, throttled so a download takes about
# two seconds) serves two bundles: A (installed first) and B. Then, at least
# 20 times, `chronos-vm qemu install --manifest B` is started and killed
# with SIGKILL at a random moment (seeded RNG, printed; set
# CHRONOS_TEST_SEED to replay). After every kill:
#  - `chronos-vm qemu status --json` reports a complete install, A or B, and
#    its files are whole (the record's SHA-256 names the bundle; the blob's
#    hash matches that bundle; bin/qemu-img --version runs);
#  - nothing but the install, NAME.part and hidden .qemu.tmp-*/.qemu.old-*
#    folders is next to it (no half install under a visible name);
#  - B's NAME.part, when present, is a prefix of B (never wrong bytes), and
#    a run that found one says it resumes;
#  - no process of the killed run is left.
# Then, as the provisioner documents: an uninterrupted run succeeds and
# removes the part and any .qemu.old-* folder; fresh .qemu.tmp-* folders
# are left alone (they may be another run's), and once older than an hour
# the next install removes them.

import hashlib
import http.server
import io
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import threading
import time

CHRONOS_VM = os.environ.get("CHRONOS_VM")
if not CHRONOS_VM or not os.path.exists(CHRONOS_VM):
    print("1..0 # SKIP CHRONOS_VM is not set to the chronos-vm executable")
    sys.exit(77)
QEMU_IMG = shutil.which("qemu-img")
QEMU_SYSTEM = shutil.which("qemu-system-x86_64")
if not QEMU_IMG or not QEMU_SYSTEM:
    print("1..0 # SKIP qemu-img or qemu-system-x86_64 is not installed")
    sys.exit(77)

KILLS = int(os.environ.get("CHRONOS_TEST_KILLS", "24"))
SEED = int(os.environ.get("CHRONOS_TEST_SEED", str(random.SystemRandom().randrange(1 << 31))))
RATE = 4 * 1024 * 1024  # bytes per second the server sends
print(f"# seed {SEED} (CHRONOS_TEST_SEED={SEED} replays this run), {KILLS} kills")
rng = random.Random(SEED)

failures = 0
count = 0


def check(cond, what):
    global failures, count
    count += 1
    if cond:
        print(f"ok {count} - {what}")
    else:
        print(f"not ok {count} - {what}")
        failures += 1
    sys.stdout.flush()
    return cond


def make_bundle(path, version):
    """A tar.gz with this machine's qemu-img, a wrapper for the emulator and
    an incompressible blob (so download and extraction both take time)."""
    blob = random.Random(f"{SEED}-{version}").randbytes(5 * 1024 * 1024)
    wrapper = f"#!/bin/sh\nexec {QEMU_SYSTEM} \"$@\"\n".encode()
    with tarfile.open(path, "w:gz", compresslevel=1) as tar:
        def add(name, data, mode=0o644):
            info = tarfile.TarInfo("top/" + name)
            info.size = len(data)
            info.mode = mode
            tar.addfile(info, io.BytesIO(data))
        add("bin/qemu-img", open(QEMU_IMG, "rb").read(), 0o755)
        add("bin/qemu-system-x86_64", wrapper, 0o755)
        add("share/blob", blob)
    data = open(path, "rb").read()
    return {"version": version, "size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
            "blob": hashlib.sha256(blob).hexdigest(), "data": data}


class Handler(http.server.BaseHTTPRequestHandler):
    """GET with Range support, throttled to RATE."""
    files = {}

    def log_message(self, *a):
        pass

    def do_GET(self):
        data = self.files.get(self.path)
        if data is None:
            self.send_error(404)
            return
        start = 0
        rng_header = self.headers.get("Range")
        if rng_header and rng_header.startswith("bytes=") and rng_header.endswith("-"):
            start = int(rng_header[6:-1])
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        chunk = 64 * 1024
        try:
            for off in range(start, len(data), chunk):
                self.wfile.write(data[off:off + chunk])
                time.sleep(chunk / RATE)
        except (BrokenPipeError, ConnectionResetError):
            pass


def manifest(url, bundle):
    return json.dumps({"schema": 1, "components": [{
        "id": "qemu", "version": bundle["version"], "os": "linux", "arch": os.uname().machine,
        "url": url, "mirrors": [], "size": bundle["size"], "sha256": bundle["sha256"],
        "format": "tar.gz", "strip_components": 1,
        "files": {"system": "bin/qemu-system-x86_64", "img": "bin/qemu-img",
                  "firmware_dir": "share"}}]}).encode()


def children_of(pid):
    """Processes whose parent is @pid (still alive)."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                if int(fields[1]) == pid:
                    out.append(int(entry))
            except OSError:
                pass
    return out


with tempfile.TemporaryDirectory(prefix="chronos-kill-install-") as tmp:
    ENV = dict(os.environ)
    ENV["XDG_DATA_HOME"] = os.path.join(tmp, "data")
    ENV["XDG_CACHE_HOME"] = os.path.join(tmp, "cache")
    ENV["XDG_CONFIG_HOME"] = os.path.join(tmp, "config")
    ENV["GIO_USE_PROXY_RESOLVER"] = "dummy"
    ENV["LC_ALL"] = "C.UTF-8"
    # ASan builds: a process killed with SIGKILL reports nothing anyway.
    parent_dir = os.path.join(tmp, "data", "chronos")
    dest = os.path.join(parent_dir, "qemu")

    bundles = {}
    for key, version in (("A", "8.0.0"), ("B", "9.0.0")):
        b = make_bundle(os.path.join(tmp, f"{key}.tar.gz"), version)
        bundles[key] = b
        Handler.files[f"/qemu-{version}.tar.gz"] = b["data"]
    by_sha = {b["sha256"]: k for k, b in bundles.items()}

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    for key, b in bundles.items():
        Handler.files[f"/{key}.json"] = manifest(f"{base}/qemu-{b['version']}.tar.gz", b)
    part_b = os.path.join(parent_dir, f"qemu-{bundles['B']['version']}.tar.gz.part")

    def install(key, dest_arg=None):
        args = [CHRONOS_VM, "qemu", "install", "--manifest", f"{base}/{key}.json", "--yes"]
        if dest_arg:
            args += ["--dest", dest_arg]
        return subprocess.run(args, capture_output=True, text=True, env=ENV,
                              stdin=subprocess.DEVNULL, timeout=300)

    def status():
        r = subprocess.run([CHRONOS_VM, "qemu", "status", "--json"], capture_output=True,
                           text=True, env=ENV, timeout=120)
        try:
            return json.loads(r.stdout)
        except ValueError:
            return None

    def installed_bundle():
        """Which bundle the install is, checked whole; None if it is not."""
        doc = status()
        if doc is None or doc.get("installed") is None or doc.get("install_dir") != dest:
            return None
        key = by_sha.get(doc["installed"].get("sha256"))
        if key is None:
            return None
        blob = os.path.join(dest, "share", "blob")
        if not os.path.exists(blob) or hashlib.sha256(open(blob, "rb").read()).hexdigest() != bundles[key]["blob"]:
            return None
        r = subprocess.run([os.path.join(dest, "bin", "qemu-img"), "--version"],
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0 or "qemu-img version" not in r.stdout:
            return None
        return key

    def stray_entries():
        allowed = {"qemu", os.path.basename(part_b),
                   f"qemu-{bundles['A']['version']}.tar.gz.part"}
        return [e for e in os.listdir(parent_dir)
                if e not in allowed and not e.startswith(".qemu.tmp-") and not e.startswith(".qemu.old-")]

    # Install A, and time a whole install of B elsewhere (same server).
    r = install("A")
    check(r.returncode == 0, "the first install (A) succeeds" + ("" if r.returncode == 0 else f": {r.stderr.strip()[-300:]}"))
    check(installed_bundle() == "A", "status reports A, whole")
    t0 = time.monotonic()
    r = install("B", os.path.join(tmp, "timing", "qemu"))
    full = time.monotonic() - t0
    check(r.returncode == 0, f"a whole install of B takes {full:.2f} s")
    shutil.rmtree(os.path.join(tmp, "timing"))

    current = "A"
    kills_during = {"resumed": 0, "b-installed": 0}
    for i in range(KILLS):
        part_before = os.path.getsize(part_b) if os.path.exists(part_b) else 0
        # Spread the kills over what this run has left to do (a resumed
        # download is shorter), so every step gets hit: download, verify,
        # extract, swap.
        remaining = max(full - part_before / RATE, 0.3)
        delay = rng.uniform(0.02, remaining * 1.05)
        proc = subprocess.Popen([CHRONOS_VM, "qemu", "install", "--manifest", f"{base}/B.json", "--yes"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=ENV, stdin=subprocess.DEVNULL)
        time.sleep(delay)
        children = children_of(proc.pid)
        proc.send_signal(signal.SIGKILL)
        out, err = proc.communicate(timeout=60)
        finished = proc.returncode == 0
        # A short-lived helper (qemu-system -version during discovery) may
        # still be finishing: give the run the same 2 s the boot tests allow.
        deadline = time.monotonic() + 2.0
        while True:
            left = [c for c in children if os.path.exists(f"/proc/{c}")]
            if not left or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        what = f"kill {i + 1} at {delay:.2f} s ({'after it finished' if finished else 'signal ' + str(-proc.returncode)})"

        key = installed_bundle()
        check(key in (current, "B"), f"{what}: status reports a whole install ({key}, was {current})")
        check(stray_entries() == [], f"{what}: no half install is visible ({stray_entries()})")
        if os.path.exists(part_b):
            data = open(part_b, "rb").read()
            check(bundles["B"]["data"].startswith(data), f"{what}: the .part ({len(data)} bytes) is a prefix of B")
        if "Install to:" in out and 0 < part_before < bundles["B"]["size"]:
            resumed = "Resuming:" in out
            kills_during["resumed"] += resumed
            check(resumed, f"{what}: the run resumed the {part_before}-byte part")
        check(left == [], f"{what}: no process of the run is left ({left})")

        if key == "B":
            kills_during["b-installed"] += 1
            # Put A back, uninterrupted, so the next kill again replaces A.
            r = install("A")
            check(r.returncode == 0 and installed_bundle() == "A", f"{what}: reinstalling A succeeds")
        current = installed_bundle() or current

    print(f"# {kills_during['resumed']} runs resumed a part, {kills_during['b-installed']} kills came after B was in place")
    olds = [e for e in os.listdir(parent_dir) if e.startswith(".qemu.old-")]
    tmps = [e for e in os.listdir(parent_dir) if e.startswith(".qemu.tmp-")]
    print(f"# after the kills: {len(tmps)} temporary and {len(olds)} set-aside folders")

    # An uninterrupted run finishes the job and clears what it owns.
    r = install("B")
    check(r.returncode == 0, "the next install of B succeeds" + ("" if r.returncode == 0 else f": {r.stderr.strip()[-300:]}"))
    check(installed_bundle() == "B", "status reports B, whole")
    check(not os.path.exists(part_b), "the .part is gone after a successful install")
    check([e for e in os.listdir(parent_dir) if e.startswith(".qemu.old-")] == [],
          "no .qemu.old-* folder is left")
    fresh = sorted(e for e in os.listdir(parent_dir) if e.startswith(".qemu.tmp-"))
    check(fresh == sorted(tmps), "fresh .qemu.tmp-* folders are left alone (they may be a running install's)")

    # Once older than an hour they are a crash's leftovers: the next install removes them.
    old = time.time() - 2 * 3600
    for e in fresh:
        os.utime(os.path.join(parent_dir, e), (old, old))
    r = install("A")
    check(r.returncode == 0 and installed_bundle() == "A", "installing A again succeeds")
    check([e for e in os.listdir(parent_dir) if e.startswith(".qemu.")] == [],
          "stale .qemu.tmp-* folders are removed by the next install")
    check(sorted(os.listdir(parent_dir)) == ["qemu"], f"only the install is left ({sorted(os.listdir(parent_dir))})")

    server.shutdown()

print(f"1..{count}")
sys.exit(1 if failures else 0)
