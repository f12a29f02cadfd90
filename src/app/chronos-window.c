/* chronos-window.c: the main window, a backup browser
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * A leaflet with the backups on the left (grouped by folder, newest first,
 * searchable) and the selected backup's details on the right; it folds
 * into one column on narrow screens. The list is the application's
 * ChronosBackupLibrary seen through a filter and a sorter, so it follows
 * the folders on disk without any code here.
 */

#include "config.h"

#include <glib/gi18n-lib.h>

#include "chronos-a11y.h"
#include "chronos-app-format.h"
#include "chronos-backup-details.h"
#include "chronos-backup-row.h"
#include "chronos-converter.h"
#include "chronos-job-row.h"
#include "chronos-qemu.h"
#include "chronos-vm-settings-dialog.h"
#include "chronos-vm-settings-store.h"
#include "chronos-window-private.h"

G_DEFINE_FINAL_TYPE (ChronosWindow, chronos_window, ADW_TYPE_APPLICATION_WINDOW)

enum
{
  PROP_0,
  PROP_APPLICATION_OBJECT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void actions_update (ChronosWindow *self);
static void select_backup (ChronosWindow *self,
                           ChronosBackup *backup,
                           gboolean       navigate);

/* Sorting and grouping */

static guint
folder_index (ChronosBackupLibrary *library,
              GFile                *folder)
{
  GListModel *folders = chronos_backup_library_get_folders (library);
  guint       n = g_list_model_get_n_items (folders);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr (GFile) item = g_list_model_get_item (folders, i);

      if (g_file_equal (item, folder))
        return i;
    }
  return n;
}

/* Backups are grouped by the directory they are in, so that Windows
 * Backup's per-machine folders and a demo library's subfolders each get
 * their own heading. */
static GFile *
group_of (ChronosBackup *backup)
{
  return g_file_get_parent (chronos_backup_get_file (backup));
}

static int
compare_backups (gconstpointer a,
                 gconstpointer b,
                 gpointer      user_data)
{
  ChronosWindow *self = user_data;
  ChronosBackup *backup_a = (ChronosBackup *)a;
  ChronosBackup *backup_b = (ChronosBackup *)b;
  guint          folder_a = folder_index (self->library, chronos_backup_get_folder (backup_a));
  guint          folder_b = folder_index (self->library, chronos_backup_get_folder (backup_b));
  g_autoptr (GFile) group_a = NULL;
  g_autoptr (GFile) group_b = NULL;
  gint64 mtime_a, mtime_b;
  int    cmp;

  if (folder_a != folder_b)
    return folder_a < folder_b ? -1 : 1;

  group_a = group_of (backup_a);
  group_b = group_of (backup_b);
  if (!g_file_equal (group_a, group_b))
    {
      g_autofree char *path_a = g_file_get_path (group_a);
      g_autofree char *path_b = g_file_get_path (group_b);

      cmp = g_utf8_collate (path_a != NULL ? path_a : "", path_b != NULL ? path_b : "");
      if (cmp != 0)
        return cmp;
    }

  /* Newest first: the backup a person wants is usually the last one. */
  mtime_a = chronos_backup_get_mtime (backup_a);
  mtime_b = chronos_backup_get_mtime (backup_b);
  if (mtime_a != mtime_b)
    return mtime_a > mtime_b ? -1 : 1;

  return g_utf8_collate (chronos_backup_get_display_name (backup_a),
                         chronos_backup_get_display_name (backup_b));
}

static char *
group_title (ChronosBackup *backup)
{
  GFile *root = chronos_backup_get_folder (backup);
  g_autoptr (GFile) group = group_of (backup);
  g_autofree char *relative = g_file_get_relative_path (root, group);
  g_autofree char *root_name = NULL;

  if (relative == NULL)
    return chronos_format_folder (group);

  /* "Backups › Office-PC" */
  root_name = g_file_get_basename (root);
  return g_strdup_printf ("%s › %s", root_name, relative);
}

static void
update_header_cb (GtkListBoxRow *row,
                  GtkListBoxRow *before,
                  gpointer       user_data)
{
  ChronosBackup *backup = chronos_backup_row_get_backup (CHRONOS_BACKUP_ROW (row));
  g_autoptr (GFile) group = group_of (backup);
  g_autofree char *title = NULL;
  g_autofree char *tooltip = NULL;
  GtkWidget       *header;

  if (before != NULL)
    {
      g_autoptr (GFile) before_group = group_of (chronos_backup_row_get_backup (CHRONOS_BACKUP_ROW (before)));

      if (g_file_equal (group, before_group))
        {
          gtk_list_box_row_set_header (row, NULL);
          return;
        }
    }

  title = group_title (backup);
  tooltip = g_file_get_parse_name (group);
  header = gtk_label_new (title);
  gtk_label_set_xalign (GTK_LABEL (header), 0);
  gtk_label_set_ellipsize (GTK_LABEL (header), PANGO_ELLIPSIZE_START);
  gtk_widget_set_tooltip_text (header, tooltip);
  gtk_widget_add_css_class (header, "heading");
  gtk_widget_add_css_class (header, "folder-header");
  if (before == NULL)
    gtk_widget_add_css_class (header, "first");
  gtk_list_box_row_set_header (row, header);
}

static GtkWidget *
create_row_cb (gpointer item,
               gpointer user_data)
{
  return chronos_backup_row_new (CHRONOS_BACKUP (item));
}

/* Long operations on backups (conversion, verification) */

static void
update_activity (ChronosWindow *self)
{
  AdwPreferencesGroup *group = chronos_backup_details_get_activity_group (self->details);
  GPtrArray           *jobs = self->selected != NULL ? g_hash_table_lookup (self->jobs, self->selected) : NULL;

  for (guint i = 0; i < self->activity_rows->len; i++)
    adw_preferences_group_remove (group, g_ptr_array_index (self->activity_rows, i));
  g_ptr_array_set_size (self->activity_rows, 0);

  self->verify_picture = NULL;
  for (guint i = 0; jobs != NULL && i < jobs->len; i++)
    {
      ChronosJob *job = g_ptr_array_index (jobs, i);
      GtkWidget  *row = chronos_job_row_new (job);

      adw_preferences_group_add (group, row);
      g_ptr_array_add (self->activity_rows, row);

      /* A verification shows what its headless screen shows. */
      if (g_strcmp0 (g_object_get_data (G_OBJECT (job), "chronos-kind"), "verify") == 0)
        {
          GtkWidget *picture = gtk_picture_new_for_paintable (GDK_PAINTABLE (_chronos_window_job_frame (job)));

          gtk_picture_set_can_shrink (GTK_PICTURE (picture), TRUE);
          gtk_picture_set_content_fit (GTK_PICTURE (picture), GTK_CONTENT_FIT_CONTAIN);
          gtk_picture_set_alternative_text (GTK_PICTURE (picture), _ ("The screen of the backup while it boots"));
          gtk_widget_set_size_request (picture, -1, 200);
          gtk_widget_set_margin_top (picture, 12);
          gtk_widget_add_css_class (picture, "card");
          gtk_widget_add_css_class (picture, "screenshot");
          adw_preferences_group_add (group, picture);
          g_ptr_array_add (self->activity_rows, picture);
          self->verify_picture = GTK_PICTURE (picture);
        }
    }
  gtk_widget_set_visible (GTK_WIDGET (group), self->activity_rows->len > 0);
}

static void
add_job (ChronosWindow *self,
         ChronosBackup *backup,
         ChronosJob    *job)
{
  GPtrArray *jobs = g_hash_table_lookup (self->jobs, backup);

  if (jobs == NULL)
    {
      jobs = g_ptr_array_new_with_free_func (g_object_unref);
      g_hash_table_insert (self->jobs, g_object_ref (backup), jobs);
    }
  g_ptr_array_add (jobs, g_object_ref (job));
  update_activity (self);
  actions_update (self);
}

static void
remove_job (ChronosWindow *self,
            ChronosBackup *backup,
            ChronosJob    *job)
{
  GPtrArray *jobs = g_hash_table_lookup (self->jobs, backup);

  if (jobs != NULL)
    {
      g_ptr_array_remove (jobs, job);
      if (jobs->len == 0)
        g_hash_table_remove (self->jobs, backup);
    }
  update_activity (self);
  actions_update (self);
}

static gboolean
has_job (ChronosWindow *self,
         ChronosBackup *backup,
         const char    *kind)
{
  GPtrArray *jobs = backup != NULL ? g_hash_table_lookup (self->jobs, backup) : NULL;

  for (guint i = 0; jobs != NULL && i < jobs->len; i++)
    if (g_strcmp0 (g_object_get_data (g_ptr_array_index (jobs, i), "chronos-kind"), kind) == 0)
      return TRUE;
  return FALSE;
}

static void
open_log_response_cb (AdwMessageDialog *dialog,
                      const char       *response,
                      gpointer          user_data)
{
  const char *log = g_object_get_data (G_OBJECT (dialog), "log-path");
  g_autoptr (GError) error = NULL;
  g_autofree char *uri = NULL;

  if (g_strcmp0 (response, "open-log") != 0 || log == NULL)
    return;

  /* GtkFileLauncher is GTK 4.10; the default handler for a text file does
   * the same here. */
  uri = g_filename_to_uri (log, NULL, NULL);
  if (uri != NULL && !g_app_info_launch_default_for_uri (uri, NULL, &error))
    g_warning ("Could not open %s: %s", log, error->message);
}

/* One way to tell a person that something failed: what, why, and where
 * the log is when there is one. */
static void
show_error (ChronosWindow *self,
            const char    *heading,
            const char    *message,
            const char    *log_path)
{
  GtkWidget *dialog = adw_message_dialog_new (GTK_WINDOW (self), heading, NULL);

  if (log_path != NULL)
    {
      /* Name the log once: core messages often do already. */
      g_autofree char *body = strstr (message, log_path) != NULL
                                  ? g_strdup (message)
                                  : g_strdup_printf (_ ("%s\n\nThe log is in %s."), message, log_path);

      adw_message_dialog_set_body (ADW_MESSAGE_DIALOG (dialog), body);
      adw_message_dialog_add_response (ADW_MESSAGE_DIALOG (dialog), "open-log", _ ("_Open Log"));
      g_object_set_data_full (G_OBJECT (dialog), "log-path", g_strdup (log_path), g_free);
    }
  else
    adw_message_dialog_set_body (ADW_MESSAGE_DIALOG (dialog), message);
  adw_message_dialog_add_response (ADW_MESSAGE_DIALOG (dialog), "close", _ ("_Close"));
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "close");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "close");
  g_signal_connect (dialog, "response", G_CALLBACK (open_log_response_cb), NULL);
  chronos_a11y_fix_mnemonic_buttons (dialog);
  gtk_window_present (GTK_WINDOW (dialog));
}

/* What the sidebar and content show */

static void
update_stacks (ChronosWindow *self)
{
  GListModel *folders = chronos_backup_library_get_folders (self->library);
  guint       n_all = g_list_model_get_n_items (G_LIST_MODEL (self->library));
  guint       n_shown = g_list_model_get_n_items (G_LIST_MODEL (self->sort_model));
  const char *page;

  if (n_shown > 0)
    page = "list";
  else if (n_all > 0)
    page = "no-results";
  else if (g_list_model_get_n_items (folders) == 0)
    page = "empty";
  else if (chronos_backup_library_get_busy (self->library))
    page = "loading";
  else
    page = "no-backups";

  gtk_stack_set_visible_child_name (self->sidebar_stack, page);
  gtk_spinner_set_spinning (self->loading_spinner, g_str_equal (page, "loading"));
  gtk_widget_set_visible (GTK_WIDGET (self->demo_button),
                          chronos_application_get_demo_library (self->application) != NULL);
}

static void
show_backup (ChronosWindow *self,
             ChronosBackup *backup)
{
  if (g_set_object (&self->selected, backup))
    {
      chronos_backup_details_set_backup (self->details, backup);
      if (backup != NULL)
        {
          adw_window_title_set_title (self->content_title, chronos_backup_get_display_name (backup));
          adw_window_title_set_subtitle (self->content_title, NULL);
          gtk_stack_set_visible_child_name (self->content_stack, "details");
          /* The one a person looks at is read before the others. */
          if (chronos_backup_get_info (backup) == NULL && chronos_backup_get_error (backup) == NULL)
            chronos_backup_library_probe (self->library, backup);
        }
      else
        {
          adw_window_title_set_title (self->content_title, _ ("Chronos"));
          gtk_stack_set_visible_child_name (self->content_stack, "none");
        }
      update_activity (self);
#ifdef CHRONOS_HAVE_VM
      _chronos_window_update_vm (self);
#endif
    }
  actions_update (self);
}

static GtkListBoxRow *
find_row (ChronosWindow *self,
          ChronosBackup *backup)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->sort_model));

  for (guint i = 0; i < n; i++)
    {
      g_autoptr (ChronosBackup) item = g_list_model_get_item (G_LIST_MODEL (self->sort_model), i);

      if (item == backup)
        return gtk_list_box_get_row_at_index (self->backup_list, i);
    }
  return NULL;
}

static void
try_pending_selection (ChronosWindow *self)
{
  if (self->pending_file != NULL)
    {
      ChronosBackup *backup = chronos_backup_library_lookup (self->library, self->pending_file);

      if (backup != NULL && find_row (self, backup) != NULL)
        {
          g_clear_object (&self->pending_file);
          chronos_window_select_backup (self, backup);
        }
    }

  /* Someone picked a backup while the folder was read: leave it. */
  if (self->pending_folder != NULL && self->selected != self->selected_at_open)
    g_clear_object (&self->pending_folder);

  if (self->pending_folder != NULL && !chronos_backup_library_get_busy (self->library))
    {
      guint n = g_list_model_get_n_items (G_LIST_MODEL (self->sort_model));
      g_autoptr (ChronosBackup) newest = NULL;

      /* A folder is shown by its newest backup, whichever subfolder (and
       * so group) it is in; on a narrow window the list stays in front. */
      for (guint i = 0; i < n; i++)
        {
          g_autoptr (ChronosBackup) item = g_list_model_get_item (G_LIST_MODEL (self->sort_model), i);

          if (g_file_equal (chronos_backup_get_folder (item), self->pending_folder) &&
              (newest == NULL || chronos_backup_get_mtime (item) > chronos_backup_get_mtime (newest)))
            g_set_object (&newest, item);
        }
      if (newest != NULL)
        select_backup (self, newest, FALSE);
      g_clear_object (&self->pending_folder);
    }
}

static void
shown_items_changed_cb (ChronosWindow *self)
{
  /* The list box rebuilt the rows of replaced items; keep the selection. */
  if (self->selected != NULL)
    {
      GtkListBoxRow *row = find_row (self, self->selected);

      if (row != NULL)
        {
          if (gtk_list_box_get_selected_row (self->backup_list) != row)
            gtk_list_box_select_row (self->backup_list, row);
        }
      else if (chronos_backup_library_lookup (self->library, chronos_backup_get_file (self->selected)) == NULL)
        show_backup (self, NULL); /* it is gone from disk */
    }

  gtk_list_box_invalidate_headers (self->backup_list);
  try_pending_selection (self);
  update_stacks (self);
}

static void
library_busy_cb (ChronosWindow *self)
{
  try_pending_selection (self);
  update_stacks (self);
  actions_update (self);
}

static void
folders_changed_cb (ChronosWindow *self)
{
  /* The folder order decides the grouping. */
  gtk_sorter_changed (gtk_sort_list_model_get_sorter (self->sort_model), GTK_SORTER_CHANGE_DIFFERENT);
  update_stacks (self);
}

/* Template callbacks */

static void
row_selected_cb (ChronosWindow *self,
                 GtkListBoxRow *row)
{
  if (row == NULL)
    {
      /* A filter hid the selected row: keep showing it until another is picked. */
      return;
    }
  show_backup (self, chronos_backup_row_get_backup (CHRONOS_BACKUP_ROW (row)));
}

static void
row_activated_cb (ChronosWindow *self,
                  GtkListBoxRow *row)
{
  show_backup (self, chronos_backup_row_get_backup (CHRONOS_BACKUP_ROW (row)));
  adw_leaflet_set_visible_child (self->leaflet, gtk_widget_get_parent (GTK_WIDGET (self->content_stack)));
}

static void
back_clicked_cb (ChronosWindow *self)
{
  adw_leaflet_navigate (self->leaflet, ADW_NAVIGATION_DIRECTION_BACK);
}

static void
search_changed_cb (ChronosWindow *self)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (self->search_entry));

  gtk_string_filter_set_search (self->filter, text[0] != '\0' ? text : NULL);
}

static void
stop_search_cb (ChronosWindow *self)
{
  gtk_editable_set_text (GTK_EDITABLE (self->search_entry), "");
  gtk_search_bar_set_search_mode (self->search_bar, FALSE);
}

/* Actions */

static void
actions_update (ChronosWindow *self)
{
  ChronosBackup    *backup = self->selected;
  ChronosImageInfo *info = backup != NULL ? chronos_backup_get_info (backup) : NULL;
  gboolean          can_boot;
  gboolean          bootable;

  /* What QEMU cannot open itself the boot engine serves over NBD; only a
   * differencing image whose parent is missing cannot boot. */
  bootable = info != NULL &&
             (chronos_image_info_get_qemu_can_open (info) ||
              !chronos_image_info_get_has_parent (info) ||
              chronos_image_info_get_chain_complete (info));
  can_boot = bootable && !chronos_backup_get_running (backup);
#ifdef CHRONOS_HAVE_VM
  _chronos_window_vms_actions_update (self);
#else
  /* Built without the VM engine: no boot to offer. */
  can_boot = FALSE;
#endif

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.boot", can_boot);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.verify",
                                 bootable && !chronos_backup_get_running (backup) &&
                                     !has_job (self, backup, "verify"));
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.convert",
                                 info != NULL && chronos_image_info_get_qemu_can_open (info) &&
                                     !has_job (self, backup, "convert"));
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.open-demo",
                                 chronos_application_get_demo_library (self->application) != NULL);
}

void
_chronos_window_actions_update (ChronosWindow *self)
{
  actions_update (self);
}

void
_chronos_window_add_job (ChronosWindow *self,
                         ChronosBackup *backup,
                         ChronosJob    *job)
{
  add_job (self, backup, job);
}

void
_chronos_window_remove_job (ChronosWindow *self,
                            ChronosBackup *backup,
                            ChronosJob    *job)
{
  remove_job (self, backup, job);
}

void
_chronos_window_show_error (ChronosWindow *self,
                            const char    *heading,
                            const char    *message,
                            const char    *log_path)
{
  show_error (self, heading, message, log_path);
}

static void
add_folder_response_cb (ChronosWindow        *self,
                        int                   response,
                        GtkFileChooserNative *chooser)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GListModel) files = gtk_file_chooser_get_files (GTK_FILE_CHOOSER (chooser));

      for (guint i = 0; i < g_list_model_get_n_items (files); i++)
        {
          g_autoptr (GFile) folder = g_list_model_get_item (files, i);

          chronos_application_add_folder (self->application, folder);
          if (i == 0)
            {
              g_set_object (&self->pending_folder, folder);
              g_set_object (&self->selected_at_open, self->selected);
            }
        }
    }
  g_object_unref (chooser);
}

static void
add_folder_action (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *parameter)
{
  ChronosWindow        *self = CHRONOS_WINDOW (widget);
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
open_demo_action (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  ChronosWindow *self = CHRONOS_WINDOW (widget);
  GFile         *demo = chronos_application_get_demo_library (self->application);

  if (demo != NULL)
    chronos_window_open (self, demo);
}

static void
search_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  ChronosWindow *self = CHRONOS_WINDOW (widget);

  /* On a folded window the search lives on the list's page. */
  adw_leaflet_navigate (self->leaflet, ADW_NAVIGATION_DIRECTION_BACK);
  gtk_search_bar_set_search_mode (self->search_bar, TRUE);
  gtk_widget_grab_focus (GTK_WIDGET (self->search_entry));
}

static void
boot_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
#ifdef CHRONOS_HAVE_VM
  ChronosWindow *self = CHRONOS_WINDOW (widget);

  if (self->selected != NULL && chronos_backup_get_info (self->selected) != NULL)
    _chronos_window_boot (self, self->selected);
#endif
}

static void
verify_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  ChronosWindow *self = CHRONOS_WINDOW (widget);

  if (self->selected != NULL && chronos_backup_get_info (self->selected) != NULL)
    _chronos_window_verify (self, self->selected);
}

/* Converting */

typedef struct
{
  ChronosWindow    *self;
  ChronosBackup    *backup;
  ChronosJob       *job;
  char             *output;
  ChronosConverter *converter;
} Convert;

static void
convert_free (Convert *convert)
{
  g_clear_object (&convert->self);
  g_clear_object (&convert->backup);
  g_clear_object (&convert->job);
  g_clear_object (&convert->converter);
  g_free (convert->output);
  g_free (convert);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Convert, convert_free)

static void
convert_done_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr (Convert) convert = user_data;
  g_autoptr (GError) error = NULL;
  ChronosWindow *self = convert->self;

  remove_job (self, convert->backup, convert->job);

  if (!chronos_converter_convert_finish (CHRONOS_CONVERTER (object), result, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        show_error (self, _ ("Conversion Failed"), error->message, NULL);
      return;
    }

  {
    g_autofree char *name = g_path_get_basename (convert->output);
    /* Translators: %s is a file name */
    g_autofree char *title = g_strdup_printf (_ ("Saved “%s”"), name);

    chronos_window_add_toast (self, title);
  }
}

static void
convert_qemu_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr (Convert) convert = user_data;
  g_autoptr (ChronosQemu) qemu = NULL;
  g_autoptr (GError) error = NULL;
  ChronosWindow *self = convert->self;

  qemu = chronos_qemu_find_finish (result, &error);
  if (qemu == NULL)
    {
      remove_job (self, convert->backup, convert->job);
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        show_error (self, _ ("Conversion Failed"), error->message, NULL);
      return;
    }

  convert->converter = chronos_converter_new (chronos_qemu_get_img_path (qemu),
                                              chronos_backup_get_path (convert->backup),
                                              convert->output);
  /* The save dialog already asked before replacing a file. */
  chronos_converter_set_force (convert->converter, TRUE);

  /* The converter reports into its own job: show that one instead. */
  remove_job (self, convert->backup, convert->job);
  g_set_object (&convert->job, chronos_converter_get_job (convert->converter));
  g_object_set_data (G_OBJECT (convert->job), "chronos-kind", (gpointer) "convert");
  add_job (self, convert->backup, convert->job);

  {
    ChronosConverter *converter = convert->converter;
    GCancellable     *cancellable = chronos_job_get_cancellable (convert->job);

    chronos_converter_convert_async (converter, cancellable, convert_done_cb,
                                     g_steal_pointer (&convert));
  }
}

void
chronos_window_convert (ChronosWindow *self,
                        ChronosBackup *backup,
                        const char    *output)
{
  g_autofree char *qemu_dir = NULL;
  Convert         *convert;

  g_return_if_fail (CHRONOS_IS_WINDOW (self));
  g_return_if_fail (CHRONOS_IS_BACKUP (backup));
  g_return_if_fail (output != NULL);

  convert = g_new0 (Convert, 1);
  convert->self = g_object_ref (self);
  convert->backup = g_object_ref (backup);
  convert->output = g_strdup (output);
  /* Finding qemu-img takes a moment: show the job from the start. */
  convert->job = chronos_job_new (_ ("Converting to QCOW2"));
  chronos_job_set_step (convert->job, _ ("Finding qemu-img"));
  g_object_set_data (G_OBJECT (convert->job), "chronos-kind", (gpointer) "convert");
  add_job (self, backup, convert->job);

  qemu_dir = g_settings_get_string (chronos_application_get_settings (self->application), "qemu-dir");
  chronos_qemu_find_async (qemu_dir[0] != '\0' ? qemu_dir : NULL,
                           chronos_job_get_cancellable (convert->job),
                           convert_qemu_cb, convert);
}

static void
convert_response_cb (ChronosWindow        *self,
                     int                   response,
                     GtkFileChooserNative *chooser)
{
  ChronosBackup *backup = g_object_get_data (G_OBJECT (chooser), "backup");

  if (response == GTK_RESPONSE_ACCEPT && backup != NULL)
    {
      g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));

      if (file != NULL && g_file_peek_path (file) != NULL)
        chronos_window_convert (self, backup, g_file_peek_path (file));
    }
  g_object_unref (chooser);
}

static void
convert_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  ChronosWindow        *self = CHRONOS_WINDOW (widget);
  GtkFileChooserNative *chooser;
  g_autofree char      *name = NULL;
  g_autoptr (GFile) folder = NULL;
  char *dot;

  if (self->selected == NULL)
    return;

  chooser = gtk_file_chooser_native_new (_ ("Convert to QCOW2"), GTK_WINDOW (self),
                                         GTK_FILE_CHOOSER_ACTION_SAVE,
                                         _ ("_Convert"), _ ("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);

  /* "Office-PC-2026-11-24.qcow2" beside the backup. */
  name = g_strdup (chronos_backup_get_display_name (self->selected));
  if ((dot = strrchr (name, '.')) != NULL)
    *dot = '\0';
  {
    g_autofree char *qcow2 = g_strconcat (name, ".qcow2", NULL);
    gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser), qcow2);
  }
  folder = g_file_get_parent (chronos_backup_get_file (self->selected));
  if (folder != NULL)
    gtk_file_chooser_set_current_folder (GTK_FILE_CHOOSER (chooser), folder, NULL);

  g_object_set_data_full (G_OBJECT (chooser), "backup", g_object_ref (self->selected), g_object_unref);
  g_signal_connect_object (chooser, "response", G_CALLBACK (convert_response_cb), self,
                           G_CONNECT_SWAPPED);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

/* Drag and drop */

static gboolean
drop_cb (GtkDropTarget *target,
         const GValue  *value,
         double         x,
         double         y,
         ChronosWindow *self)
{
  GSList *files;

  if (!G_VALUE_HOLDS (value, GDK_TYPE_FILE_LIST))
    return FALSE;

  files = g_value_get_boxed (value);
  for (GSList *l = files; l != NULL; l = l->next)
    chronos_window_open (self, l->data);
  return files != NULL;
}

/* Opening files */

static void
open_query_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr (ChronosWindow) self = user_data;
  GFile *file = G_FILE (object);
  g_autoptr (GFileInfo) info = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *name = NULL;

  info = g_file_query_info_finish (file, result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  name = g_file_get_parse_name (file);
  if (info == NULL)
    {
      g_autofree char *message = g_strdup_printf (_ ("Cannot open “%s”: %s"), name, error->message);

      chronos_window_add_toast (self, message);
      return;
    }

  if (g_file_info_get_file_type (info) == G_FILE_TYPE_DIRECTORY)
    {
      g_autoptr (GFile) folder = g_object_ref (file);

      stop_search_cb (self);
      g_set_object (&self->pending_folder, folder);
      g_set_object (&self->selected_at_open, self->selected);
      chronos_application_add_folder (self->application, folder);
      try_pending_selection (self);
    }
  else
    {
      g_autofree char *lower = g_ascii_strdown (g_file_info_get_name (info), -1);
      g_autoptr (GFile) parent = g_file_get_parent (file);

      if (!g_str_has_suffix (lower, ".vhdx") && !g_str_has_suffix (lower, ".avhdx"))
        {
          g_autofree char *message = g_strdup_printf (_ ("“%s” is not a VHDX backup"), name);

          chronos_window_add_toast (self, message);
          return;
        }

      stop_search_cb (self);
      g_set_object (&self->pending_file, file);
      /* A backup already listed (from a folder above it) is simply shown. */
      if (chronos_backup_library_lookup (self->library, file) == NULL && parent != NULL)
        chronos_application_add_folder (self->application, parent);
      try_pending_selection (self);
    }
}

void
chronos_window_open (ChronosWindow *self,
                     GFile         *file)
{
  g_return_if_fail (CHRONOS_IS_WINDOW (self));
  g_return_if_fail (G_IS_FILE (file));

  g_file_query_info_async (file,
                           G_FILE_ATTRIBUTE_STANDARD_TYPE "," G_FILE_ATTRIBUTE_STANDARD_NAME,
                           G_FILE_QUERY_INFO_NONE, G_PRIORITY_DEFAULT, self->cancellable,
                           open_query_cb, g_object_ref (self));
}

/* Window state */

static gboolean
chronos_window_close_request (GtkWindow *window)
{
  ChronosWindow *self = CHRONOS_WINDOW (window);
  GSettings     *settings = chronos_application_get_settings (self->application);
  int            width, height;

#ifdef CHRONOS_HAVE_VM
  /* Running VMs: ask first, close when they have ended. */
  if (_chronos_window_vms_close_request (self))
    return TRUE;
#endif

  gtk_window_get_default_size (window, &width, &height);
  g_settings_set_int (settings, "window-width", width);
  g_settings_set_int (settings, "window-height", height);
  g_settings_set_boolean (settings, "window-maximized", gtk_window_is_maximized (window));

  g_cancellable_cancel (self->cancellable);

  return GTK_WINDOW_CLASS (chronos_window_parent_class)->close_request (window);
}

static void
chronos_window_constructed (GObject *object)
{
  ChronosWindow   *self = (ChronosWindow *)object;
  GSettings       *settings = chronos_application_get_settings (self->application);
  GtkExpression   *expression;
  GtkCustomSorter *sorter;

  G_OBJECT_CLASS (chronos_window_parent_class)->constructed (object);

  gtk_window_set_default_size (GTK_WINDOW (self),
                               g_settings_get_int (settings, "window-width"),
                               g_settings_get_int (settings, "window-height"));
  if (g_settings_get_boolean (settings, "window-maximized"))
    gtk_window_maximize (GTK_WINDOW (self));

  self->library = g_object_ref (chronos_application_get_library (self->application));

  expression = gtk_property_expression_new (CHRONOS_TYPE_BACKUP, NULL, "display-name");
  self->filter = gtk_string_filter_new (expression);
  gtk_string_filter_set_ignore_case (self->filter, TRUE);
  gtk_string_filter_set_match_mode (self->filter, GTK_STRING_FILTER_MATCH_MODE_SUBSTRING);
  self->filter_model = gtk_filter_list_model_new (g_object_ref (G_LIST_MODEL (self->library)),
                                                  g_object_ref (GTK_FILTER (self->filter)));
  sorter = gtk_custom_sorter_new (compare_backups, self, NULL);
  self->sort_model = gtk_sort_list_model_new (g_object_ref (G_LIST_MODEL (self->filter_model)),
                                              GTK_SORTER (sorter));

  gtk_list_box_bind_model (self->backup_list, G_LIST_MODEL (self->sort_model),
                           create_row_cb, self, NULL);
  gtk_list_box_set_header_func (self->backup_list, update_header_cb, self, NULL);
  g_signal_connect_object (self->sort_model, "items-changed",
                           G_CALLBACK (shown_items_changed_cb), self,
                           G_CONNECT_SWAPPED | G_CONNECT_AFTER);
  g_signal_connect_object (self->library, "notify::busy",
                           G_CALLBACK (library_busy_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (chronos_backup_library_get_folders (self->library), "items-changed",
                           G_CALLBACK (folders_changed_cb), self, G_CONNECT_SWAPPED);

  gtk_search_bar_set_key_capture_widget (self->search_bar, GTK_WIDGET (self));

  update_stacks (self);
  actions_update (self);
}

static void
chronos_window_dispose (GObject *object)
{
  ChronosWindow *self = (ChronosWindow *)object;

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  if (self->jobs != NULL)
    {
      GHashTableIter iter;
      GPtrArray     *jobs;

      g_hash_table_iter_init (&iter, self->jobs);
      while (g_hash_table_iter_next (&iter, NULL, (gpointer *)&jobs))
        for (guint i = 0; i < jobs->len; i++)
          chronos_job_cancel (g_ptr_array_index (jobs, i));
    }

#ifdef CHRONOS_HAVE_VM
  _chronos_window_vms_dispose (self);
#endif
  gtk_widget_dispose_template (GTK_WIDGET (self), CHRONOS_TYPE_WINDOW);
  g_clear_pointer (&self->vm_rows, g_ptr_array_unref);
  g_clear_pointer (&self->jobs, g_hash_table_unref);
  g_clear_pointer (&self->activity_rows, g_ptr_array_unref);

  g_clear_object (&self->sort_model);
  g_clear_object (&self->filter_model);
  g_clear_object (&self->filter);
  g_clear_object (&self->selected);
  g_clear_object (&self->pending_file);
  g_clear_object (&self->pending_folder);
  g_clear_object (&self->selected_at_open);
  g_clear_object (&self->library);

  G_OBJECT_CLASS (chronos_window_parent_class)->dispose (object);
}

static void
chronos_window_finalize (GObject *object)
{
  ChronosWindow *self = (ChronosWindow *)object;

  g_clear_object (&self->cancellable);

  G_OBJECT_CLASS (chronos_window_parent_class)->finalize (object);
}

static void
chronos_window_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  ChronosWindow *self = CHRONOS_WINDOW (object);

  switch (prop_id)
    {
    case PROP_APPLICATION_OBJECT:
      g_value_set_object (value, self->application);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
chronos_window_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  ChronosWindow *self = CHRONOS_WINDOW (object);

  switch (prop_id)
    {
    case PROP_APPLICATION_OBJECT:
      self->application = g_value_get_object (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
chronos_window_class_init (ChronosWindowClass *klass)
{
  GObjectClass   *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->constructed = chronos_window_constructed;
  object_class->dispose = chronos_window_dispose;
  object_class->finalize = chronos_window_finalize;
  object_class->get_property = chronos_window_get_property;
  object_class->set_property = chronos_window_set_property;

  window_class->close_request = chronos_window_close_request;

  /* The application as ChronosApplication, set at construction (the
   * GtkWindow "application" property is set too, later). */
  properties[PROP_APPLICATION_OBJECT] =
      g_param_spec_object ("chronos-application", NULL, NULL, CHRONOS_TYPE_APPLICATION,
                           G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (CHRONOS_TYPE_BACKUP_DETAILS);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/chronos/Chronos/chronos-window.ui");
  gtk_widget_class_bind_template_child (widget_class, ChronosWindow, back_button);
  gtk_widget_class_bind_template_child (widget_class, ChronosWindow, backup_list);
  gtk_widget_class_bind_template_child (widget_class, ChronosWindow, content_stack);
  gtk_widget_class_bind_template_child (widget_class, ChronosWindow, content_title);
  gtk_widget_class_bind_template_child (widget_class, ChronosWindow, demo_button);
  gtk_widget_class_bind_template_child (widget_class, ChronosWindow, details);
  gtk_widget_class_bind_template_child (widget_class, ChronosWindow, leaflet);
  gtk_widget_class_bind_template_child (widget_class, ChronosWindow, loading_spinner);
  gtk_widget_class_bind_template_child (widget_class, ChronosWindow, search_bar);
  gtk_widget_class_bind_template_child (widget_class, ChronosWindow, search_entry);
  gtk_widget_class_bind_template_child (widget_class, ChronosWindow, sidebar_stack);
  gtk_widget_class_bind_template_child (widget_class, ChronosWindow, toast_overlay);
  gtk_widget_class_bind_template_callback (widget_class, back_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, row_activated_cb);
  gtk_widget_class_bind_template_callback (widget_class, row_selected_cb);
  gtk_widget_class_bind_template_callback (widget_class, search_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, stop_search_cb);

  gtk_widget_class_install_action (widget_class, "win.add-folder", NULL, add_folder_action);
  gtk_widget_class_install_action (widget_class, "win.open-demo", NULL, open_demo_action);
  gtk_widget_class_install_action (widget_class, "win.search", NULL, search_action);
  gtk_widget_class_install_action (widget_class, "win.boot", NULL, boot_action);
  gtk_widget_class_install_action (widget_class, "win.verify", NULL, verify_action);
  gtk_widget_class_install_action (widget_class, "win.convert", NULL, convert_action);
#ifdef CHRONOS_HAVE_VM
  _chronos_window_vms_class_init (widget_class);
#endif
}

static void
chronos_window_init (ChronosWindow *self)
{
  GtkDropTarget *target;

  gtk_widget_init_template (GTK_WIDGET (self));
  chronos_a11y_fix_mnemonic_buttons (GTK_WIDGET (self));

  self->cancellable = g_cancellable_new ();
  self->jobs = g_hash_table_new_full (NULL, NULL, g_object_unref, (GDestroyNotify)g_ptr_array_unref);
  self->activity_rows = g_ptr_array_new ();
  self->vm_rows = g_ptr_array_new ();
#ifdef CHRONOS_HAVE_VM
  _chronos_window_vms_init (self);
#endif

  /* Actions on a backup beside "Boot as VM", as the core offers them. */
  {
    GtkWidget *button = gtk_button_new_with_mnemonic (_ ("_Verify Boot"));

    gtk_actionable_set_action_name (GTK_ACTIONABLE (button), "win.verify");
    gtk_widget_set_tooltip_text (button, _ ("Boot this backup without a screen and check that it starts"));
    gtk_widget_add_css_class (button, "pill");
    chronos_a11y_fix_mnemonic_buttons (button);
    chronos_backup_details_add_button (self->details, button);
  }
  {
    GtkWidget *button = gtk_button_new_with_mnemonic (_ ("_Convert to QCOW2…"));

    gtk_actionable_set_action_name (GTK_ACTIONABLE (button), "win.convert");
    chronos_a11y_fix_mnemonic_buttons (button);
    gtk_widget_set_tooltip_text (button, _ ("Save a copy of this backup as a QCOW2 image for other virtual machine software"));
    gtk_widget_add_css_class (button, "pill");
    chronos_backup_details_add_button (self->details, button);
  }

  target = gtk_drop_target_new (GDK_TYPE_FILE_LIST, GDK_ACTION_COPY);
  g_signal_connect (target, "drop", G_CALLBACK (drop_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (target));

  if (g_strcmp0 (PROFILE, "Devel") == 0)
    gtk_widget_add_css_class (GTK_WIDGET (self), "devel");
}

ChronosWindow *
chronos_window_new (ChronosApplication *application)
{
  g_return_val_if_fail (CHRONOS_IS_APPLICATION (application), NULL);

  return g_object_new (CHRONOS_TYPE_WINDOW,
                       "chronos-application", application,
                       "application", application,
                       NULL);
}

ChronosBackup *
chronos_window_get_selected (ChronosWindow *self)
{
  g_return_val_if_fail (CHRONOS_IS_WINDOW (self), NULL);
  return self->selected;
}

static void
select_backup (ChronosWindow *self,
               ChronosBackup *backup,
               gboolean       navigate)
{
  GtkListBoxRow *row;

  if (backup == NULL)
    {
      gtk_list_box_unselect_all (self->backup_list);
      show_backup (self, NULL);
      return;
    }

  row = find_row (self, backup);
  if (row != NULL)
    {
      gtk_list_box_select_row (self->backup_list, row);
      gtk_widget_grab_focus (GTK_WIDGET (row));
    }
  show_backup (self, backup);
  if (navigate && adw_leaflet_get_folded (self->leaflet))
    adw_leaflet_set_visible_child (self->leaflet, gtk_widget_get_parent (GTK_WIDGET (self->content_stack)));
}

/* Selects @backup and, on a folded window, shows its details. */
void
chronos_window_select_backup (ChronosWindow *self,
                              ChronosBackup *backup)
{
  g_return_if_fail (CHRONOS_IS_WINDOW (self));
  g_return_if_fail (backup == NULL || CHRONOS_IS_BACKUP (backup));

  select_backup (self, backup, TRUE);
}

void
chronos_window_add_toast (ChronosWindow *self,
                          const char    *title)
{
  g_return_if_fail (CHRONOS_IS_WINDOW (self));

  adw_toast_overlay_add_toast (self->toast_overlay, adw_toast_new (title));
}

GListModel *
chronos_window_get_shown_model (ChronosWindow *self)
{
  g_return_val_if_fail (CHRONOS_IS_WINDOW (self), NULL);
  return G_LIST_MODEL (self->sort_model);
}
