#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Launch overhead: from starting `chronos-vm boot --display none` to the VM
# running with QEMU answering QMP (chronos-vm prints "running:" only after
# QMP answered and the guest was started), against starting the equivalent
# bare qemu-system-x86_64 by hand (same guest, -snapshot, QMP on a Unix
# socket) until QMP answers `query-status`. Chronos's figure includes the
# image check, the run directory and the qcow2 overlay.
#
# usage: bench/bench-launch.sh [BUILDDIR] [RUNS]   (default _build, 7)
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/_build}
runs=${2:-7}
"$here/build-aux/make-demo-library.sh" "$build" "$build/demo-library" >/dev/null
image="$build/tests/guests/bios-hello.vhdx"
exec /usr/bin/python3 - "$build/src/cli/chronos-vm" "$image" "$runs" "$here/tests/kvm-runs-guests.sh" <<'PY'
import json, os, socket, statistics, subprocess, sys, tempfile, time

chronos_vm, image, runs, kvm_probe = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]

def chronos_once(accel):
    env = dict(os.environ)
    tmp = tempfile.mkdtemp(prefix="bench-launch-")
    for var, sub in (("XDG_CACHE_HOME", "cache"), ("XDG_DATA_HOME", "data"), ("XDG_RUNTIME_DIR", "run")):
        env[var] = os.path.join(tmp, sub)
        os.makedirs(env[var], mode=0o700)
    start = time.monotonic()
    proc = subprocess.Popen([chronos_vm, "boot", "--display", "none", "--no-network", "--accel", accel,
                             "--shutdown-timeout", "1", image],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    for line in proc.stdout:
        if line.startswith("running:"):
            elapsed = time.monotonic() - start
            break
    else:
        raise SystemExit("chronos-vm boot never reported running")
    proc.terminate()
    proc.wait(timeout=60)
    subprocess.run(["rm", "-rf", tmp])
    return elapsed

def bare_once(accel):
    tmp = tempfile.mkdtemp(prefix="bench-launch-bare-")
    sock = os.path.join(tmp, "qmp.sock")
    start = time.monotonic()
    proc = subprocess.Popen(["qemu-system-x86_64", "-machine", "q35", "-accel", accel, "-m", "1024",
                             "-display", "none", "-nic", "none", "-snapshot",
                             "-drive", f"file={image},format=vhdx,if=none,id=d0",
                             "-device", "ahci,id=ahci", "-device", "ide-hd,bus=ahci.0,drive=d0",
                             "-qmp", f"unix:{sock},server=on,wait=off"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while True:
        try:
            s = socket.socket(socket.AF_UNIX)
            s.connect(sock)
            break
        except OSError:
            s.close()
            time.sleep(0.001)
    f = s.makefile("rw")
    f.readline()
    for cmd in ({"execute": "qmp_capabilities"}, {"execute": "query-status"}):
        f.write(json.dumps(cmd) + "\r\n"); f.flush()
        while "return" not in json.loads(f.readline()):
            pass
    elapsed = time.monotonic() - start
    proc.kill(); proc.wait()
    s.close()
    subprocess.run(["rm", "-rf", tmp])
    return elapsed

for accel in ("tcg", "kvm"):
    if accel == "kvm" and subprocess.run(["/bin/sh", kvm_probe], stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL).returncode != 0:
        print("kvm: skipped, KVM does not run guests on this host (tests/kvm-runs-guests.sh)")
        continue
    c = statistics.median(chronos_once("tcg" if accel == "tcg" else "hardware") for _ in range(runs))
    b = statistics.median(bare_once(accel) for _ in range(runs))
    print(f"{accel}: chronos-vm boot to running {c * 1000:.0f} ms, bare qemu to QMP {b * 1000:.0f} ms, "
          f"added {(c - b) * 1000:.0f} ms (ratio {c / b:.2f}; median of {runs})")
print("note: with a hardware accelerator chronos-vm also watches the first 500 ms for an accelerator failure")
PY
