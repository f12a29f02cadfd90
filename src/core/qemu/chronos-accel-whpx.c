/* chronos-accel-whpx.c: is the Windows Hypervisor Platform usable (Windows only)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * WinHvPlatform.dll exists only when the "Windows Hypervisor Platform"
 * optional feature is on, so it is loaded at run time rather than linked:
 * Chronos must start (and fall back to TCG) on hosts without it. The vmms
 * service (the Hyper-V role) says nothing about WHPX.
 */

#include "config.h"

#include <windows.h>

#include <glib/gi18n-lib.h>

/* From WinHvPlatformDefs.h, which MinGW has but not every SDK in CI: only
 * the capability Chronos asks for. */
#define CHRONOS_WHV_CAPABILITY_CODE_HYPERVISOR_PRESENT 0x00000000

typedef HRESULT (WINAPI *WHvGetCapabilityFunc) (UINT32  capability_code,
                                                VOID   *capability_buffer,
                                                UINT32  capability_buffer_size,
                                                UINT32 *written_size);

gboolean chronos_accel_whpx_probe (char **reason);

gboolean
chronos_accel_whpx_probe (char **reason)
{
  HMODULE              module;
  WHvGetCapabilityFunc get_capability;
  BOOL                 present = FALSE;
  UINT32               written = 0;
  HRESULT              hr;

  /* Only from System32: never a DLL planted next to the executable. */
  module = LoadLibraryExW (L"WinHvPlatform.dll", NULL, LOAD_LIBRARY_SEARCH_SYSTEM32);
  if (module == NULL)
    {
      if (reason != NULL)
        *reason = g_strdup (_ ("The Windows Hypervisor Platform is not enabled: turn on "
                               "“Windows Hypervisor Platform” in Windows Features and restart."));
      return FALSE;
    }

  get_capability = (WHvGetCapabilityFunc)GetProcAddress (module, "WHvGetCapability");
  if (get_capability == NULL)
    {
      FreeLibrary (module);
      if (reason != NULL)
        *reason = g_strdup (_ ("WinHvPlatform.dll has no WHvGetCapability: this Windows is too old "
                               "for the Windows Hypervisor Platform."));
      return FALSE;
    }

  hr = get_capability (CHRONOS_WHV_CAPABILITY_CODE_HYPERVISOR_PRESENT,
                       &present, sizeof present, &written);
  FreeLibrary (module);

  if (FAILED (hr))
    {
      if (reason != NULL)
        *reason = g_strdup_printf (_ ("The Windows Hypervisor Platform does not answer (error 0x%08lx)."),
                                   (unsigned long)hr);
      return FALSE;
    }
  if (!present)
    {
      if (reason != NULL)
        *reason = g_strdup (_ ("No hypervisor is running: enable virtualization (VT-x or AMD-V) in the "
                               "firmware settings and turn on “Windows Hypervisor Platform”."));
      return FALSE;
    }
  return TRUE;
}
