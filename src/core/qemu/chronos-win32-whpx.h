/* chronos-win32-whpx.h: ask Windows whether QEMU's WHPX accelerator can work
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Plain C, Windows only, no GLib: chronos-accel-whpx.c turns the facts into
 * a sentence through chronos_win32_whpx_interpret().
 */

#pragma once

#include "chronos-win32-common.h"

#ifdef __cplusplus
extern "C"
{
#endif

  /* Fills @facts: loads WinHvPlatform.dll from System32 only, asks
   * WHvGetCapability(WHvCapabilityCodeHypervisorPresent), and when a
   * hypervisor is present creates and deletes one empty partition (what QEMU
   * does first; it needs no administrator rights). Reads CPUID and
   * IsProcessorFeaturePresent(PF_VIRT_FIRMWARE_ENABLED) for the hint. No
   * registry, no DISM, no subprocess; takes a few milliseconds. */
  void chronos_win32_whpx_probe (ChronosWin32WhpxFacts *facts);

#ifdef __cplusplus
}
#endif
