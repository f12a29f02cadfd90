/* chronos-backup-row.c: one backup in the browser's list
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Name, date, size, boot style and a state badge. The row follows its
 * backup's notifications, so probing, running and verification show up
 * without the list being rebuilt.
 */

#include "config.h"

#include <glib/gi18n-lib.h>

#include "chronos-app-format.h"
#include "chronos-backup-row.h"

struct _ChronosBackupRow
{
  GtkListBoxRow parent_instance;

  ChronosBackup *backup;

  GtkImage   *icon;
  GtkImage   *problem_icon;
  GtkSpinner *spinner;
  GtkStack   *state_stack;
  GtkLabel   *subtitle_label;
  GtkLabel   *title_label;
};

G_DEFINE_FINAL_TYPE (ChronosBackupRow, chronos_backup_row, GTK_TYPE_LIST_BOX_ROW)

static void
update (ChronosBackupRow *self)
{
  ChronosBackupState state = chronos_backup_get_state (self->backup);
  g_autofree char   *subtitle = chronos_format_row_subtitle (self->backup);
  g_autofree char   *description = NULL;
  const char        *page = "idle";

  gtk_label_set_label (self->title_label, chronos_backup_get_display_name (self->backup));
  gtk_label_set_label (self->subtitle_label, subtitle);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self), chronos_backup_get_path (self->backup));

  switch (state)
    {
    case CHRONOS_BACKUP_STATE_PROBING:
      page = "probing";
      break;
    case CHRONOS_BACKUP_STATE_RUNNING:
      page = "running";
      break;
    case CHRONOS_BACKUP_STATE_VERIFIED:
      page = "verified";
      break;
    case CHRONOS_BACKUP_STATE_PROBLEM:
      page = "problem";
      if (chronos_backup_get_error_message (self->backup) != NULL)
        gtk_widget_set_tooltip_text (GTK_WIDGET (self->problem_icon),
                                     chronos_backup_get_error_message (self->backup));
      else
        gtk_widget_set_tooltip_text (GTK_WIDGET (self->problem_icon),
                                     chronos_backup_get_verify_reason (self->backup));
      break;
    case CHRONOS_BACKUP_STATE_IDLE:
    default:
      break;
    }
  gtk_stack_set_visible_child_name (self->state_stack, page);
  gtk_spinner_set_spinning (self->spinner, state == CHRONOS_BACKUP_STATE_PROBING);

  /* Screen readers hear the name first, then what matters about it. */
  if (state != CHRONOS_BACKUP_STATE_IDLE && state != CHRONOS_BACKUP_STATE_PROBING)
    description = g_strdup_printf ("%s, %s", subtitle, chronos_format_state (state));
  gtk_accessible_update_property (GTK_ACCESSIBLE (self),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  chronos_backup_get_display_name (self->backup),
                                  GTK_ACCESSIBLE_PROPERTY_DESCRIPTION,
                                  description != NULL ? description : subtitle,
                                  -1);
}

static void
backup_notify_cb (ChronosBackupRow *self)
{
  update (self);
}

static void
chronos_backup_row_dispose (GObject *object)
{
  ChronosBackupRow *self = (ChronosBackupRow *)object;

  gtk_widget_dispose_template (GTK_WIDGET (self), CHRONOS_TYPE_BACKUP_ROW);
  g_clear_object (&self->backup);

  G_OBJECT_CLASS (chronos_backup_row_parent_class)->dispose (object);
}

static void
chronos_backup_row_class_init (ChronosBackupRowClass *klass)
{
  GObjectClass   *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = chronos_backup_row_dispose;

  gtk_widget_class_set_template_from_resource (widget_class, "/org/chronos/Chronos/chronos-backup-row.ui");
  gtk_widget_class_bind_template_child (widget_class, ChronosBackupRow, icon);
  gtk_widget_class_bind_template_child (widget_class, ChronosBackupRow, problem_icon);
  gtk_widget_class_bind_template_child (widget_class, ChronosBackupRow, spinner);
  gtk_widget_class_bind_template_child (widget_class, ChronosBackupRow, state_stack);
  gtk_widget_class_bind_template_child (widget_class, ChronosBackupRow, subtitle_label);
  gtk_widget_class_bind_template_child (widget_class, ChronosBackupRow, title_label);
}

static void
chronos_backup_row_init (ChronosBackupRow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
chronos_backup_row_new (ChronosBackup *backup)
{
  ChronosBackupRow *self;

  g_return_val_if_fail (CHRONOS_IS_BACKUP (backup), NULL);

  self = g_object_new (CHRONOS_TYPE_BACKUP_ROW, NULL);
  self->backup = g_object_ref (backup);
  g_signal_connect_object (backup, "notify", G_CALLBACK (backup_notify_cb), self,
                           G_CONNECT_SWAPPED);
  update (self);
  return GTK_WIDGET (self);
}

ChronosBackup *
chronos_backup_row_get_backup (ChronosBackupRow *self)
{
  g_return_val_if_fail (CHRONOS_IS_BACKUP_ROW (self), NULL);
  return self->backup;
}
