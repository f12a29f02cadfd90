/* test-run-dir.c: VM run directories and the sweep of stale ones
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "config.h"

#include <glib/gstdio.h>
#include <gio/gio.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chronos-paths.h"
#include "chronos-run-dir.h"

static char *
test_root (void)
{
  return g_build_filename (g_get_user_runtime_dir (), "chronos", NULL);
}

static void
test_new (void)
{
  g_autoptr (ChronosRunDir) run_dir = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *owner = NULL;
  g_autofree char *path = NULL;
  g_autofree char *expected_root = chronos_paths_run_root ();
  GStatBuf         st;

  run_dir = chronos_run_dir_new (&error);
  g_assert_no_error (error);
  path = g_strdup (chronos_run_dir_get_path (run_dir));
  g_assert_true (g_str_has_prefix (path, expected_root));
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);
  g_assert_cmpint (g_stat (expected_root, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 077, ==, 0);
  g_assert_cmpuint (strlen (chronos_run_dir_get_qmp_socket_path (run_dir)), <, 108);
  g_assert_cmpuint (strlen (chronos_run_dir_get_vnc_socket_path (run_dir)), <, 108);
  g_assert_true (g_str_has_prefix (chronos_run_dir_get_overlay_path (run_dir), path));
  g_assert_true (g_str_has_prefix (chronos_run_dir_get_vars_path (run_dir), path));

  owner = g_build_filename (path, "owner", NULL);
  g_assert_true (g_file_test (owner, G_FILE_TEST_IS_REGULAR));

  /* Our own live directory survives a sweep. */
  g_assert_cmpuint (chronos_run_dir_sweep_stale (), ==, 0);
  g_assert_true (g_file_test (path, G_FILE_TEST_IS_DIR));

  g_assert_true (chronos_run_dir_remove (run_dir, &error));
  g_assert_no_error (error);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  g_assert_true (chronos_run_dir_remove (run_dir, &error));
}

static void
test_finalize_removes (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *root = test_root ();
  ChronosRunDir   *run_dir;
  g_autofree char *path = NULL;
  g_autofree char *file = NULL;

  run_dir = chronos_run_dir_new_in (root, &error);
  g_assert_no_error (error);
  path = g_strdup (chronos_run_dir_get_path (run_dir));
  file = g_strdup (chronos_run_dir_get_overlay_path (run_dir));
  g_assert_true (g_file_set_contents (file, "x", 1, NULL));
  g_assert_finalize_object (run_dir);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
}

static void
test_root_too_long (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (ChronosRunDir) run_dir = NULL;
  g_autofree char *long_name = g_strnfill (100, 'x');
  g_autofree char *root = g_build_filename (g_get_user_runtime_dir (), long_name, NULL);

  run_dir = chronos_run_dir_new_in (root, &error);
  g_assert_null (run_dir);
  g_assert_nonnull (error);
  g_assert_false (g_file_test (root, G_FILE_TEST_EXISTS));
}

/* The pid of a process that has ended (spawned, not forked: a forked copy
 * of the test would report the test's own memory under valgrind). */
static guint64
dead_pid (void)
{
  const char *argv[] = { "true", NULL };
  g_autoptr (GError) error = NULL;
  GPid pid = 0;
  int  status;

  /* Not reaped by GLib: the pid stays known until waitpid() below. */
  g_spawn_async (NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD,
                 NULL, NULL, &pid, &error);
  g_assert_no_error (error);
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_spawn_close_pid (pid);
  return (guint64)pid;
}

static void
write_record (const char *dir,
              const char *name,
              guint64     pid,
              const char *start)
{
  g_autoptr (GKeyFile) keyfile = g_key_file_new ();
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autofree char *boot = NULL;
  g_autoptr (GError) error = NULL;

  g_file_get_contents ("/proc/sys/kernel/random/boot_id", &boot, NULL, NULL);
  g_key_file_set_uint64 (keyfile, "process", "pid", pid);
  g_key_file_set_string (keyfile, "process", "start", start);
  g_key_file_set_string (keyfile, "process", "boot", boot ? g_strstrip (boot) : "");
  g_key_file_save_to_file (keyfile, path, &error);
  g_assert_no_error (error);
}

static char *
make_dir (const char *root,
          const char *name)
{
  char *path = g_build_filename (root, name, NULL);

  g_assert_cmpint (g_mkdir_with_parents (path, 0700), ==, 0);
  return path;
}

/* Dead owners go; live ones stay; a reused pid (same number, other start
 * time) counts as dead; a QEMU that outlived its owner is killed, but only
 * when its command line names the directory. */
static void
test_sweep (void)
{
  g_autofree char *root = test_root ();
  g_autofree char *dead = make_dir (root, "vm-dead01");
  g_autofree char *alive = make_dir (root, "vm-alive1");
  g_autofree char *reused = make_dir (root, "vm-reuse1");
  g_autofree char *orphan = make_dir (root, "vm-orphan");
  g_autofree char *stranger = make_dir (root, "vm-strang");
  g_autofree char *fresh = make_dir (root, "vm-fresh1");
  g_autofree char *other = make_dir (root, "not-a-vm-dir");
  g_autofree char *self_start = chronos_run_dir_process_start_time (getpid ());
  g_autofree char *orphan_sock = g_build_filename (orphan, "qmp.sock", NULL);
  g_autoptr (GSubprocess) orphan_qemu = NULL;
  g_autoptr (GSubprocess) unrelated = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *orphan_start = NULL;
  g_autofree char *unrelated_start = NULL;
  guint64          orphan_pid, unrelated_pid;
  gint64           deadline;

  g_assert_nonnull (self_start);
  g_assert_null (chronos_run_dir_process_start_time (dead_pid ()));

  write_record (dead, "owner", dead_pid (), "12345");
  write_record (alive, "owner", getpid (), self_start);
  write_record (reused, "owner", getpid (), "1");

  /* A stand-in for a QEMU whose owner died: its command line names the
   * directory, as QEMU's -qmp option does. */
  /* `cat` waits on its stdin pipe forever before it would get to the
   * file: one process, whose command line names the socket. */
  orphan_qemu = g_subprocess_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_SILENCE,
                                  &error, "cat", "-", orphan_sock, NULL);
  g_assert_no_error (error);
  orphan_pid = g_ascii_strtoull (g_subprocess_get_identifier (orphan_qemu), NULL, 10);
  orphan_start = chronos_run_dir_process_start_time (orphan_pid);
  write_record (orphan, "owner", dead_pid (), "12345");
  write_record (orphan, "qemu", orphan_pid, orphan_start);

  /* A live process that is not ours to kill. */
  unrelated = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE,
                                &error, "sleep", "300", NULL);
  g_assert_no_error (error);
  unrelated_pid = g_ascii_strtoull (g_subprocess_get_identifier (unrelated), NULL, 10);
  unrelated_start = chronos_run_dir_process_start_time (unrelated_pid);
  write_record (stranger, "owner", dead_pid (), "12345");
  write_record (stranger, "qemu", unrelated_pid, unrelated_start);

  /* "fresh" has no owner file yet: it may be being created right now. */

  g_assert_cmpuint (chronos_run_dir_sweep_stale_in (root), ==, 4);
  g_assert_false (g_file_test (dead, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (alive, G_FILE_TEST_IS_DIR));
  g_assert_false (g_file_test (reused, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (orphan, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (stranger, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (fresh, G_FILE_TEST_IS_DIR));
  g_assert_true (g_file_test (other, G_FILE_TEST_IS_DIR));

  g_subprocess_wait (orphan_qemu, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_signaled (orphan_qemu));
  g_assert_cmpint (g_subprocess_get_term_sig (orphan_qemu), ==, SIGKILL);

  deadline = g_get_monotonic_time () + G_USEC_PER_SEC / 2;
  while (g_get_monotonic_time () < deadline)
    g_usleep (10000);
  g_clear_pointer (&unrelated_start, g_free);
  unrelated_start = chronos_run_dir_process_start_time (unrelated_pid);
  g_assert_nonnull (unrelated_start);
  g_subprocess_force_exit (unrelated);
  g_subprocess_wait (unrelated, NULL, NULL);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/run-dir/new", test_new);
  g_test_add_func ("/run-dir/finalize-removes", test_finalize_removes);
  g_test_add_func ("/run-dir/root-too-long", test_root_too_long);
  g_test_add_func ("/run-dir/sweep", test_sweep);

  return g_test_run ();
}
