/* test-qemu-discovery.c: finding QEMU in the documented order
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Suite vm: every candidate is the real qemu-system-x86_64 and qemu-img
 * (symbolic links in temporary directories), and discovery runs them.
 */

#include "config.h"

#include <string.h>

#include <unistd.h>

#include <glib/gstdio.h>

#include "chronos-qemu.h"
#include "chronos-qemu-error.h"

static char *real_system;
static char *real_img;

typedef struct
{
  char *root;
} Fixture;

static void
fixture_set_up (Fixture      *fixture,
                gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  fixture->root = g_dir_make_tmp ("chronos-discovery-XXXXXX", &error);
  g_assert_no_error (error);
}

static void
remove_tree (const char *path)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        remove_tree (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

static void
fixture_tear_down (Fixture      *fixture,
                   gconstpointer data)
{
  remove_tree (fixture->root);
  g_free (fixture->root);
}

/* ROOT/RELATIVE, created. */
static char *
make_dir (Fixture    *fixture,
          const char *relative)
{
  char *dir = g_build_filename (fixture->root, relative, NULL);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  return dir;
}

static void
link_program (const char *dir,
              const char *name,
              const char *target)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);

  g_assert_cmpint (symlink (target, path), ==, 0);
}

/* A QEMU in DIR: links to the real binaries. */
static char *
make_qemu (Fixture    *fixture,
           const char *relative,
           gboolean    with_img)
{
  char *dir = make_dir (fixture, relative);

  link_program (dir, "qemu-system-x86_64", real_system);
  if (with_img)
    link_program (dir, "qemu-img", real_img);
  return dir;
}

/* A fake qemu-system-x86_64 printing @version_line. */
static char *
make_fake (Fixture    *fixture,
           const char *relative,
           const char *version_line)
{
  char            *dir = make_dir (fixture, relative);
  g_autofree char *path = g_build_filename (dir, "qemu-system-x86_64", NULL);
  g_autofree char *script = g_strdup_printf ("#!/bin/sh\necho '%s'\n", version_line);
  g_autoptr (GError) error = NULL;

  g_file_set_contents (path, script, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (path, 0755), ==, 0);
  link_program (dir, "qemu-img", real_img);
  return dir;
}

static void
test_order (Fixture      *fixture,
            gconstpointer data)
{
  g_autofree char  *setting = make_qemu (fixture, "setting", TRUE);
  g_autofree char  *install = make_qemu (fixture, "install/bin", TRUE);
  g_autofree char  *install_root = g_build_filename (fixture->root, "install", NULL);
  g_autofree char  *exe_dir = make_dir (fixture, "app/bin");
  g_autofree char  *bundled = make_qemu (fixture, "app/bin/qemu", TRUE);
  g_autofree char  *private_lib = make_qemu (fixture, "app/lib/chronos/qemu/bin", TRUE);
  g_autofree char  *empty = make_dir (fixture, "empty");
  g_autofree char  *path_a = make_qemu (fixture, "path-a", TRUE);
  g_autofree char  *path_list = g_strjoin (G_SEARCHPATH_SEPARATOR_S, empty, "", path_a, NULL);
  ChronosQemuSearch search = {
    .setting_dir = setting,
    .install_dir = install_root,
    .exe_dir = exe_dir,
    .path = path_list,
    .system_dirs = TRUE,
  };
  g_autoptr (GError) error = NULL;
  g_autoptr (ChronosQemu) qemu = NULL;
  g_autofree char *manifest = g_build_filename (install_root, CHRONOS_QEMU_INSTALL_MANIFEST_NAME, NULL);
  g_autofree char *bundled_bin = NULL;

  /* 1. the setting */
  qemu = chronos_qemu_find_with_search (&search, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (chronos_qemu_get_source (qemu), ==, CHRONOS_QEMU_SOURCE_SETTING);
  g_assert_cmpstr (chronos_qemu_get_bin_dir (qemu), ==, setting);
  g_assert_null (chronos_qemu_get_install_manifest (qemu));
  g_clear_object (&qemu);

  /* 2. Chronos's install dir (binaries in DIR/bin), with its manifest path */
  search.setting_dir = NULL;
  qemu = chronos_qemu_find_with_search (&search, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (chronos_qemu_get_source (qemu), ==, CHRONOS_QEMU_SOURCE_INSTALLED);
  g_assert_cmpstr (chronos_qemu_get_bin_dir (qemu), ==, install);
  g_assert_cmpstr (chronos_qemu_get_install_manifest (qemu), ==, manifest);
  g_clear_object (&qemu);

  /* 3. bundled: EXE_DIR/qemu */
  search.install_dir = NULL;
  qemu = chronos_qemu_find_with_search (&search, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (chronos_qemu_get_source (qemu), ==, CHRONOS_QEMU_SOURCE_BUNDLED);
  g_assert_cmpstr (chronos_qemu_get_bin_dir (qemu), ==, bundled);
  g_clear_object (&qemu);

  /* 3b. bundled: EXE_DIR/../lib/chronos/qemu(/bin) */
  g_assert_cmpint (g_unlink (bundled_bin = g_build_filename (bundled, "qemu-system-x86_64", NULL)), ==, 0);
  qemu = chronos_qemu_find_with_search (&search, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (chronos_qemu_get_source (qemu), ==, CHRONOS_QEMU_SOURCE_BUNDLED);
  g_assert_cmpstr (chronos_qemu_get_bin_dir (qemu), ==, private_lib);
  g_clear_object (&qemu);

  /* 4. PATH, skipping empty entries and directories without QEMU */
  search.exe_dir = NULL;
  qemu = chronos_qemu_find_with_search (&search, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (chronos_qemu_get_source (qemu), ==, CHRONOS_QEMU_SOURCE_PATH);
  g_assert_cmpstr (chronos_qemu_get_bin_dir (qemu), ==, path_a);
  g_clear_object (&qemu);

  /* 5. nothing at all: the install hint */
  search.path = empty;
  qemu = chronos_qemu_find_with_search (&search, NULL, &error);
  g_assert_null (qemu);
  g_assert_error (error, CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_NOT_FOUND);
  g_assert_true (g_str_has_prefix (error->message, "QEMU is not installed. "));
  if (g_file_test ("/etc/debian_version", G_FILE_TEST_EXISTS))
    g_assert_nonnull (strstr (error->message, "sudo apt install qemu-system-x86 qemu-utils"));
}

static void
test_details (Fixture      *fixture,
              gconstpointer data)
{
  g_autofree char *dir = make_qemu (fixture, "links", TRUE);
  g_autoptr (GError) error = NULL;
  g_autoptr (ChronosQemu) qemu = NULL;
  g_autofree char   *system = g_build_filename (dir, "qemu-system-x86_64", NULL);
  g_autofree char   *img = g_build_filename (dir, "qemu-img", NULL);
  g_autofree char   *output = NULL;
  const char *const *backends;
  guint              major, minor, micro, real_major = 0, real_minor = 0, real_micro = 0;
  g_autofree char   *real_data = NULL;
  g_autofree char   *real_bin_dir = NULL;

  qemu = chronos_qemu_find (dir, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (chronos_qemu_get_system_path (qemu), ==, system);
  g_assert_cmpstr (chronos_qemu_get_img_path (qemu), ==, img);

  /* The version matches what the binary prints. */
  g_assert_true (g_spawn_sync (NULL, (char *[]){ real_system, (char *)"-version", NULL }, NULL, 0,
                               NULL, NULL, &output, NULL, NULL, NULL));
  g_assert_true (chronos_qemu_parse_version (output, &real_major, &real_minor, &real_micro));
  chronos_qemu_get_version (qemu, &major, &minor, &micro);
  g_assert_cmpuint (major, ==, real_major);
  g_assert_cmpuint (minor, ==, real_minor);
  g_assert_cmpuint (micro, ==, real_micro);
  g_test_message ("QEMU %s", chronos_qemu_get_version_string (qemu));
  g_assert_true (chronos_qemu_check_version (qemu, 7, 2, 0));
  g_assert_true (chronos_qemu_check_version (qemu, major, minor, micro));
  g_assert_false (chronos_qemu_check_version (qemu, major, minor, micro + 1));
  g_assert_false (chronos_qemu_check_version (qemu, major + 1, 0, 0));

  /* The data dir comes from the link target's prefix. */
  real_bin_dir = g_path_get_dirname (real_system);
  real_data = g_build_filename (real_bin_dir, "..", "share", "qemu", NULL);
  if (g_file_test (real_data, G_FILE_TEST_IS_DIR))
    {
      g_autofree char *canonical = g_canonicalize_filename (real_data, NULL);

      g_assert_cmpstr (chronos_qemu_get_data_dir (qemu), ==, canonical);
    }

  /* Display backends, as `-display help` lists them. */
  backends = chronos_qemu_get_display_backends (qemu, &error);
  g_assert_no_error (error);
  g_assert_nonnull (backends);
  g_assert_true (g_strv_contains (backends, "none"));
  for (guint i = 0; backends[i] != NULL; i++)
    g_assert_null (strchr (backends[i], ' '));
  g_assert_true (chronos_qemu_get_display_backends (qemu, NULL) == backends);
  if (g_strv_contains (backends, "gtk"))
    g_assert_cmpstr (chronos_qemu_get_window_backend (qemu), ==, "gtk");
  else if (g_strv_contains (backends, "sdl"))
    g_assert_cmpstr (chronos_qemu_get_window_backend (qemu), ==, "sdl");
  else
    g_assert_null (chronos_qemu_get_window_backend (qemu));
  g_assert_false (chronos_qemu_has_display_backend (qemu, "vnc-nonsense"));
}

static void
test_problems (Fixture      *fixture,
               gconstpointer data)
{
  g_autofree char *no_img = make_qemu (fixture, "no-img", FALSE);
  g_autofree char *old = make_fake (fixture, "old", "QEMU emulator version 6.2.0 (fake)");
  g_autofree char *garbage = make_fake (fixture, "garbage", "hello");
  g_autofree char *nothing = make_dir (fixture, "nothing");
  g_autofree char *path_ok = make_qemu (fixture, "path-ok", TRUE);
  g_autofree char *only_system = make_qemu (fixture, "only-system", FALSE);
  g_autofree char *only_img = make_dir (fixture, "only-img");
  g_autoptr (GError) error = NULL;
  g_autoptr (ChronosQemu) qemu = NULL;
  ChronosQemuSearch search = { 0 };

  link_program (only_img, "qemu-img", real_img);

  /* A setting pointing at a directory without QEMU is an error, even
   * though PATH has one: never silently another QEMU. */
  search.setting_dir = nothing;
  search.path = path_ok;
  qemu = chronos_qemu_find_with_search (&search, NULL, &error);
  g_assert_null (qemu);
  g_assert_error (error, CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "There is no QEMU in"));
  g_clear_error (&error);

  search.setting_dir = no_img;
  qemu = chronos_qemu_find_with_search (&search, NULL, &error);
  g_assert_error (error, CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "qemu-img is missing"));
  g_clear_error (&error);

  search.setting_dir = old;
  qemu = chronos_qemu_find_with_search (&search, NULL, &error);
  g_assert_error (error, CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_TOO_OLD);
  g_assert_nonnull (strstr (error->message, "6.2.0"));
  g_clear_error (&error);

  search.setting_dir = garbage;
  qemu = chronos_qemu_find_with_search (&search, NULL, &error);
  g_assert_error (error, CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "does not look like QEMU"));
  g_clear_error (&error);

  /* Without a setting, a too-old install is skipped for PATH's QEMU ... */
  search.setting_dir = NULL;
  search.install_dir = old;
  qemu = chronos_qemu_find_with_search (&search, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (chronos_qemu_get_source (qemu), ==, CHRONOS_QEMU_SOURCE_PATH);
  g_clear_object (&qemu);

  /* ... and when nothing else exists, the error says what was wrong. */
  search.path = nothing;
  qemu = chronos_qemu_find_with_search (&search, NULL, &error);
  g_assert_error (error, CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_TOO_OLD);
  g_clear_error (&error);

  /* On PATH, qemu-img may sit in another entry. */
  search.install_dir = NULL;
  search.path = g_strjoin (G_SEARCHPATH_SEPARATOR_S, only_system, only_img, NULL);
  qemu = chronos_qemu_find_with_search (&search, NULL, &error);
  g_free ((char *)search.path);
  g_assert_no_error (error);
  g_assert_cmpstr (chronos_qemu_get_bin_dir (qemu), ==, only_system);
  g_assert_true (g_str_has_prefix (chronos_qemu_get_img_path (qemu), only_img));
}

/* chronos_qemu_find() reads PATH. */
static void
test_path_env (Fixture      *fixture,
               gconstpointer data)
{
  g_autofree char *dir = make_qemu (fixture, "env-path", TRUE);
  g_autofree char *saved = g_strdup (g_getenv ("PATH"));
  g_autoptr (GError) error = NULL;
  g_autoptr (ChronosQemu) qemu = NULL;

  g_setenv ("PATH", dir, TRUE);
  qemu = chronos_qemu_find (NULL, &error);
  g_setenv ("PATH", saved, TRUE);
  g_assert_no_error (error);
  g_assert_cmpint (chronos_qemu_get_source (qemu), ==, CHRONOS_QEMU_SOURCE_PATH);
  g_assert_cmpstr (chronos_qemu_get_bin_dir (qemu), ==, dir);
}

static void
find_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  struct
  {
    ChronosQemu *qemu;
    GError      *error;
    gboolean     done;
  } *out = user_data;

  out->qemu = chronos_qemu_find_finish (result, &out->error);
  out->done = TRUE;
}

static void
test_async (Fixture      *fixture,
            gconstpointer data)
{
  g_autofree char *dir = make_qemu (fixture, "async", TRUE);
  g_autofree char *nothing = make_dir (fixture, "nothing");
  struct
  {
    ChronosQemu *qemu;
    GError      *error;
    gboolean     done;
  } out = { NULL, NULL, FALSE };

  chronos_qemu_find_async (dir, NULL, find_cb, &out);
  while (!out.done)
    g_main_context_iteration (NULL, TRUE);
  g_assert_no_error (out.error);
  g_assert_cmpint (chronos_qemu_get_source (out.qemu), ==, CHRONOS_QEMU_SOURCE_SETTING);
  g_assert_nonnull (chronos_qemu_get_display_backends (out.qemu, NULL));
  g_clear_object (&out.qemu);

  out.done = FALSE;
  chronos_qemu_find_async (nothing, NULL, find_cb, &out);
  while (!out.done)
    g_main_context_iteration (NULL, TRUE);
  g_assert_null (out.qemu);
  g_assert_error (out.error, CHRONOS_QEMU_ERROR, CHRONOS_QEMU_ERROR_NOT_FOUND);
  g_clear_error (&out.error);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr (GError) error = NULL;
  g_autoptr (ChronosQemu) qemu = NULL;
  int status;

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  qemu = chronos_qemu_find (NULL, &error);
  if (qemu == NULL)
    {
      g_printerr ("Skipping: %s\n", error->message);
      return 77;
    }
  real_system = g_strdup (chronos_qemu_get_system_path (qemu));
  real_img = g_strdup (chronos_qemu_get_img_path (qemu));

  g_test_add ("/qemu-discovery/order", Fixture, NULL, fixture_set_up, test_order, fixture_tear_down);
  g_test_add ("/qemu-discovery/details", Fixture, NULL, fixture_set_up, test_details, fixture_tear_down);
  g_test_add ("/qemu-discovery/problems", Fixture, NULL, fixture_set_up, test_problems, fixture_tear_down);
  g_test_add ("/qemu-discovery/path-env", Fixture, NULL, fixture_set_up, test_path_env, fixture_tear_down);
  g_test_add ("/qemu-discovery/async", Fixture, NULL, fixture_set_up, test_async, fixture_tear_down);

  status = g_test_run ();
  g_free (real_system);
  g_free (real_img);
  return status;
}
