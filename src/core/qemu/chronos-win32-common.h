/* chronos-win32-common.h: the pure decisions behind the Windows platform files
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Plain C without GLib and without <windows.h>: it compiles on every host,
 * so its decisions are unit-tested on Linux. The chronos-win32-*.c files
 * gather facts from Win32 and hand them to these functions; the sentences a
 * person reads are made by chronos-host-windows.c, which has gettext.
 */

#pragma once

#include <stddef.h>

#ifdef __cplusplus
extern "C"
{
#endif

/* Win32 error codes the decisions look at (winerror.h values; the Windows
 * files check at compile time that they match). */
#define CHRONOS_WIN32_ERROR_FILE_NOT_FOUND 2UL
#define CHRONOS_WIN32_ERROR_PATH_NOT_FOUND 3UL
#define CHRONOS_WIN32_ERROR_ACCESS_DENIED 5UL
#define CHRONOS_WIN32_ERROR_SHARING_VIOLATION 32UL
#define CHRONOS_WIN32_ERROR_LOCK_VIOLATION 33UL
#define CHRONOS_WIN32_ERROR_MOD_NOT_FOUND 126UL
#define CHRONOS_WIN32_ERROR_PROC_NOT_FOUND 127UL

  /* ---- WHPX ------------------------------------------------------------ */

  /* What chronos_win32_whpx_probe() found out. Every field is a plain fact;
   * chronos_win32_whpx_interpret() draws the conclusion. */
  typedef struct
  {
    int           dll_loaded;                /* WinHvPlatform.dll loaded from System32 */
    unsigned long load_error;                /* GetLastError() when it did not */
    int           has_entry_points;          /* WHvGetCapability, WHvCreatePartition, WHvDeletePartition */
    int           capability_ok;             /* WHvGetCapability(HypervisorPresent) succeeded */
    long          capability_hresult;        /* its HRESULT */
    int           hypervisor_present;        /* its answer */
    int           partition_tried;           /* WHvCreatePartition was called */
    long          partition_hresult;         /* its HRESULT (S_OK = 0 when it worked) */
    int           cpu_hypervisor_bit;        /* CPUID.1:ECX[31]: Windows itself runs on a hypervisor */
    char          cpu_hypervisor_vendor[13]; /* CPUID 0x40000000, e.g. "Microsoft Hv"; "" */
    int           cpu_hv_create_partitions;  /* CPUID 0x40000003 EBX[0] under "Microsoft Hv": the
                                              * root partition (this Windows is the host) */
    int firmware_virtualization;             /* PF_VIRT_FIRMWARE_ENABLED: 1, 0, or -1 unknown */
  } ChronosWin32WhpxFacts;

  typedef enum
  {
    CHRONOS_WIN32_WHPX_USABLE,
    /* WinHvPlatform.dll is missing: the "Windows Hypervisor Platform"
     * optional feature is off (the DLL ships with the feature). */
    CHRONOS_WIN32_WHPX_FEATURE_OFF,
    /* The DLL exists but could not be loaded for another reason. */
    CHRONOS_WIN32_WHPX_LOAD_FAILED,
    /* The DLL lacks the functions QEMU needs: Windows older than 1803. */
    CHRONOS_WIN32_WHPX_TOO_OLD,
    /* WHvGetCapability itself failed (the HRESULT is in the facts). */
    CHRONOS_WIN32_WHPX_QUERY_FAILED,
    /* No hypervisor runs and the firmware has virtualization switched off. */
    CHRONOS_WIN32_WHPX_FIRMWARE_OFF,
    /* Windows runs inside someone else's VM (not on the Microsoft
     * hypervisor) that does not pass virtualization through. */
    CHRONOS_WIN32_WHPX_NESTED,
    /* The feature is installed and the firmware allows it, but the Windows
     * hypervisor is not running: a restart after turning the feature on is
     * pending, or the boot configuration (hypervisorlaunchtype) keeps it off. */
    CHRONOS_WIN32_WHPX_NOT_RUNNING,
    /* The hypervisor runs but refused to create a partition. */
    CHRONOS_WIN32_WHPX_PARTITION_FAILED,
  } ChronosWin32WhpxVerdict;

  /* The conclusion from @facts, first failing step first. */
  ChronosWin32WhpxVerdict chronos_win32_whpx_interpret (const ChronosWin32WhpxFacts *facts);

  /* ---- other hypervisors --------------------------------------------------- */

  /* Bits of chronos_win32_hypervisors_running() and of
   * chronos_win32_hypervisor_from_process_name(). */
  typedef enum
  {
    CHRONOS_WIN32_HYPERVISOR_NONE = 0,
    CHRONOS_WIN32_HYPERVISOR_VIRTUALBOX = 1 << 0,
    CHRONOS_WIN32_HYPERVISOR_VMWARE = 1 << 1,
  } ChronosWin32Hypervisor;

  /* Which product a process belongs to, from its executable name as
   * Process32NextW reports it ("VBoxSVC.exe"); a full path is accepted too.
   * Case-insensitive. Only the processes that hold or serve running VMs count:
   * VBoxSVC.exe, VirtualBoxVM.exe, VBoxHeadless.exe (VirtualBox) and
   * vmware-vmx.exe (VMware Workstation and Player). */
  ChronosWin32Hypervisor chronos_win32_hypervisor_from_process_name (const char *name);

  /* ---- sharing --------------------------------------------------------- */

  typedef enum
  {
    CHRONOS_WIN32_OPEN_OK,
    /* Another holder has the file open for writing, or without read sharing:
     * Windows attached (mounted) the image, or another program uses it. */
    CHRONOS_WIN32_OPEN_IN_USE,
    CHRONOS_WIN32_OPEN_ACCESS_DENIED,
    CHRONOS_WIN32_OPEN_NOT_FOUND,
    CHRONOS_WIN32_OPEN_OTHER,
  } ChronosWin32OpenResult;

  /* Classifies the GetLastError() of CreateFileW (0 = it opened). */
  ChronosWin32OpenResult chronos_win32_classify_open_error (unsigned long win32_error);

  /* ---- paths ------------------------------------------------------------- */

  /* Writes the extended-length form of the UTF-8 @path to @out (@out_size
   * bytes including the NUL), so that CreateFileW accepts backups deeper than
   * MAX_PATH (260) on a NAS: "C:\x" -> "\\?\C:\x", "\\srv\share\x" ->
   * "\\?\UNC\srv\share\x"; slashes become backslashes. Paths that are
   * already "\\?\" or "\\.\", relative ones, and ones with "." or ".."
   * components (which "\\?\" would not resolve) are copied with only the
   * slashes turned. Returns the length written, or 0 when @out is too small
   * or @path is empty. */
  size_t chronos_win32_path_to_extended (const char *path,
                                         char       *out,
                                         size_t      out_size);

#ifdef __cplusplus
}
#endif
