/* test-backup-library.c: ChronosBackupLibrary over real folders of images
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The images are made with qemu-img at test time; the library must list
 * them, probe them off the main thread, follow files that appear, change
 * and vanish, and never write to any of them.
 */

#include "config.h"

#include <glib/gstdio.h>

#include "chronos-backup-library.h"

#define WAIT_SECONDS 30

typedef struct
{
  char *dir;
  guint n_changes;
  guint last_position;
  guint last_removed;
  guint last_added;
} Fixture;

static char *qemu_img;

static gboolean
timeout_cb (gpointer user_data)
{
  gboolean *timed_out = user_data;

  *timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

typedef gboolean (*Condition) (gpointer data);

/* Runs the main loop until @condition holds; fails the test after
 * WAIT_SECONDS rather than hanging. */
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

static gboolean
library_idle (gpointer data)
{
  return !chronos_backup_library_get_busy (data);
}

typedef struct
{
  ChronosBackupLibrary *library;
  guint                 n_items;
} CountWait;

static gboolean
library_has_n (gpointer data)
{
  CountWait *wait = data;

  return g_list_model_get_n_items (G_LIST_MODEL (wait->library)) == wait->n_items &&
         !chronos_backup_library_get_busy (wait->library);
}

static void
wait_for_count (ChronosBackupLibrary *library,
                guint                 n_items)
{
  CountWait wait = { library, n_items };

  wait_until (library_has_n, &wait);
}

typedef struct
{
  ChronosBackupLibrary *library;
  Fixture              *fixture;
  const char           *present; /* must be listed and probed */
  const char           *absent;  /* must not be listed */
  guint                 min_changes;
} Expect;

static gboolean
expectation_met (gpointer data)
{
  Expect *expect = data;
  g_autoptr (GFile) present = NULL;
  g_autoptr (GFile) absent = NULL;
  ChronosBackup *backup;

  if (chronos_backup_library_get_busy (expect->library))
    return FALSE;
  if (expect->fixture->n_changes < expect->min_changes)
    return FALSE;
  if (expect->absent != NULL)
    {
      absent = g_file_new_for_path (expect->absent);
      if (chronos_backup_library_lookup (expect->library, absent) != NULL)
        return FALSE;
    }
  if (expect->present != NULL)
    {
      present = g_file_new_for_path (expect->present);
      backup = chronos_backup_library_lookup (expect->library, present);
      if (backup == NULL || chronos_backup_get_info (backup) == NULL)
        return FALSE;
    }
  return TRUE;
}

static void
make_image (const char *path,
            const char *size)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *err = NULL;
  int              status;
  const char      *argv[] = { qemu_img, "create", "-q", "-f", "vhdx", path, size, NULL };

  g_spawn_sync (NULL, (char **)argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
                NULL, &err, &status, &error);
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("qemu-img create %s failed: %s", path, err);
}

static char *
hash_file (const char *path)
{
  g_autoptr (GMappedFile) mapped = NULL;
  g_autoptr (GError) error = NULL;

  mapped = g_mapped_file_new (path, FALSE, &error);
  g_assert_no_error (error);
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256,
                                      (const guchar *)g_mapped_file_get_contents (mapped),
                                      g_mapped_file_get_length (mapped));
}

static void
items_changed_cb (GListModel *model,
                  guint       position,
                  guint       removed,
                  guint       added,
                  Fixture    *fixture)
{
  fixture->n_changes++;
  fixture->last_position = position;
  fixture->last_removed = removed;
  fixture->last_added = added;

  /* The model must already reflect the change when it is announced. */
  for (guint i = 0; i < added; i++)
    {
      g_autoptr (ChronosBackup) backup = g_list_model_get_item (model, position + i);
      g_assert_true (CHRONOS_IS_BACKUP (backup));
    }
}

static void
fixture_setup (Fixture      *fixture,
               gconstpointer data)
{
  g_autofree char *sub = NULL;
  g_autoptr (GError) error = NULL;

  if (qemu_img == NULL)
    {
      g_test_skip ("qemu-img is not installed");
      return;
    }

  fixture->dir = g_build_filename (g_get_user_data_dir (), "backups", NULL);
  sub = g_build_filename (fixture->dir, "WindowsImageBackup", "PC", NULL);
  g_assert_cmpint (g_mkdir_with_parents (sub, 0755), ==, 0);

  {
    g_autofree char *a = g_build_filename (fixture->dir, "alpha.vhdx", NULL);
    g_autofree char *b = g_build_filename (fixture->dir, "beta.AVHDX", NULL);
    g_autofree char *c = g_build_filename (sub, "nested.vhdx", NULL);
    g_autofree char *bad = g_build_filename (fixture->dir, "broken.vhdx", NULL);
    g_autofree char *txt = g_build_filename (fixture->dir, "notes.txt", NULL);

    make_image (a, "64M");
    make_image (b, "1G");
    make_image (c, "512M");
    g_file_set_contents (bad, "this is not a VHDX file at all", -1, &error);
    g_assert_no_error (error);
    g_file_set_contents (txt, "not a backup", -1, &error);
    g_assert_no_error (error);
  }
}

static void
fixture_teardown (Fixture      *fixture,
                  gconstpointer data)
{
  g_clear_pointer (&fixture->dir, g_free);
}

static ChronosBackup *
find_backup (ChronosBackupLibrary *library,
             const char           *path)
{
  g_autoptr (GFile) file = g_file_new_for_path (path);

  return chronos_backup_library_lookup (library, file);
}

static void
test_scan (Fixture      *fixture,
           gconstpointer data)
{
  g_autoptr (ChronosBackupLibrary) library = NULL;
  g_autoptr (GFile) folder = NULL;
  g_autofree char  *alpha = NULL;
  g_autofree char  *beta = NULL;
  g_autofree char  *nested = NULL;
  g_autofree char  *broken = NULL;
  g_autofree char  *hash_before = NULL;
  g_autofree char  *hash_after = NULL;
  ChronosBackup    *backup;
  ChronosImageInfo *info;

  if (g_test_failed () || fixture->dir == NULL)
    return;

  alpha = g_build_filename (fixture->dir, "alpha.vhdx", NULL);
  beta = g_build_filename (fixture->dir, "beta.AVHDX", NULL);
  nested = g_build_filename (fixture->dir, "WindowsImageBackup", "PC", "nested.vhdx", NULL);
  broken = g_build_filename (fixture->dir, "broken.vhdx", NULL);
  hash_before = hash_file (alpha);

  library = chronos_backup_library_new ();
  g_signal_connect (library, "items-changed", G_CALLBACK (items_changed_cb), fixture);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (library)), ==, 0);
  g_assert_true (g_list_model_get_item_type (G_LIST_MODEL (library)) == CHRONOS_TYPE_BACKUP);

  folder = g_file_new_for_path (fixture->dir);
  chronos_backup_library_add_folder (library, folder);
  g_assert_true (chronos_backup_library_has_folder (library, folder));
  /* Adding it again changes nothing. */
  chronos_backup_library_add_folder (library, folder);
  g_assert_cmpuint (g_list_model_get_n_items (chronos_backup_library_get_folders (library)), ==, 1);

  /* Listing is asynchronous: nothing was added while add_folder() ran. */
  g_assert_cmpuint (fixture->n_changes, ==, 0);
  g_assert_true (chronos_backup_library_get_busy (library));

  wait_for_count (library, 4);
  g_assert_cmpuint (fixture->n_changes, ==, 4);

  backup = find_backup (library, alpha);
  g_assert_nonnull (backup);
  g_assert_cmpstr (chronos_backup_get_display_name (backup), ==, "alpha.vhdx");
  g_assert_true (g_file_equal (chronos_backup_get_folder (backup), folder));
  g_assert_cmpint (chronos_backup_get_mtime (backup), >, 0);
  g_assert_cmpuint (chronos_backup_get_file_size (backup), >, 0);
  info = chronos_backup_get_info (backup);
  g_assert_nonnull (info);
  g_assert_cmpstr (chronos_image_info_get_format (info), ==, "vhdx");
  g_assert_cmpuint (chronos_image_info_get_virtual_size (info), ==, 64 * 1024 * 1024);
  g_assert_null (chronos_backup_get_error (backup));
  g_assert_cmpint (chronos_backup_get_state (backup), ==, CHRONOS_BACKUP_STATE_IDLE);

  backup = find_backup (library, beta);
  g_assert_nonnull (backup);
  g_assert_nonnull (chronos_backup_get_info (backup));
  g_assert_cmpuint (chronos_image_info_get_virtual_size (chronos_backup_get_info (backup)), ==,
                    G_GUINT64_CONSTANT (1024) * 1024 * 1024);

  /* Found below the folder, as Windows Backup nests its images, and listed
   * under the folder that was added. */
  backup = find_backup (library, nested);
  g_assert_nonnull (backup);
  g_assert_true (g_file_equal (chronos_backup_get_folder (backup), folder));
  g_assert_nonnull (chronos_backup_get_info (backup));

  /* A file that is not a VHDX is listed with the reason, not dropped. */
  backup = find_backup (library, broken);
  g_assert_nonnull (backup);
  g_assert_null (chronos_backup_get_info (backup));
  g_assert_nonnull (chronos_backup_get_error (backup));
  g_assert_nonnull (chronos_backup_get_error_message (backup));
  g_assert_cmpstr (chronos_backup_get_error_message (backup), !=, "");
  g_assert_cmpint (chronos_backup_get_state (backup), ==, CHRONOS_BACKUP_STATE_PROBLEM);

  hash_after = hash_file (alpha);
  g_assert_cmpstr (hash_before, ==, hash_after);

  g_signal_handlers_disconnect_by_data (library, fixture);
  g_assert_finalize_object (g_steal_pointer (&library));
}

static void
test_monitor (Fixture      *fixture,
              gconstpointer data)
{
  g_autoptr (ChronosBackupLibrary) library = NULL;
  g_autoptr (GFile) folder = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *gamma = NULL;
  g_autofree char *broken = NULL;
  g_autofree char *renamed = NULL;
  g_autofree char *newdir = NULL;
  g_autofree char *deep = NULL;
  ChronosBackup   *backup;
  guint            changes;

  if (g_test_failed () || fixture->dir == NULL)
    return;

  library = chronos_backup_library_new ();
  folder = g_file_new_for_path (fixture->dir);
  chronos_backup_library_add_folder (library, folder);
  wait_for_count (library, 4);
  g_signal_connect (library, "items-changed", G_CALLBACK (items_changed_cb), fixture);

  /* A new image appears. */
  gamma = g_build_filename (fixture->dir, "gamma.vhdx", NULL);
  make_image (gamma, "128M");
  wait_for_count (library, 5);
  g_assert_cmpuint (fixture->last_removed, ==, 0);
  g_assert_cmpuint (fixture->last_added, ==, 1);
  backup = find_backup (library, gamma);
  g_assert_nonnull (backup);
  g_assert_nonnull (chronos_backup_get_info (backup));
  g_assert_cmpuint (chronos_image_info_get_virtual_size (chronos_backup_get_info (backup)), ==,
                    128 * 1024 * 1024);

  /* A broken file is replaced by a good image: the same item is replaced
   * in place and probed again, and its error goes away. */
  broken = g_build_filename (fixture->dir, "broken.vhdx", NULL);
  backup = find_backup (library, broken);
  g_assert_nonnull (chronos_backup_get_error (backup));
  changes = fixture->n_changes;
  g_assert_cmpint (g_unlink (broken), ==, 0);
  make_image (broken, "32M");
  /* The delete and the create fall into one quiet period or two; either
   * way the backup ends up probed and good. */
  {
    Expect expect = { library, fixture, broken, NULL, changes + 1 };
    wait_until (expectation_met, &expect);
  }
  backup = find_backup (library, broken);
  g_assert_nonnull (backup);
  g_assert_cmpuint (fixture->n_changes, >, changes);
  g_assert_null (chronos_backup_get_error (backup));
  g_assert_nonnull (chronos_backup_get_info (backup));
  g_assert_cmpint (chronos_backup_get_state (backup), ==, CHRONOS_BACKUP_STATE_IDLE);

  /* Modified in place: items-changed replaces it with itself. */
  changes = fixture->n_changes;
  {
    g_autoptr (GFile) file = g_file_new_for_path (gamma);
    g_autoptr (GFileOutputStream) out = g_file_append_to (file, G_FILE_CREATE_NONE, NULL, &error);
    g_assert_no_error (error);
    g_output_stream_write_all (G_OUTPUT_STREAM (out), "x", 1, NULL, NULL, &error);
    g_assert_no_error (error);
    g_output_stream_close (G_OUTPUT_STREAM (out), NULL, &error);
    g_assert_no_error (error);
  }
  backup = find_backup (library, gamma);
  {
    Expect expect = { library, fixture, gamma, NULL, changes + 1 };
    wait_until (expectation_met, &expect);
  }
  g_assert_cmpuint (fixture->n_changes, ==, changes + 1);
  g_assert_cmpuint (fixture->last_removed, ==, 1);
  g_assert_cmpuint (fixture->last_added, ==, 1);
  g_assert_true (find_backup (library, gamma) == backup);

  /* Renamed: the old name leaves, the new one arrives. */
  renamed = g_build_filename (fixture->dir, "gamma-renamed.vhdx", NULL);
  g_assert_cmpint (g_rename (gamma, renamed), ==, 0);
  {
    Expect expect = { library, fixture, renamed, gamma, 0 };
    wait_until (expectation_met, &expect);
  }
  g_assert_null (find_backup (library, gamma));
  g_assert_nonnull (find_backup (library, renamed));
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (library)), ==, 5);

  /* A new subfolder with an image in it is picked up too. */
  newdir = g_build_filename (fixture->dir, "later", NULL);
  g_assert_cmpint (g_mkdir (newdir, 0755), ==, 0);
  deep = g_build_filename (newdir, "deep.vhdx", NULL);
  make_image (deep, "16M");
  wait_for_count (library, 6);
  g_assert_nonnull (find_backup (library, deep));

  /* It vanishes. */
  g_assert_cmpint (g_unlink (renamed), ==, 0);
  wait_for_count (library, 5);
  g_assert_cmpuint (fixture->last_removed, ==, 1);
  g_assert_cmpuint (fixture->last_added, ==, 0);
  g_assert_null (find_backup (library, renamed));

  /* A whole subfolder vanishes. */
  g_assert_cmpint (g_unlink (deep), ==, 0);
  g_assert_cmpint (g_rmdir (newdir), ==, 0);
  wait_for_count (library, 4);
  g_assert_null (find_backup (library, deep));

  g_signal_handlers_disconnect_by_data (library, fixture);
  g_assert_finalize_object (g_steal_pointer (&library));
}

static void
test_remove_folder (Fixture      *fixture,
                    gconstpointer data)
{
  g_autoptr (ChronosBackupLibrary) library = NULL;
  g_autoptr (GFile) folder = NULL;
  g_autoptr (GFile) other = NULL;
  g_autofree char *other_dir = NULL;
  g_autofree char *other_image = NULL;
  g_autoptr (ChronosBackup) kept = NULL;

  if (g_test_failed () || fixture->dir == NULL)
    return;

  other_dir = g_build_filename (g_get_user_data_dir (), "more-backups", NULL);
  g_assert_cmpint (g_mkdir_with_parents (other_dir, 0755), ==, 0);
  other_image = g_build_filename (other_dir, "other.vhdx", NULL);
  make_image (other_image, "64M");

  library = chronos_backup_library_new ();
  folder = g_file_new_for_path (fixture->dir);
  other = g_file_new_for_path (other_dir);
  chronos_backup_library_add_folder (library, folder);
  chronos_backup_library_add_folder (library, other);
  wait_for_count (library, 5);
  kept = g_object_ref (find_backup (library, other_image));

  g_signal_connect (library, "items-changed", G_CALLBACK (items_changed_cb), fixture);
  g_assert_true (chronos_backup_library_remove_folder (library, folder));
  g_assert_false (chronos_backup_library_remove_folder (library, folder));
  g_assert_false (chronos_backup_library_has_folder (library, folder));
  g_assert_cmpuint (fixture->n_changes, ==, 4);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (library)), ==, 1);
  g_assert_cmpuint (g_list_model_get_n_items (chronos_backup_library_get_folders (library)), ==, 1);
  {
    g_autoptr (ChronosBackup) item = g_list_model_get_item (G_LIST_MODEL (library), 0);
    g_assert_true (item == kept);
  }

  /* Its monitors are gone too: a new file there is not listed. */
  {
    g_autofree char *late = g_build_filename (fixture->dir, "late.vhdx", NULL);
    make_image (late, "16M");
    for (guint i = 0; i < 10; i++)
      {
        g_usleep (50 * 1000);
        while (g_main_context_iteration (NULL, FALSE))
          ;
      }
    wait_until (library_idle, library);
    g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (library)), ==, 1);
  }

  g_signal_handlers_disconnect_by_data (library, fixture);
  g_assert_finalize_object (g_steal_pointer (&library));
}

/* Many images, one probe at a time: everything gets probed, and the one a
 * person asked about comes first. */
static void
test_probe_order (Fixture      *fixture,
                  gconstpointer data)
{
  g_autoptr (ChronosBackupLibrary) library = NULL;
  g_autoptr (GFile) folder = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *last_path = NULL;
  ChronosBackup   *last;
  const guint      n = 12;

  if (g_test_failed () || fixture->dir == NULL)
    return;

  dir = g_build_filename (g_get_user_data_dir (), "many", NULL);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *name = g_strdup_printf ("image-%02u.vhdx", i);
      g_autofree char *path = g_build_filename (dir, name, NULL);
      make_image (path, "8M");
    }

  library = chronos_backup_library_new ();
  chronos_backup_library_set_max_probes (library, 1);
  g_assert_cmpuint (chronos_backup_library_get_max_probes (library), ==, 1);
  folder = g_file_new_for_path (dir);
  chronos_backup_library_add_folder (library, folder);

  /* Wait for the listing, not for the probes. */
  while (g_list_model_get_n_items (G_LIST_MODEL (library)) < n)
    g_main_context_iteration (NULL, TRUE);

  last_path = g_build_filename (dir, "image-11.vhdx", NULL);
  last = find_backup (library, last_path);
  g_assert_nonnull (last);
  chronos_backup_library_probe (library, last);
  g_assert_true (chronos_backup_get_probing (last));

  wait_until (library_idle, library);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr (ChronosBackup) backup = g_list_model_get_item (G_LIST_MODEL (library), i);

      g_assert_nonnull (chronos_backup_get_info (backup));
      g_assert_false (chronos_backup_get_probing (backup));
    }

  g_assert_finalize_object (g_steal_pointer (&library));
}

/* Dropping the library while it is still listing and probing cancels
 * everything; no callback runs into a freed library. */
static void
test_dispose_while_busy (Fixture      *fixture,
                         gconstpointer data)
{
  ChronosBackupLibrary *library;
  g_autoptr (GFile) folder = NULL;

  if (g_test_failed () || fixture->dir == NULL)
    return;

  library = chronos_backup_library_new ();
  folder = g_file_new_for_path (fixture->dir);
  chronos_backup_library_add_folder (library, folder);
  while (g_list_model_get_n_items (G_LIST_MODEL (library)) < 1)
    g_main_context_iteration (NULL, TRUE);
  g_assert_finalize_object (library);

  /* Let the cancelled operations finish. */
  for (guint i = 0; i < 20; i++)
    {
      g_usleep (20 * 1000);
      while (g_main_context_iteration (NULL, FALSE))
        ;
    }
}

static void
test_backup_state (void)
{
  g_autoptr (GFile) file = g_file_new_for_path ("/backups/disk.vhdx");
  g_autoptr (ChronosBackup) backup = chronos_backup_new (file, NULL);
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autoptr (GFile) parent = NULL;

  parent = g_file_get_parent (file);
  g_assert_true (g_file_equal (chronos_backup_get_folder (backup), parent));
  g_assert_cmpstr (chronos_backup_get_path (backup), ==, "/backups/disk.vhdx");
  g_assert_cmpint (chronos_backup_get_state (backup), ==, CHRONOS_BACKUP_STATE_IDLE);
  g_assert_false (chronos_backup_get_has_verification (backup));

  chronos_backup_set_verification (backup, CHRONOS_VERDICT_BOOTED, "screen stable", NULL, now);
  g_assert_cmpint (chronos_backup_get_state (backup), ==, CHRONOS_BACKUP_STATE_VERIFIED);
  g_assert_cmpstr (chronos_backup_get_verify_reason (backup), ==, "screen stable");

  /* Running wins over everything else, and falls back when it ends. */
  chronos_backup_set_running (backup, TRUE);
  g_assert_cmpint (chronos_backup_get_state (backup), ==, CHRONOS_BACKUP_STATE_RUNNING);
  chronos_backup_set_running (backup, FALSE);
  g_assert_cmpint (chronos_backup_get_state (backup), ==, CHRONOS_BACKUP_STATE_VERIFIED);

  chronos_backup_set_verification (backup, CHRONOS_VERDICT_TIMEOUT, "no screen output", NULL, now);
  g_assert_cmpint (chronos_backup_get_state (backup), ==, CHRONOS_BACKUP_STATE_PROBLEM);

  chronos_backup_clear_verification (backup);
  g_assert_cmpint (chronos_backup_get_state (backup), ==, CHRONOS_BACKUP_STATE_IDLE);
  g_assert_null (chronos_backup_get_verify_reason (backup));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  qemu_img = g_find_program_in_path ("qemu-img");

  g_test_add_func ("/library/backup/state", test_backup_state);
  g_test_add ("/library/scan", Fixture, NULL, fixture_setup, test_scan, fixture_teardown);
  g_test_add ("/library/monitor", Fixture, NULL, fixture_setup, test_monitor, fixture_teardown);
  g_test_add ("/library/remove-folder", Fixture, NULL, fixture_setup, test_remove_folder, fixture_teardown);
  g_test_add ("/library/probe-order", Fixture, NULL, fixture_setup, test_probe_order, fixture_teardown);
  g_test_add ("/library/dispose-while-busy", Fixture, NULL, fixture_setup, test_dispose_while_busy, fixture_teardown);

  return g_test_run ();
}
