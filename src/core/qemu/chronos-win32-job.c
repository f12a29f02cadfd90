/* chronos-win32-job.c: a Job Object that kills QEMU when Chronos goes away
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Since Windows 8 jobs nest, so this works even when Chronos itself runs in
 * a job (started from Windows Terminal, an IDE or CI).
 */

#include "chronos-win32-job.h"

#include <stdlib.h>

#include <windows.h>

struct ChronosWin32Job
{
  HANDLE handle;
};

unsigned long
chronos_win32_job_new_for_pid (unsigned long     pid,
                               ChronosWin32Job **job)
{
  JOBOBJECT_EXTENDED_LIMIT_INFORMATION limits;
  HANDLE                               handle;
  HANDLE                               process;
  DWORD                                error;

  *job = NULL;

  /* NULL security attributes: the handle is not inheritable. */
  handle = CreateJobObjectW (NULL, NULL);
  if (handle == NULL)
    return GetLastError ();

  ZeroMemory (&limits, sizeof limits);
  limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
  if (!SetInformationJobObject (handle, JobObjectExtendedLimitInformation,
                                &limits, sizeof limits))
    {
      error = GetLastError ();
      CloseHandle (handle);
      return error;
    }

  /* The two rights AssignProcessToJobObject requires, no more. */
  process = OpenProcess (PROCESS_SET_QUOTA | PROCESS_TERMINATE, FALSE, (DWORD)pid);
  if (process == NULL)
    {
      error = GetLastError ();
      CloseHandle (handle);
      return error;
    }
  if (!AssignProcessToJobObject (handle, process))
    {
      error = GetLastError ();
      CloseHandle (process);
      CloseHandle (handle);
      return error;
    }
  CloseHandle (process);

  *job = malloc (sizeof **job);
  if (*job == NULL)
    {
      /* Closing kills the process we just assigned: better than an orphan. */
      CloseHandle (handle);
      return ERROR_NOT_ENOUGH_MEMORY;
    }
  (*job)->handle = handle;
  return 0;
}

int
chronos_win32_job_contains_pid (ChronosWin32Job *job,
                                unsigned long    pid)
{
  HANDLE process;
  BOOL   in_job = FALSE;
  int    result = -1;

  /* Windows accepts the limited right; Wine wants the full one. Ours to
   * ask for either way: QEMU is our own child. */
  process = OpenProcess (PROCESS_QUERY_INFORMATION, FALSE, (DWORD)pid);
  if (process == NULL)
    process = OpenProcess (PROCESS_QUERY_LIMITED_INFORMATION, FALSE, (DWORD)pid);
  if (process == NULL)
    return -1;
  if (IsProcessInJob (process, job->handle, &in_job))
    result = in_job ? 1 : 0;
  CloseHandle (process);
  return result;
}

unsigned long
chronos_win32_job_terminate (ChronosWin32Job *job,
                             unsigned int     exit_code)
{
  if (!TerminateJobObject (job->handle, exit_code))
    return GetLastError ();
  return 0;
}

void
chronos_win32_job_free (ChronosWin32Job *job)
{
  if (job == NULL)
    return;
  CloseHandle (job->handle);
  free (job);
}
