/* chronos-job-row.h: one long operation on a backup, as a list row
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#pragma once

#include <adwaita.h>

#include "chronos-job.h"

G_BEGIN_DECLS

#define CHRONOS_TYPE_JOB_ROW (chronos_job_row_get_type ())

G_DECLARE_FINAL_TYPE (ChronosJobRow, chronos_job_row, CHRONOS, JOB_ROW, AdwActionRow)

/* Title, step, progress and a Cancel button, all following @job. */
GtkWidget  *chronos_job_row_new (ChronosJob *job);
ChronosJob *chronos_job_row_get_job (ChronosJobRow *self);

G_END_DECLS
