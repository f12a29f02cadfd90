/* chronos-host-windows.c: what Windows says about this host and an image, in sentences
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>

#include "chronos-host-windows.h"
#include "chronos-qemu-error.h"

#ifdef G_OS_WIN32
#include "chronos-win32-hypervisors.h"
#include "chronos-win32-sharing.h"
#endif

/* A product name for the CPUID hypervisor vendor of the VM Windows runs in. */
static const char *
hypervisor_vendor_name (const char *vendor)
{
  static const struct
  {
    const char *vendor;
    const char *name;
  } known[] = {
    { "Microsoft Hv", "Hyper-V" },
    { "VMwareVMware", "VMware" },
    { "VBoxVBoxVBox", "VirtualBox" },
    { "KVMKVMKVM", "KVM" },
    { "TCGTCGTCGTCG", "QEMU" },
    { "XenVMMXenVMM", "Xen" },
    { "prl hyperv  ", "Parallels" },
  };
  gsize i;

  for (i = 0; i < G_N_ELEMENTS (known); i++)
    if (strcmp (vendor, known[i].vendor) == 0)
      return known[i].name;
  return NULL;
}

char *
chronos_host_windows_whpx_reason (const ChronosWin32WhpxFacts *facts)
{
  const char *product;

  g_return_val_if_fail (facts != NULL, NULL);

  switch (chronos_win32_whpx_interpret (facts))
    {
    case CHRONOS_WIN32_WHPX_USABLE:
      return NULL;

    case CHRONOS_WIN32_WHPX_FEATURE_OFF:
      return g_strdup (_ ("The Windows Hypervisor Platform is turned off: turn on “Windows "
                          "Hypervisor Platform” in Windows Features (optionalfeatures.exe) and "
                          "restart Windows."));

    case CHRONOS_WIN32_WHPX_LOAD_FAILED:
      return g_strdup_printf (_ ("WinHvPlatform.dll cannot be loaded (Windows error %lu): turn "
                                 "“Windows Hypervisor Platform” off and on again in Windows "
                                 "Features and restart Windows."),
                              facts->load_error);

    case CHRONOS_WIN32_WHPX_TOO_OLD:
      return g_strdup (_ ("This Windows is too old for the Windows Hypervisor Platform: "
                          "Windows 10 version 1803 or later is needed."));

    case CHRONOS_WIN32_WHPX_QUERY_FAILED:
      return g_strdup_printf (_ ("The Windows Hypervisor Platform does not answer "
                                 "(error 0x%08lx): restart Windows."),
                              (unsigned long)facts->capability_hresult & 0xffffffffUL);

    case CHRONOS_WIN32_WHPX_FIRMWARE_OFF:
      return g_strdup (_ ("Virtualization is switched off in this computer’s firmware: turn on "
                          "Intel VT-x or AMD-V (SVM) in the firmware settings, then start "
                          "Windows again."));

    case CHRONOS_WIN32_WHPX_NESTED:
      product = hypervisor_vendor_name (facts->cpu_hypervisor_vendor);
      if (product != NULL)
        return g_strdup_printf (_ ("This Windows runs in a %s virtual machine that does not pass "
                                   "virtualization on: turn on nested virtualization for it "
                                   "on its host."),
                                product);
      return g_strdup (_ ("This Windows runs in a virtual machine that does not pass "
                          "virtualization on: turn on nested virtualization for it on its "
                          "host."));

    case CHRONOS_WIN32_WHPX_NOT_RUNNING:
      return g_strdup (_ ("The Windows hypervisor is not running: restart Windows after turning "
                          "on “Windows Hypervisor Platform”. If it is on and Windows has "
                          "restarted since, run “bcdedit /set hypervisorlaunchtype auto” as "
                          "administrator and restart."));

    case CHRONOS_WIN32_WHPX_PARTITION_FAILED:
    default:
      return g_strdup_printf (_ ("The Windows hypervisor refused to create a virtual machine "
                                 "(error 0x%08lx): restart Windows; if that does not help, turn "
                                 "“Windows Hypervisor Platform” off and on again."),
                              (unsigned long)facts->partition_hresult & 0xffffffffUL);
    }
}

char *
chronos_host_windows_hypervisors_warning_for (unsigned int running)
{
  gboolean virtualbox = (running & CHRONOS_WIN32_HYPERVISOR_VIRTUALBOX) != 0;
  gboolean vmware = (running & CHRONOS_WIN32_HYPERVISOR_VMWARE) != 0;

  if (virtualbox && vmware)
    return g_strdup (_ ("VirtualBox and VMware are running: with the Windows Hypervisor "
                        "Platform on, their virtual machines run slower, and so may "
                        "Chronos’s."));
  if (virtualbox)
    return g_strdup (_ ("VirtualBox is running: with the Windows Hypervisor Platform on, its "
                        "virtual machines run slower, and so may Chronos’s."));
  if (vmware)
    return g_strdup (_ ("VMware is running: with the Windows Hypervisor Platform on, its "
                        "virtual machines run slower, and so may Chronos’s."));
  return NULL;
}

char *
chronos_host_windows_hypervisors_warning (void)
{
#ifdef G_OS_WIN32
  unsigned long error = 0;
  unsigned int  running = chronos_win32_hypervisors_running (&error);

  if (error != 0)
    g_debug ("Could not list processes (Windows error %lu)", error);
  return chronos_host_windows_hypervisors_warning_for (running);
#else
  return NULL;
#endif
}

gboolean
chronos_host_windows_check_open_error (const char   *path,
                                       unsigned long win32_error,
                                       GError      **error)
{
  g_autofree char *name = NULL;

  g_return_val_if_fail (path != NULL, FALSE);

  if (win32_error == 0)
    return TRUE;

  name = g_filename_display_name (path);
  switch (chronos_win32_classify_open_error (win32_error))
    {
    case CHRONOS_WIN32_OPEN_OK:
      return TRUE;

    case CHRONOS_WIN32_OPEN_IN_USE:
      g_set_error (error, CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_IMAGE_IN_USE,
                   _ ("Windows has the backup “%s” mounted or another program is using it: "
                      "eject it in File Explorer (right-click the drive, Eject) or close that "
                      "program first."),
                   name);
      return FALSE;

    case CHRONOS_WIN32_OPEN_NOT_FOUND:
      g_set_error (error, CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_IMAGE_NOT_FOUND,
                   _ ("The backup “%s” does not exist."), name);
      return FALSE;

    case CHRONOS_WIN32_OPEN_ACCESS_DENIED:
      g_set_error (error, CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_FAILED,
                   _ ("Windows does not let you read the backup “%s”: check its permissions "
                      "in its Properties, Security tab."),
                   name);
      return FALSE;

    case CHRONOS_WIN32_OPEN_OTHER:
    default:
      g_set_error (error, CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_FAILED,
                   _ ("Windows cannot open the backup “%s” (Windows error %lu)."),
                   name, win32_error);
      return FALSE;
    }
}

gboolean
chronos_host_windows_check_image_free (const char *path,
                                       GError    **error)
{
  g_return_val_if_fail (path != NULL, FALSE);

#ifdef G_OS_WIN32
  return chronos_host_windows_check_open_error (path, chronos_win32_sharing_try_open (path), error);
#else
  return TRUE;
#endif
}
