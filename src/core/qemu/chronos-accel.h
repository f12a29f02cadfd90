/* chronos-accel.h: which accelerators this host offers, and the -accel plan
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#pragma once

#include <glib.h>

#include "chronos-types.h"
#include "chronos-enums.h"

G_BEGIN_DECLS

/* "kvm", "whpx", "tcg", "hvf" (QEMU's accelerator names; "unknown" for
 * UNKNOWN). Stable: used in JSON (`verify --json` "accelerator"). */
const char       *chronos_accel_kind_to_string   (ChronosAccelKind kind);
/* The reverse; CHRONOS_ACCEL_KIND_UNKNOWN for anything else. */
ChronosAccelKind  chronos_accel_kind_from_string (const char      *name);
/* For people: "Hardware acceleration (KVM)", "Software emulation — slower".
 * Translated. */
const char       *chronos_accel_kind_get_label   (ChronosAccelKind kind);
/* The value of one `-accel` option: "kvm", "whpx,kernel-irqchip=off",
 * "tcg", "hvf". NULL for UNKNOWN. */
const char       *chronos_accel_kind_to_qemu_option (ChronosAccelKind kind);
/* Which accelerator a running VM got, from the QOM type of its first CPU's
 * local APIC (`qom-get /machine/unattached/device[0]/lapic type`):
 * "kvm-apic" -> KVM, "whpx-apic" -> WHPX, "apic" -> TCG (also HVF, which has
 * no APIC of its own; callers on macOS must ask differently). */
ChronosAccelKind  chronos_accel_kind_from_apic_type (const char *qom_type);

/* The hardware accelerator this kind of host would use: KVM on Linux, WHPX
 * on Windows, HVF on macOS, UNKNOWN elsewhere. No probing. */
ChronosAccelKind chronos_accel_host_hardware_kind (void);

/* Whether @kind can be used on this host right now. TCG always can. KVM:
 * /dev/kvm opens read-write and KVM_GET_API_VERSION answers 12. WHPX:
 * WinHvPlatform.dll loads and WHvGetCapability(HypervisorPresent) is TRUE.
 * On FALSE, @reason (optional) gets a sentence a person can act on, e.g.
 * "/dev/kvm is not accessible (Permission denied): add yourself to the kvm
 * group and log in again.". Cheap (no subprocess); safe from any thread. */
gboolean chronos_accel_probe (ChronosAccelKind kind,
                              char           **reason);

/* The -accel list for a launch, in order (QEMU falls back along it), as a
 * pure function of its inputs:
 *
 *   AUTO:     hardware then TCG when @hardware_usable and not
 *             @hardware_known_bad; TCG alone otherwise.
 *   HARDWARE: the hardware kind alone (even when known bad: the user asked);
 *             CHRONOS_QEMU_ERROR_ACCEL_UNAVAILABLE when not usable or UNKNOWN.
 *   TCG:      TCG alone.
 *
 * Returns a GArray of ChronosAccelKind (never empty). @note (optional) gets
 * a sentence when the plan differs from the usual one for this mode (e.g.
 * "Using software emulation: KVM failed with UEFI on this host before
 * (KVM internal error)."), else NULL. @hardware_reason explains why hardware
 * is unusable or known bad (from chronos_accel_probe() or the memory). */
GArray *chronos_accel_plan (ChronosAccelMode  mode,
                            ChronosAccelKind  hardware_kind,
                            gboolean          hardware_usable,
                            gboolean          hardware_known_bad,
                            const char       *hardware_reason,
                            char            **note,
                            GError          **error);

/* chronos_accel_plan() for this host: probes the hardware kind and consults
 * the remembered choices (chronos-accel-memory.h) for @firmware (BIOS or
 * UEFI). Blocking only for a tiny state file read. */
GArray *chronos_accel_plan_for_host (ChronosAccelMode    mode,
                                     ChronosFirmwareMode firmware,
                                     char              **note,
                                     GError            **error);

G_END_DECLS
