#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# build-aux/hardening.sh BUILDROOT
#
# The sanitizer and valgrind runs of issue 8, bounded for CI (2 cores,
# 10 minutes in all):
#  1. BUILDROOT-asan: configured with -Db_sanitize=address,undefined
#     -Db_lundef=false -Dapp=false, built, and `meson test --setup=asan` over
#     the core and vm suites. The fuzz targets are left out: run-fuzzer.sh
#     builds its own sanitized binaries and runs in the normal build.
#     Allocation stacks are unwound the slow way so that tests/lsan.supp
#     can name GLib's own allocations precisely (asan-deep-stacks.sh).
#     The log is copied to BUILDROOT-asan/meson-logs/testlog.json.
#  2. BUILDROOT (the normal build): `meson test --setup=valgrind` over the
#     native test programs of the core and vm suites. meson wraps every test
#     of a setup in valgrind, so tests that are scripts (python, sh) are left
#     out by name: valgrind would check the interpreter, not Chronos. The vm
#     programs start QEMU, which runs natively: valgrind does not follow exec.
#     Then the chronos-vm process itself under valgrind: the boot groups of
#     tests/vm/test-boot.py run with CHRONOS_VM_WRAPPER set to valgrind with
#     the same suppressions, and a case fails on any error valgrind reports
#     for its chronos-vm (see test-boot.py). Their log is appended to
#     BUILDROOT/meson-logs/testlog-valgrind.json, the one log of this half.
#     On 2 cores: the programs ~170 s (converter ~130 s and verifier ~80 s
#     of it, side by side; the core ones alone took ~50 s), the boot groups
#     ~25 s. nbd-boot and the hardening tests' chronos-vm stay native.
# Prints a summary and exits non-zero when a run had a failure.
#
# Environment: HARDENING_SKIP_VALGRIND=1 or HARDENING_SKIP_ASAN=1 to run one
# half; MESON_TEST_ARGS for extra `meson test` arguments (e.g. --num-processes).
set -u

if [ $# -ne 1 ]; then
  echo "usage: $0 BUILDROOT" >&2
  exit 2
fi

here=$(cd "$(dirname "$0")/.." && pwd)
build=$1
asan=${build%/}-asan
python=/usr/bin/python3
[ -x "$python" ] || python=python3
status=0
start=$(date +%s)

# GLib 2.74 still has GSlice: plain malloc lets both tools see every block.
export G_SLICE=always-malloc

step() {
  echo
  echo "== hardening: $* ($(($(date +%s) - start)) s)"
}

summarize() {
  # summarize LABEL TESTLOG: one line of counts, and the names of failures.
  "$python" - "$1" "$2" <<'PY'
import json, sys
label, path = sys.argv[1], sys.argv[2]
counts = {}
failed = []
try:
    with open(path) as f:
        for line in f:
            if not line.strip():
                continue
            t = json.loads(line)
            r = t.get("result", "?")
            counts[r] = counts.get(r, 0) + 1
            if r not in ("OK", "SKIP", "EXPECTEDFAIL"):
                failed.append(f"{t['name']} ({r})")
except FileNotFoundError:
    print(f"{label}: no test log at {path}")
    sys.exit(1)
ok = counts.get("OK", 0) + counts.get("EXPECTEDFAIL", 0)
print(f"{label}: {ok} passed, {len(failed)} failed, {counts.get('SKIP', 0)} skipped")
for name in failed:
    print(f"  FAILED {name}")
sys.exit(1 if failed else 0)
PY
}

summary=""

# Builds everything it can (-k 0): a target that does not compile fails the
# run, but the tests that did build still run and are counted.
build_or_note() {
  if ! ninja -C "$1" -k 0; then
    summary="${summary}build: some targets of $1 did not compile (see above)
"
    status=1
  fi
}

# 1. ASan + UBSan --------------------------------------------------------------
if [ "${HARDENING_SKIP_ASAN:-0}" != 1 ]; then
  step "configure and build $asan (address,undefined)"
  if [ ! -f "$asan/build.ninja" ]; then
    meson setup "$asan" "$here" -Db_sanitize=address,undefined -Db_lundef=false \
      -Dapp=false -Dbuildtype=debugoptimized || status=1
  else
    # Test folders are picked up by fs.exists() at configure time.
    meson setup --reconfigure "$asan" "$here" >/dev/null || status=1
  fi
  if [ $status = 0 ]; then
    build_or_note "$asan"
    step "meson test --setup=asan --suite core --suite vm --no-suite fuzz"
    # The wrapper only adds the slow unwinder to the setup's ASAN_OPTIONS
    # (see tests/hardening/asan-deep-stacks.sh); meson then names the log
    # after the wrapper, and the lead's tooling reads testlog.json.
    wrapper=$here/tests/hardening/asan-deep-stacks.sh
    log=$asan/meson-logs/testlog-$(basename "$wrapper").json
    rm -f "$log" "$asan/meson-logs/testlog.json"
    # shellcheck disable=SC2086
    meson test -C "$asan" --no-rebuild --setup=asan --wrapper "$wrapper" \
      --suite core --suite vm --no-suite fuzz --print-errorlogs ${MESON_TEST_ARGS:-} || status=1
    cp "$log" "$asan/meson-logs/testlog.json" 2>/dev/null
    line=$(summarize "asan (core, vm)" "$asan/meson-logs/testlog.json") || status=1
  else
    status=1
    line="asan: $asan could not be configured"
  fi
  summary="$summary$line
"
fi

# 2. valgrind ------------------------------------------------------------------
if [ "${HARDENING_SKIP_VALGRIND:-0}" != 1 ]; then
  step "build $build and pick the native core and vm tests for valgrind"
  if ! command -v valgrind >/dev/null 2>&1; then
    summary="${summary}valgrind: not installed (apt-get install valgrind)
"
    status=1
  elif { [ -f "$build/build.ninja" ] || meson setup "$build" "$here"; }; then
    build_or_note "$build"
    # A test is native when its command is a program built in BUILDROOT.
    names=$(meson introspect "$build" --tests | "$python" -c '
import json, os, sys
build = os.path.realpath(sys.argv[1])
for t in json.load(sys.stdin):
    exe = os.path.realpath(t["cmd"][0])
    suites = [s.split(":")[-1] for s in t["suite"]]
    if {"core", "vm"} & set(suites) and "fuzz" not in suites and exe.startswith(build + os.sep):
        print(t["name"])
' "$build")
    if [ -z "$names" ]; then
      echo "hardening: found no native core or vm tests in $build" >&2
      status=1
    fi
    echo "valgrind runs:" $names
    step "meson test --setup=valgrind (core and vm, native programs)"
    log=$build/meson-logs/testlog-valgrind.json
    rm -f "$log"
    # shellcheck disable=SC2086
    meson test -C "$build" --no-rebuild --setup=valgrind --suite core --suite vm --print-errorlogs \
      ${MESON_TEST_ARGS:-} $names || status=1

    step "meson test boot-* with chronos-vm under valgrind"
    boot_log=$build/meson-logs/testlog-valgrind-chronos-vm.json
    rm -f "$boot_log"
    # The options of the valgrind setup in tests/meson.build, a log per
    # process (test-boot.py names it), and an exit status of its own.
    # shellcheck disable=SC2086
    CHRONOS_VM_WRAPPER="valgrind --error-exitcode=97 --leak-check=full \
--errors-for-leak-kinds=definite --suppressions='$here/tests/valgrind.supp' \
--log-file=%q{CHRONOS_VM_WRAPPER_LOG}" \
      meson test -C "$build" --no-rebuild --logbase testlog-valgrind-chronos-vm --suite vm \
      --print-errorlogs ${MESON_TEST_ARGS:-} boot-basic boot-uefi boot-safety boot-shutdown \
      boot-errors || status=1
    # test-summary.py reads one valgrind log.
    cat "$boot_log" >>"$log" 2>/dev/null
    line=$(summarize "valgrind (core, vm; chronos-vm in boot-*)" "$log") || status=1
    summary="$summary$line
"
  else
    status=1
    summary="${summary}valgrind: $build could not be configured
"
  fi
fi

step "summary"
printf '%s' "$summary"
echo "hardening: $(($(date +%s) - start)) s, $([ $status = 0 ] && echo PASSED || echo FAILED)"
exit $status
