/* chronos-win32-job.h: a Job Object that kills QEMU when Chronos goes away
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Plain C, Windows only, no GLib. Windows has no PR_SET_PDEATHSIG: a process
 * in a job with JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE dies when the last handle
 * to the job closes, which the kernel does for us when Chronos exits or
 * crashes.
 */

#pragma once

#ifdef __cplusplus
extern "C"
{
#endif

  typedef struct ChronosWin32Job ChronosWin32Job;

  /* Creates a kill-on-close job and puts the process @pid in it. Returns 0 and
   * sets *@job, or returns the Win32 error (ERROR_ACCESS_DENIED when the
   * process is gone or in a job that forbids nesting, ERROR_INVALID_PARAMETER
   * for a pid that does not exist). The job handle is not inheritable: a
   * child that inherited it would keep the job, and so QEMU, alive. Call it
   * right after spawning, before the process can start children of its own. */
  unsigned long chronos_win32_job_new_for_pid (unsigned long     pid,
                                               ChronosWin32Job **job);

  /* Whether @pid is in @job: 1, 0, or -1 when Windows cannot tell. */
  int chronos_win32_job_contains_pid (ChronosWin32Job *job,
                                      unsigned long    pid);

  /* Ends every process in @job now with @exit_code. Returns 0 or the Win32
   * error. */
  unsigned long chronos_win32_job_terminate (ChronosWin32Job *job,
                                             unsigned int     exit_code);

  /* Closes the job: processes still in it are killed (KILL_ON_JOB_CLOSE).
   * NULL is ignored. */
  void chronos_win32_job_free (ChronosWin32Job *job);

#ifdef __cplusplus
}
#endif
