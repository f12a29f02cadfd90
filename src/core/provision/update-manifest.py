#!/usr/bin/env python3
# update-manifest.py: add or replace a QEMU bundle in the default manifest
#
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The default manifest (default-manifest.json, compiled into Chronos) is the
# trust root for downloaded QEMU bundles, so its size and SHA-256 values must
# come from the real bundle, never typed by hand. A release runs this once
# per bundle it publishes, then commits the manifest:
#
#   src/core/provision/update-manifest.py qemu-10.1.2-win64.zip \
#       --version 10.1.2 --os windows --arch x86_64 \
#       --url https://downloads.example.org/qemu-10.1.2-win64.zip \
#       --mirror https://mirror.example.org/qemu-10.1.2-win64.zip \
#       --strip-components 1 --system qemu-system-x86_64.exe \
#       --img qemu-img.exe --firmware-dir share
#
# It checks the bundle lists the named files (with bsdtar) before writing.

import argparse
import hashlib
import json
import os
import subprocess
import sys

FORMATS = {".zip": "zip", ".7z": "7z", ".tar.zst": "tar.zst", ".tar.xz": "tar.xz", ".tar.gz": "tar.gz"}


def guess_format(path):
    for suffix, fmt in FORMATS.items():
        if path.endswith(suffix):
            return fmt
    sys.exit(f"update-manifest: cannot tell the format of {path}; pass --format")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description="Add a QEMU bundle to the Chronos manifest")
    p.add_argument("bundle")
    p.add_argument("--manifest", default=os.path.join(here, "default-manifest.json"))
    p.add_argument("--id", default="qemu")
    p.add_argument("--version", required=True)
    p.add_argument("--os", required=True, choices=["windows", "linux", "macos"])
    p.add_argument("--arch", required=True, choices=["x86_64", "aarch64"])
    p.add_argument("--url", required=True)
    p.add_argument("--mirror", action="append", default=[])
    p.add_argument("--format")
    p.add_argument("--strip-components", type=int, default=0)
    p.add_argument("--system", required=True)
    p.add_argument("--img", required=True)
    p.add_argument("--firmware-dir")
    p.add_argument("--skip-list-check", action="store_true",
                   help="do not list the archive with bsdtar")
    a = p.parse_args()

    for url in [a.url] + a.mirror:
        if not url.startswith("https://"):
            sys.exit(f"update-manifest: {url}: the default manifest only names HTTPS addresses")

    h = hashlib.sha256()
    size = 0
    with open(a.bundle, "rb") as f:
        while True:
            block = f.read(1 << 20)
            if not block:
                break
            h.update(block)
            size += len(block)

    fmt = a.format or guess_format(a.bundle)

    if not a.skip_list_check:
        names = subprocess.run(["bsdtar", "-tf", a.bundle], check=True,
                               capture_output=True, text=True).stdout.split("\n")
        # Chronos refuses links and special files in a bundle: refuse to publish one.
        verbose = subprocess.run(["bsdtar", "-tvf", a.bundle], check=True,
                                 capture_output=True, text=True).stdout.split("\n")
        for line in verbose:
            if line and line[0] not in "-d":
                sys.exit(f"update-manifest: {a.bundle}: Chronos will refuse this entry "
                         f"(links and special files are not allowed): {line}")
        stripped = set()
        for n in names:
            parts = [x for x in n.split("/") if x not in ("", ".")]
            if len(parts) > a.strip_components:
                stripped.add("/".join(parts[a.strip_components:]))
        for want in [a.system, a.img] + ([a.firmware_dir] if a.firmware_dir else []):
            if want not in stripped:
                sys.exit(f"update-manifest: {a.bundle} has no {want} after stripping "
                         f"{a.strip_components} component(s)")

    files = {"system": a.system, "img": a.img}
    if a.firmware_dir:
        files["firmware_dir"] = a.firmware_dir
    entry = {
        "id": a.id, "version": a.version, "os": a.os, "arch": a.arch,
        "url": a.url, "mirrors": a.mirror, "size": size, "sha256": h.hexdigest(),
        "format": fmt, "strip_components": a.strip_components, "files": files,
    }

    with open(a.manifest) as f:
        manifest = json.load(f)
    comps = [c for c in manifest.get("components", [])
             if (c.get("id"), c.get("os"), c.get("arch")) != (a.id, a.os, a.arch)]
    comps.append(entry)
    manifest = {"schema": 1, "components": comps}
    with open(a.manifest + ".new", "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    os.replace(a.manifest + ".new", a.manifest)
    print(f"{a.manifest}: {a.id} {a.version} {a.os}/{a.arch}: {size} bytes, sha256 {h.hexdigest()}")


if __name__ == "__main__":
    main()
