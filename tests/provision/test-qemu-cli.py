#!/usr/bin/python3
# test-qemu-cli.py: `chronos-vm qemu status|install` as a script would use them
#
# SPDX-License-Identifier: GPL-2.0-or-later
#
# A real HTTP server on 127.0.0.1 (in this process), a real tar.gz bundle,
# the real chronos-vm: exit codes, the one-line error format, progress on
# stderr, the JSON of `qemu status`, and the install record.

import hashlib
import http.server
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import threading

CHRONOS_VM = os.environ.get("CHRONOS_VM")
if not CHRONOS_VM or not os.path.exists(CHRONOS_VM):
    print("CHRONOS_VM is not set to the chronos-vm executable")
    sys.exit(77)

failures = 0


def check(cond, what):
    global failures
    if cond:
        print(f"ok - {what}")
    else:
        print(f"not ok - {what}")
        failures += 1


def make_bundle(path, version):
    script = f"#!/bin/sh\necho QEMU emulator version {version}\n".encode()
    with tarfile.open(path, "w:gz") as tar:
        for name in ["top/bin/qemu-system-x86_64", "top/bin/qemu-img"]:
            info = tarfile.TarInfo(name)
            info.size = len(script)
            info.mode = 0o755
            import io
            tar.addfile(info, io.BytesIO(script))
        info = tarfile.TarInfo("top/share/blob")
        blob = os.urandom(3 * 1024 * 1024)
        info.size = len(blob)
        import io
        tar.addfile(info, io.BytesIO(blob))
    data = open(path, "rb").read()
    return len(data), hashlib.sha256(data).hexdigest()


def manifest(url, size, sha, version="8.0.0"):
    return json.dumps({"schema": 1, "components": [{
        "id": "qemu", "version": version, "os": "linux", "arch": os.uname().machine,
        "url": url, "mirrors": [], "size": size, "sha256": sha, "format": "tar.gz",
        "strip_components": 1,
        "files": {"system": "bin/qemu-system-x86_64", "img": "bin/qemu-img", "firmware_dir": "share"}}]})


def run(*args, stdin=subprocess.DEVNULL):
    return subprocess.run([CHRONOS_VM, "qemu", *args], capture_output=True, text=True,
                          stdin=stdin, env=ENV, timeout=120)


with tempfile.TemporaryDirectory(prefix="chronos-qemu-cli-") as tmp:
    www = os.path.join(tmp, "www")
    os.makedirs(www)
    ENV = dict(os.environ)
    ENV["XDG_DATA_HOME"] = os.path.join(tmp, "data")
    ENV["XDG_CACHE_HOME"] = os.path.join(tmp, "cache")
    ENV["GIO_USE_PROXY_RESOLVER"] = "dummy"
    ENV["LC_ALL"] = "C.UTF-8"

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=www, **kw)

        def log_message(self, *a):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{port}"

    bundle = os.path.join(www, "qemu.tar.gz")
    size, sha = make_bundle(bundle, "8.0.0")
    with open(os.path.join(www, "manifest.json"), "w") as f:
        f.write(manifest(f"{base}/qemu.tar.gz", size, sha))
    with open(os.path.join(www, "bad.json"), "w") as f:
        f.write(manifest(f"{base}/qemu.tar.gz", size, "0" * 64))

    # Usage errors: exit 2.
    r = run()
    check(r.returncode == 2, "no subcommand is a usage error")
    r = run("frobnicate")
    check(r.returncode == 2, "unknown subcommand is a usage error")
    r = run("install", "--manifest", f"{base}/manifest.json")
    check(r.returncode == 2 and "--yes" in r.stderr, "no terminal and no --yes: exit 2, says --yes")
    check(not os.path.exists(os.path.join(tmp, "data", "chronos", "qemu")), "nothing installed without --yes")

    # Refused before connecting.
    r = run("install", "--manifest", "http://example.org/manifest.json", "--yes")
    check(r.returncode == 1 and r.stderr.startswith("chronos-vm: http://example.org/manifest.json: ")
          and "only over HTTPS" in r.stderr and r.stderr.count("\n") == 1,
          "plain HTTP to another host: exit 1, one line")

    # A manifest whose checksum does not match: exit 1, nothing left.
    dest = os.path.join(tmp, "inst", "qemu")
    r = run("install", "--manifest", f"{base}/bad.json", "--dest", dest, "--yes")
    check(r.returncode == 1 and "SHA-256" in r.stderr.splitlines()[-1], "wrong SHA-256: exit 1, says SHA-256")
    check(os.listdir(os.path.join(tmp, "inst")) == [], "wrong SHA-256 leaves nothing")

    # The default destination, then status finds the record.
    r = run("install", "--manifest", f"{base}/manifest.json", "--yes")
    check(r.returncode == 0, f"install exits 0 ({r.stderr.strip()[-200:]})")
    check("Installed QEMU 8.0.0" in r.stdout, "install says what it installed")
    check(all(s in r.stderr for s in ["Downloading", "Verifying", "Extracting", "Installing"]),
          "progress names every step on stderr")
    check(sha in r.stdout and "Install to:" in r.stdout, "install shows the plan (checksum, destination)")
    installed = os.path.join(tmp, "data", "chronos", "qemu")
    record = json.load(open(os.path.join(installed, "chronos-install.json")))
    check(record["sha256"] == sha and record["version"] == "8.0.0", "the install record names version and sha256")
    check(os.access(os.path.join(installed, "bin", "qemu-system-x86_64"), os.X_OK), "the emulator is executable")

    r = run("status", "--json")
    doc = json.loads(r.stdout)
    check(set(doc) >= {"qemu", "accelerators", "firmware", "install_dir", "installed"}, "status --json has its fields")
    check(doc["installed"] is not None and doc["installed"]["sha256"] == sha, "status --json shows the installed record")
    check(doc["install_dir"] == installed, "status --json names the install dir")
    check(r.returncode == (0 if doc["qemu"]["found"] else 1), "status exit code follows qemu.found")

    # Offline: the same bundle from a file, checked against the manifest.
    r = run("install", "--manifest", f"{base}/manifest.json", "--from", bundle, "--dest", dest, "--yes")
    check(r.returncode == 0 and os.path.exists(os.path.join(dest, "share", "blob")), "--from FILE installs")
    check(sorted(os.listdir(os.path.join(tmp, "inst"))) == ["qemu"], "--from FILE leaves only the install")

    server.shutdown()

sys.exit(1 if failures else 0)
