/* gui-test-util.h: a private home for each GUI test program
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * G_TEST_OPTION_ISOLATE_DIRS also replaces XDG_DATA_DIRS, which hides the
 * shared MIME database from GTK (icons then fail to load), and
 * gtk_test_init() ignores it anyway. So GUI tests move only the user's own
 * directories, before GTK starts, and remove them at the end.
 */

#pragma once

#include <glib.h>
#include <glib/gstdio.h>
#include <gio/gio.h>

static inline void
gui_test_remove_tree (GFile *file)
{
  g_autoptr (GFileEnumerator) children = NULL;

  children = g_file_enumerate_children (file, G_FILE_ATTRIBUTE_STANDARD_NAME,
                                        G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS, NULL, NULL);
  if (children != NULL)
    {
      GFileInfo *info;

      while ((info = g_file_enumerator_next_file (children, NULL, NULL)) != NULL)
        {
          g_autoptr (GFile) child = g_file_get_child (file, g_file_info_get_name (info));

          gui_test_remove_tree (child);
          g_object_unref (info);
        }
    }
  g_file_delete (file, NULL, NULL);
}

/* Returns the private home; pass it to gui_test_cleanup_home(). */
static inline char *
gui_test_isolate_home (void)
{
  g_autoptr (GError) error = NULL;
  char       *home = g_dir_make_tmp ("chronos-gui-XXXXXX", &error);
  const char *dirs[][2] = {
    { "XDG_DATA_HOME", "data" },
    { "XDG_CONFIG_HOME", "config" },
    { "XDG_CACHE_HOME", "cache" },
    { "XDG_STATE_HOME", "state" },
    { "XDG_RUNTIME_DIR", "runtime" },
  };

  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (dirs); i++)
    {
      g_autofree char *path = g_build_filename (home, dirs[i][1], NULL);

      g_assert_cmpint (g_mkdir (path, 0700), ==, 0);
      g_setenv (dirs[i][0], path, TRUE);
    }
  return home;
}

static inline void
gui_test_cleanup_home (const char *home)
{
  g_autoptr (GFile) file = g_file_new_for_path (home);

  gui_test_remove_tree (file);
}
