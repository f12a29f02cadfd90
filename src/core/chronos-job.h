/* chronos-job.h: one long operation with observable progress
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "chronos-types.h"
#include "chronos-enums.h"

G_BEGIN_DECLS

#define CHRONOS_TYPE_JOB (chronos_job_get_type ())

G_DECLARE_FINAL_TYPE (ChronosJob, chronos_job, CHRONOS, JOB, GObject)

ChronosJob      *chronos_job_new             (const char   *title);
const char      *chronos_job_get_title       (ChronosJob   *self);
const char      *chronos_job_get_step        (ChronosJob   *self);
void             chronos_job_set_step        (ChronosJob   *self,
                                              const char   *step);
ChronosJobState  chronos_job_get_state       (ChronosJob   *self);
double           chronos_job_get_fraction    (ChronosJob   *self);
void             chronos_job_set_fraction    (ChronosJob   *self,
                                              double        fraction);
guint64          chronos_job_get_bytes_done  (ChronosJob   *self);
guint64          chronos_job_get_bytes_total (ChronosJob   *self);
double           chronos_job_get_rate        (ChronosJob   *self);
gint64           chronos_job_get_eta         (ChronosJob   *self);
void             chronos_job_update_bytes    (ChronosJob   *self,
                                              guint64       done,
                                              guint64       total);
const char      *chronos_job_get_message     (ChronosJob   *self);
GCancellable    *chronos_job_get_cancellable (ChronosJob   *self);
void             chronos_job_start           (ChronosJob   *self);
void             chronos_job_cancel          (ChronosJob   *self);
void             chronos_job_complete        (ChronosJob   *self,
                                              const GError *error);
char            *chronos_job_format_progress (ChronosJob   *self);

G_END_DECLS
