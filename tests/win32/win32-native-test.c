/* win32-native-test.c: the chronos-win32-*.c platform files against real Win32
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * A Windows program without GLib (Debian has no GLib for Windows), built by
 * wine-native-test.sh and run under Wine or on Windows. Prints TAP; on
 * success writes a file "passed" into the folder given as argument.
 *
 *   win32-native-test.exe FOLDER      run the checks, working in FOLDER
 *   win32-native-test.exe --sleep N   sleep N seconds (the child it spawns)
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <windows.h>

#include "chronos-win32-common.h"
#include "chronos-win32-hypervisors.h"
#include "chronos-win32-job.h"
#include "chronos-win32-sharing.h"
#include "chronos-win32-whpx.h"

static int n_checks;
static int n_failed;

static void
check (int         ok,
       const char *what)
{
  n_checks++;
  if (!ok)
    n_failed++;
  printf ("%s %d - %s\n", ok ? "ok" : "not ok", n_checks, what);
  fflush (stdout);
}

static void
check_ul (unsigned long got,
          unsigned long expected,
          const char   *what)
{
  if (got != expected)
    printf ("# %s: got %lu, expected %lu\n", what, got, expected);
  check (got == expected, what);
}

/* A UTF-8 copy of @wide (static buffer, enough for these tests). */
static const char *
utf8 (const wchar_t *wide)
{
  static char buffer[4096];

  if (WideCharToMultiByte (CP_UTF8, 0, wide, -1, buffer, sizeof buffer, NULL, NULL) <= 0)
    buffer[0] = '\0';
  return buffer;
}

/* Starts @exe (this program or a copy) with "--sleep 60". */
static int
spawn_sleeper (const wchar_t       *exe,
               PROCESS_INFORMATION *info)
{
  STARTUPINFOW startup;
  wchar_t      command[MAX_PATH + 32];

  memset (&startup, 0, sizeof startup);
  startup.cb = sizeof startup;
  _snwprintf (command, sizeof command / sizeof command[0], L"\"%ls\" --sleep 60", exe);
  command[sizeof command / sizeof command[0] - 1] = L'\0';
  /* bInheritHandles FALSE: the child must not hold our job handle. */
  return CreateProcessW (exe, command, NULL, NULL, FALSE, 0, NULL, NULL, &startup, info) != 0;
}

static void
test_pure (void)
{
  char out[64];

  check (chronos_win32_classify_open_error (ERROR_SHARING_VIOLATION) == CHRONOS_WIN32_OPEN_IN_USE,
         "ERROR_SHARING_VIOLATION is in use");
  check (chronos_win32_classify_open_error (ERROR_FILE_NOT_FOUND) == CHRONOS_WIN32_OPEN_NOT_FOUND,
         "ERROR_FILE_NOT_FOUND is not found");
  check (chronos_win32_hypervisor_from_process_name ("VBOXSVC.EXE") == CHRONOS_WIN32_HYPERVISOR_VIRTUALBOX,
         "VBOXSVC.EXE is VirtualBox");
  check (chronos_win32_path_to_extended ("\\\\nas\\b\\x.vhdx", out, sizeof out) > 0 &&
             strcmp (out, "\\\\?\\UNC\\nas\\b\\x.vhdx") == 0,
         "UNC path gets \\\\?\\UNC\\");
}

static void
test_job (const wchar_t *self)
{
  PROCESS_INFORMATION info;
  ChronosWin32Job    *job = NULL;
  ChronosWin32Job    *bogus = NULL;
  unsigned long       error;
  DWORD               code = 0;

  check (spawn_sleeper (self, &info), "spawn a child");
  error = chronos_win32_job_new_for_pid (info.dwProcessId, &job);
  check_ul (error, 0, "put the child in a kill-on-close job");
  check (job != NULL && chronos_win32_job_contains_pid (job, info.dwProcessId) == 1,
         "the job contains the child");
  check (job != NULL && chronos_win32_job_contains_pid (job, GetCurrentProcessId ()) == 0,
         "the job does not contain us");
  check (WaitForSingleObject (info.hProcess, 200) == WAIT_TIMEOUT, "the child runs");

  /* What happens when Chronos exits or crashes: the last handle closes. */
  chronos_win32_job_free (job);
  check (WaitForSingleObject (info.hProcess, 20000) == WAIT_OBJECT_0,
         "closing the job kills the child");
  GetExitCodeProcess (info.hProcess, &code);
  check (code != STILL_ACTIVE, "the child has an exit code");
  CloseHandle (info.hProcess);
  CloseHandle (info.hThread);

  check (spawn_sleeper (self, &info), "spawn a second child");
  job = NULL;
  check_ul (chronos_win32_job_new_for_pid (info.dwProcessId, &job), 0, "put it in a job");
  check_ul (job != NULL ? chronos_win32_job_terminate (job, 7) : 1, 0, "terminate the job");
  check (WaitForSingleObject (info.hProcess, 20000) == WAIT_OBJECT_0, "the second child ended");
  GetExitCodeProcess (info.hProcess, &code);
  check_ul (code, 7, "with the job's exit code");
  chronos_win32_job_free (job);
  CloseHandle (info.hProcess);
  CloseHandle (info.hThread);

  /* A pid that does not exist: an error, no job. */
  error = chronos_win32_job_new_for_pid (0xfffffff0UL, &bogus);
  check (error != 0 && bogus == NULL, "no job for a pid that does not exist");
  chronos_win32_job_free (NULL);
}

static HANDLE
open_with_share (const wchar_t *path,
                 DWORD          access,
                 DWORD          share)
{
  return CreateFileW (path, access, share, NULL, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
}

static void
test_sharing (const wchar_t *folder)
{
  wchar_t path[MAX_PATH];
  wchar_t missing[MAX_PATH];
  wchar_t deep[1024];
  wchar_t extended[1100];
  char    deep_utf8[2048];
  HANDLE  file;
  HANDLE  holder;
  int     i;
  int     made = 1;

  _snwprintf (path, MAX_PATH, L"%ls\\Sicherung-\u00e4.vhdx", folder);
  path[MAX_PATH - 1] = L'\0';
  file = CreateFileW (path, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
  check (file != INVALID_HANDLE_VALUE, "create an image file with a non-ASCII name");
  CloseHandle (file);

  check_ul (chronos_win32_sharing_try_open (utf8 (path)), 0, "nobody holds it: it opens");

  /* A writer that lets others read and write, as a program editing it. */
  holder = open_with_share (path, GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE);
  check_ul (chronos_win32_sharing_try_open (utf8 (path)), ERROR_SHARING_VIOLATION,
            "a writer holds it: sharing violation");
  CloseHandle (holder);

  /* An exclusive holder, as an attached VHDX. */
  holder = open_with_share (path, GENERIC_READ, 0);
  check_ul (chronos_win32_sharing_try_open (utf8 (path)), ERROR_SHARING_VIOLATION,
            "an exclusive holder: sharing violation");
  CloseHandle (holder);

  /* Another reader is no problem: QEMU may read a backup others read. */
  holder = open_with_share (path, GENERIC_READ, FILE_SHARE_READ);
  check_ul (chronos_win32_sharing_try_open (utf8 (path)), 0, "another reader: it opens");
  CloseHandle (holder);

  check_ul (chronos_win32_sharing_try_open (utf8 (path)), 0, "released: it opens again");

  _snwprintf (missing, MAX_PATH, L"%ls\\missing.vhdx", folder);
  missing[MAX_PATH - 1] = L'\0';
  check_ul (chronos_win32_sharing_try_open (utf8 (missing)), ERROR_FILE_NOT_FOUND,
            "a missing file: not found");

  /* Deeper than MAX_PATH, named without the prefix as a person would. */
  wcscpy (deep, folder);
  for (i = 0; i < 6 && made; i++)
    {
      wcscat (deep, L"\\");
      wcscat (deep, L"a-folder-name-of-fifty-characters-for-a-deep-path");
      _snwprintf (extended, sizeof extended / sizeof extended[0], L"\\\\?\\%ls", deep);
      extended[sizeof extended / sizeof extended[0] - 1] = L'\0';
      made = CreateDirectoryW (extended, NULL) || GetLastError () == ERROR_ALREADY_EXISTS;
    }
  wcscat (deep, L"\\disk.vhdx");
  _snwprintf (extended, sizeof extended / sizeof extended[0], L"\\\\?\\%ls", deep);
  extended[sizeof extended / sizeof extended[0] - 1] = L'\0';
  file = CreateFileW (extended, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
  check (made && file != INVALID_HANDLE_VALUE && wcslen (deep) > MAX_PATH,
         "create an image deeper than MAX_PATH");
  CloseHandle (file);
  WideCharToMultiByte (CP_UTF8, 0, deep, -1, deep_utf8, sizeof deep_utf8, NULL, NULL);
  check_ul (chronos_win32_sharing_try_open (deep_utf8), 0, "the deep image opens by its plain path");
}

static void
test_hypervisors (const wchar_t *self,
                  const wchar_t *folder)
{
  wchar_t             fake[MAX_PATH];
  PROCESS_INFORMATION info;
  unsigned long       error = 1;
  unsigned int        before;
  unsigned int        during;
  unsigned int        after;

  before = chronos_win32_hypervisors_running (&error);
  check_ul (error, 0, "the process snapshot works");

  /* A process named like VirtualBox's service. */
  _snwprintf (fake, MAX_PATH, L"%ls\\VBoxSVC.exe", folder);
  fake[MAX_PATH - 1] = L'\0';
  check (CopyFileW (self, fake, FALSE) != 0, "copy this program as VBoxSVC.exe");
  check (spawn_sleeper (fake, &info), "start the fake VBoxSVC.exe");
  during = chronos_win32_hypervisors_running (&error);
  check ((during & CHRONOS_WIN32_HYPERVISOR_VIRTUALBOX) != 0, "VirtualBox is seen running");
  check ((during & CHRONOS_WIN32_HYPERVISOR_VMWARE) == (before & CHRONOS_WIN32_HYPERVISOR_VMWARE),
         "VMware is not made up");

  TerminateProcess (info.hProcess, 0);
  WaitForSingleObject (info.hProcess, 20000);
  CloseHandle (info.hProcess);
  CloseHandle (info.hThread);
  after = chronos_win32_hypervisors_running (&error);
  check ((after & CHRONOS_WIN32_HYPERVISOR_VIRTUALBOX) == (before & CHRONOS_WIN32_HYPERVISOR_VIRTUALBOX),
         "VirtualBox is gone again");
}

static void
test_whpx (void)
{
  ChronosWin32WhpxFacts   facts;
  ChronosWin32WhpxVerdict verdict;

  chronos_win32_whpx_probe (&facts);
  verdict = chronos_win32_whpx_interpret (&facts);
  printf ("# WHPX: dll %d (error %lu), entry points %d, capability %d (0x%08lx), hypervisor %d, "
          "partition %d (0x%08lx), cpuid bit %d vendor \"%s\" root %d, firmware %d -> verdict %d\n",
          facts.dll_loaded, facts.load_error, facts.has_entry_points, facts.capability_ok,
          (unsigned long)facts.capability_hresult, facts.hypervisor_present, facts.partition_tried,
          (unsigned long)facts.partition_hresult, facts.cpu_hypervisor_bit,
          facts.cpu_hypervisor_vendor, facts.cpu_hv_create_partitions,
          facts.firmware_virtualization, (int)verdict);
  check (facts.dll_loaded || facts.load_error != 0, "a failed load has an error code");
  check (facts.dll_loaded || (verdict == CHRONOS_WIN32_WHPX_FEATURE_OFF ||
                              verdict == CHRONOS_WIN32_WHPX_LOAD_FAILED),
         "without the DLL the verdict is about the DLL");
  check (!facts.partition_tried || facts.hypervisor_present, "a partition only with a hypervisor");
  check (facts.firmware_virtualization == 0 || facts.firmware_virtualization == 1,
         "the firmware flag was read");
  check (strlen (facts.cpu_hypervisor_vendor) <= 12, "the CPUID vendor is terminated");
}

int
main (int   argc,
      char *argv[])
{
  wchar_t self[MAX_PATH];
  wchar_t folder[MAX_PATH];
  wchar_t passed[MAX_PATH];
  HANDLE  marker;

  if (argc == 3 && strcmp (argv[1], "--sleep") == 0)
    {
      Sleep ((DWORD)atoi (argv[2]) * 1000);
      return 0;
    }
  if (argc != 2)
    {
      fprintf (stderr, "usage: %s FOLDER | --sleep SECONDS\n", argv[0]);
      return 2;
    }

  GetModuleFileNameW (NULL, self, MAX_PATH);
  MultiByteToWideChar (CP_UTF8, 0, argv[1], -1, folder, MAX_PATH);

  test_pure ();
  test_job (self);
  test_sharing (folder);
  test_hypervisors (self, folder);
  test_whpx ();

  printf ("1..%d\n", n_checks);
  printf ("%d passed, %d failed\n", n_checks - n_failed, n_failed);
  if (n_failed == 0)
    {
      _snwprintf (passed, MAX_PATH, L"%ls\\passed", folder);
      passed[MAX_PATH - 1] = L'\0';
      marker = CreateFileW (passed, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
      if (marker != INVALID_HANDLE_VALUE)
        CloseHandle (marker);
    }
  return n_failed == 0 ? 0 : 1;
}
