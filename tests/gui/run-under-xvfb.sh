#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Runs a GUI test under a virtual X server and its own D-Bus session, as a
# person's desktop would be. Skips (exit 77) when the tools are missing.

for tool in xvfb-run dbus-run-session; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "1..0 # SKIP $tool is not installed (Debian: xvfb, dbus)"
    exit 77
  fi
done

# Other test programs may start X servers at the same time: start looking
# for a free display number somewhere else than everyone's :99.
display=$(( ($$ % 30000) + 100 ))
exec xvfb-run -a -n "$display" -s "-screen 0 1280x800x24" dbus-run-session -- "$@"
