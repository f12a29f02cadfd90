/* chronos-job-object-win32.c: tie QEMU's life to Chronos's on Windows
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * One job object per Chronos process, with KILL_ON_JOB_CLOSE. Its handle
 * is deliberately leaked: when Chronos exits or crashes, Windows closes the
 * last handle and terminates every process still in the job. Since Windows
 * 8 a process may be in several (nested) jobs, so this works even when
 * Chronos itself runs inside a job (a terminal, a CI runner).
 */

#include "config.h"

#include <glib/gi18n-lib.h>
#include <windows.h>

#include "chronos-job-object-win32.h"
#include "chronos-qemu-error.h"

static HANDLE
get_job (GError **error)
{
  static gsize  initialized = 0;
  static HANDLE job = NULL;

  if (g_once_init_enter (&initialized))
    {
      HANDLE handle = CreateJobObjectW (NULL, NULL);

      if (handle != NULL)
        {
          JOBOBJECT_EXTENDED_LIMIT_INFORMATION limits;

          ZeroMemory (&limits, sizeof limits);
          limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
          if (!SetInformationJobObject (handle, JobObjectExtendedLimitInformation,
                                        &limits, sizeof limits))
            {
              CloseHandle (handle);
              handle = NULL;
            }
        }
      job = handle;
      g_once_init_leave (&initialized, 1);
    }

  if (job == NULL)
    {
      g_autofree char *message = g_win32_error_message (GetLastError ());

      g_set_error (error, CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_FAILED,
                   _ ("Could not create a Windows job object for QEMU: %s"), message);
    }
  return job;
}

gboolean
chronos_job_object_assign (guint64  process_id,
                           GError **error)
{
  HANDLE job = get_job (error);
  HANDLE process;
  BOOL   ok;

  if (job == NULL)
    return FALSE;

  process = OpenProcess (PROCESS_SET_QUOTA | PROCESS_TERMINATE, FALSE, (DWORD)process_id);
  if (process == NULL)
    {
      g_autofree char *message = g_win32_error_message (GetLastError ());

      g_set_error (error, CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_FAILED,
                   _ ("Could not open the QEMU process: %s"), message);
      return FALSE;
    }

  ok = AssignProcessToJobObject (job, process);
  if (!ok)
    {
      g_autofree char *message = g_win32_error_message (GetLastError ());

      g_set_error (error, CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_FAILED,
                   _ ("Could not tie QEMU to Chronos’s lifetime: %s"), message);
    }
  CloseHandle (process);
  return ok;
}
