/* chronos-job-row.c: one long operation on a backup, as a list row
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Bound to a ChronosJob (conversion, verification): its title, its step and
 * "12 MB of 64 MB · 3 MB/s · 10 s left" from chronos_job_format_progress(),
 * a progress bar, and Cancel. GDU shows its jobs the same way.
 */

#include "config.h"

#include <glib/gi18n-lib.h>

#include "chronos-job-row.h"

struct _ChronosJobRow
{
  AdwActionRow parent_instance;

  ChronosJob     *job;
  GtkProgressBar *bar;
  GtkButton      *cancel_button;
};

G_DEFINE_FINAL_TYPE (ChronosJobRow, chronos_job_row, ADW_TYPE_ACTION_ROW)

static void
update (ChronosJobRow *self)
{
  g_autofree char *progress = chronos_job_format_progress (self->job);
  const char      *step = chronos_job_get_step (self->job);
  g_autofree char *subtitle = NULL;
  ChronosJobState  state = chronos_job_get_state (self->job);

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self), chronos_job_get_title (self->job));
  if (step != NULL && step[0] != '\0' && progress != NULL && progress[0] != '\0')
    /* Translators: step — progress, "Converting — 12 MB of 64 MB" */
    subtitle = g_strdup_printf (_ ("%s — %s"), step, progress);
  else if (step != NULL && step[0] != '\0')
    subtitle = g_strdup (step);
  else
    subtitle = g_strdup (progress);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (self), subtitle != NULL ? subtitle : "");

  gtk_progress_bar_set_fraction (self->bar, chronos_job_get_fraction (self->job));
  gtk_widget_set_sensitive (GTK_WIDGET (self->cancel_button),
                            state == CHRONOS_JOB_STATE_QUEUED || state == CHRONOS_JOB_STATE_RUNNING);
}

static void
cancel_clicked_cb (ChronosJobRow *self)
{
  chronos_job_cancel (self->job);
}

static void
chronos_job_row_dispose (GObject *object)
{
  ChronosJobRow *self = (ChronosJobRow *)object;

  g_clear_object (&self->job);

  G_OBJECT_CLASS (chronos_job_row_parent_class)->dispose (object);
}

static void
chronos_job_row_class_init (ChronosJobRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = chronos_job_row_dispose;
}

static void
chronos_job_row_init (ChronosJobRow *self)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);

  self->bar = GTK_PROGRESS_BAR (gtk_progress_bar_new ());
  gtk_widget_set_size_request (GTK_WIDGET (self->bar), 96, -1);
  gtk_widget_set_valign (GTK_WIDGET (self->bar), GTK_ALIGN_CENTER);
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->bar));

  self->cancel_button = GTK_BUTTON (gtk_button_new_from_icon_name ("process-stop-symbolic"));
  gtk_widget_set_valign (GTK_WIDGET (self->cancel_button), GTK_ALIGN_CENTER);
  gtk_widget_add_css_class (GTK_WIDGET (self->cancel_button), "flat");
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->cancel_button), _ ("Cancel"));
  g_signal_connect_swapped (self->cancel_button, "clicked", G_CALLBACK (cancel_clicked_cb), self);
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->cancel_button));

  adw_action_row_add_suffix (ADW_ACTION_ROW (self), box);
  adw_action_row_set_subtitle_lines (ADW_ACTION_ROW (self), 2);
}

GtkWidget *
chronos_job_row_new (ChronosJob *job)
{
  ChronosJobRow   *self;
  g_autofree char *label = NULL;

  g_return_val_if_fail (CHRONOS_IS_JOB (job), NULL);

  self = g_object_new (CHRONOS_TYPE_JOB_ROW, NULL);
  self->job = g_object_ref (job);
  g_signal_connect_object (job, "notify", G_CALLBACK (update), self, G_CONNECT_SWAPPED);

  /* Translators: the accessible name of a Cancel button, "Cancel Converting to QCOW2" */
  label = g_strdup_printf (_ ("Cancel %s"), chronos_job_get_title (job));
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->cancel_button),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, label, -1);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->bar),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, chronos_job_get_title (job), -1);
  update (self);
  return GTK_WIDGET (self);
}

ChronosJob *
chronos_job_row_get_job (ChronosJobRow *self)
{
  g_return_val_if_fail (CHRONOS_IS_JOB_ROW (self), NULL);
  return self->job;
}
