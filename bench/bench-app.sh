#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bench-app.sh [BUILDDIR] [COUNT]
#
# How fast does the app show its window, and how much memory does it hold
# with a folder of COUNT (1000) backups listed? Makes COUNT small VHDX files
# (copies of one qemu-img image), then, under Xvfb and a D-Bus session (as on
# a desktop, so the accessibility bridge is on):
#   - time to first frame: from starting `chronos FOLDER` until its window is
#     mapped (IsViewable in xwininfo: GTK maps a window when its first frame
#     is ready to draw), against the same for a plain GTK4 hello-world window
#     compiled here from a few lines of C, which is the floor any GTK4 app
#     pays;
#   - resident memory: VmRSS from /proc once the list has COUNT rows (seen
#     through AT-SPI, as a screen reader would) and RSS has stopped changing
#     (the library probes every image in the background), against the goal of
#     100 MiB and against the hello-world window's.
# Prints the median of 3 runs of each. Needs xvfb, dbus, x11-utils,
# qemu-img, a C compiler, libgtk-4-dev and python3-pyatspi.
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)

if [ "${1:-}" = "--inner" ]; then
  inner=1
  shift
else
  inner=0
fi
builddir=${1:-${CHRONOS_BUILDDIR:-$here/_build}}
builddir=$(cd "$builddir" && pwd)
count=${2:-1000}
runs=3
app="$builddir/src/app/chronos"

now() { date +%s.%N; }
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

# Sets $elapsed to the seconds from starting "$@" until a window named
# $title is viewable; the program keeps running (its pid is in $pid).
start_and_time_map() {
  title=$1
  shift
  start=$(now)
  "$@" >/dev/null 2>&1 &
  pid=$!
  while :; do
    # GTK also makes an unmapped 1x1 leader window with the same title.
    viewable=0
    for id in $(xwininfo -root -tree 2>/dev/null | awk -v t="\"$title\":" '$2 == t { print $1 }'); do
      if xwininfo -id "$id" 2>/dev/null | grep -q 'IsViewable'; then
        viewable=1
      fi
    done
    [ $viewable = 1 ] && break
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "$* exited before showing a window" >&2
      exit 1
    fi
    sleep 0.005
  done
  end=$(now)
  elapsed=$(echo "$end - $start" | bc -l)
}

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# Waits until RSS has changed by less than 1 % over 3 s (30 s at most after
# the rows are there), then prints it in KiB.
stable_rss() {
  p=$1
  last=""
  steady=0
  tries=0
  while [ $tries -lt 120 ]; do
    cur=$(rss_kib "$p")
    if [ -n "$last" ] && [ "$(echo "d = $cur - $last; if (d < 0) d = -d; d * 100 < $cur" | bc -l)" = 1 ]; then
      steady=$((steady + 1))
    else
      steady=0
    fi
    [ $steady -ge 6 ] && break
    last=$cur
    tries=$((tries + 1))
    sleep 0.5
  done
  echo "$cur"
}

stop() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

if [ $inner = 1 ]; then
  tmp=$3
  hello="$tmp/hello"
  results="$tmp/results"
  : >"$results"
  for run in $(seq 1 $runs); do
    # The baseline: a GTK4 window with one label.
    start_and_time_map "Hello" "$hello"
    t=$elapsed
    sleep 2
    r=$(stable_rss "$pid")
    stop "$pid"
    echo "hello $t $r" >>"$results"

    start_and_time_map "Chronos" "$app" "$tmp/lib"
    t=$elapsed
    app_pid=$pid
    # The list has every backup, and each row shows what probing found
    # (partition style and firmware); then memory settles.
    rows=$(/usr/bin/python3 - "$count" "$app_pid" <<'EOF'
import sys, time
import pyatspi
count, pid = int(sys.argv[1]), int(sys.argv[2])
end = time.monotonic() + 300
def app():
    return next((a for a in pyatspi.Registry.getDesktop(0)
                 if a is not None and a.get_process_id() == pid), None)
def backups(node):
    stack = [node]
    while stack:
        n = stack.pop()
        try:
            if n.getRoleName() == 'list' and n.name == 'Backups':
                return n
            stack.extend(c for c in n)
        except Exception:
            pass
    return None
found = None
while time.monotonic() < end:
    try:
        a = app()
        found = backups(a) if a is not None else None
        if found is not None and found.childCount >= count:
            break
    except Exception:
        pass
    time.sleep(0.5)
print(found.childCount if found is not None else 0)
EOF
)
    r=$(stable_rss "$app_pid")
    probed=$(/usr/bin/python3 - "$app_pid" <<'EOF'
import sys
import pyatspi
pid = int(sys.argv[1])
a = next(a for a in pyatspi.Registry.getDesktop(0) if a is not None and a.get_process_id() == pid)
stack = [a]
while stack:
    n = stack.pop()
    if n.getRoleName() == 'list' and n.name == 'Backups':
        print(sum(1 for c in n if 'BIOS' in (c.description or '') or 'UEFI' in (c.description or '')))
        break
    stack.extend(c for c in n)
EOF
)
    stop "$app_pid"
    echo "chronos $t $r $rows $probed" >>"$results"
  done
  exit 0
fi

for tool in xvfb-run dbus-run-session xwininfo qemu-img cc pkg-config bc; do
  command -v "$tool" >/dev/null || { echo "$tool is not installed" >&2; exit 77; }
done
[ -x "$app" ] || { echo "$app is not built (meson compile -C $builddir)" >&2; exit 1; }
/usr/bin/python3 -c 'import pyatspi' 2>/dev/null || { echo "python3-pyatspi is not installed" >&2; exit 77; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/chronos-bench-app.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

cat >"$tmp/hello.c" <<'EOF'
#include <gtk/gtk.h>

static void
activate (GtkApplication *app)
{
  GtkWidget *window = gtk_application_window_new (app);

  gtk_window_set_title (GTK_WINDOW (window), "Hello");
  gtk_window_set_default_size (GTK_WINDOW (window), 1100, 720);
  gtk_window_set_child (GTK_WINDOW (window), gtk_label_new ("Hello, world"));
  gtk_window_present (GTK_WINDOW (window));
}

int
main (int argc, char **argv)
{
  GtkApplication *app = gtk_application_new (NULL, G_APPLICATION_DEFAULT_FLAGS);

  g_signal_connect (app, "activate", G_CALLBACK (activate), NULL);
  return g_application_run (G_APPLICATION (app), argc, argv);
}
EOF
# shellcheck disable=SC2046
cc -O2 -o "$tmp/hello" "$tmp/hello.c" $(pkg-config --cflags --libs gtk4)

mkdir "$tmp/lib"
qemu-img create -q -f vhdx "$tmp/one.vhdx" 64M
i=0
while [ $i -lt "$count" ]; do
  cp "$tmp/one.vhdx" "$tmp/lib/backup-$i.vhdx"
  i=$((i + 1))
done

# A private home, memory settings: nothing of the person running this.
mkdir -p "$tmp/home"

# Runs both programs under one renderer ("" is GTK's default, GL, which
# under Xvfb is Mesa's llvmpipe) and prints the medians.
measure() {
  renderer=$1
  label=${renderer:-default (GL)}
  HOME="$tmp/home" XDG_CONFIG_HOME="$tmp/home/.config" XDG_DATA_HOME="$tmp/home/.local/share" \
  XDG_CACHE_HOME="$tmp/home/.cache" XDG_STATE_HOME="$tmp/home/.local/state" \
  GSETTINGS_SCHEMA_DIR="$builddir/data" GSETTINGS_BACKEND=memory GDK_BACKEND=x11 ADW_DISABLE_PORTAL=1 \
  GSK_RENDERER=$renderer \
    xvfb-run -a -n $(( ($$ % 30000) + 100 )) -s "-screen 0 1280x800x24" \
    env -u NO_AT_BRIDGE -u GTK_A11Y -u G_DEBUG dbus-run-session -- \
    sh "$0" --inner "$builddir" "$count" "$tmp" >/dev/null 2>"$tmp/inner.log" || {
      cat "$tmp/inner.log" >&2
      exit 1
    }

  echo "renderer $label, runs (seconds to mapped window, VmRSS KiB[, list children, rows probed]):"
  sed 's/^/  /' "$tmp/results"
  # The list also holds the folder heading: at least COUNT children.
  bad=$(awk -v n="$count" '$1 == "chronos" && ($4 < n || $5 != n)' "$tmp/results")
  if [ -n "$bad" ]; then
    echo "chronos did not list and probe all $count backups in a run" >&2
    exit 1
  fi

  ht=$(awk '$1 == "hello" { print $2 }' "$tmp/results" | median)
  hr=$(awk '$1 == "hello" { print $3 }' "$tmp/results" | median)
  ct=$(awk '$1 == "chronos" { print $2 }' "$tmp/results" | median)
  cr=$(awk '$1 == "chronos" { print $3 }' "$tmp/results" | median)

  printf '  first frame: chronos with %d backups %.3f s, GTK4 hello-world %.3f s: %.2fx the floor\n' \
    "$count" "$ct" "$ht" "$(echo "$ct / $ht" | bc -l)"
  printf '  resident memory: chronos %.1f MiB, hello-world %.1f MiB (%.1f MiB more); goal 100 MiB: %.2f of it (%s)\n' \
    "$(echo "$cr / 1024" | bc -l)" "$(echo "$hr / 1024" | bc -l)" "$(echo "($cr - $hr) / 1024" | bc -l)" \
    "$(echo "$cr / 1024 / 100" | bc -l)" \
    "$(if [ "$(echo "$cr < 102400" | bc -l)" = 1 ]; then echo met; else echo missed; fi)"
}

measure ""
# The GL renderer's driver alone holds most of a hello-world's memory: the
# cairo renderer shows what the app itself costs.
measure cairo
