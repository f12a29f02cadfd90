/* chronos-job.c: one long operation with observable progress
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * A ChronosJob is what the download, conversion and verification report
 * into and what the app binds its progress rows to. It is a plain GObject
 * updated from the main context that runs the operation; front ends only
 * read its properties and call chronos_job_cancel().
 *
 * Rate and ETA are derived here, not by each operation, so that every
 * progress display in Chronos agrees on what "2.1 MB/s, 12 s left" means.
 */

#include "config.h"

#include <math.h>

#include "chronos-job.h"

/* How much a new rate sample moves the smoothed rate. A low weight keeps
 * the ETA from jumping on every network hiccup. */
#define RATE_SMOOTHING 0.2
/* Samples closer than this are merged: sub-100 ms rates are noise. */
#define RATE_MIN_INTERVAL_USEC (100 * G_TIME_SPAN_MILLISECOND)

struct _ChronosJob
{
  GObject          parent_instance;

  char            *title;
  char            *step;
  char            *message;
  GCancellable    *cancellable;
  ChronosJobState  state;
  double           fraction;
  guint64          bytes_done;
  guint64          bytes_total;
  double           rate;
  gint64           eta;

  gint64           sample_time;
  guint64          sample_bytes;
};

G_DEFINE_FINAL_TYPE (ChronosJob, chronos_job, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_TITLE,
  PROP_STEP,
  PROP_STATE,
  PROP_FRACTION,
  PROP_BYTES_DONE,
  PROP_BYTES_TOTAL,
  PROP_RATE,
  PROP_ETA,
  PROP_MESSAGE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
chronos_job_finalize (GObject *object)
{
  ChronosJob *self = (ChronosJob *)object;

  g_clear_pointer (&self->title, g_free);
  g_clear_pointer (&self->step, g_free);
  g_clear_pointer (&self->message, g_free);
  g_clear_object (&self->cancellable);

  G_OBJECT_CLASS (chronos_job_parent_class)->finalize (object);
}

static void
chronos_job_get_property (GObject    *object,
                          guint       prop_id,
                          GValue     *value,
                          GParamSpec *pspec)
{
  ChronosJob *self = CHRONOS_JOB (object);

  switch (prop_id)
    {
    case PROP_TITLE:
      g_value_set_string (value, self->title);
      break;
    case PROP_STEP:
      g_value_set_string (value, self->step);
      break;
    case PROP_STATE:
      g_value_set_enum (value, self->state);
      break;
    case PROP_FRACTION:
      g_value_set_double (value, self->fraction);
      break;
    case PROP_BYTES_DONE:
      g_value_set_uint64 (value, self->bytes_done);
      break;
    case PROP_BYTES_TOTAL:
      g_value_set_uint64 (value, self->bytes_total);
      break;
    case PROP_RATE:
      g_value_set_double (value, self->rate);
      break;
    case PROP_ETA:
      g_value_set_int64 (value, self->eta);
      break;
    case PROP_MESSAGE:
      g_value_set_string (value, self->message);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
chronos_job_set_property (GObject      *object,
                          guint         prop_id,
                          const GValue *value,
                          GParamSpec   *pspec)
{
  ChronosJob *self = CHRONOS_JOB (object);

  switch (prop_id)
    {
    case PROP_TITLE:
      g_free (self->title);
      self->title = g_value_dup_string (value);
      break;
    case PROP_STEP:
      chronos_job_set_step (self, g_value_get_string (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
chronos_job_class_init (ChronosJobClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = chronos_job_finalize;
  object_class->get_property = chronos_job_get_property;
  object_class->set_property = chronos_job_set_property;

  properties[PROP_TITLE] =
    g_param_spec_string ("title", NULL, NULL, NULL,
                         (G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS));
  properties[PROP_STEP] =
    g_param_spec_string ("step", NULL, NULL, NULL,
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));
  properties[PROP_STATE] =
    g_param_spec_enum ("state", NULL, NULL,
                       CHRONOS_TYPE_JOB_STATE, CHRONOS_JOB_STATE_QUEUED,
                       (G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));
  /* -1 means the operation cannot say how far it is (show a pulse). */
  properties[PROP_FRACTION] =
    g_param_spec_double ("fraction", NULL, NULL, -1.0, 1.0, -1.0,
                         (G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));
  properties[PROP_BYTES_DONE] =
    g_param_spec_uint64 ("bytes-done", NULL, NULL, 0, G_MAXUINT64, 0,
                         (G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));
  properties[PROP_BYTES_TOTAL] =
    g_param_spec_uint64 ("bytes-total", NULL, NULL, 0, G_MAXUINT64, 0,
                         (G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));
  /* Bytes per second, smoothed. */
  properties[PROP_RATE] =
    g_param_spec_double ("rate", NULL, NULL, 0.0, G_MAXDOUBLE, 0.0,
                         (G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));
  /* Seconds left, or -1 when unknown. */
  properties[PROP_ETA] =
    g_param_spec_int64 ("eta", NULL, NULL, -1, G_MAXINT64, -1,
                        (G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));
  /* Why the job failed, as a sentence for a person. */
  properties[PROP_MESSAGE] =
    g_param_spec_string ("message", NULL, NULL, NULL,
                         (G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
chronos_job_init (ChronosJob *self)
{
  self->cancellable = g_cancellable_new ();
  self->fraction = -1.0;
  self->eta = -1;
}

ChronosJob *
chronos_job_new (const char *title)
{
  g_return_val_if_fail (title != NULL, NULL);

  return g_object_new (CHRONOS_TYPE_JOB, "title", title, NULL);
}

const char *
chronos_job_get_title (ChronosJob *self)
{
  g_return_val_if_fail (CHRONOS_IS_JOB (self), NULL);
  return self->title;
}

const char *
chronos_job_get_step (ChronosJob *self)
{
  g_return_val_if_fail (CHRONOS_IS_JOB (self), NULL);
  return self->step;
}

/* The step is what the operation is doing now ("Downloading",
 * "Verifying checksum", "Extracting"). A new step restarts the rate. */
void
chronos_job_set_step (ChronosJob *self,
                      const char *step)
{
  g_return_if_fail (CHRONOS_IS_JOB (self));

  if (g_strcmp0 (self->step, step) == 0)
    return;

  g_free (self->step);
  self->step = g_strdup (step);
  self->sample_time = 0;
  self->sample_bytes = 0;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STEP]);
}

ChronosJobState
chronos_job_get_state (ChronosJob *self)
{
  g_return_val_if_fail (CHRONOS_IS_JOB (self), CHRONOS_JOB_STATE_QUEUED);
  return self->state;
}

double
chronos_job_get_fraction (ChronosJob *self)
{
  g_return_val_if_fail (CHRONOS_IS_JOB (self), -1.0);
  return self->fraction;
}

void
chronos_job_set_fraction (ChronosJob *self,
                          double      fraction)
{
  g_return_if_fail (CHRONOS_IS_JOB (self));

  if (fraction >= 0.0)
    fraction = CLAMP (fraction, 0.0, 1.0);
  else
    fraction = -1.0;

  if (self->fraction == fraction)
    return;

  self->fraction = fraction;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FRACTION]);
}

guint64
chronos_job_get_bytes_done (ChronosJob *self)
{
  g_return_val_if_fail (CHRONOS_IS_JOB (self), 0);
  return self->bytes_done;
}

guint64
chronos_job_get_bytes_total (ChronosJob *self)
{
  g_return_val_if_fail (CHRONOS_IS_JOB (self), 0);
  return self->bytes_total;
}

double
chronos_job_get_rate (ChronosJob *self)
{
  g_return_val_if_fail (CHRONOS_IS_JOB (self), 0.0);
  return self->rate;
}

gint64
chronos_job_get_eta (ChronosJob *self)
{
  g_return_val_if_fail (CHRONOS_IS_JOB (self), -1);
  return self->eta;
}

const char *
chronos_job_get_message (ChronosJob *self)
{
  g_return_val_if_fail (CHRONOS_IS_JOB (self), NULL);
  return self->message;
}

GCancellable *
chronos_job_get_cancellable (ChronosJob *self)
{
  g_return_val_if_fail (CHRONOS_IS_JOB (self), NULL);
  return self->cancellable;
}

static void
update_rate (ChronosJob *self,
             guint64     done)
{
  gint64 now = g_get_monotonic_time ();
  gint64 eta = -1;

  if (self->sample_time == 0 || done < self->sample_bytes)
    {
      self->sample_time = now;
      self->sample_bytes = done;
      return;
    }

  if (now - self->sample_time < RATE_MIN_INTERVAL_USEC)
    return;

  {
    double seconds = (now - self->sample_time) / (double)G_TIME_SPAN_SECOND;
    double sample = (done - self->sample_bytes) / seconds;
    double rate = self->rate <= 0.0 ? sample : self->rate + RATE_SMOOTHING * (sample - self->rate);

    self->sample_time = now;
    self->sample_bytes = done;

    if (rate != self->rate)
      {
        self->rate = rate;
        g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RATE]);
      }
  }

  if (self->rate > 0.0 && self->bytes_total >= done && self->bytes_total > 0)
    eta = (gint64)ceil ((self->bytes_total - done) / self->rate);

  if (eta != self->eta)
    {
      self->eta = eta;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ETA]);
    }
}

/* Report byte progress; @total may be 0 when the size is unknown. The
 * fraction follows from the bytes when the total is known. */
void
chronos_job_update_bytes (ChronosJob *self,
                          guint64     done,
                          guint64     total)
{
  g_return_if_fail (CHRONOS_IS_JOB (self));

  g_object_freeze_notify (G_OBJECT (self));

  if (self->bytes_total != total)
    {
      self->bytes_total = total;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BYTES_TOTAL]);
    }

  if (self->bytes_done != done)
    {
      self->bytes_done = done;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BYTES_DONE]);
    }

  update_rate (self, done);

  if (total > 0)
    chronos_job_set_fraction (self, (double)done / (double)total);

  g_object_thaw_notify (G_OBJECT (self));
}

static void
set_state (ChronosJob      *self,
           ChronosJobState  state)
{
  if (self->state == state)
    return;

  self->state = state;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
}

void
chronos_job_start (ChronosJob *self)
{
  g_return_if_fail (CHRONOS_IS_JOB (self));
  g_return_if_fail (self->state == CHRONOS_JOB_STATE_QUEUED);

  set_state (self, CHRONOS_JOB_STATE_RUNNING);
}

/* Ask the operation to stop; it completes the job once it has cleaned up. */
void
chronos_job_cancel (ChronosJob *self)
{
  g_return_if_fail (CHRONOS_IS_JOB (self));

  g_cancellable_cancel (self->cancellable);
}

/* Finish the job: with no error it succeeded; a cancellation error marks
 * it cancelled (never shown as a failure); anything else failed, and the
 * error's message becomes the job's message. */
void
chronos_job_complete (ChronosJob   *self,
                      const GError *error)
{
  ChronosJobState state;

  g_return_if_fail (CHRONOS_IS_JOB (self));

  if (self->state == CHRONOS_JOB_STATE_SUCCEEDED ||
      self->state == CHRONOS_JOB_STATE_FAILED ||
      self->state == CHRONOS_JOB_STATE_CANCELLED)
    return;

  g_object_freeze_notify (G_OBJECT (self));

  if (error == NULL)
    {
      state = CHRONOS_JOB_STATE_SUCCEEDED;
      chronos_job_set_fraction (self, 1.0);
    }
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    state = CHRONOS_JOB_STATE_CANCELLED;
  else
    {
      state = CHRONOS_JOB_STATE_FAILED;
      g_free (self->message);
      self->message = g_strdup (error->message);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MESSAGE]);
    }

  if (self->eta != -1)
    {
      self->eta = -1;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ETA]);
    }

  set_state (self, state);

  g_object_thaw_notify (G_OBJECT (self));
}

/* "12.5 MB of 80.0 MB — 4.1 MB/s, 16 s left": the one wording every
 * front end uses. */
char *
chronos_job_format_progress (ChronosJob *self)
{
  GString *str;

  g_return_val_if_fail (CHRONOS_IS_JOB (self), NULL);

  str = g_string_new (NULL);

  if (self->bytes_total > 0)
    {
      g_autofree char *done = g_format_size (self->bytes_done);
      g_autofree char *total = g_format_size (self->bytes_total);

      /* Translators: "12.5 MB of 80.0 MB" */
      g_string_append_printf (str, "%s of %s", done, total);
    }
  else if (self->bytes_done > 0)
    {
      g_autofree char *done = g_format_size (self->bytes_done);
      g_string_append (str, done);
    }
  else if (self->fraction >= 0.0)
    g_string_append_printf (str, "%.0f %%", self->fraction * 100.0);

  if (self->rate > 0.0)
    {
      g_autofree char *rate = g_format_size ((guint64)self->rate);
      g_string_append_printf (str, "%s%s/s", str->len ? " — " : "", rate);
    }

  if (self->eta >= 0)
    {
      if (self->eta >= 3600)
        g_string_append_printf (str, ", %" G_GINT64_FORMAT " h %02" G_GINT64_FORMAT " min left",
                                self->eta / 3600, (self->eta % 3600) / 60);
      else if (self->eta >= 60)
        g_string_append_printf (str, ", %" G_GINT64_FORMAT " min %02" G_GINT64_FORMAT " s left",
                                self->eta / 60, self->eta % 60);
      else
        g_string_append_printf (str, ", %" G_GINT64_FORMAT " s left", self->eta);
    }

  return g_string_free (str, FALSE);
}
