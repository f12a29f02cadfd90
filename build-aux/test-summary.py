#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Print the closing line CI reads, 'N passed, N failed, N skipped', from
meson's testlog.json files (one JSON object per line): the normal run, and
the sanitizer and valgrind runs of build-aux/hardening.sh when given. Each
meson test of each run counts once; a skipped test (exit 77) is listed with
the reason it printed, and every failure by name."""

import json
import os
import sys

PASSED = {"OK", "EXPECTEDFAIL"}
SKIPPED = {"SKIP"}


def main(paths):
    passed = failed = skipped = 0
    skips = []
    failures = []
    for path in paths:
        label = "" if path == paths[0] else f"[{os.path.basename(os.path.dirname(os.path.dirname(path)))}/{os.path.basename(path)}] "
        try:
            log = open(path, encoding="utf-8")
        except OSError as error:
            print(f"failed: {path}: {error.strerror}")
            failed += 1
            continue
        with log:
            for line in log:
                line = line.strip()
                if not line:
                    continue
                entry = json.loads(line)
                result = entry.get("result")
                name = label + str(entry.get("name"))
                if result in PASSED:
                    passed += 1
                elif result in SKIPPED:
                    skipped += 1
                    reason = (entry.get("stdout") or "").strip().splitlines()
                    skips.append((name, reason[-1] if reason else ""))
                else:
                    failed += 1
                    failures.append((name, result))
    for name, reason in skips:
        print(f"skipped: {name}: {reason}")
    for name, result in failures:
        print(f"failed: {name}: {result}")
    print(f"{passed} passed, {failed} failed, {skipped} skipped")


if __name__ == "__main__":
    main(sys.argv[1:] or ["_build/meson-logs/testlog.json"])
