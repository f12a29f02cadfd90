/* chronos-vm-settings-dialog.c: how to run a backup, asked before it boots
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * A dialog in the preferences style: the ChronosVmSettingsPage for this
 * boot's config, with Cancel and Boot in the header bar as GNOME dialogs
 * have them (AdwPreferencesWindow in libadwaita 1.2 has no place for them).
 */

#include "config.h"

#include <glib/gi18n-lib.h>

#include "chronos-a11y.h"
#include "chronos-vm-settings-dialog.h"

struct _ChronosVmSettingsDialog
{
  AdwWindow parent_instance;

  ChronosBackup         *backup;
  ChronosVmConfig       *config;
  ChronosVmSettingsPage *page;

  GtkButton      *boot_button;
  GtkBox         *box;
  AdwWindowTitle *window_title;
};

G_DEFINE_FINAL_TYPE (ChronosVmSettingsDialog, chronos_vm_settings_dialog, ADW_TYPE_WINDOW)

enum
{
  SIGNAL_BOOT,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
boot_clicked_cb (ChronosVmSettingsDialog *self)
{
  g_object_ref (self);
  g_signal_emit (self, signals[SIGNAL_BOOT], 0, self->config);
  gtk_window_close (GTK_WINDOW (self));
  g_object_unref (self);
}

static void
protect_changed_cb (ChronosVmSettingsDialog *self)
{
  /* Booting writable is a different, destructive act: say so on the button. */
  if (chronos_vm_config_get_protect_backup (self->config))
    {
      chronos_a11y_set_button_label (self->boot_button, _ ("_Boot"));
      gtk_widget_remove_css_class (GTK_WIDGET (self->boot_button), "destructive-action");
      gtk_widget_add_css_class (GTK_WIDGET (self->boot_button), "suggested-action");
    }
  else
    {
      chronos_a11y_set_button_label (self->boot_button, _ ("_Boot Writable"));
      gtk_widget_remove_css_class (GTK_WIDGET (self->boot_button), "suggested-action");
      gtk_widget_add_css_class (GTK_WIDGET (self->boot_button), "destructive-action");
    }
}

static void
chronos_vm_settings_dialog_dispose (GObject *object)
{
  ChronosVmSettingsDialog *self = (ChronosVmSettingsDialog *)object;

  gtk_widget_dispose_template (GTK_WIDGET (self), CHRONOS_TYPE_VM_SETTINGS_DIALOG);
  g_clear_object (&self->backup);
  g_clear_object (&self->config);

  G_OBJECT_CLASS (chronos_vm_settings_dialog_parent_class)->dispose (object);
}

static void
chronos_vm_settings_dialog_class_init (ChronosVmSettingsDialogClass *klass)
{
  GObjectClass   *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = chronos_vm_settings_dialog_dispose;

  signals[SIGNAL_BOOT] =
      g_signal_new ("boot", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                    G_TYPE_NONE, 1, CHRONOS_TYPE_VM_CONFIG);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/chronos/Chronos/chronos-vm-settings-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, ChronosVmSettingsDialog, boot_button);
  gtk_widget_class_bind_template_child (widget_class, ChronosVmSettingsDialog, box);
  gtk_widget_class_bind_template_child (widget_class, ChronosVmSettingsDialog, window_title);
  gtk_widget_class_bind_template_callback (widget_class, boot_clicked_cb);

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
chronos_vm_settings_dialog_init (ChronosVmSettingsDialog *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  chronos_a11y_fix_mnemonic_buttons (GTK_WIDGET (self));
}

GtkWidget *
chronos_vm_settings_dialog_new (GtkWindow       *parent,
                                ChronosBackup   *backup,
                                ChronosVmConfig *config)
{
  ChronosVmSettingsDialog *self;
  ChronosImageInfo        *info;

  g_return_val_if_fail (parent == NULL || GTK_IS_WINDOW (parent), NULL);
  g_return_val_if_fail (CHRONOS_IS_BACKUP (backup), NULL);
  g_return_val_if_fail (CHRONOS_IS_VM_CONFIG (config), NULL);

  self = g_object_new (CHRONOS_TYPE_VM_SETTINGS_DIALOG,
                       "transient-for", parent,
                       NULL);
  self->backup = g_object_ref (backup);
  self->config = g_object_ref (config);

  adw_window_title_set_subtitle (self->window_title, chronos_backup_get_display_name (backup));

  self->page = CHRONOS_VM_SETTINGS_PAGE (chronos_vm_settings_page_new (config, TRUE));
  gtk_widget_set_vexpand (GTK_WIDGET (self->page), TRUE);
  gtk_box_append (self->box, GTK_WIDGET (self->page));

  info = chronos_backup_get_info (backup);
  if (info != NULL)
    chronos_vm_settings_page_set_detected_firmware (self->page, chronos_image_info_get_firmware (info));

  g_signal_connect_object (config, "notify::protect-backup", G_CALLBACK (protect_changed_cb), self,
                           G_CONNECT_SWAPPED);
  protect_changed_cb (self);
  gtk_window_set_default_widget (GTK_WINDOW (self), GTK_WIDGET (self->boot_button));

  return GTK_WIDGET (self);
}

ChronosBackup *
chronos_vm_settings_dialog_get_backup (ChronosVmSettingsDialog *self)
{
  g_return_val_if_fail (CHRONOS_IS_VM_SETTINGS_DIALOG (self), NULL);
  return self->backup;
}

ChronosVmConfig *
chronos_vm_settings_dialog_get_config (ChronosVmSettingsDialog *self)
{
  g_return_val_if_fail (CHRONOS_IS_VM_SETTINGS_DIALOG (self), NULL);
  return self->config;
}

ChronosVmSettingsPage *
chronos_vm_settings_dialog_get_page (ChronosVmSettingsDialog *self)
{
  g_return_val_if_fail (CHRONOS_IS_VM_SETTINGS_DIALOG (self), NULL);
  return self->page;
}
