/* chronos-application.c: the Chronos GtkApplication
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Owns what outlives a window: the settings and the backup library. The
 * library follows the "backup-folders" setting, so every way of adding a
 * folder (the file chooser, the command line, drag and drop, Preferences)
 * only edits the setting.
 */

#include "config.h"

#include <glib/gi18n-lib.h>

#include "chronos-application.h"
#include "chronos-verification.h"
#include "chronos-preferences-window.h"
#include "chronos-window.h"
#ifdef CHRONOS_HAVE_VM
#include "chronos-vm.h"
#endif

struct _ChronosApplication
{
  AdwApplication parent_instance;

  GSettings            *settings;
  ChronosBackupLibrary *library;
  GFile                *demo_library;
  GListStore           *vms;
  GPtrArray            *pending_verifications; /* ChronosBackup */
  guint                 verifications_idle;
};

G_DEFINE_FINAL_TYPE (ChronosApplication, chronos_application, ADW_TYPE_APPLICATION)

static void
sync_folders (ChronosApplication *self)
{
  g_auto (GStrv) paths = g_settings_get_strv (self->settings, "backup-folders");
  GListModel *folders = chronos_backup_library_get_folders (self->library);
  g_autoptr (GPtrArray) stale = g_ptr_array_new_with_free_func (g_object_unref);

  for (guint i = 0; i < g_list_model_get_n_items (folders); i++)
    {
      g_autoptr (GFile) folder = g_list_model_get_item (folders, i);
      g_autofree char *path = g_file_get_path (folder);

      if (path == NULL || !g_strv_contains ((const char *const *)paths, path))
        g_ptr_array_add (stale, g_steal_pointer (&folder));
    }
  for (guint i = 0; i < stale->len; i++)
    chronos_backup_library_remove_folder (self->library, g_ptr_array_index (stale, i));

  for (guint i = 0; paths[i] != NULL; i++)
    {
      g_autoptr (GFile) folder = g_file_new_for_path (paths[i]);

      chronos_backup_library_add_folder (self->library, folder);
    }
}

/* Last verifications, read off the main thread for backups as they are
 * listed, so the list shows "verified" and "problem" from the start. */

static void
load_verifications_thread (GTask        *task,
                           gpointer      source_object,
                           gpointer      task_data,
                           GCancellable *cancellable)
{
  GPtrArray *backups = task_data;
  GPtrArray *results = g_ptr_array_new_with_free_func ((GDestroyNotify)g_object_unref);

  for (guint i = 0; i < backups->len; i++)
    {
      ChronosVerification *verification =
          chronos_verification_load_for_image (chronos_backup_get_path (g_ptr_array_index (backups, i)), NULL);

      /* Keep the arrays aligned: a placeholder for "none". */
      g_ptr_array_add (results, verification != NULL ? G_OBJECT (verification) : g_object_new (G_TYPE_OBJECT, NULL));
    }
  g_task_return_pointer (task, results, (GDestroyNotify)g_ptr_array_unref);
}

static void
load_verifications_cb (GObject      *object,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  GPtrArray *backups = g_task_get_task_data (G_TASK (result));
  g_autoptr (GPtrArray) results = g_task_propagate_pointer (G_TASK (result), NULL);

  for (guint i = 0; results != NULL && i < results->len; i++)
    {
      GObject             *item = g_ptr_array_index (results, i);
      ChronosBackup       *backup = g_ptr_array_index (backups, i);
      ChronosVerification *verification;

      if (!CHRONOS_IS_VERIFICATION (item) || chronos_backup_get_has_verification (backup))
        continue;
      verification = CHRONOS_VERIFICATION (item);
      chronos_backup_set_verification (backup,
                                       chronos_verification_get_verdict (verification),
                                       chronos_verification_get_reason (verification),
                                       chronos_verification_get_screenshot (verification),
                                       chronos_verification_get_started (verification));
    }
}

static gboolean
load_pending_verifications_cb (gpointer user_data)
{
  ChronosApplication *self = user_data;
  g_autoptr (GTask) task = NULL;

  self->verifications_idle = 0;
  task = g_task_new (self, NULL, load_verifications_cb, NULL);
  g_task_set_source_tag (task, load_pending_verifications_cb);
  g_task_set_task_data (task, g_steal_pointer (&self->pending_verifications),
                        (GDestroyNotify)g_ptr_array_unref);
  g_task_run_in_thread (task, load_verifications_thread);
  return G_SOURCE_REMOVE;
}

static void
library_items_changed_cb (ChronosApplication *self,
                          guint               position,
                          guint               removed,
                          guint               added,
                          GListModel         *model)
{
  if (added == 0)
    return;

  /* The library announces backups one by one as it finds them: collect
   * them and read their results in one batch. */
  if (self->pending_verifications == NULL)
    self->pending_verifications = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < added; i++)
    g_ptr_array_add (self->pending_verifications, g_list_model_get_item (model, position + i));
  if (self->verifications_idle == 0)
    self->verifications_idle = g_idle_add (load_pending_verifications_cb, self);
}

static void
folders_changed_cb (ChronosApplication *self)
{
  sync_folders (self);
}

static ChronosWindow *
get_window (ChronosApplication *self)
{
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));

  if (window == NULL)
    window = GTK_WINDOW (chronos_window_new (self));
  return CHRONOS_WINDOW (window);
}

static void
chronos_application_activate (GApplication *application)
{
  gtk_window_present (GTK_WINDOW (get_window (CHRONOS_APPLICATION (application))));
}

static void
chronos_application_open (GApplication *application,
                          GFile       **files,
                          int           n_files,
                          const char   *hint)
{
  ChronosWindow *window = get_window (CHRONOS_APPLICATION (application));

  for (int i = 0; i < n_files; i++)
    chronos_window_open (window, files[i]);
  gtk_window_present (GTK_WINDOW (window));
}

static void
chronos_application_startup (GApplication *application)
{
  ChronosApplication *self = CHRONOS_APPLICATION (application);
  static const char  *quit_accels[] = { "<Control>q", NULL };
  static const char  *preferences_accels[] = { "<Control>comma", NULL };
  static const char  *add_folder_accels[] = { "<Control>o", NULL };
  static const char  *search_accels[] = { "<Control>f", NULL };
  static const char  *boot_accels[] = { "<Control>b", NULL };
  static const char  *verify_accels[] = { "<Control><Shift>b", NULL };
  static const char  *convert_accels[] = { "<Control><Shift>s", NULL };
  static const char  *help_accels[] = { "<Control>question", NULL };

  G_APPLICATION_CLASS (chronos_application_parent_class)->startup (application);

  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "app.quit", quit_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "app.preferences", preferences_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "win.add-folder", add_folder_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "win.search", search_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "win.boot", boot_accels);
  /* Verifying is booting without a screen: the boot key with Shift.
   * Converting saves a copy in another format: GNOME's "Save As". */
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "win.verify", verify_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "win.convert", convert_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "win.show-help-overlay", help_accels);

  self->settings = g_settings_new ("org.chronos.Chronos");
  self->library = chronos_backup_library_new ();
  g_signal_connect_object (self->library, "items-changed",
                           G_CALLBACK (library_items_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->settings, "changed::backup-folders",
                           G_CALLBACK (folders_changed_cb), self, G_CONNECT_SWAPPED);
  sync_folders (self);
}

static void
chronos_application_shutdown (GApplication *application)
{
  ChronosApplication *self = CHRONOS_APPLICATION (application);

#ifdef CHRONOS_HAVE_VM
  /* Never leave QEMU behind: whatever still runs now (the windows asked
   * first, so this is a quit from outside) is stopped at once. */
  for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (self->vms)); i++)
    {
      g_autoptr (ChronosVm) vm = g_list_model_get_item (G_LIST_MODEL (self->vms), i);

      chronos_vm_force_stop (vm);
    }
#endif

  G_APPLICATION_CLASS (chronos_application_parent_class)->shutdown (application);

  g_clear_handle_id (&self->verifications_idle, g_source_remove);
  g_clear_pointer (&self->pending_verifications, g_ptr_array_unref);
  g_clear_object (&self->library);
  g_clear_object (&self->settings);
}

static void
chronos_application_finalize (GObject *object)
{
  ChronosApplication *self = (ChronosApplication *)object;

  g_clear_handle_id (&self->verifications_idle, g_source_remove);
  g_clear_pointer (&self->pending_verifications, g_ptr_array_unref);
  g_clear_object (&self->demo_library);
  g_clear_object (&self->vms);
  g_clear_object (&self->library);
  g_clear_object (&self->settings);

  G_OBJECT_CLASS (chronos_application_parent_class)->finalize (object);
}

static void
chronos_application_class_init (ChronosApplicationClass *klass)
{
  GObjectClass      *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  object_class->finalize = chronos_application_finalize;

  app_class->activate = chronos_application_activate;
  app_class->open = chronos_application_open;
  app_class->startup = chronos_application_startup;
  app_class->shutdown = chronos_application_shutdown;
}

static void
quit_action (GSimpleAction *action,
             GVariant      *parameter,
             gpointer       user_data)
{
  ChronosApplication *self = user_data;
  g_autoptr (GList) windows = g_list_copy (gtk_application_get_windows (GTK_APPLICATION (self)));

  /* Closing goes through each window's close request, which asks about
   * running VMs; quitting directly would leave them behind. */
  for (GList *l = windows; l != NULL; l = l->next)
    gtk_window_close (GTK_WINDOW (l->data));
}

static void
preferences_action (GSimpleAction *action,
                    GVariant      *parameter,
                    gpointer       user_data)
{
  ChronosApplication *self = user_data;
  GtkWindow          *parent = gtk_application_get_active_window (GTK_APPLICATION (self));
  GtkWidget          *preferences = chronos_preferences_window_new (self);

  gtk_window_set_transient_for (GTK_WINDOW (preferences), parent);
  gtk_window_present (GTK_WINDOW (preferences));
}

static void
about_action (GSimpleAction *action,
              GVariant      *parameter,
              gpointer       user_data)
{
  ChronosApplication *self = user_data;
  GtkWindow          *parent = gtk_application_get_active_window (GTK_APPLICATION (self));
  static const char  *developers[] = { "The Chronos developers", NULL };
  GtkWidget          *about;

  about = g_object_new (ADW_TYPE_ABOUT_WINDOW,
                        "transient-for", parent,
                        "modal", TRUE,
                        "application-name", _ ("Chronos"),
                        "application-icon", APP_ID,
                        "developer-name", _ ("The Chronos developers"),
                        "developers", developers,
                        "version", PACKAGE_VERSION,
                        "comments", _ ("Boot disk-image backups as virtual machines, to check that they really boot and to get files back, without ever changing the backup."),
                        "license-type", GTK_LICENSE_GPL_2_0,
                        "copyright", "© 2026 The Chronos developers",
                        "translator-credits", _ ("translator-credits"),
                        NULL);
  gtk_window_present (GTK_WINDOW (about));
}

static const GActionEntry app_actions[] = {
  { "quit", quit_action },
  { "preferences", preferences_action },
  { "about", about_action },
};

static void
chronos_application_init (ChronosApplication *self)
{
  const char *demo = g_getenv ("CHRONOS_DEMO_LIBRARY");

  self->vms = g_list_store_new (G_TYPE_OBJECT);
  g_action_map_add_action_entries (G_ACTION_MAP (self), app_actions,
                                   G_N_ELEMENTS (app_actions), self);

  if (demo != NULL && demo[0] != '\0' && g_file_test (demo, G_FILE_TEST_IS_DIR))
    self->demo_library = g_file_new_for_path (demo);
}

ChronosApplication *
chronos_application_new (void)
{
  return g_object_new (CHRONOS_TYPE_APPLICATION,
                       "application-id", APP_ID,
                       "flags", G_APPLICATION_HANDLES_OPEN,
                       /* The .Devel build shares the resources. */
                       "resource-base-path", "/org/chronos/Chronos",
                       NULL);
}

GSettings *
chronos_application_get_settings (ChronosApplication *self)
{
  g_return_val_if_fail (CHRONOS_IS_APPLICATION (self), NULL);
  return self->settings;
}

ChronosBackupLibrary *
chronos_application_get_library (ChronosApplication *self)
{
  g_return_val_if_fail (CHRONOS_IS_APPLICATION (self), NULL);
  return self->library;
}

void
chronos_application_add_folder (ChronosApplication *self,
                                GFile              *folder)
{
  g_auto (GStrv) paths = NULL;
  g_autoptr (GStrvBuilder) builder = NULL;
  g_autofree char *path = NULL;

  g_return_if_fail (CHRONOS_IS_APPLICATION (self));
  g_return_if_fail (G_IS_FILE (folder));

  path = g_file_get_path (folder);
  if (path == NULL)
    return;

  paths = g_settings_get_strv (self->settings, "backup-folders");
  if (g_strv_contains ((const char *const *)paths, path))
    return;

  builder = g_strv_builder_new ();
  g_strv_builder_addv (builder, (const char **)paths);
  g_strv_builder_add (builder, path);
  g_clear_pointer (&paths, g_strfreev);
  paths = g_strv_builder_end (builder);
  g_settings_set_strv (self->settings, "backup-folders", (const char *const *)paths);
}

void
chronos_application_remove_folder (ChronosApplication *self,
                                   GFile              *folder)
{
  g_auto (GStrv) paths = NULL;
  g_autoptr (GStrvBuilder) builder = NULL;
  g_autofree char *path = NULL;

  g_return_if_fail (CHRONOS_IS_APPLICATION (self));
  g_return_if_fail (G_IS_FILE (folder));

  path = g_file_get_path (folder);
  paths = g_settings_get_strv (self->settings, "backup-folders");
  builder = g_strv_builder_new ();
  for (guint i = 0; paths[i] != NULL; i++)
    if (g_strcmp0 (paths[i], path) != 0)
      g_strv_builder_add (builder, paths[i]);
  g_clear_pointer (&paths, g_strfreev);
  paths = g_strv_builder_end (builder);
  g_settings_set_strv (self->settings, "backup-folders", (const char *const *)paths);
}

GListModel *
chronos_application_get_vms (ChronosApplication *self)
{
  g_return_val_if_fail (CHRONOS_IS_APPLICATION (self), NULL);
  return G_LIST_MODEL (self->vms);
}

void
chronos_application_add_vm (ChronosApplication *self,
                            GObject            *vm)
{
  g_return_if_fail (CHRONOS_IS_APPLICATION (self));
  g_return_if_fail (G_IS_OBJECT (vm));

  g_list_store_append (self->vms, vm);
  /* A running VM keeps the app alive even without a window. */
  g_application_hold (G_APPLICATION (self));
}

void
chronos_application_remove_vm (ChronosApplication *self,
                               GObject            *vm)
{
  guint position;

  g_return_if_fail (CHRONOS_IS_APPLICATION (self));

  if (g_list_store_find (self->vms, vm, &position))
    {
      g_list_store_remove (self->vms, position);
      g_application_release (G_APPLICATION (self));
    }
}

GFile *
chronos_application_get_demo_library (ChronosApplication *self)
{
  g_return_val_if_fail (CHRONOS_IS_APPLICATION (self), NULL);
  return self->demo_library;
}
