/* chronos-window-vms.c: booting backups and the VMs that run from them
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * "Boot as VM" finds QEMU (offering the download when it is missing), asks
 * the VM settings, starts a ChronosVm and shows it in the details: state,
 * elapsed time, the accelerator it really got and why it fell back, Shut
 * Down and Force Stop. The VMs belong to the application, so several run at
 * once and quitting stops them all; each remembers its backup.
 */

#include "config.h"

#include <glib/gi18n-lib.h>

#include "chronos-a11y.h"
#include "chronos-accel.h"
#include "chronos-app-format.h"
#include "chronos-download-dialog.h"
#include "chronos-provisioner.h"
#include "chronos-qemu-error.h"
#include "chronos-vm-settings-dialog.h"
#include "chronos-vm-settings-store.h"
#include "chronos-vm.h"
#include "chronos-window-private.h"

#define BACKUP_KEY "chronos-backup"

static ChronosBackup *
vm_backup (ChronosVm *vm)
{
  return g_object_get_data (G_OBJECT (vm), BACKUP_KEY);
}

static ChronosVm *
find_vm (ChronosWindow *self,
         ChronosBackup *backup)
{
  GListModel *vms = chronos_application_get_vms (self->application);

  for (guint i = 0; backup != NULL && i < g_list_model_get_n_items (vms); i++)
    {
      g_autoptr (ChronosVm) vm = g_list_model_get_item (vms, i);

      if (vm_backup (vm) == backup)
        return vm; /* the application's list keeps it alive */
    }
  return NULL;
}

gboolean
_chronos_window_has_vm (ChronosWindow *self,
                        ChronosBackup *backup)
{
  return find_vm (self, backup) != NULL;
}

static const char *
state_title (ChronosVmState state)
{
  switch (state)
    {
    case CHRONOS_VM_STATE_STARTING:
      return _ ("Starting…");
    case CHRONOS_VM_STATE_RUNNING:
      return _ ("Running");
    case CHRONOS_VM_STATE_PAUSED:
      return _ ("Paused");
    case CHRONOS_VM_STATE_STOPPING:
      return _ ("Shutting Down…");
    case CHRONOS_VM_STATE_STOPPED:
      return _ ("Stopped");
    case CHRONOS_VM_STATE_FAILED:
      return _ ("Failed");
    default:
      return "";
    }
}

static const char *
display_title (ChronosDisplayMode display)
{
  switch (display)
    {
    case CHRONOS_DISPLAY_MODE_WINDOW:
      return _ ("In its own window");
    case CHRONOS_DISPLAY_MODE_VNC:
      return _ ("VNC");
    case CHRONOS_DISPLAY_MODE_NONE:
      return _ ("Headless, no screen");
    default:
      return "";
    }
}

static void
update_elapsed (ChronosWindow *self,
                ChronosVm     *vm)
{
  g_autofree char *elapsed = NULL;
  g_autofree char *subtitle = NULL;

  if (self->vm_status_row == NULL)
    return;

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->vm_status_row),
                                 state_title (chronos_vm_get_state (vm)));
  if (chronos_vm_get_state (vm) == CHRONOS_VM_STATE_RUNNING)
    {
      elapsed = chronos_format_elapsed ((gint64)chronos_vm_get_elapsed (vm));
      /* Translators: how long a VM has been running, "for 1:23" */
      subtitle = g_strdup_printf (_ ("for %s"), elapsed);
    }
  adw_action_row_set_subtitle (self->vm_status_row, subtitle != NULL ? subtitle : "");
}

static gboolean
tick_cb (gpointer user_data)
{
  ChronosWindow *self = user_data;
  ChronosVm     *vm = find_vm (self, self->selected);

  if (vm != NULL)
    update_elapsed (self, vm);
  return G_SOURCE_CONTINUE;
}

static GtkWidget *
add_vm_row (ChronosWindow *self,
            const char    *title,
            const char    *subtitle,
            const char    *icon_name)
{
  AdwPreferencesGroup *group = chronos_backup_details_get_vm_group (self->details);
  GtkWidget           *row = adw_action_row_new ();

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  if (subtitle != NULL)
    adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
  adw_action_row_set_subtitle_lines (ADW_ACTION_ROW (row), 0);
  if (icon_name != NULL)
    adw_action_row_set_icon_name (ADW_ACTION_ROW (row), icon_name);
  adw_preferences_group_add (group, row);
  g_ptr_array_add (self->vm_rows, row);
  return row;
}

void
_chronos_window_update_vm (ChronosWindow *self)
{
  AdwPreferencesGroup *group = chronos_backup_details_get_vm_group (self->details);
  ChronosVm           *vm = find_vm (self, self->selected);
  const char *const   *notes;
  g_autofree char     *accel_reason = NULL;
  ChronosAccelKind     accel;
  const char          *accel_title;

  for (guint i = 0; i < self->vm_rows->len; i++)
    adw_preferences_group_remove (group, g_ptr_array_index (self->vm_rows, i));
  g_ptr_array_set_size (self->vm_rows, 0);
  self->vm_status_row = NULL;

  gtk_widget_set_visible (GTK_WIDGET (group), vm != NULL);
  if (vm == NULL)
    return;

  self->vm_status_row = ADW_ACTION_ROW (add_vm_row (self, "", NULL, "media-playback-start-symbolic"));
  gtk_widget_add_css_class (GTK_WIDGET (self->vm_status_row), "vm-elapsed");
  update_elapsed (self, vm);

  /* What the VM really runs on, and why it is slower when it fell back. */
  accel = chronos_vm_get_accel (vm);
  if (accel == CHRONOS_ACCEL_KIND_UNKNOWN)
    accel_title = _ ("Acceleration not known yet");
  else
    accel_title = chronos_accel_kind_get_label (accel);
  if (chronos_vm_get_fell_back (vm) && chronos_vm_get_fallback_reason (vm) != NULL)
    /* Translators: why the VM fell back to software emulation */
    accel_reason = g_strdup_printf (_ ("Fell back: %s"), chronos_vm_get_fallback_reason (vm));
  add_vm_row (self, accel_title, accel_reason,
              accel == CHRONOS_ACCEL_KIND_TCG ? "dialog-information-symbolic" : "emblem-ok-symbolic");

  add_vm_row (self, display_title (chronos_vm_config_get_display (chronos_vm_get_config (vm))),
              chronos_vm_get_vnc_socket_path (vm), "video-display-symbolic");

  if (!chronos_vm_config_get_protect_backup (chronos_vm_get_config (vm)))
    add_vm_row (self, _ ("Writing into the backup"),
                _ ("Changes the VM makes go into the backup file itself."), "dialog-warning-symbolic");

  notes = chronos_vm_get_notes (vm);
  for (guint i = 0; notes != NULL && notes[i] != NULL; i++)
    add_vm_row (self, notes[i], NULL, "dialog-information-symbolic");

  if (chronos_vm_get_log_path (vm) != NULL)
    {
      g_autofree char *log = g_strdup (chronos_vm_get_log_path (vm));
      GtkWidget       *row = add_vm_row (self, _ ("Log"), log, "text-x-generic-symbolic");

      gtk_widget_set_tooltip_text (row, log);
    }
}

static void
vm_notify_cb (ChronosWindow *self,
              GParamSpec    *pspec,
              ChronosVm     *vm)
{
  if (vm_backup (vm) == self->selected)
    {
      /* The elapsed time ticks on its own; everything else rebuilds. */
      if (g_str_equal (pspec->name, "state") || g_str_equal (pspec->name, "accel") ||
          g_str_equal (pspec->name, "fell-back") || g_str_equal (pspec->name, "log-path"))
        _chronos_window_update_vm (self);
    }
  _chronos_window_actions_update (self);
}

static void
maybe_finish_close (ChronosWindow *self)
{
  if (self->closing && g_list_model_get_n_items (chronos_application_get_vms (self->application)) == 0)
    gtk_window_close (GTK_WINDOW (self));
}

static void
vm_exited_cb (ChronosWindow      *self,
              ChronosVmExitReason reason,
              const char         *message,
              ChronosVm          *vm)
{
  g_autoptr (ChronosVm) hold = g_object_ref (vm);
  ChronosBackup   *backup = vm_backup (vm);
  g_autofree char *heading = NULL;

  g_signal_handlers_disconnect_by_data (vm, self);
  chronos_backup_set_running (backup, FALSE);
  chronos_application_remove_vm (self->application, G_OBJECT (vm));

  switch (reason)
    {
    case CHRONOS_VM_EXIT_REASON_CRASHED:
    case CHRONOS_VM_EXIT_REASON_FAILED_TO_START:
      /* Translators: %s is a backup's name */
      heading = g_strdup_printf (_ ("“%s” Stopped Unexpectedly"), chronos_backup_get_display_name (backup));
      _chronos_window_show_error (self, heading,
                                  message != NULL ? message : _ ("QEMU ended with an error."),
                                  chronos_vm_get_log_path (vm));
      break;

    case CHRONOS_VM_EXIT_REASON_GUEST_SHUTDOWN:
    case CHRONOS_VM_EXIT_REASON_HOST_QUIT:
    case CHRONOS_VM_EXIT_REASON_FORCED:
    case CHRONOS_VM_EXIT_REASON_NONE:
    default:
      {
        /* Translators: %s is a backup's name */
        g_autofree char *title = g_strdup_printf (_ ("“%s” was shut down"), chronos_backup_get_display_name (backup));

        chronos_window_add_toast (self, title);
      }
      break;
    }

  _chronos_window_update_vm (self);
  _chronos_window_actions_update (self);
  maybe_finish_close (self);
}

/* Starting */

typedef struct
{
  ChronosWindow *self;
  ChronosBackup *backup;
  ChronosQemu   *qemu;
} Boot;

static void
boot_free (Boot *boot)
{
  g_clear_object (&boot->self);
  g_clear_object (&boot->backup);
  g_clear_object (&boot->qemu);
  g_free (boot);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Boot, boot_free)

static void
start_cb (GObject      *object,
          GAsyncResult *result,
          gpointer      user_data)
{
  ChronosVm *vm = CHRONOS_VM (object);
  g_autoptr (Boot) boot = user_data;
  g_autoptr (GError) error = NULL;
  ChronosWindow *self = boot->self;

  if (chronos_vm_start_finish (vm, result, &error))
    {
      _chronos_window_update_vm (self);
      _chronos_window_actions_update (self);
      return;
    }

  g_signal_handlers_disconnect_by_data (vm, self);
  chronos_backup_set_running (boot->backup, FALSE);
  chronos_application_remove_vm (self->application, G_OBJECT (vm));
  _chronos_window_update_vm (self);
  _chronos_window_actions_update (self);

  if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      /* Translators: %s is a backup's name */
      g_autofree char *heading = g_strdup_printf (_ ("Could Not Boot “%s”"),
                                                  chronos_backup_get_display_name (boot->backup));
      const char      *log = chronos_vm_get_log_path (vm);

      _chronos_window_show_error (self, heading, error->message,
                                  log != NULL && g_file_test (log, G_FILE_TEST_EXISTS) ? log : NULL);
    }
  maybe_finish_close (self);
}

static void
settings_boot_cb (ChronosVmSettingsDialog *dialog,
                  ChronosVmConfig         *config,
                  Boot                    *boot)
{
  ChronosWindow *self = boot->self;
  g_autoptr (GError) error = NULL;
  g_autoptr (ChronosVm) vm = NULL;
  Boot *start;

  if (!chronos_vm_settings_save_for_backup (config, chronos_backup_get_path (boot->backup), &error))
    g_warning ("Could not remember the VM settings: %s", error->message);

  if (find_vm (self, boot->backup) != NULL)
    return; /* started twice from two dialogs: one is enough */

  vm = chronos_vm_new (boot->qemu, config, chronos_backup_get_path (boot->backup));
  g_object_set_data_full (G_OBJECT (vm), BACKUP_KEY, g_object_ref (boot->backup), g_object_unref);
  g_signal_connect_object (vm, "notify", G_CALLBACK (vm_notify_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (vm, "exited", G_CALLBACK (vm_exited_cb), self, G_CONNECT_SWAPPED);
  chronos_application_add_vm (self->application, G_OBJECT (vm));
  chronos_backup_set_running (boot->backup, TRUE);
  _chronos_window_update_vm (self);
  _chronos_window_actions_update (self);

  start = g_new0 (Boot, 1);
  start->self = g_object_ref (self);
  start->backup = g_object_ref (boot->backup);
  chronos_vm_start_async (vm, NULL, start_cb, start);
}

static void
show_settings (Boot *boot)
{
  ChronosWindow *self = boot->self;
  g_autoptr (ChronosVmConfig) config = NULL;
  GtkWidget *dialog;

  config = chronos_vm_settings_load_for_backup (chronos_application_get_settings (self->application),
                                                chronos_backup_get_path (boot->backup));
  dialog = chronos_vm_settings_dialog_new (GTK_WINDOW (self), boot->backup, config);
  /* The dialog owns the boot request from here on. */
  g_signal_connect_data (dialog, "boot", G_CALLBACK (settings_boot_cb), boot,
                         (GClosureNotify)boot_free, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void find_qemu (Boot *boot);

static void
qemu_installed_cb (GtkWidget *dialog,
                   Boot      *boot)
{
  /* Look again, now that it is there; the dialog frees its own copy. */
  Boot *again = g_new0 (Boot, 1);

  again->self = g_object_ref (boot->self);
  again->backup = g_object_ref (boot->backup);
  find_qemu (again);
}

static void
qemu_found_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr (Boot) boot = user_data;
  g_autoptr (GError) error = NULL;
  ChronosWindow *self = boot->self;

  boot->qemu = chronos_qemu_find_finish (result, &error);
  if (boot->qemu != NULL)
    {
      show_settings (g_steal_pointer (&boot));
      return;
    }

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  if (g_error_matches (error, CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_NOT_FOUND))
    {
      g_autofree char *qemu_dir = g_settings_get_string (chronos_application_get_settings (self->application),
                                                         "qemu-dir");

      /* Not there at all (and not a folder the person chose): offer it,
       * except in Flatpak, where QEMU comes with the app. */
      if (qemu_dir[0] == '\0' && !chronos_provisioner_is_sandboxed ())
        {
          GtkWidget *dialog = chronos_download_dialog_new (GTK_WINDOW (self), NULL);

          g_signal_connect_data (dialog, "installed", G_CALLBACK (qemu_installed_cb),
                                 g_steal_pointer (&boot), (GClosureNotify)boot_free, 0);
          gtk_window_present (GTK_WINDOW (dialog));
          return;
        }
    }

  _chronos_window_show_error (self, _ ("QEMU Is Needed"), error->message, NULL);
}

static void
find_qemu (Boot *boot)
{
  ChronosWindow   *self = boot->self;
  g_autofree char *qemu_dir = g_settings_get_string (chronos_application_get_settings (self->application),
                                                     "qemu-dir");

  chronos_qemu_find_async (qemu_dir[0] != '\0' ? qemu_dir : NULL, self->cancellable,
                           qemu_found_cb, boot);
}

void
_chronos_window_boot (ChronosWindow *self,
                      ChronosBackup *backup)
{
  Boot *boot;

  g_return_if_fail (CHRONOS_IS_WINDOW (self));
  g_return_if_fail (CHRONOS_IS_BACKUP (backup));

  if (find_vm (self, backup) != NULL)
    return;

  boot = g_new0 (Boot, 1);
  boot->self = g_object_ref (self);
  boot->backup = g_object_ref (backup);
  find_qemu (boot);
}

/* Stopping */

static void
shutdown_cb (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr (GError) error = NULL;

  /* The "exited" signal tells the window how it ended. */
  if (!chronos_vm_shutdown_finish (CHRONOS_VM (object), result, &error) &&
      !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_warning ("Shutting down the VM failed: %s", error->message);
}

static void
shutdown_action (GtkWidget  *widget,
                 const char *action_name,
                 GVariant   *parameter)
{
  ChronosWindow *self = CHRONOS_WINDOW (widget);
  ChronosVm     *vm = find_vm (self, self->selected);

  if (vm != NULL)
    chronos_vm_shutdown_async (vm, NULL, shutdown_cb, NULL);
}

static void
force_stop_action (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *parameter)
{
  ChronosWindow *self = CHRONOS_WINDOW (widget);
  ChronosVm     *vm = find_vm (self, self->selected);

  if (vm != NULL)
    chronos_vm_force_stop (vm);
}

void
_chronos_window_vms_actions_update (ChronosWindow *self)
{
  ChronosVm     *vm = find_vm (self, self->selected);
  ChronosVmState state = vm != NULL ? chronos_vm_get_state (vm) : CHRONOS_VM_STATE_STOPPED;
  gboolean       alive = vm != NULL && state != CHRONOS_VM_STATE_STOPPED && state != CHRONOS_VM_STATE_FAILED;

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.shutdown",
                                 alive && state != CHRONOS_VM_STATE_STOPPING);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.force-stop", alive);
}

/* Closing with VMs running */

static void
close_response_cb (AdwMessageDialog *dialog,
                   const char       *response,
                   ChronosWindow    *self)
{
  GListModel *vms = chronos_application_get_vms (self->application);

  if (g_strcmp0 (response, "shutdown") != 0 && g_strcmp0 (response, "force") != 0)
    return;

  self->closing = TRUE;
  for (guint i = 0; i < g_list_model_get_n_items (vms); i++)
    {
      g_autoptr (ChronosVm) vm = g_list_model_get_item (vms, i);

      if (g_str_equal (response, "force"))
        chronos_vm_force_stop (vm);
      else
        chronos_vm_shutdown_async (vm, NULL, shutdown_cb, NULL);
    }
  maybe_finish_close (self);
}

gboolean
_chronos_window_vms_close_request (ChronosWindow *self)
{
  GListModel      *vms = chronos_application_get_vms (self->application);
  guint            n = g_list_model_get_n_items (vms);
  g_autofree char *body = NULL;
  GtkWidget       *dialog;

  if (n == 0)
    return FALSE;
  if (self->closing)
    return TRUE; /* already shutting down; closes by itself */

  body = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                       "A virtual machine is still running. Shut it down before closing? "
                                       "What it changed is discarded; the backup stays as it was.",
                                       "%u virtual machines are still running. Shut them down before closing? "
                                       "What they changed is discarded; the backups stay as they were.",
                                       n),
                          n);
  dialog = adw_message_dialog_new (GTK_WINDOW (self), _ ("Shut Down Running VMs?"), body);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "cancel", _ ("_Keep Running"),
                                    "force", _ ("_Force Stop"),
                                    "shutdown", _ ("_Shut Down"),
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "force",
                                              ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "shutdown",
                                              ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "shutdown");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  g_signal_connect_object (dialog, "response", G_CALLBACK (close_response_cb), self, 0);
  chronos_a11y_fix_mnemonic_buttons (dialog);
  gtk_window_present (GTK_WINDOW (dialog));
  return TRUE;
}

/* Set-up */

void
_chronos_window_vms_class_init (GtkWidgetClass *widget_class)
{
  gtk_widget_class_install_action (widget_class, "win.shutdown", NULL, shutdown_action);
  gtk_widget_class_install_action (widget_class, "win.force-stop", NULL, force_stop_action);
}

void
_chronos_window_vms_init (ChronosWindow *self)
{
  AdwPreferencesGroup *group = chronos_backup_details_get_vm_group (self->details);
  GtkWidget           *shutdown = gtk_button_new_with_mnemonic (_ ("_Shut Down"));
  GtkWidget           *force = gtk_button_new_with_mnemonic (_ ("_Force Stop"));

  /* Shut Down asks the guest, as its power button would; Force Stop pulls
   * the plug. Both leave the backup as it was. */
  gtk_actionable_set_action_name (GTK_ACTIONABLE (shutdown), "win.shutdown");
  chronos_a11y_fix_mnemonic_buttons (shutdown);
  gtk_widget_set_tooltip_text (shutdown, _ ("Ask the guest to power off, as its power button would"));
  gtk_actionable_set_action_name (GTK_ACTIONABLE (force), "win.force-stop");
  chronos_a11y_fix_mnemonic_buttons (force);
  gtk_widget_set_tooltip_text (force, _ ("Stop the VM at once, like pulling its plug"));
  gtk_widget_add_css_class (force, "destructive-action");

  self->vm_buttons = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  gtk_widget_set_valign (self->vm_buttons, GTK_ALIGN_CENTER);
  gtk_box_append (GTK_BOX (self->vm_buttons), shutdown);
  gtk_box_append (GTK_BOX (self->vm_buttons), force);
  adw_preferences_group_set_header_suffix (group, self->vm_buttons);

  self->vm_tick_id = g_timeout_add_seconds (1, tick_cb, self);
}

void
_chronos_window_vms_dispose (ChronosWindow *self)
{
  GListModel *vms = self->application != NULL ? chronos_application_get_vms (self->application) : NULL;

  g_clear_handle_id (&self->vm_tick_id, g_source_remove);
  for (guint i = 0; vms != NULL && i < g_list_model_get_n_items (vms); i++)
    {
      g_autoptr (ChronosVm) vm = g_list_model_get_item (vms, i);

      g_signal_handlers_disconnect_by_data (vm, self);
    }
}
