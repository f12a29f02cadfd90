#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# tests/kvm-runs-guests.sh [QEMU]
#
# Exit 0 when KVM really runs a guest here with the CPU model Chronos asks
# for (-cpu max), 1 when it does not, 77 without QEMU. An openable /dev/kvm
# is not enough: on a nested AMD host QEMU aborts in kvm_buf_set_msrs
# ("failed to set MSR 0x10a") while it sets up the vCPU, before any guest
# code runs. Tests that expect KVM to carry a guest ask this first; the
# tests of the fallback itself use the answer the other way round.
# CHRONOS_TEST_CPU (default max) lets a person check another CPU model.

qemu=${1:-$(command -v qemu-system-x86_64)}
[ -n "$qemu" ] && [ -x "$qemu" ] || exit 77
[ -r /dev/kvm ] && [ -w /dev/kvm ] || exit 1

# The subshell keeps the shell's own "Aborted" report out of the output.
reply=$( (printf '%s\n' '{"execute":"qmp_capabilities"}' '{"execute":"cont"}' \
                         '{"execute":"query-kvm"}' '{"execute":"quit"}' |
  timeout 20 "$qemu" -accel kvm -cpu "${CHRONOS_TEST_CPU:-max}" -machine q35 -m 64 \
    -nodefaults -display none -S -qmp stdio) 2>/dev/null) || exit 1
case $reply in
  *'"enabled": true'*) exit 0 ;;
  *) exit 1 ;;
esac
