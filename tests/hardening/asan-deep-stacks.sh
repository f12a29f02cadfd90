#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# asan-deep-stacks.sh COMMAND...: runs COMMAND with ASan's slow (DWARF)
# unwinder for allocations. GLib is built without frame pointers, so the
# default fast unwinder stops at g_malloc: every leak report then has the
# same two frames and lsan.supp cannot tell GLib's own one-time allocations
# from Chronos's leaks. build-aux/hardening.sh passes this as
# `meson test --wrapper` on top of the asan setup (whose ASAN_OPTIONS it
# extends rather than replaces).
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}fast_unwind_on_malloc=0:malloc_context_size=40"
export ASAN_OPTIONS
exec "$@"
