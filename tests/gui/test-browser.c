/* test-browser.c: the backup browser over a real folder of images
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The real application and window on a folder of VHDX images made with
 * qemu-img: the list shows them grouped and newest first, the search
 * filters it, new files appear, opening an image selects it, and removing
 * the folder empties the list.
 */

#include "config.h"

#include <adwaita.h>

#include "gui-test-util.h"
#include <glib/gstdio.h>

#include "chronos-application.h"
#include "chronos-backup-details.h"
#include "chronos-download-dialog.h"
#include "chronos-backup-row.h"
#include "chronos-verification.h"
#include "chronos-window.h"

#define WAIT_SECONDS 30

static const char *qemu_img;

static gboolean
timeout_cb (gpointer user_data)
{
  *(gboolean *)user_data = TRUE;
  return G_SOURCE_REMOVE;
}

typedef gboolean (*Condition) (gpointer data);

static void
wait_until (Condition condition,
            gpointer  data)
{
  gboolean timed_out = FALSE;
  guint    id = g_timeout_add_seconds (WAIT_SECONDS, timeout_cb, &timed_out);

  while (!condition (data) && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (id);
  g_assert_false (timed_out);
}

typedef struct
{
  ChronosWindow        *window;
  ChronosBackupLibrary *library;
  guint                 n_shown;
  GFile                *selected;
} Expect;

static gboolean
shown_count_is (gpointer data)
{
  Expect *expect = data;

  return g_list_model_get_n_items (chronos_window_get_shown_model (expect->window)) == expect->n_shown &&
         !chronos_backup_library_get_busy (expect->library);
}

static gboolean
selected_is (gpointer data)
{
  Expect        *expect = data;
  ChronosBackup *backup = chronos_window_get_selected (expect->window);

  return backup != NULL && g_file_equal (chronos_backup_get_file (backup), expect->selected);
}

static void
make_image (const char *path,
            const char *size,
            gint64      mtime)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GFile) file = g_file_new_for_path (path);
  int         status;
  const char *argv[] = { qemu_img, "create", "-q", "-f", "vhdx", path, size, NULL };

  g_spawn_sync (NULL, (char **)argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
                NULL, NULL, &status, &error);
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  if (mtime > 0)
    {
      g_file_set_attribute_uint64 (file, G_FILE_ATTRIBUTE_TIME_MODIFIED, mtime,
                                   G_FILE_QUERY_INFO_NONE, NULL, &error);
      g_assert_no_error (error);
    }
}

static char *
hash_file (const char *path)
{
  g_autofree char *contents = NULL;
  gsize            length;

  g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *)contents, length);
}

/* A button by its label, as a person (or a screen reader) finds it. */
static GtkWidget *
find_button (GtkWidget  *widget,
             const char *label)
{
  if (GTK_IS_BUTTON (widget) && g_strcmp0 (gtk_button_get_label (GTK_BUTTON (widget)), label) == 0 &&
      gtk_widget_get_mapped (widget))
    return widget;
  for (GtkWidget *c = gtk_widget_get_first_child (widget); c != NULL; c = gtk_widget_get_next_sibling (c))
    {
      GtkWidget *found = find_button (c, label);

      if (found != NULL)
        return found;
    }
  return NULL;
}

typedef struct
{
  ChronosWindow *window;
} Convert;

static gboolean
conversion_done (gpointer data)
{
  Convert             *convert = data;
  AdwPreferencesGroup *activity =
      chronos_backup_details_get_activity_group (CHRONOS_BACKUP_DETAILS (gtk_widget_get_template_child (GTK_WIDGET (convert->window), CHRONOS_TYPE_WINDOW, "details")));

  /* The job leaves the details when it ends; so does the row. */
  return !gtk_widget_get_visible (GTK_WIDGET (activity));
}

static gpointer
window_child (ChronosWindow *window,
              const char    *name)
{
  GObject *object = gtk_widget_get_template_child (GTK_WIDGET (window), CHRONOS_TYPE_WINDOW, name);

  g_assert_nonnull (object);
  return object;
}

static const char *
shown_name (ChronosWindow *window,
            guint          position)
{
  g_autoptr (ChronosBackup) backup = g_list_model_get_item (chronos_window_get_shown_model (window), position);

  return chronos_backup_get_display_name (backup);
}

static void
test_browse (void)
{
  g_autoptr (ChronosApplication) app = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *sub = NULL;
  g_autofree char *alpha = NULL;
  g_autofree char *beta = NULL;
  g_autofree char *gamma = NULL;
  g_autofree char *fresh = NULL;
  ChronosWindow   *window;
  GSettings       *settings;
  GtkListBox      *list;
  GtkStack        *stack;
  Expect           expect = { 0 };
  gint64           now = g_get_real_time () / G_USEC_PER_SEC;

  if (qemu_img == NULL || qemu_img[0] == '\0')
    {
      g_test_skip ("qemu-img is not installed");
      return;
    }

  dir = g_build_filename (g_get_user_data_dir (), "Backups", NULL);
  sub = g_build_filename (dir, "Office-PC", NULL);
  g_assert_cmpint (g_mkdir_with_parents (sub, 0755), ==, 0);
  alpha = g_build_filename (dir, "alpha.vhdx", NULL);
  beta = g_build_filename (dir, "beta.vhdx", NULL);
  gamma = g_build_filename (sub, "gamma.vhdx", NULL);
  make_image (alpha, "64M", now - 3 * 86400);
  make_image (beta, "128M", now - 86400);
  make_image (gamma, "64M", now - 2 * 86400);

  /* A verification saved earlier (by the app or `chronos-vm verify`) for
   * one of them. */
  {
    g_autoptr (ChronosVerification) verification = chronos_verification_new (gamma);
    g_autoptr (GDateTime) started = g_date_time_new_now_utc ();

    chronos_verification_set_result (verification, CHRONOS_VERDICT_FAILED,
                                     CHRONOS_VERIFY_CAUSE_NO_BOOT_DEVICE,
                                     "firmware: no bootable device");
    chronos_verification_set_started (verification, started);
    g_assert_true (chronos_verification_save (verification, &error));
    g_assert_no_error (error);
  }

  app = chronos_application_new ();
  g_application_set_flags (G_APPLICATION (app), G_APPLICATION_HANDLES_OPEN | G_APPLICATION_NON_UNIQUE);
  g_application_register (G_APPLICATION (app), NULL, &error);
  g_assert_no_error (error);

  window = chronos_window_new (app);
  gtk_window_present (GTK_WINDOW (window));
  list = window_child (window, "backup_list");
  stack = window_child (window, "sidebar_stack");
  expect.window = window;
  expect.library = chronos_application_get_library (app);

  /* No folders yet: the empty state. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_cmpstr (gtk_stack_get_visible_child_name (stack), ==, "empty");

  /* The folder setting is what the library follows. */
  settings = chronos_application_get_settings (app);
  {
    const char *folders[] = { dir, NULL };
    g_settings_set_strv (settings, "backup-folders", folders);
  }
  expect.n_shown = 3;
  wait_until (shown_count_is, &expect);
  g_assert_cmpstr (gtk_stack_get_visible_child_name (stack), ==, "list");

  /* Grouped by folder, newest first within a folder. */
  g_assert_cmpstr (shown_name (window, 0), ==, "beta.vhdx");
  g_assert_cmpstr (shown_name (window, 1), ==, "alpha.vhdx");
  g_assert_cmpstr (shown_name (window, 2), ==, "gamma.vhdx");
  for (guint i = 0; i < 3; i++)
    {
      GtkListBoxRow *row = gtk_list_box_get_row_at_index (list, i);
      g_autoptr (ChronosBackup) item = g_list_model_get_item (chronos_window_get_shown_model (window), i);

      g_assert_true (CHRONOS_IS_BACKUP_ROW (row));
      g_assert_true (chronos_backup_row_get_backup (CHRONOS_BACKUP_ROW (row)) == item);
      /* A heading over the first row of each folder only. */
      g_assert_true ((gtk_list_box_row_get_header (row) != NULL) == (i == 0 || i == 2));
    }
  g_assert_null (gtk_list_box_get_row_at_index (list, 3));

  /* The saved verification is on the backup: the list shows a problem. */
  {
    g_autoptr (ChronosBackup) item = g_list_model_get_item (chronos_window_get_shown_model (window), 2);

    wait_until ((Condition)chronos_backup_get_has_verification, item);
    g_assert_cmpint (chronos_backup_get_verdict (item), ==, CHRONOS_VERDICT_FAILED);
    g_assert_cmpstr (chronos_backup_get_verify_reason (item), ==, "firmware: no bootable device");
    g_assert_cmpint (chronos_backup_get_state (item), ==, CHRONOS_BACKUP_STATE_PROBLEM);
  }

  /* Search filters by name, ignoring case. */
  gtk_editable_set_text (GTK_EDITABLE (window_child (window, "search_entry")), "BET");
  g_signal_emit_by_name (window_child (window, "search_entry"), "search-changed");
  g_assert_cmpuint (g_list_model_get_n_items (chronos_window_get_shown_model (window)), ==, 1);
  g_assert_cmpstr (shown_name (window, 0), ==, "beta.vhdx");
  gtk_editable_set_text (GTK_EDITABLE (window_child (window, "search_entry")), "no such backup");
  g_signal_emit_by_name (window_child (window, "search_entry"), "search-changed");
  g_assert_cmpuint (g_list_model_get_n_items (chronos_window_get_shown_model (window)), ==, 0);
  g_assert_cmpstr (gtk_stack_get_visible_child_name (stack), ==, "no-results");
  gtk_editable_set_text (GTK_EDITABLE (window_child (window, "search_entry")), "");
  g_signal_emit_by_name (window_child (window, "search_entry"), "search-changed");
  g_assert_cmpuint (g_list_model_get_n_items (chronos_window_get_shown_model (window)), ==, 3);
  g_assert_cmpstr (gtk_stack_get_visible_child_name (stack), ==, "list");

  /* Selecting a row shows its details. */
  gtk_list_box_select_row (list, gtk_list_box_get_row_at_index (list, 1));
  g_assert_cmpstr (chronos_backup_get_display_name (chronos_window_get_selected (window)), ==, "alpha.vhdx");
  g_assert_true (chronos_backup_details_get_backup (window_child (window, "details")) ==
                 chronos_window_get_selected (window));

  /* Convert to QCOW2: a progress row while it runs, the file at the end,
   * the backup unchanged. */
  {
    g_autofree char     *output = g_build_filename (g_get_user_data_dir (), "alpha.qcow2", NULL);
    g_autofree char     *hash_before = hash_file (alpha);
    g_autofree char     *hash_after = NULL;
    ChronosBackup       *backup = chronos_window_get_selected (window);
    AdwPreferencesGroup *activity = chronos_backup_details_get_activity_group (window_child (window, "details"));
    Convert              wait = { window };

    g_assert_true (gtk_widget_is_sensitive (find_button (GTK_WIDGET (window), "_Convert to QCOW2…")));
    chronos_window_convert (window, backup, output);
    g_assert_true (gtk_widget_get_visible (GTK_WIDGET (activity)));
    /* One conversion of a backup at a time. */
    g_assert_false (gtk_widget_is_sensitive (find_button (GTK_WIDGET (window), "_Convert to QCOW2…")));
    wait_until (conversion_done, &wait);
    g_assert_true (g_file_test (output, G_FILE_TEST_IS_REGULAR));
    g_assert_false (gtk_widget_get_visible (GTK_WIDGET (activity)));
    hash_after = hash_file (alpha);
    g_assert_cmpstr (hash_before, ==, hash_after);
    {
      g_autofree char *out = NULL;
      const char      *argv[] = { qemu_img, "info", "--output=json", output, NULL };

      g_assert_true (g_spawn_sync (NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                                   &out, NULL, NULL, NULL));
      g_assert_nonnull (strstr (out, "\"format\": \"qcow2\""));
    }
  }

  /* A backup written now appears, at the top of its folder. */
  fresh = g_build_filename (dir, "fresh.vhdx", NULL);
  make_image (fresh, "32M", 0);
  expect.n_shown = 4;
  wait_until (shown_count_is, &expect);
  g_assert_cmpstr (shown_name (window, 0), ==, "fresh.vhdx");
  /* The selection stayed where it was. */
  g_assert_cmpstr (chronos_backup_get_display_name (chronos_window_get_selected (window)), ==, "alpha.vhdx");
  g_assert_true (gtk_list_box_get_selected_row (list) == gtk_list_box_get_row_at_index (list, 2));

  /* Opening an image selects it (chronos IMAGE.vhdx, or a drop). */
  expect.selected = g_file_new_for_path (gamma);
  chronos_window_open (window, expect.selected);
  wait_until (selected_is, &expect);
  g_clear_object (&expect.selected);

  /* It vanishes from disk: it leaves the list and the details. */
  g_assert_cmpint (g_unlink (gamma), ==, 0);
  expect.n_shown = 3;
  wait_until (shown_count_is, &expect);
  g_assert_null (chronos_window_get_selected (window));
  g_assert_cmpstr (gtk_stack_get_visible_child_name (window_child (window, "content_stack")), ==, "none");

  /* Forgetting the folder empties the list. */
  {
    g_autoptr (GFile) folder = g_file_new_for_path (dir);
    chronos_application_remove_folder (app, folder);
  }
  expect.n_shown = 0;
  wait_until (shown_count_is, &expect);
  g_assert_cmpstr (gtk_stack_get_visible_child_name (stack), ==, "empty");

  gtk_window_destroy (GTK_WINDOW (window));
}

/* The window's drop target, the one a drag from a file manager reaches. */
static GtkDropTarget *
window_drop_target (ChronosWindow *window)
{
  g_autoptr (GListModel) controllers = gtk_widget_observe_controllers (GTK_WIDGET (window));

  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr (GObject) controller = g_list_model_get_item (controllers, i);

      if (GTK_IS_DROP_TARGET (controller))
        return GTK_DROP_TARGET (controller);
    }
  return NULL;
}

/* Drops @files on the window through its drop target's own "drop" signal:
 * the code a real drag ends in, with the value GTK would hand it. */
static gboolean
drop_files (ChronosWindow *window,
            GFile        **files,
            gsize          n_files)
{
  GtkDropTarget *target = window_drop_target (window);
  GValue         value = G_VALUE_INIT;
  gboolean       handled = FALSE;

  g_assert_nonnull (target);
  g_assert_true (gdk_content_formats_contain_gtype (gtk_drop_target_get_formats (target), GDK_TYPE_FILE_LIST));
  g_value_init (&value, GDK_TYPE_FILE_LIST);
  g_value_take_boxed (&value, gdk_file_list_new_from_array (files, n_files));
  g_signal_emit_by_name (target, "drop", &value, 100.0, 100.0, &handled);
  g_value_unset (&value);
  return handled;
}

static gboolean
folder_count_is (gpointer data)
{
  Expect *expect = data;

  return g_list_model_get_n_items (chronos_backup_library_get_folders (expect->library)) == expect->n_shown;
}

static void
test_drop (void)
{
  g_autoptr (ChronosApplication) app = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *other = NULL;
  g_autofree char *loose = NULL;
  g_autofree char *newest = NULL;
  g_autofree char *older = NULL;
  g_autofree char *text = NULL;
  ChronosWindow   *window;
  Expect           expect = { 0 };
  gint64           now = g_get_real_time () / G_USEC_PER_SEC;

  if (qemu_img == NULL || qemu_img[0] == '\0')
    {
      g_test_skip ("qemu-img is not installed");
      return;
    }

  dir = g_build_filename (g_get_user_data_dir (), "Dropped", NULL);
  other = g_build_filename (g_get_user_data_dir (), "Elsewhere", NULL);
  g_assert_cmpint (g_mkdir_with_parents (other, 0755), ==, 0);
  /* Per-machine subfolders: the older backup's group comes first in the
   * list, yet the folder is shown by its newest backup. */
  newest = g_build_filename (dir, "B-Laptop", "newest.vhdx", NULL);
  older = g_build_filename (dir, "A-Desktop", "older.vhdx", NULL);
  g_assert_cmpint (g_mkdir_with_parents (newest, 0755), ==, 0);
  g_assert_cmpint (g_rmdir (newest), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (older, 0755), ==, 0);
  g_assert_cmpint (g_rmdir (older), ==, 0);
  loose = g_build_filename (other, "loose.vhdx", NULL);
  text = g_build_filename (other, "notes.txt", NULL);
  make_image (older, "32M", now - 2 * 86400);
  make_image (newest, "32M", now - 86400);
  make_image (loose, "32M", now - 3 * 86400);
  g_assert_true (g_file_set_contents (text, "not a backup", -1, NULL));

  app = chronos_application_new ();
  /* Its own bus name: the previous test's application is still exported. */
  g_application_set_application_id (G_APPLICATION (app), "org.chronos.Chronos.TestDrop");
  g_application_set_flags (G_APPLICATION (app), G_APPLICATION_HANDLES_OPEN | G_APPLICATION_NON_UNIQUE);
  g_application_register (G_APPLICATION (app), NULL, &error);
  g_assert_no_error (error);
  window = chronos_window_new (app);
  gtk_window_present (GTK_WINDOW (window));
  expect.window = window;
  expect.library = chronos_application_get_library (app);

  /* A folder dropped: it is added and its newest backup selected. */
  {
    g_autoptr (GFile) folder = g_file_new_for_path (dir);
    GFile *files[] = { folder };

    g_assert_true (drop_files (window, files, 1));
    expect.n_shown = 2;
    wait_until (shown_count_is, &expect);
    g_assert_cmpstr (shown_name (window, 0), ==, "older.vhdx");
    expect.selected = g_file_new_for_path (newest);
    wait_until (selected_is, &expect);
    g_clear_object (&expect.selected);
  }

  /* A backup dropped from another folder: that folder is added and the
   * dropped backup is the one shown; a file that is no backup is refused
   * with a toast, not added. */
  {
    g_autoptr (GFile) image = g_file_new_for_path (loose);
    g_autoptr (GFile) notes = g_file_new_for_path (text);
    GFile *files[] = { notes, image };

    g_assert_true (drop_files (window, files, 2));
    expect.n_shown = 3;
    wait_until (shown_count_is, &expect);
    expect.selected = g_file_new_for_path (loose);
    wait_until (selected_is, &expect);
    g_clear_object (&expect.selected);
    expect.n_shown = 2;
    g_assert_true (folder_count_is (&expect));
  }

  /* Anything but a file list is not taken. */
  {
    GtkDropTarget *target = window_drop_target (window);
    GValue         value = G_VALUE_INIT;
    gboolean       handled = TRUE;

    g_value_init (&value, G_TYPE_STRING);
    g_value_set_static_string (&value, "file:///etc/passwd");
    g_signal_emit_by_name (target, "drop", &value, 100.0, 100.0, &handled);
    g_value_unset (&value);
    g_assert_false (handled);
  }

  gtk_window_destroy (GTK_WINDOW (window));
}

/* Every action with an accelerator is in the shortcuts window, and the
 * backup actions have theirs. */
static void
test_shortcuts (void)
{
  g_autoptr (ChronosApplication) app = chronos_application_new ();
  g_autoptr (GtkBuilder) builder = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GHashTable) listed = g_hash_table_new (g_str_hash, g_str_equal);
  g_auto (GStrv) actions = NULL;
  GSList *objects;
  const struct
  {
    const char *action;
    const char *accel;
  } expected[] = {
    { "win.boot", "<Control>b" },
    { "win.verify", "<Shift><Control>b" },
    { "win.convert", "<Shift><Control>s" },
  };

  g_application_set_application_id (G_APPLICATION (app), "org.chronos.Chronos.TestShortcuts");
  g_application_set_flags (G_APPLICATION (app), G_APPLICATION_HANDLES_OPEN | G_APPLICATION_NON_UNIQUE);
  g_application_register (G_APPLICATION (app), NULL, &error);
  g_assert_no_error (error);

  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      g_auto (GStrv) accels = gtk_application_get_accels_for_action (GTK_APPLICATION (app), expected[i].action);
      guint           key, other_key;
      GdkModifierType mods, other_mods;

      g_assert_cmpuint (g_strv_length (accels), ==, 1);
      /* Compare parsed: GTK may print the modifiers in another order. */
      g_assert_true (gtk_accelerator_parse (accels[0], &key, &mods));
      g_assert_true (gtk_accelerator_parse (expected[i].accel, &other_key, &other_mods));
      g_assert_cmpuint (key, ==, other_key);
      g_assert_cmpuint (mods, ==, other_mods);
    }

  builder = gtk_builder_new_from_resource ("/org/chronos/Chronos/gtk/help-overlay.ui");
  objects = gtk_builder_get_objects (builder);
  for (GSList *l = objects; l != NULL; l = l->next)
    if (GTK_IS_SHORTCUTS_SHORTCUT (l->data))
      {
        g_autofree char *action = NULL;

        g_object_get (l->data, "action-name", &action, NULL);
        if (action != NULL)
          g_hash_table_add (listed, (gpointer)g_intern_string (action));
      }
  g_slist_free (objects);

  actions = gtk_application_list_action_descriptions (GTK_APPLICATION (app));
  for (guint i = 0; actions[i] != NULL; i++)
    {
      g_autofree char *action = NULL;

      /* "win.verify" or "win.verify::target" */
      action = g_strdup (actions[i]);
      if (strstr (action, "::") != NULL)
        *strstr (action, "::") = '\0';
      if (!g_hash_table_contains (listed, action))
        g_error ("%s has an accelerator but is not in the shortcuts window", action);
    }
}

#ifdef CHRONOS_HAVE_VM
static gboolean
download_dialog_shown (gpointer data)
{
  GListModel *toplevels = gtk_window_get_toplevels ();

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr (GtkWidget) toplevel = g_list_model_get_item (toplevels, i);

      if (CHRONOS_IS_DOWNLOAD_DIALOG (toplevel) && gtk_widget_get_mapped (toplevel))
        {
          *(GtkWidget **)data = toplevel;
          return TRUE;
        }
    }
  return FALSE;
}

static gboolean
boot_enabled (gpointer data)
{
  GtkWidget *boot = find_button (GTK_WIDGET (data), "Boot as VM");

  return boot != NULL && gtk_widget_is_sensitive (boot) &&
         chronos_window_get_selected (data) != NULL &&
         chronos_backup_get_info (chronos_window_get_selected (data)) != NULL;
}

/* Boot as VM on a computer without QEMU (none on PATH, none installed by
 * the app, no folder set): the download is offered instead of an error. */
static void
test_qemu_missing (void)
{
  g_autoptr (ChronosApplication) app = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *image = NULL;
  g_autofree char *empty_path = NULL;
  g_autofree char *saved_path = g_strdup (g_getenv ("PATH"));
  g_autofree char *hash_before = NULL;
  g_autofree char *hash_after = NULL;
  g_autofree char *qemu_dir = NULL;
  ChronosWindow   *window;
  GtkWidget       *dialog = NULL;
  Expect           expect = { 0 };

  if (qemu_img == NULL || qemu_img[0] == '\0')
    {
      g_test_skip ("qemu-img is not installed");
      return;
    }

  dir = g_build_filename (g_get_user_data_dir (), "NoQemu", NULL);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  image = g_build_filename (dir, "backup.vhdx", NULL);
  make_image (image, "32M", 0);
  hash_before = hash_file (image);
  /* A PATH with nothing on it; the app's own install dir is in the
   * private data dir and empty. */
  empty_path = g_build_filename (g_get_user_data_dir (), "empty-bin", NULL);
  g_assert_cmpint (g_mkdir_with_parents (empty_path, 0755), ==, 0);

  app = chronos_application_new ();
  /* Its own bus name: the previous test's application is still exported. */
  g_application_set_application_id (G_APPLICATION (app), "org.chronos.Chronos.TestNoQemu");
  g_application_set_flags (G_APPLICATION (app), G_APPLICATION_HANDLES_OPEN | G_APPLICATION_NON_UNIQUE);
  g_application_register (G_APPLICATION (app), NULL, &error);
  g_assert_no_error (error);
  qemu_dir = g_settings_get_string (chronos_application_get_settings (app), "qemu-dir");
  g_assert_cmpstr (qemu_dir, ==, "");
  window = chronos_window_new (app);
  gtk_window_present (GTK_WINDOW (window));
  expect.window = window;
  expect.library = chronos_application_get_library (app);

  {
    g_autoptr (GFile) file = g_file_new_for_path (image);

    chronos_window_open (window, file);
    expect.selected = g_object_ref (file);
    wait_until (selected_is, &expect);
    g_clear_object (&expect.selected);
  }
  wait_until (boot_enabled, window);

  g_setenv ("PATH", empty_path, TRUE);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.boot", NULL));
  wait_until (download_dialog_shown, &dialog);
  g_setenv ("PATH", saved_path, TRUE);

  g_assert_true (gtk_window_get_transient_for (GTK_WINDOW (dialog)) == GTK_WINDOW (window));
  /* Nothing was started and nothing downloaded without asking. */
  g_assert_cmpuint (g_list_model_get_n_items (chronos_application_get_vms (app)), ==, 0);
  /* What it offers (the download, or on a system whose manifest has no
   * bundle, the command that installs QEMU) is test-download's subject. */
  g_assert_null (chronos_download_dialog_get_job (CHRONOS_DOWNLOAD_DIALOG (dialog)));
  gtk_window_destroy (GTK_WINDOW (dialog));

  hash_after = hash_file (image);
  g_assert_cmpstr (hash_before, ==, hash_after);
  gtk_window_destroy (GTK_WINDOW (window));
}
#endif

int
main (int   argc,
      char *argv[])
{
  g_autofree char *home = gui_test_isolate_home ();
  int              status;

  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  qemu_img = g_getenv ("QEMU_IMG");

  g_test_add_func ("/gui/browser/browse", test_browse);
  g_test_add_func ("/gui/browser/drop", test_drop);
  g_test_add_func ("/gui/browser/shortcuts", test_shortcuts);
#ifdef CHRONOS_HAVE_VM
  g_test_add_func ("/gui/browser/qemu-missing", test_qemu_missing);
#endif

  status = g_test_run ();
  gui_test_cleanup_home (home);
  return status;
}
