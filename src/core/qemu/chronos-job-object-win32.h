/* chronos-job-object-win32.h: tie QEMU's life to Chronos's on Windows
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Puts process @process_id into this process's job object, created on
 * first use with JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE. Chronos never closes
 * the job's handle, so Windows closes it when Chronos ends, however it
 * ends, and then kills every process in the job: no QEMU outlives Chronos.
 * (The Windows counterpart of PR_SET_PDEATHSIG.) */
gboolean chronos_job_object_assign (guint64  process_id,
                                    GError **error);

G_END_DECLS
