/* test-win32-common.c: the pure decisions and sentences of the Windows platform files
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Runs on Linux: chronos-win32-common.c and chronos-host-windows.c are
 * plain decisions over facts, whatever host gathered them.
 */

#include "config.h"

#include <string.h>

#include <glib.h>

#include "chronos-host-windows.h"
#include "chronos-qemu-error.h"
#include "chronos-win32-common.h"

/* The facts of a host where everything works: DLL, hypervisor, partition. */
static ChronosWin32WhpxFacts
usable_facts (void)
{
  ChronosWin32WhpxFacts facts;

  memset (&facts, 0, sizeof facts);
  facts.dll_loaded = 1;
  facts.has_entry_points = 1;
  facts.capability_ok = 1;
  facts.hypervisor_present = 1;
  facts.partition_tried = 1;
  facts.partition_hresult = 0;
  facts.cpu_hypervisor_bit = 1;
  strcpy (facts.cpu_hypervisor_vendor, "Microsoft Hv");
  facts.cpu_hv_create_partitions = 1;
  facts.firmware_virtualization = 0; /* meaningless under a hypervisor */
  return facts;
}

/* The facts of a host without the hypervisor running. */
static ChronosWin32WhpxFacts
no_hypervisor_facts (void)
{
  ChronosWin32WhpxFacts facts = usable_facts ();

  facts.hypervisor_present = 0;
  facts.partition_tried = 0;
  facts.cpu_hypervisor_bit = 0;
  facts.cpu_hypervisor_vendor[0] = '\0';
  facts.cpu_hv_create_partitions = 0;
  facts.firmware_virtualization = 1;
  return facts;
}

static void
test_whpx_interpret (void)
{
  ChronosWin32WhpxFacts facts;

  facts = usable_facts ();
  g_assert_cmpint (chronos_win32_whpx_interpret (&facts), ==, CHRONOS_WIN32_WHPX_USABLE);
  /* S_FALSE is a success HRESULT. */
  facts.partition_hresult = 1;
  g_assert_cmpint (chronos_win32_whpx_interpret (&facts), ==, CHRONOS_WIN32_WHPX_USABLE);
  /* E_ACCESSDENIED, as a 32-bit HRESULT in a long. */
  facts.partition_hresult = (long)(gint32)0x80070005u;
  g_assert_cmpint (chronos_win32_whpx_interpret (&facts), ==, CHRONOS_WIN32_WHPX_PARTITION_FAILED);

  /* No DLL: the feature is off; the load error decides. */
  facts = usable_facts ();
  facts.dll_loaded = 0;
  facts.load_error = CHRONOS_WIN32_ERROR_MOD_NOT_FOUND;
  g_assert_cmpint (chronos_win32_whpx_interpret (&facts), ==, CHRONOS_WIN32_WHPX_FEATURE_OFF);
  facts.load_error = CHRONOS_WIN32_ERROR_FILE_NOT_FOUND;
  g_assert_cmpint (chronos_win32_whpx_interpret (&facts), ==, CHRONOS_WIN32_WHPX_FEATURE_OFF);
  facts.load_error = 193; /* ERROR_BAD_EXE_FORMAT: a damaged DLL */
  g_assert_cmpint (chronos_win32_whpx_interpret (&facts), ==, CHRONOS_WIN32_WHPX_LOAD_FAILED);

  facts = usable_facts ();
  facts.has_entry_points = 0;
  g_assert_cmpint (chronos_win32_whpx_interpret (&facts), ==, CHRONOS_WIN32_WHPX_TOO_OLD);

  facts = usable_facts ();
  facts.capability_ok = 0;
  facts.capability_hresult = (long)(gint32)0x80004005u;
  g_assert_cmpint (chronos_win32_whpx_interpret (&facts), ==, CHRONOS_WIN32_WHPX_QUERY_FAILED);

  /* No hypervisor on bare metal: firmware decides between the two hints. */
  facts = no_hypervisor_facts ();
  g_assert_cmpint (chronos_win32_whpx_interpret (&facts), ==, CHRONOS_WIN32_WHPX_NOT_RUNNING);
  facts.firmware_virtualization = 0;
  g_assert_cmpint (chronos_win32_whpx_interpret (&facts), ==, CHRONOS_WIN32_WHPX_FIRMWARE_OFF);
  facts.firmware_virtualization = -1; /* unknown: do not blame the firmware */
  g_assert_cmpint (chronos_win32_whpx_interpret (&facts), ==, CHRONOS_WIN32_WHPX_NOT_RUNNING);

  /* Windows as a guest of another hypervisor: firmware says nothing. */
  facts = no_hypervisor_facts ();
  facts.cpu_hypervisor_bit = 1;
  facts.firmware_virtualization = 0;
  strcpy (facts.cpu_hypervisor_vendor, "VMwareVMware");
  g_assert_cmpint (chronos_win32_whpx_interpret (&facts), ==, CHRONOS_WIN32_WHPX_NESTED);
  /* A Hyper-V guest lacks CreatePartitions... */
  strcpy (facts.cpu_hypervisor_vendor, "Microsoft Hv");
  facts.cpu_hv_create_partitions = 0;
  g_assert_cmpint (chronos_win32_whpx_interpret (&facts), ==, CHRONOS_WIN32_WHPX_NESTED);
  /* ...the root partition has it: the hypervisor runs for something else
   * (e.g. memory integrity) and WHP is not yet live. */
  facts.cpu_hv_create_partitions = 1;
  g_assert_cmpint (chronos_win32_whpx_interpret (&facts), ==, CHRONOS_WIN32_WHPX_NOT_RUNNING);
}

static void
test_whpx_reason (void)
{
  ChronosWin32WhpxFacts facts;
  g_autofree char      *feature_off = NULL;
  g_autofree char      *firmware = NULL;
  g_autofree char      *nested_vbox = NULL;
  g_autofree char      *nested_unknown = NULL;
  g_autofree char      *query = NULL;
  g_autofree char      *partition = NULL;
  g_autofree char      *load = NULL;
  g_autofree char      *old = NULL;
  g_autofree char      *not_running = NULL;

  facts = usable_facts ();
  g_assert_null (chronos_host_windows_whpx_reason (&facts));

  facts.dll_loaded = 0;
  facts.load_error = CHRONOS_WIN32_ERROR_MOD_NOT_FOUND;
  feature_off = chronos_host_windows_whpx_reason (&facts);
  g_assert_nonnull (strstr (feature_off, "turn on “Windows Hypervisor Platform”"));
  g_assert_nonnull (strstr (feature_off, "restart Windows"));

  facts.load_error = 193;
  load = chronos_host_windows_whpx_reason (&facts);
  g_assert_nonnull (strstr (load, "Windows error 193"));

  facts = usable_facts ();
  facts.has_entry_points = 0;
  old = chronos_host_windows_whpx_reason (&facts);
  g_assert_nonnull (strstr (old, "1803"));

  facts = usable_facts ();
  facts.capability_ok = 0;
  facts.capability_hresult = (long)(gint32)0x80004005u;
  query = chronos_host_windows_whpx_reason (&facts);
  g_assert_nonnull (strstr (query, "0x80004005"));

  facts = usable_facts ();
  facts.partition_hresult = (long)(gint32)0x80070005u;
  partition = chronos_host_windows_whpx_reason (&facts);
  g_assert_nonnull (strstr (partition, "0x80070005"));

  facts = no_hypervisor_facts ();
  not_running = chronos_host_windows_whpx_reason (&facts);
  g_assert_nonnull (strstr (not_running, "hypervisorlaunchtype"));
  facts.firmware_virtualization = 0;
  firmware = chronos_host_windows_whpx_reason (&facts);
  g_assert_nonnull (strstr (firmware, "firmware"));
  g_assert_nonnull (strstr (firmware, "VT-x"));

  facts.cpu_hypervisor_bit = 1;
  strcpy (facts.cpu_hypervisor_vendor, "VBoxVBoxVBox");
  nested_vbox = chronos_host_windows_whpx_reason (&facts);
  g_assert_nonnull (strstr (nested_vbox, "VirtualBox virtual machine"));
  g_assert_nonnull (strstr (nested_vbox, "nested virtualization"));
  strcpy (facts.cpu_hypervisor_vendor, "SomethingNew");
  nested_unknown = chronos_host_windows_whpx_reason (&facts);
  g_assert_nonnull (strstr (nested_unknown, "runs in a virtual machine"));
}

static void
test_process_names (void)
{
  g_assert_cmpint (chronos_win32_hypervisor_from_process_name ("VBoxSVC.exe"), ==, CHRONOS_WIN32_HYPERVISOR_VIRTUALBOX);
  g_assert_cmpint (chronos_win32_hypervisor_from_process_name ("vboxsvc.EXE"), ==, CHRONOS_WIN32_HYPERVISOR_VIRTUALBOX);
  g_assert_cmpint (chronos_win32_hypervisor_from_process_name ("VirtualBoxVM.exe"), ==, CHRONOS_WIN32_HYPERVISOR_VIRTUALBOX);
  g_assert_cmpint (chronos_win32_hypervisor_from_process_name ("VBoxHeadless.exe"), ==, CHRONOS_WIN32_HYPERVISOR_VIRTUALBOX);
  g_assert_cmpint (chronos_win32_hypervisor_from_process_name ("C:\\Program Files\\Oracle\\VirtualBox\\VBoxSVC.exe"), ==,
                   CHRONOS_WIN32_HYPERVISOR_VIRTUALBOX);
  g_assert_cmpint (chronos_win32_hypervisor_from_process_name ("vmware-vmx.exe"), ==, CHRONOS_WIN32_HYPERVISOR_VMWARE);
  g_assert_cmpint (chronos_win32_hypervisor_from_process_name ("C:/VMware/x64/VMWARE-VMX.EXE"), ==, CHRONOS_WIN32_HYPERVISOR_VMWARE);

  /* Managers without VMs, look-alikes and fragments do not count. */
  g_assert_cmpint (chronos_win32_hypervisor_from_process_name ("VirtualBox.exe"), ==, CHRONOS_WIN32_HYPERVISOR_NONE);
  g_assert_cmpint (chronos_win32_hypervisor_from_process_name ("vmware.exe"), ==, CHRONOS_WIN32_HYPERVISOR_NONE);
  g_assert_cmpint (chronos_win32_hypervisor_from_process_name ("vmware-vmx.exe.bak"), ==, CHRONOS_WIN32_HYPERVISOR_NONE);
  g_assert_cmpint (chronos_win32_hypervisor_from_process_name ("VBoxSVC"), ==, CHRONOS_WIN32_HYPERVISOR_NONE);
  g_assert_cmpint (chronos_win32_hypervisor_from_process_name ("xVBoxSVC.exe"), ==, CHRONOS_WIN32_HYPERVISOR_NONE);
  g_assert_cmpint (chronos_win32_hypervisor_from_process_name ("VBoxSVC.exe\\"), ==, CHRONOS_WIN32_HYPERVISOR_NONE);
  g_assert_cmpint (chronos_win32_hypervisor_from_process_name (""), ==, CHRONOS_WIN32_HYPERVISOR_NONE);
  g_assert_cmpint (chronos_win32_hypervisor_from_process_name (NULL), ==, CHRONOS_WIN32_HYPERVISOR_NONE);
  g_assert_cmpint (chronos_win32_hypervisor_from_process_name ("qemu-system-x86_64.exe"), ==, CHRONOS_WIN32_HYPERVISOR_NONE);
}

static void
test_hypervisors_warning (void)
{
  g_autofree char *vbox = chronos_host_windows_hypervisors_warning_for (CHRONOS_WIN32_HYPERVISOR_VIRTUALBOX);
  g_autofree char *vmware = chronos_host_windows_hypervisors_warning_for (CHRONOS_WIN32_HYPERVISOR_VMWARE);
  g_autofree char *both = chronos_host_windows_hypervisors_warning_for (CHRONOS_WIN32_HYPERVISOR_VIRTUALBOX |
                                                                        CHRONOS_WIN32_HYPERVISOR_VMWARE);

  g_assert_null (chronos_host_windows_hypervisors_warning_for (0));
  g_assert_cmpstr (vbox, ==, "VirtualBox is running: with the Windows Hypervisor Platform on, its "
                             "virtual machines run slower, and so may Chronos’s.");
  g_assert_true (g_str_has_prefix (vmware, "VMware is running:"));
  g_assert_true (g_str_has_prefix (both, "VirtualBox and VMware are running:"));
  g_assert_nonnull (strstr (both, "their virtual machines"));
  /* Not Windows: nothing to look at, never a warning. */
  g_assert_null (chronos_host_windows_hypervisors_warning ());
}

static void
test_open_errors (void)
{
  g_autoptr (GError) in_use = NULL;
  g_autoptr (GError) lock = NULL;
  g_autoptr (GError) missing = NULL;
  g_autoptr (GError) denied = NULL;
  g_autoptr (GError) other = NULL;
  const char *path = "D:\\Backups\\WindowsImageBackup\\PC\\disk.vhdx";

  g_assert_cmpint (chronos_win32_classify_open_error (0), ==, CHRONOS_WIN32_OPEN_OK);
  g_assert_cmpint (chronos_win32_classify_open_error (32), ==, CHRONOS_WIN32_OPEN_IN_USE);
  g_assert_cmpint (chronos_win32_classify_open_error (33), ==, CHRONOS_WIN32_OPEN_IN_USE);
  g_assert_cmpint (chronos_win32_classify_open_error (5), ==, CHRONOS_WIN32_OPEN_ACCESS_DENIED);
  g_assert_cmpint (chronos_win32_classify_open_error (2), ==, CHRONOS_WIN32_OPEN_NOT_FOUND);
  g_assert_cmpint (chronos_win32_classify_open_error (3), ==, CHRONOS_WIN32_OPEN_NOT_FOUND);
  g_assert_cmpint (chronos_win32_classify_open_error (1117), ==, CHRONOS_WIN32_OPEN_OTHER);

  g_assert_true (chronos_host_windows_check_open_error (path, 0, NULL));

  g_assert_false (chronos_host_windows_check_open_error (path, 32, &in_use));
  g_assert_error (in_use, CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_IMAGE_IN_USE);
  g_assert_true (g_str_has_prefix (in_use->message, "Windows has the backup “D:\\Backups"));
  g_assert_nonnull (strstr (in_use->message, "mounted or another program is using it"));
  g_assert_nonnull (strstr (in_use->message, "eject it in File Explorer"));

  g_assert_false (chronos_host_windows_check_open_error (path, 33, &lock));
  g_assert_error (lock, CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_IMAGE_IN_USE);

  g_assert_false (chronos_host_windows_check_open_error (path, 2, &missing));
  g_assert_error (missing, CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_IMAGE_NOT_FOUND);

  g_assert_false (chronos_host_windows_check_open_error (path, 5, &denied));
  g_assert_error (denied, CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_FAILED);
  g_assert_nonnull (strstr (denied->message, "Security"));

  g_assert_false (chronos_host_windows_check_open_error (path, 1117, &other));
  g_assert_error (other, CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_FAILED);
  g_assert_nonnull (strstr (other->message, "Windows error 1117"));

  /* Not Windows: the file is not even looked at. */
  g_assert_true (chronos_host_windows_check_image_free ("/nonexistent/disk.vhdx", NULL));
}

static void
check_extended (const char *path,
                const char *expected)
{
  char   out[512];
  size_t len = chronos_win32_path_to_extended (path, out, sizeof out);

  g_assert_cmpstr (out, ==, expected);
  g_assert_cmpuint (len, ==, strlen (expected));
}

static void
test_extended_paths (void)
{
  char             small[9];
  g_autofree char *component = g_strnfill (300, 'x');
  char            *deep;
  char            *expected;
  char             out[4096];

  check_extended ("C:\\Backups\\disk.vhdx", "\\\\?\\C:\\Backups\\disk.vhdx");
  check_extended ("d:/Backups/disk.vhdx", "\\\\?\\d:\\Backups\\disk.vhdx");
  check_extended ("\\\\nas\\backup\\PC\\disk.vhdx", "\\\\?\\UNC\\nas\\backup\\PC\\disk.vhdx");
  check_extended ("//nas/backup/disk.vhdx", "\\\\?\\UNC\\nas\\backup\\disk.vhdx");
  /* Already extended or a device path: unchanged. */
  check_extended ("\\\\?\\C:\\disk.vhdx", "\\\\?\\C:\\disk.vhdx");
  check_extended ("\\\\?\\UNC\\nas\\b\\disk.vhdx", "\\\\?\\UNC\\nas\\b\\disk.vhdx");
  check_extended ("\\\\.\\PhysicalDrive1", "\\\\.\\PhysicalDrive1");
  /* Relative, drive-relative and rooted paths cannot take the prefix. */
  check_extended ("disk.vhdx", "disk.vhdx");
  check_extended ("sub/disk.vhdx", "sub\\disk.vhdx");
  check_extended ("C:disk.vhdx", "C:disk.vhdx");
  check_extended ("\\Backups\\disk.vhdx", "\\Backups\\disk.vhdx");
  /* "\\?\" would take "." and ".." literally. */
  check_extended ("C:\\Backups\\..\\disk.vhdx", "C:\\Backups\\..\\disk.vhdx");
  check_extended ("C:/Backups/./disk.vhdx", "C:\\Backups\\.\\disk.vhdx");
  check_extended ("C:\\Backups\\..hidden\\disk.vhdx", "\\\\?\\C:\\Backups\\..hidden\\disk.vhdx");
  check_extended ("C:\\Backups\\disk.vhdx.", "\\\\?\\C:\\Backups\\disk.vhdx.");
  /* A lone "\\" is no UNC path. */
  check_extended ("\\\\", "\\\\");

  /* Too small or empty: 0 and an empty string. */
  g_assert_cmpuint (chronos_win32_path_to_extended ("C:\\Backups\\disk.vhdx", small, sizeof small), ==, 0);
  g_assert_cmpstr (small, ==, "");
  g_assert_cmpuint (chronos_win32_path_to_extended ("", small, sizeof small), ==, 0);
  g_assert_cmpuint (chronos_win32_path_to_extended (NULL, small, sizeof small), ==, 0);
  /* Exactly fitting: "\\?\C:\a" is 8 bytes plus the NUL. */
  g_assert_cmpuint (chronos_win32_path_to_extended ("C:\\a", small, sizeof small), ==, 8);
  g_assert_cmpstr (small, ==, "\\\\?\\C:\\a");
  g_assert_cmpuint (chronos_win32_path_to_extended ("C:\\ab", small, sizeof small), ==, 0);

  /* Deeper than MAX_PATH: the reason for the prefix. */
  deep = g_strconcat ("C:\\", component, "\\disk.vhdx", NULL);
  expected = g_strconcat ("\\\\?\\", deep, NULL);
  g_assert_cmpuint (chronos_win32_path_to_extended (deep, out, sizeof out), ==, strlen (expected));
  g_assert_cmpstr (out, ==, expected);
  g_free (deep);
  g_free (expected);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/win32/whpx/interpret", test_whpx_interpret);
  g_test_add_func ("/win32/whpx/reason", test_whpx_reason);
  g_test_add_func ("/win32/hypervisors/process-names", test_process_names);
  g_test_add_func ("/win32/hypervisors/warning", test_hypervisors_warning);
  g_test_add_func ("/win32/sharing/open-errors", test_open_errors);
  g_test_add_func ("/win32/paths/extended", test_extended_paths);

  return g_test_run ();
}
