#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Print the closing line CI reads, 'N passed, N failed, N skipped', from
meson's testlog.json (one JSON object per line). Each meson test counts once;
a skipped test (exit 77) is reported with the reason it printed."""

import json
import sys

PASSED = {"OK", "EXPECTEDFAIL"}
SKIPPED = {"SKIP"}


def main(path):
    passed = failed = skipped = 0
    skips = []
    with open(path, encoding="utf-8") as log:
        for line in log:
            line = line.strip()
            if not line:
                continue
            entry = json.loads(line)
            result = entry.get("result")
            if result in PASSED:
                passed += 1
            elif result in SKIPPED:
                skipped += 1
                reason = (entry.get("stdout") or "").strip().splitlines()
                skips.append((entry.get("name"), reason[-1] if reason else ""))
            else:
                failed += 1
    for name, reason in skips:
        print(f"skipped: {name}: {reason}")
    print(f"{passed} passed, {failed} failed, {skipped} skipped")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "_build/meson-logs/testlog.json")
