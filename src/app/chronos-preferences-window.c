/* chronos-preferences-window.c: folders, QEMU and VM defaults
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Everything here is a GSettings key, edited live as GNOME preferences are:
 * the folder list ("backup-folders", which the library follows), the QEMU
 * folder ("qemu-dir", empty for automatic) and the VM defaults (a
 * ChronosVmConfig bound both ways to the "vm-*" keys, shown by the same
 * page the boot dialog uses).
 */

#include "config.h"

#include <glib/gi18n-lib.h>

#include "chronos-a11y.h"
#include "chronos-app-format.h"
#include "chronos-download-dialog.h"
#include "chronos-preferences-window.h"
#include "chronos-qemu.h"
#include "chronos-vm-settings-store.h"

struct _ChronosPreferencesWindow
{
  AdwPreferencesWindow parent_instance;

  ChronosApplication    *application;
  GSettings             *settings;
  ChronosVmConfig       *defaults;
  ChronosVmSettingsPage *vm_page;
  GPtrArray             *folder_rows;
  GCancellable          *cancellable;

  GtkButton           *add_folder_button;
  AdwPreferencesGroup *folders_group;
  GtkButton           *qemu_choose_button;
  GtkButton           *qemu_download_button;
  GtkButton           *qemu_reset_button;
  AdwActionRow        *qemu_row;
};

G_DEFINE_FINAL_TYPE (ChronosPreferencesWindow, chronos_preferences_window, ADW_TYPE_PREFERENCES_WINDOW)

static void
remove_folder_cb (GtkButton                *button,
                  ChronosPreferencesWindow *self)
{
  const char *path = g_object_get_data (G_OBJECT (button), "folder-path");
  g_autoptr (GFile) folder = g_file_new_for_path (path);

  chronos_application_remove_folder (self->application, folder);
}

static void
update_folders (ChronosPreferencesWindow *self)
{
  g_auto (GStrv) paths = g_settings_get_strv (self->settings, "backup-folders");

  for (guint i = 0; i < self->folder_rows->len; i++)
    adw_preferences_group_remove (self->folders_group, g_ptr_array_index (self->folder_rows, i));
  g_ptr_array_set_size (self->folder_rows, 0);

  if (paths[0] == NULL)
    {
      GtkWidget *row = adw_action_row_new ();

      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), _ ("No backup folders yet"));
      gtk_widget_add_css_class (row, "dim-label");
      adw_preferences_group_add (self->folders_group, row);
      g_ptr_array_add (self->folder_rows, row);
      return;
    }

  for (guint i = 0; paths[i] != NULL; i++)
    {
      g_autoptr (GFile) folder = g_file_new_for_path (paths[i]);
      g_autofree char *title = chronos_format_folder (folder);
      g_autofree char *label = NULL;
      GtkWidget       *row = adw_action_row_new ();
      GtkWidget       *icon = gtk_image_new_from_icon_name ("folder-symbolic");
      GtkWidget       *button = gtk_button_new_from_icon_name ("user-trash-symbolic");

      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
      adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
      adw_action_row_add_prefix (ADW_ACTION_ROW (row), icon);

      gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
      gtk_widget_add_css_class (button, "flat");
      gtk_widget_set_tooltip_text (button, _ ("Remove Folder"));
      /* Translators: %s is a folder, "~/Backups" */
      label = g_strdup_printf (_ ("Remove %s"), title);
      gtk_accessible_update_property (GTK_ACCESSIBLE (button), GTK_ACCESSIBLE_PROPERTY_LABEL, label, -1);
      g_object_set_data_full (G_OBJECT (button), "folder-path", g_strdup (paths[i]), g_free);
      g_signal_connect (button, "clicked", G_CALLBACK (remove_folder_cb), self);
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), button);

      adw_preferences_group_add (self->folders_group, row);
      g_ptr_array_add (self->folder_rows, row);
    }
}

static void
qemu_found_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr (ChronosPreferencesWindow) self = user_data;
  g_autoptr (ChronosQemu) qemu = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *subtitle = NULL;
  g_autofree char *dir = NULL;

  qemu = chronos_qemu_find_finish (result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  dir = g_settings_get_string (self->settings, "qemu-dir");
  if (qemu != NULL)
    /* Translators: "Automatic: QEMU 7.2.22 in /usr/bin" */
    subtitle = g_strdup_printf (dir[0] != '\0' ? _ ("QEMU %s in %s") : _ ("Automatic: QEMU %s in %s"),
                                chronos_qemu_get_version_string (qemu),
                                chronos_qemu_get_bin_dir (qemu));
  else
    subtitle = g_strdup (error->message);
  adw_action_row_set_subtitle (self->qemu_row, subtitle);
  /* Offer to fetch it only where Chronos may install QEMU itself. */
  gtk_widget_set_visible (GTK_WIDGET (self->qemu_download_button),
                          qemu == NULL && dir[0] == '\0' && !chronos_provisioner_is_sandboxed ());
}

static void
update_qemu (ChronosPreferencesWindow *self)
{
  g_autofree char *dir = g_settings_get_string (self->settings, "qemu-dir");

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();

  adw_action_row_set_subtitle (self->qemu_row, _ ("Looking for QEMU…"));
  gtk_widget_set_visible (GTK_WIDGET (self->qemu_reset_button), dir[0] != '\0');
  chronos_qemu_find_async (dir[0] != '\0' ? dir : NULL, self->cancellable, qemu_found_cb,
                           g_object_ref (self));
}

static void
add_folder_response_cb (ChronosPreferencesWindow *self,
                        int                       response,
                        GtkFileChooserNative     *chooser)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GListModel) files = gtk_file_chooser_get_files (GTK_FILE_CHOOSER (chooser));

      for (guint i = 0; i < g_list_model_get_n_items (files); i++)
        {
          g_autoptr (GFile) folder = g_list_model_get_item (files, i);

          chronos_application_add_folder (self->application, folder);
        }
    }
  g_object_unref (chooser);
}

static void
add_folder_cb (ChronosPreferencesWindow *self)
{
  GtkFileChooserNative *chooser;

  chooser = gtk_file_chooser_native_new (_ ("Add Backup Folder"), GTK_WINDOW (self),
                                         GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER,
                                         _ ("_Add"), _ ("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  gtk_file_chooser_set_select_multiple (GTK_FILE_CHOOSER (chooser), TRUE);
  g_signal_connect_object (chooser, "response", G_CALLBACK (add_folder_response_cb), self,
                           G_CONNECT_SWAPPED);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

static void
qemu_response_cb (ChronosPreferencesWindow *self,
                  int                       response,
                  GtkFileChooserNative     *chooser)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GFile) folder = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
      g_autofree char *path = folder != NULL ? g_file_get_path (folder) : NULL;

      if (path != NULL)
        g_settings_set_string (self->settings, "qemu-dir", path);
    }
  g_object_unref (chooser);
}

static void
qemu_choose_cb (ChronosPreferencesWindow *self)
{
  GtkFileChooserNative *chooser;

  chooser = gtk_file_chooser_native_new (_ ("Choose the QEMU Folder"), GTK_WINDOW (self),
                                         GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER,
                                         _ ("_Choose"), _ ("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  g_signal_connect_object (chooser, "response", G_CALLBACK (qemu_response_cb), self,
                           G_CONNECT_SWAPPED);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

static void
qemu_download_cb (ChronosPreferencesWindow *self)
{
  GtkWidget *dialog = chronos_download_dialog_new (GTK_WINDOW (self), NULL);

  g_signal_connect_object (dialog, "installed", G_CALLBACK (update_qemu), self, G_CONNECT_SWAPPED);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
qemu_reset_cb (ChronosPreferencesWindow *self)
{
  g_settings_reset (self->settings, "qemu-dir");
}

static void
chronos_preferences_window_dispose (GObject *object)
{
  ChronosPreferencesWindow *self = (ChronosPreferencesWindow *)object;

  g_cancellable_cancel (self->cancellable);
  gtk_widget_dispose_template (GTK_WIDGET (self), CHRONOS_TYPE_PREFERENCES_WINDOW);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->defaults);
  g_clear_object (&self->settings);
  g_clear_pointer (&self->folder_rows, g_ptr_array_unref);

  G_OBJECT_CLASS (chronos_preferences_window_parent_class)->dispose (object);
}

static void
chronos_preferences_window_class_init (ChronosPreferencesWindowClass *klass)
{
  GObjectClass   *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = chronos_preferences_window_dispose;

  gtk_widget_class_set_template_from_resource (widget_class, "/org/chronos/Chronos/chronos-preferences-window.ui");
  gtk_widget_class_bind_template_child (widget_class, ChronosPreferencesWindow, add_folder_button);
  gtk_widget_class_bind_template_child (widget_class, ChronosPreferencesWindow, folders_group);
  gtk_widget_class_bind_template_child (widget_class, ChronosPreferencesWindow, qemu_choose_button);
  gtk_widget_class_bind_template_child (widget_class, ChronosPreferencesWindow, qemu_download_button);
  gtk_widget_class_bind_template_child (widget_class, ChronosPreferencesWindow, qemu_reset_button);
  gtk_widget_class_bind_template_child (widget_class, ChronosPreferencesWindow, qemu_row);
  gtk_widget_class_bind_template_callback (widget_class, add_folder_cb);
  gtk_widget_class_bind_template_callback (widget_class, qemu_choose_cb);
  gtk_widget_class_bind_template_callback (widget_class, qemu_download_cb);
  gtk_widget_class_bind_template_callback (widget_class, qemu_reset_cb);
}

static void
chronos_preferences_window_init (ChronosPreferencesWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  chronos_a11y_fix_mnemonic_buttons (GTK_WIDGET (self));
  self->folder_rows = g_ptr_array_new ();
}

GtkWidget *
chronos_preferences_window_new (ChronosApplication *application)
{
  ChronosPreferencesWindow *self;

  g_return_val_if_fail (CHRONOS_IS_APPLICATION (application), NULL);

  self = g_object_new (CHRONOS_TYPE_PREFERENCES_WINDOW, NULL);
  self->application = application;
  self->settings = g_object_ref (chronos_application_get_settings (application));

  /* The defaults: a config that is the vm-* keys, both ways. */
  self->defaults = chronos_vm_config_new ();
  chronos_vm_settings_bind_defaults (self->settings, self->defaults, G_SETTINGS_BIND_DEFAULT);
  self->vm_page = CHRONOS_VM_SETTINGS_PAGE (chronos_vm_settings_page_new (self->defaults, FALSE));
  adw_preferences_page_set_title (ADW_PREFERENCES_PAGE (self->vm_page), _ ("New VMs"));
  adw_preferences_window_add (ADW_PREFERENCES_WINDOW (self), ADW_PREFERENCES_PAGE (self->vm_page));

  g_signal_connect_object (self->settings, "changed::backup-folders",
                           G_CALLBACK (update_folders), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->settings, "changed::qemu-dir",
                           G_CALLBACK (update_qemu), self, G_CONNECT_SWAPPED);
  update_folders (self);
  update_qemu (self);

  return GTK_WIDGET (self);
}

ChronosVmSettingsPage *
chronos_preferences_window_get_vm_page (ChronosPreferencesWindow *self)
{
  g_return_val_if_fail (CHRONOS_IS_PREFERENCES_WINDOW (self), NULL);
  return self->vm_page;
}
