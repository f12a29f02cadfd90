/* chronos-win32-whpx.c: ask Windows whether QEMU's WHPX accelerator can work
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Why these facts and not the optional feature's own state: the state lives
 * in the component store (DISM, WMI Win32_OptionalFeature), which is slow to
 * ask, and DISM needs administrator rights. WinHvPlatform.dll, however,
 * ships with the "Windows Hypervisor Platform" feature and is absent without
 * it (loading it fails with ERROR_MOD_NOT_FOUND), so a failed load is the
 * feature being off. When the DLL loads but reports no hypervisor, CPUID and
 * PF_VIRT_FIRMWARE_ENABLED tell the remaining cases apart: Windows running
 * inside another VM, virtualization off in the firmware, or a restart still
 * pending.
 *
 * The DLL is loaded at run time, never linked: Chronos must start (and fall
 * back to TCG) where it does not exist.
 */

#include "chronos-win32-whpx.h"

#include <string.h>

#include <windows.h>
#include <cpuid.h>

_Static_assert(CHRONOS_WIN32_ERROR_MOD_NOT_FOUND == ERROR_MOD_NOT_FOUND, "winerror.h");
_Static_assert(CHRONOS_WIN32_ERROR_FILE_NOT_FOUND == ERROR_FILE_NOT_FOUND, "winerror.h");
_Static_assert(CHRONOS_WIN32_ERROR_PATH_NOT_FOUND == ERROR_PATH_NOT_FOUND, "winerror.h");

/* From WinHvPlatformDefs.h (MinGW has it, but not every SDK does): only what
 * is used here. WHvCapabilityCodeHypervisorPresent answers a BOOL. */
#define CHRONOS_WHV_CAPABILITY_CODE_HYPERVISOR_PRESENT 0x00000000

#ifndef PF_VIRT_FIRMWARE_ENABLED
#define PF_VIRT_FIRMWARE_ENABLED 21
#endif

typedef void *ChronosWhvPartitionHandle;

typedef HRESULT (WINAPI *WHvGetCapabilityFunc) (UINT32  capability_code,
                                                VOID   *capability_buffer,
                                                UINT32  capability_buffer_size,
                                                UINT32 *written_size);
typedef HRESULT (WINAPI *WHvCreatePartitionFunc) (ChronosWhvPartitionHandle *partition);
typedef HRESULT (WINAPI *WHvDeletePartitionFunc) (ChronosWhvPartitionHandle partition);

static void
read_cpuid (ChronosWin32WhpxFacts *facts)
{
  unsigned int eax = 0, ebx = 0, ecx = 0, edx = 0;

  if (!__get_cpuid (1, &eax, &ebx, &ecx, &edx))
    return;
  facts->cpu_hypervisor_bit = (ecx >> 31) & 1;
  if (!facts->cpu_hypervisor_bit)
    return;

  /* The hypervisor leaves are not covered by __get_cpuid's range check. */
  __cpuid (0x40000000, eax, ebx, ecx, edx);
  memcpy (facts->cpu_hypervisor_vendor + 0, &ebx, 4);
  memcpy (facts->cpu_hypervisor_vendor + 4, &ecx, 4);
  memcpy (facts->cpu_hypervisor_vendor + 8, &edx, 4);
  facts->cpu_hypervisor_vendor[12] = '\0';

  if (strcmp (facts->cpu_hypervisor_vendor, "Microsoft Hv") == 0 && eax >= 0x40000003)
    {
      /* Hyper-V TLFS: leaf 0x40000003 EBX bit 0 is CreatePartitions, a
       * privilege only the root partition has. */
      __cpuid (0x40000003, eax, ebx, ecx, edx);
      facts->cpu_hv_create_partitions = ebx & 1;
    }
}

void
chronos_win32_whpx_probe (ChronosWin32WhpxFacts *facts)
{
  HMODULE                   module;
  WHvGetCapabilityFunc      get_capability;
  WHvCreatePartitionFunc    create_partition;
  WHvDeletePartitionFunc    delete_partition;
  BOOL                      present = FALSE;
  UINT32                    written = 0;
  HRESULT                   hr;
  ChronosWhvPartitionHandle partition = NULL;

  memset (facts, 0, sizeof *facts);
  facts->firmware_virtualization = -1;

  read_cpuid (facts);
  facts->firmware_virtualization = IsProcessorFeaturePresent (PF_VIRT_FIRMWARE_ENABLED) ? 1 : 0;

  /* Only from System32: never a DLL planted next to the executable or in
   * the current directory. */
  module = LoadLibraryExW (L"WinHvPlatform.dll", NULL, LOAD_LIBRARY_SEARCH_SYSTEM32);
  if (module == NULL)
    {
      facts->load_error = GetLastError ();
      return;
    }
  facts->dll_loaded = 1;

  get_capability = (WHvGetCapabilityFunc)(void (*) (void))GetProcAddress (module, "WHvGetCapability");
  create_partition = (WHvCreatePartitionFunc)(void (*) (void))GetProcAddress (module, "WHvCreatePartition");
  delete_partition = (WHvDeletePartitionFunc)(void (*) (void))GetProcAddress (module, "WHvDeletePartition");
  if (get_capability == NULL || create_partition == NULL || delete_partition == NULL)
    {
      FreeLibrary (module);
      return;
    }
  facts->has_entry_points = 1;

  hr = get_capability (CHRONOS_WHV_CAPABILITY_CODE_HYPERVISOR_PRESENT,
                       &present, sizeof present, &written);
  facts->capability_hresult = (long)hr;
  facts->capability_ok = SUCCEEDED (hr);
  facts->hypervisor_present = SUCCEEDED (hr) && present;

  if (facts->hypervisor_present)
    {
      /* An empty partition costs nothing until WHvSetupPartition; creating
       * one is the first thing QEMU's WHPX does, and fails where QEMU's
       * would (e.g. a hypervisor run for Device Guard only). */
      facts->partition_tried = 1;
      hr = create_partition (&partition);
      facts->partition_hresult = (long)hr;
      if (SUCCEEDED (hr))
        delete_partition (partition);
    }

  FreeLibrary (module);
}
