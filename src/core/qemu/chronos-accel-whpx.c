/* chronos-accel-whpx.c: is the Windows Hypervisor Platform usable (Windows only)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The GLib face of chronos-win32-whpx.c for chronos-accel.c: the facts come
 * from Win32 there, the conclusion from chronos_win32_whpx_interpret() and
 * the sentence from chronos-host-windows.c. The vmms service (the Hyper-V
 * role) says nothing about WHPX, so it is not asked.
 */

#include "config.h"

#include <glib.h>

#include "chronos-host-windows.h"
#include "chronos-win32-whpx.h"

/* Declared in chronos-accel.c, which calls it on Windows only. */
gboolean chronos_accel_whpx_probe (char **reason);

gboolean
chronos_accel_whpx_probe (char **reason)
{
  ChronosWin32WhpxFacts facts;
  g_autofree char      *why = NULL;

  chronos_win32_whpx_probe (&facts);
  why = chronos_host_windows_whpx_reason (&facts);
  if (why == NULL)
    return TRUE;

  g_debug ("WHPX unusable: dll %d (error %lu), entry points %d, capability %d (0x%08lx), "
           "hypervisor %d, partition %d (0x%08lx), cpuid bit %d vendor \"%s\" root %d, "
           "firmware %d",
           facts.dll_loaded, facts.load_error, facts.has_entry_points, facts.capability_ok,
           (unsigned long)facts.capability_hresult & 0xffffffffUL, facts.hypervisor_present,
           facts.partition_tried, (unsigned long)facts.partition_hresult & 0xffffffffUL,
           facts.cpu_hypervisor_bit, facts.cpu_hypervisor_vendor,
           facts.cpu_hv_create_partitions, facts.firmware_virtualization);
  if (reason != NULL)
    *reason = g_steal_pointer (&why);
  return FALSE;
}
