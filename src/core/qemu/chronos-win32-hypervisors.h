/* chronos-win32-hypervisors.h: is VirtualBox or VMware running right now
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Plain C, Windows only, no GLib. With the Windows Hypervisor Platform on,
 * VirtualBox and VMware run their VMs on top of it, slower, and compete
 * with QEMU for it. Chronos warns; it never refuses to start a VM.
 */

#pragma once

#include "chronos-win32-common.h"

#ifdef __cplusplus
extern "C"
{
#endif

  /* The ChronosWin32Hypervisor bits of the products with a VM process running
   * (CreateToolhelp32Snapshot, no rights needed). Returns 0 when none; when
   * the snapshot fails returns 0 and sets *@win32_error (optional) to the
   * Win32 error, else to 0. */
  unsigned int chronos_win32_hypervisors_running (unsigned long *win32_error);

#ifdef __cplusplus
}
#endif
