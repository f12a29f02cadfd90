/* chronos-accel-memory.h: remembered facts like "UEFI needs TCG on this host"
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#pragma once

#include <glib.h>

#include "chronos-types.h"
#include "chronos-enums.h"

G_BEGIN_DECLS

/* A keyfile, chronos_paths_state_dir()/accel.ini, one group per
 * (host name, hardware accelerator, firmware), e.g. [myhost kvm uefi] with
 * keys reason=KVM internal error, qemu-version=7.2.22, time=ISO 8601.
 * The host name is part of the key because a home directory may be shared
 * between machines. Writes are atomic (g_file_set_contents); concurrent
 * writers may lose each other's entry, never corrupt the file. */

/* The state file's path. */
char    *chronos_accel_memory_get_path (void);

/* TRUE when hardware acceleration @hardware was recorded as failing with
 * @firmware on this host; @reason (optional) gets the recorded reason.
 * A missing or unreadable file means "nothing known" (FALSE). */
gboolean chronos_accel_memory_lookup   (ChronosAccelKind    hardware,
                                        ChronosFirmwareMode firmware,
                                        char              **reason);

/* Records that @hardware failed with @firmware on this host (called by
 * ChronosVm after a fallback to TCG). @reason: a short sentence, e.g.
 * "KVM internal error"; @qemu_version may be NULL. */
gboolean chronos_accel_memory_remember (ChronosAccelKind    hardware,
                                        ChronosFirmwareMode firmware,
                                        const char         *reason,
                                        const char         *qemu_version,
                                        GError            **error);

/* Forgets that record (e.g. `--accel hardware` booted fine after all).
 * Not an error when nothing was recorded. */
gboolean chronos_accel_memory_forget   (ChronosAccelKind    hardware,
                                        ChronosFirmwareMode firmware,
                                        GError            **error);

G_END_DECLS
