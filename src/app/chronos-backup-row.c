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

  GtkImage          *icon;
  GtkBox            *state_box;
  GtkWidget         *state_widget; /* in state_box; NULL when idle */
  ChronosBackupState shown_state;
  GtkLabel          *subtitle_label;
  GtkLabel          *title_label;
};

G_DEFINE_FINAL_TYPE (ChronosBackupRow, chronos_backup_row, GTK_TYPE_LIST_BOX_ROW)

static GtkWidget *
make_state_widget (ChronosBackupState state)
{
  GtkWidget *widget = NULL;

  switch (state)
    {
    case CHRONOS_BACKUP_STATE_PROBING:
      widget = gtk_spinner_new ();
      gtk_spinner_set_spinning (GTK_SPINNER (widget), TRUE);
      gtk_widget_set_tooltip_text (widget, _ ("Reading the backup"));
      break;
    case CHRONOS_BACKUP_STATE_RUNNING:
      widget = gtk_label_new (_ ("Running"));
      gtk_widget_add_css_class (widget, "state-pill");
      gtk_widget_add_css_class (widget, "running");
      break;
    case CHRONOS_BACKUP_STATE_VERIFIED:
      widget = gtk_image_new_from_icon_name ("emblem-ok-symbolic");
      gtk_widget_set_tooltip_text (widget, _ ("Verified: the last test boot succeeded"));
      gtk_widget_add_css_class (widget, "success");
      break;
    case CHRONOS_BACKUP_STATE_PROBLEM:
      widget = gtk_image_new_from_icon_name ("dialog-warning-symbolic");
      gtk_widget_add_css_class (widget, "warning");
      break;
    case CHRONOS_BACKUP_STATE_IDLE:
    default:
      break;
    }
  return widget;
}

static void
update (ChronosBackupRow *self)
{
  ChronosBackupState state = chronos_backup_get_state (self->backup);
  g_autofree char   *subtitle = chronos_format_row_subtitle (self->backup);
  g_autofree char   *description = NULL;

  gtk_label_set_label (self->title_label, chronos_backup_get_display_name (self->backup));
  gtk_label_set_label (self->subtitle_label, subtitle);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self), chronos_backup_get_path (self->backup));

  if (state != self->shown_state)
    {
      if (self->state_widget != NULL)
        gtk_box_remove (self->state_box, self->state_widget);
      self->state_widget = make_state_widget (state);
      if (self->state_widget != NULL)
        gtk_box_append (self->state_box, self->state_widget);
      self->shown_state = state;
    }
  if (state == CHRONOS_BACKUP_STATE_PROBLEM)
    gtk_widget_set_tooltip_text (self->state_widget,
                                 chronos_backup_get_error_message (self->backup) != NULL
                                     ? chronos_backup_get_error_message (self->backup)
                                     : chronos_backup_get_verify_reason (self->backup));

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
  self->state_widget = NULL; /* it went with the template */
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
  gtk_widget_class_bind_template_child (widget_class, ChronosBackupRow, state_box);
  gtk_widget_class_bind_template_child (widget_class, ChronosBackupRow, subtitle_label);
  gtk_widget_class_bind_template_child (widget_class, ChronosBackupRow, title_label);
}

static void
chronos_backup_row_init (ChronosBackupRow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->shown_state = CHRONOS_BACKUP_STATE_IDLE;
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
